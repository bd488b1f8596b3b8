"""Architecture search: space, networks, trials, pruning, seeds, resuming, Pareto front."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.trial import FixedTrial, TrialState

import deltanet as dn
from deltanet import optimizers
from deltanet.search.api import make_problem
from deltanet.search.objective import Fit, build_network, carried
from deltanet.search.space import Config, make_space, suggest


@pytest.fixture(scope="module")
def digits():
    ds = dn.load_dataset("digits")
    rng = np.random.default_rng(0)
    keep = np.sort(rng.permutation(ds.n_samples)[:600])
    return ds.X[keep] / 8.0 - 1.0, ds.y[keep]


@pytest.fixture(scope="module")
def iris():
    ds = dn.load_dataset("iris")
    return ds.X / ds.X.max(axis=0), ds.y


def finished(study):
    return study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))


# ------------------------------------------------------------------ space and networks
def test_space_overrides_merge_and_are_checked():
    space = make_space({"n_groups": 2, "width": (8, 64, "log"), "optimizer": ["adam"]})
    assert space["n_groups"].is_fixed and space["n_groups"].fixed == 2
    assert (space["width"].low, space["width"].high, space["width"].log) == (8, 64, True)
    assert space["lr"].log  # untouched entries keep their defaults
    with pytest.raises(ValueError, match=r"unknown search-space entry .widht.*width"):
        make_space({"widht": 3})
    with pytest.raises(ValueError, match="did you mean 'tanh'"):
        make_space({"activation": ["tahn"]})
    with pytest.raises(ValueError, match="range is empty"):
        make_space({"lr": (0.1, 0.01)})
    with pytest.raises(ValueError, match="takes a list of values"):
        make_space({"skip": ("none", "all")})
    with pytest.raises(ValueError, match=r"dropout.*must be < 1"):
        make_space({"dropout": 1.0})


def test_grid_values_and_fixed_trial_replay():
    space = make_space({"n_groups": (0, 3), "width": (16, 256, "log"),
                        "dropout": (0.0, 0.5)})
    assert space["width"].grid() == [16, 64, 256]
    assert space["dropout"].grid() == [0.0, 0.25, 0.5]
    params = {"n_groups": 2, "width_1": 32, "activation_1": "relu", "width_2": 16,
              "activation_2": "tanh", "skip": "all", "optimizer": "adam", "lr": 0.01,
              "batch_size": 32, "l2": 1e-4, "dropout": 0.1, "batch_norm": True}
    config = suggest(FixedTrial(params), space)
    assert config == Config((32, 16), ("relu", "tanh"), "all", "adam", 0.01, 32, 1e-4, 0.1,
                            True)
    assert config.describe() == "32 relu → 16 tanh, skip all, bn"
    # without hidden groups nothing about them is drawn
    bare = suggest(FixedTrial({"n_groups": 0, "optimizer": "sgd", "lr": 0.1,
                               "batch_size": 16, "l2": 1e-5}), space)
    assert bare.widths == () and bare.skip == "none" and bare.dropout == 0.0


@pytest.mark.parametrize("skip, blocks", [("none", {(0, 1), (1, 2), (2, 3)}),
                                          ("inputs", {(0, 1), (1, 2), (0, 2), (2, 3),
                                                      (0, 3)}),
                                          ("all", {(0, 1), (0, 2), (1, 2), (0, 3), (1, 3),
                                                   (2, 3)})])
def test_networks_have_the_skip_arcs_asked(skip, blocks):
    config = Config((5, 3), ("relu", "tanh"), skip, "adam", 0.01, 16, 0.0, 0.0, False)
    net = build_network(4, 2, config, "classification", 0)
    assert {(b.src, b.dst) for b in net.plan.blocks} == blocks
    sizes = {0: 4, 1: 5, 2: 3, 3: 2}
    weights = sum(sizes[s] * sizes[d] for s, d in blocks)
    assert net.n_params == weights + 5 + 3 + 2  # plus one bias arc per processing neuron
    assert [net.activation_of(j) for j in (5, 10, 13)] == ["relu", "tanh", "softmax"]


def test_epoch_by_epoch_training_equals_one_long_run(iris):
    X, y = iris
    Y = np.eye(3)[y]

    def net():
        return dn.Network.layered([4, 8, 3], hidden="relu", output="softmax", random_state=0)

    kw = {"loss": "cross_entropy", "batch_size": 16, "dropout": 0.2, "l2": 1e-3}
    whole = net()
    dn.train(whole, X, Y, epochs=4, optimizer=optimizers.adam(0.01),
             random_state=np.random.default_rng(5), **kw)
    stepped, rng, opt = net(), np.random.default_rng(5), carried(optimizers.adam(0.01))
    for _ in range(4):
        dn.train(stepped, X, Y, epochs=1, optimizer=opt, random_state=rng, **kw)
    assert np.array_equal(whole.params, stepped.params)
    # a fresh Adam state every epoch would be another run
    restarted, rng = net(), np.random.default_rng(5)
    for _ in range(4):
        dn.train(restarted, X, Y, epochs=1, optimizer=optimizers.adam(0.01),
                 random_state=rng, **kw)
    assert not np.array_equal(whole.params, restarted.params)


def test_regression_outputs_are_in_target_units():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (80, 3))
    y = 50.0 + 20.0 * X[:, 0] - 7.0 * X[:, 1] ** 2
    problem, classes = make_problem(X, y, None, 3, 0)
    assert problem.task == "regression" and classes is None
    config = Config((8,), ("tanh",), "inputs", "adam", 0.02, 16, 0.0, 0.0, False)
    fit = Fit(problem, config, np.arange(80), np.random.SeedSequence(0))
    for _ in range(30):
        fit.epoch()
    net = fit.unscaled_network()
    np.testing.assert_allclose(net.predict(X), fit.predict(X), rtol=1e-12)
    assert np.mean((net.predict(X)[:, 0] - y) ** 2) < 0.5 * np.var(y)


# ------------------------------------------------------------------ searches
@pytest.mark.slow
def test_digits_search_improves_on_its_worst_trial(digits, tmp_path):
    X, y = digits
    res = dn.search(X, y, n_trials=8, epochs=6, storage=":memory:", subsample=(0.5, 3),
                    random_state=0, out=tmp_path / "best.deltanet", plots=tmp_path / "plots")
    done = res.study.get_trials(states=(TrialState.COMPLETE,))
    accuracies = [1 - t.value for t in done]
    assert len(finished(res.study)) == 8
    assert res.best_score == max(accuracies) >= 0.9
    assert res.best_score - min(accuracies) >= 0.1  # the search found something better
    early = [t.user_attrs["subsample"] for t in res.study.trials]
    assert early[:3] == [0.5] * 3 and set(early[3:]) == {1.0}
    # the best network, retrained on all rows, is saved and predicts well
    net, meta = dn.io.read_model(res.model_path)
    assert np.array_equal(net.params, res.network.params)
    assert meta["search"]["trial"] == res.best_trial.number
    assert np.mean(net.predict(X).argmax(axis=1) == y) >= 0.9
    assert set(res.plots) == {"history", "importances"}
    assert all((tmp_path / "plots" / f"{k}.png").stat().st_size > 1000 for k in res.plots)


def test_same_seed_sequential_gives_the_same_trials(iris):
    X, y = iris
    runs = [dn.search(X, y, n_trials=5, epochs=4, storage=":memory:", random_state=3)
            for _ in range(2)]
    a, b = (r.study.trials for r in runs)
    assert [t.params for t in a] == [t.params for t in b]
    assert [t.values for t in a] == [t.values for t in b]
    assert [t.state for t in a] == [t.state for t in b]
    assert np.array_equal(runs[0].network.params, runs[1].network.params)
    other = dn.search(X, y, n_trials=5, epochs=4, storage=":memory:", random_state=4)
    assert [t.params for t in other.study.trials] != [t.params for t in a]


@pytest.mark.parametrize("pruner", ["median", "hyperband"])
def test_pruned_trials_are_marked_and_cost_fewer_epochs(digits, pruner):
    X, y = digits
    space = {"lr": (1e-5, 0.3, "log"), "n_groups": (1, 2), "width": (8, 32, "log")}
    res = dn.search(X, y, n_trials=12, epochs=8, space=space, pruner=pruner,
                    storage=":memory:", random_state=0)
    pruned = res.study.get_trials(states=(TrialState.PRUNED,))
    complete = res.study.get_trials(states=(TrialState.COMPLETE,))
    assert pruned and complete
    assert all(t.user_attrs["epochs"] < 8 for t in pruned)
    assert all(t.user_attrs["epochs"] == 8 for t in complete)
    assert all(len(t.intermediate_values) == t.user_attrs["epochs"] for t in pruned)
    assert all("pruned after epoch" in t.user_attrs["stopped"] for t in pruned)


def test_two_objectives_give_a_pareto_front(iris, tmp_path):
    X, y = iris
    res = dn.search(X, y, n_trials=8, epochs=4, sampler="nsga2", objectives="error,params",
                    storage=":memory:", plots=tmp_path)
    front = res.pareto
    assert front and res.best_trial.number == front[0]["number"]
    done = res.study.get_trials(states=(TrialState.COMPLETE,))
    for point in front:  # nobody beats a front trial on both objectives
        assert not any((t.values[0] <= point["error"] and t.values[1] < point["n_params"])
                       or (t.values[0] < point["error"] and t.values[1] <= point["n_params"])
                       for t in done)
    assert [p["error"] for p in front] == sorted(p["error"] for p in front)
    assert {"history", "pareto"} <= set(res.plots)
    with pytest.raises(ValueError, match="pruning needs a single objective"):
        dn.search(X, y, objectives=("error", "params"), pruner="median", storage=":memory:")


def test_grid_search_visits_each_point_once(iris):
    X, y = iris
    space = {"n_groups": 1, "width": [4, 8], "activation": ["tanh", "relu"],
             "skip": "none", "optimizer": "adam", "lr": 0.05, "batch_size": 16, "l2": 1e-4,
             "dropout": 0.0, "batch_norm": False}
    res = dn.search(X, y, n_trials=10, epochs=2, sampler="grid", space=space,
                    storage=":memory:", pruner=None)
    points = sorted((t.params["width"], t.params["activation"]) for t in res.study.trials)
    assert points == [(4, "relu"), (4, "tanh"), (8, "relu"), (8, "tanh")]  # then it stops
    assert res.best_params["optimizer"] == "adam" and res.best_params["lr"] == 0.05


@pytest.mark.reliability(
    area="crash safety",
    fault="a search run again on its storage, and with other settings",
    how="deltanet.search twice on one SQLite file",
    result="resumes without replaying trials; other settings refused")
def test_a_stored_search_resumes_and_refuses_other_settings(iris, tmp_path):
    X, y = iris
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = dn.search(X, y, n_trials=3, epochs=3, storage=url, study_name="s")
    before = [(t.number, t.params, t.values) for t in finished(first.study)]
    again = dn.search(X, y, n_trials=5, epochs=3, storage=url, study_name="s")
    after = [(t.number, t.params, t.values) for t in finished(again.study)]
    assert len(after) == 5 and after[:3] == before
    assert len({str(p) for _, p, _ in after}) == 5  # the sampler did not replay its draws
    same = dn.search(X, y, n_trials=5, epochs=3, storage=url, study_name="s")
    assert len(same.study.trials) == 5  # nothing left to run
    with pytest.raises(ValueError, match="was started with epochs=3, not 4"):
        dn.search(X, y, n_trials=5, epochs=4, storage=url, study_name="s")


@pytest.mark.slow
def test_local_processes_share_the_study(digits, tmp_path):
    X, y = digits  # trials long enough (about a second) for both processes to take some
    url = f"sqlite:///{tmp_path / 'p.db'}"
    seen = []
    res = dn.search(X, y, n_trials=4, epochs=4, storage=url, n_jobs=2, pruner=None,
                    space={"n_groups": 1, "width": (16, 32)}, callbacks=[seen.append])
    assert len(finished(res.study)) == 4
    assert sorted(r["number"] for r in seen) == [0, 1, 2, 3]
    workers = {t.user_attrs["worker"] for t in res.study.trials}
    assert len(workers) == 2


@pytest.mark.reliability(
    area="library input",
    fault="bad search arguments: sampler, pruner, objectives, jobs with Dask or memory, "
          "folds, subsample, storage URL",
    how="deltanet.search",
    result="ValueError")
@pytest.mark.parametrize("kwargs, message", [
    ({"sampler": "cmaes"}, "unknown sampler"),
    ({"pruner": "mean"}, "did you mean 'median'"),
    ({"objectives": "params"}, "must be \\('error',\\)"),
    ({"n_jobs": 2, "dask": "tcp://127.0.0.1:1"}, "give n_jobs or dask"),
    ({"n_jobs": 2}, "in-memory storage cannot be shared"),
    ({"cv": 60}, "has 50 examples, fewer than the 60"),
    ({"subsample": 1.5}, "subsample must be < 1"),
    ({"storage": "not a url"}, "storage is not a database URL"),
])
def test_bad_arguments_are_one_line_errors(iris, kwargs, message):
    X, y = iris
    kwargs = {"storage": ":memory:", **kwargs}
    with pytest.raises(ValueError, match=message):
        dn.search(X, y, n_trials=1, epochs=1, **kwargs)


def test_search_is_exported_and_callable(iris):
    import deltanet.search.space  # noqa: F401  (importing the package first changes nothing)

    assert callable(dn.search) and dn.search.DEFAULT_SPACE["n_groups"] == (1, 3)
    X, y = iris
    res = dn.search(X, y, n_trials=1, epochs=1, storage=":memory:")
    assert isinstance(res, dn.search.SearchResult)
    assert res.to_dict()["trials"]["complete"] == 1
    assert optuna.logging.get_verbosity() == optuna.logging.INFO  # restored
