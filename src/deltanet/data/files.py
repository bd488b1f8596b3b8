"""Reading a table from disk: CSV (plain or gzip) and Parquet files, into a DataFrame.

Every problem with the file becomes a :class:`DataError` with a one-line message that says
what is wrong and what to do, so the command line can print it as it is.
"""

from __future__ import annotations

import csv
import gzip
import io
import warnings
from pathlib import Path

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


def _open(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def _read_csv(path: Path) -> pd.DataFrame:
    with _open(path) as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"\x00" in head:
        raise DataError(f"file {str(path)!r} is not a text CSV file (it holds binary data); "
                        "pass a comma-separated text file")
    if not head.strip():
        raise DataError(f"file {str(path)!r} has no columns (it is blank); it needs a header "
                        "row and at least one row of data")
    try:
        return _parse_csv(path, "utf-8-sig")
    except UnicodeDecodeError:
        # Not UTF-8: Latin-1 decodes every byte, so older spreadsheet exports still load.
        return _parse_csv(path, "latin-1")


def _parse_csv(path: Path, encoding: str) -> pd.DataFrame:
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
        frame = pd.read_csv(path, encoding=encoding, skipinitialspace=True, index_col=False)
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught) \
            and _row_names(path, encoding, frame.shape[1]):
        frame = pd.read_csv(path, encoding=encoding, skipinitialspace=True)
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


def _read(path: Path, kind: str) -> pd.DataFrame:
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        return _read_csv(path)
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
    except (OSError, ValueError) as err:
        raise DataError(f"file {str(path)!r} is not a valid {kind} file ({_one_line(err)}); "
                        "check that the file is complete and of the type its name says") from err


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 160 else text[:157] + "..."


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) file.

    Parameters
    ----------
    path : str or Path
        The file; its name's ending picks the reader.

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
    _check_path(path)
    kind = _kind(path)
    frame = _read(path, kind)
    if frame.shape[1] == 0:
        raise DataError(f"file {str(path)!r} has no columns; it needs a header row and at least "
                        "one row of data")
    if len(frame) == 0:
        raise DataError(f"file {str(path)!r} has a header but no rows of data; add at least one "
                        "row")
    frame.columns = [str(c) for c in frame.columns]
    return frame
