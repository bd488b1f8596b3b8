"""Every ``deltanet`` command in README.md's fenced shell blocks runs and exits with 0, in
order, in a fresh folder holding the files the README refers to (shop.csv with missing
values, new_rows.csv, net.deltanet)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import deltanet as dn

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands(text: str) -> list[list[str]]:
    """The ``deltanet ...`` command lines of the ```bash blocks (continuations joined,
    comments dropped), as argument lists."""
    commands = []
    for block in re.findall(r"```(?:bash|sh|console)\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            if line.strip().startswith("deltanet "):
                commands.append(shlex.split(line, comments=True))
    return commands


def shop_rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n).astype(float)
    city = rng.choice(["Lyon", "Oslo", "Porto"], n).astype(object)
    frame = pd.DataFrame({"age": age, "city": city, "price": rng.uniform(5, 50, n).round(2),
                          "bought": np.where((age > 45) ^ (city == "Oslo"), "yes", "no")})
    frame.loc[rng.random(n) < 0.05, "age"] = np.nan
    frame.loc[rng.random(n) < 0.05, "city"] = None
    return frame


def test_readme_lists_the_commands_it_documents():
    commands = readme_commands(README.read_text())
    names = {c[1] for c in commands}
    assert {"train", "evaluate", "predict", "info", "datasets", "explain", "search",
            "export", "card"} <= names
    search = [c for c in commands if c[1] == "search" and "shop.csv" in c]
    assert search and "--impute" in search[0]  # shop.csv has missing values


@pytest.mark.slow
def test_every_readme_command_runs(tmp_path):
    shop_rows(240, 0).to_csv(tmp_path / "shop.csv", index=False)
    shop_rows(30, 1).drop(columns="bought").to_csv(tmp_path / "new_rows.csv", index=False)
    dn.save(dn.Network.layered([2, 2, 1], random_state=0), tmp_path / "net.deltanet")
    for argv in readme_commands(README.read_text()):
        done = subprocess.run([sys.executable, "-m", "deltanet.cli", *argv[1:]], cwd=tmp_path,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{shlex.join(argv)}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr
    assert (tmp_path / "shop.onnx").is_file() and (tmp_path / "shop_card.md").is_file()
