"""Reading a table from disk: CSV (plain or gzip) and Parquet files, into a DataFrame.

Every problem with the file becomes a :class:`DataError` with a one-line message that says
what is wrong and what to do, so the command line can print it as it is.
"""

from __future__ import annotations

import csv
import gzip
import io
import stat
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from deltanet.data.errors import DataError

#: file name ending -> reader kind
SUFFIXES = {".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet", ".pq": "parquet"}

_SNIFF_BYTES = 8192

def _kind(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return SUFFIXES[suffix]
    raise DataError(f"cannot read {str(path)!r}: unknown file type; use a file ending in "
                    f"{', '.join(SUFFIXES)}")


def _check_path(path: Path) -> None:
    if not path.exists():
        raise DataError(f"file {str(path)!r} does not exist; check the path and the working "
                        "directory")
    if path.is_dir():
        raise DataError(f"{str(path)!r} is a directory, not a data file; pass a CSV or "
                        "Parquet file inside it")
    if path.stat().st_size == 0:
        raise DataError(f"file {str(path)!r} is empty; it needs a header row and at least one "
                        "row of data")


class _Piped(type(Path())):
    """The path of a named pipe or ``/dev/stdin`` with the bytes read from it: a pipe can be
    read only once, and the readers below read a file more than once."""

    data: bytes = b""


def _open(path: Path):
    gz = path.name.lower().endswith(".gz")
    if isinstance(path, _Piped):
        raw = io.BytesIO(path.data)
        return gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _is_stream(path: Path) -> bool:
    """A named pipe or a character device (``/dev/stdin``): no size, read only once."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def _first_bad_row(path: Path) -> tuple[int, int]:
    """The row (0: the header) and byte at which the file stops being UTF-8."""
    with _open(path) as handle:
        for row, line in enumerate(handle):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as err:
                return row, line[err.start]
    return 0, 0


def _check_utf8(path: Path) -> None:
    row, byte = _first_bad_row(path)
    where = "the header" if row == 0 else f"row {row}"
    raise DataError(f"file {str(path)!r} is not UTF-8 text ({where} holds the byte "
                    f"0x{byte:02x}); save it as UTF-8, or give its encoding, e.g. --encoding "
                    "latin-1 (read_table(path, encoding='latin-1'))")


def _read_csv(path: Path, encoding: str | None, decimal: str) -> pd.DataFrame:
    with _open(path) as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"\x00" in head:
        raise DataError(f"file {str(path)!r} is not a text CSV file (it holds binary data); "
                        "pass a comma-separated text file")
    if not head.strip():
        raise DataError(f"file {str(path)!r} has no columns (it is blank); it needs a header "
                        "row and at least one row of data")
    try:
        # UTF-8, strictly: guessing another encoding for the whole file would misread
        # every UTF-8 text in it ("München" as "MÃ¼nchen") because of one bad row
        return _parse_csv(path, encoding or "utf-8-sig", decimal)
    except UnicodeDecodeError:
        if encoding is not None:
            raise DataError(f"file {str(path)!r} is not {encoding} text; give the file's "
                            "encoding with --encoding") from None
        _check_utf8(path)
        raise


def _parse_csv(path: Path, encoding: str, decimal: str = ".") -> pd.DataFrame:
    """The table, every row read against the header.

    ``index_col=False``: rows with more fields than the header must not make pandas take
    the first column as the row index (which shifts every column by one). pandas then
    drops the extra fields with a ParserWarning; that is right for the empty fields of
    trailing commas, and an error for extra values, except in one layout: every row one
    field longer than the header, which is a first column of row names without a header
    field (R's ``write.table``); those names are dropped.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        with _open(path) as handle:
            frame = pd.read_csv(handle, encoding=encoding, skipinitialspace=True,
                                index_col=False, decimal=decimal)
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught) \
            and _row_names(path, encoding, frame.shape[1]):
        with _open(path) as handle:
            frame = pd.read_csv(handle, encoding=encoding, skipinitialspace=True,
                                decimal=decimal)
        frame = frame.reset_index(drop=True)
    return frame


def _row_names(path: Path, encoding: str, n_columns: int) -> bool:
    """Whether the rows longer than the header carry row names in a first column (every
    row has exactly one field more, not all of them empty at the end); False when the
    extra fields are all empty (trailing commas). Else a DataError naming the first row
    with more fields than the header."""
    try:
        with _open(path) as raw, io.TextIOWrapper(raw, encoding=encoding, newline="") as text:
            records = [fields for fields in csv.reader(text, skipinitialspace=True) if fields]
    except (csv.Error, UnicodeDecodeError) as err:
        raise DataError(f"file {str(path)!r} is not a valid CSV table (rows with more fields "
                        f"than the header: {_one_line(err)}); every row needs as many fields "
                        "as the header") from err
    rows = records[1:]
    if rows and all(len(f) == n_columns + 1 for f in rows) and any(f[-1].strip() for f in rows):
        return True
    for row, fields in enumerate(rows, start=1):
        if any(f.strip() for f in fields[n_columns:]):
            raise DataError(f"file {str(path)!r} is not a valid CSV table (row {row} has "
                            f"{len(fields)} fields but the header has {n_columns}); every row "
                            "needs as many fields as the header")
    return False


def _read(path: Path, kind: str, encoding: str | None, decimal: str) -> pd.DataFrame:
    def read() -> pd.DataFrame:
        if kind == "parquet":
            # One thread: Arrow's pool reading through a Python handle can abort the
            # interpreter's exit ("terminate called without an active exception").
            with _open(path) as handle:
                return pd.read_parquet(handle, use_threads=False)
        return _read_csv(path, encoding, decimal)
    return _reading(path, kind, encoding, read)


def _reading(path: Path, kind: str, encoding: str | None, read: Callable[[], Any]) -> Any:
    """``read()``, its failures turned into one-line DataErrors about ``path``."""
    try:
        return read()
    except DataError:
        raise
    except PermissionError as err:
        raise DataError(f"cannot read {str(path)!r}: permission denied; check the file's "
                        "permissions") from err
    except (EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"file {str(path)!r} is not a valid gzip file ({_one_line(err)}); "
                        "pass a .csv.gz made by gzip, or a plain .csv") from err
    except pd.errors.EmptyDataError as err:
        raise DataError(f"file {str(path)!r} has no columns; it needs a header row and at "
                        "least one row of data") from err
    except pd.errors.ParserError as err:
        raise DataError(f"file {str(path)!r} is not a valid CSV table ({_one_line(err)}); "
                        "every row needs as many fields as the header") from err
    except LookupError as err:
        raise DataError(f"unknown encoding {encoding!r} ({_one_line(err)}); give a Python "
                        "codec name such as utf-8, latin-1 or cp1252") from err
    except (OSError, ValueError) as err:
        raise DataError(f"file {str(path)!r} is not a valid {kind} file ({_one_line(err)}); "
                        "check that the file is complete and of the type its name says") from err


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 160 else text[:157] + "..."


def read_table(path: str | Path, encoding: str | None = None,
               decimal: str = ".") -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) file.

    Parameters
    ----------
    path : str or Path
        The file; its name's ending picks the reader. A named pipe or ``/dev/stdin`` is
        read to its end first (a name without a known ending is read as CSV).
    encoding : str, optional
        The text encoding of a CSV file. Default: UTF-8, strictly; a file that is not
        UTF-8 is an error naming the first row that is not, never guessed.
    decimal : str
        The decimal mark of numbers in a CSV file: ``","`` reads ``"1,5"`` as 1.5 (such
        values must be quoted in a comma-separated file).

    Returns
    -------
    pandas.DataFrame
        At least one column and one row.

    Raises
    ------
    DataError
        The file is missing, a directory, of unknown type, empty, binary or otherwise
        unreadable, or has no columns or no rows.
    """
    path = Path(path)
    if _is_stream(path):
        kind = _kind(path) if any(path.name.lower().endswith(s) for s in SUFFIXES) else "csv"
        piped = _Piped(path)
        with open(path, "rb") as stream:
            piped.data = stream.read()
        return _checked(path, _read_piped(piped, kind, encoding, decimal))
    _check_path(path)
    return _checked(path, _read(path, _kind(path), encoding, decimal))


def _read_piped(path: _Piped, kind: str, encoding: str | None, decimal: str) -> pd.DataFrame:
    if not path.data:
        raise DataError(f"{str(path)!r} gave no data (the pipe was closed without a table); "
                        "send a header row and at least one row of data")
    return _read(path, kind, encoding, decimal)


def _checked(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    if frame.shape[1] == 0:
        raise DataError(f"file {str(path)!r} has no columns; it needs a header row and at least "
                        "one row of data")
    if len(frame) == 0:
        raise DataError(f"file {str(path)!r} has a header but no rows of data; add at least one "
                        "row")
    frame.columns = [str(c) for c in frame.columns]
    return frame


# --- a table in pieces, for tables larger than memory --------------------------------------

def read_pieces(path: str | Path, encoding: str | None = None, decimal: str = ".",
                piece_rows: int = 65536) -> tuple[list[str], list[Callable], list[int]]:
    """A table larger than memory as ``(columns, pieces, rows)``: ``pieces[i]()`` reads
    the ``rows[i]`` rows of piece ``i`` into a DataFrame, in any order, with the errors of
    :func:`read_table`. A Parquet file or a folder of them has one piece per row group; a
    plain CSV file pieces of ``piece_rows`` rows (a first pass finds where each starts)."""
    from deltanet.data.stream_sources import csv_offsets

    path = Path(path)
    if path.is_dir():
        return _parquet_pieces(path)
    _check_path(path)
    kind = _kind(path)
    if kind == "parquet":
        return _parquet_pieces(path)
    if path.name.lower().endswith(".gz"):
        raise DataError(f"file {str(path)!r} is compressed, and a .csv.gz file cannot be read "
                        "in pieces; decompress it (gunzip), or convert it to Parquet")
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"\x00" in head:
        raise DataError(f"file {str(path)!r} is not a text CSV file (it holds binary data); "
                        "pass a comma-separated text file")
    columns = list(_csv_part(path, encoding, decimal, None, 0).columns)
    offsets, rows = csv_offsets(str(path), piece_rows)
    if not rows:
        raise DataError(f"file {str(path)!r} has a header but no rows of data; add at least "
                        "one row")
    pieces = [lambda at=at, n=n: _csv_part(path, encoding, decimal, columns, n, at)
              for at, n in zip(offsets, rows, strict=True)]
    return columns, pieces, rows


def _csv_part(path: Path, encoding: str | None, decimal: str, columns: list[str] | None,
              n: int, at: int = 0) -> pd.DataFrame:
    """``n`` rows of a CSV file from byte ``at`` (the header, when ``columns`` is None)."""
    def read() -> pd.DataFrame:
        with open(path, "rb") as handle:
            handle.seek(at)
            try:
                frame = pd.read_csv(handle, encoding=encoding or "utf-8-sig",
                                    skipinitialspace=True, index_col=False, decimal=decimal,
                                    header=0 if columns is None else None, names=columns,
                                    nrows=n)
            except UnicodeDecodeError:
                if encoding is not None:
                    raise DataError(f"file {str(path)!r} is not {encoding} text; give the "
                                    "file's encoding with --encoding") from None
                _check_utf8(path)
                raise
        frame.columns = [str(c) for c in frame.columns]
        if columns is not None and len(frame) != n:
            raise DataError(f"file {str(path)!r} has blank lines or line breaks inside quoted "
                            "fields, which cannot be read in pieces; remove them, or convert "
                            "the file to Parquet")
        return frame
    return _reading(path, "csv", encoding, read)


def _parquet_pieces(path: Path) -> tuple[list[str], list[Callable], list[int]]:
    import pyarrow.dataset as ds

    def open_dataset():
        return ds.dataset(str(path), format="parquet")

    dataset = _reading(path, "parquet", None, open_dataset)
    pieces, rows = [], []
    for fragment in dataset.get_fragments():
        for group in fragment.split_by_row_group():
            n = sum(rg.num_rows for rg in group.row_groups)
            if n:
                pieces.append(lambda g=group: _reading(path, "parquet", None,
                                                       lambda: _to_frame(g.to_table())))
                rows.append(n)
    if not rows:
        raise DataError(f"{str(path)!r} holds no rows of data; add at least one row")
    return [str(c) for c in dataset.schema.names], pieces, rows


def _to_frame(table: Any) -> pd.DataFrame:
    """A pyarrow table as a DataFrame, one block per column and the table's buffers freed
    as they are converted (numbers without gaps are not even copied): about one copy of
    the piece in memory at a time, not two or three."""
    return table.to_pandas(split_blocks=True, self_destruct=True)
