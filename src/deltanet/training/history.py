"""What a training run did, epoch by epoch (``History``), and the error that stops one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class History:
    """What NEURALNETTRAIN did, one entry per epoch.

    ``cost``: mean training cost ``J`` (with the penalty) over the epoch's updates;
    ``val_cost`` / ``val_metric``: loss and metric on the validation set (empty without
    one); ``train_metric``: the metric on the training set (with ``train_metric=True``);
    ``lr``: learning rate of the epoch's last update (None when the optimizer hides it);
    ``diagnostics``: per-epoch dicts (with ``diagnostics=True``, see
    :func:`deltanet.training.diagnostics.epoch_diagnostics`); ``best_epoch``: the epoch with
    the lowest validation cost (training cost without validation); ``engine``: which engine
    ran the updates ('numba', 'shaped', 'numpy' or 'reference', see
    :mod:`deltanet.engines`; 'numba' whichever of the compiled engine's kernels ran, a
    kernel compiled for the shape included, 'shaped' when that was asked for) and
    ``engine_reason``: why it is not the one asked for (``engine='auto'`` falling back), or
    ``''``.
    """

    cost: list[float] = field(default_factory=list)
    epochs: int = 0
    updates: int = 0
    stop_reason: str = ""
    val_cost: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    train_metric: list[float] = field(default_factory=list)
    metric: str = ""
    lr: list[float | None] = field(default_factory=list)
    best_epoch: int | None = None
    diagnostics: list[dict] = field(default_factory=list)
    engine: str = ""
    engine_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def __repr__(self) -> str:
        last = f"{self.cost[-1]:.6g}" if self.cost else "-"
        val = f", final_val_cost={self.val_cost[-1]:.6g}" if self.val_cost else ""
        return (f"History(epochs={self.epochs}, updates={self.updates}, final_cost={last}"
                f"{val}, stop_reason={self.stop_reason!r}, engine={self.engine!r})")


class TrainingError(RuntimeError):
    """Training cannot go on (the cost became NaN or infinite). ``history`` is attached;
    the network keeps the last good weights."""

    def __init__(self, message: str, history: History | None = None) -> None:
        super().__init__(message)
        self.history = history
