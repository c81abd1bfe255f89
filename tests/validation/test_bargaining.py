"""Bargaining and war (docs/model.md, "Bargaining and war") through the real
CLI against closed forms: Fearon's (1995) take-it-or-leave-it game with a
uniform private cost, complete information, screening over two rounds, and
attack probabilities from the Lanchester war value. Every case is a set of
--set overrides; the expected values are computed from the same numbers by
the documented formulas, so other parameter sets can be added to the lists.
Monte Carlo checks allow 4.5 standard errors."""

import math
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

BRINK = os.environ.get("BRINK")
SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
Z = 4.5
WAR = 3  # outcome code of full_war
SETTLEMENT = 0


def run(tmp_path, name, settings, replications=20000):
    assert BRINK, "set BRINK to the brink binary"
    out = tmp_path / f"{name}.h5"
    args = [BRINK, "run", str(SOURCE / "scenarios" / "validation" / f"{name}.yaml"), "-q", "-o", str(out),
            "-n", str(replications), "--overwrite"]  # each call replaces the last one's file
    for key, value in settings.items():
        args += ["--set", f"{key}={value}"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return h5py.File(out, "r")


def forecast(a0, b0, e_a, e_b, d_b, law="square", spread=1.0, chi=0.3):
    """p and the expected loss shares of docs/model.md (square law losses only)."""
    alpha, beta = e_a, e_b * d_b
    if not (alpha > 0 or beta > 0):
        alpha = beta = 1.0  # no kill rate at all: by numbers alone
    # A side that cannot kill cannot win: Φ = 0 or ∞ (the limit as its kill rate goes to 0).
    ratio = a0 / b0
    strength = alpha * (ratio ** 2 if law == "square" else ratio)
    phi = math.inf if beta == 0 else strength / beta
    p = 0.0 if strength == 0 else 1.0 / (1.0 + (beta / strength) ** (1.0 / spread))
    win_a = win_b = chi
    if law == "square":
        k2 = phi if phi >= 1 else (math.inf if phi == 0 else 1 / phi)
        share = math.sqrt(max(0.0, 1 - (1 - chi * chi) / k2))
        if phi >= 1:
            win_a = share
        else:
            win_b = share
    loss_a = p * (1 - win_a) + (1 - p) * (1 - chi)
    loss_b = (1 - p) * (1 - win_b) + p * (1 - chi)
    return p, loss_a, loss_b


def fearon(p, c_a, c_lo, c_hi):
    """Optimal demand and P(war) of the take-it-or-leave-it game, c_B ~ U[c_lo, c_hi]."""
    x = min(1.0, max(0.0, p + min(max((c_hi - c_a) / 2, c_lo), c_hi)))
    if c_hi == c_lo:
        return x, 0.0
    return x, min(max((x - p - c_lo) / (c_hi - c_lo), 0.0), 1.0)


# (name, overrides): forces, effectiveness, defence advantage, law, spread and costs.
ULTIMATUM_CASES = [
    ("interior", {}),
    ("interior-strong-proposer", {"actors.PROPOSER.combat.effectiveness": 0.02, "actors.PROPOSER.decision.war_cost": 0.05,
                                  "actors.RECEIVER.decision.war_cost": 0.15, "actors.RECEIVER.decision.war_cost_spread": 0.15}),
    ("whole-stake-corner", {"actors.PROPOSER.combat.effectiveness": 0.02, "actors.PROPOSER.decision.war_cost": 0.0,
                            "actors.RECEIVER.decision.war_cost": 0.5, "actors.RECEIVER.decision.war_cost_spread": 0.4}),
    ("proposer-cost-corner", {"actors.PROPOSER.decision.war_cost": 0.5}),
    ("proposer-cost-just-below-corner", {"actors.PROPOSER.decision.war_cost": 0.3}),
    ("wider-prior", {"actors.RECEIVER.decision.war_cost_spread": 0.25}),
    ("linear-law", {"combat.law": "linear", "actors.PROPOSER.forces.deployed": 12000}),
    ("entrenched-defender-smooth-forecast", {"actors.RECEIVER.combat.defence_advantage": 2.0,
                                             "actors.PROPOSER.forces.deployed": 15000,
                                             "bargaining.forecast_spread": 2.0}),
]

BASE = {"forces_a": 10000, "forces_b": 10000, "e_a": 0.01, "e_b": 0.01, "d_b": 1.0, "law": "square",
        "spread": 1.0, "c_a": 0.1, "c_b": 0.25, "h_b": 0.2}
KEYS = {"actors.PROPOSER.forces.deployed": "forces_a", "actors.RECEIVER.forces.deployed": "forces_b",
        "actors.PROPOSER.combat.effectiveness": "e_a", "actors.RECEIVER.combat.effectiveness": "e_b",
        "actors.RECEIVER.combat.defence_advantage": "d_b", "combat.law": "law", "bargaining.forecast_spread": "spread",
        "actors.PROPOSER.decision.war_cost": "c_a", "actors.RECEIVER.decision.war_cost": "c_b",
        "actors.RECEIVER.decision.war_cost_spread": "h_b"}


def case_values(overrides):
    v = dict(BASE)
    for key, value in overrides.items():
        v[KEYS[key]] = value
    p, _, _ = forecast(v["forces_a"], v["forces_b"], v["e_a"], v["e_b"], v["d_b"], v["law"], v["spread"])
    return p, v["c_a"], v["c_b"] - v["h_b"], v["c_b"] + v["h_b"]


@pytest.mark.parametrize("name,overrides", ULTIMATUM_CASES, ids=[c[0] for c in ULTIMATUM_CASES])
def test_ultimatum_demand_and_war_probability_match_fearon(tmp_path, name, overrides):
    p, c_a, c_lo, c_hi = case_values(overrides)
    x_star, p_war = fearon(p, c_a, c_lo, c_hi)
    with run(tmp_path, "bargaining-ultimatum", overrides) as f:
        outcome = f["outcome_code"][0]
        offer = f["offer"][0]
        receiver = [a.decode() if isinstance(a, bytes) else a for a in f["actor"][()]].index("RECEIVER")
        cost = f["war_cost"][0, :, receiver]
    np.testing.assert_allclose(offer, x_star, rtol=1e-12, atol=1e-12)  # one deterministic optimum
    assert set(outcome) <= {SETTLEMENT, WAR}
    n = len(outcome)
    se = math.sqrt(max(p_war * (1 - p_war), 1e-12) / n)
    assert (outcome == WAR).mean() == pytest.approx(p_war, abs=Z * se)
    # Replication by replication: the receiver fights exactly when its cost is below x* - p.
    margin = cost - (x_star - p)
    clear = np.abs(margin) > 1e-9
    np.testing.assert_array_equal((outcome == WAR)[clear], (margin < 0)[clear])
    # The private cost is uniform on [c_lo, c_hi].
    assert cost.min() >= c_lo - 1e-12 and cost.max() <= c_hi + 1e-12
    assert cost.mean() == pytest.approx((c_lo + c_hi) / 2, abs=Z * (c_hi - c_lo) / math.sqrt(12 * n))


def test_the_corners_are_corners():
    """The parameter sets above do reach the cases they are named for."""
    cases = dict(ULTIMATUM_CASES)
    p, c_a, lo, hi = case_values(cases["whole-stake-corner"])
    assert p + (hi - c_a) / 2 > 1 and fearon(p, c_a, lo, hi)[0] == 1.0
    p, c_a, lo, hi = case_values(cases["proposer-cost-corner"])
    assert c_a > hi and fearon(p, c_a, lo, hi)[1] == pytest.approx(0.0, abs=1e-12)
    p, c_a, lo, hi = case_values(cases["interior"])
    assert lo < (hi - c_a) / 2 < hi and p + (hi - c_a) / 2 < 1


@pytest.mark.parametrize("c_b,e_a", [(0.0, 0.01), (0.2, 0.01), (0.3, 0.03), (0.05, 0.005)])
def test_complete_information_never_fights(tmp_path, c_b, e_a):
    overrides = {"actors.RECEIVER.decision.war_cost": c_b, "actors.RECEIVER.decision.war_cost_spread": 0,
                 "actors.PROPOSER.combat.effectiveness": e_a}
    p, _, _ = forecast(10000, 10000, e_a, 0.01, 1.0)
    with run(tmp_path, "bargaining-ultimatum", overrides, replications=2000) as f:
        assert set(f["outcome_code"][0]) == {SETTLEMENT}
        np.testing.assert_allclose(f["offer"][0], min(1.0, p + c_b), rtol=1e-12)  # the receiver's reservation share
        np.testing.assert_array_equal(f["agreed"][0], 1)


def test_wider_prior_at_the_same_mean_raises_war_with_common_draws(tmp_path):
    shares = []
    for spread in (0.1, 0.2, 0.25):
        with run(tmp_path, "bargaining-ultimatum", {"actors.RECEIVER.decision.war_cost_spread": spread}) as f:
            shares.append((f["outcome_code"][0] == WAR).mean())
    expected = [fearon(0.5, 0.1, 0.25 - h, 0.25 + h)[1] for h in (0.1, 0.2, 0.25)]
    assert expected[0] < expected[1] < expected[2]
    assert shares[0] < shares[1] < shares[2]


def test_rejection_screens_and_the_second_demand_is_lower(tmp_path):
    overrides = {"bargaining.rounds": 2, "bargaining.interval_days": 1}
    p, c_a, lo, hi = case_values({})
    x1, _ = fearon(p, c_a, lo, hi)
    y1 = x1 - p
    x2, _ = fearon(p, c_a, lo, y1)  # the belief after a rejection: U[lo, y1]
    assert x2 < x1
    with run(tmp_path, "bargaining-ultimatum", overrides) as f:
        outcome, offer, end = f["outcome_code"][0], f["offer"][0], f["end_step"][0]
        receiver = [a.decode() if isinstance(a, bytes) else a for a in f["actor"][()]].index("RECEIVER")
        cost = f["war_cost"][0, :, receiver]
    first = (outcome == SETTLEMENT) & (end == 0)
    np.testing.assert_allclose(offer[first], x1, rtol=1e-12)
    np.testing.assert_allclose(offer[~first], x2, rtol=1e-12)
    clear = (np.abs(cost - y1) > 1e-9) & (np.abs(cost - (x2 - p)) > 1e-9)
    np.testing.assert_array_equal(first[clear], (cost >= y1)[clear])
    np.testing.assert_array_equal((outcome == WAR)[clear], (cost < x2 - p)[clear])
    p_war = (x2 - p - lo) / (hi - lo)
    n = len(outcome)
    assert (outcome == WAR).mean() == pytest.approx(p_war, abs=Z * math.sqrt(p_war * (1 - p_war) / n))


def test_rounds_past_the_horizon_are_not_made_and_the_run_says_so(tmp_path):
    """Offer days at or after the last simulated day are not made, so the last rejection's war never
    starts: a lane still rejecting at the end is a standoff. `validate` said ok and `run` said
    nothing (round 37); the run now notes the cut, and only when the horizon cuts the rounds."""
    p, c_a, lo, hi = case_values({})
    x1, _ = fearon(p, c_a, lo, hi)
    for horizon, cut in ((2, True), (3, False)):  # offer days 0 and 2; steps of 1 day
        out = tmp_path / f"h{horizon}.h5"
        proc = subprocess.run([BRINK, "run", str(SOURCE / "scenarios" / "validation" / "bargaining-ultimatum.yaml"),
                               "-o", str(out), "-n", "4096", "--set", "bargaining.rounds=2", "--set",
                               "bargaining.interval_days=2", "--set", f"run.horizon_days={horizon}"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        note = "cuts the offer rounds: 1 of bargaining.rounds 2 fall in it"
        assert (note in proc.stderr) == cut, proc.stderr
        with h5py.File(out, "r") as f:
            outcome, offer = f["outcome_code"][0], f["offer"][0]
        standoff = outcome == 1
        if cut:  # the first offer rejected, no second one and no deadline war: those lanes stand off
            assert standoff.sum() > 100 and np.isclose(offer[standoff], x1).all()
            assert not (outcome == WAR).any()
        else:  # the second round is made, and settles or fights every lane the first did not
            assert not standoff.any() and (~np.isclose(offer[outcome != SETTLEMENT], x1)).all()


# (c_A, c_B, spread h_B, rounds): the costs of war sum below zero at the top of
# the receiver's range, c_A + c_B + h_B < 0, so no demand the receiver might
# accept is worth as much to the proposer as war. The spreads include the tiny
# and the zero one, where the surely refused demand p + c_hi used to be worth
# exactly W_A or a rounding step less.
NO_RANGE_CASES = [(-0.3, 0.1, 0.0, 1), (-0.3, 0.1, 1e-6, 1), (-0.3, 0.1, 0.01, 1), (-0.5, 0.25, 0.2, 1),
                  (-0.3, 0.1, 0.01, 3), (0.1, -0.4, 0.2, 2)]


@pytest.mark.parametrize("c_a,c_b,h_b,rounds", NO_RANGE_CASES)
def test_without_a_bargaining_range_the_proposer_fights_at_once(tmp_path, c_a, c_b, h_b, rounds):
    p, _, _ = forecast(10000, 10000, 0.01, 0.01, 1.0)
    assert min(1.0, p + c_b + h_b) < p - c_a  # Fearon: x0 + c_hi below W_A, no offer beats war
    overrides = {"actors.PROPOSER.decision.war_cost": c_a, "actors.RECEIVER.decision.war_cost": c_b,
                 "actors.RECEIVER.decision.war_cost_spread": h_b, "bargaining.rounds": rounds,
                 "bargaining.interval_days": 1}
    with run(tmp_path, "bargaining-ultimatum", overrides, replications=2000) as f:
        outcome, offer, start = f["outcome_code"][0], f["offer"][0], f["war_start_step"][0]
    np.testing.assert_array_equal(outcome, WAR)
    assert np.isnan(offer).all()  # no demand is made: it would be refused for sure
    np.testing.assert_array_equal(start, 0)  # at the first offer step, not after the last round


DETERRENCE_CASES = [
    {},
    {"actors.DEFENDER.combat.effectiveness": 0.02},
    {"actors.DEFENDER.combat.effectiveness": 0.005},
    {"actors.DEFENDER.combat.defence_advantage": 3.0},
    {"actors.ATTACKER.decision.casualty_cost": 0.0, "actors.ATTACKER.decision.war_cost": 0.3},
    # A side that cannot kill cannot win, whatever its numbers (it was forecast by heads).
    {"actors.DEFENDER.combat.effectiveness": 0.0},
    {"actors.ATTACKER.combat.effectiveness": 0.0},
]


def attack_probability(o):
    e_d = o.get("actors.DEFENDER.combat.effectiveness", 0.01)
    d_d = o.get("actors.DEFENDER.combat.defence_advantage", 1.5)
    cost = o.get("actors.ATTACKER.decision.war_cost", 0.1)
    kappa = o.get("actors.ATTACKER.decision.casualty_cost", 0.2)
    e_a = o.get("actors.ATTACKER.combat.effectiveness", 0.01)
    p, loss_a, _ = forecast(12000, 10000, e_a, e_d, d_d)
    w = p - cost - kappa * loss_a
    return 1 / (1 + math.exp(-4 * w))


@pytest.mark.parametrize("overrides", DETERRENCE_CASES)
def test_attack_probability_follows_the_forecast_war_value(tmp_path, overrides):
    expected = attack_probability(overrides)
    with run(tmp_path, "bargaining-deterrence", overrides) as f:
        war = (f["outcome_code"][0] >= 2).mean()
        n = f["outcome_code"].shape[1]
    assert war == pytest.approx(expected, abs=Z * math.sqrt(expected * (1 - expected) / n))


def test_a_stronger_or_better_entrenched_defender_deters():
    base = attack_probability({})
    assert attack_probability({"actors.DEFENDER.combat.effectiveness": 0.02}) < base
    assert attack_probability({"actors.DEFENDER.combat.defence_advantage": 3.0}) < base
    assert attack_probability({"actors.DEFENDER.combat.effectiveness": 0.005}) > base


# -- Commitment problem (Powell 2006) -------------------------------------------

def square_duration(a0, b0, alpha, beta, chi, horizon):
    """Days until the weaker side falls to chi of its start (docs/model.md), capped at the horizon."""
    phi = alpha * a0 ** 2 / (beta * b0 ** 2)
    k = math.sqrt(max(phi, 1 / phi))
    denominator = math.sqrt(chi * chi + k * k - 1) + chi
    if denominator <= 0:
        return horizon
    return min(math.log((k + 1) / denominator) / math.sqrt(alpha * beta), horizon)


def war_shares(m_b, discount, horizon, e_a=0.01, e_b=0.01, chi=0.3):
    """The declining side's and the rising side's discounted chance of winning the war of two
    forces of 10,000, the rising side's effectiveness times m_b (docs/model.md)."""
    p, _, _ = forecast(10000, 10000, e_a, e_b * m_b, 1.0)
    tau = square_duration(10000, 10000, e_a, e_b * m_b, chi, horizon)
    return discount ** tau * p, discount ** tau * (1 - p)


def commitment_war(growth, c_a=0.02, c_b=0.02, discount=0.9, shift_day=2.0, horizon=1.0, e=0.01, chi=0.3,
                   e_a=None, offer_day=0.0):
    """Powell's condition for the declining proposer under complete information, offering on
    offer_day before the shift."""
    e_a = e if e_a is None else e_a
    won_now, kept_b = war_shares(1.0, discount, horizon, e_a, e, chi)
    won_later, _ = war_shares(min(3.0, 1.0 + growth), discount, horizon, e_a, e, chi)
    # The shift happens at the start of the step that holds its day (dt = 1 day here).
    w = discount ** (math.floor(shift_day + 1e-9) - offer_day)
    # The most the rising side can credibly promise: the whole stake until the shift, then the
    # declining side's war value (Powell 2006; Fearon 1995 on preventive war). It accepts that,
    # foreseeing its gain, whenever war is costly; its own cost c_b does not enter.
    assert (won_now - c_a) + (kept_b - c_b) <= 1, "war is costly in every case tested"
    return won_now - c_a > (1 - w) * 1.0 + w * (won_later - c_a)


def commitment_threshold(**kw):
    lo, hi = 0.0, 2.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if commitment_war(mid, **kw) else (mid, hi)
    return hi


@pytest.mark.parametrize("settings", [
    {},
    {"c_a": 0.05, "c_b": 0.01, "discount": 0.95, "shift_day": 3.0},
    {"c_a": 0.0, "c_b": 0.1, "discount": 0.9, "shift_day": 1.5},
    {"c_a": 0.0, "c_b": 0.0, "discount": 0.99, "shift_day": 1.5},
])
def test_preventive_war_exactly_beyond_the_commitment_threshold(tmp_path, settings):
    threshold = commitment_threshold(**settings)
    assert 0.0 < threshold < 2.0, "the parameter set must have a threshold to test"
    keys = {"c_a": "actors.DECLINING.decision.war_cost", "c_b": "actors.RISING.decision.war_cost",
            "discount": "bargaining.discount", "shift_day": "bargaining.shift_day"}
    base = {keys[k]: v for k, v in settings.items()}
    for growth in (0.5 * threshold, 0.97 * threshold, 1.03 * threshold, 1.5 * threshold, 2.0):
        expected_war = commitment_war(growth, **settings)
        with run(tmp_path, "bargaining-commitment", {**base, "bargaining.shift_growth": growth},
                 replications=256) as f:
            outcome = set(f["outcome_code"][0])
        assert outcome == ({WAR} if expected_war else {SETTLEMENT}), (growth, threshold)


def test_a_preventive_war_is_fought_at_the_balance_it_began_with(tmp_path):
    """DECLINING (effectiveness 0.012) fights at once, before RISING's effectiveness grows by 80% on
    day 5: the war then runs at today's balance, which is what fighting early buys (Powell 2006) and
    what its war value assumed. The square law keeps α(A0² − A²) = β(B0² − B²) with β the balance
    before the shift, and DECLINING wins; fought at the shifted balance, it would lose."""
    settings = {"run.horizon_days": 300, "actors.DECLINING.combat.effectiveness": 0.012,
                "bargaining.shift_growth": 0.8, "bargaining.discount": 0.999, "bargaining.shift_day": 5}
    assert commitment_war(0.8, discount=0.999, shift_day=5, horizon=300, e_a=0.012)
    assert forecast(10000, 10000, 0.012, 0.01 * 1.8, 1.0)[0] < 0.5 < forecast(10000, 10000, 0.012, 0.01, 1.0)[0]
    with run(tmp_path, "bargaining-commitment", settings, replications=256) as f:
        assert set(f["war_start_step"][0]) == {0} and set(f["outcome_code"][0]) == {WAR}
        declining, rising = f["final_forces"][0, :, 0, 0], f["final_forces"][0, :, 1, 0]
    np.testing.assert_allclose(0.012 * (1e8 - declining ** 2), 0.01 * (1e8 - rising ** 2), rtol=1e-9)
    assert np.all(rising <= 0.3 * 10000) and np.all(declining > 0.3 * 10000)


@pytest.mark.parametrize("growth", [1.0, 2.0])
def test_a_shift_in_the_offers_step_has_happened_when_the_offer_is_made(tmp_path, growth):
    """Steps of 2 days, the offer on day 2. A shift on day 3 comes in the offer's step, before the
    offer (as every scheduled event comes at the start of its step): the offer is the complete-
    information demand at the shifted balance and is accepted, with no preventive war to weigh. A
    shift on day 4 is still ahead, and Powell's condition with w = δ^(4 − 2) decides. (The shift in
    the offer's step used to be counted twice, as happened and as still ahead.)"""
    base = {"run.horizon_days": 30, "run.dt_days": 2, "bargaining.first_day": 2, "bargaining.interval_days": 2,
            "bargaining.shift_growth": growth, "bargaining.discount": 0.99}
    with run(tmp_path, "bargaining-commitment", {**base, "bargaining.shift_day": 3}, replications=256) as f:
        assert set(f["outcome_code"][0]) == {SETTLEMENT}
        _, kept_b = war_shares(min(3.0, 1.0 + growth), 0.99, 30)
        np.testing.assert_allclose(f["offer"][0], min(1.0, 1 - kept_b + 0.02), rtol=1e-12)
    expected_war = commitment_war(growth, discount=0.99, shift_day=4, horizon=30, offer_day=2)
    assert expected_war, "the parameter set must make the later shift a preventive war"
    with run(tmp_path, "bargaining-commitment", {**base, "bargaining.shift_day": 4}, replications=256) as f:
        assert set(f["outcome_code"][0]) == {WAR} and set(f["war_start_step"][0]) == {1}


def test_a_faster_shift_in_power_raises_war():
    assert not any(commitment_war(g) for g in (0.05, 0.5, 0.8)) and all(commitment_war(g) for g in (1.0, 1.5, 2.0))


# -- Costly signals (Fearon 1997; Slantchev 2005) ---------------------------------

def discrete_demand(p, c_a, costs, beliefs):
    """The proposer's best reservation share against discrete receiver types (ties: the smaller demand);
    a type believed impossible (belief 0) offers no demand."""
    best = None
    for c in sorted(c for c, b in zip(costs, beliefs) if b > 0):
        x = min(1.0, max(0.0, p + c))
        accept = sum(b for ck, b in zip(costs, beliefs) if ck >= x - p - 1e-12)
        value = accept * x + (1 - accept) * (p - c_a)
        if best is None or value > best[1] + 1e-12:
            best = (x, value)
    return best[0]


@pytest.mark.parametrize("signal_cost,prior,c_res,c_irr,c_a", [
    (0.1, 0.4, 0.05, 0.4, 0.1),    # separating: 0.1 < 0.2, the resolved type's value of the show
    (0.3, 0.4, 0.05, 0.4, 0.1),    # pooling: too costly for either type
    (0.15, 0.25, 0.0, 0.3, 0.05),  # separating
    (0.25, 0.25, 0.0, 0.3, 0.05),  # pooling, the proposer still gambles
    (0.25, 0.7, 0.05, 0.3, 0.1),   # pooling, a likely resolved receiver gets the safe demand
])
def test_costly_signal_separates_types_when_its_cost_condition_holds(tmp_path, signal_cost, prior, c_res, c_irr, c_a):
    shown = 0.2  # the signal's tension, which the resolved type values (escalation weight -1) at tension 0
    separates = signal_cost < shown
    overrides = {"actors.RECEIVER.actions.signal.cost": signal_cost,
                 "actors.RECEIVER.types.resolved.prior": prior, "actors.RECEIVER.types.irresolute.prior": 1 - prior,
                 "actors.RECEIVER.types.resolved.war_cost": c_res, "actors.RECEIVER.types.irresolute.war_cost": c_irr,
                 "actors.PROPOSER.decision.war_cost": c_a}
    p = 0.5
    with run(tmp_path, "bargaining-signals", overrides, replications=4096) as f:
        kinds = f["action_count"][0, :, 1, :]
        signalled = kinds[:, KINDS_EXERCISE] > 0
        types = f["resolve_type"][0, :, 1]
        offer, outcome = f["offer"][0], f["outcome_code"][0]
    resolved = types == 0
    assert resolved.mean() == pytest.approx(prior, abs=Z * math.sqrt(prior * (1 - prior) / len(types)))
    if separates:
        np.testing.assert_array_equal(signalled, resolved)
        np.testing.assert_allclose(offer[resolved], p + c_res, rtol=1e-12)
        np.testing.assert_allclose(offer[~resolved], p + c_irr, rtol=1e-12)
        assert set(outcome) == {SETTLEMENT}  # revealed types: no war
    else:
        assert not signalled.any()
        x = discrete_demand(p, c_a, [c_res, c_irr], [prior, 1 - prior])
        np.testing.assert_allclose(offer, x, rtol=1e-12)
        np.testing.assert_array_equal(outcome == WAR, np.array([c_res, c_irr])[types] < x - p - 1e-12)


KINDS_EXERCISE = 4  # index of `exercise` in the action axis


def discrete_offer(p, c_a, costs, beliefs):
    """x* against discrete types, or None (no offer, war at once) when there is no bargaining range:
    even the reservation share of the costliest type believed possible, min(1, p + c_hi), is worth
    less to the proposer than war, p - c_A (docs/model.md; the rule of the uniform belief, at the
    top of the belief's support)."""
    c_hi = max(c for c, b in zip(costs, beliefs) if b > 0)
    return None if min(1.0, p + c_hi) < p - c_a else discrete_demand(p, c_a, costs, beliefs)


# (prior of `resolved`, c_res, c_irr, c_A) with a pooling signal (cost 0.3): the proposer offers to the
# prior. The first three have no bargaining range (every share p + c_k below W_A = p - c_A): the best
# demand used to be the larger share, worth 0.42, 0.588 and 0.4625 against war's 0.45, 0.6 and 0.5,
# and the resolved type fought after it. The last two have a range, and an offer the resolved type
# refuses.
DISCRETE_CASES = [(0.4, -0.2, -0.1, 0.05), (0.4, 0.0, 0.08, -0.1), (0.25, -0.3, -0.05, 0.0),
                  (0.4, -0.2, 0.0, 0.05), (0.5, 0.0, 0.1, -0.05)]


def signals_settings(prior, c_res, c_irr, c_a, signal_cost=0.3):
    return {"actors.RECEIVER.actions.signal.cost": signal_cost,
            "actors.RECEIVER.types.resolved.prior": prior, "actors.RECEIVER.types.irresolute.prior": 1 - prior,
            "actors.RECEIVER.types.resolved.war_cost": c_res, "actors.RECEIVER.types.irresolute.war_cost": c_irr,
            "actors.PROPOSER.decision.war_cost": c_a}


@pytest.mark.parametrize("prior,c_res,c_irr,c_a", DISCRETE_CASES)
def test_discrete_types_without_a_bargaining_range_fight_at_once_as_the_uniform_belief_does(
        tmp_path, prior, c_res, c_irr, c_a):
    p = 0.5
    x = discrete_offer(p, c_a, [c_res, c_irr], [prior, 1 - prior])
    with run(tmp_path, "bargaining-signals", signals_settings(prior, c_res, c_irr, c_a), replications=2048) as f:
        assert f["action_count"][0, :, 1, KINDS_EXERCISE].sum() == 0, "test setup: the signal must pool"
        types, offer = f["resolve_type"][0, :, 1], f["offer"][0]
        outcome, start = f["outcome_code"][0], f["war_start_step"][0]
    if x is None:
        assert np.isnan(offer).all()  # no demand: it would be worth less than war whoever accepted it
        np.testing.assert_array_equal(outcome, WAR)
        np.testing.assert_array_equal(start, 1)  # at the offer step (first_day 1)
    else:
        assert max(p + c_res, p + c_irr) >= p - c_a
        np.testing.assert_allclose(offer, x, rtol=1e-12)
        np.testing.assert_array_equal(outcome == WAR, np.array([c_res, c_irr])[types] < x - p - 1e-12)
        assert 0 < (outcome == WAR).mean() < 1


def test_the_discrete_cases_are_what_they_are_named():
    """The first three have no bargaining range, and the demand the old rule picked beat no war."""
    for prior, c_res, c_irr, c_a in DISCRETE_CASES[:3]:
        assert discrete_offer(0.5, c_a, [c_res, c_irr], [prior, 1 - prior]) is None
        x = 0.5 + max(c_res, c_irr)
        assert (1 - prior) * x + prior * (0.5 - c_a) < 0.5 - c_a
    for prior, c_res, c_irr, c_a in DISCRETE_CASES[3:]:
        assert discrete_offer(0.5, c_a, [c_res, c_irr], [prior, 1 - prior]) is not None


@pytest.mark.parametrize("ghost_cost", [0.6, -0.5])
@pytest.mark.parametrize("case", [DISCRETE_CASES[0], DISCRETE_CASES[3], (0.4, 0.05, 0.4, 0.1)],
                         ids=["no-range", "offer", "pooled-gamble"])
def test_a_type_with_prior_zero_changes_nothing(tmp_path, case, ghost_cost):
    """Bayesian consistency: a type the proposer believes impossible must not change its demand. A
    costly one was a sure-refusal option worth exactly W_A, and it won where no demand beat war: the
    proposer demanded the whole stake and fought after the refusal instead of at once."""
    settings = signals_settings(*case)
    body = (SOURCE / "scenarios" / "validation" / "bargaining-signals.yaml").read_text(encoding="utf-8")
    line = "      irresolute: {prior: 0.6, war_cost: 0.4}\n"
    assert line in body, "test setup: the signals scenario changed"
    ghost = tmp_path / "ghost.yaml"
    ghost.write_text(body.replace(line, line + f"      ghost: {{prior: 0, war_cost: {ghost_cost}}}\n"))
    (tmp_path / "plain").mkdir()
    with run(tmp_path / "plain", "bargaining-signals", settings, replications=2048) as f:
        plain = {key: f[key][0] for key in ("offer", "outcome_code", "war_start_step", "end_step")}
        plain["resolve_type"] = f["resolve_type"][0, :, 1]
    args = [BRINK, "run", str(ghost), "-q", "-o", str(tmp_path / "ghost.h5"), "-n", "2048"]
    for key, value in settings.items():
        args += ["--set", f"{key}={value}"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(tmp_path / "ghost.h5", "r") as f:
        np.testing.assert_array_equal(f["resolve_type"][0, :, 1], plain["resolve_type"])
        for key in ("offer", "outcome_code", "war_start_step", "end_step"):
            np.testing.assert_array_equal(f[key][0], plain[key], err_msg=key)


THREE_TYPES = """brink: 1
name: three-types
run: {{horizon_days: {rounds}, dt_days: 1, replications: 4096, seed: 29}}
actors:
  PROPOSER:
    forces: {{deployed: 10000}}
    combat: {{effectiveness: 0.01}}
    decision: {{war_cost: {c_a}}}
  RECEIVER:
    forces: {{deployed: 10000}}
    combat: {{effectiveness: 0.01}}
    types:
{types}
relations:
  adversaries: [[PROPOSER, RECEIVER]]
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
      positions: {{PROPOSER: 1, RECEIVER: 0}}
      salience: {{PROPOSER: 0.5, RECEIVER: 0.5}}
bargaining: {{proposer: PROPOSER, receiver: RECEIVER, first_day: 0, rounds: {rounds}}}
"""


def public_posterior(p, c_a, costs, prior, k, rounds):
    """Bayes' rule under best responses for a receiver of type k: each round's
    demand (discrete_offer) is accepted by the types with c >= x - p; the
    public belief keeps the types that gave k's answer, renormalized."""
    belief = np.array(prior, dtype=float)
    for _ in range(rounds):
        x = discrete_offer(p, c_a, costs, list(belief))
        if x is None:
            break
        accepts = np.array([c >= x - p - 1e-9 for c in costs])
        kept = belief * (accepts == accepts[k])
        belief = kept / kept.sum()
        if accepts[k]:
            break
    return belief


# (type war costs, priors, c_A, rounds): separating demands one type at a
# time, and a first demand two types accept together (0.9, worth 0.8 against
# the 0.55 every type accepts).
ANSWER_CASES = [([0.05, 0.2, 0.5], [0.25, 0.35, 0.4], 0.1, 3), ([0.05, 0.4, 0.5], [0.2, 0.3, 0.5], 0.1, 2),
                ([0.05, 0.4, 0.5], [0.2, 0.3, 0.5], 0.1, 1)]


@pytest.mark.parametrize("costs,prior,c_a,rounds", ANSWER_CASES)
def test_an_acceptance_teaches_as_a_rejection_does(tmp_path, costs, prior, c_a, rounds):
    """The receiver's answer is public either way: an acceptance rules out the
    types that would have refused, as a rejection rules out those that would
    have accepted. Its final public belief is Bayes' posterior given its answers."""
    types = "\n".join(f"      t{k}: {{prior: {b}, war_cost: {c}}}" for k, (c, b) in enumerate(zip(costs, prior)))
    scenario = tmp_path / "three-types.yaml"
    scenario.write_text(THREE_TYPES.format(rounds=rounds, c_a=c_a, types=types))
    out = tmp_path / "three-types.h5"
    proc = subprocess.run([BRINK, "run", str(scenario), "-q", "-o", str(out)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        drawn = f["resolve_type"][0, :, 1]
        belief = f["final_belief"][0, :, 1, :len(costs)]
        outcome = f["outcome_code"][0]
    assert (outcome == SETTLEMENT).any(), "the case must have acceptances"
    for k in range(len(costs)):
        np.testing.assert_allclose(belief[drawn == k], np.tile(public_posterior(0.5, c_a, costs, prior, k, rounds),
                                                               ((drawn == k).sum(), 1)), atol=1e-6, err_msg=f"t{k}")


def test_costlier_war_lowers_war_with_common_draws(tmp_path):
    shares = []
    for c_a in (0.0, 0.1, 0.25):
        with run(tmp_path, "bargaining-ultimatum", {"actors.PROPOSER.decision.war_cost": c_a}) as f:
            shares.append((f["outcome_code"][0] == WAR).mean())
    expected = [fearon(0.5, c_a, 0.05, 0.45)[1] for c_a in (0.0, 0.1, 0.25)]
    assert expected[0] > expected[1] > expected[2]
    assert shares[0] > shares[1] > shares[2]


# -- Revealed types (run.information: revealed) ------------------------------------

@pytest.mark.parametrize("name,overrides", [c for c in ULTIMATUM_CASES if c[0] != "proposer-cost-corner"],
                         ids=[c[0] for c in ULTIMATUM_CASES if c[0] != "proposer-cost-corner"])
def test_revealing_the_private_cost_lowers_war_to_the_complete_information_value(tmp_path, name, overrides):
    """Same seed, same draws: with the cost revealed the proposer demands each
    receiver's reservation share p + c_B (capped at the stake) and no one fights,
    where with private costs Fearon's P(war) > 0."""
    p, c_a, c_lo, c_hi = case_values(overrides)
    _, p_war = fearon(p, c_a, c_lo, c_hi)
    assert p_war > 0.01, "the case must have war under private information"
    receiver = 1
    with run(tmp_path, "bargaining-ultimatum", overrides) as f:
        private_war = (f["outcome_code"][0] == WAR).mean()
        private_cost = f["war_cost"][0, :, receiver]
    (tmp_path / "revealed").mkdir()
    with run(tmp_path / "revealed", "bargaining-ultimatum", {**overrides, "run.information": "revealed"}) as f:
        outcome, offer, cost = f["outcome_code"][0], f["offer"][0], f["war_cost"][0, :, receiver]
        assert [a.decode() if isinstance(a, bytes) else a for a in f["actor"][()]][receiver] == "RECEIVER"
    np.testing.assert_array_equal(cost, private_cost)  # common random numbers: the same private draws
    assert private_war == pytest.approx(p_war, abs=Z * math.sqrt(p_war * (1 - p_war) / len(outcome)))
    assert set(outcome) == {SETTLEMENT}
    np.testing.assert_allclose(offer, np.minimum(1.0, p + cost), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("signal_cost,prior", [(0.3, 0.4), (0.25, 0.25), (0.1, 0.4)])
def test_revealed_types_get_their_reservation_share_and_beliefs_stay_on_the_truth(tmp_path, signal_cost, prior):
    """Discrete types: the pooling cases fight under private information; revealed,
    every type is offered p + c_k, no one fights, and the public belief is the
    true type from the first step to the last (no Bayesian update moves it)."""
    overrides = {"actors.RECEIVER.actions.signal.cost": signal_cost,
                 "actors.RECEIVER.types.resolved.prior": prior, "actors.RECEIVER.types.irresolute.prior": 1 - prior}
    with run(tmp_path, "bargaining-signals", overrides, replications=4096) as f:
        private_types, private_outcome = f["resolve_type"][0, :, 1], f["outcome_code"][0]
    (tmp_path / "revealed").mkdir()
    with run(tmp_path / "revealed", "bargaining-signals", {**overrides, "run.information": "revealed"},
             replications=4096) as f:
        types, offer, outcome = f["resolve_type"][0, :, 1], f["offer"][0], f["outcome_code"][0]
        belief = f["final_belief"][0, :, 1, :2]
        mean_belief = f["mean_belief"][0, :, 1, :2]
    np.testing.assert_array_equal(types, private_types)
    if signal_cost >= 0.2:  # pooling: the proposer gambles on the prior and the resolved type fights
        assert (private_outcome == WAR).mean() == pytest.approx(prior, abs=Z * math.sqrt(prior * (1 - prior) / 4096))
    assert set(outcome) == {SETTLEMENT}
    np.testing.assert_allclose(offer, np.where(types == 0, 0.5 + 0.05, 0.5 + 0.4), rtol=1e-12)
    np.testing.assert_array_equal(belief, np.eye(2)[types])
    share = (types == 0).mean()
    np.testing.assert_allclose(mean_belief, np.tile([share, 1 - share], (mean_belief.shape[0], 1)), rtol=1e-5)


# -- The flagship with war values from the forecast ----------------------------

def flagship_war(tmp_path, settings, replications=8000):
    out = tmp_path / f"flagship-{len(list(tmp_path.iterdir()))}.h5"
    args = [BRINK, "run", str(SOURCE / "scenarios" / "jan-2022-standoff.yaml"), "-q", "-o", str(out),
            "-n", str(replications)]
    for key, value in settings.items():
        args += ["--set", f"{key}={value}"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        return np.isin(f["outcome_code"][0], (3, 4)).astype(float)  # full_war, alliance_war


def paired_shift(a, b):
    """Mean of b - a and its standard error (common random numbers: the same draws per replication)."""
    d = b - a
    return d.mean(), d.std(ddof=1) / math.sqrt(len(d))


def test_flagship_a_more_effective_defender_and_a_costlier_war_deter(tmp_path):
    """Russia's attacks use the combat forecast (war_forecast): Ukraine's effectiveness,
    its defence advantage and Russia's war cost now move P(full-scale war), on common draws."""
    base = flagship_war(tmp_path, {})
    for settings in ({"actors.UKR.combat.effectiveness": 0.016}, {"actors.UKR.combat.defence_advantage": 3.0},
                     {"actors.RUS.decision.war_cost": 0.99}):
        shift, se = paired_shift(base, flagship_war(tmp_path, settings))
        assert shift < -Z * se, (settings, shift, se)
    shift, se = paired_shift(base, flagship_war(tmp_path, {"actors.UKR.combat.effectiveness": 0.004}))
    assert shift > Z * se, (shift, se)


# -- Inputs the game cannot honour ----------------------------------------------

def refusal(tmp_path, name, *settings):
    args = [BRINK, "run", str(SOURCE / "scenarios" / "validation" / f"{name}.yaml"), "-q", "-n", "64",
            "-o", str(tmp_path / "r.h5"), "--overwrite"]
    for setting in settings:
        args += ["--set", setting]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def test_a_cost_spread_beside_type_war_costs_is_refused(tmp_path):
    """Offers to a receiver whose types carry war costs are made to the types; a spread of its cost
    on top was silently ignored by the offer, so a type offered its reservation share still fought."""
    proc = refusal(tmp_path, "bargaining-signals", "actors.RECEIVER.decision.war_cost_spread=0.1")
    assert proc.returncode == 2 and "'actors.RECEIVER.decision.war_cost_spread' is 0.1, but the types of " \
        "'RECEIVER', the bargaining receiver, carry war costs" in proc.stderr, proc.stderr


# -- A single declared type (known to all) ------------------------------------------

def run_file(tmp_path, name, scenario, settings=(), replications=20000):
    """Runs a scenario written here (a dict) with --set overrides."""
    import yaml

    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    out = tmp_path / f"{name}.h5"
    args = [BRINK, "run", str(path), "-q", "-o", str(out), "-n", str(replications), "--overwrite"]
    for setting in settings:
        args += ["--set", setting]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return h5py.File(out, "r")


@pytest.mark.parametrize("type_cost,spread", [(-0.2, 0.0), (-0.2, 0.15), (0.2, 0.0), (0.15, 0.1)])
def test_a_single_types_war_cost_is_part_of_the_public_prior(tmp_path, type_cost, spread):
    """A receiver with one declared type has no private type: its type, and the war cost that
    type adds, are known to all, so the prior about its cost is U[c + Δc - h, c + Δc + h]. The
    proposer used to leave Δc out (offering 0.7 where complete information gives 0.5, and
    fighting in every replication). Offers and war follow Fearon at the shifted mean; with the
    cost revealed, war comes exactly where there is no bargaining range."""
    import yaml

    scenario = yaml.safe_load((SOURCE / "scenarios" / "validation" / "bargaining-ultimatum.yaml").read_text())
    receiver = scenario["actors"]["RECEIVER"]
    receiver["decision"] = {"war_cost": 0.2, "war_cost_spread": spread}
    receiver["types"] = {"only": {"prior": 1.0, "war_cost": type_cost}}
    p, c_a, _, _ = case_values({})
    mean = 0.2 + type_cost
    x_star, p_war = fearon(p, c_a, mean - spread, mean + spread)
    with run_file(tmp_path, "one-type", scenario) as f:
        outcome, offer, cost = f["outcome_code"][0], f["offer"][0], f["war_cost"][0, :, 1]
    assert cost.min() >= mean - spread - 1e-12 and cost.max() <= mean + spread + 1e-12
    np.testing.assert_allclose(offer, x_star, rtol=1e-12, atol=1e-12)
    se = math.sqrt(max(p_war * (1 - p_war), 1e-12) / len(outcome))
    assert (outcome == WAR).mean() == pytest.approx(p_war, abs=Z * se)
    with run_file(tmp_path, "one-type-revealed", scenario, ["run.information=revealed"]) as f:
        outcome, offer, cost = f["outcome_code"][0], f["offer"][0], f["war_cost"][0, :, 1]
    # Complete information: war exactly where there is no bargaining range, c_A + c_B < 0.
    no_range = c_a + cost < 0
    np.testing.assert_array_equal(outcome, np.where(no_range, WAR, SETTLEMENT))
    np.testing.assert_allclose(offer[~no_range], np.minimum(1.0, p + cost[~no_range]), rtol=1e-12, atol=1e-12)
