"""Scenario discovery, feature scores and robust policies on files written by the real CLI.

Expected values are computed from the arrays read with h5py. The LHS file
sweeps RUS patience (short patience means full-scale war) and the cap on RUS
deployed forces far above anything Russia can field, which the model ignores:
with common random numbers two points differing only in the cap give
identical results, so every score must put the cap at (nearly) nothing.
"""

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

import brink_analysis as ba
SOURCE_DIR = Path(__file__).resolve().parents[2]
DEPLOYED = "actors.RUS.forces.deployed"
PATIENCE = "actors.RUS.decision.patience_days"
COMMITMENT = "relations.commitments.2.strength"
CAP = "actors.RUS.forces.deployed_cap"
USA_READY = "actors.USA.forces.ready"

OUTCOMES = ["settlement", "standoff", "limited_war", "full_war", "alliance_war"]


def raw(path, name):
    with h5py.File(path, "r") as f:
        return f[name][()]


def param_column(path, name):
    names = [p.decode() for p in raw(path, "parameter")]
    return raw(path, "parameter_value")[:, names.index(name)]


@pytest.fixture
def lhs(lhs_file):
    with ba.open_results(lhs_file) as ds:
        yield ds


def test_the_cap_is_irrelevant_and_patience_matters_in_the_file(lhs_file):
    # The premise of the tests below, checked on the file itself.
    p_war = raw(lhs_file, "outcome_probability")[:, OUTCOMES.index("full_war")]
    patience = param_column(lhs_file, PATIENCE)
    assert p_war[patience < 20].mean() > 0.6 > 0.2 > p_war[patience > 50].mean()
    assert param_column(lhs_file, CAP).min() >= 5e6


def test_discovery_data_per_point_and_per_replication(lhs, lhs_file):
    X, y, w = ba.discovery_data(lhs, "full_war")
    assert list(X.columns) == [PATIENCE, CAP]
    assert X.attrs["units"] == {PATIENCE: "days", CAP: "troops"}
    np.testing.assert_array_equal(X[PATIENCE], param_column(lhs_file, PATIENCE))
    np.testing.assert_array_equal(y, raw(lhs_file, "outcome_probability")[:, 3])
    np.testing.assert_array_equal(w, 1.0)  # every point counts once
    assert X.attrs["point"] == tuple(range(len(X)))  # the point of each case: PRIM's qp counts points
    Xr, yr, wr = ba.discovery_data(lhs, "full_war,alliance_war", per="replication")
    code = raw(lhs_file, "outcome_code")
    assert len(yr) == code.size and np.all(wr == 1 / code.shape[1])
    assert Xr.attrs["point"] == tuple(np.repeat(np.arange(code.shape[0]), code.shape[1]))
    np.testing.assert_array_equal(yr, np.isin(code, [3, 4]).ravel().astype(float))
    np.testing.assert_array_equal(Xr[PATIENCE], np.repeat(param_column(lhs_file, PATIENCE), code.shape[1]))
    with pytest.raises(ValueError, match="'war' is not an outcome of this file; its outcomes: settlement"):
        ba.discovery_data(lhs, "war")
    with pytest.raises(ValueError, match="is not a parameter of this file"):
        ba.discovery_data(lhs, "full_war", ["actors.RUS.forces.ready"])


def test_discovery_data_uses_only_replications_that_ran(adaptive_file):
    with ba.open_results(adaptive_file) as ds:
        X, y, _ = ba.discovery_data(ds, "full_war", per="replication")
        reps = raw(adaptive_file, "replications")
        assert len(y) == reps.sum() < ds.sizes["point"] * ds.sizes["replication"]
        counts = raw(adaptive_file, "outcome_count")[:, 3]
        patience = param_column(adaptive_file, PATIENCE)
        for k in range(len(reps)):
            assert y[X[PATIENCE].to_numpy() == patience[k]].sum() == counts[k]


def test_prim_on_a_real_sweep_restricts_patience_only(lhs, lhs_file):
    result = ba.find_boxes(lhs, "full_war")
    box = result.box()
    assert box.restricted == [PATIENCE]
    limits = box.limits()
    patience = param_column(lhs_file, PATIENCE)
    assert limits.loc[PATIENCE, "lower"] == patience.min()  # war is most likely at the shortest patience
    assert 15 < limits.loc[PATIENCE, "upper"] < 45
    assert limits.loc[PATIENCE, "units"] == "days"
    # Statistics from the file: replication-weighted mean and share of P(full_war) inside the box.
    p, reps = raw(lhs_file, "outcome_probability")[:, 3], raw(lhs_file, "replications")
    inside = (patience >= limits.loc[PATIENCE, "lower"]) & (patience <= limits.loc[PATIENCE, "upper"])
    assert box.density == pytest.approx(np.average(p[inside], weights=reps[inside]))
    assert box.coverage == pytest.approx((p * reps)[inside].sum() / (p * reps).sum())
    assert box.density > 2 * result.boxes[0].density
    # Per-replication cases give the same trajectory (the weights are the replications).
    per_rep = ba.find_boxes(lhs, "full_war", per="replication")
    pd.testing.assert_frame_equal(per_rep.trajectory, result.trajectory, check_exact=False, rtol=1e-9)


def test_feature_scores_and_cart_on_a_real_sweep(lhs):
    X, y, w = ba.discovery_data(lhs, "full_war")
    scores = ba.feature_scores(X, y, w)
    assert scores.index[0] == PATIENCE
    assert scores.loc[PATIENCE, "extra_trees"] > 0.9
    assert scores.loc[CAP, "extra_trees"] < 0.1
    assert scores.loc[PATIENCE, "variance_explained"] > 0.8
    assert scores.loc[CAP, "variance_explained"] < 0.05
    # The same on per-replication cases, merged per point by the tree models.
    Xr, yr, wr = ba.discovery_data(lhs, "full_war", per="replication")
    pd.testing.assert_frame_equal(ba.feature_scores(Xr, yr, wr), scores, check_exact=False, rtol=1e-9)
    leaves = ba.cart_boxes(X, y, w, max_depth=3)
    assert all(CAP not in rule for rule in leaves["rule"])
    assert leaves.iloc[0]["density"] > 0.7 and PATIENCE in leaves.iloc[0]["rule"]
    assert leaves["mass"].sum() == pytest.approx(1.0)


def test_discovery_plots(lhs):
    result = ba.find_boxes(lhs, "full_war")
    ax = ba.plot_prim_tradeoff(result)
    xy = ax.collections[0].get_offsets()
    np.testing.assert_allclose(xy[:, 0], result.trajectory["coverage"])
    np.testing.assert_allclose(xy[:, 1], result.trajectory["density"])
    assert f"box {result.chosen}" in [t.get_text() for t in ax.texts]
    box = result.box()
    ax = ba.plot_prim_box(box)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["RUS patience (days)"]
    assert len(ax.patches) == 2  # the data's range and the box
    ax = ba.plot_outcome_scatter(lhs, PATIENCE, CAP, "full_war", box=box)
    np.testing.assert_allclose(ax.collections[0].get_array(), lhs.outcome_probability.sel(outcome="full_war"))
    assert ax.get_xlabel() == "RUS patience (days)" and ax.get_ylabel() == "RUS cap on deployed forces (troops)"
    rect = [p for p in ax.patches if p.get_label() == "PRIM box"][0]
    assert rect.get_x() == box.lower[PATIENCE] and rect.get_x() + rect.get_width() == box.upper[PATIENCE]
    fig = ba.plot_partial_dependence(lhs, "full_war")
    left, right = fig.axes[:2]
    pd_patience, pd_cap = left.lines[0].get_ydata(), right.lines[0].get_ydata()
    assert pd_patience[0] - pd_patience[-1] > 0.4, "war risk falls with patience"
    assert np.ptp(pd_cap) < 0.1 * np.ptp(pd_patience)


def _policy_matrix(path):
    """P(full_war) as an array (ready, commitment, patience, deployed) from the grid file, by h5py."""
    return raw(path, "outcome_probability")[:, 3].reshape(2, 2, 3, 2)


def test_robustness_table_of_a_grid(policy_grid_file):
    with ba.open_results(policy_grid_file) as ds:
        table = ba.robustness_table(ds, [USA_READY, COMMITMENT], "full_war", threshold=0.2)
        regret = ba.regret_table(ds, [USA_READY, COMMITMENT], "full_war")
    p = _policy_matrix(policy_grid_file).reshape(4, 6)  # policies x states
    best = p.min(axis=0)
    expected = pd.DataFrame(
        {
            USA_READY: [8500.0, 8500.0, 50000.0, 50000.0],
            COMMITMENT: [0.15, 0.6, 0.15, 0.6],
            "expected": p.mean(axis=1), "worst": p.max(axis=1), "best": p.min(axis=1),
            "max_regret": (p - best).max(axis=1), "mean_regret": (p - best).mean(axis=1),
            "satisficing": (p <= 0.2).mean(axis=1), "states": 6,
        }
    ).sort_values(["max_regret", "expected"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    assert regret.shape == (6, 4) and np.allclose(regret.min(axis=1), 0.0)
    assert table.attrs["threshold"] == 0.2


def test_robustness_from_one_file_per_policy_and_from_tables(policy_lhs_files):
    datasets = [ba.open_results(f) for f in policy_lhs_files]
    try:
        table = ba.robustness_table(datasets, [USA_READY], "full_war")
        from_tables = ba.robustness_table(pd.concat([ba.outcome_table(d) for d in datasets]), [USA_READY], "full_war")
        fig = ba.plot_robustness(datasets, [USA_READY], "full_war", threshold=0.1)
    finally:
        for d in datasets:
            d.close()
    p = np.stack([raw(f, "outcome_probability")[:, 3] for f in policy_lhs_files])  # policy x state
    assert sorted(table[USA_READY]) == [8500.0, 30000.0, 60000.0]
    assert list(table["states"]) == [12] * 3
    by_policy = table.set_index(USA_READY)
    for i, ready in enumerate((8500.0, 30000.0, 60000.0)):
        assert by_policy.loc[ready, "expected"] == pytest.approx(p[i].mean())
        assert by_policy.loc[ready, "max_regret"] == pytest.approx((p[i] - p.min(axis=0)).max())
    pd.testing.assert_frame_equal(from_tables, table)
    left, right = fig.axes[:2]
    assert [t.get_text() for t in left.get_yticklabels()][0].startswith("USA ready forces")
    np.testing.assert_allclose(sorted(b.get_width() for b in right.patches[:3]),
                               sorted((p - p.min(axis=0)).max(axis=1)))


def test_robustness_errors(policy_grid_file, policy_lhs_files):
    with ba.open_results(policy_grid_file) as ds:
        with pytest.raises(ValueError, match="lever 'actors.USA.forces.deployed' is not a parameter"):
            ba.robustness_table(ds, ["actors.USA.forces.deployed"])
        # Leaving a varying parameter out of both lists makes (policy, state) pairs repeat: the error names it.
        with pytest.raises(ValueError, match=r"point \d+ and .* point \d+ are one \(policy, state\) pair but differ in "
                                             r"relations.commitments.2.strength, which is neither a lever nor an uncertainty"):
            ba.robustness_table(ds, [USA_READY], uncertainties=[PATIENCE, DEPLOYED])
    with ba.open_results(policy_lhs_files[0]) as a, ba.open_results(policy_lhs_files[1]) as b:
        with pytest.raises(ValueError, match="policy 30000.0 was not run in every state of the world"):
            ba.robustness_table([a, b.isel(point=slice(0, 6))], [USA_READY])
        with ba.open_results(policy_grid_file) as c:
            with pytest.raises(ValueError, match="parameter 'relations.commitments.2.strength' has no value"):
                ba.robustness_table([a, c], [USA_READY, COMMITMENT])


def run_module(*args):
    """``python3 -m brink_analysis ARGS`` in a subprocess, the package found through PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": str(Path(ba.__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-m", "brink_analysis", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=env)


def test_command_line_discover(lhs_file, tmp_path):
    done = run_module("discover", lhs_file, "--outcome", "full_war", "--cart", "--plots", tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "PRIM for full_war over actors.RUS.decision.patience_days, actors.RUS.forces.deployed_cap" in out
    with ba.open_results(lhs_file) as ds:
        box = ba.find_boxes(ds, "full_war").box()
    limits_line = [line for line in out.splitlines() if line.startswith(PATIENCE) and "days" in line][0]
    assert f"{box.upper[PATIENCE]:.6g}" in limits_line
    # Each restriction's quasi-p-value follows its limits (PrimResult.inspect).
    with ba.open_results(lhs_file) as ds:
        qp = ba.find_boxes(ds, "full_war").inspect().loc[PATIENCE, "qp"]
    assert "density_without" in out and limits_line.split()[-1] == f"{qp:.6g}", limits_line
    assert "feature scores" in out and "CART leaves" in out
    for name in ("prim-tradeoff.png", "prim-box.png", "outcome-scatter.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_command_line_errors_exit_2(lhs_file, tmp_path):
    done = run_module("discover", lhs_file, "--outcome", "fullwar")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "brink-analysis discover: 'fullwar' is not an outcome of this file; its outcomes: "
        "settlement, standoff, limited_war, full_war, alliance_war"]
    done = run_module("discover", tmp_path / "missing.h5")
    assert done.returncode == 2 and "no brink result file at" in done.stderr


def test_command_line_robust(policy_grid_file, tmp_path):
    done = run_module("robust", policy_grid_file, "--levers", f"{USA_READY},{COMMITMENT}", "--threshold", "0.2",
                      "--plot", tmp_path / "robust.png")
    assert done.returncode == 0, done.stderr
    assert "robustness of 4 policies for P(full_war) over 6 states" in done.stdout
    assert (tmp_path / "robust.png").stat().st_size > 1000


def test_line_plot_of_a_sampled_design_points_to_the_scatter(lhs):
    with pytest.raises(ValueError, match="this lhs design also differ in actors.RUS.forces.deployed_cap; "
                                         r"draw them with plot_outcome_scatter"):
        ba.plot_outcome_probability(lhs, PATIENCE, "full_war")
