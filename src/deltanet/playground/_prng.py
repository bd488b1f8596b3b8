"""The playground's seeded random generator, drawn identically in Python and in the browser.

A lesson link must give the same data, initial weights, permutations and dropout masks in
the page's own engine (``static/prng.js``) as in ``deltanet``. NumPy's generators cannot be
reproduced in JavaScript cheaply, so the playground draws from xoshiro128** (Blackman and
Vigna), a 32-bit generator that JavaScript computes exactly with ``Math.imul``:

- seeding: the four 32-bit words of state are four outputs of splitmix32 started at
  ``seed XOR (stream · 0x85EBCA6B mod 2³²)``; streams keep the draws of the data (0), the
  initial weights (1) and each epoch ``e`` of training (``2 + e``) apart;
- ``random()``: a double in ``[0, 1)`` built from two 32-bit draws,
  ``((a >> 5) · 2²⁶ + (b >> 6)) / 2⁵³`` (53 random bits, exact in both languages);
- ``uniform(low, high)``: ``low + (high − low) · u`` (as NumPy);
- ``normal(μ, σ)``: Box–Muller, ``μ + σ √(−2 log(1 − u₁)) cos(2π u₂)``, one value per two
  draws;
- ``permutation(n)``: Fisher–Yates from the top, ``j = ⌊u · (i + 1)⌋``.

``Prng`` is a ``numpy.random.Generator`` (so ``deltanet``'s data generators, initialisers,
``train`` and dropout take it as they take any generator), but only the four draws above
are its own: any other method is refused rather than silently drawn from NumPy's stream.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_MASK = 0xFFFFFFFF
DATA, WEIGHTS, EPOCHS = 0, 1, 2  # the streams of a playground run (epoch e: EPOCHS + e)
_OWN = frozenset({"random", "uniform", "normal", "permutation"})


def _splitmix32(state: int) -> tuple[int, int]:
    state = (state + 0x9E3779B9) & _MASK
    z = state
    z = ((z ^ (z >> 16)) * 0x85EBCA6B) & _MASK
    z = ((z ^ (z >> 13)) * 0xC2B2AE35) & _MASK
    return state, z ^ (z >> 16)


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _MASK


class Prng(np.random.Generator):
    """xoshiro128** seeded by splitmix32 (see the module docstring)."""

    def __init__(self, seed: int, stream: int = 0) -> None:
        super().__init__(np.random.PCG64(0))  # NumPy's stream is never drawn from
        state, words = (int(seed) ^ ((int(stream) * 0x85EBCA6B) & _MASK)) & _MASK, []
        for _ in range(4):
            state, z = _splitmix32(state)
            words.append(z)
        if not any(words):
            words[0] = 1
        self._s = words

    def __getattribute__(self, name: str) -> Any:
        if (not name.startswith("_") and name not in _OWN and name != "uint32"
                and callable(getattr(np.random.Generator, name, None))):
            raise AttributeError(f"the playground generator draws only {sorted(_OWN)}, "
                                 f"not {name!r}")
        return super().__getattribute__(name)

    def uint32(self) -> int:
        """The next 32-bit output of xoshiro128**."""
        s = self._s
        result = (_rotl((s[1] * 5) & _MASK, 7) * 9) & _MASK
        t = (s[1] << 9) & _MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 11)
        return result

    def _double(self) -> float:
        a, b = self.uint32() >> 5, self.uint32() >> 6
        return (a * 67108864.0 + b) / 9007199254740992.0

    def _fill(self, size: Any, draw) -> Any:
        if size is None:
            return draw()
        shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
        return np.array([draw() for _ in range(math.prod(shape))], dtype=float).reshape(shape)

    def random(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> Any:
        """Doubles in ``[0, 1)``, drawn in C order."""
        return self._fill(size, self._double)

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None) -> Any:
        """``low + (high − low) · u`` (scalar bounds)."""
        low, high = float(low), float(high)
        return self._fill(size, lambda: low + (high - low) * self._double())

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: Any = None) -> Any:
        """Box–Muller from two doubles (scalar ``loc`` and ``scale``)."""
        loc, scale = float(loc), float(scale)

        def draw() -> float:
            u1, u2 = self._double(), self._double()
            return loc + scale * (math.sqrt(-2.0 * math.log(1.0 - u1))
                                  * math.cos(2.0 * math.pi * u2))
        return self._fill(size, draw)

    def permutation(self, x: Any) -> np.ndarray:
        """A random order of ``0 … n − 1`` (Fisher–Yates from the top)."""
        n = int(x) if isinstance(x, (int, np.integer)) else len(x)
        order = list(range(n))
        for i in range(n - 1, 0, -1):
            j = int(self._double() * (i + 1))
            order[i], order[j] = order[j], order[i]
        out = np.array(order, dtype=np.int64)
        return out if isinstance(x, (int, np.integer)) else np.asarray(x)[out]
