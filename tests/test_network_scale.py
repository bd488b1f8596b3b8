"""Building and compiling a network is linear in neurons plus arcs, and a network too big
for the machine is refused before anything is allocated, saying how much it would need."""

from __future__ import annotations

import itertools
import time
import tracemalloc

import numpy as np
import pytest

import deltanet as dn
from deltanet._memory import physical_memory


def test_a_chain_of_200000_neurons_builds_in_seconds():
    n = 200_000
    arcs = np.stack([np.arange(1, n + 1), np.arange(2, n + 2)], axis=1)
    start = time.perf_counter()
    net = dn.Network(1, arcs, "tanh", random_state=0)
    elapsed = time.perf_counter() - start
    assert len(net.plan.groups) == n and net.n_params == 2 * n
    assert net.plan.groups[-1].depth == n
    assert elapsed < 60, elapsed  # quadratic compilation took hours at this size


def chain_build_seconds(n: int) -> tuple[float, dn.Network]:
    arcs = np.stack([np.arange(1, n + 1), np.arange(2, n + 2)], axis=1)
    start = time.perf_counter()
    net = dn.Network(1, arcs, "tanh", random_state=0)
    return time.perf_counter() - start, net


@pytest.mark.slow
def test_building_a_chain_is_linear_in_its_depth():
    """A chain of 1,000,000 neurons (a million groups, a million blocks) builds in at most
    15 times as long as one of 100,000, whatever the machine: linear, not quadratic (which
    would be 100 times)."""
    small = min(chain_build_seconds(100_000)[0] for _ in range(3))
    big, net = chain_build_seconds(1_000_000)
    assert net.plan.groups[-1].depth == 1_000_000 and len(net.plan.blocks) == 1_000_000
    del net
    big = min(big, chain_build_seconds(1_000_000)[0])  # the machine may be busy
    assert big <= 15 * small, (small, big)


def test_a_chain_computes_what_the_lecture_says():
    net = dn.Network(1, [(i, i + 1) for i in range(1, 40)], "tanh", random_state=1)
    a = 0.4
    for j in range(2, 41):
        a = np.tanh(net.weights[0, j] + net.weights[j - 1, j] * a)
    assert net.forward([0.4])[0] == pytest.approx(a, rel=1e-13)


@pytest.mark.parametrize("seed", range(4))
def test_large_layered_networks_build_quickly(seed):
    rng = np.random.default_rng(seed)
    sizes = [int(v) for v in rng.integers(200, 900, 4)]
    start = time.perf_counter()
    net = dn.Network.layered(sizes, random_state=seed)
    assert time.perf_counter() - start < 20
    assert net.n_params == sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    assert len(net.plan.blocks) == len(sizes) - 1  # one dense block per layer
    assert all(b.mask is None for b in net.plan.blocks)


@pytest.mark.parametrize("seed", range(6))
def test_a_network_too_big_for_the_machine_is_refused_before_allocating(seed):
    total = physical_memory()
    if total is None:
        pytest.skip("this system does not report its physical memory")
    rng = np.random.default_rng(seed)
    width = int(np.sqrt(total / 8)) * int(rng.integers(2, 20))  # ≥ 4x the memory in weights
    sizes = [width, width, int(rng.integers(1, 4))]
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"would need about [\d,.]+ GiB of memory"):
            dn.Network.layered(sizes)
        assert tracemalloc.get_traced_memory()[1] < 50 * 2**20
    finally:
        tracemalloc.stop()


def test_the_issue_example_is_refused_with_the_memory_it_needs():
    total = physical_memory()
    if total is None or total > 400 * 2**30:
        pytest.skip("needs a machine with less than 400 GiB of memory")
    with pytest.raises(ValueError, match=r"\[100000, 100000, 1\]\) would need about 5\d\d\.\d "
                                         r"GiB of memory \(10,000,200,001 arcs\)"):
        dn.Network.layered([10**5, 10**5, 1])


def test_sparse_dags_keep_their_masks_and_gradients():
    rng = np.random.default_rng(5)
    arcs = [(i, j) for j in range(4, 30) for i in range(1, j) if rng.random() < 0.3 or i == 1]
    net = dn.Network(3, arcs, "tanh", random_state=0)
    for b in net.plan.blocks:
        if b.mask is not None:
            assert net.plan.W(net.params, b)[~b.mask].tolist() == [0.0] * int((~b.mask).sum())
    X, Y = rng.normal(size=(4, 3)), rng.normal(size=(4, net.n_outputs))
    assert dn.gradcheck(net, X, Y, max_params=None).max_rel_error < 1e-6
