"""open_results: a brink result file as an xarray.Dataset. It is refused in one sentence naming the
file if it is not a whole result in the output format this package reads, and opened with a
warning if it holds less than it seems to: another shard's points left out, an adaptive run's
unrun slots, a later unfinished run beside it, or its own run unfinished."""

from __future__ import annotations

import importlib.util
import os
import warnings

import numpy as np
import xarray as xr

from ._decoration import _comment_unrun, _decorated, _unrun_slots
from ._file_checks import (_damaged_variable, _format_version, _label_problem, _layout_problem,
                           _recorded_text_problem, _value_problem)
from ._hdf5_file import _OPEN_ERRORS, _crash_problem, _open_hdf5, _text, _unreadable
from .checks import dataset


# The brink output format this package reads (the root attribute format_version). The engine's
# own is kFormatVersion in engine/include/brink/io/variables.hpp; tests/analysis checks that the two
# agree and that the brink binary writes it. Files without the attribute are format 1, as for the engine.
FORMAT_VERSION = 4


# `brink calibrate` marks its files with this root attribute brink_file_kind (the writer's kKind in
# engine/src/calibrate/calibration_file.cpp); a result file has engine = "brink" instead.
_CALIBRATION_KIND = "brink calibration"


def _not_a_result(path: str, kind: str | None) -> str:
    """Why an HDF5 file without brink's root attribute engine = brink is refused; `kind` is its brink_file_kind."""
    if kind == _CALIBRATION_KIND:
        return (f"'{path}' is a brink calibration file (brink calibrate), not a result file: "
                "open it with xarray.open_dataset(path, engine=\"h5netcdf\")")
    return f"'{path}' is not a brink result file (its root attribute 'engine' is not 'brink')"


def _foreign_problem(file, path: str) -> str | None:
    """Why the open h5py `file` is not a brink result this package reads, in a sentence naming
    `path`: another program's file, a brink calibration file, or another output format than
    FORMAT_VERSION (which it would misread); None if it is one."""
    engine, kind = (_text(file.attrs.get(name)) for name in ("engine", "brink_file_kind"))
    if engine != "brink":
        return _not_a_result(path, kind)
    present = "format_version" in file.attrs
    version = _format_version(file.attrs["format_version"]) if present else 1
    if version == FORMAT_VERSION:
        return None
    found = f"format {version}" if present else "format 1 (it has no root attribute format_version)"
    how = ("use the brink_analysis of the brink that wrote it" if isinstance(version, int) and
           version > FORMAT_VERSION else f"run it again with a brink that writes format {FORMAT_VERSION}")
    return (f"'{path}' is in brink output {found} and brink_analysis reads format {FORMAT_VERSION} only, "
            f"so it would misread it; {how}")


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

    refuse_if(lambda: _foreign_problem(file, path), lambda sentence: sentence)
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
    unrun = _unrun_slots(ds)
    if unrun is not None:
        ds = _comment_unrun(ds)
    _warn_of_gaps(ds, path, unrun, marked)
    return ds


def _warn_of_gaps(ds: xr.Dataset, path: str, unrun: str | None, marked: bool) -> None:
    """open_results' warnings (RuntimeWarning, at its caller) about what the file at `path` holds
    less of than it seems to: another shard's points, the replication slots an adaptive run left
    unrun (`unrun`, from _unrun_slots), a later run into `path` that did not finish, or the rest of
    its own run (`marked`: a writer's mark is still on it)."""
    shard = shard_of(ds)
    if shard is not None:
        held = int((np.arange(int(ds.attrs.get("shard_plan_points", ds.sizes["point"]))) % shard[1] == shard[0]).sum())
        warnings.warn(f"'{path}' is shard {shard[0]} of {shard[1]} (brink run --shard): it holds {held} of the "
                      f"sweep's {ds.sizes['point']} points; join the shards with brink merge to analyse the sweep",
                      RuntimeWarning, stacklevel=3)
    if unrun is not None:
        warnings.warn(f"'{path}' is an adaptive run: {unrun}. Those slots read as NaN, and a comparison makes them "
                      f"False, so (ds.outcome_code == 3).mean('replication') counts them as replications that "
                      f"did not end in outcome 3. Mask them after comparing: (ds.outcome_code == 3)"
                      f".where(ds.replication < ds.replications).mean('replication'), or .where(ba.replication_mask(ds)); "
                      f"the package's own functions use only the replications that ran", RuntimeWarning, stacklevel=3)
    newer = _newer_partial(path)
    if newer is not None:
        warnings.warn(f"'{newer}' beside it is newer than '{path}': a later run into '{path}' did not finish (it was "
                      f"interrupted, or is still running), so '{path}' holds the results of an earlier run; continue "
                      "the later one with brink run ... --resume (resume=True from brink_analysis.run), or open "
                      f"'{newer}' to see how far it got", RuntimeWarning, stacklevel=3)
    if int(ds.attrs.get("complete", 0)) != 1:
        how = " (it was killed, or is still running)" if marked else ""
        warnings.warn(
            f"'{path}' is incomplete: the run that wrote it did not finish{how} "
            "(finish it with brink run ... --resume)",
            RuntimeWarning,
            stacklevel=3,
        )


def _newer_partial(path: str) -> str | None:
    """``PATH.partial`` if it lies beside the finished file `path` and was written after it: brink
    writes a run into ``PATH.partial`` and renames it to ``PATH`` only when it finishes, so such a
    file is a later run of the same output that was interrupted (or is running); None otherwise."""
    partial = f"{path}.partial"
    if path.endswith(".partial") or not os.path.isfile(partial):
        return None
    return partial if os.path.getmtime(partial) > os.path.getmtime(path) else None


def shard_of(ds: xr.Dataset) -> tuple[int, int] | None:
    """(I, N) of the file of ``brink run --shard I/N`` (its root attributes ``shard_index`` and
    ``shard_count``; it holds the points p with p mod N = I), or None for any other file."""
    ds = dataset(ds)
    if "shard_index" not in ds.attrs or "shard_count" not in ds.attrs:
        return None
    return int(ds.attrs["shard_index"]), int(ds.attrs["shard_count"])
