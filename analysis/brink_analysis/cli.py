"""Locating and running the `brink` command line from Python (notebooks, scripts)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["find_brink", "repository_root", "run_brink"]


def repository_root() -> Path | None:
    """The brink source tree: ``$BRINK_SOURCE_DIR`` if set, else the tree this package lives in
    (``<root>/analysis/brink_analysis``) if it is one (``<root>`` holds ``CMakeLists.txt`` and
    ``engine/``), else None: a package installed into a virtual environment lies in no tree."""
    env = os.environ.get("BRINK_SOURCE_DIR")
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[2]
    return root if (root / "CMakeLists.txt").is_file() and (root / "engine").is_dir() else None


def find_brink() -> Path:
    """Path of the `brink` binary: ``$BRINK`` if set, else ``<repository>/build/release/brink``
    (when this package runs from a source tree: :func:`repository_root`), else `brink` on ``PATH``.

    Raises FileNotFoundError, saying how to build it, if none is an executable file."""
    env = os.environ.get("BRINK")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise FileNotFoundError(f"BRINK={env} is not an executable file; set BRINK to the brink binary")
        return Path(env)
    root = repository_root()
    built = root / "build" / "release" / "brink" if root is not None else None
    if built is not None and built.is_file() and os.access(built, os.X_OK):
        return built
    on_path = shutil.which("brink")
    if on_path:
        return Path(on_path)
    where = f"there is none at {built}" if built is not None else "this package lies in no brink source tree"
    raise FileNotFoundError(
        f"no brink binary: BRINK is not set, {where} and none on PATH; build it with "
        "`cmake --preset release && cmake --build --preset release --target brink` (and install it, or set "
        "BRINK to its path)"
    )


def single_process_environment() -> dict[str, str]:
    """The environment of a brink started from Python: this one with BRINK_NO_MPI=1, so that under an
    MPI launcher (a driver run by mpirun or srun) brink runs as a process of its own instead of
    waiting for ranks that never start (docs/cluster.md)."""
    return {**os.environ, "BRINK_NO_MPI": "1"}


def run_brink(*args, binary: str | os.PathLike | None = None, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Runs ``brink *args`` (arguments converted to str) and returns the CompletedProcess (text stdout/stderr).

    `binary` defaults to :func:`find_brink`. Raises RuntimeError with brink's
    stderr if it exits with a non-zero status."""
    exe = Path(binary) if binary is not None else find_brink()
    command = [str(exe), *[str(a) for a in args]]
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                          env=single_process_environment())
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` failed with exit code {done.returncode}:\n{done.stderr.strip()}")
    return done
