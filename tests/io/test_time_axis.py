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
