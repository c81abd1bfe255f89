"""PRIM, the Patient Rule Induction Method (Friedman & Fisher 1999), for scenario discovery.

PRIM looks for a box (one interval per parameter) in which an outcome of
interest is much more frequent than elsewhere. It starts from the box holding
every case and *peels*: at each step it removes the slice of at least a share
`alpha` of the box's weight (more when values tie), below a low quantile or
above a high quantile of one parameter, whose removal leaves the highest mean
outcome (density), until the box holds less than `min_mass` of the weight. A
categorical parameter (a text value or a scenario choice, whose indices have no
order) is peeled one value at a time instead, whatever that value's weight (the
paper's section 8; the EMA Workbench does the same), so the box does not
depend on the order the values were listed in. The boxes along the way form
the peeling trajectory, a trade-off between coverage and density. When no peel
raises the density (a dip on the way to a denser region), the step takes the
peel that leaves the most cases of interest, never a big slice for no gain
(see ``_best_peel``). *Pasting* then grows a chosen box again, one slice (or
one categorical value) at a time, while that raises its density (the paper's
section 5).

Cases carry weights. Per-point outcome probabilities with weight w are the
same data as the per-replication 0/1 outcomes they summarise, each weighted
w/replications: both give the same boxes, to the last bit, since PRIM merges
a point's cases into one before it starts (:func:`merge_points`). On a sweep file
(:func:`~brink_analysis.find_boxes`) every point weighs the same by default,
however many replications an adaptive run gave it, so mass is the share of the
points in the box, density the mean of their probabilities and coverage their
share of the sum of the probabilities.

- density  = sum(w·y in box) / sum(w in box): the mean outcome in the box;
- coverage = sum(w·y in box) / sum(w·y): the share of all cases of interest the box holds;
- mass     = sum(w in box) / sum(w): the share of all cases the box holds.

Box limits are inclusive and in the parameters' own units: a box keeps the
cases with ``lower <= x <= upper`` in every numeric parameter, and those whose
value is one of ``Box.kept[p]`` in every categorical parameter ``p``. A limit
equal to the smallest (largest) value in the data leaves that side
unrestricted.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .checks import OUTCOME_ROUNDING, at_least, cases, interest, positive_int, probability, share

__all__ = ["PERMUTATIONS", "Box", "PrimResult", "PrimSignificance", "merge_points", "point_ids", "prim"]


@dataclass(frozen=True)
class Box:
    """One PRIM box: its limits per parameter and its statistics.

    A numeric parameter's limits are an inclusive interval, ``lower <= x <= upper``, in its units.
    A categorical parameter (a text value or a scenario choice, held as the index of its value) is
    limited to a *set* of its values, ``kept[parameter]`` (their indices), which need not be a
    range of indices: its ``lower`` and ``upper`` are only the smallest and largest index kept.
    A parameter absent from ``kept`` is limited by its interval, categorical or not."""

    lower: pd.Series  # per parameter, in its units
    upper: pd.Series
    mass: float
    coverage: float
    density: float
    data_min: pd.Series = field(repr=False)
    data_max: pd.Series = field(repr=False)
    units: Mapping[str, str | None] = field(default_factory=dict, repr=False)
    # {parameter: {index: name}} of categorical parameters, whose limits are indices of their values
    categories: Mapping[str, Mapping[float, str]] = field(default_factory=dict, repr=False)
    # {categorical parameter: the indices of the values the box keeps}, and of those the data hold
    kept: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    levels: Mapping[str, tuple[float, ...]] = field(default_factory=dict, repr=False)
    # (finished points, points) of an interrupted run's cases (discovery_data records it), for figures
    incomplete: tuple[int, int] | None = field(default=None, repr=False)
    # What the cases are, for figures: the outcome ("full_war,alliance_war") and the threshold that
    # made the points of P(outcome) >= threshold the cases of interest (None: the probabilities)
    outcome: str | None = field(default=None, repr=False)
    threshold: float | None = field(default=None, repr=False)

    @property
    def restricted(self) -> list[str]:
        """The parameters whose range the box narrows, in column order."""
        out = []
        for p in self.lower.index:
            if p in self.kept:
                narrowed = len(self.kept[p]) < len(self.levels.get(p, ())) or not self.levels.get(p)
            else:
                narrowed = self.lower[p] > self.data_min[p] or self.upper[p] < self.data_max[p]
            if narrowed:
                out.append(p)
        return out

    def contains(self, X: pd.DataFrame) -> np.ndarray:
        """Boolean per row of `X` (columns named by parameter): inside the box."""
        missing = [p for p in self.lower.index if p not in X.columns]
        if missing:
            raise ValueError(f"X has no column '{missing[0]}', a parameter of the box")
        inside = np.ones(len(X), dtype=bool)
        for p in self.lower.index:
            x = X[p].to_numpy(dtype=float, na_value=np.nan)  # a missing value lies in no box
            if p in self.kept:
                inside &= np.isin(x, np.asarray(self.kept[p], dtype=float))
            else:
                inside &= (x >= self.lower[p]) & (x <= self.upper[p])
        return inside

    def limits(self, all_parameters: bool = False) -> pd.DataFrame:
        """Table of the box limits, one row per restricted parameter (every parameter if
        `all_parameters`): ``lower``, ``upper`` (in the parameter's units), ``units``, and the range
        the data spans (``data_min``, ``data_max``). A categorical parameter (``categories``) is
        held as the index of its value, so the table then has a column ``values`` too: the names of
        its values inside the box (empty for a numeric parameter). For a categorical parameter the
        box keeps exactly those values; its ``lower`` and ``upper`` are the smallest and largest
        index kept, which need not be a range (``values`` is the limit)."""
        names = list(self.lower.index) if all_parameters else self.restricted
        table = pd.DataFrame(
            {
                "lower": [float(self.lower[p]) for p in names],
                "upper": [float(self.upper[p]) for p in names],
                "units": [self.units.get(p) or "" for p in names],
                "data_min": [float(self.data_min[p]) for p in names],
                "data_max": [float(self.data_max[p]) for p in names],
            },
            index=pd.Index(names, name="parameter"),
        )
        if any(self.categories.get(p) for p in names):
            table["values"] = [self._value_names(p) for p in names]
        return table

    def _value_names(self, name: str) -> str:
        """The names of a categorical parameter's values inside the box ("" for a numeric one)."""
        labels = self.categories.get(name) or {}
        if name in self.kept:
            return ", ".join(labels.get(float(index), format(index, "g")) for index in sorted(self.kept[name]))
        return ", ".join(label for index, label in sorted(labels.items())
                         if self.lower[name] <= index <= self.upper[name])


@dataclass
class _Limits:
    """A box while PRIM works on it: an interval per parameter (columns of the cases) and, for each
    categorical one (by column), the set of values kept; its interval spans that set."""

    lo: np.ndarray
    hi: np.ndarray
    kept: dict[int, np.ndarray]

    def copy(self) -> "_Limits":
        return _Limits(self.lo.copy(), self.hi.copy(), {j: v.copy() for j, v in self.kept.items()})

    def keep(self, j: int, values: np.ndarray) -> None:
        """Limits categorical column `j` to `values` (sorted)."""
        self.kept[j] = np.sort(values)
        self.lo[j], self.hi[j] = self.kept[j][0], self.kept[j][-1]


def threshold_cases(y: np.ndarray, weights: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Checked cases (`y`, `weights`) made 0/1 by `threshold`: ``y >= threshold`` up to rounding
    (:func:`~brink_analysis.checks.at_least`: 0.7 + 0.2 reaches 0.9), and each case of
    positive weight weighs 1 (weight 0 stays 0). Once a point's probability is turned into one 0/1
    case, its replications no longer count separately (whatever ``weight`` the cases were made
    with), or an adaptive run's points (different replications) would weigh differently in mass,
    coverage and density for no reason of the question asked."""
    return at_least(y, threshold).astype(float), (weights > 0).astype(float)


def point_ids(X: pd.DataFrame) -> np.ndarray:
    """The design point of each case (row of `X`), as integers from 0: ``X.attrs["point"]``
    (:func:`~brink_analysis.discovery_data` records it) when it has one entry per row and gives
    each point one set of parameter values; otherwise (no record, or rows reordered or edited
    since) cases with equal parameter values are one point, as a point's replications are."""
    values = X.to_numpy(dtype=float, na_value=np.nan)
    by_value = np.unique(values, axis=0, return_inverse=True)[1].ravel()
    recorded = X.attrs.get("point")
    if recorded is not None and len(recorded) == len(X):
        ids = np.unique(np.asarray(recorded), return_inverse=True)[1].ravel()
        if len(np.unique(np.c_[ids, by_value], axis=0)) == ids.max(initial=-1) + 1:
            return ids
    return by_value


def merge_points(X: pd.DataFrame, y: np.ndarray, w: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Cases of one point (:func:`point_ids`) merged into one (weights summed, outcomes
    weight-averaged), in the order of the points' first cases: per-replication data become the
    per-point data they summarise. Every model here keeps or splits a point's cases together (they
    have the same parameter values), so merging changes no box, leaf or score, only rounding, and
    the rows are far fewer. Merging by equal values alone would also merge different points that
    agree on a subset of the parameters (parameters=[one of them]). ``X.attrs`` is kept but for
    ``point``: each row is a point now. A point of weight 0 stays, with outcome 0.

    A point whose cases weigh the same (its replications, 1/replications each) gets the plain mean
    of their outcomes, the count over the replications as the per-point case computes it, and
    weight 1 when each weighs 1/n of n cases (n when each weighs 1): summing 200 weights of 1/200
    gives 0.9999999999999999 or 1.0000000000000007, and 600 of them 2.9999999999999583, which
    missed a PRIM peel of 3 points' weight by the last bit (a fourth point went) and changed
    extra-trees' splits, so per-point and per-replication cases of one file gave different boxes
    and scores. Merged, both are the same numbers."""
    ids = point_ids(X)
    _, first, group = np.unique(ids, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    group, first = rank[group.ravel()], np.sort(first)  # points in the order of their first cases
    count = len(first)
    n = np.bincount(group, minlength=count).astype(float)
    summed = np.bincount(group, weights=w, minlength=count)
    lightest, heaviest = np.full(count, np.inf), np.full(count, -np.inf)
    np.minimum.at(lightest, group, w)
    np.maximum.at(heaviest, group, w)
    equal = lightest == heaviest
    weight = np.where(equal, np.where(lightest == 1.0 / n, 1.0, lightest * n), summed)
    with np.errstate(invalid="ignore", divide="ignore"):  # a point of weight 0: outcome 0 below
        outcome = np.where(equal, np.bincount(group, weights=y, minlength=count) / n,
                           np.bincount(group, weights=w * y, minlength=count) / summed)
    outcome = np.where(weight > 0, outcome, 0.0)
    out = X.iloc[first].reset_index(drop=True)
    out.attrs = {k: v for k, v in X.attrs.items() if k != "point"}
    return out, outcome, weight


class _Data:
    """The cases as arrays: X (n, d), y in [0, 1], weights w >= 0, and running totals, one row per
    design point (:func:`merge_points`: a point's replications are one case). The columns
    named in ``X.attrs["categories"]`` ({parameter: {index: name}}, which discovery_data records)
    are categorical: PRIM peels and pastes them one value at a time, never by the order of their
    indices."""

    def __init__(self, X: pd.DataFrame, y, weights, threshold: float | None = None, outcome: str | None = None):
        self.threshold, self.outcome = threshold, outcome
        X, self.y, self.w = cases(X, y, weights, "PRIM's cases")
        if threshold is not None:  # after the checks: a NaN outcome is refused, not read as below the threshold
            self.y, self.w = threshold_cases(self.y, self.w, threshold)
        # One case per point: per-replication cases then give the per-point numbers exactly, so the
        # same boxes (a running sum of 1/replications weights ends a hair off whole points).
        X, self.y, self.w = merge_points(X, self.y, self.w)
        self.point = np.arange(len(X))
        self.names = [str(c) for c in X.columns]
        self.categories = {str(k): dict(v) for k, v in dict(X.attrs.get("categories") or {}).items()
                           if str(k) in self.names and v}
        self.incomplete = X.attrs.get("incomplete")
        self.X = X.to_numpy()
        self.wy = self.w * self.y
        self.total_w, self.total_wy = float(self.w.sum()), float(self.wy.sum())
        interest(self.y, self.w, threshold)
        self.min, self.max = self.X.min(axis=0), self.X.max(axis=0)
        # The values each categorical column takes, by column
        self.levels = {j: np.unique(self.X[:, j]) for j, name in enumerate(self.names) if name in self.categories}

    def whole(self) -> _Limits:
        """The box that holds every case."""
        return _Limits(self.min.copy(), self.max.copy(), {j: v.copy() for j, v in self.levels.items()})

    def within(self, limits: _Limits) -> np.ndarray:
        """(n, d) booleans: each case within the box's limits on each parameter."""
        within = (self.X >= limits.lo) & (self.X <= limits.hi)
        for j, values in limits.kept.items():
            within[:, j] = np.isin(self.X[:, j], values)
        return within

    def inside(self, limits: _Limits) -> np.ndarray:
        return np.all(self.within(limits), axis=1)

    def counts(self, limits: _Limits) -> tuple[int, float, float]:
        """The design points inside the box (those of its cases of positive weight), its cases of
        interest (density × points) and its density: the trials of PrimResult.inspect's qp."""
        inside = self.inside(limits) & (self.w > 0)
        w_in = float(self.w[inside].sum())
        density = float(self.wy[inside].sum()) / w_in if w_in > 0 else float("nan")
        n = len(np.unique(self.point[inside]))
        return n, density * n, density

    def prune(self, limits: _Limits) -> _Limits:
        """`limits` with every limit lifted that keeps no case out of the box: the box holds the
        same cases, described by the fewest limits. A limit peeled while the box was wider can be
        made moot by a later peel of another parameter (every case it cut is cut by that one too),
        and would then read as a condition the data do not show (the outside tester's box of
        patience and an incident rate whose limits removed no state of the world from it). One
        side of a numeric parameter, or one value a categorical parameter's set left out, at a
        time, in column order (lower side first, values by index): each goes back to the data's
        range if the cases inside stay the same, so the result depends on nothing but the limits."""
        inside = self.inside(limits)
        out = limits.copy()
        for j in range(len(self.names)):
            if j in out.kept:
                for value in self.levels[j]:
                    if value in out.kept[j]:
                        continue
                    trial = out.copy()
                    trial.keep(j, np.append(trial.kept[j], value))
                    if np.array_equal(self.inside(trial), inside):
                        out = trial
                continue
            for side in ("lower", "upper"):
                trial = out.copy()
                if side == "lower" and trial.lo[j] > self.min[j]:
                    trial.lo[j] = self.min[j]
                elif side == "upper" and trial.hi[j] < self.max[j]:
                    trial.hi[j] = self.max[j]
                else:
                    continue
                if np.array_equal(self.inside(trial), inside):
                    out = trial
        return out

    def permuted(self, order: np.ndarray) -> "_Data":
        """These cases with the outcomes and weights of the points (rows) in `order` moved to the
        points of ``X``: the parameters stay where they are, so any link between them and the
        outcome is broken, and everything else (totals, ties, categories) is the same."""
        other = copy.copy(self)
        other.y, other.w = self.y[order], self.w[order]
        other.wy = other.w * other.y
        return other

    def box(self, limits: _Limits, units) -> Box:
        """The Box of `limits`, pruned (:meth:`prune`): no limit that keeps no case out."""
        limits = self.prune(limits)
        inside = self.inside(limits)
        w_in, wy_in = float(self.w[inside].sum()), float(self.wy[inside].sum())
        return Box(
            lower=pd.Series(limits.lo.copy(), index=self.names),
            upper=pd.Series(limits.hi.copy(), index=self.names),
            mass=w_in / self.total_w,
            coverage=wy_in / self.total_wy,
            density=wy_in / w_in if w_in > 0 else float("nan"),
            data_min=pd.Series(self.min, index=self.names),
            data_max=pd.Series(self.max, index=self.names),
            units=dict(units),
            categories=self.categories,
            kept={self.names[j]: tuple(float(v) for v in values) for j, values in limits.kept.items()},
            levels={self.names[j]: tuple(float(v) for v in values) for j, values in self.levels.items()},
            incomplete=self.incomplete,
            outcome=self.outcome,
            threshold=self.threshold,
        )


#: Weights that differ by no more than this share of the box's weight are the same: a running sum of
#: weights (0.1 + 0.1 + 0.1, or 600 weights of 1/200) ends a few ulps off the whole number it is in
#: exact arithmetic. Peels and pastes reach their target weight, and boxes the smallest mass, up to it.
WEIGHT_ROUNDING = 1e-12


def _reached(cw: np.ndarray, target: float, scale: float) -> int:
    """The first index at which the running sum `cw` reaches `target`, up to rounding
    (:data:`WEIGHT_ROUNDING` of `scale`, the box's weight)."""
    return int(np.searchsorted(cw, target - WEIGHT_ROUNDING * scale))


def _lower_cut(x: np.ndarray, w: np.ndarray, target: float, scale: float) -> float | None:
    """New lower limit after removing at least `target` weight (up to rounding of `scale`, the
    box's weight) from the bottom of `x`: the first value above the removed ones. Ties go
    together; None if that would remove every case."""
    order = np.argsort(x, kind="stable")
    xs, cw = x[order], np.cumsum(w[order])
    k = min(_reached(cw, target, scale), len(xs) - 1)
    nxt = int(np.searchsorted(xs, xs[k], side="right"))
    return float(xs[nxt]) if nxt < len(xs) else None


def _best_peel(data: _Data, inside: np.ndarray, limits: _Limits, alpha: float, min_mass: float):
    """The best peel leaving a box of mass >= min_mass: (column, side, new limit or the categorical
    value removed, kept mask). A numeric parameter is peeled by at least `alpha` of the box's weight
    from below or above; a categorical one by one of its values still in the box (side "value"),
    whatever its weight, as Friedman and Fisher (1999, section 8) and the EMA Workbench do: its
    indices have no order to peel by.

    Without categorical parameters every peel removes about `alpha` of the box, and the best is
    the one leaving the densest box (Friedman and Fisher's criterion). With them, one value can
    remove far more (a third of the box, say), and the densest box would favour such big peels
    over PRIM's patient small ones; peels are then compared by the rise in density per share of
    the weight removed, the EMA Workbench's default objective ("lenient1").

    A peel that raises the density by no more than rounding (1e-12, as in pasting) is taken only
    when none raises it, and then the one leaving the most cases of interest (sum of w·y) wins.
    Such a step buys nothing (its box is no denser and smaller) and only gets the trajectory past
    a dip in density, so it should spend as little of the box as it can: by either criterion
    above, half the box peeled for no rise (a two-valued lever the outcome ignores) beat small
    peels that lowered the density a little, and pasting never restored it. (The EMA Workbench
    stops peeling at such a step, which ends the trajectory at the first dip.) With peels of
    equal weight, the most cases of interest left is the densest box."""
    w_box = float(data.w[inside].sum())
    w, wy = data.w[inside], data.wy[inside]
    density_box = float(wy.sum()) / w_box
    per_mass = bool(limits.kept)
    best, best_key = None, None
    for j in range(len(data.names)):
        x = data.X[inside, j]
        if j in limits.kept:
            candidates = [("value", v, x != v) for v in limits.kept[j]] if len(limits.kept[j]) > 1 else []
        else:
            candidates = []
            for side in ("lower", "upper"):
                if side == "lower":
                    cut = _lower_cut(x, w, alpha * w_box, w_box)
                    keep = x >= cut if cut is not None else None
                else:
                    neg = _lower_cut(-x, w, alpha * w_box, w_box)
                    cut = -neg if neg is not None else None
                    keep = x <= cut if cut is not None else None
                if keep is not None:
                    candidates.append((side, cut, keep))
        for side, cut, keep in candidates:
            w_keep = float(w[keep].sum())
            if w_keep <= 0 or w_keep < (min_mass - WEIGHT_ROUNDING) * data.total_w:
                continue
            wy_keep = float(wy[keep].sum())
            density = wy_keep / w_keep
            # Weights as shares of the total, so that the keys do not depend on the weights' scale.
            mass, hits = w_keep / data.total_w, wy_keep / data.total_w
            if density - density_box <= OUTCOME_ROUNDING:
                key = (0, hits, density, mass)  # no rise: the most cases of interest left
            elif per_mass:  # the rise in density per share of the weight removed, then the largest box
                removed = (w_box - w_keep) / data.total_w
                key = (1, (density - density_box) / removed, mass)
            else:
                key = (1, density, mass)  # densest, then largest
            if best_key is None or _ahead(key, best_key):
                best_key, best = key, (j, side, cut, keep)
    return best


def _ahead(key: tuple, best: tuple) -> bool:
    """Whether peel `key` beats `best`, comparing their numbers in order, each up to rounding
    (:data:`OUTCOME_ROUNDING`, relative above 1): two peels whose densities are equal in exact
    arithmetic but not in the last bit (weights 0.1 against 1, a point's replications against the
    point) are a tie, which the next number breaks, and then the order of the peels."""
    for a, b in zip(key, best):
        if abs(a - b) > OUTCOME_ROUNDING * max(1.0, abs(a), abs(b)):
            return a > b
    return False


def _paste(data: _Data, limits: _Limits, alpha: float) -> _Limits:
    """Friedman & Fisher's pasting: grow the box by the slice of about `alpha` of its weight, on one
    side of one numeric parameter, or by one value of a categorical parameter, that raises its
    density most (a rise within rounding of the best is a tie, which the first found wins), until
    none raises it by more than rounding (1e-12, as in PrimResult.chosen)."""
    limits = limits.copy()
    lo, hi = limits.lo, limits.hi
    while True:
        within = data.within(limits)
        count = within.sum(axis=1)
        inside = count == len(data.names)
        w_box, wy_box = float(data.w[inside].sum()), float(data.wy[inside].sum())
        density = wy_box / w_box
        best = None
        for j in range(len(data.names)):
            others = (count - within[:, j]) == len(data.names) - 1
            x = data.X[:, j]
            if j in limits.kept:
                for value in data.levels[j]:
                    if value in limits.kept[j]:
                        continue
                    add = others & (x == value)
                    if not add.any():
                        continue
                    new = (wy_box + float(data.wy[add].sum())) / (w_box + float(data.w[add].sum()))
                    if new > density + OUTCOME_ROUNDING and (best is None or new > best[0] + OUTCOME_ROUNDING):
                        best = (new, j, "value", value)
                continue
            for side in ("lower", "upper"):
                cand = others & ((x < lo[j]) if side == "lower" else (x > hi[j]))
                if not cand.any():
                    continue
                xc = x[cand] if side == "upper" else -x[cand]
                order = np.argsort(xc, kind="stable")
                cw = np.cumsum(data.w[cand][order])
                k = min(_reached(cw, alpha * w_box, w_box), len(order) - 1)
                limit = xc[order][k]
                add = cand & (((x <= limit) if side == "upper" else (x >= -limit)))
                new = (wy_box + float(data.wy[add].sum())) / (w_box + float(data.w[add].sum()))
                if new > density + OUTCOME_ROUNDING and (best is None or new > best[0] + OUTCOME_ROUNDING):
                    best = (new, j, side, limit if side == "upper" else -limit)
        if best is None:
            return limits
        _, j, side, limit = best
        if side == "value":
            limits.keep(j, np.append(limits.kept[j], limit))
        elif side == "lower":
            lo[j] = limit
        else:
            hi[j] = limit


#: Shuffles of :meth:`PrimResult.significance` by default (``discover --permutations``).
PERMUTATIONS = 100

#: A box whose permutation p-value is above this is not distinguishable from chance.
SIGNIFICANCE_LEVEL = 0.05


def _choice_score(coverage, density, base: float) -> np.ndarray:
    """The score by which :attr:`PrimResult.chosen` picks a box: the harmonic mean of coverage and
    lift, ``(density - base) / (1 - base)`` (0 for a rise of no more than rounding, and for every
    box when ``base`` is 1)."""
    c, d = np.asarray(coverage, dtype=float), np.asarray(density, dtype=float)
    if not base < 1.0 - OUTCOME_ROUNDING:
        return np.zeros_like(c)
    rise = np.where(d - base > OUTCOME_ROUNDING, d - base, 0.0)
    lift = np.clip(rise / (1.0 - base), 0.0, 1.0)
    return np.where(c + lift > 0, 2 * c * lift / np.maximum(c + lift, 1e-300), 0.0)


def _select(t: pd.DataFrame, min_coverage: float | None, min_density: float | None) -> int:
    """:meth:`PrimResult.select` on a trajectory table `t` (mass, coverage, density per box)."""
    if min_coverage is not None:
        min_coverage = probability(min_coverage, "min_coverage")
        ok = t[at_least(t["coverage"], min_coverage)]
        if ok.empty:
            raise ValueError(f"no box on the trajectory has coverage >= {min_coverage}")
        return int(ok["density"].idxmax())
    if min_density is not None:
        min_density = probability(min_density, "min_density")
        ok = t[at_least(t["density"], min_density)]
        if ok.empty:
            raise ValueError(f"no box on the trajectory has density >= {min_density} "
                             f"(the densest has {t['density'].max():.3g})")
        return int(ok["coverage"].idxmax())
    c, d = t["coverage"].to_numpy(), t["density"].to_numpy()
    return int(np.argmax(_choice_score(c, d, d[0])))


class PrimResult:
    """A PRIM peeling trajectory: :attr:`boxes` (box 0 holds every case), :attr:`trajectory`
    (a table of their statistics), :attr:`chosen` (the default box) and :meth:`box`."""

    def __init__(self, data: _Data, limits: list[_Limits], alpha: float, units, outcome: str | None,
                 min_mass: float = 0.05):
        self._data = data
        self._limits = limits
        boxes = [data.box(lim, units) for lim in limits]
        self.boxes = boxes
        self.alpha = alpha
        self.min_mass = min_mass
        self.units = dict(units)
        self.outcome = outcome
        self.threshold = data.threshold  # cases of interest: P(outcome) >= threshold; None: the probabilities
        self.incomplete = data.incomplete  # (finished points, points) of an interrupted run, else None
        self.trajectory = pd.DataFrame(
            {
                "mass": [b.mass for b in boxes],
                "coverage": [b.coverage for b in boxes],
                "density": [b.density for b in boxes],
                "restricted_dimensions": [len(b.restricted) for b in boxes],
                "restricted": [", ".join(b.restricted) for b in boxes],
            },
            index=pd.RangeIndex(len(boxes), name="box"),
        )

    @property
    def chosen(self) -> int:
        """Index of the default box: the one balancing coverage and the density's rise above the
        whole space's best, ties to the larger box.

        The rise is the lift ``(density - base) / (1 - base)``, with ``base`` the density of box 0
        (the mean outcome): 0 for a box no denser than the whole space, 1 for a box of density 1.
        The score is the harmonic mean of coverage and lift, so box 0 (coverage 1, lift 0) scores
        0 and is chosen only if no box is denser. The lift, not the density itself, matters when
        the outcome is a probability with a baseline (0.25 everywhere, 0.85 in a region): the
        density of the whole space is then high enough for box 0 to win on coverage and density.
        When every case is of interest (base 1) every box is as dense, and box 0 is chosen.
        A rise of no more than 1e-12 is rounding (a constant 0.3 averages to 0.30000000000000004 in
        one box and 0.29999999999999993 in another), not a denser box: its lift is 0."""
        c, d = self.trajectory["coverage"].to_numpy(), self.trajectory["density"].to_numpy()
        return int(np.argmax(_choice_score(c, d, d[0])))

    def select(self, min_coverage: float | None = None, min_density: float | None = None) -> int:
        """Index of the densest box with coverage >= `min_coverage`, or of the box with the highest
        coverage among those with density >= `min_density` (both up to rounding,
        :func:`~brink_analysis.checks.at_least`). ValueError if none qualifies."""
        return _select(self.trajectory, min_coverage, min_density)

    def index(self, index: int | None = None) -> int:
        """`index` checked to be a box of the trajectory (default :attr:`chosen`); ValueError otherwise."""
        if index is None:
            return self.chosen
        i = positive_int(index, "box index", minimum=0)
        if i >= len(self.boxes):
            raise ValueError(f"no box {i} on the trajectory (it has boxes 0 to {len(self.boxes) - 1})")
        return i

    def box(self, index: int | None = None, paste: bool = True) -> Box:
        """Box `index` of the trajectory (default :attr:`chosen`), grown by pasting unless `paste` is false."""
        i = self.index(index)
        peeled = self.boxes[i]
        if not paste:
            return peeled
        return self._data.box(_paste(self._data, self._limits[i], self.alpha), self.units)

    def inspect(self, index: int | None = None, paste: bool = True) -> pd.DataFrame:
        """The limits of box `index` (as :meth:`Box.limits`) with, per restricted parameter, how
        likely chance alone is to give the box its density (Bryant and Lempert 2010's quasi-p-value,
        the EMA Workbench's "qp values"): ``density_without``, the density of the box with that
        parameter's restriction lifted, and ``qp``, the binomial probability of at least the box's
        cases of interest among its design points if each point were of interest with that density.

        A restriction with a large ``qp`` (say above 0.05) is one the design's points cannot tell
        from chance at this design size: the box is not dense enough with it, against the binomial
        spread, to rule chance out. That does not show that the parameter does not matter (with
        probabilities qp errs on the large side, below): weigh it with the feature scores. The value is *quasi*: the
        limits were chosen by looking at the same cases, so a true p-value would be larger.

        The trials are the design points in the box (:func:`point_ids`), not the replications: a
        restriction keeps or drops a point with all its replications, which estimate that point's
        probability and sample no new parameter values. The cases of interest are the box's density
        times its points (the weighted density: with equal weights per point, the sum of the points'
        probabilities), a fractional count for probabilities, whose binomial tail is the regularized incomplete beta function. With 0/1 cases (a
        `threshold`) this is the EMA Workbench's qp; with probabilities it errs on the large side,
        since values in [0, 1] with mean p spread across points at most as a 0/1 case of
        probability p does (variance p(1 - p)). Per-point probabilities and the replications' 0/1
        outcomes give the same values."""
        i = self.index(index)
        limits = _paste(self._data, self._limits[i], self.alpha) if paste else self._limits[i]
        limits = self._data.prune(limits)  # each restriction lifted from the box as reported
        table = self._data.box(limits, self.units).limits()
        trials, hits, _ = self._data.counts(limits)
        without, qp = [], []
        whole = self._data.whole()
        for name in table.index:
            j = self._data.names.index(name)
            wide = limits.copy()
            wide.lo[j], wide.hi[j] = whole.lo[j], whole.hi[j]
            if j in wide.kept:
                wide.kept[j] = whole.kept[j]
            _, _, density = self._data.counts(wide)
            without.append(density)
            qp.append(_at_least(hits, trials, density))
        table["density_without"] = without
        table["qp"] = qp
        return table

    def significance(self, index: int | None = None, paste: bool = True, *, min_coverage: float | None = None,
                     min_density: float | None = None, permutations: int = PERMUTATIONS,
                     seed: int = 0) -> "PrimSignificance":
        """A permutation test of the reported box: could PRIM have found as good a box had the
        outcome nothing to do with the parameters? The outcomes (with their weights) are shuffled
        across the design points `permutations` times (a fixed `seed`), PRIM is run again on each
        shuffle (the same `alpha` and `min_mass`), the box is picked there by the same rule and
        pasted alike, and the p-value is the share of the shuffles, the data counted as one of
        them, whose box is at least as good: ``(1 + as good) / (1 + permutations)``.

        The rule and what "as good" means follow how the box was chosen: the default box
        (:attr:`chosen`) by its score, the harmonic mean of coverage and lift that chose it;
        ``min_coverage`` (:meth:`select`) by density; ``min_density`` by coverage (a shuffle in
        which no box is that dense has none as good); a box `index` of the trajectory by density,
        against the first box of each shuffle's trajectory that holds no more weight than box
        `index` did before pasting (a smaller box is denser by chance alone, so this errs on the
        large side). Unlike :meth:`inspect`'s ``qp``, which is per restriction and computed on the
        points that chose the limits, this accounts for the search: peeling takes the best of
        many slices at every step, and on pure noise the best of many looks good.

        Each shuffle is one PRIM run: about 0.05 s for 200 points of four parameters, so 100
        shuffles take about 5 s; the time grows with the points, the parameters and the steps
        (1/`alpha`). The p-value is at least ``1 / (1 + permutations)``: 100 shuffles resolve
        0.01. ``result.significance().distinguishable`` is whether ``p <= 0.05``."""
        from .checks import positive_int as _count

        i = self.index(index) if index is not None else None
        if i is not None and (min_coverage is not None or min_density is not None):
            raise ValueError("give a box index or min_coverage/min_density, not both: each chooses the box")
        if min_coverage is not None and min_density is not None:
            raise ValueError("give min_coverage or min_density, not both")
        permutations = _count(permutations, "permutations")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
        if i is not None:
            rule, statistic = "index", "density"
        elif min_coverage is not None:
            rule, statistic = "min_coverage", "density"
        elif min_density is not None:
            rule, statistic = "min_density", "coverage"
        else:
            rule, statistic = "chosen", "score"
        peeled_mass = self.boxes[i].mass if i is not None else None

        def value(data: _Data, trajectory: list[_Limits]) -> float:
            t = _trajectory_table(data, trajectory)
            if rule == "index":
                smaller = np.flatnonzero(t["mass"].to_numpy() <= peeled_mass + WEIGHT_ROUNDING)
                k = int(smaller[0]) if len(smaller) else len(t) - 1
            else:
                try:
                    k = _select(t, min_coverage, min_density)
                except ValueError:  # no box qualifies: none is as good
                    return -np.inf
            limits = _paste(data, trajectory[k], self.alpha) if paste else trajectory[k]
            _, _, density = data.counts(limits)
            inside = data.inside(limits)
            coverage = float(data.wy[inside].sum()) / data.total_wy
            if statistic == "density":
                return density
            if statistic == "coverage":
                return coverage
            return float(_choice_score(coverage, density, data.total_wy / data.total_w))

        observed = value(self._data, self._limits)
        rng = np.random.default_rng(seed)
        n = len(self._data.y)
        reference = np.array([value(shuffled, _peel(shuffled, self.alpha, self.min_mass))
                              for shuffled in (self._data.permuted(rng.permutation(n)) for _ in range(permutations))])
        good = int(np.sum(reference >= observed - OUTCOME_ROUNDING * max(1.0, abs(observed))))
        return PrimSignificance(p_value=(1 + good) / (1 + permutations), permutations=permutations,
                                statistic=statistic, observed=observed, reference=reference,
                                box=self.index(i) if i is not None else None, rule=rule)


@dataclass(frozen=True)
class PrimSignificance:
    """The permutation test of a PRIM box (:meth:`PrimResult.significance`): ``p_value``, the share
    of the shuffles of the outcomes (the data counted as one) whose box was at least as good by
    ``statistic`` ("score": the harmonic mean of coverage and lift that chooses the default box;
    "density"; "coverage"); ``observed``, the box's own value; ``reference``, each shuffle's;
    ``rule``, how the box was picked ("chosen", "index", "min_coverage", "min_density")."""

    p_value: float
    permutations: int
    statistic: str
    observed: float
    reference: np.ndarray = field(repr=False)
    box: int | None = None
    rule: str = "chosen"

    @property
    def distinguishable(self) -> bool:
        """Whether the box is distinguishable from chance at the 5% level (``p_value <= 0.05``)."""
        return self.p_value <= SIGNIFICANCE_LEVEL

    @property
    def share_as_good(self) -> float:
        """The share of the shuffles whose box was at least as good."""
        return float(np.mean(self.reference >= self.observed - OUTCOME_ROUNDING * max(1.0, abs(self.observed))))

    def __str__(self) -> str:
        what = {"score": "coverage-lift score", "density": "density", "coverage": "coverage"}[self.statistic]
        head = (f"permutation test: p = {self.p_value:.3g} ({self.share_as_good:.0%} of {self.permutations} PRIM runs "
                f"on the outcomes shuffled across the points found a box of {what} at least as high)")
        if self.distinguishable:
            return head + ": the box is distinguishable from chance at the 5% level"
        return (head + ": the box is NOT distinguishable from chance; PRIM finds boxes like it in data whose "
                "outcome has nothing to do with the parameters")


def _trajectory_table(data: _Data, trajectory: list[_Limits]) -> pd.DataFrame:
    """mass, coverage and density of each box of `trajectory` (limits on `data`), as in PrimResult.trajectory."""
    rows = []
    for limits in trajectory:
        inside = data.inside(limits)
        w_in, wy_in = float(data.w[inside].sum()), float(data.wy[inside].sum())
        rows.append((w_in / data.total_w, wy_in / data.total_wy, wy_in / w_in if w_in > 0 else float("nan")))
    return pd.DataFrame(rows, columns=["mass", "coverage", "density"])


def _at_least(hits: float, trials: int, p: float) -> float:
    """P(X >= hits) for X ~ Binomial(trials, p), for a fractional `hits` too: the regularized
    incomplete beta function I_p(hits, trials - hits + 1), which is that tail at whole counts."""
    from scipy.special import betainc

    if not 0.0 <= p <= 1.0 or trials == 0:
        return float("nan")
    if hits <= 0:
        return 1.0
    return float(betainc(hits, trials - hits + 1.0, p))


def prim(
    X: pd.DataFrame,
    y: Sequence[float] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
    *,
    alpha: float = 0.05,
    min_mass: float = 0.05,
    threshold: float | None = None,
    units: Mapping[str, str | None] | None = None,
    outcome: str | None = None,
    trials=None,
) -> PrimResult:
    """Runs PRIM's peeling on cases `X` (a DataFrame, one column per parameter) with outcomes `y`
    in [0, 1] (0/1 cases of interest, or probabilities) and optional non-negative `weights`.

    `threshold` turns `y` into cases of interest ``y >= threshold`` first, each case (point) of
    weight 1 whatever its weight (0 stays 0): mass, coverage and density then count points. Each step peels at least a share `alpha` (in (0, 0.5)) of the box's
    weight from one end of a numeric parameter (more when values tie), or one value of a
    categorical parameter (the columns named in ``X.attrs["categories"]``, {parameter: {index:
    name}}, as :func:`~brink_analysis.discovery_data` records them); peeling stops before the box
    would hold less than `min_mass` of the total weight. `units` ({parameter: unit}) and
    `outcome` are carried into the result for tables and plots. The ``qp`` values of
    :meth:`PrimResult.inspect` count design points (:func:`point_ids`: ``X.attrs["point"]``, or
    the distinct rows of `X`), whatever the weights. Deterministic: ties between peels go to the larger box, then to the first parameter, lower side
    first (a categorical parameter's values in the order of their indices). `trials` is gone
    (TypeError saying so): qp no longer counts replications.
    """
    if trials is not None:
        raise TypeError("prim() no longer takes trials=: qp counts design points, not replications (docs/analysis.md, "
                        "\"Chance restrictions\"); drop the argument")
    alpha = share(alpha, "alpha (the share peeled per step)", 0.0, 0.5)
    min_mass = share(min_mass, "min_mass (the smallest box, as a share of all cases)", 0.0, 1.0)
    if threshold is not None:
        threshold = probability(threshold, "threshold")
    data = _Data(X, y, weights, threshold, outcome)
    counted = data.y[data.w > 0]
    if data.total_wy >= data.total_w:
        warnings.warn("every case is of interest (the outcome is 1 everywhere): every box has density 1, "
                      "so the peeling trajectory shows nothing", RuntimeWarning, stacklevel=2)
    elif np.ptp(counted) <= OUTCOME_ROUNDING:  # the same number everywhere, up to rounding
        warnings.warn(f"the outcome is {counted[0]:g} in every case: every box has that density, so the peeling "
                      "trajectory shows nothing", RuntimeWarning, stacklevel=2)
    units = dict(units or {})
    return PrimResult(data, _peel(data, alpha, min_mass), alpha, units, outcome, min_mass)


def _peel(data: _Data, alpha: float, min_mass: float) -> list[_Limits]:
    """PRIM's peeling trajectory of the cases `data`: the limits of every box, the whole space first."""
    limits = data.whole()
    inside = np.ones(len(data.y), dtype=bool)
    trajectory = [limits.copy()]
    while True:
        peel = _best_peel(data, inside, limits, alpha, min_mass)
        if peel is None:
            break
        j, side, cut, keep = peel
        if side == "value":
            limits.keep(j, limits.kept[j][limits.kept[j] != cut])
        elif side == "lower":
            limits.lo[j] = cut
        else:
            limits.hi[j] = cut
        inside[np.flatnonzero(inside)[~keep]] = False
        trajectory.append(limits.copy())
    return trajectory
