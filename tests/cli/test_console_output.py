"""What `brink run` and `brink inspect` print, for runs of any size: progress
lines a batch log keeps, the header before the simulation, --no-table apart
from --quiet, a compact table for many points with full parameter paths, and
inspect's dimension names."""

import os
import re
import select
import signal
import subprocess
from pathlib import Path

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
ADAPTIVE_PROGRESS_RE = re.compile(
    r"^progress: +(?P<pct>[\d.]+)% of blocks planned so far, (?P<done>\d+) of (?P<points>\d+) points done, "
    r"(?P<rate>[\d.e+]+) replication-steps/s, elapsed \d+ s, ETA (?P<bound>at least )?\d+ s$"
)


def assert_ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


@pytest.fixture(scope="module")
def lhs_run(brink, tmp_path_factory):
    out = tmp_path_factory.mktemp("lhs") / "lhs.h5"
    proc = run_brink(brink, "run", "-n", 512, "-t", 2, *LHS, "-o", out)
    assert_ok(proc)
    return out, proc


CELL_RE = re.compile(r"(\d\.\d{3}) \[(\d\.\d{3}), (\d\.\d{3})\]")


def table_cells(stdout):
    """{point: ([parameter values], [(probability, lower, upper) per outcome], replications)} of a
    printed multi-point table, whose cells read `p [lower, upper]`."""
    rows = {}
    for line in stdout.splitlines():
        cells = CELL_RE.findall(line)
        if len(cells) != len(OUTCOMES):
            continue
        head, tail = line[: line.index(cells[0][0] + " [")].split(), line.rsplit("]", 1)[1].split()
        if head and head[0].isdigit() and len(tail) == 1:
            rows[int(head[0])] = ([float(v) for v in head[1:]], [tuple(map(float, c)) for c in cells], int(tail[0]))
    return rows


def table_rows(stdout):
    """{point: [parameter value, probabilities...]} of a printed multi-point table."""
    return {point: values[:1] + [c[0] for c in cells] for point, (values, cells, _) in table_cells(stdout).items()}


def wilson(k, n, z=1.959963984540054):
    """The 95% Wilson score interval of k successes in n (docs/output.md, by its formula)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


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


def test_adaptive_progress_says_its_blocks_are_those_planned_so_far(run, tmp_path):
    """Under adaptive replications the total of blocks grows each round, so a line's percentage is
    of the blocks planned so far and its ETA a lower bound; an outside tester saw "90.0% of
    blocks, ETA 1 s" with 40% of the run still to come."""
    example = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2])) / "docs" / "examples"
    proc = run("run", example / "sweep.yaml", "-t", "1", "--no-table", "-o", tmp_path / "a.h5",
               "--set", "run.horizon_days=30", "--set", "run.replications.max=8192")
    assert_ok(proc)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("progress:")]
    parsed = [ADAPTIVE_PROGRESS_RE.match(line) for line in lines]
    assert lines and all(parsed), proc.stderr
    assert not parsed[-1]["bound"] and float(parsed[-1]["pct"]) == 100.0, proc.stderr
    assert all(m["bound"] for m in parsed[:-1]), proc.stderr
    # A fixed count's total never grows: its lines keep the plain wording.
    fixed = run("run", "-t", "1", "-n", 512, "--no-table", "-o", tmp_path / "f.h5")
    assert_ok(fixed)
    assert "planned so far" not in fixed.stderr and "at least" not in fixed.stderr


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
        assert values[1:] == pytest.approx(list(probability[point]), abs=5e-4 + 1e-12)  # k/512 can sit on a rounding half
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


def test_sweep_table_shows_each_wilson_interval_not_a_half_width(run, source_dir, tmp_path):
    """A sweep's rows used to print p±h with h half the Wilson interval: 0.0000±0.0806 for an
    interval [0, 0.161], 0.1500±0.1540 for [0.052, 0.360]. The interval is not symmetric about p,
    so each cell shows its bounds: `p [lower, upper]`, checked against the Wilson formula."""
    out = tmp_path / "sweep.h5"
    proc = run("run", source_dir / "docs" / "examples" / "minimal.yaml", "-n", 20, "--sweep",
               "actors.RED.decision.patience_days=5,60", "-o", out)
    assert_ok(proc)
    assert "±" not in proc.stdout
    rows = table_cells(proc.stdout)
    assert sorted(rows) == [0, 1], proc.stdout
    with h5py.File(out, "r") as f:
        counts = f["outcome_count"][()]
    asymmetric = 0
    for point, (_, cells, reps) in rows.items():
        assert reps == 20
        for o, (p, lower, upper) in enumerate(cells):
            k = int(counts[point, o])
            low, high = wilson(k, 20)
            assert p == pytest.approx(k / 20, abs=5e-4 + 1e-12)
            assert (lower, upper) == (pytest.approx(low, abs=5e-4 + 1e-12), pytest.approx(high, abs=5e-4 + 1e-12))
            assert lower <= p <= upper
            if k == 0:  # [0, z²/(n + z²)]: 3.8415 / 23.8415
                assert (lower, upper) == (0.0, 0.161)
            asymmetric += abs((p - lower) - (upper - p)) > 0.002
    assert asymmetric > 0, "test setup: some interval must be visibly asymmetric"
    assert "95% Wilson interval" in proc.stdout
    inspected = run("inspect", out)
    assert_ok(inspected)
    assert table_cells(inspected.stdout) == rows


def detail_days(stdout):
    """(mean, [5%, 50%, 95%] as printed) of the one-point table's day line, and survival's day labels."""
    m = re.search(r"day the outcome was decided, mean (\S+) \(5% / 50% / 95%: (\S+) / (\S+) / (\S+)\)", stdout)
    assert m, stdout
    survival = re.search(r"P\(no fighting before day\):(.*)$", stdout, re.M)
    assert survival, stdout
    labels = re.findall(r"(\S+): [\d.]+", survival.group(1))
    return m.group(1), list(m.groups()[1:]), labels


@pytest.mark.parametrize("dt,horizon", [(0.25, 20), (0.1, 0.25), (1, 60)])
def test_days_are_printed_to_the_precision_of_the_step(run, source_dir, tmp_path, dt, horizon):
    """Day quantiles were rounded to whole days: 12 for the 11.5 of the file with dt = 0.25, and
    0 / 0 / 0 for 0.1-day steps. Each day printed now equals the file's value to the decimals dt
    needs (whole days when dt and the values are whole), and so does every survival day label."""
    out = tmp_path / "q.h5"
    text = (source_dir / "docs" / "examples" / "minimal.yaml").read_text(encoding="utf-8")
    scenario = tmp_path / "noevents.yaml"  # its events (days 10 and 45) would lie past a short horizon
    scenario.write_text(text[: text.index("\nevents:")] + "\n", encoding="utf-8")
    proc = run("run", scenario, "-n", 300, "--set", f"run.dt_days={dt}",
               "--set", f"run.horizon_days={horizon}", "-o", out)
    assert_ok(proc)
    mean, quantiles, labels = detail_days(proc.stdout)
    with h5py.File(out, "r") as f:
        q = f["end_day_quantile"][0]
        day = f["day"][()]
        assert f.attrs["dt_days"] == dt
    places = 0 if dt == 1 else len(str(dt).split(".")[1])
    for printed, value in zip(quantiles, q):
        # Every day is a multiple of dt, or interpolated between two (type 7) at a 0.05 step.
        decimals = len(printed.split(".")[1]) if "." in printed else 0
        assert decimals >= places, (printed, dt)
        assert float(printed) == pytest.approx(value, abs=0.5 * 10.0 ** -decimals + 1e-9), (printed, value)
    if dt == 1 and all(float(v).is_integer() for v in q):
        assert all("." not in v for v in quantiles), quantiles
    assert "." in mean
    for label in labels:
        assert float(label) in [pytest.approx(d, abs=1e-9) for d in day], (label, day)
        assert (len(label.split(".")[1]) if "." in label else 0) >= places, (label, dt)
    inspected = run("inspect", out)
    assert_ok(inspected)
    assert detail_days(inspected.stdout) == (mean, quantiles, labels)


@pytest.mark.parametrize("every", [60, 119, 7])
def test_survival_shows_each_day_once(run, tmp_path, every):
    """With a coarse record axis the four survival positions collide: every=60 over 120 days printed
    '60: 0.736  60: 0.736  120: 0.681'. Each day is shown once, in increasing order."""
    out = tmp_path / "s.h5"
    proc = run("run", "-n", 200, "--threads", 1, "--timeseries", f"every={every}", "--summary-only", "-o", out)
    assert_ok(proc)
    labels = [float(d) for d in detail_days(proc.stdout)[2]]
    assert labels and labels == sorted(set(labels)), labels
    assert detail_days(run("inspect", out).stdout)[2] == detail_days(proc.stdout)[2]
