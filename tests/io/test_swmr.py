"""A sweep's file can be read while it is written (HDF5 single-writer /
multiple-reader): finished points appear, and a point is never half there."""

import os
import subprocess
import time

import h5py
import numpy as np

BRINK = os.environ.get("BRINK")


def test_live_reader_sees_finished_points_and_never_half_a_point(tmp_path):
    assert BRINK, "set BRINK to the brink binary"
    target = tmp_path / "live.h5"
    partial = tmp_path / "live.h5.partial"
    proc = subprocess.Popen(
        [BRINK, "run", "-q", "--threads", "1", "-n", "3000", "-o", str(target),
         "--sweep", "actors.RUS.decision.patience_days=10,20,30,40,50,60,70,80"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []  # number of finished points at each look
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if not partial.exists():
                time.sleep(0.05)
                continue
            try:
                f = h5py.File(partial, "r", libver="latest", swmr=True)
            except OSError:  # caught between create and the switch to SWMR
                time.sleep(0.05)
                continue
            with f:
                for name in ("replications", "outcome_count", "outcome_code"):
                    f[name].refresh()
                reps = f["replications"][0:]
                done = np.flatnonzero(reps > 0)
                for p in done:
                    # A finished point is whole: counts match its replications and its runs.
                    counts = f["outcome_count"][p]
                    assert counts.sum() == reps[p] == 3000
                    codes = f["outcome_code"][p]
                    assert np.array_equal(np.bincount(codes, minlength=5), counts)
                seen.append(len(done))
            time.sleep(0.1)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert any(0 < n < 8 for n in seen), f"never saw a partly finished sweep: {seen}"
    assert seen == sorted(seen), "finished points never disappear"
    with h5py.File(target, "r") as f:
        assert f.attrs["complete"] == 1
        assert (f["replications"][()] == 3000).all()
