"""Decisions (aggregates, features, utilities, logit choice, Bayes, effects)
and Lanchester combat of the NumPy flagship (numpy_flagship.py), as in
docs/model.md, phases 2 and 4."""

import numpy as np

SEC, COST, ESC, GAIN, SETTLE, WAR, CRED, IMP = range(8)
TROOP_EPSILON = 0.5
SANCTION_FLOOR, ARMS_CEILING = 0.2, 3.0
CAUSE_NONE, CAUSE_INTERVENTION = 0, 2
TROOP_KINDS = ("mobilize", "raise_readiness", "deploy", "withdraw")


def believed_resolves(c):
    """r̄_j per actor: an array over lanes for actors with types, else a number."""
    out = []
    for i, a in enumerate(c.sc.actors):
        if len(a.priors) > 1:
            out.append(np.tensordot(np.asarray(a.resolves), c.belief[i], axes=1))
        else:
            out.append(a.resolves[0] * a.priors[0])
    return out


def issue_aggregates(c, i):
    """O, O', G_prop, G_conc, Z_prop, Z_conc of actor i (docs/model.md, Aggregates)."""
    sc, n = c.sc, c.lanes
    O, O2, gp, gc, zp, zc = (np.zeros(n) for _ in range(6))
    for k, issue in enumerate(sc.issues):
        s_own = issue.salience[i]
        if s_own <= 0:
            continue
        o = 1.0 - c.agreed[k]
        O += o
        if s_own < 1:
            O2 += o
        others = [j for j in c.st.parties[k] if j != i]
        p_own = c.pos[k][i]
        flex = sum(1.0 - issue.salience[j] for j in others) / len(others)
        gp += o * (s_own * flex)
        gc -= o * (s_own * (1.0 - s_own))
        if issue.core:
            move = sum(np.minimum(np.abs(c.pos[k][j] - p_own), 1.0 - issue.salience[j]) for j in others)
            zp += o * move / len(others)
            mean = sum(c.pos[k][j] for j in others) / len(others)
            zc += o * np.minimum(np.abs(mean - p_own), 1.0 - s_own)
    return O, O2, gp, gc, zp, zc


def troops_moved(c, i, a):
    """x of a troop-moving action on the current state (before the max(0, ·) of deploy)."""
    f, dt = c.sc.actors[i], c.sc.dt
    if a.kind == "mobilize":
        return np.minimum(c.V[i], min(a.amount, f.mobilization_rate * dt))
    if a.kind == "raise_readiness":
        return np.minimum(c.V[i], a.amount)
    if a.kind == "deploy":
        return np.minimum(np.minimum(c.R[i], min(a.amount, f.deployment_rate * dt)), f.deployed_cap - c.D[i])
    return np.minimum(c.D[i], min(a.amount, f.deployment_rate * dt))


def action_features(c, i, a, ctx):
    """(feasibility, {feature: value}) of action a; the security term is relative to log Own."""
    sc, st = c.sc, c.st
    f = {COST: -a.cost}
    feas = 1.0
    E = a.tension if a.rung < 0 else a.tension + np.maximum(a.rung - c.rung, 0)
    if np.any(E != 0):
        f[ESC] = E
    if a.kind in TROOP_KINDS:
        x = troops_moved(c, i, a)
        w = ctx.omega if a.kind in ("mobilize", "raise_readiness") else (1 - ctx.omega) * (-1 if a.kind == "withdraw" else 1)
        f[SEC] = ctx.rhat * (np.log(ctx.own + w * x) - ctx.log_own)
        feas = x > TROOP_EPSILON
    elif a.kind in ("propose", "concede"):
        O, O2, gp, gc, zp, zc = ctx.issues
        prop = a.kind == "propose"
        f[GAIN] = a.concession * (gp if prop else gc)
        f[SETTLE] = ctx.rhat * a.concession * (zp if prop else zc)
        feas = ((O if prop else O2) > 0.5) & ~c.war
    elif a.kind == "sanction":
        feas = c.m[a.target] > SANCTION_FLOOR + 1e-9
    elif a.kind == "arm_partner":
        feas = c.m[a.target] < ARMS_CEILING - 1e-9
    elif a.kind == "attack":
        t = a.target
        defenders = 1.0 + c.D[t] * sc.actors[t].defence_advantage
        for j in st.allies[t]:
            defenders = defenders + c.D[j]
        protectors = 0.0
        for j in range(st.n):
            cj = sc.commitment[j][t]
            if j == t or cj <= 0:
                continue
            defenders = defenders + cj * c.D[j]
            protectors = protectors + cj * ctx.rbar[j] * (c.D[j] + ctx.omega * c.R[j])
        f[WAR] = ctx.log_own_d - np.log(defenders)
        f[CRED] = -protectors / ctx.own_d
        feas = (c.rung < a.rung) & (c.side[i] != 2) & (c.side[t] != 1)
    elif a.kind == "retaliate":
        f[CRED] = ctx.honoured
        feas = (ctx.honoured > 0) & (c.side[i] == 0)
    return feas, f


def actor_context(c, i, rbar, s):
    sc, st = c.sc, c.st
    a = sc.actors[i]
    ctx = type("Ctx", (), {})()
    ctx.omega = w = a.ready_weight
    own = 1.0 + c.D[i] + w * c.R[i]
    own_d = 1.0 + c.D[i]
    for j in st.allies[i]:
        own = own + c.D[j] + w * c.R[j]
        own_d = own_d + c.D[j]
    ctx.own, ctx.own_d = own, own_d
    ctx.log_own, ctx.log_own_d = np.log(own), np.log(own_d)
    ctx.rbar = rbar
    if st.adversaries[i]:
        rhat = 0.0
        for j in st.adversaries[i]:
            rhat = np.maximum(rhat, rbar[j])
    else:
        rhat = 1.0
    ctx.rhat = rhat
    ctx.impatience = max(0.0, s * sc.dt - a.patience) / a.patience
    kinds = {x.kind for x in a.actions}
    if kinds & {"propose", "concede"}:
        ctx.issues = issue_aggregates(c, i)
    if "retaliate" in kinds:
        h = np.zeros(c.lanes)
        for j in range(st.n):
            hij = max(sc.commitment[i][j], 1.0 if sc.ally[i][j] else 0.0)
            if hij > 0:
                h = np.maximum(h, hij * (c.side[j] == 2))
        ctx.honoured = h
    return ctx


def utilities(c, i, rbar, s):
    """U (types × menu × lanes, without the action-independent security term) and feasibility (menu × lanes)."""
    a = c.sc.actors[i]
    K, M, n = len(a.priors), len(a.actions), c.lanes
    ctx = actor_context(c, i, rbar, s)
    W = np.asarray(a.type_weights)
    U = np.zeros((K, M, n))
    F = np.empty((M, n), bool)
    esc_coef = [None] * K  # -w_esc (1 + T) + w_imp I: the weight of E_a per type
    for m, act in enumerate(a.actions):
        feas, f = action_features(c, i, act, ctx)
        F[m] = feas
        for k in range(K):
            u = U[k, m]
            for key, value in f.items():
                if key == ESC:
                    if esc_coef[k] is None:
                        esc_coef[k] = -W[k, ESC] * (1.0 + c.T) + W[k, IMP] * ctx.impatience
                    u += esc_coef[k] * value
                elif W[k, key] != 0:
                    u += W[k, key] * value
    # Every lane keeps one feasible action: the first entry.
    F[0] |= ~F.any(axis=0)
    return U, F


def logit_weights(U, F, lam):
    """Unnormalized logit weights (types × menu × lanes), 0 where infeasible, and their sums."""
    if lam == 0:
        Wt = np.broadcast_to(F, U.shape).astype(np.float64)
    else:
        Up = np.where(F, U, -np.inf)
        best = Up.max(axis=1, keepdims=True)
        Up -= best
        Up *= lam
        Wt = np.exp(Up, out=Up)
    return Wt, Wt.sum(axis=1)


def choose(Wt, tot, theta, u):
    """Inverse-CDF choice from each lane's own type's weights."""
    K, M, n = Wt.shape
    own, own_tot = Wt[0], tot[0]
    if K > 1:
        own, own_tot = own.copy(), own_tot.copy()
        for k in range(1, K):
            mine = theta == k
            np.copyto(own, Wt[k], where=mine)
            np.copyto(own_tot, tot[k], where=mine)
    r = u * own_tot
    cum = own[0].copy()
    choice = np.zeros(n, np.int64)
    for m in range(1, M):
        choice += cum <= r
        cum += own[m]
    choice += cum <= r
    over = choice >= M
    if over.any():  # rounding left the total below u: the last possible action
        last = M - 1 - np.argmax((own[::-1] > 0), axis=0)
        choice[over] = last[over]
    return choice


def bayes(c, i, Wt, tot, choice, act_b):
    flat = choice * c.lanes + np.arange(c.lanes)
    lik = np.stack([np.take(Wt[k], flat) for k in range(Wt.shape[0])]) / tot
    b = c.belief[i]
    post = b * lik
    den = post.sum(axis=0)
    upd = act_b & (den > 0)
    post /= np.where(upd, den, 1.0)
    c.belief[i] = np.where(upd, post, b)


def decide(c, s, act, act_b):
    """Phase 2: every actor chooses on the same state, then effects apply in actor order."""
    rbar = believed_resolves(c)
    choices = {}
    for d, i in enumerate(c.deciders):
        a = c.sc.actors[i]
        U, F = utilities(c, i, rbar, s)
        Wt, tot = logit_weights(U, F, a.rationality)
        choices[i] = choose(Wt, tot, c.theta[i], c.draws[d])
        if len(a.priors) > 1:
            bayes(c, i, Wt, tot, choices[i], act_b)
    for i, a in enumerate(c.sc.actors):
        ch = choices.get(i)
        if ch is None:
            ch = np.zeros(c.lanes, np.int64)
        tau = np.take(np.array([x.tension for x in a.actions]), ch)
        tau *= act
        tau += c.T
        c.T = np.maximum(tau, 0.0, out=tau)
        for m, spec in enumerate(a.actions):
            if spec.kind in ("hold", "exercise", "evacuate") and spec.rung < 0:
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
        c.start_war(idx[~c.war[idx]], i, a.target, s)
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
    from numpy_flagship import war_outcome  # noqa: PLC0415
    c.outcome[done] = war_outcome(c.peak[done], sc)
    c.war_end_step[done] = s
