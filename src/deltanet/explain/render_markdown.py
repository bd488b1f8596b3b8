"""Markdown with ``$…$`` LaTeX math, as GitHub and Jupyter render it.

Every formula is inline math on its own list item; prose is escaped so that no ``$``,
``*`` or ``_`` outside math can start math or emphasis.
"""

from __future__ import annotations

from ._lines import example, line_latex, steps_and_notes
from ._render_expr import InlineRenderer
from .model import Derivation, Para, Section, Step

_ESCAPE = {c: "\\" + c for c in "\\`*_$<>[]|"}


def escape(text: str) -> str:
    """Markdown-escape prose."""
    return "".join(_ESCAPE.get(c, c) for c in text)


def _math(latex: str) -> str:
    return f"${latex.strip()}$"


def para(p: Para, digits: int) -> str:
    """Prose with inline math (numbers substituted)."""
    num = InlineRenderer("latex", digits)
    return "".join(escape(part) if isinstance(part, str) else _math(num(part))
                   for part in p.parts)


def _para_block(p: Para, digits: int, bullet: str = "") -> list[str]:
    out = [bullet + para(p, digits)]
    indent = "  " if bullet else ""
    if p.lines and not bullet:
        out.append("")
    out += [f"{indent}- {_math(line_latex(line, digits))}" for line in p.lines]
    return out


def _row(row, digits: int) -> str:
    text = ", ".join(_math(line_latex(line, digits)) for line in row)
    notes = "; ".join(line.note for line in row if line.note)
    return f"- {text}" + (f" — *{escape(notes)}*" if notes else "")


def section(s: Section, digits: int, level: str = "###") -> list[str]:
    out = [f"{level} {escape(s.title)}", ""]
    out += [_row(row, digits) for row in s.rows]
    for note in s.notes:
        out += ["", *_para_block(note, digits)]
    return [*out, ""]


def step_heading(step: Step, digits: int) -> str:
    x, y = example(step, "latex", digits)
    return f"Step {step.index}: example {_math(f'x = {x}')}, {_math(f'y = {y}')}"


def render(d: Derivation) -> str:
    """The whole document as Markdown."""
    digits = d.digits
    out = [f"# {escape(d.title)}", ""]
    if d.source:
        out += [f"*{escape(d.source)}*", ""]
    for text in d.description:
        out += [escape(text), ""]
    out += ["## Setup", ""]
    for p in d.setup:
        out += _para_block(p, digits, bullet="- ")
    out += ["", *section(d.weights, digits, level="###")]
    out += steps_and_notes(
        d, heading=lambda title: [f"## {title}", ""],
        step_title=lambda step: step_heading(step, digits),
        section=lambda s: section(s, digits),
        note=lambda p: [*_para_block(p, digits), ""])
    if d.tasks:
        out += ["## Tasks", ""]
        out += [f"{k}. {escape(task)}" for k, task in enumerate(d.tasks, start=1)]
    return "\n".join(out).rstrip() + "\n"
