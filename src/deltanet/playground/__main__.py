"""``python -m deltanet.playground``: start the playground server."""

import sys

from . import main

sys.exit(main())
