"""Opening a brink file with h5py without letting HDF5 take the analyst's Python down, and HDF5's
errors as one sentence that names the file.

open_results has a child process read the file's metadata first (_crash_problem, with
_read_check.py), then opens it read-only, as a SWMR reader if a writer's mark is still on it
(_open_hdf5); every error on the way becomes a FileNotFoundError or a ValueError naming the file
(_unreadable, _unfinished), with HDF5's own error kept as its cause."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np

from . import _read_check


# HDF5's words for a file still marked as open by a writer: a run in progress, or one killed outright.
_WRITER_MARK = _read_check.WRITER_MARK


# What h5py and h5netcdf raise when a file's bytes are not what HDF5 expects: OSError when
# opening, RuntimeError or KeyError for damaged metadata, ValueError for a layout netCDF lacks.
_READ_ERRORS = (OSError, RuntimeError, KeyError, ValueError)

# Reading damaged metadata, h5netcdf and xarray also fail on what they find in its place
# (AttributeError on a missing object, TypeError or IndexError on garbage): while opening, any
# error is the file's, and becomes open_results' one sentence naming it.
_OPEN_ERRORS = (Exception,)


def _text(value) -> str | None:
    """A string attribute as str (h5py gives bytes for brink's fixed-length strings), else None."""
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None


def _hdf5_reason(error: BaseException) -> str:
    """HDF5's own reason in an h5py message: "truncated file: ..." from "Unable to open file (truncated file: ...)"."""
    text = str(error).strip()
    found = re.search(r"\((.*)\)$", text, re.S)
    return found.group(1).strip() if found else text


_swmr_access = _read_check.swmr_access


def _unreadable(path: str, error: BaseException) -> Exception:
    """The one-sentence exception for a file HDF5 cannot read (raise it `from` `error`)."""
    if isinstance(error, FileNotFoundError):  # removed since the check in open_results
        return FileNotFoundError(f"no brink result file at '{path}'")
    size = os.path.getsize(path) if os.path.isfile(path) else -1
    if size == 0:
        return ValueError(f"'{path}' is empty (0 bytes), not a brink result file")
    reason = _hdf5_reason(error)
    if "file signature not found" in reason:
        return ValueError(f"'{path}' is not a brink result file: it is not an HDF5 file at all")
    if "truncated file" in reason:
        declared = re.search(r"stored_eof = (\d+)", reason)
        of = f" of the {int(declared.group(1)):,} its header declares" if declared else ""
        return ValueError(f"'{path}' is truncated ({size:,} bytes{of}): an unfinished copy or download?")
    if isinstance(error, PermissionError):
        return ValueError(f"cannot read '{path}': permission denied")
    if not isinstance(error, _READ_ERRORS):  # h5netcdf or xarray tripped over what damaged metadata holds
        reason = f"its metadata does not parse: {type(error).__name__}: {error}"
    return ValueError(f"'{path}' is damaged and cannot be read as a brink result ({reason})")


def _unfinished(path: str, reason: str | None = None) -> ValueError:
    """The error for a file still marked open by a brink run that cannot be read as a SWMR reader."""
    if reason is None:  # only the bound on retries is missing: brink's own reader can look at it
        return ValueError(f"'{path}' is the file of a brink run that did not finish and is still marked open for "
                          "writing (it was killed, or is running): continue it with brink run ... --resume, or "
                          "look at it with brink inspect")
    return ValueError(f"'{path}' is the file of a brink run that did not finish (it was killed, or is running) and "
                      f"cannot be read ({reason}): continue it with brink run ... --resume")


def _open_hdf5(path: str):
    """`path` opened read-only with h5py, as a SWMR reader if a writer's mark is still on it (a run
    in progress or one killed outright, whose .partial only SWMR readers may open); and whether it was.

    Raises FileNotFoundError or ValueError naming `path` (from HDF5's error) if it cannot be opened."""
    import h5py

    try:
        return h5py.File(path, "r"), False
    except _OPEN_ERRORS as error:
        if not isinstance(error, OSError) or _WRITER_MARK not in str(error):
            raise _unreadable(path, error) from error
        fapl = _swmr_access()
        if fapl is None:
            raise _unfinished(path) from error
    try:
        fid = h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ, fapl=fapl)
    except _READ_ERRORS as error:  # killed before it switched to SWMR writing, or damaged
        raise _unfinished(path, _hdf5_reason(error)) from error
    return h5py.File(fid), True


# open_results reads every file's metadata in a child process first (_read_check.py), where a
# crash of HDF5 on a damaged bit cannot take the analyst's Python with it.
_CRASH_CHECK_SECONDS = 120
_CHECKED_FILES: set[tuple] = set()  # (path, inode, size, mtime) of files read whole by a child already


def _crash_problem(path: str) -> str | None:
    """Why HDF5 cannot read the metadata of `path` without crashing (read by a child process), or None."""
    status = os.stat(path)
    key = (os.path.abspath(path), status.st_ino, status.st_size, status.st_mtime_ns)
    if key in _CHECKED_FILES:
        return None
    try:
        child = subprocess.run([sys.executable, _read_check.__file__, path], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=_CRASH_CHECK_SECONDS)
    except subprocess.TimeoutExpired:
        return f"HDF5 did not finish reading its metadata in {_CRASH_CHECK_SECONDS} s"
    if child.returncode < 0:
        return f"HDF5 crashed reading its metadata (signal {-child.returncode})"
    _CHECKED_FILES.add(key)
    return None
