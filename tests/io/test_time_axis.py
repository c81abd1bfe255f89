"""The step axis always ends at the horizon, even when K does not divide it."""

import os
import subprocess

import h5py
import numpy as np

BRINK = os.environ.get("BRINK")


def test_step_axis_includes_the_horizon_when_every_does_not_divide_it(tmp_path):
    out = tmp_path / "k7.h5"
    proc = subprocess.run([BRINK, "run", "-q", "-n", "600", "--timeseries", "every=7", "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        steps = f["step"][()]
        assert list(steps) == list(range(0, 120, 7)) + [120]  # 0, 7, ..., 119, then the horizon
        np.testing.assert_allclose(f["day"][()], steps * 1.0)
        # The last record is the final state: per run and on average.
        np.testing.assert_array_equal(f["troops"][0, :, -1], f["final_forces"][0].astype(np.float32))
        np.testing.assert_allclose(f["mean_troops"][0, -1], f["final_forces"][0].mean(axis=0), rtol=1e-12)
        war = f["war_start_step"][0]
        np.testing.assert_allclose(f["survival"][0, -1], np.mean((war == -1) | (war >= 120)))


def test_summary_only_with_every_k_thins_the_summaries_step_axis(tmp_path):
    """`--summary-only --timeseries every=K` was refused (exit 2), so a summary-only file held every
    step, although every=K is what thins the summaries' step axis (docs/output.md). It now writes
    the summaries on 0, K, 2K, ..., S and no per-replication series: each summary equals the K = 1
    file's at those steps (the same seed, the same bits)."""
    thin, full = tmp_path / "thin.h5", tmp_path / "full.h5"
    for out, extra in ((thin, ["--timeseries", "every=7"]), (full, [])):
        proc = subprocess.run([BRINK, "run", "-q", "-n", "600", "--summary-only", *extra, "-o", str(out)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    with h5py.File(thin, "r") as f, h5py.File(full, "r") as g:
        steps = f["step"][()]
        assert list(steps) == list(range(0, 120, 7)) + [120]
        assert f.attrs["step_every"] == 7 and g.attrs["step_every"] == 1
        assert list(g["step"][()]) == list(range(121))
        assert "output.timeseries_every=7" in f.attrs["overrides"].decode()
        for series in ("troops", "rung_series", "tension", "belief", "outcome_code"):
            assert series not in f, f"--summary-only writes no per-replication {series}"
        for name in ("survival", "survival_lower", "survival_upper", "rung_share", "mean_troops", "mean_belief"):
            assert f[name].shape[1] == len(steps), name
            np.testing.assert_array_equal(f[name][()], g[name][()][:, steps], err_msg=name)
        np.testing.assert_array_equal(f["outcome_count"][()], g["outcome_count"][()])
