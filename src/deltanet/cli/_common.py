"""What every ``deltanet`` command shares: the one-line error policy, ``--json``/``--quiet``,
and printing to the terminal.

Errors a person can act on (bad data, a missing file, a file that is not a model, training
that diverged) print exactly one line, ``deltanet: error: <what is wrong and what to do>``,
on stderr and exit with status 2, never with a traceback. An unexpected exception is a bug:
one line naming its type, exit status 1, and ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

#: exit statuses
OK, BUG, USAGE, INTERRUPTED, BROKEN_PIPE = 0, 1, 2, 130, 141  # 141: 128 + SIGPIPE


class CommandError(Exception):
    """A problem the person running the command can fix; the message is the one line shown."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        command = self.prog if self.prog.startswith("deltanet") else "deltanet"
        print_error(f"{message}; see '{command} --help'")
        sys.exit(USAGE)


def one_line(text: str, limit: int = 600) -> str:
    """``text`` with every run of whitespace (newlines included) turned into one space."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def print_error(message: str) -> None:
    """Print ``deltanet: error: <message>`` as one line on stderr."""
    print(f"deltanet: error: {one_line(message)}", file=sys.stderr, flush=True)


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--json``, ``--quiet`` and ``--debug`` (skipping any the parser already has)."""
    have = set(parser._option_string_actions)
    if "--json" not in have:
        parser.add_argument("--json", action="store_true",
                            help="print one JSON document on stdout instead of tables")
    if "--quiet" not in have and "-q" not in have:
        parser.add_argument("-q", "--quiet", action="store_true",
                            help="no progress bar, tables or notes: only errors and the "
                                 "requested output")
    if "--debug" not in have:
        parser.add_argument("--debug", action="store_true",
                            help="on an unexpected error, show the full traceback")


#: what each kind of output file is, and how an existing file of that kind is recognised:
#: an existing file of another kind is never overwritten without ``--force``
KINDS: dict[str, tuple[str, Callable[[Path], bool]]] = {}


def _kind(name: str, text: str):
    def register(test: Callable[[Path], bool]) -> Callable[[Path], bool]:
        KINDS[name] = (text, test)
        return test
    return register


@_kind("model", "a deltanet model file")
def _is_model(path: Path) -> bool:
    from deltanet.io import file_format

    return file_format(path) == "deltanet-model"


@_kind("checkpoint", "a deltanet checkpoint")
def _is_checkpoint(path: Path) -> bool:
    from deltanet.io import file_format

    return file_format(path) == "deltanet-checkpoint"


@_kind("png", "a PNG image")
def _is_png(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(8) == b"\x89PNG\r\n\x1a\n"


@_kind("text", "a text document")
def _is_text(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start > len(head) - 4  # a character cut at the end of what was read
    return b"\0" not in head


def refuse_other_kind(path: str | Path, option: str, kind: str, force: bool) -> None:
    """Refuse an existing regular file at ``path`` that is not of ``kind`` (see KINDS):
    writing would destroy it. ``--force`` allows it."""
    path = Path(path)
    if force or not path.is_file() or path.stat().st_size == 0:  # an empty file holds nothing
        return
    text, test = KINDS[kind]
    try:
        same = test(path)
    except OSError:
        same = False
    if not same:
        raise CommandError(f"{option} {str(path)!r} exists and is not {text}; writing would "
                           "destroy it, so give another file name, or add --force to "
                           "replace it")


def check_output_file(path: str | Path, option: str, inputs: dict[str, Any] | None = None,
                      example: str = "model.deltanet", kind: str | None = None,
                      force: bool = False) -> None:
    """Refuse, before any work is done, an output file that cannot be written (a folder, a
    folder that cannot be made or written to), that is one of the command's ``inputs``
    (``{"data file": DATA, ...}``): writing it would destroy what was read, or that exists
    and is not of ``kind`` (unless ``force``)."""
    if Path(path).is_dir():
        raise CommandError(f"{option} {str(path)!r} is a folder; give a file name, e.g. "
                           f"{Path(path) / example}")
    for what, source in (inputs or {}).items():
        if source is not None and Path(source).is_file() and same_file(path, source):
            raise CommandError(f"{option} {str(path)!r} is the {what}; writing it would destroy "
                               "what was read, so give another file name")
    if Path(path).exists() and not Path(path).is_file():  # /dev/null, a pipe: written in place
        if not os.access(path, os.W_OK):
            raise CommandError(f"{option} {str(path)!r} cannot be written (permission denied); "
                               "choose another path")
        return
    if kind is not None:
        refuse_other_kind(path, option, kind, force)
    _check_creatable(Path(path).parent, path, option)


def check_plot_files(folder: str | Path, option: str, force: bool) -> None:
    """Every existing ``*.png`` in a plots folder must be a PNG image (plots replace them)."""
    if Path(folder).is_dir():
        for path in sorted(Path(folder).glob("*.png")):
            refuse_other_kind(path, f"{option} file", "png", force)


def add_force_option(parser: argparse.ArgumentParser) -> None:
    """``--force``: replace output files of another kind (refused otherwise)."""
    parser.add_argument("--force", action="store_true",
                        help="replace an existing output file even if it is not of the kind "
                             "this command writes (refused otherwise)")


def check_output_folder(path: str | Path, option: str) -> None:
    """Refuse, before any work is done, an output folder that is a file or cannot be made or
    written to."""
    if Path(path).is_file():
        raise CommandError(f"{option} {str(path)!r} is a file; give a folder for the PNG images")
    _check_creatable(Path(path), path, option)


def same_file(path: str | Path, other: str | Path) -> bool:
    """Whether ``path`` and ``other`` name one existing file (links and ``..`` resolved), or
    would name one file once written."""
    try:
        return os.path.samefile(path, other)
    except OSError:
        return Path(path).resolve() == Path(other).resolve()


def _check_creatable(folder: Path, path: str | Path, option: str) -> None:
    from deltanet.io import cannot_create_in

    problem = cannot_create_in(folder)
    if problem is not None:
        raise CommandError(f"{option} {str(path)!r} cannot be written: {problem}; choose "
                           "another path")


@contextmanager
def writing(path: str | Path, option: str) -> Iterator[None]:
    """Turn a failure to write ``path`` (given with ``option``) into one clear line."""
    try:
        yield
    except OSError as err:
        raise CommandError(f"cannot write {str(path)!r} ({option}): "
                           f"{err.strerror or type(err).__name__}; choose another path") from None


def _user_error_types() -> tuple[type[BaseException], ...]:
    kinds: list[type[BaseException]] = [CommandError, ValueError, OSError]
    training = sys.modules.get("deltanet.training")
    if training is not None:
        kinds.append(training.TrainingError)
    return tuple(kinds)


def _os_message(err: OSError) -> str:
    if isinstance(err, FileNotFoundError) and err.filename:
        return (f"file {str(err.filename)!r} does not exist; check the path and the working "
                "directory")
    if isinstance(err, PermissionError) and err.filename:
        return f"cannot access {str(err.filename)!r}: permission denied; check its permissions"
    if isinstance(err, IsADirectoryError) and err.filename:
        return f"{str(err.filename)!r} is a directory; pass a file path"
    if err.filename:
        return f"cannot use {str(err.filename)!r}: {err.strerror or err}"
    return str(err)


def open_closed_streams() -> None:
    """Give a closed stdout or stderr (``deltanet info M >&-``: Python then has None) the
    null device, so that a command still does its work (``train`` writes its model) and
    only what it would print is lost; a warning says so when stderr is open."""
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")
        warn("stdout is closed, so what this command prints is discarded; its files are "
             "still written")


def guarded(command: Callable[[argparse.Namespace], int | None],
            args: argparse.Namespace) -> int:
    """Run ``command(args)`` under the error policy; return the exit status."""
    try:
        status = command(args)
    except KeyboardInterrupt:
        print_error("interrupted")
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``deltanet predict ... | head``): stop quietly, as Unix
        # tools do, and keep Python's final flush of stdout from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    except _user_error_types() as err:
        if getattr(args, "debug", False):
            raise
        message = _os_message(err) if isinstance(err, OSError) else str(err)
        print_error(message or type(err).__name__)
        return USAGE
    except Exception as err:
        if getattr(args, "debug", False):
            raise
        print_error(f"unexpected {type(err).__name__}: {one_line(str(err), 200)}; this is a "
                    "bug in deltanet, please report it with the command you ran (add --debug "
                    "for the traceback)")
        return BUG
    return OK if status is None else int(status)


def fit_table(pre: Any, frame: Any) -> None:
    """``pre.fit(frame)``; a message advising the library's ``task='classification'`` says
    the flag instead."""
    try:
        pre.fit(frame)
    except ValueError as err:  # DataError
        raise fit_table_error(err) from None


def fit_table_error(err: Exception) -> CommandError:
    """A DataError of fitting the preprocessing, with the command's flag for the library's
    ``task='classification'``."""
    return CommandError(str(err).replace("use task='classification'",
                                         "pass --task classification"))


def warn(message: str) -> None:
    """Print ``deltanet: warning: <message>`` as one line on stderr.

    Warnings say that a result may not be what was meant (it is still produced), so they
    are printed with ``--quiet`` and ``--json`` too: stdout keeps only the requested output.
    """
    print(f"deltanet: warning: {one_line(message)}", file=sys.stderr, flush=True)


def print_json(document: Any) -> None:
    """Print ``document`` as JSON on stdout (non-finite numbers become null)."""
    print(json.dumps(jsonable(document), indent=2, allow_nan=False))


def jsonable(value: Any) -> Any:
    """Plain JSON types for ``value`` (NumPy scalars and arrays, tuples, NaN -> null)."""
    import math

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def console(stderr: bool = False):
    """A Rich console on stdout (or stderr) that never wraps long lines into a mess."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 120
    return Console(file=stream, width=width, highlight=False)


def note(args: argparse.Namespace, message: str) -> None:
    """An informational line on stdout, unless ``--quiet`` or ``--json`` (stderr is kept for
    the progress bar and errors)."""
    if not (args.quiet or args.json):
        console().print(message)
