"""Weight initialisation: RAND(−ε, ε), Glorot, He, and constants for exercises.

NEURALNETTRAIN (seed 002, Lecture 07-4a) starts with ``w_ij ← RAND(−ε, ε)``: small, and
different for every arc, because equal weights stay equal under backpropagation.

An initialiser is called per block of arcs as ``init(rng, fan_in, fan_out, dtype)`` where
``fan_in`` has one entry per destination neuron (its number of incoming arcs) and
``fan_out`` one per source neuron; it returns a ``(len(fan_out), len(fan_in))`` array.
``bias(rng, n, dtype)`` gives the bias weights ``w_0j``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import check_choice, check_number, fail, is_number


@dataclass(frozen=True)
class Initializer:
    """Draws weights for a block of arcs and for bias arcs."""

    name: str
    kind: str  # "rand", "glorot", "he", "constant"
    eps: float = 0.1
    value: float = 0.0
    bias_value: float | None = None

    def weights(self, rng, fan_in: np.ndarray, fan_out: np.ndarray, dtype) -> np.ndarray:
        shape = (len(fan_out), len(fan_in))
        if self.kind == "constant":
            return np.full(shape, self.value, dtype=dtype)
        if self.kind == "rand":
            limit = np.full(shape, self.eps)
        elif self.kind == "glorot":
            # U(−l, l), l = √(6 / (fan_in + fan_out)), per arc (i, j) of a DAG
            limit = np.sqrt(6.0 / (fan_in[None, :] + fan_out[:, None]))
        else:  # he
            limit = np.broadcast_to(np.sqrt(6.0 / fan_in)[None, :], shape)
        return (rng.uniform(-1.0, 1.0, size=shape) * limit).astype(dtype)

    def fill(self, rng, is_weight: np.ndarray, is_bias: np.ndarray, fan_in: np.ndarray,
             fan_out: np.ndarray, dtype) -> np.ndarray:
        """``weights`` and ``bias`` for a whole slice of parameters at once: the same values
        and the same random numbers, drawn in slice order, as calling them one block at a
        time. ``fan_in``/``fan_out`` are given per weight; other entries come back 0."""
        out = np.zeros(len(is_weight))
        if self.kind == "constant":
            out[is_weight] = self.value
            out[is_bias] = self.value if self.bias_value is None else self.bias_value
            return out.astype(dtype)
        drawn = is_weight | is_bias if self.kind == "rand" else is_weight
        u = rng.random(int(drawn.sum()))  # uniform(low, high) is low + (high − low) u
        if self.kind == "rand":
            w_lim = np.full(len(out), self.eps)
        elif self.kind == "glorot":
            w_lim = np.sqrt(6.0 / (fan_in + fan_out))
        else:  # he
            w_lim = np.sqrt(6.0 / fan_in)
        draws = np.zeros(len(out))
        draws[drawn] = u
        out[is_weight] = (-1.0 + 2.0 * draws[is_weight]) * w_lim[is_weight]
        if self.kind == "rand":
            out[is_bias] = -self.eps + (self.eps - -self.eps) * draws[is_bias]
        return out.astype(dtype)

    def bias(self, rng, n: int, dtype) -> np.ndarray:
        if self.kind == "constant":
            b = self.value if self.bias_value is None else self.bias_value
            return np.full(n, b, dtype=dtype)
        if self.kind == "rand":
            return rng.uniform(-self.eps, self.eps, size=n).astype(dtype)
        return np.zeros(n, dtype=dtype)


def rand(eps: float = 0.1) -> Initializer:
    """RAND(−ε, ε) for every arc, bias arcs included (the seeds' NEURALNETTRAIN)."""
    eps = check_number("eps", eps, low=0.0, low_open=True)
    return Initializer(f"rand({eps:g})", "rand", eps=eps)


def glorot() -> Initializer:
    """Glorot/Xavier uniform: ``U(−l, l)``, ``l = √(6/(fan_in + fan_out))``; biases 0."""
    return Initializer("glorot", "glorot")


def he() -> Initializer:
    """He uniform for ReLU units: ``U(−l, l)``, ``l = √(6/fan_in)``; biases 0."""
    return Initializer("he", "he")


def constant(value: float, bias: float | None = None) -> Initializer:
    """Every weight ``value`` and every bias ``bias`` (default: ``value``).

    For exercises such as seed 003's "all weights initialized to 1" or seed 000's
    "all weights initialized to 1, with the bias set to zero" (``constant(1, bias=0)``).
    """
    value = check_number("value", value)
    if bias is not None:
        bias = check_number("bias", bias)
    return Initializer(f"constant({value:g})", "constant", value=value, bias_value=bias)


_BY_NAME = {"rand": rand, "uniform": rand, "glorot": glorot, "xavier": glorot, "he": he}


def get(spec: str | Initializer | float) -> Initializer:
    """Resolve ``"rand"``, ``"glorot"``, ``"he"``, a number (constant) or an Initializer."""
    if isinstance(spec, Initializer):
        return spec
    if is_number(spec):  # a Python or NumPy number
        return constant(float(spec))
    if not isinstance(spec, str):
        fail("init must be a name, a number or an Initializer", spec,
             "use 'rand', 'glorot', 'he', a constant such as 1.0, or deltanet.init.rand(0.05)")
    return _BY_NAME[check_choice("init", spec, _BY_NAME)]()
