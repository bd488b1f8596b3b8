"""How numbers are shown: ``digits`` decimals, trailing zeros dropped.

Two kinds of number get ``digits`` significant digits in ``m e k`` form instead:

- a non-zero number that would round to 0 (``3.142e-5``), so a small gradient is never
  displayed as a zero;
- a number of magnitude ``1e16`` or more (``1.235e20``): from there on a float has fewer
  significant digits than its integer part, so the full decimal expansion would show
  digits that are not in the number (``1e23`` is ``99999999999999991611392``).
"""

from __future__ import annotations

import math

LARGE = 1e16  # from here on a float's integer part has more digits than its precision


def format_number(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals (trailing zeros dropped), ASCII ``-``.

    A non-zero value that would show as 0, or one of magnitude ``LARGE`` or more, gets
    ``digits`` significant digits in ``m e k`` form instead, e.g. ``3.142e-5``,
    ``1.235e20``.
    """
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    if abs(v) < LARGE:
        text = _strip(f"{v:.{digits}f}")
        if text not in ("0", "-0"):
            return text
    mantissa, exponent = f"{v:.{max(digits - 1, 0)}e}".split("e")
    return f"{_strip(mantissa)}e{int(exponent)}"


def _strip(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def is_exact(value: float, digits: int) -> bool:
    """Whether the shown number equals the value (then ``=``, else ``≈``).

    Equal up to a relative ``1e-12`` (decimal numbers such as 0.1 have no exact binary
    form; the last bits of a computed 0.3 are no reason for ``≈``). Relative, so a tiny
    value shown rounded (``1.235e-13`` for ``1.23456e-13``) gets ``≈``; 0 is exact only
    when the value is exactly 0.
    """
    v = float(value)
    shown = float(format_number(v, digits))
    return abs(shown - v) <= 1e-12 * abs(v)
