"""What one trial does: build the network of a :class:`Config`, train it on every
cross-validation fold in lockstep and report the mean validation error after each epoch.

The per-epoch curve is what pruning looks at (seed 002, 07-5c: "stop training early and
predict performance from the trend of the cost"): the pruner compares it with the curves
of earlier trials at the same epoch and stops a trial that lags behind. The folds advance
together, one epoch at a time, so a pruned trial stops on every fold at once.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import optimizers
from ..network import Network
from ..training import TrainingError, train
from .space import Config, Dimension, suggest

MOMENTUM = 0.9


@dataclass(frozen=True, eq=False)
class Problem:
    """The data of a search, checked once: inputs ``X`` and targets ``y`` (class indices
    ``0..K-1`` for classification, numbers for regression), and the folds."""

    X: np.ndarray
    y: np.ndarray
    task: str
    n_classes: int | None
    folds: tuple[tuple[np.ndarray, np.ndarray], ...]

    @property
    def n_outputs(self) -> int:
        if self.task == "classification":
            return int(self.n_classes)
        return 1 if self.y.ndim == 1 else int(self.y.shape[1])

    def targets(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Training targets of the examples ``idx``: one-hot rows for classification;
        standardised numbers ``(y − μ) / σ`` for regression. Returns ``(Y, μ, σ)``."""
        if self.task == "classification":
            return np.eye(self.n_outputs)[self.y[idx]], np.zeros(1), np.ones(1)
        Y = self.y[idx].reshape(len(idx), -1)
        mu, sd = Y.mean(axis=0), Y.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        return (Y - mu) / sd, mu, sd

    def error(self, out: np.ndarray, idx: np.ndarray) -> float:
        """Validation error: ``1 − accuracy`` for classes, mean squared error for numbers."""
        if self.task == "classification":
            return float(np.mean(np.argmax(out, axis=1) != self.y[idx]))
        Y = self.y[idx].reshape(len(idx), -1)
        return float(np.mean((out - Y) ** 2))


def build_network(n_inputs: int, n_outputs: int, config: Config, task: str,
                  random_state: Any) -> Network:
    """The DAG of ``config``: hidden groups in a chain, each fully connected to the one
    before, plus the skip arcs of ``config.skip``; softmax outputs for classes, identity
    outputs for numbers."""
    sizes = [n_inputs, *config.widths, n_outputs]
    first = np.cumsum([1, *sizes])[:-1]  # first neuron number of each layer
    arcs, acts = [], {}
    out_act = "softmax" if task == "classification" else "identity"
    for k in range(1, len(sizes)):
        dst = np.arange(first[k], first[k] + sizes[k])
        sources = {k - 1}
        if config.skip == "inputs":
            sources.add(0)
        elif config.skip == "all":
            sources.update(range(k))
        for s in sorted(sources):
            src = np.arange(first[s], first[s] + sizes[s])
            arcs.append(np.stack(np.meshgrid(src, dst, indexing="ij"), -1).reshape(-1, 2))
        name = out_act if k == len(sizes) - 1 else config.activations[k - 1]
        acts.update(dict.fromkeys(dst.tolist(), name))
    return Network(n_inputs, np.concatenate(arcs), acts, batch_norm=config.batch_norm,
                   init="glorot", random_state=random_state)


def carried(transform: optimizers.GradientTransformation) -> optimizers.GradientTransformation:
    """``transform`` whose state survives from one ``train()`` call to the next.

    A trial trains one epoch per call (to report after each); Adam's moments and the
    momentum velocity must go on as in one long run, so ``init`` hands back the state the
    last update left instead of a fresh one.
    """
    box: dict[str, Any] = {}

    def init(params: np.ndarray) -> Any:
        if "state" not in box:
            box["state"] = transform.init(params)
        return box["state"]

    def update(grad: np.ndarray, state: Any, params: np.ndarray | None = None):
        updates, box["state"] = transform.update(grad, state, params)
        return updates, box["state"]

    return optimizers.GradientTransformation(init, update)


def make_optimizer(config: Config) -> optimizers.GradientTransformation:
    """The update rule of ``config``: SGD, momentum, Nesterov momentum (μ = 0.9) or Adam."""
    if config.optimizer == "adam":
        return optimizers.adam(config.lr)
    mu = 0.0 if config.optimizer == "sgd" else MOMENTUM
    return optimizers.sgd(config.lr, mu, config.optimizer == "nesterov")


class Fit:
    """One network trained on one set of examples, an epoch per :meth:`epoch` call."""

    def __init__(self, problem: Problem, config: Config, idx: np.ndarray,
                 seed: np.random.SeedSequence) -> None:
        init_seed, train_seed = seed.spawn(2)
        self.net = build_network(problem.X.shape[1], problem.n_outputs, config, problem.task,
                                 np.random.default_rng(init_seed))
        self.X = problem.X[idx]
        self.Y, self.mu, self.sd = problem.targets(idx)
        self.config = config
        self.loss = "cross_entropy" if problem.task == "classification" else "squared_error"
        self.optimizer = carried(make_optimizer(config))
        self.rng = np.random.default_rng(train_seed)

    def epoch(self) -> None:
        """One more epoch of NEURALNETTRAIN (raises TrainingError if the cost diverges)."""
        c = self.config
        train(self.net, self.X, self.Y, loss=self.loss, batch_size=c.batch_size, epochs=1,
              optimizer=self.optimizer, random_state=self.rng, l2=c.l2,
              dropout=c.dropout or None)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Outputs in the target's units (regression outputs are un-standardised)."""
        return self.net.predict(X) * self.sd + self.mu

    def unscaled_network(self) -> Network:
        """The network with ``σ a + μ`` folded into its identity outputs: it predicts the
        target in its own units (the standardisation is internal to training)."""
        net = self.net.copy()
        plan, col = net.plan, {j: c for c, j in enumerate(net.outputs)}
        for g in plan.groups:
            if g.is_output and len(self.sd) == len(net.outputs):
                scale = self.sd[[col[j] for j in g.neurons]]
                shift = self.mu[[col[j] for j in g.neurons]]
                bias = plan.bias(net.params, g)
                bias *= scale
                bias += shift
                for b in plan.blocks_in[g.layer - 1]:
                    plan.W(net.params, b)[...] *= scale
        return net


def trial_seed(random_state: int, number: int) -> np.random.SeedSequence:
    """The seed of trial ``number``: the same search seed gives every trial its own,
    repeatable stream (initial weights, permutations, dropout masks)."""
    return np.random.SeedSequence([int(random_state), int(number)])


def subsample_rows(idx: np.ndarray, fraction: float, random_state: int) -> np.ndarray:
    """A fixed ``fraction`` of the training rows ``idx`` (the same for every early trial)."""
    rng = np.random.default_rng([int(random_state), len(idx)])
    keep = max(2, round(fraction * len(idx)))
    return np.sort(rng.permutation(idx)[:keep])


@dataclass(frozen=True, eq=False)
class Objective:
    """The function Optuna minimises: cross-validated error (and the parameter count).

    Picklable, so worker processes and Dask workers run the same trials.
    """

    problem: Problem
    space: dict[str, Dimension]
    shared: bool
    epochs: int
    objectives: tuple[str, ...]
    random_state: int
    subsample: tuple[float, int] | None = None
    patience: int | None = None

    def __call__(self, trial: Any) -> float | tuple[float, float]:
        from threadpoolctl import threadpool_limits

        # one BLAS thread per trial: the matrices are small, and trials run side by side
        with threadpool_limits(1, user_api="blas"):
            return self._run(trial)

    def _run(self, trial: Any) -> float | tuple[float, float]:
        import optuna

        config = suggest(trial, self.space, self.shared)
        fits = self._fits(trial, config)
        n_params = fits[0].net.n_params
        trial.set_user_attr("n_params", int(n_params))
        trial.set_user_attr("network", config.describe())
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        started, curve = time.perf_counter(), []
        stop, pruned = None, False
        for epoch in range(1, self.epochs + 1):
            stop = self._epoch(fits, curve)
            if stop:
                pruned = True
                break
            if len(self.objectives) == 1:
                trial.report(curve[-1], epoch)
                if trial.should_prune():
                    stop, pruned = f"pruned after epoch {epoch}", True
                    break
            best = int(np.argmin(curve))
            if self.patience is not None and epoch - (best + 1) >= self.patience:
                stop = f"no improvement for {self.patience} epochs"
                break
        self._record(trial, curve, started, stop)
        if pruned:
            raise optuna.TrialPruned(stop)
        error = float(min(curve))
        return error if len(self.objectives) == 1 else (error, float(n_params))

    def _fits(self, trial: Any, config: Config) -> list[Fit]:
        seeds = trial_seed(self.random_state, trial.number).spawn(len(self.problem.folds))
        fits = []
        early = self.subsample is not None and trial.number < self.subsample[1]
        trial.set_user_attr("subsample", self.subsample[0] if early else 1.0)
        for (train_idx, _), seed in zip(self.problem.folds, seeds, strict=True):
            if early:
                train_idx = subsample_rows(train_idx, self.subsample[0], self.random_state)
            fits.append(Fit(self.problem, config, train_idx, seed))
        return fits

    def _epoch(self, fits: list[Fit], curve: list[float]) -> str | None:
        """Train every fold one epoch and append the mean validation error; returns why the
        trial must stop when the cost diverged."""
        errors = []
        for fold, (fit, (_, val_idx)) in enumerate(zip(fits, self.problem.folds, strict=True)):
            try:
                fit.epoch()
            except TrainingError as err:
                curve.append(float("nan"))
                return f"diverged on fold {fold + 1}: {str(err).split(';')[0]}"
            errors.append(self.problem.error(fit.predict(self.problem.X[val_idx]), val_idx))
        curve.append(float(np.mean(errors)))
        return None

    @staticmethod
    def _record(trial: Any, curve: list[float], started: float, stop: str | None) -> None:
        """Keep the learning curve and the epochs spent with the trial (written once, at
        its end, so the storage sees one write per attribute)."""
        finite = [c for c in curve if np.isfinite(c)]
        trial.set_user_attr("epochs", len(curve))
        trial.set_user_attr("val_error", [round(c, 6) for c in finite])
        trial.set_user_attr("best_epoch", int(np.argmin(finite)) + 1 if finite else 0)
        trial.set_user_attr("seconds", round(time.perf_counter() - started, 3))
        if stop:
            trial.set_user_attr("stopped", stop)
