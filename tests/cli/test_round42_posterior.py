"""The posterior scenario of `brink calibrate` (round 42, findings H3, H4, M2).

H3: keys the file lacks under one block-style parent (two or more, at several
depths ending at one place) made invalid YAML, found only after every
generation ran (exit 1, the result left a .partial). The posterior scenario is
now composed and checked before the first generation too.
H4: a file's `sweep:` block was copied into the posterior scenario: running it
ran the sweep's points (its scenario files read from disk) without the means,
and the `--posterior` command brink printed was refused.
M2: a calibrated (or --set) `events.N.day` of a dated event was written as
`day:` beside its `date:`, a file every command refuses.

Truth is the calibration file's own particles (weighted means read with h5py)
and the model's closed form for a reinforcement (troops = deployed + reinforce
when nothing else moves)."""

import re
import shlex
import subprocess

import h5py
import numpy as np
import pytest
import yaml

HEAD = """brink: 1
name: evcal
run: {horizon_days: 20, dt_days: 1, replications: 16, seed: 3, decisions: false, start_date: 2024-02-27}
"""
ESCALATION = """escalation:
  rungs: [calm, tense, war, bigwar]
  initial_rung: calm
  limited_war: war
  full_war: war
  alliance_war: bigwar
"""
TAIL = """events:
  - {day: 3, actor: A, reinforce: 500}   # day 3
observations:
  a_forces: {quantity: forces, actor: A, date: 2024-03-10, value: 1500, sd: 50, source: test}
calibrate:
  particles: 30
  generations: 2
  replications: 2
  parameters:
"""
B_BLOCK = """actors:
  A: {forces: {deployed: 1000}}
  B:
    forces:
      deployed: 1000
    actions:
      hold: {}
      mobilize:
        amount: 5
"""


def prior(path, lo, hi):
    return f"    {path}: {{prior: uniform, min: {lo}, max: {hi}}}\n"


# The tester's min_fail.yaml (two absent keys under block-style actor B) and abscal.yaml (eight).
MIN_FAIL = HEAD + B_BLOCK + ESCALATION + TAIL + prior("actors.B.decision.weights.cost", 0, 2) + prior(
    "actors.B.actions.mobilize.tension", 0, 1)
ABSCAL = HEAD + B_BLOCK + ESCALATION + TAIL + "".join(
    prior(p, lo, hi) for p, lo, hi in [
        ("actors.A.posture.grievance", 0, 100), ("actors.B.decision.weights.cost", 0, 2),
        ("actors.B.actions.hold.cost", 0, 2), ("actors.B.actions.mobilize.tension", 0, 1),
        ("escalation.tension.decay", 0, 1), ("escalation.incidents.base_rate", 0, 0.01),
        ("combat.collapse_fraction", 0.1, 0.5), ("actors.A.combat.effectiveness", 0, 0.1)])

# Several absent keys under several parents, nested absent sections, at several depths that end at one place.
MANY = [("actors.A.posture.grievance", 0, 100), ("actors.A.posture.fatigue", 0, 1),
        ("actors.A.decision.weights.cost", 0, 2), ("actors.A.decision.rationality", 0.5, 2),
        ("actors.B.decision.weights.cost", 0, 2), ("actors.B.decision.weights.escalation", 0, 2),
        ("actors.B.decision.patience_days", 10, 40), ("actors.B.posture.reaction", 0, 1),
        ("actors.B.actions.hold.cost", 0, 2), ("actors.B.actions.hold.tension", 0, 1),
        ("actors.B.actions.mobilize.tension", 0, 1), ("actors.B.actions.mobilize.cost", 0, 2),
        ("escalation.tension.decay", 0, 1), ("escalation.incidents.base_rate", 0, 0.01),
        ("combat.collapse_fraction", 0.1, 0.5), ("combat.limited_war_intensity", 0.1, 0.5),
        ("negotiation.drawdown", 0.1, 0.9)]
LAYOUTS = {
    "block": B_BLOCK,
    "flow": "actors:\n  A: {forces: {deployed: 1000}}\n"
            "  B: {forces: {deployed: 1000}, actions: {hold: {}, mobilize: {amount: 5}}}\n",
    "block_with_flow_leaves": "actors:\n  A:\n    forces: {deployed: 1000}   # a comment\n  B:\n"
                              "    forces: {deployed: 1000}\n    actions:\n      hold: {}\n"
                              "      mobilize: {amount: 5}   # the last line of B\n",
    "deep_block": "actors:\n  A:\n    forces:\n      deployed: 1000\n  B:\n    forces:\n      deployed: 1000\n"
                  "    actions:\n      hold:\n        cost: 0\n      mobilize:\n        amount: 5\n\n"
                  "        # a comment line at the end of the block\n",
}


def brink_run(brink, *args, cwd=None, timeout=300):
    return subprocess.run([brink, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout, cwd=cwd)


def means_of(h5):
    with h5py.File(h5) as f:
        paths = [p.decode() if isinstance(p, bytes) else str(p) for p in f["parameter"][()]]
        means = f["weights"][-1, :] @ f["particles"][-1, :, :]
    return dict(zip(paths, means))


def value_at(doc, path):
    node = doc
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def calibrate(brink, tmp_path, name, text, *extra):
    scenario = tmp_path / f"{name}.yaml"
    scenario.write_text(text, encoding="utf-8")
    out = tmp_path / f"{name}.h5"
    proc = brink_run(brink, "calibrate", scenario, "-t", "1", "-o", out, *extra, cwd=tmp_path)
    return proc, out, tmp_path / f"{name}.posterior.yaml"


def check_posterior(brink, out, posterior):
    """The posterior scenario validates, and every calibrated path holds its weighted mean."""
    assert out.is_file() and posterior.is_file()
    proc = brink_run(brink, "validate", posterior)
    assert proc.returncode == 0, proc.stderr
    doc = yaml.safe_load(posterior.read_text(encoding="utf-8"))
    for path, mean in means_of(out).items():
        assert value_at(doc, path) == pytest.approx(mean, rel=1e-12), path
    return doc


@pytest.mark.parametrize("name", ["min_fail", "abscal"])
def test_absent_keys_under_one_block_parent_are_added_and_the_calibration_finishes(brink, tmp_path, name):
    proc, out, posterior = calibrate(brink, tmp_path, name, {"min_fail": MIN_FAIL, "abscal": ABSCAL}[name], "-q")
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / f"{name}.h5.partial").exists()
    check_posterior(brink, out, posterior)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_many_absent_keys_under_many_parents_in_any_style(brink, tmp_path, layout):
    text = HEAD + LAYOUTS[layout] + ESCALATION + TAIL + "".join(prior(*p) for p in MANY)
    proc, out, posterior = calibrate(brink, tmp_path, layout, text, "-q")
    assert proc.returncode == 0, proc.stderr
    doc = check_posterior(brink, out, posterior)
    assert doc["actors"]["B"]["actions"]["mobilize"]["amount"] == 5  # the file's own values stay
    assert len(means_of(out)) == len(MANY)


CH_A = """brink: 1
name: cha
run: {horizon_days: 20, dt_days: 1, replications: 16, seed: 3, decisions: false}
actors:
  A: {forces: {deployed: 1000}}
  B: {forces: {deployed: 1000}}
escalation:
  rungs: [calm, tense, war, bigwar]
  initial_rung: calm
  limited_war: war
  full_war: war
  alliance_war: bigwar
events:
  - {day: 3, actor: A, reinforce: 500}
SWEEP
observations:
  a_forces: {quantity: forces, actor: A, day: 10, value: 1900, sd: 50, source: test}
calibrate:
  particles: 30
  generations: 2
  replications: 2
  parameters:
    events.0.reinforce: {prior: uniform, min: 0, max: 1000}
"""
SWEEPS = {
    "scenarios": "sweep:\n  scenarios: [cha.yaml, ch_a2.yaml]",
    "axis": "sweep:\n  parameters:\n    actors.B.forces.deployed: [800, 1200]   # an axis",
    "flow": "sweep: {parameters: {actors.B.forces.deployed: [800, 1200]}}",
}


@pytest.mark.parametrize("sweep", sorted(SWEEPS))
def test_the_posterior_scenario_of_a_file_with_a_sweep_runs_the_means_and_the_printed_command_runs(
        brink, tmp_path, sweep):
    (tmp_path / "ch_a2.yaml").write_text(
        CH_A.replace("SWEEP\n", "").split("calibrate:")[0].replace("name: cha", "name: cha2"), encoding="utf-8")
    calibrated, out, posterior = calibrate(brink, tmp_path, "cha", CH_A.replace("SWEEP", SWEEPS[sweep]))
    assert calibrated.returncode == 0, calibrated.stderr
    doc = check_posterior(brink, out, posterior)
    assert "sweep" not in doc
    text = posterior.read_text(encoding="utf-8")
    assert re.search(r"^# The sweep: block, commented out", text, re.M), text
    reinforce = means_of(out)["events.0.reinforce"]
    # Run alone: one point, A's troops after the reinforcement are 1000 + the posterior mean.
    proc = brink_run(brink, "run", posterior, "-n", "16", "-t", "1", "-q", "-o", tmp_path / "p.h5",
                     "--timeseries", "every=1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(tmp_path / "p.h5") as f:
        troops = f["troops"][()]
    assert troops.shape[0] == 1, troops.shape
    assert np.allclose(troops[0, :, 10, 0, 0], 1000 + reinforce, rtol=1e-6), troops[0, :, 10, 0, 0]  # point, replication, step, actor, pool
    # The command the calibration printed last runs (the posterior forecast).
    printed = re.findall(r"brink run (\S+) --posterior (\S+?)\.?$", calibrated.stdout, re.M)
    assert printed, calibrated.stdout
    scenario, particles = printed[-1]
    proc = brink_run(brink, "run", scenario, "--posterior", particles, "-n", "32", "-t", "1", "-q", "-o",
                     tmp_path / "forecast.h5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


EVCAL = HEAD.replace("name: evcal", "name: evcal") + """actors:
  A: {forces: {deployed: 1000}}
  B: {forces: {deployed: 1000}}
""" + ESCALATION + """events:
  - {date: 2024-03-01, actor: A, reinforce: 500}   # day 3
  - date: 2024-03-02   # a block-style dated event
    actor: B
    reinforce: 100
observations:
  a_forces: {quantity: forces, actor: A, date: 2024-03-10, value: 1500, sd: 50, source: test}
calibrate:
  particles: 30
  generations: 2
  replications: 2
  parameters:
    events.0.day: {prior: uniform, min: 0, max: 15}
    events.0.reinforce: {prior: uniform, min: 0, max: 1000}
"""


@pytest.mark.parametrize("block_event_day", [False, True])
def test_a_calibrated_day_of_a_dated_event_replaces_its_date(brink, tmp_path, block_event_day):
    text = EVCAL + (prior("events.1.day", 0, 15) if block_event_day else "")
    proc, out, posterior = calibrate(brink, tmp_path, "evcal", text, "-q")
    assert proc.returncode == 0, proc.stderr
    doc = check_posterior(brink, out, posterior)
    means = means_of(out)
    event = doc["events"][0]
    assert "date" not in event and event["day"] == pytest.approx(means["events.0.day"], rel=1e-12)
    assert ("date" in doc["events"][1]) != block_event_day
    assert "'date: 2024-03-01' replaced" in posterior.read_text(encoding="utf-8")
    proc = brink_run(brink, "run", posterior, "-n", "16", "-t", "1", "-q", "-o", tmp_path / "p.h5",
                     "--timeseries", "every=1")
    assert proc.returncode == 0, proc.stderr
    with h5py.File(tmp_path / "p.h5") as f:
        troops = f["troops"][()]
    assert np.allclose(troops[0, :, -1, 0, 0], 1000 + means["events.0.reinforce"], rtol=1e-6)


def test_a_set_day_of_a_dated_event_given_to_the_calibration_replaces_its_date(brink, tmp_path):
    text = EVCAL.replace("    events.0.day: {prior: uniform, min: 0, max: 15}\n", "")
    proc, out, posterior = calibrate(brink, tmp_path, "evset", text, "-q", "--set", "events.0.day=5")
    assert proc.returncode == 0, proc.stderr
    doc = check_posterior(brink, out, posterior)
    assert "date" not in doc["events"][0] and doc["events"][0]["day"] == 5
    proc = brink_run(brink, "run", posterior, "-n", "16", "-t", "1", "-q", "-o", tmp_path / "p.h5")
    assert proc.returncode == 0, proc.stderr
