"""The search space: network architectures and training settings a search may choose.

Seed 002 (Lecture 07-5c) treats the architecture as hyper-parameters: the number of layers
(here *hidden groups*), their widths and connections. Every entry of a space is one of

- a list ``[v1, v2, ...]``: choose one of the values (categorical);
- a pair ``(low, high)``: a range, whole numbers when both ends are ints, else floats;
- a triple ``(low, high, "log")``: a range sampled on a log scale;
- a single value: fixed, never searched.

``width`` and ``activation`` are drawn once per hidden group (``width_1``, ``width_2``, ...)
so each group may differ; the grid sampler draws one shared ``width`` and ``activation``
instead, so its grid stays finite, and leaves out of a point without hidden groups what
such a network does not use, so the grid has no duplicate points.

``skip`` adds skip arcs: ``"inputs"`` feeds the inputs to every later group (the output
included), ``"all"`` feeds every group to every later group (each group then sees all the
groups before it).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import activations
from .._validation import check_choice, check_number, fail

SKIPS = ("none", "inputs", "all")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
HIDDEN_ACTIVATIONS = tuple(n for n in activations.NAMES if n not in ("softmax", "threshold"))

#: the space searched by default; ``search(space={...})`` overrides entries by name
DEFAULT_SPACE: dict[str, Any] = {
    "n_groups": (1, 3),
    "width": (16, 256, "log"),
    "activation": ["relu", "tanh", "logistic"],
    "skip": ["none", "inputs", "all"],
    "optimizer": ["adam", "momentum", "nesterov", "sgd"],
    "lr": (1e-4, 0.3, "log"),
    "batch_size": [16, 32, 64, 128],
    "l2": (1e-6, 1e-2, "log"),
    "dropout": (0.0, 0.5),
    "batch_norm": [False, True],
}

#: the entries a network without hidden groups does not draw (see :func:`suggest`)
HIDDEN_ONLY = ("width", "activation", "skip", "dropout", "batch_norm")

#: values (or ranges) each entry accepts: (kind, check of one value)
_KINDS: dict[str, str] = {
    "n_groups": "int", "width": "int", "activation": "str", "skip": "str",
    "optimizer": "str", "lr": "float", "batch_size": "int", "l2": "float",
    "dropout": "float", "batch_norm": "bool",
}


@dataclass(frozen=True)
class Dimension:
    """One entry of a space: ``choices`` (categorical), a range ``low..high``, or ``fixed``."""

    name: str
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    fixed: Any = None

    @property
    def is_fixed(self) -> bool:
        return self.choices is None and self.low is None

    def suggest(self, trial: Any, key: str) -> Any:
        """The value of this dimension for ``trial`` (Optuna names it ``key``)."""
        if self.is_fixed:
            return self.fixed
        if self.choices is not None:
            return trial.suggest_categorical(key, list(self.choices))
        if self.integer:
            return trial.suggest_int(key, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(key, self.low, self.high, log=self.log)

    def grid(self, points: int = 3) -> list:
        """Grid values: the choices, or ``points`` values spread over the range."""
        if self.is_fixed:
            return [self.fixed]
        if self.choices is not None:
            return list(self.choices)
        if self.log:
            ratio = (self.high / self.low) ** (1.0 / (points - 1))
            values = [self.low * ratio**k for k in range(points)]
        else:
            values = [self.low + (self.high - self.low) * k / (points - 1) for k in range(points)]
        values[-1] = self.high  # not a rounding error past the range
        if self.integer:
            return sorted({round(v) for v in values})
        return [float(v) for v in values]


@dataclass(frozen=True)
class Config:
    """One point of the space: the network and how it is trained."""

    widths: tuple[int, ...]
    activations: tuple[str, ...]
    skip: str
    optimizer: str
    lr: float
    batch_size: int
    l2: float
    dropout: float
    batch_norm: bool

    def describe(self) -> str:
        """A short text such as ``"64 relu → 32 tanh, skip inputs, bn"``."""
        groups = " → ".join(f"{w} {a}" for w, a in zip(self.widths, self.activations,
                                                      strict=True)) or "no hidden group"
        extra = [] if self.skip == "none" else [f"skip {self.skip}"]
        if self.batch_norm:
            extra.append("bn")
        return ", ".join([groups, *extra])


def _check_value(name: str, value: Any) -> Any:
    kind = _KINDS[name]
    if kind == "bool":
        if not isinstance(value, bool):
            fail(f"space[{name!r}] takes True/False", value, "e.g. [False, True]")
        return value
    if kind == "str":
        allowed = {"activation": HIDDEN_ACTIVATIONS, "skip": SKIPS, "optimizer": OPTIMIZERS}
        return check_choice(f"space[{name!r}] value", value, allowed[name])
    low = {"n_groups": 0, "width": 1, "batch_size": 1, "lr": 0.0, "l2": 0.0, "dropout": 0.0}
    value = check_number(f"space[{name!r}]", value, low=low[name], low_open=name == "lr",
                         high=1.0 if name == "dropout" else None, high_open=name == "dropout",
                         integer=kind == "int")
    return value


def _dimension(name: str, spec: Any) -> Dimension:
    if isinstance(spec, list):
        if not spec:
            fail(f"space[{name!r}] is an empty list", spec, "give at least one value")
        return Dimension(name, choices=tuple(_check_value(name, v) for v in spec))
    if isinstance(spec, tuple):
        log = len(spec) == 3 and spec[2] == "log"
        if len(spec) not in (2, 3) or (len(spec) == 3 and not log):
            fail(f"space[{name!r}] range must be (low, high) or (low, high, 'log')", spec,
                 "e.g. (16, 256, 'log'), or a list of values to choose from")
        if _KINDS[name] in ("str", "bool"):
            fail(f"space[{name!r}] takes a list of values, not a range", spec,
                 f"e.g. {DEFAULT_SPACE[name]!r}")
        low, high = (_check_value(name, v) for v in spec[:2])
        if low > high or (log and low <= 0):
            fail(f"space[{name!r}] range is empty or not positive on a log scale", spec,
                 "give low <= high (and low > 0 with 'log')")
        return Dimension(name, low=low, high=high, log=log, integer=_KINDS[name] == "int")
    return Dimension(name, fixed=_check_value(name, spec))


def make_space(overrides: Mapping[str, Any] | None = None) -> dict[str, Dimension]:
    """The default space with ``overrides`` applied, every entry checked.

    >>> space = make_space({"n_groups": 2, "optimizer": ["adam"]})
    >>> space["n_groups"].fixed, space["optimizer"].choices
    (2, ('adam',))
    """
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, Mapping):
        fail("space must be a dict of entries to override", type(overrides).__name__,
             "e.g. space={'n_groups': (1, 2), 'optimizer': ['adam']}", TypeError)
    unknown = [k for k in overrides if k not in DEFAULT_SPACE]
    if unknown:
        fail(f"unknown search-space entry {unknown[0]!r}", unknown[0],
             f"valid entries are: {', '.join(DEFAULT_SPACE)}")
    merged = {**DEFAULT_SPACE, **overrides}
    return {name: _dimension(name, spec) for name, spec in merged.items()}


def suggest(trial: Any, space: Mapping[str, Dimension], shared: bool = False) -> Config:
    """Draw a :class:`Config` for ``trial`` (an Optuna trial, or ``FixedTrial(params)`` to
    rebuild the config of a finished trial). Settings that do not apply are not drawn:
    without hidden groups there is no width, activation, skip arc, dropout or batch norm."""
    n_groups = space["n_groups"].suggest(trial, "n_groups")
    widths, acts = [], []
    for k in range(1, n_groups + 1):
        widths.append(space["width"].suggest(trial, "width" if shared else f"width_{k}"))
        acts.append(space["activation"].suggest(
            trial, "activation" if shared else f"activation_{k}"))
    hidden = n_groups > 0
    return Config(
        widths=tuple(int(w) for w in widths), activations=tuple(acts),
        skip=space["skip"].suggest(trial, "skip") if hidden else "none",
        optimizer=space["optimizer"].suggest(trial, "optimizer"),
        lr=float(space["lr"].suggest(trial, "lr")),
        batch_size=int(space["batch_size"].suggest(trial, "batch_size")),
        l2=float(space["l2"].suggest(trial, "l2")),
        dropout=float(space["dropout"].suggest(trial, "dropout")) if hidden else 0.0,
        batch_norm=bool(space["batch_norm"].suggest(trial, "batch_norm")) if hidden else False,
    )


def grid_points(space: Mapping[str, Dimension], points: int = 3) -> list[dict[str, Any]]:
    """The grid searched by the grid sampler: each combination of the grid values of the
    searched entries (one shared ``width`` and ``activation``) as the parameters of a
    trial, each once. A point without hidden groups leaves out the entries it does not use
    (:data:`HIDDEN_ONLY`): they would only repeat the same network.

    >>> space = make_space({"n_groups": (0, 1), "width": [4, 8], "activation": "relu",
    ...                     "skip": "none", "optimizer": "adam", "lr": 0.01,
    ...                     "batch_size": 32, "l2": 0.0, "dropout": 0.0, "batch_norm": False})
    >>> grid_points(space)
    [{'n_groups': 0}, {'n_groups': 1, 'width': 4}, {'n_groups': 1, 'width': 8}]
    """
    values = {name: dim.grid(points) for name, dim in space.items() if not dim.is_fixed}
    grid, seen = [], set()
    for combo in itertools.product(*values.values()):
        point = dict(zip(values, combo, strict=True))
        if point.get("n_groups", space["n_groups"].fixed) == 0:
            point = {k: v for k, v in point.items() if k not in HIDDEN_ONLY}
        key = tuple(point.items())
        if key not in seen:
            seen.add(key)
            grid.append(point)
    return grid
