"""The plots of ``deltanet train --plots``: honest about which weights were saved, axes
that read well, colours that show on white, a confusion matrix with horizontal labels and
empty zero cells, and a vanishing-gradient demo that shows what the lecture says."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from deltanet.cli import main, plots
from deltanet.io import read_model


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions draw, kept open instead of written."""
    figures = []

    def keep(fig, path):
        figures.append(fig)
        return path

    monkeypatch.setattr(plots, "save", keep)
    return figures


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_loss_plot_marks_the_saved_epoch_and_names_the_loss(drawn, tmp_path):
    history = {"loss": [0.9, 0.7, 0.6, 0.55], "val_loss": [0.8, 0.5, 0.6, 0.7],
               "best_epoch": 2, "saved_epoch": 4, "loss_name": "log loss"}
    plots.loss_curves(history, tmp_path / "loss.png")
    ax = drawn[-1].axes[0]
    assert "saved weights: epoch 4" in _legend(ax)
    assert "lowest validation loss: epoch 2 (not saved)" in _legend(ax)
    # less than a decade: a linear axis with plain numbers, named after the loss
    assert ax.get_yscale() == "linear" and ax.get_ylabel() == "log loss"
    assert "×10" not in " ".join(t.get_text() for t in ax.get_yticklabels())
    # early stopping restored the best epoch: one line, the saved one
    plots.loss_curves({**history, "saved_epoch": 2}, tmp_path / "loss.png")
    legend = _legend(drawn[-1].axes[0])
    assert "saved weights: epoch 2" in legend and not any("not saved" in t for t in legend)
    # over two decades: log scale, said in the label
    plots.loss_curves({"loss": [10.0, 1.0, 0.05], "val_loss": [], "saved_epoch": 3,
                       "loss_name": "cross-entropy"}, tmp_path / "loss.png")
    ax = drawn[-1].axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "cross-entropy (log scale)"


def test_training_records_which_weights_were_saved(tmp_path):
    for extra, saved in (([], 12), (["--early-stopping", "--patience", "2"], None)):
        out = tmp_path / "m.deltanet"
        assert main(["train", "iris", "--epochs", "12", "--lr", "0.05", "--out", str(out),
                     "--quiet", *extra]) == 0
        hist = read_model(out)[1]["cli"]["history"]
        assert hist["loss_name"] == "cross-entropy"
        assert hist["saved_epoch"] == (saved or hist["best_epoch"])


def _luminance(colour) -> float:
    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("n_layers", [2, 5, 10, 14])
def test_gradient_norm_lines_are_distinct_and_show_on_white(drawn, tmp_path, n_layers):
    record = {"epoch": [1, 2, 3, 4, 5], "layer": list(range(1, n_layers + 1)),
              "depth": list(range(1, n_layers + 1)),
              "grad_norm": np.geomspace(1e-4, 1.0, 5 * n_layers).reshape(5, n_layers).tolist()}
    plots.gradient_norms(record, tmp_path / "g.png")
    colours = [line.get_color() for line in drawn[-1].axes[0].get_lines()]
    assert len({to_rgb(c) for c in colours}) == n_layers
    assert max(_luminance(c) for c in colours) < 0.75  # viridis' yellow end is 0.87


def test_confusion_matrix_labels_are_horizontal_and_zero_cells_empty(drawn, tmp_path):
    classes = ["setosa", "versicolor", "virginica", "a rather long class name", "e", "f"]
    matrix = np.diag([5, 6, 7, 8, 9, 10])
    matrix[0, 1] = 2
    plots.confusion_matrix(matrix.tolist(), classes, tmp_path / "cm.png")
    ax = drawn[-1].axes[0]
    assert all(t.get_rotation() == 0 for t in ax.get_xticklabels())
    shown = sorted(int(t.get_text()) for t in ax.texts)
    assert shown == sorted([5, 6, 7, 8, 9, 10, 2])  # the 29 zero cells print nothing
    assert "a rather lo…" in [t.get_text() for t in ax.get_xticklabels()]


@pytest.mark.slow
def test_vanishing_gradient_demo_shows_smaller_gradients_near_the_inputs(tmp_path):
    # the README's demo: deep logistic layers trained by plain SGD (whose steps are the
    # gradients themselves, unlike Adam's rescaled ones)
    out = tmp_path / "van.deltanet"
    assert main(["train", "digits", "--activation", "logistic", "--hidden", "32,32,32,32",
                 "--solver", "sgd", "--lr", "0.1", "--epochs", "20", "--out", str(out),
                 "--plots", str(tmp_path / "plots"), "--quiet"]) == 0
    record = read_model(out)[1]["cli"]["history"]["gradient_norms"]
    norms = np.asarray(record["grad_norm"])  # (epochs, layers 1..5)
    assert norms.shape == (20, 5)
    assert np.all(norms[:, 0] < norms[:, -1] / 10)  # layer 1 learns 10× slower, every epoch
    assert np.all(norms[:, 0] < norms[:, 2]) and np.all(norms[:, 2] < norms[:, -1])
    assert (tmp_path / "plots" / "gradient_norms.png").stat().st_size > 10_000
