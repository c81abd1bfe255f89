"""The brink binary under test for the peer tests (BRINK, default
build/release/brink), as a fixture the test modules import by name. (Not a
conftest.py: the CLI tests import their own conftest by name, and a second
one would shadow it when pytest collects every test directory in one run.)"""

import os
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))


@pytest.fixture(scope="session")
def brink():
    path = os.environ.get("BRINK", str(ROOT / "build" / "release" / "brink"))
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"BRINK={path!r} is not an executable file (build it, or set BRINK)", pytrace=False)
    return path
