"""Tables and derived arrays computed from a brink result file.

These are the numbers the plots in :mod:`brink_analysis.plots` draw; they are
separate so that they can be checked, exported or plotted differently.
Every function takes a dataset from :func:`brink_analysis.open_results`.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .io import (
    PER_RUN_HINT,
    TIMESERIES_HINT,
    parameters,
    point_position,
    require,
)

__all__ = [
    "belief_by_true_type",
    "outcome_table",
    "rung_occupancy",
    "sensitivity_table",
    "survival_curves",
    "troop_quantiles",
    "type_names",
    "wilson_interval",
]

Z95 = 1.959963984540054  # two-sided 95% normal quantile, as the engine uses


def wilson_interval(p, n, z: float = Z95):
    """95% Wilson score interval (lower, upper) of a proportion `p` observed in `n` trials
    (arrays broadcast), clipped to [0, 1]; the engine's formula (docs/output.md)."""
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def _replications(ds: xr.Dataset) -> np.ndarray:
    """Replications run at each point (int64, along ``point``)."""
    if "replications" in ds.data_vars:
        return np.asarray(ds["replications"].values, dtype=np.int64)
    return np.asarray(ds["outcome_count"].sum("outcome").values, dtype=np.int64)


def _unfinished(ds: xr.Dataset, point: int) -> ValueError:
    return ValueError(
        f"point {int(ds['point'].values[point])} did not finish in this file (the run was interrupted); "
        "complete it with brink run ... --resume"
    )


def _runs(ds: xr.Dataset, name: str, point: int) -> xr.DataArray:
    """Variable `name` at the point at position `point`, restricted to the replications that ran.
    Raises ValueError for a point that has not finished (an interrupted run)."""
    n = int(_replications(ds)[point])
    if n <= 0:
        raise _unfinished(ds, point)
    return ds[name].isel(point=point, replication=slice(0, n))


# --------------------------------------------------------------------------
# Outcomes
# --------------------------------------------------------------------------


def outcome_table(ds: xr.Dataset) -> pd.DataFrame:
    """Tidy outcome table: one row per (point, outcome).

    Columns: ``point`` (the point index), one column per parameter path (each
    ``--set`` and ``--sweep`` path, named by its dotted path, value at the
    point), ``outcome`` (name), ``probability`` (share of the point's
    replications ending in the outcome), ``lower`` and ``upper`` (95% Wilson
    score interval), ``count`` (replications ending in the outcome) and
    ``replications`` (replications run at the point). Rows are ordered by
    point, then by outcome in file order (settlement, standoff, limited_war,
    full_war, alliance_war), so ``table.pivot(index=..., columns="outcome",
    values="probability")`` gives one row per point. Points that have not
    finished (``replications`` 0 in the file of an interrupted run) are left out.
    """
    require(ds, ["outcome_probability", "outcome_count"], "outcome summaries", "is it a brink result file?")
    n_points, n_outcomes = ds.sizes["point"], ds.sizes["outcome"]
    columns: dict[str, np.ndarray] = {"point": np.repeat(np.asarray(ds["point"].values, dtype=np.int64), n_outcomes)}
    if parameters(ds):
        table = np.asarray(ds["parameter_value"].values, dtype=float)
        for i, name in enumerate(parameters(ds)):
            columns[name] = np.repeat(table[:, i], n_outcomes)
    columns["outcome"] = np.tile(np.asarray(ds["outcome"].values, dtype=str), n_points).astype(object)
    columns["probability"] = np.asarray(ds["outcome_probability"].values, dtype=float).ravel()
    columns["lower"] = np.asarray(ds["outcome_probability_lower"].values, dtype=float).ravel()
    columns["upper"] = np.asarray(ds["outcome_probability_upper"].values, dtype=float).ravel()
    columns["count"] = np.asarray(ds["outcome_count"].values, dtype=np.int64).ravel()
    columns["replications"] = np.repeat(_replications(ds), n_outcomes)
    table = pd.DataFrame(columns)
    finished = table["replications"] > 0
    return table if finished.all() else table[finished].reset_index(drop=True)


def sensitivity_table(ds: xr.Dataset) -> pd.DataFrame:
    """Sobol sensitivity indices as a tidy table: one row per (output, parameter).

    Columns: ``output`` (e.g. ``probability_full_war``, ``mean_casualties_UKR``),
    ``parameter`` (path), ``first``, ``first_lower``, ``first_upper``, ``total``,
    ``total_lower``, ``total_upper`` (indices and their 95% bootstrap
    intervals; dimensionless shares of the output's variance, which sampling
    noise can push slightly below 0 or above 1). Raises ValueError if the file
    has no indices.
    """
    names = [f"sensitivity_{k}{s}" for k in ("first", "total") for s in ("", "_lower", "_upper")]
    require(ds, names, "sensitivity indices", "run brink with --sensitivity and a random, lhs or sobol --design")
    frame = ds[names].to_dataframe().reset_index()
    frame = frame.rename(columns={n: n.removeprefix("sensitivity_") for n in names})
    return frame[["output", "parameter", "first", "first_lower", "first_upper", "total", "total_lower", "total_upper"]]


def survival_curves(ds: xr.Dataset, points: Sequence[int] | None = None) -> xr.Dataset:
    """P(no fighting has begun by the end of day d) for the points at positions `points` (default all).

    Returns a Dataset over (point, day) with ``survival`` and its 95% Wilson
    interval ``lower``/``upper`` (from ``replications(point)``). ``day`` runs
    0, then the file's ``horizon`` values (end of each step, in days); the
    value at day 0 is 1 (no fighting before the crisis starts).
    """
    require(ds, ["survival"], "survival curves", "run brink with a version that writes per-point summaries")
    idx = np.arange(ds.sizes["point"]) if points is None else np.asarray(points, dtype=int)
    for p in idx:
        if _replications(ds)[p] <= 0:
            raise _unfinished(ds, int(p))
    s = np.asarray(ds["survival"].isel(point=idx).values, dtype=float)
    s = np.concatenate([np.ones((s.shape[0], 1)), s], axis=1)
    day = np.concatenate([[0.0], np.asarray(ds["horizon"].values, dtype=float)])
    n = _replications(ds)[idx][:, None]
    lower, upper = wilson_interval(s, n)
    coords = {"point": np.asarray(ds["point"].values)[idx], "day": ("day", day, {"units": "days"})}
    return xr.Dataset(
        {
            "survival": (("point", "day"), s, {"long_name": "P(no fighting has begun by the end of the day)", "units": "1"}),
            "lower": (("point", "day"), lower, {"long_name": "lower bound of the 95% Wilson interval", "units": "1"}),
            "upper": (("point", "day"), upper, {"long_name": "upper bound of the 95% Wilson interval", "units": "1"}),
        },
        coords=coords,
    )


# --------------------------------------------------------------------------
# Time series
# --------------------------------------------------------------------------


def troop_quantiles(
    ds: xr.Dataset,
    actor: str,
    pool: str = "deployed",
    point: int | Mapping[str, float] = 0,
    quantiles: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95),
) -> xr.DataArray:
    """Quantiles across replications of an actor's troops in a pool over time.

    `point` is a point index or {parameter path: value} naming one point.
    Returns a DataArray (quantile, step) in troops, with the ``day`` coordinate
    (days) along ``step``. Needs the ``troops`` time series (``--timeseries``).
    """
    require(ds, ["troops"], "troop time series", TIMESERIES_HINT)
    _check_label(ds, "actor", actor)
    _check_label(ds, "pool", pool)
    p = point_position(ds, point)
    values = np.asarray(_runs(ds, "troops", p).sel(actor=actor, pool=pool).transpose("replication", "step").values, dtype=float)
    q = np.nanquantile(values, np.asarray(quantiles, dtype=float), axis=0)
    return xr.DataArray(
        q,
        dims=("quantile", "step"),
        coords={"quantile": np.asarray(quantiles, dtype=float), "step": ds["step"].values, "day": ("step", ds["day"].values)},
        name="troops",
        attrs={"long_name": f"quantiles of {actor} {pool} troops across replications", "units": "troops"},
    )


def rung_occupancy(ds: xr.Dataset, point: int | Mapping[str, float] = 0) -> xr.DataArray:
    """Share of the replications on each escalation rung at each time-series record.

    Returns a DataArray (step, rung) of fractions that sum to 1 at every step,
    with the ``day`` coordinate (days). Needs ``rung_series`` (``--timeseries``).
    """
    require(ds, ["rung_series"], "escalation-rung time series", TIMESERIES_HINT)
    p = point_position(ds, point)
    codes = np.asarray(_runs(ds, "rung_series", p).transpose("replication", "step").values, dtype=np.int64)
    n_rungs = ds.sizes["rung"]
    shares = np.stack([(codes == r).mean(axis=0) for r in range(n_rungs)], axis=1)
    return xr.DataArray(
        shares,
        dims=("step", "rung"),
        coords={"step": ds["step"].values, "rung": ds["rung"].values, "day": ("step", ds["day"].values)},
        name="rung_share",
        attrs={"long_name": "share of replications on each escalation rung", "units": "1"},
    )


def type_names(ds: xr.Dataset, actor: str) -> list[str]:
    """Names of an actor's private types, in scenario order (``["default"]`` for an actor without types)."""
    _check_label(ds, "actor", actor)
    return [str(n) for n in ds["type_name"].sel(actor=actor).values if str(n)]


def belief_by_true_type(
    ds: xr.Dataset,
    actor: str,
    type: str | int | None = None,
    point: int | Mapping[str, float] = 0,
) -> xr.DataArray:
    """Mean public belief that `actor` is of `type`, over time, split by the actor's true type.

    `type` is a type name or index (default: the actor's first type). For each
    true type k (from ``resolve_type``), the mean over the replications in which
    the actor is of type k of ``belief[..., actor, type]``. Returns a DataArray
    (true_type, step) of probabilities with coordinates ``day`` (days) and
    ``runs`` (replications of each true type). Needs ``belief`` (``--timeseries``)
    and ``resolve_type`` (not ``--summary-only``); raises ValueError for an actor
    without private types.
    """
    require(ds, ["belief"], "belief time series", TIMESERIES_HINT)
    require(ds, ["resolve_type"], "per-replication types", PER_RUN_HINT)
    names = type_names(ds, actor)
    if len(names) < 2:
        raise ValueError(f"actor {actor} has no private types (its only type is '{names[0] if names else ''}')")
    t = _type_index(names, actor, type)
    p = point_position(ds, point)
    belief = np.asarray(_runs(ds, "belief", p).sel(actor=actor).isel(type=t).transpose("replication", "step").values, dtype=float)
    true = np.asarray(_runs(ds, "resolve_type", p).sel(actor=actor).values, dtype=np.int64)
    means = np.full((len(names), ds.sizes["step"]), np.nan)
    runs = np.zeros(len(names), dtype=np.int64)
    for k in range(len(names)):
        rows = true == k
        runs[k] = int(rows.sum())
        if runs[k]:
            means[k] = belief[rows].mean(axis=0)
    return xr.DataArray(
        means,
        dims=("true_type", "step"),
        coords={"true_type": names, "step": ds["step"].values, "day": ("step", ds["day"].values), "runs": ("true_type", runs)},
        name="belief",
        attrs={"long_name": f"mean public belief that {actor} is '{names[t]}'", "units": "1", "type": names[t], "actor": actor},
    )


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _check_label(ds: xr.Dataset, dim: str, label: str) -> None:
    have = [str(v) for v in ds[dim].values]
    if label not in have:
        raise ValueError(f"no {dim} '{label}' in this file; its {dim}s: {', '.join(have)}")


def _type_index(names: list[str], actor: str, type: str | int | None) -> int:
    if type is None:
        return 0
    if isinstance(type, str):
        if type not in names:
            raise ValueError(f"actor {actor} has no type '{type}'; its types: {', '.join(names)}")
        return names.index(type)
    if not 0 <= int(type) < len(names):
        raise ValueError(f"actor {actor} has types 0 to {len(names) - 1}, not {type}")
    return int(type)
