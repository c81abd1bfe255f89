"""Findings of the round-39 exploratory-analysis test (/tmp/round39/explore/REPORT.md): robustness of
an interrupted or single-shard run (M1), discovery on an interrupted mixed design (M2), the exploration
notebook's alliance war (M3), a newer .partial beside a file and run's stop messages (L1), joining
files with xarray (L2), CF flags on the dotted-path coordinate (L3), ambiguous run arguments (L4),
what discover --plots figures record (L5), robustness of outcome tables of a scenario-choice design
(L6), Morris files in discovery and qp's underflow (L7), and small CLI and plot nits (L8). Test names
carry the finding's name. Files come from the real brink binary, mostly of the ultimatum game of
scenarios/validation (two days, so a few hundred replications take no time)."""

import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import h5py
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import brink_analysis as ba
import brink_analysis.plots
from brink_analysis.prim import point_ids

from .conftest import _run, two_actor_scenario
from .test_explore import run_module
from .test_notebook import execute_notebook, kernel_for_this_python, output_text  # noqa: F401 (a fixture)

DECAY = "escalation.tension.decay"  # ignored by the ultimatum game
COST_A = "actors.PROPOSER.decision.war_cost"
COST_B = "actors.RECEIVER.decision.war_cost"
SPREAD_B = "actors.RECEIVER.decision.war_cost_spread"
SUMMARIES = ("replications", "outcome_count", "outcome_probability", "outcome_probability_lower",
             "outcome_probability_upper", "survival", "survival_lower", "survival_upper", "rung_share",
             "mean_troops", "mean_belief", "agreement_probability")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("round39_explore")


@pytest.fixture(scope="module")
def ultimatum(source_dir):
    return source_dir / "scenarios" / "validation" / "bargaining-ultimatum.yaml"


def interrupted_copy(source, target, unfinished):
    """`source` as an interrupted run leaves it (output.md): no `complete`, and the points `unfinished`
    without results (replications and summaries 0)."""
    shutil.copy(source, target)
    with h5py.File(target, "r+") as f:
        del f.attrs["complete"]
        for name in SUMMARIES:
            if name in f:
                for point in unfinished:
                    f[name][point] = 0
    return target


def opened(path):
    """open_results without its warnings (an unfinished file's, a shard's): the tests check their own."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return ba.open_results(path)


def caught_warnings(call):
    """`call()` and its RuntimeWarnings but the note that a --summary-only file's Monte Carlo noise is
    not estimated (round 41, F3; test_round41_explore.py), which these --summary-only files all get."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(c.message) for c in caught if issubclass(c.category, RuntimeWarning)
                    and "noise of the regrets is not estimated" not in str(c.message)]


# A 5 x 3 x 2 grid whose last axis, the lever RECEIVER war cost, varies fastest: every state of the
# world (A's war cost, the decay the game ignores) has both policies at neighbouring points.
GRID = ("--sweep", f"{COST_A}=0,0.15,0.3,0.45,0.6", "--sweep", f"{DECAY}=0,0.5,1", "--sweep", f"{COST_B}=0.15,0.4")


@pytest.fixture(scope="module")
def lever_grid(brink, ultimatum, folder):
    return _run(brink, folder / "grid.h5", ultimatum, "-n", 300, "--threads", 1, "--summary-only",
                "--set", "run.random_numbers=common", *GRID)


@pytest.fixture(scope="module")
def scenario_choices(ultimatum, folder):
    """Two scenario files: the ultimatum game, and the same with RECEIVER's war cost known better
    (spread 0.1), which a design records as a parameter that follows the choice."""
    a, b = folder / "a.yaml", folder / "b.yaml"
    shutil.copy(ultimatum, a)
    text = ultimatum.read_text(encoding="utf-8")
    assert "war_cost_spread: 0.2}" in text, "test setup: the ultimatum game's spread moved"
    b.write_text(text.replace("war_cost_spread: 0.2}", "war_cost_spread: 0.1}"), encoding="utf-8")
    return a, b


def _mixed(brink, scenario_choices, out, *extra):
    """A mixed design: the scenario choice as the lever (slowest) × 8 LHS states of A's and B's war costs."""
    a, b = scenario_choices
    return _run(brink, out, a, "-n", 300, "--threads", 1, "--summary-only", "--design", "lhs", "--samples", 8,
                "--seed", 5, "--set", "run.random_numbers=common", "--lever", f"scenario={a},{b}",
                "--sweep", f"{COST_A}=0:0.6", "--sweep", f"{COST_B}=0.15:0.4", *extra)


@pytest.fixture(scope="module")
def mixed(brink, scenario_choices, folder):
    return _mixed(brink, scenario_choices, folder / "mixed.h5")


@pytest.fixture(scope="module")
def shards(brink, scenario_choices, folder):
    return [_mixed(brink, scenario_choices, folder / f"shard{i}.h5", "--shard", f"{i}/2") for i in (0, 1)]


# M1 --------------------------------------------------------------------------


def test_m1_robustness_of_an_interrupted_grid_compares_only_the_states_every_policy_finished(lever_grid, folder):
    """The first 12 of 30 points finished: 6 of the 15 states, each with both policies. The table
    used to rank the policies over those 6 as if they were the design, saying nothing; it still
    compares them there, but warns, records (6, 15) and the figure's title says so."""
    partial = interrupted_copy(lever_grid, folder / "grid-stopped.h5.partial", range(12, 30))
    with opened(partial) as ds:
        table, said = caught_warnings(lambda: ba.robustness_table(ds, [COST_B], "full_war"))
        assert len(said) == 1, said
        assert "only 6 of the design's 15 states of the world have results for every policy" in said[0]
        assert str(partial) in said[0] and "(12 of 30 points finished)" in said[0] and "--resume" in said[0]
        assert table.attrs["incomplete"] == (6, 15) and (table["states"] == 6).all()
        for call in (lambda: ba.policy_outcomes(ds, [COST_B]), lambda: ba.regret_table(ds, [COST_B])):
            matrix, said = caught_warnings(call)
            assert len(said) == 1 and matrix.attrs["incomplete"] == (6, 15) and len(matrix) == 6
        fig, said = caught_warnings(lambda: ba.plot_robustness(ds, [COST_B], "full_war"))
        assert "incomplete run: 6 of 15 states of the world finished by every policy, the rest not compared" \
            in fig._suptitle.get_text()
    # the numbers are the whole file's in those six states
    with ba.open_results(lever_grid) as whole:
        rows = ba.outcome_table(whole)
        expected = ba.robustness_table(rows[rows["point"] < 12], [COST_B], "full_war")
    pd.testing.assert_frame_equal(table.drop(columns="states"), expected.drop(columns="states"), check_dtype=False)
    with ba.open_results(lever_grid) as whole:
        table, said = caught_warnings(lambda: ba.robustness_table(whole, [COST_B], "full_war"))
        assert not said and table.attrs["incomplete"] is None
        assert "incomplete" not in ba.plot_robustness(whole, [COST_B], "full_war")._suptitle.get_text()


def test_m1_robust_command_says_how_many_states_it_compared(lever_grid, folder):
    partial = interrupted_copy(lever_grid, folder / "grid-cli.h5.partial", range(12, 30))
    done = run_module("robust", partial, "--levers", COST_B)
    assert done.returncode == 0, done.stderr
    assert "over 6 states of the world (of the design's 15" in done.stdout  # in the report, not only on stderr
    assert "note: " in done.stderr and "only 6 of the design's 15 states" in done.stderr


def test_m1_policies_with_fewer_than_two_states_in_common_are_refused_naming_each_ones_lack(mixed, folder,
                                                                                            scenario_choices):
    """A mixed design's lever varies slowest: interrupted after 9 of 16 points, the first policy has
    its 8 states and the second 1, too few to compare in; the error says how many each lacks."""
    partial = interrupted_copy(mixed, folder / "mixed-stopped.h5.partial", range(9, 16))
    with opened(partial) as ds:
        with pytest.raises(ValueError) as caught:
            ba.robustness_table(ds, outcome="full_war")
    text = str(caught.value)
    assert "only 1 of the design's 8 states of the world have results for every policy, too few" in text
    assert f"policy {scenario_choices[1]} lacks 7" in text and "--resume" in text
    assert "policy 1.0" not in text  # a scenario choice by its name, not its index (L6)


def test_m1_one_shard_is_compared_in_its_own_states_and_says_so(mixed, shards):
    """A shard holds every other point of the design: in a mixed design of 8 states per policy,
    states 0, 2, 4, 6 of every policy. Its table says that it is one shard and how to join them;
    both shards together are the whole design, without a word."""
    with opened(shards[0]) as sh0, opened(shards[1]) as sh1, ba.open_results(mixed) as whole:
        table, said = caught_warnings(lambda: ba.robustness_table(sh0, outcome="full_war"))
        assert len(said) == 1 and "(shard 0 of 2: 8 of 16 points)" in said[0] and "brink merge" in said[0]
        assert "--resume" not in said[0] and table.attrs["incomplete"] == (4, 8)
        both, said = caught_warnings(lambda: ba.robustness_table([sh0, sh1], outcome="full_war"))
        assert not said and both.attrs["incomplete"] is None
        pd.testing.assert_frame_equal(both, ba.robustness_table(whole, outcome="full_war"))


# M2 --------------------------------------------------------------------------


def test_m2_a_lever_with_one_value_among_the_finished_points_is_not_scored(mixed, folder, scenario_choices):
    """Interrupted within the first policy, the points used all have scenario a.yaml: the lever
    was scored 0 and ranked as if it did not matter, and accepted by name. Now it is left out with a
    warning by default, and refused by name, as a --set parameter is."""
    partial = interrupted_copy(mixed, folder / "mixed-m2.h5.partial", range(7, 16))
    with opened(partial) as ds:
        (X, y, w), said = caught_warnings(lambda: ba.discovery_data(ds, "full_war"))
        assert list(X.columns) == [COST_A, COST_B]
        assert len(said) == 1 and f"parameter scenario has one value ({scenario_choices[0]})" in said[0]
        assert "(7 of 16)" in said[0] and "left out" in said[0]
        with pytest.raises(ValueError, match=r"parameter scenario has one value .* at every point of this file that "
                                             r"finished \(7 of 16\)"):
            ba.discovery_data(ds, "full_war", parameters=["scenario", COST_A])
        result, said = caught_warnings(lambda: ba.find_boxes(ds, "full_war"))
        assert "scenario" not in result.boxes[0].lower.index and any("left out" in s for s in said)
    done = run_module("discover", partial, "--no-scores")
    assert done.returncode == 0, done.stderr
    assert "over actors.PROPOSER.decision.war_cost, actors.RECEIVER.decision.war_cost (7 cases" in done.stdout
    assert "note: parameter scenario has one value" in done.stderr


# M3 --------------------------------------------------------------------------


def test_m3_exploration_notebook_shows_the_war_commit_turns_into_a_nato_russia_war(
        brink, source_dir, tmp_path, monkeypatch, kernel_for_this_python, plain_file):  # noqa: F811
    """The "commit" posture's zero risk of full-scale war is NATO–Russia war instead: the notebook
    now shows each kind of war apart, ranks the postures on either war, and its prose says so;
    its claims hold on the files it wrote (quick mode)."""
    nb, figures = execute_notebook("exploration.ipynb", brink, source_dir, tmp_path, monkeypatch,
                                   kernel_for_this_python)
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert 'WAR = "full_war,alliance_war"' in sources
    assert "ba.robustness_table(files, levers, WAR" in sources and "ba.plot_robustness(files, levers, WAR" in sources
    assert "NATO–Russia war takes its" in prose and "either war" in prose and "may raise the risk" not in prose
    text = "\n".join(output_text(c) for c in nb.cells if c.cell_type == "code")
    assert "NATO–Russia war" in text and "either war" in text
    files = [ba.open_results(tmp_path / "out" / f"{name}.h5") for name in ("status-quo", "reinforce", "commit")]
    levers = ["actors.USA.forces.ready", "relations.commitments.2.strength"]
    try:
        def expected(outcome):
            table = ba.robustness_table(files, levers, outcome).set_index(levers)
            return {name: table.loc[key] for name, key in (("status quo", (8500, 0.15)), ("reinforce", (50000, 0.15)),
                                                            ("commit", (8500, 0.6)))}
        full, alliance, either = expected("full_war"), expected("alliance_war"), expected("full_war,alliance_war")
    finally:
        for ds in files:
            ds.close()
    # "all but ends full-scale war, and NATO–Russia war takes its place with about the same probability"
    assert full["commit"]["expected"] < 0.01 and full["commit"]["max_regret"] == 0
    assert abs(alliance["commit"]["expected"] - full["status quo"]["expected"]) < 0.1
    assert alliance["status quo"]["expected"] < 0.1 and alliance["reinforce"]["expected"] < 0.1
    # "still comes first, but its expected risk is only a little below the other postures'"
    others = [either[name] for name in ("status quo", "reinforce")]
    assert all(either["commit"]["max_regret"] < o["max_regret"] for o in others)
    assert all(0 <= o["expected"] - either["commit"]["expected"] < 0.1 for o in others)
    # "no posture keeps the risk of war at or below 10% anywhere"
    assert all(either[name]["satisficing"] == 0 for name in either)
    # the embedded figure of docs/analysis.md is that one
    analysis = (source_dir / "docs" / "analysis.md").read_text(encoding="utf-8")
    section = analysis[analysis.index("## The exploration notebook"):analysis.index("## The calibration notebook")]
    assert "NATO–Russia war" in section


# L1 --------------------------------------------------------------------------


def test_l1_open_results_warns_of_a_newer_partial_beside_the_file(lever_grid, tmp_path):
    target = tmp_path / "x.h5"
    shutil.copy(lever_grid, target)
    partial = tmp_path / "x.h5.partial"
    interrupted_copy(lever_grid, partial, range(3, 30))
    old = os.path.getmtime(target)
    os.utime(partial, (old + 60, old + 60))
    _, said = caught_warnings(lambda: ba.open_results(target).close())
    assert len(said) == 1 and f"'{partial}' beside it is newer than '{target}'" in said[0]
    assert "earlier run" in said[0] and "resume=True" in said[0]
    os.utime(partial, (old - 60, old - 60))  # an older .partial is no later run of this file
    _, said = caught_warnings(lambda: ba.open_results(target).close())
    assert not said
    os.utime(partial, (old + 60, old + 60))
    _, said = caught_warnings(lambda: ba.open_results(partial).close())  # the .partial itself: no such warning
    assert not any("beside it" in s for s in said)


LONG_RUN = {"sweep": {"actors.RED.decision.patience_days": [5, 10, 20, 40, 80],
                      "actors.RED.forces.deployed": [30000, 60000, 90000]}, "replications": 400000, "threads": 1}


def test_l1_run_stopped_by_its_timeout_names_resume_and_the_earlier_file(brink, source_dir, tmp_path):
    scenario = two_actor_scenario(source_dir, tmp_path)
    out = tmp_path / "ki.h5"
    ba.run(scenario, sweep=LONG_RUN["sweep"], replications=20, output=out, binary=brink, progress=False,
           threads=1).close()
    time.sleep(1.1)  # the .partial of the next run is newer by the clock's resolution
    with pytest.raises(TimeoutError) as caught:
        ba.run(scenario, output=out, binary=brink, progress=False, overwrite=True, timeout=2.0, **LONG_RUN)
    text = str(caught.value)
    assert "did not finish within 2.0 s and was stopped" in text
    assert f"its finished blocks are in '{out}.partial', which run(..., resume=True) continues" in text
    assert f"'{out}' still holds the results of an earlier run, not of this one" in text
    assert Path(f"{out}.partial").exists()
    _, said = caught_warnings(lambda: ba.open_results(out).close())
    assert any("beside it is newer" in s for s in said)


def test_l1_run_interrupted_from_python_stops_brink_as_ctrl_c_does_and_names_resume(brink, source_dir, tmp_path):
    """Jupyter's "interrupt kernel" sends SIGINT to the kernel alone: run passes it on to brink, which
    keeps its blocks and says so (that sentence used to be collected and never shown), and the
    KeyboardInterrupt names resume=True (it used to be bare)."""
    scenario = two_actor_scenario(source_dir, tmp_path)
    out = tmp_path / "kb.h5"
    script = tmp_path / "interrupted.py"
    script.write_text(
        "import sys\nimport brink_analysis as ba\n"
        f"kw = {LONG_RUN!r}\n"
        "try:\n"
        f"    ba.run({str(scenario)!r}, output={str(out)!r}, binary={str(brink)!r}, progress=False, **kw)\n"
        "except KeyboardInterrupt as error:\n"
        "    print('KeyboardInterrupt:', error)\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(ba.__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{out}.partial").exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the run never started"
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)  # the Python process only, as Jupyter does
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "KeyboardInterrupt: `" in stdout and "was interrupted" in stdout
    assert "which run(..., resume=True) continues" in stdout
    assert "brink run: interrupted;" in stderr and "continue with --resume" in stderr
    assert Path(f"{out}.partial").exists()


# L2 --------------------------------------------------------------------------


def test_l2_files_opened_by_open_results_concatenate_along_point(brink, ultimatum, folder, source_dir):
    """Two runs of 6 and 4 points with per-replication data: resume_slot (2 x points) made xr.concat and
    xr.merge fail on bookkeeping the analyst never asked for. open_results leaves it out."""
    files = [_run(brink, folder / f"join{n}.h5", ultimatum, "-n", 600, "--threads", 1,
                  "--sweep", f"{COST_A}=" + ",".join(f"{0.1 * k:g}" for k in range(n))) for n in (6, 4)]
    with h5py.File(files[0], "r") as f:
        assert "resume_slot" in f, "test setup: the file has no resume bookkeeping"
    with ba.open_results(files[0]) as a, ba.open_results(files[1]) as b:
        assert "resume_slot" not in a.dims and not [n for n in a.variables if str(n).startswith("resume_")]
        joined = xr.concat([a, b], dim="point")
        assert joined.sizes["point"] == 10
        np.testing.assert_array_equal(joined["outcome_count"].values,
                                      np.concatenate([a["outcome_count"].values, b["outcome_count"].values]))
    text = (source_dir / "docs" / "analysis.md").read_text(encoding="utf-8")
    assert "### Joining files" in text
    section = text[text.index("### Joining files"):]
    section = section[:section.index("\n## ")]
    assert "resume_slot" in section and "the first file's" in section and "seed" in section


# L3 --------------------------------------------------------------------------


def test_l3_the_dotted_path_coordinate_of_a_text_value_carries_its_cf_flags(law_file):
    with ba.open_results(law_file) as ds:
        raw, path = ds.coords["combat_law"].attrs, ds.coords["combat.law"].attrs
        assert path["flag_meanings"] == raw["flag_meanings"] == "square linear"
        np.testing.assert_array_equal(path["flag_values"], raw["flag_values"])
        # where the values have become their names, flags that map indices to names no longer apply
        named = ba.indexed(ds).coords["combat.law"]
        assert "flag_meanings" not in named.attrs and set(named.values) == {"square", "linear"}
        assert "flag_meanings" not in ba.to_grid(ds.outcome_probability).coords["combat.law"].attrs


# L4 --------------------------------------------------------------------------


def test_l4_brink_command_refuses_a_log_flag_as_text_and_a_fractional_timeseries(brink):
    path = "escalation.incidents.base_rate"
    for text in ("false", "no", "0", 0):
        with pytest.raises(TypeError, match=f"sweep of '{path}': 'log' must be True or False; got {text!r}"):
            ba.brink_command("a.yaml", sweep={path: {"min": 0.0005, "max": 0.005, "log": text}}, design="lhs",
                             output="x.h5", binary=brink)
    for flag, tail in ((True, ":log"), (False, ""), (np.bool_(True), ":log")):
        command = ba.brink_command("a.yaml", sweep={path: {"min": 0.0005, "max": 0.005, "log": flag}}, output="x.h5",
                                   binary=brink)
        assert command[command.index("--sweep") + 1] == f"{path}=0.0005:0.005{tail}"
    for value, error in ((2.5, TypeError), (2.0, TypeError), ("5", TypeError), (True, TypeError), (0, ValueError)):
        with pytest.raises(error, match=r"timeseries \(K of --timeseries every=K\)"):
            ba.brink_command("a.yaml", timeseries=value, output="x.h5", binary=brink)
    command = ba.brink_command("a.yaml", timeseries=np.int64(5), output="x.h5", binary=brink)
    assert command[command.index("--timeseries") + 1] == "every=5"


# L5 --------------------------------------------------------------------------


def test_l5_discover_plots_record_the_file_seed_replications_outcome_and_threshold(mixed, monkeypatch, tmp_path):
    from brink_analysis.command import main

    drawn = []

    def record(fig_or_ax, path, **kwargs):
        drawn.append(fig_or_ax)
        return path

    monkeypatch.setattr(brink_analysis.plots, "save_figure", record)
    assert main(["discover", str(mixed), "--outcome", "full_war,alliance_war", "--threshold", "0.2", "--no-scores",
                 "--plots", str(tmp_path / "figs")]) == 0
    assert len(drawn) == 3
    tradeoff, box, scatter = drawn
    case = "points with P(full-scale war or alliance war) ≥ 0.2"
    assert tradeoff.get_title() == f"PRIM peeling trajectory: {case}"
    assert tradeoff.get_ylabel() == "density (share of points with P ≥ 0.2 inside the box)"
    assert box.get_title().startswith(f"PRIM box for {case}: coverage ")
    assert scatter.get_legend().get_texts()[0].get_text() == "PRIM box of points with P ≥ 0.2"
    with ba.open_results(mixed) as ds:
        foot = f"{mixed}: brink {ds.attrs['engine_version']}, scenario {ds.attrs['scenario_name']}, seed 5, " \
               "300 replications per point, lhs design of 16 points"
    for ax in drawn:
        assert ax.figure._supxlabel.get_text() == foot


def test_l5_provenance_is_one_definition_the_notebooks_use_too(adaptive_file, source_dir):
    with opened(adaptive_file) as ds:
        reps = ds["replications"].values
        assert reps.min() < reps.max(), "test setup: the adaptive run gave every point the same replications"
        assert f"{reps.min():,} to {reps.max():,} replications per point" in ba.provenance(ds)
        fig, ax = plt.subplots()
        assert ba.caption(ax, ds) is fig and fig._supxlabel.get_text() == ba.provenance(ds)
    import json

    for name in ("exploration.ipynb", "jan-2022-standoff.ipynb"):
        cells = json.loads((source_dir / "analysis" / "notebooks" / name).read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        assert "ba.caption(fig, ds)" in code and "supxlabel" not in code, name


# L6 --------------------------------------------------------------------------


def test_l6_outcome_tables_of_a_scenario_choice_design_rank_as_the_file_does(mixed, shards):
    """A table records no roles: the column the scenario choice sets (RECEIVER's war cost spread)
    was taken as an uncertainty and split every state by policy, a false 'not run in every state'.
    It follows the lever, so it cannot tell states apart."""
    with ba.open_results(mixed) as ds:
        assert SPREAD_B in ba.parameters(ds), "test setup: the choice sets no parameter of its own"
        expected = ba.robustness_table(ds, outcome="full_war")
        table = ba.outcome_table(ds)
    pd.testing.assert_frame_equal(ba.robustness_table(table, ["scenario"], "full_war"), expected)
    with opened(shards[0]) as sh0, opened(shards[1]) as sh1:
        both = pd.concat([ba.outcome_table(sh0), ba.outcome_table(sh1)], ignore_index=True)
    pd.testing.assert_frame_equal(ba.robustness_table(both, ["scenario"], "full_war"), expected)


# L7 --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def morris(brink, ultimatum, folder):
    return _run(brink, folder / "morris.h5", ultimatum, "-n", 200, "--threads", 1, "--design", "morris", "--samples", 10, "--set", "run.random_numbers=common",
                "--sweep", f"{COST_A}=0:0.6", "--sweep", f"{COST_B}=0.15:0.4", "--sweep", f"{DECAY}=0:1")


def test_l7_a_morris_files_repeated_points_are_one_case(morris):
    """Morris trajectories revisit points: each copy of a parameter set (bit-identical under common
    random numbers) counted as another state of the world, re-weighting the space and qp's trials."""
    with ba.open_results(morris) as ds:
        table = ba.parameter_table(ds)
        distinct = table.drop_duplicates()
        assert len(distinct) < len(table), "test setup: the Morris design repeats no point"
        X, y, w = ba.discovery_data(ds, "full_war")
        assert len(X) == len(distinct) and X.attrs["repeated"] == (len(distinct), len(table))
        first = distinct.index.to_numpy()
        np.testing.assert_array_equal(X.to_numpy(), distinct.to_numpy())
        np.testing.assert_array_equal(y, ds["outcome_probability"].sel(outcome="full_war").values[first])
        X, y, w = ba.discovery_data(ds, "full_war", weight="replication")
        copies = table.groupby(list(table.columns), sort=False).size().to_numpy()
        np.testing.assert_array_equal(w, 200 * copies)
        # per replication: every copy's replications, one point of PRIM's qp and weight 1 in all
        X, y, w = ba.discovery_data(ds, "full_war", per="replication")
        ids = point_ids(X)
        assert len(X) == 200 * len(table) and len(np.unique(ids)) == len(distinct)
        np.testing.assert_allclose(np.bincount(ids, weights=w), 1.0, rtol=1e-12)
        assert len(np.unique(point_ids(ba.discovery_data(ds, "full_war")[0]))) == len(distinct)  # qp's trials
    done = run_module("discover", morris, "--no-scores")
    assert done.returncode == 0, done.stderr
    assert (f"({len(distinct)} cases, one per point, weight {len(distinct)}" in done.stdout
            and f"its {len(table)} finished points hold {len(distinct)} distinct parameter sets" in done.stdout)


def test_l7_a_qp_that_underflows_is_printed_as_a_bound():
    from brink_analysis.command import _qp_text

    assert _qp_text(0.0) == "<1e-300" and _qp_text(5e-310) == "<1e-300"
    assert _qp_text(3.35017e-10) == "3.35017e-10" and _qp_text(0.25) == "0.25"


# L8 --------------------------------------------------------------------------


def test_l8_discover_refuses_box_with_min_coverage(lever_grid):
    done = run_module("discover", lever_grid, "--no-scores", "--box", "1", "--min-coverage", "0.6")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == ("brink-analysis discover: --box and --min-coverage both choose the box to report: "
                                   "give one of them")


def test_l8_sensitivity_panels_sharing_an_axis_cut_no_whisker(sens_file):
    with ba.open_results(sens_file) as ds:
        table = ba.sensitivity_table(ds)
        reach = table.groupby("output")[["first", "total", "first_upper", "total_upper"]].max().max(axis=1)
        wide, narrow = reach.idxmax(), reach.idxmin()
        assert reach[wide] > max(1.0, reach[narrow]) + 0.03, "test setup: no output's whisker reaches past another's"
        fig, axes = plt.subplots(2, 1, sharex=True)
        ba.plot_sensitivity(ds, wide, ax=axes[0])
        ba.plot_sensitivity(ds, narrow, ax=axes[1])  # it used to set the shared axis to its own, narrower range
        assert axes[0].get_xlim()[1] >= reach[wide] and axes[1].get_xlim() == axes[0].get_xlim()
        alone = ba.plot_sensitivity(ds, narrow)
        assert alone.get_xlim()[1] == pytest.approx(max(1.0, reach[narrow]) + 0.02)
        estimates = table[["first", "total"]].to_numpy()
        outside = table.loc[((estimates > 1.05) | (estimates < -0.05)).any(axis=1), "output"].unique()
        for output in table["output"].unique():
            title = ba.plot_sensitivity(ds, output).get_title()
            assert ("an index outside [0, 1] is sampling noise" in title) == (output in outside), (output, title)
