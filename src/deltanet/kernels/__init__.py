"""Training engines: a Numba-compiled per-example/small-batch kernel and a BLAS mini-batch loop.

``train(..., engine=)`` picks how an epoch runs; the result is the same to rounding:

* ``"numba"``: one compiled call per epoch, without Python in between and without
  allocating. Single examples, and batches of tiny networks or tiny data sets (see
  ``blas_batches``), loop over the examples of the permutation (:mod:`._sgd`; per-example
  plain SGD on a layered net runs a tighter epoch of its own, :mod:`._dense`); other
  mini-batches loop over the batches, their matrix products made by the BLAS ``?gemm``
  NumPy uses, called from the compiled code (:mod:`._blas`). Any DAG of the plan (blocks
  with masks, skip arcs, several output groups), every activation and loss of the lecture,
  sample weights, L2/L1 weight decay, ``optimizers.sgd`` with or without (Nesterov)
  momentum and ``optimizers.adam``, with learning-rate schedules; per-update callbacks get
  one compiled call per batch. Batch normalisation, dropout and other optimizers (Rprop,
  custom transforms) are not compiled: ``engine="numba"`` with one of them is a ValueError
  naming it.
* ``"numpy"``: mini-batches through BLAS from a Python loop with every buffer preallocated
  (:mod:`._minibatch`; ReLU and softmax/cross-entropy rows compiled, :mod:`._fused`), any
  optimizer; batch normalisation and dropout run on the reference passes of
  :mod:`deltanet.propagation` instead.
* ``"shaped"``: ``"numba"`` with a kernel compiled for this network's shape
  (:mod:`._shaped`): straight-line code, every weight in a register, the same results bit
  for bit. Only for tiny layered networks (``_shaped.MAX_PARAMS`` weights) trained by
  per-example plain SGD, anything else is a ValueError that says what it needs. The first
  run of a shape and dtype on a machine compiles its kernel (1 to 6 s); it is kept on disk
  (``DELTANET_CACHE_DIR``, else ``~/.cache/deltanet``), and from then on ``"numba"`` and
  ``"auto"`` take it too, on any network of that shape, in any process.
* ``"auto"`` (the default): ``"numba"`` when it supports everything asked for, else NumPy.
  (The compiled batch loop spends its time in the same products as the NumPy loop, without
  the forty-odd Python calls per update around them.)

Compiled code is cached on disk next to the sources (Numba's ``cache=True``; Numba falls
back to a user cache directory when that is read-only), so only the first process on a
machine pays the compilation (some 6 s of CPU per kernel and float dtype); later processes
load it in a fraction of a second. Numba is imported only when a fast engine runs.

Second compiled variants of the passes, each kept for a measured gain (µs per update or
per example, one thread, the command that measures it):

* per-example kernel (:mod:`._sgd`) vs BLAS batch loop (:mod:`._blas`): the BLAS loop for
  batches of 64-32-10 at 32 with Adam, 0.80 against 1.63 (2.0×), and of 784-64-10 at 4,
  5.5 against 15.7 (2.9×); the per-example kernel for XOR's four examples, 0.37 against
  3.74 (10×) (``bench/engine_crossover.py``; ``blas_batches`` encodes the rule);
* dense layered per-example SGD (:mod:`._dense`) vs the general kernel: on XOR 2-2-1, 0.148
  against 0.303 (2.05×; 64-32-10 logistic 1.079 against 1.298, 1.20×; 784-64-10 ReLU 13.1
  against 15.2, 1.16×; CPU time of the thread on a shared 2-core AMD EPYC, both kernels
  without reference counting) (``bench/kernel_variants.py``). It runs every layered plan
  with plain per-example SGD: it is the faster kernel on all three, and clears 1.3× on the
  tiny networks (XOR), where the general kernel's per-layer dispatch is most of an update;
* kernel of one shape (:mod:`._shaped`) vs the dense kernel, asked for (``engine="shaped"``)
  and then taken whenever compiled: 2-2-1 0.110 against 0.150 (1.36×), 2-6-1 0.172 against
  0.200 (1.16×), 4-8-3 0.236 against 0.218 (0.92×: hence ``_shaped.MAX_PARAMS``)
  (``bench/kernel_variants.py``). Compiling a kernel per shape takes a few seconds (once
  per machine), which pays only on the tiniest networks, so it is compiled only when asked
  for; a kernel is taken again only where it was compiled from the same definitions
  (``_shaped._origin``), and when Numba's own cache of it has gone (another Numba
  version, another CPU), its first run compiles it again, as for every kernel here.

Arithmetic order (no reassociation in the per-example kernels): :mod:`._sgd` and
:mod:`._dense` are compiled without fastmath, so no sum is reassociated and no ``a·b + c``
is contracted into a fused multiply-add; results are bit-for-bit the same from run to run,
and with one or several epochs per call. Where a loop is reordered for speed, the order is
explicit in the code and each sum keeps its order: the forward pass adds four rows of
``W`` per pass over ``in_``, still summing each ``in_j`` over ``i`` in turn (the same bits
as row by row); ``Δ Wᵀ`` runs four rows as four independent sums, each over ``j`` in turn.
Measured on AMD EPYC (``bench/run.py`` section a), Numba's ``fastmath`` does not speed up
the hand-written per-example loop (digits 64-32-10 1.05 against 1.08 µs per update,
XOR 2-2-1 0.073 against 0.075), and these kernels are faster than that fastmath loop on
digits, so reassociation would cost determinism and the bitwise agreement between the
two per-example kernels for nothing. The one reassociated sum is ``_sgd._penalty``, a
weight-decay cost that is only reported, never differentiated. The per-example kernels make
no arrays and are compiled without reference counting (``kernel(refcounts=False)``).

The compiled batch loop calls the ``?gemm`` of NumPy's own BLAS, so its products are those
of ``np.matmul``; deltanet never loads a second BLAS or changes the process environment.
"""

from __future__ import annotations

from typing import Any

from .._validation import check_choice, fail
from ._layout import ACTIVATION_CODES, LOSS_CODES
from ._optim import not_compiled

ENGINES = ("auto", "numpy", "numba", "shaped")

#: Batches of at least this many examples × weights go to the BLAS batch loop, when an
#: epoch holds at least ``BLAS_MIN_EPOCH_WORK`` of them (the loop costs one Python call per
#: epoch, about 15 µs, where the per-example kernel runs several epochs per call). From
#: ``bench/engine_crossover.py``, µs per example, per-example kernel / BLAS loop: 4-100-3
#: at batch 4 1.19/0.54, 64-32-10 at batch 2 1.60/0.93, 784-64-10 at batch 4 15.7/5.5 (SGD),
#: 64-32-10 at batch 32 1.63/0.80 (Adam); 2-8-1 on 200 examples at batch 4 0.42/0.46 and at
#: batch 8 0.41/0.37; XOR's four examples 0.37/3.74.
BLAS_MIN_BATCH_WORK = 250
BLAS_MIN_EPOCH_WORK = 5_000


def blas_batches(batch_size: int, n_examples: int, n_params: int) -> bool:
    """Whether the compiled engine runs batches of ``batch_size`` with the BLAS loop (else
    its per-example kernel): batches of two or more, big enough in examples × weights."""
    return (batch_size > 1 and batch_size * n_params >= BLAS_MIN_BATCH_WORK
            and n_examples * n_params >= BLAS_MIN_EPOCH_WORK)


def unsupported_features(net, loss, optimizer: Any, *, dropout: Any = None,
                         engine: str = "numba") -> list[str]:
    """What the fast ``engine`` ("numba" or "numpy") cannot run, in words; [] if nothing."""
    missing = []
    if any(g.batch_norm for g in net.plan.groups):
        missing.append("batch normalisation")
    if dropout:
        missing.append("dropout")
    if engine == "numba":
        acts = sorted({g.activation.name for g in net.plan.groups} - set(ACTIVATION_CODES))
        missing.extend(f"activation {name!r}" for name in acts)
        if loss.name not in LOSS_CODES:
            missing.append(f"loss {loss.name!r}")
        reason = not_compiled(optimizer)
        if reason is not None:
            missing.append(reason)
    return missing


def choose_engine(engine: str, net, loss, optimizer: Any, batch_size: int, *,
                  dropout: Any = None) -> str:
    """Resolve ``engine`` to ``"numba"``, ``"numpy"`` or ``"reference"`` (the plain passes).

    ``engine="numba"`` with a feature the kernel lacks raises a ValueError naming it.
    """
    engine = check_choice("engine", engine, ENGINES)
    kw = {"dropout": dropout}
    if engine in ("numba", "shaped"):
        missing = unsupported_features(net, loss, optimizer, engine="numba", **kw)
        if missing:
            fail(f"engine={engine!r} does not support {', '.join(missing)}", engine,
                 "use engine='auto' or 'numpy', which run these in NumPy")
        return engine
    if engine == "auto" and not unsupported_features(net, loss, optimizer, engine="numba", **kw):
        return "numba"
    if unsupported_features(net, loss, optimizer, engine="numpy", **kw):
        return "reference"
    return "numpy"


def make_runner(engine: str, net, X, Y, weights, batch_size: int, loss, optimizer: Any,
                l2: float, l1: float, decay_bias: bool, *, penalty_over_batch: bool = False,
                check_targets: bool = True):
    """The epoch runner of a resolved ``engine`` ("numba", "shaped" or "numpy"), ready
    for ``run``.

    ``penalty_over_batch`` (compiled engine only): each batch's penalty and its gradient are
    divided by the batch's size, as scikit-learn's ``α/(2·|B|) Σ w²`` (``l2`` = α/2).
    ``check_targets=False`` (compiled engine only): the kernels take any target (a caller
    that checks its own, or whose fallback loop takes what the loss does not).
    """
    from ._runners import BlasRunner, NumbaRunner, NumpyRunner

    if engine == "numpy":
        if penalty_over_batch:
            raise ValueError("penalty_over_batch needs the compiled engine")
        return NumpyRunner(net, X, Y, weights, batch_size, loss, optimizer, l2, l1, decay_bias)
    args = (net, X, Y, weights, batch_size, loss, optimizer, l2, l1, decay_bias,
            penalty_over_batch, check_targets)
    if engine == "shaped":
        return NumbaRunner(*args, shaped=True)
    if blas_batches(batch_size, X.shape[0], net.plan.n_params):
        return BlasRunner(*args)
    return NumbaRunner(*args)


__all__ = ["BLAS_MIN_BATCH_WORK", "BLAS_MIN_EPOCH_WORK", "ENGINES", "blas_batches",
           "choose_engine", "make_runner",
           "unsupported_features"]
