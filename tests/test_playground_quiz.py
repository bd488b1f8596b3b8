"""The quiz: the page asks for a number of the step on the picked point, checks the answer
at the precision it shows, and names the first slip it can identify on a wrong answer.
"""

from __future__ import annotations

import pytest

import playground_pages as pages
from playground_pages import open_backward, steps, wait_until

pytestmark = pages.marks(__name__)


def shown(page, value: float) -> str:
    """``value`` as the page writes it."""
    return page.evaluate("async (v) => (await import('/static/format.js')).fmt(v)", value)


def answer(page, text: str) -> tuple[str, str]:
    page.fill("#quiz-answer", text)
    page.press("#quiz-answer", "Enter")
    wait_until(page, lambda: page.get_attribute("#quiz-feedback", "data-result"),
               what="the feedback")
    result = page.get_attribute("#quiz-feedback", "data-result"), \
        page.inner_text("#quiz-feedback")
    page.evaluate("document.querySelector('#quiz-feedback').removeAttribute('data-result')")
    return result


def quiz_on(page, neuron: int, kind: str, arc: str | None = None) -> dict:
    steps(page, 3)
    open_backward(page, neuron)
    page.click("#quiz-toggle")
    page.select_option("#quiz-kind", kind)
    if arc:
        page.select_option("#quiz-arc", arc)
    return page.evaluate("window.playground.backward.result")


def test_the_quiz_checks_a_hidden_delta_and_names_three_typical_slips(page):
    r = quiz_on(page, 4, "delta")
    assert "Δ_4" in page.inner_text("#quiz-question")
    # the answers are out of sight while the quiz is on
    assert page.is_hidden("#derivation") and page.is_hidden("[data-testid=delta-4]")
    n = r["neurons"]["4"]
    total = sum(e["w"] * r["neurons"][str(e["j"])]["delta"] for e in r["edges"] if e["i"] == 4)
    assert answer(page, shown(page, n["delta"]).replace("−", "-")) == (
        "right", f"Right: {shown(page, n['delta'])}.")
    result, text = answer(page, shown(page, total))
    assert result == "slip" and "forgot g′(in_j)" in text
    result, text = answer(page, shown(page, -n["delta"]))
    assert result == "slip" and "sign error" in text
    result, text = answer(page, shown(page, n["a"] * total))
    assert result == "slip" and "used a_j instead of g′(in_j)" in text
    result, text = answer(page, "12345")
    assert result == "wrong" and "not one of the usual slips" in text
    assert answer(page, "abc")[0] == "invalid"


def test_an_answer_off_by_more_than_the_shown_precision_is_wrong(page):
    r = quiz_on(page, 9, "a")
    a9 = r["neurons"]["9"]["a"]
    assert answer(page, shown(page, a9))[0] == "right"
    unit = page.evaluate("async (v) => (await import('/static/format.js')).shownUnit(v)", a9)
    assert answer(page, repr(a9 + 3 * unit))[0] != "right"


@pytest.mark.parametrize(("kind", "arc", "slip", "wrong"), [
    ("in", None, "forgot the bias", lambda r, e: r["neurons"]["4"]["in"] - e["w"]),
    ("grad", "1,4", "used a_j instead of a_i",
     lambda r, e: e["delta_j"] * r["neurons"]["4"]["a"]),
    ("new_w", "2,4", "added α ∂J/∂w_ij", lambda r, e: e["w"] + r["lr"] * e["grad"]),
    ("new_w", "2,4", "forgot the learning rate", lambda r, e: e["w"] - e["grad"]),
])
def test_each_kind_of_question_knows_its_slips(page, kind, arc, slip, wrong):
    r = quiz_on(page, 4, kind, arc)
    i, j = map(int, (arc or "0,4").split(","))
    edge = next(e for e in r["edges"] if (e["i"], e["j"]) == (i, j))
    right = {"in": r["neurons"]["4"]["in"], "grad": edge["grad"], "new_w": edge["new_w"]}[kind]
    assert answer(page, shown(page, right))[0] == "right"
    result, text = answer(page, shown(page, wrong(r, edge)))
    assert result == "slip" and slip in text, text
