"""Round 39: what the session's own checks and its outside testers found."""

import os
import re
import subprocess


def test_a_resumed_runs_first_progress_line_waits_for_the_next_tenth(brink, tmp_path):
    """A resumed run printed a progress line as soon as its first block finished, because the tenths
    the read-back partial already held counted as newly crossed; the rate and ETA of that line came
    from one block's start-up (2e6 replication-steps/s and an ETA of 94 s on a 20 s run). The first
    line must now come at the next tenth of blocks (or after the ten seconds between lines)."""
    out = tmp_path / "r.h5"
    args = [brink, "run", "jan-2022-standoff", "-n", "25600", "-t", "1", "--no-table", "-o", str(out),
            "--set", "run.horizon_days=20"]
    failed = subprocess.run(args, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "BRINK_TEST_FAIL_AFTER_BLOCKS": "35"})
    assert failed.returncode == 1 and "35 finished blocks kept" in failed.stderr, failed.stderr
    resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    lines = [line for line in resumed.stderr.splitlines() if line.startswith("progress:")]
    assert lines, resumed.stderr
    first = re.match(r"progress: +([0-9.]+)% of blocks, .*elapsed (\d+) s", lines[0])
    assert first, lines[0]
    percent, elapsed = float(first.group(1)), int(first.group(2))
    assert percent >= 40.0 or elapsed >= 10, resumed.stderr
