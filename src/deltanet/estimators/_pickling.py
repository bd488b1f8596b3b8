"""Pickling of the estimators: the fitted ``network_`` travels as its safe-format parts.

A :class:`~deltanet.network.Network` holds functions (its activations), so the pickle keeps
what :func:`~deltanet.io.network_to_parts` writes (a spec and arrays) and rebuilds the
network on unpickling, checking every field as a model file is checked.
"""

from __future__ import annotations

import numpy as np

from ..io import network_from_parts, network_to_parts
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
