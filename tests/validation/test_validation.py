"""Validation scenarios (scenarios/validation/) run through the real CLI and
compared with analytic results. Deterministic cases get tolerances near
rounding; Monte Carlo cases get 4.5 standard errors of the estimate (a false
alarm rate below 1e-5 per comparison), never a tolerance picked to pass."""

import math
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

BRINK = os.environ.get("BRINK")
SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
Z = 4.5  # standard errors allowed for Monte Carlo estimates


def simulate(tmp_path, name, *extra):
    assert BRINK, "set BRINK to the brink binary"
    out = tmp_path / (name.replace("/", "_") + ".h5")
    scenario = SOURCE / "scenarios" / "validation" / (name + ".yaml")
    proc = subprocess.run([BRINK, "run", str(scenario), "-q", "-o", str(out), *map(str, extra)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return h5py.File(out, "r")


def actor_index(f, name):
    names = [a.decode() if isinstance(a, bytes) else a for a in f["actor"][()]]
    return names.index(name)


# -- Richardson ---------------------------------------------------------------

def test_richardson_stable_reaches_the_analytic_equilibrium(tmp_path):
    ka, aa, ga = 0.02, 0.05, 340.0
    kb, ab, gb = 0.03, 0.04, 20.0
    assert aa * ab > ka * kb
    det = aa * ab - ka * kb
    a_star = (ab * ga + ka * gb) / det
    b_star = (aa * gb + kb * ga) / det
    with simulate(tmp_path, "richardson-stable") as f:
        deployed = f["final_forces"][0, :, :, 0]
        # Slowest mode decays as 0.99 per step over 3000 steps: e^-30 of the start gap.
        np.testing.assert_allclose(deployed[:, 0], a_star, rtol=1e-9)
        np.testing.assert_allclose(deployed[:, 1], b_star, rtol=1e-9)


def test_richardson_unstable_diverges_at_the_dominant_eigenvalue(tmp_path):
    ka, aa, kb, ab = 0.06, 0.02, 0.05, 0.03
    assert aa * ab < ka * kb
    # Euler steps of dt = 1 multiply the dominant mode by 1 + lambda_max per day.
    jacobian = np.array([[-aa, ka], [kb, -ab]])
    growth = 1 + max(np.linalg.eigvals(jacobian).real)
    with simulate(tmp_path, "richardson-unstable") as f:
        troops = f["troops"][0, 0, :, :, 0].astype(float)  # replication 0: step, actor
        total = troops.sum(axis=1)
        growing = np.diff(total)
        bound = np.argmax(growing == 0)  # first record after both ready pools ran dry
        assert bound > 0 and np.all(growing[:bound] > 0) and np.all(growing[bound:] == 0), \
            "an unstable race grows monotonically until capacity binds, then stays there"
        # Records are 10 steps apart; far from the bound successive differences
        # (which cancel the constant fixed-point offset) grow by growth^10.
        ratio = (total[16] - total[15]) / (total[15] - total[14])
        assert ratio == pytest.approx(growth ** 10, rel=1e-3)
        final = f["final_forces"][0, :, :, 0]
        np.testing.assert_allclose(final, 1000 + 2.0e6, rtol=1e-9)  # every ready troop deployed


# -- Lanchester ---------------------------------------------------------------

def square_law(a, b, alpha, beta, t):
    """Closed form of dA/dt = -beta·B, dB/dt = -alpha·A with annihilation."""
    g = math.sqrt(alpha * beta)
    a_t = a * math.cosh(g * t) - math.sqrt(beta / alpha) * b * math.sinh(g * t)
    b_t = b * math.cosh(g * t) - math.sqrt(alpha / beta) * a * math.sinh(g * t)
    if a_t <= 0:
        return 0.0, math.sqrt(b * b - alpha / beta * a * a)
    if b_t <= 0:
        return math.sqrt(a * a - beta / alpha * b * b), 0.0
    return a_t, b_t


def test_lanchester_square_winner_and_survivors(tmp_path):
    alpha, beta = 0.01, 0.008 * 1.5
    red0, blue0 = 100000.0, 70000.0
    assert alpha * red0 ** 2 > beta * blue0 ** 2  # Red wins
    survivors = math.sqrt(red0 ** 2 - beta / alpha * blue0 ** 2)
    with simulate(tmp_path, "lanchester-square") as f:
        red, blue = actor_index(f, "RED"), actor_index(f, "BLUE")
        final = f["final_forces"][0, :, :, 0]
        np.testing.assert_allclose(final[:, red], survivors, rtol=1e-9)
        np.testing.assert_array_equal(final[:, blue], 0.0)
        np.testing.assert_allclose(f["casualties"][0, :, red], red0 - survivors, rtol=1e-9)
        np.testing.assert_allclose(f["casualties"][0, :, blue], blue0, rtol=1e-12)
        assert set(f["outcome_code"][0]) == {3}  # full_war
        assert set(f["war_start_step"][0]) == {0}


def test_lanchester_square_with_reinforcements_restarts_the_closed_form(tmp_path):
    alpha, beta = 0.01, 0.008 * 1.5
    red, blue = square_law(100000.0, 70000.0, alpha, beta, 20.0)  # days 0-19
    blue += 40000.0                                                 # day 20, before fighting
    red_end, blue_end = square_law(red, blue, alpha, beta, 1000.0)
    assert red_end == 0.0 and blue_end > 0, "the reinforcement turns the battle"
    with simulate(tmp_path, "lanchester-reinforced") as f:
        r, b = actor_index(f, "RED"), actor_index(f, "BLUE")
        final = f["final_forces"][0, :, :, 0]
        np.testing.assert_array_equal(final[:, r], 0.0)
        np.testing.assert_allclose(final[:, b], blue_end, rtol=1e-9)
        np.testing.assert_allclose(f["troops_added"][0, :, b], 40000.0)


def test_lanchester_linear_invariant_and_closed_form(tmp_path):
    alpha, beta = 2.0e-7, 3.0e-7
    red0, blue0, t = 50000.0, 40000.0, 3000.0
    c = alpha * red0 - beta * blue0
    red_t = c * red0 / (-alpha * red0 * math.expm1(-c * t) + c * math.exp(-c * t))
    blue_t = (alpha * red_t - c) / beta
    with simulate(tmp_path, "lanchester-linear") as f:
        r, b = actor_index(f, "RED"), actor_index(f, "BLUE")
        final = f["final_forces"][0, :, :, 0]
        np.testing.assert_allclose(final[:, r], red_t, rtol=1e-8)
        np.testing.assert_allclose(final[:, b], blue_t, rtol=1e-8)
        np.testing.assert_allclose(alpha * final[:, r] - beta * final[:, b], c, atol=1e-12)
        assert blue_t > (beta * blue0 - alpha * red0) / beta  # approaching Blue's limit from above


# -- Logit choice --------------------------------------------------------------

KINDS = ["hold", "mobilize", "deploy", "withdraw", "exercise", "raise_readiness", "propose",
         "concede", "sanction", "arm_partner", "evacuate", "attack", "retaliate"]


def test_logit_choice_frequencies_match_softmax(tmp_path):
    lam = 1.5
    # menu: hold (0), exercise (0.5), evacuate (1.0), signal = exercise kind (2.0)
    costs = {"hold": [0.0], "exercise": [0.5, 2.0], "evacuate": [1.0]}
    z = sum(math.exp(-lam * c) for cs in costs.values() for c in cs)
    with simulate(tmp_path, "logit-choice") as f:
        counts = f["action_count"][0, :, actor_index(f, "CHOOSER"), :].sum(axis=0)
        n = counts.sum()
        assert n == 2000 * 50
        for kind, cs in costs.items():
            p = sum(math.exp(-lam * c) for c in cs) / z
            se = math.sqrt(p * (1 - p) / n)
            assert counts[KINDS.index(kind)] / n == pytest.approx(p, abs=Z * se), kind


def test_logit_large_lambda_is_best_response(tmp_path):
    # 1e6 is the largest rationality a scenario accepts; exp(-1e6 · 0.5) is exactly 0.
    with simulate(tmp_path, "logit-choice", "--set", "actors.CHOOSER.decision.rationality=1e6") as f:
        counts = f["action_count"][0, :, actor_index(f, "CHOOSER"), :].sum(axis=0)
        assert counts[KINDS.index("hold")] == counts.sum() == 2000 * 50


def test_logit_lambda_zero_is_uniform(tmp_path):
    with simulate(tmp_path, "logit-choice", "--set", "actors.CHOOSER.decision.rationality=0") as f:
        counts = f["action_count"][0, :, actor_index(f, "CHOOSER"), :].sum(axis=0)
        n = counts.sum()
        for kind, entries in {"hold": 1, "exercise": 2, "evacuate": 1}.items():
            p = entries / 4
            assert counts[KINDS.index(kind)] / n == pytest.approx(p, abs=Z * math.sqrt(p * (1 - p) / n)), kind


# -- Bayesian updating ----------------------------------------------------------

def type_policy(cost_weight, lam=1.0):
    costs = {"hold": 0.0, "exercise": 0.02, "evacuate": 1.0}  # hold, cheap talk, costly signal
    weights = {k: math.exp(-lam * cost_weight * c) for k, c in costs.items()}
    z = sum(weights.values())
    return {k: w / z for k, w in weights.items()}


def test_posterior_after_observed_signals_matches_bayes_rule(tmp_path):
    strong, weak = type_policy(0.5), type_policy(2.0)
    prior_odds = 0.3 / 0.7
    with simulate(tmp_path, "bayes-signals") as f:
        s = actor_index(f, "SENDER")
        counts = f["action_count"][0, :, s, :]
        log_odds = np.full(counts.shape[0], math.log(prior_odds))
        for kind in ("hold", "exercise", "evacuate"):
            log_odds += counts[:, KINDS.index(kind)] * math.log(strong[kind] / weak[kind])
        expected = 1 / (1 + np.exp(-log_odds))
        belief = f["final_belief"][0, :, s, :2].astype(float)
        np.testing.assert_allclose(belief[:, 0], expected, rtol=2e-6)  # float32 storage
        np.testing.assert_allclose(belief.sum(axis=1), 1.0, rtol=1e-6)
        # Beliefs track the truth: the strong type ends up believed strong more often.
        types = f["resolve_type"][0, :, s]
        assert belief[types == 0, 0].mean() > 0.3 > belief[types == 1, 0].mean()
        # The type draw follows the prior: P(strong) = 0.3 within 4.5 SE.
        n = len(types)
        assert (types == 0).mean() == pytest.approx(0.3, abs=Z * math.sqrt(0.21 / n))


def test_costly_signals_move_beliefs_more_than_cheap_talk(tmp_path):
    with simulate(tmp_path, "bayes-signals") as f:
        s = actor_index(f, "SENDER")
        belief = f["belief"][0, :, :, s, 0].astype(float)  # replication, record (every step)
        odds = np.log(belief / (1 - belief))
        jumps = np.abs(np.diff(odds, axis=1))              # |change in log odds| per step
        # float32 storage resolves log odds only away from 0 and 1.
        resolved = (belief[:, :-1] > 1e-3) & (belief[:, :-1] < 1 - 1e-3) & (belief[:, 1:] > 1e-3) & (belief[:, 1:] < 1 - 1e-3)
        jumps = jumps[resolved]
        talk = math.log(type_policy(0.5)["exercise"] / type_policy(2.0)["exercise"])
        signal = math.log(type_policy(0.5)["evacuate"] / type_policy(2.0)["evacuate"])
        assert abs(signal) > 5 * abs(talk)
        # Every observed step moved the log odds by one of the three likelihood ratios.
        hold = math.log(type_policy(0.5)["hold"] / type_policy(2.0)["hold"])
        allowed = np.array([abs(hold), abs(talk), abs(signal)])
        nearest = np.abs(jumps[:, None] - allowed).min(axis=-1)
        assert nearest.max() < 1e-3
        assert np.isclose(jumps, abs(signal), atol=1e-3).any()


# -- Incident hazard ------------------------------------------------------------

def test_first_incident_time_is_geometric(tmp_path):
    h, dt = 0.02, 0.5
    p = 1 - math.exp(-h * dt)
    with simulate(tmp_path, "incident-hazard") as f:
        first = f["first_incident_step"][0]
        n_runs = len(first)
        for n in (1, 10, 50, 100, 200):
            expected = 1 - (1 - p) ** n
            observed = np.mean((first >= 0) & (first < n))
            se = math.sqrt(expected * (1 - expected) / n_runs)
            assert observed == pytest.approx(expected, abs=Z * se), n


# -- Conservation -----------------------------------------------------------------

def test_troops_are_conserved_under_random_play(tmp_path):
    with simulate(tmp_path, "conservation-random") as f:
        initial = np.array([50000 + 20000 + 80000, 40000 + 30000 + 60000, 5000 + 10000 + 20000], dtype=float)
        total = f["final_forces"][0].sum(axis=2)
        balance = total + f["casualties"][0] - f["troops_added"][0] + f["troops_removed"][0]
        np.testing.assert_allclose(balance, np.broadcast_to(initial, balance.shape), rtol=1e-12)
        assert (f["casualties"][0].sum(axis=1) > 0).mean() > 0.5, "most replications must see fighting"
        counts = f["action_count"][0].sum(axis=0)
        for actor, kinds in {0: ["mobilize", "deploy", "withdraw", "raise_readiness", "exercise", "attack"],
                             1: ["mobilize", "deploy", "withdraw", "sanction"],
                             2: ["deploy", "arm_partner", "retaliate"]}.items():
            for kind in kinds:
                assert counts[actor, KINDS.index(kind)] > 0, (actor, kind)


# -- Bayes' rule with war values priced per type -------------------------------

WAR_VALUE_CASES = {
    "scenario as shipped": [],
    "other costs, priors and rationality": [
        "--set", "actors.ATTACKER.types.hawk.war_cost=-0.2", "--set", "actors.ATTACKER.types.dove.war_cost=0.3",
        "--set", "actors.ATTACKER.types.hawk.prior=0.3", "--set", "actors.ATTACKER.types.dove.prior=0.7",
        "--set", "actors.ATTACKER.decision.rationality=3"],
}


@pytest.mark.parametrize("case", WAR_VALUE_CASES)
def test_beliefs_price_each_types_attack_at_its_own_war_cost(tmp_path, case):
    """bayes-war-values.yaml: W_k = 1/2 - c_k (equal sides), P_k(strike) = logistic(lambda·w·W_k) on every
    step before a war. Observers must price type k's strike at type k's cost: before, every type's
    likelihood took the lane's own cost, so the belief never moved from the prior."""
    extra = WAR_VALUE_CASES[case]
    values = dict(arg.split("=") for arg in extra if "=" in arg)
    setting = lambda path, default: float(values.get(f"actors.ATTACKER.{path}", default))  # noqa: E731
    lam, weight = setting("decision.rationality", 1.0), 2.0
    cost = [setting("types.hawk.war_cost", 0.0), setting("types.dove.war_cost", 0.5)]
    prior = np.array([setting("types.hawk.prior", 0.5), setting("types.dove.prior", 0.5)])
    strike = np.array([1 / (1 + math.exp(-lam * weight * (0.5 - c))) for c in cost])
    with simulate(tmp_path, "bayes-war-values", *extra) as f:
        a = actor_index(f, "ATTACKER")
        steps = f["step"].size - 1
        started = f["war_start_step"][0].astype(int)
        struck = started >= 0
        holds = np.where(struck, started, steps)  # holds before the strike, or every step
        likelihood = prior * (1 - strike) ** holds[:, None] * np.where(struck[:, None], strike, 1.0)
        expected = likelihood / likelihood.sum(axis=1, keepdims=True)
        belief = f["final_belief"][0, :, a, :2].astype(float)
        np.testing.assert_allclose(belief, expected, rtol=2e-5, atol=1e-7)  # float32 beliefs, a few steps
        # Each type strikes on the first step as often as its logit says (4.5 standard errors).
        types = f["resolve_type"][0, :, a]
        for k in (0, 1):
            first = started[types == k] == 0
            se = math.sqrt(strike[k] * (1 - strike[k]) / first.size)
            assert first.mean() == pytest.approx(strike[k], abs=Z * se), k


def test_a_private_cost_spread_of_a_learned_war_forecast_attacker_is_refused(tmp_path):
    """Observers cannot see the drawn cost: pricing types at the lane's draw leaked it into the belief."""
    scenario = SOURCE / "scenarios" / "validation" / "bayes-war-values.yaml"
    out = tmp_path / "o.h5"
    proc = subprocess.run([BRINK, "run", str(scenario), "-q", "-o", str(out),
                           "--set", "actors.ATTACKER.decision.war_cost_spread=0.25"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "'actors.ATTACKER.decision.war_cost_spread' is 0.25" in proc.stderr and proc.stderr.count("\n") == 1
    assert not out.exists()
    revealed = subprocess.run([BRINK, "run", str(scenario), "-q", "-n", "64", "-o", str(out), "--set",
                               "actors.ATTACKER.decision.war_cost_spread=0.25", "--set", "run.information=revealed"],
                              capture_output=True, text=True, timeout=60)
    assert revealed.returncode == 0, revealed.stderr  # no belief to update: nothing to refuse
