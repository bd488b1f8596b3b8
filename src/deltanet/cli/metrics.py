"""Metrics of a trained model on a table, and their Rich tables.

Classification: accuracy, macro-averaged F1 and the confusion matrix (rows are the true
classes, columns the predicted ones). Regression: R², mean absolute error and root mean
squared error, in the target's own units.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray,
                           classes: list[str]) -> dict[str, Any]:
    """Accuracy, macro F1 and confusion matrix of class indices ``0..K−1``."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    labels = list(range(len(classes)))
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1_score(y_true, y_pred, labels=labels, average="macro",
                                   zero_division=0)),
        "classes": list(classes),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """R², MAE and RMSE (R² is left out, as None, for fewer than two examples)."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    r2 = float(r2_score(y_true, y_pred)) if len(y_true) >= 2 else None
    return {
        "n": len(y_true),
        "r2": r2,
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred))),
    }


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}"


def metrics_tables(metrics: dict[str, Any], title: str) -> list:
    """Rich renderables for ``metrics``: a title, the scores, and the confusion matrix if
    there is one."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    scores = Table()
    scores.add_column("metric")
    scores.add_column("value", justify="right")
    if "accuracy" in metrics:
        rows = [("accuracy", _fmt(metrics["accuracy"])), ("F1 (macro)", _fmt(metrics["f1_macro"]))]
    else:
        rows = [("R²", _fmt(metrics["r2"])), ("MAE", _fmt(metrics["mae"])),
                ("RMSE", _fmt(metrics["rmse"]))]
    for name, value in [*rows, ("examples", str(metrics["n"]))]:
        scores.add_row(name, value)
    parts = [Text(title, style="bold"), scores]
    if "confusion_matrix" in metrics:
        parts += [Text("confusion matrix (rows: true class, columns: predicted class)"),
                  confusion_table(metrics["confusion_matrix"], metrics["classes"])]
    return [Group(*parts)]


def confusion_table(matrix: list[list[int]], classes: list[str]):
    """The confusion matrix as a Rich table: true classes down, predicted across."""
    from rich.table import Table

    table = Table()
    table.add_column("true \\ pred", style="bold")
    for name in classes:
        table.add_column(_short(name), justify="right")
    for i, (name, row) in enumerate(zip(classes, matrix, strict=True)):
        # the diagonal holds the correct predictions
        cells = [f"[green]{v}[/green]" if k == i and v else str(v) for k, v in enumerate(row)]
        table.add_row(_short(name), *cells)
    return table


def _short(name: str, limit: int = 12) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"
