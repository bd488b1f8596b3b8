"""Exercises: small random networks with nice numbers, question and solution apart."""

from __future__ import annotations

import numpy as np
import pytest

from deltanet.explain import make_exercise
from deltanet.explain.exercise import INPUTS, LEARNING_RATES, TASKS, WEIGHTS
from test_explain import replay, walk
from test_explain_render import check_latex, check_markdown


@pytest.mark.parametrize("seed", range(8))
def test_exercise_is_small_nice_and_solved(seed):
    ex = make_exercise(seed)
    net = ex.question.network
    assert net.plan.layer_sizes() in ([2, 2, 1], [2, 3, 1])
    assert all(w in WEIGHTS for _, w in net.weights.items())
    step = ex.solution.steps[0]
    assert all(v in INPUTS for v in step.x) and step.x.any()
    assert step.y[0] in (0.0, 1.0)
    assert ex.lr in LEARNING_RATES
    truths = replay(net, step.x, step.y, ex.loss, ex.lr, 0.0, 1)
    assert walk(ex.solution, truths) > 20


def test_question_and_solution_are_separate_documents():
    ex = make_exercise(11)
    question, solution = ex.render("markdown")
    check_markdown(question)
    check_markdown(solution)
    assert "## Tasks" in question and "## Step 1" not in question
    assert "## Step 1" in solution and "## Tasks" not in solution
    assert question.count("\n1. ") >= 1 and len(TASKS) == 6
    # the question gives everything needed: weights, example, loss, learning rate
    for needle in ("### Initial weights", "Example:", "Loss:", "Learning rate:"):
        assert needle in question and needle in solution
    q_latex, s_latex = ex.render("latex")
    check_latex(q_latex)
    check_latex(s_latex)


def test_exercises_are_deterministic_and_vary():
    a, b = make_exercise(5), make_exercise(5)
    assert a.render() == b.render()
    params = {tuple(make_exercise(s).question.network.params) for s in range(6)}
    assert len(params) == 6


def test_exercise_save(tmp_path):
    ex = make_exercise(2)
    q, s = ex.save(tmp_path / "ex2.tex", format="latex")
    assert (q.name, s.name) == ("ex2-question.tex", "ex2-solution.tex")
    assert q.read_text() == ex.question.to_latex()
    q, s = ex.save(tmp_path / "sub" / "ex2")
    assert s.read_text() == ex.solution.to_markdown()


def test_relu_exercises_avoid_dead_and_kinked_units():
    for seed in range(30):
        ex = make_exercise(seed)
        net, step = ex.question.network, ex.solution.steps[0]
        hidden = [j for j in range(3, net.n_neurons) if j not in net.outputs]
        if net.activation_of(hidden[0]) == "relu":
            in_ = np.array([step.trace.in_[j] for j in hidden])
            assert (in_ != 0).all() and (in_ > 0).any()


def test_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        make_exercise(-1)
