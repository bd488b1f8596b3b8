"""``Network``: the lecture's ``N = (V, A)`` over compiled dense blocks.

Neuron 0 is the bias unit (``a_0 = 1``), neurons ``1..p`` are the inputs, and the processing
neurons follow, numbered so that every arc ``(i, j)`` has ``i < j`` (seed 002, Lecture
07-1b). Any DAG is allowed: skip arcs, missing arcs, chains, several outputs.

The weights live once, in ``net.params`` (a flat vector); ``net.weights[i, j]`` is a thin
index over it, and the compiled plan (``net.plan``) views it as dense blocks.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from . import activations
from . import init as _init
from ._arcs import WeightIndex, sorted_arcs, validate_arcs
from ._initialize import initialize_params
from ._memory import aligned_copy, aligned_zeros, check_fits
from ._plan import Plan, compile_plan, uses
from ._validation import check_number, check_random_state, fail
from .activations import Activation

#: bytes a network holds per arc besides its weight: the arc (i, j), the weight-decay mask,
#: and the temporaries of building it
_BYTES_PER_ARC = 48


class Network:
    """A feed-forward network ``N = (V, A)`` in the lecture's numbering.

    Parameters
    ----------
    n_inputs : int
        Number of input neurons ``p`` (neurons ``1..p``).
    arcs : iterable of (i, j)
        Arcs ``(i, j)`` with ``i < j``; ``(0, j)`` is the bias arc of neuron ``j``.
    activation : str or mapping
        One activation name for every processing neuron, or ``{neuron: name}`` for all.
    outputs : sequence of int, optional
        Output neurons, in the order of the target columns. Default: processing neurons
        without an outgoing arc.
    bias : bool
        Add the bias arc ``(0, j)`` to every processing neuron (the lecture's default).
    batch_norm : bool or iterable of int
        Batch-normalise the outputs of hidden groups (all, or the given layer indices).
    init : str, float or Initializer
        ``"glorot"`` (default), ``"he"``, ``"rand"`` = RAND(−0.1, 0.1),
        ``deltanet.init.rand(eps)`` or ``deltanet.init.constant(c, bias=...)``.
    random_state : int or numpy.random.Generator, optional
    dtype : numpy float dtype, float64 by default (float32 for speed).

    Examples
    --------
    Seed 002's 2-2-1 network, ``x = (3, 4)``:

    >>> net = Network(2, [(1, 3), (2, 3), (1, 4), (2, 4), (3, 5), (4, 5)], "logistic")
    >>> for (i, j), w in {(0, 3): 5, (1, 3): 1, (2, 3): -2, (0, 4): 3, (1, 4): -4,
    ...                   (2, 4): 2, (0, 5): -1, (3, 5): 4, (4, 5): 2}.items():
    ...     net.weights[i, j] = w
    >>> round(float(net.forward([3.0, 4.0])[0]), 2)
    0.82
    """

    def __init__(
        self,
        n_inputs: int,
        arcs: Iterable[tuple[int, int]],
        activation: str | Mapping[int, str] = "logistic",
        *,
        outputs: Sequence[int] | None = None,
        bias: bool = True,
        batch_norm: bool | Iterable[int] = False,
        init: Any = "glorot",
        random_state: Any = None,
        dtype: Any = np.float64,
    ) -> None:
        n_inputs = int(check_number("n_inputs", n_inputs, low=1, integer=True))
        src, dst = validate_arcs(n_inputs, arcs)
        self._build(n_inputs, src, dst, activation, outputs=outputs, bias=bias,
                    batch_norm=batch_norm, init=init, random_state=random_state, dtype=dtype)

    def _build(self, n_inputs: int, src: np.ndarray, dst: np.ndarray, activation: Any, *,
               outputs: Any, bias: bool, batch_norm: Any, init: Any, random_state: Any,
               dtype: Any, depth: np.ndarray | None = None) -> None:
        """Everything after the arcs are known to be well-formed (linear in neurons + arcs);
        ``depth``: every neuron's depth, when a caller has worked it out already."""
        self.dtype = _check_dtype(dtype)
        n_neurons = int(max(dst.max(), n_inputs)) + 1
        has_in = np.zeros(n_neurons, dtype=bool)
        has_in[dst] = True
        if not has_in[n_inputs + 1:].all():
            j = n_inputs + 1 + int(np.argmin(has_in[n_inputs + 1:]))
            fail(f"processing neuron {j} has no incoming arc", j,
                 "give it an arc, or number the neurons without gaps")
        if bias:
            has_bias = np.zeros(n_neurons, dtype=bool)
            has_bias[dst[src == 0]] = True
            missing = np.flatnonzero(~has_bias[n_inputs + 1:]) + n_inputs + 1
            src = np.concatenate([src, np.zeros(len(missing), dtype=np.int64)])
            dst = np.concatenate([dst, missing])
        self._src, self._dst = sorted_arcs(src, dst, n_neurons)
        self.n_inputs = n_inputs
        self._act_of = _resolve_activations(activation, n_inputs, n_neurons)
        self.outputs = _resolve_outputs(outputs, n_inputs, n_neurons, self._src)
        self._check_softmax()
        self.plan: Plan = compile_plan(n_inputs, n_neurons, self._src, self._dst,
                                       self._act_of, self.outputs, batch_norm, depth)
        self._check_softmax_groups()
        self.params = aligned_zeros(self.plan.n_params, self.dtype)
        self.bn_state: dict[int, tuple[np.ndarray, np.ndarray]] = {
            g.layer: (np.zeros(g.size, self.dtype), np.ones(g.size, self.dtype))
            for g in self.plan.groups if g.batch_norm}
        self.initialize(init, random_state)

    # ---------------------------------------------------------------- construction
    @classmethod
    def layered(
        cls,
        sizes: Sequence[int],
        hidden: str | Activation | Sequence[str | Activation] = "logistic",
        output: str | Activation = "logistic",
        *,
        init: Any = "glorot",
        random_state: Any = None,
        dtype: Any = np.float64,
        batch_norm: bool = False,
    ) -> Network:
        """A fully connected feed-forward network, e.g. ``Network.layered([2, 3, 1])``.

        ``hidden`` is one activation for every hidden layer or a list, one per layer.
        """
        sizes = [int(check_number("layer size", s, low=1, integer=True)) for s in sizes]
        if len(sizes) < 2:
            fail("layered needs at least an input and an output size", sizes,
                 "e.g. Network.layered([2, 3, 1])")
        n_hidden = len(sizes) - 2
        acts = ([hidden] * n_hidden if isinstance(hidden, (str, activations.Activation))
                else list(hidden))
        if len(acts) != n_hidden:
            fail(f"hidden has {len(acts)} activations for {n_hidden} hidden layers", hidden,
                 "give one name, or one per hidden layer")
        n_arcs = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
        check_fits(f"Network.layered({sizes})", n_arcs,
                   _BYTES_PER_ARC + np.dtype(dtype).itemsize, f"{n_arcs:,} arcs",
                   "use smaller layers")
        first = np.cumsum([1, *sizes])[:-1]  # first neuron number of each layer
        src, dst, act_map = [], [], {}
        for k in range(1, len(sizes)):  # arcs in (j, i) order, bias arc first: no sort
            s = np.arange(first[k - 1], first[k - 1] + sizes[k - 1])
            d = np.arange(first[k], first[k] + sizes[k])
            src.append(np.tile(np.concatenate([[0], s]), len(d)))
            dst.append(np.repeat(d, len(s) + 1))
            name = output if k == len(sizes) - 1 else acts[k - 1]
            act_map.update(dict.fromkeys(d.tolist(), name))
        net = cls.__new__(cls)
        net._build(sizes[0], np.concatenate(src), np.concatenate(dst), act_map, outputs=None,
                   bias=True, batch_norm=batch_norm, init=init, random_state=random_state,
                   dtype=dtype)
        return net

    def initialize(self, init: Any = "glorot", random_state: Any = None) -> Network:
        """Draw fresh weights (block by block, in plan order) from ``init``."""
        initialize_params(self.plan, self.params, self._src, self._dst, _init.get(init),
                          check_random_state(random_state))
        return self

    def _check_softmax(self) -> None:
        if not uses(self._act_of, "softmax"):
            return
        soft = [j for j, a in self._act_of.items() if a.name == "softmax"]
        hidden = sorted(set(soft) - set(self.outputs))
        if hidden:
            fail("softmax is only supported on output neurons", hidden,
                 "use softmax for the outputs and another activation for hidden neurons")

    def _check_softmax_groups(self) -> None:
        # softmax normalises over the neurons computed together: the plan makes every
        # softmax output one group (_plan.softmax_depths), which needs two neurons or more
        groups = [g for g in self.plan.groups if g.activation.name == "softmax"]
        if groups and groups[0].size < 2:
            fail("softmax needs at least two output neurons (one per class)",
                 groups[0].neurons.tolist(),
                 "use a logistic output with log_loss for two classes and one output")

    # ---------------------------------------------------------------- lecture view
    @property
    def weights(self) -> WeightIndex:
        return WeightIndex(self)

    @property
    def arcs(self) -> list[tuple[int, int]]:
        return list(zip(self._src.tolist(), self._dst.tolist(), strict=True))

    @property
    def arc_array(self) -> np.ndarray:
        """The arcs as an ``(m, 2)`` integer array, sorted by ``(j, i)`` (a copy)."""
        return np.stack([self._src, self._dst], axis=1)

    @property
    def n_neurons(self) -> int:
        """``n + 1``: the bias unit, the inputs and the processing neurons."""
        return self.plan.n_neurons

    @property
    def n_outputs(self) -> int:
        return len(self.outputs)

    @property
    def n_params(self) -> int:
        """Number of trainable parameters: arcs (bias arcs included) and γ, β."""
        n_bn = sum(2 * g.size for g in self.plan.groups if g.batch_norm)
        return len(self._src) + n_bn

    def activation_of(self, j: int) -> str:
        if j not in self._act_of:
            fail(f"neuron {j} is not a processing neuron", j,
                 f"processing neurons are {self.n_inputs + 1}..{self.n_neurons - 1}")
        return self._act_of[j].name

    def incoming(self, j: int) -> list[int]:
        """Neurons ``i`` with ``(i, j) ∈ A`` (0 first when ``j`` has a bias arc)."""
        return self._src[self._dst == j].tolist()

    def downstream(self, j: int) -> list[int]:
        """Neurons ``j'`` with ``(j, j') ∈ A``."""
        return self._dst[self._src == j].tolist()

    # ---------------------------------------------------------------- computation
    # The passes live in deltanet.propagation (layer 3), which binds them here when it loads
    # (deltanet's __init__ loads it): a network cannot import them (layers go one way).
    def forward(self, X: Any, *, training: bool = False) -> np.ndarray:
        """FORWARDPROPAGATE: the outputs ``h(x)`` for a batch ``(n, p)`` or one example
        (:func:`deltanet.propagation.predict`)."""
        return _passes().predict(self, X, training=training)

    predict = forward

    def backprop(self, X: Any, Y: Any, loss: Any = "squared_error", **kwargs: Any):
        """BACKPROPAGATE: every ``in_j``, ``a_j``, ``Δ_j`` and ``∂J/∂w_ij`` (a Trace); see
        :func:`deltanet.propagation.backprop` (``dropout`` is applied whenever given)."""
        return _passes().backprop(self, X, Y, loss=loss, **kwargs)

    def step(self, X: Any, Y: Any, lr: float = 0.1, loss: Any = "squared_error",
             **kwargs: Any):
        """One gradient-descent update ``w_ij ← w_ij − α ∂J/∂w_ij`` on the given examples.

        ``kwargs`` go to :meth:`backprop` (``sample_weight``, ``l2``, ``l1``, ``training``,
        ``dropout``, ...). With batch normalisation a step is a training step, like one update
        of :func:`deltanet.train`: ``training`` defaults to True, so ``â`` uses the batch's
        ``μ_B, σ²_B`` (a ValueError for a single example, which has no batch statistics),
        and the running statistics move towards them
        (:func:`deltanet.batchnorm.update_bn_stats`). ``training=False`` uses the running
        statistics and leaves them as they are.

        Returns the Trace computed before the update (:func:`deltanet.propagation.step`).
        """
        return _passes().step(self, X, Y, lr=lr, loss=loss, **kwargs)

    def copy(self) -> Network:
        """An independent copy (parameters and batch-norm statistics)."""
        new = object.__new__(Network)
        new.__dict__.update(self.__dict__)
        new.params = aligned_copy(self.params)
        new.bn_state = {k: (m.copy(), v.copy()) for k, (m, v) in self.bn_state.items()}
        return new

    def astype(self, dtype: Any) -> Network:
        """A copy with parameters in ``dtype`` (float32 or float64)."""
        new = self.copy()
        new.dtype = _check_dtype(dtype)
        new.params = aligned_copy(self.params, new.dtype)
        new.bn_state = {k: (m.astype(new.dtype), v.astype(new.dtype))
                        for k, (m, v) in self.bn_state.items()}
        return new

    # ---------------------------------------------------------------- display
    def summary(self) -> str:
        """A readable table: layers/groups, activations, neurons, parameters."""
        lines = [f"Network: {self.n_inputs} inputs, {self.n_neurons - 1 - self.n_inputs} "
                 f"processing neurons, {len(self._src)} arcs, {self.n_params} parameters, "
                 f"{len(self.plan.groups)} groups, {np.dtype(self.dtype).name}",
                 f"  layer 0  inputs    neurons {_span(np.arange(1, self.n_inputs + 1))}"]
        for g in self.plan.groups:
            srcs = ", ".join(str(b.src) + ("*" if b.mask is not None else "")
                             for b in self.plan.blocks_in[g.layer - 1])
            role = "output" if g.is_output else "hidden"
            bn = " +batchnorm" if g.batch_norm else ""
            lines.append(f"  layer {g.layer}  {role:<7} depth {g.depth}  "
                         f"{g.activation.name:<9} neurons {_span(g.neurons)}  from layers "
                         f"[{srcs}]{bn}")
        if any(b.mask is not None for b in self.plan.blocks):
            lines.append("  (* = sparse block: some arcs absent)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        layers = self.plan.layer_sizes()
        sizes = "-".join(map(str, layers if len(layers) <= 12 else layers[:6]))
        if len(layers) > 12:  # a deep network: the first layers and the count
            sizes += f"-...-{layers[-1]} ({len(layers) - 1} groups)"
        acts = ",".join(dict.fromkeys(g.activation.name for g in self.plan.groups))
        return (f"Network(n_inputs={self.n_inputs}, neurons={self.n_neurons}, "
                f"arcs={len(self._src)}, groups={sizes}, activations={acts}, "
                f"params={self.n_params})")


class _Passes(NamedTuple):
    predict: Callable
    backprop: Callable
    step: Callable


_BOUND: list[_Passes] = []


def bind_passes(predict: Callable, backprop: Callable, step: Callable) -> None:
    """Called by :mod:`deltanet.propagation` as it loads: the functions behind
    ``Network.forward``, ``backprop`` and ``step``."""
    _BOUND[:] = [_Passes(predict, backprop, step)]


def _passes() -> _Passes:
    if not _BOUND:
        fail("the forward and backward passes are not loaded", "deltanet.network",
             "import deltanet (or deltanet.propagation) before running a network",
             RuntimeError)
    return _BOUND[0]


def _span(neurons: np.ndarray) -> str:
    n = neurons.tolist()
    if len(n) > 2 and n == list(range(n[0], n[-1] + 1)):
        return f"{n[0]}..{n[-1]}"
    return ",".join(map(str, n[:10])) + ("..." if len(n) > 10 else "")


def _check_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        fail("dtype must be float32 or float64", dtype, "pass numpy.float32 or numpy.float64")
    return dt


def _resolve_activations(activation: Any, n_inputs: int,
                         n_neurons: int) -> dict[int, activations.Activation]:
    processing = range(n_inputs + 1, n_neurons)
    if isinstance(activation, (str, activations.Activation)):
        return dict.fromkeys(processing, activations.get(activation))
    if not isinstance(activation, Mapping):
        fail("activation must be a name or a {neuron: name} mapping", activation,
             f"e.g. 'logistic' or {{{n_inputs + 1}: 'relu'}}")
    if len(activation) != len(processing) or not all(map(processing.__contains__,
                                                             activation)):
        fail("the activation mapping must name every processing neuron and no other",
             {"missing": [j for j in processing if j not in activation][:8],
              "not processing": [j for j in activation if j not in processing][:8]},
             f"give an activation for each of neurons {n_inputs + 1}..{n_neurons - 1}")
    values = list(map(activation.__getitem__, processing))
    ids = list(map(id, values))
    by_id, by_name = {}, {}  # each object, and each name, looked up once
    for key, value in dict(zip(ids, values, strict=True)).items():
        if isinstance(value, str):
            by_name.setdefault(value, activations.get(value))
        by_id[key] = by_name[value] if isinstance(value, str) else activations.get(value)
    return dict(zip(processing, map(by_id.__getitem__, ids), strict=True))


def _resolve_outputs(outputs: Any, n_inputs: int, n_neurons: int, src: np.ndarray):
    if outputs is None:
        feeds = np.zeros(n_neurons, dtype=bool)
        feeds[src] = True
        return tuple((np.flatnonzero(~feeds[n_inputs + 1:]) + n_inputs + 1).tolist())
    outs = tuple(int(j) for j in outputs)
    bad = [j for j in outs if not n_inputs < j < n_neurons]
    if bad or not outs or len(set(outs)) != len(outs):
        fail("outputs must be distinct processing neurons", outputs,
             f"choose among neurons {n_inputs + 1}..{n_neurons - 1}")
    return outs
