"""The plots of ``deltanet evaluate --plots DIR``, drawn by scikit-learn's displays.

- ``roc.png``: ROC curve (``RocCurveDisplay``); one-vs-rest, one curve per class, for
  more than two classes;
- ``pr.png``: precision-recall curve (``PrecisionRecallDisplay``), likewise;
- ``calibration.png``: reliability diagram (``CalibrationDisplay``): the share of
  positives against the predicted probability, in bins;
- ``predicted_vs_true.png`` and ``residuals.png`` (``PredictionErrorDisplay``);
- ``importance.png``: permutation importance of each raw column, with its spread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .plots import plt, save

#: at most this many classes get their own curve (one-vs-rest); more would be unreadable
MAX_CURVES = 10


def _one_vs_rest(y: np.ndarray, proba: np.ndarray, classes: list[str]):
    """``(name, is_class, score)`` per curve: class 1 for two classes, else every class
    (up to MAX_CURVES, the most frequent first)."""
    if len(classes) == 2:
        return [(classes[1], y == 1, proba[:, 1])]
    counts = np.bincount(y, minlength=len(classes))
    order = [k for k in np.argsort(-counts, kind="stable") if counts[k]][:MAX_CURVES]
    return [(classes[k], y == k, proba[:, k]) for k in sorted(order)]


def _title(base: str, classes: list[str]) -> str:
    if len(classes) == 2:
        return f"{base} (positive class: {classes[1]})"
    return f"{base} (one-vs-rest per class)"


def roc(y: np.ndarray, proba: np.ndarray, classes: list[str], path: Path) -> Path:
    """ROC curves with their AUC, and the chance diagonal."""
    from sklearn.metrics import RocCurveDisplay

    fig, ax = plt.subplots(figsize=(6.0, 5.4))
    curves = _one_vs_rest(y, proba, classes)
    for k, (name, is_class, score) in enumerate(curves):
        if is_class.all() or not is_class.any():
            continue  # one kind of row only: no curve
        RocCurveDisplay.from_predictions(is_class, score, name=f"class {name}", ax=ax,
                                         plot_chance_level=k == len(curves) - 1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(_title("ROC curve", classes))
    ax.legend(fontsize=8, loc="lower right")
    return save(fig, path)


def precision_recall(y: np.ndarray, proba: np.ndarray, classes: list[str], path: Path) -> Path:
    """Precision-recall curves with their average precision."""
    from sklearn.metrics import PrecisionRecallDisplay

    fig, ax = plt.subplots(figsize=(6.0, 5.4))
    for name, is_class, score in _one_vs_rest(y, proba, classes):
        if is_class.any():
            PrecisionRecallDisplay.from_predictions(is_class, score, name=f"class {name}",
                                                    ax=ax)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(_title("Precision-recall curve", classes))
    ax.legend(fontsize=8, loc="lower left")
    return save(fig, path)


def calibration(y: np.ndarray, proba: np.ndarray, classes: list[str], path: Path,
                n_bins: int = 10) -> Path:
    """Reliability diagram: observed share of the class against the predicted
    probability, in ``n_bins`` bins (a calibrated model lies on the diagonal)."""
    from sklearn.calibration import CalibrationDisplay

    fig, ax = plt.subplots(figsize=(6.0, 5.4))
    for name, is_class, score in _one_vs_rest(y, proba, classes):
        if is_class.any() and not is_class.all():
            CalibrationDisplay.from_predictions(is_class, score, n_bins=n_bins,
                                                name=f"class {name}", ax=ax)
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed share of the class")
    ax.set_title(_title("Calibration (reliability diagram)", classes))
    ax.legend(fontsize=8, loc="upper left")
    return save(fig, path)


def predicted_vs_true(y: np.ndarray, pred: np.ndarray, target: str, path: Path) -> Path:
    """Every row's prediction against its true value; perfect predictions lie on the
    diagonal."""
    return _prediction_error(y, pred, "actual_vs_predicted", f"true {target}",
                             f"Predicted vs true {target}", target, path)


def residuals(y: np.ndarray, pred: np.ndarray, target: str, path: Path) -> Path:
    """Residuals (true − predicted) against the prediction; no pattern is good."""
    return _prediction_error(y, pred, "residual_vs_predicted",
                             f"residual (true − predicted {target})",
                             f"Residuals of {target}", target, path)


def _prediction_error(y: np.ndarray, pred: np.ndarray, kind: str, ylabel: str, title: str,
                      target: str, path: Path) -> Path:
    """scikit-learn's ``PredictionErrorDisplay`` of ``kind``, every row, against the
    prediction."""
    from sklearn.metrics import PredictionErrorDisplay

    fig, ax = plt.subplots(figsize=(6.0, 5.4))
    PredictionErrorDisplay.from_predictions(y, pred, kind=kind, ax=ax, subsample=None,
                                            scatter_kwargs={"s": 10, "alpha": 0.6})
    ax.set_xlabel(f"predicted {target}")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return save(fig, path)


def importance_bars(importance: dict[str, dict[str, float]], task: str, path: Path) -> Path:
    """Permutation importance of each raw column (mean drop of the score, ± std)."""
    names = list(importance)[::-1]  # the most important on top
    means = [importance[n]["mean"] for n in names]
    stds = [importance[n]["std"] for n in names]
    score = "accuracy" if task == "classification" else "R²"
    fig, ax = plt.subplots(figsize=(6.4, 1.6 + 0.35 * len(names)))
    ax.barh(names, means, xerr=stds, color="tab:blue", ecolor="black", capsize=3)
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel(f"drop of {score} when the column is shuffled")
    ax.set_title("Permutation importance of the input columns")
    ax.grid(axis="x", alpha=0.3)
    return save(fig, path)

