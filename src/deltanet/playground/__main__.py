"""``python -m deltanet.playground ...`` is ``deltanet playground ...``."""

from __future__ import annotations

import sys

from deltanet.cli import main

if __name__ == "__main__":
    sys.exit(main(["playground", *sys.argv[1:]]))
