"""``python3 -m brink_analysis discover FILE --outcome full_war`` (see :mod:`brink_analysis.command`)."""

import sys

from .command import main

sys.exit(main())
