#!/usr/bin/env python3
"""Peer comparison: brink against a hand-written NumPy script and a plain
Python agent loop (the way Mesa or NetLogo models are written), all running
the same reduced crisis model (peer-model.yaml), timed in one run.

Run:  /usr/bin/python3 bench/peer/peer_benchmark.py [--replications N] [--repeats R]
(BRINK=path/to/brink, default build/release/brink). It prints each
implementation's median wall time and replication-steps per second, the ratios
to brink, and P(full war) from each with its 95% interval: the ratios mean
something only if the three agree on what they compute.

The peers follow brink's semantics for this model step by step (docs/model.md):
logit quantal response over hold/deploy/exercise/invade with the features
security, cost, escalation, war gain and impatience; tension decay; incident
hazard; exact square-law Lanchester steps with collapse at half strength.
Their random numbers differ from brink's Philox streams, so the outcomes agree
statistically, not bit for bit.
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

# peer-model.yaml, spelled out.
STEPS, DT = 120, 1.0
LAMBDA, PATIENCE, RHO = 2.0, 30.0, 0.5
W_SECURITY, W_COST, W_ESCALATION, W_WAR, W_IMPATIENCE = 1.0, 1.0, 0.2, 2.0, 0.1
A_DEPLOYED, A_READY, A_RATE, A_CAP, A_EFF = 100000.0, 60000.0, 2500.0, 190000.0, 0.010
B_DEPLOYED, B_EFF, B_ADVANTAGE = 100000.0, 0.008, 1.5
DEPLOY_AMOUNT, DEPLOY_COST, DEPLOY_TENSION = 5000.0, 1.0, 0.02
EXERCISE_COST, EXERCISE_TENSION = 1.5, 0.1
INVADE_COST, INVADE_TENSION, FULL_RUNG, START_RUNG = 2.0, 2.0, 3, 1
TENSION0, DECAY = 1.0, 0.02
BASE, TENSION_RATE, CONTACT_RATE, JUMP = 0.001, 0.002, 0.002, 0.3
COLLAPSE = 0.5


def square_law(a, b, alpha, beta, t):
    """Exact square-law step (brink::lanchester_square), vectorized."""
    g = math.sqrt(alpha * beta)
    c, h = math.cosh(g * t), math.sinh(g * t)
    a_t = a * c - math.sqrt(beta / alpha) * b * h
    b_t = b * c - math.sqrt(alpha / beta) * a * h
    a_dead, b_dead = a_t <= 0, b_t <= 0
    a_new = np.where(a_dead, 0.0, np.where(b_dead, np.sqrt(np.maximum(a * a - beta / alpha * b * b, 0)), a_t))
    b_new = np.where(b_dead & ~a_dead, 0.0, np.where(a_dead, np.sqrt(np.maximum(b * b - alpha / beta * a * a, 0)), b_t))
    return a_new, b_new


def numpy_model(n, seed):
    """The hand-written NumPy script: arrays over replications, one step at a time."""
    rng = np.random.default_rng(seed)
    d_a, y_a, d_b = np.full(n, A_DEPLOYED), np.full(n, A_READY), np.full(n, B_DEPLOYED)
    tension, rung = np.full(n, TENSION0), np.full(n, START_RUNG)
    war = np.zeros(n, bool)
    ended = np.zeros(n, bool)
    start_a, start_b = np.zeros(n), np.zeros(n)
    for s in range(STEPS):
        active = ~ended
        impatience = max(0.0, s * DT - PATIENCE) / PATIENCE
        own, threat = 1 + d_a + RHO * y_a, 1 + d_b
        base_security = np.log(own) - np.log(threat)
        moved = np.maximum(np.minimum(np.minimum(y_a, min(DEPLOY_AMOUNT, A_RATE * DT)), A_CAP - d_a), 0)
        esc_factor = W_IMPATIENCE * impatience - W_ESCALATION * (1 + tension)
        invade_esc = INVADE_TENSION + np.maximum(FULL_RUNG - rung, 0)
        u = np.stack([
            W_SECURITY * base_security,
            W_SECURITY * (np.log(own + (1 - RHO) * moved) - np.log(threat)) - W_COST * DEPLOY_COST
            + DEPLOY_TENSION * esc_factor,
            W_SECURITY * base_security - W_COST * EXERCISE_COST + EXERCISE_TENSION * esc_factor,
            W_SECURITY * base_security - W_COST * INVADE_COST + invade_esc * esc_factor
            + W_WAR * (np.log(1 + d_a) - np.log(1 + d_b * B_ADVANTAGE)),
        ], axis=1)
        feasible = np.stack([np.ones(n, bool), moved > 0.5, np.ones(n, bool), (rung < FULL_RUNG) & ~war], axis=1)
        feasible[~active] = [True, False, False, False]
        z = np.where(feasible, LAMBDA * u, -np.inf)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        choice = (rng.random(n)[:, None] >= np.cumsum(p, axis=1)).sum(axis=1).clip(0, 3)
        choice[~active] = 0
        tension = np.maximum(0, tension + np.select([choice == 1, choice == 2, choice == 3],
                                                   [DEPLOY_TENSION, EXERCISE_TENSION, INVADE_TENSION], 0.0))
        deploy = choice == 1
        y_a, d_a = np.where(deploy, y_a - moved, y_a), np.where(deploy, d_a + moved, d_a)
        invade = choice == 3
        start_a, start_b = np.where(invade, d_a, start_a), np.where(invade, d_b, start_b)
        war |= invade
        rung = np.where(invade, FULL_RUNG, rung)
        fight = war & ~ended
        if fight.any():
            a_new, b_new = square_law(d_a[fight], d_b[fight], A_EFF, B_EFF * B_ADVANTAGE, DT)
            d_a[fight], d_b[fight] = a_new, b_new
            collapsed = np.zeros(n, bool)
            collapsed[fight] = (a_new <= COLLAPSE * start_a[fight]) | (b_new <= COLLAPSE * start_b[fight])
            ended |= collapsed
        hazard = BASE + TENSION_RATE * tension + CONTACT_RATE * np.sqrt(d_a * d_b) / 1e5
        incident = active & ~ended & (rng.random(n) < 1 - np.exp(-hazard * DT))
        tension = np.where(incident, tension + JUMP, tension)
        tension = np.where(active, np.maximum(tension * math.exp(-DECAY * DT), 0), tension)
    return war.mean()


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
        base = math.log(own) - math.log(threat)
        moved = max(min(self.y_a, DEPLOY_AMOUNT, A_RATE * DT, A_CAP - self.d_a), 0)
        esc = W_IMPATIENCE * impatience - W_ESCALATION * (1 + self.tension)
        options = [(0, base)]
        if moved > 0.5:
            options.append((1, math.log(own + (1 - RHO) * moved) - math.log(threat) - DEPLOY_COST + DEPLOY_TENSION * esc))
        options.append((2, base - EXERCISE_COST + EXERCISE_TENSION * esc))
        if self.rung < FULL_RUNG and not self.war:
            options.append((3, base - INVADE_COST + (INVADE_TENSION + max(FULL_RUNG - self.rung, 0)) * esc
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
            a, b = square_law(np.array([self.d_a]), np.array([self.d_b]), A_EFF, B_EFF * B_ADVANTAGE, DT)
            self.d_a, self.d_b = float(a[0]), float(b[0])
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
    return sum(run.war for run in runs) / n


def brink_model(n, threads, seed):
    brink = os.environ.get("BRINK", str(ROOT / "build" / "release" / "brink"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "peer.h5"
        subprocess.run([brink, "run", str(HERE / "peer-model.yaml"), "-q", "--summary-only", "-n", str(n),
                        "--threads", str(threads), "--seed", str(seed), "-o", str(out)], check=True)
        import h5py
        with h5py.File(out, "r") as f:
            return float(f["outcome_probability"][0, 3])


def timed(fn, repeats):
    times, result = [], None
    for r in range(repeats):
        start = time.perf_counter()
        result = fn(r)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replications", type=int, default=20000)
    parser.add_argument("--python-replications", type=int, default=1000,
                        help="the plain-Python loop is slow: it runs fewer and is scaled per replication-step")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n, n_py = args.replications, args.python_replications
    rows = [
        ("brink, 1 thread", n, timed(lambda r: brink_model(n, 1, 7 + r), args.repeats)),
        ("brink, 2 threads", n, timed(lambda r: brink_model(n, 2, 7 + r), args.repeats)),
        ("NumPy script", n, timed(lambda r: numpy_model(n, 7 + r), args.repeats)),
        ("Python agent loop", n_py, timed(lambda r: python_model(n_py, 7 + r), args.repeats)),
    ]
    reference = rows[2][1] * STEPS / rows[2][2][0]  # the NumPy script
    print(f"peer model: {STEPS} steps; median of {args.repeats} runs; brink includes process start and file writing")
    print(f"{'implementation':<20} {'replications':>12} {'seconds':>9} {'rep-steps/s':>12} {'ratio to NumPy':>15}"
          f"  P(full war) [95% interval]")
    for name, reps, (seconds, p) in rows:
        rate = reps * STEPS / seconds
        half = 1.96 * math.sqrt(p * (1 - p) / reps)
        print(f"{name:<20} {reps:>12} {seconds:>9.3f} {rate:>12.3g} {rate / reference:>15.2f}"
              f"  {p:.4f} [{p - half:.4f}, {p + half:.4f}]")


if __name__ == "__main__":
    sys.exit(main())
