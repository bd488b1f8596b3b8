"""Rendering the expressions of :mod:`._expr`: LaTeX (Markdown and LaTeX documents) or
plain Unicode (the terminal), in symbol mode (the formula) or number mode (the values)."""

from __future__ import annotations

from ._expr import (
    Add,
    Call,
    Const,
    Deriv,
    Expr,
    Frac,
    Mul,
    Neg,
    Num,
    Op,
    Pow,
    Q,
    Sub,
    SumOver,
    Sym,
    Text,
    walk_numbers,
)
from ._numbers import format_number, is_exact

_LATEX_NAMES = {"in": r"\mathit{in}", "Delta": r"\Delta", "alpha": r"\alpha",
                "lambda": r"\lambda", "ell": r"\ell", "sigma": r"\sigma", "eta": r"\eta"}
_TEXT_NAMES = {"Delta": "Δ", "alpha": "α", "lambda": "λ", "ell": "ℓ", "sigma": "σ",
               "eta": "η", "g'": "g′"}
_LATEX_FN = {"log": r"\log", "tanh": r"\tanh", "max": r"\max", "sigma": r"\sigma",
             "exp": r"\exp", "sigma'": r"\sigma'"}
_TEXT_FN = {"sigma": "σ", "g'": "g′", "sigma'": "σ′"}
_LATEX_OP = {">": ">", ">=": r"\ge", "=": "=", "->": r"\to", "<-": r"\leftarrow",
             "approx": r"\approx"}
_TEXT_OP = {">": ">", ">=": "≥", "=": "=", "->": "→", "<-": "←", "approx": "≈"}
_SUB = dict(zip("0123456789,'()+-aehijklmnoprstuvx",
                "₀₁₂₃₄₅₆₇₈₉,′₍₎₊₋ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))
_SUP = dict(zip("0123456789()+-newt", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾⁺⁻ⁿᵉʷᵗ", strict=True))
_NEG_NUMBER = 1.5  # precedence of a negative number: parenthesised inside + − · ^
_SCI_NUMBER = 5  # a positive number shown as m·10^k: parenthesised as the base of a power
_LATEX_ESCAPES = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                  "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "\\": r"\textbackslash{}"}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text."""
    return "".join(_LATEX_ESCAPES.get(c, c) for c in text)


def _script(text: str, table: dict, fallback: str) -> str:
    if all(c in table for c in text):
        return "".join(table[c] for c in text)
    return f"{fallback}({text})" if len(text) > 1 else f"{fallback}{text}"


def _sub_text(sub) -> str:
    if isinstance(sub, tuple):
        return ",".join(map(str, sub))
    return str(sub)


class ExprRenderer:
    """Render expressions as LaTeX (``style="latex"``) or Unicode (``"text"``).

    ``numbers=False`` writes the formula, ``numbers=True`` substitutes the numbers.
    """

    def __init__(self, style: str, digits: int, numbers: bool) -> None:
        self.latex = style == "latex"
        self.digits = digits
        self.numbers = numbers

    def __call__(self, e: Expr) -> str:
        return self._r(e, 0)

    def number(self, value: float, digits: int | None = None) -> str:
        text = format_number(value, self.digits if digits is None else digits)
        if self.latex:
            if "e" in text:
                mantissa, exponent = text.split("e")
                return rf"{mantissa} \times 10^{{{exponent}}}"
            return text
        return "−" + text[1:] if text.startswith("-") else text

    def _r(self, e: Expr, parent: float) -> str:
        text, prec = self._node(e)
        return f"({text})" if prec < parent else text

    def _number_prec(self, value: float, digits: int | None = None) -> tuple[str, float]:
        text = self.number(value, digits)
        if value < 0:
            return text, _NEG_NUMBER
        # "(1 \times 10^{-6})^{2}", "(1e-6)²": no double superscript, no "1e-6²"
        scientific = r"\times" in text if self.latex else "e" in text
        return text, (_SCI_NUMBER if scientific else 9)

    def _node(self, e: Expr) -> tuple[str, float]:
        """``(text, precedence)``; each node type has its method ``_<type>``."""
        method = getattr(self, "_" + type(e).__name__.lower(), None)
        if method is None:
            raise TypeError(f"not an expression node: {e!r}")
        return method(e)

    def _q(self, e: Q) -> tuple[str, float]:
        return self._number_prec(e.value) if self.numbers else self._node(e.sym)

    def _num(self, e: Num) -> tuple[str, float]:
        return self._number_prec(e.value, e.digits)

    def _const(self, e: Const) -> tuple[str, float]:
        return self._number_prec(e.value)

    def _text(self, e: Text) -> tuple[str, float]:
        return (rf"\text{{{latex_escape(e.text)}}}" if self.latex else e.text), 9

    def _sub(self, e: Sub) -> tuple[str, float]:
        minus = " - " if self.latex else " − "
        return self._r(e.left, 1) + minus + self._r(e.right, 2), 1

    def _neg(self, e: Neg) -> tuple[str, float]:
        # LaTeX: "- 2" (spaced) is the operator, "-2" a negative number; both print alike
        return ("- " if self.latex else "−") + self._r(e.arg, 3), 2

    def _frac(self, e: Frac) -> tuple[str, float]:
        if self.latex:
            return rf"\frac{{{self._r(e.num, 0)}}}{{{self._r(e.den, 0)}}}", 9
        return f"{self._r(e.num, 4)}/{self._r(e.den, 4)}", 3

    def _op(self, e: Op) -> tuple[str, float]:
        op = (_LATEX_OP if self.latex else _TEXT_OP)[self._relation(e)]
        return f"{self._r(e.left, 1)} {op} {self._r(e.right, 0)}", 0

    def _deriv(self, e: Deriv) -> tuple[str, float]:
        if self.latex:
            return (rf"\frac{{\partial {self._r(e.num, 9)}}}"
                    rf"{{\partial {self._r(e.den, 9)}}}"), 9
        return f"∂{self._r(e.num, 9)}/∂{self._r(e.den, 9)}", 3

    def _sumover(self, e: SumOver) -> tuple[str, float]:
        if self.latex:
            return rf"\sum_{{{e.index_latex}}} {self._r(e.body, 3)}", 3
        return f"Σ{_script(e.index_text, _SUB, '_')} {self._r(e.body, 3)}", 3

    def _relation(self, e: Op) -> str:
        """``=`` becomes ``≈`` when the number on its right is shown rounded."""
        right = e.right
        if e.op == "=" and (isinstance(right, Num) or (self.numbers and isinstance(right, Q))):
            digits = getattr(right, "digits", None) or self.digits
            if not is_exact(right.value, digits):
                return "approx"
        return e.op

    def _sym(self, e: Sym) -> tuple[str, float]:
        return self._symbol(e), 9

    def _symbol(self, e: Sym) -> str:
        if self.latex:
            name = _LATEX_NAMES.get(e.name, e.name if len(e.name) == 1 or "'" in e.name
                                    else rf"\mathrm{{{e.name}}}")
            sub = f"_{{{_sub_text(e.sub)}}}" if e.sub is not None else ""
            sup = ""
            if e.sup:
                sup = f"^{{\\text{{{e.sup}}}}}" if e.sup.isalpha() else f"^{{{e.sup}}}"
            return name + sub + sup
        name = _TEXT_NAMES.get(e.name, e.name)
        sub = _script(_sub_text(e.sub), _SUB, "_") if e.sub is not None else ""
        sup = _script(e.sup, _SUP, "^") if e.sup else ""
        return name + sub + sup

    def _add(self, e: Add) -> tuple[str, float]:
        return self._sum(e), 1

    def _sum(self, e: Add) -> str:
        parts = [self._r(e.terms[0], 1)]
        for t in e.terms[1:]:
            if isinstance(t, Neg):
                parts.append((" - " if self.latex else " − ") + self._r(t.arg, 3))
            else:
                parts.append(" + " + self._r(t, 2))
        return "".join(parts)

    def _mul(self, e: Mul) -> tuple[str, float]:
        return self._product(e), 3

    def _product(self, e: Mul) -> str:
        if self.numbers:
            joiner = r" \cdot " if self.latex else "·"
        else:
            joiner = " "
        return joiner.join(self._r(f, 4) for f in e.factors)

    def _pow(self, e: Pow) -> tuple[str, float]:
        return self._power(e), 5

    def _power(self, e: Pow) -> str:
        base = self._r(e.base, 6)
        if self.latex:
            return f"{base}^{{{self._r(e.exp, 0)}}}"
        if isinstance(e.exp, Const) and float(e.exp.value).is_integer() and e.exp.value >= 0:
            return base + _script(str(int(e.exp.value)), _SUP, "^")
        return f"{base}^({self._r(e.exp, 0)})"

    def _call(self, e: Call) -> tuple[str, float]:
        return self._function(e), 9

    def _function(self, e: Call) -> str:
        args = ", ".join(self._r(a, 0) for a in e.args)
        if self.latex:
            fn = _LATEX_FN.get(e.fn, e.fn)
            left, right = {"()": ("(", ")"), "[]": ("[", "]"), "||": (r"\lvert ", r" \rvert"),
                           "{}": (r"\lbrace ", r" \rbrace")}[e.brackets]
        else:
            fn = _TEXT_FN.get(e.fn, e.fn)
            left, right = e.brackets[0], e.brackets[1]
        return f"{fn}{left}{args}{right}"


class InlineRenderer:
    """Expressions inside prose: with numbers when they hold any, else as formulas."""

    def __init__(self, style: str, digits: int) -> None:
        self.symbols = ExprRenderer(style, digits, numbers=False)
        self.numbers = ExprRenderer(style, digits, numbers=True)

    def __call__(self, e: Expr) -> str:
        has_numbers = any(isinstance(node, (Num, Q)) for node, _, _ in walk_numbers(e))
        return (self.numbers if has_numbers else self.symbols)(e)
