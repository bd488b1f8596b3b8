"""``python -m deltanet.explain ...`` is ``deltanet explain ...``."""

from __future__ import annotations

import sys

from deltanet.cli import main

if __name__ == "__main__":
    sys.exit(main(["explain", *sys.argv[1:]]))
