"""engine='shaped': a kernel compiled for one tiny network's shape (``kernels._shaped``).

It must train exactly as the compiled engine's dense per-example kernel does (weights,
costs, stops, errors: bit for bit), be refused with a clear error where it does not apply,
be kept on disk so that a later process (and ``engine='auto'``) loads it instead of
compiling it, and never run a module file it did not write.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import deltanet as dn
from deltanet.kernels import _runners, _shaped, make_runner
from deltanet.kernels._layout import build_layout

pytestmark = pytest.mark.xdist_group("numba")

#: (output activation, loss): the fused outputs, softmax's Jacobian and the plain ones
OUTPUTS = [("logistic", "log_loss"), ("softmax", "cross_entropy"),
           ("identity", "squared_error"), ("tanh", "half_squared_error"),
           ("softmax", "squared_error"), ("logistic", "perceptron"),
           ("logistic", "cross_entropy"), ("identity", "perceptron")]
HIDDEN = ("threshold", "identity", "logistic", "tanh", "relu", "softplus", "exp",
          "leaky_relu", "elu", "gelu")


@pytest.fixture(scope="module")
def shared_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("shape-kernels")


@pytest.fixture(autouse=True)
def _like_a_new_process(shared_folder, monkeypatch):
    """No kernel of an earlier test in this process: each test finds the kernels this
    file's tests compiled on disk (in a folder of their own), as a new process would."""
    monkeypatch.setenv("DELTANET_CACHE_DIR", str(shared_folder))
    monkeypatch.setattr(_shaped, "_READY", {})
    monkeypatch.setattr(_runners, "_SHARED", {})


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder of the test's own, for a test that looks into it or changes it."""
    monkeypatch.setenv("DELTANET_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "shapes"


def _case(seed: int):
    """A tiny layered network (at most ``MAX_PARAMS`` weights) with data for its loss."""
    rng = np.random.default_rng(seed)
    while True:
        sizes = [int(rng.integers(1, 4)), *rng.integers(1, 4, rng.integers(1, 3)).tolist(),
                 int(rng.integers(1, 4))]
        if sum((a + 1) * b for a, b in itertools.pairwise(sizes)) <= _shaped.MAX_PARAMS:
            break
    output, loss = OUTPUTS[seed % len(OUTPUTS)]
    if output == "softmax" and sizes[-1] == 1:
        sizes[-1] = 2
    hidden = [HIDDEN[int(k)] for k in rng.integers(0, len(HIDDEN), len(sizes) - 2)]
    n = int(rng.integers(3, 9))
    X = rng.normal(size=(n, sizes[0]))
    Y = (rng.random((n, sizes[-1])) < 0.5).astype(float)
    if loss == "cross_entropy" and output == "softmax":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    weights = rng.random(n) + 0.5 if seed % 3 == 0 else None
    return sizes, hidden, output, loss, X, Y, weights


def _train(engine, case, dtype, seed, **kw):
    sizes, hidden, output, loss, X, Y, weights = case
    net = dn.Network.layered(sizes, hidden=hidden, output=output, random_state=seed,
                             dtype=dtype)
    try:
        hist = dn.train(net, X.astype(dtype), Y.astype(dtype), loss=loss, lr=kw.pop("lr", 0.3),
                        epochs=kw.pop("epochs", 25), random_state=seed, engine=engine,
                        sample_weight=weights, **kw)
        error = None
    except (dn.TrainingError, ValueError) as err:
        hist, error = getattr(err, "history", None), str(err)
    return net, hist, error


def _assert_same_run(dense, shaped):
    (net1, h1, e1), (net2, h2, e2) = dense, shaped
    assert_array_equal(net1.params, net2.params)
    assert e1 == e2
    if h1 is not None:
        for name in ("cost", "epochs", "updates", "stop_reason"):
            assert getattr(h1, name) == getattr(h2, name), name


def _dense_only(monkeypatch):
    """The compiled engine without kernels of a shape: ``_dense.dense_epoch`` runs."""
    monkeypatch.setattr(_shaped, "MAX_PARAMS", 0)


#: each output/loss pair of OUTPUTS once, in one dtype or the other, and the two most used
#: (logistic + log loss, softmax + cross-entropy) in both: a compile of some seconds each
CASES = [(seed, np.float64 if seed % 2 == 0 else np.float32) for seed in range(8)] + [
    (8, np.float32), (9, np.float64)]


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "dtype"), CASES)
def test_a_shaped_kernel_trains_bit_for_bit_as_the_dense_kernel(monkeypatch, seed, dtype):
    case = _case(seed)
    with monkeypatch.context() as m:
        _dense_only(m)
        dense = _train("numba", case, dtype, seed)
    shaped = _train("shaped", case, dtype, seed)
    assert shaped[1] is None or shaped[1].engine == "shaped"
    _assert_same_run(dense, shaped)


class _Costs(dn.Callback):
    """Each update's cost: with it, the kernel runs once per update."""

    def __init__(self) -> None:
        self.costs: list[float] = []

    def on_batch_end(self, update, logs):
        self.costs.append(logs["batch_cost"])


@pytest.mark.parametrize("bad", ["nan_x", "target", "diverges", "tol", "callbacks"])
def test_stops_and_bad_rows_end_a_shaped_run_as_they_end_a_dense_one(monkeypatch, bad):
    X = np.array([[-1.0, -1], [-1, 1], [1, -1], [1, 1]])
    Y = np.array([[0.0], [1], [1], [0]])
    kw, output, loss = {}, "logistic", "log_loss"
    if bad == "nan_x":
        X[2, 1] = np.nan
    elif bad == "target":
        Y[3, 0] = 2.0  # log loss takes targets in [0, 1]
    elif bad == "diverges":
        kw, output, loss = {"lr": 1e10}, "identity", "squared_error"
    elif bad == "tol":
        kw = {"tol": 1e-3}
    case = ([2, 2, 1], ["logistic"], output, loss, X, Y, None)
    seen = [_Costs(), _Costs()]
    if bad == "callbacks":
        kw = {"epochs": 20}
    with monkeypatch.context() as m:
        _dense_only(m)
        dense = _train("numba", case, np.float64, 0, **{"epochs": 300, **kw},
                       callbacks=[seen[0]] if bad == "callbacks" else None)
    shaped = _train("shaped", case, np.float64, 0, **{"epochs": 300, **kw},
                    callbacks=[seen[1]] if bad == "callbacks" else None)
    assert (dense[2] is None) == (bad in ("tol", "callbacks"))
    _assert_same_run(dense, shaped)
    assert seen[0].costs == seen[1].costs and len(seen[1].costs) == (80 if seen[1].costs else 0)


@pytest.mark.parametrize(("sizes", "kw", "needs"), [
    ([2, 8, 8, 1], {}, "at most 32 weights and biases (this network has 105)"),
    ([2, 2, 1], {"batch_size": 2}, "one example per update (batch_size=1, not 2)"),
    ([2, 2, 1], {"optimizer": "momentum"}, "plain SGD"),
    ([2, 2, 1], {"l2": 1e-3}, "plain SGD"),
])
def test_engine_shaped_refuses_a_run_it_does_not_compile(sizes, kw, needs):
    X, Y = np.zeros((4, 2)), np.zeros((4, 1))
    with pytest.raises(ValueError, match="engine='shaped'") as err:
        dn.train(dn.Network.layered(sizes), X, Y, engine="shaped", epochs=1, **kw)
    assert needs in str(err.value) and "use engine='numba'" in str(err.value)


def test_engine_shaped_refuses_a_network_that_is_not_layered():
    net = dn.Network(2, [(1, 3), (2, 3), (3, 4), (1, 4)], outputs=[4])
    with pytest.raises(ValueError, match="a layered network"):
        dn.train(net, np.zeros((4, 2)), np.zeros((4, 1)), engine="shaped", epochs=1)


def test_engine_shaped_refuses_what_the_compiled_engine_does_not_run():
    with pytest.raises(ValueError, match="engine='shaped' does not support dropout"):
        dn.train(dn.Network.layered([2, 2, 1]), np.zeros((4, 2)), np.zeros((4, 1)),
                 engine="shaped", dropout=0.5, epochs=1)


def _runner(engine, net, X, Y):
    return make_runner(engine, net, X, Y, None, 1, dn.losses.get("squared_error"),
                       dn.optimizers.sgd(0.1), 0.0, 0.0, False)


def test_the_compiled_engine_takes_a_shape_kernel_once_there_is_one(cache):
    X, Y = np.zeros((4, 2)), np.zeros((4, 1))
    before = _runner("numba", dn.Network.layered([2, 2, 1]), X, Y)
    assert before._shaped is None  # none compiled: the dense kernel, nothing compiled
    assert not cache.exists() or not list(cache.glob("*.py"))
    _runner("shaped", dn.Network.layered([2, 2, 1]), X, Y)
    after = _runner("numba", dn.Network.layered([2, 2, 1]), X, Y)
    assert after._shaped is not None
    assert len(list(cache.glob("*.float64.ready"))) == 1


def test_a_later_process_loads_the_kernel_from_disk(cache):
    X, Y = np.zeros((4, 2)), np.zeros((4, 1))
    _runner("shaped", dn.Network.layered([2, 2, 1]), X, Y)
    script = textwrap.dedent("""
        import time, numpy as np, deltanet as dn
        from deltanet.kernels import make_runner, _shaped
        net = dn.Network.layered([2, 2, 1])
        X, Y = np.zeros((4, 2)), np.zeros((4, 1))
        start = time.perf_counter()
        runner = make_runner("numba", net, X, Y, None, 1, dn.losses.get("squared_error"),
                             dn.optimizers.sgd(0.1), 0.0, 0.0, False)
        print(runner._shaped is not None, time.perf_counter() - start)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == "True"
    assert float(out[1]) < 1.0  # loaded: compiling it takes seconds


def _compile_then(cache, change):
    """Compile the 2-2-1 kernel, ``change(path)`` its module file, and load it again as a
    new process would; the loaded epoch and the layout."""
    lay = build_layout(dn.Network.layered([2, 2, 1]).plan)
    _shaped.epoch_for(lay, 9, 0, np.float64, compile=True)
    (path,) = cache.glob("*.py")
    change(path)
    _shaped._READY.clear()
    sys.modules.pop(path.stem, None)
    return _shaped.epoch_for(lay, 9, 0, np.float64, compile=False), lay, path


def test_a_module_file_of_another_text_is_replaced_and_never_run(cache, tmp_path):
    proof = tmp_path / "ran"
    epoch, lay, path = _compile_then(
        cache, lambda path: path.write_text(f"open({str(proof)!r}, 'w').close()\n"))
    assert epoch is not None and not proof.exists()
    assert path.read_text() == _shaped.source(lay, 9, 0)


def test_an_unwritable_cache_folder_is_an_error_for_shaped_and_nothing_for_auto(monkeypatch,
                                                                               tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv("DELTANET_CACHE_DIR", str(blocker / "cache"))
    X, Y = np.array([[0.0, 1], [1, 0]]), np.array([[1.0], [0]])
    with pytest.raises(ValueError, match=r"Not a directory.*set DELTANET_CACHE_DIR to a"):
        dn.train(dn.Network.layered([2, 2, 1]), X, Y, engine="shaped", epochs=1)
    hist = dn.train(dn.Network.layered([2, 2, 1]), X, Y, epochs=2)
    assert hist.engine == "numba"


def test_a_pyc_beside_the_module_is_never_run(cache, tmp_path):
    import importlib._bootstrap_external as bootstrap
    import importlib.util

    proof = tmp_path / "ran"

    def craft(path):  # a .pyc that Python's import would take for the file's own
        crafted = path.read_text() + f"\nopen({str(proof)!r}, 'w').close()\n"
        pyc = Path(importlib.util.cache_from_source(str(path)))
        pyc.parent.mkdir(exist_ok=True)
        code, st = compile(crafted, str(path), "exec"), path.stat()
        pyc.write_bytes(bootstrap._code_to_timestamp_pyc(code, st.st_mtime, st.st_size))

    epoch, _, _ = _compile_then(cache, craft)
    assert epoch is not None and not proof.exists()


def test_a_kernel_from_other_definitions_is_not_taken(cache, monkeypatch):
    X, Y = np.zeros((4, 2)), np.zeros((4, 1))
    _runner("shaped", dn.Network.layered([2, 2, 1]), X, Y)
    assert _runner("numba", dn.Network.layered([2, 2, 1]), X, Y)._shaped is not None
    # the same shape, compiled when an activation, a loss or a kernel read otherwise
    monkeypatch.setattr(_shaped, "_origin", lambda: "other definitions")
    monkeypatch.setattr(_shaped, "_READY", {})
    monkeypatch.setattr(_runners, "_SHARED", {})
    assert _runner("numba", dn.Network.layered([2, 2, 1]), X, Y)._shaped is None


def test_a_cache_folder_others_can_write_to_is_refused(cache):
    cache.mkdir(parents=True)
    cache.chmod(0o777)
    X, Y = np.array([[0.0, 1], [1, 0]]), np.array([[1.0], [0]])
    with pytest.raises(ValueError, match="chmod 700"):
        dn.train(dn.Network.layered([2, 2, 1]), X, Y, engine="shaped", epochs=1)
    assert dn.train(dn.Network.layered([2, 2, 1]), X, Y, epochs=1).engine == "numba"
    assert not list(cache.glob("*.py"))


def test_a_damaged_module_file_is_rewritten_and_never_fails_a_run(cache):
    epoch, lay, path = _compile_then(
        cache, lambda path: path.write_bytes(b"\xff\xfe not a module \x00"))
    assert epoch is not None and path.read_text() == _shaped.source(lay, 9, 0)


def test_a_run_checkpointed_on_shaped_resumes_on_numba(tmp_path):
    X = np.array([[-1.0, -1], [-1, 1], [1, -1], [1, 1]])
    Y = np.array([[0.0], [1], [1], [0]])
    kw = dict(loss="log_loss", lr=0.5, random_state=0, checkpoint=tmp_path / "run.ckpt")
    whole = dn.Network.layered([2, 2, 1], random_state=0)
    dn.train(whole, X, Y, epochs=30, engine="shaped", loss="log_loss", lr=0.5,
             random_state=0)
    part = dn.Network.layered([2, 2, 1], random_state=0)
    dn.train(part, X, Y, epochs=12, engine="shaped", **kw)
    dn.train(part, X, Y, epochs=30, engine="numba", resume=True, **kw)
    assert_array_equal(part.params, whole.params)
