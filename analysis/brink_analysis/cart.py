"""A weighted least-squares regression tree (CART) whose categorical columns split as sets.

scikit-learn's trees split every column as numbers, so a categorical parameter held as the index
of its value (:func:`~brink_analysis.discovery.discovery_data`) would split by the order in which
its values were listed: values a and c of a, b, c could not go left together. Here a categorical
column splits its values into two sets, the best of all such partitions: for squared error that
partition is among the splits of the values ordered by their mean outcome in the node (Breiman,
Friedman, Olshen and Stone 1984, theorem 4.5; Fisher 1958), so a node tries k - 1 splits of k
values, not 2^(k-1) - 1. Numeric columns split as scikit-learn's do: at the midpoint of two
neighbouring values, ``x <= t`` to the left. The tree is deterministic; between equally good
splits the first column wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Leaf:
    """A leaf: its node number (depth first, left before right, as scikit-learn numbers them), the
    cases it holds, the interval (lower exclusive, upper inclusive) of each numeric column and the
    set of values of each categorical column its path split on."""

    node: int
    rows: np.ndarray
    bounds: dict[int, tuple[float, float]] = field(default_factory=dict)
    kept: dict[int, frozenset[float]] = field(default_factory=dict)


@dataclass
class _Split:
    gain: float
    column: int
    left: np.ndarray  # of the node's rows, those that go left
    threshold: float = np.nan  # numeric columns
    left_values: frozenset[float] = frozenset()  # categorical columns


def _best_cut(order_w: np.ndarray, order_wy: np.ndarray, allowed: np.ndarray, min_weight: float) -> tuple[float, int]:
    """The best place to cut a sequence of groups (their weights and weighted outcome sums, in
    order) into a left and a right part: (gain, number of groups on the left), gain being the fall
    in the weighted sum of squares, ``S_L²/W_L + S_R²/W_R - S²/W``. `allowed[i]` says whether a
    cut after group i is possible (numeric columns cannot cut between equal values). (-inf, 0)
    when no cut leaves `min_weight` on both sides."""
    w_left, s_left = np.cumsum(order_w)[:-1], np.cumsum(order_wy)[:-1]
    w_all, s_all = order_w.sum(), order_wy.sum()
    w_right, s_right = w_all - w_left, s_all - s_left
    ok = allowed & (w_left >= min_weight) & (w_right >= min_weight) & (w_left > 0) & (w_right > 0)
    if not ok.any():
        return -np.inf, 0
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(ok, s_left**2 / w_left + s_right**2 / w_right - s_all**2 / w_all, -np.inf)
    i = int(np.argmax(gain))
    return float(gain[i]), i + 1


def _split_numeric(x: np.ndarray, y: np.ndarray, w: np.ndarray, column: int, min_weight: float) -> _Split | None:
    order = np.argsort(x, kind="stable")
    xs = x[order]
    gain, n_left = _best_cut(w[order], (w * y)[order], xs[:-1] < xs[1:], min_weight)
    if n_left == 0:
        return None
    lo, hi = xs[n_left - 1], xs[n_left]
    threshold = lo / 2.0 + hi / 2.0
    if threshold == hi or not np.isfinite(threshold):  # rounding reached the right value
        threshold = lo
    return _Split(gain, column, x <= threshold, threshold=float(threshold))


def _split_categorical(x: np.ndarray, y: np.ndarray, w: np.ndarray, column: int, min_weight: float) -> _Split | None:
    values, group = np.unique(x, return_inverse=True)
    weight = np.bincount(group, weights=w, minlength=len(values))
    total = np.bincount(group, weights=w * y, minlength=len(values))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(weight > 0, total / weight, 0.0)
    order = np.lexsort((values, mean))  # by mean outcome, then by value, so ties do not depend on the data's order
    gain, n_left = _best_cut(weight[order], total[order], np.ones(len(values) - 1, dtype=bool), min_weight)
    if n_left == 0:
        return None
    left_values = frozenset(float(v) for v in values[order[:n_left]])
    return _Split(gain, column, np.isin(x, list(left_values)), left_values=left_values)


def fit_leaves(X: np.ndarray, y: np.ndarray, w: np.ndarray, categorical: set[int], *, max_depth: int,
               min_weight: float) -> list[Leaf]:
    """Grows the tree of cases `X` (rows), outcomes `y` and weights `w` (all positive) to depth
    `max_depth`, each leaf weighing at least `min_weight`, and returns its leaves. A node becomes
    a leaf at that depth, when no split keeps `min_weight` on both sides, or when the best split
    lowers the sum of squares by no more than rounding (a zero-gain split would add a rule that
    explains nothing)."""
    leaves: list[Leaf] = []
    next_node = 0
    stack = [(np.arange(len(y)), 0, {}, {})]  # rows, depth, bounds, kept
    while stack:
        rows, depth, bounds, kept = stack.pop()
        node, next_node = next_node, next_node + 1
        split = _best_split(X[rows], y[rows], w[rows], categorical, min_weight) if depth < max_depth else None
        if split is None:
            leaves.append(Leaf(node, rows, bounds, kept))
            continue
        left, right = rows[split.left], rows[~split.left]
        c = split.column
        if c in categorical:
            now = kept.get(c, frozenset(float(v) for v in np.unique(X[rows, c])))
            children = ({**kept, c: split.left_values}, {**kept, c: now - split.left_values})
            stack.append((right, depth + 1, bounds, children[1]))
            stack.append((left, depth + 1, bounds, children[0]))
        else:
            lo, hi = bounds.get(c, (-np.inf, np.inf))
            stack.append((right, depth + 1, {**bounds, c: (max(lo, split.threshold), hi)}, kept))
            stack.append((left, depth + 1, {**bounds, c: (lo, min(hi, split.threshold))}, kept))
    return sorted(leaves, key=lambda leaf: leaf.node)


def _best_split(X: np.ndarray, y: np.ndarray, w: np.ndarray, categorical: set[int], min_weight: float) -> _Split | None:
    """The split of the node's cases that lowers the weighted sum of squares most, over every
    column, or None when none lowers it by more than rounding."""
    best = None
    for c in range(X.shape[1]):
        split = (_split_categorical if c in categorical else _split_numeric)(X[:, c], y, w, c, min_weight)
        if split is not None and (best is None or split.gain > best.gain):
            best = split
    # The gain is a difference of terms of order S²/W, at most Σ w y²; a gain below 1e-12 of that is rounding.
    if best is None or not best.gain > 1e-12 * float(np.sum(w * y**2)):
        return None
    return best
