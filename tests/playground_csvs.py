"""CSV uploads for the playground's tests, drawn from seeded generators."""

from __future__ import annotations

import numpy as np


def generated_csvs(seed: int) -> list[str]:
    """CSV uploads drawn from a seeded generator: whole-number classes, regression values and
    text classes (quoted or not, some with commas), with a header or without, features over
    many scales (a constant column among them)."""
    rng = np.random.default_rng(seed)
    out = []
    for kind in ("classes", "values", "texts"):
        n = int(rng.integers(6, 60))
        X = rng.uniform(-1, 1, size=(n, 2)) * 10.0 ** rng.integers(-3, 6, 2)
        if rng.random() < 0.3:
            X[:, 1] = 2.5
        if kind == "classes":
            labels = [str(v) for v in rng.integers(-2, 4, n)]
        elif kind == "values":
            labels = [repr(float(v)) for v in rng.normal(2.0, 3.0, n)]
        else:
            names = ["red", "Blue", "blue", '"green, light"', "yes", "nähe", "été"]
            labels = [names[k] for k in rng.integers(0, 2 + seed % 5, n)]
        labels[:2] = labels[2:4] if kind != "texts" else [labels[0], "red"]
        labels[-1] = "1" if kind == "classes" and len(set(labels)) == 1 else labels[-1]
        header = "" if rng.random() < 0.3 else "u, v ,kind\n"
        out.append(header + "\n".join(f"{float(a)!r},{float(b)!r},{y}"
                                       for (a, b), y in zip(X, labels, strict=True)))
    return out
