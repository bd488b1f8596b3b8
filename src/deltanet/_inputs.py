"""Examples and targets checked at the door of the passes: shapes, dtypes, the targets a
loss needs, and sample weights scaled to mean 1."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._validation import TargetValueError, check_array, check_finite, fail


def prepare_inputs(net, X: Any, finite: bool = True) -> tuple[np.ndarray, bool]:
    """Validate ``X`` as a batch ``(n, p)`` or one example ``(p,)``; return 2-D and a flag.
    ``finite=False`` leaves the NaN/infinity check to the caller."""
    arr = check_array("X", X, ndim=(1, 2), n_cols=net.n_inputs, dtype=net.dtype,
                      finite=finite)
    single = arr.ndim == 1
    if single:
        if arr.shape[0] != net.n_inputs:
            fail(f"one example must have {net.n_inputs} values", arr.shape,
                 f"pass {net.n_inputs} inputs, or a 2-D batch of shape (n, {net.n_inputs})")
        arr = arr.reshape(1, -1)
    return arr, single


def prepare_targets(net, Y: Any, n: int, single: bool, loss, values: bool = True
                    ) -> np.ndarray:
    """Validate ``Y`` against the outputs: ``(n, K)``; ``(n,)`` or a scalar when K = 1.
    ``values=False`` leaves the values to the caller (``check_target_values``): the
    compiled engine checks each row as it reads it."""
    K = net.n_outputs
    arr = check_array("Y", Y, ndim=(0, 1, 2), dtype=net.dtype, finite=False)
    if arr.ndim == 1 and K > 1 and arr.shape[0] == n and n != K:
        fail(f"Y has one label per example but the network has {K} outputs", arr.shape,
             "one-hot encode class labels: Y, classes = deltanet.one_hot(y)")
    if arr.size != n * K:
        fail(f"Y does not fit the outputs: expected {n} x {K} values", arr.shape,
             f"pass targets of shape ({n}, {K})" + (" or (n,)" if K == 1 else ""))
    if arr.ndim == 2 and arr.shape != (n, K):
        fail(f"Y has shape {arr.shape} but the network needs ({n}, {K})", arr.shape,
             "pass one row per example and one column per output neuron")
    if loss.name == "cross_entropy" and K == 1:
        fail("cross_entropy needs one output per class (softmax outputs)", K,
             "for one 0/1 output use loss='log_loss'")
    if values:
        check_target_values(arr, loss)  # before the reshape: a 1-D y's index as given
    return arr if arr.shape == (n, K) else arr.reshape(n, K)


#: the targets each loss takes, ``(lowest, highest)``; every loss needs finite ones
TARGET_RANGES = {"log_loss": (0.0, 1.0), "perceptron": (0.0, 1.0),
                 "cross_entropy": (0.0, math.inf)}


def check_target_values(arr: np.ndarray, loss) -> None:
    """Refuse targets that hold a NaN or an infinity (``NonFiniteError``) or that lie outside
    what ``loss`` takes (``TargetValueError``: log_loss and perceptron take [0, 1],
    cross_entropy non-negative values), naming the first such value (in index order)."""
    lo, hi = float(arr.min()), float(arr.max())  # NaN carries through both: no mask
    if not (math.isfinite(lo) and math.isfinite(hi)):
        check_finite("Y", arr)
    name = loss.name
    low, high = TARGET_RANGES.get(name, (-math.inf, math.inf))
    if lo < low or hi > high:  # the range as the kernels read it
        first = float(arr[(arr < low) | (arr > high)][0])
        if high == math.inf and low == 0.0:
            fail(f"{name} needs non-negative targets (one-hot or probabilities)", first,
                 "one-hot encode the labels", TargetValueError)
        fail(f"{name} needs targets in [{low:g}, {high:g}]", first,
             "use 0/1 labels (or probabilities) for a logistic or threshold output"
             if (low, high) == (0.0, 1.0) else f"scale the targets into [{low:g}, {high:g}]",
             TargetValueError)


def check_training_rows(X: np.ndarray, Y: np.ndarray, loss) -> None:
    """The checks of the training rows, in the order ``train()`` makes them: the targets
    (``check_target_values``; none for ``loss=None``), then ``X`` for NaN and infinity."""
    if loss is not None:
        check_target_values(Y, loss)
    check_finite("X", X)


def normalize_sample_weight(sample_weight, n: int, dtype) -> np.ndarray | None:
    """Sample weights scaled to mean 1, so ``J = Σ s_e ℓ_e / Σ s_e``.

    Only ratios matter: weights whose sum overflows (or that are subnormal) are first
    divided by the largest, so that equal weights are all 1 however large they are.
    """
    if sample_weight is None:
        return None
    s = check_array("sample_weight", sample_weight, ndim=1, dtype=dtype)
    if s.shape[0] != n:
        fail(f"sample_weight has {s.shape[0]} entries for {n} examples", s.shape,
             "give one weight per example")
    if (s < 0).any() or not s.max() > 0:
        fail("sample_weight must be non-negative with a positive sum", float(s.min()),
             "use weights >= 0, not all zero")
    with np.errstate(over="ignore"):
        total = s.sum()
    if not np.isfinite(total) or s.max() < np.finfo(s.dtype).tiny:
        s = s / s.max()  # ordinary weights skip this, so their results keep every bit
    return s / s.mean()
