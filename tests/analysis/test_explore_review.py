"""Findings of the outside test of the exploration functions (PRIM's qp, thresholds on summed
outcome probabilities, regret ties), on synthetic cases whose answer is known and on files the
real brink binary writes. Every expected value is computed here from the definitions."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

import brink_analysis as ba

from .conftest import _run, two_actor_scenario

COST = "actors.RED.actions.invade.cost"
PATIENCE = "actors.RED.decision.patience_days"
DRAWDOWN = "negotiation.drawdown"  # no settlement term of this scenario reads it (test_the_model_ignores_drawdown)
SIGNIFICANT = 0.05  # the qp below which docs/analysis.md reads a restriction as more than chance


def chance_allows(significant: int, restrictions: int) -> bool:
    """`significant` restrictions of `restrictions` with qp < 0.05 are no more than chance gives
    (P(Binomial(restrictions, 0.05) >= significant) >= 1%)."""
    return binom.sf(significant - 1, restrictions, SIGNIFICANT) >= 0.01


def qp_values(result: ba.PrimResult, paste: bool = True) -> dict[str, np.ndarray]:
    """{parameter: the qp of its restriction in every box of the trajectory that restricts it}."""
    found: dict[str, list[float]] = {}
    for i in range(1, len(result.boxes)):
        table = result.inspect(i, paste=paste)
        for name in table.index:
            found.setdefault(name, []).append(float(table.loc[name, "qp"]))
    return {name: np.array(values) for name, values in found.items()}


@pytest.fixture(scope="module")
def scenario(source_dir, tmp_path_factory):
    return two_actor_scenario(source_dir, tmp_path_factory.mktemp("explore_review"))


@pytest.fixture(scope="module")
def drawdown_grid(brink, scenario):
    """A grid over the invasion's cost, RED's patience and the drawdown, common random numbers."""
    return _run(brink, scenario.parent / "grid.h5", scenario, "-n", 64, "--summary-only",
                "--sweep", f"{COST}=-3,6", "--sweep", f"{PATIENCE}=2,60", "--sweep", f"{DRAWDOWN}=0,0.5,1")


@pytest.fixture(scope="module")
def noisy_lhs(brink, scenario):
    """96 LHS points of 128 replications each over the cost (which drives full-scale war), RED's
    patience and the drawdown (which the model ignores)."""
    return _run(brink, scenario.parent / "lhs.h5", scenario, "-n", 128, "--summary-only", "--design", "lhs",
                "--samples", 96, "--sweep", f"{COST}=-3:6", "--sweep", f"{PATIENCE}=2:60",
                "--sweep", f"{DRAWDOWN}=0:1")


def test_the_model_ignores_drawdown(drawdown_grid):
    """The premise of the qp test: with common random numbers every drawdown gives the same
    outcome counts at each (cost, patience), while the cost changes them."""
    with ba.open_results(drawdown_grid) as ds:
        table = ba.parameter_table(ds)
        counts = ds["outcome_count"].values
    for _, group in table.groupby([COST, PATIENCE]).groups.items():
        assert len(group) == 3 and (counts[group] == counts[group[0]]).all(), counts[group]
    by_cost = {cost: counts[list(rows)].sum(axis=0) for cost, rows in table.groupby(COST).groups.items()}
    assert not np.array_equal(*by_cost.values()), by_cost


def test_qp_counts_points_not_replications_on_a_sweep(noisy_lhs):
    """A restriction keeps or drops whole points: with 128 replications per point, counting them as
    trials made nearly every chance restriction on the ignored drawdown 'significant'."""
    with ba.open_results(noisy_lhs) as ds:
        result = ba.find_boxes(ds, "full_war")
    qp = qp_values(result)
    drawdown = qp[DRAWDOWN]
    assert len(drawdown) >= 10, "test setup: PRIM should peel the drawdown by chance in several boxes"
    assert chance_allows(int((drawdown < SIGNIFICANT).sum()), len(drawdown)), drawdown
    cost = qp[COST]
    assert (cost < SIGNIFICANT).mean() > 0.5, cost
    assert result.inspect().loc[COST, "qp"] < 1e-3


def replicated_cases(points: int = 150, replications: int = 200, seed: int = 5):
    """Points over a, b and c, uniform in [0, 1], whose probability is 0.1 + 0.6 (a > 0.5) + 0.2 h,
    h a hidden parameter (as the model's many others): b and c are ignored. Returned as per-point
    probabilities and as the replications' 0/1 outcomes (each point's row repeated)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.random((points, 3)), columns=["a", "b", "c"])
    hidden = rng.random(points)
    hits = rng.binomial(replications, 0.1 + 0.6 * (X["a"].to_numpy() > 0.5) + 0.2 * hidden)
    rows = X.loc[X.index.repeat(replications)].reset_index(drop=True)
    outcome = np.concatenate([np.r_[np.ones(h), np.zeros(replications - h)] for h in hits])
    return X, hits / replications, rows, outcome


def test_qp_of_replicated_cases_counts_points():
    """prim on the replications' 0/1 outcomes: rows with the same parameter values are one point,
    so chance restrictions on b and c stay within chance, a's do not, and the per-point
    probabilities give the same qp values."""
    X, p, rows, outcome = replicated_cases()
    result = ba.prim(rows, outcome)
    qp = qp_values(result, paste=False)
    ignored = np.concatenate([qp.get("b", []), qp.get("c", [])])
    assert len(ignored) >= 10, "test setup: PRIM should peel b or c by chance in several boxes"
    assert chance_allows(int((ignored < SIGNIFICANT).sum()), len(ignored)), ignored
    assert (qp["a"] < SIGNIFICANT).mean() > 0.5 and result.inspect().loc["a", "qp"] < 1e-3, qp["a"]
    # The same data per point: the same boxes (up to the first box restricting all three, before
    # which rounding in the sums over 30,000 rows cannot yet break a tie between peels otherwise)
    # and the same qp values.
    per_point = ba.prim(X, p)
    first = int(np.argmax(per_point.trajectory["restricted_dimensions"].to_numpy() == 3))
    assert first > 0, per_point.trajectory
    pd.testing.assert_frame_equal(per_point.trajectory.iloc[:first + 1], result.trajectory.iloc[:first + 1],
                                  check_exact=False, rtol=1e-9)
    np.testing.assert_allclose(per_point.inspect(first, paste=False)["qp"], result.inspect(first, paste=False)["qp"],
                               rtol=1e-9)


# Thresholds on summed outcome probabilities ---------------------------------------------------

WARS = ["full_war", "alliance_war"]
ESCALATION = "escalation.incidents.escalation_probability"


@pytest.fixture(scope="module")
def ten_replications(brink, scenario):
    """60 LHS points of 10 replications each: many points where full and alliance war share a
    whole number of tenths, the sums that rounding moves off a threshold of that many tenths."""
    return _run(brink, scenario.parent / "ten.h5", scenario, "-n", 10, "--summary-only", "--design", "lhs",
                "--samples", 60, "--sweep", f"{COST}=-3:6", "--sweep", f"{PATIENCE}=2:60",
                "--sweep", f"{ESCALATION}=0:1")


@pytest.fixture(scope="module")
def mixed_ten(brink, scenario):
    """A mixed design (levers: the cost and the combat law; 40 LHS states), 10 replications."""
    return _run(brink, scenario.parent / "mixed.h5", scenario, "-n", 10, "--summary-only",
                "--lever", f"{COST}=0,2,4", "--lever", "combat.law=square,linear", "--sweep", f"{PATIENCE}=2:60",
                "--sweep", f"{ESCALATION}=0:1", "--design", "lhs", "--samples", 40)


def war_counts(path):
    """Per point: replications ending in full or alliance war, the file's two probabilities summed
    in floating point, and the replications."""
    with ba.open_results(path) as ds:
        counts = ds["outcome_count"].sel(outcome=WARS).values.sum(axis=1)
        summed = ds["outcome_probability"].sel(outcome=WARS).values.sum(axis=1)
        return counts, summed, ds["replications"].values


def rounded_off(counts, summed, reps, side):
    """The tenths k for which some point has exactly k of 10 wars but a float sum on the wrong
    `side` of k/10 (below for >=, above for <=)."""
    assert (reps == 10).all()
    wrong = summed < counts / 10 if side == "below" else summed > counts / 10
    return sorted({int(k) for k in counts[wrong]})


def test_discover_threshold_counts_points_at_the_threshold(ten_replications):
    from .test_explore import run_module

    counts, summed, reps = war_counts(ten_replications)
    found = rounded_off(counts, summed, reps, "below")
    assert found, "test setup: no point whose two war probabilities sum below its share by rounding"
    k = found[0]
    share = float(np.mean(counts >= k))  # whole replications: exact
    done = run_module("discover", ten_replications, "--outcome", ",".join(WARS), "--threshold", k / 10, "--no-scores")
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0]
    assert f"share of cases of interest (P(full_war,alliance_war) >= {k / 10:g}) {share:.4f}" in header, header
    with ba.open_results(ten_replications) as ds:
        _, y, _ = ba.discovery_data(ds, WARS)
        result = ba.find_boxes(ds, WARS, threshold=k / 10)
    np.testing.assert_array_equal(y, counts / reps)  # divided once: 7 + 2 of 10 is 0.9 exactly
    assert result.boxes[0].density == share


def test_robust_satisficing_counts_states_at_the_threshold(mixed_ten):
    counts, summed, reps = war_counts(mixed_ten)
    with ba.open_results(mixed_ten) as ds:
        table = ba.named_parameter_table(ds)
        levers, _ = ba.design_roles(ds)
        checked = 0
        for direction, side in (("minimize", "above"), ("maximize", "below")):
            for k in rounded_off(counts, summed, reps, side):
                ok = counts <= k if direction == "minimize" else counts >= k
                expected = pd.Series(ok).groupby([table[name].to_numpy() for name in levers]).mean()
                robust = ba.robustness_table(ds, outcome=WARS, threshold=k / 10, direction=direction)
                got = robust.set_index(levers)["satisficing"]
                for policy, share in expected.items():
                    assert got[policy] == share, (direction, k, policy)
                checked += 1
    assert checked, "test setup: no state whose war probabilities sum across a threshold by rounding"


def test_robust_satisficing_on_a_table_compares_up_to_rounding():
    """0.1 + 0.2 is 0.30000000000000004 in floating point: the state is at the threshold 0.3."""
    rows = [{"lever": lever, "state": state, "outcome": outcome, "probability": p}
            for lever, wars in (("a", (0.1, 0.2)), ("b", (0.2, 0.2)))
            for state in (1, 2)
            for outcome, p in zip(WARS, wars)]
    table = ba.robustness_table(pd.DataFrame(rows), ["lever"], WARS, threshold=0.3, uncertainties=["state"])
    assert table.set_index("lever").loc["a", "satisficing"] == 1.0
    assert table.set_index("lever").loc["b", "satisficing"] == 0.0
    up = ba.robustness_table(pd.DataFrame(rows), ["lever"], WARS, threshold=0.3, uncertainties=["state"],
                             direction="maximize")
    assert up.set_index("lever")["satisficing"].to_dict() == {"a": 1.0, "b": 1.0}


# Regret ties ----------------------------------------------------------------------------------


def test_regret_ties_up_to_rounding_are_broken_by_the_expected_value():
    """A's regrets are 0, 0.7 - 0.4 and 0.3 - 0.0; B's 0.4 - 0.1, 0 and 0: both maximum regrets
    are 0.3 in exact arithmetic, so the documented tie-break (the lower expected probability,
    B's 0.8/3 against A's 1.1/3) puts B first, whichever maximum rounding made smaller."""
    probabilities = {"A": (0.1, 0.7, 0.3), "B": (0.4, 0.4, 0.0)}
    frame = pd.DataFrame([{"policy": policy, "state": state, "probability": p}
                          for policy, values in probabilities.items() for state, p in zip((1, 2, 3), values)])
    regret = ba.regret_table(frame, ["policy"], "full_war", ["state"]).max()
    assert regret["A"] < regret["B"] and regret["B"] - regret["A"] < 1e-12, regret  # the premise: rounding differs
    table = ba.robustness_table(frame, ["policy"], "full_war", uncertainties=["state"])
    assert list(table["policy"]) == ["B", "A"], table
    assert table["expected"].is_monotonic_increasing


def test_the_removed_trials_argument_says_why():
    """prim(trials=) was removed when qp came to count design points: a caller gets the reason."""
    X = pd.DataFrame({"x": np.linspace(0, 1, 40)})
    with pytest.raises(TypeError, match="qp counts design points"):
        ba.prim(X, (X["x"] > 0.5).astype(float), trials=np.ones(40))
