"""Compiled row passes of the NumPy engine: ReLU layers and the softmax/cross-entropy output.

Each replaces a handful of ufunc calls (and their passes over the batch) with one loop:

* ``bias_relu``: ``in_ ← in_ + b``, ``a = max(in_, 0)``; ``relu_backward``:
  ``Δ = up · [in_ > 0]`` and the bias gradient ``Σ_rows Δ``, summed row after row as
  ``np.sum(Δ, axis=0)`` does. ReLU's ``g`` and ``g'`` are its scalar definitions in
  ``deltanet.activations``: element for element the same operations as the ufuncs.
* ``bias_softmax`` and ``softmax_cross_entropy``: ``a = softmax(in_ + b)``, keeping
  ``log Σ e^{in}`` per row, then ``ℓ = −Σ_k y_k (in_k − log Σ e^{in})`` and
  ``Δ = (a Σy − y) · w · scale``: the formulas of ``_minibatch``, with sums over a row in
  order (NumPy sums pairwise) and the C library's ``exp``: equal to rounding.
"""

from __future__ import annotations

import math

from numba import njit

from ._elementwise import relu, relu_derivative


@njit(cache=True)
def bias_relu(in_, b, a):
    """``in_ += b``; ``a = max(in_, 0)``, rows of ``in_`` and ``a`` of shape (m, n)."""
    for r in range(in_.shape[0]):
        for j in range(in_.shape[1]):
            z = in_[r, j] + b[j]
            in_[r, j] = z
            a[r, j] = relu(z)


@njit(cache=True)
def relu_backward(in_, up, d, grad_b):
    """``d = up · [in_ > 0]`` and ``grad_b = Σ_rows d``."""
    zero = grad_b.dtype.type(0)
    for j in range(d.shape[1]):
        grad_b[j] = zero
    for r in range(d.shape[0]):
        for j in range(d.shape[1]):
            v = up[r, j] * relu_derivative(in_[r, j], in_[r, j])
            d[r, j] = v
            grad_b[j] += v


@njit(cache=True)
def bias_softmax(in_, b, a, lse):
    """``in_ += b``; ``a = e^{in − max} / Σ e^{in − max}`` and ``lse = log Σ e^{in}`` per row."""
    zero = b.dtype.type(0)
    for r in range(in_.shape[0]):
        top = in_[r, 0] + b[0]
        for j in range(in_.shape[1]):
            z = in_[r, j] + b[j]
            in_[r, j] = z
            top = max(top, z)
        total = zero
        for j in range(in_.shape[1]):
            e = math.exp(in_[r, j] - top)
            a[r, j] = e
            total += e
        for j in range(in_.shape[1]):
            a[r, j] = a[r, j] / total
        lse[r] = math.log(total) + top


@njit(cache=True)
def softmax_cross_entropy(in_, a, y, lse, w, scale, value, d):
    """``value_r = −Σ_k y_k (in_k − lse_r)``; ``d = (a Σy − y) · w_r · scale`` (``w`` empty:
    no weights)."""
    zero = lse.dtype.type(0)
    for r in range(in_.shape[0]):
        loss, y_sum = zero, zero
        for k in range(in_.shape[1]):
            loss += y[r, k] * (in_[r, k] - lse[r])
            y_sum += y[r, k]
        value[r] = -loss
        for k in range(in_.shape[1]):
            t = a[r, k] * y_sum - y[r, k]
            if w.shape[0] > 0:
                t = t * w[r]
            d[r, k] = t * scale
