"""Who fights, and who deters, when more than two actors are tied by alliances and commitments
(docs/model.md, "The escalation ladder" and the `war_gain` and `credibility` features). Found by an
outside tester: the alliance war depended on the order actors were listed in, an attack during a
war had no effect but a higher rung, and an attacker's own ally deterred it. Run through the real
CLI on scenarios built here."""

import copy
import math
import os
import subprocess

import h5py
import numpy as np
import pytest
import yaml

BRINK = os.environ.get("BRINK")
LADDER = {"rungs": ["calm", "tense", "limited", "full", "wider"], "initial_rung": "tense",
          "limited_war": "limited", "full_war": "full", "alliance_war": "wider"}


def simulate(tmp_path, name, scenario, *args):
    assert BRINK, "set BRINK to the brink binary"
    path, out = tmp_path / f"{name}.yaml", tmp_path / f"{name}.h5"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    proc = subprocess.run([BRINK, "run", str(path), "-q", "-t", "1", "-o", str(out), *args], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return h5py.File(out, "r")


def casualties_by_actor(f):
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["actor"][()]]
    return dict(zip(names, f["casualties"][0, 0, :]))


def chain(order, allies, adversaries, attack=("A", "T")):
    """No decisions: equal forces, one attack on day 0, listed in `order`."""
    return {
        "brink": 1, "name": "chain",
        "run": {"horizon_days": 3, "dt_days": 1, "replications": 256, "seed": 1, "decisions": False},
        "actors": {a: {"forces": {"deployed": 10000}, "combat": {"effectiveness": 0.01}} for a in order},
        "relations": {"adversaries": adversaries, "allies": allies},
        "escalation": LADDER,
        "combat": {"law": "square", "collapse_fraction": 0},
        "events": [{"day": 0, "actor": attack[0], "attack": attack[1], "rung": "full"}],
    }


ALLIES = [["A", "X"], ["X", "Y"], ["Y", "Z"], ["T", "B"]]
ADVERSARIES = [["A", "T"], ["P", "Y"]]


@pytest.mark.parametrize("order", [
    ["A", "X", "Y", "Z", "T", "B", "P"],
    ["A", "X", "Z", "Y", "T", "B", "P"],
    ["P", "Z", "Y", "X", "A", "B", "T"],
    ["B", "P", "T", "Y", "A", "Z", "X"],
])
def test_the_alliance_war_spreads_along_alliances_whatever_the_listing_order(tmp_path, order):
    """A attacks T, whose ally B makes it an alliance war at once. The alliance war brings in the
    chain of allies A-X-Y-Z, and P, an adversary of Y alone, on the defending side: the same sides
    in every order (Z stayed out when listed before Y, and P when listed before A). Every actor
    has 10,000 troops and one kill rate, so the square law's exact solution gives each side's
    losses: 4 attackers against 3 defenders, fighting in each of the 3 daily steps (the attack
    comes before combat in step 0)."""
    with simulate(tmp_path, "chain", chain(order, ALLIES, ADVERSARIES)) as f:
        lost = casualties_by_actor(f)
        assert (f["outcome_code"][0] == f["outcome_code"][0][0]).all()
    attackers, defenders = ["A", "X", "Y", "Z"], ["T", "B", "P"]
    assert all(lost[a] > 0 for a in attackers + defenders), lost
    # dA/dt = -k B, dB/dt = -k A with per-troop rate k = 0.01/day for 3 days, A0 = 4e4, B0 = 3e4.
    a0, b0, k, days = 4e4, 3e4, 0.01, 3.0
    a = a0 * math.cosh(k * days) - b0 * math.sinh(k * days)
    b = b0 * math.cosh(k * days) - a0 * math.sinh(k * days)
    side_a, side_b = sum(lost[x] for x in attackers), sum(lost[x] for x in defenders)
    assert side_a == pytest.approx(a0 - a, rel=1e-9) and side_b == pytest.approx(b0 - b, rel=1e-9), (side_a, side_b)
    assert len({round(lost[x], 6) for x in attackers}) == 1 and len({round(lost[x], 6) for x in defenders}) == 1


def test_an_attack_during_a_war_joins_it(tmp_path):
    """A attacks T on day 0 (limited); E attacks F on day 2 (full). A replication holds one war:
    E joins A's side and F joins T's. Before, E and F never fought (10,000 troops each to the end),
    and E's attack only raised the rung of A's war."""
    scenario = chain(["A", "T", "E", "F"], [], [["A", "T"], ["E", "F"]])
    scenario["run"]["horizon_days"] = 6
    scenario["output"] = {"timeseries_every": 1}
    scenario["events"] = [{"day": 0, "actor": "A", "attack": "T", "rung": "limited"},
                          {"day": 2, "actor": "E", "attack": "F", "rung": "full"}]
    with simulate(tmp_path, "two", scenario) as f:
        lost = casualties_by_actor(f)
        deployed = f["troops"][0, 0, :, :, 0]  # steps × actors, deployed
        assert (f["war_start_step"][0] == 0).all()
    assert lost["E"] > 0 and lost["F"] > 0, lost
    # E and F lose nothing before day 2 and fight from then on.
    assert deployed[2, 2] == deployed[0, 2] and deployed[-1, 2] < deployed[2, 2]
    # The sides are equal (A+E against T+F, equal kill rates): equal losses per side.
    assert lost["A"] + lost["E"] == pytest.approx(lost["T"] + lost["F"], rel=1e-9)


DETERRENCE = {
    "brink": 1, "name": "deterrence",
    "run": {"horizon_days": 1, "dt_days": 1, "replications": 20000, "seed": 11},
    "actors": {
        "RED": {"forces": {"deployed": 60000, "ready": 20000}, "combat": {"effectiveness": 0.012},
                "decision": {"rationality": 1.5, "ready_weight": 0.4, "war_forecast": False, "war_cost": 0.1,
                             "weights": {"war_gain": 3.0, "credibility": 2.0, "cost": 1.0, "escalation": 0.0}},
                "actions": {"hold": {}, "invade": {"kind": "attack", "target": "BLU", "rung": "full", "cost": 0.5}}},
        "BLU": {"forces": {"deployed": 40000, "ready": 10000}, "combat": {"effectiveness": 0.01, "defence_advantage": 1.5}},
        "REDA": {"forces": {"deployed": 5000, "ready": 7000}},
        "BLA": {"forces": {"deployed": 8000, "ready": 9000}},
        "PAT": {"forces": {"deployed": 15000, "ready": 30000},
                "combat": {"effectiveness": 0.015, "defence_advantage": 1.2},
                "types": {"firm": {"prior": 0.5, "resolve": 1.0}, "soft": {"prior": 0.5, "resolve": 0.2}}},
    },
    "relations": {"adversaries": [["RED", "BLU"], ["RED", "PAT"]], "allies": [["RED", "REDA"], ["BLU", "BLA"]],
                  "commitments": [{"from": "PAT", "to": "BLU", "strength": 0.3},
                                  {"from": "BLA", "to": "BLU", "strength": 0.4},
                                  {"from": "REDA", "to": "BLU", "strength": 0.2}]},
    "escalation": LADDER,
    "combat": {"law": "square", "collapse_fraction": 0.3},
}


@pytest.mark.parametrize("forecast", [False, True])
def test_only_protectors_outside_both_coalitions_deter(tmp_path, forecast):
    """P(attack on day 0) against the logit's closed form. REDA, RED's own ally, holds a
    commitment to BLU; BLA is BLU's ally and holds one too. The deterrence terms count only PAT
    (as the war forecast's B0 does): REDA fights beside RED whatever it promised, BLA counts once,
    as an ally. Before, P was 0.119 (forecast 0.712) where the protectors alone give 0.188 (0.764)."""
    scenario = copy.deepcopy(DETERRENCE)
    scenario["actors"]["RED"]["decision"]["war_forecast"] = forecast
    with simulate(tmp_path, f"deter{forecast}", scenario) as f:
        attacked = f["war_start_step"][0] == 0
    omega, resolve = 0.4, 0.6  # ready weight; PAT's believed resolve, the prior mean of 1.0 and 0.2
    own = 1 + 60000 + 5000  # RED and its ally's deployed troops
    protector = 0.3 * resolve * (15000 + omega * 30000)
    credibility = -protector / own
    if forecast:
        a0 = (60000 + omega * 20000) + (5000 + omega * 7000)
        alpha = 0.012 * (60000 + omega * 20000) / a0  # REDA has no kill rate
        b0 = (40000 + omega * 10000) + (8000 + omega * 9000) + 0.3 * resolve * (15000 + omega * 30000)
        beta = (0.01 * 1.5 * (40000 + omega * 10000) + 0.3 * resolve * 0.015 * 1.2 * (15000 + omega * 30000)) / b0
        gain = 1 / (1 + b0 ** 2 * beta / (a0 ** 2 * alpha)) - 0.1
    else:
        defenders = 1 + 1.5 * 40000 + 8000 + 0.3 * 15000
        gain = math.log(own) - math.log(defenders)
    p = 1 / (1 + math.exp(-1.5 * (3 * gain - 0.5 + 2 * credibility)))
    z = (attacked.mean() - p) / math.sqrt(p * (1 - p) / attacked.size)
    assert abs(z) < 4.5, (attacked.mean(), p, z)


def test_a_commitment_that_only_relabels_war_has_no_effect_on_probability_war(tmp_path):
    """A's attack on T depends only on its cost (weights: cost alone, so the commitment cannot deter);
    P's commitment to T, at 0.5 or more, brings P into every war, which makes each full war an
    alliance war. Sobol indices: the commitment drives probability_alliance_war and
    probability_full_war but has no effect on probability_war, the sensitivity output of any war,
    where the attack's cost does everything (an outside tester's Taiwan study read the relabelling
    as the strongest deterrent, having no such output)."""
    scenario = {
        "brink": 1, "name": "relabel",
        "run": {"horizon_days": 5, "dt_days": 1, "replications": 512, "seed": 4, "random_numbers": "common"},
        "actors": {
            "A": {"forces": {"deployed": 10000}, "combat": {"effectiveness": 0.01},
                  "decision": {"rationality": 1.0, "weights": {"cost": 1.0}},
                  "actions": {"hold": {}, "attack": {"kind": "attack", "target": "T", "rung": "full", "cost": 1.5}}},
            "T": {"forces": {"deployed": 10000}, "combat": {"effectiveness": 0.01}},
            "P": {"forces": {"deployed": 5000}},
        },
        "relations": {"adversaries": [["A", "T"], ["A", "P"]],
                      "commitments": [{"from": "P", "to": "T", "strength": 0.2}]},
        "escalation": LADDER,
        "combat": {"law": "square", "collapse_fraction": 0.5},
    }
    with simulate(tmp_path, "relabel", scenario, "--summary-only", "--sensitivity", "--design", "sobol",
                  "--samples", "64", "--sweep", "relations.commitments.0.strength=0:1",
                  "--sweep", "actors.A.actions.attack.cost=0:4") as f:
        outputs = [o.decode() if isinstance(o, bytes) else str(o) for o in f["output"][()]]
        total = f["sensitivity_total"][()]  # output × parameter
    war = outputs.index("probability_war")
    assert war == 5 and outputs[:5] == ["probability_" + o for o in
                                         ("settlement", "standoff", "limited_war", "full_war", "alliance_war")]
    commitment, cost = 0, 1
    assert total[war, commitment] < 0.02 and total[war, cost] > 0.9, total[war]
    assert total[outputs.index("probability_alliance_war"), commitment] > 0.3, total


def test_a_scheduled_attack_on_an_attacker_joins_the_defenders(tmp_path):
    """Events have no feasibility rule: E, neutral, attacks A while A fights T. E fights A, beside T
    (A, outnumbered two to one after day 2, loses more than T); joining A's side against its own
    target would make T lose more."""
    scenario = chain(["A", "T", "E"], [], [["A", "T"], ["E", "A"]])
    scenario["run"]["horizon_days"] = 6
    scenario["events"] = [{"day": 0, "actor": "A", "attack": "T", "rung": "full"},
                          {"day": 2, "actor": "E", "attack": "A", "rung": "full"}]
    with simulate(tmp_path, "third", scenario) as f:
        lost = casualties_by_actor(f)
    assert lost["E"] > 0 and lost["A"] > lost["T"], lost
    # The square law's exact solution: 10,000 against 10,000 for days 0-1, then A against T and E.
    k = 0.01
    a2 = b2 = 10000 * math.exp(-2 * k)
    a6 = a2 * math.cosh(4 * k) - (b2 + 10000) * math.sinh(4 * k)
    b6 = (b2 + 10000) * math.cosh(4 * k) - a2 * math.sinh(4 * k)
    assert lost["A"] == pytest.approx(10000 - a6, rel=1e-9)
    assert lost["T"] + lost["E"] == pytest.approx(20000 - b6, rel=1e-9)


def five_actors(actions, relations):
    """A (50,000), T (30,000), P (20,000), E (10,000), N (15,000), one kill rate, no defence advantage."""
    troops = {"A": 50000, "T": 30000, "P": 20000, "E": 10000, "N": 15000}
    actors = {a: {"forces": {"deployed": d}, "combat": {"effectiveness": 0.01}} for a, d in troops.items()}
    for actor, (target, rung) in actions.items():
        actors[actor]["actions"] = {"strike": {"kind": "attack", "target": target, "rung": rung}}
    return {"brink": 1, "name": "fronts", "run": {"horizon_days": 1, "dt_days": 1, "replications": 256, "seed": 3},
            "actors": actors, "relations": relations, "escalation": LADDER,
            "combat": {"law": "square", "collapse_fraction": 0}}, troops


def first_day_losses(f, troops):
    """Each actor's share of its deployed troops lost in the one step (the same in every replication)."""
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["actor"][()]]
    lost = f["casualties"][0]  # replication × actor
    assert (lost == lost[0]).all()
    return {name: lost[0, j] / troops[name] for j, name in enumerate(names)}


def assert_sides(share, troops, attackers, defenders):
    """Square law, one kill rate k = 0.01/day for one day: each side's loss is the exact solution's,
    shared in proportion to deployed troops, so every member of a side loses the same share."""
    a0, b0, k = sum(troops[x] for x in attackers), sum(troops[x] for x in defenders), 0.01
    a1, b1 = a0 * math.cosh(k) - b0 * math.sinh(k), b0 * math.cosh(k) - a0 * math.sinh(k)
    for x in attackers:
        assert share[x] == pytest.approx(1 - a1 / a0, rel=1e-9), (x, share)
    for x in defenders:
        assert share[x] == pytest.approx(1 - b1 / b0, rel=1e-9), (x, share)


def test_a_defender_attacking_a_neutral_puts_it_on_the_attacking_side(tmp_path):
    """A attacks T; in the same step P, T's protector (commitment 0.6, neutral when it chose),
    attacks N. A's attack puts P on T's side; P's attack then puts N opposite P, beside A, and P's
    ally E beside P. Before, N fought beside its own attacker P and E against its ally."""
    scenario, troops = five_actors({"A": ("T", "full"), "P": ("N", "full")},
                                   {"adversaries": [["A", "T"], ["P", "N"]], "allies": [["P", "E"]],
                                    "commitments": [{"from": "P", "to": "T", "strength": 0.6}]})
    with simulate(tmp_path, "defender", scenario) as f:
        share = first_day_losses(f, troops)
        assert (f["alliance_war_cause"][0] == 1).all()
    assert_sides(share, troops, ["A", "N"], ["T", "P", "E"])


def test_a_target_that_counterattacks_fights_its_own_target_and_that_targets_ally(tmp_path):
    """A attacks T, and T attacks N the same step: N and N's ally E join A's side, against T
    (before, both fought for T against A). E, bound to defend N, makes it an alliance war."""
    scenario, troops = five_actors({"A": ("T", "full"), "T": ("N", "full")},
                                   {"adversaries": [["A", "T"], ["T", "N"]], "allies": [["N", "E"]]})
    del scenario["actors"]["P"]
    with simulate(tmp_path, "counter", scenario) as f:
        share = first_day_losses(f, troops)
        assert (f["alliance_war_cause"][0] == 1).all() and (f["outcome_code"][0] == 4).all()
    assert_sides(share, troops, ["A", "N", "E"], ["T"])


@pytest.mark.parametrize("days", [(0, 0), (3, 0), (0, 3)])
def test_an_alliance_war_brings_in_the_adversaries_of_a_later_attacker(tmp_path, days):
    """A attacks T (P's commitment 0.6 makes it an alliance war) and X attacks W, on the days given,
    listed in that order; Y is X's adversary only. The alliance war on brings Y in beside W whatever
    the order or the days (before, Y fought only when X's attack came first)."""
    troops = {"A": 50000, "T": 30000, "P": 20000, "X": 10000, "W": 15000, "Y": 12000}
    scenario = chain(list(troops), [], [["A", "T"], ["X", "W"], ["X", "Y"]])
    for actor, d in troops.items():
        scenario["actors"][actor]["forces"]["deployed"] = d
    scenario["run"]["horizon_days"] = 8
    scenario["relations"]["commitments"] = [{"from": "P", "to": "T", "strength": 0.6}]
    scenario["events"] = [{"day": days[0], "actor": "A", "attack": "T", "rung": "full"},
                          {"day": days[1], "actor": "X", "attack": "W", "rung": "full"}]
    scenario["output"] = {"timeseries_every": 1}
    with simulate(tmp_path, "later", scenario) as f:
        lost = casualties_by_actor(f)
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["actor"][()]]
        deployed = f["troops"][0, 0, -2:, :, 0]  # the last step, after both attacks; float32
    assert all(lost[x] > 0 for x in troops), lost
    # In a step each side shares its losses in proportion to its members' troops.
    share = dict(zip(names, 1 - deployed[1] / deployed[0]))
    attackers, defenders = ["A", "X"], ["T", "P", "W", "Y"]
    for side in (attackers, defenders):
        assert all(share[x] == pytest.approx(share[side[0]], rel=1e-4) for x in side), share
    assert share["Y"] != pytest.approx(share["X"], rel=0.05), share


@pytest.mark.parametrize("shared_troops", [0, 200000])
def test_an_ally_of_both_sides_counts_for_the_attacker_in_war_gain(tmp_path, shared_troops):
    """S is allied to both A and T; attacking T, A would have S beside it (start_war puts an ally of
    both on the attacking side). War gain is ln OwnD_A - ln Def_T with S in OwnD only, so one step's
    P(attack) is the logit of lambda * w * ln((1 + D_A + D_S) / (1 + d_T D_T)). Before, S counted in
    Def_T too, and its troops deterred the attack it would fight for."""
    lam, w, d_a, d_t, advantage = 1.5, 1.0, 30000, 40000, 1.2
    scenario = {
        "brink": 1, "name": "shared",
        "run": {"horizon_days": 1, "dt_days": 1, "replications": 20000, "seed": 17},
        "actors": {
            "A": {"forces": {"deployed": d_a}, "combat": {"effectiveness": 0.01},
                  "decision": {"rationality": lam, "weights": {"war_gain": w}},
                  "actions": {"hold": {}, "invade": {"kind": "attack", "target": "T", "rung": "full"}}},
            "T": {"forces": {"deployed": d_t}, "combat": {"effectiveness": 0.01, "defence_advantage": advantage}},
            "S": {"forces": {"deployed": shared_troops}},
        },
        "relations": {"adversaries": [["A", "T"]], "allies": [["A", "S"], ["T", "S"]]},
        "escalation": {**LADDER, "incidents": {"base_rate": 0}},
        "combat": {"law": "square", "collapse_fraction": 0},
    }
    with simulate(tmp_path, "shared", scenario) as f:
        outcomes = [o.decode() for o in f["outcome"][()]]
        p = f["outcome_probability"][0, outcomes.index("full_war")]
        n = f["replications"][0]
    gain = math.log((1 + d_a + shared_troops) / (1 + advantage * d_t))
    truth = 1 / (1 + math.exp(-lam * w * gain))
    assert abs(p - truth) < 4.5 * math.sqrt(truth * (1 - truth) / n), (p, truth)
