"""The argument contract of brink_analysis, on files written by the real CLI.

A bad argument gets one short sentence naming it (ValueError or TypeError),
never an exception from deep inside numpy, pandas, scikit-learn or
matplotlib, and never a silently wrong number: a probability above 1, NaN
presented as a result, an empty table. Each case is a finding of the third
audit of the package (its id in the test name or the table row).
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import brink_analysis as ba
from .conftest import DEPLOYED, PATIENCE, USA_READY, _run
from .test_explore import run_module


@pytest.fixture(scope="session")
def line_file(brink, results_dir):
    """A one-parameter grid (patience, given out of order), summaries only, 32 replications."""
    return _run(brink, results_dir / "line.h5", "-n", 32, "--summary-only", "--sweep", f"{PATIENCE}=60,15,30")


@pytest.fixture(scope="session")
def shard_file(brink, results_dir):
    """Shard 1 of 2 of a three-point sweep: it holds point 1 only."""
    return _run(brink, results_dir / "shard-1-of-2.h5", "-n", 32, "--summary-only", "--shard", "1/2",
                "--sweep", f"{PATIENCE}=15,30,60")


@pytest.fixture(scope="session")
def tiny_sens_file(brink, results_dir):
    """Sobol indices from 4 base rows and 32 replications: NATO's casualties (and most likely the
    alliance war) are the same at every point, so they have no variance and the engine writes NaN."""
    return _run(brink, results_dir / "tiny-sens.h5", "-n", 32, "--summary-only", "--sensitivity",
                "--design", "sobol", "--samples", 4, "--set", "run.random_numbers=common",
                "--sweep", f"{PATIENCE}=10:90", "--sweep", f"{DEPLOYED}=80000:160000")


@pytest.fixture
def lhs(lhs_file):
    with ba.open_results(lhs_file) as ds:
        yield ds


@pytest.fixture
def cases(lhs):
    return ba.discovery_data(lhs, "full_war")


# H2 -------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["full_war,full_war", ["full_war", "full_war"], "full_war, limited_war,full_war"])
def test_h2_a_repeated_outcome_is_refused_everywhere(lhs, policy_grid_file, outcome):
    for call in (lambda: ba.discovery_data(lhs, outcome), lambda: ba.find_boxes(lhs, outcome),
                 lambda: ba.plot_outcome_scatter(lhs, PATIENCE, ba.parameters(lhs)[1], outcome)):
        with pytest.raises(ValueError, match="^outcome 'full_war' is named twice$"):
            call()
    with ba.open_results(policy_grid_file) as ds:
        with pytest.raises(ValueError, match="^outcome 'full_war' is named twice$"):
            ba.robustness_table(ds, [USA_READY], outcome)
        with pytest.raises(ValueError, match="^outcome 'full_war' is named twice$"):
            ba.robustness_table(ba.outcome_table(ds), [USA_READY], outcome)


def test_h2_a_sum_of_probabilities_above_1_is_an_error_not_clipped(grid_file):
    # The file's probabilities summed over distinct outcomes are at most 1; a file altered to
    # exceed it (as a repeated outcome once did) must stop the analysis, not be clipped to 1.
    # The sum is of the counts (divided once by the replications): alter them too.
    with ba.open_results(grid_file) as ds:
        doubled = ds.assign(outcome_probability=ds.outcome_probability * 2, outcome_count=ds.outcome_count * 2)
        with pytest.raises(ValueError, match=r"^the probabilities of full_war, limited_war sum to [\d.]+ > 1"):
            ba.discovery_data(doubled, "full_war,limited_war")
        ok = ba.discovery_data(ds, ["full_war", "limited_war"])[1]
        assert ok.max() <= 1.0


def test_h2_command_line(lhs_file, policy_grid_file):
    for done in (run_module("discover", lhs_file, "--outcome", "full_war,full_war", "--no-scores"),
                 run_module("robust", policy_grid_file, "--levers", USA_READY, "--outcome", "full_war,full_war")):
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.strip().endswith(": outcome 'full_war' is named twice")


# H3, M7 ---------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [float("nan"), -5, 1.5])
def test_h3_robustness_threshold_must_be_a_probability(policy_grid_file, threshold):
    with ba.open_results(policy_grid_file) as ds:
        with pytest.raises(ValueError, match=re.escape(f"threshold must be a probability in [0, 1]; got {threshold!r}")):
            ba.robustness_table(ds, [USA_READY], threshold=threshold)
        with pytest.raises(ValueError, match="threshold must be a probability"):
            ba.plot_robustness(ds, [USA_READY], threshold=threshold)
        with pytest.raises(TypeError, match="threshold must be a probability in"):
            ba.robustness_table(ds, [USA_READY], threshold="x")
    done = run_module("robust", policy_grid_file, "--levers", USA_READY, "--threshold", str(threshold))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == f"brink-analysis robust: --threshold must be a probability in [0, 1]; got {float(threshold)!r}"


def test_m7_each_empty_case_set_gets_its_own_reason(lhs, cases):
    X, y, w = cases
    for threshold in (2.0, float("nan")):
        with pytest.raises(ValueError, match=re.escape(f"threshold must be a probability in [0, 1]; got {threshold}")):
            ba.find_boxes(lhs, threshold=threshold)
    with pytest.raises(ValueError, match="^all weights are zero"):
        ba.prim(X, y, np.zeros_like(w))
    with pytest.raises(ValueError, match="^no cases"):
        ba.prim(X.iloc[:0], y[:0], w[:0])
    with pytest.raises(ValueError, match="^no case of interest: the outcome is 0 everywhere"):
        ba.prim(X, np.zeros_like(y), w)
    with pytest.raises(ValueError, match="^no case of interest: no case reaches the threshold 1"):
        ba.prim(X, np.minimum(y, 0.5), w, threshold=1.0)


def test_m7_command_line_threshold(lhs_file):
    done = run_module("discover", lhs_file, "--threshold", "2")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == "brink-analysis discover: --threshold must be a probability in [0, 1]; got 2.0"


# H4 -------------------------------------------------------------------------


def test_h4_cart_without_a_case_of_interest_raises_like_prim(cases):
    X, y, w = cases
    with pytest.raises(ValueError) as from_prim:
        ba.prim(X, np.zeros_like(y), w)
    with pytest.raises(ValueError) as from_cart:
        ba.cart_boxes(X, np.zeros_like(y), w)
    assert str(from_cart.value) == str(from_prim.value)
    assert not ba.cart_boxes(X, y, w)["coverage"].isna().any()


# M1, M2, M3, L4 -------------------------------------------------------------


def test_m1_replication_mask_of_a_summary_only_file(three_way_file):
    with ba.open_results(three_way_file) as ds:
        with pytest.raises(ValueError, match=r"^this file has no per-replication data \(it was written with "
                                             "--summary-only\\)"):
            ba.replication_mask(ds)


def test_m2_to_grid_of_a_one_parameter_grid(line_file):
    with ba.open_results(line_file) as ds:
        grid = ba.to_grid(ds)
        assert grid["outcome_probability"].dims == (PATIENCE, "outcome")
        np.testing.assert_array_equal(grid[PATIENCE].values, [15, 30, 60])
        one = ba.to_grid(ds.outcome_probability.sel(outcome="full_war"))
        assert one.dims == (PATIENCE,) and one.name == "outcome_probability"
        # Sorted by value: the point given first (patience 60) is last.
        assert float(one.sel({PATIENCE: 60})) == float(ds.outcome_probability.sel(outcome="full_war")[0])


def test_l4_to_grid_of_a_plain_xarray_dataset_says_how_to_open_it(line_file):
    import xarray as xr

    with xr.open_dataset(line_file, engine="h5netcdf") as raw:
        with pytest.raises(ValueError, match="^the dataset has no parameter coordinates: open the file with "
                                             "brink_analysis.open_results$"):
            ba.to_grid(raw)


def test_m3_points_of_other_shards_name_brink_merge(shard_file):
    with pytest.warns(RuntimeWarning, match=r"is shard 1 of 2 \(brink run --shard\): it holds 1 of the sweep's 3"):
        ds = ba.open_results(shard_file)
    with ds:
        message = ("point 0 belongs to another shard: this file is shard 1 of 2 and holds only its own points; "
                   "join the shards with brink merge")
        # plot_survival's and survival_curves' defaults leave other shards' points out (test_hostile_plots,
        # test_explore_review3 L5); named, they are an error.
        for call in (lambda: ba.survival_curves(ds, [0]), lambda: ba.plot_survival(ds, points=[0]),
                     lambda: ba.rung_occupancy(ds), lambda: ba.troop_means(ds)):
            with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
                call()
        assert ba.survival_curves(ds, [1])["survival"].shape[0] == 1  # its own point reads as before
        assert list(ba.survival_curves(ds)["point"].values) == [1]
    done = run_module("discover", shard_file, "--no-scores")
    assert "note: " in done.stderr and "is shard 1 of 2" in done.stderr and "brink merge" in done.stderr


# M4, M8 (command line) ------------------------------------------------------


def test_m4_discover_plots_onto_a_file(lhs_file, tmp_path):
    target = tmp_path / "afile"
    target.write_text("")
    done = run_module("discover", lhs_file, "--no-scores", "--plots", target)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == f"brink-analysis discover: --plots must be a folder; '{target}' is a file"


@pytest.mark.parametrize("args, message", [
    (["--cart", "--depth", "0"], "--depth must be an integer of at least 1; got 0"),
    (["--cart", "--min-mass", "0.9"], "--min-mass with --cart"),
    (["--min-coverage", "-1"], "--min-coverage must be a probability in [0, 1]; got -1.0"),
])
def test_m8_m13_discover_options_are_checked_before_any_output(lhs_file, args, message):
    done = run_module("discover", lhs_file, "--no-scores", *args)
    assert done.returncode == 2 and done.stdout == ""
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


# M6 -------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{"x": "actors.RUS.forces.deploy"},
                                    {"x": "actors.RUS.forces.deploy", "where": {PATIENCE: 30}},
                                    {"x": DEPLOYED, "by": "nope"}])
def test_m6_a_mistyped_parameter_is_named(grid, kwargs):
    wrong = kwargs.get("by", kwargs["x"]) if kwargs.get("by") else kwargs["x"]
    with pytest.raises(ValueError, match=f"^'{re.escape(wrong)}' is not a parameter of this file; its parameters: "):
        ba.plot_outcome_probability(grid, **kwargs)


# M8, M13, L6: the table of bad arguments ------------------------------------


def _bad_calls(grid, lhs, X, y, w):
    return [
        (lambda: ba.survival_curves(grid, []), ValueError, "points is empty"),
        (lambda: ba.plot_survival(grid, points=[]), ValueError, "points is empty"),
        (lambda: ba.survival_curves(grid, [99]), ValueError, r"no point 99 in this file \(it has points 0 to 8\)"),
        (lambda: ba.point_label(grid, 99), ValueError, "no point 99 in this file"),
        (lambda: ba.swept_parameters(grid, [99]), ValueError, "no point 99 in this file"),
        (lambda: ba.survival_curves(grid, [1.5]), TypeError, "point must be an integer; got 1.5"),
        (lambda: ba.rung_occupancy(grid, "0"), TypeError, "point .* must be an integer; got '0'"),
        (lambda: ba.rung_occupancy(grid, True), TypeError, "must be an integer; got True"),
        (lambda: ba.feature_scores(X, y, np.zeros_like(w)), ValueError, "all weights are zero"),
        (lambda: ba.cart_boxes(X, y, np.zeros_like(w)), ValueError, "all weights are zero"),
        (lambda: ba.feature_scores(X.iloc[:0], y[:0], w[:0]), ValueError, "no cases"),
        (lambda: ba.cart_boxes(X, y, w, min_mass=0.9), ValueError, r"min_mass .* must lie in \(0, 0.5\]; got 0.9"),
        (lambda: ba.cart_boxes(X, y, w, max_depth=0), ValueError, "max_depth must be an integer of at least 1"),
        (lambda: ba.feature_scores(X, y[:3], w), ValueError, "one outcome and one weight per case; got 128 rows, 3"),
        (lambda: ba.variance_explained(X, y[:3], w), ValueError, "got 128 rows, 3 outcomes"),
        (lambda: ba.variance_explained(X, y, w, bins=0), ValueError, "bins must be an integer of at least 2; got 0"),
        (lambda: ba.robustness_table(grid, [DEPLOYED], uncertainties=["nope"]), ValueError,
         "uncertainty 'nope' is not a parameter of the data"),
        (lambda: ba.robustness_table([], [DEPLOYED]), TypeError, r"data must be a Dataset, .* got list \(empty\)"),
        (lambda: ba.robustness_table(ba.outcome_table(grid).drop(columns=["probability"]), [DEPLOYED]),
         ValueError, "the table needs a 'probability' column"),
        (lambda: ba.robustness_table(grid, []), ValueError, "no levers given and the data records none"),
        (lambda: ba.plot_troop_fans(grid, []), ValueError, "actor: name at least one"),
        (lambda: ba.troop_quantiles(grid, "RUS", quantiles=[1.5]), ValueError,
         r"each of quantiles must be a probability in \[0, 1\]; got 1.5"),
        (lambda: ba.troop_quantiles(grid, "RUS", quantiles=[]), ValueError, "quantiles is empty"),
        (lambda: ba.plot_prim_tradeoff(ba.find_boxes(lhs), chosen=999), ValueError, "no box 999 on the trajectory"),
        (lambda: ba.find_boxes(lhs).box().contains(X[[ba.parameters(lhs)[1]]]), ValueError,
         f"X has no column '{PATIENCE}'"),
        (lambda: ba.plot_outcome_scatter(lhs, PATIENCE, PATIENCE), ValueError, "x and y are the same parameter"),
        (lambda: ba.prim(X.assign(s="a"), y, w), ValueError, "X column 's' is not numeric"),
        (lambda: ba.wilson_interval(3, 0), ValueError, r"p must be a proportion in \[0, 1\]; got 3.0"),
        (lambda: ba.wilson_interval(0.5, -10), ValueError, "n must be at least 1 trial; got -10.0"),
        (lambda: ba.find_boxes(lhs).select(min_coverage=-1), ValueError, "min_coverage must be a probability"),
    ]


def test_m8_m13_bad_arguments_get_one_sentence(grid, lhs, cases):
    X, y, w = cases
    for call, kind, pattern in _bad_calls(grid, lhs, X, y, w):
        with pytest.raises(kind) as raised:
            call()
        text = str(raised.value)
        assert re.search(pattern, text), text
        assert "\n" not in text
        # Raised by the package itself, not by a library below it.
        assert raised.traceback[-1].path.parts[-2] == "brink_analysis", (pattern, raised.traceback[-1].path)


def test_l6_a_string_is_one_name_not_its_characters(grid, lhs):
    X, _, _ = ba.discovery_data(lhs, "full_war", DEPLOYED if DEPLOYED in ba.parameters(lhs) else PATIENCE)
    assert X.shape[1] == 1
    fig = ba.plot_troop_fans(grid, "RUS")
    assert [a.get_title() for a in fig.axes if a.get_visible()] == ["RUS"]


# M9 -------------------------------------------------------------------------


def test_m9_save_figure_returns_the_file_it_wrote(grid, tmp_path):
    ax = ba.plot_rung_occupancy(grid)
    written = ba.save_figure(ax, tmp_path / "nosuffix")
    assert written == tmp_path / "nosuffix.png" and written.is_file()
    with pytest.raises(ValueError, match="is a folder; give a file name ending in .png"):
        ba.save_figure(ax, tmp_path)


def test_m9_robust_plot_reports_the_file_it_wrote(policy_grid_file, tmp_path):
    done = run_module("robust", policy_grid_file, "--levers", USA_READY, "--plot", tmp_path / "rob")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"wrote {tmp_path / 'rob.png'}"
    assert (tmp_path / "rob.png").is_file()


# M10 ------------------------------------------------------------------------


def test_m10_an_output_that_does_not_vary_has_no_nan_rows(tiny_sens_file):
    with ba.open_results(tiny_sens_file) as ds:
        nan_in_file = [str(o) for o in ds["output"].values
                       if np.isnan(ds["sensitivity_first"].sel(output=o).values).all()]
        assert "mean_casualties_NATO" in nan_in_file  # the premise: NATO never fights in 32 replications
        table = ba.sensitivity_table(ds)
        assert table.attrs["constant_outputs"] == nan_in_file
        assert not set(nan_in_file) & set(table["output"])
        assert not table[["first", "total"]].isna().any().any()
        ax = ba.plot_sensitivity(ds, "mean_casualties_NATO")
        assert "same value at every point" in ax.texts[0].get_text() and not ax.patches


# M11, L8 --------------------------------------------------------------------


def test_l8_one_policy_warns_that_regret_needs_two(grid):
    # USA ready forces are a --set in this file: one value, one policy.
    with pytest.warns(RuntimeWarning, match="^only one policy: regret compares policies"):
        table = ba.robustness_table(grid, [USA_READY])
    assert len(table) == 1 and table["max_regret"].iloc[0] == 0


# M14 ------------------------------------------------------------------------


def test_m14_heatmap_of_a_sampled_design_points_to_the_scatter(lhs):
    with pytest.raises(ValueError, match=r"^a heatmap needs a grid design and this is a lhs design.*"
                                         r"plot_outcome_scatter\(ds, x, y, outcome\)$"):
        ba.plot_outcome_heatmap(lhs, "full_war", *ba.parameters(lhs)[:2])


# L1, L5 ---------------------------------------------------------------------


def test_l1_l5_discover_header_and_note_when_every_case_is_of_interest(lhs_file):
    done = run_module("discover", lhs_file, "--threshold", "0", "--no-scores")
    assert done.returncode == 0, done.stderr
    assert "(128 cases, one per point, weight" in done.stdout.splitlines()[0]
    assert "note: every case is of interest" in done.stderr


def test_l5_prim_warns_when_every_case_is_of_interest(cases):
    X, y, w = cases
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ba.prim(X, np.ones_like(y), w)
    assert any("every case is of interest" in str(c.message) for c in caught)


def test_l3_no_parameters_says_none(plain_file):
    with ba.open_results(plain_file) as ds:
        with pytest.raises(ValueError, match=r"its parameters: none \(the run used no --set or --sweep\)$"):
            ba.robustness_table(ds, [DEPLOYED])
        with pytest.raises(ValueError, match=r"its parameters: none \(the run used no --set or --sweep\)$"):
            ba.discovery_data(ds, "full_war", [DEPLOYED])


# M12: categorical axes by name -----------------------------------------------


def test_m12_tables_name_categorical_axes(brink, results_dir, source_dir):
    """A text value (combat.law) and a scenario choice are stored as indices; the tidy tables
    show their names, each point named by the value the sweep gave it (one axis: in the order given)."""
    base = source_dir / "scenarios" / "jan-2022-standoff.yaml"
    variant = results_dir / "m12-variant.yaml"
    variant_text = base.read_text().replace("name: jan-2022-standoff", "name: m12-variant", 1)
    variant.write_text(variant_text.replace("patience_days: 30 ", "patience_days: 45 ", 1))  # a field choices differ in
    for axis, values in (("combat.law", ["linear", "square"]), ("combat.law", ["square", "linear"]),
                         ("scenario", [str(variant), str(base)])):
        out = _run(brink, results_dir / "m12-one.h5", base, "-n", 16, "--summary-only", "--overwrite",
                   "--sweep", f"{axis}={','.join(values)}")
        with ba.open_results(out) as ds:
            assert ba.parameter_table(ds)[axis].dtype == np.float64  # the numeric view is unchanged
            assert ba.named_parameter_table(ds)[axis].tolist() == values
            assert ba.outcome_table(ds)[axis].tolist() == [v for v in values for _ in ds["outcome"]]
            assert [ba.point_label(ds, p) for p in range(2)] == [f"{ba.label_of(ds, axis, units=False)} {v}"
                                                                 for v in values]
    out = _run(brink, results_dir / "m12.h5", base, "-n", 64, "--summary-only",
               "--sweep", f"scenario={base},{variant}", "--sweep", "combat.law=linear,square")
    with ba.open_results(out) as ds:
        laws = {"linear", "square"}
        named = ba.named_parameter_table(ds)
        table = ba.outcome_table(ds)
        assert set(table["combat.law"]) == laws and set(table["scenario"]) == {str(base), str(variant)}
        for (law, scenario), rows in table.groupby(["combat.law", "scenario"]):
            point = int(rows["point"].iloc[0])
            assert named.loc[point, "combat.law"] == law and named.loc[point, "scenario"] == scenario
            assert rows["count"].tolist() == ds["outcome_count"].isel(point=point).values.tolist()
        assert set(ba.agreement_table(ds)["combat.law"]) == laws
        # The policies of a robustness table read from the tidy table keep the names.
        policies = ba.robustness_table(table, ["combat.law"], uncertainties=["scenario"])
        assert set(policies["combat.law"]) == laws
        # Read from the file itself, the policy and state labels are names too, not indices.
        assert set(ba.robustness_table(ds, ["combat.law"], uncertainties=["scenario"])["combat.law"]) == laws
        for matrix in (ba.policy_outcomes(ds, ["combat.law"], uncertainties=["scenario"]),
                       ba.regret_table(ds, ["combat.law"], uncertainties=["scenario"])):
            assert set(matrix.columns) == laws and set(matrix.index) == {str(base), str(variant)}
        by_law = ba.policy_outcomes(ds, ["scenario"], uncertainties=["combat.law"])
        assert set(by_law.index) == laws and set(by_law.columns) == {str(base), str(variant)}
        assert ba.category_names(ds, DEPLOYED) is None
        # The scenario axis keeps the file's flags; the fields the choices differ in are no grid axes.
        assert ds.coords["scenario"].attrs["flag_meanings"] and ds.coords["scenario"].attrs["swept"] == 1
        grid = ba.to_grid(ds.outcome_probability)
        assert dict(grid.sizes) == {"scenario": 2, "combat.law": 2, "outcome": 5}
        assert set(ba.indexed(ds).indexes["point"].names) >= {"scenario", "combat_law"}
        assert PATIENCE in ba.parameters(ds) and PATIENCE not in grid.dims
        # Nor are they features or extra differences between the points a plot compares.
        X, _, _ = ba.discovery_data(ds, "full_war")
        assert list(X.columns) == ["scenario", "combat.law"]
        ba.plot_outcome_probability(ds, "combat.law", by="scenario")


def test_feature_scores_of_a_subset_keep_one_case_per_point(grid_file):
    """Scoring one parameter of a 3 x 3 grid: its 9 points stay 9 cases. Merging cases by equal
    values of the chosen parameter used to leave 3, whose variance that parameter 'explains' in
    full (1.0), and a single-feature forest with nothing to split (importance 0)."""
    with ba.open_results(grid_file) as ds:
        X, y, w = ba.discovery_data(ds, "full_war", parameters=[PATIENCE])
        assert len(X) == 9 and X[PATIENCE].nunique() == 3
        scores = ba.feature_scores(X, y, w)
        assert scores.loc[PATIENCE, "extra_trees"] == 1.0
        assert scores.loc[PATIENCE, "variance_explained"] == ba.variance_explained(X, y, w)[PATIENCE]
        # Per replication, the cases of a point merge into that point, not into its neighbours.
        Xr, yr, wr = ba.discovery_data(ds, "full_war", parameters=[PATIENCE], per="replication")
        assert ba.feature_scores(Xr, yr, wr).loc[PATIENCE, "variance_explained"] == pytest.approx(
            scores.loc[PATIENCE, "variance_explained"])


def test_scenario_choices_as_a_lever_of_a_mixed_design(brink, results_dir, source_dir):
    """`--lever scenario=...` records the scenario as the design's lever (it used to record no roles),
    and a field the choices differ in follows the choice: it is no state of the world."""
    base = source_dir / "scenarios" / "jan-2022-standoff.yaml"
    variant = results_dir / "lever-variant.yaml"
    variant.write_text(base.read_text().replace("patience_days: 30 ", "patience_days: 75 ", 1))
    rate = "escalation.incidents.base_rate"
    out = _run(brink, results_dir / "scenario-lever.h5", base, "-n", 64, "--summary-only",
               "--lever", f"scenario={base},{variant}", "--sweep", f"{rate}=0.0005:0.002", "--design", "lhs",
               "--samples", 4)
    with ba.open_results(out) as ds:
        assert ba.design_roles(ds) == (["scenario"], [rate])
        assert PATIENCE in ba.swept_parameters(ds)  # it varies, with the choice
        for levers in (None, ["scenario"]):
            table = ba.robustness_table(ds, levers)
            assert sorted(table["scenario"]) == sorted([str(base), str(variant)]) and (table["states"] == 4).all()


def test_where_takes_a_categorical_value_by_name(brink, results_dir):
    out = _run(brink, results_dir / "where-law.h5", "-n", 64, "--summary-only",
               "--sweep", "combat.law=square,linear", "--sweep", f"{DEPLOYED}=80000,120000")
    with ba.open_results(out) as ds:
        named = ba.named_parameter_table(ds)
        linear = ba.select_points(ds, {"combat.law": "linear"})
        assert list(named["combat.law"].iloc[linear]) == ["linear", "linear"]
        one = ba.point_position(ds, {"combat.law": "square", DEPLOYED: "120000"})  # a number as text still works
        assert named.iloc[one].tolist() == ["square", 120000.0]
        with pytest.raises(ValueError, match=r"^no point has combat.law = 'cubic'; its values: square, linear$"):
            ba.select_points(ds, {"combat.law": "cubic"})
        ba.plot_outcome_probability(ds, DEPLOYED, where={"combat.law": "linear"})


# Fourth audit ------------------------------------------------------------------


def test_a1_a_policy_without_a_lever_value_in_a_table_is_an_error_not_dropped(brink, results_dir, policy_lhs_files):
    """The design of policy_lhs_files run once more without --set of the lever: its points have no
    value of the lever. Concatenated tables used to lose that policy in the grouping (NaN keys) and
    report the other three as if they were all; the list of Datasets already raised."""
    unset = _run(brink, results_dir / "policy-lhs-unset.h5", "-n", 32, "--summary-only",
                 "--design", "lhs", "--samples", 12,
                 "--sweep", f"{PATIENCE}=10:80", "--sweep", f"{DEPLOYED}=80000:160000")
    datasets = [ba.open_results(f) for f in [*policy_lhs_files, unset]]
    try:
        table = pd.concat([ba.outcome_table(d) for d in datasets])
        assert table[USA_READY].isna().sum() == len(ba.outcome_table(datasets[-1]))  # the premise
        message = rf"^parameter '{USA_READY}' has no value at some points"
        for call in (lambda d: ba.robustness_table(d, [USA_READY]), lambda d: ba.policy_outcomes(d, [USA_READY]),
                     lambda d: ba.regret_table(d, [USA_READY]), lambda d: ba.plot_robustness(d, [USA_READY])):
            for data in (table, datasets):
                with pytest.raises(ValueError, match=message):
                    call(data)
    finally:
        for d in datasets:
            d.close()


def test_a2_a_parameter_fixed_by_set_has_no_sensitivity_rows_or_bars(brink, results_dir):
    """A --set parameter of a --sensitivity run was not varied: the engine writes NaN for its
    indices, which used to come out as NaN rows and an empty bar (read as 'no importance')."""
    ready = "actors.RUS.forces.ready"
    out = _run(brink, results_dir / "sens-set.h5", "-n", 32, "--summary-only", "--sensitivity",
               "--design", "sobol", "--samples", 4, "--sweep", f"{PATIENCE}=10:90",
               "--sweep", f"{DEPLOYED}=80000:160000", "--set", f"{ready}=60000")
    with ba.open_results(out) as ds:
        assert np.isnan(ds["sensitivity_first"].sel(parameter=ready).values).all()  # the premise
        table = ba.sensitivity_table(ds)
        assert table.attrs["fixed_parameters"] == [ready]
        assert set(table["parameter"]) == {PATIENCE, DEPLOYED}
        assert not table[["first", "total"]].isna().any().any()
        ax = ba.plot_sensitivity(ds, "probability_full_war")
        assert len(ax.patches) == 2 * 2  # first-order and total-effect bars of the two swept parameters
        assert [t.get_text() for t in ax.get_yticklabels()] == [ba.label_of(ds, p, units=False)
                                                                for p in (PATIENCE, DEPLOYED)]


def test_a3_feature_scores_need_something_to_explain(cases):
    """No case of interest, every case of interest, one case: no parameter can explain the outcome,
    and scores of 0 everywhere used to say 'nothing matters' instead."""
    X, y, w = cases
    assert y.min() < y.max()  # the premise: the real outcome varies, and is scored
    assert ba.feature_scores(X, y, w)["extra_trees"].sum() == pytest.approx(1.0)
    for score in (ba.feature_scores, ba.variance_explained):
        with pytest.raises(ValueError, match=r"^no case of interest: the outcome is 0 everywhere"):
            score(X, np.zeros_like(y), w)
        with pytest.raises(ValueError, match=r"^the outcome is 1 in every case, so no parameter explains"):
            score(X, np.ones_like(y), w)
        with pytest.raises(ValueError, match=r"^feature scores need two or more cases \(points\) .*; got 1$"):
            score(X.iloc[:1], np.ones(1), w[:1])


def test_a6_morris_table_refuses_a_repeated_output(brink, results_dir):
    """A repeated output used to give each of its rows twice, as if they were two outputs."""
    out = _run(brink, results_dir / "morris.h5", "-n", 16, "--summary-only", "--design", "morris", "--samples", 4,
               "--sweep", f"{PATIENCE}=10:90", "--sweep", f"{DEPLOYED}=80000:160000")
    with ba.open_results(out) as ds:
        assert len(ba.morris_table(ds, "probability_full_war")) == 2  # one row per swept parameter
        with pytest.raises(ValueError, match=r"^output 'probability_full_war' is named twice$"):
            ba.morris_table(ds, ["probability_full_war", "probability_full_war"])


def test_a6_troop_tables_are_in_troops(single_file):
    """The docstrings and docs/analysis.md say both are in troops, the unit of the force parameters;
    they used to carry the file's count unit '1'."""
    with ba.open_results(single_file) as ds:
        assert ba.troop_quantiles(ds, "RUS").attrs["units"] == "troops"
        assert ba.troop_means(ds).attrs["units"] == "troops"
        assert ba.troop_means(ds, "RUS", "deployed").attrs["units"] == "troops"


def test_a2_fixed_parameters_are_named_also_when_every_output_is_constant(brink, results_dir):
    """With no decisions and no incidents every output is the same at every point: the table is
    empty, and it must still say which parameters were fixed rather than list none."""
    ready, rate = "actors.RUS.forces.ready", "escalation.incidents.base_rate"
    out = _run(brink, results_dir / "sens-constant.h5", "-n", 32, "--summary-only", "--sensitivity",
               "--design", "sobol", "--samples", 4, "--sweep", f"{PATIENCE}=10:90",
               "--sweep", f"{DEPLOYED}=80000:160000", "--set", f"{ready}=60000", "--set", "run.horizon_days=3",
               "--set", "run.decisions=false", "--set", f"{rate}=0",
               "--set", "escalation.incidents.tension_rate=0", "--set", "escalation.incidents.contact_rate=0")
    with ba.open_results(out) as ds:
        table = ba.sensitivity_table(ds)
        assert table.empty and "probability_standoff" in table.attrs["constant_outputs"]  # the premise
        assert ready in table.attrs["fixed_parameters"] and rate in table.attrs["fixed_parameters"]
        assert PATIENCE not in table.attrs["fixed_parameters"]
