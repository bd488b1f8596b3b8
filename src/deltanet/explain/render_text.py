"""A Rich rendering for the terminal: Unicode formulas (``in₃ = w₀,₃ a₀ + …``).

Rich wraps every line to the console width, so the output fits any terminal; the plain
text form (``to_text``) is rendered at 100 columns.
"""

from __future__ import annotations

import io

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.text import Text

from ._lines import TEXT_RELATIONS, chain, example, steps_and_notes
from ._render_expr import InlineRenderer
from .model import Derivation, Line, Para, Section, Step


def line(ln: Line, digits: int) -> Text:
    """One line with the left-hand side and the value highlighted."""
    parts = chain(ln, "text", digits)
    out = Text()
    out.append(parts[0][1], style="bold cyan")
    for k, (relation, text) in enumerate(parts[1:], start=1):
        sep = TEXT_RELATIONS[relation]
        out.append(f"{sep} " if relation == ":" else f" {sep} ")
        last = k == len(parts) - 1 and ln.value is not None
        out.append(text, style="bold green" if last else None)
    return out


def para(p: Para, digits: int, bullet: str = "") -> list[RenderableType]:
    num = InlineRenderer("text", digits)
    text = Text(bullet + "".join(part if isinstance(part, str) else num(part)
                                 for part in p.parts))
    return [text, *(Padding(line(ln, digits), (0, 0, 0, 4)) for ln in p.lines)]


def _row(row: tuple, digits: int) -> Text:
    out = Text(", ").join(line(ln, digits) for ln in row)
    notes = "; ".join(ln.note for ln in row if ln.note)
    if notes:
        out.append(f"   ({notes})", style="dim")
    return out


def section(s: Section, digits: int) -> list[RenderableType]:
    out: list[RenderableType] = [Text(s.title, style="bold underline")]
    out += [Padding(_row(row, digits), (0, 0, 0, 2)) for row in s.rows]
    for note in s.notes:
        out += [Padding(r, (0, 0, 0, 2)) for r in para(note, digits)]
    out.append(Text(""))
    return out


def step_title(step: Step, digits: int) -> str:
    x, y = example(step, "text", digits)
    return f"Step {step.index}: example x = {x}, y = {y}"


def renderable(d: Derivation) -> Group:
    """The whole document as one Rich renderable."""
    digits = d.digits
    out: list[RenderableType] = [Rule(Text(d.title, style="bold"))]
    if d.source:
        out.append(Text(d.source, style="italic"))
    out += [Text(text) for text in d.description]
    out += [Text(""), Text("Setup", style="bold underline")]
    for p in d.setup:
        out += [Padding(r, (0, 0, 0, 2)) for r in para(p, digits, bullet="• ")]
    out += [Text(""), *section(d.weights, digits)]
    out += steps_and_notes(
        d, heading=lambda title: [Rule(Text(title))],
        step_title=lambda step: step_title(step, digits),
        section=lambda s: section(s, digits),
        note=lambda p: [*para(p, digits), Text("")])
    if d.tasks:
        out.append(Rule(Text("Tasks")))
        out += [Text(f"{k}. {task}") for k, task in enumerate(d.tasks, start=1)]
    return Group(*out)


def render(d: Derivation, width: int = 100) -> str:
    """Plain text (no colours) at ``width`` columns."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False,
                      legacy_windows=False, soft_wrap=False, emoji=False, highlight=False)
    console.print(renderable(d))
    lines = [ln.rstrip() for ln in buffer.getvalue().splitlines()]
    return "\n".join(lines).rstrip() + "\n"
