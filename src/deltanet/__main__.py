"""``python -m deltanet``: the same command line as the ``deltanet`` console script."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
