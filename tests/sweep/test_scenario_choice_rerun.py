"""Round 42 (outside tester): the re-run recipe of scenario-choice points and what scenario choices must
share (docs/sweeps.md, "Scenario choices"; docs/output.md, `rerun_command`). Truth: the documented promise
that a point's rerun_command gives its bits with common random numbers (compared with h5py), and the
documented refusals."""

import shlex
import subprocess

import h5py
import numpy as np
import pytest

from test_designs import usage_error
from test_sweeps import BRINK, TIMEOUT_S, write

# The outside tester's corpus/ch files, rebuilt here.

CHOICE_RUN = "run: {horizon_days: 30, dt_days: 1, replications: 64, seed: 5, start_date: 2022-01-24}"
CHOICE = """brink: 1
name: {name}
{run}
actors:
  A:
    forces: {{deployed: 10000, ready: 5000, reserve: 10000, mobilization_rate: 500, deployment_rate: 500}}
    decision: {{rationality: 1, weights: {{security: 1, cost: 1, war_gain: 1}}}}
    actions:
      hold: {{}}
      mobilize: {{amount: 1000, cost: 0.5}}
{strike}
  B:
    forces: {{deployed: 8000, ready: 2000}}
    actions:
      hold: {{}}
{deploy}relations:
  adversaries: [[A, B]]
escalation:
  rungs: [calm, tense, war, bigwar]
  initial_rung: calm
  limited_war: war
  full_war: war
  alliance_war: bigwar
events:
  - {event}
{tail}"""
STRIKE_A = "      strike: {kind: attack, target: B, rung: war, cost: 3}"
STRIKE_B = ("      strike: {kind: attack, target: B, rung: war, cost: 5}\n"
            "      exercise: {cost: 0.1, tension: 0.1, rung: tense}")
DEPLOY = "      deploy: {amount: 500, cost: 0.2}\n"


def choice(directory, name, *, strike=STRIKE_A, run=CHOICE_RUN, event="{date: 2022-01-30, actor: A, reinforce: 500}",
           deploy=DEPLOY, tail=""):
    directory.mkdir(parents=True, exist_ok=True)
    return write(directory, name, CHOICE.format(name=name.split(".")[0], run=run, strike=strike, deploy=deploy,
                                                event=event, tail=tail))


def run_in(cwd, *args):
    return subprocess.run([BRINK, *[str(a) for a in args]], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=TIMEOUT_S)


def assert_every_point_reruns_alone(cwd, result, tmp_path):
    """Each point's rerun_command, run from the directory the sweep ran in, runs one point with the
    point's bits (common random numbers: docs/output.md, `rerun_command`)."""
    with h5py.File(result) as f:
        commands = [c.decode() if isinstance(c, bytes) else c for c in f["rerun_command"][:]]
        outcomes, casualties, replications = f["outcome_code"][:], f["casualties"][:], f["replications"][:]
    assert len(commands) >= 2
    for p, command in enumerate(commands):
        words = shlex.split(command)
        assert words[:2] == ["brink", "run"], command
        out = tmp_path / f"rerun_{p}.h5"
        proc = run_in(cwd, *words[1:], "--threads", 1, "-q", "-o", out)
        assert proc.returncode == 0, f"{command}\n{proc.stderr}"
        with h5py.File(out) as g:
            assert g["outcome_code"].shape[0] == 1, f"{command} runs {g['outcome_code'].shape[0]} points"
            n = replications[p]
            assert g["replications"][0] == n, command
            assert np.array_equal(g["outcome_code"][0][:n], outcomes[p][:n]), command
            assert np.array_equal(g["casualties"][0][:n], casualties[p][:n], equal_nan=True), command


def test_a_choice_with_its_own_sweep_block_reruns_alone(tmp_path):
    """Repro A: the choice b2.yaml has a sweep block of its own, which the choice sweep ignores; its point's
    rerun_command ran that block (three other points) instead of the point."""
    work = tmp_path / "ch"
    choice(work, "a2.yaml")
    choice(work, "b2.yaml", strike=STRIKE_B, event="{date: 2022-02-10, actor: A, reinforce: 500}",
           tail="sweep:\n  parameters:\n    actors.B.forces.deployed: [1000, 2000, 3000]\n")
    out = tmp_path / "a.h5"
    proc = run_in(work, "run", "a2.yaml", "-n", 256, "--threads", 1, "-q", "-o", out, "--sweep",
                  "scenario=a2.yaml,b2.yaml", "--set", "run.random_numbers=common")
    assert proc.returncode == 0, proc.stderr
    assert_every_point_reruns_alone(work, out, tmp_path)


def test_the_base_files_list_of_choices_does_not_run_again(tmp_path):
    """Repro B: a.yaml's own sweep lists the choices [a.yaml, b.yaml] (b a copy with another menu) and an
    axis; every point's command re-ran the whole list of choices."""
    work = tmp_path / "ch"
    block = ("sweep:\n  scenarios: [a.yaml, b.yaml]\n  parameters:\n    actors.A.forces.deployed: [9000, 11000]\n")
    common = CHOICE_RUN.replace("seed: 5,", "seed: 5, random_numbers: common,")
    choice(work, "a.yaml", run=common, tail=block)
    choice(work, "b.yaml", run=common, strike=STRIKE_B, event="{date: 2022-02-10, actor: A, reinforce: 500}",
           tail=block)
    out = tmp_path / "b.h5"
    proc = run_in(work, "run", "a.yaml", "-n", 256, "--threads", 1, "-q", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert_every_point_reruns_alone(work, out, tmp_path)


def test_choices_named_beside_the_scenario_are_named_from_the_working_directory(tmp_path):
    """Repro C: run from rel/ on sub/a.yaml, whose sweep lists [a.yaml, b.yaml] (in sub/); the commands said
    'a.yaml' and 'b.yaml', and an unrelated rel/b.yaml ran in place of sub/b.yaml."""
    rel = tmp_path / "rel"
    common = CHOICE_RUN.replace("seed: 5,", "seed: 5, random_numbers: common,")
    choice(rel / "sub", "a.yaml", run=common, tail="sweep:\n  scenarios: [a.yaml, b.yaml]\n")
    choice(rel / "sub", "b.yaml", run=common, deploy="", tail="sweep:\n  scenarios: [a.yaml, b.yaml]\n")
    choice(rel, "b.yaml", run=common, strike=STRIKE_B)  # a decoy the old command ran
    out = tmp_path / "c.h5"
    proc = run_in(rel, "run", "sub/a.yaml", "-n", 64, "--threads", 1, "-q", "-o", out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out) as f:
        commands = [c.decode() if isinstance(c, bytes) else c for c in f["rerun_command"][:]]
    assert [shlex.split(c)[2] for c in commands] == ["sub/a.yaml", "sub/b.yaml"], commands
    assert_every_point_reruns_alone(rel, out, tmp_path)


@pytest.mark.parametrize("other_run, named", [
    (CHOICE_RUN.replace("2022-01-24", "2022-01-10"), r"run\.start_date 2022-01-24 and 2022-01-10"),
    ("run: {horizon_days: 30, dt_days: 1, replications: 64, seed: 5}", r"run\.start_date 2022-01-24 and \(none\)"),
    (CHOICE_RUN.replace("seed: 5,", "seed: 5, information: revealed,"), r"run\.information private and revealed"),
])
def test_choices_must_share_the_calendar_and_the_information(tmp_path, other_run, named):
    """M1: the file has one calendar (the base's `time` coordinate) and the information setting is a run
    setting: choices that differ are refused like the other run settings, naming both values."""
    event = "{day: 6, actor: A, reinforce: 500}" if "start_date" not in other_run else \
        "{date: 2022-01-30, actor: A, reinforce: 500}"
    base = choice(tmp_path, "a2.yaml")
    choice(tmp_path, "c2.yaml", run=other_run, event=event)
    proc = run_in(tmp_path, "run", base, "-n", 64, "--threads", 1, "-q", "-o", tmp_path / "x.h5", "--sweep",
                  "scenario=a2.yaml,c2.yaml")
    usage_error(proc, r"scenario choice 'c2\.yaml' does not match", named)


def test_an_output_mismatch_names_the_key_and_both_values(tmp_path):
    """L2: a choice with output.timeseries_every 2 is refused naming the key and both values."""
    base = choice(tmp_path, "a2.yaml")
    choice(tmp_path, "k.yaml", tail="output: {timeseries_every: 2}\n")
    proc = run_in(tmp_path, "run", base, "-n", 64, "--threads", 1, "-q", "-o", tmp_path / "x.h5", "--sweep",
                  "scenario=a2.yaml,k.yaml")
    usage_error(proc, r"output\.timeseries_every 0 and 2")


def test_a_constraint_may_not_read_a_field_one_choice_lacks(tmp_path):
    """L4: the bound reads B's deploy cost, an action the second choice does not have: refused at the
    constraint's line, naming the field and the choice (before, that choice's points were clipped by the
    base's cost)."""
    block = ("sweep:\n  design: lhs\n  samples: 4\n  scenarios: [a.yaml, e.yaml]\n  parameters:\n"
             "    actors.A.forces.deployed: {min: 5000, max: 20000}\n  constraints:\n"
             "    - {rule: 'actors.A.forces.deployed <= 1000 * actors.B.actions.deploy.cost', action: clip}\n")
    base = choice(tmp_path, "a.yaml", tail=block)
    choice(tmp_path, "e.yaml", deploy="")
    proc = run_in(tmp_path, "run", base, "-n", 64, "--threads", 1, "-q", "-o", tmp_path / "x.h5")
    usage_error(proc, r"a\.yaml:\d+:\d+: .*actors\.B\.actions\.deploy\.cost", r"'e\.yaml' does not have")


def test_sampled_choices_without_a_lever_record_their_roles_on_the_coordinate(tmp_path):
    """L10 (docs/sweeps.md, made to match the file): choices given with --sweep beside a range are an
    uncertainty on their coordinate, and a design without levers writes no root levers/uncertainties."""
    base = choice(tmp_path, "a2.yaml")
    choice(tmp_path, "b2.yaml", strike=STRIKE_B)
    out = tmp_path / "l.h5"
    proc = run_in(tmp_path, "run", base, "-n", 64, "--threads", 1, "-q", "-o", out, "--sweep",
                  "scenario=a2.yaml,b2.yaml", "--design", "lhs", "--samples", 4, "--sweep",
                  "actors.A.forces.deployed=5000:15000")
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out) as f:
        role = f["scenario"].attrs["role"]
        assert (role.decode() if isinstance(role, bytes) else role) == "uncertainty"
        assert "levers" not in f.attrs and "uncertainties" not in f.attrs
