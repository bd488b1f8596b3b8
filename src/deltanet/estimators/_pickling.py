"""Pickling of the estimators: the fitted ``network_`` travels as its safe-format parts.

A :class:`~deltanet.network.Network` holds functions (its activations), so the pickle keeps
what :func:`~deltanet.io.network_to_parts` writes (a spec and arrays) and rebuilds the
network on unpickling, checking every field as a model file is checked.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from .. import activations
from .._validation import fail
from ..activations import Activation
from ..io import network_from_parts, network_to_parts
from ..losses import Loss
from ..network import Network


class NetworkPickling:
    """Mixin giving ``__getstate__``/``__setstate__`` to an estimator with ``network_``.

    Put it before ``BaseEstimator`` in the bases; a subclass may override
    :meth:`_restored` to adjust the rebuilt network.
    """

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # a copy: never change the instance
        net = state.pop("network_", None)
        if net is not None:
            spec, arrays = network_to_parts(net)
            state["_network_parts"] = (spec, {k: np.array(v) for k, v in arrays.items()})
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        parts = state.pop("_network_parts", None)
        super().__setstate__(state)
        if parts is not None:
            self.network_ = self._restored(
                network_from_parts(parts[0], parts[1], type(self).__name__))

    def _restored(self, net: Network) -> Network:
        """The network rebuilt from a pickle, as the estimator uses it (here: unchanged)."""
        return net


def check_picklable(est: Any) -> None:
    """An estimator pickles its activations by name: a user's activation must be
    registered (here and where the pickle is loaded); a user's loss must pickle."""
    acts = est.activation if isinstance(est.activation, (list, tuple)) else [est.activation]
    for a in acts:
        if isinstance(a, Activation) and activations.ACTIVATIONS.get(a.name) is not a:
            fail(f"an estimator with your own activation {a.name!r} pickles it by name", a,
                 "call deltanet.activations.register(...) on it before pickling and before "
                 "unpickling", pickle.PicklingError)
    if isinstance(est.loss, Loss):
        try:
            pickle.dumps(est.loss)
        except (pickle.PicklingError, AttributeError, TypeError) as err:
            fail(f"the loss {est.loss.name!r} cannot be pickled ({err})", est.loss,
                 "define f and df_da as module-level functions (not lambdas), or "
                 "deltanet.losses.register(...) it before pickling and before unpickling",
                 pickle.PicklingError)
