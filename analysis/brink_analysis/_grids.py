"""A sweep's points as arrays indexed by parameter value: :func:`indexed` makes the parameter
coordinates an index of ``point``, :func:`to_grid` gives each sweep axis a dimension of its own.
Both name a categorical parameter's values, and make the results of a point that did not finish NaN."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import xarray as xr

from ._parameters import category_names, format_value, parameter_list_text
from .checks import dataset, name_list


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
