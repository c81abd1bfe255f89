"""Findings of the third outside test of the exploration functions (round 38): robustness under
independent random numbers (M1), feature scores of a categorical parameter (M2), per-policy files
whose options are spelled differently (L3), the calendar time of derived arrays (L4), figures of an
interrupted run (L5), categorical axes of to_grid (L6) and discover without scikit-learn (L8).
Test names carry the finding's name. Files come from the real brink binary, mostly of the
ultimatum game of scenarios/validation (two days, so a few hundred replications take no time),
whose outcome ignores escalation.tension.decay: a lever of it is a policy that changes nothing."""

import itertools
import shutil
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

import brink_analysis as ba
import brink_analysis.plots

from .conftest import DEPLOYED, PATIENCE, _run
from .test_explore import run_module

DECAY = "escalation.tension.decay"  # ignored by the ultimatum game
COST_A = "actors.PROPOSER.decision.war_cost"
COST_B = "actors.RECEIVER.decision.war_cost"
SPREAD_B = "actors.RECEIVER.decision.war_cost_spread"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("explore_review3")


@pytest.fixture(scope="module")
def ultimatum(source_dir):
    return source_dir / "scenarios" / "validation" / "bargaining-ultimatum.yaml"


def _null_lever(brink, ultimatum, out, *extra):
    """A mixed design: three values of a lever the model ignores × 16 LHS states, 400 replications."""
    return _run(brink, out, ultimatum, "-n", 400, "--threads", 1, "--summary-only", "--design", "lhs",
                "--samples", 16, "--seed", 7, "--lever", f"{DECAY}=0,0.5,1", "--sweep", f"{COST_A}=0:0.6",
                "--sweep", f"{COST_B}=0.15:0.4", *extra)


@pytest.fixture(scope="module")
def null_independent(brink, ultimatum, folder):
    return _null_lever(brink, ultimatum, folder / "null-independent.h5")


@pytest.fixture(scope="module")
def null_common(brink, ultimatum, folder):
    return _null_lever(brink, ultimatum, folder / "null-common.h5", "--set", "run.random_numbers=common")


def _noise_warnings(caught):
    return [str(c.message) for c in caught if "independent random numbers" in str(c.message)]


# M1 --------------------------------------------------------------------------


def test_m1_regret_under_independent_random_numbers_is_flagged_as_noise(null_independent):
    """The three policies are one policy (the lever changes nothing), yet under independent random
    numbers each gets a max_regret above 0: the table warns, names the remedy and the docs, and
    gives the max_regret that noise alone reaches, which the null lever's regrets stay under."""
    with ba.open_results(null_independent) as ds:
        assert ds.attrs["random_numbers"] == "independent"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            table = ba.robustness_table(ds, outcome="full_war")
        found = _noise_warnings(caught)
        assert len(found) == 1, [str(c.message) for c in caught]
        assert "--set run.random_numbers=common" in found[0] and "docs/analysis.md" in found[0]
        assert str(null_independent) in found[0]
        noise = table.attrs["regret_noise"]
        assert (table["max_regret"] > 0).all()  # the premise: noise alone ranks them
        assert 0 < table["max_regret"].max() < noise < 0.2
        assert f"{noise:.2g}" in found[0]
        # every function that compares the policies says it once per call
        for call in (lambda: ba.policy_outcomes(ds, outcome="full_war"), lambda: ba.regret_table(ds),
                     lambda: ba.plot_robustness(ds)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                call()
            assert len(_noise_warnings(caught)) == 1


def test_m1_common_random_numbers_and_per_policy_files_are_not_flagged(null_common, policy_lhs_files):
    """Under common random numbers the null lever's regrets are exactly 0, and nothing is said. One
    file per policy of the same seed runs each state at the same point index, whose streams are
    the same under independent numbers too (paired): nothing is said either."""
    with ba.open_results(null_common) as ds, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = ba.robustness_table(ds, outcome="full_war")
    assert not _noise_warnings(caught)
    assert table.attrs["regret_noise"] is None and (table["max_regret"] == 0).all()
    files = [ba.open_results(p) for p in policy_lhs_files]
    try:
        assert {ds.attrs["random_numbers"] for ds in files} == {"independent"}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            table = ba.robustness_table(files, ["actors.USA.forces.ready"])
        assert not _noise_warnings(caught) and table.attrs["regret_noise"] is None
    finally:
        for ds in files:
            ds.close()


def test_m1_robust_command_notes_the_noise_and_the_docs_say_why(null_independent, null_common, source_dir):
    done = run_module("robust", null_independent)
    assert done.returncode == 0, done.stderr
    assert "note: " in done.stderr and "--set run.random_numbers=common" in done.stderr
    done = run_module("robust", null_common)
    assert done.returncode == 0 and "random numbers" not in done.stderr, done.stderr
    text = (source_dir / "docs" / "analysis.md").read_text(encoding="utf-8")
    section = text[text.index("## Robust policies"):text.index("## Command line")]
    assert "--set run.random_numbers=common" in section and "regret_noise" in section


# M2 --------------------------------------------------------------------------


def _scenario_cases(order):
    """5 scenario choices × 4 values of x (20 points), choices 1 and 3 risky, the choices listed in
    `order` (order[i] is the index of choice i in the file)."""
    choice = np.repeat(np.arange(5), 4)
    x = np.tile([0.0, 1.0, 2.0, 3.0], 5)
    y = np.where(np.isin(choice, [1, 3]), 0.6, 0.1) + 0.02 * x
    X = pd.DataFrame({"scen": np.asarray(order, dtype=float)[choice], "x": x})
    X.attrs["categories"] = {"scen": {float(order[i]): f"s{i}.yaml" for i in range(5)}}
    return X, y


def test_m2_variance_explained_of_a_categorical_parameter_does_not_depend_on_its_listing():
    """Quantile bins of the value indices merged unrelated choices (0.499 listed a..e, 0.990
    listed b, d, a, c, e); each choice is its own group now, whatever the order."""
    scores = [ba.variance_explained(*_scenario_cases(order))["scen"] for order in itertools.permutations(range(5))]
    assert np.ptp(scores) < 1e-12
    # the adjusted η² over the five choices, computed by hand
    X, y = _scenario_cases(range(5))
    means = pd.Series(y).groupby(X["scen"].to_numpy()).transform("mean").to_numpy()
    eta2 = np.sum((means - y.mean()) ** 2) / np.sum((y - y.mean()) ** 2)
    assert scores[0] == pytest.approx(1 - (1 - eta2) * 19 / 15, abs=1e-12)
    assert scores[0] > 0.95
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a = ba.feature_scores(*_scenario_cases([0, 1, 2, 3, 4]), n_estimators=20)
        b = ba.feature_scores(*_scenario_cases([2, 0, 3, 1, 4]), n_estimators=20)
    assert a.loc["scen", "variance_explained"] == pytest.approx(b.loc["scen", "variance_explained"], abs=1e-12)


def test_m2_a_categorical_parameter_of_too_many_values_scores_nan_with_a_warning():
    """Ten choices of two points each: the values cannot be merged, and two cases per value are too
    few to share out the variance (η² of noise would average 9/19)."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"scen": np.repeat(np.arange(10.0), 2), "x": rng.random(20)})
    X.attrs["categories"] = {"scen": {float(i): f"s{i}" for i in range(10)}}
    with pytest.warns(RuntimeWarning, match=r"variance_explained of scen is NaN: its 10 values have fewer than 3"):
        scores = ba.variance_explained(X, rng.random(20))
    assert np.isnan(scores["scen"]) and np.isfinite(scores["x"])


# L3 --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spelled_policies(brink, ultimatum, folder):
    """One file per policy (RECEIVER's war-cost spread) of the same LHS design, its options spelled
    differently (0.5 and .5, 0:0.6 and 0.0:0.60), and one that sets the decay to another value."""
    common = ["-n", 100, "--threads", 1, "--summary-only", "--design", "lhs", "--samples", 8, "--seed", 7]
    spellings = {"a": ("0:0.6", "0.5", "0.1"), "b": ("0.0:0.60", ".5", "0.3"), "c": ("0:0.6", "0.6", "0.2")}
    return {name: _run(brink, folder / f"policy-{name}.h5", ultimatum, *common, "--sweep", f"{COST_A}={sweep}",
                       "--set", f"{DECAY}={decay}", "--set", f"{SPREAD_B}={spread}")
            for name, (sweep, decay, spread) in spellings.items()}


def test_l3_options_that_spell_the_same_values_are_one_study(spelled_policies):
    files = {name: ba.open_results(path) for name, path in spelled_policies.items()}
    try:
        table = ba.robustness_table([files["a"], files["b"]], [SPREAD_B], "full_war")
        assert sorted(table[SPREAD_B]) == [0.1, 0.3] and set(table["states"]) == {8}
        # another value is still another study
        with pytest.raises(ValueError, match=rf"they set {DECAY}, which is no lever, differently"):
            ba.robustness_table([files["a"], files["c"]], [SPREAD_B], "full_war")
    finally:
        for ds in files.values():
            ds.close()
    done = run_module("robust", spelled_policies["a"], spelled_policies["b"], "--levers", SPREAD_B)
    assert done.returncode == 0, done.stderr


# L4 --------------------------------------------------------------------------


def test_l4_derived_arrays_over_time_keep_the_calendar_time(grid):
    """The flagship has a start date: every array over step keeps `time`, so swap_dims(step="time")
    labels dates, not the steps' positions."""
    assert np.issubdtype(grid["time"].dtype, np.datetime64)
    arrays = {
        "survival_curves": ba.survival_curves(grid).survival,
        "rung_occupancy": ba.rung_occupancy(grid, 0),
        "troop_means": ba.troop_means(grid, "RUS", "deployed"),
        "troop_quantiles": ba.troop_quantiles(grid, "RUS", "deployed"),
        "belief_by_true_type": ba.belief_by_true_type(grid, "RUS"),
    }
    for name, array in arrays.items():
        assert "time" in array.coords, name
        np.testing.assert_array_equal(array.coords["time"].values, grid["time"].values, err_msg=name)
        np.testing.assert_array_equal(array.swap_dims(step="time").indexes["time"].values, grid["time"].values,
                                      err_msg=name)
        np.testing.assert_array_equal(array.coords["day"].values, grid["day"].values, err_msg=name)


# L5 --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def interrupted(brink, ultimatum, folder):
    """A 24-point LHS whose points 5, 11, 17 and 23 did not finish (edited as an interrupted run leaves
    them: no `complete`, replications and summaries 0), and the whole file."""
    whole = _run(brink, folder / "lhs.h5", ultimatum, "-n", 200, "--threads", 1, "--summary-only", "--design",
                 "lhs", "--samples", 24, "--seed", 3, "--sweep", f"{COST_A}=0:0.6", "--sweep", f"{DECAY}=0:1")
    partial = folder / "lhs.h5.partial"
    shutil.copy(whole, partial)
    with h5py.File(partial, "r+") as f:
        del f.attrs["complete"]
        for name in ("replications", "outcome_count", "outcome_probability", "outcome_probability_lower",
                     "outcome_probability_upper", "survival", "survival_lower", "survival_upper", "rung_share",
                     "mean_troops", "mean_belief", "agreement_probability"):
            if name in f:
                for point in (5, 11, 17, 23):
                    f[name][point] = 0
    return whole, partial


MARK = "incomplete run: 20 of 24 points finished"


def _exploration_titles(ds):
    result = ba.find_boxes(ds, "full_war")
    return {
        "scatter": ba.plot_outcome_scatter(ds, COST_A, DECAY, "full_war", box=result.box()).get_title(),
        "tradeoff": ba.plot_prim_tradeoff(result).get_title(),
        "box": ba.plot_prim_box(result.box(), ds=ds).get_title(),
        "partial dependence": ba.plot_partial_dependence(ds, "full_war")._suptitle.get_text(),
    }


def test_l5_exploration_figures_of_an_interrupted_run_say_so(interrupted):
    whole, partial = interrupted
    with pytest.warns(RuntimeWarning, match="incomplete"):
        ds = ba.open_results(partial)
    with ds:
        for name, title in _exploration_titles(ds).items():
            assert MARK in title, (name, title)
    with ba.open_results(whole) as ds:
        for name, title in _exploration_titles(ds).items():
            assert "incomplete" not in title, (name, title)


def test_l5_discover_plots_of_an_interrupted_run_say_so(interrupted, tmp_path, monkeypatch):
    from brink_analysis.command import main

    titles = []

    def record(fig_or_ax, path, **kwargs):
        titles.append(fig_or_ax.get_title())
        return path

    monkeypatch.setattr(brink_analysis.plots, "save_figure", record)
    assert main(["discover", str(interrupted[1]), "--no-scores", "--plots", str(tmp_path / "figs")]) == 0
    assert len(titles) == 3 and all(MARK in t for t in titles), titles


def test_l5_survival_curves_default_to_the_finished_points(interrupted):
    with pytest.warns(RuntimeWarning, match="incomplete"):
        ds = ba.open_results(interrupted[1])
    with ds:
        curves = ba.survival_curves(ds)
        assert list(curves["point"].values) == [p for p in range(24) if p not in (5, 11, 17, 23)]
        with pytest.raises(ValueError, match="point 5 did not finish.*--resume"):
            ba.survival_curves(ds, [4, 5])


# L6 --------------------------------------------------------------------------


def test_l6_to_grid_names_a_categorical_axis(law_file):
    with ba.open_results(law_file) as ds:
        for data in (ds.outcome_probability, ds):
            grid = ba.to_grid(data)
            assert list(grid["combat.law"].values) == ["square", "linear"]  # the order they were listed in
            linear = grid.sel({"combat.law": "linear"})
            k = ba.point_position(ds, {"combat.law": "linear", PATIENCE: 30})
            expected = ds.outcome_probability.isel(point=k).sel(outcome="full_war")
            got = linear["outcome_probability"] if isinstance(data, type(ds)) else linear
            assert float(got.sel({PATIENCE: 30, "outcome": "full_war"})) == float(expected)


def test_l6_to_grid_of_one_variable_names_scenario_choices_as_given(brink, ultimatum, folder):
    """A scenario choice's names are the paths as given (flag_meanings can hold no '/'), and a
    variable taken alone keeps them."""
    copies = [folder / "choice a.yaml", folder / "choice b.yaml"]
    for path in copies:
        shutil.copy(ultimatum, path)
    out = _run(brink, folder / "choices.h5", copies[0], "-n", 50, "--threads", 1, "--summary-only",
               "--sweep", f"scenario={copies[0]},{copies[1]}", "--sweep", f"{COST_A}=0,0.3")
    with ba.open_results(out) as ds:
        grid = ba.to_grid(ds.outcome_probability)
        assert list(grid["scenario"].values) == [str(p) for p in copies]
        assert grid.sel(scenario=str(copies[1])).sizes[COST_A] == 2
        assert ba.category_names(ds.outcome_probability, "scenario") == {0.0: str(copies[0]), 1.0: str(copies[1])}


# L8 --------------------------------------------------------------------------


def test_l8_discover_without_scikit_learn_skips_the_scores_in_one_note(lhs_file, tmp_path):
    """On a machine without scikit-learn discover gave PRIM's report, then a ModuleNotFoundError
    traceback (exit 1); the docs say it needs no scikit-learn."""
    hidden = tmp_path / "no-sklearn"
    hidden.mkdir()
    (hidden / "sitecustomize.py").write_text(
        "import importlib.abc, sys\n"
        "class _Hide(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'sklearn' or name.startswith('sklearn.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _Hide())\n", encoding="utf-8")
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": f"{hidden}{os.pathsep}{Path(ba.__file__).resolve().parents[1]}"}
    probe = subprocess.run([sys.executable, "-c", "import sklearn"], capture_output=True, text=True, env=env)
    assert probe.returncode != 0, "test setup: scikit-learn is not hidden"
    done = subprocess.run([sys.executable, "-m", "brink_analysis", "discover", str(lhs_file), "--cart"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "PRIM for full_war" in done.stdout and "CART leaves" in done.stdout
    notes = [line for line in done.stderr.splitlines() if "scikit-learn" in line]
    assert len(notes) == 1 and notes[0].startswith("note: feature scores skipped") and "--no-scores" in notes[0]
    assert "feature scores" not in done.stdout
