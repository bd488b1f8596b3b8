"""Playground sessions: one per browser tab, each with its data, network and a lock.

A ``Session`` holds a ``Config``, the generated (or uploaded) points split into training and
test parts, the network built from the config, and the loss history. Training runs on the
real engine (``deltanet.train``), one epoch at a time so that the training and test loss
are recorded after every epoch. ``SessionStore`` bounds the number of sessions and evicts
the least recently used idle ones.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, replace

import numpy as np

from ..network import Network
from ..training import TrainingError, train
from . import datasets
from ._prng import DATA, EPOCHS, WEIGHTS, Prng
from .config import DATA_FIELDS, NET_FIELDS, Config

MAX_HISTORY = 4000


class SessionError(Exception):
    """A request the session cannot serve; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Session:
    """The state of one playground tab (see module docstring). Hold ``lock`` to use it."""

    def __init__(self, sid: str, config: Config | None = None) -> None:
        self.id = sid
        self.lock = threading.Lock()
        self.waiting = 0  # requests waiting for the lock (the server's count)
        self.last_used = time.monotonic()
        self.upload: datasets.Upload | None = None
        self.data_version = 0
        self.config = config or Config()
        self._make_data()
        self._make_net()

    # ------------------------------------------------------------------ building
    @contextmanager
    def _all_or_nothing(self) -> Iterator[None]:
        """Put every attribute back as it was if the block fails: a refused change leaves
        the session as it was, never half switched."""
        saved = {name: value for name, value in vars(self).items()
                 if name not in ("lock", "waiting", "last_used")}
        try:
            yield
        except BaseException:
            vars(self).update(saved)
            raise

    def apply(self, config: Config) -> None:
        """Switch to ``config``; regenerate data and rebuild the network only when needed."""
        if config.dataset == "upload":
            self._check_upload(config)
        changed = {f.name for f in fields(Config)
                   if getattr(config, f.name) != getattr(self.config, f.name)}
        with self._all_or_nothing():
            self.config = config
            if changed & DATA_FIELDS:
                self._make_data()
            self._check_trainable()
            if changed & (DATA_FIELDS | NET_FIELDS):
                self._make_net()

    def set_upload(self, upload: datasets.Upload) -> None:
        """Use an uploaded CSV (read by ``datasets.parse_csv``) as the data set and rebuild
        everything."""
        y, task = upload.y, upload.task
        with self._all_or_nothing():
            self.upload = upload
            n_classes = int(y.max()) + 1 if task == "classification" else self.config.n_classes
            loss = "squared_error" if task == "regression" else self.config.loss
            self.config = replace(self.config, dataset="upload", task=task,
                                  n_classes=n_classes, loss=loss)
            self._make_data()
            self._check_trainable()
            self._make_net()

    def _check_trainable(self) -> None:
        n = len(self.X_train)
        if self.config.batch_norm and n < 2:
            raise SessionError(422, f"batch normalisation needs at least 2 training points "
                                    f"(got {n}); raise the training ratio, add data or turn "
                                    "batch normalisation off")

    def _check_upload(self, config: Config) -> None:
        if self.upload is None:
            raise SessionError(422, "this session has no uploaded data (got dataset='upload'); "
                                    "upload a CSV of x1,x2,label first")
        task = self.upload.task
        classes = int(self.upload.y.max()) + 1 if task == "classification" else None
        if config.task != task or (classes and config.n_classes != classes):
            raise SessionError(422, f"the uploaded data is a {task} set"
                                    + (f" with {classes} classes" if classes else "")
                                    + f" (got task={config.task!r}, n_classes="
                                    f"{config.n_classes}); send matching settings")

    def _make_data(self) -> None:
        c = self.config
        rng = Prng(c.seed, DATA)
        if c.dataset == "upload" and self.upload is not None:
            X, y = self.upload.X, self.upload.y
        else:
            X, y = datasets.generate(c.dataset, c.n_samples, c.noise / 100.0, c.n_classes, rng)
        self.X_train, self.y_train, self.X_test, self.y_test = datasets.split(
            X, y, c.ratio / 100.0, rng)
        self.data_version += 1

    def _make_net(self) -> None:
        c = self.config
        output = {1: "logistic"}.get(self.n_outputs, "softmax")
        if c.task == "regression":
            output = "identity"
        sizes = [len(c.features), *c.layers, self.n_outputs]
        self.net = Network.layered(sizes, hidden=list(c.activations), output=output,
                                   random_state=Prng(c.seed, WEIGHTS),
                                   batch_norm=c.batch_norm)
        self.epoch = 0
        self.history: list[tuple[int, float, float]] = []
        self._record()

    # ------------------------------------------------------------------ data views
    @property
    def n_outputs(self) -> int:
        c = self.config
        return c.n_classes if c.task == "classification" and c.n_classes > 2 else 1

    @property
    def loss_name(self) -> str:
        """The deltanet loss: log loss / cross-entropy for classification, or squared error."""
        if self.config.loss == "squared_error":
            return "squared_error"
        return "log_loss" if self.n_outputs == 1 else "cross_entropy"

    @property
    def penalty(self) -> dict[str, float]:
        """``{"l2": λ}``, ``{"l1": λ}`` or ``{}``: the regularisation ``train`` applies."""
        c = self.config
        return {c.regularization: c.reg_rate} if c.regularization in ("l1", "l2") else {}

    def inputs(self, X: np.ndarray) -> np.ndarray:
        """The network's inputs (the chosen features) for coordinates ``X`` (n, 2)."""
        return datasets.features(X, self.config.features)

    def targets(self, y: np.ndarray) -> np.ndarray:
        """Targets ``(n, K)``: 0/1, one-hot rows, or regression values."""
        if self.n_outputs > 1:
            return np.eye(self.n_outputs)[y.astype(int)]
        return y.astype(float).reshape(-1, 1)

    def losses(self) -> tuple[float, float]:
        """Mean loss ``J`` on the training and the test points (inference mode)."""
        def cost(X: np.ndarray, y: np.ndarray) -> float:
            if len(X) == 0:
                return float("nan")
            return self.net.backprop(self.inputs(X), self.targets(y), loss=self.loss_name).loss
        return cost(self.X_train, self.y_train), cost(self.X_test, self.y_test)

    def _record(self) -> None:
        train_loss, test_loss = self.losses()
        self.history.append((self.epoch, train_loss, test_loss))
        if len(self.history) > MAX_HISTORY:
            # Keep the first and the latest point; thin the rest to every other epoch.
            self.history = self.history[:1] + self.history[2:-1:2] + self.history[-1:]

    # ------------------------------------------------------------------ actions
    def train(self, epochs: int, seconds: float = float("inf")) -> None:
        """Train ``epochs`` epochs of mini-batch gradient descent with the session's settings,
        fewer if they take over ``seconds`` (at least one epoch; ``epoch`` says how many)."""
        deadline = time.monotonic() + seconds
        c = self.config
        X, Y = self.inputs(self.X_train), self.targets(self.y_train)
        if c.batch_norm and len(X) % c.batch_size == 1:
            # Batch normalisation cannot use a last batch of one example: leave one out.
            X, Y = X[:-1], Y[:-1]
        reg = self.penalty
        for _ in range(epochs):
            try:
                train(self.net, X, Y, loss=self.loss_name, lr=c.lr, batch_size=c.batch_size,
                      epochs=1, random_state=Prng(c.seed, EPOCHS + self.epoch),
                      dropout=c.dropout or None, **reg)
            except TrainingError as err:
                raise SessionError(422, f"training stopped at epoch {self.epoch + 1}: {err}; "
                                        "press reset to start again") from err
            self.epoch += 1
            self._record()
            if time.monotonic() >= deadline:
                break

    def reset(self) -> None:
        """Draw the initial weights again (from the seed) and clear the history."""
        self._make_net()

    def set_weight(self, i: int, j: int, value: float) -> None:
        """Set ``w_ij`` (``i = 0`` for the bias arc) by lecture numbers."""
        if (i, j) not in set(self.net.arcs):
            raise SessionError(422, f"({i}, {j}) is not an arc of the network; arcs go from a "
                                    f"lower to a higher neuron number between adjacent layers")
        self.net.weights[i, j] = value
        self.history.append((self.epoch, *self.losses()))

    def set_weights(self, edges: object) -> None:
        """Set every weight at once from ``[[i, j, w_ij], ...]`` (a lesson's weights):
        exactly the network's arcs, each once, with finite weights of at most 1e6."""
        arcs = set(self.net.arcs)
        given = edges if isinstance(edges, list) else []
        ok = isinstance(edges, list) and all(
            isinstance(e, list) and len(e) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) for v in e[:2])
            and isinstance(e[2], (int, float)) and not isinstance(e[2], bool)
            and abs(e[2]) <= 1e6 for e in given)
        if not ok or {(e[0], e[1]) for e in given} != arcs or len(given) != len(arcs):
            raise SessionError(422, f"the weights do not fit this network ({len(arcs)} arcs): "
                                    "send [[i, j, w_ij], ...] with every arc once and weights "
                                    "in [-1e6, 1e6], e.g. from the same lesson's settings")
        for i, j, w in given:
            self.net.weights[i, j] = float(w)
        self.history.append((self.epoch, *self.losses()))


class SessionStore:
    """At most ``max_sessions`` sessions; idle ones expire after ``ttl`` seconds.

    When the store is full, the least recently used session idle for at least
    ``min_idle`` seconds makes room; if none is, creating a session fails with 429.
    """

    def __init__(self, max_sessions: int = 64, ttl: float = 3600.0,
                 min_idle: float = 30.0) -> None:
        self.max_sessions = max_sessions
        self.ttl = ttl
        self.min_idle = min_idle
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self) -> Session:
        """A new session with the default settings."""
        session = Session(secrets.token_urlsafe(12))
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            if len(self._sessions) >= self.max_sessions:
                oldest = next(iter(self._sessions.values()))
                if now - oldest.last_used < self.min_idle:
                    raise SessionError(429, f"the playground already serves {self.max_sessions}"
                                            " sessions; close a tab or try again shortly")
                del self._sessions[oldest.id]
            self._sessions[session.id] = session
        return session

    def get(self, sid: str) -> Session:
        """The session ``sid``, marked as just used; 404 when unknown or expired."""
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                raise SessionError(404, f"no session {sid[:40]!r} (it may have expired); "
                                        "create one with POST /api/session")
            session.last_used = time.monotonic()
            self._sessions.move_to_end(sid)
            return session

    def delete(self, sid: str) -> None:
        """Forget session ``sid`` (unknown ids are ignored)."""
        with self._lock:
            self._sessions.pop(sid, None)

    def _expire(self, now: float) -> None:
        stale = [sid for sid, s in self._sessions.items()
                 if now - s.last_used > self.ttl]
        for sid in stale:
            del self._sessions[sid]
