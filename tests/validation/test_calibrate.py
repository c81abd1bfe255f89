"""`brink calibrate` (ABC-SMC) through the real CLI, on the conjugate toy
scenarios/validation/calibrate-incidents.yaml: incidents are Binomial(n, p)
with p = 1 - exp(-h·dt), and the exponential prior of rate β on h (dt = 1)
is a Beta(1, β) prior on p, so the posterior of p given the exact count k is
Beta(1 + k, β + n - k). The observation's sd is its measurement error
(docs/calibration.md, "Distance"): the target is the posterior of one world
measured with error, y = count + N(0, sd²), whatever the replications per
particle, computed here on a grid (one_world_posterior, and for two
observations of one world and for a 0/1 outcome likewise).

Tolerances: the ABC posterior at tolerance 0 is exact; what remains is Monte
Carlo error of a weighted sample (sd / sqrt(ESS) for the mean), allowed 4.5
standard errors as in test_validation.py. Every run has a fixed seed, so the
tests are deterministic; the coverage study's bound is a binomial tail of
about 1% for a calibrated 90% interval."""

import math
import re
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

BRINK = os.environ.get("BRINK")
SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
TOY = SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml"
N_STEPS, BETA, K_OBSERVED = 40, 2.0, 12
Z = 4.5


def brink(*args, check=True):
    assert BRINK, "set BRINK to the brink binary"
    proc = subprocess.run([BRINK, *map(str, args)], capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def beta_posterior(k):
    a, b = 1 + k, BETA + N_STEPS - k
    mean = a / (a + b)
    return mean, math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))


GRID = np.linspace(0, 1, 20001)[1:-1]  # p


def binomial_pmf(n, p=GRID):
    """Binomial(k; n, p) for k = 0..n (rows) on the grid of p (columns)."""
    k = np.arange(n + 1)
    return np.array([math.comb(n, int(j)) for j in k], dtype=float)[:, None] \
        * p[None, :] ** k[:, None] * (1 - p[None, :]) ** (n - k[:, None])


def grid_moments(likelihood):
    """Mean and sd of p under the prior Beta(1, β) (the exponential prior on h) times `likelihood` on GRID."""
    density = BETA * (1 - GRID) ** (BETA - 1) * likelihood
    density /= density.sum()
    mean = float(np.sum(density * GRID))
    return mean, math.sqrt(float(np.sum(density * (GRID - mean) ** 2)))


def phi(x):
    return np.exp(-0.5 * np.asarray(x, dtype=float) ** 2)


def one_world_posterior(y=K_OBSERVED, sd=1.0, n=N_STEPS):
    """Mean and sd of p given one realised count measured with error: likelihood
    Σ_k Binomial(k; n, p)·φ((y - k) / sd)."""
    return grid_moments((binomial_pmf(n) * phi((y - np.arange(n + 1)) / sd)[:, None]).sum(axis=0))


def two_readings_posterior(y1, y2, sd=1.0, n=N_STEPS):
    """Two readings of ONE world's count (two sources, each with its own error):
    Σ_k Binomial(k; n, p)·φ((y1 - k) / sd)·φ((y2 - k) / sd)."""
    k = np.arange(n + 1)
    return grid_moments((binomial_pmf(n) * (phi((y1 - k) / sd) * phi((y2 - k) / sd))[:, None]).sum(axis=0))


def independent_readings_posterior(y1, y2, sd=1.0, n=N_STEPS):
    """The same two readings treated as independent (each of its own world): the product of the two
    one-world likelihoods, as a per-observation (diagonal) treatment has it."""
    k = np.arange(n + 1)
    return grid_moments((binomial_pmf(n) * phi((y1 - k) / sd)[:, None]).sum(axis=0)
                        * (binomial_pmf(n) * phi((y2 - k) / sd)[:, None]).sum(axis=0))


def posterior_of_p(path, generation=-1):
    with h5py.File(path, "r") as f:
        h = f["particles"][generation, :, 0]
        w = f["weights"][generation, :]
    p = 1 - np.exp(-h)
    mean = float(np.sum(w * p))
    return p, w, mean, float(math.sqrt(np.sum(w * (p - mean) ** 2)))


def weighted_quantile(values, weights, q):
    order = np.argsort(values)
    cdf = np.cumsum(weights[order]) - 0.5 * weights[order]
    return float(np.interp(q, cdf / cdf[-1], values[order]))


def test_the_one_world_posterior_is_near_the_exact_count_posterior():
    """The grid integrals against closed forms: with a tiny sd the one-world posterior is Beta(13, 30);
    with sd 1 the measurement error widens it a little (sd 0.0729 against 0.0692). Two readings of one
    world's count with a tiny sd are that count alone."""
    for got, exact in zip(one_world_posterior(sd=1e-3), beta_posterior(K_OBSERVED)):
        assert got == pytest.approx(exact, rel=1e-6)
    mean, sd = one_world_posterior()
    assert mean == pytest.approx(0.30152, abs=1e-4) and sd == pytest.approx(0.07290, abs=1e-4)
    for got, exact in zip(two_readings_posterior(12, 12, sd=1e-3), beta_posterior(K_OBSERVED)):
        assert got == pytest.approx(exact, rel=1e-6)


def assert_matches(path, exact_mean, exact_sd, label=""):
    """The last generation's posterior of p against the exact moments, within Z standard errors of a
    weighted sample of size ESS (the sd's relative standard error is about 1/sqrt(2·ESS))."""
    _, w, mean, sd = posterior_of_p(path)
    ess = 1 / np.sum(w ** 2)
    assert abs(mean - exact_mean) < Z * exact_sd / math.sqrt(ess), (label, mean, exact_mean, ess)
    assert abs(sd - exact_sd) < Z * exact_sd / math.sqrt(2 * ess), (label, sd, exact_sd, ess)
    return mean, sd, ess


def test_abc_posterior_matches_the_one_world_posterior_as_the_tolerance_shrinks(tmp_path):
    """R = 1: one simulated count plus N(0, 1) (the observation's sd as measurement error) against
    the observed 12, so the distances are continuous: the tolerance shrinks towards 0 without
    reaching it, and the accepted counts scatter around 12. (Before, R = 1 added no noise: the
    distance was |count - 12|, the tolerance reached 0, every accepted count was 12 and the sd was
    ignored.)"""
    out = tmp_path / "toy.h5"
    proc = brink("calibrate", TOY, "-o", out, "--particles", 600, "--generations", 8, "--threads", 2)
    assert "generation 7/7" in proc.stderr and "ESS" in proc.stderr
    exact_mean, exact_sd = one_world_posterior()
    ds = xr.open_dataset(out, engine="h5netcdf")
    assert dict(ds.sizes) == {"generation": 8, "particle": 600, "parameter": 1, "observation": 1}
    tolerances = ds.tolerances.values
    assert np.isinf(tolerances[0]) and np.all(np.diff(tolerances[1:]) < 0)
    assert 0 < tolerances[-1] < 0.3, tolerances
    errors = []
    for g in range(8):
        _, w, mean, sd = posterior_of_p(out, g)
        errors.append(abs(mean - exact_mean) + abs(sd - exact_sd))
    assert_matches(out, exact_mean, exact_sd)
    assert errors[-1] < errors[1] / 3  # the prior-to-posterior distance shrinks with the tolerance
    # The statistics are the model's counts, without the noise: whole numbers, not all 12.
    counts = ds.statistics.values[-1, :, 0]
    assert np.all(counts == np.round(counts)) and len(np.unique(counts)) > 1
    assert np.all(np.abs(counts - K_OBSERVED) <= 5)
    shown = brink("inspect", out).stdout
    assert "8 of 8 generations complete" in shown and "incidents_by_day_39" in shown and "exponential rate 2" in shown


@pytest.mark.parametrize("replications", [4, 16])
def test_the_posterior_does_not_depend_on_the_replications(tmp_path, replications):
    """R > 1: each replication is one world with its own measurement error, and a particle's weight
    is the share of its worlds within the tolerance, so the target is the one-world posterior at any
    R. (Before, the statistic was the mean of R counts, whose spread shrinks as 1/R: the model's
    run-to-run variation dropped out, sd 0.044 at R = 4 and 0.030 at R = 16 against 0.073.)"""
    out = tmp_path / "toy.h5"
    brink("calibrate", TOY, "-o", out, "--particles", 600, "--generations", 8, "--replications", replications,
          "--threads", 2, "-q")
    with h5py.File(out, "r") as f:
        tolerances = f["tolerances"][()]
        distances = f["distances"][-1]
    # The stored distance is the particle's nearest world: within the tolerance.
    assert np.all(distances <= tolerances[-1]) and 0 < tolerances[-1] < 0.3, tolerances
    assert_matches(out, *one_world_posterior(), label=f"R = {replications}")


def test_two_observations_of_one_world_keep_their_correlation(tmp_path):
    """Two sources read the same world's count of incidents by day 39, as 11 and 13, each with sd 1
    (incidents can be observed only on the last observed day, so the correlated pair is two readings
    of one count rather than counts on two days). The exact likelihood is
    Σ_k Binomial(k; 40, p)·φ(11 - k)·φ(13 - k): one count, read twice. Each world's distance reads both
    observations of that world, so the fit is the exact one at R = 16. Treated as independent (each
    observation its own world, as a diagonal synthetic likelihood has it) the binomial spread would
    count twice: posterior sd 0.053 instead of 0.071, more than the test's tolerance apart, so the
    test tells them apart."""
    text = TOY.read_text().replace("    value: 12\n", "    value: 11\n").replace(
        "observations:\n", "observations:\n  incidents_by_day_39_second_source: {quantity: incidents, "
        "date: 2022-02-09, value: 13, sd: 1, source: \"synthetic\"}\n")
    scenario = tmp_path / "two.yaml"
    scenario.write_text(text)
    out = tmp_path / "two.h5"
    brink("calibrate", scenario, "-o", out, "--particles", 1000, "--generations", 8, "--replications", 16,
          "--threads", 2, "-q")
    exact_mean, exact_sd = two_readings_posterior(11, 13)
    _, _, ess = assert_matches(out, exact_mean, exact_sd)
    _, independent_sd = independent_readings_posterior(11, 13)
    assert abs(independent_sd - exact_sd) > Z * exact_sd / math.sqrt(2 * ess), (independent_sd, exact_sd, ess)


def test_a_zero_one_outcome_is_fitted_as_one_world(tmp_path):
    """An incident on day 0 (one step: a 0/1 outcome, probability p) observed as 1 with sd 0.1: the
    exact likelihood p·φ((1 - 1)/0.1) + (1 - p)·φ(1/0.1), about p, so the posterior is about Beta(2, 2)
    (mean 0.5, sd 0.224) at R = 16. (Before, the mean of 16 outcomes had to be near 1: mean 0.9; a
    Gaussian synthetic likelihood gives 0.544.)"""
    base = TOY.read_text()
    text = base[: base.index("observations:")] + """observations:
  incident_on_day_0: {quantity: incidents, day: 0, value: 1, sd: 0.1, source: "synthetic"}
""" + base[base.index("calibrate:"):]
    scenario = tmp_path / "one.yaml"
    scenario.write_text(text)
    out = tmp_path / "one.h5"
    brink("calibrate", scenario, "-o", out, "--particles", 1000, "--generations", 6, "--replications", 16,
          "--threads", 2, "-q")
    y, sd = 1.0, 0.1
    exact_mean, exact_sd = grid_moments(GRID * phi((y - 1) / sd) + (1 - GRID) * phi(y / sd))
    assert exact_mean == pytest.approx(0.5, abs=1e-6) and exact_sd == pytest.approx(math.sqrt(0.05), abs=1e-6)
    assert_matches(out, exact_mean, exact_sd)


def test_credible_intervals_cover_the_truth_at_their_nominal_rate(tmp_path):
    rng = np.random.default_rng(2026)
    text = TOY.read_text()
    covered, runs = 0, 16
    for i in range(runs):
        p_true = rng.beta(1, BETA)  # the truth drawn from the prior: Bayesian coverage is then exact
        k = int(rng.binomial(N_STEPS, p_true))
        scenario = tmp_path / f"toy{i}.yaml"
        scenario.write_text(text.replace(f"value: {K_OBSERVED}", f"value: {k}"))
        out = tmp_path / f"toy{i}.h5"
        brink("calibrate", scenario, "-o", out, "--particles", 300, "--generations", 6, "--seed", 100 + i, "-q")
        p, w, _, _ = posterior_of_p(out)
        lo, hi = weighted_quantile(p, w, 0.05), weighted_quantile(p, w, 0.95)
        covered += lo <= p_true <= hi
    # P(Binomial(16, 0.9) <= 11) = 1.7%: a calibrated 90% interval rarely covers fewer.
    assert covered >= 12, f"90% intervals covered the truth in {covered} of {runs} calibrations"


def test_calibration_is_the_same_bits_for_any_thread_count_and_after_resume(tmp_path):
    args = ["--particles", 150, "--generations", 4, "-q"]
    brink("calibrate", TOY, "-o", tmp_path / "t1.h5", "--threads", 1, *args)
    brink("calibrate", TOY, "-o", tmp_path / "t2.h5", "--threads", 2, *args)
    brink("calibrate", TOY, "-o", tmp_path / "g2.h5", "--particles", 150, "--generations", 2, "-q")
    (tmp_path / "g2.h5").rename(tmp_path / "r.h5.partial")
    proc = brink("calibrate", TOY, "-o", tmp_path / "r.h5", "--resume", *args[:-1])
    assert "(resumed) generation 1/3" in proc.stderr
    with h5py.File(tmp_path / "t1.h5") as a, h5py.File(tmp_path / "t2.h5") as b, h5py.File(tmp_path / "r.h5") as r:
        for name in ("particles", "weights", "distances", "tolerances", "proposed"):
            assert np.array_equal(a[name][()], b[name][()]), name
            assert np.array_equal(a[name][()], r[name][()]), name


def test_a_fresh_run_refuses_an_interrupted_calibration(tmp_path):
    brink("calibrate", TOY, "-o", tmp_path / "g.h5", "--particles", 50, "--generations", 1, "-q")
    (tmp_path / "g.h5").rename(tmp_path / "x.h5.partial")
    proc = brink("calibrate", TOY, "-o", tmp_path / "x.h5", "-q", check=False)
    assert proc.returncode == 2 and "--resume" in proc.stderr
    proc = brink("calibrate", TOY, "-o", tmp_path / "x.h5", "-q", "--resume", "--replications", 2, check=False)
    assert proc.returncode == 2 and "other settings" in proc.stderr
    # A partial file that already holds more generations than asked for: a
    # final file of 3 generations with --generations 1 would contradict itself.
    brink("calibrate", TOY, "-o", tmp_path / "g3.h5", "--particles", 50, "--generations", 3, "-q")
    (tmp_path / "g3.h5").rename(tmp_path / "y.h5.partial")
    proc = brink("calibrate", TOY, "-o", tmp_path / "y.h5", "-q", "--resume", "--particles", 50, "--generations", 1,
                 check=False)
    assert proc.returncode == 2 and "already holds 3 complete generations, more than --generations 1" in proc.stderr
    assert not (tmp_path / "y.h5").exists() and (tmp_path / "y.h5.partial").exists()


def test_posterior_predictive_run_gives_every_replication_its_own_draw(tmp_path):
    out = tmp_path / "toy.h5"
    brink("calibrate", TOY, "-o", out, "--particles", 400, "--generations", 6, "-q")
    posterior_yaml = tmp_path / "toy.posterior.yaml"
    assert posterior_yaml.exists()
    assert brink("validate", posterior_yaml).returncode == 0
    run = tmp_path / "run.h5"
    proc = brink("run", posterior_yaml, "--posterior", out, "-n", 25600, "-o", run)
    assert "1 point (posterior), 25600 replications" in proc.stdout, proc.stdout
    ds = xr.open_dataset(run, engine="h5netcdf")
    # The CF time coordinate from run.start_date, beside the numeric day.
    assert str(ds.time.values[0])[:10] == "2022-01-01" and str(ds.time.values[39])[:10] == "2022-02-09"
    assert ds.day.values[39] == 39
    # Every replication carries its own draw, as a coordinate on (point, replication).
    h = ds.escalation_incidents_base_rate
    assert h.dims == ("point", "replication") and "escalation_incidents_base_rate" in ds.incidents.coords
    h = h.values.ravel()
    with h5py.File(out, "r") as f:
        particles = f["particles"][-1, :, 0]
    assert np.isin(h, particles).all() and len(np.unique(h)) > 100
    # The predictive of the count over the 40 steps (the draws integrate over the one-world posterior):
    # mean n·E[p], variance n·E[p(1 - p)] + n²·Var[p] ...
    p_mean, p_sd = one_world_posterior()
    mean = N_STEPS * p_mean
    var = N_STEPS * (p_mean - p_sd**2 - p_mean**2) + N_STEPS**2 * p_sd**2
    counts = ds.incidents.values.ravel().astype(float)
    assert abs(counts.mean() - mean) < Z * math.sqrt(var / counts.size) + 0.3, (counts.mean(), mean)
    assert abs(counts.var() - var) < 0.15 * var, (counts.var(), var)
    # ... and given its draw, each replication's count is Binomial(n, 1 - exp(-h)): the lanes used their own rate.
    p = 1 - np.exp(-h)
    residual = (counts - N_STEPS * p) / np.sqrt(N_STEPS * p * (1 - p))
    assert abs(residual.mean()) < Z / math.sqrt(counts.size), residual.mean()
    assert abs(residual.var() - 1) < 0.05, residual.var()
    slope = np.polyfit(p, counts, 1)[0]
    assert abs(slope - N_STEPS) < 0.1 * N_STEPS, slope
    # The analysis package gives the draws as a table, the same values as the coordinate.
    import brink_analysis as ba
    table = ba.replication_parameters(ba.open_results(run))
    assert list(table.columns) == ["escalation.incidents.base_rate"] and len(table) == 25600
    assert (table["escalation.incidents.base_rate"].to_numpy() == h).all()
    with pytest.raises(ValueError, match="no parameter values per replication"):  # not an empty table
        ba.replication_parameters(ds.drop_vars("escalation_incidents_base_rate"))
    # The same draws on every run with the seed; the file records the draws, not only the points.
    again = tmp_path / "again.h5"
    brink("run", posterior_yaml, "--posterior", out, "-n", 25600, "-o", again, "-q")
    with xr.open_dataset(again, engine="h5netcdf") as ds2:
        assert (ds2.escalation_incidents_base_rate.values.ravel() == h).all()
        assert (ds2.incidents.values == ds.incidents.values).all()
    # --posterior-draws K: K sweep points instead, the replications split evenly.
    proc = brink("run", posterior_yaml, "--posterior", out, "--posterior-draws", 100, "-n", 25600,
                 "-o", tmp_path / "points.h5")
    assert "100 points (posterior), 256 replications per point" in proc.stdout
    # The table pools the points, and its heading says so (it said "point 0 (25600 replications)").
    assert "100 points pooled (25600 replications)" in proc.stdout and "point 0 (" not in proc.stdout
    with xr.open_dataset(tmp_path / "points.h5", engine="h5netcdf") as points:
        assert points.sizes["point"] == 100 and points.escalation_incidents_base_rate.dims == ("point",)
    for options in (["--sweep", "escalation.incidents.base_rate=0.1,0.2"], ["--design", "lhs", "--samples", 4],
                    ["--lever", "escalation.tension.decay=0.1,0.2"], ["--sensitivity"]):
        bad = brink("run", posterior_yaml, "--posterior", out, *options, "-o", tmp_path / "bad.h5", check=False)
        assert bad.returncode == 2 and "cannot be combined with --sweep, --lever" in bad.stderr, (options, bad.stderr)
        assert not (tmp_path / "bad.h5").exists()
    bad = brink("run", posterior_yaml, "--posterior", tmp_path / "nothing.h5", "-o", tmp_path / "bad.h5", check=False)
    assert bad.returncode == 2 and "nothing.h5" in bad.stderr
    bad = brink("run", posterior_yaml, "--posterior", run, "-o", tmp_path / "bad.h5", check=False)
    assert bad.returncode == 2 and "not a calibration file" in bad.stderr


BAD = [
    ("observations:\n  x: {quantity: forces, actor: ZZZ, day: 3, value: 1, sd: 1, source: s}\n", "unknown actor 'ZZZ'"),
    ("observations:\n  x: {quantity: incidents, date: 2022-01-05, value: 1, sd: 1}\n", "missing required key 'source'"),
    ("observations:\n  x: {quantity: incidents, day: 3, value: 1, source: s}\n", "needs exactly one uncertainty"),
    # A day past the horizon is refused by `brink calibrate` alone (tests/cli/test_calibrate_inputs.py).
    ("observations:\n  x: {quantity: incidents, day: -3, value: 1, sd: 1, source: s}\n", "before day 0"),
    ("observations:\n  x: {quantity: war_started, day: 3, value: 2, sd: 1, source: s}\n", "must be true or false"),
    ("observations:\n  x: {quantity: forces, actor: A, date: 2022-02-30, value: 1, sd: 1, source: s}\n",
     "must be an ISO date"),
    ("calibrate:\n  parameters:\n    escalation.incidents.base_rate: {prior: uniform, min: 0, max: 500}\n",
     "leaves the field's range"),
    ("calibrate:\n  parameters:\n    escalation.incidents.bse_rate: {prior: uniform, min: 0, max: 1}\n",
     "did you mean 'escalation.incidents.base_rate'"),
    ("calibrate:\n  parameters:\n    escalation.incidents.base_rate: {prior: normal, mean: 1}\n",
     "missing required key 'sd'"),
]


@pytest.mark.parametrize("block,message", BAD)
def test_bad_observations_and_priors_are_refused_at_their_line(tmp_path, block, message):
    base = TOY.read_text()
    cut = base.index("observations:")
    text = base[:cut] + block
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(text)
    proc = brink("validate", scenario, check=False)
    assert proc.returncode == 2, proc.stdout
    line = text[: text.rindex(block)].count("\n") + 2  # the entry's line
    assert f"bad.yaml:{line}:" in proc.stderr or f"bad.yaml:{line + 1}:" in proc.stderr, proc.stderr
    assert message in proc.stderr, proc.stderr


def test_prior_corners_are_checked_against_the_rules(tmp_path):
    text = TOY.read_text().replace("    forces: {deployed: 1000}\n  B:", "    forces: {deployed: 1000, deployed_cap: 1500}\n  B:")
    text = text.replace("    escalation.incidents.base_rate: {prior: exponential, rate: 2}",
                        "    escalation.incidents.base_rate: {prior: exponential, rate: 2}\n"
                        "    actors.A.forces.deployed: {prior: uniform, min: 500, max: 2000}")
    scenario = tmp_path / "corner.yaml"
    scenario.write_text(text)
    proc = brink("calibrate", scenario, "-o", tmp_path / "c.h5", check=False)
    assert proc.returncode == 2
    line = text[: text.index("    actors.A.forces.deployed:")].count("\n") + 1
    assert f"corner.yaml:{line}:" in proc.stderr and "deployed_cap" in proc.stderr, proc.stderr


def test_a_killed_calibration_resumes_to_the_same_bits(tmp_path):
    import signal
    args = [BRINK, "calibrate", str(TOY), "--particles", "400", "--generations", "7", "--threads", "2"]
    proc = subprocess.Popen([*args, "-o", str(tmp_path / "k.h5")], stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:  # killed as soon as generation 1 is in the partial file
        if line.startswith("generation 1/6"):
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.stderr.read()
    proc.wait(timeout=60)
    assert proc.returncode == 1 and "interrupted" in rest and "continue with --resume" in rest, rest
    with h5py.File(tmp_path / "k.h5.partial") as f:
        kept = f["tolerances"].shape[0]
    assert 2 <= kept < 7
    brink(*args[1:], "-o", tmp_path / "k.h5", "--resume", "-q")
    brink(*args[1:], "-o", tmp_path / "whole.h5", "-q")
    with h5py.File(tmp_path / "k.h5") as a, h5py.File(tmp_path / "whole.h5") as b:
        for name in ("particles", "weights", "distances", "statistics"):
            assert np.array_equal(a[name][()], b[name][()]), name


def test_forces_rung_and_war_observations_read_the_simulated_state(tmp_path):
    # Decisions off and no posture terms: A keeps its 1,000 troops, the ladder
    # stays on 'tense' (incidents never escalate) and no war starts.
    extra = """  a_deployed_day_0: {quantity: forces, actor: A, day: 0, value: 1000, sd: 10, source: s}
  a_total_day_7: {quantity: forces, actor: A, pool: total, day: 7, value: 1000, sd: 10, source: s}
  tense_by_day_5: {quantity: rung, rung: tense, day: 5, value: true, sd: 0.1, source: s}
  limited_by_day_5: {quantity: rung, rung: limited, day: 5, value: false, sd: 0.1, source: s}
  no_war_by_day_9: {quantity: war_started, day: 9, value: false, sd: 0.1, source: s}
"""
    text = TOY.read_text().replace("observations:\n", "observations:\n" + extra)
    scenario = tmp_path / "obs.yaml"
    scenario.write_text(text)
    out = tmp_path / "obs.h5"
    brink("calibrate", scenario, "-o", out, "--particles", 50, "--generations", 2, "--replications", 8, "-q")
    ds = xr.open_dataset(out, engine="h5netcdf")
    stats = ds.statistics.isel(generation=-1)
    expected = {"a_deployed_day_0": 1000, "a_total_day_7": 1000, "tense_by_day_5": 1, "limited_by_day_5": 0,
                "no_war_by_day_9": 0}
    for name, value in expected.items():
        assert np.all(stats.sel(observation=name).values == value), name


MEASURED = """brink: 1
name: measured
run: {horizon_days: 5, dt_days: 1, replications: 100, seed: 11, decisions: false}
actors:
  A: {forces: {deployed: 1000}}
  B: {forces: {deployed: 1000}}
relations: {adversaries: [[A, B]]}
escalation: {rungs: [calm, tense, limited, full, wider], initial_rung: calm, limited_war: limited, full_war: full,
             alliance_war: wider, incidents: {base_rate: 0}}
observations:
  a_day0: {quantity: forces, actor: A, day: 0, value: 56000, sd: 5000, source: synthetic}
calibrate:
  particles: 1000
  generations: 8
  replications: 16
  parameters:
    actors.A.forces.deployed: {prior: uniform, min: 0, max: 100000}
"""


@pytest.mark.parametrize("replications", [1, 16])
def test_the_sd_is_the_observations_measurement_error_at_any_replications(tmp_path, replications):
    """Day-0 deployed forces are the parameter itself, so every world gives the same value; the
    observation y = 56,000 with sd 5,000 under a flat prior then has the posterior N(y, sd²)
    (Wilkinson 2013: the sd as measurement error), at any R. Before the error was modelled
    (noisy ABC), the posterior shrank towards the exact fit with the tolerance: sd about 200; and
    while the noise was added only when R > 1, R = 1 still did (sd 183)."""
    scenario = tmp_path / "measured.yaml"
    scenario.write_text(MEASURED.replace("replications: 16", f"replications: {replications}"))
    out = tmp_path / "measured.h5"
    brink("calibrate", scenario, "-o", out, "-q", "--threads", 2)
    with h5py.File(out, "r") as f:
        x, w = f["particles"][-1, :, 0], f["weights"][-1, :]
        final_tolerance = float(f["tolerances"][-1])
        # The statistics are the model's (no noise): every particle's equals its parameter.
        np.testing.assert_allclose(f["statistics"][-1, :, 0], x, rtol=1e-6)
    ess = 1 / np.sum(w**2)
    mean = float(np.sum(w * x))
    sd = math.sqrt(np.sum(w * (x - mean) ** 2))
    assert final_tolerance < 0.2
    # A tolerance ε widens the posterior by about ε²/3 in variance: negligible here.
    assert abs(mean - 56000) < Z * 5000 / math.sqrt(ess), (mean, ess)
    assert abs(sd - 5000) < Z * 5000 / math.sqrt(2 * ess), (sd, ess)


def test_posterior_scenario_keeps_the_calibrations_settings_and_unshares_anchors(tmp_path):
    """The posterior scenario is the model the particles were fitted to: the calibration's --set
    values are in it, and a posterior mean set through a YAML anchor changes that path alone
    (B shares A's forces by an alias; writing through it used to start B at A's posterior mean)."""
    import yaml

    text = MEASURED.replace("  A: {forces: {deployed: 1000}}\n  B: {forces: {deployed: 1000}}\n",
                            "  A: {forces: &f {deployed: 1000, ready: 500}}\n  B: {forces: *f}\n")
    assert "*f" in text
    scenario = tmp_path / "anchored.yaml"
    scenario.write_text(text.replace("particles: 1000", "particles: 100").replace("generations: 8", "generations: 2"))
    out = tmp_path / "anchored.h5"
    brink("calibrate", scenario, "-o", out, "-q", "--set", "escalation.incidents.base_rate=0.25",
          "--set", "combat.law=linear")
    posterior = yaml.safe_load((tmp_path / "anchored.posterior.yaml").read_text())
    with h5py.File(out, "r") as f:
        x, w = f["particles"][-1, :, 0], f["weights"][-1, :]
    assert posterior["actors"]["A"]["forces"]["deployed"] == pytest.approx(float(np.sum(w * x)), rel=1e-12)
    assert posterior["actors"]["B"]["forces"] == {"deployed": 1000, "ready": 500}
    assert posterior["escalation"]["incidents"]["base_rate"] == 0.25 and posterior["combat"]["law"] == "linear"
    assert "calibrate" not in posterior


def test_a_calibration_stopped_by_the_file_size_limit_keeps_its_generations_and_resumes(tmp_path):
    """Each generation rewrites the partial file beside it and renames it. A write cut off by the
    file size limit (or a full disk) used to go unseen: HDF5 wrote the dimension scales when their
    handles closed after the file's own close had returned, so a truncated file replaced the
    calibration with exit 0. Now the write fails, the staging file goes, and the partial file
    keeps the generations before it, from which --resume finishes the same bits."""
    import resource
    args = ["calibrate", str(TOY), "--particles", "1500", "--generations", "5", "-q", "-t", "1"]
    whole = tmp_path / "whole.h5"
    brink(*args, "-o", whole)
    limit = whole.stat().st_size * 3 // 5

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    out = tmp_path / "cut.h5"
    failed = subprocess.run([BRINK, *args, "-o", str(out)], preexec_fn=limit_file_size, capture_output=True,
                            text=True, timeout=300)
    assert failed.returncode == 1 and "EFBIG" in failed.stderr, failed.stderr
    match = re.search(r"keeps (\d+) complete generations?, continue with --resume", failed.stderr)
    assert match, failed.stderr
    assert not out.exists() and not Path(f"{out}.partial.tmp").exists()
    with h5py.File(f"{out}.partial") as f:  # a whole file, checksums and all
        assert f["particles"].shape[0] == int(match.group(1)) >= 1
        f["particles"][()]
    brink(*args, "-o", out, "--resume")
    with h5py.File(out) as a, h5py.File(whole) as b:
        for name in ("particles", "weights", "distances", "statistics", "tolerances"):
            assert np.array_equal(a[name][()], b[name][()]), name


def test_a_failed_write_of_any_variable_is_seen_and_the_calibration_resumes(tmp_path):
    """An I/O error on one write of the final generation's file (injected with strace on each
    of its last writes in turn) was unseen where HDF5 wrote a variable's chunk as the dataset
    closed: exit 0 and a published file whose particles, or weights, ..., read as zeros. Each
    injection must give either the whole result or a failure that publishes nothing, and --resume
    must then finish the same bits."""
    import shutil
    strace = shutil.which("strace")
    if strace is None or subprocess.run([strace, "-o", "/dev/null", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs strace, allowed to trace (scripts/setup.sh installs it)")
    args = ["calibrate", str(TOY), "--particles", "300", "--generations", "3", "-q", "-t", "1"]
    whole = tmp_path / "whole.h5"
    brink(*args, "-o", whole)
    log = tmp_path / "writes.log"
    subprocess.run([strace, "-f", "-qq", "-e", "trace=pwrite64", "-o", str(log), BRINK, *args, "-o",
                    str(tmp_path / "counted.h5")], check=True, capture_output=True, timeout=300)
    writes = [line for line in log.read_text().splitlines() if "pwrite64(" in line]
    # Each generation rewrites the whole file; HDF5 writes the superblock last on closing it,
    # its status byte then 0: the final file's writes follow the last but one such write.
    closes = [i for i, line in enumerate(writes) if "\\211HDF\\r\\n\\32\\n\\3\\10\\10\\0" in line]
    assert len(closes) >= 3 and closes[-1] == len(writes) - 1, closes
    first = closes[-2] + 2  # strace counts calls from 1
    assert len(writes) - first > 20
    failures = 0
    for when in range(first, len(writes) + 1):
        out = tmp_path / f"cut{when}.h5"
        proc = subprocess.run([strace, "-f", "-qq", "-o", "/dev/null", "-e",
                               f"inject=pwrite64:error=EIO:when={when}", BRINK, *args, "-o", str(out)],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode == 0:
            with h5py.File(out) as a, h5py.File(whole) as b:
                for name in a:
                    if isinstance(a[name], h5py.Dataset):
                        assert np.array_equal(a[name][()], b[name][()]), (when, name)
            continue
        failures += 1
        assert proc.returncode == 1 and "Input/output error" in proc.stderr, (when, proc.stderr)
        assert not out.exists(), (when, proc.stderr)
        brink(*args, "-o", out, "--resume")
        with h5py.File(out) as a, h5py.File(whole) as b:
            for name in ("particles", "weights", "distances", "statistics", "tolerances", "acceptance"):
                assert np.array_equal(a[name][()], b[name][()]), (when, name)
    assert failures >= 10
