"""Tests of the Python analysis package and the example notebook (a package, so that its conftest does not shadow tests/cli/conftest.py as the module `conftest`)."""
