"""PRIM, CART and feature scores on synthetic data whose answer is known.

The data are drawn with a fixed seed: a box in two of four parameters where
the outcome is frequent (90%) and rare (3%) elsewhere. PRIM must find the box
within a tolerance of the sampling resolution and leave the other parameters
alone; CART and the feature scores must point at the parameters that matter.
"""

import numpy as np
import pandas as pd
import pytest

import brink_analysis as ba

BOX = {"a": (0.2, 0.6), "b": (0.5, 0.9)}


def synthetic(n=4000, seed=3, inside=0.9, outside=0.03):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.random((n, 4)), columns=list("abcd"))
    X["c"] *= 1000.0  # a parameter in other units must not matter either
    hit = np.ones(n, dtype=bool)
    for name, (lo, hi) in BOX.items():
        hit &= X[name].between(lo, hi).to_numpy()
    y = (rng.random(n) < np.where(hit, inside, outside)).astype(float)
    return X, y, hit


def test_prim_recovers_a_known_box():
    X, y, _ = synthetic()
    result = ba.prim(X, y, units={"a": "days", "b": "troops"})
    box = result.box()
    assert box.restricted == ["a", "b"]
    limits = box.limits()
    for name, (lo, hi) in BOX.items():
        assert limits.loc[name, "lower"] == pytest.approx(lo, abs=0.03), name
        assert limits.loc[name, "upper"] == pytest.approx(hi, abs=0.03), name
    assert list(limits["units"]) == ["days", "troops"]
    assert box.density > 0.85 and box.coverage > 0.8
    # Statistics recomputed from the data agree with the box's own.
    inside = box.contains(X)
    assert box.mass == pytest.approx(inside.mean())
    assert box.density == pytest.approx(y[inside].mean())
    assert box.coverage == pytest.approx(y[inside].sum() / y.sum())


def test_prim_trajectory_is_a_peeling_sequence():
    X, y, _ = synthetic(n=2000, seed=5)
    result = ba.prim(X, y, alpha=0.05, min_mass=0.05)
    t = result.trajectory
    assert t.loc[0, "mass"] == 1.0 and t.loc[0, "coverage"] == 1.0
    assert t.loc[0, "density"] == pytest.approx(y.mean())
    assert np.all(np.diff(t["mass"]) < 0), "every peel removes cases"
    # A step removes at least alpha of the box (more when values tie); here values are continuous.
    removed = 1 - t["mass"].to_numpy()[1:] / t["mass"].to_numpy()[:-1]
    assert np.all(removed >= 0.05 - 1e-12) and np.all(removed < 0.06)
    assert t["mass"].iloc[-1] >= 0.05
    assert t["mass"].iloc[-1] * (1 - 0.05) < 0.05 + 1.0 / len(y), "peeling stops only when the next peel is too small"
    for i, box in enumerate(result.boxes):  # boxes nest
        if i:
            prev = result.boxes[i - 1]
            assert np.all(box.lower >= prev.lower) and np.all(box.upper <= prev.upper)
    assert 0 <= result.chosen < len(t)


def test_pasting_never_lowers_density_and_can_grow_a_box():
    X, y, _ = synthetic(n=3000, seed=11)
    result = ba.prim(X, y, alpha=0.1)
    grown = 0
    for i in range(1, len(result.boxes)):
        peeled, pasted = result.box(i, paste=False), result.box(i)
        assert pasted.density >= peeled.density - 1e-12
        assert np.all(pasted.lower <= peeled.lower) and np.all(pasted.upper >= peeled.upper)
        grown += pasted.mass > peeled.mass
    assert grown > 0, "with alpha = 0.1 some peel overshoots and pasting takes part of it back"


def test_weighted_points_give_the_same_boxes_as_their_replications():
    # Per-point probabilities weighted by replications are the per-replication 0/1 data summarised.
    rng = np.random.default_rng(7)
    points = pd.DataFrame({"a": rng.random(60), "b": rng.random(60)})
    reps = rng.integers(5, 40, size=60)
    p = np.where(points["a"] < 0.4, 0.8, 0.1)
    counts = rng.binomial(reps, p)
    per_point = ba.prim(points, counts / reps, reps)
    rows = points.loc[points.index.repeat(reps)].reset_index(drop=True)
    y = np.concatenate([np.r_[np.ones(c), np.zeros(r - c)] for c, r in zip(counts, reps)])
    per_rep = ba.prim(rows, y)
    pd.testing.assert_frame_equal(per_point.trajectory, per_rep.trajectory)
    pd.testing.assert_frame_equal(per_point.box().limits(), per_rep.box().limits())


def test_prim_threshold_and_selection():
    X, y, hit = synthetic(n=2000, seed=2)
    prob = np.where(hit, 0.7, 0.05)
    result = ba.prim(X, prob, threshold=0.5)
    assert result.boxes[0].density == pytest.approx(hit.mean())
    i = result.select(min_coverage=0.9)
    assert result.trajectory.loc[i, "coverage"] >= 0.9
    assert result.trajectory["density"][result.trajectory["coverage"] >= 0.9].max() == result.trajectory.loc[i, "density"]
    with pytest.raises(ValueError, match=r"min_density must be a probability in \[0, 1\]; got 1.5"):
        result.select(min_density=1.5)  # a density is a mean outcome: never above 1
    with pytest.raises(ValueError, match="no box 999"):
        result.box(999)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"alpha": 0.6}, "alpha"),
        ({"min_mass": 0.0}, "min_mass"),
        ({"y": np.zeros(10)}, "no case of interest"),
        ({"y": np.full(10, 2.0)}, r"\[0, 1\]"),
        ({"y": np.ones(9)}, "one outcome"),
        ({"weights": -np.ones(10)}, "non-negative"),
    ],
)
def test_prim_rejects_bad_input(kwargs, message):
    X = pd.DataFrame({"a": np.arange(10.0)})
    args = {"y": np.r_[np.ones(5), np.zeros(5)], **kwargs}
    y = args.pop("y")
    with pytest.raises(ValueError, match=message):
        ba.prim(X, y, **args)


def test_prim_on_a_grid_with_ties():
    # Grid values tie: a peel removes whole values, never part of one.
    a, b = np.meshgrid(np.arange(10.0), np.arange(5.0), indexing="ij")
    X = pd.DataFrame({"a": a.ravel(), "b": b.ravel()})
    y = (X["a"] >= 7).astype(float).to_numpy()
    box = ba.prim(X, y).box()
    assert box.restricted == ["a"]
    assert box.limits().loc["a", "lower"] == 7.0 and box.limits().loc["a", "upper"] == 9.0
    assert box.density == 1.0 and box.coverage == 1.0


def test_cart_and_feature_scores_find_the_parameters_that_matter():
    X, y, _ = synthetic(n=3000, seed=4)
    scores = ba.feature_scores(X, y)
    assert set(scores.index[:2]) == {"a", "b"}
    assert scores.loc[["c", "d"], "extra_trees"].max() < 0.5 * scores.loc[["a", "b"], "extra_trees"].min()
    assert scores.loc[["a", "b"], "variance_explained"].min() > 0.1
    assert scores.loc[["c", "d"], "variance_explained"].max() < 0.01
    leaves = ba.cart_boxes(X, y, max_depth=4)
    assert leaves["mass"].sum() == pytest.approx(1.0)
    assert leaves["coverage"].sum() == pytest.approx(1.0)
    top = leaves.iloc[0]
    assert top["density"] > 0.8
    assert "a" in top["rule"] and "b" in top["rule"] and " c " not in f" {top['rule']} "
    # Only one parameter matters: it alone scores.
    rng = np.random.default_rng(9)
    X1 = pd.DataFrame(rng.random((800, 3)), columns=["x", "noise1", "noise2"])
    y1 = (rng.random(800) < np.where(X1["x"] > 0.5, 0.8, 0.1)).astype(float)
    s1 = ba.feature_scores(X1, y1)
    assert s1.index[0] == "x" and s1.loc["x", "extra_trees"] > 0.5
    assert s1.loc["x", "variance_explained"] > 0.3 and s1.loc[["noise1", "noise2"], "variance_explained"].max() < 0.02


def baseline_case(n, seed):
    """Per-point probabilities with a baseline: 0.25 everywhere, 0.85 where a < 0.3 and b > 0.6; c
    does not matter."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({c: rng.uniform(size=n) for c in "abc"})
    inside = ((X["a"] < 0.3) & (X["b"] > 0.6)).to_numpy()
    return X, 0.25 + 0.6 * inside


def test_prim_chooses_the_box_above_a_baseline():
    """The whole space (box 0) used to win the default choice whenever the outcome has a baseline:
    its coverage is 1 and its density not far below the box's. The lift above the baseline does not."""
    for n, seed in [(400, 0), (1000, 0), (1000, 1), (1000, 2)]:
        X, p = baseline_case(n, seed)
        result = ba.prim(X, p)
        assert result.chosen > 0
        box = result.box()
        limits = box.limits(all_parameters=True)
        assert limits.loc["a", "upper"] == pytest.approx(0.3, abs=0.03), (n, seed)
        assert limits.loc["b", "lower"] == pytest.approx(0.6, abs=0.05), (n, seed)
        assert limits.loc["a", "lower"] == X["a"].min() and limits.loc["b", "upper"] == X["b"].max()
        # c is left alone: at most a sliver of its range (one early noisy peel on 400 points).
        assert limits.loc["c", "upper"] - limits.loc["c", "lower"] > 0.9 * np.ptp(X["c"]), (n, seed)
        if n == 1000:
            assert box.restricted == ["a", "b"], seed
        assert box.density > 0.8
    # Drawn as 0/1 outcomes from the same probabilities (noisier: more cases), the same box is chosen.
    X, p = baseline_case(4000, 0)
    y = (np.random.default_rng(10).random(len(p)) < p).astype(float)
    box = ba.prim(X, y).box()
    assert box.restricted == ["a", "b"]
    assert box.limits().loc["a", "upper"] == pytest.approx(0.3, abs=0.05)
    assert box.limits().loc["b", "lower"] == pytest.approx(0.6, abs=0.1)


def test_prim_chosen_box_when_every_case_is_of_interest():
    X, _ = baseline_case(200, 3)
    with pytest.warns(RuntimeWarning, match="every case is of interest"):
        assert ba.prim(X, np.ones(len(X))).chosen == 0  # every box as dense: the largest


def test_quasi_p_values_tell_a_real_restriction_from_a_chance_one():
    """Peeled to the end, PRIM also restricts parameters the outcome ignores (c, d here): chance
    peels. Each restriction's qp is the binomial tail of the box's hits at the density the box has
    without it, recomputed here by counting; the real ones are tiny, at least one chance one is not."""
    from scipy.stats import binom

    X, y, hit = synthetic(n=3000, seed=11)
    result = ba.prim(X, y, alpha=0.05, min_mass=0.05)
    last = len(result.boxes) - 1
    table = result.inspect(last, paste=False)
    box = result.box(last, paste=False)
    assert {"a", "b"} <= set(table.index) and len(table.index) > 2, table
    inside = box.contains(X)
    for name in table.index:
        free = np.ones(len(X), dtype=bool)
        for other in box.restricted:
            if other != name:
                free &= X[other].between(box.lower[other], box.upper[other]).to_numpy()
        p = y[free].mean()
        assert table.loc[name, "density_without"] == pytest.approx(p)
        assert table.loc[name, "qp"] == pytest.approx(binom.sf(y[inside].sum() - 1, inside.sum(), p))
    assert (table.loc[["a", "b"], "qp"] < 1e-6).all(), table
    assert (table.drop(index=["a", "b"])["qp"] > 0.05).any(), table


def test_quasi_p_values_are_the_same_per_point_and_per_replication():
    """Probabilities per point weighted by replications, and the replications' own 0/1 outcomes."""
    rng = np.random.default_rng(2)
    points = pd.DataFrame({"a": np.repeat(np.linspace(0, 1, 40), 1), "b": rng.random(40)})
    reps = 50
    p = np.where(points["a"] > 0.6, 0.7, 0.1)
    hits = rng.binomial(reps, p)
    per_point = ba.prim(points, hits / reps, np.full(40, reps)).inspect(paste=False)
    rows = points.loc[points.index.repeat(reps)].reset_index(drop=True)
    outcome = np.concatenate([np.r_[np.ones(h), np.zeros(reps - h)] for h in hits])
    per_replication = ba.prim(rows, outcome).inspect(paste=False)
    assert list(per_point.index) == list(per_replication.index) and len(per_point)
    np.testing.assert_allclose(per_point["qp"], per_replication["qp"], rtol=1e-9)
