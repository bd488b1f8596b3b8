"""No command overwrites a file of another kind without ``--force``.

For every output path of the command line (``train --out``, ``--checkpoint``, the plot
files of ``--plots``, ``predict --out``, ``search --out``, ``explain --out``), existing
files of other kinds are generated (CSV tables, text, random bytes, a checkpoint where a
model goes and the reverse, a ZIP of something else, a PNG that is not one): each is
refused before any work, with one line naming ``--force``, and left as it was; the same
path of the right kind is replaced as before, and ``--force`` replaces anything.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

import deltanet as dn
from deltanet.cli import main


def others(rng: np.random.Generator, tmp: Path) -> list[bytes]:
    """Contents of files of other kinds (``tmp`` holds a real model and checkpoint)."""
    table = "".join(f"{rng.normal():.3f},{int(rng.integers(2))}\n" for _ in range(5))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    return [("x,y\n" + table).encode(), "Notes on München\n".encode(),
            bytes(rng.integers(0, 256, int(rng.integers(1, 400)), dtype=np.uint8)),
            buf.getvalue(), (tmp / "run.ckpt").read_bytes()]


@pytest.fixture(scope="module")
def kinds(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kinds")
    net = dn.Network.layered([4, 3, 3], output="softmax", random_state=0)
    dn.save(net, tmp / "model.deltanet")
    X = np.random.default_rng(0).normal(size=(12, 4))
    dn.train(dn.Network.layered([4, 2, 1], random_state=0), X, X[:, :1], epochs=1,
             checkpoint=str(tmp / "run.ckpt"))
    return tmp


def is_text(content: bytes) -> bool:
    try:
        return b"\0" not in content.decode("utf-8").encode()
    except UnicodeDecodeError:
        return False


def refused(capsys, argv: list[str], path: Path, before: bytes) -> str:
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1, err
    assert path.read_bytes() == before
    return err


@pytest.mark.reliability(
    area="command line", fault="an existing output file of another kind: a CSV, text, "
    "random bytes, another ZIP, a checkpoint where a model goes and a model "
    "where a checkpoint goes, a text file named like a plot", how="deltanet train --out / "
    "--checkpoint / --plots, search --out, explain --out",
    result="one line naming --force, exit status 2, the file unchanged")
def test_files_of_another_kind_are_refused_naming_force(kinds, tmp_path, capsys, monkeypatch,
                                                        family_cases):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(9)
    cases = 0
    checkpoint = (kinds / "run.ckpt").read_bytes()
    for content in others(rng, kinds):
        for option in ("train", "checkpoint", "plots", "search", "explain"):
            if option == "explain" and is_text(content):
                continue  # explain writes text: only binary files are of another kind
            if option == "checkpoint" and content == checkpoint:
                continue  # what --checkpoint writes
            path = tmp_path / {"train": "m.deltanet", "checkpoint": "c.ckpt",
                               "plots": "plots/loss.png", "search": "s.deltanet",
                               "explain": "e.md"}[option]
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(content)
            argv = {"train": ["train", "iris", "--out", str(path)],
                    "checkpoint": ["train", "iris", "--checkpoint", str(path)],
                    "plots": ["train", "iris", "--plots", str(path.parent)],
                    "search": ["search", "iris", "--out", str(path), "--storage", ":memory:"],
                    "explain": ["explain", "--sizes", "2,2,1", "--out", str(path)]}[option]
            err = refused(capsys, argv, path, content)
            assert "--force" in err, err
            cases += 1
    family_cases(cases)


def test_the_right_kind_is_replaced_and_force_replaces_any(kinds, tmp_path, capsys):
    model = tmp_path / "iris.deltanet"
    model.write_bytes((kinds / "model.deltanet").read_bytes())
    assert main(["train", "iris", "--epochs", "1", "--out", str(model), "-q"]) == 0
    assert dn.io.file_format(model) == "deltanet-model"
    table = tmp_path / "table.csv"
    table.write_text("x,y\n1,2\n")
    assert main(["train", "iris", "--epochs", "1", "--out", str(table), "-q"]) == 2
    assert main(["train", "iris", "--epochs", "1", "--out", str(table), "-q", "--force"]) == 0
    assert dn.io.file_format(table) == "deltanet-model"
    capsys.readouterr()


def test_predict_out_replaces_only_its_own_predictions(kinds, tmp_path, capsys):
    model = tmp_path / "iris.deltanet"
    assert main(["train", "iris", "--epochs", "1", "--out", str(model), "-q"]) == 0
    for suffix in (".csv", ".json", ".parquet"):
        out = tmp_path / f"p{suffix}"
        assert main(["predict", str(model), "iris", "--out", str(out), "-q"]) == 0
        assert main(["predict", str(model), "iris", "--out", str(out), "-q"]) == 0  # again
        out.write_bytes(b"a,b\n1,2\n" if suffix == ".csv" else b"[1, 2]")
        capsys.readouterr()
        err = refused(capsys, ["predict", str(model), "iris", "--out", str(out)], out,
                      out.read_bytes())
        assert "is not a table of these predictions" in err and "--force" in err
        assert main(["predict", str(model), "iris", "--out", str(out), "--force", "-q"]) == 0
