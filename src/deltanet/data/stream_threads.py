"""The threads of a :class:`~deltanet.data.stream.Stream`: one reads pieces ahead, one fills
the next window's buffer while the caller trains on the current one.

Both are the same pattern, written once in :func:`threaded`: a worker thread produces
items into a queue, the caller takes them out in order, an error in the worker is raised in
the caller, and when the caller stops early (or ends) the worker is told to stop and
joined.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any


def threaded(produce: Callable[[], Iterator], box: queue.Queue, stop: threading.Event,
             release: Callable[[], None] | None = None) -> Iterator:
    """The items of ``produce()``, made by a daemon thread and handed over through ``box``.

    The worker gives up when ``stop`` is set (a full ``box`` is waited on in short steps,
    so that it can); ``release`` is called after the caller is done with each item and once
    when the caller leaves, to let the worker go on (e.g. a buffer becomes free)."""

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in produce():
                if not put(("ok", item)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the caller, raised there
            put(("error", exc))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            kind, item = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
            if release is not None:
                release()  # the caller is done with this item
    finally:
        stop.set()
        if release is not None:
            release()
        thread.join()


def read_ahead(read: Callable, order: Any, depth: int) -> Iterator:
    """``read(i)`` for each ``i`` of ``order``, done by a thread at most ``depth`` ahead."""
    return threaded(lambda: (read(int(i)) for i in order), queue.Queue(maxsize=depth),
                    threading.Event())


def acquire(free: threading.Semaphore, stop: threading.Event) -> bool:
    """Take ``free`` (waiting in short steps); False when ``stop`` was set meanwhile."""
    while not free.acquire(timeout=0.1):
        if stop.is_set():
            return False
    return not stop.is_set()


def fill_ahead(fill: Callable, n_buffers: int) -> Iterator:
    """The windows of ``fill(free, stop)``, made by a thread: it fills one buffer while the
    caller trains on another (``free`` counts the buffers the caller is not using; ``fill``
    takes one before it writes to it)."""
    free, stop = threading.Semaphore(n_buffers), threading.Event()
    return threaded(lambda: fill(free, stop), queue.Queue(), stop, free.release)
