"""The DATA argument: a CSV or Parquet file, or the name of a bundled or generated dataset."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from ._common import CommandError

#: options of the generated 2-D sets: fixed, so a name always means the same table
GENERATED_OPTIONS = {"n_samples": 500, "noise": 0.1, "random_state": 0}


@dataclass
class Source:
    """A table read from DATA: its rows, a short name, and its target column if known."""

    frame: object  # pandas.DataFrame
    name: str
    target: str | None
    is_dataset: bool


def _looks_like_path(text: str) -> bool:
    return any(sep in text for sep in ("/", "\\")) or "." in Path(text).name


def _dataset(text: str) -> Source:
    from deltanet.data import dataset_names, load_dataset

    names = dataset_names()
    for options in (GENERATED_OPTIONS, {}):  # generated sets take options, tables none
        try:
            ds = load_dataset(text, **options)
        except ValueError:
            continue
        return Source(ds.as_frame(class_names=True), ds.name, ds.target_name, True)
    close = difflib.get_close_matches(text.lower(), names, n=2)
    hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    raise CommandError(f"{text!r} is neither a data file nor a dataset name; {hint}pass a "
                       f"CSV or Parquet file, or one of: {', '.join(names)}")


def load_source(text: str, encoding: str | None = None, decimal_comma: bool = False) -> Source:
    """Read DATA: an existing file, else a dataset name, else a one-line error.

    Generated sets (xor, circles, ...) are drawn with fixed options
    (:data:`GENERATED_OPTIONS`), so ``deltanet evaluate model.deltanet xor`` sees the table
    that ``deltanet train xor`` split.
    """
    from deltanet.data import read_table

    path = Path(text)
    if path.exists() or _looks_like_path(text):
        frame = read_table(path, encoding, "," if decimal_comma else ".")
        return Source(frame, path.name.split(".")[0] or path.name, None, False)
    return _dataset(text)
