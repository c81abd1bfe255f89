"""Scenario discovery on brink sweeps: which parameter ranges lead to an outcome.

:func:`discovery_data` turns a sweep file into cases (parameters, outcome,
weight) per point or per replication; :func:`find_boxes` runs PRIM
(:mod:`brink_analysis.prim`) on them; :func:`cart_boxes` is the CART
alternative (a shallow regression tree, :mod:`brink_analysis.cart`, whose
leaves are boxes); :func:`feature_scores` ranks the parameters by extra-trees
importance and by the share of the outcome's variance each explains alone.
"""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType
from typing import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .cart import fit_leaves
from .checks import OUTCOME_ROUNDING, cases, dataset, interest, name_list, positive_int, probability_sum, share
from .io import (PER_RUN_HINT, READ_DRAWN, category_names, format_value, parameter_list_text, parameter_table,
                 parameter_values, read_values, replication_mask, replication_parameter_paths, require, shard_of,
                 sweep_axes)
from .io import parameters as file_parameters
from .prim import PrimResult, merge_points, prim
from .tables import _finished_replications, _replications

__all__ = ["cart_boxes", "discovery_data", "feature_scores", "find_boxes", "outcome_names", "outcomes_probability",
           "variance_explained"]


def outcome_names(ds: xr.Dataset, outcome: str | Sequence[str]) -> list[str]:
    """The outcomes named by `outcome` (one name, a comma-separated list or a sequence), checked
    against the file's ``outcome`` coordinate; ValueError listing the file's outcomes otherwise."""
    names = name_list(outcome, "outcome", split=True, empty_ok=True)
    known = [str(o) for o in ds["outcome"].values]
    for name in names:
        if name not in known:
            raise ValueError(f"'{name}' is not an outcome of this file; its outcomes: {', '.join(known)}")
    if not names:
        raise ValueError(f"name at least one outcome; this file's outcomes: {', '.join(known)}")
    return names


def outcomes_probability(ds: xr.Dataset, names: Sequence[str]) -> np.ndarray:
    """Per point, the probability of ending in any of the outcomes `names` (checked names, as
    :func:`outcome_names` gives): their counts summed and divided once by the point's replications,
    so that it is the share of replications exactly (7 + 2 of 10 is 0.9, where 0.7 + 0.2 is
    0.8999999999999999 and would miss a threshold of 0.9). A file without counts sums the
    probabilities. Either sum is checked by :func:`~brink_analysis.checks.probability_sum` (above 1
    is an error). NaN at unfinished points."""
    if "outcome_count" not in ds.variables:
        summed = read_values(ds["outcome_probability"].sel(outcome=list(names)).sum("outcome"), ds)
        return probability_sum(summed, list(names))
    counts = read_values(ds["outcome_count"].sel(outcome=list(names)).sum("outcome"), ds).astype(float)
    reps = _replications(ds).astype(float)
    return probability_sum(np.divide(counts, reps, out=np.full(len(reps), np.nan), where=reps > 0), list(names))


def _hits(ds: xr.Dataset, names: Sequence[str], y: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """Per point, the replications that ended in any of the outcomes `names`: the file's counts, or
    for a file without them the probabilities `y` times the replications `reps`."""
    if "outcome_count" not in ds.variables:
        return y * reps
    return read_values(ds["outcome_count"].sel(outcome=list(names)).sum("outcome"), ds).astype(float)


def _drawn(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """{path: values on (point, replication)} of the parameters a ``brink run --posterior`` file
    draws per replication; empty for any other run."""
    paths = replication_parameter_paths(ds)
    out = {}
    for var in ds.variables.values():
        path = var.attrs.get("parameter_path")
        path = path.decode() if isinstance(path, bytes) else path
        if path in paths and var.dims == ("point", "replication"):
            out[str(path)] = var
    return out


def _parameters(ds: xr.Dataset, names: Sequence[str] | None, per: str = "point",
                mask: np.ndarray | None = None) -> list[str]:
    """The parameters of the cases: `names` checked, or the sweep axes that vary among the
    finished points, the ones the cases come from. With ``per="replication"`` a posterior run's
    parameters drawn per replication count too (checked over the replications that ran, `mask`).

    A parameter with one value at every finished point cannot explain anything: it would score 0
    and read as "does not matter". Named, it is a ValueError; by default it is left out, with a
    RuntimeWarning when it is a sweep axis that varies in the design but not among the points
    an unfinished file (an interrupted run, one shard) has finished: a mixed design's levers vary
    slowest, so they are the first to look constant."""
    drawn = _drawn(ds) if per == "replication" else {}
    finished = _finished_replications(ds) > 0
    if names is None:
        axes = [p for p in sweep_axes(ds) if p not in drawn]
        chosen = [p for p in axes if np.unique(parameter_values(ds, p)[finished]).size > 1]
        constant = [p for p in axes if p not in chosen]
        chosen += [p for p, var in drawn.items()
                   if np.unique(np.asarray(var.transpose("point", "replication").values, float)[mask]).size > 1]
        if constant and chosen:
            warnings.warn(f"{_one_value(ds, constant, finished)}, so {'it is' if len(constant) == 1 else 'they are'} "
                          "left out of the parameters: one value cannot explain anything, and would score 0 as if it "
                          f"did not matter; {_finish_hint(ds)} to explore {'it' if len(constant) == 1 else 'them'}",
                          RuntimeWarning, stacklevel=3)
        elif constant:
            raise ValueError(f"{_one_value(ds, constant, finished)}, so no swept parameter is left to explain the "
                             f"outcome with; {_finish_hint(ds)}")
    else:
        chosen = name_list(names, "parameter")
    for name in chosen:
        if name in drawn:
            values = np.asarray(drawn[name].transpose("point", "replication").values, float)[mask]
            if np.unique(values).size == 1:
                raise ValueError(f"parameter {name} has one value ({format_value(values[0])}) in every replication, "
                                 "so it cannot explain anything: leave it out of the parameters")
            continue
        values = parameter_values(ds, name)  # raises the ValueError naming the file's parameters
        if np.unique(values).size == 1:  # it would score 0 and read as "does not matter", as in sensitivity_table
            raise ValueError(f"parameter {name} has one value ({_value_text(ds, name, values[0])}) at every point "
                             "(fixed with --set?), so it cannot explain anything: leave it out of the parameters")
        if np.unique(values[finished]).size == 1:
            raise ValueError(f"{_one_value(ds, [name], finished)}, so it cannot explain anything: leave it out of "
                             f"the parameters, or {_finish_hint(ds)}")
    if not chosen:
        if replication_parameter_paths(ds) and per != "replication":
            raise ValueError("this file's parameters vary per replication, not per point (brink run --posterior "
                             "draws one parameter set per replication): use per='replication' (brink-analysis "
                             "discover --per replication), or " + READ_DRAWN)
        swept = _swept_once(ds)
        if swept:
            points = ds.sizes.get("point", 0)
            many = len(swept) > 1
            raise ValueError(f"{'the swept parameters' if many else 'the one swept parameter'} of this file "
                             f"({', '.join(swept)}) {'take' if many else 'takes'} one value ({points} "
                             f"point{'s' if points != 1 else ''}): scenario discovery needs at least two points with "
                             "different values (a list or range of values, or --design lhs --samples N with N >= 2)")
        raise ValueError("this file sweeps no parameter: scenario discovery needs a sweep (--sweep)")
    return chosen


def _swept_once(ds: xr.Dataset) -> list[str]:
    """The parameters the run swept (``parameter_swept``) that take one value at every point: a
    sweep of one value, or a sampled design of one sample."""
    if "parameter_swept" not in ds.variables:
        return []
    flags = np.asarray(ds["parameter_swept"].values, dtype=int).ravel()
    return [name for name, flag in zip(file_parameters(ds), flags) if flag == 1]


def _one_value(ds: xr.Dataset, names: Sequence[str], finished: np.ndarray) -> str:
    """``"parameter scenario has one value (a.yaml) at every point of this file that finished (47 of
    144)"``, for the swept parameters `names` that take one value among the `finished` points."""
    values = [_value_text(ds, name, parameter_values(ds, name)[finished][0]) for name in names]
    where = (f"at every point of this file that finished ({int(finished.sum())} of {finished.size}), though the "
             f"design varies {'it' if len(names) == 1 else 'them'}")
    if len(names) == 1:
        return f"parameter {names[0]} has one value ({values[0]}) {where}"
    return f"parameters {', '.join(f'{n} ({v})' for n, v in zip(names, values))} each have one value {where}"


def _finish_hint(ds: xr.Dataset) -> str:
    """How to get the design's other points: join the shards, or finish the interrupted run."""
    if shard_of(ds) is not None and int(ds.attrs.get("complete", 0)) == 1:
        return "join the shards with brink merge"
    return "finish the run with brink run ... --resume"


def _value_text(ds: xr.Dataset, name: str, value: float) -> str:
    """A value of parameter `name` as a reader knows it: a categorical one's name, else the number."""
    names = category_names(ds, name)
    return names.get(float(value), format_value(value)) if names else format_value(value)


def _categories(ds: xr.Dataset, names: Sequence[str]) -> dict[str, dict[float, str]]:
    """{parameter: {index: name}} of the categorical ones among `names` (text values, scenario choices)."""
    found = {name: category_names(ds, name) for name in names}
    return {name: labels for name, labels in found.items() if labels}


def discovery_data(
    ds: xr.Dataset,
    outcome: str | Sequence[str] = "full_war",
    parameters: Sequence[str] | None = None,
    per: str = "point",
    weight: str = "point",
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Cases for scenario discovery from a sweep file: ``(X, y, weights)``.

    `X` has one column per parameter (default: the sweep axes that vary; a field that follows a
    scenario choice is left to its axis unless named), values in the parameters' units
    (``X.attrs["units"]``). With ``per="point"`` there is one case per finished point: `y` is the
    point's probability of `outcome` (the sum over several outcomes if a list or ``"a,b"`` is
    given). With ``per="replication"`` there is one case per replication that ran
    (``outcome_code``; needs per-run data): `y` is 1 if it ended in `outcome`, else 0.

    `weight` says what counts once. ``"point"`` (the default): every point, a state of the world
    the design sampled, weighs the same however many replications it ran: weight 1 per point, or
    1/replications(point) per replication. PRIM's and CART's mass is then the share of the points
    in a box, density the mean of their probabilities and coverage their share of the sum of the
    probabilities. ``"replication"``: every replication weighs the same (weight replications(point)
    per point, 1 per replication), so that an adaptive run's points near P = 0.5, which run more
    replications, weigh more. In a run with the same replications at every point the two differ
    only by a constant factor, which changes no box, score or leaf. Either way, per point and per
    replication give the same boxes.

    ``X.attrs["point"]`` records each case's point: PRIM's ``qp`` values count points
    (:func:`~brink_analysis.prim.point_ids`), and the tree models merge a point's cases. In the
    file of an interrupted run (or of one shard), ``X.attrs["incomplete"]`` is (finished points,
    points), which PRIM's result and boxes carry to their figures' titles.

    Finished points with the same value of every parameter (a Morris design's trajectories
    revisit points) are one state of the world and count once: one case per point, or their
    replications pooled as one point's, and ``X.attrs["repeated"]`` is (distinct parameter sets,
    finished points). A ``--posterior-draws`` file is the exception: its repeated draws are the
    posterior's weight, and each stays its own case.
    """
    ds = dataset(ds)
    if weight not in ("point", "replication"):
        raise ValueError(f"weight must be 'point' or 'replication'; got {weight!r}")
    names = outcome_names(ds, outcome)
    if per not in ("point", "replication"):
        raise ValueError(f"per must be 'point' or 'replication'; got {per!r}")
    mask = None
    if per == "replication":
        require(ds, ["outcome_code"], "per-replication outcomes", PER_RUN_HINT)
        mask = replication_mask(ds).transpose("point", "replication").values
    chosen = _parameters(ds, parameters, per, mask)
    drawn = _drawn(ds) if per == "replication" else {}
    table = parameter_table(ds)
    # What the models need besides the numbers: units, and the names of categorical values for the rules.
    attrs = {"units": _case_units(table, chosen, drawn), "categories": _categories(ds, chosen)}
    reps = _finished_replications(ds).astype(float)
    finished = reps > 0
    if not finished.all():  # an interrupted run (or a shard): PRIM's figures say so, as the file's others do
        attrs["incomplete"] = (int(finished.sum()), finished.size)
    # Finished points with the same value of every parameter are one state of the world (a Morris
    # design's trajectories revisit points): one case, their replications pooled.
    first = _first_alike(ds, table, finished)
    sets = np.flatnonzero(finished & (first == np.arange(finished.size)))  # each set's first point
    pooled = np.bincount(first[finished], weights=reps[finished], minlength=finished.size)  # replications per set
    if len(sets) < finished.sum():
        attrs["repeated"] = (len(sets), int(finished.sum()))
    if per == "point":
        require(ds, ["outcome_probability"], "outcome probabilities", "is it a brink result file?")
        y = outcomes_probability(ds, names)
        if len(sets) < finished.sum():  # counts over the pooled replications (a single point's are its own)
            y = _pooled_probability(ds, names, y, reps, first, finished, pooled)
        X = table.iloc[sets][chosen].reset_index(drop=True)
        X.attrs.update(attrs, point=tuple(int(p) for p in sets))  # each case's point: point_ids
        w = pooled[sets] if weight == "replication" else np.ones(len(sets))
        return X, y[sets], w
    codes = [list(map(str, ds["outcome"].values)).index(n) for n in names]
    code = read_values(ds["outcome_code"].transpose("point", "replication"), ds).astype(float)
    point_of, _ = np.nonzero(mask)
    X = pd.DataFrame({p: (np.asarray(drawn[p].transpose("point", "replication").values, float)[mask] if p in drawn
                          else table[p].to_numpy()[point_of]) for p in chosen})
    case_point = _drawn_sets(point_of, X) if any(p in drawn for p in chosen) else first[point_of]
    X.attrs.update(attrs, point=tuple(int(p) for p in case_point))
    y = np.isin(code[mask], codes).astype(float)
    w = np.ones(len(y)) if weight == "replication" else 1.0 / pooled[first[point_of]]
    return X, y, w


def _case_units(table: pd.DataFrame, chosen: Sequence[str], drawn: dict) -> dict:
    """{parameter: unit} of discovery_data's columns `chosen`: as the file records it (`table`, its
    parameter_table), or a parameter drawn per replication's own (`drawn`: its variables)."""
    units = {p: table.attrs["units"].get(p) for p in chosen if p not in drawn}
    for p in chosen:
        if p in drawn:
            unit = drawn[p].attrs.get("scenario_units") or drawn[p].attrs.get("units")
            units[p] = None if unit in (None, "", "1") else str(unit)
    return {p: units[p] for p in chosen}


def _pooled_probability(ds: xr.Dataset, names: Sequence[str], y: np.ndarray, reps: np.ndarray, first: np.ndarray,
                        finished: np.ndarray, pooled: np.ndarray) -> np.ndarray:
    """Per point, the probability of `names` over the replications of every finished point alike
    (`first`: _first_alike; `pooled`: their replications per set), a point alone keeping its own `y`."""
    hits = np.bincount(first[finished], weights=_hits(ds, names, y, reps)[finished], minlength=finished.size)
    alone = np.bincount(first[finished], minlength=finished.size) == 1
    return np.where(alone, y, probability_sum(np.divide(hits, pooled, out=np.zeros_like(hits), where=pooled > 0),
                                              names))


def _drawn_sets(point_of: np.ndarray, X: pd.DataFrame) -> np.ndarray:
    """The "point" of each case of a posterior run's replications (`point_of`, with parameters `X`)
    for qp and the tree models: each replication is its own parameter set, so a point and a drawn
    set (replications that drew the same particle share it)."""
    keys = np.c_[point_of, X.to_numpy(dtype=float)]
    return np.unique(keys, axis=0, return_inverse=True)[1].ravel()


def _first_alike(ds: xr.Dataset, table: pd.DataFrame, finished: np.ndarray) -> np.ndarray:
    """Per point, the position of the first finished point with the same value of every parameter
    (its own position if none comes before it; -1 for a point that did not finish). A Morris
    design's trajectories revisit points, and each visit is the same state of the world, not
    another sample of the space. A posterior sample's repeated draws are the posterior's weight,
    so each of its points stays its own."""
    first = np.where(finished, np.arange(finished.size), -1)
    if str(ds.attrs.get("design", "")) == "posterior" or table.shape[1] == 0:
        return first
    positions = np.flatnonzero(finished)
    rows = table.iloc[positions]
    group = rows.groupby(list(rows.columns), dropna=False, sort=False).ngroup().to_numpy()
    leaders = positions[np.unique(group, return_index=True)[1]]  # group numbers follow first appearance
    first[positions] = leaders[group]
    return first


def check_threshold_per(threshold: float | None, per: str, threshold_name: str = "threshold",
                        per_name: str = "per") -> None:
    """Refuses a threshold on per-replication cases: a threshold makes each point's probability a
    0/1 case, and a replication's outcome is a 0/1 case already, so it would compare each 0 or 1
    with the threshold and silently do nothing (or make every case one of interest, at 0)."""
    if threshold is not None and per == "replication":
        raise ValueError(f"{threshold_name} defines the cases of interest per point (P(outcome) >= threshold), and "
                         f"with {per_name} replication each replication's outcome is already a 0/1 case: drop "
                         f"{threshold_name} or use {per_name} point")


def find_boxes(
    ds: xr.Dataset,
    outcome: str | Sequence[str] = "full_war",
    parameters: Sequence[str] | None = None,
    per: str = "point",
    *,
    weight: str = "point",
    alpha: float = 0.05,
    min_mass: float = 0.05,
    threshold: float | None = None,
) -> PrimResult:
    """PRIM on a sweep file: the peeling trajectory for `outcome` over `parameters` (default: the
    swept ones), from the cases of :func:`discovery_data` (`per`, `weight`: by default every point
    counts once, however many replications an adaptive run gave it). `threshold` makes the cases
    of interest the points whose probability is at least `threshold` (``per="point"`` only: a
    replication's outcome is a 0/1 case already, and ValueError says so). ``result.box()`` is the
    chosen, pasted box; ``result.box().limits()`` its limits in the parameters' units."""
    ds = dataset(ds)
    check_threshold_per(threshold, per)
    X, y, w = discovery_data(ds, outcome, parameters, per, weight)
    label = ",".join(outcome_names(ds, outcome))
    return prim(X, y, w, alpha=alpha, min_mass=min_mass, threshold=threshold, units=X.attrs["units"], outcome=label)


def _aggregate(X: pd.DataFrame, y: np.ndarray, w: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Cases of one point merged (:func:`~brink_analysis.prim.merge_points`), points of weight 0
    dropped: per-replication data become per-point data, which is all the tree models need and
    far fewer rows, and per-point and per-replication cases of one file score alike."""
    X, y, w = merge_points(X, y, w)
    keep = w > 0
    out = X[keep].reset_index(drop=True)
    out.attrs = dict(X.attrs)
    return out, y[keep], w[keep]


def _rule(name: str, bounds: tuple[float, float] | None, kept: frozenset[float] | None,
          labels: dict[float, str] | None) -> str:
    """A leaf's limit on one parameter: ``lo < name <= hi`` for a numeric one (`bounds`); for a
    categorical one (`kept`, the indices of the values the leaf keeps), the names of those values
    (`labels`, {index: name})."""
    if kept is not None:
        inside = [(labels or {}).get(index, format_value(index)) for index in sorted(kept)]
        return f"{name} = {inside[0]}" if len(inside) == 1 else f"{name} in {{{', '.join(inside)}}}"
    lo, hi = bounds
    return (f"{lo:.6g} < " if np.isfinite(lo) else "") + name + (f" <= {hi:.6g}" if np.isfinite(hi) else "")


def cart_boxes(X: pd.DataFrame, y, weights=None, *, max_depth: int = 3, min_mass: float = 0.05,
               permutations: int = 0, seed: int = 0) -> pd.DataFrame:
    """CART scenario discovery: a weighted least-squares regression tree (:mod:`brink_analysis.cart`,
    depth `max_depth`, leaves of at least `min_mass` of the weight) of the outcome on the
    parameters; each leaf is a box.

    Returns one row per leaf, densest first: ``density`` (mean outcome in the leaf), ``coverage``,
    ``mass`` (as in PRIM), and ``rule``, the leaf's limits in the parameters' units (a split
    sends ``x <= t`` to the left, so a leaf reads ``t1 < x <= t2``). A categorical parameter
    named in ``X.attrs["categories"]`` (:func:`discovery_data` records them) splits its values
    into two sets, the best of all such partitions, whatever the order they were listed in, and
    reads ``combat.law = linear``, or ``scenario in {a.yaml, c.yaml}`` for several values.

    The leaves are chosen on the same points they describe, so a dense leaf is no evidence by
    itself: on pure noise the densest of eight leaves is far above the base rate. With
    `permutations` > 0, ``table.attrs["significance"]`` is ``(p, permutations)``: a permutation
    test of the densest leaf, the share of trees fitted to the outcomes shuffled across the points
    (a fixed `seed`), the data counted as one, whose densest leaf is at least as dense (as
    :meth:`~brink_analysis.PrimResult.significance` does for PRIM); None without.
    """
    max_depth = positive_int(max_depth, "max_depth")
    permutations = positive_int(permutations, "permutations", minimum=0)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    # A split leaves at least min_mass on each side, so min_mass above half would forbid every split.
    min_mass = share(min_mass, "min_mass (the smallest leaf, as a share of all cases)", 0.0, 0.5, high_inclusive=True)
    X, y, w = cases(X, y, weights, "CART's cases")
    interest(y, w, None)
    X, y, w = _aggregate(X, y, w)
    names = [str(c) for c in X.columns]
    labels = {names.index(str(k)): v for k, v in (X.attrs.get("categories") or {}).items() if str(k) in names and v}
    leaves = fit_leaves(X.to_numpy(dtype=float), y, w, set(labels), max_depth=max_depth, min_weight=min_mass * w.sum())
    total_w, total_wy = w.sum(), (w * y).sum()
    rows = []
    for leaf in leaves:
        w_in, wy_in = w[leaf.rows].sum(), (w * y)[leaf.rows].sum()
        parts = [_rule(names[c], leaf.bounds.get(c), leaf.kept.get(c), labels.get(c))
                 for c in range(len(names)) if c in leaf.bounds or c in leaf.kept]
        rows.append({"leaf": leaf.node, "density": wy_in / w_in if w_in else np.nan,
                     "coverage": wy_in / total_wy, "mass": w_in / total_w,
                     "rule": " and ".join(parts) or "(every case)"})
    table = pd.DataFrame(rows).sort_values(["density", "mass"], ascending=False).reset_index(drop=True)
    table.attrs["significance"] = None
    if permutations:
        densest = float(table["density"].max())
        rng = np.random.default_rng(seed)
        as_dense = 0
        for _ in range(permutations):
            order = rng.permutation(len(y))
            ys, ws = y[order], w[order]
            shuffled = fit_leaves(X.to_numpy(dtype=float), ys, ws, set(labels), max_depth=max_depth,
                                  min_weight=min_mass * w.sum())
            best = max(float((ws * ys)[leaf.rows].sum() / ws[leaf.rows].sum()) for leaf in shuffled)
            as_dense += best >= densest - OUTCOME_ROUNDING
        table.attrs["significance"] = ((1 + as_dense) / (1 + permutations), permutations)
    return table


def _scorable(y: np.ndarray, w: np.ndarray) -> None:
    """Raises the ValueError of cases a parameter cannot explain: no case of interest, fewer than
    two cases (points) or one outcome everywhere (every case of interest, say). Scores would be 0
    for every parameter, which reads as 'nothing matters' rather than 'nothing to explain'."""
    interest(y, w, None)
    counted = y[w > 0]
    if len(counted) < 2:
        raise ValueError(f"feature scores need two or more cases (points) of positive weight; got {len(counted)}")
    if np.ptp(counted) <= OUTCOME_ROUNDING:  # a sum of outcome probabilities that is 1 everywhere differs in the last bit
        raise ValueError(f"the outcome is {counted[0]:g} in every case, so no parameter explains any of it")


# The fewest cases variance_explained estimates anything from: two bins of three.
_FEWEST_CASES = 6
# The fewest cases per group on average, for a categorical parameter, whose values cannot be merged.
_CASES_PER_GROUP = 3


def variance_explained(X: pd.DataFrame, y, weights=None, bins: int = 10) -> pd.Series:
    """Share of the outcome's (weighted) variance each parameter explains alone: the correlation
    ratio η² of `y` on the parameter cut into k quantile bins (its distinct values, when it has no
    more than k), i.e. a binned first-order index, adjusted for the number of bins as R² is for
    the number of regressors, ``1 - (1 - η²)(n - 1)/(n - k)``, and clipped to [0, 1].

    k is about the square root of the number of cases n, ``floor(sqrt(n))``, at most `bins`: as
    many bins as cases per bin, so that both grow with n (40 cases: 6 bins of about 7; 100 or
    more: `bins` = 10). The adjustment makes a parameter that does not matter score about 0 (η²
    of pure noise is (k - 1)/(n - 1) on average). With fewer than six cases there are not two
    bins of three, and no share can be estimated: every parameter is NaN (a noise parameter of
    two points would otherwise explain everything, and one of four or five often most).

    A categorical parameter (named in ``X.attrs["categories"]``, as :func:`discovery_data` records
    text values and scenario choices) is grouped by its values, each its own group however many
    there are (k = its number of values, adjusted for in the same way), never binned: its indices
    have no order, so the score does not depend on the order the values were listed in. With
    fewer than three cases per value on average its score is NaN, with a RuntimeWarning.

    Per-replication cases (:func:`discovery_data` with ``per="replication"``) are merged per point
    first, as :func:`feature_scores` merges them: n counts points, and per-point and
    per-replication cases of one file get the same scores (the 0/1 outcomes of single
    replications would add their binomial noise to the variance to explain)."""
    bins = positive_int(bins, "bins", minimum=2)
    X, y, w = cases(X, y, weights)
    X, y, w = _aggregate(X, y, w)
    _scorable(y, w)
    return _variance_explained(X, y, w, bins)


def _variance_explained(X: pd.DataFrame, y: np.ndarray, w: np.ndarray, bins: int) -> pd.Series:
    """:func:`variance_explained` on cases already checked and merged per point."""
    n = len(y)
    if n < _FEWEST_CASES:
        return pd.Series({str(name): np.nan for name in X.columns}, name="variance_explained")
    bins = min(bins, int(np.sqrt(n)))  # about as many bins as cases per bin
    categorical = {str(k) for k, labels in (X.attrs.get("categories") or {}).items() if labels}
    out = {}
    for name in X.columns:
        x = np.asarray(X[name], dtype=float)
        values = np.unique(x)
        # A categorical parameter's values are its groups, whatever their number: its indices have
        # no order, and quantile bins of them merged unrelated values by the order they were listed in.
        if str(name) in categorical or len(values) <= bins:
            group = np.searchsorted(values, x)
        else:
            edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
            group = np.searchsorted(edges, x, side="right")
        k = len(np.unique(group))
        if n < _CASES_PER_GROUP * k:  # only a categorical parameter of many values gets here
            warnings.warn(f"variance_explained of {name} is NaN: its {k} values have fewer than {_CASES_PER_GROUP} "
                          f"cases (points) each on average ({n} cases), too few to share out the variance",
                          RuntimeWarning, stacklevel=3)
            out[str(name)] = np.nan
            continue
        out[str(name)] = _adjusted_eta2(group, y, w, n, k)
    return pd.Series(out, name="variance_explained")


def _adjusted_eta2(group: np.ndarray, y: np.ndarray, w: np.ndarray, n: int, k: int) -> float:
    """The correlation ratio η² of `y` on `group` (k groups of n cases), adjusted for the number of
    groups as R² is for the number of regressors and clipped to [0, 1]: η² of noise averages
    (k - 1)/(n - 1) whatever k is, so parameters cut into different numbers of groups compare."""
    mean = np.average(y, weights=w)
    total = np.sum(w * (y - mean) ** 2)
    between = 0.0
    for g in np.unique(group):
        sel = group == g
        wg = w[sel].sum()
        if wg > 0:
            between += wg * (np.average(y[sel], weights=w[sel]) - mean) ** 2
    eta2 = between / total if total > 0 else 0.0
    return float(np.clip(1 - (1 - eta2) * (n - 1) / (n - k), 0.0, 1.0))


def _sklearn(module: str, what: str) -> ModuleType:
    """scikit-learn's `module` (``"sklearn.ensemble"``), which `what` needs; without scikit-learn an
    ImportError in one sentence naming the package to install, as open_results names h5netcdf
    (PRIM and CART need no scikit-learn, so the package does not require it)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] != "sklearn":
            raise  # scikit-learn is there but broken: its own error says what is missing
        raise ImportError(f"{what} needs scikit-learn, which is not installed: install python3-sklearn (Debian) "
                          "or scikit-learn") from None


# The smallest leaf of the extra-trees model: a split needs twice as many cases (points).
_LEAF = 2
# Out-of-sample R² at or below this: the extra-trees model predicts held-out points no better than
# their mean, so its importances (which always sum to 1) rank nothing.
NO_FIT_R2 = 0.05
_FOLDS = 5


def _out_of_sample_r2(X: np.ndarray, y: np.ndarray, w: np.ndarray, n_estimators: int, random_state: int) -> float:
    """Cross-validated R² of the extra-trees model: each point predicted by a model fitted
    without its fold (5 folds, shuffled with `random_state`; one per point below 5 points), and
    ``1 - Σ w (y - ŷ)² / Σ w (y - ȳ)²`` over all points, ȳ the weighted mean. NaN below
    2·_LEAF + 1 points, where a training fold could not be split."""
    ExtraTreesRegressor = _sklearn("sklearn.ensemble", "feature_scores").ExtraTreesRegressor
    KFold = _sklearn("sklearn.model_selection", "feature_scores").KFold

    n = len(y)
    if n < 2 * _LEAF + 1:
        return float("nan")
    predicted = np.empty(n)
    for train, test in KFold(n_splits=min(_FOLDS, n), shuffle=True, random_state=random_state).split(X):
        model = ExtraTreesRegressor(n_estimators=n_estimators, min_samples_leaf=_LEAF, random_state=random_state)
        model.fit(X[train], y[train], sample_weight=w[train])
        predicted[test] = model.predict(X[test])
    total = np.sum(w * (y - np.average(y, weights=w)) ** 2)
    return float(1.0 - np.sum(w * (y - predicted) ** 2) / total) if total > 0 else float("nan")


def feature_scores(
    X: pd.DataFrame, y, weights=None, *, n_estimators: int = 250, bins: int = 10, random_state: int = 0
) -> pd.DataFrame:
    """Feature scores of each parameter for the outcome, highest first: ``extra_trees`` (impurity
    importances of scikit-learn's ExtraTreesRegressor, summing to 1) and ``variance_explained``
    (:func:`variance_explained`). Per-replication cases are merged per point first. ValueError
    without a case of interest, with cases at fewer than two points or with the same outcome in
    every case: there is then nothing for a parameter to explain. ``extra_trees`` is NaN, with a
    RuntimeWarning, when no tree can split the cases (fewer than four points: a leaf holds two),
    rather than the 0 scikit-learn gives every parameter then; ``variance_explained`` is NaN, with
    a RuntimeWarning, with fewer than six points (:func:`variance_explained`).

    Importances sum to 1 even when the model explains nothing (pure noise): how well it fits is
    ``scores.attrs["extra_trees_r2"]``, its out-of-sample R² (5-fold cross-validated over the
    points, with at most 100 trees per fold; NaN below five points). At or below
    :data:`NO_FIT_R2` (0.05) the model predicts held-out points no better than their mean, and a
    RuntimeWarning says that its importances rank nothing."""
    ExtraTreesRegressor = _sklearn("sklearn.ensemble", "feature_scores").ExtraTreesRegressor

    n_estimators = positive_int(n_estimators, "n_estimators")
    X, y, w = cases(X, y, weights)
    X, y, w = _aggregate(X, y, w)
    _scorable(y, w)
    forest = ExtraTreesRegressor(n_estimators=n_estimators, min_samples_leaf=_LEAF, random_state=random_state)
    forest.fit(X.to_numpy(dtype=float), y, sample_weight=w)
    importances = forest.feature_importances_
    explained = _variance_explained(X, y, w, positive_int(bins, "bins", minimum=2)).values
    if not importances.sum() > 0:  # no tree could split: zeros would read as "no parameter matters"
        still = "; variance_explained still ranks the parameters" if not np.isnan(explained).all() else ""
        warnings.warn(f"extra_trees is NaN: the extra-trees model could not split the {len(y)} cases (points) "
                      f"into leaves of {_LEAF} (it needs {2 * _LEAF} or more points with different values){still}",
                      RuntimeWarning, stacklevel=2)
        importances = np.full(len(X.columns), np.nan)
    r2 = _out_of_sample_r2(X.to_numpy(dtype=float), y, w, min(n_estimators, 100), random_state)
    if r2 <= NO_FIT_R2:
        warnings.warn(f"the extra-trees model does not fit: its out-of-sample R² is {r2:.3f} (at most {NO_FIT_R2:g}), "
                      "so it predicts held-out points no better than their mean and its importances rank nothing",
                      RuntimeWarning, stacklevel=2)
    if np.isnan(explained).all():
        warnings.warn(f"variance_explained is NaN: {len(y)} cases (points) are too few to bin (it needs "
                      f"{_FEWEST_CASES} or more, two bins of three)", RuntimeWarning, stacklevel=2)
    scores = pd.DataFrame(
        {"extra_trees": importances, "variance_explained": explained},
        index=pd.Index([str(c) for c in X.columns], name="parameter"),
    )
    scores = scores.sort_values(["extra_trees", "variance_explained"], ascending=False)
    scores.attrs["extra_trees_r2"] = r2
    scores.attrs["collinear"] = collinear = _collinear(X)
    for a, b, r in collinear:
        warnings.warn(f"parameters {a} and {b} are nearly collinear over the design's points (correlation "
                      f"{r:.3f}; a design constraint, sweep.constraints, or too few points?): their scores cannot "
                      "tell their effects apart, and either may be credited with the other's; read them as one, or "
                      "run a design that varies them apart", RuntimeWarning, stacklevel=2)
    return scores


#: Numeric parameters whose correlation over the design's points is at least this in absolute value
#: are nearly collinear: no model of the outcome can tell their effects apart (feature_scores warns).
COLLINEAR_R = 0.95


def _collinear(X: pd.DataFrame) -> list[tuple[str, str, float]]:
    """The pairs of numeric parameters (columns of the per-point cases `X`; not the categorical ones,
    whose indices have no order) whose Pearson correlation over the points is at least
    :data:`COLLINEAR_R` in absolute value: (first, second, correlation), in column order."""
    categorical = {str(k) for k in (X.attrs.get("categories") or {})}
    names = [str(c) for c in X.columns if str(c) not in categorical]
    values = X[names].to_numpy(dtype=float)
    if len(values) < 3 or len(names) < 2:
        return []
    varies = values.std(axis=0) > 0
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(values, rowvar=False)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if varies[i] and varies[j] and abs(r[i, j]) >= COLLINEAR_R:
                out.append((names[i], names[j], float(r[i, j])))
    return out
