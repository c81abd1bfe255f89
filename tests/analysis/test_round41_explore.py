"""Findings of the round-41 exploratory-analysis test (/tmp/round41/explore/REPORT.md): PRIM and CART
on pure noise with 0/1 cases and a permutation test that accounts for the search (F1), the same
design made collinear by constraints (F2), robustness of --summary-only files with no word on noise
(F3), the ranking warning against the paired bootstrap and exact ties (F4), box limits that keep
nothing out (F5), the refusal of a one-value sweep (F6) and the qp footnote of 0/1 cases (F7). Test
names carry the finding's name.

Files come from the real brink binary on the two-actor example (docs/examples/sweep.yaml without its
sweep block), whose outcome ignores the four "noise" parameters (negotiation.drawdown, both deployed
caps, the tension relief of an agreement: under common random numbers every point gives the same
counts, test_f1_noise_parameters_are_ignored_by_the_model), so any box over them is chance. Every
check is against an independent truth: that fact, fresh replications, or the definition of a box."""

import subprocess
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

import brink_analysis as ba

from .conftest import TIMEOUT_S, two_actor_scenario
from .test_explore import run_module

NOISE = {
    "negotiation.drawdown": "0.1:0.9",
    "actors.RED.forces.deployed_cap": "150000:250000",
    "actors.BLU.forces.deployed_cap": "150000:250000",
    "escalation.tension.agreement_relief": "0.1:0.5",
}
UNCERTAINTIES = {
    "actors.RED.decision.patience_days": "5:60",
    "escalation.incidents.base_rate": "0.0005:0.005:log",
    "actors.RED.combat.effectiveness": "0.005:0.02",
    "actors.RED.decision.rationality": "0.5:4",
    "escalation.tension.decay": "0.005:0.05",
}
LEVERS = ["--lever", "actors.BLU.forces.deployed=30000,45000,60000,80000",
          "--lever", "actors.BLU.decision.weights.settlement=0.5,2"]
WARS = "limited_war,full_war,alliance_war"


def _sweeps(table):
    return [arg for path, values in table.items() for arg in ("--sweep", f"{path}={values}")]


def _brink(brink, *args):
    proc = subprocess.run([brink, *map(str, args)], capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, f"brink {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("round41")


@pytest.fixture(scope="module")
def scenario(source_dir, folder):
    return two_actor_scenario(source_dir, folder)


def _noise_file(brink, scenario, folder, seed, samples=200, n=50):
    """The tester's pure-noise design: an LHS over the four parameters the model ignores,
    independent random numbers, so the points differ by Monte Carlo noise alone."""
    out = folder / f"noise{seed}-{samples}.h5"
    if not out.exists():
        _brink(brink, "run", scenario, "-n", n, "-t", 1, "-s", seed, "--set", "run.random_numbers=independent",
               "--design", "lhs", "--samples", samples, *_sweeps(NOISE), "-o", out, "-q")
    return out


@pytest.fixture(scope="module")
def noise20(brink, scenario, folder):
    return _noise_file(brink, scenario, folder, 20)


def _caught(function, *args, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = function(*args, **kw)
    return value, [str(c.message) for c in caught if issubclass(c.category, RuntimeWarning)]


# F1 --------------------------------------------------------------------------


def test_f1_noise_parameters_are_ignored_by_the_model(brink, scenario, folder):
    """The truth the noise tests rest on: under common random numbers every point of the noise
    design gives the same counts."""
    out = folder / "ignored.h5"
    _brink(brink, "run", scenario, "-n", 64, "-t", 1, "--design", "lhs", "--samples", 8, *_sweeps(NOISE), "-o", out,
           "-q")
    with h5py.File(out, "r") as f:
        counts = f["outcome_count"][:]
    assert (counts == counts[0]).all()


def test_f1_threshold_box_on_noise_is_not_told_from_chance(noise20):
    """discover --threshold on pure noise: a restriction of the box gets qp < 0.05 (the tester's
    drawdown, qp 0.0016), but the permutation test of the box says it is not distinguishable from
    chance, and so does CART's densest leaf."""
    done = run_module("discover", noise20, "--outcome", "standoff", "--threshold", "0.12", "--cart", "--no-scores")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    limits = out[out.index("after pasting"):out.index("permutation test")]
    assert "negotiation.drawdown" in limits  # a qp that looks significant ...
    line = next(x for x in out.splitlines() if x.startswith("permutation test: p = "))
    p = float(line.split("p = ")[1].split()[0])
    assert p > 0.2 and "NOT distinguishable from chance" in line, line  # ... and a test that is not fooled
    cart = next(x for x in out.splitlines() if x.startswith("(densest leaf: permutation test p = "))
    assert "NOT distinguishable from chance" in cart, cart


def test_f1_permutation_test_holds_its_level_on_noise_and_finds_a_real_box():
    """prim(...).significance() on synthetic cases: 12 pure-noise data sets of 100 points (0/1
    cases, four parameters) give p <= 0.05 at most three times (5% of 12 is 0.6; the binomial tail
    of four or more is 0.002; the old qp gave 25% of the restrictions qp < 0.05 on such data, and
    100 such data sets gave p <= 0.05 three times), and a real box (P 0.7 below x0 = 0.3, 0.1
    elsewhere) gets the smallest p the shuffles allow. The p-values are deterministic (fixed seeds)."""
    rng = np.random.default_rng(41)
    small = 0
    for _ in range(12):
        X = pd.DataFrame(rng.random((100, 4)), columns=list("abcd"))
        y = (rng.random(100) < 0.2).astype(float)
        test = ba.prim(X, y).significance(permutations=39)
        assert test.permutations == 39 and len(test.reference) == 39
        small += test.p_value <= 0.05
    assert small <= 3, f"{small} of 12 noise data sets got p <= 0.05"
    X = pd.DataFrame(rng.random((100, 4)), columns=list("abcd"))
    y = (rng.random(100) < np.where(X["a"] < 0.3, 0.7, 0.1)).astype(float)
    result = ba.prim(X, y)
    test = result.significance(permutations=39)
    assert test.p_value == pytest.approx(1 / 40) and test.distinguishable
    assert "a" in result.box().restricted
    assert result.significance(permutations=39).p_value == test.p_value  # seeded
    with pytest.raises(ValueError, match="permutations"):
        result.significance(permutations=0)


def test_f1_docs_say_qp_is_not_corrected_for_the_search(source_dir):
    text = " ".join((source_dir / "docs" / "analysis.md").read_text(encoding="utf-8").split())
    prim_part = text[text.index("**Chance restrictions.**"):text.index("**CART.**")]
    assert "not corrected for the search" in prim_part
    assert "significance(" in prim_part and "--permutations" in prim_part
    cart_part = text[text.index("**CART.**"):text.index("**Categorical parameters.**")]
    assert "permutation" in cart_part


# F7 --------------------------------------------------------------------------


def test_f7_threshold_footnote_speaks_of_0_1_cases(noise20):
    done = run_module("discover", noise20, "--outcome", "standoff", "--threshold", "0.12", "--no-scores")
    assert done.returncode == 0, done.stderr
    assert "with probabilities qp errs" not in done.stdout
    assert "with 0/1 cases (--threshold) qp is the EMA Workbench's binomial qp, optimistic" in done.stdout
    assert "not corrected for the search" in done.stdout


def test_f1_permutations_0_skips_the_test(noise20):
    done = run_module("discover", noise20, "--outcome", "standoff", "--no-scores", "--cart", "--permutations", "0")
    assert done.returncode == 0, done.stderr
    assert "permutation test: p" not in done.stdout and "densest leaf: permutation" not in done.stdout
    assert "a dense leaf is no evidence by itself" in done.stdout
    done = run_module("discover", noise20, "--outcome", "standoff", "--permutations", "-1")
    assert done.returncode == 2 and "--permutations" in done.stderr


# F5 --------------------------------------------------------------------------


def _limits_that_keep_nothing_out(box, X):
    """The sides of `box`'s numeric limits (and the values left out of its categorical ones) whose
    lifting leaves the same cases in the box."""
    inside = box.contains(X)
    moot = []
    for p in box.restricted:
        for side, attr, edge in (("lower", "lower", box.data_min[p]), ("upper", "upper", box.data_max[p])):
            if getattr(box, attr)[p] == edge:
                continue
            wide = X[p] >= box.lower[p] if side == "upper" else X[p] <= box.upper[p]
            others = np.ones(len(X), bool)
            for q in box.lower.index:
                if q != p:
                    others &= (X[q] >= box.lower[q]) & (X[q] <= box.upper[q])
            if np.array_equal(others & wide.to_numpy(), inside):
                moot.append((p, side))
    return moot


@pytest.mark.parametrize("outcome,threshold", [("full_war", None), ("standoff", 0.12)])
def test_f5_no_reported_limit_keeps_nothing_out(noise20, outcome, threshold):
    """Every limit of the chosen box (pasted and not) and of every box of the trajectory removes at
    least one point from the box: the tester's full_war box on this design restricted the tension
    relief with limits that removed no point, and the standoff box kept a lower relief limit that
    removed none. The box's mass, coverage and density are those of its points."""
    with ba.open_results(noise20) as ds:
        result = ba.find_boxes(ds, outcome, threshold=threshold)
        X, y, w = ba.discovery_data(ds, outcome)
    boxes = [result.box(), result.box(paste=False)] + result.boxes
    for box in boxes:
        assert not _limits_that_keep_nothing_out(box, X), (box.limits(), _limits_that_keep_nothing_out(box, X))
    box = result.box()
    table = result.inspect()
    assert list(table.index) == box.restricted
    assert (table["density_without"] < box.density).all()  # lifting any restriction lets other points in
    cases = (y >= threshold - 1e-12).astype(float) if threshold is not None else y
    inside = box.contains(X)
    assert box.mass == pytest.approx(inside.mean())
    assert box.density == pytest.approx(cases[inside].mean())
    assert list(result.trajectory["restricted_dimensions"]) == [len(b.restricted) for b in result.boxes]


@pytest.fixture(scope="module")
def status_quo(brink, source_dir, folder):
    """The exploration notebook's status-quo design (its full mode), written by the CLI as ba.run writes it."""
    out = folder / "status-quo.h5"
    _brink(brink, "run", source_dir / "scenarios" / "jan-2022-standoff.yaml", "-n", 500, "-t", 1, "--set",
           "actors.USA.forces.ready=8500", "--set", "relations.commitments.2.strength=0.15", "--set",
           "run.random_numbers=common", "--summary-only", "--sweep", "actors.RUS.decision.patience_days=10:90",
           "--sweep", "actors.RUS.forces.deployed=60000:180000", "--sweep",
           "escalation.incidents.base_rate=0.0005:0.005:log", "--design", "lhs", "--samples", 128, "-o", out, "-q")
    return out


def test_f5_notebook_headline_box_is_patience_alone_and_real(status_quo):
    """The notebook's box restricted patience and the incident rate, whose limits removed no state
    of the world from it: it is patience alone now, with the same points, and the permutation test
    tells it from chance."""
    with ba.open_results(status_quo) as ds:
        result = ba.find_boxes(ds, "full_war")
        X, y, _ = ba.discovery_data(ds, "full_war")
    box = result.box()
    assert box.restricted == ["actors.RUS.decision.patience_days"]
    assert box.upper["actors.RUS.decision.patience_days"] < 30
    assert box.density == pytest.approx(y[box.contains(X)].mean())
    assert result.significance(permutations=39).p_value == pytest.approx(1 / 40)


# F3 --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def robust_files(brink, scenario, folder):
    """The tester's 8 policies x 40 states, common random numbers: per replication (200), the same
    with --summary-only, and 1,000 replications of the same design (replications 0-199 are the
    first file's: replication r draws the same numbers whatever -n)."""
    files = {}
    for name, n, extra in (("full", 200, []), ("summary", 200, ["--summary-only"]), ("big", 1000, [])):
        out = folder / f"robust-{name}.h5"
        _brink(brink, "run", scenario, "-n", n, "-t", 1, "--set", "run.random_numbers=common", "--design", "lhs",
               "--samples", 40, *LEVERS, *_sweeps(UNCERTAINTIES), *extra, "-o", out, "-q")
        files[name] = out
    return files


def test_f3_summary_only_comparison_says_the_noise_is_unknown(robust_files, tmp_path):
    """The same study as the per-replication file, with --summary-only: the table, the robust
    report and the figure say that the Monte Carlo noise is not estimated."""
    with ba.open_results(robust_files["summary"]) as ds:
        table, messages = _caught(ba.robustness_table, ds, outcome=WARS)
        assert any("noise of the regrets is not estimated" in m and "--summary-only" in m for m in messages), messages
        assert table.attrs["regret_noise"] is None and table.attrs["leader_share"] is None
        fig, _ = _caught(ba.plot_robustness, ds, outcome=WARS)
    assert "Monte Carlo noise not estimated (--summary-only files)" in fig._suptitle.get_text()
    done = run_module("robust", robust_files["summary"], "--outcome", WARS, "--plot", tmp_path / "r.png")
    assert done.returncode == 0, done.stderr
    assert "regret noise: not estimated" in done.stdout
    assert done.stderr.count("noise of the regrets is not estimated") == 1, done.stderr
    with ba.open_results(robust_files["full"]) as ds:  # the per-replication file still estimates it
        full, messages = _caught(ba.robustness_table, ds, outcome=WARS)
    assert full.attrs["regret_noise"] > 0 and not [m for m in messages if "not estimated" in m]
    pd.testing.assert_frame_equal(table, full)


# F4 --------------------------------------------------------------------------


def _winner(codes, parameter_values, wars=(2, 3, 4)):
    """The policy (lever values, columns 5 and 6) of smallest max regret from per-replication outcome
    codes (point x replication), computed here from the definition."""
    policy = [tuple(v) for v in parameter_values[:, 5:7]]
    state = [tuple(v) for v in parameter_values[:, :5].round(9)]
    p = np.isin(codes, wars).mean(axis=1)
    matrix = pd.DataFrame({"policy": policy, "state": state, "p": p}).pivot(index="state", columns="policy",
                                                                         values="p")
    return matrix.sub(matrix.min(axis=1), axis=0).max().idxmin()


def test_f4_a_stable_winner_is_not_flagged(robust_files):
    """The tester's case: the leader's max_regret beats the next by less than regret_noise (the old
    rule's warning), but it keeps the smallest max_regret in at least 95% of the paired bootstrap
    resamples, and it is the winner in each of four fresh batches of 200 replications (independent
    of the first): the table does not say that the data cannot tell."""
    with ba.open_results(robust_files["full"]) as ds:
        table, messages = _caught(ba.robustness_table, ds, outcome=WARS)
    gap = table["max_regret"].iloc[1] - table["max_regret"].iloc[0]
    assert 0 < gap < table.attrs["regret_noise"]
    assert not [m for m in messages if "cannot tell which policy is most robust" in m], messages
    assert table.attrs["leader_share"] >= 0.95
    leader = (table["actors.BLU.forces.deployed"].iloc[0], table["actors.BLU.decision.weights.settlement"].iloc[0])
    with h5py.File(robust_files["big"], "r") as f:
        codes, values = f["outcome_code"][:], f["parameter_value"][:]
    with h5py.File(robust_files["full"], "r") as f:
        assert np.array_equal(f["outcome_code"][:], codes[:, :200])
    assert _winner(codes[:, :200], values) == leader
    assert all(_winner(codes[:, k * 200:(k + 1) * 200], values) == leader for k in range(1, 5))


def test_f4_exact_ties_get_a_note(brink, scenario, folder):
    """A one-day horizon: nothing happens, every policy has the same probabilities, and the table
    says that the policies tie rather than ranking the first value of the lever "most robust"."""
    out = folder / "ties.h5"
    _brink(brink, "run", scenario, "-n", 100, "-t", 1, "--set", "run.horizon_days=1", "--set",
           "run.random_numbers=common", "--design", "lhs", "--samples", 10, "--lever",
           "actors.BLU.forces.deployed=30000,50000,70000,90000", "--sweep", "actors.RED.decision.patience_days=5:60",
           "-o", out, "-q")
    with ba.open_results(out) as ds:
        table, messages = _caught(ba.robustness_table, ds, outcome="full_war")
    assert any(m.startswith("4 policies tie at the top") for m in messages), messages
    assert table.attrs["tied"] == 4
    done = run_module("robust", out, "--outcome", "full_war")
    assert done.returncode == 0 and "4 policies tie at the top" in done.stderr, done.stderr


# F2 --------------------------------------------------------------------------


def test_f2_collinear_parameters_get_a_note(brink, scenario, folder):
    """A design whose constraints make BLU's patience follow RED's (r about 0.998): the feature scores
    warn that the two cannot be told apart; the same design without the constraints does not."""
    text = scenario.read_text(encoding="utf-8") + (
        "\nsweep:\n  design: lhs\n  samples: 200\n  parameters:\n"
        "    actors.RED.decision.patience_days: {min: 5, max: 60}\n"
        "    actors.BLU.decision.patience_days: {min: 5, max: 60}\n"
        "    negotiation.drawdown: {min: 0.1, max: 0.9}\n")
    constrained = text + (
        "  constraints:\n"
        "    - {rule: \"actors.BLU.decision.patience_days <= actors.RED.decision.patience_days + 2\", action: clip}\n"
        "    - {rule: \"actors.BLU.decision.patience_days >= actors.RED.decision.patience_days - 2\",\n"
        "       action: reject}\n")
    found = {}
    for name, body in (("free", text), ("corr", constrained)):
        path, out = folder / f"{name}.yaml", folder / f"{name}.h5"
        path.write_text(body, encoding="utf-8")
        _brink(brink, "run", path, "-n", 50, "-t", 1, "-o", out, "-q")
        with ba.open_results(out) as ds:
            X, y, w = ba.discovery_data(ds, "settlement")
        scores, messages = _caught(ba.feature_scores, X, y, w)
        r = np.corrcoef(X["actors.RED.decision.patience_days"], X["actors.BLU.decision.patience_days"])[0, 1]
        found[name] = (r, scores, [m for m in messages if "nearly collinear" in m])
    r, scores, notes = found["corr"]
    assert r > 0.95 and len(notes) == 1 and f"{r:.3f}" in notes[0], notes
    assert [pair[:2] for pair in scores.attrs["collinear"]] == [("actors.RED.decision.patience_days",
                                                                 "actors.BLU.decision.patience_days")]
    r, scores, notes = found["free"]
    assert abs(r) < 0.5 and not notes and not scores.attrs["collinear"]


# F6 --------------------------------------------------------------------------


@pytest.mark.parametrize("design", [["--sweep", "actors.RED.decision.patience_days=20"],
                                    ["--design", "lhs", "--samples", "1", "--sweep",
                                     "actors.RED.decision.patience_days=5:60"]])
def test_f6_a_one_value_sweep_is_refused_as_one(brink, scenario, folder, design):
    out = folder / f"one-{len(design)}.h5"
    _brink(brink, "run", scenario, "-n", 20, "-t", 1, *design, "-o", out, "--overwrite", "-q")
    done = run_module("discover", out, "--outcome", "standoff")
    assert done.returncode == 2
    assert "sweeps no parameter" not in done.stderr
    assert "the one swept parameter of this file (actors.RED.decision.patience_days) takes one value (1 point)" \
        in done.stderr and "at least two points" in done.stderr, done.stderr
