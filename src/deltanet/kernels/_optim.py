"""The optimizer step and weight decay, applied in place by the fast engines.

``deltanet.optimizers`` transforms are pure: each update returns new arrays. The engines
keep that contract at the epoch boundary (the state handed back is a fresh optimizer state)
but inside an epoch they run the same arithmetic in place: for SGD (an ``optimizers.SGD``,
chosen by type) with ``η_t = schedule(count) · lr_scale``::

    plain      w ← w + grad · (−η_t)
    momentum   v ← v μ + grad · (−η_t);  w ← w + v
    Nesterov   v as above;               w ← w + (v μ + grad · (−η_t))

The compiled engine also runs Adam (``optimizers.adam``) in place, with the operations of
``optimizers.scale_by_adam`` in the same order (the engines then differ only in how they
sum gradients), and ``−η'_t = −η_t √(1 − β₂^t) / (1 − β₁^t)`` worked out in Python per
update as there:

    adam       m ← m β₁ + grad (1 − β₁);  v ← v β₂ + grad² (1 − β₂);
               w ← w + m (−η'_t) / (√v + ε)

Any other transform is called as it is, once per update.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._memory import aligned_zeros
from ..optimizers import SGD, Adam
from ..propagation import decay_mask
from ..schedules import _as_schedule


def sgd_settings(optimizer: Any) -> tuple[Any, float, bool] | None:
    """``(learning_rate, momentum, nesterov)`` of an ``optimizers.SGD``, else None."""
    if isinstance(optimizer, SGD):
        return optimizer.learning_rate, optimizer.momentum, optimizer.nesterov
    return None


def adam_settings(optimizer: Any) -> tuple[Any, float, float, float] | None:
    """``(learning_rate, beta_1, beta_2, epsilon)`` of an ``optimizers.Adam``, else None."""
    if isinstance(optimizer, Adam):
        return optimizer.learning_rate, optimizer.beta_1, optimizer.beta_2, optimizer.epsilon
    return None


def not_compiled(optimizer: Any) -> str | None:
    """Why the compiled engine cannot run ``optimizer`` in place, or None when it can: it
    runs an ``optimizers.SGD`` (plain, momentum or Nesterov) and an ``optimizers.Adam``,
    chosen by type; any other transform, a chain included, runs as it is called."""
    if sgd_settings(optimizer) is not None or adam_settings(optimizer) is not None:
        return None
    return (f"the optimizer {optimizer!r}: optimizers other than deltanet.optimizers.sgd "
            "(plain, momentum or Nesterov) and adam, chains included")


class Penalty:
    """``λ Σ w² + λ₁ Σ |w|`` and its gradient ``2λ w + λ₁ sign(w)`` into preallocated buffers."""

    def __init__(self, plan, params: np.ndarray, l2: float, l1: float, decay_bias: bool):
        self.l2, self.l1 = l2, l1
        self.active = bool(l2 or l1)
        if self.active:
            self.mask = decay_mask(plan, decay_bias, params.dtype)
            self.w = np.empty_like(params)
            self.g = np.empty_like(params)
            self.s = np.empty_like(params) if l1 else None

    def __call__(self, params: np.ndarray) -> tuple[float, np.ndarray | None]:
        if not self.active:
            return 0.0, None
        w = np.multiply(params, self.mask, out=self.w)
        cost = self.l2 * float(w @ w)
        np.multiply(w, 2.0 * self.l2, out=self.g)
        if self.s is not None:
            np.abs(w, out=self.s)
            cost += self.l1 * float(self.s.sum())
            np.sign(w, out=self.s)
            self.s *= self.l1
            self.g += self.s
        return cost, self.g


class UpdateRule:
    """Applies one optimizer update in place; rebuilds the optimizer state per epoch.

    ``compiled``: the caller is a compiled kernel, which also runs Adam itself. Its moments
    then live in ``velocity`` (``m`` then ``v``, one vector of twice the parameters) and
    ``neg_lr[t]`` is ``−η'_t``; ``apply`` is not used for it.
    """

    def __init__(self, optimizer: Any, params: np.ndarray, compiled: bool = False) -> None:
        self.optimizer, self.params = optimizer, params
        self.settings = sgd_settings(optimizer)
        self.adam = adam_settings(optimizer) if compiled else None
        self.state: Any = None
        self.neg_lr = np.zeros(0, params.dtype)
        self._filled: float | None = None  # the one rate all of neg_lr holds, if so
        self._largest = float(np.finfo(params.dtype).max)
        self.velocity = np.zeros(0, params.dtype)
        self.mu, self.nesterov = 0.0, False
        if self.settings is not None:
            _, self.mu, self.nesterov = self.settings
            if self.mu:
                self.velocity = aligned_zeros(params.shape[0], params.dtype)
                self.scratch = np.empty_like(params) if self.nesterov else None
        elif self.adam is not None:
            self.velocity = aligned_zeros(2 * params.shape[0], params.dtype)
            self._adam_lr = _as_schedule(self.adam[0])

    @property
    def momentum(self) -> bool:
        return bool(self.mu)

    def begin_epoch(self, state: Any, n_updates: int) -> None:
        """Take over ``state`` for an epoch of (at most) ``n_updates`` updates."""
        self.state = state
        if self.adam is not None:
            self._begin_adam(state[0], n_updates)
            return
        if self.settings is None:
            return
        inner = state[0]
        lr = self.settings[0]
        if self.neg_lr.shape[0] != n_updates:
            self.neg_lr, self._filled = np.empty(n_updates, dtype=self.params.dtype), None
        if callable(lr):  # −η_t for every update t of the epoch
            with np.errstate(over="ignore"):  # a rate beyond float32: ±inf (see below)
                for t in range(n_updates):
                    self.neg_lr[t] = -(lr(inner.count + t) * inner.lr_scale)
            self._filled = None
        else:
            rate = -(float(lr) * inner.lr_scale)
            if rate != self._filled:  # not filled with it by the epoch before
                # beyond the dtype's range: ±inf, which the cast would give (silently
                # here: the cost check then names the learning rate)
                self.neg_lr.fill(rate if abs(rate) <= self._largest
                                 else math.copysign(math.inf, rate))
                self._filled = rate
        if self.momentum:
            np.copyto(self.velocity, inner.velocity)

    def _begin_adam(self, inner: Any, n_updates: int) -> None:
        """``neg_lr[t] = −η'`` of update ``t``, computed as ``scale_by_adam`` does; the
        moments into ``velocity``."""
        _, b1, b2, _ = self.adam
        lr_at, count, scale = self._adam_lr, inner.count, inner.lr_scale
        rates = np.empty(n_updates)
        sqrt, scheduled = math.sqrt, callable(self.adam[0])
        for t in range(n_updates):  # Python's float arithmetic, as in scale_by_adam
            step = count + t + 1
            lr = lr_at(count + t) * scale
            c2, c1 = 1 - b2**step, 1 - b1**step
            if c1 == 1.0 and c2 == 1.0 and not scheduled:
                rates[t:] = lr  # β^t has vanished: lr · √1 / 1 from here on (all alike)
                break
            rates[t] = lr * sqrt(c2) / c1
        with np.errstate(over="ignore"):  # a rate beyond float32: ±inf, as above
            self.neg_lr, self._filled = (-rates).astype(self.params.dtype), None
        n = self.params.shape[0]
        np.copyto(self.velocity[:n], inner.m)
        np.copyto(self.velocity[n:], inner.v)

    def apply(self, grad: np.ndarray, t: int, scaled: bool = False) -> None:
        """Update ``params`` in place with gradient ``grad`` (which may be overwritten);
        ``scaled``: ``grad`` is already ``−η_t grad`` (SGD only)."""
        params = self.params
        if self.settings is None:  # a transform may keep grad in its state: give it its own
            updates, self.state = self.optimizer.update(grad.copy(), self.state, params)
            params += updates.astype(params.dtype, copy=False)
            return
        if not scaled:
            np.multiply(grad, self.neg_lr[t], out=grad)  # −η grad
        if not self.momentum:
            params += grad
            return
        v = self.velocity
        v *= self.mu
        v += grad  # v = μ v − η grad
        if self.nesterov:
            np.multiply(v, self.mu, out=self.scratch)
            self.scratch += grad
            params += self.scratch
        else:
            params += v

    def end_epoch(self, n_done: int) -> Any:
        """The optimizer state after ``n_done`` updates of this epoch."""
        if self.adam is not None:
            inner, n = self.state[0], self.params.shape[0]
            new = inner._replace(count=inner.count + n_done, m=self.velocity[:n].copy(),
                                 v=self.velocity[n:].copy())
            return (new, *self.state[1:])
        if self.settings is None:
            return self.state
        inner = self.state[0]
        if self.momentum:
            new = inner._replace(count=inner.count + n_done, velocity=self.velocity.copy())
        else:  # (count, lr_scale): without _replace's dict, once per call of a warm run
            new = inner._make((inner.count + n_done, inner.lr_scale))
        return (new, *self.state[1:])
