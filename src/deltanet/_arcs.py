"""The arcs ``A`` of a network: checked, sorted by ``(j, i)``, and read and written by
lecture numbers (``net.weights[i, j]``), all in vectorised passes (linear in arcs)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_number, fail


class WeightIndex:
    """``net.weights[i, j]`` reads and writes ``w_ij`` by lecture numbers."""

    def __init__(self, net) -> None:
        self._net = net

    def _index(self, key: Any) -> int:
        if not (isinstance(key, tuple) and len(key) == 2) or not all(
                isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in key):
            fail("weights are indexed by an arc of two neuron numbers", key,
                 "use net.weights[i, j] with integers i < j")
        i, j = (int(k) for k in key)
        idx = self._net.plan.flat_index(i, j)
        if idx is None:
            fail(f"({i}, {j}) is not an arc of this network", key,
                 "list the arcs with net.arcs (bias arcs are (0, j))", KeyError)
        return idx

    def __getitem__(self, key: Any) -> float:
        return float(self._net.params[self._index(key)])

    def __setitem__(self, key: Any, value: float) -> None:
        self._net.params[self._index(key)] = check_number(f"w{key}", value)

    def __iter__(self):
        return iter(self._net.arcs)

    def __len__(self) -> int:
        return len(self._net.arcs)

    def items(self) -> list[tuple[tuple[int, int], float]]:
        return [((i, j), self[i, j]) for i, j in self._net.arcs]

    def to_dict(self) -> dict[tuple[int, int], float]:
        return dict(self.items())

    def __repr__(self) -> str:
        shown = ", ".join(f"w{i},{j}={w:.4g}" for (i, j), w in self.items()[:12])
        more = "" if len(self) <= 12 else f", ... ({len(self)} arcs)"
        return f"Weights({shown}{more})"


def validate_arcs(n_inputs: int, arcs: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        arr = np.asarray(list(arcs) if not isinstance(arcs, np.ndarray) else arcs)
    except (TypeError, ValueError):
        fail("arcs must be a list of (i, j) pairs", arcs, "e.g. arcs=[(1, 3), (2, 3)]")
    if arr.size == 0:
        fail("the network has no arcs", arcs, "give at least one arc (i, j) into a neuron")
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.issubdtype(arr.dtype, np.integer):
        fail("arcs must be pairs of neuron numbers", arcs, "e.g. arcs=[(1, 3), (2, 3)]")
    src, dst = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
    checks = ((src < 0, "neuron numbers start at 0 (the bias unit)", "number the neurons 0..n"),
              (dst <= n_inputs, "arc ({i}, {j}) goes into an input neuron (inputs are "
               f"1..{n_inputs}, 0 is the bias)", "arcs may only end at processing neurons"),
              (src >= dst, "arc ({i}, {j}) goes backwards",
               "number the neurons so that every arc (i, j) has i < j"))
    for bad, what, fix in checks:  # the first offending arc of each kind, in arc order
        if bad.any():
            k = int(np.argmax(bad))
            i, j = int(src[k]), int(dst[k])
            fail(what.format(i=i, j=j), (i, j), fix)
    return src, dst


def sorted_arcs(src: np.ndarray, dst: np.ndarray, n_neurons: int):
    """The arcs sorted by ``(j, i)`` (already sorted ones are left as they are); a ValueError
    when one is listed twice."""
    key = dst * n_neurons + src
    if np.any(key[1:] <= key[:-1]):
        order = np.argsort(key, kind="stable")
        src, dst, key = src[order], dst[order], key[order]
        if np.any(key[1:] == key[:-1]):
            k = int(np.argmax(key[1:] == key[:-1]))
            fail("an arc is listed twice", (int(src[k]), int(dst[k])), "list each (i, j) once")
    return src, dst
