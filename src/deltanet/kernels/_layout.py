"""The compiled plan as flat integer tables that Numba code can loop over.

Layer 0 is the inputs; layers ``1..G`` are the groups of ``plan.groups``. Every layer owns a
slice ``[offset, offset + size)`` of one work vector per quantity (``a``, ``in_``, ``Δ``, ...),
so one example's whole forward and backward pass lives in a handful of preallocated arrays.

``groups[l]`` = (size, offset, activation code, bias offset, first output column, end of
output columns, has downstream blocks); ``blocks[k]`` = (src layer, dst layer, params offset,
n_src, n_dst), sorted by dst; the blocks into layer ``l`` are ``block_ptr[l]:block_ptr[l+1]``.
Output group columns index the target matrix ``Y`` through ``out_cols``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import activations, losses
from .._plan import Plan

#: built-in activation name -> code used inside the kernels (their order in ``activations``)
ACTIVATION_CODES = {name: code for code, name in enumerate(activations.NAMES)}
#: built-in loss name -> code used inside the kernels
LOSS_CODES = {name: code for code, name in enumerate(losses.NAMES)}
RELU, SOFTMAX, LOGISTIC = (ACTIVATION_CODES[k] for k in ("relu", "softmax", "logistic"))
LOG_LOSS, CROSS_ENTROPY, PERCEPTRON = (LOSS_CODES[k] for k in
                                       ("log_loss", "cross_entropy", "perceptron"))


def not_compiled(plan: Plan, loss) -> list[str]:
    """Why the compiled kernels cannot run ``plan`` with ``loss``, in words; [] when they can.

    The kernels are compiled from the built-in definitions (one table, cached on disk); an
    activation or loss of your own, even one Numba could compile, runs on NumPy.
    """
    acts = dict.fromkeys(g.activation.name for g in plan.groups
                         if activation_code(g.activation) is None)
    reasons = [f"activation {name!r} (user-defined: the compiled kernels hold the built-in "
               "activations)" for name in acts]
    if loss.name not in LOSS_CODES:
        reasons.append(f"loss {loss.name!r} (user-defined: the compiled kernels hold the "
                       "built-in losses)")
    return reasons


def activation_code(act) -> int | None:
    """The kernels' code of ``act``: that of the built-in activation of its name (a
    user's activation cannot take a built-in name), or None."""
    return ACTIVATION_CODES.get(act.name)

# columns of the group table
SIZE, OFFSET, ACT, BIAS, OUT_LO, OUT_HI, HAS_DOWN = range(7)
# columns of the block table
SRC, DST, W_OFFSET, N_SRC, N_DST = range(5)


@dataclass(frozen=True)
class Layout:
    """Integer tables describing a plan (see the module docstring)."""

    groups: np.ndarray  # (G + 1, 7) int64
    blocks: np.ndarray  # (n_blocks, 5) int64
    block_ptr: np.ndarray  # (G + 2,) int64
    out_cols: np.ndarray  # (K,) int64
    n_units: int  # inputs + processing neurons: the length of one work vector
    max_size: int  # the largest layer


def build_layout(plan: Plan) -> Layout:
    """Flatten ``plan`` into a Layout; every activation must be in ACTIVATION_CODES."""
    n_layers = len(plan.groups) + 1
    groups = np.zeros((n_layers, 7), dtype=np.int64)
    groups[0, [SIZE, OFFSET, ACT, BIAS]] = (plan.n_inputs, 0, -1, -1)
    offset, cols = plan.n_inputs, []
    out_cols = iter(plan.out_cols)
    for g in plan.groups:
        lo = len(cols)
        if g.is_output:
            cols.extend(int(c) for c in next(out_cols))
        groups[g.layer, :HAS_DOWN] = (g.size, offset, activation_code(g.activation),
                                      g.bias_offset, lo, len(cols))
        offset += g.size
    blocks = np.array([(b.src, b.dst, b.offset, b.shape[0], b.shape[1]) for b in plan.blocks],
                      dtype=np.int64).reshape(-1, 5)
    blocks = blocks[np.argsort(blocks[:, DST], kind="stable")]
    for src in blocks[:, SRC]:
        groups[src, HAS_DOWN] = 1
    block_ptr = np.searchsorted(blocks[:, DST], np.arange(n_layers + 1)).astype(np.int64)
    return Layout(groups, blocks, block_ptr, np.array(cols, dtype=np.int64), offset,
                  int(groups[:, SIZE].max()))


def is_dense_chain(layout: Layout) -> bool:
    """True when layer ``l`` has exactly one incoming block, from layer ``l − 1``, and only
    the last layer has outputs (``Network.layered``): the plans ``_dense`` runs."""
    groups, blocks = layout.groups, layout.blocks
    n = groups.shape[0] - 1
    if n < 1 or blocks.shape[0] != n:
        return False
    chain = np.arange(n)
    outputs = groups[1:, OUT_HI] > groups[1:, OUT_LO]
    return bool(np.array_equal(blocks[:, SRC], chain) and np.array_equal(blocks[:, DST], chain + 1)
                and outputs[-1] and not outputs[:-1].any())
