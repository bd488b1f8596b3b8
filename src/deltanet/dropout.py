"""Dropout (seed 002, Lecture 07-5a): each unit of a dropped layer (the inputs are layer 0)
is kept with probability ``1 − r``; the survivors are rescaled by ``1/(1 − r)`` so that the
expected output is unchanged. Masks come from the generator passed in, so a random state
reproduces them (and ``gradcheck`` holds them fixed); prediction never drops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_number, fail, is_number


def drop(a: np.ndarray, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(a ⊙ keep, keep)``: ``keep`` is 0 with probability ``rate``, else ``1/(1 − rate)``.
    The backward pass multiplies by the same ``keep``."""
    keep = (rng.random(a.shape) >= rate).astype(a.dtype) / a.dtype.type(1.0 - rate)
    return a * keep, keep


def resolve_dropout(net, dropout: Any) -> dict[int, float] | None:
    """``dropout`` as ``{layer: rate}``: a rate for every hidden layer, or a mapping.

    Layer 0 is the inputs; output layers are never dropped. ``None`` or 0 turns it off.
    """
    if dropout is None or dropout is False:
        return None
    if is_number(dropout):  # a Python or NumPy number
        rate = check_number("dropout", dropout, low=0.0, high=1.0, high_open=True)
        if rate == 0:
            return None
        return {g.layer: rate for g in net.plan.groups if not g.is_output}
    if not isinstance(dropout, dict):
        fail("dropout must be a rate or a {layer: rate} mapping", dropout,
             "e.g. dropout=0.2, or {0: 0.1, 1: 0.5} (layer 0 = the inputs)")
    hidden = {0} | {g.layer for g in net.plan.groups if not g.is_output}
    out = {}
    for layer, rate in dropout.items():
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) \
                or layer not in hidden:
            fail("dropout applies to the inputs (layer 0) and hidden layers only", layer,
                 f"choose among layers {sorted(hidden)} (see net.summary())")
        out[int(layer)] = check_number(f"dropout[{layer}]", rate, low=0.0, high=1.0,
                                       high_open=True)
    return {k: v for k, v in out.items() if v > 0} or None
