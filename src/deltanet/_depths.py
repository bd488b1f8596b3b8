"""The depth of every neuron of a DAG ``N = (V, A)``, in time linear in neurons plus arcs.

``depth(j) = 1 + max depth(i)`` over the arcs ``(i, j)`` with ``i > 0`` (inputs are at depth
0; a neuron with a bias arc only is at depth 1). Neurons of equal depth can be computed
together, which is what the plan compiler (:mod:`deltanet._plan`) groups them by.
"""

from __future__ import annotations

import numpy as np

#: levels narrower than this are finished one neuron at a time (NumPy's cost per call
#: outweighs the work of a narrow level)
WIDE_LEVEL = 32


def positions(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + k) for s, k in zip(starts, sizes)])``, vectorised."""
    before = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return np.arange(int(sizes.sum()), dtype=np.int64) + np.repeat(starts - before, sizes)


def depths(n_inputs: int, n_neurons: int, src: np.ndarray, dst: np.ndarray,
           limit: int | None = None) -> np.ndarray | None:
    """Depth of every neuron: inputs 0, ``depth(j) = 1 + max depth(i)`` over ``(i, j) ∈ A``
    (``i > 0``), or None as soon as a depth beyond ``limit`` is found.

    Linear in neurons plus arcs: whole levels at a time with NumPy while they are wide
    (Kahn's algorithm), then one neuron at a time in neuron order (every arc has ``i < j``,
    so ``depth(i)`` is known when ``j`` comes). With a ``limit`` the work is bounded by it:
    a chain of a million neurons is found deeper than 1,000 after 1,000 steps.
    """
    real = src > 0
    s, d = src[real], dst[real]
    depth = np.zeros(n_neurons, dtype=np.int64)
    final = _wide_levels(n_inputs, n_neurons, s, d, depth, limit)
    if final is None or final.all():
        return None if final is None else depth
    if len(d) and np.any(d[1:] < d[:-1]):
        order = np.argsort(d, kind="stable")
        s, d = s[order], d[order]
    return _one_by_one(s, d, depth, np.flatnonzero(~final), limit)


def _one_by_one(s, d, depth, todo, limit, chunk=4096):
    """The depths of the neurons ``todo`` (in increasing order), one after the other, from
    the arcs sorted by ``d``; None as soon as one is beyond ``limit``. Arcs are turned into
    Python lists a chunk at a time, so a limit that is soon passed costs little."""
    bounds = np.concatenate([[0], np.cumsum(np.bincount(d, minlength=len(depth)))])
    out = depth.tolist()
    top = len(depth) if limit is None else limit
    for c in range(0, len(todo), chunk):
        js = todo[c:c + chunk]
        base = int(bounds[js[0]])
        sources = s[base:int(bounds[js[-1] + 1])].tolist()
        for j, lo, hi in zip(js.tolist(), (bounds[js] - base).tolist(),
                             (bounds[js + 1] - base).tolist(), strict=True):
            out[j] = 1 + (max(map(out.__getitem__, sources[lo:hi])) if hi > lo else 0)
            if out[j] > top:
                return None
    return np.array(out, dtype=np.int64)


def _wide_levels(n_inputs, n_neurons, s, d, depth, limit):
    """Fill ``depth`` level by level while levels hold ``WIDE_LEVEL`` neurons or more; the
    neurons whose depth is final (a boolean mask), or None beyond ``limit``."""
    order = np.argsort(s, kind="stable")
    targets = d[order]
    waiting = np.bincount(d, minlength=n_neurons)  # arcs into each neuron not yet released
    starts = np.concatenate([[0], np.cumsum(np.bincount(s, minlength=n_neurons))])
    final = np.zeros(n_neurons, dtype=bool)
    final[:n_inputs + 1] = True
    roots = np.flatnonzero(waiting[n_inputs + 1:] == 0) + n_inputs + 1  # bias arcs only
    frontier, level = np.arange(1, n_inputs + 1), 0
    while len(frontier) >= WIDE_LEVEL or level == 0:
        lo = starts[frontier]
        reached = np.sort(targets[positions(lo, starts[frontier + 1] - lo)])
        first = np.flatnonzero(np.diff(reached, prepend=-1))  # each neuron's first arc
        reached, count = reached[first], np.diff(first, append=len(reached))
        waiting[reached] -= count
        frontier = reached[waiting[reached] == 0]
        level += 1
        if level == 1:  # neurons with a bias arc only are at depth 1 too
            frontier = np.concatenate([frontier, roots])
        if not len(frontier):
            break
        if limit is not None and level > limit:
            return None
        depth[frontier] = level
        final[frontier] = True
    return final


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: ``np.unique`` by sorting (NumPy 2's hashing ``unique``
    takes seconds on a million integers)."""
    v = np.sort(values)
    return v[np.concatenate([[True], v[1:] != v[:-1]])] if len(v) else v
