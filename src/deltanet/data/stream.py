"""Tables larger than memory: a :class:`Stream` of row chunks that training reads window by
window, in bounded memory.

A stream is a list of *pieces* (Parquet row groups, CSV chunks, Dask partitions, slices of
arrays), each read on demand into ``(X, Y)`` float arrays. Training consumes it through
``windows(rng, shuffle)``; each window holds at most ``shuffle_buffer`` rows.

**Split.** :meth:`Stream.split` assigns row ``r`` (its number in the whole table) to the
training, validation or test part by a seeded hash ``u(r) ∈ [0, 1)`` (SplitMix64): test when
``u < test``, validation when ``u < test + validation``. No global shuffle, the same rows
every time for the same seed; stratification would need the labels of all rows first, so
it is refused.

**Shuffle, in two levels.** Each epoch (1) draws the order of the pieces from the run's
generator, then (2) fills a buffer of ``shuffle_buffer`` rows from the pieces in that order
and hands it to the loop, which draws a permutation of the buffer's rows (as NEURALNETTRAIN
draws one of the table's). When the buffer holds the whole table, step (1) is skipped (the
pieces stay in table order) and step (2) is the in-memory permutation itself: the streamed
run then gives bit for bit the weights of the in-memory run with the same seed.

**Reading overlaps computing.** Pieces are read by a thread into a queue of at most
``prefetch`` pieces, and a second thread fills the next window's buffer while the engine
trains on the current one (pyarrow, NumPy and the compiled engine release the GIL; the
threads are :mod:`.stream_threads`). The memory held is two buffers of ``shuffle_buffer``
rows (each ``BUFFER_SHARE`` of the budget by default), the engine's view of one, and the
pieces read ahead.

**Positions.** Every window comes with the :class:`Position` of the next one (the epoch's
piece order, the piece and the row in it); ``windows(..., start=position)`` goes on from
there, which is how training resumes from a checkpoint written in the middle of an epoch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._validation import check_number, fail
from .stream_sources import (
    arrow_piece,
    columns,
    csv_offsets,
    csv_piece,
    frame_piece,
    parse_bytes,
)
from .stream_threads import acquire, fill_ahead, read_ahead

#: the default memory budget: this fraction of the machine's RAM
DEFAULT_MEMORY_FRACTION = 0.25
#: the share of the budget each of the two window buffers takes (the engine's copy of the
#: window, the pieces read ahead and the reader's own buffers take the rest)
BUFFER_SHARE = 0.1

def default_memory() -> int:
    """``DEFAULT_MEMORY_FRACTION`` of the machine's RAM, in bytes."""
    pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return int(pages * size * DEFAULT_MEMORY_FRACTION)


def row_hash(rows: np.ndarray, seed: int) -> np.ndarray:
    """SplitMix64 of ``seed`` and each row number, as a float in ``[0, 1)``."""
    with np.errstate(over="ignore"):
        z = rows.astype(np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


@dataclass(frozen=True)
class Stream:
    """Rows of a table read piece by piece; see the module docstring.

    Build one with :meth:`from_arrays`, :meth:`from_parquet`, :meth:`from_csv` or
    :meth:`from_dask`; pass it to ``deltanet.train(net, stream, ...)`` in place of
    ``X, Y``.

    >>> import numpy as np
    >>> s = Stream.from_arrays(np.arange(10.0).reshape(5, 2), np.arange(5.0), chunk_rows=2)
    >>> s.n_rows, s.n_features, len(s.pieces)
    (5, 2, 3)
    """

    pieces: tuple
    rows: tuple  # rows of each piece, in the whole table
    n_features: int
    n_targets: int
    memory: int
    shuffle_buffer: int
    part: tuple | None = None  # (seed, low, high): rows whose hash is in [low, high)
    transform: Callable | None = None  # X -> X, e.g. a fitted scaler's transform
    prefetch: int = 2

    # -- constructors ---------------------------------------------------------------

    @classmethod
    def from_arrays(cls, X: Any, Y: Any, *, chunk_rows: int = 65536, memory: Any = None,
                    shuffle_buffer: int | None = None) -> Stream:
        """A stream over arrays already in memory (pieces of ``chunk_rows`` rows)."""
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        X = X.reshape(-1, 1) if X.ndim == 1 else X
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        if X.ndim != 2 or Y.shape[0] != X.shape[0]:
            fail("X and Y must have one row per example", (X.shape, Y.shape),
                 "pass X of shape (n, p) and Y of shape (n,) or (n, k)")
        step = int(check_number("chunk_rows", chunk_rows, low=1, integer=True))
        starts = range(0, X.shape[0], step)
        pieces = tuple((lambda a=a: (X[a:a + step], Y[a:a + step])) for a in starts)
        rows = tuple(min(step, X.shape[0] - a) for a in starts)
        return cls._make(pieces, rows, X.shape[1], Y.shape[1], memory, shuffle_buffer)

    @classmethod
    def from_parquet(cls, path: Any, target: Any, *, features: Any = None,
                     memory: Any = None, shuffle_buffer: int | None = None) -> Stream:
        """A stream over a Parquet file or a directory of them, one piece per row group."""
        import pyarrow.dataset as ds

        dataset = ds.dataset(os.fspath(path), format="parquet")
        targets, feats = columns(dataset.schema.names, target, features)
        pieces, rows = [], []
        for fragment in dataset.get_fragments():
            for group in fragment.split_by_row_group():
                n = sum(rg.num_rows for rg in group.row_groups)
                pieces.append(arrow_piece(group, feats, targets))
                rows.append(n)
        return cls._make(tuple(pieces), tuple(rows), len(feats), len(targets), memory,
                         shuffle_buffer)

    @classmethod
    def from_csv(cls, path: Any, target: Any, *, features: Any = None,
                 chunk_rows: int = 65536, memory: Any = None,
                 shuffle_buffer: int | None = None) -> Stream:
        """A stream over a CSV file read in chunks of ``chunk_rows`` rows.

        A first pass (pandas' chunked reader) counts the rows and notes where each chunk
        starts in the file, so that a chunk is read again from its offset in any order.
        """
        import pandas as pd

        path = os.fspath(path)
        names = list(pd.read_csv(path, nrows=0).columns)
        targets, feats = columns(names, target, features)
        step = int(check_number("chunk_rows", chunk_rows, low=1, integer=True))
        offsets, rows = csv_offsets(path, step)
        pieces = tuple(csv_piece(path, names, feats, targets, at, n)
                       for at, n in zip(offsets, rows, strict=True))
        return cls._make(pieces, tuple(rows), len(feats), len(targets), memory,
                         shuffle_buffer)

    @classmethod
    def from_dask(cls, data: Any, target: Any = None, *, features: Any = None,
                  memory: Any = None, shuffle_buffer: int | None = None) -> Stream:
        """A stream over a Dask DataFrame (``target``: its target column(s)) or a pair of
        Dask Arrays ``(X, Y)``; one piece per partition (or block of rows), computed when
        it is read, one after another."""
        if isinstance(data, tuple):
            X, Y = data
            Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
            Y = Y.rechunk({0: X.chunks[0]})
            rows = tuple(int(n) for n in X.chunks[0])
            pieces = tuple((lambda i=i: (np.asarray(X.blocks[i].compute(), np.float64),
                                         np.asarray(Y.blocks[i].compute(), np.float64)))
                           for i in range(len(rows)))
            return cls._make(pieces, rows, X.shape[1], Y.shape[1], memory, shuffle_buffer)
        targets, feats = columns(list(data.columns), target, features)
        rows = tuple(int(n) for n in data.map_partitions(len).compute())
        pieces = tuple(frame_piece(lambda i=i: data.partitions[i].compute(), feats, targets)
                       for i in range(data.npartitions))
        return cls._make(pieces, rows, len(feats), len(targets), memory, shuffle_buffer)

    @classmethod
    def _make(cls, pieces, rows, p, k, memory, shuffle_buffer) -> Stream:
        budget = default_memory() if memory is None else parse_bytes(memory)
        if shuffle_buffer is None:
            shuffle_buffer = max(1, int(budget * BUFFER_SHARE) // (8 * (p + k)))
        buffer = int(check_number("shuffle_buffer", shuffle_buffer, low=1, integer=True))
        if not pieces:
            fail("the table has no rows", 0, "check the path and the file")
        return cls(tuple(pieces), tuple(rows), p, k, budget, buffer)

    # -- parts ----------------------------------------------------------------------

    def split(self, *, validation: float = 0.0, test: float = 0.0, random_state: int = 0,
              stratify: Any = None) -> tuple[Stream, Stream, Stream]:
        """``(train, validation, test)`` streams, rows assigned by a seeded hash of the row
        number (see the module docstring)."""
        if stratify is not None:
            fail("a stream cannot be split by strata: that needs every label before the "
                 "first row is assigned", stratify,
                 "drop stratify (the hash split keeps class shares to sampling error), or "
                 "load the table into memory and use deltanet.data.split")
        val = check_number("validation", validation, low=0.0, high=1.0)
        tst = check_number("test", test, low=0.0, high=1.0)
        if val + tst >= 1.0:
            fail("validation + test must leave rows for training", val + tst,
                 "use fractions that add up to less than 1")
        seed = int(random_state)
        return (replace(self, part=(seed, val + tst, 1.0)),
                replace(self, part=(seed, tst, val + tst)),
                replace(self, part=(seed, 0.0, tst)))

    def with_transform(self, transform: Callable) -> Stream:
        """The same rows with ``X`` mapped by ``transform`` (e.g. a fitted scaler's)."""
        return replace(self, transform=transform)

    def fit(self, scaler: Any) -> Stream:
        """Fit ``scaler`` (``MinMaxScaler`` or ``StandardScaler``) in one pass over this
        stream's rows with its ``partial_fit``, and return the stream scaled by it."""
        scaler.reset()
        for X, _ in self.chunks():
            scaler.partial_fit(X)
        return self.with_transform(scaler.transform)

    @property
    def n_rows(self) -> int:
        """Rows of this part (a pass over the pieces when the stream is split)."""
        if self.part is None:
            return sum(self.rows)
        return sum(int(self._keep(i).sum()) for i in range(len(self.rows)))

    # -- reading --------------------------------------------------------------------

    def _keep(self, i: int) -> np.ndarray:
        seed, low, high = self.part
        start = sum(self.rows[:i])
        u = row_hash(np.arange(start, start + self.rows[i]), seed)
        return (u >= low) & (u < high)

    def _read(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        X, Y = self.pieces[i]()
        if self.part is not None:
            keep = self._keep(i)
            X, Y = X[keep], Y[keep]
        if self.transform is not None:
            X = self.transform(X)
        return X, Y

    def chunks(self, order: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(X, Y)`` of each piece, in ``order`` (default: table order), read ahead by a
        thread into a queue of ``prefetch`` pieces."""
        order = range(len(self.pieces)) if order is None else order
        return read_ahead(self._read, order, self.prefetch)

    def windows(self, rng: np.random.Generator | None, shuffle: bool = True,
                start: Position | None = None
                ) -> Iterator[tuple[np.ndarray, np.ndarray, Position]]:
        """The windows of one epoch, each ``(X, Y, position)``: up to ``shuffle_buffer``
        rows, filled from the pieces in an order drawn from ``rng`` (in table order when
        one window holds everything, or without ``shuffle``), and the :class:`Position`
        where the next window begins. From ``start`` (a position handed out before), the
        epoch goes on there, without drawing its order again. Two buffers take turns (a
        thread fills one while the caller trains on the other; one when a window holds
        everything): be done with a window's arrays (or copy them) before asking for the
        next."""
        total = sum(self.rows)
        size = min(self.shuffle_buffer, total)
        if start is not None:
            order = start.order
        elif size == total or not shuffle:  # one window: the pieces in table order
            order = np.arange(len(self.pieces))
        else:
            order = rng.permutation(len(self.pieces))
        start = start or Position(order, 0, 0)
        if size == total:  # one window: nothing to overlap
            yield from self._fill(start, [_buffer(size, self)], None, None)
            return
        bufs = [_buffer(size, self) for _ in range(2)]
        yield from fill_ahead(lambda free, stop: self._fill(start, bufs, free, stop),
                              len(bufs))

    def _fill(self, start: Position, bufs: list, free: Any, stop: Any) -> Iterator:
        """Fill the buffers in turn with the rows of the pieces in ``start.order`` from
        ``start`` on; a buffer is taken (``free``, a semaphore, when given) before its first
        row is written."""
        size, k, count = bufs[0][0].shape[0], 0, 0
        bx = by = None
        order = start.order
        for piece, (X, Y) in enumerate(self.chunks(order[start.piece:]), start.piece):
            at = start.row if piece == start.piece else 0
            while at < X.shape[0]:
                if count == 0:
                    if free is not None and not acquire(free, stop):
                        return
                    bx, by = bufs[k % len(bufs)]
                    k += 1
                take = min(size - count, X.shape[0] - at)
                bx[count:count + take], by[count:count + take] = X[at:at + take], Y[at:at + take]
                count, at = count + take, at + take
                if count == size:
                    count = 0
                    yield bx, by, (Position(order, piece, at) if at < X.shape[0]
                                   else Position(order, piece + 1, 0))
        if count:
            yield bx[:count], by[:count], Position(order, len(order), 0)


@dataclass(frozen=True)
class Position:
    """Where a window of an epoch begins: ``order``, the epoch's order of the pieces (the
    first level of the shuffle); ``piece``, the index in ``order`` of the piece the window
    starts in; ``row``, the row of that piece (after the split) it starts at.
    ``piece == len(order)`` is the end of the epoch."""

    order: np.ndarray
    piece: int
    row: int

    @property
    def at_end(self) -> bool:
        return self.piece >= len(self.order)


def _buffer(rows: int, stream: Stream) -> tuple[np.ndarray, np.ndarray]:
    return np.empty((rows, stream.n_features)), np.empty((rows, stream.n_targets))
