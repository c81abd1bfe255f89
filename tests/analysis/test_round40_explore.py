"""Findings of the round-40 exploratory-analysis test (/tmp/round40/explore/REPORT.md): the noise of
regrets under any random numbers (F1) and in the robustness figure (F4), the pooled predictive
probability of a posterior-predictive file (F2), PRIM's qp and a selection-aware p-value (F3), and
small nits (F5-F8). Test names carry the finding's name. Files come from the real brink binary, on
small two-actor scenarios with closed-form answers, so a few hundred replications take no time.

Every check is against an independent truth: policies that are the same scenario must not be told
apart, policies whose replications end alike have no noise, closed-form probabilities, coverage
over seeds."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import brink_analysis as ba

from .conftest import TIMEOUT_S
from .test_explore import run_module

COST = "actors.CHOOSER.decision.weights.cost"

# The outside tester's posture: CHOOSER picks by logit among invade (attack, cost 3), hold (0) and
# strike (attack, cost 50). The second posture lists the same actions in another order: every
# quantity has the same distribution in both, but replication r draws another action from the same
# uniform, so common random numbers do not couple them.
POSTURE = """brink: 1
name: {name}
description: "one chooser, three actions"
run: {{horizon_days: 30, dt_days: 1, replications: 500, seed: 5, random_numbers: common}}
actors:
  CHOOSER:
    forces: {{deployed: 1000}}
    decision:
      rationality: 1.0
      weights: {{cost: 1.0}}
    actions:
{actions}
  OTHER:
    forces: {{deployed: 1000}}
relations:
  adversaries: [[CHOOSER, OTHER]]
escalation:
  rungs: [calm, tense, limited, full, wider]
  initial_rung: tense
  limited_war: limited
  full_war: full
  alliance_war: wider
"""
INVADE = "      invade: {kind: attack, target: OTHER, rung: full, cost: 3.0}"
HOLD = "      hold: {}"
STRIKE = "      strike: {kind: attack, target: OTHER, rung: full, cost: 50.0}"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("round40")


@pytest.fixture(scope="module")
def postures(folder):
    a, b = folder / "pa.yaml", folder / "pb.yaml"
    a.write_text(POSTURE.format(name="posture-a", actions="\n".join([INVADE, HOLD, STRIKE])), encoding="utf-8")
    b.write_text(POSTURE.format(name="posture-b", actions="\n".join([HOLD, INVADE, STRIKE])), encoding="utf-8")
    return a, b


def _brink(brink, *args):
    proc = subprocess.run([brink, *map(str, args)], capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, f"brink {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stderr}"
    return proc


def _swapped(brink, postures, folder, seed, n=500):
    """The two identical postures as a scenario-choice lever × 20 LHS states, common random numbers."""
    out = folder / f"swap{seed}-{n}.h5"
    if not out.exists():
        a, b = postures
        _brink(brink, "run", a, "-t", 1, "-s", seed, "-n", n, "--design", "lhs", "--samples", 20, "--lever",
               f"scenario={a},{b}", "--sweep", f"{COST}=0.8:1.2", "-o", out, "--overwrite", "-q")
    return out


def _table(path, **kw):
    with ba.open_results(path) as ds, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = ba.robustness_table(ds, outcome="full_war", **kw)
    return table, [str(c.message) for c in caught if issubclass(c.category, RuntimeWarning)]


def _ranking_warnings(messages):
    return [m for m in messages if "cannot tell which policy is most robust" in m]


# F1 --------------------------------------------------------------------------


def test_f1_identical_postures_under_common_random_numbers_get_a_calibrated_noise(brink, postures, folder):
    """Two postures that are the same scenario (two action lines swapped), common random numbers,
    12 seeds: regret_noise is estimated (it was None under common random numbers), the observed
    max_regrets of these identical policies exceed it about as often as a 95th percentile allows,
    its size matches the spread of the max_regrets over the seeds (not a bound made safe by being
    huge), and the ranking is flagged as noise at most seeds."""
    noises, regrets, flagged = [], [], 0
    for seed in range(1, 13):
        table, messages = _table(_swapped(brink, postures, folder, seed))
        noise = table.attrs["regret_noise"]
        assert noise is not None and noise > 0, f"seed {seed}: regret_noise {noise!r}"
        noises.append(noise)
        regrets += list(table["max_regret"])
        flagged += bool(_ranking_warnings(messages))
        assert not [m for m in messages if "independent random numbers" in m]
    regrets = np.array(regrets)
    exceed = int((regrets > np.array(noises).repeat(2)).sum())
    assert exceed <= 5, f"{exceed} of 24 max_regrets of identical policies exceed their regret_noise"
    ratio = np.mean(noises) / np.quantile(regrets, 0.95)
    assert 0.5 < ratio < 2.0, (noises, regrets)
    assert flagged >= 10, f"the ranking of identical policies was flagged at only {flagged} of 12 seeds"


def test_f1_policies_whose_replications_end_alike_have_no_noise(brink, postures, folder):
    """A lever the model ignores (OTHER's forces) under common random numbers: every replication ends
    the same in both policies, so their regrets are 0 and so is the noise, and nothing is said but
    that they tie (round 41, F4: an exact tie is no ranking)."""
    out = folder / "ignored.h5"
    _brink(brink, "run", postures[0], "-t", 1, "-s", 3, "-n", 300, "--design", "lhs", "--samples", 10, "--lever",
           "actors.OTHER.forces.deployed=1000,2000", "--sweep", f"{COST}=0.8:1.2", "-o", out, "--overwrite", "-q")
    table, messages = _table(out)
    assert (table["max_regret"] == 0).all()
    assert table.attrs["regret_noise"] == 0.0
    assert len(messages) == 1 and "2 policies tie at the top" in messages[0], messages


def test_f1_a_real_difference_is_not_flagged(brink, postures, folder):
    """Invade costing 3 or 6 (P(war) falls by tens of points): the noise is estimated and small
    beside the worse policy's max_regret, and no ranking warning is given."""
    out = folder / "real.h5"
    _brink(brink, "run", postures[0], "-t", 1, "-s", 3, "-n", 300, "--design", "lhs", "--samples", 10, "--lever",
           "actors.CHOOSER.actions.invade.cost=3,6", "--sweep", f"{COST}=0.8:1.2", "-o", out, "--overwrite", "-q")
    table, messages = _table(out)
    noise = table.attrs["regret_noise"]
    assert noise is not None and 0 < noise < table["max_regret"].max() / 3
    assert not _ranking_warnings(messages)


def test_f1_noise_is_seeded_and_deterministic(brink, postures, folder):
    path = _swapped(brink, postures, folder, 1)
    first, _ = _table(path)
    again, _ = _table(path, seed=0)
    assert first.attrs["regret_noise"] == again.attrs["regret_noise"]
    with pytest.raises(ValueError, match="seed"):
        _table(path, seed=-1)


def test_f1_per_policy_files_of_the_same_seed_get_the_noise_too(brink, folder):
    """One file per policy (same seed, independent random numbers, paired by point index): the two
    policies set the invade and strike costs to 3/50 and 50/3, which is the same model (both attack
    actions lead to full war); the noise is estimated and the bare ranking is flagged."""
    base = folder / "one.yaml"
    base.write_text(POSTURE.format(name="one", actions="\n".join([INVADE, HOLD, STRIKE])).replace(
        "random_numbers: common", "random_numbers: independent"), encoding="utf-8")
    files = []
    for name, invade, strike in (("A", 3, 50), ("B", 50, 3)):
        out = folder / f"{name}.h5"
        _brink(brink, "run", base, "-t", 1, "-s", 3, "-n", 500, "--design", "lhs", "--samples", 20, "--sweep",
               f"{COST}=0.8:1.2", "--set", f"actors.CHOOSER.actions.invade.cost={invade}", "--set",
               f"actors.CHOOSER.actions.strike.cost={strike}", "-o", out, "--overwrite", "-q")
        files.append(ba.open_results(out))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            table = ba.robustness_table(files, ["actors.CHOOSER.actions.invade.cost",
                                                "actors.CHOOSER.actions.strike.cost"], "full_war")
        noise = table.attrs["regret_noise"]
        assert noise is not None and noise > 0
        gap = float(np.diff(np.sort(table["max_regret"]))[0])
        # Round 41, F4: the ranking is flagged when the paired bootstrap does not keep its leader.
        share = table.attrs["leader_share"]
        assert share is not None
        assert bool(_ranking_warnings([str(c.message) for c in caught])) == (share < 0.95 and gap > 0)
    finally:
        for ds in files:
            ds.close()


def test_f1_robust_command_prints_the_noise_once(brink, postures, folder, tmp_path):
    path = _swapped(brink, postures, folder, 1)
    done = run_module("robust", path, "--outcome", "full_war", "--plot", tmp_path / "r.png")
    assert done.returncode == 0, done.stderr
    table, _ = _table(path)
    assert f"regret noise: policies identical in every state would show a max_regret up to " \
           f"{table.attrs['regret_noise']:.4f}" in done.stdout
    assert done.stderr.count("cannot tell which policy is most robust") == 1, done.stderr


def test_f1_docs_do_not_promise_that_common_random_numbers_remove_the_noise(source_dir):
    text = (source_dir / "docs" / "analysis.md").read_text(encoding="utf-8")
    section = " ".join(text[text.index("## Robust policies"):text.index("## Command line")].split())
    assert "and much of it where it does" not in section
    assert "Pairing does not make a comparison noise-free" in section
    assert "bootstrap" in section and "regret_noise" in section


# F4 --------------------------------------------------------------------------


def test_f4_robustness_figure_carries_the_noise(brink, postures, folder):
    path = _swapped(brink, postures, folder, 2)
    table, _ = _table(path)
    noise = table.attrs["regret_noise"]
    with ba.open_results(path) as ds, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fig = ba.plot_robustness(ds, outcome="full_war")
    try:
        assert "Monte Carlo noise" in fig._suptitle.get_text() and f"{noise:.2g}" in fig._suptitle.get_text()
        regret_axis = fig.axes[1]
        xs = [line.get_xdata()[0] for line in regret_axis.get_lines() if line.get_linestyle() == ":"]
        assert xs and np.isclose(xs[0], noise)
    finally:
        import matplotlib.pyplot as plt
        plt.close(fig)


# F2 --------------------------------------------------------------------------

# The outside tester's calibration of a field that is one value per block (invade's cost): the
# posterior-predictive run then draws once per block of 256 replications. P(full_war | cost c) =
# 1 - (1 - q)^40 with q = e^-c / (1 + e^-c) (a logit choice between hold, 0, and invade, cost c, each
# day for 40 days), so the true predictive probability is the particles' weighted mean of it.
CALIBRATION = """brink: 1
name: explore-calib2
description: "calibrate the incident rate and invade's cost"
run: {horizon_days: 40, dt_days: 1, replications: 500, seed: 9, start_date: 2022-01-01}
actors:
  CHOOSER:
    forces: {deployed: 1000}
    decision:
      rationality: 1.0
      weights: {cost: 1.0}
    actions:
      hold: {}
      invade: {kind: attack, target: OTHER, rung: full, cost: 3.0}
  OTHER:
    forces: {deployed: 1000}
relations:
  adversaries: [[CHOOSER, OTHER]]
escalation:
  rungs: [calm, tense, limited, full, wider]
  initial_rung: tense
  limited_war: limited
  full_war: full
  alliance_war: wider
  incidents: {base_rate: 0.3}
observations:
  incidents_by_day_9: {quantity: incidents, date: 2022-01-10, value: 3, sd: 1, source: synthetic}
  no_war_day_9: {quantity: war_started, date: 2022-01-10, value: false, sd: 0.2, source: synthetic}
calibrate:
  particles: 300
  generations: 4
  replications: 8
  quantile: 0.5
  parameters:
    escalation.incidents.base_rate: {prior: uniform, min: 0.01, max: 1.0}
    actors.CHOOSER.actions.invade.cost: {prior: uniform, min: 1.0, max: 6.0}
"""


@pytest.fixture(scope="module")
def calibrated(brink, folder):
    scenario, cal = folder / "calib2.yaml", folder / "cal2.h5"
    scenario.write_text(CALIBRATION, encoding="utf-8")
    _brink(brink, "calibrate", scenario, "-t", 1, "-o", cal, "--overwrite", "-q")
    import xarray as xr

    with xr.open_dataset(cal, engine="h5netcdf") as ds:
        names = [str(p) for p in ds["parameter"].values]
        costs = ds["particles"].isel(generation=-1).values[:, names.index("actors.CHOOSER.actions.invade.cost")]
        weights = ds["weights"].isel(generation=-1).values
    q = np.exp(-costs) / (1 + np.exp(-costs))
    truth = float(np.sum(weights * (1 - (1 - q) ** 40)) / np.sum(weights))
    return scenario, cal, truth


def test_f2_pooled_predictive_probability_is_clustered_by_draw(brink, calibrated, folder):
    """predictive_table (and outcome_table(pooled=True)) gives the pooled P(full_war) with the
    engine's printed "95% interval (by draw)" and covers the closed-form predictive probability at
    nearly every seed (the pooled Wilson interval covered it at 2 of 20)."""
    scenario, cal, truth = calibrated
    covered = 0
    for seed in range(1, 21):
        out = folder / f"pred{seed}.h5"
        done = _brink(brink, "run", scenario, "--posterior", cal, "-n", 4096, "-t", 1, "-s", seed, "-o", out,
                      "--overwrite")
        with ba.open_results(out) as ds:
            assert ds.attrs["design"] == "posterior" and int(ds.attrs["samples"]) > 1
            table = ba.predictive_table(ds)
            assert table.equals(ba.outcome_table(ds, pooled=True))
        row = table.set_index("outcome").loc["full_war"]
        assert row["interval"] == "by draw" and row["draws"] == int(ds.attrs["samples"])
        if seed == 1:  # the engine's own line: full_war  p  [lower, upper]  count
            line = next(x for x in done.stdout.splitlines() if x.strip().startswith("full_war"))
            numbers = [float(v) for v in line.replace("[", " ").replace("]", " ").replace(",", " ").split()[1:]]
            assert "95% interval (by draw)" in done.stdout
            assert np.allclose([row["probability"], row["lower"], row["upper"]], numbers[:3], atol=6e-5), (row, line)
            assert row["count"] == numbers[3]
        covered += row["lower"] <= truth <= row["upper"]
    assert covered >= 16, f"the by-draw interval covered the true {truth:.4f} at {covered} of 20 seeds"


def test_f2_clustered_interval_mirrors_the_engine_and_wilson_warns():
    """One cluster: the Wilson interval; clusters that agree: never narrower than Wilson; clusters that
    differ: Korn and Graubard's interval, the Wilson score interval at the effective number of
    replications p(1-p)/V (z/t)^2, solved here from its definition (the bounds q with
    (q - p)^2 = z^2 q (1 - q) / n_eff)."""
    from scipy.optimize import brentq
    from scipy.stats import t as student

    assert np.allclose(ba.clustered_interval([30], [100]), ba.wilson_interval(0.3, 100))
    counts, reps = np.array([40, 55, 62, 47]), np.array([100, 100, 100, 100])
    p = counts.sum() / reps.sum()
    variance = np.sum((counts - p * reps) ** 2) * 4 / 3 / reps.sum() ** 2
    z = 1.959963984540054
    n_eff = p * (1 - p) / variance * (z / student.ppf(0.975, 3)) ** 2
    assert n_eff < reps.sum()
    score = lambda q: (q - p) ** 2 - z * z * q * (1 - q) / n_eff  # noqa: E731
    bounds = (brentq(score, 1e-12, p), brentq(score, p, 1 - 1e-12))
    assert np.allclose(ba.clustered_interval(counts, reps), bounds, atol=1e-9)
    agree = ba.clustered_interval([50, 50, 50], [100, 100, 100])
    assert np.allclose(agree, ba.wilson_interval(0.5, 300))
    doc = " ".join(ba.wilson_interval.__doc__.split())
    assert "posterior" in doc and "predictive_table" in doc and "too narrow" in doc


def _notebook_share():
    import json

    from .conftest import SOURCE_DIR

    nb = json.loads((SOURCE_DIR / "analysis" / "notebooks" / "calibration.ipynb").read_text(encoding="utf-8"))
    source = next("".join(c["source"]) for c in nb["cells"] if "def share(" in "".join(c["source"]))
    start = source.index("def share(")
    end = source.index("\n\n\n", start)
    return source[start:end]


def test_f2_calibration_notebook_share_is_clustered_by_draw():
    """The notebook's share() on a posterior-predictive run with a draw per block: 16 draws whose
    P(hit) is Beta(2, 2) (mean 0.5, the predictive probability), 256 replications each; its
    interval must cover 0.5 in about 95% of 200 such runs (pooled Wilson: about 30%)."""
    namespace = {"np": np, "ba": ba, "POINTS": 16}
    exec(_notebook_share(), namespace)
    share = namespace["share"]
    rng = np.random.default_rng(40)
    covered = 0
    for _ in range(200):
        p = rng.beta(2, 2, size=16)
        hit = rng.random((16, 256)) < p[:, None]
        s = share(hit.ravel(), np.ones(hit.size, bool))
        covered += s["interval_95"][0] <= 0.5 <= s["interval_95"][1]
    assert covered >= 180, f"the notebook's interval covered the truth in {covered} of 200 runs"
    namespace["POINTS"] = 1  # a draw per replication: independent, Wilson
    hit = rng.random(4096) < 0.3
    s = namespace["share"](hit, np.ones(4096, bool))
    assert np.allclose(s["interval_95"], ba.wilson_interval(hit.mean(), 4096))


# F3 --------------------------------------------------------------------------


def test_f3_a_large_qp_is_not_read_as_chance_and_the_docs_do_not_say_drop_it(brink, postures, folder, source_dir):
    """Invade's cost over 3.5-4.5 drives P(full_war) (1 - (1 - q)^30 falls from about 0.6 to 0.3);
    two parameters the model ignores. At 60 points PRIM's restriction of the driver may get a qp
    above 0.05; discover must then say the design cannot tell it from chance, not that chance
    could give it, and the docs must not tell the analyst to drop it."""
    out = folder / "weak.h5"
    _brink(brink, "run", postures[0], "-t", 1, "-s", 3, "-n", 100, "--design", "lhs", "--samples", 60, "--sweep",
           "actors.CHOOSER.actions.invade.cost=3.5:4.5", "--sweep", "actors.OTHER.forces.deployed=1000:5000",
           "--sweep", "actors.OTHER.combat.effectiveness=0.01:0.1", "--set", "run.random_numbers=independent",
           "-o", out, "--overwrite", "-q")
    done = run_module("discover", out, "--outcome", "full_war", "--no-scores")
    assert done.returncode == 0, done.stderr
    assert "chance alone could give" not in done.stdout
    if "qp > 0.05" in done.stdout:
        assert "cannot tell that restriction from chance at this design size" in done.stdout
        assert "does not show that the parameter does not matter" in done.stdout
    text = " ".join((source_dir / "docs" / "analysis.md").read_text(encoding="utf-8").split())
    prim_part = text[text.index("**Chance restrictions.**"):text.index("The trials are the design points in the box")]
    assert "drop it" not in prim_part and "adds no density that chance could not" not in prim_part
    assert "at this design size" in prim_part


# F6 --------------------------------------------------------------------------


def test_f6_to_grid_and_indexed_name_the_valid_parameters(brink, postures, folder):
    out = folder / "grid.h5"
    _brink(brink, "run", postures[0], "-t", 1, "-n", 50, "--sweep", f"{COST}=0.8,1.0,1.2", "--sweep",
           "actors.OTHER.forces.deployed=1000,2000", "-o", out, "--overwrite", "-q")
    with ba.open_results(out) as ds:
        for function in (ba.to_grid, ba.indexed):
            with pytest.raises(ValueError, match=r"'cost' is not a parameter of this file; its parameters: .*"
                                                 r"actors\.CHOOSER\.decision\.weights\.cost"):
                function(ds, parameters=["cost"])


# F5 --------------------------------------------------------------------------


def test_f5_run_writes_progress_lines_into_a_batch_log(brink, source_dir, tmp_path):
    """ba.run() in a batch job (stderr a file) wrote tqdm's bar: carriage-return frames on one line.
    Now the default gives lines there, as brink's own progress does."""
    log = tmp_path / "batch.log"
    code = ("import brink_analysis as ba; "
            f"ba.run({str(source_dir / 'docs' / 'examples' / 'minimal.yaml')!r}, replications=20000, "
            f"output={str(tmp_path / 'r.h5')!r}, binary={str(brink)!r}, threads=1).close()")
    env = {**os.environ, "PYTHONPATH": str(source_dir / "analysis")}
    with open(log, "w") as err:
        done = subprocess.run([sys.executable, "-c", code], stderr=err, stdout=subprocess.DEVNULL, env=env,
                              timeout=TIMEOUT_S)
    text = log.read_text()
    assert done.returncode == 0, text
    assert "\r" not in text and "% done" in text and text.rstrip().endswith("100% done"), text
