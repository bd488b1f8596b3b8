"""Architecture and hyper-parameter search (seed 002, Lecture 07-5c), built on Optuna.

>>> import deltanet as dn
>>> ds = dn.load_dataset("iris")
>>> res = dn.search(ds.X / ds.X.max(0), ds.y, n_trials=2, epochs=3, storage=":memory:")
>>> res.best_trial.state.name
'COMPLETE'

``deltanet.search`` is this package and, called, the function :func:`search`: the module is
callable so that ``dn.search(X, y)`` works however the package was imported first.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .api import search
from .result import SearchResult
from .space import DEFAULT_SPACE, Config, make_space

__all__ = ["DEFAULT_SPACE", "Config", "SearchResult", "make_space", "search"]


class _CallableModule(types.ModuleType):
    """``deltanet.search(...)`` calls :func:`search`."""

    def __call__(self, *args: Any, **kwargs: Any) -> SearchResult:
        return search(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
