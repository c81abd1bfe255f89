"""A figure's provenance at its foot, and the figure saved to a file that holds the same bytes from
one save to the next and is never left half written."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._open_results import shard_of
from .checks import dataset, figure_file
from .tables import _finished_replications


def provenance(ds: xr.Dataset) -> str:
    """Where a file's results come from, in one line: ``"brink 0.2.0, scenario jan-2022-standoff,
    seed 42, 500 replications per point, lhs design of 128 points"`` (from its root attributes;
    an adaptive run's replications as the range its finished points ran, ``"256 to 2,048"``).

    A file that does not hold the whole design says so at the end: ``"incomplete run: 3 of 4 points
    finished"`` for an interrupted run (a ``.partial``, or a file without ``complete``, or one with
    unfinished points), ``"shard 0 of 2: 2 of the 4 points"`` for one shard of a sweep."""
    ds = dataset(ds)
    a = ds.attrs
    all_reps = _finished_replications(ds)
    reps = all_reps[all_reps > 0]
    runs = f"{int(reps.min()):,}" if reps.min() == reps.max() else f"{int(reps.min()):,} to {int(reps.max()):,}"
    n = ds.sizes["point"]
    return (f"brink {a.get('engine_version', '?')}, scenario {a.get('scenario_name', '?')}, seed {a.get('seed', '?')}, "
            f"{runs} replications per point, {a.get('design', 'grid')} design of {n} point{'s' if n != 1 else ''}"
            + _partial_text(ds, all_reps > 0))


def _partial_text(ds: xr.Dataset, finished: np.ndarray) -> str:
    """The end of :func:`provenance` for a file that does not hold the whole design ("" for one that does)."""
    n, done = finished.size, int(finished.sum())
    shard = shard_of(ds)
    if shard is not None:
        own = np.asarray(ds["point"].values) % shard[1] == shard[0]
        text = f", shard {shard[0]} of {shard[1]}: {int(own.sum())} of the {n} points"
        if int(finished[own].sum()) < int(own.sum()) or int(ds.attrs.get("complete", 0)) != 1:
            text += f", incomplete run: {int(finished[own].sum())} of them finished"
        return text
    if done < n or int(ds.attrs.get("complete", 0)) != 1:
        return f", incomplete run: {done} of {n} point{'s' if n != 1 else ''} finished"
    return ""


def caption(fig: Figure | Axes, ds: xr.Dataset, file: str | os.PathLike | None = None) -> Figure:
    """Writes :func:`provenance` of `ds` at the foot of the figure (of `fig`, or of the Axes' figure),
    after ``file:`` when a file name is given, so that a saved figure says what it was drawn from;
    returns the Figure. The notebooks and ``brink-analysis discover --plots`` caption every figure."""
    fig = fig.figure if isinstance(fig, Axes) else fig
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure or Axes; got {type(fig).__name__}")
    text = provenance(ds)
    if file is not None:
        text = f"{os.fspath(file)}: {text}"
    fig.supxlabel(text, x=0.99, ha="right", fontsize=7, color="0.4")
    return fig


# What keeps each format's bytes the same from one save to the next: no software name, no date,
# and SVG's element ids hashed with a fixed salt instead of a random one.
_FIGURE_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Creator": None, "Date": None},
}


def save_figure(fig: Figure | Axes, path: str | os.PathLike, dpi: int = 150, *, overwrite: bool = False) -> Path:
    """Saves a figure (or an Axes' figure) at `path` (parent directories made), as PNG, PDF or SVG
    by its suffix (``.png`` added to a name without one), with a tight bounding box and no software
    name or date, so that the same figure gives the same bytes. Returns the path of the file written.

    An existing file is replaced only with ``overwrite=True`` (FileExistsError otherwise); another
    suffix (``.jpg``, ``.h5``) or a folder is a ValueError, before anything is drawn. The figure is
    written to a temporary file beside `path` and renamed, so that a failure leaves no file behind,
    and an existing file is never left half-written."""
    figure = fig.figure if isinstance(fig, Axes) else fig
    if not isinstance(figure, Figure):
        raise TypeError(f"fig must be a matplotlib Figure or Axes; got {type(fig).__name__}")
    out = figure_file(path, overwrite=overwrite)
    kind = out.suffix[1:].lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = _new_temporary(out)
    try:
        with plt.rc_context({"svg.hashsalt": "brink"}):
            figure.savefig(temporary, format=kind, dpi=dpi, bbox_inches="tight", pad_inches=0.15,
                           metadata=_FIGURE_METADATA[kind])
        if overwrite:
            os.replace(temporary, out)
        else:
            _link_new(temporary, out)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return out


def _new_temporary(out: Path) -> str:
    """A new empty file beside `out` (same folder, so the rename is atomic), hidden, with the
    permissions any new file gets (tempfile's are private to the user)."""
    while True:
        name = str(out.parent / f".{out.name}.{secrets.token_hex(4)}{out.suffix}")
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return name
        except FileExistsError:  # another writer's temporary file: draw another name
            continue


def _link_new(temporary: str, out: Path) -> None:
    """Puts `temporary` at `out` only if no file is there (a hard link fails if one appeared since
    the check); a file system without hard links gets a check and a rename instead."""
    try:
        os.link(temporary, out)
    except FileExistsError:
        raise FileExistsError(f"path '{out}' exists; pass overwrite=True to replace it") from None
    except OSError:
        if out.exists():
            raise FileExistsError(f"path '{out}' exists; pass overwrite=True to replace it") from None
        os.replace(temporary, out)
