"""Findings of the second outside test of issues 5 and 14 (result files, the analysis package,
scenario discovery, robust policies), each on synthetic cases whose answer is known or on files the
real brink binary writes. Test names carry the finding's number (F1, F2, ...) in that report.
"""

import inspect
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import brink_analysis as ba

from .conftest import DEPLOYED, PATIENCE, _run
from .test_explore import run_module


# F1 -------------------------------------------------------------------------


def _cases(points, replications, seed=5):
    """The same data per point (probabilities k/R, weight 1) and per replication (0/1 outcomes,
    weight 1/R, each replication a row of its point's parameters)."""
    rng = np.random.default_rng(seed)
    Xp = pd.DataFrame(rng.uniform(0, 1, (points, 2)), columns=["a", "b"])
    p = 0.05 + 0.8 * (Xp["a"] > 0.6).to_numpy() * (Xp["b"] > 0.3).to_numpy()
    k = rng.binomial(replications, p)
    Xr = Xp.loc[Xp.index.repeat(replications)].reset_index(drop=True)
    yr = np.concatenate([np.r_[np.ones(kk), np.zeros(replications - kk)] for kk in k])
    return (Xp, k / replications, np.ones(points)), (Xr, yr, np.full(points * replications, 1.0 / replications))


@pytest.mark.parametrize("points", [20, 40, 60, 80, 100, 200])
@pytest.mark.parametrize("replications", [100, 200, 500])
def test_f1_prim_per_replication_peels_as_per_point(points, replications):
    """5% of the box is a whole number of points: 600 weights of 1/200 sum to 2.9999999999999583,
    short of the 3 points' target, and the per-replication peel took a fourth point. The two
    kinds of cases are the same data, and give the same trajectory, box and qp values."""
    (Xp, yp, wp), (Xr, yr, wr) = _cases(points, replications)
    per_point, per_replication = ba.prim(Xp, yp, wp), ba.prim(Xr, yr, wr)
    pd.testing.assert_frame_equal(per_point.trajectory, per_replication.trajectory, check_exact=True)
    assert per_point.trajectory["mass"].iloc[1] == 0.95
    assert per_point.chosen == per_replication.chosen
    pd.testing.assert_frame_equal(per_point.box().limits(), per_replication.box().limits(), check_exact=True)
    pd.testing.assert_frame_equal(per_point.inspect(), per_replication.inspect(), check_exact=True)


def test_f1_the_knife_edge_of_the_report():
    """repro_f1.py of the report: 60 points x 200 replications; each peel takes 3 points, 5% of 60."""
    (Xp, yp, wp), (Xr, yr, wr) = _cases(60, 200)
    assert np.cumsum(wr)[599] < 3.0  # the premise: 600 x 1/200 falls a hair short of 3
    masses = ba.prim(Xr, yr, wr).trajectory["mass"].head(4).round(10).tolist()
    assert masses == [1.0, 0.95, 0.9, 0.85]


def test_f1_a_constant_factor_in_the_weights_changes_no_box():
    """Weights 0.1 per point are weights 1 scaled: the peels reach their target up to rounding, so
    the trajectory is the same (docs: "differ only by a constant factor, which changes no box")."""
    (Xp, yp, _), _ = _cases(60, 200, seed=11)
    plain = ba.prim(Xp, yp).trajectory
    for factor in (0.1, 1 / 3, 7.0, 200.0):
        scaled = ba.prim(Xp, yp, np.full(len(yp), factor)).trajectory
        pd.testing.assert_frame_equal(plain, scaled, rtol=1e-12)


@pytest.fixture(scope="module")
def replicated_lhs(brink, tmp_path_factory):
    """An LHS of 40 points x 200 replications (5% of 40 is 2 points; 1/200 is not exact)."""
    folder = tmp_path_factory.mktemp("outside_review2")
    return _run(brink, folder / "lhs200.h5", "-n", 200, "--design", "lhs", "--samples", 40,
                "--sweep", f"{PATIENCE}=5:90", "--sweep", f"{DEPLOYED}=80000:160000")


@pytest.mark.parametrize("weight", ["point", "replication"])
def test_f1_find_boxes_per_replication_equals_per_point_on_a_file(replicated_lhs, weight):
    with ba.open_results(replicated_lhs) as ds:
        for outcome in ("full_war", "limited_war", "settlement"):
            a = ba.find_boxes(ds, outcome, weight=weight)
            b = ba.find_boxes(ds, outcome, per="replication", weight=weight)
            pd.testing.assert_frame_equal(a.trajectory, b.trajectory, check_exact=True)
            pd.testing.assert_frame_equal(a.box().limits(), b.box().limits(), check_exact=True)
    lines = [run_module("discover", replicated_lhs, "--outcome", "full_war", "--no-scores", *per).stdout.splitlines()
             for per in ([], ["--per", "replication"])]
    assert lines[0][1:] == lines[1][1:]  # all but the header, which counts the cases


# F2 -------------------------------------------------------------------------


def _shuffled():
    """The report's repro_f2: the region a > 0.7, X sorted by b, y and weights in the original order."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame(rng.uniform(0, 1, (400, 2)), columns=["a", "b"])
    df["war"] = (df["a"] > 0.7).astype(float)
    df["w"] = rng.uniform(0.5, 1.5, len(df))
    return df[["a", "b"]].sort_values("b"), df["war"], df["w"]


def test_f2_a_series_is_matched_to_x_by_its_index():
    X, y, w = _shuffled()
    by_label, by_hand = y.loc[X.index].to_numpy(), w.loc[X.index].to_numpy()
    box = ba.prim(X, y).box()
    assert box.lower["a"] == pytest.approx(0.7, abs=0.01) and box.density > 0.95  # by position: a in [0.001, 0.508]
    pd.testing.assert_frame_equal(ba.prim(X, y, w).trajectory, ba.prim(X, by_label, by_hand).trajectory)
    pd.testing.assert_frame_equal(ba.cart_boxes(X, y, w), ba.cart_boxes(X, by_label, by_hand))
    assert ba.cart_boxes(X, y).iloc[0]["density"] == 1.0
    pd.testing.assert_series_equal(ba.variance_explained(X, y, w), ba.variance_explained(X, by_label, by_hand))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scores = ba.feature_scores(X, y, w, n_estimators=20)
        pd.testing.assert_frame_equal(scores, ba.feature_scores(X, by_label, by_hand, n_estimators=20))
    assert scores.index[0] == "a"


@pytest.mark.parametrize("argument", ["y", "weights"])
def test_f2_a_series_with_other_labels_is_refused(argument):
    X, y, w = _shuffled()
    given = {"y": y, "weights": w}
    given[argument] = given[argument].reset_index(drop=True).set_axis(np.arange(len(y)) + 1000)
    for fn in (ba.prim, ba.cart_boxes, ba.feature_scores, ba.variance_explained):
        with pytest.raises(ValueError, match=rf"^{argument}'s index does not match X's index \(it has 1000, "):
            fn(X, given["y"], given["weights"])
    # An array is taken in X's row order, as before.
    ba.prim(X, y.to_numpy(), w.to_numpy())


# F3 -------------------------------------------------------------------------


def _dataset_calls(ds):
    """Every public function that takes a file, with the other arguments it needs."""
    return {
        "find_boxes": lambda d: ba.find_boxes(d, "full_war"),
        "discovery_data": lambda d: ba.discovery_data(d),
        "outcome_table": ba.outcome_table,
        "predictive_table": ba.predictive_table,
        "agreement_table": ba.agreement_table,
        "sensitivity_table": ba.sensitivity_table,
        "survival_curves": ba.survival_curves,
        "troop_quantiles": lambda d: ba.troop_quantiles(d, "RUS"),
        "troop_means": lambda d: ba.troop_means(d, "RUS"),
        "rung_occupancy": ba.rung_occupancy,
        "type_names": lambda d: ba.type_names(d, "RUS"),
        "belief_by_true_type": lambda d: ba.belief_by_true_type(d, "UKR", "RUS"),
        "parameter_table": ba.parameter_table,
        "named_parameter_table": ba.named_parameter_table,
        "parameters": ba.parameters,
        "parameter_values": lambda d: ba.parameter_values(d, DEPLOYED),
        "parameter_units": lambda d: ba.parameter_units(d, DEPLOYED),
        "category_names": lambda d: ba.category_names(d, DEPLOYED),
        "swept_parameters": ba.swept_parameters,
        "replication_parameters": ba.replication_parameters,
        "replication_mask": ba.replication_mask,
        "select_points": ba.select_points,
        "point_position": lambda d: ba.point_position(d, 0),
        "point_label": lambda d: ba.point_label(d, 0),
        "label_of": lambda d: ba.label_of(d, DEPLOYED),
        "shard_of": ba.shard_of,
        "indexed": ba.indexed,
        "to_grid": ba.to_grid,
        "plot_outcome_probability": lambda d: ba.plot_outcome_probability(d, DEPLOYED),
        "plot_outcome_heatmap": lambda d: ba.plot_outcome_heatmap(d, "full_war", DEPLOYED, PATIENCE),
        "plot_troop_fan": lambda d: ba.plot_troop_fan(d, "RUS"),
        "plot_troop_fans": ba.plot_troop_fans,
        "plot_rung_occupancy": ba.plot_rung_occupancy,
        "plot_survival": ba.plot_survival,
        "plot_beliefs": lambda d: ba.plot_beliefs(d, "UKR", "RUS"),
        "plot_sensitivity": ba.plot_sensitivity,
        "provenance": ba.provenance,
        "plot_outcome_scatter": lambda d: ba.plot_outcome_scatter(d, DEPLOYED, PATIENCE),
        "plot_partial_dependence": lambda d: ba.plot_partial_dependence(d),
        "morris_table": ba.morris_table,
        "plot_morris": ba.plot_morris,
        "robustness_table": lambda d: ba.robustness_table(d, [DEPLOYED]),
        "policy_outcomes": lambda d: ba.policy_outcomes(d, [DEPLOYED]),
        "regret_table": lambda d: ba.regret_table(d, [DEPLOYED]),
        "plot_robustness": lambda d: ba.plot_robustness(d, [DEPLOYED]),
    }


def test_f3_every_function_taking_a_file_refuses_a_path_in_one_sentence(grid_file, grid):
    calls = _dataset_calls(grid)
    # Every public function whose first argument is a file is listed above (read_values takes a
    # variable; design_roles answers None for anything that records no levers, a table included).
    takes_file = {name for name in ba.__all__ if callable(getattr(ba, name)) and not inspect.isclass(getattr(ba, name))
                  and next(iter(inspect.signature(getattr(ba, name)).parameters), None) in ("ds", "data")}
    assert takes_file <= set(calls) | {"read_values", "design_roles"}, takes_file - set(calls)
    for name, call in calls.items():
        for path in (str(grid_file), Path(grid_file)):
            with pytest.raises(TypeError, match=r"^(ds|data) must be (an xarray Dataset|a Dataset)") as caught:
                call(path)
            assert "open_results(path)" in str(caught.value), (name, caught.value)
            assert repr(str(grid_file)) in str(caught.value), (name, caught.value)
    # ba.find_boxes(ds.outcome_probability, ...): one variable where the whole file is needed.
    for name in ("find_boxes", "discovery_data", "outcome_table", "plot_survival", "survival_curves"):
        with pytest.raises(TypeError, match=r"^ds must be an xarray Dataset .* got DataArray \('outcome_probability'\); "
                                            "pass the whole Dataset"):
            calls[name](grid.outcome_probability)
    # ... while to_grid and indexed take a variable, as documented.
    assert ba.to_grid(grid.outcome_probability).dims == ("outcome", DEPLOYED, PATIENCE)
    with pytest.raises(TypeError, match=r"^ds \(the file the box was found in\) must be an xarray Dataset"):
        ba.plot_prim_box(ba.find_boxes(grid, "full_war").box(), ds=str(grid_file))
    with pytest.raises(TypeError, match=r"got list holding str \('a\.h5'\); open the file first"):
        ba.robustness_table(["a.h5", "b.h5"], [DEPLOYED])


# F6 -------------------------------------------------------------------------


def test_f6_to_grid_makes_a_one_parameter_sample_an_axis_and_refuses_two(brink, tmp_path):
    """As docs/analysis.md says now: a one-parameter design of any kind becomes one sorted axis;
    a sampled design of two or more parameters is no grid and is refused."""
    one = _run(brink, tmp_path / "lhs1.h5", "-n", 16, "--summary-only", "--design", "lhs", "--samples", 8,
               "--sweep", f"{PATIENCE}=5:90")
    two = _run(brink, tmp_path / "lhs2.h5", "-n", 16, "--summary-only", "--design", "lhs", "--samples", 8,
               "--sweep", f"{PATIENCE}=5:90", "--sweep", f"{DEPLOYED}=80000:160000")
    with ba.open_results(one) as ds:
        axis = ba.to_grid(ds.outcome_probability)[PATIENCE].to_numpy()
        assert len(axis) == 8 and np.all(np.diff(axis) > 0)
    with ba.open_results(two) as ds, pytest.raises(ValueError, match="a sampled design has no grid"):
        ba.to_grid(ds.outcome_probability)
    text = (Path(__file__).resolve().parents[2] / "docs" / "analysis.md").read_text(encoding="utf-8")
    assert "a one-parameter design of any kind" in " ".join(text.replace("#", " ").split())


# F7 -------------------------------------------------------------------------


def _policy_table():
    P = np.array([[0.10, 0.30, 0.05], [0.20, 0.10, 0.10]])
    return pd.DataFrame([dict(lev=float(l), unc=10.0 * s, probability=P[l, s]) for l in range(2) for s in range(3)])


def test_f7_robustness_checks_its_inputs_alike():
    table = _policy_table()
    one_state = table[table["unc"] == 0]
    for fn in (ba.robustness_table, ba.regret_table, ba.policy_outcomes):
        # Named uncertainties that take one value: refused as when none varies.
        with pytest.raises(ValueError, match="take one value each in the data: robustness needs several states"):
            fn(one_state, ["lev"], uncertainties=["unc"])
        with pytest.raises(ValueError, match="robustness needs several states"):
            fn(one_state, ["lev"])
        # No data: the data are refused before the levers are looked for.
        for levers in (None, ["lev"]):
            with pytest.raises(TypeError, match=r"^data must be a Dataset, .* got list \(empty\)"):
                fn([], levers)
    assert ba.robustness_table(table, ["lev"], uncertainties=["unc"])["states"].tolist() == [3, 3]


# F8 -------------------------------------------------------------------------


def test_f8_replication_parameters_needs_a_posterior_run(grid):
    with pytest.raises(ValueError, match=r"^the file holds no parameter values per replication: only brink run "
                                         "--posterior with a draw per replication writes them"):
        ba.replication_parameters(grid)


# F10 ------------------------------------------------------------------------


def test_f10_box_limits_never_in_exponent_notation():
    assert ba.format_value(82620.3) == "82,620" and ba.format_value(88621.7) == "88,622"
    assert ba.format_value(5000) == "5,000" and ba.format_value(0.15) == "0.15"
    assert ba.format_value(0.000813) == "0.000813" and ba.format_value(12.3456) == "12.35"
    X = pd.DataFrame({"troops": np.linspace(80000.5, 90000.5, 200), "b": np.linspace(0, 1, 200)})
    y = ((X["troops"] > 82620.3) & (X["troops"] < 88620.7)).astype(float)
    ax = ba.plot_prim_box(ba.prim(X, y).box())
    labels = [t.get_text() for t in ax.texts]
    assert labels and not any("e+" in text for text in labels), labels
    assert any("," in text for text in labels), labels


def test_f10_scipy_is_declared_and_the_command_has_a_version():
    pyproject = (Path(ba.__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    dependencies = [line for line in pyproject.splitlines() if line.startswith("dependencies")]
    assert dependencies and '"scipy"' in dependencies[0]
    done = run_module("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"brink-analysis {ba.__version__}"
