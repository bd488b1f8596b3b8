"""``python -m deltanet.cli``: the ``deltanet`` command."""

import sys

from deltanet.cli import main

sys.exit(main())
