"""Decisions (aggregates, features, utilities, logit choice, Bayes, effects)
and Lanchester combat of the NumPy flagship (numpy_flagship.py), as in
docs/model.md, phases 2 and 4."""

from types import SimpleNamespace

import numpy as np

from flagship_utility import ALWAYS_FEASIBLE, ActorPlan, believed_resolves, buffers, logit_weights, utilities

SANCTION_FLOOR, ARMS_CEILING = 0.2, 3.0
CAUSE_NONE, CAUSE_INTERVENTION = 0, 2
TROOP_KINDS = ("mobilize", "raise_readiness", "deploy", "withdraw")


def choose(Wt, tot, slices, u, buf):
    """Inverse-CDF choice from each lane's own type's weights (slices: (begin, end, type) of the sorted lanes)."""
    K, M, n = Wt.shape
    own, own_tot = Wt[0], tot[0]
    if K > 1:
        own, own_tot = buf.own, buf.own_tot
        for b, e, k in slices:
            own[:, b:e] = Wt[k, :, b:e]
            own_tot[b:e] = tot[k, b:e]
    r, cum, le, choice = buf.r, buf.cum, buf.le, buf.choice
    np.multiply(u, own_tot, out=r)
    cum[:] = own[0]
    choice.fill(0)
    for m in range(1, M + 1):
        np.less_equal(cum, r, out=le)
        choice += le.view(np.int8)
        if m < M:
            cum += own[m]
    choice = choice.astype(np.int64)
    over = choice >= M
    if over.any():  # rounding left the total below u: the last possible action
        last = M - 1 - np.argmax((own[::-1] > 0), axis=0)
        choice[over] = last[over]
    return choice


def bayes(c, i, Wt, tot, choice, act_b):
    flat = np.maximum(choice, 0) * c.lanes + np.arange(c.lanes)
    lik = np.stack([np.take(Wt[k], flat) for k in range(Wt.shape[0])]) / tot
    b = c.belief[i]
    post = b * lik
    den = post.sum(axis=0)
    upd = act_b & (den > 0) & (choice >= 0)  # an idle actor (choice -1) shows nothing to learn from
    post /= np.where(upd, den, 1.0)
    c.belief[i] = np.where(upd, post, b)


def decide(c, s, act, act_b):
    """Phase 2: every actor chooses on the same state, then effects apply in actor order."""
    st = c.st
    if not hasattr(st, "plans"):
        st.plans = [ActorPlan(c.sc, st, i) for i in range(st.n)]
    if not hasattr(c, "buffers"):
        c.buffers = {i: buffers(st.plans[i], c.lanes, c.dtype) for i in c.deciders}
    rbar = believed_resolves(c)
    shared = SimpleNamespace(rung=c.rung.astype(np.float64), one_plus_T=1.0 + c.T)
    if not hasattr(c, "scratch"):
        M = max(len(a.actions) for a in c.sc.actors)
        c.scratch = {np.dtype(c.dtype): np.empty((M, c.lanes), c.dtype)}
    shared.scratch = c.scratch
    if c.sc.issues:
        shared.open_mat = 1.0 - np.array(c.agreed, dtype=np.float64)
        shared.sums = [sum(c.pos[k][j] for j in st.parties[k]) for k in range(len(c.sc.issues))]
    choices = {}
    for d, i in enumerate(c.deciders):
        a = c.sc.actors[i]
        buf = c.buffers[i]
        U, F, idle = utilities(c, st.plans[i], rbar, s, shared, buf)
        Wt, tot = logit_weights(U, F, a.rationality, buf)
        choices[i] = np.where(idle, -1, choose(Wt, tot, c.type_slices[i], c.draws[d], buf))
        if len(a.priors) > 1:
            bayes(c, i, Wt, tot, choices[i], act_b)
    for i, a in enumerate(c.sc.actors):
        ch = choices.get(i)
        if ch is None:
            ch = np.zeros(c.lanes, np.int64)
        tau = np.take(np.array([x.tension for x in a.actions]), np.maximum(ch, 0))
        tau *= act * (ch >= 0)
        tau += c.T
        c.T = np.maximum(tau, 0.0, out=tau)
        for m, spec in enumerate(a.actions):
            if spec.kind in ALWAYS_FEASIBLE and spec.rung < 0:
                continue
            sel = (ch == m) & act_b
            if sel.any():
                apply_effect(c, i, spec, sel, s)


def apply_effect(c, i, a, sel, s):
    """The kind's effect and the rung, in the lanes `sel` that chose a (gathered: few lanes choose any one action)."""
    sc, k = c.sc, a.kind
    idx = np.flatnonzero(sel)
    if k in TROOP_KINDS:
        f, dt = sc.actors[i], sc.dt
        if k in ("mobilize", "raise_readiness"):
            rate = min(a.amount, f.mobilization_rate * dt) if k == "mobilize" else a.amount
            x = np.minimum(c.V[i][idx], rate)
            c.V[i][idx] -= x
            c.R[i][idx] += x
        elif k == "deploy":
            x = np.minimum(np.minimum(c.R[i][idx], min(a.amount, f.deployment_rate * dt)), f.deployed_cap - c.D[i][idx])
            np.maximum(x, 0.0, out=x)
            c.R[i][idx] -= x
            c.D[i][idx] += x
            c.Y[i][idx] += x
        else:
            x = np.minimum(c.D[i][idx], min(a.amount, f.deployment_rate * dt))
            c.D[i][idx] -= x
            c.R[i][idx] += x
            c.Y[i][idx] += x
    elif k in ("propose", "concede"):
        for q, issue in enumerate(sc.issues):
            si = issue.salience[i]
            if si <= 0:
                continue
            lanes = idx[~c.agreed[q][idx]]
            pos = c.pos[q]
            others = [j for j in c.st.parties[q] if j != i]
            own = pos[i][lanes]
            if k == "propose":
                for j in others:
                    step = a.concession * (1.0 - issue.salience[j])
                    p = pos[j][lanes]
                    pos[j][lanes] = p + np.minimum(np.maximum(own - p, -step), step)
            else:
                mean = sum(pos[j][lanes] for j in others) / len(others)
                step = a.concession * (1.0 - si)
                pos[i][lanes] = own + np.minimum(np.maximum(mean - own, -step), step)
    elif k == "sanction":
        c.m[a.target][idx] = np.maximum(SANCTION_FLOOR, c.m[a.target][idx] * (1.0 - a.effect))
    elif k == "arm_partner":
        c.m[a.target][idx] = np.minimum(ARMS_CEILING, c.m[a.target][idx] * (1.0 + a.effect))
    elif k == "attack":
        c.start_war(idx, i, a.target, s)
    elif k == "retaliate":
        join = idx[c.side[i][idx] == 0]
        c.side[i][join] = 2
        c.SB[join] += c.D[i][join]
        c.raise_rung(idx, a.rung, CAUSE_INTERVENTION, s)
    if a.rung >= 0 and k != "retaliate":
        c.raise_rung(idx, a.rung, CAUSE_NONE, s)


def lanchester_square(a, b, al, be, t):
    out_a, out_b = a.copy(), b.copy()
    ok = (a > 0) & (b > 0)
    lin = ok & ((al <= 0) | (be <= 0))
    out_a[lin] = np.maximum(a[lin] - be[lin] * b[lin] * t, 0)
    out_b[lin] = np.maximum(b[lin] - al[lin] * a[lin] * t, 0)
    sq = np.flatnonzero(ok & ~lin)
    a, b, al, be = a[sq], b[sq], al[sq], be[sq]
    g = np.sqrt(al * be) * t
    k = np.sqrt(be / al)
    kb = k * b
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        dead_a = (a < kb) & (g >= np.arctanh(a / kb))
        dead_b = (a > kb) & (g >= np.arctanh(kb / a))
        even = a == kb
        ch, sh = np.cosh(g), np.sinh(g)
        na = np.maximum(a * ch - kb * sh, 0)
        nb = np.maximum(b * ch - a / k * sh, 0)
        na = np.where(dead_a, 0.0, np.where(dead_b, np.sqrt(np.maximum(a * a - kb * kb, 0)), na))
        nb = np.where(dead_b, 0.0, np.where(dead_a, np.sqrt(np.maximum(b * b - a * a / (k * k), 0)), nb))
        decay = np.exp(-g)
        na = np.where(even, a * decay, na)
        nb = np.where(even, b * decay, nb)
    out_a[sq], out_b[sq] = na, nb
    return out_a, out_b


def _logistic(x0, c, k, t):
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        general = c * x0 / (-k * x0 * np.expm1(-c * t) + c * np.exp(-c * t))
        return np.where(k <= 0, x0 * np.exp(c * t), np.where(c == 0, x0 / (1 + k * x0 * t), general))


def lanchester_linear(a, b, al, be, t):
    ok = (a > 0) & (b > 0)
    c = al * a - be * b
    na = np.where(be > 0, _logistic(a, c, al, t), a)
    nb = np.where(al > 0, _logistic(b, -c, be, t), b)
    return np.where(ok, np.maximum(na, 0), a), np.where(ok, np.maximum(nb, 0), b)


def combat(c, s):
    """Phase 4 in lanes at war with no outcome yet."""
    idx = np.flatnonzero(c.war & (c.outcome < 0))
    if idx.size == 0:
        return
    sc = c.sc
    a, b, al, be = (np.zeros(idx.size) for _ in range(4))
    sides = [c.side[j][idx] for j in range(c.st.n)]
    deployed = [c.D[j][idx] for j in range(c.st.n)]
    for j, actor in enumerate(sc.actors):
        d, sj = deployed[j], sides[j]
        fire = actor.effectiveness * c.m[j][idx] * d
        on_a, on_b = sj == 1, sj == 2
        a += d * on_a
        b += d * on_b
        al += fire * on_a
        be += fire * actor.defence_advantage * on_b
    al = np.divide(al, a, out=np.zeros_like(al), where=a > 0)
    be = np.divide(be, b, out=np.zeros_like(be), where=b > 0)
    intensity = np.where(c.rung[idx] >= sc.full_war, 1.0, sc.limited_intensity)
    law = lanchester_square if sc.law == "square" else lanchester_linear
    na, nb = law(a, b, intensity * al, intensity * be, sc.dt)
    keep_a = np.divide(na, a, out=np.zeros_like(a), where=a > 0)
    keep_b = np.divide(nb, b, out=np.zeros_like(b), where=b > 0)
    for j in range(c.st.n):
        sj = sides[j]
        keep = np.where(sj == 1, keep_a, np.where(sj == 2, keep_b, 1.0))
        c.D[j][idx] = deployed[j] * keep
    collapsed = (na <= sc.collapse * c.SA[idx]) | (nb <= sc.collapse * c.SB[idx])
    done = idx[collapsed]
    c.outcome[done] = war_outcome(c.peak[done], sc)
    c.war_end_step[done] = s


def war_outcome(peak, sc):
    """Outcome code of a war by its peak rung: limited_war 2, full_war 3, alliance_war 4."""
    return np.where(peak >= sc.alliance_war, 4, np.where(peak >= sc.full_war, 3, 2)).astype(np.int8)
