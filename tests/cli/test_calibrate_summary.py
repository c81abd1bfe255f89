"""What `brink calibrate` says of its posterior, on an outside tester's findings (round 35): a
ridge between two parameters named (their means together need not fit) and the posterior scenario
called what it is, one parameter set and not the posterior; a quantile observation at too few
replications warned; a resumed calibration's closing line about its own run; the advice of the
data-prior conflict; and the 'not informed' marks qualified while the tolerance is still loose.

Scenarios are the conjugate toy (scenarios/validation/calibrate-incidents.yaml) with edits; each
calibration takes well under a second."""

import re

import h5py
import pytest

from test_calibrate_inputs import with_observation

UNIFORM = "escalation.incidents.base_rate: {prior: uniform, min: 0.05, max: 1.0}"
EXPONENTIAL = "escalation.incidents.base_rate: {prior: exponential, rate: 2}"


@pytest.fixture(scope="module")
def toy(source_dir):
    text = (source_dir / "scenarios" / "validation" / "calibrate-incidents.yaml").read_text(encoding="utf-8")
    assert EXPONENTIAL in text and "incidents: {base_rate: 0.3}" in text
    return text


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def header_of(posterior):
    return posterior.read_text(encoding="utf-8").split("\nbrink:", 1)[0]


RIDGE = re.compile(r"escalation\.incidents\.tension_rate and escalation\.tension\.initial are rank-correlated in the "
                   r"posterior \(rho = (-?[\d.]+)\): the observations inform a combination of them, and their means "
                   r"together need not fit; forecast with brink run (\S+) --posterior (\S+)")


def test_a_ridge_is_named_and_the_posterior_scenario_says_it_holds_the_means(run, toy, tmp_path):
    """The hazard is tension_rate x tension.initial (no base rate, tension constant): 12 incidents
    in 40 days fix the product, not the pair, and the posterior lies on the ridge r·T ≈ 0.38, the
    marginals almost as wide as their priors. The pair's means (0.49 and 2.4, product 1.2) gave 28
    incidents against the 12 observed, and nothing said so. Now the table, `inspect` and the
    posterior scenario's header name the pair with its weighted rank correlation, and the file and
    calibrate's last line say that the file is the means, not the posterior, with the forecast's
    command. Two parameters the posterior leaves independent get no such line."""
    ridge = toy.replace("incidents: {base_rate: 0.3}",
                        "incidents: {base_rate: 0, tension_rate: 0.3}\n  tension: {initial: 1.0, decay: 0}").replace(
        EXPONENTIAL, "escalation.incidents.tension_rate: {prior: uniform, min: 0.01, max: 2.0}\n"
                     "    escalation.tension.initial: {prior: uniform, min: 0.01, max: 10.0}")
    independent = toy.replace("incidents: {base_rate: 0.3}", "incidents: {base_rate: 0.3, tension_rate: 0}").replace(
        EXPONENTIAL, UNIFORM + "\n    escalation.tension.decay: {prior: uniform, min: 0, max: 1}")
    for name, text, tied in (("ridge", ridge, True), ("independent", independent, False)):
        out = tmp_path / f"{name}.h5"
        posterior = tmp_path / f"{name}.posterior.yaml"
        proc = run("calibrate", write(tmp_path, f"{name}.yaml", text), "-o", out, "-t", 1, "--particles", 400,
                   "--generations", 6)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[-1] == (f"{posterior} holds the posterior means, one parameter set, not the posterior: run alone "
                             f"it is not the posterior forecast, which is brink run {posterior} --posterior {out}")
        header = header_of(posterior)
        assert "one parameter set, not the posterior" in header and f"#   brink run {posterior} --posterior {out}\n" \
            in header, header
        shown = run("inspect", out).stdout
        for text_shown in (proc.stdout, shown, header):
            found = RIDGE.search(text_shown)
            if not tied:
                assert "rank-correlated" not in text_shown, text_shown
                continue
            assert found, text_shown
            assert found.group(2) == str(posterior) and found.group(3) == str(out)
            assert -1 <= float(found.group(1)) <= -0.9, found.group(0)
        if tied:
            assert "# escalation.incidents.tension_rate and escalation.tension.initial are rank-correlated" in header


QUANTILE = "{quantity: incidents, day: 39, value: 16, sd: 1, quantile: 0.9, source: s}"


def test_a_quantile_observation_at_few_replications_is_warned(run, toy, tmp_path):
    """The empirical 0.9 quantile of R worlds is a biased estimate of the model's: the tester's
    posterior mean was 0.547 at R = 1, 0.431 at 4, 0.386 at 16 and 0.373 at 64 against 0.367 (sd
    0.035), exit 0 and no word. Below 64 replications a calibration with a quantile observation now
    says so on stderr, even with -q; at 64 it does not, nor does one without quantile observations."""
    quantile = write(tmp_path, "q.yaml", with_observation(toy.replace(EXPONENTIAL, UNIFORM), QUANTILE))
    mean = write(tmp_path, "m.yaml", toy.replace(EXPONENTIAL, UNIFORM))
    for scenario, replications, warned in ((quantile, 4, True), (quantile, 64, False), (mean, 4, False)):
        out = tmp_path / f"{scenario.stem}{replications}.h5"
        proc = run("calibrate", scenario, "-o", out, "-q", "-t", 1, "--particles", 50, "--generations", 2,
                   "--replications", replications)
        assert proc.returncode == 0, proc.stderr
        if not warned:
            assert proc.stderr == "", (scenario, replications, proc.stderr)
            continue
        assert proc.stderr == (
            "brink calibrate: warning: observation 'x' (the 0.9 quantile) compares a quantile of each particle's 4 "
            "replications with the record; the quantile of so few worlds is a biased estimate of the model's, so the "
            "posterior depends on --replications (a 0.9 quantile's posterior mean lay 5 posterior sd off at 1 "
            "replication, 0.5 at 16, 0.2 at 64): give --replications 64 or more (docs/calibration.md, \"What R does "
            "to the posterior\")\n"), proc.stderr


CLOSING = re.compile(r"^wrote \S+ and \S+ in ([\d.]+) s \(([\d.e+]+) replication-steps, [\d.e+]+ per second on 1 "
                     r"thread(?:; ([\d.e+]+) lane-steps with the blocks' padding)?; (\d+) generations? simulated, "
                     r"(\d+) kept from the partial\)$", re.M)


def test_a_resumed_calibration_reports_its_own_run(run, toy, tmp_path):
    """After --resume the closing line gave the whole calibration's seconds and replication-steps
    (23 s for a 0.25 s resume that simulated nothing). It now gives this run's, and how many
    generations it simulated and kept from the partial, as `brink run --resume` does."""
    scenario = write(tmp_path, "t.yaml", toy)
    first = tmp_path / "first.h5"
    assert run("calibrate", scenario, "-o", first, "-q", "-t", 1, "--particles", 200, "--generations", 3).returncode == 0
    with h5py.File(first) as f:
        steps_before = float(f.attrs["lane_steps"])
    for generations, simulated in ((5, 2), (3, 0)):
        out = tmp_path / f"r{generations}.h5"
        (tmp_path / f"r{generations}.h5.partial").write_bytes(first.read_bytes())
        proc = run("calibrate", scenario, "-o", out, "-t", 1, "--particles", 200, "--generations", generations,
                   "--resume")
        assert proc.returncode == 0, proc.stderr
        found = CLOSING.search(proc.stdout)
        assert found, proc.stdout
        with h5py.File(out) as f:
            steps_after = float(f.attrs["lane_steps"])
            candidates = float(f["proposed"][3:].sum())
        assert int(found.group(4)) == simulated and int(found.group(5)) == 3, found.group(0)
        # Replication-steps: this run's candidates x 1 replication x 40 steps; the lane-steps beside them.
        assert float(found.group(2)) == pytest.approx(candidates * 40, rel=1e-3), found.group(0)
        lanes = float(found.group(3) or found.group(2))
        assert lanes == pytest.approx(steps_after - steps_before, rel=1e-3), found.group(0)
        if simulated == 0:
            assert float(found.group(2)) == 0 and steps_after == steps_before


def test_a_conflict_no_prior_can_resolve_does_not_lead_with_widening_them(run, toy, tmp_path):
    """50 incidents in 40 steps of 1 day: at most 40 for any rate, so widening the priors cannot help,
    and the warning's advice led with 'widen them'."""
    scenario = write(tmp_path, "i.yaml", toy.replace("value: 12", "value: 50").replace(EXPONENTIAL, UNIFORM))
    proc = run("calibrate", scenario, "-o", tmp_path / "i.h5", "-q", "-t", 1, "--particles", 100, "--generations", 3)
    assert proc.returncode == 0, proc.stderr
    assert "a data-prior conflict" in proc.stderr and "so widen them" not in proc.stderr, proc.stderr
    assert ("widen the priors if the record lies beyond them, or check that the model can produce the observation at "
            "all (an incidents count can be at most one per step)") in proc.stderr, proc.stderr


LOOSE = re.compile(r"at a last tolerance of ([\d.]+) \(above 3, 3 sd per observation over 1 observation\) the "
                   r"generations have not yet narrowed the posterior to the observations' noise: it is wider than the "
                   r"data imply, and the 'not informed' marks are not yet meaningful; run more generations")


def test_not_informed_marks_are_qualified_while_the_tolerance_is_loose(run, toy, tmp_path):
    """12 incidents in 40 days inform the base rate (exact posterior sd 0.114 against the prior's
    0.274), but a calibration stopped at a tolerance of 11.6 standardized units for one observation
    marked it 'not informed'. Above 3 sd per observation (the data-prior conflict's scale) the table,
    `inspect` and the posterior scenario now say the marks are not yet meaningful; once the
    tolerance has come down the rate is informed and nothing is said."""
    scenario = write(tmp_path, "u.yaml", toy.replace(EXPONENTIAL, UNIFORM))
    for name, extra, loose in (("loose", ["--quantile", 0.95, "--generations", 2], True),
                               ("tight", ["--generations", 6], False)):
        out = tmp_path / f"{name}.h5"
        proc = run("calibrate", scenario, "-o", out, "-t", 1, "--particles", 500, *extra)
        assert proc.returncode == 0, proc.stderr
        with h5py.File(out) as f:
            tolerance = float(f["tolerances"][-1])
        texts = (proc.stdout, run("inspect", out).stdout, header_of(out.with_suffix(".posterior.yaml")))
        for text in texts:
            marked = "not informed (on the prior's probability scale" in text
            found = LOOSE.search(text)
            if not loose:
                assert tolerance < 3 and not marked and not found, text
                continue
            assert tolerance > 3 and marked and found, text
            assert float(found.group(1)) == pytest.approx(tolerance, rel=1e-2)


# An outside tester's deterministic build-up D(t) = D0 + g t, one reading of D0 with a tiny sd.
TINY_SD = """brink: 1
name: lin-forces
run: {horizon_days: 40, dt_days: 1, replications: 4, seed: 3, decisions: false, start_date: 2022-01-01}
actors:
  A:
    forces: {deployed: 100000, ready: 1000000, reserve: 0, deployment_rate: 100000, mobilization_rate: 0,
             deployed_cap: 10000000}
    posture: {reaction: 0, fatigue: 0, grievance: 250}
  B:
    forces: {deployed: 1000}
relations:
  adversaries: [[A, B]]
escalation:
  rungs: [calm, tense, limited, full, wider]
  initial_rung: calm
  limited_war: limited
  full_war: full
  alliance_war: wider
  incidents: {base_rate: 0, tension_rate: 0, contact_rate: 0}
observations:
  first_a: {quantity: forces, actor: A, day: 0, value: 100500, sd: 0.001, source: "synthetic"}
  first_b: {quantity: forces, actor: A, date: 2022-01-01, value: 99000, sd: 2000, source: "synthetic"}
  mid:     {quantity: forces, actor: A, day: 20.7, value: 105500, sd: 1500, source: "synthetic"}
  last:    {quantity: forces, actor: A, day: 39.999, value: 110000, sd: 1500, source: "synthetic"}
calibrate:
  particles: 1000
  replications: 1
  parameters:
    actors.A.posture.grievance: {prior: uniform, min: -1000, max: 1000}
    actors.A.forces.deployed: {prior: uniform, min: 50000, max: 150000}
"""


def test_a_calibration_not_yet_come_down_is_no_data_prior_conflict(run, tmp_path):
    """A reading with sd 0.001 beside readings with sd 1,500-2,000: the tolerance halves each
    generation and, after 12, is still 1,000 times the closest particle's distance. The exact
    posterior fits every reading within about 1 sd (26 generations reach it), yet the warning
    called it a data-prior conflict and advised widening the priors."""
    scenario = write(tmp_path, "tiny.yaml", TINY_SD)
    proc = run("calibrate", scenario, "-o", tmp_path / "t12.h5", "-q", "-t", 2, "--generations", 12)
    assert proc.returncode == 0, proc.stderr
    assert "the posterior is not yet a fit to the observations" in proc.stderr, proc.stderr
    assert "but the tolerance is still falling" in proc.stderr and "--continue FILE" in proc.stderr, proc.stderr
    assert "the priors cannot reach the record" not in proc.stderr, proc.stderr
    proc = run("calibrate", scenario, "-o", tmp_path / "t26.h5", "-q", "-t", 2, "--generations", 26)
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("replications, per_block", [(1, 64), (2, 64), (4, 64), (8, 32)])
def test_the_first_line_counts_the_particles_a_block_really_holds(run, toy, tmp_path, replications, per_block):
    """A block packs the particles of one slice of 64 candidates (they share its random-number
    seed), so below 4 replications it holds 64, not 256/R as the first line said."""
    proc = run("calibrate", write(tmp_path, "t.yaml", toy), "-o", tmp_path / "t.h5", "-t", 1, "--particles", 100,
               "--generations", 1, "--replications", replications)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].endswith(f", {per_block} particles per block"), proc.stdout
