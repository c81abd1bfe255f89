#!/usr/bin/env python3
"""Peer comparison: brink against two tight NumPy scripts and a plain Python
agent loop on the reduced crisis model (peer-model.yaml), and against a NumPy
implementation of the whole model (numpy_flagship.py) on the flagship, all
timed in one run.

Run:  /usr/bin/python3 bench/peer/peer_benchmark.py [--replications N] [--flagship-replications M] [--repeats R]
(BRINK=path/to/brink, default build/release/brink). It prints, per model, each
implementation's median CPU seconds of whole runs (NumPy in-process with
time.process_time after a warm-up; brink as a child on one thread, CPU from
os.wait4), replication-steps per CPU-second and the ratio to NumPy, then the
agreement: P(full war) on the reduced model and every outcome of the whole
model by a two-sample z-test (Holm, alpha = 0.001). Exit status 1 if any
comparison disagrees: a ratio means something only if both compute the same.
The reduced model has two NumPy scripts: the tight one, every lane every step
(numpy_chunk, in float64 and in float32), and the thinned one, which draws
only for the lanes that can leave hold or meet an incident (thinned_chunk);
the fastest of the three is the reference of the ratios (the headline), and
each one's agreement with brink is tested in the same run. The whole-model
NumPy keeps utilities, logit weights and choice sums in float32
(--flagship-dtype float64 to change), everything else in float64.

The peers follow brink's semantics step by step (docs/model.md). Their random
numbers differ from brink's Philox streams, so results agree statistically,
not bit for bit.
"""

import argparse
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from agreement import compare  # noqa: E402
from brink_binary import brink_binary  # noqa: E402
from numpy_flagship import OUTCOMES, load, simulate  # noqa: E402

DEFAULT_CHUNK = 32768  # replications per NumPy chunk when not chosen on the machine (numpy_model's default)
# Chunk sizes the benchmark tries on the running machine (plus the whole run as one chunk): which is
# fastest depends on its caches (8,192 on one machine, 32,768-65,536 on another).
CHUNK_CANDIDATES = [8192, 16384, 32768, 65536, 131072]
FLAGSHIP_CHUNK_CANDIDATES = [2048, 4096, 8192, 16384]

# The reduced model's numbers, read from its scenario file (peer-model.yaml by
# default, --reduced-scenario to change): use_reduced_scenario() sets them.
STEPS = DT = LAMBDA = PATIENCE = RHO = None
W_SECURITY = W_COST = W_ESCALATION = W_WAR = W_IMPATIENCE = None
A_DEPLOYED = A_READY = A_RATE = A_CAP = A_EFF = B_DEPLOYED = B_EFF = B_ADVANTAGE = None
DEPLOY_AMOUNT = DEPLOY_COST = DEPLOY_TENSION = EXERCISE_COST = EXERCISE_TENSION = None
INVADE_COST = INVADE_TENSION = FULL_RUNG = START_RUNG = None
TENSION0 = DECAY = BASE = TENSION_RATE = CONTACT_RATE = JUMP = COLLAPSE = None


def reduced_constants(path):
    """The reduced model's numbers from a scenario of its shape: actor A (no
    private types) chooses among hold, deploy, exercise and one full-war
    attack on B, which only defends; no posture, talks, events or incident
    escalation; square-law combat. Raises ValueError for any other shape:
    the tight script's algebra holds only for this one."""
    sc = load(path)
    if len(sc.actors) != 2 or sc.issues or sc.events or sc.law != "square" or sc.escalation_probability != 0:
        raise ValueError(f"{path}: not the reduced model's shape (two actors, no issues, events or incident "
                         "escalation, square law)")
    a, b = sc.actors
    kinds = {x.kind: x for x in a.actions}
    attack = kinds.get("attack")
    if (sorted(kinds) != ["attack", "deploy", "exercise", "hold"] or len(a.actions) != 4 or len(a.priors) != 1
            or attack.target != 1 or attack.rung != sc.full_war or sc.initial_rung >= sc.full_war
            or [x.kind for x in b.actions] != ["hold"] or a.war_forecast
            or any(x.reaction or x.fatigue or x.grievance for x in (a, b))
            or kinds["hold"].cost or kinds["hold"].tension or kinds["deploy"].rung >= 0
            or kinds["exercise"].rung >= 0):
        raise ValueError(f"{path}: actor {a.id} must choose among hold, deploy, exercise and a full-war attack "
                         f"on {b.id}, without types, reserve or posture, and {b.id} must only hold")
    if any(x.tension < 0 for x in a.actions):
        raise ValueError(f"{path}: an action of {a.id} lowers tension: the scripts add an action's tension without "
                         "the clamp T <- max(0, T + tau), which acts only for a negative one")
    w = dict(zip(("security", "cost", "escalation", "issue_gain", "settlement", "war_gain", "credibility",
                  "impatience"), a.type_weights[0]))
    return dict(
        STEPS=sc.steps, DT=sc.dt, LAMBDA=a.rationality, PATIENCE=a.patience, RHO=a.ready_weight,
        W_SECURITY=w["security"], W_COST=w["cost"], W_ESCALATION=w["escalation"], W_WAR=w["war_gain"],
        W_IMPATIENCE=w["impatience"],
        A_DEPLOYED=a.deployed, A_READY=a.ready, A_RATE=a.deployment_rate, A_CAP=a.deployed_cap,
        A_EFF=a.effectiveness, B_DEPLOYED=b.deployed, B_EFF=b.effectiveness, B_ADVANTAGE=b.defence_advantage,
        DEPLOY_AMOUNT=kinds["deploy"].amount, DEPLOY_COST=kinds["deploy"].cost,
        DEPLOY_TENSION=kinds["deploy"].tension, EXERCISE_COST=kinds["exercise"].cost,
        EXERCISE_TENSION=kinds["exercise"].tension, INVADE_COST=attack.cost, INVADE_TENSION=attack.tension,
        FULL_RUNG=sc.full_war, START_RUNG=sc.initial_rung, TENSION0=sc.tension0, DECAY=sc.decay,
        BASE=sc.base_rate, TENSION_RATE=sc.tension_rate, CONTACT_RATE=sc.contact_rate, JUMP=sc.jump,
        COLLAPSE=sc.collapse)


def use_reduced_scenario(path):
    """Sets the module's reduced-model numbers from the scenario at `path`. Raises ValueError, and
    keeps the numbers it had, if a logit weight relative to hold could overflow: the scripts take
    weights relative to hold without subtracting the largest utility (largest_log_weight)."""
    constants = reduced_constants(path)
    before = {key: globals()[key] for key in constants}
    globals().update(constants)
    if largest_log_weight() > 700:  # exp(709.8) overflows a double
        globals().update(before)
        raise ValueError(f"{path}: a logit weight relative to hold could exceed exp(700) (a utility far above "
                         "hold's times the rationality): the scripts' weights relative to hold would overflow")


def power(x, k):
    """x **= k in place: repeated squaring when k is 1, 2 or 4 (peer-model.yaml's
    λ = 2 and war-gain weight 2 give x² and x⁴), np.power otherwise."""
    if k in (1.0, 2.0, 4.0):
        for _ in range({1.0: 0, 2.0: 1, 4.0: 2}[k]):
            np.square(x, out=x)
    else:
        np.power(x, k, out=x)


def numpy_chunk(n, rng, f=np.float64):
    """One chunk of n replications of the reduced model; returns how many went to war.

    Algebra the model allows: the logit weights are taken relative to hold
    (always feasible, and no utility here can exceed hold's by enough to
    overflow), so the security term common to all actions cancels and
    exp(lambda*(U_a - U_hold)) becomes products of powers and one exp per
    action; the attack is feasible only before the war, when the rung is
    still the initial one, so its escalation is a constant; combat
    coefficients are constants, so the square-law step is cosh/sinh of a
    constant; an incident occurs when u < 1 - exp(-h dt), i.e. 1-u > exp(-h dt),
    and 1-u is as uniform as u.
    """
    d_a = np.full(n, A_DEPLOYED, f); r_a = np.full(n, A_READY, f); d_b = np.full(n, B_DEPLOYED, f)
    tension = np.full(n, TENSION0, f)
    live = np.ones(n, f); peace = np.ones(n, f); fight = np.zeros(n, f)
    th_a = np.full(n, -1.0, f); th_b = np.full(n, -1.0, f)
    uv = np.empty(2 * n, f); u = uv[:n]; v = uv[n:]
    esc, w1, w2, w3, t1, t2, c2, c3 = (np.empty(n, f) for _ in range(8))
    ge1, ge2, ge3, b1 = (np.empty(n, bool) for _ in range(4))
    gamma = math.sqrt(A_EFF * B_EFF * B_ADVANTAGE); k = math.sqrt(B_EFF * B_ADVANTAGE / A_EFF)
    ch, sh = math.cosh(gamma * DT), math.sinh(gamma * DT)
    step_cap = min(DEPLOY_AMOUNT, A_RATE * DT)
    decay = math.exp(-DECAY * DT)
    e3 = LAMBDA * (INVADE_TENSION + FULL_RUNG - START_RUNG)
    for s in range(STEPS):
        rng.random(out=uv, dtype=f)
        impatience = max(0.0, s * DT - PATIENCE) / PATIENCE
        np.multiply(tension, -W_ESCALATION, out=esc); esc += W_IMPATIENCE * impatience - W_ESCALATION
        np.subtract(A_CAP, d_a, out=t1); np.minimum(t1, r_a, out=t1); np.minimum(t1, step_cap, out=t1)
        np.multiply(r_a, RHO, out=t2); t2 += d_a; t2 += 1.0
        np.divide(t1, t2, out=w1); w1 *= 1 - RHO; w1 += 1.0; power(w1, LAMBDA * W_SECURITY)
        np.multiply(esc, LAMBDA * DEPLOY_TENSION, out=w2); w2 -= LAMBDA * W_COST * DEPLOY_COST; np.exp(w2, out=w2)
        w1 *= w2; np.greater(t1, 0.5, out=b1); w1 *= b1; w1 *= live
        np.multiply(esc, LAMBDA * EXERCISE_TENSION, out=w2); w2 -= LAMBDA * W_COST * EXERCISE_COST; np.exp(w2, out=w2); w2 *= live
        np.multiply(d_b, B_ADVANTAGE, out=w3); w3 += 1.0; np.add(d_a, 1.0, out=c2); np.divide(c2, w3, out=w3)
        power(w3, LAMBDA * W_WAR)
        np.multiply(esc, e3, out=c3); c3 -= LAMBDA * W_COST * INVADE_COST; np.exp(c3, out=c3); w3 *= c3; w3 *= peace
        np.add(w1, 1.0, out=c2); np.add(c2, w2, out=c3); np.add(c3, w3, out=t2); u *= t2
        np.greater_equal(u, 1.0, out=ge1); np.greater_equal(u, c2, out=ge2); np.greater_equal(u, c3, out=ge3)
        np.multiply(ge1, DEPLOY_TENSION, out=t2); tension += t2
        np.multiply(ge2, EXERCISE_TENSION - DEPLOY_TENSION, out=t2); tension += t2
        np.multiply(ge3, INVADE_TENSION - EXERCISE_TENSION, out=t2); tension += t2
        np.less(u, c2, out=b1); b1 &= ge1; t1 *= b1; d_a += t1; r_a -= t1
        if ge3.any():
            peace[ge3] = 0.0; fight[ge3] = 1.0
            th_a[ge3] = COLLAPSE * d_a[ge3]; th_b[ge3] = COLLAPSE * d_b[ge3]
        # combat: A' = A ch - k B sh, B' = B ch - A/k sh in fighting lanes
        np.multiply(d_a, 1.0 - ch, out=t1); np.multiply(d_b, k * sh, out=t2); t1 += t2; t1 *= fight
        np.multiply(d_b, 1.0 - ch, out=c2); np.multiply(d_a, sh / k, out=t2); c2 += t2; c2 *= fight
        d_a -= t1; d_b -= c2
        np.less_equal(d_a, th_a, out=ge1); np.less_equal(d_b, th_b, out=ge2); ge1 |= ge2
        np.multiply(d_a, d_b, out=t1); np.sqrt(t1, out=t1); t1 *= CONTACT_RATE / 1e5 * -DT
        np.multiply(tension, -TENSION_RATE * DT, out=t2); t2 += t1; t2 -= BASE * DT; np.exp(t2, out=t2)
        np.greater(v, t2, out=b1); b1 &= ~ge1; np.multiply(b1, JUMP, out=t1); t1 *= live; tension += t1
        np.multiply(live, decay - 1.0, out=t1); t1 += 1.0; tension *= t1
        if ge1.any():
            live[ge1] = 0.0; fight[ge1] = 0.0
    return int(n - peace.sum())

def numpy_model(n, seed, chunk=DEFAULT_CHUNK, dtype=np.float64):
    """The tight NumPy script: chunks of replications sized for the cache, all
    steps vectorized over the chunk. Returns the number of replications at war."""
    rng = np.random.Generator(np.random.SFC64(seed))
    return sum(numpy_chunk(min(chunk, n - off), rng, dtype) for off in range(0, n, chunk))


# --- The thinned script: the same model, drawing only for the lanes that can act -------------------
#
# At peace a lane leaves hold with probability q = W/(1+W) (W: the other actions' weights relative
# to hold), about a fifth of the lanes a step in peer-model.yaml, and an incident occurs with
# probability p = 1 - exp(-h dt), a few in a thousand. Both are bounded over every lane at peace
# (hold_leaving_bound, incident_bound), so the script thins them: a lane is a candidate when a
# 16-bit slice of a raw random word (four lanes per SFC64 word) is below K, with probability
# K / 2**16 >= the bound, and only the candidates gather their state, compute their weights and
# draw a uniform u on [0, K / 2**16), which plays the part of the uniform whose event "below K /
# 2**16" made them candidates: u < q leaves hold (probability q in all), and u (1+W), uniform on
# [0, W) given that, picks the action. Exact in distribution for any bound >= q: a bound of 1 makes
# every lane a candidate (the plain path with gathers).

SLICE = 1 << 16  # the values of a 16-bit slice


def peace_deployed_range():
    """(lowest, highest) troops A can have deployed at peace: troops only move, by deploy, from
    ready to deployed and up to the cap, so deployed plus ready stays A_DEPLOYED + A_READY."""
    return A_DEPLOYED, max(A_DEPLOYED, min(A_CAP, A_DEPLOYED + A_READY))


def escalation(s, tension):
    """The escalation term common to A's weights at step s: w_impatience I - w_escalation (1 + T)."""
    return W_IMPATIENCE * max(0.0, s * DT - PATIENCE) / PATIENCE - W_ESCALATION * (1.0 + tension)


def log_weight_maxima(s, t_lo, t_hi, own_min=None):
    """The largest log-weights relative to hold of deploy, exercise and the attack at step s over
    every lane at peace with tension in [t_lo, t_hi]. Each log-weight is a sum of terms monotone in
    one variable, each at its largest at an end of that variable's range: lambda (tau esc - w_cost
    cost), rising in esc (action tensions are >= 0, reduced_constants), esc linear in T; the
    security gain lambda w_s ln(1 + (1-rho) x / Own), with 0 < x <= the step's move and Own = 1 + D
    + rho R at least own_min (default: at peace, its value at the fewest deployed troops), or <= 0
    when w_s < 0; the war gain lambda w_war ln((1 + D) / (1 + D_B adv)), monotone in D."""
    esc = max(escalation(s, t_lo), escalation(s, t_hi))
    d_lo, d_hi = peace_deployed_range()
    if own_min is None:
        own_min = 1.0 + RHO * (A_DEPLOYED + A_READY) + (1.0 - RHO) * d_lo
    move = min(DEPLOY_AMOUNT, A_RATE * DT)
    security = max(0.0, LAMBDA * W_SECURITY * math.log1p((1.0 - RHO) * move / own_min))
    war_gain = max(LAMBDA * W_WAR * math.log((1.0 + d) / (1.0 + B_DEPLOYED * B_ADVANTAGE)) for d in (d_lo, d_hi))
    return (security + LAMBDA * (DEPLOY_TENSION * esc - W_COST * DEPLOY_COST),
            LAMBDA * (EXERCISE_TENSION * esc - W_COST * EXERCISE_COST),
            war_gain + LAMBDA * ((INVADE_TENSION + FULL_RUNG - START_RUNG) * esc - W_COST * INVADE_COST))


def hold_leaving_bound(s, t_lo, t_hi):
    """An upper bound of q = W/(1+W), the probability of leaving hold at step s, over every lane at
    peace whose tension lies in [t_lo, t_hi]."""
    w = sum(math.exp(x) for x in log_weight_maxima(s, t_lo, t_hi))
    return w / (1.0 + w)


def incident_bound(t_hi):
    """An upper bound of 1 - exp(-h dt) over every lane at peace with tension at most t_hi: the
    hazard h = base + r_T T + r_C sqrt(D_A D_B) / 1e5 grows with T and D_A (rates are >= 0)."""
    hazard = BASE + TENSION_RATE * t_hi + CONTACT_RATE * math.sqrt(peace_deployed_range()[1] * B_DEPLOYED) / 1e5
    return -math.expm1(-hazard * DT)


def largest_log_weight():
    """The largest log-weight relative to hold over the whole run, at peace or at war (at war D_A is
    at most its peace bound, combat can bring Own down to 1, and the attack is out): tension lies
    between 0 and its initial value plus every step's largest action tension and incident jump, and
    the log-weights are linear in the impatience, which grows with the step."""
    t_max = TENSION0 + STEPS * (max(DEPLOY_TENSION, EXERCISE_TENSION, INVADE_TENSION) + JUMP)
    return max(max(log_weight_maxima(s, 0.0, t_max, own_min=1.0)) for s in (0, STEPS - 1))


def slice_threshold(bound):
    """K with K / 2**16 >= bound, one slice value above it (a margin for rounding): a lane is a
    candidate when its slice is below K, with probability K / 2**16."""
    return min(SLICE, math.ceil(bound * SLICE) + 1)


def logit_weights(s, tension, d_a, r_a, at_peace):
    """Troops a deploy would move and the weights relative to hold of deploy, exercise and (at
    peace) the attack, for lanes with these tensions and forces at step s (numpy_chunk's formulas)."""
    esc = escalation(s, tension)
    move = np.minimum(np.minimum(A_CAP - d_a, r_a), min(DEPLOY_AMOUNT, A_RATE * DT))
    w_deploy = (1.0 + (1.0 - RHO) * move / (1.0 + d_a + RHO * r_a)) ** (LAMBDA * W_SECURITY)
    w_deploy *= np.exp(LAMBDA * (DEPLOY_TENSION * esc - W_COST * DEPLOY_COST))
    w_deploy *= move > 0.5
    w_exercise = np.exp(LAMBDA * (EXERCISE_TENSION * esc - W_COST * EXERCISE_COST))
    if not at_peace:
        return move, w_deploy, w_exercise, None
    w_attack = ((1.0 + d_a) / (1.0 + B_DEPLOYED * B_ADVANTAGE)) ** (LAMBDA * W_WAR)
    w_attack *= np.exp(LAMBDA * ((INVADE_TENSION + FULL_RUNG - START_RUNG) * esc - W_COST * INVADE_COST))
    return move, w_deploy, w_exercise, w_attack


def thinned_chunk(n, rng, check=False):
    """One chunk of n replications of the reduced model, thinned (above); returns how many went to war.

    Lanes at peace keep their tension scaled by decay**-s (the step's decay is then one scalar
    product, not a pass over the lanes) and their deployed troops (ready = the constant total minus
    deployed). A lane whose attack starts the war moves to a small dense set of lanes at war (forces,
    ready troops, tension, collapse thresholds), where decisions, combat, collapse and incidents run
    on every lane as in numpy_chunk; lanes that collapse leave it. The peace arrays drop the lanes
    gone to war once they are an eighth of them. check=True verifies every candidate's q and
    incident probability against the bounds (tests; it costs a pass over the candidates).
    """
    total = A_DEPLOYED + A_READY
    decay = math.exp(-DECAY * DT)
    gamma = math.sqrt(A_EFF * B_EFF * B_ADVANTAGE); k = math.sqrt(B_EFF * B_ADVANTAGE / A_EFF)
    ch, sh = math.cosh(gamma * DT), math.sinh(gamma * DT)
    contact = CONTACT_RATE * math.sqrt(B_DEPLOYED) / 1e5  # at peace D_B stays B_DEPLOYED
    bits = rng.bit_generator
    scaled = np.full(n, TENSION0)  # T / g, g = decay**s
    d_a = np.full(n, A_DEPLOYED)
    gone = np.zeros(n, bool); n_gone = 0
    g = 1.0
    war = {key: np.empty(0) for key in ("d_a", "r_a", "d_b", "tension", "th_a", "th_b")}
    wars = 0
    for s in range(STEPS):
        m = scaled.size
        slices = bits.random_raw((2 * m + 3) // 4).view(np.uint16)
        # Lanes at war decide on every lane, on the state at the start of the step.
        if war["d_a"].size:
            move, w1, w2, _ = logit_weights(s, war["tension"], war["d_a"], war["r_a"], at_peace=False)
            r = rng.random(move.size) * (1.0 + w1 + w2)
            deploy = (r >= 1.0) & (r < 1.0 + w1); exercise = r >= 1.0 + w1
            war["tension"] += deploy * DEPLOY_TENSION + exercise * EXERCISE_TENSION
            war["d_a"] += deploy * move; war["r_a"] -= deploy * move
        # Lanes at peace: the candidates for leaving hold.
        # Every tension is at least the initial one decayed (nothing lowers it but the decay).
        bound = hold_leaving_bound(s, TENSION0 * decay ** s, scaled.max() * g)
        threshold = slice_threshold(bound)
        cand = np.flatnonzero(slices[:m] < threshold)
        cand = cand[~gone[cand]]
        d = d_a[cand]
        move, w1, w2, w3 = logit_weights(s, scaled[cand] * g, d, total - d, at_peace=True)
        w = w1 + w2 + w3
        if check and cand.size and (w / (1.0 + w)).max() > bound:
            raise AssertionError(f"step {s}: q {(w / (1.0 + w)).max()} above the bound {bound}")
        r = rng.random(cand.size) * (threshold / SLICE) * (1.0 + w)  # u (1 + W); u < q <=> r < W
        left = r < w
        r, w1, w2, lane, move = r[left], w1[left], w2[left], cand[left], move[left]
        deploy = r < w1; exercise = (r >= w1) & (r < w1 + w2); attack = r >= w1 + w2
        i = lane[deploy]; scaled[i] += DEPLOY_TENSION / g; d_a[i] += move[deploy]
        scaled[lane[exercise]] += EXERCISE_TENSION / g
        i = lane[attack]
        if i.size:  # the war starts: these lanes join the war set
            wars += i.size
            started = {"d_a": d_a[i], "r_a": total - d_a[i], "d_b": np.full(i.size, B_DEPLOYED),
                       "tension": scaled[i] * g + INVADE_TENSION, "th_a": COLLAPSE * d_a[i],
                       "th_b": np.full(i.size, COLLAPSE * B_DEPLOYED)}
            war = {key: np.concatenate([war[key], started[key]]) for key in war}
            gone[i] = True; n_gone += i.size; scaled[i] = 0.0
        # Lanes at war: combat (A' = A ch - k B sh, B' = B ch - A/k sh), collapse, incidents, decay.
        if war["d_a"].size:
            a, b = war["d_a"], war["d_b"]
            war["d_a"], war["d_b"] = a * ch - b * (k * sh), b * ch - a * (sh / k)
            ended = (war["d_a"] <= war["th_a"]) | (war["d_b"] <= war["th_b"])
            hazard = BASE + TENSION_RATE * war["tension"] + CONTACT_RATE / 1e5 * np.sqrt(war["d_a"] * war["d_b"])
            incident = (rng.random(a.size) < -np.expm1(-hazard * DT)) & ~ended
            war["tension"] += incident * JUMP
            war["tension"] *= decay
            if ended.any():
                war = {key: x[~ended] for key, x in war.items()}
        # Lanes at peace: the candidates for an incident, on the tensions and forces after the decisions.
        bound = incident_bound(scaled.max() * g)
        threshold = slice_threshold(bound)
        cand = np.flatnonzero(slices[m:2 * m] < threshold)
        cand = cand[~gone[cand]]
        p = -np.expm1(-(BASE + TENSION_RATE * g * scaled[cand] + contact * np.sqrt(d_a[cand])) * DT)
        if check and cand.size and p.max() > bound:
            raise AssertionError(f"step {s}: incident probability {p.max()} above the bound {bound}")
        scaled[cand[rng.random(cand.size) * (threshold / SLICE) < p]] += JUMP / g
        g *= decay
        if g < 1e-100:  # rescale before 1/g overflows (a fast decay over a long horizon)
            scaled *= g; g = 1.0
        if n_gone * 8 > m:
            keep = ~gone
            scaled, d_a = scaled[keep], d_a[keep]
            gone = np.zeros(scaled.size, bool); n_gone = 0
    return wars


def thinned_model(n, seed, chunk=DEFAULT_CHUNK, check=False):
    """The thinned NumPy script in chunks of replications; returns the number at war."""
    rng = np.random.Generator(np.random.SFC64(seed))
    return sum(thinned_chunk(min(chunk, n - off), rng, check) for off in range(0, n, chunk))


def square_law_scalar(a, b, alpha, beta, t):
    """Exact square-law step of one replication (brink::lanchester_square)."""
    g, k = math.sqrt(alpha * beta) * t, math.sqrt(beta / alpha)
    if a < k * b and g >= math.atanh(a / (k * b)):
        return 0.0, math.sqrt(max(b * b - a * a / (k * k), 0.0))
    if a > k * b and g >= math.atanh(k * b / a):
        return math.sqrt(max(a * a - k * k * b * b, 0.0)), 0.0
    return max(a * math.cosh(g) - k * b * math.sinh(g), 0.0), max(b * math.cosh(g) - a / k * math.sinh(g), 0.0)


class Crisis:
    """One replication as objects stepping one at a time, as an agent framework would."""

    def __init__(self, rng):
        self.rng = rng
        self.d_a, self.y_a, self.d_b = A_DEPLOYED, A_READY, B_DEPLOYED
        self.tension, self.rung, self.war, self.ended = TENSION0, START_RUNG, False, False
        self.start_a = self.start_b = 0.0

    def step(self, s):
        if self.ended:
            return
        impatience = max(0.0, s * DT - PATIENCE) / PATIENCE
        own, threat = 1 + self.d_a + RHO * self.y_a, 1 + self.d_b
        base = W_SECURITY * (math.log(own) - math.log(threat))
        moved = max(min(self.y_a, DEPLOY_AMOUNT, A_RATE * DT, A_CAP - self.d_a), 0)
        esc = W_IMPATIENCE * impatience - W_ESCALATION * (1 + self.tension)
        options = [(0, base)]
        if moved > 0.5:
            options.append((1, W_SECURITY * (math.log(own + (1 - RHO) * moved) - math.log(threat))
                            - W_COST * DEPLOY_COST + DEPLOY_TENSION * esc))
        options.append((2, base - W_COST * EXERCISE_COST + EXERCISE_TENSION * esc))
        if self.rung < FULL_RUNG and not self.war:
            options.append((3, base - W_COST * INVADE_COST + (INVADE_TENSION + max(FULL_RUNG - self.rung, 0)) * esc
                            + W_WAR * (math.log(1 + self.d_a) - math.log(1 + self.d_b * B_ADVANTAGE))))
        best = max(u for _, u in options)
        weights = [math.exp(LAMBDA * (u - best)) for _, u in options]
        r, choice = self.rng.random() * sum(weights), options[-1][0]
        for (action, _), w in zip(options, weights):
            if r < w:
                choice = action
                break
            r -= w
        self.tension = max(0.0, self.tension + {0: 0, 1: DEPLOY_TENSION, 2: EXERCISE_TENSION, 3: INVADE_TENSION}[choice])
        if choice == 1:
            self.y_a, self.d_a = self.y_a - moved, self.d_a + moved
        if choice == 3:
            self.war, self.rung, self.start_a, self.start_b = True, FULL_RUNG, self.d_a, self.d_b
        if self.war:
            self.d_a, self.d_b = square_law_scalar(self.d_a, self.d_b, A_EFF, B_EFF * B_ADVANTAGE, DT)
            if self.d_a <= COLLAPSE * self.start_a or self.d_b <= COLLAPSE * self.start_b:
                self.ended = True
        if not self.ended:
            hazard = BASE + TENSION_RATE * self.tension + CONTACT_RATE * math.sqrt(self.d_a * self.d_b) / 1e5
            if self.rng.random() < 1 - math.exp(-hazard * DT):
                self.tension += JUMP
        self.tension = max(self.tension * math.exp(-DECAY * DT), 0.0)


def python_model(n, seed):
    rng = random.Random(seed)
    runs = [Crisis(rng) for _ in range(n)]
    for s in range(STEPS):
        for run in runs:
            run.step(s)
    return sum(run.war for run in runs)


def brink_run(scenario, n, seed, summary=True):
    """Runs brink on one thread; returns (CPU seconds of the child, outcome counts)."""
    brink = brink_binary("peer_benchmark.py")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "peer.h5"
        args = [brink, "run", str(scenario), "--threads", "1", "--quiet", "-n", str(n), "--seed", str(seed), "-o", str(out)]
        if summary:
            args.append("--summary-only")
        proc = subprocess.Popen(args)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            sys.exit(f"{args[0]} failed with exit code {proc.returncode}")
        import h5py  # only needed here
        with h5py.File(out, "r") as f:
            return usage.ru_utime + usage.ru_stime, [int(x) for x in f["outcome_count"][0]]


def cpu_timed(fn):
    """(CPU seconds of this process, result) of fn()."""
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


def median_of(repeats, run):
    """Median CPU seconds of `repeats` calls of run(r) -> (seconds, result), and the last result."""
    results = [run(r) for r in range(repeats)]
    return statistics.median(t for t, _ in results), results[-1][1]


def interleaved(repeats, runs):
    """Each of `runs` (name -> run(r) -> (seconds, result)) `repeats` times, one of each in turn, so
    that a shared machine's slow spells fall on every implementation alike; name -> (median seconds,
    last result)."""
    results = {name: [] for name in runs}
    for r in range(repeats):
        for name, run in runs.items():
            results[name].append(run(r))
    return {name: (statistics.median(t for t, _ in rs), rs[-1][1]) for name, rs in results.items()}


def fastest_chunk(run, candidates, label, rounds=1):
    """The chunk size (replications per NumPy chunk) at which run(chunk) takes least CPU on this
    machine, best of `rounds` alternating rounds: the cache sizes that decide it differ between machines."""
    times = {c: [] for c in candidates}
    for _ in range(rounds):
        for c in candidates:
            times[c].append(cpu_timed(lambda: run(c))[0])
    best = {c: min(t) for c, t in times.items()}
    chunk = min(best, key=best.get)
    shown = ", ".join(f"{c}: {best[c]:.3f} s" for c in candidates)
    print(f"  {label}: NumPy chunk {chunk}, the fastest here ({shown})")
    return chunk


def print_rows(title, rows, steps, reference):
    print(title)
    print(f"  {'implementation':<28} {'replications':>12} {'CPU s':>8} {'rep-steps/CPU-s':>16} {'ratio to NumPy':>15}")
    for name, reps, seconds in rows:
        rate = reps * steps / seconds
        print(f"  {name:<28} {reps:>12} {seconds:>8.3f} {rate:>16.4g} {rate / reference:>15.2f}")


def reduced_section(args):
    n, n_py, rep = args.replications, args.python_replications, args.repeats
    # The NumPy scripts: the tight one in both precisions and the thinned one (float64).
    scripts = {"NumPy script (float64)": lambda n, seed, c: numpy_model(n, seed, c, np.float64),
               "NumPy script (float32)": lambda n, seed, c: numpy_model(n, seed, c, np.float32),
               "NumPy thinned script": thinned_model}
    for script in scripts.values():
        script(4096, 1, 4096)  # warm-up: imports, first touch of the allocator
    # Chosen at the run's own size and per script: the caches that decide it see the whole run.
    chunk = {name: args.chunk or fastest_chunk(lambda c, script=script: script(n, 3, c),
                                               [c for c in CHUNK_CANDIDATES if c < n] + [n],
                                               f"reduced model, {name}")
             for name, script in scripts.items()}
    timed = interleaved(rep, {
        "brink": lambda r: brink_run(args.reduced_scenario, n, 7 + r),
        **{name: lambda r, name=name, script=script: cpu_timed(lambda: script(n, 7 + r, chunk[name]))
           for name, script in scripts.items()},
    })
    t_py, wars_py = median_of(rep, lambda r: cpu_timed(lambda: python_model(n_py, 7 + r)))
    t_br, counts = timed["brink"]
    numpy_rows = [(name, n, timed[name][0]) for name in scripts]
    rows = [("brink, 1 thread", n, t_br), *numpy_rows, ("Python agent loop", n_py, t_py)]
    fastest, _, t_fastest = min(numpy_rows, key=lambda row: row[2])
    print_rows(f"reduced model ({Path(args.reduced_scenario).name}): {STEPS} steps, median of {rep} interleaved runs, "
               "CPU time of whole runs; ratios to the fastest NumPy", rows, STEPS, n * STEPS / t_fastest)
    war_br = counts[OUTCOMES.index("full_war")]
    agree = True
    for name in scripts:
        _, ok = compare(["full_war"], [war_br], n, [timed[name][1]], n)
        agree &= ok
    shown = ", ".join(f"{name.removeprefix('NumPy ')} {timed[name][1] / n:.4f}" for name in scripts)
    print(f"  P(full war): brink {war_br / n:.4f}, NumPy {shown}, Python {wars_py / n_py:.4f}"
          f"  (every NumPy script vs brink: {'agree' if agree else 'DISAGREE'}, z-test alpha=0.001)")
    print(f"  brink / the fastest NumPy ({fastest}, chunk {chunk[fastest]}): {t_fastest / t_br:.2f}x")
    return agree


def flagship_section(args):
    sc = load(args.scenario)
    n, rep = args.flagship_replications, args.repeats
    dtype = np.dtype(args.flagship_dtype).type
    simulate(sc, 2048, seed=1, dtype=dtype)  # warm-up
    chunk = args.flagship_chunk or fastest_chunk(lambda c: simulate(sc, n, seed=3, chunk=c, dtype=dtype),
                                                 [c for c in FLAGSHIP_CHUNK_CANDIDATES if c < n] + [n],
                                                 f"whole model ({sc.name})")
    timed = interleaved(rep, {
        "brink": lambda r: brink_run(args.scenario, n, sc.seed + r),
        "numpy": lambda r: cpu_timed(lambda: simulate(sc, n, seed=100 + r, chunk=chunk, dtype=dtype)),
    })
    (t_br, c_br), (t_np, c_np) = timed["brink"], timed["numpy"]
    print_rows(f"\nwhole model ({sc.name}): {sc.steps} steps, median of {rep} interleaved runs, CPU time of whole runs",
               [("brink, 1 thread", n, t_br), (f"NumPy whole model ({args.flagship_dtype})", n, t_np)], sc.steps, n * sc.steps / t_np)
    rows, agree = compare(OUTCOMES, c_br, n, [int(x) for x in c_np], n)
    print(f"  agreement per outcome (two-sample z-test, Holm, alpha=0.001): {'AGREE' if agree else 'DISAGREE'}")
    for name, pa, pb, p, rejected in rows:
        print(f"    {name:<14} brink {pa:.4f}  NumPy {pb:.4f}  p = {p:.3g}{'  REJECTED' if rejected else ''}")
    return agree


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replications", type=int, default=400000, help="reduced model (default 400,000)")
    parser.add_argument("--reduced-scenario", default=str(HERE / "peer-model.yaml"),
                        help="scenario of the reduced-model comparison: peer-model.yaml or another parameter set "
                             "of the same shape (the NumPy script and the Python loop read their numbers from it)")
    parser.add_argument("--python-replications", type=int, default=1000,
                        help="the plain-Python loop is slow: it runs fewer and is scaled per replication-step")
    parser.add_argument("--flagship-replications", type=int, default=40000)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "jan-2022-standoff.yaml"),
                        help="scenario of the whole-model comparison")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=0,
                        help="replications per NumPy chunk of the reduced model's scripts (default: each one's "
                             "fastest of a short sweep on this machine)")
    parser.add_argument("--flagship-chunk", type=int, default=0,
                        help="replications per NumPy chunk of the whole model (default: the fastest of a short sweep)")
    parser.add_argument("--flagship-dtype", choices=["float32", "float64"], default="float32",
                        help="precision of the whole-model NumPy utilities and logit (forces, combat, beliefs: float64)")
    parser.add_argument("--skip-reduced", action="store_true")
    parser.add_argument("--skip-flagship", action="store_true")
    args = parser.parse_args()
    brink_binary("peer_benchmark.py")  # before any work: the comparisons need it
    ok = True
    if not args.skip_reduced:
        use_reduced_scenario(args.reduced_scenario)
        ok &= reduced_section(args)
    if not args.skip_flagship:
        ok &= flagship_section(args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
