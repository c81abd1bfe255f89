"""`brink calibrate` on observations and events that used to give a meaningless
result or a refusal without a place: observed values outside what their
quantity can be, an sd too small for a finite distance or too large to mean
anything, and events after the last observed day (which the calibration's
shortened runs leave out, while `brink run --posterior` keeps them)."""

import re

import h5py
import numpy as np
import pytest


@pytest.fixture(scope="module")
def toy(source_dir):
    return (source_dir / "scenarios" / "validation" / "calibrate-incidents.yaml").read_text(encoding="utf-8")


def with_observation(toy_text, entry):
    """The toy with `entry` (one flow mapping) as its only observation."""
    head, rest = toy_text[: toy_text.index("observations:")], toy_text[toy_text.index("calibrate:"):]
    return head + "observations:\n  x: " + entry + "\n" + rest


# (entry, the refused token as written, message)
OUTSIDE = [
    ("{quantity: forces, actor: A, day: 3, value: -60000, sd: 1000, source: s}", "-60000",
     "'observations.x.value' is -60000, outside what quantity 'forces' can be (troops, at least 0)"),
    ("{quantity: forces, actor: A, pool: total, day: 3, range: [-5000, 70000], source: s}", "[-5000, 70000]",
     "'observations.x.range' is [-5000, 70000], outside what quantity 'forces' can be"),
    ("{quantity: forces, actor: A, day: 3, value: 100, range: [-10, 200], source: s}", "[-10, 200]",
     "'observations.x.range' is [-10, 200]"),
    ("{quantity: incidents, day: 39, value: -1, sd: 1, source: s}", "-1",
     "'observations.x.value' is -1, outside what quantity 'incidents' can be (a count, at least 0)"),
    ("{quantity: war_started, day: 3, value: false, range: [-0.5, 0.5], source: s}", "[-0.5, 0.5]",
     "'observations.x.range' is [-0.5, 0.5], outside what quantity 'war_started' can be (a probability, in [0, 1])"),
    ("{quantity: rung, rung: limited, day: 3, value: true, range: [0.5, 1.5], source: s}", "[0.5, 1.5]",
     "'observations.x.range' is [0.5, 1.5], outside what quantity 'rung' can be"),
    # An sd below 1e-12 x max(1, |value|): the distances would overflow to +inf.
    ("{quantity: forces, actor: A, day: 3, value: 60000, sd: 1e-300, source: s}", "1e-300",
     "'observations.x.sd' is 1e-300, below 1e-12 x max(1, |value|) = 6e-08 for value 60000"),
    ("{quantity: forces, actor: A, day: 3, value: 60000, range: [60000, 60000.00000001], source: s}",
     "[60000, 60000.00000001]", "'observations.x.range' [60000, 60000.00000001] is too narrow"),
    ("{quantity: war_started, day: 3, value: false, sd: 1e-13, source: s}", "1e-13",
     "'observations.x.sd' is 1e-13, below 1e-12 x max(1, |value|) = 1e-12 for value 0"),
    # An sd above 1e12 x max(1, |value|): no information, and the measurement noise sd*z could overflow.
    ("{quantity: forces, actor: A, day: 3, value: 60000, sd: 1e308, source: s}", "1e308",
     "'observations.x.sd' is 1e308, above 1e12 x max(1, |value|) = 6e+16 for value 60000"),
    ("{quantity: forces, actor: A, day: 3, value: 60000, range: [0, 1e300], source: s}", "[0, 1e300]",
     "'observations.x.range' [0, 1e300] is too wide"),
    ("{quantity: war_started, day: 3, value: false, sd: 2e12, source: s}", "2e12",
     "'observations.x.sd' is 2e12, above 1e12 x max(1, |value|) = 1e+12 for value 0"),
    ("{quantity: forces, actor: A, day: 3, value: 100, sd: ~, source: s}", "~",
     "'observations.x.sd' must be a positive number, got nothing"),
    # A value outside its own 95% interval contradicts itself; a bound that is no number is named.
    ("{quantity: forces, actor: A, day: 3, value: 20000, range: [7500, 9500], source: s}", "20000",
     "'observations.x.value' is 20000, outside its own range [7500, 9500]"),
    ("{quantity: forces, actor: A, day: 3, value: 100, range: [lots, 9500], source: s}", "lots",
     "its low is not a finite number: lots"),
    ("{quantity: forces, actor: A, day: 3, value: 100, range: [50, .inf], source: s}", ".inf",
     "its high is not a finite number: .inf"),
    # A probability range without a value (its midpoint is the value) outside [0, 1]: one message, not
    # "must be true or false, got 'nothing'" and then "is , outside its own range" without a place.
    ("{quantity: war_started, day: 3, range: [0.5, 1.5], source: s}", "[0.5, 1.5]",
     "'observations.x.range' is [0.5, 1.5], outside what quantity 'war_started' can be (a probability, in [0, 1])"),
    ("{quantity: war_started, day: 3, value: maybe, range: [0.2, 0.4], source: s}", "maybe",
     "'observations.x.value' must be true or false (whether it had happened by the date), got 'maybe'"),
]


@pytest.mark.parametrize("entry,token,message", OUTSIDE, ids=[f"case{i}" for i in range(len(OUTSIDE))])
def test_calibrate_refuses_observations_its_quantity_cannot_have_at_their_place(run, toy, tmp_path, entry, token,
                                                                                 message):
    text = with_observation(toy, entry)
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    line = next(i for i, t in enumerate(lines) if t.startswith("  x: ")) + 1
    col = lines[line - 1].index(token, len("  x: {quantity")) + 1
    for command in (["validate", scenario], ["calibrate", scenario, "-q", "-o", tmp_path / "c.h5"]):
        proc = run(*command)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert proc.stderr.startswith(f"{scenario}:{line}:{col}: "), proc.stderr
        assert message in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "c.h5").exists() and not (tmp_path / "c.h5.partial").exists()


@pytest.mark.parametrize("entry", [
    "{quantity: forces, actor: A, day: 3, value: 0, range: [0, 500], source: s}",
    "{quantity: war_started, day: 3, value: false, range: [0, 0.2], source: s}",
    "{quantity: rung, rung: limited, day: 3, value: true, range: [0.8, 1], source: s}",
    "{quantity: incidents, day: 39, value: 0, sd: 1e-12, source: s}",
    # A reading of a count with measurement error need not be whole: as the range [10.54, 14.46] says.
    "{quantity: incidents, day: 39, value: 12.5, sd: 1, source: s}",
    # docs/scenario-format.md: a range without a value, on the probability scale for these two.
    "{quantity: war_started, day: 3, range: [0.2, 0.4], source: s}",
    "{quantity: rung, rung: limited, day: 3, range: [0, 1], source: s}",
])
def test_calibrate_accepts_observations_on_the_edge_of_their_quantity(run, toy, tmp_path, entry):
    scenario = tmp_path / "edge.yaml"
    scenario.write_text(with_observation(toy, entry), encoding="utf-8")
    proc = run("validate", scenario)
    assert proc.returncode == 0, proc.stderr


MINIMAL_CALIBRATION = """
observations:
  red_deployed: {{quantity: forces, actor: RED, date: {date}, value: 60000, range: [50000, 70000], source: "test"}}
calibrate:
  particles: 16
  generations: 2
  parameters:
    actors.RED.forces.deployment_rate: {{prior: uniform, min: 500, max: 5000}}
"""


@pytest.mark.parametrize("date", ["2022-01-20", "2022-01-01"])  # day 19, and day 0 (before every event)
def test_calibrate_runs_scenarios_with_events_after_the_last_observation(run, source_dir, tmp_path, date):
    # docs/examples/minimal.yaml has events on days 10 and 45; `brink validate` accepts it.
    text = (source_dir / "docs" / "examples" / "minimal.yaml").read_text(encoding="utf-8")
    text = text.replace("\n  seed: 7\n", "\n  seed: 7\n  start_date: 2022-01-01\n")
    assert "start_date" in text and "day: 45" in text
    scenario = tmp_path / "e.yaml"
    scenario.write_text(text + MINIMAL_CALIBRATION.format(date=date), encoding="utf-8")
    assert run("validate", scenario).returncode == 0
    proc = run("calibrate", scenario, "-q", "-t", "2", "-o", tmp_path / "e.h5", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "e.h5").exists() and (tmp_path / "e.posterior.yaml").exists()


def outcome_probability(stdout, outcome):
    return float(re.search(rf"^\s*{outcome}\s+([0-9.]+)", stdout, re.M).group(1))


def test_calibrate_leaves_late_events_out_and_posterior_runs_keep_them(run, toy, tmp_path):
    # The toy observes incidents on day 39; run to day 60 with and without an
    # attack on day 50. Decisions are off: nothing else starts a war.
    longer = toy.replace("horizon_days: 40", "horizon_days: 60")
    assert longer != toy
    late = longer.replace("observations:", "events:\n  - {day: 50, actor: A, attack: B, rung: full}\nobservations:")
    files = {}
    for name, text in (("plain", longer), ("late", late)):
        scenario = tmp_path / f"{name}.yaml"
        scenario.write_text(text, encoding="utf-8")
        out = tmp_path / f"{name}.h5"
        proc = run("calibrate", scenario, "-q", "-t", "2", "--particles", "50", "--generations", "3", "-o", out,
                   timeout=300)
        assert proc.returncode == 0, proc.stderr
        files[name] = out
        # The full-horizon posterior run has the event: every replication is at war from day 50.
        proc = run("run", tmp_path / f"{name}.posterior.yaml", "--posterior", out, "-n", "256", "-t", "2",
                   "-o", tmp_path / f"{name}-predict.h5", timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert outcome_probability(proc.stdout, "full_war") == (1.0 if name == "late" else 0.0), proc.stdout
    # The calibration itself never sees the event: the same particles and statistics, bit for bit.
    with h5py.File(files["plain"]) as a, h5py.File(files["late"]) as b:
        for dataset in ("particles", "weights", "distances", "statistics"):
            assert np.array_equal(a[dataset][()], b[dataset][()]), dataset


def test_inspect_scenario_of_a_calibration_prints_the_scenario_it_calibrated(run, toy, tmp_path):
    scenario = tmp_path / "toy.yaml"
    scenario.write_text(toy, encoding="utf-8")
    out = tmp_path / "c.h5"
    done = run("calibrate", scenario, "-q", "-o", out, "--particles", 32, "--generations", 1)
    assert done.returncode == 0, done.stderr
    shown = run("inspect", out, "--scenario")
    assert shown.returncode == 0 and shown.stdout == toy, shown.stdout[:300]


@pytest.mark.parametrize("command", ["validate", "params", "run"])
def test_a_result_file_given_as_a_scenario_is_named_as_such(run, toy, tmp_path, command):
    scenario = tmp_path / "toy.yaml"
    scenario.write_text(toy, encoding="utf-8")
    out = tmp_path / "c.h5"
    assert run("calibrate", scenario, "-q", "-o", out, "--particles", 32, "--generations", 1).returncode == 0
    proc = run(command, out, *(["-q", "-o", tmp_path / "r.h5"] if command == "run" else []))
    assert proc.returncode == 2 and "this is an HDF5 file" in proc.stderr and "inspect --scenario" in proc.stderr, \
        proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr


@pytest.mark.parametrize("draws", [[], ["--posterior-draws", "3"]])
def test_posterior_run_recipe_reruns_the_run(run, toy, tmp_path, draws):
    """A posterior run's points are drawn, not set: every point's rerun_command is the whole run's
    (scenario, --posterior, the total -n, --posterior-draws), and running it gives the same bits."""
    import shlex
    scenario = tmp_path / "toy.yaml"
    scenario.write_text(toy, encoding="utf-8")
    calibration = tmp_path / "c.h5"
    assert run("calibrate", scenario, "-q", "--particles", "30", "--generations", "2", "-o", calibration,
               timeout=300).returncode == 0
    first = tmp_path / "first.h5"
    proc = run("run", tmp_path / "c.posterior.yaml", "--posterior", calibration, "-n", "600", *draws,
               "--set", "run.random_numbers=common", "-q", "-o", first, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(first) as f:
        recipes = {r.decode() for r in f["rerun_command"][()]}
        assert f.attrs["design"] == b"posterior"
        drawn = [v for v in f.values() if isinstance(v, h5py.Dataset) and "parameter_path" in v.attrs and v.ndim == 2]
        assert bool(drawn) == (not draws)  # a draw per replication: (point, replication) coordinates
        for variable in drawn:  # like every variable on `replication`, with netCDF's fill value
            assert np.isnan(variable.attrs["_FillValue"]) and variable.attrs["_FillValue"].dtype == variable.dtype
    assert len(recipes) == 1, recipes
    recipe = shlex.split(recipes.pop())
    assert recipe[:3] == ["brink", "run", str(tmp_path / "c.posterior.yaml")]
    assert recipe[recipe.index("-n") + 1] == "600" and recipe[recipe.index("--posterior") + 1] == str(calibration)
    again = tmp_path / "again.h5"
    proc = run(*recipe[1:], "-q", "-o", again, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(first) as a, h5py.File(again) as b:
        for name in ("outcome_code", "end_step", "casualties", "parameter_value"):
            assert a[name][()].tobytes() == b[name][()].tobytes(), name


def test_a_posterior_run_says_why_its_draws_are_points(run, toy, tmp_path):
    """A calibrated field held once per block (decision.patience_days) makes a posterior run's draws
    points, one per 256 replications. The run said only '4 points (posterior)', its help said
    'every replication its own parameter set', and brink_analysis blamed a --posterior-draws never
    given. The header now names the field and the count; the analysis message names no option."""
    import brink_analysis as ba
    rate = "    escalation.incidents.base_rate: {prior: exponential, rate: 2}\n"
    scenario = tmp_path / "toy.yaml"
    scenario.write_text(toy.replace(rate, rate + "    actors.A.decision.patience_days: {prior: uniform, min: 5, "
                                    "max: 50}\n"), encoding="utf-8")
    assert run("calibrate", scenario, "-q", "--particles", "30", "--generations", "2", "-o", tmp_path / "c.h5",
               "-t", "1").returncode == 0
    proc = run("run", tmp_path / "c.posterior.yaml", "--posterior", tmp_path / "c.h5", "-n", "1024", "-t", "1",
               "-o", tmp_path / "p.h5")
    assert proc.returncode == 0, proc.stderr
    assert ("4 posterior draws, not one per replication: 'actors.A.decision.patience_days' is one value per block, "
            "not per lane" in proc.stdout), proc.stdout
    assert "one per 256" in run("run", "--help").stdout
    # The pooled table's intervals count the draws, not the replications, as independent.
    assert "4 points pooled (1024 replications)" in proc.stdout and "95% interval (by draw)" in proc.stdout
    with pytest.raises(ValueError) as refused:
        ba.replication_parameters(ba.open_results(tmp_path / "p.h5"))
    assert "--posterior-draws" not in str(refused.value) and "parameter_table" in str(refused.value)
    assert len(ba.parameter_table(ba.open_results(tmp_path / "p.h5"))) == 4


def test_a_set_of_a_drawn_parameter_is_refused(run, toy, tmp_path):
    """A --set of a parameter the calibration (or the posterior run) draws would be silently
    replaced by every draw, yet recorded among the file's overrides."""
    scenario = tmp_path / "toy.yaml"
    scenario.write_text(toy, encoding="utf-8")
    drawn = re.search(r"^    ([a-z_.A-Z0-9]+): \{prior", toy[toy.index("calibrate:"):], re.M).group(1)
    proc = run("calibrate", scenario, "-q", "--particles", "20", "--generations", "2", "--set", f"{drawn}=0.01",
               "-o", tmp_path / "c.h5", timeout=300)
    assert proc.returncode == 2 and f"--set {drawn}=0.01 fixes a parameter the calibration draws" in proc.stderr
    assert not list(tmp_path.glob("c.*"))
    assert run("calibrate", scenario, "-q", "--particles", "20", "--generations", "2", "-o", tmp_path / "c.h5",
               timeout=300).returncode == 0
    proc = run("run", tmp_path / "c.posterior.yaml", "--posterior", tmp_path / "c.h5", "--set", f"{drawn}=0.01",
               "-n", "256", "-q", "-o", tmp_path / "p.h5", timeout=300)
    assert proc.returncode == 2 and f"--set {drawn}=0.01 fixes a parameter the posterior" in proc.stderr
    assert not list(tmp_path.glob("p.*"))


def test_more_posterior_draws_than_replications_are_refused(run, toy, tmp_path):
    """One point per draw needs a replication per draw: with fewer, the run silently ran fewer draws
    than asked."""
    scenario = tmp_path / "toy.yaml"
    scenario.write_text(toy, encoding="utf-8")
    assert run("calibrate", scenario, "-q", "--particles", "20", "--generations", "2", "-o", tmp_path / "c.h5",
               timeout=300).returncode == 0
    base = ["run", tmp_path / "c.posterior.yaml", "--posterior", tmp_path / "c.h5", "-q", "-t", "1"]
    proc = run(*base, "-n", "20", "--posterior-draws", "30", "-o", tmp_path / "p.h5", timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "--posterior-draws 30" in proc.stderr and "has 20" in proc.stderr, proc.stderr
    assert not list(tmp_path.glob("p.*"))
    proc = run(*base, "-n", "30", "--posterior-draws", "30", "-o", tmp_path / "p.h5", timeout=300)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(tmp_path / "p.h5") as f:
        assert f["replications"].shape == (30,) and (f["replications"][()] == 1).all()


def _damage_particles(f):
    data = f["particles"][:, :3, :]
    del f["particles"]
    f.create_dataset("particles", data=data)


def _nan_weight(f):
    w = f["weights"][()]
    w[-1, 0] = np.nan
    f["weights"][...] = w


def _weights_off(f):
    f["weights"][-1, :] = f["weights"][-1, :] * 2


def posterior_run_of_an_edited_calibration(run, toy, tmp_path, generations, edit):
    """`brink run --posterior` of a calibration of the toy that edit(h5py file) changed."""
    scenario = tmp_path / "toy.yaml"
    scenario.write_text(toy, encoding="utf-8")
    calibration = tmp_path / "c.h5"
    assert run("calibrate", scenario, "-q", "--particles", "20", "--generations", str(generations), "-o",
               calibration, timeout=300).returncode == 0
    with h5py.File(calibration, "r+") as f:
        edit(f)
    return run("run", tmp_path / "c.posterior.yaml", "--posterior", calibration, "-n", "256", "-q",
               "-o", tmp_path / "p.h5", timeout=300)


@pytest.mark.parametrize("damage,message", [
    (_damage_particles, "variable 'particles' holds"),
    (_nan_weight, "has the weight nan, not a finite non-negative number"),
    (_weights_off, "sum to 2, not 1"),
])
def test_a_damaged_calibration_is_refused_not_drawn_from(run, toy, tmp_path, damage, message):
    """Particles cut short used to be read past their end (draws outside the prior), and NaN
    weights gave every replication one particle, with exit 0."""
    proc = posterior_run_of_an_edited_calibration(run, toy, tmp_path, 2, damage)
    assert proc.returncode == 2 and "is damaged" in proc.stderr and message in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and not (tmp_path / "p.h5").exists()


def test_an_unfinished_calibration_is_no_posterior(run, toy, tmp_path):
    """An interrupted calibration's OUT.partial holds fewer generations than planned; its last
    one is not the posterior (after generation 0 it is the prior itself)."""
    def more_planned(f):
        f.attrs["planned_generations"] = np.int64(5)

    proc = posterior_run_of_an_edited_calibration(run, toy, tmp_path, 3, more_planned)
    assert proc.returncode == 2 and "is an unfinished calibration (3 of 5 generations)" in proc.stderr, proc.stderr
    assert not (tmp_path / "p.h5").exists()


def test_observation_days_are_checked_against_the_horizon_after_set(run, toy, tmp_path):
    """An observation must fall in a step the calibration simulates, [0, steps · dt): a --set of the
    horizon that leaves it out is refused at the --set (it used to be checked against the file's
    horizon only, and the shortened runs simulated past the new one); the horizon day itself is past
    the last step, as for an event, and is refused at the observation's line."""
    scenario = tmp_path / "toy.yaml"
    scenario.write_text(with_observation(toy, "{quantity: incidents, day: 20, value: 6, sd: 1, source: s}"),
                        encoding="utf-8")
    proc = run("calibrate", scenario, "-q", "--set", "run.horizon_days=10", "-o", tmp_path / "c.h5", timeout=300)
    assert proc.returncode == 2 and proc.stderr.startswith("brink calibrate: --set run.horizon_days=10: "), proc.stderr
    assert "'observations.x' falls on day 20, outside the simulated days [0, 10) (10 steps, dt_days 1)" in proc.stderr
    assert proc.stderr.count("\n") == 1 and not list(tmp_path.glob("c.*"))
    horizon = float(re.search(r"horizon_days: (\d+)", toy).group(1))
    text = with_observation(toy, f"{{quantity: incidents, day: {horizon:g}, value: 6, sd: 1, source: s}}")
    scenario.write_text(text, encoding="utf-8")
    proc = run("calibrate", scenario, "-q", "-o", tmp_path / "c.h5", timeout=300)
    line = text[: text.index("  x: ")].count("\n") + 1
    assert proc.returncode == 2 and proc.stderr.startswith(f"{scenario}:{line}:"), proc.stderr
    assert f"falls on day {horizon:g}, outside the simulated days [0, {horizon:g})" in proc.stderr, proc.stderr
    assert not list(tmp_path.glob("c.*"))


def test_observations_past_the_horizon_stop_no_run_validate_or_sweep(run, toy, flagship_path, tmp_path):
    """Only `brink calibrate` reads observations, but `run --set run.horizon_days=2` on the flagship
    exited 2 because its observation of 26 January (day 2) fell outside the shortened run; so did
    validate and sweeps. Runs and sweeps ignore observations now; the calibration still refuses
    them (above), and so does validate where the scenario declares a calibration."""
    proc = run("run", "-n", 256, "--set", "run.horizon_days=2", "-q", "-o", tmp_path / "short.h5")
    assert proc.returncode == 0, proc.stderr
    proc = run("run", "-n", 256, "--set", "run.horizon_days=2", "--sweep", "actors.RUS.decision.patience_days=5,60",
               "-q", "-o", tmp_path / "sweep.h5")
    assert proc.returncode == 0, proc.stderr
    with h5py.File(tmp_path / "sweep.h5", "r") as f:
        assert f.attrs["horizon_days"] == 2 and f["day"][-1] == 2  # the run stopped at its own horizon
    horizon = float(re.search(r"horizon_days: (\d+)", toy).group(1))
    scenario = tmp_path / "late.yaml"
    scenario.write_text(with_observation(toy, f"{{quantity: incidents, day: {horizon + 5:g}, value: 6, sd: 1, "
                                              f"source: s}}"), encoding="utf-8")
    proc = run("run", scenario, "-n", 64, "-q", "-o", tmp_path / "late.h5")
    assert proc.returncode == 0, proc.stderr
    # validate checks what its calibrate section would meet (as it checks the priors' corners) ...
    proc = run("validate", scenario)
    assert proc.returncode == 2 and "'observations.x' falls on day" in proc.stderr, proc.stderr
    # ... and nothing of the kind in a scenario that declares no calibration.
    short = tmp_path / "short.yaml"
    short.write_text(flagship_path.read_text(encoding="utf-8").replace("horizon_days: 120", "horizon_days: 2", 1),
                     encoding="utf-8")
    proc = run("validate", short)
    assert proc.returncode == 0, proc.stderr
    # A day before the start is outside any run: still refused by validate, at its line.
    scenario.write_text(with_observation(toy, "{quantity: incidents, day: -1, value: 6, sd: 1, source: s}"),
                        encoding="utf-8")
    proc = run("validate", scenario)
    assert proc.returncode == 2 and "'observations.x' falls on day -1, before day 0" in proc.stderr, proc.stderr
    assert re.match(re.escape(str(scenario)) + r":\d+:\d+: ", proc.stderr), proc.stderr


@pytest.mark.parametrize("old,new,message", [
    ("value: 12", "value: .nan", "'observations.incidents_by_day_39.value' must be a finite number, got '.nan'"),
    ("value: 12", "value: lots", "must be a finite number, got 'lots'"),
    ("{prior: exponential, rate: 2}", "{prior: log_uniform, min: -5, max: 20}",
     "a log_uniform prior needs min > 0, got -5"),
    ("{prior: exponential, rate: 2}", "{prior: log_uniform, max: 20}", "missing required key 'min'"),
])
def test_one_problem_one_message(run, toy, tmp_path, old, new, message):
    """A bad observed value also drew "needs 'value'", a bad log_uniform bound also "leaves the
    field's range": two messages for one problem."""
    assert old in toy
    scenario = tmp_path / "one.yaml"
    scenario.write_text(toy.replace(old, new, 1), encoding="utf-8")
    proc = run("validate", scenario)
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


@pytest.mark.parametrize("block", ["observations: {}\n", "observations:\n"])
def test_an_empty_observations_block_is_named_at_its_place(run, toy, tmp_path, block):
    head, rest = toy[: toy.index("observations:")], toy[toy.index("calibrate:"):]
    text = head + block + rest
    scenario = tmp_path / "empty.yaml"
    scenario.write_text(text, encoding="utf-8")
    proc = run("calibrate", scenario, "-q", "-o", tmp_path / "c.h5")
    assert proc.returncode == 2, proc.stderr
    line = text.splitlines().index(block.splitlines()[0]) + 1
    assert proc.stderr.startswith(f"{scenario}:{line}:"), proc.stderr
    assert "its 'observations:' block is empty; a calibration needs observations" in proc.stderr
    assert not (tmp_path / "c.h5").exists() and not (tmp_path / "c.h5.partial").exists()


def test_a_generation_the_particles_cannot_follow_says_how_to_keep_the_others(run, toy, tmp_path):
    """Under the one-world target acceptance falls about as fast as the tolerance, so twenty
    generations of the toy outrun their candidate budget at generation 13. That stop blamed the
    observations and the priors (widen them, loosen the sd: advice that made it fail sooner) and
    said nothing of the complete generations kept. Now it says why, and the --resume it names ends
    the calibration with them."""
    scenario = tmp_path / "toy.yaml"
    scenario.write_text(toy, encoding="utf-8")
    args = ["calibrate", scenario, "-q", "--threads", "2", "--particles", "50", "--seed", "3", "-o", tmp_path / "c.h5"]
    proc = run(*args, "--generations", "20", timeout=300)
    assert proc.returncode == 1, proc.stderr
    found = re.search(r"accepted \d+ of 50 particles in \d+ candidates at tolerance [0-9.e-]+: fewer than 1 in 2000 "
                      r"candidates fell within it, .* keeps (\d+) complete generations: end the calibration with "
                      r"them \('brink calibrate \.\.\. --resume --generations (\d+)'\)", proc.stderr)
    assert found and found.group(1) == found.group(2), proc.stderr
    assert "widen the priors" not in proc.stderr and not (tmp_path / "c.h5").exists()
    proc = run(*args, "--resume", "--generations", found.group(2), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "c.h5").exists() and (tmp_path / "c.posterior.yaml").exists()


@pytest.mark.parametrize("where", ["option", "file"])
def test_common_random_numbers_with_one_replication_are_refused(run, toy, tmp_path, where):
    """docs/calibration.md: common random numbers condition every generation on the same R worlds,
    and at R = 1 the posterior collapses (on the toy, a third of the exact 90% interval). The docs
    said "never with R = 1"; the calibrator ran it without a word."""
    text = toy if where == "option" else toy.replace("calibrate:\n", "calibrate:\n  random_numbers: common\n", 1)
    assert text != toy or where == "option"
    scenario = tmp_path / "toy.yaml"
    scenario.write_text(text, encoding="utf-8")
    extra = ["--common-random"] if where == "option" else []
    proc = run("calibrate", scenario, "-q", "--particles", "20", "--generations", "2", "--replications", "1", *extra,
               "-o", tmp_path / "c.h5", timeout=300)
    assert proc.returncode == 2 and "with 1 replication per particle condition every generation on one world" \
        in proc.stderr, proc.stderr
    assert not list(tmp_path.glob("c.*"))
    proc = run("calibrate", scenario, "-q", "--particles", "20", "--generations", "2", "--replications", "4", *extra,
               "-o", tmp_path / "c.h5", timeout=300)
    assert proc.returncode == 0, proc.stderr


BACKTEST_PRIOR = "actors.RUS.forces.deployed: {prior: uniform, min: 50000, max: 120000}"


@pytest.mark.parametrize("prior, message", [
    # The tail: every particle came out at 50000.000005.
    ("actors.RUS.forces.deployed: {prior: truncated_normal, mean: 0, sd: 1, min: 50000, max: 120000}",
     "the truncated_normal prior (mean 0, sd 1) has no mass worth drawing on its support [50000, 120000]"),
    ("actors.RUS.forces.deployed: {prior: normal, mean: 1e300, sd: 1}",
     "the normal prior (mean 1e+300, sd 1) has no mass worth drawing on its support [0, 100000000]"),
])
def test_a_prior_with_no_mass_on_its_support_is_refused(run, source_dir, tmp_path, prior, message):
    path = tmp_path / "prior.yaml"
    path.write_text((source_dir / "scenarios" / "backtest-2022.yaml").read_text().replace(BACKTEST_PRIOR, prior))
    proc = run("validate", path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr


def test_validate_refuses_priors_that_calibrate_refuses(run, source_dir, tmp_path):
    """A prior support crossing a rule (deployed above its cap) was refused by `brink calibrate` only;
    `brink validate` said ok. The message names a prior support, not a "random range"."""
    path = tmp_path / "cap.yaml"
    path.write_text((source_dir / "scenarios" / "backtest-2022.yaml").read_text().replace(
        BACKTEST_PRIOR, "actors.RUS.forces.deployed: {prior: uniform, min: 50000, max: 100000000}"))
    for command in ("validate", "calibrate"):
        proc = run(command, path, "-o", tmp_path / "c.h5") if command == "calibrate" else run(command, path)
        assert proc.returncode == 2 and "calibrated parameter 'actors.RUS.forces.deployed' (prior support [50000, " \
            "100000000]) crosses rule cap_at_least_deployed" in proc.stderr, (command, proc.stderr)


LATER_FORCES = "  fa: {quantity: forces, actor: A, day: 5, value: 1000, sd: 50, source: s}\n"


@pytest.mark.parametrize("old,new,message", [
    ("start_date: 2022-01-01", "seed: 7", "'observations.incidents_by_day_39.date' needs 'run.start_date'"),
    ("date: 2022-02-09", "date: 2022-02-30", "must be an ISO date like 2022-01-19, got '2022-02-30'"),
    ("date: 2022-02-09", "date: 20220209", "got '20220209'"),
    ("date: 2022-02-09", "date: 2022-02-09T12:00:00", "got '2022-02-09T12:00:00'"),
    ("start_date: 2022-01-01", "start_date: 2022-13-01", "'run.start_date' must be an ISO date"),
    ("day: 5, value: 1000", "day: 1000, value: 1000", "'observations.fa' falls on day 1000, outside the simulated"),
])
def test_an_observation_day_refused_is_one_message(run, toy, tmp_path, old, new, message):
    """A refused date (or start_date) used to add "'observations.x' counts incidents on day 0, before
    the last observed day 5" (day 0 made up), and a day past the horizon the same about the
    observation before it: a second message for one problem."""
    text = toy.replace("calibrate:", LATER_FORCES + "calibrate:", 1)
    if old == "start_date: 2022-01-01" and new == "seed: 7":
        text = text.replace(", start_date: 2022-01-01", "")
    else:
        assert old in text
        text = text.replace(old, new, 1)
    scenario = tmp_path / "day.yaml"
    scenario.write_text(text, encoding="utf-8")
    for command in (["validate", scenario], ["calibrate", scenario, "-q", "-o", tmp_path / "c.h5"]):
        proc = run(*command)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1, proc.stderr


def test_incidents_may_share_the_last_observed_step(run, toy, tmp_path):
    """docs/scenario-format.md: the calibration's runs end after the last observed step, and an
    incidents count runs to that end; so it may be observed on any day of that step. Day 39 and
    day 39.5 at dt 1 are one step (39), and were refused as 'before the last observed day 39.5'.
    A count on an earlier step is still refused, at its day, naming the last observation."""
    same = toy.replace("calibrate:", "  fa: {quantity: forces, actor: A, day: 39.5, value: 1000, sd: 50, "
                                     "source: s}\ncalibrate:", 1)
    scenario = tmp_path / "same.yaml"
    scenario.write_text(same, encoding="utf-8")
    assert run("validate", scenario).returncode == 0
    proc = run("calibrate", scenario, "-q", "--particles", "30", "--generations", "2", "-o", tmp_path / "c.h5",
               timeout=300)
    assert proc.returncode == 0, proc.stderr
    # One step later (dt 1): refused where the incidents' date is written.
    later = same.replace("day: 39.5", "day: 40.5").replace("horizon_days: 40", "horizon_days: 45")
    scenario = tmp_path / "later.yaml"
    scenario.write_text(later, encoding="utf-8")
    line = next(i for i, t in enumerate(later.splitlines(), 1) if "date: 2022-02-09" in t)
    proc = run("validate", scenario)
    assert proc.returncode == 2 and proc.stderr.startswith(f"{scenario}:{line}:"), proc.stderr
    assert "counts incidents on day 39 (step 39), before the last observed step 40 (day 40.5, 'observations.fa')" \
        in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    # The rule reads steps after --set: at dt 0.5, days 39 and 39.5 are steps 78 and 79.
    proc = run("calibrate", tmp_path / "same.yaml", "-q", "--set", "run.dt_days=0.5", "-o", tmp_path / "d.h5")
    assert proc.returncode == 2 and proc.stderr.startswith("brink calibrate: --set run.dt_days=0.5: "), proc.stderr
    assert "(step 78), before the last observed step 79 (day 39.5" in proc.stderr, proc.stderr


def test_a_posterior_run_prints_the_quantiles_its_header_names(run, source_dir, tmp_path):
    """`brink run --posterior` printed "casualties, mean (5% / 50% / 95%)" over means alone and no
    end-day quantiles, though its file holds casualty_quantile: one point (a draw per replication)
    is now printed like a plain run; several points (--posterior-draws) do not pool quantiles, and
    the header then says means."""
    scenario = source_dir / "scenarios" / "backtest-2022.yaml"
    assert run("calibrate", scenario, "-q", "--particles", "40", "--generations", "2", "--replications", "4",
               "-o", tmp_path / "c.h5", timeout=300).returncode == 0
    base = ["run", tmp_path / "c.posterior.yaml", "--posterior", tmp_path / "c.h5", "-n", "512", "-t", "2"]
    proc = run(*base, "-o", tmp_path / "p.h5", timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = re.findall(r"^\s+([A-Z]+)\s+(\d+)\s+\((\d+) / (\d+) / (\d+)\)$", proc.stdout, re.M)
    assert "casualties, mean (5% / 50% / 95%):" in proc.stdout and len(rows) == 4, proc.stdout
    with h5py.File(tmp_path / "p.h5") as f:
        quantiles = f["casualty_quantile"][0]
        for actor, (_, _, *printed) in enumerate(rows):
            assert np.allclose([float(v) for v in printed], quantiles[actor], atol=0.5), (printed, quantiles[actor])
        end_day = f["end_day_quantile"][0]
    found = re.search(r"day the outcome was decided, mean [\d.]+ \(5% / 50% / 95%: ([\d.]+) / ([\d.]+) / ([\d.]+)\)",
                      proc.stdout)
    assert found and np.allclose([float(v) for v in found.groups()], end_day, atol=0.5), proc.stdout
    proc = run(*base, "--posterior-draws", "4", "-o", tmp_path / "q.h5", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "casualties, mean:" in proc.stdout and "(5% / 50% / 95%)" not in proc.stdout, proc.stdout


def _particle_at(value):
    def edit(f):
        particles = f["particles"][()]
        particles[-1, 0, 0] = value
        f["particles"][...] = particles
    return edit


def _tolerance_nan(f):
    tolerances = f["tolerances"][()]
    tolerances[-1] = np.nan
    f["tolerances"][...] = tolerances


@pytest.mark.parametrize("edit,message", [
    # The toy's prior is exponential on [0, 100]: 150 lies outside it, 1e6 outside the field's range too.
    (_particle_at(150.0), "variable 'particles' holds 150 for parameter 'escalation.incidents.base_rate' "
                          "(generation 1, particle 0), outside its prior's support [0, 100]"),
    (_particle_at(1e6), "variable 'particles' holds 1000000 for parameter 'escalation.incidents.base_rate'"),
    (_particle_at(-0.5), "holds -0.5 for parameter"),
    (_tolerance_nan, "variable 'tolerances' holds nan for generation 1"),
])
def test_a_calibration_edited_outside_its_prior_is_refused_by_every_reader(run, toy, tmp_path, edit, message):
    """A particle set by hand outside its prior's support was drawn by `--posterior` (base_rate 50
    against U(0.01, 1.5)), or refused with a message about the scenario's field that did not name
    the calibration file; a NaN tolerance was accepted. inspect, --posterior and --resume read the
    file alike, and refuse it naming the file, the variable and the value."""
    scenario = tmp_path / "toy.yaml"
    scenario.write_text(toy, encoding="utf-8")
    calibration = tmp_path / "c.h5"
    assert run("calibrate", scenario, "-q", "--particles", "20", "--generations", "2", "-o", calibration,
               timeout=300).returncode == 0
    with h5py.File(calibration, "r+") as f:
        edit(f)
    partial = tmp_path / "r.h5.partial"
    partial.write_bytes(calibration.read_bytes())
    for named, command in ((calibration, ["inspect", calibration]),
                           (calibration, ["run", tmp_path / "c.posterior.yaml", "--posterior", calibration, "-n",
                                          "256", "-q", "-o", tmp_path / "p.h5"]),
                           (partial, ["calibrate", scenario, "-q", "--particles", "20", "--generations", "3",
                                      "--resume", "-o", tmp_path / "r.h5"])):
        proc = run(*command, timeout=300)
        assert proc.returncode == 2, (command[0], proc.stderr)
        assert f"'{named}' is damaged" in proc.stderr, proc.stderr
        assert "is damaged" in proc.stderr and message in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1, proc.stderr
    assert not (tmp_path / "p.h5").exists() and not (tmp_path / "r.h5").exists()


def test_a_data_prior_conflict_is_a_warning_recorded_in_the_file(run, toy, tmp_path):
    """Observed 400 incidents in 40 steps (at most one a step): no rate the prior allows comes near,
    and the calibration ended at a tolerance of hundreds of sd with a confident 'posterior' at the
    priors' edge, exit 0 and no word. Now the same exit 0 carries a warning on stderr (even with
    -q), in the file's root attribute `warning`, in `brink inspect` and in the posterior scenario's
    header; the conjugate toy, whose record the prior reaches, has none
    (docs/calibration.md, "Data-prior conflict")."""
    for name, text, warned in (("conflict", toy.replace("value: 12", "value: 400"), True), ("toy", toy, False)):
        assert text != toy or not warned
        scenario = tmp_path / f"{name}.yaml"
        scenario.write_text(text, encoding="utf-8")
        out = tmp_path / f"{name}.h5"
        proc = run("calibrate", scenario, "-q", "-t", "2", "--particles", "100", "--generations", "4", "-o", out,
                   timeout=300)
        assert proc.returncode == 0, proc.stderr
        with h5py.File(out) as f:
            attribute = f.attrs.get("warning")
            tolerance = float(f["tolerances"][-1])
            closest = float(f["distances"][-1, :].min())
        shown = run("inspect", out).stdout
        header = (tmp_path / f"{name}.posterior.yaml").read_text(encoding="utf-8").split("\nbrink:", 1)[0]
        if not warned:
            assert proc.stderr == "" and attribute is None and "warning" not in shown + header, proc.stderr
            assert closest <= 3.0  # one observation: the bound is 3 sd
            continue
        assert closest > 3.0 and tolerance > 3.0
        assert proc.stderr.startswith("brink calibrate: warning: the posterior is not a fit to the observations")
        assert proc.stderr.count("\n") == 1 and "a data-prior conflict" in proc.stderr, proc.stderr
        assert "observation 'incidents_by_day_39' (400, sd 1)" in proc.stderr, proc.stderr
        sentence = proc.stderr[len("brink calibrate: "):].strip()
        assert attribute.decode() == sentence and sentence in shown and "# " + sentence in header


@pytest.mark.parametrize("observations", ["", "observations: {}\n"], ids=["absent", "empty"])
def test_validate_refuses_a_calibration_without_observations_as_calibrate_does(run, toy, tmp_path, observations):
    """`brink validate` said ok to a scenario whose calibrate: block had no observations to fit,
    which `brink calibrate` then refused; validate makes the calibration's checks."""
    head, rest = toy[: toy.index("observations:")], toy[toy.index("calibrate:"):]
    scenario = tmp_path / "no-observations.yaml"
    scenario.write_text(head + observations + rest, encoding="utf-8")
    for args in (["validate", scenario], ["calibrate", scenario, "-o", tmp_path / "c.h5"]):
        proc = run(*args)
        assert proc.returncode == 2, proc.stderr
        assert "a calibration needs observations" in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert not list(tmp_path.glob("c.h5*"))
