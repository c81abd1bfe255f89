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


PREVENTIVE = """brink: 1
name: commitment-in-coarse-steps
description: "Round 39: a power shift whose day falls inside a 10-day step."
run: {horizon_days: 100, dt_days: 10, replications: 256, seed: 6}
actors:
  DECLINING:
    forces: {deployed: 10000}
    combat: {effectiveness: 0.01}
    decision: {war_cost: 0.02}
  RISING:
    forces: {deployed: 10000}
    combat: {effectiveness: 0.01, defence_advantage: 1.0}
    decision: {war_cost: 0.02}
relations:
  adversaries: [[DECLINING, RISING]]
escalation:
  rungs: [calm, tense, limited, full, wider]
  initial_rung: tense
  limited_war: limited
  full_war: full
  alliance_war: wider
combat: {collapse_fraction: 0.3}
negotiation:
  issues:
    stake:
      core: true
      positions: {DECLINING: 1, RISING: 0}
      salience: {DECLINING: 0.5, RISING: 0.5}
bargaining:
  proposer: DECLINING
  receiver: RISING
  discount: 0.995
  shift_day: 10.0
  shift_growth: 1.5
  first_day: 0
  rounds: 1
  interval_days: 10
"""


def test_a_shift_day_anywhere_inside_one_step_is_the_same_shift(brink, tmp_path):
    """The shift happens at the start of the step that holds its day, so days 10.0 and 19.9 with
    10-day steps simulate the same world; the proposer's weight of the time after the shift used
    the nominal day, so one of them fought a preventive war and the other settled (Powell's
    condition sits between delta^10 and delta^19.9 here)."""
    import h5py
    import numpy as np

    scenario = tmp_path / "c.yaml"
    scenario.write_text(PREVENTIVE)
    results = {}
    for day in ("10.0", "19.9"):
        out = tmp_path / f"shift{day}.h5"
        proc = subprocess.run([brink, "run", str(scenario), "-q", "-t", "1", "-o", str(out),
                               "--set", f"bargaining.shift_day={day}"], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        with h5py.File(out) as f:
            results[day] = {name: f[name][()] for name in ("outcome_code", "end_step", "offer")}
    for name in results["10.0"]:
        np.testing.assert_array_equal(results["10.0"][name], results["19.9"][name], err_msg=name)


def test_a_bargaining_pair_of_allies_is_refused(brink, tmp_path):
    """The war forecast counts an actor's allies on its side, so offers between allies were priced
    as if the receiver fought for the proposer (p = 1): a proposer 100 times weaker took the whole
    stake every time. An attack on an ally was already refused; a bargaining pair now is too."""
    text = PREVENTIVE.replace("  adversaries: [[DECLINING, RISING]]", "  allies: [[DECLINING, RISING]]")
    assert text != PREVENTIVE
    scenario = tmp_path / "allies.yaml"
    scenario.write_text(text)
    out = tmp_path / "allies.h5"
    for command in (["validate", str(scenario)], ["run", str(scenario), "-q", "-o", str(out)]):
        proc = subprocess.run([brink, *command], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        line = next(line for line in proc.stderr.splitlines() if "bargaining.receiver" in line)
        assert re.match(rf"{re.escape(str(scenario))}:\d+:\d+: ", line), line
        assert "'RISING', an ally of 'DECLINING'" in line and "non-ally" in line, line
    assert not out.exists() and not (tmp_path / "allies.h5.partial").exists()


def test_a_finished_calibration_is_continued_into_another_file(brink, tmp_path):
    """brink advised '--resume --generations N' for a calibration whose last tolerance was still
    loose, and --resume refuses a finished calibration. --continue FILE starts from FILE's
    generations: the result is the same bits as one calibration of N generations, FILE is not
    changed, and what it cannot be continued with is refused with exit 2."""
    import hashlib

    import h5py
    import numpy as np

    toy = os.path.join(os.environ.get("BRINK_SOURCE_DIR", "."), "scenarios", "validation",
                       "calibrate-incidents.yaml")

    def calibrate(*args):
        return subprocess.run([brink, "calibrate", toy, "--particles", "120", "-q", *map(str, args)],
                              capture_output=True, text=True, timeout=300)

    short, whole, longer = tmp_path / "short.h5", tmp_path / "whole.h5", tmp_path / "longer.h5"
    assert calibrate("--generations", 2, "-o", short).returncode == 0
    assert calibrate("--generations", 4, "-o", whole).returncode == 0
    digest = hashlib.sha256(short.read_bytes()).hexdigest()
    posterior = tmp_path / "short.posterior.yaml"
    posterior_text = posterior.read_text()

    proc = calibrate("--generations", 4, "--continue", short, "-o", longer)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(whole) as a, h5py.File(longer) as b:
        for name in a:
            assert np.array_equal(a[name][()], b[name][()], equal_nan=a[name].dtype.kind == "f"), name
    assert hashlib.sha256(short.read_bytes()).hexdigest() == digest and posterior.read_text() == posterior_text
    assert (tmp_path / "longer.posterior.yaml").exists()

    refusals = {
        "names this calibration's own OUT": ("--generations", 4, "--continue", short, "-o", short, "--overwrite"),
        "already holds 2 complete generations": ("--generations", 2, "--continue", short, "-o", tmp_path / "a.h5"),
        "was written with": ("--generations", 4, "--seed", 99, "--continue", short, "-o", tmp_path / "b.h5"),
        "give one of them": ("--generations", 4, "--continue", short, "--resume", "-o", tmp_path / "c.h5"),
    }
    for expected, args in refusals.items():
        proc = calibrate(*args)
        assert proc.returncode == 2 and expected in proc.stderr and proc.stderr.count("\n") == 1, (args, proc.stderr)
    assert not any((tmp_path / f"{x}.h5").exists() for x in "abc")
    assert hashlib.sha256(short.read_bytes()).hexdigest() == digest
