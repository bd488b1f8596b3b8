"""Worked examples of backpropagation in lecture notation, with the real numbers.

``explain(net, x, y, loss=..., lr=...)`` runs real SGD steps on a copy of ``net`` and
returns an :class:`Explanation`: for every step the forward pass, the loss, the deltas,
the gradients, the updates and their effect, rendered as text (Rich), Markdown (with
``$…$`` math) or a standalone LaTeX document. ``examples`` holds the worked examples of
the lecture notes by name; ``exercise`` makes random exercises with a separate solution.

>>> import deltanet as dn
>>> ex = dn.explain(dn.Network.layered([2, 2, 1], init=dn.init.constant(0.5)),
...                 [1.0, 0.0], 1.0, lr=0.5)
>>> [s.key for s in ex.steps[0].sections]
['forward', 'loss', 'backward', 'gradients', 'updates', 'effect']
"""

from __future__ import annotations

import sys
import types

from .examples import EXAMPLES, Example, explain_example, get_example, list_examples
from .exercise import Exercise, make_exercise
from .explanation import FORMATS, Explanation, explain
from .model import SECTION_KEYS, Derivation, Line, Para, Section, Step

__all__ = [
    "EXAMPLES",
    "FORMATS",
    "SECTION_KEYS",
    "Derivation",
    "Example",
    "Exercise",
    "Explanation",
    "Line",
    "Para",
    "Section",
    "Step",
    "explain",
    "explain_example",
    "get_example",
    "list_examples",
    "make_exercise",
]


class _CallableModule(types.ModuleType):
    """``deltanet.explain`` is both this package and the function: importing the package
    binds the name ``deltanet.explain`` to it, so the package calls ``explain``."""

    def __call__(self, *args, **kwargs) -> Explanation:
        return explain(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
