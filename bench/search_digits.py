"""Architecture search on digits against MLPClassifier with default parameters.

Runs ``deltanet.search`` (30 trials by default, TPE, median pruning, 3-fold stratified CV)
on scikit-learn's digits scaled to [-1, 1], and scores scikit-learn's ``MLPClassifier()``
(and deltanet's, when present) with the same folds. Because the best of 30 trials is
chosen on those folds, its score is re-measured on fresh folds (another seed) next to the
defaults on the same fresh folds. Prints the tables and writes ``bench/SEARCH.md``.

    .venv/bin/python bench/search_digits.py [--trials 30] [--epochs 40] [--jobs 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from optuna.trial import FixedTrial
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score

import deltanet as dn
from deltanet.search.api import make_problem
from deltanet.search.objective import Objective


def default_cv_accuracy(make, X, y, seed: int) -> tuple[float, float]:
    """Mean 3-fold CV accuracy of a fresh default estimator per fold, and the seconds."""
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the default max_iter=200
        scores = cross_val_score(make(), X, y, cv=folds, scoring="accuracy")
    return float(np.mean(scores)), time.perf_counter() - started


def rescore(result, X, y, seed: int, epochs: int) -> float:
    """CV accuracy of the best trial's settings on the folds of another seed."""
    problem, _ = make_problem(X, y, "classification", 3, seed)
    objective = Objective(problem, result_space(result), False, epochs, ("error",), seed)
    trial = FixedTrial(result.best_trial.params, 0)
    return 1.0 - objective(trial)


def result_space(result):
    from deltanet.search.space import make_space

    fixed = {k: v for k, v in result.best_params.items() if k in dn.search.DEFAULT_SPACE
             and k not in result.best_trial.params}
    return make_space(fixed)


def peers() -> dict:
    from sklearn.neural_network import MLPClassifier as SkMLP

    out = {"scikit-learn MLPClassifier()": SkMLP}
    try:
        from deltanet.estimators import MLPClassifier as DnMLP
    except ImportError:
        return out
    out["deltanet MLPClassifier()"] = DnMLP
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", default=str(Path(__file__).with_name("SEARCH.md")))
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    ds = dn.load_dataset("digits")
    X, y = ds.X / 8.0 - 1.0, ds.y  # pixel values 0..16 to [-1, 1]
    started = time.perf_counter()
    result = dn.search(X, y, n_trials=args.trials, epochs=args.epochs, storage=":memory:"
                       if args.jobs == 1 else None, n_jobs=args.jobs, random_state=0,
                       verbose=True)
    search_s = time.perf_counter() - started
    states = result.to_dict()["trials"]
    rows = [("deltanet.search best trial (folds seed 0, chosen on them)",
             result.best_score, search_s)]
    fresh = rescore(result, X, y, 1, args.epochs)
    rows.append(("deltanet.search best settings, fresh folds (seed 1)", fresh, None))
    for name, make in peers().items():
        for seed in (0, 1):
            acc, secs = default_cv_accuracy(make, X, y, seed)
            rows.append((f"{name}, folds seed {seed}", acc, secs))
    load = (load_before, os.getloadavg()[0])
    lines = report(args, result, rows, states, load)
    print("\n".join(lines))
    Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


def report(args, result, rows, states, load) -> list[str]:
    lines = [
        "# Architecture search on digits", "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M')}; machine: {platform.machine()}, "
        f"{platform.processor() or platform.system()}, {os.cpu_count()} cores; Python "
        f"{sys.version.split()[0]}; load average {load[0]:.1f} at the start, {load[1]:.1f} "
        "at the end (seconds are wall time, shared with whatever else ran)",
        f"- command: `.venv/bin/python bench/search_digits.py --trials {args.trials} "
        f"--epochs {args.epochs} --jobs {args.jobs}`",
        "- data: scikit-learn digits (1797 × 64) scaled to [-1, 1]; 3-fold stratified CV",
        f"- trials: {', '.join(f'{n} {s}' for s, n in states.items() if n)}", "",
        "| model | CV accuracy | seconds |", "| --- | ---: | ---: |"]
    for name, acc, secs in rows:
        lines.append(f"| {name} | {acc:.4f} | {'' if secs is None else f'{secs:.1f}'} |")
    best = result.best_trial
    lines += ["", f"Best trial {best.number}: {result.best_config.describe()}; "
              f"{best.user_attrs.get('n_params')} parameters; "
              f"best epoch {best.user_attrs.get('best_epoch')}; "
              f"settings {result.best_params}.", ""]
    return lines


if __name__ == "__main__":
    sys.exit(main())
