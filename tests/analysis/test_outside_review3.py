"""Findings of the third outside test of the analysis package, the notebooks and exploration
(round 36): each on files the real brink binary writes. Test names carry the finding's name
(F-sobol-nan, F-ve, ...) in that report.
"""

import subprocess

import h5py
import numpy as np
import pandas as pd
import pytest

import brink_analysis as ba

from .conftest import DEPLOYED, PATIENCE, _run


def _strings(values):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


# F-sobol-nan ------------------------------------------------------------------


def _no_interval_from_file(path):
    """(output, parameter, index) of every index with a finite estimate and a NaN bound, read with h5py."""
    with h5py.File(path, "r") as f:
        outputs, params = _strings(f["output"][()]), _strings(f["parameter"][()])
        found = set()
        for kind in ("first", "total"):
            v, lo, hi = (f[f"sensitivity_{kind}{s}"][()] for s in ("", "_lower", "_upper"))
            for i, o in enumerate(outputs):
                for j, p in enumerate(params):
                    if np.isfinite(v[i, j]) and not (np.isfinite(lo[i, j]) and np.isfinite(hi[i, j])):
                        found.add((o, p, kind))
    return found


def test_f_sobol_nan_the_table_lists_indices_without_an_interval(sens_file):
    """The engine leaves the bootstrap bounds of a rare event NaN on purpose (sweeps.md "Intervals"):
    the table keeps the estimate but must say that it has no interval, as it does for constant
    outputs and fixed parameters."""
    expected = _no_interval_from_file(sens_file)
    assert expected, "test setup: the file has no index without an interval"
    with ba.open_results(sens_file) as ds:
        table = ba.sensitivity_table(ds)
    assert set(table.attrs["no_interval"]) == expected
    assert len(table.attrs["no_interval"]) == len(expected)
    # the rows stay, with their estimates
    for o, p, kind in expected:
        row = table[(table["output"] == o) & (table["parameter"] == p)]
        assert len(row) == 1 and np.isfinite(row[kind].iloc[0])


def test_f_sobol_nan_the_plot_marks_bars_without_an_interval(sens_file):
    """A bar whose index has no interval is hatched and the legend and title say so; a bar with an
    interval is not hatched. Before: bare bars under '95% bootstrap interval', nothing said."""
    missing = _no_interval_from_file(sens_file)
    outputs = sorted({o for o, _, _ in missing})
    with ba.open_results(sens_file) as ds:
        params = [str(p) for p in ds["parameter"].values]
        for output in outputs:
            ax = ba.plot_sensitivity(ds, output)
            hatched = [bool(bar.get_hatch()) for bar in ax.patches]
            flags = [(p, kind) in {(pp, k) for o, pp, k in missing if o == output}
                     for kind in ("first", "total") for p in params]
            assert hatched == flags, output
            legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
            assert "no interval" in legend and "Intervals" in legend
            assert "no interval" in ax.get_title()
        # an output whose every index has an interval: no hatch, no note
        full = [o for o in _strings(ds["output"].values)
                if not any(m[0] == o for m in missing) and o in set(ba.sensitivity_table(ds)["output"])]
        assert full, "test setup: every output lacks an interval"
        ax = ba.plot_sensitivity(ds, full[0])
        assert not any(bar.get_hatch() for bar in ax.patches)
        assert "no interval" not in ax.get_title()
        assert not any("no interval" in t.get_text() for t in ax.get_legend().get_texts())


def test_f_sobol_nan_plot_morris_marks_a_mu_star_without_an_interval(brink, results_dir):
    """plot_morris drew np.maximum(NaN, 0) as a missing whisker on a filled marker; a mu* without
    bounds is now an open marker with a legend entry. (The engine writes finite Morris bounds for
    every swept parameter, so the NaN is put into the opened file.)"""
    path = _run(brink, results_dir / "morris-nan.h5", "-n", 32, "--summary-only", "--design", "morris",
                "--samples", 6, "--sweep", f"{PATIENCE}=10:90", "--sweep", f"{DEPLOYED}=80000:160000")
    with ba.open_results(path) as ds:
        ax = ba.plot_morris(ds, "probability_full_war")
        assert not any("no interval" in t.get_text() for t in ax.get_legend().get_texts())
        ds = ds.copy(deep=True)
        k = [str(p) for p in ds["parameter"].values].index(PATIENCE)
        lower = ds["morris_mu_star_lower"].values
        lower[:, k] = np.nan
        ds["morris_mu_star_lower"] = (ds["morris_mu_star_lower"].dims, lower)
        ax = ba.plot_morris(ds, "probability_full_war")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("no interval" in t for t in legend), legend
    hollow = [line for line in ax.lines if str(line.get_markerfacecolor()) == "none"]
    assert len(hollow) == 1 and len(hollow[0].get_xdata()) == 1
    table = ba.morris_table(ds, "probability_full_war").set_index("parameter")
    assert hollow[0].get_xdata()[0] == table.loc[PATIENCE, "mu_star"]


# F-ve --------------------------------------------------------------------------


def test_f_ve_variance_explained_merges_per_replication_cases_per_point(lhs_file):
    """The exported variance_explained on per-replication cases scored the 0/1 outcomes of single
    replications (binomial noise in the variance, each replication a case): about a fifth of what
    feature_scores gives the same cases. Both now merge per point, as docs/analysis.md promises."""
    with ba.open_results(lhs_file) as ds:
        Xp, yp, wp = ba.discovery_data(ds, "full_war")
        Xr, yr, wr = ba.discovery_data(ds, "full_war", per="replication")
        assert len(Xr) > 10 * len(Xp)  # the premise: many replications per point
        per_point = ba.variance_explained(Xp, yp, wp)
        per_replication = ba.variance_explained(Xr, yr, wr)
        scores = ba.feature_scores(Xr, yr, wr)
    assert per_point[PATIENCE] > 0.5  # patience drives the war in this file
    pd.testing.assert_series_equal(per_replication, per_point, rtol=1e-12)
    pd.testing.assert_series_equal(scores["variance_explained"].reindex(per_point.index), per_point,
                                   check_names=False, rtol=1e-12)


# F-robust-table ------------------------------------------------------------------


def test_f_robust_table_one_outcome_table_without_outcome_column(policy_grid_file):
    """docs/analysis.md: "a table without an outcome column holds the probability of one outcome". With
    outcome_table's other columns kept (lower, upper, count, replications), those became uncertainties
    and every row its own state: a false 'not run in every state'. Now the same table as with the
    outcome column."""
    levers = ["actors.USA.forces.ready", "relations.commitments.2.strength"]
    with ba.open_results(policy_grid_file) as ds:
        table = ba.outcome_table(ds)
    expected = ba.robustness_table(table, levers, "full_war")
    one = table[table["outcome"] == "full_war"].drop(columns="outcome")
    assert {"lower", "upper", "count"} <= set(one.columns)  # the premise: the columns the docs leave in
    pd.testing.assert_frame_equal(ba.robustness_table(one, levers, "full_war"), expected)
    pd.testing.assert_frame_equal(ba.policy_outcomes(one, levers, "full_war"),
                                  ba.policy_outcomes(table, levers, "full_war"))


# F-posterior --------------------------------------------------------------------


@pytest.fixture(scope="module")
def posterior_file(brink, results_dir, source_dir):
    """A small calibration of the back-test (40 particles x 4 replications, 2 generations) run forward
    with --posterior: every replication draws its own parameter set."""
    cal = results_dir / "r36-bt.h5"
    done = subprocess.run([brink, "calibrate", str(source_dir / "scenarios" / "backtest-2022.yaml"), "--particles", "40",
                           "--generations", "2", "--replications", "4", "--threads", "1", "-q", "-o", str(cal)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return _run(brink, results_dir / "r36-post.h5", results_dir / "r36-bt.posterior.yaml", "--posterior", cal,
                "-n", 400, "--threads", 1, "--no-table")


def test_f_posterior_discovery_per_replication_uses_the_draws(posterior_file):
    """Scenario discovery on a --posterior run: per replication, the cases are each replication's own
    draw (replication_parameters) and its outcome. Before: 'this file sweeps no parameter'."""
    with h5py.File(posterior_file, "r") as f:
        names = _strings(f["outcome"][()])
        codes = f["outcome_code"][()].ravel()
    with ba.open_results(posterior_file) as ds:
        draws = ba.replication_parameters(ds)
        assert draws.shape[1] >= 2 and (draws.nunique() > 1).all()  # the premise: the draws vary
        X, y, w = ba.discovery_data(ds, "full_war", per="replication")
        assert list(X.columns) == list(draws.columns)
        np.testing.assert_array_equal(X.to_numpy(), draws.to_numpy())
        np.testing.assert_array_equal(y, (codes == names.index("full_war")).astype(float))
        assert 0 < y.sum() < len(y)  # some wars, not all: something to discover
        assert X.attrs["units"]["actors.RUS.forces.deployed"] == "troops"
        # replications that drew the same particle are one parameter set, for qp and the tree models
        assert len(set(X.attrs["point"])) == len(draws.drop_duplicates())
        # one parameter named, and PRIM on the cases
        X1, _, _ = ba.discovery_data(ds, "full_war", parameters=["actors.RUS.forces.deployed"], per="replication")
        np.testing.assert_array_equal(X1["actors.RUS.forces.deployed"], draws["actors.RUS.forces.deployed"])
        box = ba.find_boxes(ds, "full_war", per="replication").box().limits()
        assert set(box.index) <= set(draws.columns)


def test_f_posterior_per_point_says_the_parameters_vary_per_replication(posterior_file):
    """Per point, a posterior run has no parameter to explain with: the error says that they vary per
    replication and what to use, not that the run used no --set or --sweep."""
    with ba.open_results(posterior_file) as ds:
        with pytest.raises(ValueError, match=r"vary per replication.*per='replication'") as caught:
            ba.discovery_data(ds, "full_war")
        assert "--sweep" not in str(caught.value)
        with pytest.raises(ValueError, match=r"varies per replication.*replication_parameters") as caught:
            ba.discovery_data(ds, "full_war", parameters=["actors.RUS.forces.deployed"])
        assert "no --set or --sweep" not in str(caught.value)
        with pytest.raises(ValueError, match=r"per replication \(brink run --posterior\): actors\.RUS") as caught:
            ba.parameter_values(ds, "no.such.path")


# F-msgs --------------------------------------------------------------------------


def test_f_msgs_to_grid_of_a_file_without_a_sweep(plain_file):
    """It was opened with open_results: the file simply sweeps nothing."""
    with ba.open_results(plain_file) as ds:
        assert ds.sizes["parameter"] == 0  # the premise: an empty parameter axis
        with pytest.raises(ValueError, match="sweeps no parameter") as caught:
            ba.to_grid(ds)
    assert "open_results" not in str(caught.value)


def test_f_msgs_heatmap_does_not_suggest_by(three_way_file):
    """A heatmap has no by= and draws no lines: the advice is where= alone."""
    with ba.open_results(three_way_file) as ds:
        with pytest.raises(ValueError, match=r"also differ in .*where=") as caught:
            ba.plot_outcome_heatmap(ds, "full_war", DEPLOYED, PATIENCE)
        assert "by=" not in str(caught.value)
        # plot_outcome_probability keeps its by= advice
        with pytest.raises(ValueError, match="by=path"):
            ba.plot_outcome_probability(ds, DEPLOYED, "full_war")


def test_f_msgs_plot_against_a_set_parameter(grid_file):
    """x fixed with --set has one value: the reason is that, not the other parameters."""
    ready = "actors.USA.forces.ready"
    with ba.open_results(grid_file) as ds:
        assert np.unique(ba.parameter_values(ds, ready)).size == 1  # the premise: --set
        with pytest.raises(ValueError, match=r"'actors.USA.forces.ready' has one value \(8,500\) at every point") as c:
            ba.plot_outcome_probability(ds, ready, "full_war")
        assert "also differ" not in str(c.value) and DEPLOYED in str(c.value)
        with pytest.raises(ValueError, match="has one value"):
            ba.plot_outcome_heatmap(ds, "full_war", ready, PATIENCE)


def test_f_msgs_select_points_prints_a_near_miss_as_given(grid_file):
    """60000.001 printed as 60,000 contradicted the list of values, which holds 60,000."""
    with ba.open_results(grid_file) as ds:
        with pytest.raises(ValueError, match=r"no point has actors.RUS.forces.deployed = 60000\.001; its values: "
                                             r"60,000, ") as caught:
            ba.select_points(ds, {DEPLOYED: 60000.001})
        with pytest.raises(ValueError, match=r"= 1e-05; its values: 60,000"):  # a clear miss stays formatted
            ba.select_points(ds, {DEPLOYED: 1e-05})
    assert "= 60,000;" not in str(caught.value)


def test_f_msgs_robust_names_an_unfinished_policy_file(policy_lhs_files, tmp_path):
    """One policy's file left unfinished (what an interrupted run leaves, output.md: no `complete`,
    the unfinished points' replications 0): the message names the file and --resume, not the design.
    Since round 39 (M1) the policies are compared in the 3 states all of them finished, with that
    warning; with fewer than two it is an error (test_round39_explore.py)."""
    import shutil

    partial = tmp_path / (policy_lhs_files[1].name + ".partial")
    shutil.copy(policy_lhs_files[1], partial)
    with h5py.File(partial, "r+") as f:
        del f.attrs["complete"]
        total = f["replications"].shape[0]
        for name in ("replications", "outcome_count", "outcome_probability", "outcome_probability_lower",
                     "outcome_probability_upper"):
            f[name][3:] = 0
    with pytest.warns(RuntimeWarning, match="incomplete"):
        files = [ba.open_results(policy_lhs_files[0]), ba.open_results(partial), ba.open_results(policy_lhs_files[2])]
    try:
        with pytest.warns(RuntimeWarning, match=r"\.partial.* \(3 of %d points finished\) has no results at some "
                                                 r"points, so only 3 of the design's %d states.*--resume" % (total, total)) \
                as caught:
            table = ba.robustness_table(files, ["actors.USA.forces.ready"], "full_war")
        assert not any("the design must cross" in str(w.message) for w in caught)
        assert table.attrs["incomplete"] == (3, total) and (table["states"] == 3).all()
    finally:
        for ds in files:
            ds.close()


# F-partial-plot ------------------------------------------------------------------


def test_f_partial_plot_figures_of_an_interrupted_grid_say_so(grid_file, tmp_path):
    """The heatmap of a 3 x 3 grid with 3 points finished was drawn as a 3 x 1 heatmap, and the survival
    plot's title stated the finished points' shared value as if the design fixed it: nothing on the
    figure said that points are missing. The title now says how many finished."""
    import shutil

    partial = tmp_path / "grid.h5.partial"
    shutil.copy(grid_file, partial)
    with h5py.File(partial, "r+") as f:
        del f.attrs["complete"]
        for name in ("replications", "outcome_count", "outcome_probability", "outcome_probability_lower",
                     "outcome_probability_upper", "survival", "survival_lower", "survival_upper"):
            f[name][3:] = 0
    note = "incomplete run: 3 of 9 points finished"
    with ba.open_results(grid_file) as ds:  # the complete file: no note
        assert "incomplete" not in ba.plot_outcome_heatmap(ds, "full_war", DEPLOYED, PATIENCE).get_title()
        assert "incomplete" not in ba.plot_survival(ds, points=[0, 1, 2]).get_title()
    with pytest.warns(RuntimeWarning, match="incomplete"):
        ds = ba.open_results(partial)
    with ds:
        finished = ba.outcome_table(ds)["point"].unique()
        assert sorted(finished) == [0, 1, 2]  # the premise
        assert note in ba.plot_outcome_heatmap(ds, "full_war", DEPLOYED, PATIENCE).get_title()
        assert note in ba.plot_outcome_probability(ds, PATIENCE, "full_war", by=DEPLOYED).get_title()
        assert note in ba.plot_survival(ds).get_title()
        # a selection that finished whole is no incomplete figure
        value = float(ba.parameter_table(ds)[DEPLOYED].iloc[0])
        selected = ba.select_points(ds, {DEPLOYED: value})
        assert sorted(selected) == [0, 1, 2]  # the finished points are one value of deployed forces
        assert "incomplete" not in ba.plot_outcome_probability(ds, PATIENCE, "full_war",
                                                               where={DEPLOYED: value}).get_title()
