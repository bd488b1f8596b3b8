"""``python -m deltanet.search DATA ...`` is ``deltanet search DATA ...``."""

from __future__ import annotations

import sys

from deltanet.cli import main

if __name__ == "__main__":
    sys.exit(main(["search", *sys.argv[1:]]))
