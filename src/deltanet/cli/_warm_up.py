"""The engine's one-off compilation, said and timed apart from training.

Numba compiles the engine the first time it runs on a machine (about 15 s; later processes
load it from the disk cache in well under a second). So that the first run does not look
frozen and its training time is not inflated by the compilation, :func:`warm_up` runs the
same engine for one epoch on a few rows before training: if that takes long, it says
"compiling the engine once (about N s)" while it waits, and its time is reported apart.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

from ..training.callbacks import Callback

#: the first compilation's usual length, said while waiting (README: Speed)
COMPILE_SECONDS = 15
#: a warm-up longer than this was a compilation (loading the cache takes well under it)
SLOW_SECONDS = 3.0


class _EveryEpoch(Callback):
    """A callback at every epoch end, as the progress bar is: the same engine path."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        return None


def warm_up(args: argparse.Namespace, data: Any, task: str, n_classes: int | None,
            show: bool) -> float:
    """Run the training engine of these options for one epoch on a copy of the network and
    a few rows (compiling it if this machine never has); return the seconds it took.

    With ``show``, a line on stderr says "compiling the engine once (about N s)" when the
    warm-up is still running after :data:`SLOW_SECONDS`.
    """
    import numpy as np

    import deltanet as dn

    from ._fit import build_network, output_layer, targets

    net = build_network(data.X_train.shape[1], args, task, n_classes)
    m = min(len(data.X_train), max(4, 2 * (args.batch_size or 2)))
    X = data.X_train[:m].astype(net.dtype)
    Y = targets(data.y_train[:m], task, n_classes)
    val = (X[:2], Y[:2]) if len(data.X_val) else None
    timer = threading.Timer(SLOW_SECONDS, _say_compiling) if show else None
    started = time.perf_counter()
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        with np.errstate(all="ignore"):
            dn.train(net, X, Y, loss=output_layer(task, n_classes)[2], optimizer=args.solver,
                     lr=args.lr, batch_size=args.batch_size or None, epochs=1, random_state=0,
                     l2=args.alpha, dropout=args.dropout or None, validation_data=val,
                     callbacks=[_EveryEpoch()])
    except (ValueError, dn.TrainingError):
        pass  # a few rows may not suit every option; the real run reports real problems
    finally:
        if timer is not None:
            timer.cancel()
    return time.perf_counter() - started


def _say_compiling() -> None:
    print(f"compiling the engine once (about {COMPILE_SECONDS} s); later runs load it from "
          "the cache", file=sys.stderr, flush=True)
