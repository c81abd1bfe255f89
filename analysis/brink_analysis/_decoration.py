"""What open_results adds to a brink file as xarray reads it: strings as str, ``day`` as a
coordinate, whether each point finished, every parameter as a coordinate named by its dotted path
(with its unit, label, role and value names), and on each per-replication variable of an adaptive
run a comment on how to mask the replications that never ran."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ._labels import _parse_scenario, parameter_label
from ._parameters import parameter_table


def _as_str_array(values: np.ndarray) -> np.ndarray:
    """Returns `values` (bytes, str or object) as a numpy array of ``str`` of the same shape."""
    flat = [v.decode("utf-8") if isinstance(v, (bytes, np.bytes_)) else str(v) for v in np.asarray(values).ravel()]
    return np.array(flat, dtype=str).reshape(np.shape(values))


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
        ds = ds.assign_coords(_parameter_coordinates(ds, table))
    return ds


def _parameter_coordinates(ds: xr.Dataset, table: pd.DataFrame) -> dict:
    """A coordinate along ``point`` for every parameter of `table` (its :func:`parameter_table`),
    named by its dotted path, with its label, unit, whether it is a sweep axis, its role in a
    mixed design and the names of a categorical parameter's values."""
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
    return extra
