"""Tables and derived arrays computed from a brink result file.

These are the numbers the plots in :mod:`brink_analysis.plots` draw; they are
separate so that they can be checked, exported or plotted differently.
Every function takes a dataset from :func:`brink_analysis.open_results`.
"""

from __future__ import annotations

import numbers
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from . import checks
from .io import (
    PER_RUN_HINT,
    TIMESERIES_HINT,
    named_parameter_table,
    point_position,
    point_positions,
    require,
    shard_of,
)

__all__ = [
    "agreement_table",
    "belief_by_true_type",
    "clustered_interval",
    "outcome_table",
    "predictive_table",
    "rung_occupancy",
    "sensitivity_table",
    "survival_curves",
    "troop_means",
    "troop_quantiles",
    "type_names",
    "wilson_interval",
]

Z95 = 1.959963984540054  # two-sided 95% normal quantile, as the engine uses


def wilson_interval(p, n, z: float = Z95):
    """95% Wilson score interval (lower, upper) of a proportion `p` observed in `n` trials
    (arrays broadcast), clipped to [0, 1]; the engine's formula (docs/output.md).

    The `n` trials must be independent. Replications that share a parameter set are not: in a
    posterior-predictive file with a draw per block of replications (root attributes ``design``
    ``"posterior"`` and ``samples`` > 0, one point per draw), pooling the points' counts and calling
    this gives an interval several times too narrow (it ignores how the draws' probabilities
    differ); use :func:`predictive_table` or :func:`clustered_interval` there, as the engine does
    ("95% interval (by draw)")."""
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    if not np.all((p >= 0) & (p <= 1)):  # NaN fails too
        raise ValueError(f"p must be a proportion in [0, 1]; got {p.ravel()[~((p >= 0) & (p <= 1)).ravel()][0]!r}")
    if not np.all(n >= 1):
        raise ValueError(f"n must be at least 1 trial; got {n.ravel()[~(n >= 1).ravel()][0]!r}")
    return _wilson(p, n, z)


def _wilson(p, n, z):
    """wilson_interval's formula, for any n > 0 (an effective number of trials may be below 1)."""
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # Exact arithmetic keeps p inside; at p = 0 or 1 rounding can leave a bound a hair outside.
    return np.minimum(p, np.clip(centre - half, 0.0, 1.0)), np.maximum(p, np.clip(centre + half, 0.0, 1.0))


# Student's t 0.975 quantile for 1..30 degrees of freedom (engine/src/sweep/summary.cpp, student_t_975).
_T975 = (12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139,
         2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963,
         2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272)


def _student_t_975(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom, as the engine computes it: a
    table to 30, then the Cornish-Fisher expansion (Abramowitz and Stegun 26.7.5)."""
    if df <= 30:
        return _T975[max(int(df), 1) - 1]
    z, v = Z95, float(df)
    z3 = z ** 3
    z5, z7, z9 = z3 * z * z, z3 * z ** 4, z3 * z ** 6
    return (z + (z3 + z) / 4 / v + (5 * z5 + 16 * z3 + 3 * z) / 96 / v ** 2
            + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384 / v ** 3
            + (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160 / v ** 4)


def clustered_interval(counts, replications) -> tuple[float, float]:
    """95% interval (lower, upper) of the pooled share sum(counts) / sum(replications) when the
    replications come in clusters (one entry of `counts` and `replications` per cluster) whose
    members are not independent: the draws of a posterior-predictive run with a draw per block of
    replications, each draw a cluster. The engine's "95% interval (by draw)"
    (engine/src/sweep/summary.cpp, clustered_interval), Korn and Graubard's (1998): the ratio
    estimator's between-cluster variance V = sum((count_i - p·n_i)²)·k/(k−1)/N², and the Wilson
    interval at the effective number of replications p(1−p)/V·(z/t)² (t: Student's with k−1
    degrees of freedom), at most N; with fewer than two clusters, or V = 0, the Wilson interval
    of all N replications. It cannot see draws it did not sample: an outcome carried by a
    fraction q of the draws is absent from K draws with probability (1−q)^K."""
    counts = np.asarray(counts, dtype=float).ravel()
    reps = np.asarray(replications, dtype=float).ravel()
    if counts.shape != reps.shape:
        raise ValueError(f"counts and replications need one entry per cluster each; got {counts.size} and {reps.size}")
    if np.any(~np.isfinite(counts)) or np.any(counts < 0) or np.any(counts > reps):
        raise ValueError("every count must be between 0 and its cluster's replications")
    total, hits, k = float(reps.sum()), float(counts.sum()), counts.size
    if total < 1:
        raise ValueError("the clusters hold no replications")
    p = hits / total
    wilson = wilson_interval(p, total)
    if k < 2:
        return float(wilson[0]), float(wilson[1])
    variance = float(np.sum((counts - p * reps) ** 2)) * k / (k - 1) / (total * total)
    if variance <= 0:
        return float(wilson[0]), float(wilson[1])
    z = 1.959963984540054
    effective = min(total, p * (1 - p) / variance * (z / _student_t_975(k - 1)) ** 2)
    lower, upper = _wilson(np.float64(p), np.float64(effective), z)
    return float(lower), float(upper)


def predictive_table(ds: xr.Dataset) -> pd.DataFrame:
    """The pooled predictive probability of each outcome of a posterior-predictive file (``brink run
    --posterior``, root attribute ``design`` ``"posterior"``): one row per outcome with ``outcome``,
    ``probability`` (replications ending in it over all replications), ``lower`` and ``upper``
    (95%), ``count``, ``replications``, ``draws`` (clusters) and ``interval``, what the bounds are.

    With a draw per block of replications (``samples`` > 0: one point per draw) the replications of
    a draw are a cluster, and the bounds are :func:`clustered_interval` over the points, ``interval``
    ``"by draw"``, the interval ``brink run`` prints as "95% interval (by draw)"; the Wilson
    interval of the pooled counts would be several times too narrow. With a draw per replication
    (one point) they are the Wilson interval, ``"Wilson"``. Only the points that finished count.
    ``outcome_table(ds, pooled=True)`` is this table."""
    ds = checks.dataset(ds)
    require(ds, ["outcome_count"], "outcome counts", "is it a brink result file?")
    if str(ds.attrs.get("design", "")) != "posterior":
        raise ValueError(f"this file's design is {str(ds.attrs.get('design', 'unknown'))!r}, not a posterior "
                         "predictive run (brink run --posterior): its points are parameter values of a design, "
                         "and pooling them would mix those; use outcome_table(ds) for one row per point")
    reps = _finished_replications(ds)
    finished = reps > 0
    counts = np.asarray(ds["outcome_count"].values, dtype=np.int64)[finished]  # (draw, outcome)
    reps = reps[finished]
    rows = []
    for j, name in enumerate(str(o) for o in ds["outcome"].values):
        lower, upper = clustered_interval(counts[:, j], reps)
        rows.append({"outcome": name, "probability": float(counts[:, j].sum()) / float(reps.sum()),
                     "lower": lower, "upper": upper, "count": int(counts[:, j].sum()),
                     "replications": int(reps.sum()), "draws": int(reps.size) if reps.size > 1 else int(reps.sum()),
                     "interval": "by draw" if reps.size > 1 else "Wilson"})
    return pd.DataFrame(rows)


def _replications(ds: xr.Dataset) -> np.ndarray:
    """Replications run at each point (int64, along ``point``)."""
    if "replications" in ds.data_vars:
        return np.asarray(ds["replications"].values, dtype=np.int64)
    return np.asarray(ds["outcome_count"].sum("outcome").values, dtype=np.int64)


def _finished_replications(ds: xr.Dataset) -> np.ndarray:
    """Replications run at each point, or ValueError if no point has finished (a .partial stopped
    before its first point was done): every result would be empty, and the reason is the file's."""
    reps = _replications(ds)
    if not np.any(reps > 0):
        source = ds.encoding.get("source")
        raise ValueError(f"no point of {repr(source) if source else 'this file'} has finished (the run stopped before "
                         "its first point was done): continue it with brink run ... --resume")
    return reps


def _unfinished(ds: xr.Dataset, point: int) -> ValueError:
    """The error for a point the file holds no results of: another shard's, or an interrupted run's."""
    index = int(ds["point"].values[point])
    shard = shard_of(ds)
    if shard is not None and index % shard[1] != shard[0]:
        return ValueError(f"point {index} belongs to another shard: this file is shard {shard[0]} of {shard[1]} "
                          "and holds only its own points; join the shards with brink merge")
    return ValueError(f"point {index} did not finish in this file (the run was interrupted); "
                      "complete it with brink run ... --resume")


def _runs(ds: xr.Dataset, name: str, point: int) -> xr.DataArray:
    """Variable `name` at the point at position `point`, restricted to the replications that ran.
    Raises ValueError for a point that has not finished (an interrupted run)."""
    n = int(_replications(ds)[point])
    if n <= 0:
        raise _unfinished(ds, point)
    return ds[name].isel(point=point, replication=slice(0, n))


def _time_coords(ds: xr.Dataset) -> dict:
    """``step`` and the coordinates along it that say when each step is: ``day`` (days since the
    start) and, in a file with a start date, ``time`` (calendar dates, output.md). Every derived
    array over time keeps both: without ``time``, ``swap_dims(step="time")`` still succeeds and
    labels the steps' positions 0, 1, 2, ... as "time", a wrong chart rather than an error."""
    coords = {"step": ds["step"].values, "day": ("step", np.asarray(ds["day"].values, dtype=float), {"units": "day"})}
    if "time" in ds.variables and ds["time"].dims == ("step",):
        coords["time"] = ("step", ds["time"].values, dict(ds["time"].attrs))
    return coords


def _read(ds: xr.Dataset, array: xr.DataArray, dtype=float) -> np.ndarray:
    """The values of `array`, a selection of one of the file's variables, read now. A per-replication
    chunk is checked (deflate's checksum) only when read: a damaged one makes h5py raise a bare
    OSError naming neither file nor variable, so it becomes a ValueError naming both."""
    try:
        return np.asarray(array.values, dtype=dtype)
    except OSError as error:
        source = ds.encoding.get("source", "this file")
        reason = str(error).strip()
        reason = reason[reason.index("(") + 1:-1] if reason.endswith(")") and "(" in reason else reason  # HDF5's own words
        raise ValueError(f"'{source}' is damaged: variable '{array.name}' cannot be read ({reason}), "
                         "so the file cannot be trusted; run it again") from error


# --------------------------------------------------------------------------
# Outcomes
# --------------------------------------------------------------------------


def _point_columns(ds: xr.Dataset, rows_per_point: int) -> dict[str, np.ndarray]:
    """The point index and each parameter's value, repeated for `rows_per_point` rows per point."""
    columns: dict[str, np.ndarray] = {
        "point": np.repeat(np.asarray(ds["point"].values, dtype=np.int64), rows_per_point)}
    for name, values in named_parameter_table(ds).items():
        columns[name] = np.repeat(values.to_numpy(), rows_per_point)
    return columns


def outcome_table(ds: xr.Dataset, pooled: bool = False) -> pd.DataFrame:
    """Tidy outcome table: one row per (point, outcome); with ``pooled=True``, of a
    posterior-predictive file, one row per outcome pooled over the draws with the interval
    clustered by draw (:func:`predictive_table`).

    Columns: ``point`` (the point index), one column per parameter path (each
    ``--set`` and ``--sweep`` path, named by its dotted path, value at the
    point; a categorical one, such as ``combat.law`` or ``scenario``, holds
    the value's name), ``outcome`` (name), ``probability`` (share of the point's
    replications ending in the outcome), ``lower`` and ``upper`` (95% Wilson
    score interval), ``count`` (replications ending in the outcome) and
    ``replications`` (replications run at the point). Rows are ordered by
    point, then by outcome in file order (settlement, standoff, limited_war,
    full_war, alliance_war), so ``table.pivot(index=..., columns="outcome",
    values="probability")`` gives one row per point. Points that have not
    finished (``replications`` 0 in the file of an interrupted run) are left out.
    """
    if not isinstance(pooled, (bool, np.bool_)):
        raise TypeError(f"pooled must be True or False; got {pooled!r}")
    if pooled:
        return predictive_table(ds)
    ds = checks.dataset(ds)
    require(ds, ["outcome_probability", "outcome_count"], "outcome summaries", "is it a brink result file?")
    n_points, n_outcomes = ds.sizes["point"], ds.sizes["outcome"]
    columns = _point_columns(ds, n_outcomes)
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
    noise can push slightly below 0 or above 1). An output with the same value
    at every point has no variance to share out and no indices (the file holds
    NaN): its rows are left out and ``table.attrs["constant_outputs"]`` lists
    it. A parameter fixed with ``--set`` was not varied and has no indices
    either (NaN for every output): its rows are left out too, as
    :func:`brink_analysis.morris_table` does, and ``table.attrs["fixed_parameters"]``
    lists it. An index whose bootstrap bounds the engine left NaN (a rare event
    for the bootstrap, docs/sweeps.md "Intervals" and "Rare events") keeps its
    row and its point estimate, with NaN bounds: it has no interval, not an
    exact value, and ``table.attrs["no_interval"]`` lists it as an
    ``(output, parameter, index)`` tuple, ``index`` being ``"first"`` or
    ``"total"``. Raises ValueError if the file has no indices.
    """
    ds = checks.dataset(ds)
    names = [f"sensitivity_{k}{s}" for k in ("first", "total") for s in ("", "_lower", "_upper")]
    require(ds, names, "sensitivity indices", "run brink with --sensitivity and a random, lhs or sobol --design")
    frame = ds[names].to_dataframe().reset_index()
    frame = frame.rename(columns={n: n.removeprefix("sensitivity_") for n in names})
    frame = frame[["output", "parameter", "first", "first_lower", "first_upper", "total", "total_lower", "total_upper"]]
    # An output with one value at every point has no variance to share out: the engine writes NaN
    # for each of its indices (docs/sweeps.md), which is no result; leave it out and say so.
    constant = [str(o) for o, rows in frame.groupby("output", sort=False) if rows["first"].isna().all()]
    # A --set parameter was not varied: NaN for every output, which is no index of 0 but none at all.
    # The file says which ones (parameter_swept 0), also when every output is constant.
    if "parameter_swept" in ds.variables:
        flags = dict(zip(map(str, ds["parameter"].values), np.asarray(ds["parameter_swept"].values, dtype=int)))
        fixed = [str(p) for p in frame["parameter"].unique() if flags.get(str(p)) == 0]
    if constant:
        frame = frame[~frame["output"].isin(constant)].reset_index(drop=True)
    if "parameter_swept" not in ds.variables:
        fixed = [str(p) for p, rows in frame.groupby("parameter", sort=False) if rows["first"].isna().all()]
    if fixed:
        frame = frame[~frame["parameter"].isin(fixed)].reset_index(drop=True)
    # Bounds the engine left NaN on purpose (rare events for the bootstrap): the estimate stays, but
    # it has no interval, which a reader must not take for an exact value; list them.
    no_interval = [
        (str(row.output), str(row.parameter), kind)
        for row in frame.itertuples(index=False)
        for kind in ("first", "total")
        if np.isfinite(getattr(row, kind))
        and not (np.isfinite(getattr(row, f"{kind}_lower")) and np.isfinite(getattr(row, f"{kind}_upper")))
    ]
    frame.attrs.update(constant_outputs=constant, fixed_parameters=fixed, no_interval=no_interval)
    return frame


def agreement_table(ds: xr.Dataset) -> pd.DataFrame:
    """Tidy table of the negotiation issues agreed: one row per (point, issue).

    Columns: ``point``, one column per parameter path (as in
    :func:`outcome_table`), ``issue`` (issue id, in scenario order),
    ``probability`` (share of the point's replications in which the issue was
    agreed by the end, from ``agreement_probability``), ``lower`` and ``upper``
    (95% Wilson score interval over ``replications``) and ``replications``.
    Works on every file with an ``issue`` axis, ``--summary-only`` included;
    points that have not finished are left out.
    """
    ds = checks.dataset(ds)
    require(ds, ["agreement_probability"], "agreement probabilities",
            "run brink with a version that writes the issue axis (and a scenario with negotiation issues)")
    n_points, n_issues = ds.sizes["point"], ds.sizes["issue"]
    columns = _point_columns(ds, n_issues)
    columns["issue"] = np.tile(np.asarray(ds["issue"].values, dtype=str), n_points).astype(object)
    probability = np.asarray(ds["agreement_probability"].transpose("point", "issue").values, dtype=float)
    reps = _replications(ds)
    lower, upper = np.full_like(probability, np.nan), np.full_like(probability, np.nan)
    done = reps > 0  # unfinished points are left out below
    lower[done], upper[done] = wilson_interval(probability[done], reps[done, None])
    columns["probability"] = probability.ravel()
    columns["lower"] = lower.ravel()
    columns["upper"] = upper.ravel()
    columns["replications"] = np.repeat(reps, n_issues)
    table = pd.DataFrame(columns)
    finished = table["replications"] > 0
    return table if finished.all() else table[finished].reset_index(drop=True)


def survival_curves(ds: xr.Dataset, points: Sequence[int] | None = None) -> xr.Dataset:
    """P(no fighting has begun before day d) for the points at positions `points` (default: every
    point that finished; a point named in `points` that has no results is a ValueError).

    Returns a Dataset over (point, step) with ``survival`` and its 95% Wilson
    interval ``lower``/``upper``, and the coordinates ``day`` (days) and, in a
    file with a start date, ``time`` (calendar dates) along ``step``. The
    values are the file's per-point ``survival``, ``survival_lower`` and
    ``survival_upper`` on its step axis: day 0 (where
    survival is 1) and every K steps after (K = the file's ``step_every``:
    every step unless the run recorded time series with ``--timeseries
    every=K``). Works on every file, ``--summary-only`` included.

    Files of brink versions before the step axis kept survival on a
    ``horizon`` axis (the end of each step); they are read too, with the
    value 1 at day 0 put in front and the interval computed here.
    """
    ds = checks.dataset(ds)
    require(ds, ["survival"], "survival curves", "run brink with a version that writes per-point summaries")
    if points is None:  # an interrupted run's or another shard's points hold no curve, and were not asked for
        idx = np.flatnonzero(_finished_replications(ds) > 0)
    else:
        idx = point_positions(ds, points)
        for p in idx:
            if _replications(ds)[p] <= 0:
                raise _unfinished(ds, int(p))
    n = _replications(ds)[idx][:, None]
    if "horizon" in ds["survival"].dims:  # older layout: survival(point, horizon), horizon = end of each step
        s = np.asarray(ds["survival"].isel(point=idx).transpose("point", "horizon").values, dtype=float)
        s = np.concatenate([np.ones((s.shape[0], 1)), s], axis=1)
        day = np.concatenate([[0.0], np.asarray(ds["horizon"].values, dtype=float)])
        steps = {"step": np.arange(day.size, dtype=np.int32), "day": ("step", day, {"units": "day"})}
        lower, upper = wilson_interval(s, n)
    else:
        s = np.asarray(ds["survival"].isel(point=idx).transpose("point", "step").values, dtype=float)
        steps = _time_coords(ds)
        if "survival_lower" in ds.variables and "survival_upper" in ds.variables:
            lower = np.asarray(ds["survival_lower"].isel(point=idx).transpose("point", "step").values, dtype=float)
            upper = np.asarray(ds["survival_upper"].isel(point=idx).transpose("point", "step").values, dtype=float)
        else:
            lower, upper = wilson_interval(s, n)
    coords = {"point": np.asarray(ds["point"].values)[idx], **steps}
    dims = ("point", "step")
    return xr.Dataset(
        {
            "survival": (dims, s, {"long_name": "P(no fighting has begun before the day)", "units": "1"}),
            "lower": (dims, lower, {"long_name": "lower bound of the 95% Wilson interval", "units": "1"}),
            "upper": (dims, upper, {"long_name": "upper bound of the 95% Wilson interval", "units": "1"}),
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
    Returns a DataArray (quantile_level, step) in troops, with the ``day`` coordinate
    (days) along ``step``. Needs the ``troops`` time series (``--timeseries``).
    """
    ds = checks.dataset(ds)
    require(ds, ["troops"], "troop time series", TIMESERIES_HINT)
    _check_label(ds, "actor", actor)
    _check_label(ds, "pool", pool)
    p = point_position(ds, point)
    values = _read(ds, _runs(ds, "troops", p).sel(actor=actor, pool=pool).transpose("replication", "step"))
    if isinstance(quantiles, (str, bytes)) or not isinstance(quantiles, Iterable):
        raise TypeError(f"quantiles must be a list of probabilities; got {quantiles!r}")
    quantiles = [checks.probability(q, "each of quantiles") for q in quantiles]
    if not quantiles:
        raise ValueError("quantiles is empty: give at least one level in [0, 1]")
    q = np.nanquantile(values, np.asarray(quantiles, dtype=float), axis=0)
    return xr.DataArray(
        q,
        dims=("quantile_level", "step"),
        coords={"quantile_level": np.asarray(quantiles, dtype=float), **_time_coords(ds)},
        name="troops",
        attrs={"long_name": f"quantiles of {actor} {pool} troops across replications", "units": "troops"},
    )


def troop_means(
    ds: xr.Dataset,
    actor: str | None = None,
    pool: str | None = None,
    point: int | Mapping[str, float] = 0,
) -> xr.DataArray:
    """Mean troops across the point's replications over time, in troops.

    Returns a DataArray (step, actor, pool) with the ``day`` coordinate (days)
    along ``step``; `actor` and/or `pool` select one of each (their dimension is
    dropped). Reads the per-point ``mean_troops`` summary, so it works without
    ``--timeseries`` and with ``--summary-only``; at step 0 it is the scenario's
    initial forces. Files of brink versions without ``mean_troops`` need the
    ``troops`` time series (``--timeseries``), averaged here. For spreads
    across replications use :func:`troop_quantiles`.
    """
    ds = checks.dataset(ds)
    if actor is not None:
        _check_label(ds, "actor", actor)
    if pool is not None:
        _check_label(ds, "pool", pool)
    p = point_position(ds, point)
    if "mean_troops" in ds.variables:
        if _replications(ds)[p] <= 0:
            raise _unfinished(ds, p)
        values = np.asarray(ds["mean_troops"].isel(point=p).transpose("step", "actor", "pool").values, dtype=float)
    else:
        require(ds, ["troops"], "per-point mean troops or troop time series", TIMESERIES_HINT)
        values = _read(ds, _runs(ds, "troops", p).transpose("replication", "step", "actor", "pool")).mean(axis=0)
    out = xr.DataArray(
        values,
        dims=("step", "actor", "pool"),
        coords={**_time_coords(ds), "actor": ds["actor"].values, "pool": ds["pool"].values},
        name="mean_troops",
        attrs={"long_name": "mean troops per pool across replications", "units": "troops"},
    )
    if actor is not None:
        out = out.sel(actor=actor, drop=True)
    if pool is not None:
        out = out.sel(pool=pool, drop=True)
    return out


def rung_occupancy(ds: xr.Dataset, point: int | Mapping[str, float] = 0) -> xr.DataArray:
    """Share of the point's replications on each escalation rung over time.

    Returns a DataArray (step, rung) of fractions that sum to 1 at every step,
    with the ``day`` coordinate (days) along ``step``. Reads the per-point
    ``rung_share`` summary, so it works without ``--timeseries`` and with
    ``--summary-only`` (on the file's step axis: every K steps, K =
    ``step_every``). Files of brink versions without ``rung_share`` need
    ``rung_series`` (``--timeseries``), counted here.
    """
    ds = checks.dataset(ds)
    p = point_position(ds, point)
    if "rung_share" in ds.variables:
        if _replications(ds)[p] <= 0:
            raise _unfinished(ds, p)
        shares = np.asarray(ds["rung_share"].isel(point=p).transpose("step", "rung").values, dtype=float)
    else:
        require(ds, ["rung_series"], "per-point rung shares or escalation-rung time series", TIMESERIES_HINT)
        codes = _read(ds, _runs(ds, "rung_series", p).transpose("replication", "step"), np.int64)
        shares = np.stack([(codes == r).mean(axis=0) for r in range(ds.sizes["rung"])], axis=1)
    return xr.DataArray(
        shares,
        dims=("step", "rung"),
        coords={**_time_coords(ds), "rung": ds["rung"].values},
        name="rung_share",
        attrs={"long_name": "share of replications on each escalation rung", "units": "1"},
    )


def type_names(ds: xr.Dataset, actor: str) -> list[str]:
    """Names of an actor's private types, in scenario order (``["default"]`` for an actor without types)."""
    ds = checks.dataset(ds)
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
    ds = checks.dataset(ds)
    require(ds, ["belief"], "belief time series", TIMESERIES_HINT)
    require(ds, ["resolve_type"], "per-replication types", PER_RUN_HINT)
    names = type_names(ds, actor)
    if len(names) < 2:
        raise ValueError(f"actor {actor} has no private types (its only type is '{names[0] if names else ''}')")
    t = _type_index(names, actor, type)
    p = point_position(ds, point)
    belief = _read(ds, _runs(ds, "belief", p).sel(actor=actor).isel(type=t).transpose("replication", "step"))
    true = _read(ds, _runs(ds, "resolve_type", p).sel(actor=actor), np.int64)
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
        coords={"true_type": names, **_time_coords(ds), "runs": ("true_type", runs)},
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
    """Position of `type` (a name, or an integer index as a point is one) among the actor's type `names`."""
    if type is None:
        return 0
    if isinstance(type, str):
        if type not in names:
            raise ValueError(f"actor {actor} has no type '{type}'; its types: {', '.join(names)}")
        return names.index(type)
    # True, 1.7 and [0] are no index: int() would turn the first two into 1 and fail inside numpy on the last.
    if isinstance(type, (bool, np.bool_)) or not isinstance(type, numbers.Integral):
        raise TypeError(f"type must be a type name or an integer index; got {type!r}")
    if not 0 <= int(type) < len(names):
        raise ValueError(f"actor {actor} has types 0 to {len(names) - 1}, not {type}")
    return int(type)
