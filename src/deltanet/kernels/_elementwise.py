"""Activations and losses of one layer, for the compiled kernel (``_sgd``).

The same formulas as ``deltanet.activations`` and ``deltanet.losses`` (fused forms
included), on one example. A layer is ``(array, offset, size)`` inside a work vector.

Offsets and sizes are unsigned (``uint64``): Numba then emits no negative-index wraparound,
so LLVM sees plain consecutive accesses and vectorises the loops; and no array views are
made inside the loops (each view costs two atomic reference-count updates).
``c`` holds constants typed like the parameters so float32 stays float32. The functions
are inlined into their callers (``inline="always"``): a compiled function that passes arrays
on to another one pays two atomic reference-count updates per array and call.

Every kernel is compiled by ``kernel()`` (below).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ..losses import clip_bounds

ZERO, ONE, TWO, HALF, TINY, ALMOST_ONE, LN2 = range(7)


def kernel(**options):
    """``njit`` as every compiled kernel uses it: cached on disk, and with
    ``error_model="numpy"``. Under Numba's default every float division tests for a zero
    divisor (to raise ZeroDivisionError), which keeps its loop from vectorising. The divisors
    here are ``1 + e^{−|in|}``, a softmax sum ``>= 1`` and a batch size, never 0; the unfused
    log loss divides by a clipped ``1 − a``, which in float32 can round to 0: the result is
    then ±inf or NaN, as in NumPy, and the cost check stops training."""
    return njit(cache=True, error_model="numpy", **options)
EXP_LOW, INV_LN2, LN2_HI, LN2_LO, MAGIC, TAYLOR = range(7, 13)  # see exp_nonpositive
N_TAYLOR = 14

# ln 2 in two parts (Cody and Waite): k · LN2_HI is exact for the k that occur
_LN2_PARTS = {8: (6.93147180369123816490e-01, 1.90821492927058770002e-10),
              4: (0.693359375, -2.12194440e-4)}


def constants(dtype: np.dtype) -> np.ndarray:
    """The constants ``c``: 0, 1, 2, ½, the clip bounds of the unfused log losses, log 2;
    then those of ``exp_nonpositive``."""
    finfo = np.finfo(dtype)
    bias = finfo.maxexp - 1  # 1023 or 127
    magic = 1.5 * 2.0**finfo.nmant + bias  # adding it rounds to an integer, biased
    low = math.log(float(finfo.smallest_normal))
    hi, lo = _LN2_PARTS[np.dtype(dtype).itemsize]
    taylor = [1.0 / math.factorial(n) for n in range(N_TAYLOR)]
    return np.array([0.0, 1.0, 2.0, 0.5, *clip_bounds(dtype), math.log(2.0),
                     low, 1.0 / math.log(2.0), hi, lo, magic, *taylor], dtype=dtype)


@intrinsic
def _power_of_two(typingctx, rounded):
    """``2^k`` from ``rounded = k + bias + magic`` (``constants``): its low bits are
    ``k + bias``, which shifted into the exponent field are the bits of ``2^k``."""
    width, shift = {types.float64: (64, 52), types.float32: (32, 23)}[rounded]
    sig = rounded(rounded)

    def codegen(context, builder, signature, args):
        bits = builder.bitcast(args[0], ir.IntType(width))
        bits = builder.shl(bits, ir.Constant(ir.IntType(width), shift))
        return builder.bitcast(bits, args[0].type)

    return sig, codegen


@kernel(inline="always")
def exp_nonpositive(x, c):
    """``e^x`` for ``x <= 0``, in a form LLVM vectorises (``math.exp`` is a library call
    that keeps a loop over units scalar; in the per-example kernel the logistic units spent
    more time in it than in anything but the first layer's weights).

    ``e^x = 2^k e^r``, ``k = round(x / ln 2)``, ``r = x − k ln 2`` (exact, with ln 2 in two
    parts), ``e^r`` by 14 Taylor terms (``|r| <= ln 2 / 2``: the next term is far below a
    unit in the last place). Within 1.2 units in the last place of the exact value, as
    ``np.exp`` (tests/test_kernels.py). Below the smallest normal number the result is
    0; NaN gives NaN. Only ``x <= 0`` occurs (``e^{−|in|}``, ``e^{in − max}``): nothing
    overflows.
    """
    xc = c[EXP_LOW] if x < c[EXP_LOW] else x
    xc = c[ZERO] if xc > c[ZERO] else xc
    rounded = xc * c[INV_LN2] + c[MAGIC]
    k = rounded - c[MAGIC]
    r = (xc - k * c[LN2_HI]) - k * c[LN2_LO]
    p = c[TAYLOR + N_TAYLOR - 1]
    for i in range(N_TAYLOR - 2, -1, -1):  # Horner; LLVM unrolls it (constant trip count)
        p = p * r + c[TAYLOR + i]
    value = p * _power_of_two(rounded)
    return c[ZERO] if x < c[EXP_LOW] else value


@kernel(inline="always")
def logistic(z, c):
    """σ(in) = 1/(1 + e^{−in}) for in >= 0 and e^{in}/(1 + e^{in}) otherwise (no overflow);
    both share t = e^{−|in|}, so this is a select, not a branch."""
    t = exp_nonpositive(-abs(z), c)
    return (c[ONE] if z >= c[ZERO] else t) / (c[ONE] + t)


@kernel(inline="always")
def softplus(z, c):
    """log(1 + e^{in}) = logaddexp(0, in), in NumPy's branch order."""
    if z == c[ZERO]:
        return c[LN2]
    if -z > c[ZERO]:
        return math.log1p(math.exp(z))
    return z + math.log1p(math.exp(-z))


@kernel(inline="always")
def activate(code, in_, a, o, n, c):
    """``a = g(in_)`` on ``[o, o + n)``; returns log Σ e^{in} for softmax (the fused
    cross-entropy needs it), else 0. Codes as in ``_layout.ACTIVATION_CODES``."""
    if code == 0:
        for j in range(n):
            a[o + j] = in_[o + j]
    elif code == 1:
        for j in range(n):
            a[o + j] = logistic(in_[o + j], c)
    elif code == 2:
        for j in range(n):
            a[o + j] = math.tanh(in_[o + j])
    elif code == 3:
        for j in range(n):
            z = in_[o + j]
            a[o + j] = c[ZERO] if z <= c[ZERO] else z  # NaN passes through
    elif code == 4:
        for j in range(n):
            a[o + j] = softplus(in_[o + j], c)
    elif code == 5:  # e^{in_j − max} / Σ_k e^{in_k − max}
        top = softmax_shift(in_, a, o, n)
        for j in range(n):
            a[o + j] = exp_nonpositive(a[o + j], c)
        return top + softmax_normalise(a, o, n, c)
    elif code == 6:
        for j in range(n):
            a[o + j] = c[ONE] if in_[o + j] >= c[ZERO] else c[ZERO]
    else:
        for j in range(n):
            a[o + j] = math.exp(in_[o + j])
    return c[ZERO]


@kernel(inline="always")
def softmax_shift(in_, a, o, n):
    """First pass of a softmax row: ``a = in − max(in)`` on ``[o, o + n)``; returns the max."""
    top = in_[o]
    for j in range(n):
        top = max(top, in_[o + j])
    for j in range(n):
        a[o + j] = in_[o + j] - top
    return top


@kernel(inline="always")
def softmax_normalise(a, o, n, c):
    """Last pass of a softmax row, once ``a`` holds ``e^{in − max}``: ``a /= Σ a``; returns
    ``log Σ a`` (so that log Σ e^{in} = max + it)."""
    total = c[ZERO]
    for j in range(n):
        total += a[o + j]
    for j in range(n):
        a[o + j] = a[o + j] / total
    return math.log(total)


@kernel(inline="always")
def act_backward(code, in_, a, o, g, go, d, do, n, c):
    """``Δ = g'(in) ⊙ ∂J/∂a`` (softmax: its Jacobian, ``a ⊙ (∂J/∂a − Σ a ∂J/∂a)``).

    ``in_, a`` at ``o``; the gradient ``g`` at ``go``; the result ``d`` at ``do``.
    """
    if code == 0:
        for j in range(n):
            d[do + j] = c[ONE] * g[go + j]
    elif code == 1:
        for j in range(n):
            a_j = a[o + j]
            d[do + j] = (a_j * (c[ONE] - a_j)) * g[go + j]
    elif code == 2:
        for j in range(n):
            a_j = a[o + j]
            d[do + j] = (c[ONE] - a_j * a_j) * g[go + j]
    elif code == 3:
        for j in range(n):
            d[do + j] = (c[ONE] if in_[o + j] > c[ZERO] else c[ZERO]) * g[go + j]
    elif code == 4:
        for j in range(n):
            d[do + j] = logistic(in_[o + j], c) * g[go + j]
    elif code == 5:
        s = c[ZERO]
        for j in range(n):
            s += a[o + j] * g[go + j]
        for j in range(n):
            d[do + j] = a[o + j] * (g[go + j] - s)
    elif code == 6:
        for j in range(n):
            d[do + j] = c[ZERO] * g[go + j]
    else:
        for j in range(n):
            d[do + j] = a[o + j] * g[go + j]


@kernel(inline="always")
def _unfused(loss, y, yo, a, o, n, c):
    """``∂ℓ/∂a`` of an unfused loss (``losses.py``'s df_da) into ``y[yo + n:yo + 2n]``;
    returns ℓ."""
    value = c[ZERO]
    for k in range(n):
        y_k, a_k = y[yo + k], a[o + k]
        if loss == 0:
            r = y_k - a_k
            value += r * r
            y[yo + n + k] = -c[TWO] * r
        elif loss == 1:
            r = y_k - a_k
            value += c[HALF] * (r * r)
            y[yo + n + k] = a_k - y_k
        elif loss == 2:
            ac = min(max(a_k, c[TINY]), c[ALMOST_ONE])
            value += -(y_k * math.log(ac) + (c[ONE] - y_k) * math.log1p(-ac))
            y[yo + n + k] = -y_k / ac + (c[ONE] - y_k) / (c[ONE] - ac)
        else:
            ac = max(a_k, c[TINY])
            value += -y_k * math.log(ac)
            y[yo + n + k] = -y_k / ac
    return value


@kernel(inline="always")
def output_loss(loss, act, in_, a, o, n, y, yo, d, lse, w, c):
    """Add ``w · ∂ℓ/∂in`` of one output group to ``d`` (at ``o``) and return ℓ.

    The targets are ``y[yo:yo + n]``; ``y[yo + n:yo + 2n]`` is scratch. ``lse`` is
    log Σ e^{in} of a softmax group (from ``activate``).
    """
    value = c[ZERO]
    if loss == 4:  # perceptron: ℓ = max{0, (1 − 2y) in}, slope (1 − 2y) when misclassified
        for k in range(n):
            z, slope = in_[o + k], c[ONE] - c[TWO] * y[yo + k]
            value += max(c[ZERO], slope * z)
            wrong = (z >= c[ZERO]) != (y[yo + k] > c[HALF])
            d[o + k] = d[o + k] + (slope if wrong else c[ZERO]) * w
    elif loss == 2 and act == 1:  # logistic + log loss, from logits: Δ = a − y
        for k in range(n):
            z, y_k = in_[o + k], y[yo + k]
            value += softplus(z, c) - y_k * z
            d[o + k] = d[o + k] + (a[o + k] - y_k) * w
    elif loss == 3 and act == 5:  # softmax + cross-entropy: Δ = p Σy − y
        y_sum = c[ZERO]
        for k in range(n):
            y_sum += y[yo + k]
        for k in range(n):
            y_k = y[yo + k]
            value += -y_k * (in_[o + k] - lse)
            d[o + k] = d[o + k] + (a[o + k] * y_sum - y_k) * w
    else:
        value = _unfused(loss, y, yo, a, o, n, c)
        act_backward(act, in_, a, o, y, yo + n, y, yo + n, n, c)
        for k in range(n):
            d[o + k] = d[o + k] + y[yo + n + k] * w
    return value
