"""Shared by the renderers: a line as its chain of relations, text in LaTeX, a step's example,
and the order in which a document's steps and notes are written."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from ._numbers import is_exact
from ._render_expr import ExprRenderer, latex_escape
from .model import Derivation, Line, Para, Section, Step

T = TypeVar("T")

LATEX_RELATIONS = {"=": "=", "approx": r"\approx", "<-": r"\leftarrow", ":": ":"}
TEXT_RELATIONS = {"=": "=", "approx": "≈", "<-": "←", ":": ":"}

# Unicode of the prose (titles, notes, descriptions) written for LaTeX's text mode
_UNICODE_LATEX = {
    "σ": r"$\sigma$", "Δ": r"$\Delta$", "α": r"$\alpha$", "λ": r"$\lambda$", "ℓ": r"$\ell$",
    "π": r"$\pi$", "η": r"$\eta$", "Σ": r"$\Sigma$", "∂": r"$\partial$", "≥": r"$\geq$",
    "≤": r"$\leq$", "≠": r"$\neq$", "′": r"$'$", "−": "-", "–": "--", "—": "---",
    "→": r"$\to$", "←": r"$\leftarrow$", "≈": r"$\approx$", "·": r"$\cdot$", "×": r"$\times$",
    "½": r"$\frac{1}{2}$", "…": r"\ldots{}", "∈": r"$\in$", "⊙": r"$\odot$",
    "δ": r"$\delta$", "ε": r"$\varepsilon$", "θ": r"$\theta$", "γ": r"$\gamma$",
    "β": r"$\beta$", "μ": r"$\mu$", "“": "``", "”": "''", "’": "'", "ᵀ": r"$^T$",
}


_SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉₊₋ᵢⱼₖ"
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾⁺⁻"
_PLAIN = {**dict(zip(_SUBSCRIPTS, "0123456789+-ijk", strict=True)),
          **dict(zip(_SUPERSCRIPTS, "0123456789()+-", strict=True))}
_SCRIPT_RUN = re.compile(f"[{_SUBSCRIPTS}](?:,?[{_SUBSCRIPTS}])*|[{_SUPERSCRIPTS}]+")


def _script(match: re.Match) -> str:
    run = match.group()
    mark = "_" if run[0] in _SUBSCRIPTS else "^"
    return f"${mark}{{{''.join(_PLAIN.get(c, c) for c in run)}}}$"


def latex_text(text: str) -> str:
    """Plain prose for LaTeX: special characters escaped, Greek and symbols as math,
    runs of sub- and superscript characters (``w₀,₃``, ``a⁽¹⁾``) as math scripts."""
    out = []
    last = 0
    for m in _SCRIPT_RUN.finditer(text):
        out.append("".join(_UNICODE_LATEX.get(c, c) for c in latex_escape(text[last:m.start()])))
        out.append(_script(m))
        last = m.end()
    out.append("".join(_UNICODE_LATEX.get(c, c) for c in latex_escape(text[last:])))
    return _ADJACENT_MATH.sub("", "".join(out))  # "$\\Delta$$_{j}$" -> "$\\Delta_{j}$"


_ADJACENT_MATH = re.compile(r"(?<!\\)\$\$")


def chain(line: Line, style: str, digits: int) -> list[tuple[str, str]]:
    """``[("", lhs), (relation, symbolic), ("=", substituted), ("=" or "approx", value)]``.

    The value is written with ``≈`` when the shown digits are not its exact value.
    """
    sym = ExprRenderer(style, digits, numbers=False)
    num = ExprRenderer(style, digits, numbers=True)
    parts = [("", sym(line.lhs))]
    relation = line.relation
    if line.symbolic is not None:
        parts.append((relation, sym(line.symbolic)))
        relation = "="
    if line.substituted is not None:
        parts.append((relation, num(line.substituted)))
        relation = "="
    if line.value is not None:
        if relation == "=" and not is_exact(line.value, digits):
            relation = "approx"
        parts.append((relation, num.number(line.value)))
    return parts


def _join(parts: list[tuple[str, str]], relations: dict[str, str]) -> str:
    out = parts[0][1]
    for relation, text in parts[1:]:
        sep = relations[relation]
        out += f"{sep} {text}" if relation == ":" else f" {sep} {text}"
    return out


def line_latex(line: Line, digits: int) -> str:
    """The whole line as one LaTeX formula."""
    return _join(chain(line, "latex", digits), LATEX_RELATIONS)


def example(step: Step, style: str, digits: int) -> tuple[str, str]:
    """A step's ``x`` and ``y`` as numbers in ``style``, in parentheses when there are several."""
    num = ExprRenderer(style, digits, numbers=True)
    x = ", ".join(num.number(v) for v in step.x)
    y = ", ".join(num.number(v) for v in step.y)
    return (f"({x})" if len(step.x) > 1 else x), (f"({y})" if len(step.y) > 1 else y)


def steps_and_notes(d: Derivation, *, heading: Callable[[str], list[T]],
                    step_title: Callable[[Step], str], section: Callable[[Section], list[T]],
                    note: Callable[[Para], list[T]]) -> list[T]:
    """Each step under ``heading(step_title(step))`` (its sections, then its notes), then the
    document's notes under the heading "Notes": the part every format writes alike."""
    out: list[T] = []
    for step in d.steps:
        out += heading(step_title(step))
        for s in step.sections:
            out += section(s)
        for p in step.notes:
            out += note(p)
    if d.notes:
        out += heading("Notes")
        for p in d.notes:
            out += note(p)
    return out
