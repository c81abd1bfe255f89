"""Sweeps over scenario files whose menus differ (docs/sweeps.md, "Scenario choices"). Found by an
outside tester: a swept action path was found once, in the base file, and its menu position used in
every file, so the value set another action (or wrote past the end of a shorter menu); a constraint
read the base file's fixed values for every file; a --set path that one file lacks was refused
without naming the file. Checked against the logit's closed form."""

import math

import h5py
import pytest

from test_designs import usage_error
from test_sweeps import brink, simulate, write

HEAD = """brink: 1
name: logit-war
run: {horizon_days: 4, dt_days: 1, replications: 20000, seed: 5}
actors:
  A:
    forces: {deployed: 1000}
    decision: {rationality: 1.0, weights: {cost: 1.0}}
    actions:
"""
TAIL = """  B:
    forces: {deployed: 2000}
relations:
  adversaries: [[A, B]]
escalation:
  rungs: [calm, tense, limited, full, wider]
  initial_rung: tense
  limited_war: limited
  full_war: full
  alliance_war: wider
  incidents: {base_rate: 0}
"""
# Two menus of one chooser: `strike` is the second action of the short one and the third of the long one.
SHORT = ["hold: {}", "strike: {kind: attack, target: B, rung: limited, cost: 1.0}"]
LONG = ["hold: {}", "drill: {kind: exercise, cost: 0.5}", "strike: {kind: attack, target: B, rung: limited, cost: 1.0}",
        "invade: {kind: attack, target: B, rung: full, cost: 2.0}"]
COSTS = {"hold": 0.0, "drill": 0.5, "invade": 2.0}


def menu_file(directory, name, menu, extra=""):
    return write(directory, name, HEAD + "".join(f"      {line}\n" for line in menu) + TAIL + extra)


def standoff(menu, strike_cost):
    """P(no attack in 4 steps): each step the logit picks an attack with probability attack/total weight."""
    weights = {line.split(":")[0]: math.exp(-(strike_cost if line.startswith("strike") else
                                              COSTS[line.split(":")[0]])) for line in menu}
    attack = weights["strike"] + weights.get("invade", 0.0)
    return (1 - attack / sum(weights.values())) ** 4


@pytest.mark.parametrize("base_first", [True, False])
def test_a_swept_action_is_set_by_name_in_every_menu(tmp_path, base_first):
    """strike's cost swept over 0 and 1 in both files, each file first in turn: every point's P(standoff)
    is the closed form of its own file at its own cost (before, the long file's drill got the value,
    or, with the long file first, the short file's points ignored the axis and the run wrote past
    the end of its menu)."""
    short, long_ = menu_file(tmp_path, "short.yaml", SHORT), menu_file(tmp_path, "long.yaml", LONG)
    files = [short, long_] if base_first else [long_, short]
    out = simulate(tmp_path / "choices.h5", files[0], "-t", "2", "--sweep",
                   f"scenario={files[0]},{files[1]}", "--sweep", "actors.A.actions.strike.cost=0,1")
    with h5py.File(out, "r") as f:
        outcomes = [o.decode() for o in f["outcome"][()]]
        p = f["outcome_probability"][:, outcomes.index("standoff")]
        n = f["replications"][()]
    menus = [SHORT, LONG] if base_first else [LONG, SHORT]
    for point, (choice, cost) in enumerate([(0, 0.0), (0, 1.0), (1, 0.0), (1, 1.0)]):
        truth = standoff(menus[choice], cost)
        se = math.sqrt(truth * (1 - truth) / n[point])
        assert abs(p[point] - truth) < 4.5 * se, (point, p[point], truth)


def test_a_constraint_may_not_read_a_field_the_files_set_differently(tmp_path):
    """A clip of strike's cost by B's troops, which the two files set to 2,000 and 1,000: one bound
    for both files would break the second file's rule. Refused at the constraint's line, naming both
    values (before, the second file's points were clipped by the first file's 2,000)."""
    block = """sweep:
  design: lhs
  samples: 20
  scenarios: [k1.yaml, k2.yaml]
  parameters:
    actors.A.actions.strike.cost: {min: 0, max: 3}
  constraints:
    - {rule: "actors.A.actions.strike.cost <= 0.001 * actors.B.forces.deployed", action: clip}
"""
    k1 = menu_file(tmp_path, "k1.yaml", SHORT, block)
    write(tmp_path, "k2.yaml", (HEAD + "".join(f"      {line}\n" for line in SHORT) + TAIL).replace(
        "deployed: 2000", "deployed: 1000"))
    for command in ("validate", "run"):
        args = [command, k1] + (["-q", "-o", tmp_path / "k.h5"] if command == "run" else [])
        usage_error(brink(*args), r"k1\.yaml:\d+:\d+: constraint", r"actors\.B\.forces\.deployed",
                    r"2000 here and 1000 in scenario choice 'k2\.yaml'")
    assert not (tmp_path / "k.h5").exists()


def test_a_set_path_one_choice_lacks_names_that_choice(tmp_path):
    long_, short = menu_file(tmp_path, "long.yaml", LONG), menu_file(tmp_path, "short.yaml", SHORT)
    usage_error(brink("run", long_, "-q", "-o", tmp_path / "x.h5", "--sweep", f"scenario={long_},{short}",
                      "--set", "actors.A.actions.drill.cost=1"),
                r"in scenario choice '[^']*short\.yaml': unknown parameter path 'actors\.A\.actions\.drill\.cost'")
