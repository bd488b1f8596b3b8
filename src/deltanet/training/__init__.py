"""NEURALNETTRAIN and everything around it (layer 5): ``train()``, its settings, history,
callbacks and checkpoints.

=================  ==========================================================
``api``            ``train()``: settings built once, then the loop
``settings``       ``Settings``: every keyword argument of ``train()``, checked
``run``            ``Run``: the state of one run, and ``prepare`` which builds it
``loop``           NEURALNETTRAIN: the epoch loop (the engine runs the batches)
``spans``          several epochs per engine call when nothing runs between them
``monitors``       the run's own callbacks: diagnostics, best epoch, early stopping,
                   plateau, ``tol``/``error_tol``, checkpoints
``callbacks``      ``Callback``, ``StopTraining``, the user's callbacks, progress bar
``history``        ``History``, ``TrainingError``
``checkpoints``    the checkpoint file (``deltanet.checkpoint`` is its old name)
``resume``         the fingerprint of a run, and resuming from a checkpoint
``optimizer``      the optimizer by name, its schedule and learning rates
``data``           validation split, class and sample weights, loss/output check
``metrics``        metrics per epoch and the validation cost
``diagnostics``    what ``diagnostics=True`` records per epoch
=================  ==========================================================
"""

from .api import train
from .callbacks import Callback, StopTraining
from .data import compute_class_weight
from .history import History, TrainingError

__all__ = ["Callback", "History", "StopTraining", "TrainingError", "compute_class_weight",
           "train"]
