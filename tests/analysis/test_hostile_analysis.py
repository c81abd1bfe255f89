"""Findings of the second hostile test of the analysis package (discovery, robustness, figures and
the command line), on synthetic cases where the answer is known and on files the real brink binary
writes. Test names carry the finding's number in that report.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import brink_analysis as ba

from .conftest import DEPLOYED, PATIENCE, USA_READY, _run
from .test_explore import run_module


# 1 --------------------------------------------------------------------------


def test_1_threshold_per_replication_is_refused(lhs_file):
    with ba.open_results(lhs_file) as ds:
        with pytest.raises(ValueError, match="with per replication each replication's outcome is already a 0/1 case"):
            ba.find_boxes(ds, "full_war", per="replication", threshold=0.2)
        ba.find_boxes(ds, "full_war", per="replication")  # each alone is fine
        ba.find_boxes(ds, "full_war", threshold=0.2)
    done = run_module("discover", lhs_file, "--threshold", "0.2", "--per", "replication")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "drop --threshold or use --per point" in done.stderr, done.stderr


# 2 --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def adaptive_lhs_file(brink, source_dir, tmp_path_factory):
    """An LHS design of 32 points with adaptive replications (256 to 1024 per point, in blocks)."""
    folder = tmp_path_factory.mktemp("hostile_analysis_adaptive")
    lines = (source_dir / "scenarios" / "jan-2022-standoff.yaml").read_text(encoding="utf-8").split("\n")
    hits = [i for i, line in enumerate(lines) if line.startswith("  replications:")]
    assert len(hits) == 1, "test setup: cannot find run.replications in the flagship"
    lines[hits[0]] = "  replications: {min: 32, max: 1024, ci_halfwidth: 0.04}"
    scenario = folder / "adaptive.yaml"
    scenario.write_text("\n".join(lines), encoding="utf-8")
    return _run(brink, folder / "adaptive-lhs.h5", scenario, "--threads", 1, "--summary-only", "--design", "lhs",
                "--samples", 32, "--sweep", f"{PATIENCE}=5:90", "--sweep", f"{DEPLOYED}=80000:160000")


def test_2_threshold_makes_every_point_one_trial_in_an_adaptive_run(adaptive_lhs_file):
    threshold = 0.3
    with ba.open_results(adaptive_lhs_file) as ds:
        X, p, reps = ba.discovery_data(ds, "full_war", weight="replication")
        result = ba.find_boxes(ds, "full_war", threshold=threshold, min_mass=0.1)
    hit = (p >= threshold).astype(float)
    # The premise: points ran different replications, and those with P >= threshold differently so.
    assert len(np.unique(reps)) > 1 and len(np.unique(reps[hit == 1])) > 1, reps
    assert np.average(hit, weights=reps) != pytest.approx(hit.mean())
    for i, box in enumerate(result.boxes):
        inside = box.contains(X)
        assert box.mass == pytest.approx(inside.mean()), i
        assert box.density == pytest.approx(hit[inside].mean()), i
        assert box.coverage == pytest.approx(hit[inside].sum() / hit.sum()), i
    # The qp table counts points as trials too (its cases of interest among its cases).
    chosen = result.box(paste=False)
    inside = chosen.contains(X)
    table = result.inspect(paste=False)
    from scipy.stats import binom
    for name in table.index:
        wide = chosen.lower.copy(), chosen.upper.copy()
        wide[0][name], wide[1][name] = X[name].min(), X[name].max()
        without = np.all([(X[c] >= wide[0][c]) & (X[c] <= wide[1][c]) for c in X.columns], axis=0)
        assert table.loc[name, "density_without"] == pytest.approx(hit[without].mean())
        expected = binom.sf(int(hit[inside].sum()) - 1, int(inside.sum()), hit[without].mean())
        assert table.loc[name, "qp"] == pytest.approx(expected)
    done = run_module("discover", adaptive_lhs_file, "--threshold", threshold, "--no-scores")
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0]
    assert f"({len(hit)} cases, one per point, weight {len(hit)}, " in header, header
    assert f"share of cases of interest (P(full_war) >= 0.3) {hit.mean():.4f}" in header, header


# 3 --------------------------------------------------------------------------


def _policy_file(brink, folder, name, *args, ready=8500):
    """One policy's file of a small LHS design over RUS patience and deployed forces."""
    return _run(brink, folder / f"{name}.h5", *args, "--threads", 1, "--summary-only", "--design", "lhs",
                "--samples", 12, "--sweep", f"{PATIENCE}=10:80", "--sweep", f"{DEPLOYED}=80000:160000",
                "--set", f"{USA_READY}={ready}")


@pytest.fixture(scope="module")
def study_files(brink, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile_analysis_study")
    base = "-n", 64, "--set", "escalation.incidents.base_rate=0.002"
    return {
        "base": _policy_file(brink, folder, "base", *base),
        # the same study, its one non-lever --set before the lever's: legitimate
        "lever": _run(brink, folder / "lever.h5", *base[:2], "--threads", 1, "--set", "escalation.incidents.base_rate=0.002",
                      "--set", f"{USA_READY}=50000", "--summary-only", "--design", "lhs", "--samples", 12,
                      "--sweep", f"{PATIENCE}=10:80", "--sweep", f"{DEPLOYED}=80000:160000"),
        "scenario": _policy_file(brink, folder, "scenario", "diplomacy-first", *base, ready=50000),
        "set": _policy_file(brink, folder, "set", "-n", 64, "--set", "escalation.incidents.base_rate=0.004", ready=50000),
        "unset": _policy_file(brink, folder, "unset", "-n", 64, ready=50000),
        "replications": _policy_file(brink, folder, "replications", "-n", 32, *base[2:], ready=50000),
        "seed": _policy_file(brink, folder, "seed", *base, "--seed", 7, ready=50000),
    }


@pytest.mark.parametrize("other, why", [
    ("scenario", "they run different scenarios ('jan-2022-standoff' from scenarios/jan-2022-standoff.yaml and "
                 "'diplomacy-first' from scenarios/diplomacy-first.yaml)"),
    ("set", "they set escalation.incidents.base_rate, which is no lever, differently "
            "(--set escalation.incidents.base_rate=0.002 and escalation.incidents.base_rate=0.004)"),
    ("unset", "one sets escalation.incidents.base_rate, which is no lever, and the other does not"),
    ("replications", "they have different replications per point (64 and 32)"),
    ("seed", "they have different seeds (20220124 and 7)"),
])
def test_3_policy_files_must_be_one_study_apart_from_the_levers(study_files, other, why):
    base, odd = study_files["base"], study_files[other]
    files = [ba.open_results(base), ba.open_results(odd)]
    try:
        with pytest.raises(ValueError) as error:
            ba.robustness_table(files, [USA_READY])
        text = str(error.value)
        assert text.startswith(f"'{base}' and '{odd}' are not the same study apart from the levers ({USA_READY}): ")
        assert why in text, text
        with pytest.raises(ValueError, match="not the same study"):
            ba.plot_robustness(files, [USA_READY])
    finally:
        for ds in files:
            ds.close()
    done = run_module("robust", base, odd, "--levers", USA_READY)
    assert done.returncode == 2 and done.stdout == "" and why in done.stderr, done.stderr


def test_3_policy_files_of_one_study_are_compared(study_files):
    files = [ba.open_results(study_files[name]) for name in ("base", "lever")]
    try:
        table = ba.robustness_table(files, [USA_READY])
    finally:
        for ds in files:
            ds.close()
    assert sorted(table[USA_READY]) == [8500, 50000] and (table["states"] == 12).all()


# 4 --------------------------------------------------------------------------


@pytest.mark.parametrize("constant", [0.1, 0.3, 0.7, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
def test_4_constant_outcome_chooses_the_whole_space_despite_rounding(constant, weighted):
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.uniform(0, 1, (200, 2)), columns=["a", "b"])
    w = rng.integers(1, 100, 200).astype(float) if weighted else None
    with pytest.warns(RuntimeWarning, match=f"the outcome is {constant:g} in every case"):
        result = ba.prim(X, np.full(200, constant), w)
    # The densities differ from box 0's in the last bits only: no box is denser.
    assert np.ptp(result.trajectory["density"]) < 1e-12
    assert result.chosen == 0
    assert result.box().restricted == []


# 5, 6 -----------------------------------------------------------------------

LEVERS = f"{USA_READY},relations.commitments.2.strength"


def _figure():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [0.1, 0.4, 0.2])
    ax.set_title("a figure")
    return fig


@pytest.mark.parametrize("suffix", [".jpg", ".tif", ".h5", ".eps"])
def test_5_save_figure_refuses_other_formats_before_writing(tmp_path, suffix):
    target = tmp_path / f"figure{suffix}"
    with pytest.raises(ValueError, match=f"ends in \\{suffix}, which is not a figure format written here; "
                                         "use .png, .pdf or .svg"):
        ba.save_figure(_figure(), target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml"),
                                           (".PDF", b"%PDF")])
def test_5_save_figure_writes_png_pdf_and_svg_reproducibly(tmp_path, suffix, magic):
    fig = _figure()
    a = ba.save_figure(fig, tmp_path / f"a{suffix}")
    b = ba.save_figure(fig, tmp_path / f"b{suffix}")
    assert a.read_bytes().startswith(magic) and a.read_bytes() == b.read_bytes()
    assert b"Matplotlib" not in a.read_bytes() and b"CreationDate" not in a.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"a{suffix}", f"b{suffix}"]  # no temporary file left


def test_5_a_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):
    fig = _figure()

    def fail_halfway(path, **kwargs):
        with open(path, "wb") as half:
            half.write(b"\x89PNG half a figure")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fig, "savefig", fail_halfway)
    with pytest.raises(OSError, match="No space left"):
        ba.save_figure(fig, tmp_path / "new.png")
    assert list(tmp_path.iterdir()) == []
    kept = tmp_path / "kept.png"
    kept.write_bytes(b"an earlier figure")
    with pytest.raises(OSError, match="No space left"):
        ba.save_figure(fig, kept, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["kept.png"] and kept.read_bytes() == b"an earlier figure"


def test_5_robust_plot_format_is_checked_before_the_report(policy_grid_file, tmp_path):
    for name in ("robust.jpg", "robust.tif", "robust.h5"):
        done = run_module("robust", policy_grid_file, "--levers", LEVERS, "--plot", tmp_path / name)
        assert (done.returncode, done.stdout) == (2, ""), done.stderr
        suffix = name.split(".")[1]
        assert done.stderr == (f"brink-analysis robust: --plot '{tmp_path / name}' ends in .{suffix}, which is not a "
                               "figure format written here; use .png, .pdf or .svg\n")
    assert list(tmp_path.iterdir()) == []
    done = run_module("robust", policy_grid_file, "--levers", LEVERS, "--plot", tmp_path / "robust.svg")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "robust.svg").read_bytes().startswith(b"<?xml")


def test_6_save_figure_replaces_a_file_only_when_told(tmp_path):
    target = tmp_path / "figure.png"
    target.write_bytes(b"an earlier result")
    with pytest.raises(FileExistsError, match=f"path '{target}' exists; pass overwrite=True to replace it"):
        ba.save_figure(_figure(), target)
    with pytest.raises(FileExistsError):
        ba.save_figure(_figure(), tmp_path / "figure")  # the .png it would get
    assert target.read_bytes() == b"an earlier result"
    assert ba.save_figure(_figure(), target, overwrite=True) == target
    assert target.read_bytes().startswith(b"\x89PNG")


def test_6_discover_plots_and_robust_plot_keep_existing_files(lhs_file, policy_grid_file, tmp_path):
    folder = tmp_path / "figs"
    folder.mkdir()
    (folder / "prim-box.png").write_bytes(b"an earlier result")
    done = run_module("discover", lhs_file, "--no-scores", "--plots", folder)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"brink-analysis discover: --plots '{folder / 'prim-box.png'}' exists; give --overwrite "
                           "to replace it\n")
    assert sorted(p.name for p in folder.iterdir()) == ["prim-box.png"]
    assert (folder / "prim-box.png").read_bytes() == b"an earlier result"
    done = run_module("discover", lhs_file, "--no-scores", "--plots", folder, "--overwrite")
    assert done.returncode == 0, done.stderr
    assert (folder / "prim-box.png").read_bytes().startswith(b"\x89PNG")

    plot = tmp_path / "robust.png"
    plot.write_bytes(b"an earlier result")
    done = run_module("robust", policy_grid_file, "--levers", LEVERS, "--plot", plot)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"brink-analysis robust: --plot '{plot}' exists; give --overwrite to replace it\n"
    assert plot.read_bytes() == b"an earlier result"
    done = run_module("robust", policy_grid_file, "--levers", LEVERS, "--plot", plot, "--overwrite")
    assert done.returncode == 0 and plot.read_bytes().startswith(b"\x89PNG"), done.stderr


# 7 --------------------------------------------------------------------------


@pytest.fixture
def nothing_finished(policy_grid_file, tmp_path):
    """policy_grid_file as a run stopped before its first point was done leaves it: no `complete`,
    replications 0 at every point."""
    import shutil

    import h5py

    target = tmp_path / "stopped.h5.partial"
    shutil.copy(policy_grid_file, target)
    with h5py.File(target, "r+") as f:
        del f.attrs["complete"]
        f["replications"][...] = 0
    return target


def test_7_a_file_without_a_finished_point_says_so(nothing_finished):
    message = (f"no point of '{nothing_finished}' has finished (the run stopped before its first point was done): "
               "continue it with brink run ... --resume")
    with pytest.warns(RuntimeWarning, match="incomplete"):
        ds = ba.open_results(nothing_finished)
    with ds:
        calls = [lambda: ba.find_boxes(ds, "full_war"), lambda: ba.discovery_data(ds, per="point"),
                 lambda: ba.robustness_table(ds, LEVERS.split(",")), lambda: ba.robustness_table([ds], LEVERS.split(",")),
                 lambda: ba.plot_outcome_scatter(ds, PATIENCE, DEPLOYED), lambda: ba.plot_partial_dependence(ds),
                 lambda: ba.plot_outcome_probability(ds, PATIENCE, where={DEPLOYED: 80000, USA_READY: 8500,
                                                                          "relations.commitments.2.strength": 0.15})]
        for call in calls:
            with pytest.raises(ValueError) as error:
                call()
            assert str(error.value) == message
    for args in (("discover", nothing_finished), ("robust", nothing_finished, "--levers", LEVERS)):
        done = run_module(*args)
        assert (done.returncode, done.stdout) == (2, ""), done.stderr
        assert done.stderr.splitlines()[-1] == f"brink-analysis {args[0]}: {message}"


# 8 --------------------------------------------------------------------------


def _policy_table():
    """Three policies (lev) in three states (unc); regret worked out by hand in the hostile report."""
    by_policy = {1: [0.1, 0.5, 0.2], 2: [0.3, 0.3, 0.3], 3: [0.05, 0.6, 0.15]}
    return pd.DataFrame([{"lev": lev, "unc": state, "probability": p}
                         for lev, ps in by_policy.items() for state, p in zip([10, 20, 30], ps)])


@pytest.mark.parametrize("value, why", [
    (1.5, "holds 1.5 in row 2, which is not a probability in [0, 1]"),
    (-0.25, "holds -0.25 in row 2, which is not a probability in [0, 1]"),
    (np.inf, "holds inf in row 2, which is not a probability in [0, 1]"),
    (np.nan, "holds NaN in row 2: every (policy, state) pair needs a probability"),
])
@pytest.mark.parametrize("shape", ["points", "outcome_table", "nullable"])
def test_8_table_probabilities_are_checked(value, why, shape):
    table = _policy_table()
    table.loc[2, "probability"] = value
    if shape == "outcome_table":  # summed over outcomes: a NaN was skipped, as if 0
        table["outcome"] = "full_war"
    if shape == "nullable":
        table["probability"] = table["probability"].astype("Float64")
        if np.isnan(value):
            table.loc[2, "probability"] = pd.NA
    for call in (ba.robustness_table, ba.policy_outcomes, ba.regret_table):
        with pytest.raises(ValueError) as error:
            call(table, ["lev"])
        assert str(error.value).startswith(f"the table's 'probability' column {why}"), str(error.value)


def test_8_small_distinct_parameter_values_stay_distinct():
    table = _policy_table()
    expected = ba.robustness_table(table, ["lev"])
    for column in ("unc", "lev"):
        tiny = table.assign(**{column: table[column] * 1e-12})
        result = ba.robustness_table(tiny, ["lev"])
        assert len(result) == 3 and (result["states"] == 3).all()
        np.testing.assert_allclose(result["max_regret"], expected["max_regret"])
    # Values equal but for rounding are still one key (files of one design written separately).
    noisy = table.assign(unc=table["unc"] * (1 + 1e-15 * (table["lev"] - 2)))
    assert (ba.robustness_table(noisy, ["lev"])["states"] == 3).all()


# 9 --------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", [",", "full_war,", "full_war,,limited_war", " , "])
def test_9_an_empty_outcome_name_is_named_as_such(lhs_file, outcome):
    with ba.open_results(lhs_file) as ds:
        with pytest.raises(ValueError, match=r"^outcome .* holds an empty name \(a comma too many\?\)$"):
            ba.find_boxes(ds, outcome)
        with pytest.raises(ValueError, match="holds an empty name"):
            ba.find_boxes(ds, ["full_war", ""])
    done = run_module("discover", lhs_file, "--outcome", outcome)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"brink-analysis discover: outcome {outcome!r} holds an empty name (a comma too many?)\n"


def test_9_empty_names_in_parameters_and_levers_are_refused(lhs_file, policy_grid_file):
    done = run_module("discover", lhs_file, "--parameters", f"{PATIENCE},,")
    assert done.returncode == 2 and done.stderr == (f"brink-analysis discover: --parameters '{PATIENCE},,' holds an "
                                                    "empty name (a comma too many?)\n")
    done = run_module("robust", policy_grid_file, "--levers", ",")
    assert done.returncode == 2 and "--levers ',' holds an empty name" in done.stderr


@pytest.mark.parametrize("where", ["X", "y", "weights"])
def test_9_pandas_missing_values_get_the_package_sentence(where):
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.uniform(0, 1, (200, 2)), columns=["a", "b"])
    y, w = (X["a"] > 0.5).astype(float), pd.Series(np.ones(200))
    gap = X["a"] < 0.01
    assert gap.any()
    kind = {"X": "parameter value", "y": "outcome", "weights": "weight"}[where]
    if where == "X":
        X = X.astype("Float64").mask(gap)
    elif where == "y":
        y = y.astype("Float64").mask(gap)
    else:
        w = w.astype("Float64").mask(gap)
    for call in (ba.prim, ba.cart_boxes, ba.feature_scores):
        with pytest.raises(ValueError, match=f"hold a non-finite {kind}; drop or fill those cases first"):
            call(X, y, w)


# found beside 5: a reader that stops early (| head) -------------------------


def test_reader_that_stops_early_is_no_damaged_file(policy_grid_file):
    """``robust ... | head -1``: the closed pipe is not reported as a damaged file (exit 2), and not at all."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(ba.__file__).resolve().parents[1])}
    child = subprocess.Popen([sys.executable, "-m", "brink_analysis", "robust", policy_grid_file, "--levers",
                              f"{USA_READY},relations.commitments.2.strength"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    child.stdout.close()  # before the report is printed
    stderr = child.stderr.read().decode()
    # the grid runs its policies under independent random numbers, which a note says (round 38, M1), and
    # its two policies of commitment 0.6 tie at P(full_war) 0, which a note says too (round 41, F4)
    others = [line for line in stderr.splitlines()
              if "independent random numbers" not in line and "policies tie at the top" not in line]
    assert child.wait(timeout=120) == 0 and others == [], stderr
