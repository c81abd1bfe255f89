"""Tests of the analysis package (analysis/brink_analysis) on files written by the real CLI.

Expected values are read straight from the files with h5py, independently of
xarray, so the package is checked against the engine's arrays.
"""

import os
import re
import shutil
import signal
import subprocess
import time
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.collections import PolyCollection

import brink_analysis as ba
from brink_analysis import _hdf5_file

DEPLOYED = "actors.RUS.forces.deployed"
PATIENCE = "actors.RUS.decision.patience_days"
COMMITMENT = "relations.commitments.2.strength"
OUTCOMES = ["settlement", "standoff", "limited_war", "full_war", "alliance_war"]
ACTORS = ["RUS", "USA", "NATO", "UKR"]


def raw(path, name):
    with h5py.File(path, "r") as f:
        return f[name][()]


def strings(path, name):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in raw(path, name)]


@pytest.fixture
def single(single_file):
    with ba.open_results(single_file) as ds:
        yield ds


# --------------------------------------------------------------------------
# open_results
# --------------------------------------------------------------------------


def test_open_results_dims_coords_and_types(grid, grid_file):
    assert grid.sizes["point"] == 9
    assert grid.sizes["replication"] == 256
    assert grid.sizes["step"] == 13  # 120 steps, every 10: records 0, 10, ..., 120
    assert grid.sizes["outcome"] == 5
    for dim, expected in [("actor", ACTORS), ("outcome", OUTCOMES), ("pool", ["deployed", "ready", "reserve"])]:
        values = list(grid[dim].values)
        assert values == expected
        assert all(isinstance(v, str) for v in values)
    assert all(isinstance(v, str) for v in grid["rung"].values)
    assert all(isinstance(v, str) for v in grid["type_name"].values.ravel())
    assert list(grid["type_name"].sel(actor="RUS").values[:2]) == ["resolved", "coercer"]
    assert list(grid["issue"].values) == strings(grid_file, "issue")
    assert all(isinstance(v, str) for v in grid["issue"].values)
    # One time axis: step (every 10 steps here) with day along it, numeric days, not timedelta64
    assert "horizon" not in grid.dims
    assert int(grid.attrs["step_every"]) == 10
    np.testing.assert_array_equal(grid["step"].values, np.arange(0, 121, 10))
    assert "day" in grid.coords and grid["day"].dims == ("step",)
    assert grid["day"].dtype.kind == "f"
    np.testing.assert_array_equal(grid["day"].values, np.arange(0, 121, 10, dtype=float))
    assert grid["mean_end_day"].dtype.kind == "f"
    for name in ("troops", "survival", "rung_share", "mean_troops", "mean_belief"):
        assert grid[name].dims[:2] in (("point", "step"), ("point", "replication")), name
        assert "day" in grid[name].coords, name
    assert grid.attrs["complete"] == 1


def test_step_axis_without_timeseries(plain_file):
    # Without --timeseries the step axis holds every step: the initial state and
    # the state after each of the 120 daily steps; only the per-point summaries lie on it.
    with ba.open_results(plain_file) as ds:
        assert int(ds.attrs["step_every"]) == 1
        np.testing.assert_array_equal(ds["step"].values, np.arange(121))
        np.testing.assert_array_equal(ds["day"].values, np.arange(121, dtype=float))
        for name in ("troops", "rung_series", "tension", "belief"):
            assert name not in ds.variables
        assert ds["survival"].dims == ("point", "step")


def test_open_results_attaches_parameters_along_point(grid, grid_file):
    names = strings(grid_file, "parameter")
    values = raw(grid_file, "parameter_value")
    assert ba.parameters(grid) == names
    assert set(names) == {DEPLOYED, PATIENCE, "actors.USA.forces.ready"}
    for i, name in enumerate(names):
        assert grid.coords[name].dims == ("point",)
        np.testing.assert_array_equal(grid.coords[name].values, values[:, i])
    assert grid.coords[DEPLOYED].attrs["units"] == "troops"
    assert grid.coords[PATIENCE].attrs["units"] == "days"
    # only the varying ones count as swept; the constant --set does not
    assert ba.swept_parameters(grid) == [n for n in names if n != "actors.USA.forces.ready"]
    # the parameter coordinates make swap_dims/sel by value work
    at30 = grid.isel(point=ba.select_points(grid, {PATIENCE: 30}))
    by_deployed = at30.outcome_probability.swap_dims(point=DEPLOYED)
    assert list(by_deployed[DEPLOYED].values) == [60000.0, 120000.0, 180000.0]
    k = ba.point_position(grid, {DEPLOYED: 120000, PATIENCE: 30})
    np.testing.assert_array_equal(
        by_deployed.sel({DEPLOYED: 120000.0}).values, raw(grid_file, "outcome_probability")[k]
    )
    # and a grid unstacks into one axis per parameter
    grid2d = grid.outcome_probability.set_index(point=[DEPLOYED, PATIENCE]).unstack("point")
    assert grid2d.sel(outcome="full_war").shape == (3, 3)
    assert float(grid2d.sel({"outcome": "full_war", DEPLOYED: 120000.0, PATIENCE: 30.0})) == \
        raw(grid_file, "outcome_probability")[k, 3]


def test_open_results_single_point_has_no_parameters(single):
    assert single.sizes["point"] == 1
    assert ba.parameters(single) == []
    assert ba.swept_parameters(single) == []
    assert ba.point_label(single, 0) == "point 0"


def test_open_results_rejects_missing_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no brink result file"):
        ba.open_results(tmp_path / "nothing.h5")
    foreign = tmp_path / "foreign.h5"
    xr.Dataset({"x": ("a", np.arange(3))}).to_netcdf(foreign, engine="h5netcdf")
    with pytest.raises(ValueError, match="not a brink result file"):
        ba.open_results(foreign)


# Files open_results cannot read: each gets one sentence naming the file (FileNotFoundError or
# ValueError), with HDF5's own error kept as the cause, instead of h5py's traceback.


def _overwrite(source, target, offset, data):
    shutil.copy(source, target)
    with open(target, "r+b") as f:
        f.seek(offset)
        f.write(data)


UNREADABLE = {
    # name: (how to make it from a brink result, the message, the type of HDF5's error kept as the cause)
    "empty.h5": (lambda ok, p: p.write_bytes(b""), r"is empty \(0 bytes\), not a brink result file", OSError),
    "x.h5": (lambda ok, p: p.write_text("a text file, not HDF5\n"),
             r"is not a brink result file: it is not an HDF5 file at all", OSError),
    "trunc.h5": (lambda ok, p: p.write_bytes(ok.read_bytes()[:20000]),
                 r"is truncated \(20,000 bytes of the [0-9,]+ its header declares\)", OSError),
    "damaged.h5": (lambda ok, p: _overwrite(ok, p, 2000, b"\xff" * 2000),
                   r"is damaged and cannot be read as a brink result \(.*checksum", (OSError, RuntimeError)),
}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_open_results_names_a_file_it_cannot_read(name, plain_file, tmp_path):
    make, message, cause = UNREADABLE[name]
    path = tmp_path / name
    make(plain_file, path)
    with pytest.raises(ValueError, match=re.escape(f"'{path}' ") + message) as caught:
        ba.open_results(path)
    assert isinstance(caught.value.__cause__, cause), repr(caught.value.__cause__)
    assert "\n" not in str(caught.value)


def test_open_results_says_a_foreign_hdf5_file_is_not_a_result(tmp_path):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = [1, 2, 3]  # no dimension scales: h5netcdf would advise phony_dims, which does not apply
    with pytest.raises(ValueError) as caught:
        ba.open_results(foreign)
    assert str(caught.value) == f"'{foreign}' is not a brink result file (its root attribute 'engine' is not 'brink')"


def test_open_results_names_calibration_files_and_reads_shards(brink, source_dir, tmp_path):
    cal = tmp_path / "cal.h5"
    subprocess.run([brink, "calibrate", str(source_dir / "scenarios" / "backtest-2022.yaml"), "--particles", "100",
                    "--generations", "2", "--replications", "8", "--threads", "2", "-q", "-o", str(cal)],
                   check=True, timeout=120)
    with pytest.raises(ValueError, match=re.escape(f"'{cal}' is a brink calibration file (brink calibrate), "
                                                   "not a result file: open it with xarray.open_dataset")):
        ba.open_results(cal)
    shard = tmp_path / "shard.h5"
    subprocess.run([brink, "run", "-n", "256", "--shard", "0/2", "--sweep", f"{PATIENCE}=10,20,30", "-q", "-o",
                    str(shard)], check=True, timeout=60)
    # A complete shard is not "incomplete", but it is not the whole sweep either: one warning says so.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ba.open_results(shard) as ds:
            assert int(ds.attrs["shard_count"]) == 2 and ds.sizes["point"] == 3
            np.testing.assert_array_equal(ds.coords[PATIENCE].values, [10, 20, 30])
    assert [str(w.message) for w in caught] == [
        f"'{shard}' is shard 0 of 2 (brink run --shard): it holds 2 of the sweep's 3 points; join the shards "
        "with brink merge to analyse the sweep"]
    with pytest.raises(FileNotFoundError, match=re.escape(f"no brink result file at '{tmp_path}' (a directory)")):
        ba.open_results(tmp_path)


def _interrupted_run(brink, folder, signum):
    """The .partial of a long run stopped by `signum` once brink inspect can read it (the run writes
    it as a single-writer/multiple-reader file from then on)."""
    out = folder / "k.h5"
    partial = folder / "k.h5.partial"
    proc = subprocess.Popen([brink, "run", "-n", "2000000", "--threads", "1", "-q", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while subprocess.run([brink, "inspect", str(partial)], capture_output=True, timeout=60).returncode != 0:
            assert proc.poll() is None, f"brink run ended early: {proc.stderr.read().decode()}"
            assert time.monotonic() < deadline, f"{partial} never became readable"
            time.sleep(0.05)
        proc.send_signal(signum)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert not out.exists() and partial.exists()
    return partial


def test_open_results_reads_the_partial_of_a_killed_run(brink, tmp_path, monkeypatch):
    partial = _interrupted_run(brink, tmp_path, signal.SIGKILL)
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(partial, "r")  # a plain reader: the killed writer's mark is still on the file
    with pytest.warns(RuntimeWarning, match=r"incomplete: the run that wrote it did not finish \(it was killed"):
        ds = ba.open_results(partial)
    with ds:  # read as brink inspect reads it: as a SWMR reader
        assert ds.sizes["replication"] == 2_000_000 and int(ds.attrs["complete"]) == 0
        assert int(ds["replications"].sum()) == 0  # the one point never finished
        assert list(ds["actor"].values) == ACTORS
    # Where the bound on HDF5's retries cannot be set (a SWMR open of a damaged file could hang), the
    # file is not opened but named for what it is.
    monkeypatch.setattr(_hdf5_file, "_swmr_access", lambda: None)
    with pytest.raises(ValueError, match=re.escape(f"'{partial}' is the file of a brink run that did not finish")
                       + ".*--resume.*brink inspect") as caught:
        ba.open_results(partial)
    assert isinstance(caught.value.__cause__, OSError)


def test_open_results_reads_the_partial_of_an_interrupted_run(brink, tmp_path):
    partial = _interrupted_run(brink, tmp_path, signal.SIGINT)
    with pytest.warns(RuntimeWarning, match="incomplete: the run that wrote it did not finish") as caught:
        ds = ba.open_results(partial)
    assert "killed" not in str(caught[0].message)  # closed properly: no writer's mark left
    with ds:
        assert int(ds.attrs["complete"]) == 0 and ds.sizes["replication"] == 2_000_000


def test_closing_the_dataset_releases_the_file(grid_file):
    def open_handles():
        names = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                names.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:  # the descriptor listdir itself used
                pass
        return names.count(str(grid_file))

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    before = open_handles()
    ds = ba.open_results(grid_file)
    assert open_handles() == before + 1
    ds.close()
    assert open_handles() == before


def test_open_results_warns_on_incomplete_file(plain_file, tmp_path):
    partial = tmp_path / "partial.h5"
    shutil.copy(plain_file, partial)
    with h5py.File(partial, "r+") as f:
        del f.attrs["complete"]
    with pytest.warns(RuntimeWarning, match="incomplete"):
        ba.open_results(partial).close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ba.open_results(plain_file).close()


def test_unfinished_points_of_an_interrupted_run_are_left_out(grid_file, tmp_path):
    # What an interrupted run leaves (output.md): no `complete`, and summaries and
    # `replications` of unfinished points read 0.
    partial = tmp_path / "grid.h5.partial"
    shutil.copy(grid_file, partial)
    with h5py.File(partial, "r+") as f:
        del f.attrs["complete"]
        for name in ("replications", "outcome_count", "outcome_probability", "outcome_probability_lower",
                     "outcome_probability_upper", "survival", "survival_lower", "survival_upper", "rung_share",
                     "mean_troops", "mean_belief", "agreement_probability"):
            f[name][4] = 0
    with pytest.warns(RuntimeWarning, match="incomplete"):
        ds = ba.open_results(partial)
    with ds:
        table = ba.outcome_table(ds)
        assert sorted(set(table["point"])) == [0, 1, 2, 3, 5, 6, 7, 8]
        ax = ba.plot_outcome_probability(ds, DEPLOYED, "full_war", by=PATIENCE)
        assert sorted(len(line.get_xdata()) for line in ax.lines) == [2, 3, 3]
        assert sorted(set(ba.agreement_table(ds)["point"])) == [0, 1, 2, 3, 5, 6, 7, 8]
        for call in (lambda: ba.plot_troop_fan(ds, "RUS", point=4), lambda: ba.plot_survival(ds, [3, 4]),
                     lambda: ba.plot_rung_occupancy(ds, point=4), lambda: ba.troop_means(ds, point=4)):
            with pytest.raises(ValueError, match="point 4 did not finish.*--resume"):
                call()


def test_parameter_labels_and_units(grid, grid_file, three_way_file):
    # Units come only from the file (its parameter_units), never from a table in the package.
    file_units = dict(zip(strings(grid_file, "parameter"), strings(grid_file, "parameter_units")))
    for path in (DEPLOYED, PATIENCE, "actors.USA.forces.ready"):
        assert file_units[path], path
        assert ba.parameter_units(grid, path) == file_units[path]
        assert grid.coords[path].attrs["units"] == file_units[path]
    assert ba.parameter_table(grid).attrs["units"] == {p: u or None for p, u in file_units.items()}
    with ba.open_results(three_way_file) as ds:
        assert ba.parameter_units(ds, COMMITMENT) is None  # dimensionless: no unit in the file
    with pytest.raises(ValueError, match="is not a parameter of this file"):
        ba.parameter_units(grid, "actors.USA.forces.deployment_rate")
    assert ba.parameter_label(DEPLOYED, "troops") == "RUS deployed forces (troops)"
    assert ba.parameter_label(PATIENCE) == "RUS patience"
    assert ba.parameter_label("actors.RUS.decision.war_cost") == "RUS war cost"  # not "RUS decision.war cost"
    assert ba.label_of(grid, PATIENCE) == "RUS patience (days)"
    k = ba.point_position(grid, {DEPLOYED: 120000, PATIENCE: 30})
    assert ba.point_label(grid, k) == "RUS deployed forces 120,000 troops, RUS patience 30 days"


def test_commitment_label_names_the_parties(three_way_file):
    with ba.open_results(three_way_file) as ds:
        assert ba.label_of(ds, COMMITMENT) == "USA→UKR commitment strength"


def test_select_points_errors(grid):
    with pytest.raises(ValueError, match="no point has actors.RUS.decision.patience_days = 45"):
        ba.select_points(grid, {PATIENCE: 45})
    with pytest.raises(ValueError, match="is not a parameter of this file"):
        ba.select_points(grid, {"actors.RUS.forces.ready": 1})
    with pytest.raises(ValueError, match="matches 3 points"):
        ba.point_position(grid, {PATIENCE: 30})


# --------------------------------------------------------------------------
# outcome_table
# --------------------------------------------------------------------------


def test_outcome_table_equals_file_arrays(grid, grid_file):
    table = ba.outcome_table(grid)
    names = strings(grid_file, "parameter")
    assert list(table.columns) == ["point", *names, "outcome", "probability", "lower", "upper", "count", "replications"]
    assert len(table) == 9 * 5
    prob = raw(grid_file, "outcome_probability")
    np.testing.assert_array_equal(table["probability"].to_numpy().reshape(9, 5), prob)
    np.testing.assert_array_equal(table["lower"].to_numpy().reshape(9, 5), raw(grid_file, "outcome_probability_lower"))
    np.testing.assert_array_equal(table["upper"].to_numpy().reshape(9, 5), raw(grid_file, "outcome_probability_upper"))
    np.testing.assert_array_equal(table["count"].to_numpy().reshape(9, 5), raw(grid_file, "outcome_count"))
    np.testing.assert_array_equal(table["point"].to_numpy().reshape(9, 5)[:, 0], np.arange(9))
    assert list(table["outcome"][:5]) == OUTCOMES
    values = raw(grid_file, "parameter_value")
    for i, name in enumerate(names):
        np.testing.assert_array_equal(table[name].to_numpy().reshape(9, 5)[:, 0], values[:, i])
    sums = table.groupby("point")["probability"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, rtol=0, atol=1e-12)
    assert (table.groupby("point")["count"].sum() == 256).all()
    assert (table["replications"] == 256).all()
    assert (table["lower"] <= table["probability"]).all() and (table["probability"] <= table["upper"]).all()


def test_outcome_table_single_point_and_adaptive(single_file, adaptive_file):
    with ba.open_results(single_file) as ds:
        table = ba.outcome_table(ds)
    assert list(table.columns) == ["point", "outcome", "probability", "lower", "upper", "count", "replications"]
    assert table["count"].sum() == 512
    with ba.open_results(adaptive_file) as ds:
        table = ba.outcome_table(ds)
    reps = raw(adaptive_file, "replications")
    assert reps[0] != reps[1], "test setup: the adaptive points should run different numbers of replications"
    np.testing.assert_array_equal(table.groupby("point")["replications"].first().to_numpy(), reps)
    np.testing.assert_array_equal(table.groupby("point")["count"].sum().to_numpy(), reps)


def test_sensitivity_table(sens_file):
    with ba.open_results(sens_file) as ds:
        table = ba.sensitivity_table(ds)
    outputs = strings(sens_file, "output")
    params = strings(sens_file, "parameter")
    assert len(table) == len(outputs) * len(params)
    first = raw(sens_file, "sensitivity_first")
    np.testing.assert_array_equal(table["first"].to_numpy().reshape(len(outputs), len(params)), first)
    np.testing.assert_array_equal(table["total_upper"].to_numpy().reshape(len(outputs), len(params)),
                                  raw(sens_file, "sensitivity_total_upper"))


# --------------------------------------------------------------------------
# Outcome plots
# --------------------------------------------------------------------------


def test_plot_outcome_probability_grouped(grid):
    ax = ba.plot_outcome_probability(grid, DEPLOYED, "full_war", by=PATIENCE)
    assert len(ax.lines) == 3  # one per patience value
    table = ba.outcome_table(grid)
    full = table[table["outcome"] == "full_war"]
    for line, patience in zip(ax.lines, [15.0, 30.0, 60.0]):
        rows = full[full[PATIENCE] == patience].sort_values(DEPLOYED)
        np.testing.assert_array_equal(line.get_xdata(), rows[DEPLOYED])
        np.testing.assert_array_equal(line.get_ydata(), rows["probability"])
        assert line.get_label() == f"{patience:g}"
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 3  # the 95% bands
    assert ax.get_xlabel() == "RUS deployed forces (troops)"
    assert "full-scale war" in ax.get_ylabel()
    assert ax.get_legend().get_title().get_text() == "RUS patience (days)"


def test_plot_outcome_probability_all_outcomes_with_where(grid):
    ax = ba.plot_outcome_probability(grid, PATIENCE, where={DEPLOYED: 120000}, band=False)
    assert len(ax.lines) == 5
    assert not ax.collections
    k = ba.select_points(grid, {DEPLOYED: 120000})
    prob = grid.outcome_probability.values[k]
    for i, line in enumerate(ax.lines):
        np.testing.assert_array_equal(line.get_ydata(), prob[:, i])
    assert "RUS deployed forces 120,000 troops" in ax.get_title()
    assert ax.get_xlabel() == "RUS patience (days)"


def test_plot_outcome_probability_needs_other_parameters_fixed(grid):
    with pytest.raises(ValueError, match=f"also differ in {PATIENCE}.*where="):
        ba.plot_outcome_probability(grid, DEPLOYED)


def test_plot_outcome_heatmap_array_is_pivoted_probability(grid):
    ax = ba.plot_outcome_heatmap(grid, "full_war", DEPLOYED, PATIENCE)
    table = ba.outcome_table(grid)
    pivot = table[table["outcome"] == "full_war"].pivot(index=PATIENCE, columns=DEPLOYED, values="probability")
    image = np.asarray(ax.images[0].get_array())
    np.testing.assert_array_equal(image, pivot.to_numpy())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["60,000", "120,000", "180,000"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["15", "30", "60"]
    assert ax.get_xlabel() == "RUS deployed forces (troops)" and ax.get_ylabel() == "RUS patience (days)"
    assert len(ax.texts) == 9  # annotated cells
    assert len(ax.figure.axes) == 2  # the heatmap and its colour bar


def test_plot_outcome_heatmap_three_parameters(three_way_file):
    with ba.open_results(three_way_file) as ds:
        with pytest.raises(ValueError, match="also differ in"):
            ba.plot_outcome_heatmap(ds, "full_war", DEPLOYED, PATIENCE)
        ax = ba.plot_outcome_heatmap(ds, "full_war", DEPLOYED, PATIENCE, where={COMMITMENT: 0.9})
        k = ba.select_points(ds, {COMMITMENT: 0.9})
        expected = ds.outcome_probability.sel(outcome="full_war").values[k].reshape(2, 2).T  # rows: patience
        np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), expected)
        assert "USA→UKR commitment strength 0.9" in ax.get_title()
        # three-way grid, grouped lines at one commitment value
        ax = ba.plot_outcome_probability(ds, DEPLOYED, ["full_war", "settlement"], by=PATIENCE, where={COMMITMENT: 0.15})
        assert len(ax.lines) == 4
        assert [line.get_linestyle() for line in ax.lines] == ["-", "-", "--", "--"]


# --------------------------------------------------------------------------
# Time-series plots
# --------------------------------------------------------------------------


def test_troop_fan_draws_median_and_bands(single, single_file):
    ax = ba.plot_troop_fan(single, "RUS", "deployed")
    assert len(ax.lines) == 1
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 2
    troops = raw(single_file, "troops")[0, :, :, 0, 0]  # RUS deployed
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.median(troops, axis=0), rtol=1e-6)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(0, 121, 5, dtype=float))
    assert ax.lines[0].get_ydata()[0] == 127000  # the scenario's 127,000 on day 0 (Ukraine's MoD, 19 January)
    assert ax.get_xlabel().startswith("days")
    assert ax.get_ylabel() == "deployed troops"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["5–95% of runs", "25–75% of runs", "median"]
    q = ba.troop_quantiles(single, "USA", "ready")
    usa_ready = raw(single_file, "troops")[0, :, :, 1, 1]
    np.testing.assert_allclose(q.sel(quantile_level=0.95).values, np.quantile(usa_ready, 0.95, axis=0), rtol=1e-6)
    assert usa_ready[0, 0] == 8500  # the 8,500 on heightened readiness


def test_troop_fans_one_panel_per_actor(single):
    fig = ba.plot_troop_fans(single, pool="deployed")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ACTORS
    assert all(len(ax.lines) == 1 for ax in visible)
    assert visible[0].get_legend() is not None and visible[1].get_legend() is None


def test_troop_fan_uses_only_the_replications_run(adaptive_file):
    reps = raw(adaptive_file, "replications")
    troops = raw(adaptive_file, "troops")
    with ba.open_results(adaptive_file) as ds:
        for p in range(2):
            ax = ba.plot_troop_fan(ds, "UKR", "deployed", point=p)
            expected = np.median(troops[p, : reps[p], :, 3, 0], axis=0)
            np.testing.assert_allclose(ax.lines[0].get_ydata(), expected, rtol=1e-6)
            assert np.isfinite(ax.lines[0].get_ydata()).all()
        mask = ba.replication_mask(ds)
        np.testing.assert_array_equal(mask.sum("replication").values, reps)
        # The per-point summaries count only the replications each point ran.
        series = raw(adaptive_file, "rung_series")
        rungs = strings(adaptive_file, "rung")
        for p in range(2):
            occupancy = ba.rung_occupancy(ds, point=p)
            expected = np.stack([(series[p, : reps[p]] == r).mean(axis=0) for r in range(len(rungs))], axis=1)
            np.testing.assert_allclose(occupancy.values, expected, rtol=0, atol=1e-15)
            np.testing.assert_allclose(occupancy.sum("rung").values, 1.0)
            means = ba.troop_means(ds, "UKR", "deployed", point=p)
            np.testing.assert_allclose(means.values, troops[p, : reps[p], :, 3, 0].astype(float).mean(axis=0),
                                       rtol=1e-6)


def stack_thickness(collection, day):
    """Thickness (top minus bottom) of one stackplot area at each day.

    matplotlib's fill_between polygon is: a start vertex, the bottom edge
    forward, a vertex at the end, the top edge backward, the closing vertex."""
    vertices = collection.get_paths()[0].vertices
    n = len(day)
    bottom, top = vertices[1 : n + 1], vertices[n + 2 : 2 * n + 2][::-1]
    np.testing.assert_array_equal(bottom[:, 0], day)  # the layout assumed above
    np.testing.assert_array_equal(top[:, 0], day)
    return top[:, 1] - bottom[:, 1]


def test_rung_occupancy_stacked_area(single, single_file):
    occupancy = ba.rung_occupancy(single)
    rungs = strings(single_file, "rung")
    series = raw(single_file, "rung_series")[0]
    expected = np.stack([(series == r).mean(axis=0) for r in range(len(rungs))], axis=1)
    np.testing.assert_array_equal(occupancy.values, expected)
    np.testing.assert_allclose(occupancy.sum("rung").values, 1.0)
    assert occupancy.sel(rung="coercive_signalling").values[0] == 1.0  # the scenario's initial rung
    ax = ba.plot_rung_occupancy(single)
    assert len(ax.collections) == len(rungs)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    reached = expected.max(axis=0) > 0
    assert legend == [
        r.replace("_", " ") + ("" if reached[i] else " (not reached)") for i, r in reversed(list(enumerate(rungs)))
    ]
    assert legend[-1] == "diplomacy (not reached)"  # nothing lowers the rung below the initial one
    assert ax.get_ylim() == (0.0, 1.0)
    assert ax.get_ylabel() == "share of replications"


@pytest.mark.parametrize("which", ["plain", "summary_only"])
def test_rung_occupancy_without_timeseries_is_rung_share(which, plain_file, three_way_file):
    # Neither file has --timeseries (the second not even per-run data): the
    # plot draws the per-point rung_share on the daily step axis.
    path, point = (plain_file, 0) if which == "plain" else (three_way_file, 5)
    share = raw(path, "rung_share")[point]
    day = raw(path, "day")
    rungs = strings(path, "rung")
    with h5py.File(path, "r") as f:
        assert "rung_series" not in f and "troops" not in f
    np.testing.assert_array_equal(day, np.arange(121, dtype=float))
    with ba.open_results(path) as ds:
        occupancy = ba.rung_occupancy(ds, point=point)
        np.testing.assert_array_equal(occupancy.values, share)
        np.testing.assert_array_equal(occupancy["day"].values, day)
        assert list(occupancy["rung"].values) == rungs
        ax = ba.plot_rung_occupancy(ds, point=point)
    assert len(ax.collections) == len(rungs)
    for r, area in enumerate(ax.collections):
        np.testing.assert_allclose(stack_thickness(area, day), share[:, r], rtol=0, atol=1e-12, err_msg=rungs[r])
    # Not vacuous: the replications spread over the rungs as the days pass.
    assert share[0, rungs.index("coercive_signalling")] == 1.0
    assert share[-1].max() < 1.0
    np.testing.assert_allclose(share.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_troop_means_are_the_per_point_summary(plain_file, single, single_file):
    with ba.open_results(plain_file) as ds:
        means = ba.troop_means(ds)
        assert means.dims == ("step", "actor", "pool") and means.attrs["units"] == "troops"
        np.testing.assert_array_equal(means.values, raw(plain_file, "mean_troops")[0])
        # step 0: the scenario's initial forces (RUS 100,000 deployed, USA 8,500 ready)
        assert float(ba.troop_means(ds, "RUS", "deployed").isel(step=0)) == 127000
        assert float(ba.troop_means(ds, "USA", "ready").isel(step=0)) == 8500
        # last step (the horizon): the mean of final_forces
        final = raw(plain_file, "final_forces")[0]
        np.testing.assert_allclose(means.isel(step=-1).values, final.mean(axis=0), rtol=1e-12)
        by_pool = ba.troop_means(ds, pool="reserve")
        assert by_pool.dims == ("step", "actor")
        with pytest.raises(ValueError, match="no pool 'active'"):
            ba.troop_means(ds, pool="active")
    # With --timeseries the summary is the mean of the per-replication series.
    troops = raw(single_file, "troops")[0].astype(float)
    np.testing.assert_allclose(ba.troop_means(single).values, troops.mean(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(ba.troop_means(single)["day"].values, np.arange(0, 121, 5, dtype=float))


def test_agreement_table_equals_file_arrays(grid, grid_file):
    table = ba.agreement_table(grid)
    issues = strings(grid_file, "issue")
    names = strings(grid_file, "parameter")
    assert list(table.columns) == ["point", *names, "issue", "probability", "lower", "upper", "replications"]
    assert len(table) == 9 * len(issues)
    assert list(table["issue"][: len(issues)]) == issues
    probability = table["probability"].to_numpy().reshape(9, len(issues))
    np.testing.assert_array_equal(probability, raw(grid_file, "agreement_probability"))
    agreed = raw(grid_file, "agreed")
    np.testing.assert_allclose(probability, agreed.mean(axis=1), rtol=0, atol=1e-15)
    lower, upper = ba.wilson_interval(probability, 256)
    np.testing.assert_array_equal(table["lower"].to_numpy().reshape(9, len(issues)), lower)
    np.testing.assert_array_equal(table["upper"].to_numpy().reshape(9, len(issues)), upper)
    assert (table["lower"] <= table["probability"]).all() and (table["probability"] <= table["upper"]).all()
    # Not vacuous: some issues are agreed in some replications and not in others.
    assert ((probability > 0) & (probability < 1)).any()


def test_survival_curves(grid, grid_file):
    points = [{DEPLOYED: 120000, PATIENCE: p} for p in (15, 30, 60)]
    ax = ba.plot_survival(grid, points)
    assert len(ax.lines) == 3
    survival = raw(grid_file, "survival")
    # The grid recorded time series every 10 steps: survival lies on that step axis.
    day = np.arange(0, 121, 10, dtype=float)
    np.testing.assert_array_equal(raw(grid_file, "day"), day)
    starts = raw(grid_file, "war_start_step")
    for line, spec in zip(ax.lines, points):
        k = ba.point_position(grid, spec)
        np.testing.assert_array_equal(line.get_ydata(), survival[k])
        np.testing.assert_array_equal(line.get_xdata(), day)
        assert line.get_ydata()[0] == 1.0
        # P(no fighting has begun before day d), from the replications
        expected = [np.mean((starts[k] == -1) | (starts[k] >= d)) for d in raw(grid_file, "step")]
        np.testing.assert_allclose(line.get_ydata(), expected, rtol=0, atol=1e-15)
    curves = ba.survival_curves(grid, [ba.point_position(grid, spec) for spec in points])
    assert curves["survival"].dims == ("point", "step")
    np.testing.assert_array_equal(curves["day"].values, day)
    idx = [ba.point_position(grid, spec) for spec in points]
    np.testing.assert_array_equal(curves["lower"].values, raw(grid_file, "survival_lower")[idx])
    np.testing.assert_array_equal(curves["upper"].values, raw(grid_file, "survival_upper")[idx])
    assert [line.get_label() for line in ax.lines] == [f"RUS patience {p} days" for p in (15, 30, 60)]
    assert "RUS deployed forces 120,000 troops" in ax.get_title()
    assert ax.get_ylabel() == "P(no fighting before day d)"
    assert len(ba.plot_survival(grid).lines) == 9  # all points by default (at most 10)


def test_survival_curves_of_the_older_horizon_layout(plain_file):
    # Files of brink before the step axis kept survival(point, horizon), the
    # horizon being the end of each step: the same curve without its day-0 value.
    with ba.open_results(plain_file) as ds:
        new = ba.survival_curves(ds)
        old = xr.Dataset(
            {"survival": (("point", "horizon"), ds["survival"].values[:, 1:]), "replications": ds["replications"]},
            coords={"point": ds["point"].values, "horizon": ("horizon", ds["day"].values[1:], {"units": "day"})},
        )
    curves = ba.survival_curves(old)
    np.testing.assert_array_equal(curves["survival"].values, new["survival"].values)
    np.testing.assert_array_equal(curves["day"].values, new["day"].values)
    np.testing.assert_allclose(curves["lower"].values, new["lower"].values, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(curves["upper"].values, new["upper"].values, rtol=1e-12, atol=1e-15)


def test_older_files_without_per_point_time_summaries(single, single_file):
    # Files of brink before rung_share and mean_troops: the same arrays come
    # from the per-replication series when the file has them.
    older = single.drop_vars(["rung_share", "mean_troops"])
    np.testing.assert_allclose(ba.rung_occupancy(older).values, ba.rung_occupancy(single).values, rtol=0, atol=1e-15)
    np.testing.assert_allclose(ba.troop_means(older).values, ba.troop_means(single).values, rtol=1e-6)
    with pytest.raises(ValueError, match="--timeseries every=K"):
        ba.rung_occupancy(older.drop_vars("rung_series"))
    with pytest.raises(ValueError, match="--timeseries every=K"):
        ba.troop_means(older.drop_vars("troops"))


def test_survival_needs_points_when_many(sens_file):
    with ba.open_results(sens_file) as ds:
        with pytest.raises(ValueError, match="choose up to 10 with points="):
            ba.plot_survival(ds)
        ax = ba.plot_survival(ds, points=[0, 1])  # summary-only files have survival
        assert len(ax.lines) == 2


def test_beliefs_split_by_true_type(single, single_file):
    ax = ba.plot_beliefs(single, "RUS", "resolved")
    assert len(ax.lines) == 3  # true type resolved, true type coercer, prior
    belief = raw(single_file, "belief")[0, :, :, 0, 0]  # public belief that RUS is 'resolved'
    true = raw(single_file, "resolve_type")[0, :, 0]
    for k in range(2):
        np.testing.assert_allclose(ax.lines[k].get_ydata(), belief[true == k].mean(axis=0), rtol=1e-6)
        assert f"({(true == k).sum():,} runs)" in ax.lines[k].get_label()
    assert ax.lines[2].get_ydata()[0] == pytest.approx(0.5)  # the prior
    assert ax.get_ylim() == (0.0, 1.0)
    assert "resolved" in ax.get_ylabel()
    by_type = ba.belief_by_true_type(single, "USA", "steadfast")
    assert list(by_type["true_type"].values) == ["steadfast", "wavering"]
    with pytest.raises(ValueError, match="actor NATO has no private types"):
        ba.plot_beliefs(single, "NATO")
    with pytest.raises(ValueError, match="actor RUS has no type 'bluffer'"):
        ba.plot_beliefs(single, "RUS", "bluffer")


# --------------------------------------------------------------------------
# Sensitivity
# --------------------------------------------------------------------------


def test_plot_sensitivity_bars(sens_file):
    outputs = strings(sens_file, "output")
    params = strings(sens_file, "parameter")
    k = outputs.index("probability_full_war")
    with ba.open_results(sens_file) as ds:
        ax = ba.plot_sensitivity(ds, "probability_full_war")
    assert len(ax.patches) == 2 * len(params)
    widths = np.array([p.get_width() for p in ax.patches])
    np.testing.assert_array_equal(widths[: len(params)], raw(sens_file, "sensitivity_first")[k])
    np.testing.assert_array_equal(widths[len(params):], raw(sens_file, "sensitivity_total")[k])
    assert [t.get_text() for t in ax.get_yticklabels()] == [ba.parameter_label(p) for p in params]
    assert "Sobol index" in ax.get_xlabel()
    assert "full-scale war" in ax.get_title()


# --------------------------------------------------------------------------
# Clear errors for missing data
# --------------------------------------------------------------------------


def test_time_series_plots_name_the_timeseries_option(plain_file, sens_file):
    # Quantiles and splits by true type need the per-replication series; the
    # per-point summaries (rung shares, mean troops, survival) do not.
    for path in (plain_file, sens_file):
        with ba.open_results(path) as ds:
            with pytest.raises(ValueError, match="--timeseries every=K"):
                ba.plot_troop_fan(ds, "RUS")
            with pytest.raises(ValueError, match="--timeseries every=K"):
                ba.troop_quantiles(ds, "RUS")
            with pytest.raises(ValueError, match="--timeseries every=K"):
                ba.plot_beliefs(ds, "RUS")
            assert len(ba.plot_rung_occupancy(ds).collections) == ds.sizes["rung"]
            assert ba.troop_means(ds, "RUS", "deployed").sizes["step"] == 121


def test_sensitivity_plot_names_the_sensitivity_option(grid):
    with pytest.raises(ValueError, match="--sensitivity"):
        ba.plot_sensitivity(grid)


def test_wrong_names_are_reported(single, grid):
    with pytest.raises(ValueError, match="no actor 'RUSSIA'.*RUS, USA, NATO, UKR"):
        ba.plot_troop_fan(single, "RUSSIA")
    with pytest.raises(ValueError, match="no outcome 'war'"):
        ba.plot_outcome_heatmap(grid, "war", DEPLOYED, PATIENCE)
    with pytest.raises(ValueError, match="no point 3"):
        ba.plot_rung_occupancy(single, point=3)


# --------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------


def test_save_figure_writes_identical_pngs(single, tmp_path):
    ax = ba.plot_rung_occupancy(single)
    a = ba.save_figure(ax, tmp_path / "sub" / "a.png")
    b = ba.save_figure(ax.figure, tmp_path / "b.png")
    data = a.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    assert data == b.read_bytes()
    assert b"matplotlib" not in data  # no software metadata


def test_outcome_table_is_a_dataframe_usable_for_pivots(grid):
    table = ba.outcome_table(grid)
    assert isinstance(table, pd.DataFrame)
    wide = table.pivot(index="point", columns="outcome", values="probability")
    assert list(wide.columns) == sorted(OUTCOMES)
    np.testing.assert_allclose(wide.sum(axis=1).to_numpy(), 1.0)


# --------------------------------------------------------------------------
# to_grid: a grid sweep reshaped in one call
# --------------------------------------------------------------------------


def test_to_grid_reshapes_a_grid_sweep(grid_file):
    with ba.open_results(grid_file) as ds:
        grid = ba.to_grid(ds)
        p = grid.outcome_probability
        assert p.dims == ("outcome", DEPLOYED, PATIENCE) and p.sizes[DEPLOYED] == 3 and p.sizes[PATIENCE] == 3
        for i in range(ds.sizes["point"]):
            where = {DEPLOYED: ds[DEPLOYED].values[i], PATIENCE: ds[PATIENCE].values[i]}
            np.testing.assert_array_equal(p.sel(where).values, ds.outcome_probability.isel(point=i).values)
        one = ba.to_grid(ds.outcome_probability.sel(outcome="full_war"))
        assert one.dims == (DEPLOYED, PATIENCE) and one.name == "outcome_probability"
        np.testing.assert_array_equal(one.values, p.sel(outcome="full_war").values)


def test_to_grid_refuses_a_sampled_design(lhs_file):
    with ba.open_results(lhs_file) as ds:
        with pytest.raises(ValueError, match="not a grid"):
            ba.to_grid(ds)
