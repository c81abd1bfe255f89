"""The receiver's noisy acceptance (bargaining.acceptance_noise, docs/model.md
"Acceptance" and "Screening") through the real CLI: the proposer anticipates
the logit noise, so as the noise vanishes the demand and its chance of refusal
tend to the best response's (an outside review found P(war) jump from 0 to 1/2
at the smallest noise under complete information); the offer is the argmax of
the proposer's expected value, found here independently with scipy; and noisy
answers screen discrete types by Bayes' rule, so the public belief stays a
martingale and never rules out the receiver's true type. Monte Carlo checks
allow 4.5 standard errors."""

import math
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import expit, log_expit

BRINK = os.environ.get("BRINK")
SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
ULTIMATUM = SOURCE / "scenarios" / "validation" / "bargaining-ultimatum.yaml"
Z = 4.5
P = 0.5  # the ultimatum scenario's war forecast: equal forces and kill rates, so p = 1/2
C_A = 0.1  # the proposer's war cost there; x0 = p, W_A = p - c_A


def run(scenario, tmp_path, settings, replications=20000, name="out"):
    assert BRINK, "set BRINK to the brink binary"
    out = tmp_path / f"{name}.h5"
    args = [BRINK, "run", str(scenario), "-q", "-o", str(out), "-n", str(replications), "--threads", "1"]
    for key, value in settings.items():
        args += ["--set", f"{key}={value}"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return h5py.File(out, "r")


def softplus(z):
    return np.logaddexp(0.0, z)


def acceptance(x, nu, low, high):
    """P(accept x) over c_B ~ U[low, high] (a point when low == high): the logistic integrated in closed form."""
    if high == low:
        return float(expit((P + low - x) / nu))
    return float(nu * (softplus((P + high - x) / nu) - softplus((P + low - x) / nu)) / (high - low))


def best_demand(nu, low, high):
    """argmax of W_A + P(x)(x - W_A) over [W_A, 1], by scipy's bounded search on the log of the
    objective (concave: P is log-concave), refined around the reservation shares."""
    w_a = P - C_A

    def minus_log_value(x):
        if high == low:
            log_p = float(log_expit((P + low - x) / nu))
        else:
            log_p = math.log(max(acceptance(x, nu, low, high), 1e-300))
        return -(log_p + math.log(max(x - w_a, 1e-300)))

    result = minimize_scalar(minus_log_value, bounds=(w_a + 1e-12, 1.0), method="bounded",
                             options={"xatol": 1e-13, "maxiter": 2000})
    return result.x


def outcome_war(f):
    return (f["war_start_step"][0] >= 0).mean()


@pytest.mark.parametrize("nu", [1e-9, 1e-6, 1e-3, 0.05])
def test_refusals_vanish_with_the_noise_under_complete_information(tmp_path, nu):
    """A known cost (spread 0): the blind proposer demanded the reservation share P + c_B and was
    refused half the time at any noise; the anticipating one shades its demand, refused with
    probability about nu / (x0 + c_B - W_A), tending to the best response's 0."""
    c_b = 0.25
    with run(ULTIMATUM, tmp_path, {"actors.RECEIVER.decision.war_cost_spread": 0,
                                   "bargaining.acceptance_noise": nu}) as f:
        offers = f["offer"][0]
        war = outcome_war(f)
        n = offers.size
    x = best_demand(nu, c_b, c_b)
    assert np.allclose(offers, x, rtol=0, atol=1e-7 + 1e-3 * nu), (offers[:3], x)
    refuse = 1.0 - acceptance(x, nu, c_b, c_b)
    assert refuse < 0.5 * 2 * nu / (P + c_b - (P - C_A)) * max(1.0, math.log(1 / nu)) + 1e-12
    se = math.sqrt(max(refuse * (1 - refuse), 1e-4) / n)
    assert abs(war - refuse) < Z * se, (war, refuse)
    if nu <= 1e-3:
        assert war < 0.05, war  # the blind proposer's 0.5


@pytest.mark.parametrize("nu, spread", [(1e-6, 0.2), (0.01, 0.2), (0.1, 0.2), (0.05, 0.05)])
def test_the_offer_under_a_uniform_belief_maximizes_the_expected_value(tmp_path, nu, spread):
    """c_B ~ U[0.25 - s, 0.25 + s], one round: the offer is the argmax of W_A + P(x)(x - W_A) with
    P the logistic integrated over the belief, and wars come at 1 - P(offer). At a tiny noise
    both are Fearon's best-response values (x* = p + (c_hi - c_A)/2, P(war) its closed form)."""
    low, high = 0.25 - spread, 0.25 + spread
    with run(ULTIMATUM, tmp_path, {"actors.RECEIVER.decision.war_cost_spread": spread,
                                   "bargaining.acceptance_noise": nu}) as f:
        offers = f["offer"][0]
        war = outcome_war(f)
        n = offers.size
    x = best_demand(nu, low, high)
    assert np.allclose(offers, x, rtol=0, atol=1e-7), (offers[:3], x)
    refuse = 1.0 - acceptance(x, nu, low, high)
    assert abs(war - refuse) < Z * math.sqrt(refuse * (1 - refuse) / n), (war, refuse)
    if nu <= 1e-6:
        fearon_x = P + min(max((high - C_A) / 2, low), high)
        fearon_war = (fearon_x - P - low) / (high - low)
        assert abs(x - fearon_x) < 1e-4
        assert abs(war - fearon_war) < Z * math.sqrt(fearon_war * (1 - fearon_war) / n)


SCREEN = """brink: 1
name: noisy-screening
run: {horizon_days: 10, dt_days: 1, replications: 20000, seed: 5}
actors:
  P:
    forces: {deployed: 10000}
    combat: {effectiveness: 0.01}
    decision: {war_cost: 0.1}
  Q:
    forces: {deployed: 10000}
    combat: {effectiveness: 0.01}
    types:
      tough: {prior: 0.3, war_cost: 0.0}
      mid:   {prior: 0.4, war_cost: 0.2}
      soft:  {prior: 0.3, war_cost: 0.45}
relations:
  adversaries: [[P, Q]]
escalation:
  rungs: [calm, tense, limited, full, wider]
  initial_rung: tense
  limited_war: limited
  full_war: full
  alliance_war: wider
negotiation:
  issues:
    stake:
      core: true
      positions: {P: 1, Q: 0}
      salience: {P: 0.5, Q: 0.5}
bargaining:
  proposer: P
  receiver: Q
  first_day: 1
  rounds: 3
  interval_days: 2
"""


@pytest.mark.parametrize("nu", [0.05, 0.2])
def test_noisy_answers_screen_types_by_bayes_rule(tmp_path, nu):
    """Three receiver types over three noisy rounds: the public belief after the answers is a
    martingale (its mean over replications is the prior), and no replication's belief rules out
    its true type (under the best-response update 21-35% of them did, and the mean belief in the
    toughest type rose from 0.30 to 0.50)."""
    scenario = tmp_path / "screen.yaml"
    scenario.write_text(SCREEN, encoding="utf-8")
    prior = np.array([0.3, 0.4, 0.3])
    with run(scenario, tmp_path, {"bargaining.acceptance_noise": nu}) as f:
        belief = f["final_belief"][0, :, 1, :3].astype(float)
        true_type = f["resolve_type"][0, :, 1]
        offers = f["offer"][0]
    n = belief.shape[0]
    assert np.isfinite(offers).all()
    se = belief.std(axis=0) / math.sqrt(n)
    assert (np.abs(belief.mean(axis=0) - prior) < Z * se + 1e-6).all(), (belief.mean(axis=0), prior)
    assert (belief[np.arange(n), true_type] > 0).all()
    # The answers teach: the belief in the true type rises on average.
    assert belief[np.arange(n), true_type].mean() > prior[true_type].mean() + 0.01


def test_a_uniform_cost_belief_gets_one_noisy_round_only(tmp_path):
    """After a noisy refusal the belief about a uniformly spread cost is not uniform; brink refuses
    later rounds there, naming the rule's keys, rather than truncate the belief below the true cost."""
    assert BRINK
    out = tmp_path / "r.h5"
    proc = subprocess.run([BRINK, "run", str(ULTIMATUM), "-q", "-n", "100", "-o", str(out),
                           "--set", "bargaining.rounds=2", "--set", "run.horizon_days=5",
                           "--set", "bargaining.acceptance_noise=0.01"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "'bargaining.rounds' is 2" in proc.stderr and "war_cost_spread" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not out.exists()
    # Known costs (revealed) and typed costs are fine at any noise.
    ok = subprocess.run([BRINK, "run", str(ULTIMATUM), "-q", "-n", "100", "-o", str(out),
                         "--set", "bargaining.rounds=2", "--set", "run.horizon_days=5", "--set", "run.information=revealed",
                         "--set", "bargaining.acceptance_noise=0.01"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
