"""Bad input gets a ValueError that names the problem and the fix."""

from __future__ import annotations

import numpy as np
import pytest

import deltanet as dn


@pytest.fixture
def net():
    return dn.Network.layered([2, 3, 1], random_state=0)


@pytest.mark.reliability(
    area="library input",
    fault="network inputs of the wrong shape, NaN or inf, empty, non-numeric",
    how="net.forward",
    result="ValueError naming the expected shape and the fix")
@pytest.mark.parametrize("X,match", [
    (np.ones((4, 3)), r"has 3 columns but the network expects 2.*shape \(n, 2\)"),
    (np.ones(3), r"one example must have 2 values"),
    (np.ones((2, 2, 2)), r"must have 1 or 2 dimensions"),
    (np.array([[1.0, np.nan]]), r"NaN or infinite.*remove or impute"),
    (np.array([[1.0, np.inf]]), r"NaN or infinite"),
    (np.zeros((0, 2)), r"X is empty"),
    ([["a", "b"]], r"X must be numeric"),
])
def test_bad_inputs(net, X, match):
    with pytest.raises(ValueError, match=match):
        net.forward(X)


@pytest.mark.reliability(
    area="library input",
    fault="targets that do not fit the outputs: labels for softmax, wrong shape, negative, "
          "outside [0, 1], NaN",
    how="net.backprop",
    result="ValueError saying how to code the targets")
def test_labels_that_do_not_fit_the_outputs():
    net = dn.Network.layered([2, 3, 3], output="softmax", random_state=0)
    X = np.ones((4, 2))
    with pytest.raises(ValueError, match=r"one label per example.*3 outputs.*one_hot"):
        net.backprop(X, [0, 1, 2, 1], loss="cross_entropy")
    with pytest.raises(ValueError, match=r"expected 4 x 3 values"):
        net.backprop(X, np.ones((4, 2)), loss="cross_entropy")
    with pytest.raises(ValueError, match=r"non-negative targets"):
        net.backprop(X, -np.eye(3)[[0, 1, 2, 0]], loss="cross_entropy")
    binary = dn.Network.layered([2, 2, 1], random_state=0)
    with pytest.raises(ValueError, match=r"log_loss needs targets in \[0, 1\]"):
        binary.backprop(X, [0, 1, 2, 1], loss="log_loss")
    with pytest.raises(ValueError, match=r"Y contains NaN"):
        binary.backprop(X, [0, np.nan, 1, 1])


@pytest.mark.reliability(
    area="library input",
    fault="misspelt activation, loss and init names",
    how="Network.layered, backprop",
    result="ValueError with 'did you mean' and the valid names")
def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown activation.*did you mean 'logistic'.*"
                                         r"valid names are: .*relu.*softmax"):
        dn.Network.layered([2, 2, 1], hidden="logistc")
    with pytest.raises(ValueError, match=r"unknown loss.*valid names are: .*cross_entropy"):
        dn.Network.layered([2, 2, 1]).backprop([0, 1], [1], loss="hinge")
    with pytest.raises(ValueError, match=r"unknown init.*valid names are"):
        dn.Network.layered([2, 2, 1], init="zeros")


@pytest.mark.reliability(
    area="library input",
    fault="arcs going backwards, into an input, listed twice, missing, malformed",
    how="dn.Network",
    result="ValueError naming the arc")
@pytest.mark.parametrize("arcs,match", [
    ([(3, 3)], r"goes backwards"),
    ([(4, 3)], r"arc \(4, 3\) goes backwards.*i < j"),
    ([(1, 2)], r"goes into an input neuron"),
    ([(1, 3), (1, 3)], r"listed twice"),
    ([(1, 4)], r"neuron 3 has no incoming arc"),
    ([], r"no arcs"),
    ([(1, 2, 3)], r"pairs of neuron numbers"),
    ([(-1, 3)], r"start at 0"),
])
def test_bad_arcs(arcs, match):
    with pytest.raises(ValueError, match=match):
        dn.Network(2, arcs)


@pytest.mark.reliability(
    area="library input",
    fault="inconsistent network options: activations, hidden softmax, outputs, dtype, "
          "unknown arc",
    how="dn.Network, net.weights",
    result="ValueError or KeyError naming the fix")
def test_bad_network_options():
    with pytest.raises(ValueError, match="must name every processing neuron"):
        dn.Network(2, [(1, 3), (2, 4), (3, 4)], {3: "relu"})
    with pytest.raises(ValueError, match="softmax is only supported on output neurons"):
        dn.Network(2, [(1, 3), (3, 4)], "softmax")
    with pytest.raises(ValueError, match="outputs must be distinct processing neurons"):
        dn.Network(2, [(1, 3)], outputs=[1])
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        dn.Network.layered([2, 1], dtype=np.int32)
    with pytest.raises(ValueError, match="hidden has 1 activations for 2 hidden layers"):
        dn.Network.layered([2, 3, 3, 1], hidden=["relu"])
    with pytest.raises(KeyError, match=r"\(1, 1\) is not an arc.*net.arcs"):
        dn.Network.layered([2, 1]).weights[1, 1]


@pytest.mark.reliability(
    area="library input",
    fault="epochs 0, negative lr, fractional batch size, sample_weight and Y of the wrong "
          "length",
    how="dn.train",
    result="ValueError naming the argument")
def test_bad_training_options(net):
    X, y = np.ones((4, 2)), np.ones(4)
    with pytest.raises(ValueError, match=r"epochs must be >= 1"):
        dn.train(net, X, y, epochs=0)
    with pytest.raises(ValueError, match=r"lr must be > 0"):
        dn.train(net, X, y, lr=-1)
    with pytest.raises(ValueError, match=r"batch_size must be a whole number"):
        dn.train(net, X, y, batch_size=2.5)
    with pytest.raises(ValueError, match=r"sample_weight has 3 entries for 4 examples"):
        dn.train(net, X, y, sample_weight=[1, 1, 1])
    with pytest.raises(ValueError, match=r"Y does not fit the outputs"):
        dn.train(net, X, np.ones(5))


@pytest.mark.reliability(
    area="numerics",
    fault="a cost that becomes NaN",
    how="dn.train on inputs of 1e100",
    result="TrainingError naming the epoch")
def test_nan_cost_stops_training_naming_the_epoch():
    net = dn.Network.layered([1, 4, 1], hidden="relu", output="identity", random_state=0)
    X = np.linspace(-1, 1, 20).reshape(-1, 1) * 1e100
    with pytest.raises(dn.TrainingError, match=r"the cost became (nan|inf) in epoch 1"):
        dn.train(net, X, X[:, 0], lr=1.0, epochs=5)


def test_softmax_outputs_must_form_one_group_of_two_or_more():
    # outputs at several depths form one group, so none of them may feed another neuron
    with pytest.raises(ValueError, match="softmax outputs at different depths are normalised "
                                         "together, so they cannot feed other neurons"):
        dn.Network(2, [(1, 3), (1, 4), (1, 5), (3, 5)], "softmax", outputs=[3, 4, 5])
    with pytest.raises(ValueError, match=r"softmax needs at least two output neurons.*log_loss"):
        dn.Network.layered([2, 1], output="softmax")
    net = dn.Network.layered([2, 3], output="softmax", random_state=0)
    assert net.forward([1.0, 2.0]).sum() == pytest.approx(1.0)


def test_cross_entropy_on_one_output_points_to_log_loss():
    net = dn.Network.layered([3, 4, 1], random_state=0)
    with pytest.raises(ValueError, match=r"cross_entropy needs one output per class.*log_loss"):
        dn.train(net, np.ones((4, 3)), [0, 1, 0, 1], loss="cross_entropy")


def test_weight_index_and_random_state_are_checked():
    net = dn.Network.layered([2, 1], random_state=0)
    with pytest.raises(ValueError, match="two neuron numbers"):
        net.weights[0.7, 3]
    with pytest.raises(ValueError, match="two neuron numbers"):
        net.weights["a", 3]
    with pytest.raises(ValueError, match="random_state must be None, an int"):
        dn.Network.layered([2, 1], random_state="a")


def test_saving_to_a_directory_says_to_name_a_file(tmp_path):
    with pytest.raises(ValueError, match="is a directory; give a file name"):
        dn.save(dn.Network.layered([2, 1], random_state=0), tmp_path)


def test_perceptron_train_refuses_other_layouts():
    X, y = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([0.0, 1.0])
    no_bias = dn.Network(2, [(1, 3), (2, 3)], "threshold", bias=False)
    with pytest.raises(ValueError, match="one threshold unit with a bias arc"):
        dn.perceptron_train(X, y, net=no_bias)
    logistic = dn.Network(2, [(1, 3), (2, 3)], "logistic")
    with pytest.raises(ValueError, match="one threshold unit"):
        dn.perceptron_train(X, y, net=logistic)


def test_zero_one_error_metric():
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    a = np.array([[0.9], [0.4], [0.2], [0.6]])
    assert dn.losses.zero_one_error(y, a) == 0.5  # two of four on the wrong side of 0.5
    Y = np.eye(3)[[0, 1, 2]]
    assert dn.losses.zero_one_error(Y, np.eye(3)[[0, 2, 2]]) == pytest.approx(1 / 3)
    net = dn.Network.layered([2, 3, 1], random_state=0)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    hist = dn.train(net, X, np.array([0, 1, 1, 1.0]), loss="log_loss", lr=1.0, epochs=300,
                    metric="zero_one", train_metric=True, random_state=0)
    assert hist.metric == "zero_one" and hist.train_metric[-1] == 0.0


@pytest.mark.parametrize("size", [1, 7, 4095, 4096, 4097, 50_000])
def test_check_finite_finds_one_bad_value_in_arrays_of_every_size(size):
    from deltanet._validation import NonFiniteError, check_finite

    rng = np.random.default_rng(size)
    for bad in (np.nan, np.inf, -np.inf):
        arr = rng.normal(size=size) * 1e300  # finite, but a sum would overflow
        check_finite("X", arr)
        at = int(rng.integers(size))
        arr[at] = bad
        with pytest.raises(NonFiniteError, match=rf"first at index \[{at}\]"):
            check_finite("X", arr)
