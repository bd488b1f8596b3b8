"""Activations and losses of one layer, for the compiled kernels (``_sgd``, ``_dense``, ``_blas``).

No formula is written here: each activation's ``g`` and ``g'`` and each loss's ``f``,
``∂f/∂a`` and fused form are the scalar definitions in ``deltanet.activations`` and
``deltanet.losses``, compiled by ``numba.njit`` and dispatched by the codes of
``_layout`` (one table: the built-in names, in their order). Only the group operations live
here: softmax (``e^{in − max}``, normalised over the group, and its Jacobian) and the fused
softmax + cross-entropy, which need sums over the group. The scalar primitives the
definitions call (``exp_nonpositive``, ``clip_probability``, ``floor_probability``) get
compiled forms typed like the parameters (float32 stays float32), and on float32 arguments
each definition is compiled with its float literals in float32 (``_float_copy``: the same
code, without a second definition). A layer is ``(array, offset, size)`` inside a work
vector.

Offsets and sizes are unsigned (``uint64``): Numba then emits no negative-index wraparound,
so LLVM sees plain consecutive accesses and vectorises the loops; and no array views are
made inside the loops (each view costs two atomic reference-count updates).
``c`` holds constants typed like the parameters so float32 stays float32. The functions
are inlined into their callers (``inline="always"``). Under Numba's reference counting, a
function that passes arrays on to another one pays two atomic updates per array and call,
inlined or not; the per-example kernels make no arrays and are compiled without it
(``kernel(refcounts=False)``).

Every kernel is compiled by ``kernel()`` (below).
"""

from __future__ import annotations

import math
from types import FunctionType

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

from .. import activations, losses
from ..losses import clip_bounds
from ._layout import (
    ACTIVATION_CODES,
    CROSS_ENTROPY,
    LOG_LOSS,
    LOGISTIC,
    LOSS_CODES,
    PERCEPTRON,
    SOFTMAX,
)

ZERO, ONE, TWO, HALF, TINY, ALMOST_ONE, LN2 = range(7)


def kernel(refcounts: bool = True, **options):
    """``njit`` as every compiled kernel uses it: cached on disk, and with
    ``error_model="numpy"``. Under Numba's default every float division tests for a zero
    divisor (to raise ZeroDivisionError), which keeps its loop from vectorising. The divisors
    here are ``1 + e^{−|in|}``, a softmax sum ``>= 1`` and a batch size, never 0; the unfused
    log loss divides by a clipped ``1 − a``, which in float32 can round to 0: the result is
    then ±inf or NaN, as in NumPy, and the cost check stops training.

    ``refcounts=False``: for a kernel that makes no array (views of its arguments are
    fine), compiled without Numba's reference counting (``_nrt=False``). With it, every
    array that an inlined helper receives is counted up and down, two atomic updates per
    array and call, which cost the per-example epoch of XOR 2-2-1 half its time (0.40 against
    0.21 µs per update) and that of digits 64-32-10 a sixth."""
    if not refcounts:
        options["_nrt"] = False
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
    unit in the last place). Terms 5 to 13 are summed side by side (Estrin's scheme: pairs
    ``t_i + t_{i+1} r``, then ``r²``, ``r⁴``), terms 4 to 0 one after another (Horner):
    the small terms' rounding stays as small as in Horner's rule throughout, and the chain
    of dependent operations is a third shorter, which is what a unit computed alone (a
    tiny network) waits for: XOR 2-2-1 per update 105 → 90 ns in a plain loop. Within 1.2
    units in the last place of the exact value, as ``np.exp`` (tests/test_kernels.py).
    Below the smallest normal number the result is 0; NaN gives NaN. Only ``x <= 0``
    occurs (``e^{−|in|}``, ``e^{in − max}``): nothing overflows.
    """
    xc = c[EXP_LOW] if x < c[EXP_LOW] else x
    xc = c[ZERO] if xc > c[ZERO] else xc
    rounded = xc * c[INV_LN2] + c[MAGIC]
    k = rounded - c[MAGIC]
    r = (xc - k * c[LN2_HI]) - k * c[LN2_LO]
    t = TAYLOR
    r2 = r * r
    r4 = r2 * r2
    q = ((c[t + 5] + c[t + 6] * r) + (c[t + 7] + c[t + 8] * r) * r2) \
        + (((c[t + 9] + c[t + 10] * r) + (c[t + 11] + c[t + 12] * r) * r2)
           + c[t + 13] * r4) * r4
    p = c[t + 4] + q * r
    p = c[t + 3] + p * r
    p = c[t + 2] + p * r
    p = c[t + 1] + p * r
    p = c[t] + p * r
    value = p * _power_of_two(rounded)
    return c[ZERO] if x < c[EXP_LOW] else value


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


_CONSTANTS = {types.float64: constants(np.float64), types.float32: constants(np.float32)}


def _typed(build):
    """An ``overload`` body for a scalar primitive: ``build(c)`` with the constants of the
    argument's float type (a float64 table for anything else)."""
    def typing(x):
        return build(_CONSTANTS.get(x, _CONSTANTS[types.float64]))
    return typing


overload(activations.exp_nonpositive, inline="always")(
    _typed(lambda c: lambda x: exp_nonpositive(x, c)))
overload(losses.clip_probability, inline="always")(
    _typed(lambda c: lambda x: min(max(x, c[TINY]), c[ALMOST_ONE])))
overload(losses.floor_probability, inline="always")(
    _typed(lambda c: lambda x: max(x, c[TINY])))


def _float_copy(fn, float_type):
    """``fn`` with its float literals and the float globals it reads of type
    ``float_type``: the same definition, typed so that float32 arithmetic stays float32
    (a literal ``1.0`` is a float64 to Numba, which would widen every operation with it)."""
    code = fn.__code__
    consts = tuple(float_type(v) if type(v) is float else v for v in code.co_consts)
    names = {k: float_type(v) for k, v in fn.__globals__.items() if type(v) is float}
    return FunctionType(code.replace(co_consts=consts), {**fn.__globals__, **names},
                        fn.__name__, fn.__defaults__, fn.__closure__)


_CALLERS = {1: lambda f: njit(lambda x: f(x)),
            2: lambda f: njit(lambda x, y: f(x, y)),
            3: lambda f: njit(lambda x, y, z: f(x, y, z))}


def _compiled(fn):
    """``fn`` (a plain scalar definition) compiled for the float type of its arguments:
    on float32 arguments its float32 copy (``_float_copy``), else ``fn`` as written; also
    callable from other definitions."""
    single = _float_copy(fn, np.float32)

    def typing(*args, **kwargs):
        floats = [t for t in args if isinstance(t, types.Float)]
        return single if floats and all(t == types.float32 for t in floats) else fn

    overload(fn, inline="always", strict=False)(typing)
    return _CALLERS[fn.__code__.co_argcount](fn)


def _unused(*args):
    return 0.0


def _table(attribute: str, registry: dict, codes: dict) -> tuple:
    """The compiled ``attribute`` of every built-in definition, in code order."""
    table = [_unused] * len(codes)
    for name, code in codes.items():
        fn = getattr(registry[name], attribute)
        table[code] = _unused if fn is None else fn
    return tuple(_compiled(fn) if fn is not _unused else njit(_unused) for fn in table)


_ACTS = activations.ACTIVATIONS
(_g0, _g1, _g2, _g3, _g4, _g5, _g6, _g7, _g8, _g9, _g10) = _table(
    "scalar_value", _ACTS, ACTIVATION_CODES)
(_d0, _d1, _d2, _d3, _d4, _d5, _d6, _d7, _d8, _d9, _d10) = _table(
    "scalar_derivative", _ACTS, ACTIVATION_CODES)
(_f0, _f1, _f2, _f3, _f4) = _table("scalar_f", losses.LOSSES, LOSS_CODES)
(_df0, _df1, _df2, _df3, _df4) = _table("scalar_df_da", losses.LOSSES, LOSS_CODES)
(_fused0, _fused1, _fused2, _fused3, _fused4) = _table("scalar_fused", losses.LOSSES,
                                                       LOSS_CODES)
#: ``g`` of ReLU, for the loops of ``_blas`` that fuse it with the bias
relu = (_g0, _g1, _g2, _g3, _g4, _g5, _g6, _g7, _g8, _g9, _g10)[ACTIVATION_CODES["relu"]]
relu_derivative = (_d0, _d1, _d2, _d3, _d4, _d5, _d6, _d7, _d8, _d9,
                   _d10)[ACTIVATION_CODES["relu"]]


@kernel(inline="always")
def activate(code, in_, a, o, n, c):
    """``a = g(in_)`` on ``[o, o + n)``; returns log Σ e^{in} for softmax (the fused
    cross-entropy needs it), else 0. ``g`` is ``activations``' scalar definition of ``code``
    (``_layout.ACTIVATION_CODES``)."""
    if code == SOFTMAX:  # e^{in_j − max} / Σ_k e^{in_k − max}
        top = softmax_shift(in_, a, o, n)
        for j in range(n):
            a[o + j] = exp_nonpositive(a[o + j], c)
        return top + softmax_normalise(a, o, n, c)
    # one loop per code with its definition fixed, so that LLVM can vectorise the loop
    if code == 0:
        _apply(_g0, in_, a, o, n)
    elif code == 1:
        _apply(_g1, in_, a, o, n)
    elif code == 2:
        _apply(_g2, in_, a, o, n)
    elif code == 3:
        _apply(_g3, in_, a, o, n)
    elif code == 4:
        _apply(_g4, in_, a, o, n)
    elif code == 5:
        _apply(_g5, in_, a, o, n)
    elif code == 6:
        _apply(_g6, in_, a, o, n)
    elif code == 7:
        _apply(_g7, in_, a, o, n)
    elif code == 8:
        _apply(_g8, in_, a, o, n)
    elif code == 9:
        _apply(_g9, in_, a, o, n)
    else:
        _apply(_g10, in_, a, o, n)
    return c[ZERO]


@kernel(inline="always")
def _apply(g, in_, a, o, n):
    for j in range(n):
        a[o + j] = g(in_[o + j])


@kernel(inline="always")
def act_backward(code, in_, a, o, g, go, d, do, n, c):
    """``Δ = g'(in) ⊙ ∂J/∂a`` (softmax: its Jacobian, ``a ⊙ (∂J/∂a − Σ a ∂J/∂a)``).

    ``in_, a`` at ``o``; the gradient ``g`` at ``go``; the result ``d`` at ``do``.
    """
    if code == SOFTMAX:
        s = c[ZERO]
        for j in range(n):
            s += a[o + j] * g[go + j]
        for j in range(n):
            d[do + j] = a[o + j] * (g[go + j] - s)
        return
    # one loop per code, as in activate
    if code == 0:
        _apply_slope(_d0, in_, a, o, g, go, d, do, n)
    elif code == 1:
        _apply_slope(_d1, in_, a, o, g, go, d, do, n)
    elif code == 2:
        _apply_slope(_d2, in_, a, o, g, go, d, do, n)
    elif code == 3:
        _apply_slope(_d3, in_, a, o, g, go, d, do, n)
    elif code == 4:
        _apply_slope(_d4, in_, a, o, g, go, d, do, n)
    elif code == 5:
        _apply_slope(_d5, in_, a, o, g, go, d, do, n)
    elif code == 6:
        _apply_slope(_d6, in_, a, o, g, go, d, do, n)
    elif code == 7:
        _apply_slope(_d7, in_, a, o, g, go, d, do, n)
    elif code == 8:
        _apply_slope(_d8, in_, a, o, g, go, d, do, n)
    elif code == 9:
        _apply_slope(_d9, in_, a, o, g, go, d, do, n)
    else:
        _apply_slope(_d10, in_, a, o, g, go, d, do, n)


@kernel(inline="always")
def _apply_slope(dg, in_, a, o, g, go, d, do, n):
    for j in range(n):
        d[do + j] = dg(in_[o + j], a[o + j]) * g[go + j]


@kernel(inline="always")
def _loss_terms(loss, y, a):
    """``(f, ∂f/∂a)`` of an unfused loss, ``losses``' scalar definitions."""
    if loss == 0:
        return _f0(y, a), _df0(y, a)
    if loss == 1:
        return _f1(y, a), _df1(y, a)
    if loss == 2:
        return _f2(y, a), _df2(y, a)
    if loss == 3:
        return _f3(y, a), _df3(y, a)
    return _f4(y, a), _df4(y, a)


@kernel(inline="always")
def _fused_terms(loss, y, z, a):
    """``(f, Δ)`` of a loss in its fused form (``losses``' ``scalar_fused``)."""
    if loss == 2:
        return _fused2(y, z, a)
    return _fused4(y, z, a)


@kernel(inline="always")
def output_loss(loss, act, in_, a, o, n, y, yo, d, lse, w, c):
    """Add ``w · ∂ℓ/∂in`` of one output group to ``d`` (at ``o``) and return ℓ.

    The targets are ``y[yo:yo + n]``; ``y[yo + n:yo + 2n]`` is scratch. ``lse`` is
    log Σ e^{in} of a softmax group (from ``activate``).
    """
    value = c[ZERO]
    if loss == PERCEPTRON or (loss == LOG_LOSS and act == LOGISTIC):
        for k in range(n):
            f, delta = _fused_terms(loss, y[yo + k], in_[o + k], a[o + k])
            value += f
            d[o + k] = d[o + k] + delta * w
    elif loss == CROSS_ENTROPY and act == SOFTMAX:  # Δ = p Σy − y
        y_sum = c[ZERO]
        for k in range(n):
            y_sum += y[yo + k]
        for k in range(n):
            y_k = y[yo + k]
            value += -y_k * (in_[o + k] - lse)
            d[o + k] = d[o + k] + (a[o + k] * y_sum - y_k) * w
    else:
        for k in range(n):
            f, df = _loss_terms(loss, y[yo + k], a[o + k])
            value += f
            y[yo + n + k] = df
        act_backward(act, in_, a, o, y, yo + n, y, yo + n, n, c)
        for k in range(n):
            d[o + k] = d[o + k] + y[yo + n + k] * w
    return value
