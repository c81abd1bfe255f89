"""What `brink run` and `brink inspect` print, for runs of any size: progress
lines a batch log keeps, the header before the simulation, --no-table apart
from --quiet, a compact table for many points with full parameter paths, and
inspect's dimension names."""

import re
import select
import signal
import subprocess

import h5py
import numpy as np
import pytest

from conftest import OUTCOMES, run_brink

PATH = "actors.RUS.forces.deployed"
LHS = ["--sweep", f"{PATH}=100000:180000", "--design", "lhs", "--samples", "30"]
PROGRESS_RE = re.compile(
    r"^progress: +(?P<pct>[\d.]+)% of blocks, (?P<done>\d+) of (?P<points>\d+) points done, "
    r"(?P<rate>[\d.e+]+) replication-steps/s, elapsed \d+ s, ETA \d+ s$"
)


def assert_ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


@pytest.fixture(scope="module")
def lhs_run(brink, tmp_path_factory):
    out = tmp_path_factory.mktemp("lhs") / "lhs.h5"
    proc = run_brink(brink, "run", "-n", 512, "-t", 2, *LHS, "-o", out)
    assert_ok(proc)
    return out, proc


def table_rows(stdout):
    """{point: [parameter value, probabilities...]} of a printed multi-point table."""
    rows = {}
    for line in stdout.splitlines():
        fields = line.split()
        if len(fields) == 2 + len(OUTCOMES) + 1 and fields[0].isdigit():
            rows[int(fields[0])] = [float(fields[1])] + [float(f.split("±")[0]) for f in fields[2:-1]]
    return rows


def test_progress_lines_when_stderr_is_not_a_terminal(lhs_run):
    _, proc = lhs_run
    lines = [line for line in proc.stderr.splitlines() if line.startswith("progress:")]
    assert len(lines) >= 5, f"a batch run logs progress at least every tenth:\n{proc.stderr}"
    parsed = [PROGRESS_RE.match(line) for line in lines]
    assert all(parsed), f"progress lines must give points done, replication-steps/s and ETA:\n{proc.stderr}"
    percents = [float(m["pct"]) for m in parsed]
    assert percents == sorted(percents) and percents[-1] == 100.0
    assert parsed[-1]["done"] == parsed[-1]["points"] == "30"
    assert all(float(m["rate"]) > 0 for m in parsed)
    assert "\r" not in proc.stderr, "no carriage-return bar in a log file"


def test_header_comes_before_the_simulation(brink, tmp_path):
    # A run far too long to finish: its header must be out while it runs.
    out = tmp_path / "long.h5"
    proc = subprocess.Popen([brink, "run", "-n", "4000000", "-t", "1", "-o", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no header within 30 s of starting"
        first = proc.stdout.readline()
        assert proc.poll() is None, "the run ended before the test could see it running"
        assert first.startswith("scenario jan-2022-standoff"), first
        second = proc.stdout.readline()
        assert "1 point (single point), 4000000 replications per point" in second, second
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def test_no_table_keeps_header_progress_and_final_line(run, tmp_path):
    out = tmp_path / "nt.h5"
    proc = run("run", "-n", 512, "--no-table", "-o", out)
    assert_ok(proc)
    assert proc.stdout.startswith("scenario jan-2022-standoff")
    assert "probability" not in proc.stdout and "settlement" not in proc.stdout
    assert re.search(r"^wrote .*nt\.h5 in [\d.]+ s \([\d.e+]+ replication-steps/s", proc.stdout, re.M)
    assert "progress: 100.0% of blocks, 1 of 1 points done" in proc.stderr


def test_quiet_prints_neither_progress_nor_table(run, tmp_path):
    proc = run("run", "-n", 512, "-q", "-o", tmp_path / "q.h5")
    assert_ok(proc)
    assert proc.stdout == "" and proc.stderr == ""


def test_compact_table_for_many_points(lhs_run):
    out, proc = lhs_run
    rows = table_rows(proc.stdout)
    with h5py.File(out, "r") as f:
        probability = f["outcome_probability"][()]
        deployed = f["parameter_value"][:, 0]
    n = len(probability)
    assert n == 30
    expected = {0, 1, 2, n - 3, n - 2, n - 1}
    shown = set(rows)
    for o in range(len(OUTCOMES)):
        # Points tied for the lowest (highest) probability: any one of them may be the one shown.
        for extreme in (probability[:, o].min(), probability[:, o].max()):
            tied = {int(k) for k in np.flatnonzero(probability[:, o] == extreme)}
            assert shown & tied, f"none of {sorted(tied)} shown for {OUTCOMES[o]}\n{proc.stdout}"
            expected |= shown & tied
    assert shown == expected, f"rows shown {sorted(rows)}, expected {sorted(expected)}\n{proc.stdout}"
    for point, values in rows.items():
        assert values[0] == pytest.approx(deployed[point], rel=1e-5)
        assert values[1:] == pytest.approx(list(probability[point]), abs=5e-5 + 1e-12)  # k/512 can sit on a rounding half
    assert f"({len(expected)} of 30 points shown" in proc.stdout
    assert f"{30 - len(expected)} left out" in proc.stdout


def test_small_sweep_table_lists_every_point_under_the_full_path(run, tmp_path):
    out = tmp_path / "grid.h5"
    proc = run("run", "-n", 256, "--sweep", f"{PATH}=100000,150000,180000", "-o", out)
    assert_ok(proc)
    header = next(line for line in proc.stdout.splitlines() if line.lstrip().startswith("point"))
    assert PATH in header.split(), header
    assert sorted(table_rows(proc.stdout)) == [0, 1, 2]
    assert "left out" not in proc.stdout


def test_inspect_prints_dimension_names(run, lhs_run):
    out, _ = lhs_run
    proc = run("inspect", out)
    assert_ok(proc)
    assert "netCDF" not in proc.stdout
    assert re.search(r"^  outcome_code +\(point=30, replication=512\)", proc.stdout, re.M), proc.stdout
    assert re.search(r"^  block_done +\(point=30, block=2\)", proc.stdout, re.M)
    assert f"{PATH}" in proc.stdout
    assert "(13 of 30 points shown" in proc.stdout or "points shown" in proc.stdout
