"""The version of brink_analysis: the brink engine's (``project(brink VERSION ...)`` in the top
CMakeLists.txt), which tests/analysis checks. pyproject.toml reads it from here."""

__version__ = "0.2.0"
