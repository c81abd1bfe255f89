"""Menus without an action that is always feasible (docs/model.md, "Logit quantal response"):
where none of an actor's actions is feasible, it does nothing that step. It used to take its
menu's first entry anyway, with the effect the docs make impossible there: a retaliation with no
war on raised every replication to the alliance rung and kept a later attack from starting the
war; a proposal during a war agreed issues. Run through the real CLI, as a user would."""

import copy
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

BRINK = os.environ.get("BRINK")
KINDS = ["hold", "mobilize", "deploy", "withdraw", "exercise", "raise_readiness", "propose", "concede", "sanction",
         "arm_partner", "evacuate", "attack", "retaliate"]
STANDOFF, LIMITED, ALLIANCE = 1, 2, 4

BASE = {
    "brink": 1,
    "name": "menus-without-hold",
    "run": {"horizon_days": 10, "dt_days": 1, "replications": 256, "seed": 3},
    "actors": {
        "A": {"forces": {"deployed": 50000}, "combat": {"effectiveness": 0.01}, "actions": {"hold": {}}},
        "B": {"forces": {"deployed": 30000}, "combat": {"effectiveness": 0.01}, "actions": {"hold": {}}},
        "C": {"forces": {"deployed": 20000, "ready": 0, "deployment_rate": 5000}, "combat": {"effectiveness": 0.01},
              "types": {"firm": {"prior": 0.3}, "soft": {"prior": 0.7}},
              "actions": {"join": {"kind": "retaliate"}, "dep": {"kind": "deploy", "amount": 1000}}},
    },
    "relations": {"adversaries": [["A", "B"], ["A", "C"]], "commitments": [{"from": "C", "to": "B", "strength": 0.3}]},
    "escalation": {"rungs": ["calm", "tense", "limited", "full", "wider"], "initial_rung": "tense",
                   "limited_war": "limited", "full_war": "full", "alliance_war": "wider"},
    "combat": {"collapse_fraction": 0},
}


def simulate(tmp_path, name, scenario):
    assert BRINK, "set BRINK to the brink binary"
    path, out = tmp_path / f"{name}.yaml", tmp_path / f"{name}.h5"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    proc = subprocess.run([BRINK, "run", str(path), "-q", "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return h5py.File(out, "r")


def counts(f, actor, kind):
    return f["action_count"][0, :, actor, KINDS.index(kind)]


def test_an_actor_with_nothing_feasible_does_nothing(tmp_path):
    """No war, so C's retaliation is never feasible, nor its deployment (no ready troops): C
    idles. Nothing escalates, it counts no action, and the belief about its type stays at the
    prior exactly (there is no action to learn from)."""
    with simulate(tmp_path, "idle", BASE) as f:
        assert set(f["outcome_code"][0]) == {STANDOFF}
        assert (f["alliance_war_cause"][0] == 0).all()
        assert (counts(f, 2, "retaliate") == 0).all() and (counts(f, 2, "deploy") == 0).all()
        np.testing.assert_array_equal(f["final_belief"][0, :, 2, :2], np.tile([0.3, 0.7], (256, 1)).astype(np.float32))


@pytest.mark.parametrize("order", [["join", "dep"], ["dep", "join"]])
def test_an_attack_starts_its_war_whatever_the_order_of_an_idle_menu(tmp_path, order):
    """A attacks B on day 3. C may retaliate only once that war is on, and then does (its only
    feasible action), bringing the alliance rung by intervention. The menu's order used to
    decide whether the war happened at all: with `join` first, C 'retaliated' from day 0, the
    ladder reached the alliance rung without a war, and the attack never started combat."""
    scenario = copy.deepcopy(BASE)
    actions = scenario["actors"]["C"]["actions"]
    scenario["actors"]["C"]["actions"] = {name: actions[name] for name in order}
    scenario["events"] = [{"day": 3, "actor": "A", "attack": "B", "rung": "full"}]
    with simulate(tmp_path, "order-" + "-".join(order), scenario) as f:
        assert (f["war_start_step"][0] == 3).all()
        assert (f["casualties"][0, :, 0] > 0).all()
        assert (counts(f, 2, "retaliate") == 1).all()
        assert set(f["outcome_code"][0]) == {ALLIANCE} and (f["alliance_war_cause"][0] == 2).all()


def test_a_proposal_is_never_made_in_a_war(tmp_path):
    """A can only propose, which needs an open issue and no war; B attacks on day 2. A proposes
    on days 0 and 1 and then idles: no issue is agreed during the war, which the forced first
    entry did (40 proposals and an agreed issue in a limited war)."""
    scenario = copy.deepcopy(BASE)
    scenario["run"]["horizon_days"] = 40
    del scenario["actors"]["C"]
    scenario["relations"] = {"adversaries": [["A", "B"]]}
    scenario["actors"]["A"]["actions"] = {"prop": {"kind": "propose", "concession": 0.07}}
    scenario["events"] = [{"day": 2, "actor": "B", "attack": "A", "rung": "limited"}]
    scenario["negotiation"] = {"acceptance_window": 0.08, "issues": {
        "core1": {"core": True, "positions": {"A": 0.85, "B": 0.1}, "salience": {"A": 0.6, "B": 0.35}}}}
    with simulate(tmp_path, "talks-in-war", scenario) as f:
        assert (f["war_start_step"][0] == 2).all()
        assert set(f["outcome_code"][0]) == {LIMITED}
        assert (counts(f, 0, "propose") == 2).all()
        assert (f["agreed"][0] == 0).all()
