"""Reads a brink scenario YAML into plain Python values for the NumPy flagship
(numpy_flagship.py), with the defaults of engine/src/scenario/parse.cpp
(docs/model.md, parameter table). It does not validate: give it files that
`brink validate` accepts."""

import copy
import math
from types import SimpleNamespace

import yaml

import flagship_bargain

KINDS = ["hold", "mobilize", "deploy", "withdraw", "exercise", "raise_readiness", "propose", "concede",
         "sanction", "arm_partner", "evacuate", "attack", "retaliate"]
FEATURES = ["security", "cost", "escalation", "issue_gain", "settlement", "war_gain", "credibility", "impatience"]
OUTCOMES = ["settlement", "standoff", "limited_war", "full_war", "alliance_war"]
EVENT_VERBS = ["deploy", "withdraw", "mobilize", "demobilize", "reinforce", "attack"]


def _get(node, key, default):
    if not isinstance(node, dict) or node.get(key) is None:
        return default
    return node[key]


def _num(node, key, default):
    return float(_get(node, key, default))


def _weights(node, defaults):
    return [_num(node, f, d) for f, d in zip(FEATURES, defaults)]


def _actor(aid, node, ids, rungs, alliance_war):
    forces, posture, combat = node.get("forces") or {}, _get(node, "posture", {}), _get(node, "combat", {})
    decision = _get(node, "decision", {})
    weights = _weights(_get(decision, "weights", {}), [0.0] * len(FEATURES))
    a = SimpleNamespace(
        id=aid,
        deployed=_num(forces, "deployed", 0), ready=_num(forces, "ready", 0), reserve=_num(forces, "reserve", 0),
        mobilization_rate=_num(forces, "mobilization_rate", 0), deployment_rate=_num(forces, "deployment_rate", 0),
        deployed_cap=_num(forces, "deployed_cap", 1e8),
        reaction=_num(posture, "reaction", 0), fatigue=_num(posture, "fatigue", 0),
        grievance=_num(posture, "grievance", 0),
        effectiveness=_num(combat, "effectiveness", 0), defence_advantage=_num(combat, "defence_advantage", 1),
        rationality=_num(decision, "rationality", 1), patience=_num(decision, "patience_days", 30),
        ready_weight=_num(decision, "ready_weight", 0.5),
        war_forecast=bool(_get(decision, "war_forecast", False)), war_cost=_num(decision, "war_cost", 0),
        casualty_cost=_num(decision, "casualty_cost", 0))
    types = _get(node, "types", None)
    if not types:
        a.priors, a.resolves, a.type_weights = [1.0], [1.0], [weights]
    else:
        a.priors = [_num(t, "prior", 0) for t in types.values()]
        a.resolves = [_num(t, "resolve", 1) for t in types.values()]
        a.type_weights = [_weights(_get(t, "weights", {}), weights) for t in types.values()]
    actions = _get(node, "actions", None) or {"hold": {}}
    a.actions = []
    for name, spec in actions.items():
        spec = spec or {}
        kind = _get(spec, "kind", name)
        rung = rungs.index(spec["rung"]) if spec.get("rung") is not None else -1
        if kind == "retaliate" and rung < 0:
            rung = alliance_war
        a.actions.append(SimpleNamespace(
            name=name, kind=kind, cost=_num(spec, "cost", 0), tension=_num(spec, "tension", 0), rung=rung,
            amount=_num(spec, "amount", 0), concession=_num(spec, "concession", 0.1),
            effect=_num(spec, "effect", 0.1),
            target=ids.index(spec["target"]) if spec.get("target") is not None else -1))
    return a


def _relations(rel, ids):
    n = len(ids)
    adversary = [[False] * n for _ in range(n)]
    ally = [[False] * n for _ in range(n)]
    commitment = [[0.0] * n for _ in range(n)]
    for key, matrix in (("adversaries", adversary), ("allies", ally)):
        for x, y in _get(rel, key, []):
            i, j = ids.index(x), ids.index(y)
            matrix[i][j] = matrix[j][i] = True
    for c in _get(rel, "commitments", []):
        i, j = ids.index(c["from"]), ids.index(c["to"])
        commitment[i][j] = max(commitment[i][j], float(c["strength"]))
    return adversary, ally, commitment


def read_document(path):
    """The scenario file at `path` as its YAML document (nested dicts)."""
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def with_values(doc, paths, values):
    """A copy of the YAML document `doc` with each dotted path (as `brink run --set` takes it, e.g.
    actors.RUS.forces.deployed or actors.RUS.decision.weights.war_gain) set to its value."""
    doc = copy.deepcopy(doc)
    for path, value in zip(paths, values):
        node, keys = doc, path.split(".")
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[keys[-1]] = float(value)
    return doc


def load(path, replications=None, seed=None):
    """The scenario at `path` as a SimpleNamespace (see the attribute names below)."""
    return from_document(read_document(path), str(path), replications, seed)


def from_document(doc, path, replications=None, seed=None):
    """The scenario of a YAML document (read_document, with_values) as load() returns it."""
    run, esc = doc["run"], doc["escalation"]
    sc = SimpleNamespace()
    sc.name = doc.get("name", str(path))
    sc.horizon, sc.dt = float(run["horizon_days"]), float(run["dt_days"])
    sc.steps = int(math.ceil(sc.horizon / sc.dt - 1e-9))
    reps = run.get("replications", 1000)
    sc.replications = int(replications if replications is not None else
                          (reps if not isinstance(reps, dict) else reps["max"]))
    sc.seed = int(seed if seed is not None else run.get("seed", 1))
    sc.decisions = bool(run.get("decisions", True))
    rungs = list(esc["rungs"])
    sc.initial_rung, sc.limited_war = rungs.index(esc["initial_rung"]), rungs.index(esc["limited_war"])
    sc.full_war, sc.alliance_war = rungs.index(esc["full_war"]), rungs.index(esc["alliance_war"])
    tension, inc = _get(esc, "tension", {}), _get(esc, "incidents", {})
    sc.tension0, sc.decay = _num(tension, "initial", 0), _num(tension, "decay", 0)
    sc.relief = _num(tension, "agreement_relief", 0)
    sc.base_rate, sc.tension_rate = _num(inc, "base_rate", 0), _num(inc, "tension_rate", 0)
    sc.contact_rate, sc.jump = _num(inc, "contact_rate", 0), _num(inc, "tension_jump", 0)
    sc.escalation_probability = _num(inc, "escalation_probability", 0)
    combat = _get(doc, "combat", {})
    sc.law = _get(combat, "law", "square")
    sc.limited_intensity = _num(combat, "limited_war_intensity", 0.3)
    sc.collapse = _num(combat, "collapse_fraction", 0.3)
    ids = list(doc["actors"].keys())
    sc.ids = ids
    sc.actors = [_actor(aid, doc["actors"][aid], ids, rungs, sc.alliance_war) for aid in ids]
    sc.adversary, sc.ally, sc.commitment = _relations(_get(doc, "relations", {}), ids)
    if any(a.war_forecast and a.casualty_cost != 0 for a in sc.actors):
        raise NotImplementedError("war_forecast with a casualty_cost is not in the NumPy peer (only W = p - war_cost)")
    neg = _get(doc, "negotiation", {})
    sc.window, sc.drawdown = _num(neg, "acceptance_window", 0.1), _num(neg, "drawdown", 0.5)
    sc.issues = []
    for name, issue in (_get(neg, "issues", {}) or {}).items():
        sc.issues.append(SimpleNamespace(
            name=name, core=bool(issue.get("core", False)),
            position=[_num(issue.get("positions"), a, 0) for a in ids],
            salience=[_num(issue.get("salience"), a, 0) for a in ids]))
    sc.events = []
    for e in _get(doc, "events", []) or []:
        verb = next(v for v in EVENT_VERBS if v in e)
        sc.events.append(SimpleNamespace(
            step=int(math.floor(float(e["day"]) / sc.dt + 1e-9)), actor=ids.index(e["actor"]), verb=verb,
            troops=0.0 if verb == "attack" else float(e[verb]),
            target=ids.index(e["attack"]) if verb == "attack" else -1,
            rung=rungs.index(e["rung"]) if verb == "attack" else -1))
    sc.bargaining = flagship_bargain.load(doc, sc)  # private war costs are checked there
    return sc
