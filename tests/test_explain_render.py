"""The three formats, the built-in examples and the committed worked examples."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from markdown_it import MarkdownIt
from rich.console import Console

import deltanet as dn
from deltanet.explain import EXAMPLES, explain, explain_example, get_example
from deltanet.explain.docs import INDEX, render_worked_examples, write_worked_examples
from test_explain import replay, section_bullets, walk

DOCS = Path(__file__).resolve().parents[1] / "docs" / "worked-examples"


# ---------------------------------------------------------------------- format checks
def check_markdown(text: str) -> None:
    """CommonMark parses it; every paragraph and list item has balanced ``$…$`` math."""
    tokens = MarkdownIt("commonmark").parse(text)
    assert any(t.type == "heading_open" for t in tokens)
    inline = [t.content for t in tokens if t.type == "inline"]
    assert inline
    for content in inline:
        dollars = re.findall(r"(?<!\\)\$", content)
        assert len(dollars) % 2 == 0, content
        assert "$$" not in content
        for math in re.findall(r"(?<!\\)\$([^$]*)\$", content):
            assert math and math == math.strip(), content
            assert math.count("{") == math.count("}"), math
    assert "\\\\" not in "".join(inline)  # no LaTeX line breaks in inline math


def check_latex(text: str) -> None:
    """A standalone document: environments nest, braces and math delimiters balance."""
    assert text.startswith(r"\documentclass") and text.rstrip().endswith(r"\end{document}")
    stack = []
    for kind, env in re.findall(r"\\(begin|end)\{([^}]*)\}", text):
        if kind == "begin":
            stack.append(env)
        else:
            assert stack and stack.pop() == env, env
    assert not stack
    body = re.sub(r"\\[{}$%&#_]", "", text)
    depth = 0
    for c in body:
        depth += {"{": 1, "}": -1}.get(c, 0)
        assert depth >= 0
    assert depth == 0
    for line in body.splitlines():
        assert line.count("$") % 2 == 0, line
    assert text.count(r"\lvert") == text.count(r"\rvert")
    assert all(ord(c) < 128 for c in text.split(r"\begin{document}")[1])


def check_text_width(renderable, width: int = 100) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    text = console.export_text()
    assert all(len(line) <= width for line in text.splitlines())
    return text


# ---------------------------------------------------------------------- examples
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_example_in_every_format(name):
    ex = explain_example(name)
    check_markdown(ex.to_markdown())
    check_latex(ex.to_latex())
    text = check_text_width(ex)
    assert ex.title in text
    assert all(len(line) <= 100 for line in ex.to_text().splitlines())
    assert all(len(line) <= 60 for line in ex.to_text(width=60).splitlines())


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_example_number_is_the_trace(name):
    example = get_example(name)
    setup = example.build()
    ex = example.explain()
    n = len(np.atleast_2d(np.asarray(setup.x, float)))
    truths = replay(setup.net, setup.x, setup.y, setup.loss, setup.lr, setup.l2, n)
    assert walk(ex, truths) > 20


def _has(text: str, number: str) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", text) is not None


# the numbers the lecture notes print, example by example
SEED_NUMBERS = {
    "seed002-sgd-step": ["0.19", "0.5474", "0.4526", "0.2478", "0.2122", "0.1449", "0.1561",
                         "0.34821", "0.5862"],
    "seed002-forward": ["0.5", "-1", "0.27", "1.54", "0.82"],
    "seed003-backprop": ["0.88", "3.64", "3.14", "0.33", "2.76", "0.165", "0.89"],
}


@pytest.mark.parametrize("name", list(SEED_NUMBERS))
def test_seed_documents_show_the_seed_numbers(name):
    ex = explain_example(name)
    for text in (ex.to_markdown(), ex.to_text(), ex.to_latex()):
        text = text.replace("−", "-")
        for number in SEED_NUMBERS[name]:
            assert _has(text, number), (name, number)


def test_seed002_rounded_arithmetic_is_labelled_and_exact_value_kept():
    md = explain_example("seed002-sgd-step").to_markdown()
    # exact: w_03 = 0.212145..., shown as 0.2121; the lecture's 0.2122 in its own remark
    assert r"w_{0,3} \leftarrow w_{0,3} - \alpha \Delta_{3} a_{0} = 0.1 - 0.5" in md
    assert r"\approx 0.2121$" in md and "0.212145" in md
    assert "rounds its intermediate results" in md
    assert r"0.1 + 0.4526 \cdot 0.2478 \approx 0.2122" in md


def test_seed003_main_derivation_at_two_decimals():
    md = explain_example("seed003-backprop").to_markdown()
    assert r"\Delta_{6} = (a_{6} - y) g'(\mathit{in}_{6}) = (3.64 - 0.5) \cdot 1 \approx 3.14" in md
    assert r"\approx 0.89$" in md and r"\approx 3.64$" in md


def test_seed003_test_starts_from_the_updated_weights():
    setup = get_example("seed003-test").build()
    assert round(setup.net.weights[0, 3], 2) == 0.89
    ex = explain_example("seed003-test")
    assert np.array_equal(ex.steps[0].x, [0.7, 0.7]) and ex.steps[0].y[0] == -0.02


def test_seed000_two_steps_in_order_with_alpha_one():
    ex = explain_example("seed000-review")
    assert [s.x.tolist() for s in ex.steps] == [[0.0, 0.0], [0.0, 1.0]]
    assert "α = 1 is chosen here" in ex.to_text()
    assert "Zeros as inputs" in ex.to_markdown()


def test_equal_weights_stay_equal_in_the_document():
    ex = explain_example("seed002-equal-weights")
    w = ex.network.weights
    assert w[0, 3] == w[0, 4] and w[3, 5] == w[4, 5]
    assert ex.to_text().count("still compute the same function") == 2


def test_softmax_and_log_loss_base_cases():
    md = explain_example("seed001-softmax-ce").to_markdown()
    assert r"\Delta_{6} = a_{6} - y_{6}" in md
    md = explain_example("seed004-log-loss").to_markdown()
    assert r"\frac{\partial e}{\partial h} = - \frac{y}{h} + \frac{1 - y}{1 - h}" in md
    assert r"\Delta_{5} = a_{5} - y" in md


# ---------------------------------------------------------------------- the object
def test_explanation_api(tmp_path, seed002_net):
    ex = explain(seed002_net, [3.0, 4.0], 1.0, lr=0.5, format="markdown")
    assert str(ex) == ex.to_markdown() == ex._repr_markdown_()
    assert "steps=1" in repr(ex)
    assert ex.render("latex") == ex.to_latex()
    assert ex.save(tmp_path / "a.tex").read_text() == ex.to_latex()
    assert ex.save(tmp_path / "a.md").read_text() == ex.to_markdown()
    assert ex.save(tmp_path / "a.txt").read_text() == ex.to_text()
    assert ex.save(tmp_path / "a", format="text").read_text() == ex.to_text()
    assert dn.explain is not None and isinstance(ex, dn.Explanation)
    with pytest.raises(ValueError, match="unknown format"):
        ex.render("pdf")


def test_the_package_name_is_also_the_function(seed002_net):
    import deltanet.explain as package

    assert dn.explain is package or dn.explain is package.explain
    assert dn.explain(seed002_net, [3.0, 4.0], 1.0).title == "One training step"


def test_several_outputs_render_and_fit():
    net = dn.Network.layered([3, 4, 3], hidden="relu", output="softmax", random_state=2)
    ex = explain(net, [0.1, 0.9, -0.4], [0.0, 0.0, 1.0], loss="cross_entropy", lr=0.2,
                 steps=2, l2=0.01)
    check_markdown(ex.to_markdown())
    check_latex(ex.to_latex())
    check_text_width(ex)


# ---------------------------------------------------------------------- docs
def test_worked_examples_are_up_to_date():
    files = render_worked_examples()
    committed = {p.name for p in DOCS.glob("*.md")}
    assert committed == set(files), "run: python -m deltanet.explain.docs"
    for name, text in files.items():
        assert (DOCS / name).read_bytes() == text.encode("utf-8"), (
            f"{name} is out of date; run: python -m deltanet.explain.docs")


def test_worked_examples_index_and_writer(tmp_path):
    paths = write_worked_examples(tmp_path)
    assert {p.name for p in paths} == {INDEX, *(f"{n}.md" for n in EXAMPLES)}
    index = (tmp_path / INDEX).read_text()
    for name in EXAMPLES:
        assert f"]({name}.md)" in index
    for path in paths:
        check_markdown(path.read_text())


# ---------------------------------------------------------------------- text = Markdown
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
TEXT_NUMBER = re.compile(r"(?<![\w.])[−-]?\d+(?:\.\d+)?(?:e-?\d+)?")
MD_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?: \\times 10\^\{-?\d+\})?")
MD_SCRIPTS = re.compile(r"_\{[^{}]*\}|\^\{\\text\{[a-z]+\}\}|\^\{\([^{}]*\)\}")


def _text_numbers(row: str) -> list[float]:
    row = re.sub(r" {3}\(.*\)$", "", row)  # the notes
    row = re.sub(r"([⁰¹²³⁴⁵⁶⁷⁸⁹]+)", lambda m: " ^" + m.group().translate(_SUPERSCRIPT), row)
    return [abs(float(t.replace("−", "-"))) for t in TEXT_NUMBER.findall(row)]


def _md_numbers(row: str) -> list[float]:
    maths = re.findall(r"\$([^$]+)\$", row)
    tokens = [t for m in maths for t in MD_NUMBER.findall(MD_SCRIPTS.sub("", m))]
    return [abs(float(t.split(" ")[0]) * (10.0 ** int(t.split("{")[1][:-1]) if "times" in t
                                          else 1)) for t in tokens]


def _text_rows(text: str, step_index: int, title: str, n: int) -> list[str]:
    step = text.split(f"Step {step_index}: example")[1]
    block = step.split("\n" + title + "\n")[1].splitlines()
    return [ln[2:] for ln in block[:n]]


@pytest.mark.parametrize("name", ["seed002-sgd-step", "seed003-backprop", "seed001-softmax-ce",
                                  "seed002-vanishing-chain", "seed000-review"])
def test_text_shows_the_numbers_of_the_markdown(name):
    ex = explain_example(name)
    text, md = ex.to_text(width=10_000), ex.to_markdown()
    compared = 0
    for step in ex.steps:
        for section in step.sections:
            md_rows = section_bullets(md, step.index, section.key)
            text_rows = _text_rows(text, step.index, section.title, len(section.rows))
            for t_row, m_row in zip(text_rows, md_rows, strict=True):
                numbers = _md_numbers(m_row)
                assert _text_numbers(t_row) == pytest.approx(numbers, abs=1e-12), (t_row, m_row)
                compared += len(numbers)
    assert compared > 50
