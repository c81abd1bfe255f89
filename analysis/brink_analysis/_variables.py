"""Reading a brink file's variables: which replications each point ran, a lazily read variable's
values now (naming the file when a chunk is damaged), and what a file lacks, with how to record it."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import xarray as xr

from ._hdf5_file import _hdf5_reason
from .checks import dataset


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
