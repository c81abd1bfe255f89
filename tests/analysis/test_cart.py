"""CART scenario discovery (brink_analysis.cart, discovery.cart_boxes): numeric columns split as
scikit-learn's regression tree splits them, categorical columns into the best two sets of their
values, whatever order the values were listed in."""

import itertools

import numpy as np
import pandas as pd
import pytest

import brink_analysis as ba
from brink_analysis.cart import fit_leaves


def test_numeric_columns_give_scikit_learns_leaves():
    """On continuous outcomes (no two splits equally good), the leaves hold the same cases as
    those of scikit-learn's DecisionTreeRegressor with the same depth and smallest leaf weight."""
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(11)
    for _ in range(60):
        n, d = int(rng.integers(20, 300)), int(rng.integers(1, 5))
        X = rng.random((n, d))
        if rng.random() < 0.4:  # repeated values: no cut between equal ones
            X = np.round(X * rng.integers(2, 10))
        y, w = rng.random(n) + X[:, 0], rng.random(n) + 0.1
        depth, min_mass = int(rng.integers(1, 5)), float(rng.choice([0.0, 0.02, 0.1, 0.3]))
        tree = DecisionTreeRegressor(max_depth=depth, min_weight_fraction_leaf=min_mass, random_state=0)
        leaf_of = tree.fit(X, y, sample_weight=w).apply(X)
        theirs = sorted(tuple(np.flatnonzero(leaf_of == k)) for k in np.unique(leaf_of))
        ours = sorted(tuple(sorted(leaf.rows)) for leaf in
                      fit_leaves(X, y, w, set(), max_depth=depth, min_weight=min_mass * w.sum()))
        assert ours == theirs


def _sum_of_squares(y, w, parts):
    return sum(np.sum(w[p] * (y[p] - np.average(y[p], weights=w[p])) ** 2) for p in parts)


def test_a_categorical_split_is_the_best_of_all_partitions():
    """Depth 1 on one categorical column of 2 to 7 values: the split's sum of squares equals the
    least over all 2^(k-1) - 1 ways of putting the values into two sets (brute force)."""
    rng = np.random.default_rng(5)
    for _ in range(40):
        k = int(rng.integers(2, 8))
        x = rng.integers(0, k, 200).astype(float)
        effect = rng.normal(size=k)
        y, w = effect[x.astype(int)] + rng.normal(size=200), rng.random(200) + 0.1
        values = np.unique(x)
        best = min(_sum_of_squares(y, w, [np.isin(x, left), ~np.isin(x, left)])
                   for r in range(1, len(values)) for left in itertools.combinations(values, r))
        leaves = fit_leaves(x[:, None], y, w, {0}, max_depth=1, min_weight=0.0)
        assert len(leaves) == 2
        assert _sum_of_squares(y, w, [leaf.rows for leaf in leaves]) == pytest.approx(best, rel=1e-12)
        assert leaves[0].kept[0] | leaves[1].kept[0] == set(values) and not leaves[0].kept[0] & leaves[1].kept[0]


def _scen_cases(order):
    """600 cases of x in [0, 1) and a categorical scen whose values a, b, c are listed in
    `order`: the outcome is 1 exactly when scen is a or c and x > 0.5."""
    rng = np.random.default_rng(3)
    index = {name: float(k) for k, name in enumerate(order)}
    scen = np.array(["a", "b", "c"] * 200)
    x = rng.random(600)
    X = pd.DataFrame({"x": x, "scen": [index[s] for s in scen]})
    X.attrs["categories"] = {"scen": {k: name for name, k in index.items()}}
    return X, ((scen != "b") & (x > 0.5)).astype(float)


@pytest.mark.parametrize("order", ["abc", "acb", "bac"])
def test_cart_sets_apart_values_that_are_not_neighbours_in_the_listing(order):
    """Two splits find the box scen in {a, c} and x > 0.5 exactly, for every listing order; as
    ordered indices, listing b between a and c left a leaf that mixed b in."""
    leaves = ba.cart_boxes(*_scen_cases(order), max_depth=2)
    top = leaves.iloc[0]
    assert top["density"] == 1.0 and top["coverage"] == 1.0
    assert "scen in {a, c}" in top["rule"] and "0.5" in top["rule"].split(" and ")[0]
    assert leaves["mass"].sum() == pytest.approx(1.0)


def test_cart_makes_no_split_that_explains_nothing():
    """An outcome that is the same in every case, or that one split already explains, gets no
    further split (scikit-learn splits pure nodes again when rounding leaves their impurity at
    1e-16)."""
    for seed in range(8):  # with these weights, scikit-learn splits a pure node at seeds 1 and 3
        rng = np.random.default_rng(seed)
        x = rng.random(300)
        X = pd.DataFrame({"x": x, "noise": rng.random(300)})
        leaves = ba.cart_boxes(X, (x > 0.3).astype(float), rng.random(300) + 0.1, max_depth=4)
        assert len(leaves) == 2
        assert leaves.iloc[0]["density"] == 1.0 and leaves.iloc[1]["density"] == 0.0
        assert "noise" not in " ".join(leaves["rule"])
        same = ba.cart_boxes(X, np.full(300, 0.25), max_depth=4)
        assert len(same) == 1 and same.iloc[0]["rule"] == "(every case)"
