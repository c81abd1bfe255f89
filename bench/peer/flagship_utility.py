"""Utilities and logit weights of the NumPy flagship (docs/model.md,
Decisions): aggregates, the eight features, per-type utilities, logit.

Everything static about an actor's menu is planned once per scenario
(ActorPlan); per step an actor's utilities are one (types × menu × lanes)
array built from a constant (cost), one escalation product shared by all
actions, and row updates for the few actions with lane-dependent features.
The security term log Own − log Threat is the same for every action of a
type, so it is left out (it cancels in the logit); troop-moving actions add
r̂ (ln(Own + Δ) − ln Own)."""

from types import SimpleNamespace

import numpy as np

# Kinds feasible wherever the lane runs (rules::always_feasible), whose effect is the tension and the rung alone.
ALWAYS_FEASIBLE = ("hold", "exercise", "evacuate")

SEC, COST, ESC, GAIN, SETTLE, WAR, CRED, IMP = range(8)
TROOP_EPSILON = 0.5
SANCTION_FLOOR, ARMS_CEILING = 0.2, 3.0
# Infeasible utilities are pushed FAR below; exponents are floored at FLOOR, above the
# denormal range of exp (slow), where weights are < 1e-304 (float64) or 1e-37 (float32) of the best.
FAR = {np.dtype(np.float64): 1e300, np.dtype(np.float32): 1e30}
FLOOR = {np.dtype(np.float64): -700.0, np.dtype(np.float32): -87.0}


class ActorPlan:
    """What an actor's decision needs that does not change during a run."""

    def __init__(self, sc, st, i):
        a = sc.actors[i]
        self.i, self.M, self.K = i, len(a.actions), len(a.priors)
        self.w = np.asarray(a.type_weights)
        cost = np.array([x.cost for x in a.actions])
        self.const = -self.w[:, COST:COST + 1] * cost[None, :]  # (K, M)
        self.tau = np.array([x.tension for x in a.actions])
        self.rung_rows = [(m, x.rung) for m, x in enumerate(a.actions) if x.rung >= 0]
        self.has_escalation = bool(self.rung_rows) or bool(np.any(self.tau != 0))
        self.rows = [(m, x) for m, x in enumerate(a.actions)
                     if x.kind not in ALWAYS_FEASIBLE]
        kinds = {x.kind for x in a.actions}
        self.talks = bool(kinds & {"propose", "concede"})
        self.retaliates = "retaliate" in kinds
        Q = len(sc.issues)
        self.w_open, self.w_movable = np.zeros(Q), np.zeros(Q)
        self.c_gp, self.c_gc = np.zeros(Q), np.zeros(Q)
        self.core = []  # (issue, others, others' 1 - salience, own 1 - salience)
        for k, issue in enumerate(sc.issues):
            s_own = issue.salience[i]
            if s_own <= 0:
                continue
            others = [j for j in st.parties[k] if j != i]
            self.w_open[k] = 1.0
            self.w_movable[k] = 1.0 if s_own < 1 else 0.0
            self.c_gp[k] = s_own * sum(1.0 - issue.salience[j] for j in others) / len(others)
            self.c_gc[k] = -s_own * (1.0 - s_own)
            if issue.core:
                self.core.append((k, others, [1.0 - issue.salience[j] for j in others], 1.0 - s_own))
        self.needs_settlement = bool(np.any(self.w[:, SETTLE] != 0))
        self.honour = [(j, max(sc.commitment[i][j], 1.0 if sc.ally[i][j] else 0.0)) for j in range(st.n)]
        self.honour = [(j, h) for j, h in self.honour if h > 0]


def believed_resolves(c):
    """r̄_j per actor: an array over lanes for actors with types, else a number."""
    out = []
    for i, a in enumerate(c.sc.actors):
        if len(a.priors) > 1:
            out.append(np.dot(np.asarray(a.resolves), c.belief[i]))
        else:
            out.append(a.resolves[0] * a.priors[0])
    return out


def talks(c, plan, open_mat, sums):
    """O, O', G_prop, G_conc, Z_prop, Z_conc (docs/model.md, Aggregates) of the plan's actor."""
    O, O2 = plan.w_open @ open_mat, plan.w_movable @ open_mat
    gp, gc = plan.c_gp @ open_mat, plan.c_gc @ open_mat
    zp = zc = 0.0
    if plan.needs_settlement:
        zp, zc = np.zeros(c.lanes), np.zeros(c.lanes)
        for k, others, flex, own_flex in plan.core:
            p_own = c.pos[k][plan.i]
            move = np.zeros(c.lanes)
            for j, fj in zip(others, flex):
                move += np.minimum(np.abs(c.pos[k][j] - p_own), fj)
            zp += open_mat[k] * move / len(others)
            mean = (sums[k] - p_own) / len(others)
            zc += open_mat[k] * np.minimum(np.abs(mean - p_own), own_flex)
    return O, O2, gp, gc, zp, zc


def buffers(plan, n, dtype=np.float64):
    """The (types ×) menu × lanes arrays of one actor's decision, allocated once per chunk; utilities,
    logit weights and choice sums in `dtype`."""
    K, M, f = plan.K, plan.M, dtype
    return SimpleNamespace(U=np.empty((K, M, n), f), F=np.empty((M, n), bool), Ff=np.empty((M, n), f),
                           E=np.empty((M, n), f), own=np.empty((M, n), f), own_tot=np.empty(n, f),
                           best=np.empty((K, 1, n), f), tot=np.empty((K, n), f), cum=np.empty(n, f),
                           r=np.empty(n, f), le=np.empty(n, bool), choice=np.empty(n, np.int8))


def utilities(c, plan, rbar, s, shared, buf):
    """U (types × menu × lanes, without the action-independent security term), feasibility (menu × lanes)
    and the lanes where no action is feasible (the actor idles there)."""
    sc, i = c.sc, plan.i
    a = sc.actors[i]
    w, K = plan.w, plan.K
    U = buf.U
    U[:] = plan.const[:, :, None]
    F = buf.F
    F.fill(True)
    if plan.has_escalation:
        E = buf.E
        E[:] = plan.tau[:, None]
        for m, q in plan.rung_rows:
            E[m] += np.maximum(q - shared.rung, 0.0)
        impatience = max(0.0, s * sc.dt - a.patience) / a.patience
        for k in range(K):
            if w[k, ESC] != 0 or (w[k, IMP] != 0 and impatience != 0):
                coef = shared.one_plus_T * -w[k, ESC]
                coef += w[k, IMP] * impatience
                coef = coef.astype(U.dtype, copy=False)  # no mixed-precision product below
                U[k] += np.multiply(E, coef, out=shared.scratch[U.dtype][:plan.M])
    row_features(c, plan, rbar, shared, U, F)
    # The logit needs one feasible action in every lane: the first entry, whose draw is then taken back.
    idle = ~F.any(axis=0)
    F[0] |= idle
    return U, F, idle


def row_features(c, plan, rbar, shared, U, F):
    """Adds the lane-dependent features of the actions that have any, and sets their feasibility."""
    sc, st, i, n, w = c.sc, c.st, plan.i, c.lanes, plan.w
    a = sc.actors[i]
    omega = a.ready_weight
    own, own_d = 1.0 + c.D[i] + omega * c.R[i], 1.0 + c.D[i]
    for j in st.allies[i]:
        own += c.D[j] + omega * c.R[j]
        own_d += c.D[j]
    rhat = 1.0
    if st.adversaries[i]:
        rhat = 0.0
        for j in st.adversaries[i]:
            rhat = np.maximum(rhat, rbar[j])
    agg = talks(c, plan, shared.open_mat, shared.sums) if plan.talks else None
    log_own = None
    honoured = None
    for m, x in plan.rows:
        kind = x.kind
        if kind in ("mobilize", "raise_readiness", "deploy", "withdraw"):
            moved, delta = troop_move(c, i, x, omega)
            if log_own is None:
                log_own = np.log(own)
            sec = np.log(own + delta * moved)
            sec -= log_own
            sec *= rhat
            add_feature(U, w, m, SEC, sec)
            F[m] = moved > TROOP_EPSILON
        elif kind in ("propose", "concede"):
            O, O2, gp, gc, zp, zc = agg
            prop = kind == "propose"
            add_feature(U, w, m, GAIN, x.concession * (gp if prop else gc))
            if plan.needs_settlement:
                add_feature(U, w, m, SETTLE, (x.concession * (zp if prop else zc)) * rhat)
            F[m] = ((O if prop else O2) > 0.5) & ~c.war
        elif kind == "sanction":
            F[m] = c.m[x.target] > SANCTION_FLOOR + 1e-9
        elif kind == "arm_partner":
            F[m] = c.m[x.target] < ARMS_CEILING - 1e-9
        elif kind == "attack":
            attack_features(c, i, U, w, F, m, x, own_d, rbar, omega)
        elif kind == "retaliate":
            if honoured is None:
                honoured = np.zeros(n)
                for j, h in plan.honour:
                    np.maximum(honoured, h * (c.side[j] == 2), out=honoured)
            add_feature(U, w, m, CRED, honoured)
            F[m] = (honoured > 0) & (c.side[i] == 0)


def add_feature(U, w, m, f, value):
    for k in range(U.shape[0]):
        if w[k, f] != 0:
            U[k, m] += w[k, f] * value


def troop_move(c, i, x, omega):
    """(x, the factor of x in Own) of a troop-moving action on the current state."""
    f, dt, kind = c.sc.actors[i], c.sc.dt, x.kind
    if kind == "mobilize":
        return np.minimum(c.V[i], min(x.amount, f.mobilization_rate * dt)), omega
    if kind == "raise_readiness":
        return np.minimum(c.V[i], x.amount), omega
    if kind == "deploy":
        moved = np.minimum(c.R[i], min(x.amount, f.deployment_rate * dt))
        return np.minimum(moved, f.deployed_cap - c.D[i], out=moved), 1.0 - omega
    return np.minimum(c.D[i], min(x.amount, f.deployment_rate * dt)), -(1.0 - omega)


def attack_features(c, i, U, w, F, m, x, own_d, rbar, omega):
    sc, st, t = c.sc, c.st, x.target
    defenders = 1.0 + c.D[t] * sc.actors[t].defence_advantage
    for j in st.allies[t]:
        if j != i and not sc.ally[i][j]:  # an ally of both sides fights for the attacker: in own_d only
            defenders += c.D[j]
    protectors = None
    for j in range(st.n):
        cj = sc.commitment[j][t]
        # Protectors as the war forecast counts them: outside the attacker's and the target's alliances.
        if cj <= 0 or j in (i, t) or sc.ally[i][j] or sc.ally[t][j]:
            continue
        defenders += cj * c.D[j]
        term = (c.D[j] + omega * c.R[j]) * (cj * rbar[j])
        protectors = term if protectors is None else protectors + term
    if np.any(w[:, WAR] != 0):
        war = war_value(c, i, t, omega, rbar) if sc.actors[i].war_forecast else np.log(own_d) - np.log(defenders)
        add_feature(U, w, m, WAR, war)
    if protectors is not None and np.any(w[:, CRED] != 0):
        add_feature(U, w, m, CRED, -protectors / own_d)
    F[m] = (c.rung < x.rung) & (c.side[i] != 2) & (c.side[t] != 1)


def war_value(c, i, t, omega, rbar):
    """W_i = p - c_i of i attacking t (docs/model.md, "War values from the combat forecast"),
    without discounting (no bargaining section) or casualty cost: p = 1/(1 + Φ^-1), Φ the
    Lanchester fighting-strength ratio of the forces D + ω R each side can bring, protectors of t
    weighted by commitment × believed resolve, kill rates e·m (·d for the defenders)."""
    sc, st = c.sc, c.st
    a0 = b0 = alpha = beta = 0.0
    for j in range(st.n):
        if j == i or sc.ally[i][j]:
            side, weight = 1, 1.0
        elif j == t or sc.ally[t][j]:
            side, weight = 2, 1.0
        elif sc.commitment[j][t] > 0:
            side, weight = 2, sc.commitment[j][t] * rbar[j]
        else:
            continue
        f = weight * (c.D[j] + omega * c.R[j])
        x = sc.actors[j]
        rate = x.effectiveness * (1.0 if side == 1 else x.defence_advantage) * c.m[j] * f
        if side == 1:
            a0, alpha = a0 + f, alpha + rate
        else:
            b0, beta = b0 + f, beta + rate
    a0, b0 = np.maximum(a0, 1e-9), np.maximum(b0, 1e-9)
    alpha, beta = alpha / a0, beta / b0
    ratio = a0 / b0
    # p = n/(n + d), Φ = n/d; a side that cannot kill cannot win; without any kill rate, by numbers alone.
    rates = (alpha > 0) | (beta > 0)
    n = np.where(rates, alpha, 1.0) * (ratio * ratio if sc.law == "square" else ratio)
    return n / (n + np.where(rates, beta, 1.0)) - sc.actors[i].war_cost


def logit_weights(U, F, lam, buf):
    """Logit weights (types × menu × lanes), unnormalized and 0 where infeasible, and their sums.
    Infeasible entries are pushed FAR below by arithmetic, so λ = 0 needs no special case (brink floors
    at -745 and zeroes weights below e^-700; the difference is below the weights' own rounding)."""
    Ff = buf.Ff
    Ff[:] = F
    pen = buf.E  # free again: E is folded into U
    np.subtract(Ff, 1.0, out=pen)
    pen *= FAR[U.dtype]
    U += pen
    best = np.max(U, axis=1, keepdims=True, out=buf.best)
    U -= best
    U *= lam
    np.maximum(U, FLOOR[U.dtype], out=U)
    W = np.exp(U, out=U)
    W *= Ff
    return W, np.sum(W, axis=1, out=buf.tot)
