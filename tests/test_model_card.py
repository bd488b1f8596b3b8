"""``deltanet card``: a model card in Markdown or HTML, the same for the same seed, with
bootstrap confidence intervals of the test metrics."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from deltanet.cli import main


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("card")
    path = folder / "wine.deltanet"
    assert main(["train", "wine", "--epochs", "20", "--hidden", "8", "--out", str(path),
                 "--quiet"]) == 0
    return path


def test_card_is_deterministic_for_a_seed(model, tmp_path, capsys):
    texts = []
    for name in ("a.md", "b.md"):
        assert main(["card", str(model), "wine", "--out", str(tmp_path / name), "--seed", "3",
                     "--bootstrap", "50", "--quiet"]) == 0
        texts.append((tmp_path / name).read_text())
    assert texts[0] == texts[1].replace("b_files/", "a_files/")
    for image in ("loss.png", "calibration.png", "importance.png"):
        assert (tmp_path / "a_files" / image).read_bytes() == \
            (tmp_path / "b_files" / image).read_bytes()
        assert f"](a_files/{image})" in texts[0]
    assert main(["card", str(model), "wine", "--out", str(tmp_path / "c.md"), "--seed", "4",
                 "--bootstrap", "50", "--quiet"]) == 0
    other = (tmp_path / "c.md").read_text().replace("c_files/", "a_files/")
    assert other != texts[0]  # another seed, other resamples
    html = []
    for name in ("a.html", "b.html"):
        assert main(["card", str(model), "wine", "--out", str(tmp_path / name), "--seed", "3",
                     "--bootstrap", "50", "--quiet"]) == 0
        html.append((tmp_path / name).read_bytes())
    assert html[0] == html[1] and html[0].startswith(b"<!DOCTYPE html>")
    assert html[0].count(b"data:image/png;base64,") == 3  # images inside: one file
    assert not (tmp_path / "a_files.html").exists()


def test_card_sections_and_intervals(model, tmp_path, capsys):
    capsys.readouterr()
    assert main(["card", str(model), "wine", "--out", str(tmp_path / "card.md"),
                 "--bootstrap", "100", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    text = (tmp_path / "card.md").read_text()
    for heading in ("# Model card: wine.deltanet", "## Model", "## Data", "## Training",
                    "## Metrics", "### Calibration", "### Permutation importance"):
        assert heading in text
    assert re.search(r"fingerprint `sha256:[0-9a-f]{64}`", text)
    assert "Split: 124 training, 18 validation, 36 test rows (seed 0, stratified)" in text
    assert "Scored on the 36 held-out test rows of 178" in text
    for key in ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss", "brier"):
        lo, hi = doc["intervals"][key]
        assert lo <= doc["metrics"][key] + 1e-12 and doc["metrics"][key] <= hi + 1e-12
    lo, hi = doc["intervals"]["accuracy"]
    assert f"[{lo:.4f}, {hi:.4f}]" in text
    assert lo < hi  # 36 rows: the interval has a width


def test_card_without_data_shows_the_recorded_metrics(model, tmp_path):
    assert main(["card", str(model), "--out", str(tmp_path / "card.md"), "--quiet"]) == 0
    text = (tmp_path / "card.md").read_text()
    assert "No DATA given: the metrics the model file recorded" in text
    assert "| accuracy |" in text and "### Calibration" not in text


def test_bootstrap_intervals_are_percentiles_of_resampled_sklearn_scores(model):
    from sklearn.metrics import accuracy_score

    from deltanet.cli import model_file
    from deltanet.cli._source import load_source
    from deltanet.cli.card import bootstrap_intervals
    from deltanet.cli.evaluate import score_rows

    m = model_file.read(model)
    scored = score_rows(m, load_source("wine").frame)
    intervals = bootstrap_intervals(m, scored, 40, 7)
    rng = np.random.default_rng(7)
    scores = []
    for _ in range(40):
        pick = rng.integers(0, len(scored.y), len(scored.y))
        scores.append(accuracy_score(scored.y[pick], scored.pred[pick]))
    assert intervals["accuracy"] == pytest.approx(
        [np.percentile(scores, 2.5), np.percentile(scores, 97.5)], abs=1e-12)
