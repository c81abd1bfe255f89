"""The brink binary the bench scripts time: BRINK, default build/release/brink of this tree."""

import os
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent / "build" / "release" / "brink"


def brink_binary(script):
    """The path of the brink binary; if there is none, one sentence saying how to point `script` at
    one, and exit status 2 (a usage error, as argparse's), rather than a traceback from the first run."""
    path = os.environ.get("BRINK", str(DEFAULT))
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        where = f"BRINK={path}" if "BRINK" in os.environ else f"{path} (the default)"
        print(f"{script}: no brink binary at {where}: set BRINK=path/to/brink, or build one with "
              "`cmake --preset release && cmake --build build/release --target brink`.", file=sys.stderr)
        sys.exit(2)
    return path
