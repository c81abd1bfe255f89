#!/usr/bin/env python3
"""The whole brink model (docs/model.md) in NumPy, vectorized over
replications: reads any brink scenario YAML and returns outcome counts.

Run:  /usr/bin/python3 bench/peer/numpy_flagship.py [SCENARIO] [-n N] [--seed S] [--dtype float32|float64]

Replications run in chunks of a few thousand lanes, so that the working set of
one step stays in cache; inside a chunk every phase is array arithmetic over
the chunk's lanes, with per-actor and per-issue rows kept as separate 1-D
arrays. Lane events that are rare and branchy (a war starting, the ladder
rising, actors joining a war) work on index arrays of the lanes concerned.
Random numbers come from a NumPy Generator, not brink's Philox streams, so
results agree with brink statistically, not bit for bit.

Left out because no outcome depends on them: last_action, action_count,
casualty and created/removed troop totals, time series.
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flagship_bargain import Phase  # noqa: E402
from flagship_decide import combat, decide, war_outcome  # noqa: E402
from flagship_utility import ALWAYS_FEASIBLE  # noqa: E402
from flagship_scenario import OUTCOMES, from_document, load, with_values  # noqa: E402

CAUSE_NONE, CAUSE_COVERED, CAUSE_INCIDENT = 0, 1, 3  # alliance_war_cause codes
DEFAULT_CHUNK = 8192
SHORT_WAR_STEPS = 45


class Static:
    """Per-scenario constants derived once (the relations of `Model`)."""

    def __init__(self, sc):
        n = len(sc.actors)
        self.n = n
        self.allies = [[j for j in range(n) if sc.ally[i][j]] for i in range(n)]
        self.adversaries = [[j for j in range(n) if sc.adversary[i][j]] for i in range(n)]
        self.adversary_pairs = [(i, j) for i in range(n) for j in self.adversaries[i] if j > i]
        self.any_core = any(k.core for k in sc.issues)
        self.parties = [[j for j in range(n) if k.salience[j] > 0] for k in sc.issues]
        self.multi = [len(a.priors) > 1 for a in sc.actors]
        # Before start_war no one fights, so who joins which side depends only on (attacker, target).
        self.war_sides = {}
        for i in range(n):
            for t in range(n):
                if i == t:
                    continue
                side = [0] * n
                side[i] = 1
                for j in self.allies[i]:
                    side[j] = 1
                side[t] = 2
                covered = False
                for j in range(n):
                    if side[j] == 0 and (sc.ally[j][t] or sc.commitment[j][t] >= 0.5):
                        side[j], covered = 2, True
                self.war_sides[i, t] = (side, covered)


class Chunk:
    """The state of `lanes` replications and the phases of one step."""

    def __init__(self, sc, st, lanes, rng, dtype=np.float64):
        self.sc, self.st, self.lanes, self.rng, self.dtype = sc, st, lanes, rng, dtype
        n = st.n
        A = sc.actors
        full = np.full
        self.D = [full(lanes, a.deployed) for a in A]
        self.R = [full(lanes, a.ready) for a in A]
        self.V = [full(lanes, a.reserve) for a in A]
        self.Y = [np.zeros(lanes) for _ in A]
        self.m = [np.ones(lanes) for _ in A]
        self.side = [np.zeros(lanes, np.int8) for _ in A]
        self.pos = [[full(lanes, k.position[j]) for j in range(n)] for k in sc.issues]
        self.agreed = [np.zeros(lanes, bool) for _ in sc.issues]
        self.T = full(lanes, sc.tension0)
        self.rung = full(lanes, sc.initial_rung, np.int32)
        self.peak = self.rung.copy()
        self.outcome = full(lanes, -1, np.int8)
        self.end_step = full(lanes, -1, np.int32)
        self.war = np.zeros(lanes, bool)
        self.war_start_step = full(lanes, -1, np.int32)
        self.war_end_step = full(lanes, -1, np.int32)
        self.SA, self.SB = np.zeros(lanes), np.zeros(lanes)
        self.cause = np.zeros(lanes, np.int8)
        self.incidents = np.zeros(lanes, np.int32)
        self.theta, self.belief = [], []
        for a in A:
            k = len(a.priors)
            if k > 1:
                u = rng.random(lanes)
                theta = np.searchsorted(np.cumsum(a.priors), u, side="right").clip(max=k - 1)
            else:
                theta = np.zeros(lanes, np.int64)
            self.theta.append(theta)
            self.belief.append(np.repeat(np.asarray(a.priors)[:, None], lanes, axis=1))
        # Replications are exchangeable and start alike: ordering the lanes by their types makes
        # every actor's lanes of one type a few contiguous slices (own-type gathers become copies).
        key = np.zeros(lanes, np.int64)
        for a, theta in zip(A, self.theta):
            key = key * len(a.priors) + theta
        order = np.argsort(key, kind="stable")
        self.theta = [theta[order] for theta in self.theta]
        self.type_slices = []
        for theta in self.theta:
            cuts = [0, *(np.flatnonzero(np.diff(theta)) + 1).tolist(), lanes]
            self.type_slices.append([(b, e, int(theta[b])) for b, e in zip(cuts[:-1], cuts[1:])])
        # A lone action that is not always feasible is decided too: where it is not, the actor idles.
        self.deciders = [i for i in range(n) if len(A[i].actions) > 1 or A[i].actions[0].kind not in ALWAYS_FEASIBLE
                         ] if sc.decisions else []
        self.draws = np.empty((len(self.deciders) + 2, lanes))
        self.bargain = Phase(self, sc.bargaining) if sc.bargaining and sc.decisions else None

    # ------------------------------------------------------------ the ladder
    def raise_rung(self, idx, q, cause, s):
        """raise_rung(q, cause) in lanes idx (q a scalar or one value per lane of idx)."""
        q = np.broadcast_to(np.asarray(q, np.int32), idx.shape)
        up = q > self.rung[idx]
        idx, q = idx[up], q[up]
        if idx.size == 0:
            return
        sc = self.sc
        aw = q >= sc.alliance_war
        first = aw & (self.cause[idx] == 0)
        self.cause[idx[first]] = cause
        self.rung[idx] = q
        peak = q > self.peak[idx]
        self.peak[idx[peak]] = q[peak]
        self.end_step[idx[peak & (q >= sc.limited_war)]] = s
        joining = idx[aw & self.war[idx]]
        if joining.size:
            self.join_alliance_war(joining)

    def join_alliance_war(self, idx):
        """In rounds against the attacking side as it stood when the round began, until no one
        moves: an adversary of an attacker defends (also if allied to another), an ally attacks."""
        sc, n = self.sc, self.st.n
        while True:
            attacking = [self.side[k][idx] == 1 for k in range(n)]
            moved = False
            for j in range(n):
                adversary = np.zeros(idx.size, bool)
                ally = np.zeros(idx.size, bool)
                for k in range(n):
                    if sc.adversary[j][k]:
                        adversary |= attacking[k]
                    elif sc.ally[j][k]:
                        ally |= attacking[k]
                neutral = self.side[j][idx] == 0
                defend, attack = idx[neutral & adversary], idx[neutral & ~adversary & ally]
                self.side[j][defend] = 2
                self.SB[defend] += self.D[j][defend]
                self.side[j][attack] = 1
                self.SA[attack] += self.D[j][attack]
                moved |= defend.size + attack.size > 0
            if not moved:
                return

    def start_war(self, idx, attacker, target, s):
        """Starts the war in lanes without one; in the others the attack joins the war on."""
        if idx.size == 0:
            return
        fresh, joining = idx[~self.war[idx]], idx[self.war[idx]]
        side, covered = self.st.war_sides[attacker, target]
        if fresh.size:
            self.war[fresh] = True
            self.war_start_step[fresh] = s
            a = np.zeros(fresh.size)
            b = np.zeros(fresh.size)
            for j, sj in enumerate(side):
                if sj:
                    self.side[j][fresh] = sj
                    (a if sj == 1 else b)[:] += self.D[j][fresh]
            self.SA[fresh], self.SB[fresh] = a, b
            if covered:
                self.raise_rung(fresh, self.sc.alliance_war, CAUSE_COVERED, s)
        if joining.size:
            self.join_war(joining, attacker, target, s)
        # An alliance war on spreads to whoever the attack brought in.
        spreading = idx[self.rung[idx] >= self.sc.alliance_war]
        if spreading.size:
            self.join_alliance_war(spreading)

    def join_war(self, idx, attacker, target, s):
        """An attack while a war is on (rare): whoever of attacker, its allies, the target and those
        bound to defend it is neutral takes a side: the target's own if it fights, else the one
        opposite the attacker's (the defending one if both were neutral) for the target and its
        defenders, the other for the attacker and its allies; nothing between co-belligerents; a
        bound defender joining raises the alliance rung (rules::enter_war)."""
        sc, st = self.sc, self.st
        was_a, was_t = self.side[attacker][idx], self.side[target][idx]
        idx = idx[(was_a == 0) | (was_a != was_t)]
        was_a, was_t = self.side[attacker][idx], self.side[target][idx]
        target_side = np.where(was_t != 0, was_t, np.where(was_a != 0, 3 - was_a, 2)).astype(np.int8)
        own_side = (3 - target_side).astype(np.int8)
        order = [(attacker, own_side), *((j, own_side) for j in st.allies[attacker]), (target, target_side)]
        bound = [j for j in range(st.n) if sc.ally[j][target] or sc.commitment[j][target] >= 0.5]
        covered = np.zeros(idx.size, bool)
        for k, (j, sides) in enumerate(order + [(j, target_side) for j in bound]):
            neutral = self.side[j][idx] == 0
            self.side[j][idx[neutral]] = sides[neutral]
            joins_a = neutral & (sides == 1)
            self.SA[idx[joins_a]] += self.D[j][idx[joins_a]]
            self.SB[idx[neutral & ~joins_a]] += self.D[j][idx[neutral & ~joins_a]]
            if k >= len(order):
                covered |= neutral
        if covered.any():
            self.raise_rung(idx[covered], sc.alliance_war, CAUSE_COVERED, s)

    # ------------------------------------------------------------ phases
    def events(self, s, act):
        sc = self.sc
        for e in sc.events:
            if e.step != s:
                continue
            i = e.actor
            D, R, V = self.D[i], self.R[i], self.V[i]
            if e.verb == "deploy":
                x = np.minimum(np.maximum(np.minimum(R, sc.actors[i].deployed_cap - D), 0), e.troops) * act
                R -= x
                D += x
            elif e.verb == "withdraw":
                x = np.minimum(D, e.troops) * act
                D -= x
                R += x
            elif e.verb == "mobilize":
                x = np.minimum(V, e.troops) * act
                V -= x
                R += x
            elif e.verb == "demobilize":
                R -= np.minimum(R, e.troops) * act
            elif e.verb == "reinforce":
                D += e.troops * act
            else:
                live = np.flatnonzero(act)
                self.start_war(live, i, e.target, s)
                self.raise_rung(live, e.rung, CAUSE_NONE, s)

    def posture(self, act):
        sc, st = self.sc, self.st
        dt = sc.dt
        settled = self.outcome == 0
        if settled.any():
            for i, a in enumerate(sc.actors):
                x = np.minimum(np.maximum(self.D[i] - sc.drawdown * a.deployed, 0), a.deployment_rate * dt)
                x *= settled
                self.D[i] -= x
                self.R[i] += x
        desired = []
        for i, a in enumerate(sc.actors):
            if a.reaction == 0 and a.fatigue == 0 and a.grievance == 0:
                desired.append(None)
                continue
            d = np.full(self.lanes, a.grievance)
            for j in st.adversaries[i]:
                d += a.reaction * self.D[j]
            d -= a.fatigue * self.D[i]
            d *= dt
            d *= act
            desired.append(d)
        for i, a in enumerate(sc.actors):
            d = desired[i]
            if d is None:
                continue
            budget = np.maximum(a.deployment_rate * dt - self.Y[i], 0)
            up = np.minimum(np.maximum(d, 0), budget)
            np.minimum(up, self.R[i], out=up)
            np.minimum(up, np.maximum(a.deployed_cap - self.D[i], 0), out=up)
            down = np.minimum(np.maximum(-d, 0), budget)
            np.minimum(down, self.D[i], out=down)
            up -= down
            self.D[i] += up
            self.R[i] -= up

    def incidents_phase(self, s, act):
        sc, st = self.sc, self.st
        contact = np.zeros(self.lanes)
        for i, j in st.adversary_pairs:
            contact += np.sqrt(self.D[i] * self.D[j])
        h = contact * (sc.contact_rate / 1e5)
        h += sc.tension_rate * self.T
        h += sc.base_rate
        h *= -sc.dt
        np.exp(h, out=h)  # 1 - p
        u1, u2 = self.draws[-2], self.draws[-1]
        hit = (u1 < 1.0 - h) & act & (self.outcome < 0)
        idx = np.flatnonzero(hit)
        if idx.size == 0:
            return
        self.incidents[idx] += 1
        self.T[idx] += sc.jump
        idx = idx[u2[idx] < sc.escalation_probability]
        if idx.size:
            cap = np.where(self.war[idx], sc.alliance_war, sc.limited_war - 1)
            self.raise_rung(idx, np.minimum(self.rung[idx] + 1, cap), CAUSE_INCIDENT, s)

    def negotiate(self, s, act):
        sc, st = self.sc, self.st
        open_ = act & (self.outcome < 0)
        core_agreed = np.ones(self.lanes, bool)
        for k, issue in enumerate(sc.issues):
            parties = st.parties[k]
            lo = np.minimum.reduce([self.pos[k][j] for j in parties])
            hi = np.maximum.reduce([self.pos[k][j] for j in parties])
            new = (hi - lo <= sc.window + 1e-12) & open_ & ~self.agreed[k]
            if new.any():
                self.agreed[k] |= new
                self.T = np.where(new, np.maximum(self.T - sc.relief, 0), self.T)
                down = new & ~self.war
                self.rung = np.where(down, np.maximum(self.rung - 1, sc.initial_rung), self.rung).astype(np.int32)
            if issue.core:
                core_agreed &= self.agreed[k]
        if st.any_core:
            settle = open_ & core_agreed & ~self.war
            self.outcome[settle] = 0
            self.end_step[settle] = s

    def step(self, s):
        act_b = self.outcome < 0
        act = act_b.astype(np.float64)
        for y in self.Y:
            y.fill(0.0)
        self.rng.random(out=self.draws)
        self.events(s, act)
        if self.bargain is not None:
            self.bargain.step(s, act_b)
        if self.sc.decisions:
            decide(self, s, act, act_b)
        self.posture(act)
        combat(self, s)
        self.incidents_phase(s, act_b)
        decay = math.exp(-self.sc.decay * self.sc.dt)
        if decay != 1.0:
            self.T *= np.where(act_b, decay, 1.0)
        self.negotiate(s, act_b)

    def finish(self):
        sc = self.sc
        left = self.outcome < 0
        war_class = war_outcome(self.peak, sc)
        self.outcome = np.where(left, np.where(self.peak >= sc.limited_war, war_class, 1), self.outcome)
        counts = list(np.bincount(self.outcome, minlength=len(OUTCOMES)))
        return np.array(counts + [int(x.sum()) for x in extra_events(
            self.war_start_step, self.war_end_step, [b[0] for b in self.belief], sc)])


def extra_event_names(sc):
    """Yes/no events per replication, beyond the outcome, that the agreement test also compares."""
    names = ["war_collapsed", f"war_collapsed_within_{SHORT_WAR_STEPS}_steps"]
    return names + [f"belief_up:{a.id}" for a in sc.actors if len(a.priors) > 1]


def extra_events(war_start, war_end, first_type_belief, sc):
    """The events of extra_event_names as boolean arrays over replications."""
    out = [war_end >= 0, (war_end >= 0) & (war_end - war_start <= SHORT_WAR_STEPS)]
    for a, b in zip(sc.actors, first_type_belief):
        if len(a.priors) > 1:
            out.append(b > a.priors[0] + 1e-6)
    return out


def simulate(sc, replications=None, seed=None, chunk=DEFAULT_CHUNK, extra=False, dtype=np.float64):
    """Outcome counts (settlement, standoff, limited_war, full_war, alliance_war) as an int array,
    followed by the counts of extra_event_names(sc) if `extra`. `dtype` is that of utilities, logit
    weights and choice sums; forces, combat, posture, beliefs and tension stay float64."""
    n = sc.replications if replications is None else replications
    rng = np.random.Generator(np.random.SFC64(sc.seed if seed is None else seed))
    st = Static(sc)
    counts = np.zeros(len(OUTCOMES) + len(extra_event_names(sc)), np.int64)
    for off in range(0, n, chunk):
        c = Chunk(sc, st, min(chunk, n - off), rng, dtype)
        for s in range(sc.steps):
            c.step(s)
        counts += c.finish()
    return counts if extra else counts[:len(OUTCOMES)]


def simulate_draws(doc, paths, values, seed, chunk=DEFAULT_CHUNK, extra=False, dtype=np.float64):
    """simulate() where every replication has its own parameter set (a posterior run): `values` is
    replications x len(paths), the dotted paths of with_values. As a NumPy programmer would run it
    without making every parameter an array: the replications of each distinct parameter set run
    together as one group of chunks, with the scenario that set gives."""
    values = np.asarray(values, dtype=float)
    sets, group = np.unique(values, axis=0, return_inverse=True)
    rng_seed = np.random.SeedSequence(seed)
    counts = None
    for k, (row, child) in enumerate(zip(sets, rng_seed.spawn(len(sets)))):
        sc = from_document(with_values(doc, paths, row), "draw")
        n = int(np.count_nonzero(group.ravel() == k))
        c = simulate(sc, n, int(child.generate_state(1)[0]), chunk, extra=True, dtype=dtype)
        counts = c if counts is None else counts + c
    return counts if extra else counts[:len(OUTCOMES)]


def main():
    here = Path(__file__).resolve()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", nargs="?", default=str(here.parents[2] / "scenarios" / "jan-2022-standoff.yaml"))
    parser.add_argument("-n", "--replications", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                        help="precision of utilities, logit weights and choice sums")
    args = parser.parse_args()
    sc = load(args.scenario)
    counts = simulate(sc, args.replications, args.seed, args.chunk, dtype=np.dtype(args.dtype).type)
    total = counts.sum()
    for name, c in zip(OUTCOMES, counts):
        print(f"{name:<14} {c / total:.4f} {c:>9}")


if __name__ == "__main__":
    sys.exit(main())
