"""Optimizers: exact update rules, agreement with scikit-learn, purity, checkpoints."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from deltanet import optimizers as opt_mod
from deltanet.optimizers import (
    ReduceOnPlateau,
    adam,
    add_decayed_weights,
    add_l1,
    chain,
    clip_by_global_norm,
    constant,
    cosine,
    inverse_scaling,
    rprop,
    scale,
    scale_by_schedule,
    set_lr_scale,
    sgd,
    state_from_dict,
    state_to_dict,
    step_decay,
)


def run(opt, grads, params):
    """Apply ``opt`` to the gradients in turn; return the parameters after each update."""
    params = np.array(params, dtype=float)
    state = opt.init(params)
    history = []
    for g in grads:
        updates, state = opt.update(np.asarray(g, dtype=float), state, params)
        params = params + updates
        history.append(params)
    return history, state


# ------------------------------------------------------------- convergence


def quadratic(rng, dim=5):
    """J(w) = ½ wᵀAw − bᵀw with A symmetric positive definite; minimum at A⁻¹b."""
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    a = q @ np.diag(np.linspace(1.0, 10.0, dim)) @ q.T
    b = rng.normal(size=dim)
    return (lambda w: a @ w - b), np.linalg.solve(a, b)


def rosenbrock_grad(w):
    # J = (1 − x)² + 100 (y − x²)²; minimum at (1, 1)
    x, y = w
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


OPTIMIZERS_QUAD = {
    "sgd": (sgd(0.1), 600),
    "momentum": (sgd(0.05, momentum=0.9), 600),
    "nesterov": (sgd(0.05, momentum=0.9, nesterov=True), 600),
    "adam": (adam(cosine(0.1, total_steps=1000)), 1000),
    "rprop": (rprop(step_min=1e-12), 400),
}


@pytest.mark.parametrize("name", OPTIMIZERS_QUAD)
def test_reaches_minimum_of_convex_quadratic(name):
    opt, steps = OPTIMIZERS_QUAD[name]
    grad, w_star = quadratic(np.random.default_rng(1))
    w = np.zeros_like(w_star)
    state = opt.init(w)
    for _ in range(steps):
        updates, state = opt.update(grad(w), state, w)
        w = w + updates
    assert_allclose(w, w_star, atol=1e-6)


OPTIMIZERS_ROSEN = {
    "sgd": (sgd(1e-3), 30000, 1e-4),
    "momentum": (sgd(1e-3, momentum=0.9), 5000, 1e-6),
    "nesterov": (sgd(1e-3, momentum=0.9, nesterov=True), 5000, 1e-6),
    "adam": (adam(0.02), 5000, 1e-6),
    "rprop": (rprop(step_min=1e-12), 20000, 1e-6),
    "rprop-default-bounds": (rprop(), 5000, 2e-3),
}


@pytest.mark.parametrize("name", OPTIMIZERS_ROSEN)
def test_reaches_minimum_of_rosenbrock(name):
    opt, steps, tol = OPTIMIZERS_ROSEN[name]
    w = np.array([-1.2, 1.0])
    state = opt.init(w)
    for _ in range(steps):
        updates, state = opt.update(rosenbrock_grad(w), state, w)
        w += updates
    assert_allclose(w, [1.0, 1.0], atol=tol)


# ------------------------------------------------------ hand-worked updates

G1, G2 = [1.0, -2.0], [0.5, 0.5]


def test_sgd_plain_two_steps():
    # w ← w − η grad with η = 0.1: (0, 0) → (−0.1, 0.2) → (−0.15, 0.15)
    history, state = run(sgd(0.1), [G1, G2], [0.0, 0.0])
    assert_allclose(history, [[-0.1, 0.2], [-0.15, 0.15]], rtol=1e-15)
    assert state[0].count == 2


def test_momentum_two_steps():
    # v1 = 0.9·0 − 0.1·(1, −2) = (−0.1, 0.2)
    # v2 = 0.9·(−0.1, 0.2) − 0.1·(0.5, 0.5) = (−0.09 − 0.05, 0.18 − 0.05) = (−0.14, 0.13)
    opt = sgd(0.1, momentum=0.9)
    state = opt.init(np.zeros(2))
    u1, state = opt.update(np.array(G1), state)
    u2, state = opt.update(np.array(G2), state)
    assert_allclose(u1, [-0.1, 0.2], rtol=1e-15)
    assert_allclose(u2, [-0.14, 0.13], rtol=1e-14)
    assert_array_equal(state[0].velocity, u2)


def test_nesterov_two_steps():
    # update = 0.9·v − 0.1·grad with the new v from test_momentum_two_steps:
    # step 1: 0.9·(−0.1, 0.2) − (0.1, −0.2) = (−0.19, 0.38)
    # step 2: 0.9·(−0.14, 0.13) − (0.05, 0.05) = (−0.176, 0.067)
    opt = sgd(0.1, momentum=0.9, nesterov=True)
    state = opt.init(np.zeros(2))
    u1, state = opt.update(np.array(G1), state)
    u2, state = opt.update(np.array(G2), state)
    assert_allclose(u1, [-0.19, 0.38], rtol=1e-14)
    assert_allclose(u2, [-0.176, 0.067], rtol=1e-13)


def test_adam_two_steps():
    # η = 0.1, β₁ = 0.9, β₂ = 0.999, ε = 1e-8, grads (2, −0.5) then (0, 1)
    # t=1: m = (0.2, −0.05), v = (0.004, 0.00025), η₁ = 0.1·√0.001/0.1 = √0.001
    #      update = −√0.001·m/(√v + ε) ≈ (−0.1 + 1.581e-8, 0.1 − 6.325e-8)
    # t=2: m = (0.18, 0.055), v = (0.003996, 0.00124975),
    #      η₂ = 0.1·√(1 − 0.999²)/(1 − 0.9²) = 0.1·√0.001999/0.19 ≈ 0.0235316725327454
    #      update = −η₂ m/(√v + ε) ≈ (−0.0670058148138035, −0.0366103423475804)
    opt = adam(0.1)
    state = opt.init(np.zeros(2))
    u1, state = opt.update(np.array([2.0, -0.5]), state)
    u2, state = opt.update(np.array([0.0, 1.0]), state)
    assert_allclose(u1, [-0.0999999841886142, 0.0999999367544868], rtol=1e-13)
    assert_allclose(u2, [-0.0670058148138035, -0.0366103423475804], rtol=1e-13)
    assert_allclose(state[0].m, [0.18, 0.055], rtol=1e-14)
    assert_allclose(state[0].v, [0.003996, 0.00124975], rtol=1e-14)
    assert state[0].count == 2


def test_rprop_three_steps():
    # step sizes start at 0.1; prev_grad starts at 0
    # g1 = (1, −1, 0): no sign information → update −sign(g)·0.1 = (−0.1, 0.1, 0)
    # g2 = (2, 1, 3): signs agree, flip, none → steps (0.12, 0.05, 0.1), the flipped
    #      gradient counts as 0 → update (−0.12, 0, −0.1), stored grad (2, 0, 3)
    # g3 = (1, 1, −1): agree, none (prev 0), flip → steps (0.144, 0.05, 0.05)
    #      → update (−0.144, −0.05, 0)
    opt = rprop()
    state = opt.init(np.zeros(3))
    expected = [[-0.1, 0.1, 0.0], [-0.12, 0.0, -0.1], [-0.144, -0.05, 0.0]]
    for g, want in zip([[1, -1, 0], [2, 1, 3], [1, 1, -1]], expected, strict=True):
        updates, state = opt.update(np.array(g, dtype=float), state)
        assert_allclose(updates, want, rtol=1e-15)
    assert_allclose(state[0].step, [0.144, 0.05, 0.05], rtol=1e-15)
    assert_array_equal(state[0].prev_grad, [1.0, 1.0, 0.0])


def test_rprop_steps_stay_within_bounds():
    opt = rprop(step_init=1.0, step_min=0.6, step_max=1.1)
    state = opt.init(np.zeros(1))
    _, state = opt.update(np.array([1.0]), state)
    _, state = opt.update(np.array([1.0]), state)      # 1.2 → clipped to 1.1
    assert state[0].step[0] == 1.1
    _, state = opt.update(np.array([-1.0]), state)     # 0.55 → clipped to 0.6
    assert state[0].step[0] == 0.6


# ----------------------------------------------------- agreement with sklearn


def sklearn_history(sk_opt, params, grads, epoch_samples=None, steps_per_epoch=None):
    params = [params.copy()]
    history = []
    for k, g in enumerate(grads, start=1):
        sk_opt.update_params(params, [g])
        history.append(params[0].copy())
        if steps_per_epoch and k % steps_per_epoch == 0:
            sk_opt.iteration_ends(k // steps_per_epoch * epoch_samples)
    return history


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True),
                                                (0.5, True)])
def test_sgd_equals_sklearn(momentum, nesterov):
    rng = np.random.default_rng(2)
    w0, grads = rng.normal(size=50), list(rng.normal(size=(8, 50)))
    ours, _ = run(sgd(0.05, momentum=momentum, nesterov=nesterov), grads, w0)
    sk = SGDOptimizer([w0], 0.05, momentum=momentum, nesterov=nesterov)
    for a, b in zip(ours, sklearn_history(sk, w0, grads), strict=True):
        assert_allclose(a, b, rtol=0, atol=1e-12)
        assert_array_equal(a, b)  # in fact bit for bit: same operations in the same order


def test_sgd_invscaling_equals_sklearn():
    # sklearn sets η = η₀ / (t + 1)^power_t once per epoch, t = samples seen so far
    rng = np.random.default_rng(3)
    w0, grads = rng.normal(size=20), list(rng.normal(size=(12, 20)))
    schedule = inverse_scaling(0.1, power_t=0.3, steps_per_epoch=4, samples_per_epoch=37)
    ours, _ = run(sgd(schedule, momentum=0.9, nesterov=True), grads, w0)
    sk = SGDOptimizer([w0], 0.1, lr_schedule="invscaling", momentum=0.9, power_t=0.3)
    for a, b in zip(ours, sklearn_history(sk, w0, grads, 37, 4), strict=True):
        assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs", [{}, {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-4}])
def test_adam_equals_sklearn(kwargs):
    rng = np.random.default_rng(4)
    w0, grads = rng.normal(size=50), list(rng.normal(size=(10, 50)))
    ours, _ = run(adam(0.01, **kwargs), grads, w0)
    sk = AdamOptimizer([w0], 0.01, **kwargs)
    for a, b in zip(ours, sklearn_history(sk, w0, grads), strict=True):
        assert_allclose(a, b, rtol=0, atol=1e-12)
        assert_array_equal(a, b)


def test_reduce_on_plateau_replays_sklearn_adaptive():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(60, 3)), rng.normal(size=60)
    model = MLPRegressor(hidden_layer_sizes=(3,), solver="sgd", learning_rate="adaptive",
                         learning_rate_init=0.01, momentum=0.9, n_iter_no_change=2, tol=1e-3,
                         batch_size=60, max_iter=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model.n_iter_ < 300  # stopped by sklearn's "learning rate too small" rule
    plateau = ReduceOnPlateau(factor=0.2, patience=2, tol=1e-3, min_scale=1e-6 / 0.01)
    state = plateau.init()
    epochs = 0
    for loss in model.loss_curve_:
        scale, state = plateau.update(loss, state)
        epochs += 1
        if state.done:
            break
    assert epochs == model.n_iter_ == len(model.loss_curve_)
    assert_allclose(0.01 * scale, model._optimizer.learning_rate, rtol=1e-12)


# ------------------------------------------------------------------- purity

FACTORIES = {
    "sgd": lambda: sgd(0.1),
    "momentum": lambda: sgd(0.1, momentum=0.9),
    "nesterov": lambda: sgd(0.1, momentum=0.9, nesterov=True),
    "adam": lambda: adam(0.01),
    "rprop": lambda: rprop(),
    "chain": lambda: chain(clip_by_global_norm(1.0),
                           add_decayed_weights(0.01, mask=np.arange(6) % 2 == 0),
                           add_l1(0.001), scale_by_schedule(step_decay(1.0, 0.5, 2)),
                           sgd(cosine(0.1, 10), momentum=0.5), scale(2.0)),
}


@pytest.mark.parametrize("name", FACTORIES)
def test_update_does_not_mutate_inputs(name):
    opt = FACTORIES[name]()
    rng = np.random.default_rng(6)
    params = rng.normal(size=6)
    state = opt.init(params)
    for _ in range(3):
        grad = rng.normal(size=6)
        saved = (grad.copy(), params.copy(), state_to_dict(state))
        updates, new_state = opt.update(grad, state, params)
        assert_array_equal(grad, saved[0])
        assert_array_equal(params, saved[1])
        for key, value in state_to_dict(state).items():
            assert_array_equal(value, saved[2][key])
        assert updates is not grad and updates.shape == params.shape
        params, state = params + updates, new_state


def test_momentum_updates_are_read_only_views_of_the_velocity():
    opt = sgd(0.1, momentum=0.9)
    updates, _ = opt.update(np.ones(3), opt.init(np.zeros(3)))
    params = np.zeros(3)
    params += updates
    with pytest.raises(ValueError, match="read-only"):
        updates *= 2


@pytest.mark.parametrize("name", FACTORIES)
def test_float32_stays_float32(name):
    opt = FACTORIES[name]()
    params = np.linspace(-1, 1, 6, dtype=np.float32)
    state = opt.init(params)
    for _ in range(2):
        updates, state = opt.update(np.full(6, 0.5, np.float32), state, params)
        assert updates.dtype == np.float32
        params = params + updates


# -------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("name", FACTORIES)
def test_state_round_trip_through_npz_is_bitwise(name, tmp_path):
    opt = FACTORIES[name]()
    rng = np.random.default_rng(7)
    params = rng.normal(size=6)
    _, state = run(opt, list(rng.normal(size=(3, 6))), params)
    np.savez(tmp_path / "state.npz", **state_to_dict(state))
    with np.load(tmp_path / "state.npz") as saved:
        restored = state_from_dict(opt, saved)
    grad = rng.normal(size=6)
    a, state_a = opt.update(grad, state, params)
    b, state_b = opt.update(grad, restored, params)
    assert a.tobytes() == b.tobytes()
    assert type(restored) is type(state)
    for key, value in state_to_dict(state_a).items():
        assert np.asarray(value).tobytes() == np.asarray(state_to_dict(state_b)[key]).tobytes()


def test_state_round_trip_through_json_and_by_name():
    rng = np.random.default_rng(8)
    opt = adam()
    _, state = run(opt, list(rng.normal(size=(4, 5))), np.zeros(5))
    text = json.dumps({k: v.tolist() if isinstance(v, np.ndarray) else v
                       for k, v in state_to_dict(state).items()})
    assert sorted(json.loads(text)) == ["0.count", "0.lr_scale", "0.m", "0.v"]
    restored = state_from_dict("adam", json.loads(text))
    assert restored[0].count == 4 and isinstance(restored[0].count, int)
    assert restored[0].m.tobytes() == state[0].m.tobytes()
    assert restored[0].v.tobytes() == state[0].v.tobytes()


def test_state_from_dict_rejects_another_optimizers_state():
    d = state_to_dict(adam().init(np.zeros(3)))
    with pytest.raises(ValueError, match=r"does not fit this optimizer.*0\.velocity"):
        state_from_dict(sgd(0.1, momentum=0.9), d)
    d["0.v"] = np.zeros(4)
    with pytest.raises(ValueError, match=r"'0\.v' has the wrong shape"):
        state_from_dict(adam(), d)
    d["0.v"], d["0.lr_scale"] = np.zeros(3), np.zeros(2)
    with pytest.raises(ValueError, match=r"'0\.lr_scale' must be one number"):
        state_from_dict(adam(), d)


def test_plateau_state_round_trip():
    plateau = ReduceOnPlateau(patience=0)
    state = plateau.init()
    for loss in [1.0, 2.0]:
        _, state = plateau.update(loss, state)
    restored = state_from_dict(plateau, state_to_dict(state))
    assert restored == state and isinstance(restored.done, bool)


# ---------------------------------------------------------------- schedules


def test_schedule_values():
    assert constant(0.3)(0) == constant(0.3)(1000) == 0.3
    inv = inverse_scaling(0.1, power_t=0.5)
    assert [inv(t) for t in (0, 3, 8)] == [0.1, 0.1 / 2, 0.1 / 3]
    per_epoch = inverse_scaling(0.1, power_t=0.5, steps_per_epoch=5, samples_per_epoch=8)
    # steps 0..4 are epoch 0 (t = 0); steps 5..9 epoch 1 (t = 8, η = 0.1/√9)
    assert [per_epoch(s) for s in (0, 4, 5, 9, 10)] == [0.1, 0.1, 0.1 / 3, 0.1 / 3,
                                                        0.1 / 17**0.5]
    decay = step_decay(0.8, drop=0.5, every=3)
    assert [decay(s) for s in (0, 2, 3, 6, 7)] == [0.8, 0.8, 0.4, 0.2, 0.2]
    cos = cosine(1.0, total_steps=4, final_lr=0.2)
    # 0.2 + 0.8·(1 + cos(π t/4))/2: t=0 → 1, t=2 → 0.6, t≥4 → 0.2
    assert_allclose([cos(t) for t in (0, 2, 4, 9)], [1.0, 0.6, 0.2, 0.2], rtol=1e-15)
    assert_allclose(cos(1), 0.2 + 0.4 * (1 + np.sqrt(0.5)), rtol=1e-15)


def test_schedule_drives_the_learning_rate():
    # η_t = 0.8, 0.8, 0.4: updates −η_t·grad with grad = 1
    opt = sgd(step_decay(0.8, drop=0.5, every=2))
    history, _ = run(opt, [[1.0]] * 3, [0.0])
    assert_allclose(np.ravel(history), [-0.8, -1.6, -2.0], rtol=1e-15)


def test_reduce_on_plateau_sequence():
    plateau = ReduceOnPlateau(factor=0.5, patience=1, tol=0.1, min_scale=0.3)
    state = plateau.init()
    scales = []
    # improvements need a drop of more than tol below the best loss
    for loss in [1.0, 0.95, 0.93, 0.5, 0.45, 0.44, 0.43, 0.42, 0.41]:
        scale, state = plateau.update(loss, state)
        scales.append((scale, state.done))
    # bad epochs: 0.95, 0.93 → halve at 0.93; 0.45, 0.44 → halve at 0.44 (0.25 ≤ 0.3);
    # 0.43, 0.42 → scale already at min → done
    assert scales == [(1.0, False), (1.0, False), (0.5, False), (0.5, False), (0.5, False),
                      (0.25, False), (0.25, False), (0.25, True), (0.25, True)]
    assert state.best_loss == 0.41


def test_set_lr_scale_scales_every_learning_rate():
    opt = chain(add_decayed_weights(0.0), sgd(0.1, momentum=0.9), adam(0.1))
    state = set_lr_scale(opt.init(np.zeros(2)), 0.5)
    assert state[1][0].lr_scale == 0.5 and state[2][0].lr_scale == 0.5
    plain = sgd(0.4)
    updates, _ = plain.update(np.array([1.0]), set_lr_scale(plain.init(np.zeros(1)), 0.25))
    assert updates[0] == -0.1


# ---------------------------------------------------------- building blocks


def test_building_blocks_numbers():
    w, g = np.array([1.0, -2.0, 3.0]), np.array([0.5, 0.5, 0.5])
    apply = lambda t: t.update(g, t.init(w), w)[0]  # noqa: E731
    # grad + 2λw with λ = 0.1: (0.5 + 0.2, 0.5 − 0.4, 0.5 + 0.6); masked entry 1 untouched
    assert_allclose(apply(add_decayed_weights(0.1)), [0.7, 0.1, 1.1], rtol=1e-15)
    mask = np.array([True, False, True])
    assert_allclose(apply(add_decayed_weights(0.1, mask)), [0.7, 0.5, 1.1], rtol=1e-15)
    # grad + λ sign(w) with λ = 0.25
    assert_allclose(apply(add_l1(0.25)), [0.75, 0.25, 0.75], rtol=1e-15)
    assert_allclose(apply(add_l1(0.25, mask)), [0.75, 0.5, 0.75], rtol=1e-15)
    assert_allclose(apply(scale(-2.0)), [-1.0, -1.0, -1.0])
    # ‖g‖ = √0.75 ≈ 0.866: clipped to norm 0.5, untouched at 1.0
    assert_allclose(np.linalg.norm(apply(clip_by_global_norm(0.5))), 0.5, rtol=1e-15)
    assert apply(clip_by_global_norm(1.0)) is g


def test_chain_threads_states_and_params():
    opt = chain(add_decayed_weights(0.5), scale_by_schedule(lambda t: t + 1.0), scale(-1.0))
    w = np.array([1.0, 2.0])
    state = opt.init(w)
    u1, state = opt.update(np.zeros(2), state, w)   # −1·(0 + w)
    u2, state = opt.update(np.zeros(2), state, w)   # −2·(0 + w)
    assert_array_equal(u1, [-1.0, -2.0])
    assert_array_equal(u2, [-2.0, -4.0])
    assert state[1].count == 2


def test_get_by_name():
    assert_array_equal(opt_mod.get("sgd", learning_rate=0.5).update(
        np.array([2.0]), sgd().init(np.zeros(1)))[0], [-1.0])
    assert opt_mod.get("adam").init(np.zeros(2))[0].count == 0
    with pytest.raises(ValueError, match=r"did you mean 'adam'.*sgd, adam, rprop"):
        opt_mod.get("adma")


# --------------------------------------------------------------- validation

BAD = [
    (lambda: sgd(0.0), "learning_rate must be > 0"),
    (lambda: sgd(-1.0), "learning_rate must be > 0"),
    (lambda: sgd(float("nan")), "learning_rate must be finite"),
    (lambda: sgd(0.1, momentum=1.0), "momentum must be < 1"),
    (lambda: sgd(0.1, momentum=-0.1), "momentum must be >= 0"),
    (lambda: adam(beta_1=1.0), "beta_1 must be < 1"),
    (lambda: adam(beta_2=-0.5), "beta_2 must be >= 0"),
    (lambda: adam(epsilon=0.0), "epsilon must be > 0"),
    (lambda: rprop(eta_plus=1.0), "eta_plus must be > 1"),
    (lambda: rprop(eta_minus=1.0), "eta_minus must be < 1"),
    (lambda: rprop(step_init=100.0), "step_init must be <= 50"),
    (lambda: rprop(step_min=0.0), "step_min must be > 0"),
    (lambda: inverse_scaling(0.1, power_t=-1), "power_t must be >= 0"),
    (lambda: inverse_scaling(0.1, steps_per_epoch=3), "go together"),
    (lambda: step_decay(0.1, drop=1.5), "drop must be <= 1"),
    (lambda: step_decay(0.1, every=0), "every must be >= 1"),
    (lambda: cosine(0.1, total_steps=10, final_lr=0.2), "final_lr must be <= 0.1"),
    (lambda: cosine(0.1, total_steps=2.5), "total_steps must be a whole number"),
    (lambda: sgd(lambda t: -1.0), "schedule value at step 0 must be >= 0"),
    (lambda: sgd(lambda t: 1 / 0), "schedule failed at step 0.*division by zero"),
    (lambda: add_decayed_weights(-0.1), "l2 must be >= 0"),
    (lambda: add_l1(0.1, mask=[1, 0]), "mask must be a 1-D boolean array"),
    (lambda: clip_by_global_norm(0), "max_norm must be > 0"),
    (lambda: ReduceOnPlateau(factor=1.0), "factor must be < 1"),
    (lambda: ReduceOnPlateau(patience=-1), "patience must be >= 0"),
    (lambda: set_lr_scale((), -1.0), "lr_scale must be >= 0"),
]


@pytest.mark.reliability(
    area="library input",
    fault="bad optimizer and schedule parameters",
    how="deltanet.optimizers",
    result="ValueError naming what was given")
@pytest.mark.parametrize("make, message", BAD)
def test_bad_parameters_raise_helpful_errors(make, message):
    with pytest.raises(ValueError, match=message) as info:
        make()
    assert "(got " in str(info.value)


@pytest.mark.reliability(
    area="library input",
    fault="optimizer arguments of the wrong type or shape",
    how="deltanet.optimizers",
    result="TypeError / ValueError")
def test_bad_types_and_mismatched_shapes():
    with pytest.raises(TypeError, match="nesterov must be True or False"):
        sgd(0.1, momentum=0.9, nesterov="yes")
    with pytest.raises(TypeError, match="chain argument 1"):
        chain(sgd(), "adam")
    opt = adam()
    with pytest.raises(ValueError, match=r"grad does not match.*\(3,\)"):
        opt.update(np.zeros(4), opt.init(np.zeros(3)))
    decay = add_decayed_weights(0.1, mask=np.array([True, False]))
    with pytest.raises(ValueError, match="needs the parameters"):
        decay.update(np.zeros(2), decay.init(np.zeros(2)))
    with pytest.raises(ValueError, match="mask does not match params"):
        decay.update(np.zeros(3), decay.init(np.zeros(3)), np.zeros(3))
    with pytest.raises(ValueError, match="loss must be finite"):
        ReduceOnPlateau().update(float("nan"), ReduceOnPlateau().init())


# ------------------------------------------------------------------ typed transforms
@pytest.mark.parametrize(("make", "cls"), [
    (lambda: sgd(0.1), opt_mod.SGD), (lambda: sgd(0.1, 0.9, True), opt_mod.SGD),
    (lambda: adam(), opt_mod.Adam), (lambda: rprop(), opt_mod.Rprop),
    (lambda: chain(add_decayed_weights(0.1), sgd(0.1)), opt_mod.Chain),
    (lambda: scale(2.0), opt_mod.Scale), (lambda: add_l1(0.1), opt_mod.AddL1),
    (lambda: clip_by_global_norm(1.0), opt_mod.ClipByGlobalNorm),
    (lambda: scale_by_schedule(constant(0.1)), opt_mod.ScaleBySchedule),
])
def test_every_transform_says_what_it_is_by_its_type(make, cls):
    t = make()
    assert type(t) is cls and isinstance(t, opt_mod.GradientTransformation)
    init, update = t  # it still unpacks as the pair of functions
    w, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    assert_array_equal(update(g, init(w), w)[0], t.update(g, t.init(w), w)[0])


def test_the_named_optimizers_keep_their_settings_as_attributes():
    s = sgd(0.1, momentum=0.5, nesterov=True)
    assert (s.learning_rate, s.momentum, s.nesterov) == (0.1, 0.5, True)
    a = adam(0.01, beta_1=0.8)
    assert (a.learning_rate, a.beta_1, a.beta_2, a.epsilon) == (0.01, 0.8, 0.999, 1e-8)
    assert not hasattr(s.update, "sgd_settings")  # identity is the type, not an attribute


def test_settings_describe_chains_part_by_part():
    assert sgd(0.1).settings == ["sgd", 0.1, 0.0, False]
    assert adam(0.01).settings == ["adam", 0.01, 0.9, 0.999, 1e-8]
    assert sgd(constant(0.1)).settings == ["sgd", "schedule", 0.0, False]
    mask = np.array([True, False, True])
    t = chain(add_decayed_weights(0.1, mask), clip_by_global_norm(2.0), sgd(0.5))
    assert t.settings == ["chain", ["add_decayed_weights", 0.1, 2],
                          ["clip_by_global_norm", 2.0], ["sgd", 0.5, 0.0, False]]
    assert chain(add_decayed_weights(0.1), sgd(0.5)).settings != \
        chain(add_decayed_weights(0.2), sgd(0.5)).settings
    own = opt_mod.GradientTransformation(lambda p: opt_mod.EmptyState(),
                                         lambda g, s, p=None: (g, s))
    assert own.settings is None and chain(own, sgd(0.1)).settings is None


def test_a_transform_of_ones_own_without_functions_says_what_is_missing():
    # refused when it is built, naming both functions, not later inside training
    with pytest.raises(ValueError, match=r"needs both functions \(got 'missing: init, update'"):
        opt_mod.GradientTransformation()
    with pytest.raises(ValueError, match=r"needs both functions \(got 'missing: update'"):
        opt_mod.GradientTransformation(init=lambda params: None)
