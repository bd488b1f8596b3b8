"""A standalone LaTeX document (article class, amsmath): ``pdflatex file.tex``.

Each line of a derivation is one ``align*`` row ``lhs &= formula``, followed by a row
``&= numbers ≈ value``, as the lecture slides align their calculations.
"""

from __future__ import annotations

from ._lines import LATEX_RELATIONS, chain, example, latex_text, line_latex, steps_and_notes
from ._render_expr import InlineRenderer
from .model import Derivation, Line, Para, Section, Step

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}
\allowdisplaybreaks
"""


def para(p: Para, digits: int) -> str:
    num = InlineRenderer("latex", digits)
    return "".join(latex_text(part) if isinstance(part, str) else f"${num(part)}$"
                   for part in p.parts)


def _align_rows(line: Line, digits: int) -> list[str]:
    parts = chain(line, "latex", digits)
    lhs = parts[0][1]
    rest = [f"{LATEX_RELATIONS[r]} {t}" for r, t in parts[1:]]
    note = rf" && \text{{{latex_text(line.note)}}}" if line.note else ""
    if len(rest) <= 2:
        return [f"{lhs} &{' '.join(rest)}{note}"]
    return [f"{lhs} &{rest[0]}{note}", "&" + " ".join(rest[1:])]


def _align(lines: list[Line], digits: int) -> list[str]:
    rows = [row for line in lines for row in _align_rows(line, digits)]
    body = " \\\\\n".join(rows)
    return [r"\begin{align*}", body, r"\end{align*}"]


def _para_block(p: Para, digits: int) -> list[str]:
    out = [para(p, digits), ""]
    if p.lines:
        out += [*_align(list(p.lines), digits), ""]
    return out


def _compact(s: Section, digits: int) -> list[str]:
    rows = [r",\quad ".join(line_latex(line, digits) for line in row) for row in s.rows]
    return [r"\begin{gather*}", " \\\\\n".join(rows), r"\end{gather*}"]


def section(s: Section, digits: int) -> list[str]:
    out = [rf"\subsubsection*{{{latex_text(s.title)}}}"]
    if any(len(row) > 1 for row in s.rows):
        out += _compact(s, digits)
    else:
        out += _align(s.lines, digits)
    for note in s.notes:
        out += _para_block(note, digits)
    return [*out, ""]


def step_heading(step: Step, digits: int) -> str:
    x, y = example(step, "latex", digits)
    return f"Step {step.index}: example $x = {x}$, $y = {y}$"


def render(d: Derivation) -> str:
    """The whole document as LaTeX source."""
    digits = d.digits
    out = [PREAMBLE, r"\begin{document}", "", rf"\section*{{{latex_text(d.title)}}}", ""]
    if d.source:
        out += [rf"\emph{{{latex_text(d.source)}}}", ""]
    for text in d.description:
        out += [latex_text(text), ""]
    out += [r"\subsection*{Setup}", r"\begin{itemize}"]
    out += [rf"\item {para(p, digits)}" for p in d.setup]
    out += [r"\end{itemize}", "", *section(d.weights, digits)]
    out += steps_and_notes(
        d, heading=lambda title: [rf"\subsection*{{{title}}}", ""],
        step_title=lambda step: step_heading(step, digits),
        section=lambda s: section(s, digits),
        note=lambda p: _para_block(p, digits))
    if d.tasks:
        out += [r"\subsection*{Tasks}", r"\begin{enumerate}"]
        out += [rf"\item {latex_text(task)}" for task in d.tasks]
        out += [r"\end{enumerate}", ""]
    out += [r"\end{document}"]
    return "\n".join(out) + "\n"
