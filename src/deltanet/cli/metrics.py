"""Metrics of a trained model on a table, and their Rich tables.

Every number comes from ``sklearn.metrics``. Classification: accuracy, balanced accuracy,
macro F1, precision, recall and F1 per class, the confusion matrix (rows are the true
classes, columns the predicted ones) and, from the predicted probabilities, ROC-AUC (binary,
or one-vs-rest averaged over the classes), log loss and the Brier score. Regression: R²,
mean absolute error, root mean squared error (in the target's own units) and mean absolute
percentage error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: the scores of each task, in the order they are shown: (key, label)
CLASSIFICATION_SCORES = (("accuracy", "accuracy"), ("balanced_accuracy", "balanced accuracy"),
                         ("f1_macro", "F1 (macro)"), ("roc_auc", "ROC-AUC"),
                         ("log_loss", "log loss"), ("brier", "Brier score"))
REGRESSION_SCORES = (("r2", "R²"), ("mae", "MAE"), ("rmse", "RMSE"), ("mape", "MAPE"))


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str],
                           proba: np.ndarray | None = None) -> dict[str, Any]:
    """The classification metrics of class indices ``0..K−1`` (and of the probabilities
    ``proba``, one column per class, when given)."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    metrics = {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": _balanced(balanced_accuracy_score, y_true, y_pred),
        "f1_macro": float(f1_score(y_true, y_pred, labels=labels, average="macro",
                                   zero_division=0)),
        "per_class": {c: {"precision": float(precision[k]), "recall": float(recall[k]),
                          "f1": float(f1[k]), "support": int(support[k])}
                      for k, c in enumerate(classes)},
        "classes": list(classes),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    if proba is not None:
        metrics.update(probability_metrics(y_true, proba, labels))
    return metrics


def _balanced(score, y_true, y_pred) -> float:
    import warnings

    with warnings.catch_warnings():  # a class predicted but absent from y_true is fine here
        warnings.simplefilter("ignore", UserWarning)
        return float(score(y_true, y_pred))


def probability_metrics(y_true: np.ndarray, proba: np.ndarray, labels: list[int]
                        ) -> dict[str, Any]:
    """ROC-AUC (binary; one-vs-rest macro average for more classes), log loss and Brier
    score. ROC-AUC is None when a class of ``labels`` has no row in ``y_true`` (its curve
    is undefined)."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    # softmax rows of a float32 network sum to 1 only to float32 rounding (~1e-7), and
    # log_loss checks the sum in float64: rows are divided by their sum (a no-op in float64)
    proba = np.asarray(proba, dtype=np.float64)
    proba = proba / proba.sum(axis=1, keepdims=True)
    binary = len(labels) == 2
    present = np.unique(y_true).size == len(labels)
    auc = None
    if present:
        auc = float(roc_auc_score(y_true, proba[:, 1]) if binary else
                    roc_auc_score(y_true, proba, multi_class="ovr", labels=labels))
    brier = (brier_score_loss(y_true, proba[:, 1], labels=labels) if binary else
             brier_score_loss(y_true, proba, labels=labels))
    return {"roc_auc": auc, "log_loss": float(log_loss(y_true, proba, labels=labels)),
            "brier": float(brier)}


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """R², MAE, RMSE and MAPE (R² is left out, as None, for fewer than two examples)."""
    from sklearn.metrics import (
        mean_absolute_error,
        mean_absolute_percentage_error,
        r2_score,
        root_mean_squared_error,
    )

    r2 = float(r2_score(y_true, y_pred)) if len(y_true) >= 2 else None
    return {
        "n": len(y_true),
        "r2": r2,
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "rmse": float(root_mean_squared_error(y_true, y_pred)),
        "mape": float(mean_absolute_percentage_error(y_true, y_pred)),
    }


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}"


def metrics_tables(metrics: dict[str, Any], title: str) -> list:
    """Rich renderables for ``metrics``: a title, the scores, the per-class scores and the
    confusion matrix if there are any."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    scores = Table()
    scores.add_column("metric")
    scores.add_column("value", justify="right")
    names = CLASSIFICATION_SCORES if "accuracy" in metrics else REGRESSION_SCORES
    for key, label in names:
        if key in metrics:
            scores.add_row(label, _fmt(metrics[key]))
    scores.add_row("examples", str(metrics["n"]))
    parts = [Text(title, style="bold"), scores]
    if metrics.get("per_class"):
        parts.append(per_class_table(metrics["per_class"]))
    if "confusion_matrix" in metrics:
        parts += [Text("confusion matrix (rows: true class, columns: predicted class)"),
                  confusion_table(metrics["confusion_matrix"], metrics["classes"])]
    return [Group(*parts)]


def per_class_table(per_class: dict[str, dict[str, Any]]):
    """Precision, recall, F1 and support of every class."""
    from rich.table import Table

    table = Table()
    for name in ("class", "precision", "recall", "F1", "support"):
        table.add_column(name, justify="left" if name == "class" else "right")
    for name, row in per_class.items():
        table.add_row(_short(name), _fmt(row["precision"]), _fmt(row["recall"]),
                      _fmt(row["f1"]), str(row["support"]))
    return table


def confusion_table(matrix: list[list[int]], classes: list[str]):
    """The confusion matrix as a Rich table: true classes down, predicted across."""
    from rich.table import Table

    table = Table()
    table.add_column("true \\ pred", style="bold")
    for name in classes:
        table.add_column(_short(name), justify="right")
    for i, (name, row) in enumerate(zip(classes, matrix, strict=True)):
        # the diagonal holds the correct predictions; an empty cell is a dim dot, so the
        # errors stand out
        cells = [f"[green]{v}[/green]" if k == i and v else str(v) if v else "[dim]·[/dim]"
                 for k, v in enumerate(row)]
        table.add_row(_short(name), *cells)
    return table


def _short(name: str, limit: int = 12) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"
