"""``python -m deltanet.explain ...``: the ``deltanet explain`` command on its own.

Errors print one line, ``deltanet: error: <message>``, and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys

from .cli import add_arguments, run


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"deltanet: error: {message}\n")
        sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run; returns the exit status."""
    parser = _Parser(prog="deltanet explain",
                     description="Worked examples of backpropagation with the real numbers.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (ValueError, TypeError) as err:
        message = " ".join(str(err).split())
        sys.stderr.write(f"deltanet: error: {message}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
