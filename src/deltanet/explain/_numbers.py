"""How numbers are shown: ``digits`` decimals, trailing zeros dropped.

A non-zero number that would round to 0 is shown with ``digits`` significant digits
instead (``3.142e-5``), so a small gradient is never displayed as a zero.
"""

from __future__ import annotations


def format_number(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals (trailing zeros dropped), ASCII ``-``.

    A non-zero value that would show as 0 gets ``digits`` significant digits in
    ``m e k`` form instead, e.g. ``3.142e-5``.
    """
    v = float(value)
    if v != v or v in (float("inf"), float("-inf")):
        return str(v)
    text = _strip(f"{v:.{digits}f}")
    if text in ("0", "-0"):
        if v == 0:
            return "0"
        mantissa, exponent = f"{v:.{max(digits - 1, 0)}e}".split("e")
        return f"{_strip(mantissa)}e{int(exponent)}"
    return text


def _strip(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def is_exact(value: float, digits: int) -> bool:
    """Whether the shown number equals the value (then ``=``, else ``≈``)."""
    shown = float(format_number(value, digits))
    return abs(shown - float(value)) <= 1e-12 * max(1.0, abs(float(value)))
