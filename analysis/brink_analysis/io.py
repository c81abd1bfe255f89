"""Opening brink result files and naming their sweep parameters.

A brink file (docs/output.md) is a netCDF-4 file with dimensions ``point``
(sweep points), ``replication``, ``block``, ``step`` (the one time axis: the
initial state and every K steps, with ``day(step)`` in days), ``actor``,
``pool``, ``outcome``, ``rung``, ``action``, ``type``, ``quantile_level``, ``issue``
(negotiation issues), ``parameter`` (the ``--set``/``--sweep`` paths, if any)
and, after ``--sensitivity``, ``output``.
"""

from __future__ import annotations

import importlib.util
import math
import numbers
import os
import re
import subprocess
import sys
import warnings
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from . import _read_check, _summary_checks
from .checks import dataset, name_list

__all__ = [
    "FORMAT_VERSION",
    "format_value",
    "label_of",
    "open_results",
    "parameter_label",
    "parameter_list_text",
    "parameter_table",
    "parameter_units",
    "parameter_values",
    "parameters",
    "point_label",
    "point_position",
    "point_positions",
    "read_values",
    "replication_mask",
    "replication_parameters",
    "require",
    "select_points",
    "shard_of",
    "swept_parameters",
    "to_grid",
]


# --------------------------------------------------------------------------
# Opening a file
# --------------------------------------------------------------------------


def _as_str_array(values: np.ndarray) -> np.ndarray:
    """Returns `values` (bytes, str or object) as a numpy array of ``str`` of the same shape."""
    flat = [v.decode("utf-8") if isinstance(v, (bytes, np.bytes_)) else str(v) for v in np.asarray(values).ravel()]
    return np.array(flat, dtype=str).reshape(np.shape(values))


# The brink output format this package reads (the root attribute format_version). The engine's
# own is kFormatVersion in engine/include/brink/io/variables.hpp; tests/analysis checks that the two
# agree and that the brink binary writes it. Files without the attribute are format 1, as for the engine.
FORMAT_VERSION = 4

# `brink calibrate` marks its files with this root attribute brink_file_kind (the writer's kKind in
# engine/src/calibrate/calibration_file.cpp); a result file has engine = "brink" instead.
_CALIBRATION_KIND = "brink calibration"

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


# open_results reads every variable that carries Fletcher-32 checksums (the summaries, constants and
# marks) when it opens a finished file, up to this many bytes in all: a damaged chunk is refused there,
# in one sentence, rather than at the first computation. Per-replication chunks carry deflate's own
# checksum, which HDF5 checks whenever they are read.
_CHECKED_BYTES = 512 * 2**20


def _fnv1a_64(data: bytes) -> int:
    """FNV-1a, 64 bits: the digest brink keeps of its recorded texts (content_digest in the engine)."""
    digest = 0xcbf29ce484222325
    for byte in data:
        digest = ((digest ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return digest


def _recorded_text_problem(file) -> str | None:
    """Whether the texts that record how the file was run (root attributes `scenario` and `overrides`)
    match their digests (`scenario_digest`, `overrides_digest`): the texts are too large for HDF5's
    checksummed metadata, the digests are not (docs/output.md). None for a file without digests."""
    def text(name):
        value = file.attrs.get(name)
        return value if isinstance(value, bytes) else None if value is None else str(value).encode("utf-8")

    for name in ("scenario", "overrides"):
        digest, recorded = text(f"{name}_digest"), text(name)
        if digest and recorded is not None and f"{_fnv1a_64(recorded):016x}" != digest.decode("ascii", "replace"):
            return (f"its attribute '{name}' does not match its digest '{name}_digest', so the record of how it "
                    "was run is damaged")
    return None


def _damaged_variable(file, read: dict | None = None) -> tuple[str, str] | None:
    """The first checksummed variable of the open h5py `file` whose chunks fail their checksum, with
    HDF5's reason, or None; variables past _CHECKED_BYTES in all are left to be checked when read.
    The values of the summaries _summary_checks.row_problem judges are kept in `read`, not read twice."""
    import h5py

    budget = _CHECKED_BYTES
    for name, obj in file.items():
        if not isinstance(obj, h5py.Dataset) or not obj.fletcher32 or obj.nbytes > budget:
            continue
        budget -= obj.nbytes
        try:
            values = obj[()]
        except _OPEN_ERRORS as error:
            return name, _hdf5_reason(error)
        if read is not None and name in _summary_checks.ROW_VARIABLES:
            read[name] = values
    return None


def _format_version(value) -> int | str:
    """The root attribute format_version as an int, or as its text if it is no integer (refused)."""
    array = np.asarray(value)
    if array.size == 1 and array.dtype.kind in "iu":
        return int(array.reshape(()))
    return repr(_text(value) if _text(value) is not None else value)


# The variables every brink result holds, as (name, kind, dimensions): the same list brink's own
# reader checks (engine/src/io/recovery.cpp, layout_problem), so that a file brink inspect, merge and
# --resume refuse is refused here too, in its words, rather than read with a piece missing.
_LAYOUT = (
    ("actor", "string", ("actor",)),
    ("outcome", "string", ("outcome",)),
    ("outcome_count", "integer", ("point", "outcome")),
    ("outcome_probability", "floating-point", ("point", "outcome")),
    ("outcome_probability_lower", "floating-point", ("point", "outcome")),
    ("outcome_probability_upper", "floating-point", ("point", "outcome")),
    ("replications", "integer", ("point",)),
    ("mean_casualties", "floating-point", ("point", "actor")),
    ("mean_end_day", "floating-point", ("point",)),
)
_KINDS = {"string": "SOU", "integer": "iu", "floating-point": "f"}


def _layout_problem(file) -> str | None:
    """What the open h5py `file` lacks of a brink result's layout, in words, or None."""
    sizes: dict[str, int] = {}
    present = set(file.keys())  # not file.get: it reads a link that damaged metadata hides as a missing one
    for name, kind, dims in _LAYOUT + (("parameter_value", "floating-point", ("point", "parameter")),):
        if name == "parameter_value" and "parameter" not in present:
            continue
        obj = file[name] if name in present else None
        if obj is None or not hasattr(obj, "dtype"):
            return f"the variable '{name}' is missing"
        if obj.dtype.kind not in _KINDS[kind]:
            return f"the variable '{name}' holds {obj.dtype} values, not {kind} ones"
        if len(obj.shape) != len(dims):
            return f"the variable '{name}' has {len(obj.shape)} dimensions, not {len(dims)}"
        for dim, size in zip(dims, obj.shape):
            expected = sizes.setdefault(dim, size if dim != "parameter" else file["parameter"].shape[0])
            if size != expected:
                return f"the variable '{name}' has {size} entries along '{dim}', not {expected}"
    return None


def _label_problem(file) -> str | None:
    """Whether the names of the outcomes and rungs (strings in HDF5's global heap, which has no
    checksum) are those the checksummed flag_meanings of outcome_code and peak_rung list, and no
    actor is named twice: two flipped bytes swapped two outcomes' names, and open_results then
    called a standoff probability a full-war one. None if they are."""
    for coordinate, coded in (("outcome", "outcome_code"), ("rung", "peak_rung")):
        if coordinate not in file or coded not in file or "flag_meanings" not in file[coded].attrs:
            continue
        names = [_text(name) for name in file[coordinate][()]]
        meanings = (_text(file[coded].attrs["flag_meanings"]) or "").split()
        if names != meanings:
            return (f"its {coordinate} names {names} are not those its variable {coded} lists in flag_meanings "
                    f"({meanings})")
    actors = [_text(name) for name in file["actor"][()]]
    if len(set(actors)) != len(actors):
        return f"it names an actor twice ({actors})"
    return None


def _summary_problem(file, finished: np.ndarray) -> str | None:
    """What a finished point's summary holds that brink never writes, as brink inspect checks it
    (summary_problem in engine/src/io/hdf5_reader.cpp): counts that are negative or do not add up
    to the replications, a probability that is not count / replications, an interval that does not
    hold its probability. open_results read such files without a word."""
    replications = np.asarray(file["replications"][()], dtype=np.int64)
    if (replications < 0).any():
        return f"point {int(np.flatnonzero(replications < 0)[0])} counts {int(replications.min())} replications"
    counts = np.asarray(file["outcome_count"][()], dtype=np.int64)[finished]
    runs = replications[finished]
    probability = np.asarray(file["outcome_probability"][()], dtype=float)[finished]
    lower = np.asarray(file["outcome_probability_lower"][()], dtype=float)[finished]
    upper = np.asarray(file["outcome_probability_upper"][()], dtype=float)[finished]
    points = np.flatnonzero(finished)
    for row, point in enumerate(points):
        n, k = runs[row], counts[row]
        if (k < 0).any() or k.sum() != n:
            return f"point {point}'s outcome counts {k.tolist()} do not add up to its {n} replications"
        if np.abs(probability[row] - k / n).max() > 1e-12:
            return f"point {point}'s outcome probabilities are not its counts over its {n} replications"
        if not ((lower[row] >= 0) & (lower[row] <= probability[row]) & (probability[row] <= upper[row])
                & (upper[row] <= 1)).all():
            return f"point {point}'s outcome probability intervals do not hold its probabilities"
    return None


def _value_problem(file, read: dict | None = None) -> str | None:
    """What the open h5py `file` holds that brink never writes, in words, or None: a finished
    point's outcome probability that is not a number in [0, 1], or a parameter without a value
    (NaN) where every point has one (a sweep axis at a finished point; any parameter at every
    point). Only an edit makes them, and they were read silently: outcome_table showed NaN
    probabilities while discovery, which reads the counts, went on, and discovery called a
    parameter of NaN values "fixed with --set". A field that only some scenario choices have is
    NaN at the others' points, so a parameter may lack a value at some points."""
    finished = np.asarray(file["replications"][()]) > 0
    probability = np.asarray(file["outcome_probability"][()], dtype=float)[finished]
    bad = ~((probability >= 0.0) & (probability <= 1.0))
    if bad.any():
        row, k = np.argwhere(bad)[0]
        point, value = np.flatnonzero(finished)[row], float(probability[row, k])
        outcome = _text(file["outcome"][k]) if k < file["outcome"].shape[0] else str(k)
        return (f"the variable 'outcome_probability' holds {value!r} for outcome {outcome} at point {point}, "
                "which finished, where brink writes a probability")
    summary = (_summary_problem(file, finished) or _summary_checks.replications_problem(file, finished)
               or _summary_checks.row_problem(file, finished, read)
               or _summary_checks.outcome_code_problem(file, finished))
    if summary is not None:
        return summary
    if "parameter" not in file or file["parameter"].shape[0] == 0:
        return None
    values = np.asarray(file["parameter_value"][()], dtype=float)
    names = [_text(name) for name in file["parameter"][()]]
    swept = (np.asarray(file["parameter_swept"][()]) == 1 if "parameter_swept" in file
             else np.zeros(len(names), dtype=bool))
    for j, name in enumerate(names):
        missing = np.isnan(values[:, j])
        if missing.all() or (swept[j] and (missing & finished).any()):
            where = ("every point" if missing.all()
                     else f"point {int(np.flatnonzero(missing & finished)[0])}, which finished")
            return f"the parameter {name} has no value (NaN in 'parameter_value') at {where}"
    return None


def _not_a_result(path: str, kind: str | None) -> ValueError:
    """The error for an HDF5 file without brink's root attribute engine = brink; `kind` is its brink_file_kind."""
    if kind == _CALIBRATION_KIND:
        return ValueError(f"'{path}' is a brink calibration file (brink calibrate), not a result file: "
                          "open it with xarray.open_dataset(path, engine=\"h5netcdf\")")
    return ValueError(f"'{path}' is not a brink result file (its root attribute 'engine' is not 'brink')")


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


def _open_dataset(path: str) -> tuple[xr.Dataset, bool]:
    """The file as xarray reads it (engine h5netcdf, days kept as numbers) and whether it is still marked
    open by a writer; FileNotFoundError or ValueError naming `path` if it is not a readable brink result.

    The root attributes are checked with h5py first: h5netcdf reads every variable's dimensions on
    opening, and a foreign file fails there with advice (phony_dims) that does not apply."""
    import h5netcdf

    crash = _crash_problem(path)
    if crash is not None:
        raise ValueError(f"'{path}' is damaged: {crash}, so it cannot be opened safely; run it again")
    file, swmr = _open_hdf5(path)
    try:
        engine, kind = (_text(file.attrs.get(name)) for name in ("engine", "brink_file_kind"))
    except _OPEN_ERRORS as error:
        file.close()
        raise _unreadable(path, error) from error
    if engine != "brink":
        file.close()
        raise _not_a_result(path, kind)
    try:
        present = "format_version" in file.attrs
        version = _format_version(file.attrs["format_version"]) if present else 1
    except _OPEN_ERRORS as error:
        file.close()
        raise _unreadable(path, error) from error
    if version != FORMAT_VERSION:
        file.close()
        found = f"format {version}" if present else "format 1 (it has no root attribute format_version)"
        how = ("use the brink_analysis of the brink that wrote it" if isinstance(version, int) and
               version > FORMAT_VERSION else f"run it again with a brink that writes format {FORMAT_VERSION}")
        raise ValueError(f"'{path}' is in brink output {found} and brink_analysis reads format {FORMAT_VERSION} only, "
                         f"so it would misread it; {how}")
    def refuse_if(check, message):
        """Closes the file and raises if `check()` finds a problem (message(problem)) or fails reading."""
        try:
            problem = check()
        except _OPEN_ERRORS as error:  # the file's own metadata is damaged
            file.close()
            raise _unreadable(path, error) from error
        if problem is not None:
            file.close()
            raise ValueError(message(problem))

    def not_whole(problem):
        return f"'{path}' is not a whole brink result: {problem} (a damaged or edited file); run it again"

    refuse_if(lambda: _layout_problem(file) or _recorded_text_problem(file) or _label_problem(file), not_whole)
    # A run in progress rewrites chunks and points as it goes: only a finished file's are checked, and
    # its chunks before their values (a damaged chunk is named as such, not as the values it reads as).
    read: dict = {}  # summaries read for their checksums, judged below without reading them again
    refuse_if(lambda: None if swmr or int(file.attrs.get("complete", 0)) != 1 else _damaged_variable(file, read),
              lambda damaged: f"'{path}' is damaged: the stored values of {damaged[0]} fail their checksum "
                              f"({damaged[1]}), so the file cannot be trusted; run it again")
    refuse_if(lambda: None if swmr else _value_problem(file, read), not_whole)
    read.clear()
    try:
        if not swmr:
            file.close()  # xarray reopens it through its own file cache, which can pickle and reopen it
            return xr.open_dataset(path, engine="h5netcdf", decode_timedelta=False), False
        # xarray's h5netcdf engine cannot open a file as a SWMR reader: hand it the open file instead.
        store = xr.backends.H5NetCDFStore(h5netcdf.File(file.id, "r", decode_vlen_strings=True))
        return xr.open_dataset(store, decode_timedelta=False), True
    except _OPEN_ERRORS as error:
        file.close()
        raise _unreadable(path, error) from error


def open_results(path: str | os.PathLike) -> xr.Dataset:
    """Opens a brink result file as an :class:`xarray.Dataset`.

    The file is opened lazily with ``engine="h5netcdf"`` and
    ``decode_timedelta=False``, so ``day`` (the day of each entry of the
    ``step`` axis, on which survival, rung shares, mean troops and beliefs and
    the ``--timeseries`` series lie) stays numeric days instead of becoming
    ``timedelta64``. On top of the file's own layout:

    - every string coordinate (``actor``, ``pool``, ``outcome``, ``rung``,
      ``action``, ``issue``, ``parameter``, ``output``) and the string
      variables ``type_name``, ``actor_name`` and ``parameter_units`` hold ``str``;
    - ``day`` is a coordinate along ``step`` (``ds.survival.swap_dims(step="day")``);
    - every parameter path in ``parameter`` (each ``--set`` and ``--sweep``
      path) becomes a coordinate along ``point`` named by the dotted path, with
      its values from ``parameter_value`` and its ``units`` where known, e.g.
      ``ds.coords["actors.RUS.forces.deployed"]`` (troops), so that
      ``ds.outcome_probability.swap_dims(point="actors.RUS.forces.deployed")``
      works for a one-parameter sweep.

    Replications a point never ran (adaptive sweeps run fewer than the
    ``replication`` dimension; see ``replications(point)``) hold the file's
    ``_FillValue`` and so read as NaN in the per-run variables (integer
    variables become floats); :func:`replication_mask` marks the ones that ran.
    A comparison makes NaN False, so ``(ds.outcome_code == 3).mean("replication")``
    counts the unrun slots as replications of another outcome: mask after
    comparing, ``(ds.outcome_code == 3).where(ds.replication <
    ds.replications).mean("replication")``. For such a file (an adaptive run
    with per-replication data) open_results warns once (RuntimeWarning)
    with that expression, and adds it to each per-replication variable's
    ``comment`` attribute.

    A ``.partial`` file still marked open by its writer (a run in progress, or
    one killed outright) is read as ``brink inspect`` reads it: as an HDF5
    single-writer/multiple-reader (SWMR) reader.

    Raises FileNotFoundError if `path` does not exist and ValueError, naming
    the file and the cause (the HDF5 error is kept as ``__cause__``), if it
    cannot be read as a brink result: empty, not HDF5, truncated, damaged,
    missing a variable every result holds or holding it with another type or
    shape (the layout ``brink inspect`` checks; an edited file), holding
    values brink never writes (a finished point's ``outcome_probability``
    that is NaN or outside [0, 1], a sweep axis without a value at a
    finished point, a parameter without a value at every point; an edited
    file, checked unless a writer still has the file open),
    written by another program or by ``brink calibrate``, or in another
    output format than :data:`FORMAT_VERSION` (the root attribute
    ``format_version``; a file without it is format 1), which ``brink
    inspect``, ``merge`` and ``--resume`` refuse too. A finished file's
    summaries, constants and marks (every variable HDF5 keeps Fletcher-32
    checksums of, up to 512 MiB in all) are read once on opening, so that a
    damaged byte among them is refused here rather than read as a number;
    per-replication variables are checked by HDF5 (deflate's checksum)
    whenever they are read: :func:`read_values` (which the package's
    per-replication readers use) turns a damaged chunk's OSError into a
    ValueError naming the file and the variable. Any error h5netcdf or xarray
    raise while opening (damaged metadata can trip them anywhere) is the
    file's and gets the ValueError above. Every point carries the coordinate
    ``finished`` (replications > 0). Warns
    (RuntimeWarning) if the run that wrote it did not finish (no root
    attribute ``complete = 1``), and if a ``PATH.partial`` written after it
    lies beside it: a later run into `path` was interrupted, and `path` still
    holds an earlier run's results. Close the dataset (or use it in a ``with``
    block) to release the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        what = " (a directory)" if os.path.isdir(path) else ""
        raise FileNotFoundError(f"no brink result file at '{path}'{what}")
    if importlib.util.find_spec("h5netcdf") is None:  # xarray's engine; not declared in pyproject.toml
        raise ImportError("reading brink files needs h5netcdf: install python3-h5netcdf (Debian) or h5netcdf")
    raw, marked = _open_dataset(path)
    try:
        ds = _decorated(raw)
    except _OPEN_ERRORS as error:  # open_results reads the strings and parameter values now, not lazily
        raw.close()
        raise _unreadable(path, error) from error
    ds.set_close(raw.close)  # assign_coords returns a dataset without it: ds.close() would leave the file open
    ds.encoding.setdefault("source", os.path.abspath(path))  # xarray records none for a SWMR store; errors name it
    shard = shard_of(ds)
    if shard is not None:
        held = int((np.arange(int(ds.attrs.get("shard_plan_points", ds.sizes["point"]))) % shard[1] == shard[0]).sum())
        warnings.warn(f"'{path}' is shard {shard[0]} of {shard[1]} (brink run --shard): it holds {held} of the "
                      f"sweep's {ds.sizes['point']} points; join the shards with brink merge to analyse the sweep",
                      RuntimeWarning, stacklevel=2)
    unrun = _unrun_slots(ds)
    if unrun is not None:
        ds = _comment_unrun(ds)
        warnings.warn(f"'{path}' is an adaptive run: {unrun}. Those slots read as NaN, and a comparison makes them "
                      f"False, so (ds.outcome_code == 3).mean('replication') counts them as replications that "
                      f"did not end in outcome 3. Mask them after comparing: (ds.outcome_code == 3)"
                      f".where(ds.replication < ds.replications).mean('replication'), or .where(ba.replication_mask(ds)); "
                      f"the package's own functions use only the replications that ran", RuntimeWarning, stacklevel=2)
    newer = _newer_partial(path)
    if newer is not None:
        warnings.warn(f"'{newer}' beside it is newer than '{path}': a later run into '{path}' did not finish (it was "
                      f"interrupted, or is still running), so '{path}' holds the results of an earlier run; continue "
                      "the later one with brink run ... --resume (resume=True from brink_analysis.run), or open "
                      f"'{newer}' to see how far it got", RuntimeWarning, stacklevel=2)
    if int(ds.attrs.get("complete", 0)) != 1:
        how = " (it was killed, or is still running)" if marked else ""
        warnings.warn(
            f"'{path}' is incomplete: the run that wrote it did not finish{how} "
            "(finish it with brink run ... --resume)",
            RuntimeWarning,
            stacklevel=2,
        )
    return ds


def _newer_partial(path: str) -> str | None:
    """``PATH.partial`` if it lies beside the finished file `path` and was written after it: brink
    writes a run into ``PATH.partial`` and renames it to ``PATH`` only when it finishes, so such a
    file is a later run of the same output that was interrupted (or is running); None otherwise."""
    partial = f"{path}.partial"
    if path.endswith(".partial") or not os.path.isfile(partial):
        return None
    return partial if os.path.getmtime(partial) > os.path.getmtime(path) else None


# What open_results adds to each per-replication variable of an adaptive run (the file has no such attribute).
UNRUN_COMMENT = ("replications at or beyond replications(point) never ran and read as NaN; mask them with "
                 ".where(ds.replication < ds.replications) (or brink_analysis.replication_mask) after comparing "
                 "and before averaging over replication")


def _per_replication(ds: xr.Dataset) -> list[str]:
    """The variables along ``replication`` (per-run data; a --summary-only file has none)."""
    return [name for name, var in ds.data_vars.items() if "replication" in var.dims]


def _unrun_slots(ds: xr.Dataset) -> str | None:
    """How an adaptive run leaves replication slots unrun at its finished points (a phrase for
    open_results' warning), or None: every finished point ran them all, or there is no per-run data."""
    if "replications" not in ds.variables or "replication" not in ds.dims or not _per_replication(ds):
        return None
    reps = np.asarray(ds["replications"].values)
    ran = reps[reps > 0]
    slots = ds.sizes["replication"]
    if not ran.size or ran.min() >= slots:
        return None
    return (f"its points ran {int(ran.min()):,} to {int(ran.max()):,} replications of the {slots:,} slots of its "
            f"replication dimension, and {int((ran < slots).sum())} of {ran.size} finished points left slots unrun")


def _comment_unrun(ds: xr.Dataset) -> xr.Dataset:
    """Every per-replication variable with :data:`UNRUN_COMMENT` in its ``comment`` attribute."""
    for name in _per_replication(ds):
        attrs = ds[name].attrs
        if UNRUN_COMMENT not in str(attrs.get("comment", "")):
            attrs["comment"] = f"{attrs['comment']}; {UNRUN_COMMENT}" if attrs.get("comment") else UNRUN_COMMENT
    return ds


def shard_of(ds: xr.Dataset) -> tuple[int, int] | None:
    """(I, N) of the file of ``brink run --shard I/N`` (its root attributes ``shard_index`` and
    ``shard_count``; it holds the points p with p mod N = I), or None for any other file."""
    ds = dataset(ds)
    if "shard_index" not in ds.attrs or "shard_count" not in ds.attrs:
        return None
    return int(ds.attrs["shard_index"]), int(ds.attrs["shard_count"])


def _finished(ds: xr.Dataset) -> np.ndarray | None:
    """Per point, whether it finished (ran replications), or None if the file does not say."""
    if "replications" in ds.variables:
        return np.asarray(ds["replications"].values) > 0
    if "outcome_count" in ds.variables:  # files older than the replications variable
        return np.asarray(ds["outcome_count"].sum("outcome").values) > 0
    return None


def _decorated(ds: xr.Dataset) -> xr.Dataset:
    """open_results' additions to the file as xarray reads it (strings, ``day``, parameter coordinates),
    without brink's own resume bookkeeping."""
    # --resume reads its sums (resume_* on the resume_slot dimension, output.md) from the file itself;
    # to an analysis they are nothing, and their dimension, whose size follows the number of points,
    # made xarray.concat and merge of two files fail on it.
    ds = ds.drop_vars([name for name, var in ds.variables.items() if "resume_slot" in var.dims])
    # Strings come back as str, whatever the reader's choice of object/bytes.
    for name in list(ds.variables):
        var = ds.variables[name]
        if var.dtype.kind not in "OSU":
            continue
        values = _as_str_array(var.values)
        if name in ds.coords:
            ds = ds.assign_coords({name: (var.dims, values, dict(var.attrs))})
        else:
            ds[name] = (var.dims, values, dict(var.attrs))

    if "day" in ds.data_vars:
        ds = ds.set_coords("day")

    done = _finished(ds)
    if done is not None:  # carried by every variable along point, so that to_grid(ds.var) can mask it too
        ds = ds.assign_coords(finished=("point", done, {
            "long_name": "whether the point finished (replications > 0); an interrupted run's or another "
                         "shard's points did not, and their summaries mean nothing"}))

    if "parameter_value" in ds.variables:
        ds["parameter_value"] = ds["parameter_value"].load()  # small, and read on every parameter lookup
    table = parameter_table(ds)
    if len(table.columns):
        scenario = _parse_scenario(ds.attrs.get("scenario"))
        swept = (np.asarray(ds["parameter_swept"].values, dtype=int) if "parameter_swept" in ds.variables
                 else np.zeros(len(table.columns), dtype=int))
        # A mixed design marks each parameter's own coordinate (actors_USA_forces_ready) with its
        # role (lever or uncertainty, docs/sweeps.md): the dotted-path coordinate keeps it.
        roles = {str(c.attrs["parameter_path"]): str(c.attrs["role"]) for c in ds.coords.values()
                 if "parameter_path" in c.attrs and "role" in c.attrs}
        # A text value's coordinate (combat_law) names its values with CF flags: the dotted-path
        # coordinate gets them too, so that it decodes (cf_xarray, groupby labels) as the raw one does.
        flags = {str(c.attrs["parameter_path"]): {k: c.attrs[k] for k in ("flag_values", "flag_meanings")}
                 for c in ds.coords.values() if "parameter_path" in c.attrs and "flag_meanings" in c.attrs}
        extra = {}
        for name, axis in zip(table.columns, swept):
            attrs = {
                "long_name": f"value of the scenario parameter {name} at each point",
                "label": parameter_label(name, scenario=scenario),
                "parameter_path": name,
                "swept": int(axis),  # 1 for a sweep axis; 0 for a --set or a field a scenario choice sets
            }
            if table.attrs["units"][name]:
                attrs["units"] = table.attrs["units"][name]
            if name in roles:
                attrs["role"] = roles[name]
            if name in ds.coords:  # a path without a dot ("scenario") is the file's own coordinate: keep its flags
                attrs = {**attrs, **dict(ds.coords[name].attrs)}
            attrs.update(flags.get(name, {}))
            if name == "scenario" and "scenario_choices" in ds.attrs:  # its names, for a variable taken alone
                attrs["scenario_choices"] = str(ds.attrs["scenario_choices"])
            extra[name] = ("point", table[name].to_numpy(), attrs)
        ds = ds.assign_coords(extra)
    return ds


# --------------------------------------------------------------------------
# Parameters and points
# --------------------------------------------------------------------------


def parameter_table(ds: xr.Dataset) -> pd.DataFrame:
    """Every ``--set``/``--sweep`` parameter's value at every point: a DataFrame indexed by the
    point index (``point``) with one float64 column per dotted parameter path, in file order, and
    ``table.attrs["units"]`` = {path: unit as the file records it, or None if dimensionless}.

    This is the one place that knows how a file lays its parameters out (today
    ``parameter_value(point, parameter)`` with the paths in the ``parameter``
    coordinate and the units in ``parameter_units``); everything else in the
    package reads parameters through it."""
    ds = dataset(ds)
    index = pd.Index(np.asarray(ds["point"].values, dtype=np.int64), name="point")
    if "parameter" not in ds.dims or "parameter_value" not in ds.variables:
        table = pd.DataFrame(index=index)
        table.attrs["units"] = {}
        return table
    names = [str(p) for p in ds["parameter"].values]
    values = np.asarray(ds["parameter_value"].transpose("point", "parameter").values, dtype=float)
    table = pd.DataFrame(values, index=index, columns=names)
    raw = ds["parameter_units"].values if "parameter_units" in ds.variables else [""] * len(names)
    units = [u.decode() if isinstance(u, bytes) else str(u) for u in raw]
    table.attrs["units"] = {n: (u if u not in ("", "1") else None) for n, u in zip(names, units)}
    return table


def category_names(ds: xr.Dataset, path: str) -> dict[float, str] | None:
    """{index: name} of a categorical parameter, or None for a numeric one. A file holds such an
    axis as the index of its value: a text value (``combat.law=square,linear``) is named by its
    coordinate's CF ``flag_values``/``flag_meanings``, a scenario choice (``--sweep scenario=a.yaml,b.yaml``)
    by the root attribute ``scenario_choices`` (one label per line). `ds` may be one variable of the file."""
    ds = dataset(ds, variable_ok=True)
    # A scenario choice's labels as given (paths may hold spaces, which flag_meanings cannot): the root
    # attribute, or its copy on the coordinate (open_results puts it there), which one variable keeps.
    choices = ds.attrs.get("scenario_choices") if path == "scenario" else None
    if choices is None and path == "scenario" and "scenario" in ds.coords:
        choices = ds.coords["scenario"].attrs.get("scenario_choices")
    if choices is not None:
        return {float(k): label for k, label in enumerate(str(choices).split("\n"))}
    for coord in ds.coords.values():
        if str(coord.attrs.get("parameter_path", "")) == path and "flag_meanings" in coord.attrs:
            values = np.atleast_1d(coord.attrs["flag_values"])
            return dict(zip(map(float, values), str(coord.attrs["flag_meanings"]).split()))
    return None


def named_parameter_table(ds: xr.Dataset) -> pd.DataFrame:
    """:func:`parameter_table` with each categorical parameter's values as their names (text
    values and scenario choices; see :func:`category_names`), for tables a reader looks at."""
    ds = dataset(ds)
    table = parameter_table(ds)
    for path in table.columns:
        names = category_names(ds, path)
        if names:
            table[path] = [names.get(v, v) for v in table[path].to_numpy()]
    return table


def parameters(ds: xr.Dataset) -> list[str]:
    """Every parameter path the file records (each ``--set`` and ``--sweep``), in file order."""
    ds = dataset(ds)
    return list(parameter_table(ds).columns)


def parameter_values(ds: xr.Dataset, name: str) -> np.ndarray:
    """Value of parameter path `name` at every point (float64, along ``point``); ValueError if the file lacks it."""
    ds = dataset(ds)
    table = parameter_table(ds)
    if not isinstance(name, str) or name not in table.columns:
        drawn = replication_parameter_paths(ds)
        if isinstance(name, str) and name in drawn:
            raise ValueError(f"{name!r} varies per replication in this file, not per point (brink run --posterior "
                             f"draws one parameter set per replication): {DRAWN_HINT}")
        raise ValueError(f"{name!r} is not a parameter of this file; its parameters: "
                         f"{parameter_list_text(table.columns, drawn)}")
    return table[name].to_numpy()


# What to do with a posterior run's parameters, which vary per replication.
READ_DRAWN = "read them with replication_parameters(ds)"
DRAWN_HINT = (f"{READ_DRAWN}, or find the boxes per replication "
              "(discovery_data / find_boxes with per='replication'; brink-analysis discover --per replication)")


def replication_parameter_paths(ds: xr.Dataset) -> list[str]:
    """The parameter paths a ``brink run --posterior`` file holds per replication (variables on
    (point, replication) with a ``parameter_path`` attribute), in file order; empty for any other run."""
    paths = []
    for var in ds.variables.values():
        path = var.attrs.get("parameter_path")
        if path is not None and var.dims == ("point", "replication"):
            paths.append(path.decode() if isinstance(path, bytes) else str(path))
    return paths


def parameter_list_text(names: Sequence[str], drawn: Sequence[str] = ()) -> str:
    """The list of parameter paths error messages give ("a, b", or why there is none); `drawn`, the
    paths a posterior run holds per replication, are named as such."""
    if drawn:
        per_point = ", ".join(map(str, names)) if len(names) else "none per point"
        return (f"{per_point}; per replication (brink run --posterior): {', '.join(map(str, drawn))} "
                f"({DRAWN_HINT})")
    return ", ".join(map(str, names)) if len(names) else "none (the run used no --set or --sweep)"


def replication_parameters(ds: xr.Dataset, point: int = 0) -> pd.DataFrame:
    """A posterior run's parameter values per replication (``brink run --posterior``: every
    replication draws its own parameter set): a DataFrame indexed by ``replication`` with one
    float64 column per dotted parameter path, for the point at position `point`, and
    ``table.attrs["units"]`` as in parameter_table. ValueError for any other run, which has no
    such values (a ``--posterior-draws`` run's draws, or those of a run whose calibrated fields are not
    all per-lane, are its points: :func:`parameter_table`).

    The file stores each as a variable on (point, replication) with a ``parameter_path``
    attribute; xarray already attaches them as coordinates of every per-replication variable.
    `point` is checked as everywhere (:func:`point_position`: an index or a {path: value} dict)."""
    ds = dataset(ds)
    point = point_position(ds, point)
    columns, units = {}, {}
    for name, var in ds.variables.items():
        path = var.attrs.get("parameter_path")
        if path is None or var.dims != ("point", "replication"):
            continue
        path = path.decode() if isinstance(path, bytes) else str(path)
        columns[path] = np.asarray(var.isel(point=point).values, dtype=float)
        unit = var.attrs.get("scenario_units") or var.attrs.get("units")
        units[path] = None if unit in (None, "", "1") else str(unit)
    if not columns:
        drawn_points = str(ds.attrs.get("design", "")) == "posterior" and int(ds.attrs.get("samples", 0)) > 0
        draws = " (its posterior draws are its points, one parameter set each: parameter_table)" if drawn_points else ""
        raise ValueError(f"the file holds no parameter values per replication{draws}: only brink run --posterior "
                         "with a draw per replication writes them")
    table = pd.DataFrame(columns, index=pd.RangeIndex(ds.sizes["replication"], name="replication"))
    table.attrs["units"] = units
    return table


def swept_parameters(ds: xr.Dataset, points: Sequence[int] | None = None) -> list[str]:
    """The parameter paths whose value differs between points (among `points`, positions along
    ``point``, if given), in file order. A ``--set`` path has one value everywhere and is not listed."""
    ds = dataset(ds)
    out = []
    for name in parameters(ds):
        values = parameter_values(ds, name)
        if points is not None:
            values = values[point_positions(ds, points)]
        if values.size and not np.all(values == values[0]):
            out.append(name)
    return out


def sweep_axes(ds: xr.Dataset) -> list[str]:
    """The swept parameters the file marks as sweep axes (``parameter_swept``): a field that only
    follows a scenario choice varies too, but the choice already names the point."""
    names = swept_parameters(ds)
    if "parameter_swept" not in ds.variables:
        return names
    flags = dict(zip(parameters(ds), np.asarray(ds["parameter_swept"].values, dtype=int)))
    return [n for n in names if flags.get(n, 1) == 1] or names


# Variables along point that are a point's inputs or the run's bookkeeping, not its results: they
# hold true values at an unfinished point too.
_NOT_RESULTS = {"replications", "parameter_value", "rerun_command", "block_done", "finished"}


def _is_summary(var: xr.DataArray, name) -> bool:
    """Whether `var` is a per-point result: numeric, along point, not per replication (those have
    replication_mask) and not an input. Per-replication arrays stay as they are, unread."""
    return ("point" in var.dims and "replication" not in var.dims and name not in _NOT_RESULTS
            and var.dtype.kind in "iuf")


def _unfinished_as_nan(data: xr.Dataset | xr.DataArray):
    """`data` with every per-point result of an unfinished point (``finished`` False: an
    interrupted run's point, another shard's) NaN: the file holds 0 there, or a value written
    before the point's replications were, and either would read as a result."""
    finished = data.coords.get("finished")
    if finished is None and isinstance(data, xr.Dataset) and "replications" in data.data_vars:
        finished = data["replications"] > 0  # a dataset not from open_results
    if finished is None or bool(finished.all()):
        return data
    if isinstance(data, xr.DataArray):
        return data.where(finished) if _is_summary(data, data.name) else data
    masked = {name: var.where(finished) for name, var in data.data_vars.items() if _is_summary(var, name)}
    return data.assign(masked)


def indexed(data: xr.Dataset | xr.DataArray, parameters: Sequence[str] | None = None):
    """`data` with its parameter coordinates (default: every swept one) made an index of ``point``,
    so that ``indexed(ds).sel({"actors_RUS_forces_deployed": 100000})`` selects by value.

    The file cannot do this itself: xarray indexes only dimension coordinates when it opens a file,
    and a parameter coordinate lies along ``point``. One coordinate gets a plain index
    (``set_xindex``); several get one pandas MultiIndex (xarray selects with one index per
    dimension), which keeps ``sel`` by any one of them working (selecting a single value of a
    level drops that level, as in pandas). `parameters` are coordinate names or dotted paths.
    A categorical parameter (a text value such as ``combat.law``, or a scenario choice) is indexed
    by the names of its values, not the indices the file stores:
    ``indexed(ds).sel({"combat.law": "linear"})``. Every per-point result of a point that did not
    finish (an interrupted run's, another shard's) is NaN, as in :func:`to_grid`."""
    data = dataset(data, "data", variable_ok=True)
    names = []
    wanted = None if parameters is None else [str(p) for p in parameters]
    for name, coord in data.coords.items():
        if coord.dims != ("point",) or "parameter_path" not in coord.attrs:
            continue
        path = str(coord.attrs["parameter_path"])
        if wanted is None and int(coord.attrs.get("swept", 1)) != 1:
            continue
        if wanted is not None and name not in wanted and path not in wanted:
            continue
        names.append(name)
    if wanted is not None:
        known = {name: str(coord.attrs["parameter_path"]) for name, coord in data.coords.items()
                 if coord.dims == ("point",) and "parameter_path" in coord.attrs}
        unknown = [w for w in wanted if w not in known and w not in known.values()]
        if unknown:
            raise ValueError(f"'{unknown[0]}' is not a parameter of this file; its parameters: "
                             f"{parameter_list_text(sorted(set(known.values())))}")
    if not names:
        raise ValueError("no parameter coordinate to index: the file has no swept parameter"
                         + ("" if wanted is None else f" among {', '.join(wanted)}"))
    data = _unfinished_as_nan(data)
    named = {}
    for name in names:  # a categorical parameter by the names of its values
        labels = category_names(data, str(data.coords[name].attrs["parameter_path"]))
        if labels:
            coord = data.coords[name]
            values = np.array([labels.get(float(v), format_value(v)) for v in coord.values], dtype=object)
            named[name] = (coord.dims, values, _named_attrs(coord.attrs))
    data = data.assign_coords(named) if named else data
    if len(names) == 1:
        return data.set_xindex(names[0])
    from xarray.core.indexes import PandasMultiIndex

    return data.set_xindex(names, PandasMultiIndex)


def _path_coordinates(ds: xr.Dataset) -> list[str]:
    """The parameter coordinates along point that open_results names by their dotted path."""
    return [c for c in ds.coords if ds.coords[c].dims == ("point",) and ds.coords[c].attrs.get("parameter_path") == c]


def _axis_coordinates(ds: xr.Dataset) -> list[str]:
    """The path coordinates open_results marks as sweep axes (``swept``) that vary between points."""
    return [c for c in _path_coordinates(ds)
            if ds.coords[c].attrs.get("swept") == 1 and np.unique(ds.coords[c].values).size > 1]


def to_grid(data: xr.Dataset | xr.DataArray, parameters: Sequence[str] | None = None):
    """Reshapes a grid sweep in one call: the ``point`` dimension becomes one
    dimension per swept parameter, named by its dotted path and indexed by its
    values, e.g. ``to_grid(ds).outcome_probability.sel(outcome="full_war")``
    is a (deployed, patience) array, and ``.sel({"actors.RUS.forces.deployed":
    150000})`` selects by value.

    `data` is a Dataset from :func:`open_results` (or a variable of one, which
    keeps its parameter coordinates); `parameters` defaults to the sweep axes
    that vary (``parameter_swept``: not the fields a scenario choice sets,
    which follow its axis). Raises ValueError
    if the points are not a full grid of those parameters (random, LHS or
    Sobol designs: group or scatter by the coordinates instead; or a grid
    axis left out of `parameters`, which the message names).

    Every per-point result (not ``replications``, the parameter values or the
    per-replication variables) of a point that did not finish (``finished``
    False: an interrupted run's point, another shard's) is NaN: the file
    holds 0 there, or a value written before the point's replications."""
    data = dataset(data, "data", variable_ok=True)
    data = _unfinished_as_nan(data)
    ds = data if isinstance(data, xr.Dataset) else data.to_dataset(name="_value")
    if parameters is None:
        paths = _path_coordinates(ds)  # open_results names each parameter's coordinate by its path, and marks the axes
        axes = [c for c in paths if ds.coords[c].attrs.get("swept") == 1]
        names = [c for c in (axes or paths) if np.unique(ds.coords[c].values).size > 1]
    else:
        names = name_list(parameters, "parameter")
    if not names:
        if parameters is None and not paths and ds.sizes.get("parameter", 0) > 0:
            raise ValueError("the dataset has no parameter coordinates: open the file with brink_analysis.open_results")
        if parameters is None and not paths:  # an empty parameter axis: the run had no --set or --sweep
            raise ValueError("the file sweeps no parameter (the run had no --sweep): there is no grid to reshape")
        raise ValueError("the file sweeps no parameter (each has one value): there is no grid to reshape")
    missing = [n for n in names if n not in ds.coords]
    if missing:
        paths = _path_coordinates(ds)
        if paths:  # the coordinates are there: the name is wrong
            raise ValueError(f"'{missing[0]}' is not a parameter of this file; its parameters: "
                             f"{parameter_list_text(paths)}")
        raise ValueError(f"no coordinate for {', '.join(missing)}: open the file with brink_analysis.open_results")
    sizes = [np.unique(ds.coords[n].values).size for n in names]
    combos = {tuple(row) for row in np.column_stack([ds.coords[n].values for n in names])}
    if int(np.prod(sizes)) != ds.sizes["point"] or len(combos) != ds.sizes["point"]:
        left_out = [c for c in _axis_coordinates(ds) if c not in names]
        if len(combos) < ds.sizes["point"] and left_out:  # points share values: another axis tells them apart
            raise ValueError(f"the {ds.sizes['point']} points are not a grid of {', '.join(names)} alone: the file "
                             f"also sweeps {', '.join(left_out)}; name every axis in parameters=, or pick points "
                             "with select_points first")
        raise ValueError(
            f"the {ds.sizes['point']} points are not a grid of {', '.join(names)} ({' x '.join(map(str, sizes))} "
            "values): a sampled design has no grid; group or scatter by the parameter coordinates instead"
        )
    others = [c for c in ds.coords if c not in names and ds.coords[c].dims == ("point",) and c != "point"]
    source = ds.drop_vars(others)
    # xarray's lazy indexing of a variable with an empty axis (a file with no issues) fails in the
    # reshape ("zero-size array to reduction operation"): such variables are loaded first, at no cost.
    for variable in source.variables.values():
        if 0 in variable.shape:
            variable.load()
    if len(names) == 1:  # xarray unstacks only a MultiIndex, which one parameter does not make
        grid = source.swap_dims(point=names[0]).drop_vars("point").sortby(names[0])
    else:
        with np.errstate(invalid="ignore"):  # unstack casts a NaN fill (unused: the grid is full) to integer types
            grid = source.set_index(point=names).unstack("point")
    grid = _named_axes(grid, ds, names)
    return grid if isinstance(data, xr.Dataset) else grid["_value"].rename(data.name)


def _named_axes(grid: xr.Dataset, ds: xr.Dataset, names: Sequence[str]) -> xr.Dataset:
    """`grid` with each categorical axis among `names` (a text value, a scenario choice) labelled by
    its values' names, as indexed labels it: ``.sel({"combat.law": "linear"})``. The axis is reshaped
    on the indices the file stores first, so that it keeps the order the values were listed in."""
    named = {}
    for name in names:
        labels = category_names(ds, str(ds.coords[name].attrs.get("parameter_path", name)))
        if labels:
            values = np.array([labels.get(float(v), format_value(v)) for v in grid[name].values], dtype=object)
            named[name] = (name, values, _named_attrs(ds.coords[name].attrs))
    return grid.assign_coords(named) if named else grid


def _named_attrs(attrs: Mapping) -> dict:
    """The attributes of a categorical coordinate whose values have become their names: its CF flags,
    which map the indices the file stores to names, no longer apply."""
    return {k: v for k, v in attrs.items() if k not in ("flag_values", "flag_meanings")}


def select_points(ds: xr.Dataset, where: Mapping[str, float] | None = None) -> np.ndarray:
    """Positions along ``point`` of the points whose parameters equal `where` ({path: value}).

    Values compare with a relative tolerance of 1e-9; a categorical parameter
    (a text value or a scenario choice) takes its value's name, e.g.
    ``{"combat.law": "linear"}``. An empty or None `where` selects every point.
    Raises ValueError naming the parameter if a path is unknown or no point has
    the value asked for.
    """
    ds = dataset(ds)
    if where is not None and not isinstance(where, Mapping):
        raise TypeError(f"where must be a {{parameter path: value}} dict; got {where!r}")
    keep = np.ones(ds.sizes["point"], dtype=bool)
    for name, value in (where or {}).items():
        values = parameter_values(ds, name)
        names = category_names(ds, name) or {}
        shown = [names.get(v, format_value(v)) for v in np.unique(values)]
        if isinstance(value, str):
            codes = [code for code, label in names.items() if label == value]
            try:
                value = codes[0] if codes else float(value)  # a name, or a number written as text
            except ValueError:
                raise ValueError(f"no point has {name} = {value!r}; its values: {', '.join(shown)}") from None
        elif not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise ValueError(f"the value of {name} in where= must be a number or a name; got {value!r}")
        match = np.isclose(values, float(value), rtol=1e-9, atol=0.0)
        if not match.any():
            asked = names.get(float(value), format_value(value))
            if asked in shown:  # it misses a value by less than the display shows: print it as given
                asked = repr(float(value))
            raise ValueError(f"no point has {name} = {asked}; its values: {', '.join(shown)}")
        keep &= match
    if not keep.any():
        raise ValueError(f"no point matches all of {dict(where or {})}")
    return np.flatnonzero(keep)


def point_position(ds: xr.Dataset, point: int | Mapping[str, float]) -> int:
    """Position along ``point`` of one point, given as its index (the ``point``
    coordinate value) or as {parameter path: value} matching exactly one point."""
    ds = dataset(ds)
    if isinstance(point, Mapping):
        found = select_points(ds, point)
        if found.size != 1:
            raise ValueError(
                f"{dict(point)} matches {found.size} points; add values for {', '.join(swept_parameters(ds, found))}"
            )
        return int(found[0])
    point = _integer(point, "point (an index, or {parameter path: value})")
    hits = np.flatnonzero(np.asarray(ds["point"].values) == point)
    if hits.size != 1:
        raise ValueError(f"no point {point} in this file (it has points 0 to {ds.sizes['point'] - 1})")
    return int(hits[0])


def _integer(value, what: str) -> int:
    """`value` as an int; TypeError for anything else (True, 1.5 and "0" are not point indices)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an integer; got {value!r}")
    return int(value)


def point_positions(ds: xr.Dataset, points, what: str = "points") -> np.ndarray:
    """`points`, positions along ``point`` (0 to the number of points - 1), checked: a non-empty
    sequence of integers in range. TypeError or ValueError naming `what` and the bad value."""
    if isinstance(points, (str, bytes, Mapping)) or not isinstance(points, Iterable):
        raise TypeError(f"{what} must be a list of point positions; got {points!r}")
    out = np.array([_integer(p, what[:-1] if what.endswith("s") else what) for p in points], dtype=np.int64)
    if out.size == 0:
        raise ValueError(f"{what} is empty: name at least one point")
    n = ds.sizes["point"]
    bad = out[(out < 0) | (out >= n)]
    if bad.size:
        raise ValueError(f"no point {int(bad[0])} in this file (it has points 0 to {n - 1})")
    return out


def replication_mask(ds: xr.Dataset) -> xr.DataArray:
    """Boolean (point, replication): True for the replications each point actually ran.

    Fixed-count runs ran every replication; adaptive ones ran ``replications(point)``
    (the rest of the per-run arrays decodes as NaN: the file's _FillValue)."""
    ds = dataset(ds)
    if "replication" not in ds.dims:
        raise ValueError(f"this file has no per-replication data (it was written with --summary-only): {PER_RUN_HINT}")
    rep = ds["replication"]
    if "replications" in ds.data_vars:
        return rep < ds["replications"]
    return xr.ones_like(ds["point"], dtype=bool) & xr.ones_like(rep, dtype=bool)


def read_values(data: xr.DataArray, ds: xr.Dataset | None = None) -> np.ndarray:
    """The values of variable `data` (of `ds`, whose file names it), read from the file now.

    Per-replication variables are read lazily, when first used, and HDF5 checks their chunks then:
    a damaged one raises ValueError naming the file and the variable instead of h5py's OSError."""
    try:
        return np.asarray(data.values)
    except OSError as error:
        source = (ds.encoding.get("source") if ds is not None else None) or data.encoding.get("source")
        raise ValueError(f"{repr(source) if source else 'the file'} is damaged: variable '{data.name}' cannot be read "
                         f"({_hdf5_reason(error)}); run it again") from error


def require(ds: xr.Dataset, names: Iterable[str], what: str, how: str) -> None:
    """Raises ValueError("the file has no <what> (<names>): <how>") if a variable in `names` is missing."""
    missing = [n for n in names if n not in ds.variables]
    if missing:
        raise ValueError(f"this file has no {what} (no variable {', '.join(repr(m) for m in missing)}): {how}")


TIMESERIES_HINT = "run brink with --timeseries every=K (and without --summary-only) to record it"
PER_RUN_HINT = "run brink without --summary-only to record per-replication results"


# --------------------------------------------------------------------------
# Units (from the file) and labels
# --------------------------------------------------------------------------

_NICE = {
    "forces.deployed": "deployed forces",
    "forces.ready": "ready forces",
    "forces.reserve": "reserve forces",
    "forces.deployed_cap": "cap on deployed forces",
    "forces.mobilization_rate": "mobilization rate",
    "forces.deployment_rate": "deployment rate",
    "posture.reaction": "reaction coefficient",
    "posture.fatigue": "fatigue",
    "posture.grievance": "grievance",
    "combat.effectiveness": "combat effectiveness",
    "combat.defence_advantage": "defence advantage",
    "decision.rationality": "rationality λ",
    "decision.patience_days": "patience",
    "decision.ready_weight": "weight of ready forces",
    "decision.war_cost": "war cost",
    "decision.war_cost_spread": "spread of the war cost",
    "decision.casualty_cost": "casualty cost",
}


def parameter_units(ds: xr.Dataset, path: str) -> str | None:
    """Unit of parameter `path` as the file records it (the ``units`` of its coordinate, or
    ``parameter_units``), or None if the file gives none or a dimensionless ``1``,
    e.g. ``"troops"`` for ``actors.RUS.forces.deployed``. The package keeps no unit table
    of its own: the engine's parameter registry is the one source."""
    ds = dataset(ds)
    units = parameter_table(ds).attrs["units"]
    if path not in units:
        parameter_values(ds, path)  # raises the ValueError naming the file's parameters
    return units[path]


def _nice_actor_path(rest: str) -> str:
    """Readable text of the part of an ``actors.I.<rest>`` path after the actor id."""
    if rest in _NICE:
        return _NICE[rest]
    m = re.fullmatch(r"types\.([^.]+)\.(prior|resolve)", rest)
    if m:
        return f"{m.group(2)} of type '{m.group(1)}'"
    m = re.fullmatch(r"(?:decision|types\.([^.]+))\.weights\.([^.]+)", rest)
    if m:
        return f"weight on {m.group(2).replace('_', ' ')}" + (f" (type '{m.group(1)}')" if m.group(1) else "")
    m = re.fullmatch(r"actions\.([^.]+)\.([^.]+)", rest)
    if m:
        return f"'{m.group(1)}' {m.group(2)}"
    return rest.replace("_", " ")


def parameter_label(path: str, unit: str | None = None, scenario: Mapping | None = None) -> str:
    """Human-readable label of a parameter path, with `unit` in parentheses when given:
    ``parameter_label("actors.RUS.decision.patience_days", "days")`` -> ``"RUS patience (days)"``.
    Use :func:`label_of` for a parameter of a file, whose unit the file records.

    `scenario` (the parsed scenario, optional) names list entries such as
    commitments: ``relations.commitments.2.strength`` -> ``"USA→UKR commitment strength"``."""
    m = re.fullmatch(r"actors\.([^.]+)\.(.+)", path)
    c = re.fullmatch(r"relations\.commitments\.(\d+)\.strength", path)
    i = re.fullmatch(r"negotiation\.issues\.([^.]+)\.(positions|salience)\.([^.]+)", path)
    text = path
    if m:
        text = f"{m.group(1)} {_nice_actor_path(m.group(2))}"
    elif i:
        text = f"{i.group(3)} {'position' if i.group(2) == 'positions' else 'salience'} on {i.group(1).replace('_', ' ')}"
    elif c and scenario is not None:
        try:
            entry = scenario["relations"]["commitments"][int(c.group(1))]
            text = f"{entry['from']}→{entry['to']} commitment strength"
        except (KeyError, IndexError, TypeError, ValueError):
            pass
    return f"{text} ({unit})" if unit else text


def label_of(ds: xr.Dataset, path: str, units: bool = True) -> str:
    """Label of parameter `path` in a dataset from :func:`open_results` (which names list entries
    from the file's scenario text), with the file's unit in parentheses when it has one and `units` is true."""
    ds = dataset(ds)
    coord = ds.coords.get(path)
    known = path in parameters(ds) or any(str(v.attrs.get("parameter_path")) == path for v in ds.variables.values())
    if not known:  # a typo would otherwise label the plot with the typo
        parameter_values(ds, path)  # raises the ValueError naming the file's parameters
    unit = parameter_units(ds, path) if units and path in parameters(ds) else None
    if coord is not None and "label" in coord.attrs:
        return f"{coord.attrs['label']} ({unit})" if unit else str(coord.attrs["label"])
    return parameter_label(path, unit)


def _parse_scenario(text) -> Mapping | None:
    """The scenario YAML as a dict, or None if PyYAML is missing or the text does not parse."""
    if not isinstance(text, str):
        return None
    try:
        import yaml  # optional (python3-yaml): only used to name list entries in labels
    except ImportError:
        return None
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return parsed if isinstance(parsed, Mapping) else None


def format_value(value: float | str) -> str:
    """Compact text of a parameter value: ``100000`` -> ``"100,000"``, ``30.0`` -> ``"30"``, ``0.15`` -> ``"0.15"``,
    ``82620.3`` -> ``"82,620"`` (at least 4 significant digits, never ``8.262e+04`` beside
    ``5,000``; an exponent only below 0.0001 and from 10^15 unless whole); a categorical value's name
    (``"linear"``) as it is."""
    if isinstance(value, str):
        return value
    v = float(value)
    if math.isfinite(v) and v.is_integer():
        return f"{int(v):,}"
    if not math.isfinite(v) or not 1e-4 <= abs(v) < 1e15:
        return f"{v:.4g}"
    decimals = max(0, 3 - math.floor(math.log10(abs(v))))
    text = f"{v:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def point_label(ds: xr.Dataset, point: int, names: Sequence[str] | None = None) -> str:
    """Label of the point at position `point`: ``"RUS patience 30 days, RUS deployed forces 100,000 troops"``.

    `names` are the parameter paths to show (default: those swept in the file);
    with none, the label is ``"point <index>"``."""
    ds = dataset(ds)
    (point,) = point_positions(ds, [point], "point")
    names = sweep_axes(ds) if names is None else name_list(names, "parameter", empty_ok=True)
    if not names:
        return f"point {int(ds['point'].values[point])}"
    parts = []
    shown = named_parameter_table(ds)
    for name in names:
        if name not in shown.columns:
            raise ValueError(f"{name!r} is not a parameter of this file; its parameters: {parameter_list_text(shown.columns)}")
        unit = parameter_units(ds, name)
        value = format_value(shown[name].to_numpy()[point])
        parts.append(f"{label_of(ds, name, units=False)} {value}" + (f" {unit}" if unit in ("days", "troops") else ""))
    return ", ".join(parts)
