"""A warm train() call reuses what it checked and built before (settings, the seeded
generator, the optimizer) and trains exactly as a first call would."""

from __future__ import annotations

import math

import numpy as np
import pytest

import deltanet as dn
from deltanet._validation import NonFiniteError, check_random_state
from deltanet.training.api import settings_for
from deltanet.training.optimizer import _resolve, resolve_optimizer

CASES = np.random.default_rng(20261206)


def _data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, 3))
    return X, (X[:, :1] + X[:, 1:2] ** 2 > 0.5).astype(float)


@pytest.mark.parametrize("case", range(6))
def test_repeated_calls_with_an_int_seed_train_as_a_freshly_seeded_generator(case):
    rng = np.random.default_rng(int(CASES.integers(1 << 30)) + case)
    X, Y = _data(rng, int(rng.integers(8, 40)))
    seed = int(rng.integers(0, 1000))
    kw = dict(loss="log_loss", lr=float(rng.uniform(0.05, 0.5)), epochs=3,
              batch_size=[1, 3, None][case % 3],
              optimizer=["sgd", "momentum", "adam"][case % 3])
    warm = dn.Network.layered([3, 4, 1], random_state=case)
    fresh = warm.copy()
    for _ in range(3):  # the same seed again and again: each call starts where it did
        start = warm.params.copy()
        h_warm = dn.train(warm, X, Y, random_state=seed, **kw)
        fresh.params[:] = start
        h_fresh = dn.train(fresh, X, Y, random_state=np.random.default_rng(seed), **kw)
        np.testing.assert_array_equal(warm.params, fresh.params)
        assert h_warm.cost == h_fresh.cost


def test_a_generator_still_held_is_never_reset_by_the_next_call_with_its_seed():
    for seed in np.random.default_rng(7).integers(0, 2**40, size=5).tolist():
        held = check_random_state(seed)
        first = held.random(3)
        other = check_random_state(seed)
        assert other is not held
        np.testing.assert_array_equal(other.random(3), first)  # seeded afresh
        expected = np.random.default_rng(seed)
        expected.random(3)
        np.testing.assert_array_equal(held.random(4), expected.random(4))  # not reset
        del held, other
        again = check_random_state(seed)  # no one holds it now: given back, reset
        np.testing.assert_array_equal(again.random(3), first)


def test_the_same_plain_keywords_give_one_settings_object_and_others_their_own():
    net = dn.Network.layered([2, 3, 1], random_state=0)
    a = settings_for(net, lr=0.3, batch_size=4, random_state=1)
    assert settings_for(net, lr=0.3, batch_size=4, random_state=1) is a
    assert settings_for(net, lr=0.3, batch_size=4, random_state=2).random_state == 2
    assert settings_for(net, tol=0) is not settings_for(net, tol=0.0)  # types count
    assert math.copysign(1.0, settings_for(net, l2=0.0).l2) == 1.0
    assert math.copysign(1.0, settings_for(net, l2=-0.0).l2) == -1.0


def test_settings_holding_a_mutable_value_are_checked_on_every_call():
    net = dn.Network.layered([2, 3, 1], random_state=0)
    callbacks = [lambda epoch, logs: None]
    assert settings_for(net, callbacks=callbacks) is not settings_for(net, callbacks=callbacks)
    assert settings_for(net, dropout=0.2) is not settings_for(net, dropout=0.2)


def test_a_bad_setting_is_refused_each_time_with_the_value_given():
    X, Y = _data(np.random.default_rng(3), 10)
    net = dn.Network.layered([3, 2, 1], random_state=0)
    for _ in range(2):
        with pytest.raises(ValueError, match="epochs must be >= 1"):
            dn.train(net, X, Y, epochs=0)
    dn.train(net, X, Y, epochs=1, lr=0.1, random_state=0)
    for lr in (0.0, -0.0):
        with pytest.raises(ValueError, match="lr must be > 0") as info:
            dn.train(net, X, Y, epochs=1, lr=lr, random_state=0)
        assert repr(lr) in str(info.value)


def test_a_named_optimizer_is_built_once_and_as_it_would_be_afresh():
    args = ("momentum", 0.2, 0.5, "cosine", 10, 7, 70, False)
    kept = resolve_optimizer(*args)
    assert resolve_optimizer(*args) is kept
    fresh = _resolve(*args)
    assert (kept.name, kept.schedule_name) == (fresh.name, fresh.schedule_name)
    assert [kept.schedule(t) for t in range(70)] == [fresh.schedule(t) for t in range(70)]
    assert kept.transform.settings == fresh.transform.settings
    plateau = ("sgd", 0.2, 0.5, "plateau", 10, 7, 70, False)
    assert resolve_optimizer(*plateau).plateau is not resolve_optimizer(*plateau).plateau


@pytest.mark.parametrize("case", range(8))
def test_a_warm_call_on_other_rows_of_the_same_shape_trains_on_those_rows(case):
    """The engine of the network's last run is taken over and pointed at the new rows: the
    weights are those of a network that never trained before, on the same rows, seeds and
    settings (per-example, small batches and BLAS batches; seeds that change and repeat)."""
    rng = np.random.default_rng(int(CASES.integers(1 << 30)) + 100 + case)
    n, width = int(rng.integers(20, 60)), [4, 40][case % 2]
    kw = dict(loss="log_loss", lr=float(rng.uniform(0.05, 0.3)), epochs=2,
              batch_size=[1, 4, 16, 1][case % 4], optimizer=["sgd", "momentum"][case % 2])
    warm = dn.Network.layered([3, width, 1], random_state=case)
    for seed in rng.integers(0, 3, size=4).tolist():
        X, Y = _data(rng, n)
        fresh = dn.Network.layered([3, width, 1], random_state=case)
        fresh.params[:] = warm.params
        h_warm = dn.train(warm, X, Y, random_state=seed, **kw)
        h_fresh = dn.train(fresh, X.copy(), Y.copy(), random_state=seed, **kw)
        np.testing.assert_array_equal(warm.params, fresh.params)
        assert h_warm.cost == h_fresh.cost and h_warm.engine == h_fresh.engine == "numba"


def test_a_kept_engine_keeps_no_rows_alive_after_the_call():
    import gc
    import weakref

    net = dn.Network.layered([3, 5, 1], random_state=0)
    X, Y = _data(np.random.default_rng(3), 30)
    dn.train(net, X, Y, loss="log_loss", epochs=2, random_state=0)
    refs = [weakref.ref(X), weakref.ref(Y)]
    del X, Y
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_a_warm_call_after_a_refused_one_trains_as_a_first_call():
    X, Y = _data(np.random.default_rng(4), 25)
    bad = X.copy()
    bad[7, 1] = np.nan
    net = dn.Network.layered([3, 5, 1], random_state=0)
    start = net.params.copy()
    kw = dict(loss="log_loss", epochs=3, random_state=2)
    with pytest.raises(NonFiniteError):
        dn.train(net, bad, Y, **kw)
    np.testing.assert_array_equal(net.params, start)
    dn.train(net, X, Y, **kw)
    fresh = dn.Network.layered([3, 5, 1], random_state=0)
    dn.train(fresh, X, Y, **kw)
    np.testing.assert_array_equal(net.params, fresh.params)


def _history(h) -> dict:
    d = h.to_dict()
    return {k: v for k, v in d.items() if k != "diagnostics"}


@pytest.mark.parametrize("case", range(6))
def test_a_sequence_of_warm_calls_trains_each_as_a_first_call_would(case):
    """Calls on one network, each with settings drawn from a pool (the same plain settings
    again, other row counts, 0/1 or real targets under metric 'auto', validation, sample
    and class weights between them): every call gives the weights and history of the same
    call on a network that never trained (whatever the call before it kept)."""
    rng = np.random.default_rng(int(CASES.integers(1 << 30)) + 200 + case)
    pool = [dict(loss="squared_error", lr=0.2, batch_size=1, epochs=2),
            dict(loss="log_loss", lr=0.3, batch_size=1, epochs=3),
            dict(loss="squared_error", lr=0.1, batch_size=4, epochs=2, optimizer="momentum"),
            dict(loss="log_loss", lr=0.2, batch_size=1, epochs=2, validation_fraction=0.25),
            dict(loss="log_loss", lr=0.2, batch_size=1, epochs=2, class_weight="balanced"),
            dict(loss="squared_error", lr=0.2, batch_size=1, epochs=2, metric="mse",
                 lr_schedule="plateau"),
            dict(loss="squared_error", lr=0.2, batch_size=4, epochs=2, lr_schedule="cosine")]
    warm = dn.Network.layered([3, 4, 1], random_state=case)
    for _ in range(12):
        kw = dict(pool[int(rng.integers(len(pool)))])
        n = int(rng.choice([12, 12, 20]))
        X, Y = _data(rng, n)
        if kw["loss"] == "squared_error" and rng.random() < 0.5:
            Y = Y * 0.5 + 0.25  # not 0/1: 'auto' is R², not accuracy
        if rng.random() < 0.2:
            kw["sample_weight"] = rng.uniform(0.5, 2.0, size=n)
        seed = int(rng.integers(0, 3))
        fresh = dn.Network.layered([3, 4, 1], random_state=case)
        fresh.params[:] = warm.params
        h_warm = dn.train(warm, X, Y, random_state=seed, **kw)
        h_fresh = dn.train(fresh, X, Y, random_state=np.random.default_rng(seed), **kw)
        np.testing.assert_array_equal(warm.params, fresh.params)
        assert _history(h_warm) == _history(h_fresh)


def test_a_warm_call_after_the_weight_vector_is_replaced_trains_the_new_one():
    X, Y = _data(np.random.default_rng(5), 16)
    net = dn.Network.layered([3, 4, 1], random_state=0)
    kw = dict(loss="log_loss", lr=0.3, epochs=2, random_state=1)
    dn.train(net, X, Y, **kw)
    new = np.random.default_rng(9).normal(size=net.params.shape)
    net.params = new.copy()
    dn.train(net, X, Y, **kw)
    fresh = dn.Network.layered([3, 4, 1], random_state=0)
    fresh.params[:] = new
    dn.train(fresh, X, Y, **kw)
    np.testing.assert_array_equal(net.params, fresh.params)


@pytest.mark.parametrize("schedule", ["cosine", "invscaling", "step"])
def test_a_warm_call_on_more_or_fewer_rows_trains_with_their_batches_and_schedule(schedule):
    """The same settings object with another number of rows: other batches, and a
    schedule over other update counts, as on a network that never trained."""
    rng = np.random.default_rng(11)
    net = dn.Network.layered([3, 4, 1], random_state=0)
    kw = dict(loss="squared_error", lr=0.2, batch_size=4, epochs=3, lr_schedule=schedule,
              random_state=1)
    for n in (12, 21, 12, 30):
        X, Y = _data(rng, n)
        fresh = dn.Network.layered([3, 4, 1], random_state=0)
        fresh.params[:] = net.params
        h_warm = dn.train(net, X, Y, **kw)
        h_fresh = dn.train(fresh, X, Y, **kw | {"random_state": np.random.default_rng(1)})
        np.testing.assert_array_equal(net.params, fresh.params)
        assert _history(h_warm) == _history(h_fresh)


def test_keywords_equal_to_a_call_before_but_of_another_type_or_sign_are_checked_afresh():
    """Settings found by the very objects of a call before: values equal to them but of
    another type (``True``/``1``/``1.0``) or sign (``-0.0``) are never taken for them,
    in either order: each call ends as it would with nothing kept. An unhashable value is
    checked each time."""
    from deltanet.training import settings as settings_module

    net = dn.Network.layered([2, 3, 1], random_state=0)

    def outcome(name, value):
        try:
            got = getattr(settings_for(net, **{name: value}), name)
        except (TypeError, ValueError) as error:
            return type(error).__name__
        return type(got).__name__, repr(got)

    pairs = [("shuffle", True, 1), ("verbose", False, 0), ("l2", 0.0, -0.0),
             ("patience", 3, 3.0), ("tol", 0, 0.0), ("early_stopping", False, 0.0),
             ("lr", 1, True), ("momentum", 0.5, 0.5 + 0j)]
    for name, first, second in pairs:
        alone = {}
        for value in (first, second):
            settings_module._SAME.clear()
            settings_module._BUILT.clear()
            alone[type(value), repr(value)] = outcome(name, value)
        for a, b in ((first, second), (second, first)):
            for value in (a, b, a, b):
                assert outcome(name, value) == alone[type(value), repr(value)]
    sw = np.ones(4)
    assert settings_for(net, sample_weight=sw) is not settings_for(net, sample_weight=sw)


def test_a_network_keeps_no_object_of_a_callers_call_alive():
    """What a network keeps for its next call holds nothing of the caller's: not the
    settings of a call with callbacks, nor the rows of a call refused before training."""
    import gc
    import weakref

    class Holder:
        pass

    class PerUpdate(dn.Callback):
        def on_batch_end(self, update, logs):
            pass

    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 2))
    Y = (X[:, :1] > 0).astype(float)
    net = dn.Network.layered([2, 3, 1], random_state=0)
    holder = Holder()
    held = weakref.ref(holder)
    dn.train(net, X, Y, loss="log_loss", epochs=2, random_state=0,
             callbacks=[lambda epoch, logs, holder=holder: None])
    del holder
    gc.collect()
    assert held() is None
    Xb, Yb = X.copy(), Y.copy()
    Yb[4, 0] = 2.0
    rows = weakref.ref(Xb), weakref.ref(Yb)
    with pytest.raises(ValueError, match="targets in"):
        dn.train(net, Xb, Yb, loss="log_loss", epochs=2, callbacks=[PerUpdate()])
    del Xb, Yb
    gc.collect()
    assert [row() for row in rows] == [None, None]
