"""The playground's settings and their bounds, checked on the server.

A ``Config`` is everything that defines a run: the data, the input features, the network and
the training hyper-parameters. The page sends it as JSON and mirrors it in the URL hash;
``parse_config`` checks every field (type, range, length) and raises ``ValueError`` with a
message that says what was wrong, what was given and how to fix it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .._validation import check_choice, check_number, fail
from .datasets import CLASSIFICATION, FEATURES, MAX_CLASSES, REGRESSION

HIDDEN_ACTIVATIONS = ("tanh", "relu", "logistic", "softplus", "identity")
DATASETS = (*CLASSIFICATION, *REGRESSION, "upload")
TASKS = ("classification", "regression")
LOSSES = ("cross_entropy", "squared_error")
REGULARIZATIONS = ("none", "l1", "l2")
MAX_LAYERS, MAX_NEURONS = 6, 8
MAX_SEED = 2**31 - 1

# Fields whose change needs new data / a new network; the rest only change training.
DATA_FIELDS = frozenset({"dataset", "noise", "ratio", "n_samples", "n_classes", "seed"})
NET_FIELDS = frozenset({"task", "features", "layers", "activations", "loss", "batch_norm"})


@dataclass(frozen=True)
class Config:
    """One playground run. Bounds are listed in ``BOUNDS``; see the module docstring."""

    dataset: str = "circle"
    task: str = "classification"
    n_classes: int = 2
    noise: int = 0  # percent, 0..50
    ratio: int = 50  # training share in percent, 10..90
    n_samples: int = 500
    batch_size: int = 10
    features: tuple[str, ...] = ("x1", "x2")
    layers: tuple[int, ...] = (4, 2)
    activations: tuple[str, ...] = ("tanh", "tanh")
    loss: str = "squared_error"
    lr: float = 0.03
    regularization: str = "none"
    reg_rate: float = 0.0
    dropout: float = 0.0
    batch_norm: bool = False
    seed: int = 1
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The config as plain JSON types (lists, not tuples)."""
        out = asdict(self)
        out.pop("extra")
        for key in ("features", "layers", "activations"):
            out[key] = list(out[key])
        return out


BOUNDS: dict[str, tuple[float, float]] = {
    "n_classes": (2, MAX_CLASSES), "noise": (0, 50), "ratio": (10, 90),
    "n_samples": (20, 2000), "batch_size": (1, 100), "lr": (0.0, 10.0),
    "reg_rate": (0.0, 10.0), "dropout": (0.0, 0.9), "seed": (0, MAX_SEED),
}
_INTEGERS = frozenset({"n_classes", "noise", "ratio", "n_samples", "batch_size", "seed"})
_FIELDS = tuple(f.name for f in fields(Config) if f.name != "extra")


def parse_config(body: Any, base: Config | None = None) -> Config:
    """Check a JSON object of settings and return the ``Config`` it gives over ``base``.

    Only the keys present in ``body`` change; unknown keys are an error.

    Raises
    ------
    ValueError
        On an unknown key, a value of the wrong type, or one out of bounds.
    """
    if not isinstance(body, dict):
        fail("the settings must be a JSON object", type(body).__name__,
             'send e.g. {"dataset": "xor", "layers": [4, 2]}')
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        fail(f"unknown setting {unknown[0]!r}", unknown,
             f"valid settings are: {', '.join(_FIELDS)}")
    changes: dict[str, Any] = {}
    for key, value in body.items():
        changes[key] = _check_field(key, value)
    config = replace(base or Config(), **changes)
    if "layers" in changes and "activations" not in changes:
        config = _fit_activations(config)
    return _check_consistent(config)


def _check_field(key: str, value: Any) -> Any:
    if key in BOUNDS:
        low, high = BOUNDS[key]
        return check_number(key, value, low=low, high=high, integer=key in _INTEGERS,
                            low_open=key == "lr")
    if key in ("dataset", "task", "loss", "regularization"):
        choices = {"dataset": DATASETS, "task": TASKS, "loss": LOSSES,
                   "regularization": REGULARIZATIONS}[key]
        return check_choice(key, value, choices)
    if key == "batch_norm":
        if not isinstance(value, bool):
            fail("batch_norm must be true or false", value, "send a JSON boolean")
        return value
    if key == "features":
        names = _check_list(key, value, 1, len(FEATURES))
        for name in names:
            check_choice("feature", name, FEATURES)
        if len(set(names)) != len(names):
            fail("a feature is listed twice", names, "list each feature once")
        return tuple(name for name in FEATURES if name in names)
    if key == "layers":
        sizes = _check_list(key, value, 0, MAX_LAYERS)
        return tuple(check_number("neurons in a layer", s, low=1, high=MAX_NEURONS,
                                  integer=True) for s in sizes)
    names = _check_list(key, value, 0, MAX_LAYERS)
    return tuple(check_choice("activation", name, HIDDEN_ACTIVATIONS) for name in names)


def _check_list(key: str, value: Any, low: int, high: int) -> list:
    if not isinstance(value, list):
        fail(f"{key} must be a JSON list", value, f"send a list of {low} to {high} entries")
    if not low <= len(value) <= high:
        fail(f"{key} must have {low} to {high} entries, not {len(value)}", value,
             "add or remove entries")
    return value


def _fit_activations(config: Config) -> Config:
    # New layers take the activation of the last layer (tanh when there was none).
    acts = list(config.activations[:len(config.layers)])
    fill = acts[-1] if acts else "tanh"
    acts += [fill] * (len(config.layers) - len(acts))
    return replace(config, activations=tuple(acts))


def _check_consistent(config: Config) -> Config:
    if len(config.activations) != len(config.layers):
        fail(f"activations has {len(config.activations)} entries for {len(config.layers)} "
             "hidden layers", list(config.activations), "give one activation per hidden layer")
    if config.dataset in CLASSIFICATION and config.task != "classification":
        fail(f"data set {config.dataset!r} is a classification set", config.task,
             f"set task to 'classification' or choose one of {', '.join(REGRESSION)}")
    if config.dataset in REGRESSION and config.task != "regression":
        fail(f"data set {config.dataset!r} is a regression set", config.task,
             f"set task to 'regression' or choose one of {', '.join(CLASSIFICATION)}")
    if config.task == "regression" and config.loss != "squared_error":
        fail("regression trains with the squared error", config.loss,
             "set loss to 'squared_error'")
    if config.batch_norm and config.batch_size < 2:
        fail("batch normalisation needs batches of at least 2 examples", config.batch_size,
             "raise batch_size to 2 or more, or turn batch_norm off")
    return config
