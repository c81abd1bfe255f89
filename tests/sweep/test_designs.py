"""End-to-end tests of the designs users expect: categorical axes, levers ×
uncertainties, constraints on sampled points and Morris screening, run through
the real `brink` binary on the shipped flagship and read back with h5py and
xarray (docs/sweeps.md)."""

import itertools
import re

import h5py
import numpy as np
import pytest
import xarray as xr

from test_sweeps import (FLAGSHIP, brink, brink_ok, load, names, same_bits, scenario_text, simulate, sweep_block,
                         text, write)

LAW = "combat.law"
DEPLOYED = "actors.RUS.forces.deployed"
CAP = "actors.RUS.forces.deployed_cap"
READY = "actors.USA.forces.ready"
PATIENCE = "actors.RUS.decision.patience_days"
NULL = "actors.UKR.decision.weights.war_gain"  # UKR has no attack action: cannot matter
BASE_RATE = "escalation.incidents.base_rate"
OUTCOMES = ["settlement", "standoff", "limited_war", "full_war", "alliance_war"]


def usage_error(proc, *patterns):
    assert proc.returncode == 2, f"expected exit 2, got {proc.returncode}\nstderr:\n{proc.stderr}"
    for bad in ("terminate called", "Traceback", "what():"):
        assert bad not in proc.stderr, proc.stderr
    for pattern in patterns:
        assert re.search(pattern, proc.stderr), f"message does not match {pattern!r}:\n{proc.stderr}"
    assert len(proc.stderr.strip().splitlines()) == 1, f"one sentence expected:\n{proc.stderr}"


def block(**keys):
    """A sweep block from keyword sections (mappings become nested YAML, lists of dicts flow)."""
    lines = ["sweep:"]
    for key, value in keys.items():
        if isinstance(value, dict):
            lines.append(f"  {key}:")
            for path, axis in value.items():
                if isinstance(axis, dict):
                    axis = "{" + ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}"
                                           for k, v in axis.items()) + "}"
                elif isinstance(axis, list):
                    axis = "[" + ", ".join(map(str, axis)) + "]"
                lines.append(f"    {path}: {axis}")
        elif isinstance(value, list):
            lines.append(f"  {key}:")
            for item in value:
                lines.append("    - {" + ", ".join(f'{k}: "{v}"' for k, v in item.items()) + "}")
        else:
            lines.append(f"  {key}: {value}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# 1. Categorical axes
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def law_grid(tmp_path_factory):
    d = tmp_path_factory.mktemp("law")
    base = write(d, "base.yaml", scenario_text(replications=256))
    out = simulate(d / "law.h5", base, "--sweep", f"{LAW}=square,linear", "--sweep", f"{DEPLOYED}=100000,150000",
                   "--set", "run.random_numbers=common")
    return d, base, out


def test_categorical_axis_stores_the_choice_index_with_cf_flags(law_grid):
    _, _, out = law_grid
    data, _ = load(out)
    assert names(data["parameter"]) == [LAW, DEPLOYED]
    expected = np.array(list(itertools.product([0, 1], [100000, 150000])), dtype=float)
    np.testing.assert_array_equal(data["parameter_value"], expected)
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        law = ds.coords["combat_law"]
        np.testing.assert_array_equal(law.values, [0, 0, 1, 1])
        np.testing.assert_array_equal(law.attrs["flag_values"], [0.0, 1.0])
        assert law.attrs["flag_meanings"] == "square linear"
        decoded = [law.attrs["flag_meanings"].split()[int(v)] for v in law.values]
        assert decoded == ["square", "square", "linear", "linear"]
        # With the parameter made an index (one call), selection by the value's name works.
        import brink_analysis as ba
        chosen = ba.indexed(ds).sel(combat_law="linear")
        np.testing.assert_array_equal(chosen["actors_RUS_forces_deployed"].values, [100000, 150000])


def test_categorical_point_is_simulated_with_its_choice(law_grid, tmp_path):
    # Common random numbers: point 3 (linear, 150,000) must be, bit for bit,
    # the plain run with --set at those values.
    d, base, out = law_grid
    data, _ = load(out)
    single = simulate(tmp_path / "one.h5", base, "--set", f"{LAW}=linear", "--set", f"{DEPLOYED}=150000",
                      "--set", "run.random_numbers=common")
    one, _ = load(single)
    for name in ("outcome_code", "end_step", "casualties"):
        assert same_bits(data[name][3], one[name][0]), name
    # Not vacuous: the law changes the casualties at the same deployment.
    assert not same_bits(data["casualties"][1], data["casualties"][3])


def test_tables_show_a_categorical_value_by_name(law_grid):
    _, _, out = law_grid
    rows = [line.split() for line in brink_ok("inspect", out).stdout.splitlines()]
    shown = [(r[1], r[2]) for r in rows if len(r) > 3 and r[0] in "0123"]
    assert shown == [("square", "100000"), ("square", "150000"), ("linear", "100000"), ("linear", "150000")]


def test_categorical_axis_in_the_file_block(tmp_path):
    body = scenario_text(replications=256, sweep=block(parameters={LAW: ["linear", "square"]}))
    data, attrs = load(simulate(tmp_path / "f.h5", write(tmp_path, "f.yaml", body)))
    np.testing.assert_array_equal(data["parameter_value"][:, 0], [1.0, 0.0])


@pytest.mark.parametrize("case", ["unknown_name", "sampled", "sensitivity", "file_unknown", "file_range"])
def test_categorical_misuse_is_one_clear_error(case, tmp_path):
    base = write(tmp_path, "base.yaml", scenario_text(replications=256))
    out = tmp_path / "out.h5"
    if case == "unknown_name":
        usage_error(brink("run", base, "-q", "-o", out, "--sweep", f"{LAW}=square,cubic"), "cubic", "square, linear")
    elif case == "sampled":
        usage_error(brink("run", base, "-q", "-o", out, "--design", "lhs", "--samples", 4, "--sweep", f"{LAW}=0:1"),
                    "categorical", "lhs")
    elif case == "sensitivity":
        usage_error(brink("run", base, "-q", "-o", out, "--sensitivity", "--design", "sobol", "--samples", 4,
                          "--sweep", f"{LAW}=square,linear", "--sweep", f"{PATIENCE}=10:90"), "categorical")
    else:
        axis = ["square", "cubic"] if case == "file_unknown" else {"min": 0, "max": 1}
        design = {} if case == "file_unknown" else {"design": "lhs", "samples": 4}
        body = scenario_text(replications=256, sweep=block(**design, parameters={LAW: axis}))
        path = write(tmp_path, "bad.yaml", body)
        proc = brink("run", path, "-q", "-o", out)
        assert proc.returncode == 2, proc.stderr
        assert re.search(rf"^{re.escape(str(path))}:\d+:\d+: .*{re.escape(LAW)}", proc.stderr, re.M), proc.stderr
    assert not out.exists()


def test_params_marks_categorical_fields_sweepable():
    proc = brink_ok("params", FLAGSHIP)
    line = next(row for row in proc.stdout.splitlines() if row.startswith(LAW + " "))
    assert line.rstrip().endswith("sweep"), line


# --------------------------------------------------------------------------
# 2. Levers × uncertainties
# --------------------------------------------------------------------------

LEVERS = {READY: [8500, 50000], LAW: ["square", "linear"]}
UNCERTAINTIES = {PATIENCE: {"min": 10, "max": 90}, BASE_RATE: {"min": 0.0005, "max": 0.005, "log": True}}
SAMPLES = 12


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    d = tmp_path_factory.mktemp("mixed")
    body = scenario_text(replications=256, sweep=block(design="lhs", samples=SAMPLES, random_numbers="common",
                                                       levers=LEVERS, uncertainties=UNCERTAINTIES))
    return d, simulate(d / "mixed.h5", write(d, "mixed.yaml", body))


def test_every_policy_runs_the_same_sampled_states(mixed):
    _, out = mixed
    data, attrs = load(out)
    values = data["parameter_value"]
    policies = list(itertools.product([8500, 50000], [0, 1]))
    assert values.shape == (len(policies) * SAMPLES, 4)
    assert names(data["parameter"]) == [READY, LAW, PATIENCE, BASE_RATE]
    states = values[:SAMPLES, 2:]
    assert len(np.unique(states[:, 0])) == SAMPLES  # an LHS: distinct values
    for c, policy in enumerate(policies):
        rows = values[c * SAMPLES:(c + 1) * SAMPLES]
        np.testing.assert_array_equal(rows[:, :2], np.tile(policy, (SAMPLES, 1)))
        assert same_bits(rows[:, 2:], states), f"policy {policy} ran other states of the world"
    # Latin hypercube of the uncertainties: one point per stratum.
    u = (states[:, 0] - 10) / 80
    assert sorted(np.floor(u * SAMPLES).astype(int)) == list(range(SAMPLES))
    assert text(attrs["levers"]) == f"{READY} {LAW}"
    assert text(attrs["uncertainties"]) == f"{PATIENCE} {BASE_RATE}"
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds.coords["actors_USA_forces_ready"].attrs["role"] == "lever"
        assert ds.coords["actors_RUS_decision_patience_days"].attrs["role"] == "uncertainty"


def test_robustness_reads_levers_from_the_file(mixed):
    import brink_analysis as ba
    _, out = mixed
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        auto = ba.robustness_table(ds, outcome="full_war")
        given = ba.robustness_table(ds, [READY, LAW], "full_war", uncertainties=[PATIENCE, BASE_RATE])
        assert ba.design_roles(ds) == ([READY, LAW], [PATIENCE, BASE_RATE])
    pd_cols = [READY, LAW, "expected", "max_regret"]
    assert auto[pd_cols].equals(given[pd_cols])
    assert len(auto) == 4 and set(auto["states"]) == {SAMPLES}
    assert set(auto[LAW]) == {"square", "linear"}  # a categorical lever shows its names
    import matplotlib
    matplotlib.use("Agg")
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        fig = ba.plot_robustness(ds, outcome="full_war")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == 4 and all(("square" in t) != ("linear" in t) for t in labels), labels


def test_cli_levers_give_the_file_design(mixed, tmp_path):
    _, out = mixed
    base = write(tmp_path, "base.yaml", scenario_text(replications=256))
    cli = simulate(tmp_path / "cli.h5", base, "--design", "lhs", "--samples", SAMPLES,
                   "--lever", f"{READY}=8500,50000", "--lever", f"{LAW}=square,linear",
                   "--sweep", f"{PATIENCE}=10:90", "--sweep", f"{BASE_RATE}=0.0005:0.005:log",
                   "--set", "run.random_numbers=common")
    a, _ = load(out)
    b, attrs = load(cli)
    # The CLI appends levers after --sweep axes: compare column by column.
    order = [names(b["parameter"]).index(p) for p in names(a["parameter"])]
    assert same_bits(a["parameter_value"], b["parameter_value"][:, order])
    assert text(attrs["levers"]) == f"{READY} {LAW}"
    assert text(attrs["uncertainties"]) == f"{PATIENCE} {BASE_RATE}"


@pytest.mark.parametrize("case", ["grid", "sensitivity", "morris", "no_uncertainty"])
def test_mixed_design_misuse_is_refused(case, tmp_path):
    base = write(tmp_path, "base.yaml", scenario_text(replications=256))
    lever = ["--lever", f"{READY}=8500,50000"]
    args = {
        "grid": lever + ["--sweep", f"{PATIENCE}=10,90"],
        "sensitivity": lever + ["--design", "sobol", "--samples", 4, "--sensitivity", "--sweep", f"{PATIENCE}=10:90"],
        "morris": lever + ["--design", "morris", "--samples", 4, "--sweep", f"{PATIENCE}=10:90"],
        "no_uncertainty": lever + ["--design", "lhs", "--samples", 4],
    }[case]
    usage_error(brink("run", base, "-q", "-o", tmp_path / "o.h5", *args), {"grid": "mixed design", "sensitivity":
                "levers", "morris": "levers", "no_uncertainty": "uncertainty"}[case])


# --------------------------------------------------------------------------
# 3. Constraints
# --------------------------------------------------------------------------


def flagship_cap():
    import yaml
    doc = yaml.safe_load(FLAGSHIP.read_text())
    return float(doc["actors"]["RUS"]["forces"].get("deployed_cap", 1e8))


def test_clip_makes_a_crossing_range_valid_and_lands_on_the_cap(tmp_path):
    cap = flagship_cap()
    assert cap < 1e8, "test setup: the flagship's RUS has no deployed_cap"
    axes = {DEPLOYED: {"min": cap * 0.6, "max": cap * 1.4}, PATIENCE: {"min": 10, "max": 90}}
    crossing = scenario_text(replications=256, sweep=block(design="lhs", samples=16, parameters=axes))
    proc = brink("run", write(tmp_path, "cross.yaml", crossing), "-q", "-o", tmp_path / "x.h5")
    assert proc.returncode == 2 and "crosses rule" in proc.stderr, proc.stderr
    clipped = scenario_text(replications=256, sweep=block(design="lhs", samples=16, parameters=axes, constraints=[
        {"rule": f"{DEPLOYED} <= {CAP}", "action": "clip"}]))
    path = write(tmp_path, "clip.yaml", clipped)
    brink_ok("validate", path)
    data, attrs = load(simulate(tmp_path / "clip.h5", path))
    deployed = data["parameter_value"][:, 0]
    assert len(deployed) == 16 and np.all(deployed <= cap)
    assert np.sum(deployed == cap) >= 3  # about half the LHS strata lie above the cap
    assert int(attrs["rejected_points"]) == 0
    # Everything else is the LHS design: the unclipped points keep their strata.
    kept = deployed[deployed < cap]
    assert len(np.unique(np.floor((kept - cap * 0.6) / (cap * 0.8) * 16))) == len(kept)


def test_reject_drops_exactly_the_points_that_break_the_rule(tmp_path):
    axes = {DEPLOYED: {"min": 60000, "max": 120000}, READY: {"min": 0, "max": 60000}}
    free = scenario_text(replications=1, horizon_days=5, sweep=block(design="random", samples=40, parameters=axes))
    rule = f"{READY} <= 0.5 * {DEPLOYED} - 1_000"
    ruled = scenario_text(replications=1, horizon_days=5, sweep=block(design="random", samples=40, parameters=axes,
                                                                       constraints=[{"rule": rule,
                                                                                     "action": "reject"}]))
    all_points = load(simulate(tmp_path / "free.h5", write(tmp_path, "free.yaml", free)))[0]["parameter_value"]
    path = write(tmp_path, "ruled.yaml", ruled)
    proc = brink_ok("run", path, "-o", tmp_path / "ruled.h5", "--no-table")
    data, attrs = load(tmp_path / "ruled.h5")
    ok = all_points[:, 1] <= 0.5 * all_points[:, 0] - 1000
    assert 0 < ok.sum() < 40, "test setup: the rule should drop some points and keep some"
    np.testing.assert_array_equal(data["parameter_value"], all_points[ok])
    assert int(attrs["rejected_points"]) == int((~ok).sum())
    assert f"{int((~ok).sum())} design points rejected" in proc.stdout
    assert rule in text(attrs["constraints"])
    # A pure function of the design: the same run gives the same points.
    again, _ = load(simulate(tmp_path / "again.h5", path))
    assert same_bits(again["parameter_value"], data["parameter_value"])


@pytest.mark.parametrize("case", ["reject_sensitivity", "bad_syntax", "clip_fixed_field", "unknown_path"])
def test_bad_constraints_are_refused_at_their_line(case, tmp_path):
    axes = {DEPLOYED: {"min": 60000, "max": 120000}, READY: {"min": 0, "max": 60000}}
    rule, action, extra, pattern = {
        "reject_sensitivity": (f"{READY} <= {DEPLOYED}", "reject", {"sensitivity": "true"}, "sensitivity"),
        "bad_syntax": (f"{READY} < exp({DEPLOYED})", "clip", {}, "unexpected"),
        "clip_fixed_field": (f"{CAP} >= {DEPLOYED}", "clip", {}, "swept range axis"),
        "unknown_path": ("actors.RUS.forces.deploy <= 5", "reject", {}, "unknown parameter path"),
    }[case]
    body = scenario_text(replications=256, sweep=block(design="sobol", samples=8, **extra, parameters=axes,
                                                       constraints=[{"rule": rule, "action": action}]))
    path = write(tmp_path, "bad.yaml", body)
    proc = brink("run", path, "-q", "-o", tmp_path / "o.h5")
    assert proc.returncode == 2, proc.stderr
    line = next(i + 1 for i, row in enumerate(body.split("\n")) if "rule:" in row)
    assert re.search(rf"^{re.escape(str(path))}:{line}:\d+: .*{pattern}", proc.stderr, re.M), proc.stderr


# --------------------------------------------------------------------------
# 4. Morris screening
# --------------------------------------------------------------------------

MORRIS_AXES = [f"{PATIENCE}=10:90", f"{NULL}=0:5", f"{DEPLOYED}=80000:160000"]


@pytest.fixture(scope="module")
def morris_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("morris")
    base = write(d, "base.yaml", scenario_text(replications=512))
    out = d / "morris.h5"
    args = ["--design", "morris", "--samples", 8, "--summary-only", "--set", "run.random_numbers=common"]
    for axis in MORRIS_AXES:
        args += ["--sweep", axis]
    proc = brink_ok("run", base, "-o", out, *args)
    return out, proc


def test_morris_design_is_one_at_a_time_trajectories(morris_run):
    out, _ = morris_run
    data, attrs = load(out)
    values = data["parameter_value"][:, :3]
    assert values.shape == (8 * 4, 3)
    lows, highs = np.array([10, 0, 80000.0]), np.array([90, 5, 160000.0])
    unit = (values - lows) / (highs - lows)
    np.testing.assert_allclose(unit * 3, np.round(unit * 3), atol=1e-9)  # p = 4 levels
    for t in range(8):
        steps = np.diff(unit[t * 4:(t + 1) * 4], axis=0)
        assert np.all((np.abs(steps) > 1e-12).sum(axis=1) == 1)
        np.testing.assert_allclose(np.abs(steps).sum(axis=1), 2 / 3)
    assert int(attrs["morris_levels"]) == 4 and text(attrs["design"]) == "morris"


def test_morris_measures_match_the_file_and_find_the_null_parameter(morris_run):
    out, proc = morris_run
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        values = ds["parameter_value"].values[:, :3]
        unit = (values - [10, 0, 80000.0]) / [80, 5, 80000.0]
        for output in ("probability_full_war", "probability_standoff", "mean_casualties_RUS"):
            if output.startswith("probability_"):
                f = ds["outcome_probability"].sel(outcome=output.removeprefix("probability_")).values
            else:
                f = ds["mean_casualties"].sel(actor=output.removeprefix("mean_casualties_")).values
            effects = [[] for _ in range(3)]
            for t in range(8):
                for s in range(1, 4):
                    step = unit[t * 4 + s] - unit[t * 4 + s - 1]
                    i = int(np.argmax(np.abs(step)))
                    effects[i].append((f[t * 4 + s] - f[t * 4 + s - 1]) / step[i])
            ee = np.array(effects)
            at = {v: ds[f"morris_{v}"].sel(output=output).values[:3] for v in ("mu", "mu_star", "sigma")}
            np.testing.assert_allclose(at["mu"], ee.mean(axis=1), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(at["mu_star"], np.abs(ee).mean(axis=1), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(at["sigma"], ee.std(axis=1, ddof=1), rtol=1e-10, atol=1e-12)
            # Common random numbers and a weight UKR never uses: exactly no effect.
            assert at["mu_star"][1] == 0.0
        assert ds["morris_mu_star"].sel(output="probability_full_war").values[0] > 0
        import brink_analysis as ba
        table = ba.morris_table(ds, "probability_full_war")
        assert table["parameter"].iloc[-1] == NULL and list(table["mu_star"]) == sorted(table["mu_star"], reverse=True)
        import matplotlib
        matplotlib.use("Agg")
        ax = ba.plot_morris(ds, "probability_full_war")
        assert "8 trajectories" in ax.get_title()
    assert "Morris elementary effects" in proc.stdout
    # inspect prints the same table from the file.
    table = proc.stdout[proc.stdout.index("Morris elementary effects"):].splitlines()[:-1]
    shown = brink_ok("inspect", out).stdout
    assert "\n".join(table) in shown


def test_morris_refuses_constraints_and_sensitivity(tmp_path):
    base = write(tmp_path, "base.yaml", scenario_text(replications=256))
    usage_error(brink("run", base, "-q", "-o", tmp_path / "o.h5", "--design", "morris", "--samples", 4, "--sensitivity",
                      "--sweep", f"{PATIENCE}=10:90"), "morris")


# --------------------------------------------------------------------------
# 5. Scenario choices
# --------------------------------------------------------------------------


def choice_files(directory):
    a_text = scenario_text(replications=256)
    assert "events: []" in a_text and "  law: square" in a_text, "test setup: the flagship changed"
    b_text = a_text.replace("events: []", "events:\n  - {day: 30, actor: RUS, deploy: 10000}").replace(
        "  law: square", "  law: linear")
    return write(directory, "a.yaml", a_text), write(directory, "b.yaml", b_text)


@pytest.fixture(scope="module")
def choices_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("choices")
    a, b = choice_files(d)
    out = simulate(d / "choices.h5", a, "--sweep", f"scenario={a},{b}", "--sweep", f"{DEPLOYED}=100000,150000",
                   "--set", "run.random_numbers=common")
    return d, a, b, out


def test_scenario_choices_are_an_axis_with_the_union_of_their_fields(choices_run):
    _, a, b, out = choices_run
    data, attrs = load(out)
    assert names(data["parameter"]) == ["scenario", DEPLOYED, LAW, "events.0.day", "events.0.deploy"]
    v = data["parameter_value"]
    np.testing.assert_array_equal(v[:, 0], [0, 0, 1, 1])
    np.testing.assert_array_equal(v[:, 1], [100000, 150000, 100000, 150000])
    np.testing.assert_array_equal(v[:, 2], [0, 0, 1, 1])  # square in a, linear in b
    assert np.all(np.isnan(v[:2, 3:])) and np.array_equal(v[2:, 3:], [[30, 10000], [30, 10000]])
    assert text(attrs["scenario_choices"]).split("\n") == [str(a), str(b)]
    assert text(attrs["scenario_choice_0"]) == a.read_text() and text(attrs["scenario_choice_1"]) == b.read_text()
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        # CF flag words allow letters, digits and _.+-@ only; the exact paths are in scenario_choices.
        words = [re.sub(r"[^A-Za-z0-9_.+\-@]", "_", str(p)) for p in (a, b)]
        assert ds.coords["scenario"].attrs["flag_meanings"] == " ".join(words) and "/" not in words[0]
        assert "scenario choice" in ds.coords["events_0_day"].attrs["long_name"]
        # Units come from the field table even for a path only one choice has (they were empty).
        assert ds.coords["events_0_day"].attrs["scenario_units"] == "days"
        assert ds.coords["events_0_deploy"].attrs["scenario_units"] == "troops"
        assert [text(u) for u in ds["parameter_units"].values][3:] == ["days", "troops"]


def test_inspect_gives_each_choices_text_by_its_size(choices_run):
    """Each choice's whole scenario text (18 kB for the flagship) was printed inline, flattened to
    one line, while the file's own scenario was summarised by its size."""
    _, _, _, out = choices_run
    proc = brink("inspect", out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        texts = [f.attrs[f"scenario_choice_{k}"] for k in range(2)]
    for k, text in enumerate(texts):
        size = len(text if isinstance(text, bytes) else text.encode())
        assert f"scenario_choice_{k} ({size} bytes of YAML: the text of scenario choice {k})" in proc.stdout
    assert max(len(line) for line in proc.stdout.splitlines()) < 2000, "a choice's text printed whole"


def test_each_point_reruns_from_its_recipe(choices_run, tmp_path):
    import shlex
    _, a, b, out = choices_run
    data, _ = load(out)
    for point in (1, 3):
        recipe = shlex.split(text(data["rerun_command"][point]))
        assert recipe[:3] == ["brink", "run", str(b if point == 3 else a)]
        assert f"{DEPLOYED}=150000" in recipe and "run.random_numbers=common" in recipe
        single, _ = load(simulate(tmp_path / f"p{point}.h5", *recipe[2:]))
        for name in ("outcome_code", "end_step", "casualties"):
            assert same_bits(data[name][point], single[name][0]), (point, name)
    assert not same_bits(data["casualties"][1], data["casualties"][3])  # the choice matters


def test_categorical_and_boolean_sets_are_parameters_and_rerun(tmp_path):
    """A --set of a text or true/false model parameter is a parameter like a numeric one (listed,
    named by its flags; a true/false one set twice takes its last value) and each point's recipe
    sets it: re-running the recipe gives the point's bits. The law and the forecast both change
    the flagship's casualties, so a recipe that dropped one would differ."""
    import shlex
    base = write(tmp_path, "base.yaml", scenario_text(replications=256))
    forecast = "actors.RUS.decision.war_forecast"
    core = "negotiation.issues.new_start_followon.core"
    out = simulate(tmp_path / "set.h5", base, "--set", f"{LAW}=linear", "--set", f"{forecast}=true",
                   "--set", f"{forecast}=false", "--set", f"{core}=true", "--set", "run.random_numbers=common",
                   "--sweep", f"{DEPLOYED}=100000,150000")
    data, _ = load(out)
    assert names(data["parameter"]) == [DEPLOYED, LAW, forecast, core]
    np.testing.assert_array_equal(data["parameter_value"][:, 1:], [[1, 0, 1], [1, 0, 1]])  # linear; false; true
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds.coords["combat_law"].attrs["flag_meanings"] == "square linear"
        assert ds.coords[core.replace(".", "_")].attrs["flag_meanings"] == "false true"
    for point in (0, 1):
        recipe = shlex.split(text(data["rerun_command"][point]))
        assert f"{LAW}=linear" in recipe and f"{core}=true" in recipe
        assert f"{forecast}=false" in recipe and f"{forecast}=true" not in recipe  # the last --set, once
        single, _ = load(simulate(tmp_path / f"p{point}.h5", *recipe[2:]))
        for name in ("outcome_code", "end_step", "casualties"):
            assert same_bits(data[name][point], single[name][0]), (point, name)
    settings = [f"{LAW}=linear", f"{forecast}=false", f"{core}=true"]
    for dropped in settings[:2]:
        kept = [a for setting in settings if setting != dropped for a in ("--set", setting)]
        other, _ = load(simulate(tmp_path / f"without-{dropped}.h5", base, *kept, "--set", "run.random_numbers=common",
                                 "--sweep", f"{DEPLOYED}=100000,150000"))
        assert not same_bits(other["casualties"], data["casualties"]), dropped  # each --set matters


def test_scenario_choices_from_the_file_block(tmp_path):
    a, b = choice_files(tmp_path)
    a.write_text(a.read_text() + "\nsweep:\n  scenarios: [a.yaml, b.yaml]\n")
    data, _ = load(simulate(tmp_path / "f.h5", a))
    assert names(data["parameter"])[0] == "scenario" and len(data["point"]) == 2


def test_a_scenario_choice_that_cannot_be_read_is_named_where_the_sweep_names_it(tmp_path):
    """A missing choice file was reported under its own name alone, not under the sweep that asks for it."""
    a, _ = choice_files(tmp_path)
    a.write_text(a.read_text() + "\nsweep:\n  scenarios: [a.yaml, nope.yaml]\n")
    line = a.read_text().splitlines().index("  scenarios: [a.yaml, nope.yaml]") + 1
    proc = brink("run", a, "-q", "-o", tmp_path / "o.h5")
    usage_error(proc, "scenario choice 'nope.yaml'", "cannot open the scenario file")
    assert proc.stderr.startswith(f"{a}:{line}:"), proc.stderr
    proc = brink("run", a, "-q", "-o", tmp_path / "o.h5", "--sweep", f"scenario={a},{tmp_path / 'gone.yaml'}")
    usage_error(proc, "--sweep scenario=", "gone.yaml", "cannot open the scenario file")
    assert not list(tmp_path.glob("o.h5*"))


def test_a_scenario_choice_with_a_line_break_in_its_name_is_refused(tmp_path):
    # The file lists the choices one per line (scenario_choices): such a name would read back as two.
    a, b = choice_files(tmp_path)
    odd = tmp_path / "b\nc.yaml"
    odd.write_text(b.read_text())
    proc = brink("run", a, "-q", "-o", tmp_path / "o.h5", "--sweep", f"scenario={a},{odd}")
    usage_error(proc, "has a line break in its name")
    assert not list(tmp_path.glob("o.h5*"))


def test_a_scenario_choice_whose_name_holds_a_control_character_is_refused(tmp_path):
    """A choice named with a right-to-left override ran, and the name went raw into the file's
    attributes and inspect's listing, where scenario text may not hold such a character."""
    a, b = choice_files(tmp_path)
    odd = tmp_path / "uni\u202ecode.yaml"
    odd.write_text(b.read_text())
    proc = brink("run", a, "-q", "-o", tmp_path / "o.h5", "--sweep", f"scenario={a},{odd}")
    usage_error(proc, r"^brink run: --sweep scenario=\.\.\.: scenario choice '.*uniU\+202Ecode\.yaml' contains the "
                r"control character U\+202E")
    assert "\u202e" not in proc.stderr
    assert not list(tmp_path.glob("o.h5*"))


def test_a_scenario_files_choice_problems_are_at_the_sweep_blocks_line(tmp_path):
    """The same file twice and a choice of another crisis were reported as 'FILE: sweep.scenarios'
    with no line, where an unreadable choice had its line and column."""
    a, _ = choice_files(tmp_path)
    write(tmp_path, "c.yaml", a.read_text().replace("horizon_days: 120", "horizon_days: 90"))
    for choices, message in (("[a.yaml, ./a.yaml]", "is the file 'a.yaml' again"),
                             ("[a.yaml, c.yaml]", "does not match the scenario")):
        body = a.read_text() + f"\nsweep:\n  scenarios: {choices}\n"
        path = write(tmp_path, "s.yaml", body)
        line = body.split("\n").index(f"  scenarios: {choices}") + 1
        for proc in (brink("validate", path), brink("run", path, "-q", "-o", tmp_path / "o.h5")):
            usage_error(proc, rf"^{re.escape(str(path))}:{line}:\d+: scenario choice", message)
    assert not list(tmp_path.glob("o.h5*"))


def test_scenario_choices_must_share_the_crisis(tmp_path):
    a, b = choice_files(tmp_path)
    c = write(tmp_path, "c.yaml", a.read_text().replace("horizon_days: 120", "horizon_days: 90"))
    assert c.read_text() != a.read_text(), "test setup: the flagship's horizon changed"
    usage_error(brink("run", a, "-q", "-o", tmp_path / "o.h5", "--sweep", f"scenario={a},{c}"),
                "c.yaml", "horizon_days")


@pytest.mark.parametrize("axes", [[], ["--sweep", f"{PATIENCE}=10,90"]])
def test_samples_without_a_sampled_design_is_refused_not_ignored(axes, tmp_path):
    base = write(tmp_path, "base.yaml", scenario_text(replications=256))
    usage_error(brink("run", base, "-q", "-o", tmp_path / "o.h5", "--samples", 8, *axes), "--samples", "--design")
    assert not list(tmp_path.glob("o.h5*"))
    # A design from the file's own sweep block is a sampled one: --samples then sets its points.
    sampled = write(tmp_path, "sampled.yaml", scenario_text(replications=256, sweep=block(
        design="lhs", samples=4, parameters={PATIENCE: {"min": 10, "max": 90}})))
    data, _ = load(simulate(tmp_path / "s.h5", sampled, "--samples", 6))
    assert len(data["point"]) == 6


@pytest.mark.parametrize("design", [["--design", "sobol", "--sensitivity"], ["--design", "lhs", "--sensitivity"],
                                    ["--design", "morris"]])
@pytest.mark.parametrize("samples", [1, 3])
def test_screening_from_too_few_samples_is_refused(design, samples, tmp_path):
    # One base row gave Sobol' indices of 4 and 8 with zero-width "95% intervals": certainty from nothing.
    base = write(tmp_path, "base.yaml", scenario_text(replications=256))
    proc = brink("run", base, "-q", "-o", tmp_path / "o.h5", *design, "--samples", samples,
                 "--sweep", f"{PATIENCE}=10:90", "--sweep", f"{DEPLOYED}=80000:160000")
    usage_error(proc, "at least 4 samples", f"got {samples}")
    assert not list(tmp_path.glob("o.h5*"))


def test_a_design_without_axes_is_refused_not_ignored(tmp_path):
    base = write(tmp_path, "base.yaml", scenario_text(replications=256))
    usage_error(brink("run", base, "-q", "-o", tmp_path / "o.h5", "--design", "lhs"), "--design lhs", "sweeps nothing")
    assert not list(tmp_path.glob("o.h5*"))


def test_a_set_of_a_path_the_command_line_sweeps_is_refused_not_overridden(tmp_path):
    # The sweep would replace the --set at every point; which one the user meant is not ours to guess.
    base = write(tmp_path, "base.yaml", scenario_text(replications=256))
    proc = brink("run", base, "-q", "-o", tmp_path / "o.h5", "--set", f"{PATIENCE}=30", "--sweep", f"{PATIENCE}=10,90")
    usage_error(proc, f"--set {PATIENCE}=30", "sweep varies")
    assert not list(tmp_path.glob("o.h5*"))


def test_a_set_of_a_path_the_file_sweeps_fixes_it(tmp_path):
    """The command line overrides the file: a --set of a path the file's sweep varies takes that
    axis out of the sweep (it used to be refused, so a point's rerun_command, which sets every
    swept path, failed for every sweep written in a file). The other axes still run."""
    sweep = block(parameters={PATIENCE: [10, 90], DEPLOYED: [100000, 150000]})
    base = write(tmp_path, "base.yaml", scenario_text(replications=64, sweep=sweep))
    data, _ = load(simulate(tmp_path / "o.h5", base, "--set", f"{PATIENCE}=30"))
    assert names(data["parameter"]) == [DEPLOYED, PATIENCE]
    np.testing.assert_array_equal(data["parameter_value"], [[100000, 30], [150000, 30]])
    data, _ = load(simulate(tmp_path / "one.h5", base, "--set", f"{PATIENCE}=30", "--set", f"{DEPLOYED}=120000"))
    np.testing.assert_array_equal(data["parameter_value"], [[30, 120000]])
    # A --sweep of a file axis still replaces it in place, and a --set beside that --sweep is refused.
    proc = brink("run", base, "-q", "-o", tmp_path / "x.h5", "--sweep", f"{PATIENCE}=10,20", "--set", f"{PATIENCE}=30")
    usage_error(proc, f"--set {PATIENCE}=30", "sweep varies")


def test_a_set_cannot_fix_half_of_what_a_constraint_reads(tmp_path):
    axes = {DEPLOYED: {"min": 60000, "max": 120000}, READY: {"min": 0, "max": 60000}}
    sweep = block(design="random", samples=8, parameters=axes,
                  constraints=[{"rule": f"{READY} <= 0.5 * {DEPLOYED}", "action": "reject"}])
    base = write(tmp_path, "base.yaml", scenario_text(replications=16, sweep=sweep))
    usage_error(brink("run", base, "-q", "-o", tmp_path / "o.h5", "--set", f"{DEPLOYED}=90000"),
                rf"--set {DEPLOYED} fixes a parameter that the sweep constraint .* reads, while that constraint still "
                rf"bounds the swept axis '{READY}'; fix '{READY}' as well, or leave '{DEPLOYED}' swept")
    assert not list(tmp_path.glob("o.h5*"))
    # Fixing every axis leaves no sweep, and its constraints with it: one point.
    data, _ = load(simulate(tmp_path / "one.h5", base, "--set", f"{DEPLOYED}=90000", "--set", f"{READY}=1000"))
    assert len(data["parameter_value"]) == 1
    # ... at values the constraint allows.
    proc = brink("run", base, "-q", "-o", tmp_path / "two.h5", "--set", f"{DEPLOYED}=90000", "--set", f"{READY}=50000")
    usage_error(proc, rf"sweep constraint '{READY} <= 0.5 \* {DEPLOYED}' is false at the values the --set options fix "
                      rf"\({READY} = 50000, {DEPLOYED} = 90000\)")
    assert not list(tmp_path.glob("two.h5*"))


@pytest.mark.parametrize("fixed, runs", [(100000, True), (130000, False)])
def test_a_set_may_fix_everything_a_constraint_reads_while_other_axes_are_swept(fixed, runs, tmp_path):
    """A constraint on the fixed axis alone (and fixed fields) is a fact about the --set value: the
    other axes still sweep when it holds, and the --set is refused, naming the values, when it does
    not. It used to be refused either way, with advice ('fix every axis the constraint reads') that
    the user had already followed."""
    axes = {DEPLOYED: {"min": 60000, "max": 120000}, PATIENCE: {"min": 10, "max": 90}}
    sweep = block(design="lhs", samples=6, parameters=axes,
                  constraints=[{"rule": f"{DEPLOYED} <= {CAP} - 70000", "action": "clip"}])
    base = write(tmp_path, "base.yaml", scenario_text(replications=16, sweep=sweep))
    args = ("--set", f"{DEPLOYED}={fixed}")
    if runs:
        data, _ = load(simulate(tmp_path / "o.h5", base, *args))
        assert names(data["parameter"]) == [PATIENCE, DEPLOYED]
        values = np.asarray(data["parameter_value"])
        assert len(values) == 6 and len(set(values[:, 0])) == 6 and set(values[:, 1]) == {fixed}
    else:
        usage_error(brink("run", base, "-q", "-o", tmp_path / "o.h5", *args),
                    rf"is false at the values the --set options fix \({DEPLOYED} = {fixed}, {CAP} = \d+\)")
        assert not list(tmp_path.glob("o.h5*"))


@pytest.mark.parametrize("design", ["lhs", "grid"])
def test_every_point_of_a_file_sweep_reruns_from_its_recipe(design, tmp_path):
    """output.md promises each point's rerun_command runs it alone with the same bits (common
    random numbers); for a sweep written in the file it exited 2."""
    import shlex
    axes = ({PATIENCE: {"min": 10, "max": 90}, DEPLOYED: {"min": 80000, "max": 160000}} if design == "lhs"
            else {PATIENCE: [15, 60], DEPLOYED: [90000, 140000]})
    sweep = block(design=design, **({"samples": 6} if design == "lhs" else {}), parameters=axes)
    base = write(tmp_path, "base.yaml", scenario_text(replications=64, random_numbers="common", sweep=sweep))
    data, _ = load(simulate(tmp_path / "all.h5", base))
    for point in (0, len(data["parameter_value"]) - 1):
        recipe = shlex.split(text(data["rerun_command"][point]))
        single, _ = load(simulate(tmp_path / f"p{point}.h5", *recipe[2:]))
        assert len(single["parameter_value"]) == 1
        for name in ("outcome_code", "end_step", "casualties"):
            assert same_bits(data[name][point], single[name][0]), (point, name)


@pytest.mark.parametrize("design", [["--design", "sobol", "--sensitivity"], ["--design", "morris"]])
def test_scenario_files_are_a_grid_that_sampled_only_designs_refuse(design, tmp_path):
    # Sobol' indices and Morris trajectories need every axis sampled; scenario files are a grid of choices.
    a, b = choice_files(tmp_path)
    proc = brink("run", a, "-q", "-o", tmp_path / "o.h5", "--sweep", f"scenario={a},{b}", *design, "--samples", 4,
                 "--sweep", f"{PATIENCE}=10:90")
    usage_error(proc, "once per scenario file", "sensitivity" if "--sensitivity" in design else "morris")
    assert not list(tmp_path.glob("o.h5*"))


@pytest.mark.parametrize("rule, action, accepted", [
    (f"{DEPLOYED} <= {CAP}", "reject", True),
    (f"{DEPLOYED} <= {CAP} - 5000", "clip", True),
    (f"{DEPLOYED} <= {CAP} + 5000", "clip", False),  # still 5,000 above the cap at the top of the range
    (f"{DEPLOYED} <= {CAP} + 5000", "reject", False),
    (f"{READY} <= {DEPLOYED}", "reject", False),  # a rule on other fields does not help
])
def test_range_check_accounts_for_the_constraints(rule, action, accepted, tmp_path):
    cap = flagship_cap()
    axes = {DEPLOYED: {"min": cap * 0.6, "max": cap * 1.4}, READY: {"min": 0, "max": 50000}}
    body = scenario_text(replications=256, sweep=block(design="random", samples=64, parameters=axes,
                                                       constraints=[{"rule": rule, "action": action}]))
    path = write(tmp_path, "s.yaml", body)
    proc = brink("validate", path)
    if not accepted:
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "cap_at_least_deployed" in proc.stderr and "even under its constraints" in proc.stderr, proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    data, attrs = load(simulate(tmp_path / "s.h5", path))
    assert np.all(data["parameter_value"][:, 0] <= cap)
    if action == "reject":
        assert 0 < int(attrs["rejected_points"]) < 64 and len(data["point"]) == 64 - int(attrs["rejected_points"])


def test_validate_checks_the_scenario_choices_of_the_file(tmp_path):
    a, b = choice_files(tmp_path)
    write(tmp_path, "c.yaml", a.read_text().replace("horizon_days: 120", "horizon_days: 90"))
    a.write_text(a.read_text() + "\nsweep:\n  scenarios: [a.yaml, c.yaml]\n")
    proc = brink("validate", a)
    assert proc.returncode == 2 and "c.yaml" in proc.stderr and "horizon_days" in proc.stderr, proc.stderr
    a.write_text(a.read_text().replace("c.yaml]", "b.yaml]"))
    brink_ok("validate", a)


def test_robust_command_reads_the_levers_from_the_file(mixed):
    import subprocess
    import sys
    _, out = mixed
    proc = subprocess.run([sys.executable, "-m", "brink_analysis", "robust", str(out), "--outcome", "full_war"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "robustness of 4 policies" in proc.stdout and f"{SAMPLES} states" in proc.stdout


def test_a_crossing_uncertainty_is_reported_at_its_line(tmp_path):
    cap = flagship_cap()
    body = scenario_text(replications=256, sweep=block(design="lhs", samples=8, levers={LAW: ["square", "linear"]},
                                                       uncertainties={DEPLOYED: {"min": cap * 0.5, "max": cap * 1.5}}))
    path = write(tmp_path, "s.yaml", body)
    proc = brink("validate", path)
    line = next(i + 1 for i, row in enumerate(body.split("\n")) if row.strip().startswith(DEPLOYED + ":"))
    assert proc.returncode == 2 and re.search(rf"^{re.escape(str(path))}:{line}:5: .*crosses rule", proc.stderr,
                                              re.M), proc.stderr
