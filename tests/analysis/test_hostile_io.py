"""Findings of the hostile test of the package's reading, discovery and command line (io.py,
discovery.py, prim.py, robust.py, runner.py, command.py), each on files the real brink binary
writes, with expected values read with h5py or computed here.

Item numbers are those of the hostile report.
"""

import re
import shutil
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

import brink_analysis as ba
from brink_analysis import command as ba_command
from brink_analysis import _open_results

from .conftest import DEPLOYED, PATIENCE, USA_READY, _run
from .test_explore import run_module

OUTCOMES = ["settlement", "standoff", "limited_war", "full_war", "alliance_war"]
EVERY_OUTCOME = ",".join(OUTCOMES)


def raw(path, name):
    with h5py.File(path, "r") as f:
        return f[name][()]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile_io")


@pytest.fixture(scope="module")
def line_file(brink, files):
    """Three patience values, summaries only: too few points for the extra-trees model."""
    return _run(brink, files / "line.h5", "-n", 256, "--summary-only", "--sweep", f"{PATIENCE}=15,30,60")


def _names_of_law(path):
    """{index: name} of combat.law, from the coordinate's CF flags as h5py reads them."""
    with h5py.File(path, "r") as f:
        attrs = f["combat_law"].attrs
        return dict(zip(map(float, attrs["flag_values"]), attrs["flag_meanings"].decode().split()))


# 1 --------------------------------------------------------------------------


def _interrupted_copy(source, target, unfinished):
    """`source` as an interrupted run leaves it: no `complete`; at the points `unfinished`,
    replications 0, with the summaries left as they are (a killed run writes a point's
    probabilities before its replications) or, at the last one, zeroed."""
    shutil.copy(source, target)
    with h5py.File(target, "r+") as f:
        del f.attrs["complete"]
        for p in unfinished:
            f["replications"][p] = 0
        f["outcome_probability"][unfinished[-1]] = 0
    return target


def _summaries(ds):
    return [n for n, v in ds.data_vars.items() if "point" in v.dims and "replication" not in v.dims
            and v.dtype.kind in "iuf" and n not in ("replications", "parameter_value", "block_done")]


def test_1_to_grid_and_indexed_read_unfinished_points_as_nan(grid_file, tmp_path):
    partial = _interrupted_copy(grid_file, tmp_path / "grid.h5.partial", [4, 7])
    replications = raw(partial, "replications")
    probability = raw(partial, "outcome_probability")
    assert probability[4].sum() > 0  # the premise: the file holds a number there
    with pytest.warns(RuntimeWarning, match="incomplete"):
        ds = ba.open_results(partial)
    with ds:
        deployed, patience = raw(partial, "parameter_value").T[:2]  # the file's order: the two --sweep axes
        full = OUTCOMES.index("full_war")
        grid = ba.to_grid(ds.outcome_probability).sel(outcome="full_war")
        whole = ba.to_grid(ds)
        for p in range(len(replications)):
            at = {DEPLOYED: deployed[p], PATIENCE: patience[p]}
            got = float(grid.sel(at))
            if replications[p] > 0:
                assert got == probability[p, full]
            else:
                assert np.isnan(got)
                for name in _summaries(ds):  # every per-point result of the point, not only probabilities
                    assert whole[name].sel(at).isnull().all(), name
                assert int(whole["replications"].sel(at)) == 0  # the count itself is true
            picked = ba.indexed(ds).outcome_probability.sel(
                {"actors_RUS_forces_deployed": deployed[p], "actors_RUS_decision_patience_days": patience[p],
                 "outcome": "full_war"})
            assert np.isnan(float(picked)) == (replications[p] == 0)
        np.testing.assert_array_equal(ds["finished"].values, replications > 0)


def test_1_a_shard_reads_other_shards_points_as_nan(brink, tmp_path):
    shard = _run(brink, tmp_path / "shard.h5", "-n", 64, "--summary-only", "--shard", "0/2",
                 "--sweep", f"{PATIENCE}=10,20,30")
    held = raw(shard, "replications") > 0
    assert held.tolist() == [True, False, True]  # the premise: point 1 is the other shard's
    with pytest.warns(RuntimeWarning, match="shard 0 of 2"):
        ds = ba.open_results(shard)
    with ds:
        grid = ba.to_grid(ds.outcome_probability)
        np.testing.assert_array_equal(grid.isnull().all("outcome").values, ~held)
        np.testing.assert_array_equal(grid.values[held], raw(shard, "outcome_probability")[held])


# 2, 3 -----------------------------------------------------------------------


def test_2_every_case_of_interest_is_refused_despite_rounding(grid):
    X, _, w = ba.discovery_data(grid, "full_war")
    y = np.ones(len(X))
    y[::2] = 1 - 2**-53  # a sum of probabilities that is 1 everywhere can miss it in the last bit
    for score in (ba.feature_scores, ba.variance_explained):
        with pytest.raises(ValueError, match=r"^the outcome is 1 in every case, so no parameter explains"):
            score(X, y, w)
    with pytest.raises(ValueError, match=r"^the outcome is 1 in every case"):
        ba.feature_scores(*ba.discovery_data(grid, EVERY_OUTCOME))


def test_3_too_few_points_for_the_tree_model_give_nan_not_zero(line_file, grid):
    with ba.open_results(line_file) as ds:
        X, y, w = ba.discovery_data(ds)
    assert len(X) == 3 and np.ptp(y) > 0.05  # the premise: patience moves the outcome
    with pytest.warns(RuntimeWarning, match=r"extra_trees is NaN: .* could not split the 3 cases .* needs 4"):
        scores = ba.feature_scores(X, y, w)
    assert scores["extra_trees"].isna().all()
    # Three points are too few to bin as well (the outside test of issue 14, F3): NaN, not 1.
    assert scores["variance_explained"].isna().all() and ba.variance_explained(X, y, w).isna().all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nine points: the model splits, and its importances sum to 1
        assert ba.feature_scores(*ba.discovery_data(grid))["extra_trees"].sum() == pytest.approx(1.0)


# 4 --------------------------------------------------------------------------


def test_4_discover_applies_the_threshold_to_every_number(lhs_file):
    threshold = 0.5
    done = run_module("discover", lhs_file, "--threshold", threshold, "--cart")
    assert done.returncode == 0, done.stderr
    replications = raw(lhs_file, "replications").astype(float)
    probability = raw(lhs_file, "outcome_probability")[:, OUTCOMES.index("full_war")]
    interest = (probability >= threshold).astype(float)
    share = np.average(interest, weights=replications)
    assert f"share of cases of interest (P(full_war) >= 0.5) {share:.4f})" in done.stdout.splitlines()[0]
    with ba.open_results(lhs_file) as ds:
        X, _, w = ba.discovery_data(ds)
    fmt = lambda v: f"{v:.4f}"  # noqa: E731 - the command's own format
    assert ba.feature_scores(X, interest, w).to_string(float_format=fmt) in done.stdout
    with pd.option_context("display.max_colwidth", None):
        assert ba.cart_boxes(X, interest, w).to_string(float_format=fmt) in done.stdout
    # Every case of interest: PRIM's note, and the scores say why there are none (not an exit 2 after the report).
    done = run_module("discover", lhs_file, "--threshold", 0)
    assert done.returncode == 0, done.stderr
    assert "(none: the outcome is 1 in every case, so no parameter explains any of it)" in done.stdout


# 5 --------------------------------------------------------------------------


def test_5_cart_rules_and_prim_limits_name_categorical_values(law_file):
    names = _names_of_law(law_file)
    with ba.open_results(law_file) as ds:
        X, y, w = ba.discovery_data(ds)
    law = np.asarray(X["combat.law"])
    # An outcome that only the linear law has: CART splits on the law, PRIM keeps the linear law.
    linear = next(k for k, v in names.items() if v == "linear")
    y = np.where(law == linear, 0.9, 0.1)
    rules = ba.cart_boxes(X, y, w)["rule"]
    assert rules.iloc[0] == "combat.law = linear" and set(rules) == {"combat.law = linear", "combat.law = square"}
    limits = ba.prim(X, y, w).box().limits()
    assert limits.loc["combat.law", "values"] == "linear"
    assert limits.loc["combat.law", "lower"] == limits.loc["combat.law", "upper"] == linear  # numbers still
    wide = ba.prim(X, y, w).boxes[0].limits(all_parameters=True)
    assert wide.loc["combat.law", "values"] == ", ".join(names[k] for k in sorted(names))
    assert wide.loc[PATIENCE, "values"] == ""


# 7, 8 -----------------------------------------------------------------------


@pytest.mark.parametrize("error", [AttributeError("'NoneType' object has no attribute 'attrs'"),
                                   TypeError("garbage"), IndexError("index 7 is out of bounds")])
def test_7_damaged_metadata_gets_the_one_sentence_error(plain_file, monkeypatch, error):
    def tripped(*args, **kwargs):  # what h5netcdf raises on some damaged metadata
        raise error

    monkeypatch.setattr(_open_results.xr, "open_dataset", tripped)
    with pytest.raises(ValueError, match=re.escape(f"'{plain_file}' is damaged and cannot be read")) as caught:
        ba.open_results(plain_file)
    assert caught.value.__cause__ is error and "\n" not in str(caught.value)


def _damaged_chunk(source, target, name="outcome_code"):
    """`source` with one byte flipped inside the first compressed chunk of variable `name`."""
    shutil.copy(source, target)
    with h5py.File(target, "r") as f:
        chunk = f[name].id.get_chunk_info(0)
        assert f[name].compression == "gzip"  # the premise: deflate checks the chunk when it is read
    with open(target, "r+b") as f:
        f.seek(chunk.byte_offset + chunk.size // 2)
        byte = f.read(1)[0]
        f.seek(chunk.byte_offset + chunk.size // 2)
        f.write(bytes([byte ^ 0x55]))
    return target


def test_8_a_damaged_chunk_is_named_with_its_file_and_variable(lhs_file, tmp_path):
    damaged = _damaged_chunk(lhs_file, tmp_path / "damaged.h5")
    with ba.open_results(damaged) as ds:  # opens: per-replication chunks are checked when read
        with pytest.raises(ValueError, match=re.escape(f"'{damaged}' is damaged: variable 'outcome_code' "
                                                       "cannot be read (")) as caught:
            ba.discovery_data(ds, per="replication")
        assert isinstance(caught.value.__cause__, OSError)
    done = run_module("discover", damaged, "--per", "replication")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and f"'{damaged}' is damaged: variable 'outcome_code'" in done.stderr


def test_8_the_command_turns_any_read_error_into_one_sentence(lhs_file, monkeypatch, capsys):
    from brink_analysis import discovery

    def unreadable(*args, **kwargs):  # h5py's error for a damaged chunk read lazily, naming no file
        raise OSError("Can't synchronously read data (inflate() failed)")

    monkeypatch.setattr(discovery, "discovery_data", unreadable)
    assert ba_command.main(["discover", str(lhs_file)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot read '{lhs_file}': is it damaged? (" in err and "inflate() failed" in err


# 9 --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def posterior_file(brink, source_dir, files):
    """A --posterior run of the back-test (one point; every replication draws its own parameters)."""
    import subprocess

    cal = files / "cal.h5"
    subprocess.run([brink, "calibrate", str(source_dir / "scenarios" / "backtest-2022.yaml"), "--particles", "32",
                    "--generations", "1", "--replications", "4", "--threads", "2", "-q", "-o", str(cal)],
                   check=True, timeout=120)
    return _run(brink, files / "post.h5", str(source_dir / "scenarios" / "backtest-2022.yaml"),
                "--posterior", cal, "-n", 64)


def test_9_replication_parameters_checks_its_point(posterior_file, grid):
    with ba.open_results(posterior_file) as ds:
        table = ba.replication_parameters(ds, 0)
        with h5py.File(posterior_file, "r") as f:
            for name, var in f.items():
                path = var.attrs.get("parameter_path")
                if path is not None and var.ndim == 2 and var.shape[1] == 64:
                    np.testing.assert_array_equal(table[path.decode()].to_numpy(), var[0])
        assert len(table.columns) > 0  # the premise: the file has drawn parameters
        for bad in (1, -1):
            with pytest.raises(ValueError, match=rf"^no point {bad} in this file \(it has points 0 to 0\)$"):
                ba.replication_parameters(ds, bad)
        with pytest.raises(TypeError, match=r"must be an integer; got True$"):
            ba.replication_parameters(ds, True)
        with pytest.raises(ValueError, match=rf"^'{PATIENCE}' is not a parameter of this file"):
            ba.replication_parameters(ds, {PATIENCE: 60})
    with pytest.raises(ValueError, match=r"^no point 9 in this file"):  # any file, not only a posterior one
        ba.replication_parameters(grid, 9)


# 10 -------------------------------------------------------------------------


def test_10_plot_paths_are_checked_before_any_report(lhs_file, policy_grid_file, tmp_path):
    folder = tmp_path / "folder"
    (folder / "sub.png").mkdir(parents=True)
    levers = f"{USA_READY},relations.commitments.2.strength"
    robust = ("robust", policy_grid_file, "--levers", levers, "--plot")
    cases = {
        ("discover", lhs_file, "--plots", lhs_file / "sub"):
            f"--plots '{lhs_file / 'sub'}' cannot be written: '{lhs_file}' is a file, not a folder",
        ("discover", lhs_file, "--plots", lhs_file): f"--plots must be a folder; '{lhs_file}' is a file",
        (*robust, folder): f"--plot '{folder}' is a folder; give a file name ending in .png, .pdf or .svg",
        (*robust, lhs_file / "x.png"): f"--plot '{lhs_file / 'x.png'}' cannot be written: '{lhs_file}' is a file, "
                                       "not a folder",
        (*robust, folder / "sub"):  # .png added
            f"--plot '{folder / 'sub.png'}' is a folder; give a file name ending in .png, .pdf or .svg",
    }
    for args, message in cases.items():
        done = run_module(*args)
        assert (done.returncode, done.stdout) == (2, ""), (args, done.stdout, done.stderr)
        assert done.stderr == f"brink-analysis {args[0]}: {message}\n"
    done = run_module(*robust, tmp_path / "new" / "robust")
    assert done.returncode == 0 and (tmp_path / "new" / "robust.png").is_file(), done.stderr


# 11, 13 ---------------------------------------------------------------------


def test_11_repeated_columns_are_refused(grid):
    X, y, w = ba.discovery_data(grid)
    twice = X[[PATIENCE, PATIENCE]]
    for call in (ba.prim, ba.cart_boxes, ba.feature_scores):
        with pytest.raises(ValueError, match=rf"^X column '{re.escape(PATIENCE)}' appears twice"):
            call(twice, y, w)


def test_13_a_parameter_fixed_with_set_is_refused(grid, grid_file):
    fixed = raw(grid_file, "parameter_value")[:, 2]
    assert np.all(fixed == fixed[0])  # the premise: --set actors.USA.forces.ready=8500, third in the file
    message = rf"^parameter {re.escape(USA_READY)} has one value \(8,500\) at every point \(fixed with --set\?\)"
    for call in (lambda: ba.discovery_data(grid, parameters=[PATIENCE, USA_READY]),
                 lambda: ba.find_boxes(grid, parameters=[USA_READY]),
                 lambda: ba.discovery_data(grid, parameters=[USA_READY], per="replication")):
        with pytest.raises(ValueError, match=message):
            call()
    done = run_module("discover", grid_file, "--parameters", USA_READY)
    assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1


# 14 -------------------------------------------------------------------------


def test_14_brink_command_refuses_a_string_of_args_and_a_scalar_sweep(brink):
    with pytest.raises(TypeError, match=r"^args must be a list of extra arguments, e\.g\. \['--quiet'\]; "
                                        r"got '--quiet'$"):
        ba.brink_command(output="x.h5", args="--quiet", binary=brink)
    with pytest.raises(TypeError, match=rf"^sweep of '{re.escape(PATIENCE)}' must be a list of values.*got 5 "):
        ba.brink_command(output="x.h5", sweep={PATIENCE: 5}, binary=brink)
    assert ba.brink_command(output="x.h5", args=["--quiet"], sweep={PATIENCE: [5, 10]}, binary=brink)[2:] == [
        "--sweep", f"{PATIENCE}=5,10", "--quiet", "-o", "x.h5"]


def test_14_io_refuses_a_list_as_where_and_an_unknown_label(grid):
    with pytest.raises(TypeError, match=r"^where must be a \{parameter path: value\} dict; got \["):
        ba.select_points(grid, [PATIENCE])
    with pytest.raises(ValueError, match=r"^'no\.such\.path' is not a parameter of this file; its parameters: "):
        ba.label_of(grid, "no.such.path")
    assert ba.label_of(grid, PATIENCE) == "RUS patience (days)"


def test_14_to_grid_says_an_axis_is_left_out(law_file):
    with ba.open_results(law_file) as ds:
        for data in (ds, ds.outcome_probability):
            with pytest.raises(ValueError, match=rf"^the 6 points are not a grid of {re.escape(PATIENCE)} alone: "
                                                 r"the file also sweeps combat\.law; name every axis"):
                ba.to_grid(data, [PATIENCE])
        assert dict(ba.to_grid(ds.outcome_probability, [PATIENCE, "combat.law"]).sizes) == {
            "outcome": 5, PATIENCE: 3, "combat.law": 2}


def test_14_robustness_names_a_lever_given_as_uncertainty_and_a_file_given_twice(policy_grid_file):
    levers = [USA_READY, "relations.commitments.2.strength"]
    with ba.open_results(policy_grid_file) as ds, ba.open_results(policy_grid_file) as again:
        with pytest.raises(ValueError, match=rf"^'{re.escape(USA_READY)}' is named both as a lever and as an "
                                             "uncertainty"):
            ba.robustness_table(ds, levers, uncertainties=[USA_READY, PATIENCE, DEPLOYED])
        for twice in ([ds, ds], [ds, again]):
            with pytest.raises(ValueError, match=r"^the file '.*policy-grid\.h5' is given twice"):
                ba.robustness_table(twice, [USA_READY])
    done = run_module("robust", policy_grid_file, policy_grid_file, "--levers", USA_READY)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"brink-analysis robust: '{policy_grid_file}' is given twice: give each policy's file once\n"


# Files edited by hand: a variable every result holds is missing or of another kind ---------------


def _edited(source, target, name, replacement=None):
    shutil.copy(source, target)
    with h5py.File(target, "r+") as f:
        values = f[name][()]
        del f[name]
        if replacement is not None:
            f.create_dataset(name, data=values.astype(replacement))
    return target


@pytest.mark.parametrize("name, replacement, problem", [
    ("outcome_probability", None, "the variable 'outcome_probability' is missing"),
    ("parameter_value", None, "the variable 'parameter_value' is missing"),
    ("replications", None, "the variable 'replications' is missing"),
    ("outcome", None, "the variable 'outcome' is missing"),
    ("outcome_probability", np.int8, "the variable 'outcome_probability' holds int8 values, not floating-point ones"),
])
def test_a_result_missing_a_variable_every_result_holds_is_refused_by_name(lhs_file, tmp_path, name, replacement,
                                                                           problem):
    edited = _edited(lhs_file, tmp_path / "edited.h5", name, replacement)
    expected = f"'{edited}' is not a whole brink result: {problem} (a damaged or edited file); run it again"
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        ba.open_results(edited)
    for command in ("discover", "robust"):
        done = run_module(command, edited)
        assert done.returncode == 2 and done.stdout == "", done.stderr
        assert done.stderr == f"brink-analysis {command}: {expected}\n"


def test_robustness_of_a_selection_without_the_summaries_names_what_is_missing(policy_grid_file):
    with ba.open_results(policy_grid_file) as ds:
        with pytest.raises(ValueError, match=r"^this file has no outcome summaries \(no variable "
                                             r"'outcome_probability'\): open the whole file"):
            ba.robustness_table(ds.drop_vars("outcome_probability"), [USA_READY])
