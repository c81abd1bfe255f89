"""A brink file's ``--set``/``--sweep`` parameters: their values at every point
(:func:`parameter_table`, the one place that knows how a file lays them out), their names and the
names of a categorical parameter's values, the parameters a posterior run draws per replication,
the points a parameter value or a position picks, and a value as compact text."""

from __future__ import annotations

import math
import numbers
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .checks import dataset


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


def sweep_axes(ds: xr.Dataset, points: Sequence[int] | None = None) -> list[str]:
    """The swept parameters the file marks as sweep axes (``parameter_swept``), among `points`
    (positions along ``point``) if given: a field that only follows a scenario choice varies too,
    but the choice already names the point, so labels and messages name the axes alone."""
    names = swept_parameters(ds, points)
    if "parameter_swept" not in ds.variables:
        return names
    flags = dict(zip(parameters(ds), np.asarray(ds["parameter_swept"].values, dtype=int)))
    return [n for n in names if flags.get(n, 1) == 1] or names


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
                f"{dict(point)} matches {found.size} points; add values for {', '.join(sweep_axes(ds, found))}"
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
