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


SAMPLED = """brink: 1
name: round39-constraints
description: "Round 39: constraints on sampled designs."
run: {horizon_days: 5, dt_days: 1, replications: 16, seed: 5, decisions: false}
actors:
  A:
    forces: {deployed: 1000, deployed_cap: 10000}
    combat: {effectiveness: 0}
  B:
    forces: {deployed: 1000}
    combat: {effectiveness: 0}
relations:
  adversaries: [[A, B]]
escalation:
  rungs: [calm, tense, limited, full, wider]
  initial_rung: tense
  limited_war: limited
  full_war: full
  alliance_war: wider
  incidents: {base_rate: 0.05, escalation_probability: 0.5}
sweep:
"""


def _run(brink, *args):
    return subprocess.run([brink, *map(str, args)], capture_output=True, text=True, timeout=120)


def test_a_constraint_on_a_lever_is_refused(brink, tmp_path):
    """Every policy of a mixed design runs the same sampled points; a constraint reading a lever
    clipped or dropped them differently per policy (2 and 7 states with reject), silently."""
    body = SAMPLED + """  design: lhs
  samples: 10
  levers:
    actors.A.forces.deployed_cap: [3000, 6000]
  uncertainties:
    actors.A.forces.deployed: {min: 1000, max: 2900}
    escalation.incidents.base_rate: {min: 0.01, max: 0.2}
  constraints:
    - {rule: "escalation.incidents.base_rate <= 0.00001 * actors.A.forces.deployed_cap", action: ACTION}
"""
    for action in ("clip", "reject"):
        scenario = tmp_path / f"{action}.yaml"
        scenario.write_text(body.replace("ACTION", action))
        out = tmp_path / f"{action}.h5"
        for args in (["validate", scenario], ["run", scenario, "-q", "-o", out]):
            proc = _run(brink, *args)
            assert proc.returncode == 2, proc.stdout + proc.stderr
            assert re.match(rf"{re.escape(str(scenario))}:\d+:\d+: .*reads 'actors.A.forces.deployed_cap', a lever",
                            proc.stderr), proc.stderr
        assert not out.exists()
    # Bounds among the uncertainties alone stay accepted.
    scenario = tmp_path / "uncertainties.yaml"
    scenario.write_text(body.replace("0.00001 * actors.A.forces.deployed_cap", "0.0001 * actors.A.forces.deployed")
                        .replace("ACTION", "reject"))
    proc = _run(brink, "run", scenario, "-q", "-o", tmp_path / "u.h5")
    assert proc.returncode == 0, proc.stderr


def test_constraint_refusals_name_only_remedies_the_design_accepts(brink, tmp_path):
    """A grid's constraints were told to use a morris design, which refuses them (and said so once
    per constraint); a categorical axis under morris was told to become a lever, which morris
    refuses too."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SAMPLED + """  design: lhs
  samples: 8
  parameters:
    escalation.incidents.base_rate: {min: 0.01, max: 0.2}
    escalation.incidents.escalation_probability: {min: 0.1, max: 0.9}
  constraints:
    - {rule: "escalation.incidents.base_rate <= 0.15", action: clip}
    - {rule: "escalation.incidents.escalation_probability <= 4 * escalation.incidents.base_rate + 0.05", action: clip}
""")
    grid = tmp_path / "grid.yaml"
    grid.write_text(scenario.read_text().replace("  design: lhs\n  samples: 8\n", "")
                    .replace("{min: 0.01, max: 0.2}", "[0.01, 0.2]").replace("{min: 0.1, max: 0.9}", "[0.1, 0.9]"))
    proc = _run(brink, "validate", grid)
    assert proc.returncode == 2 and "morris design refuses them too" in proc.stderr, proc.stderr
    assert "random, lhs, sobol or morris" not in proc.stderr, proc.stderr
    proc = _run(brink, "run", scenario, "-q", "--design", "morris", "-o", tmp_path / "m.h5")
    assert proc.returncode == 2 and proc.stderr.count("cannot be used with a morris design") == 1, proc.stderr
    proc = _run(brink, "run", scenario, "-q", "--design", "morris", "--samples", 4, "--sweep", "combat.law=square,linear",
                "-o", tmp_path / "c.h5")
    assert proc.returncode == 2 and "'combat.law' is categorical" in proc.stderr, proc.stderr
    assert "lever" not in proc.stderr, proc.stderr


def test_a_design_whose_points_are_all_rejected_names_the_seed(brink, tmp_path):
    """Whether a reject rule keeping a small corner of the box leaves any point depends on the
    draws; the refusal said nothing of the seed, so a batch over seeds failed at random."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SAMPLED + """  design: lhs
  samples: 100
  parameters:
    escalation.incidents.base_rate: {min: 0.01, max: 0.2}
  constraints:
    - {rule: "escalation.incidents.base_rate <= 0.0101", action: reject}
""")
    refused = []
    for seed in range(1, 9):
        proc = _run(brink, "run", scenario, "-q", "--seed", seed, "-o", tmp_path / f"s{seed}.h5")
        assert proc.returncode in (0, 2), proc.stderr
        if proc.returncode == 2:
            assert f"reject all 100 points this design draws with seed {seed}" in proc.stderr, proc.stderr
            refused.append(seed)
    assert refused, "a corner this small must leave some seed without a point"


def test_an_adaptive_point_whose_outcomes_are_all_certain_stops_where_its_interval_is_narrow_enough(brink, tmp_path):
    """The round after the first was sized by the normal approximation at the Wilson centre, which
    at a share of 0 asks for z^4/(2(n+z^2)h^2) (about 7,000 at h = 0.002) where the Wilson
    interval the stopping test uses is narrow enough at z^2/(2h) - z^2 = 957: 4 blocks."""
    import h5py

    z = 1.959963984540054
    h = 0.002
    scenario = tmp_path / "certain.yaml"
    scenario.write_text(SAMPLED.replace("replications: 16", f"replications: {{min: 256, max: 100000, ci_halfwidth: {h}}}")
                        .replace("incidents: {base_rate: 0.05, escalation_probability: 0.5}", "incidents: {base_rate: 0}")
                        .replace("sweep:\n", ""))
    out = tmp_path / "certain.h5"
    proc = _run(brink, "run", scenario, "-q", "-t", 1, "-o", out)
    assert proc.returncode == 0, proc.stderr
    needed = z * z / (2 * h) - z * z
    with h5py.File(out) as f:
        ran = int(f["replications"][0])
        assert (f["outcome_code"][0, :ran] == 1).all(), "every replication a standoff"
    assert ran == 256 * -(-int(needed) // 256) == 1024, ran


def test_a_power_shift_past_the_horizon_is_noted(brink, tmp_path):
    """With a discount of 1 any scheduled shift, even one after the last simulated day, made the
    proposer fight a preventive war at the first offer (Powell's patient limit, as documented),
    and nothing said that the shift itself never happens in the runs."""
    scenario = tmp_path / "late.yaml"
    scenario.write_text(PREVENTIVE.replace("discount: 0.995", "discount: 1").replace("shift_day: 10.0", "shift_day: 250"))
    for args in (["validate", scenario], ["run", scenario, "-o", tmp_path / "late.h5", "--no-table"]):
        proc = subprocess.run([brink, *map(str, args)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert "note: bargaining.shift_day (250) is past the horizon (day 100)" in proc.stderr, proc.stderr
        assert "preventive war" in proc.stderr, proc.stderr
    with_shift_inside = tmp_path / "inside.yaml"
    with_shift_inside.write_text(PREVENTIVE)
    proc = subprocess.run([brink, "validate", str(with_shift_inside)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "shift_day" not in proc.stderr, proc.stderr
