"""The plots of ``deltanet train --plots DIR`` (Matplotlib, PNG, no display needed).

- ``loss.png``: training and validation loss per epoch.
- ``confusion_matrix.png``: counts of true class (rows) against predicted class (columns).
- ``decision_regions.png``: for two input columns, the class the network predicts at every
  point of the plane, with the examples on top.
- ``gradient_norms.png``: ``‖∂J/∂W_g‖`` of every layer over the epochs, on a log scale; the
  vanishing-gradient view (seed 002, Lecture 07-3d): with logistic units the first layers'
  norms sit orders of magnitude below the last ones'.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")  # draw to files only; chosen before pyplot is first imported

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

DPI = 110


def save(fig, path: Path) -> Path:
    """Lay out ``fig``, write it to ``path`` as PNG (making the folder) and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def loss_curves(history: dict[str, Any], path: Path) -> Path:
    """Training loss (and validation loss, when recorded) against the epoch, named after
    the loss; the epoch whose weights were saved is marked, and so is the lowest validation
    loss when that is another epoch (without early stopping the last epoch is saved)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    epochs = np.arange(1, len(history["loss"]) + 1)
    marker = "o" if len(epochs) < 5 else None  # a line of one point would not show
    ax.plot(epochs, history["loss"], label="training loss", color="tab:blue", marker=marker)
    val = history.get("val_loss") or []
    if val:
        ax.plot(epochs[:len(val)], val, label="validation loss", color="tab:orange",
                marker=marker)
    saved, best = history.get("saved_epoch"), history.get("best_epoch")
    if saved:
        ax.axvline(saved, color="black", linestyle="--", linewidth=1,
                   label=f"saved weights: epoch {saved}")
    if best and val and best != saved:
        ax.axvline(best, color="grey", linestyle=":",
                   label=f"lowest validation loss: epoch {best} (not saved)")
    values = [v for v in list(history["loss"]) + list(val) if v is not None]
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
    ax.set_ylabel(y_scale(ax, values, history.get("loss_name") or "loss J"))
    ax.set_title(f"Loss per epoch: {history.get('loss_name') or 'loss'}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)


def y_scale(ax, values: Any, name: str) -> str:
    """A log y axis when ``values`` (all positive) span a decade or more, else a linear one
    with plain numbers (a log axis over less than a decade reads "6×10⁻¹ ... 2×10⁻¹");
    returns the axis label, ``name`` with "(log scale)" when it is one."""
    values = np.asarray([v for v in np.ravel(values) if np.isfinite(v)], dtype=float)
    if values.size > 1 and values.min() > 0 and values.max() >= 10 * values.min():
        ax.set_yscale("log")
        return f"{name} (log scale)"
    from matplotlib.ticker import ScalarFormatter

    ax.yaxis.set_major_formatter(ScalarFormatter(useOffset=False))
    return name


def confusion_matrix(matrix: list[list[int]], classes: list[str], path: Path,
                     title: str = "Confusion matrix") -> Path:
    """The confusion matrix as an image, with the count in every cell."""
    cm = np.asarray(matrix)
    k = len(classes)
    size = min(3.2 + 0.45 * k, 11.0)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    names = [c if len(c) <= 12 else c[:11] + "…" for c in classes]
    font = 10 if k <= 8 else 8 if k <= 15 else 6
    ax.set_xticks(range(k), labels=names, fontsize=font)  # horizontal: read as written
    ax.set_yticks(range(k), labels=names, fontsize=font)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(k):
        for j in range(k):
            if cm[i, j]:  # empty cells stay empty: the few errors stand out
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=font,
                        color="white" if cm[i, j] > threshold else "black")
    return save(fig, path)


def decision_regions(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray,
                     y: np.ndarray, classes: list[str], names: list[str], path: Path,
                     resolution: int = 200) -> Path:
    """Predicted class over a grid spanning ``X`` (two raw input columns), examples on top.

    ``predict`` maps raw ``(n, 2)`` points to class indices.
    """
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.05 * np.where(hi > lo, hi - lo, 1.0)
    g1 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g2 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    mesh1, mesh2 = np.meshgrid(g1, g2)
    grid = np.column_stack([mesh1.ravel(), mesh2.ravel()])
    zone = predict(grid).reshape(mesh1.shape)
    k = len(classes)
    cmap = plt.get_cmap("tab10" if k <= 10 else "tab20")
    colors = [cmap(c % cmap.N) for c in range(k)]
    fig, ax = plt.subplots(figsize=(6.0, 5.4))
    ax.contourf(mesh1, mesh2, zone, levels=np.arange(k + 1) - 0.5,
                colors=colors, alpha=0.3)
    for c in range(k):
        pick = y == c
        ax.scatter(X[pick, 0], X[pick, 1], s=12, color=colors[c], edgecolor="black",
                   linewidth=0.3, label=f"class {classes[c]}")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title("Decision regions")
    ax.legend(loc="best", fontsize=8)
    return save(fig, path)


def gradient_norms(record: dict[str, Any], path: Path) -> Path:
    """``‖∂J/∂W_g‖`` per layer (by depth) over the epochs, log scale."""
    norms = np.asarray(record["grad_norm"], dtype=float)  # (epochs, layers)
    epochs = np.asarray(record["epoch"])
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    n_layers = norms.shape[1]
    for k in range(n_layers):
        label = (f"layer {record['layer'][k]} (depth {record['depth'][k]}"
                 f"{', output' if k == n_layers - 1 else ''})")
        ax.plot(epochs, np.maximum(norms[:, k], 1e-300), label=label, linewidth=1.6,
                color=layer_color(k, n_layers), marker="o" if len(epochs) < 5 else None)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
    ax.set_ylabel(y_scale(ax, norms, "gradient norm ‖∂J/∂W‖ into the layer"))
    ax.set_title("Gradient norm per depth (vanishing gradients)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)


def layer_color(k: int, n: int):
    """Distinct colours that read well on white: tab10 for up to ten layers, else plasma
    stopped before its pale yellow end."""
    if n <= 10:
        return plt.get_cmap("tab10")(k)
    return plt.get_cmap("plasma")(0.85 * k / max(n - 1, 1))


# --- the plots of one training run ------------------------------------------------------------

def write_plots(folder: Path, prep: Any, fitted: Any, metrics: dict[str, Any]) -> list[Path]:
    """Write every plot that applies to this run into ``folder``; return the paths."""
    history = fitted.history
    paths = []
    if history.get("loss"):
        paths.append(loss_curves(history, folder / "loss.png"))
    if "confusion_matrix" in metrics:
        paths.append(confusion_matrix(metrics["confusion_matrix"], metrics["classes"],
                                      folder / "confusion_matrix.png",
                                      f"Confusion matrix ({metrics['split']} rows)"))
    pre = prep.pre
    two_numeric = len(pre.columns_) == 2 and all(c.kind == "numeric" for c in pre.columns_)
    if pre.task_ == "classification" and two_numeric:
        paths.append(_decision_regions(prep, fitted.net, folder / "decision_regions.png"))
    if history.get("gradient_norms"):
        paths.append(gradient_norms(history["gradient_norms"], folder / "gradient_norms.png"))
    return paths


def _decision_regions(prep: Any, net: Any, path: Path) -> Path:
    import pandas as pd

    from . import model_file

    pre = prep.pre
    names = [c.name for c in pre.columns_]
    frame = prep.source.frame.dropna(subset=names)
    model = model_file.Model(net, pre, {}, {}, path)

    def predict(points: np.ndarray) -> np.ndarray:
        grid = pd.DataFrame(points, columns=names)
        return model_file.predict_codes(model, model_file.outputs(model, grid))

    X = frame[names].to_numpy(dtype=float)
    return decision_regions(predict, X, pre.encode_target(frame), pre.classes_, names, path)
