"""Expressions of a derivation: lecture symbols that also carry their numbers.

A quantity ``Q`` is a symbol such as ``w_{1,3}`` together with its exact value and a
reference to where the value came from (``("w", 1, 3)``). One expression therefore
renders twice: as the formula (symbol mode, ``w_{1,3} a_1``) and with the numbers
substituted (number mode, ``0.1 · 0.4``). Renderers write LaTeX (for Markdown and
LaTeX documents) or plain Unicode (for the terminal).

Numbers are shown with ``digits`` decimals, trailing zeros dropped; a non-zero number
that would round to 0 is shown with ``digits`` significant digits instead
(``3.142e-5``), so a small gradient is never displayed as a zero, and so is a number of
``1e16`` or more (``1.235e20``), whose full decimal expansion would show digits that are
not in the float (see ``_numbers``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace

Ref = tuple


class Expr:
    """Base class of expression nodes."""


@dataclass(frozen=True)
class Sym(Expr):
    """A symbol: ``name`` with an optional subscript (neuron or arc) and superscript."""

    name: str
    sub: int | tuple | str | None = None
    sup: str | None = None


@dataclass(frozen=True)
class Const(Expr):
    """A constant of a formula (the 2 of ``−2(y − a)``); the same in both modes."""

    value: float


@dataclass(frozen=True)
class Num(Expr):
    """A bare number; ``digits`` overrides the document's precision (remarks only)."""

    value: float
    ref: Ref | None = None
    digits: int | None = None


@dataclass(frozen=True)
class Q(Expr):
    """A quantity: renders as ``sym`` in symbol mode and as ``value`` in number mode."""

    sym: Expr
    value: float
    ref: Ref | None = None


@dataclass(frozen=True)
class Add(Expr):
    terms: tuple


@dataclass(frozen=True)
class Sub(Expr):
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Mul(Expr):
    factors: tuple


@dataclass(frozen=True)
class Neg(Expr):
    arg: Expr


@dataclass(frozen=True)
class Frac(Expr):
    num: Expr
    den: Expr


@dataclass(frozen=True)
class Pow(Expr):
    base: Expr
    exp: Expr


@dataclass(frozen=True)
class Call(Expr):
    """``fn(args)``; ``fn=""`` with ``brackets="[]"`` is a bracket, with "()" a tuple."""

    fn: str
    args: tuple
    brackets: str = "()"


@dataclass(frozen=True)
class Op(Expr):
    """A relation inside an expression: ``>``, ``>=``, ``=``, ``->``."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Deriv(Expr):
    """``∂num/∂den``."""

    num: Expr
    den: Expr


@dataclass(frozen=True)
class SumOver(Expr):
    """``Σ_index body`` (symbol mode only)."""

    index_latex: str
    index_text: str
    body: Expr


@dataclass(frozen=True)
class Text(Expr):
    text: str


def mul(*factors: Expr) -> Expr:
    """A product, flattening nested products and a leading negation."""
    flat: list = []
    negate = False
    for f in factors:
        if isinstance(f, Neg) and not flat:
            negate, f = True, f.arg
        flat.extend(f.factors if isinstance(f, Mul) else (f,))
    prod = flat[0] if len(flat) == 1 else Mul(tuple(flat))
    return Neg(prod) if negate else prod


def add(*terms: Expr) -> Expr:
    return terms[0] if len(terms) == 1 else Add(tuple(terms))


def symbols_only(e: Expr) -> Expr:
    """The formula of ``e``: every quantity replaced by its symbol."""
    if isinstance(e, Q):
        return e.sym
    if not is_dataclass(e):
        return e
    changes = {}
    for f in fields(e):
        v = getattr(e, f.name)
        if isinstance(v, Expr):
            changes[f.name] = symbols_only(v)
        elif isinstance(v, tuple) and any(isinstance(x, Expr) for x in v):
            changes[f.name] = tuple(symbols_only(x) if isinstance(x, Expr) else x for x in v)
    return replace(e, **changes) if changes else e


def walk_numbers(e: Expr | None, numbers: bool = True) -> list:
    """``(node, value, ref)`` for every number the expression shows, in reading order."""
    if e is None:
        return []
    if isinstance(e, Const):
        return [(e, e.value, None)]
    if isinstance(e, Num):
        return [(e, e.value, e.ref)]
    if isinstance(e, Q):
        return [(e, e.value, e.ref)] if numbers else walk_numbers(e.sym, numbers)
    children: tuple = ()
    if isinstance(e, (Add,)):
        children = e.terms
    elif isinstance(e, Mul):
        children = e.factors
    elif isinstance(e, Call):
        children = e.args
    elif isinstance(e, (Sub, Op)):
        children = (e.left, e.right)
    elif isinstance(e, (Frac, Deriv)):
        children = (e.num, e.den)
    elif isinstance(e, Pow):
        children = (e.base, e.exp)
    elif isinstance(e, Neg):
        children = (e.arg,)
    elif isinstance(e, SumOver):
        children = (e.body,)
    return [n for c in children for n in walk_numbers(c, numbers)]


# ---------------------------------------------------------------------- rendering
