"""Run devflow on its own: ``python -m bridge.devflow [--host H] [--port P] ...``."""

import sys

from .cli import main

sys.exit(main())
