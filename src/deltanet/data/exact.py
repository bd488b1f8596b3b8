"""Statistics that give the same bits however the rows are cut into chunks.

A table's preprocessing is learned from its training rows, in memory in one piece or from a
stream chunk by chunk; both must give the same numbers to the last bit. ``min``/``max`` and
counts merge exactly by themselves, but a floating-point sum depends on the order of its
additions. So sums are kept *exactly*: every float64 ``x`` is ``±m · 2^(e−1075)`` with
the integer ``m < 2^53`` and the biased exponent ``e`` of its bits, so ``Σ x`` is a whole
number of units ``2^−1075``, held as a Python integer, and rounded once at the end
(correctly, by Python's integer division). Medians and most frequent values come from the
counts of the distinct values, which merge exactly too.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

#: every float64 (subnormals too) is a whole number of units 2^-UNIT_SHIFT
UNIT_SHIFT = 1075
#: values summed at once: |Σ of 26-bit halves| stays below 2^53, exact in float64
_BLOCK = 1 << 20
_MANTISSA = (1 << 52) - 1


class ExactSum:
    """``Σ x`` of finite float64 values, exact, in any number of ``add`` calls.

    >>> s = ExactSum(); s.add(np.array([1e16, 1.0, -1e16])); s.mean(3) == 1 / 3
    True
    """

    def __init__(self) -> None:
        self.units = 0  # Σ x · 2^UNIT_SHIFT, an integer

    def add(self, x: np.ndarray) -> None:
        bits = np.ascontiguousarray(x, dtype=np.float64).ravel().view(np.int64)
        for at in range(0, bits.size, _BLOCK):
            b = bits[at:at + _BLOCK]
            e = (b >> 52) & 0x7FF  # the biased exponent; 0 for zeros and subnormals
            m = (b & _MANTISSA) | ((e != 0).astype(np.int64) << 52)  # the hidden bit
            m = np.where(b < 0, -m, m)  # x = m · 2^(max(e, 1) − 1075), exactly
            e = np.maximum(e, 1)
            # group by exponent; the 26-bit halves of m keep each group's sum exact
            hi = np.bincount(e, weights=m >> 26, minlength=2048)
            lo = np.bincount(e, weights=m & ((1 << 26) - 1), minlength=2048)
            for k in np.flatnonzero((hi != 0) | (lo != 0)):
                self.units += ((int(hi[k]) << 26) + int(lo[k])) << int(k)

    def add_times(self, value: float, times: int) -> None:
        """Add ``value`` ``times`` times (the fill value of missing cells)."""
        self.units += int(Fraction(value) * times * 2 ** UNIT_SHIFT)

    def mean(self, n: int) -> float:
        """``Σ x / n`` rounded once to the nearest float64."""
        return float(Fraction(self.units, n << UNIT_SHIFT))


class ValueCounts:
    """The distinct values of a numeric column and how often each occurs."""

    def __init__(self) -> None:
        self.values = np.zeros(0)
        self.counts = np.zeros(0, dtype=np.int64)

    def add(self, x: np.ndarray) -> None:
        values, counts = np.unique(x, return_counts=True)
        if self.values.size:
            values, inverse = np.unique(np.concatenate([self.values, values]),
                                        return_inverse=True)
            counts = np.bincount(inverse, minlength=values.size,
                                 weights=np.concatenate([self.counts, counts]))
        self.values, self.counts = values, np.asarray(counts, dtype=np.int64)

    def median(self) -> float:
        """The median (``numpy.median``'s: the middle value, or the mean of the two)."""
        cum = np.cumsum(self.counts)
        n = int(cum[-1])
        mid = self.values[np.searchsorted(cum, [(n - 1) // 2, n // 2], side="right")]
        return float(mid[0]) if n % 2 else float(np.mean(mid))

    def most_frequent(self) -> float:
        """The most frequent value (the smallest of those tied)."""
        return float(self.values[np.argmax(self.counts)])
