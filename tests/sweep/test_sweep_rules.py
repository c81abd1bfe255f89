"""Sweeps and the rules they must keep, through the real `brink` binary: the
order of clip constraints, cross-field rules checked over a swept range rather
than at a base value no point runs, `samples` and `levels` against the design
the run ends with, and one clear message per mistake (docs/sweeps.md,
"Defining a sweep" and "Constraints on sampled points")."""

import re

import numpy as np
import pytest

from test_designs import DEPLOYED, PATIENCE, block, usage_error
from test_sweeps import SOURCE, brink, brink_ok, load, scenario_text, simulate, text, write

CAP = "actors.RUS.forces.deployed_cap"
READY = "actors.RUS.forces.ready"
FLAGSHIP_CAP = 190000
FLAGSHIP_DEPLOYED = 127000


def line_of(body, needle):
    """1-based line of the first line of `body` holding `needle`."""
    return next(i + 1 for i, row in enumerate(body.split("\n")) if needle in row)


def nothing_written(tmp_path, name="o.h5"):
    assert not list(tmp_path.glob(f"{name}*")), list(tmp_path.glob(f"{name}*"))


# --------------------------------------------------------------------------
# The order of clip constraints
# --------------------------------------------------------------------------

HALF_READY = f"{READY} <= 0.5 * {DEPLOYED}"
UNDER_CAP = f"{DEPLOYED} <= {CAP}"
AXES = {DEPLOYED: {"min": 100000, "max": 250000}, READY: {"min": 0, "max": 150000}}


def clipped_body(rules):
    return scenario_text(replications=1, horizon_days=5, sweep=block(
        design="lhs", samples=32, parameters=AXES, constraints=[{"rule": r, "action": "clip"} for r in rules]))


def test_a_clip_that_would_break_an_earlier_rule_is_refused_at_its_line(tmp_path):
    # Clipping deployed to the cap after ready was clipped to half of it left
    # ready above half the clipped deployed, and the run went ahead.
    body = clipped_body([HALF_READY, UNDER_CAP])
    path = write(tmp_path, "s.yaml", body)
    proc = brink("run", path, "-q", "-o", tmp_path / "o.h5")
    usage_error(proc, rf"^{re.escape(str(path))}:{line_of(body, UNDER_CAP)}:\d+: ", re.escape(f"'{UNDER_CAP}'"),
                re.escape(f"'{HALF_READY}'"), "put this clip before it")
    nothing_written(tmp_path)
    assert brink("validate", path).returncode == 2


def test_clips_in_a_working_order_leave_every_rule_true_at_every_point(tmp_path):
    path = write(tmp_path, "s.yaml", clipped_body([UNDER_CAP, HALF_READY]))
    data, attrs = load(simulate(tmp_path / "o.h5", path))
    deployed, ready = data["parameter_value"][:, 0], data["parameter_value"][:, 1]
    assert len(deployed) == 32
    assert np.sum(deployed == FLAGSHIP_CAP) >= 3, "test setup: the cap should clip some points"
    assert np.all(deployed <= FLAGSHIP_CAP) and np.all(ready <= 0.5 * deployed)
    assert np.sum(ready == 0.5 * deployed) >= 3, "test setup: the half rule should clip some points"
    for rule in (UNDER_CAP, HALF_READY):
        assert rule in text(attrs["constraints"])


def test_clips_that_cannot_break_each_other_are_accepted_in_either_order(tmp_path):
    # Two upper bounds on one axis: the second clip only lowers it further.
    second = f"{DEPLOYED} <= 2 * {READY} + 50_000"
    for name, rules in (("a.yaml", [UNDER_CAP, second]), ("b.yaml", [second, UNDER_CAP])):
        data, _ = load(simulate(tmp_path / f"{name}.h5", write(tmp_path, name, clipped_body(rules))))
        deployed, ready = data["parameter_value"][:, 0], data["parameter_value"][:, 1]
        assert np.all(deployed <= FLAGSHIP_CAP) and np.all(deployed <= 2 * ready + 50000)


def test_a_point_a_clip_moves_across_a_rule_inside_the_box_is_refused_not_run(tmp_path):
    """An outside tester's single clip, deployed <= 2·cap − 100000: every corner of the box is
    valid after it, but deployed − cap is worst where the clip starts to act (cap 125,000,
    deployed 150,000), inside an edge. The corner check passed it and the run wrote 41 of 500
    points above their cap (7% of the box), whose rerun commands were then refused. Every point
    the constraints leave is now checked against the rules its axes feed."""
    clip = f"{DEPLOYED} <= 2 * {CAP} - 100000"
    body = scenario_text(replications=1, horizon_days=5, sweep=block(
        design="lhs", samples=500, parameters={DEPLOYED: {"min": 20000, "max": 150000},
                                               CAP: {"min": 60000, "max": 200000}},
        constraints=[{"rule": clip, "action": "clip"}]))
    path = write(tmp_path, "s.yaml", body)
    for proc in (brink("validate", path), brink("run", path, "-q", "-o", tmp_path / "o.h5")):
        usage_error(proc, rf"^{re.escape(str(path))}:\d+:\d+: design point \d+ of 500 \(seed \d+\), as the sweep's "
                    r"constraints leave it, crosses rule cap_at_least_deployed", "add or tighten a constraint")
        deployed, cap = (float(v) for v in re.search(rf"{DEPLOYED}=([0-9.e+]+), {CAP}=([0-9.e+]+)", proc.stderr).groups())
        assert deployed > cap and deployed <= 2 * cap - 100000 + 1e-6, proc.stderr
    nothing_written(tmp_path)
    # The same clip with the cap kept above the kink leaves every point valid, and it runs.
    fine = body.replace("min: 60000, max: 200000", "min: 150000, max: 200000")
    assert fine != body
    data, _ = load(simulate(tmp_path / "fine.h5", write(tmp_path, "fine.yaml", fine)))
    deployed, cap = data["parameter_value"][:, 0], data["parameter_value"][:, 1]
    assert len(deployed) == 500 and np.all(deployed <= cap)


def test_a_clip_out_of_its_fields_range_is_reported_as_that(tmp_path):
    # It was reported as crossing cap_at_least_deployed, a rule the user never wrote.
    body = scenario_text(replications=1, sweep=block(design="lhs", samples=4, parameters={
        DEPLOYED: {"min": 100000, "max": 150000}}, constraints=[{"rule": f"{DEPLOYED} <= -5", "action": "clip"}]))
    path = write(tmp_path, "s.yaml", body)
    proc = brink("run", path, "-q", "-o", tmp_path / "o.h5")
    usage_error(proc, rf"^{re.escape(str(path))}:{line_of(body, '<= -5')}:\d+: ",
                re.escape(f"'{DEPLOYED}' must be in [0, 100000000]"), "got -5")
    assert "cap_at_least_deployed" not in proc.stderr
    nothing_written(tmp_path)


def test_a_clip_out_of_range_is_refused_at_its_line_when_no_rule_reads_the_field(tmp_path):
    body = scenario_text(replications=1, sweep=block(design="lhs", samples=4, parameters={
        PATIENCE: {"min": 10, "max": 90}}, constraints=[{"rule": f"{PATIENCE} <= -5", "action": "clip"}]))
    path = write(tmp_path, "s.yaml", body)
    for command in (["run", path, "-q", "-o", tmp_path / "o.h5"], ["validate", path]):
        usage_error(brink(*command), rf"^{re.escape(str(path))}:{line_of(body, '<= -5')}:\d+: ",
                    re.escape(f"'{PATIENCE}' must be in [0.001, 1000000] days, got -5"))
    nothing_written(tmp_path)


@pytest.mark.parametrize("rule, action, path", [
    (f"{DEPLOYED} <= run.seed", "reject", "run.seed"),
    (f"{DEPLOYED} <= run.seed", "clip", "run.seed"),
    (f"{DEPLOYED} <= 5000 * run.horizon_days", "reject", "run.horizon_days"),
    (f"{DEPLOYED} >= 1000 * output.timeseries_every", "reject", "output.timeseries_every"),
])
def test_a_constraint_reading_a_run_or_output_setting_is_refused_at_its_line(tmp_path, rule, action, path):
    # A rule on run.seed was accepted: validate said "the constraints reject all 8 points", --seed
    # 15000 ran 4 of them and --seed 25000 all 8, so which points ran (and whether the run was
    # valid at all) depended on the seed, as --sweep run.seed (refused) would have.
    body = scenario_text(replications=1, horizon_days=5, sweep=block(design="lhs", samples=8, parameters={
        DEPLOYED: {"min": 100000, "max": 150000}}, constraints=[{"rule": rule, "action": action}]))
    scenario = write(tmp_path, "s.yaml", body)
    where = rf"^{re.escape(str(scenario))}:{line_of(body, rule)}:\d+: "
    for command in (["validate", scenario], ["run", scenario, "-q", "-o", tmp_path / "o.h5"],
                    ["run", scenario, "-q", "-o", tmp_path / "o.h5", "--seed", "200000"]):
        usage_error(brink(*command), where, re.escape(f"'{rule}'"), re.escape(f"'{path}', a run setting"),
                    "not a model parameter")
    nothing_written(tmp_path)


# --------------------------------------------------------------------------
# Cross-field rules over the swept range, not at the base value
# --------------------------------------------------------------------------


def test_a_set_is_judged_against_the_swept_range_not_the_base_value(tmp_path):
    base = write(tmp_path, "base.yaml", scenario_text(replications=16))
    # Every point has deployed <= 100000 <= the cap; only the base value (127000) is above it.
    out = simulate(tmp_path / "ok.h5", base, "--design", "lhs", "--samples", 4,
                   "--sweep", f"{DEPLOYED}=50000:100000", "--set", f"{CAP}=110000")
    values = load(out)[0]["parameter_value"]
    assert np.all((values[:, 0] >= 50000) & (values[:, 0] <= 100000))
    # A range that really crosses the rule is still refused, at its axis.
    argument = f"{DEPLOYED}=100000:150000"
    proc = brink("run", base, "-q", "-o", tmp_path / "o.h5", "--design", "lhs", "--samples", 4,
                 "--sweep", argument, "--set", f"{CAP}=120000")
    usage_error(proc, rf"^brink run: --sweep {re.escape(argument)}: ", "crosses rule cap_at_least_deployed",
                f"at {DEPLOYED}=150000")
    nothing_written(tmp_path)
    # Without a sweep of deployed the rule is checked at the value, as before.
    proc = brink("run", base, "-q", "-o", tmp_path / "o.h5", "--set", f"{CAP}=110000")
    usage_error(proc, f"--set {CAP}=110000", rf"\(110000\) is below '{DEPLOYED}' \({FLAGSHIP_DEPLOYED}\)")
    nothing_written(tmp_path)


def test_a_file_sweeping_a_field_whose_base_value_breaks_a_rule_is_valid(tmp_path):
    plain = scenario_text(replications=16).replace(f"deployed_cap: {FLAGSHIP_CAP}", "deployed_cap: 110000", 1)
    assert "deployed_cap: 110000" in plain, "test setup: the flagship's RUS cap changed"
    swept = plain.rstrip("\n") + "\n\n" + block(parameters={DEPLOYED: [50000, 100000]})
    path = write(tmp_path, "swept.yaml", swept)
    brink_ok("validate", path)
    np.testing.assert_array_equal(load(simulate(tmp_path / "s.h5", path))[0]["parameter_value"][:, 0],
                                  [50000, 100000])
    # Without the sweep, validate still reports the rule at the file's values.
    alone = write(tmp_path, "alone.yaml", plain)
    usage_error(brink("validate", alone), rf"^{re.escape(str(alone))}:{line_of(plain, 'deployed_cap: 110000')}:",
                "is below")
    # And a grid that crosses it is refused at its axis.
    crossing = write(tmp_path, "crossing.yaml", swept.replace("[50000, 100000]", "[50000, 120000]"))
    usage_error(brink("validate", crossing), "crosses rule cap_at_least_deployed", f"at {DEPLOYED}=120000")


# --------------------------------------------------------------------------
# The bargaining rules on every route: file, --set, --sweep, sampled designs
# --------------------------------------------------------------------------

INTERVAL = "bargaining.interval_days"
CORE = "negotiation.issues.stake.core"
OFFER_STEP = re.escape("'bargaining.interval_days' is 0.3, below 'run.dt_days' 1; at most one offer fits in a step")
NO_STAKE = re.escape("'bargaining' needs a core negotiation issue on which both 'PROPOSER' and 'RECEIVER' have a "
                     "salience above 0 (the stake of the offers); the issues they share "
                     "('negotiation.issues.stake') are not core")


def ultimatum(tmp_path, name="u.yaml", rounds="rounds: 1", sweep=None):
    """The validation ultimatum (dt 1, one core issue `stake`), with its rounds line replaced."""
    body = (SOURCE / "scenarios" / "validation" / "bargaining-ultimatum.yaml").read_text(encoding="utf-8")
    assert "  rounds: 1\n" in body, "test setup: the ultimatum's bargaining section changed"
    body = body.replace("  rounds: 1\n", f"  {rounds}\n")
    if sweep is not None:
        body = body.rstrip("\n") + "\n" + sweep
    return body, write(tmp_path, name, body)


def test_bargaining_rules_in_a_file_are_refused_at_their_line_and_in_its_sweep_over_the_range(tmp_path):
    # The file's own values were checked when it was parsed; a sweep block over them was not:
    # `interval_days: [0.3, 1]` ran 0.3, losing offers, and `core: [true, false]` ran talks
    # over no stake.
    body, path = ultimatum(tmp_path, rounds="rounds: 3\n  interval_days: 0.3")
    usage_error(brink("validate", path), rf"^{re.escape(str(path))}:{line_of(body, 'interval_days: 0.3')}:\d+: ",
                OFFER_STEP)
    body, path = ultimatum(tmp_path, rounds="rounds: 3", sweep=block(parameters={INTERVAL: [1, 0.3]}))
    for command in (["validate", path], ["run", path, "-q", "-o", tmp_path / "o.h5"]):
        usage_error(brink(*command), rf"^{re.escape(str(path))}:{line_of(body, INTERVAL + ':')}:\d+: ",
                    re.escape(f"sweep axis '{INTERVAL}' (grid values 0.3 to 1) crosses rule one_offer_per_step"),
                    re.escape(f"at {INTERVAL}=0.3, ") + OFFER_STEP)
    body, path = ultimatum(tmp_path, sweep=block(parameters={CORE: ["true", "false"]}))
    usage_error(brink("run", path, "-q", "-o", tmp_path / "o.h5"),
                rf"^{re.escape(str(path))}:{line_of(body, CORE + ':')}:\d+: ",
                re.escape(f"sweep axis '{CORE}' (grid values false to true) crosses rule "
                          "bargaining_pair_shares_a_core_issue"), re.escape(f"at {CORE}=false, ") + NO_STAKE)
    nothing_written(tmp_path)
    _, fine = ultimatum(tmp_path, "fine.yaml", rounds="rounds: 3", sweep=block(parameters={INTERVAL: [1, 2]}))
    brink_ok("validate", fine)


@pytest.mark.parametrize("rounds, settings, message", [
    # A second offer fell in the step of the first and was lost: 1230 of 4000 rejecters
    # ended in a standoff, neither offered again nor at war.
    ("rounds: 3", ["run.horizon_days=5", f"{INTERVAL}=0.3"], OFFER_STEP),
    ("rounds: 3\n  interval_days: 1", ["run.horizon_days=6", "run.dt_days=2"],
     re.escape("'bargaining.interval_days' is 1, below 'run.dt_days' 2; at most one offer fits in a step")),
    # Offers over no stake: acceptors settled nothing and ended in a standoff.
    ("rounds: 1", [f"{CORE}=false"], NO_STAKE),
], ids=["interval", "dt", "core"])
def test_a_set_that_breaks_a_bargaining_rule_is_refused_at_the_set(tmp_path, rounds, settings, message):
    _, path = ultimatum(tmp_path, rounds=rounds)
    args = ["run", path, "-q", "-n", 64, "-o", tmp_path / "o.h5"]
    for setting in settings:
        args += ["--set", setting]
    usage_error(brink(*args), rf"^brink run: --set {re.escape(settings[-1])}: " + message)
    nothing_written(tmp_path)


@pytest.mark.parametrize("sweep, extra, message", [
    (f"{INTERVAL}=0.3,1", [],
     re.escape(f"sweep axis '{INTERVAL}' (grid values 0.3 to 1) crosses rule one_offer_per_step") + ".*" +
     re.escape(f"at {INTERVAL}=0.3, ") + OFFER_STEP),
    (f"{INTERVAL}=0.3:2", ["--design", "lhs", "--samples", 4],
     re.escape(f"sweep axis '{INTERVAL}' (lhs range [0.3, 2]) crosses rule one_offer_per_step") + ".*" +
     re.escape(f"at {INTERVAL}=0.3, ") + OFFER_STEP),
    (f"{CORE}=true,false", [],
     re.escape(f"sweep axis '{CORE}' (grid values false to true) crosses rule bargaining_pair_shares_a_core_issue")
     + ".*" + re.escape(f"at {CORE}=false, ") + NO_STAKE),
], ids=["interval-grid", "interval-lhs", "core-grid"])
def test_a_sweep_crossing_a_bargaining_rule_is_refused_at_its_axis_for_every_seed(tmp_path, sweep, extra, message):
    _, path = ultimatum(tmp_path, rounds="rounds: 3")
    for seed in (1, 2, 3):
        proc = brink("run", path, "-q", "-n", 64, "-o", tmp_path / "o.h5", "--seed", seed, "--sweep", sweep, *extra)
        usage_error(proc, rf"^brink run: --sweep {re.escape(sweep)}: " + message)
    nothing_written(tmp_path)
    # A range that keeps the rule runs.
    simulate(tmp_path / "ok.h5", path, "-n", 64, "--sweep", f"{INTERVAL}=1,2")


# --------------------------------------------------------------------------
# samples and levels against the final design
# --------------------------------------------------------------------------


def test_samples_on_a_grid_in_the_file_are_refused_as_on_the_command_line(tmp_path):
    body = scenario_text(replications=16, sweep=block(design="grid", samples=4, parameters={PATIENCE: [10, 90]}))
    path = write(tmp_path, "s.yaml", body)
    for command in (["run", path, "-q", "-o", tmp_path / "o.h5"], ["validate", path]):
        usage_error(brink(*command), rf"^{re.escape(str(path))}:{line_of(body, 'samples: 4')}:\d+: ",
                    r"'sweep.samples' \(4\)", "grid")
    nothing_written(tmp_path)
    # The file's samples with a sampled design made a grid by --design.
    sampled = write(tmp_path, "lhs.yaml", scenario_text(replications=16, sweep=block(
        design="lhs", samples=4, parameters={PATIENCE: {"min": 10, "max": 90}})))
    proc = brink("run", sampled, "-q", "-o", tmp_path / "o.h5", "--design", "grid", "--sweep", f"{PATIENCE}=10,90")
    usage_error(proc, rf"^{re.escape(str(sampled))}:\d+:\d+: 'sweep.samples' \(4\)", "--design grid")
    nothing_written(tmp_path)


def test_morris_levels_with_another_final_design_are_refused(tmp_path):
    body = scenario_text(replications=16, sweep=block(design="morris", samples=4, levels=6, parameters={
        PATIENCE: {"min": 10, "max": 90}, DEPLOYED: {"min": 80000, "max": 150000}}))
    path = write(tmp_path, "s.yaml", body)
    brink_ok("validate", path)
    proc = brink("run", path, "-q", "-o", tmp_path / "o.h5", "--design", "lhs")
    usage_error(proc, rf"^{re.escape(str(path))}:{line_of(body, 'levels: 6')}:\d+: 'sweep.levels'", "--design lhs")
    nothing_written(tmp_path)


# --------------------------------------------------------------------------
# One message per mistake; a truthful design attribute
# --------------------------------------------------------------------------


def test_a_design_name_in_the_wrong_case_is_one_error(tmp_path):
    body = scenario_text(replications=16, sweep=block(design="LHS", samples=4, parameters={
        PATIENCE: {"min": 10, "max": 90}}))
    path = write(tmp_path, "s.yaml", body)
    usage_error(brink("validate", path), rf"^{re.escape(str(path))}:{line_of(body, 'design: LHS')}:\d+: ",
                "got 'LHS'", "lower case: 'lhs'")
    base = write(tmp_path, "base.yaml", scenario_text(replications=16))
    usage_error(brink("run", base, "-q", "-o", tmp_path / "o.h5", "--design", "Sobol", "--samples", 4,
                      "--sweep", f"{PATIENCE}=10:90"), "^brink run: --design: ", "lower case: 'sobol'")
    nothing_written(tmp_path)


def test_sensitivity_records_the_plan_it_ran_as_its_design(tmp_path):
    # random, lhs and sobol give the same Saltelli plan; the file said lhs or random.
    base = write(tmp_path, "base.yaml", scenario_text(replications=16))
    axes = ["--sweep", f"{PATIENCE}=10:90", "--sweep", f"{DEPLOYED}=80000:150000", "--samples", 4, "--sensitivity"]
    outs = {}
    for design in ("lhs", "random", "sobol"):
        outs[design] = load(simulate(tmp_path / f"{design}.h5", base, "--summary-only", "--design", design, *axes))
        assert text(outs[design][1]["design"]) == "sobol" and int(outs[design][1]["sensitivity"]) == 1
    np.testing.assert_array_equal(outs["lhs"][0]["parameter_value"], outs["random"][0]["parameter_value"])
