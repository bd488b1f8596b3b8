"""Which engine runs a training, and why: ``History.engine`` and ``History.engine_reason``.

The compiled engine takes the optimizers it compiles by their type (``optimizers.SGD`` and
``optimizers.Adam``); any other optimizer, a chain included, runs on NumPy, and the history
says so. The loop itself never asks which engine it has: the engines agree to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import deltanet as dn
from deltanet import optimizers as opt
from deltanet.propagation import backprop


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] - X[:, 1] * X[:, 2] > 0).astype(float)


def _net():
    return dn.Network.layered([3, 5, 1], hidden="tanh", random_state=0)


def _mask(net):
    return np.arange(net.n_params) % 2 == 0


# the family of optimizers the compiled engine does not run: chains of every building
# block with sgd() and adam(), and the named optimizers it lacks
NOT_COMPILED = {
    "decay+sgd": lambda net: opt.chain(opt.add_decayed_weights(1e-3), opt.sgd(0.1)),
    "masked decay+momentum": lambda net: opt.chain(opt.add_decayed_weights(1e-3, _mask(net)),
                                                   opt.sgd(0.1, momentum=0.9)),
    "l1+adam": lambda net: opt.chain(opt.add_l1(1e-3), opt.adam(0.01)),
    "clip+adam": lambda net: opt.chain(opt.clip_by_global_norm(1.0), opt.adam(0.01)),
    "sgd in a chain": lambda net: opt.chain(opt.sgd(0.1)),
    "scale chain": lambda net: opt.chain(opt.scale(-0.1)),
    "schedule chain": lambda net: opt.chain(opt.scale_by_schedule(lambda t: -0.1 / (1 + t))),
    "own transform": lambda net: opt.GradientTransformation(
        lambda p: opt.EmptyState(), lambda g, s, p=None: (-0.1 * g, s)),
}


@pytest.mark.parametrize("name", sorted(NOT_COMPILED))
def test_an_optimizer_the_compiled_engine_lacks_runs_on_numpy_and_says_why(name):
    X, y = _data()
    net = _net()
    transform = NOT_COMPILED[name](net)
    hist = dn.train(net, X, y, loss="log_loss", batch_size=8, epochs=3, random_state=0,
                    optimizer=transform)
    assert hist.engine == "numpy"
    assert repr(transform) in hist.engine_reason
    assert hist.engine_reason.startswith("the compiled engine does not support the optimizer")
    with pytest.raises(ValueError, match="engine='numba' does not support the optimizer"):
        dn.train(_net(), X, y, loss="log_loss", batch_size=8, epochs=1,
                 optimizer=NOT_COMPILED[name](_net()), engine="numba")


def _lecture_loop(net, X, y, transform, epochs, batch_size, seed):
    """NEURALNETTRAIN written out: a permutation per epoch, BACKPROPAGATE per batch, the
    optimizer's update."""
    rng, state = np.random.default_rng(seed), transform.init(net.params)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            grad = backprop(net, X[idx], y[idx], "log_loss").grad_flat
            updates, state = transform.update(grad, state, net.params)
            net.params += updates


@pytest.mark.parametrize("name", sorted(NOT_COMPILED))
def test_the_numpy_engine_gives_the_lecture_loops_weights_for_any_optimizer(name):
    X, y = _data()
    reference = _net()
    _lecture_loop(reference, X, y, NOT_COMPILED[name](reference), 3, 8, 0)
    for engine in ("numpy", "auto"):
        net = _net()
        dn.train(net, X, y, loss="log_loss", batch_size=8, epochs=3, random_state=0,
                 optimizer=NOT_COMPILED[name](net), engine=engine)
        assert_allclose(net.params, reference.params, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("optimizer", [opt.sgd(0.1), opt.sgd(0.1, 0.9, True), opt.adam(0.01),
                                       "sgd", "momentum", "nesterov", "adam"])
def test_sgd_and_adam_run_compiled_without_a_reason(optimizer):
    X, y = _data()
    hist = dn.train(_net(), X, y, loss="log_loss", batch_size=4, epochs=2, random_state=0,
                    optimizer=optimizer)
    assert (hist.engine, hist.engine_reason) == ("numba", "")


@pytest.mark.parametrize(("setting", "missing", "engine"), [
    ({"dropout": 0.2}, "dropout", "reference"),
    ({"optimizer": "rprop", "batch_size": None}, "the optimizer rprop()", "numpy"),
    ({"net": {"batch_norm": True}}, "batch normalisation", "reference"),
])
def test_auto_names_what_kept_it_from_the_compiled_engine(setting, missing, engine):
    X, y = _data()
    net = dn.Network.layered([3, 5, 1], hidden="tanh", random_state=0,
                             **setting.pop("net", {}))
    kw = {"batch_size": 4, **setting}
    hist = dn.train(net, X, y, loss="log_loss", epochs=2, random_state=0, **kw)
    assert hist.engine == engine
    assert f"the compiled engine does not support {missing}" in hist.engine_reason
    assert ("the reference passes run" in hist.engine_reason) == (engine == "reference")


def test_an_engine_asked_for_by_name_gives_no_reason():
    X, y = _data()
    hist = dn.train(_net(), X, y, loss="log_loss", batch_size=4, epochs=2, engine="numpy")
    assert (hist.engine, hist.engine_reason) == ("numpy", "")


def test_verbose_names_the_engine_and_the_reason(capsys):
    X, y = _data()
    dn.train(_net(), X, y, loss="log_loss", batch_size=4, epochs=2, verbose=True,
             dropout=0.1, random_state=0)
    err = capsys.readouterr().err
    assert "engine: reference (the compiled engine does not support dropout" in err
    dn.train(_net(), X, y, loss="log_loss", batch_size=4, epochs=2, verbose=True)
    assert "engine: numba\n" in capsys.readouterr().err


def test_the_engine_of_a_resumed_run_is_recorded(tmp_path):
    X, y = _data()
    path = tmp_path / "run.ckpt"
    kw = dict(loss="log_loss", batch_size=4, random_state=0, checkpoint=path, dropout=0.1)
    dn.train(_net(), X, y, epochs=2, **kw)
    hist = dn.train(_net(), X, y, epochs=4, resume=True, **kw)
    assert hist.engine == "reference" and "dropout" in hist.engine_reason


def test_the_loop_runs_any_engine_that_follows_the_protocol():
    # an engine of one's own (here: the reference engine, counting its epochs) trains as
    # the built-in ones do: the loop asks nothing else of it
    from deltanet.engines import ReferenceEngine
    from deltanet.training.api import settings_for
    from deltanet.training.loop import neural_net_train
    from deltanet.training.run import run_for

    class Counting:
        engine, checks_inputs, runs_epochs = "counting", False, False

        def __init__(self, inner):
            self.inner, self.epochs = inner, 0

        def run(self, order, state, after_batch=None):
            self.epochs += 1
            return self.inner.run(order, state, after_batch)

    X, y = _data()
    Y = y[:, None]
    net, transform = _net(), opt.sgd(0.1)
    loss = dn.losses.get("log_loss")
    bounds = [(s, min(s + 8, len(X))) for s in range(0, len(X), 8)]
    engine = Counting(ReferenceEngine(net, X, Y, None, bounds, loss, transform, 0.0, 0.0,
                                      False, None, None))
    settings = settings_for(net, epochs=3, batch_size=8, loss="log_loss")
    run = run_for(net, X, Y, settings, engine, transform.init(net.params),
                  np.random.default_rng(0), [])
    hist = neural_net_train(run)
    reference = _net()
    _lecture_loop(reference, X, y, opt.sgd(0.1), 3, 8, 0)
    assert engine.epochs == 3 and (hist.epochs, hist.engine) == (3, "counting")
    assert_allclose(net.params, reference.params, rtol=1e-12, atol=1e-14)
