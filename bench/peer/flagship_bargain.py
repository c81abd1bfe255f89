"""The bargaining phase of docs/model.md ("Bargaining and war (game form)") for the
NumPy flagship, in the form the flagship uses it: the proposer demands x* from its
uniform belief about the receiver's private war cost (Fearon's risk-return
trade-off), the receiver best-responds, a rejection truncates the belief
(screening) and the last rejection starts the war at full_war. No discounting, no
casualty costs, forecast_spread 1, acceptance_noise 0, no shift in power and no
types' war costs: then W_A = p - c_A, W_B = 1 - p - c_B and x0 = p, with p the
proposer's Lanchester forecast (flagship_utility.war_value). Anything else is
refused (NotImplementedError). The private costs are drawn from the peer's own
generator: agreement with brink is statistical."""

import math
from types import SimpleNamespace

import numpy as np

from flagship_utility import believed_resolves, war_value

CAUSE_NONE = 0
ACCEPT_TOLERANCE = 1e-12  # rules::kAcceptTolerance: ties are accepted


def _num(node, key, default):
    value = node.get(key) if isinstance(node, dict) else None
    return float(default if value is None else value)


def load(doc, sc):
    """The scenario's `bargaining:` section (None without one); private war-cost spreads per actor."""
    actors = doc["actors"]
    spreads = [_num((actors[a] or {}).get("decision"), "war_cost_spread", 0) for a in sc.ids]
    for a in sc.ids:
        if any(_num(t, "war_cost", 0) != 0 for t in ((actors[a] or {}).get("types") or {}).values()):
            raise NotImplementedError(f"{a}: types' war_cost (discrete-type offers) is not in the NumPy peer")
    if str((doc.get("run") or {}).get("information", "private")) != "private":
        raise NotImplementedError("run.information other than 'private' is not in the NumPy peer")
    node = doc.get("bargaining")
    if not node:
        if any(spreads):
            raise NotImplementedError("war_cost_spread without a bargaining section is not in the NumPy peer")
        return None
    b = SimpleNamespace(proposer=sc.ids.index(node["proposer"]), receiver=sc.ids.index(node["receiver"]),
                        first_day=_num(node, "first_day", 0), interval=_num(node, "interval_days", 1),
                        rounds=int(_num(node, "rounds", 1)))
    for key, default in (("discount", 1), ("forecast_spread", 1), ("acceptance_noise", 0), ("shift_growth", 0)):
        if _num(node, key, default) != default:
            raise NotImplementedError(f"bargaining.{key} other than {default} is not in the NumPy peer")
    pair = (b.proposer, b.receiver)
    if any(sc.actors[j].casualty_cost != 0 for j in pair):
        raise NotImplementedError("casualty_cost in the bargaining pair is not in the NumPy peer")
    if any(s != 0 for j, s in enumerate(spreads) if j != b.receiver):
        raise NotImplementedError("a private war cost other than the receiver's is not in the NumPy peer")
    b.mean, b.spread = sc.actors[b.receiver].war_cost, spreads[b.receiver]
    # Offer step -> round (event_step of each offer day, as for events).
    b.rounds_at = {int(math.floor((b.first_day + n * b.interval) / sc.dt + 1e-9)): n for n in range(b.rounds)}
    b.stake = [k for k, issue in enumerate(sc.issues)
               if issue.salience[b.proposer] > 0 and issue.salience[b.receiver] > 0]
    return b


class Phase:
    """The per-chunk state of the bargaining: the receiver's drawn cost and the public belief [low, high]."""

    def __init__(self, c, b):
        self.c, self.b = c, b
        u = c.rng.random(c.lanes)
        self.cost = b.mean + b.spread * (2.0 * u - 1.0)
        self.low = np.full(c.lanes, b.mean - b.spread)
        self.high = np.full(c.lanes, b.mean + b.spread)

    def talking(self, act_b):
        """Running lanes, no war on, some stake issue still open."""
        c = self.c
        open_ = np.zeros(c.lanes, bool)
        for k in self.b.stake:
            open_ |= ~c.agreed[k]
        at_war = np.zeros(c.lanes, bool)
        for side in c.side:
            at_war |= side > 0
        return act_b & open_ & ~at_war

    def step(self, s, act_b):
        b, c = self.b, self.c
        n = b.rounds_at.get(s)
        if n is None:
            return
        idx = np.flatnonzero(self.talking(act_b))
        if idx.size == 0:
            return
        a, r = b.proposer, b.receiver
        cost_a = c.sc.actors[a].war_cost
        p = (war_value(c, a, r, c.sc.actors[a].ready_weight, believed_resolves(c)) + cost_a)[idx]
        x0 = p  # 1 - W_B's public part, 1 - p
        value_a = p - cost_a
        low, high = self.low[idx], self.high[idx]
        demand = np.clip(x0 + np.clip(0.5 * (high - (x0 - value_a)), low, high), 0.0, 1.0)
        yes = (1.0 - demand) - ((1.0 - p) - self.cost[idx]) >= -ACCEPT_TOLERANCE
        self.settle(idx[yes], demand[yes])
        no = ~yes
        self.high[idx[no]] = np.minimum(np.maximum(demand[no] - x0[no], low[no]), high[no])
        if n + 1 == b.rounds:
            fight = idx[no]
            c.start_war(fight, a, r, s)
            c.raise_rung(fight, c.sc.full_war, CAUSE_NONE, s)

    def settle(self, idx, demand):
        """Acceptance: every party of every stake issue moves to the settled position."""
        c, b = self.c, self.b
        for k in b.stake:
            issue = c.sc.issues[k]
            start_b, start_a = issue.position[b.receiver], issue.position[b.proposer]
            for j in c.st.parties[k]:
                c.pos[k][j][idx] = start_b + demand * (start_a - start_b)
