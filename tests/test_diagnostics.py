"""Diagnostics: gradient norms per group, saturation, dead units, the vanishing-gradient
experiment of seed 002 (Lecture 07-3d)."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

import deltanet as dn
from deltanet.diagnostics import (
    dead_units,
    epoch_diagnostics,
    gradient_norms,
    print_vanishing_gradient_experiment,
    sample_indices,
    saturation,
    vanishing_gradient_experiment,
)


def test_gradient_norms_per_group_in_lecture_terms(seed002_net):
    x, y = np.array([[3.0, 4.0]]), np.array([1.0])
    trace = seed002_net.backprop(x, y)
    hidden = np.sqrt(sum(trace.grad[i, j] ** 2 for i in (1, 2) for j in (3, 4)))
    output = np.sqrt(trace.grad[3, 5] ** 2 + trace.grad[4, 5] ** 2)
    norms = gradient_norms(seed002_net, x, y)
    assert norms == pytest.approx({1: hidden, 2: output}, rel=1e-14)


def _mixed_net():
    # neuron 2 logistic and neuron 3 tanh (two groups at depth 1), neuron 4 the output
    net = dn.Network(1, [(1, 2), (1, 3), (2, 4), (3, 4)],
                     {2: "logistic", 3: "tanh", 4: "identity"}, bias=False)
    for arc in net.arcs:
        net.weights[arc] = 1.0
    return net


def test_saturation_of_logistic_and_tanh_units():
    net = _mixed_net()
    layer = {net.activation_of(2): int(net.plan.layer_of[2]),
             net.activation_of(3): int(net.plan.layer_of[3])}
    # in = 0: a = 0.5 and 0 (not saturated); in = 10: σ = 0.99995, tanh = 0.99999999 (both)
    got = saturation(net, np.array([[0.0], [10.0]]))
    assert got == {layer["logistic"]: 0.5, layer["tanh"]: 0.5}
    # in = 4: σ(4)(1 − σ(4)) = 0.0177 > 0.01 and tanh(4) = 0.99933 > 0.99
    got = saturation(net, np.array([[4.0]]))
    assert got == {layer["logistic"]: 0.0, layer["tanh"]: 1.0}


def test_dead_relu_units():
    net = dn.Network.layered([2, 4, 1], hidden="relu", output="identity", random_state=0)
    for j, b in zip((3, 4, 5, 6), (-100.0, -100.0, 100.0, 0.0), strict=True):
        net.weights[0, j] = b
    X = np.random.default_rng(0).uniform(-1, 1, size=(50, 2))
    assert dead_units(net, X) == {1: 0.5}  # 6 is alive on some examples, 3 and 4 never


def test_epoch_diagnostics_fields():
    net = dn.Network.layered([2, 4, 3, 1], hidden=["relu", "tanh"], output="identity",
                             random_state=0)
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = X[:, 0] - X[:, 1]
    before = net.params.copy()
    net.params[:] += 0.01 * np.arange(net.plan.n_params) * net.plan.decay_mask
    rec = epoch_diagnostics(net, X, y.reshape(-1, 1), dn.losses.get("squared_error"), before)
    assert rec["layer"] == [1, 2, 3] and rec["depth"] == [1, 2, 3]
    assert rec["grad_norm"] == pytest.approx(list(gradient_norms(net, X, y).values()))
    change = np.abs(net.params - before)
    blk = net.plan.blocks_in[1][0]
    assert rec["mean_abs_update"][1] == pytest.approx(change[blk.offset:blk.offset +
                                                             blk.size].mean())
    delta2 = net.backprop(X, y).deltas[2]
    assert rec["mean_abs_delta"][1] == pytest.approx(np.abs(delta2).mean())
    assert rec["saturated"] == [None, saturation(net, X)[2], None]
    assert rec["dead"] == [dead_units(net, X)[1], None, None]
    assert rec["saturated_fraction"] == rec["saturated"][1]
    assert rec["dead_fraction"] == rec["dead"][0]


def test_sample_indices_are_fixed_and_spread():
    idx = sample_indices(1000)
    assert len(idx) == 256 and idx[0] == 0 and idx[-1] == 999
    assert np.all(np.diff(idx) > 0)
    assert sample_indices(10).tolist() == list(range(10))


# ------------------------------------------------------------------ the experiment
@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_vanishing_gradient_ratio_falls_with_depth_for_logistic_not_relu(random_state):
    table = vanishing_gradient_experiment(depths=(2, 4, 8, 12), random_state=random_state)
    logistic, relu = table.ratios("logistic"), table.ratios("relu")
    # logistic: g' ≤ 1/4 per layer, so the ratio falls geometrically with depth
    assert all(a > 3 * b for a, b in itertools.pairwise(logistic))
    assert logistic[-1] < 1e-6
    # ReLU: g' = 1 on active units; the ratio stays within a few orders of 1
    assert min(relu) > 1e-2
    gap = [r / s for r, s in zip(relu, logistic, strict=True)]
    assert gap[0] > 1 and gap == sorted(gap) and gap[-1] > 1e6


def test_experiment_rows_are_consistent():
    table = vanishing_gradient_experiment(depths=(3,), activations=("tanh", "relu"),
                                          trials=2, random_state=0)
    assert [(r.activation, r.depth, r.init) for r in table] == [("tanh", 3, "glorot"),
                                                               ("relu", 3, "he")]
    for row in table:
        assert row.ratio == pytest.approx(row.grad_norm_first / row.grad_norm_last)
    same = vanishing_gradient_experiment(depths=(3,), activations=("relu",), init="glorot",
                                         trials=2, random_state=0)
    assert same[0].init == "glorot" and same[0].ratio != table[1].ratio
    assert table.to_dicts()[0]["activation"] == "tanh"


def test_first_row_matches_a_hand_built_network():
    table = vanishing_gradient_experiment(depths=(2,), activations=("logistic",), trials=1,
                                          n=64, width=5, random_state=0)
    seeds = np.random.SeedSequence(np.random.default_rng(0).integers(2**63))
    rng = np.random.default_rng(seeds.spawn(1)[0])
    X = rng.standard_normal((64, 5))
    y = np.tanh(X @ rng.standard_normal(5) / np.sqrt(5))
    net = dn.Network.layered([5, 5, 5, 1], hidden="logistic", output="identity",
                             init="glorot", random_state=[2, 0, int(seeds.entropy % 2**32)])
    norms = gradient_norms(net, X, y)
    assert table[0].ratio == pytest.approx(norms[1] / norms[3], rel=1e-12)


def test_print_vanishing_gradient_experiment(capsys):
    table = print_vanishing_gradient_experiment(depths=(2, 4), trials=1)
    out = capsys.readouterr().out
    assert "logistic" in out and "relu" in out and "ratio" in out
    assert f"{table[0].ratio:.3e}" in out
    text = str(table)
    assert len(text.splitlines()) == 2 + 4 and "hidden layers" in text


def test_module_entry_point_prints_the_table():
    done = subprocess.run([sys.executable, "-m", "deltanet.diagnostics"], capture_output=True,
                          text=True, timeout=120, check=True)
    assert "Vanishing gradient" in done.stdout
    assert done.stdout.count("logistic") == 4 and done.stdout.count("relu") == 4


@pytest.mark.parametrize("kwargs, message", [
    (dict(depths=(0,)), "depth must be >= 1"),
    (dict(depths=()), "must not be empty"),
    (dict(width=0), "width must be >= 1"),
    (dict(trials=0), "trials must be >= 1"),
    (dict(init="zeros"), "unknown init"),
    (dict(activations=("swish",)), "unknown activation"),
])
def test_experiment_validates_its_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        vanishing_gradient_experiment(**kwargs)


def test_gradient_norms_with_batch_norm_use_batch_statistics():
    net = dn.Network.layered([2, 3, 1], batch_norm=True, random_state=0)
    X = np.random.default_rng(0).normal(size=(8, 2))
    y = X[:, 0]
    expected = net.backprop(X, y, training=True).grad_flat
    blk = net.plan.blocks_in[0][0]
    assert_allclose(gradient_norms(net, X, y)[1],
                    np.linalg.norm(expected[blk.offset:blk.offset + blk.size]))


def test_mean_abs_update_counts_only_real_arcs_of_a_sparse_dag():
    # 3 → 4 of 6 possible arcs into the hidden group: the padding of the masked block never
    # changes and must not dilute the mean
    net = dn.Network(2, [(1, 3), (2, 4), (1, 5), (3, 6), (4, 6), (5, 6)], "tanh",
                     random_state=0)
    before = net.params.copy()
    X, Y = np.array([[0.5, -1.0], [1.5, 0.25]]), np.array([[0.3], [-0.2]])
    net.step(X, Y, lr=0.5)
    rec = epoch_diagnostics(net, X, Y, "squared_error", before)
    for layer, mean in zip(rec["layer"], rec["mean_abs_update"], strict=True):
        arcs = [(i, j) for i, j in net.arcs if i > 0 and net.plan.layer_of[j] == layer]
        manual = np.mean([abs(net.weights[i, j] - before[net.plan.flat_index(i, j)])
                          for i, j in arcs])
        assert mean == pytest.approx(manual, rel=1e-12)


def test_a_dead_network_has_no_ratio():
    # one ReLU unit per layer, n = 1: every unit can be dead, and 0/0 is no ratio of 1
    table = vanishing_gradient_experiment(depths=(3,), activations="relu", width=1, n=1,
                                          trials=1)
    (row,) = table.rows
    assert row.activation == "relu" and row.grad_norm_first == 0 == row.grad_norm_last
    assert np.isnan(row.ratio)
