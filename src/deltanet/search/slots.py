"""Exactly ``n_trials`` trials in a study, however many searches run it, killed or not.

A search asks for ``n_trials`` trials in all. Trials may start in this process, in worker
processes, on a Dask cluster, in another search running on the same study at the same
time, or in the search that is started again after one was killed. So a trial may run only
once it holds one of the study's ``n_trials`` *slots*, and it takes its slot at its start,
in one database transaction that

1. locks the study's row (an ``UPDATE`` of it: every database serialises writers there),
2. counts the trials that hold a slot and are running, complete or pruned,
3. and, if fewer than ``n_trials`` do (and, in a grid search, none of them holds the same
   grid point), marks the trial as holding a slot (a system attribute).

Two trials can therefore never take the last slot, nor one grid point, together. A trial
that gets no slot ends at once as failed, and failed trials never count. A trial whose
process was killed holds its slot until Optuna fails it (its heartbeat stops, see
:mod:`.runner`); then the slot is free again and the search that still runs, or the next
one, runs a trial in its place. The search loop (:func:`deltanet.search.api.search`) goes
on until ``n_trials`` trials are complete or pruned.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import optuna

KEY = "deltanet:slot"  # the system attribute of a trial that holds a slot
_HOLDING = ("RUNNING", "COMPLETE", "PRUNED")
# trials that hold a slot: running ones that took one, and every complete or pruned one
# (those of a study begun before slots existed have no slot attribute: value NULL)
_HOLDERS_SQL = ("SELECT a.value_json FROM trials t LEFT JOIN trial_system_attributes a ON "
                "a.trial_id = t.trial_id AND a.key = :k WHERE t.study_id = :s AND "
                "(t.state IN ('COMPLETE', 'PRUNED') OR (t.state = 'RUNNING' AND "
                "a.value_json IS NOT NULL))")
_MEMORY_LOCK = threading.Lock()  # an in-memory study lives in one process: a lock suffices


class NoSlot(Exception):
    """The study has its trials already (or this grid point): this trial does not run."""


def point_key(point: dict[str, Any] | None) -> str:
    """The slot's value: the grid point as sorted JSON, or ``"null"`` without a grid."""
    return json.dumps(sorted(point.items()) if point else None)


def _backend(study: optuna.Study) -> Any:
    storage = study._storage  # Optuna wraps a database storage in a cache
    return getattr(storage, "_backend", storage)


def holders(study: optuna.Study) -> list[str | None]:
    """The slot values of the trials that hold a slot (running, complete or pruned)."""
    backend = _backend(study)
    if isinstance(backend, optuna.storages.RDBStorage):
        from sqlalchemy import text

        with backend.engine.connect() as conn:
            return [row[0] for row in conn.execute(text(_HOLDERS_SQL),
                                                   {"s": study._study_id, "k": KEY})]
    return [json.dumps(t.system_attrs[KEY]) if KEY in t.system_attrs else None
            for t in study.get_trials(deepcopy=False)
            if t.state.name in _HOLDING and (KEY in t.system_attrs or t.state.name != "RUNNING")]


def claim(trial: optuna.Trial, n_trials: int, point: dict[str, Any] | None) -> bool:
    """Give ``trial`` a slot if one is free (see the module docstring); whether it got one."""
    study, key = trial.study, point_key(point)
    backend = _backend(study)
    if not isinstance(backend, optuna.storages.RDBStorage):
        with _MEMORY_LOCK:
            taken = holders(study)
            if len(taken) >= n_trials or (point is not None and key in taken):
                return False
            study._storage.set_trial_system_attr(trial._trial_id, KEY, json.loads(key))
            return True
    from sqlalchemy import text

    with backend.engine.begin() as conn:  # one transaction: lock, count, take
        conn.execute(text("UPDATE studies SET study_name = study_name WHERE study_id = :s"),
                     {"s": study._study_id})
        taken = [row[0] for row in conn.execute(text(_HOLDERS_SQL),
                                                {"s": study._study_id, "k": KEY})]
        if len(taken) >= n_trials or (point is not None and key in taken):
            return False
        conn.execute(text("INSERT INTO trial_system_attributes (trial_id, key, value_json) "
                          "VALUES (:t, :k, :v)"), {"t": trial._trial_id, "k": KEY, "v": key})
    return True


def in_slot(objective: Callable[[Any], Any], n_trials: int,
            point: dict[str, Any] | None = None) -> Callable[[Any], Any]:
    """``objective`` run only by a trial that gets a slot; otherwise :class:`NoSlot`."""

    def run(trial: Any) -> Any:
        if not claim(trial, n_trials, point):
            raise NoSlot(f"the study has its {n_trials} trials" if point is None
                         else "another trial has this grid point")
        return objective(trial)

    return run
