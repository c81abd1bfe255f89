"""Findings of an outside review (round 35, "one source of truth"), each test
naming what went wrong before its fix."""

import re
import shlex

import h5py
import numpy as np
import pytest

from conftest import run_brink

PARAMS_ROW = re.compile(r"^(?P<path>\S+)\s+(?P<value>\S+)\s+(?P<unit>.+?)\s{2,}(?P<range>.+?)\s{2,}(?P<kind>sweep|set)$")
UDUNITS = {"1", "day", "1/day"}


@pytest.fixture(scope="module")
def sweep_example(source_dir):
    return source_dir / "docs" / "examples" / "sweep.yaml"  # adaptive {min: 1000, max: 40000}


SWEEPS = ["--sweep", "actors.BLU.forces.deployed=40000", "--sweep", "actors.RED.decision.patience_days=15"]


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


# --------------------------------------------------------------------------
# MEDIUM-2: the fixed replication count is one fact
# --------------------------------------------------------------------------


@pytest.mark.parametrize("key,value", [("run.replications.max", 800), ("run.replications.min", 600)])
def test_an_adaptive_bound_after_a_fixed_count_is_refused(brink, sweep_example, tmp_path, key, value):
    """`--set run.replications=300 --set run.replications.max=800` ran 800 replications (the
    plan read rule.max) while rerun_command said `-n 300` (rule.min) and re-ran 300; with .min=600
    the run made 300 and the recipe 600. A fixed count is one number now: an adaptive bound set
    after it is refused, naming both."""
    out = tmp_path / "rr.h5"
    proc = run_brink(brink, "run", sweep_example, "-t", "1", "-q", "--set", "run.replications=300",
                     "--set", f"{key}={value}", *SWEEPS, "-o", out)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        f"brink run: --set {key}={value}: '{key}' ({value}) bounds an adaptive count, but an earlier --set "
        "run.replications=300 made the count fixed; give the fixed count or the adaptive keys, not both"], proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("order", ["bound first", "-n"])
def test_the_rerun_command_reproduces_the_points_replications(brink, sweep_example, tmp_path, order):
    """The orders that stay valid (the adaptive bound set first and then replaced by the fixed
    count, or -n, which applies after every --set): the run, and its point's rerun_command,
    make the same number of replications with the same outcomes."""
    fixed = (["--set", "run.replications.max=800", "--set", "run.replications=300"] if order == "bound first"
             else ["--set", "run.replications.max=800", "-n", "300"])
    out = tmp_path / "run.h5"
    proc = run_brink(brink, "run", sweep_example, "-t", "1", "-q", *fixed, *SWEEPS, "-o", out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        replications = f["replications"][()]
        counts = f["outcome_count"][()]
        recipe = shlex.split(text(f["rerun_command"][0]))
    assert list(replications) == [300]
    assert recipe[recipe.index("-n") + 1] == "300", recipe
    again = tmp_path / "again.h5"
    proc = run_brink(brink, *recipe[1:], "-t", "1", "-q", "-o", again)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(again, "r") as f:
        assert list(f["replications"][()]) == [300]
        np.testing.assert_array_equal(f["outcome_count"][()], counts)


# --------------------------------------------------------------------------
# LOW-1: every parameter coordinate has UDUNITS units, from the field table
# --------------------------------------------------------------------------


def test_every_parameter_coordinate_has_units(brink, tmp_path):
    """Parameter coordinates of fields whose unit text the writer's own list lacked ("share of
    the stake", "per day", "1/day per 100,000 troops", dimensionless fields with no unit) had no
    `units`. Every path `brink params` lists as a model parameter of the flagship, each --set to
    its value, now gets one: `1`, `day` or `1/day`."""
    listing = run_brink(brink, "params")
    assert listing.returncode == 0, listing.stderr
    rows = [m for m in map(PARAMS_ROW.match, listing.stdout.splitlines()[1:-1]) if m and m["kind"] == "sweep"]
    assert len(rows) > 100
    paths = {m["path"] for m in rows}
    for path in ("actors.RUS.decision.war_cost", "escalation.incidents.contact_rate", "bargaining.discount",
                 "relations.commitments.0.strength", "combat.law"):
        assert path in paths, path
    sets = [a for m in rows for a in ("--set", f"{m['path']}={m['value']}")]
    out = tmp_path / "units.h5"
    proc = run_brink(brink, "run", "-n", "1", "-t", "1", "-q", *sets, "-o", out, timeout=120)
    assert proc.returncode == 0, proc.stderr
    missing = {}
    with h5py.File(out, "r") as f:
        assert len(f["parameter"]) == len(rows)
        for name, ds in f.items():
            if "parameter_path" not in ds.attrs:
                continue
            units = text(ds.attrs["units"]) if "units" in ds.attrs else None
            if units not in UDUNITS:
                missing[text(ds.attrs["parameter_path"])] = (units, text(ds.attrs.get("scenario_units", b"")))
        assert not missing, missing
        assert f["actors_RUS_decision_war_cost"].attrs["units"].decode() == "1"
        assert f["escalation_incidents_contact_rate"].attrs["units"].decode() == "1/day"
        assert f["bargaining_discount"].attrs["units"].decode() == "1"
        assert f["relations_commitments_0_strength"].attrs["units"].decode() == "1"


def test_calibrated_shares_have_units_in_the_calibration_file(brink, source_dir, tmp_path):
    """`particles` of a calibration of `decision.war_cost` (a share of the stake) had no units."""
    toy = (source_dir / "scenarios" / "validation" / "calibrate-incidents.yaml").read_text(encoding="utf-8")
    head = toy[: toy.index("  parameters:\n")]
    path = tmp_path / "share.yaml"
    path.write_text(head + "  parameters:\n    actors.A.decision.war_cost: {prior: uniform, min: 0, max: 1}\n",
                    encoding="utf-8")
    cal = tmp_path / "cal.h5"
    proc = run_brink(brink, "calibrate", path, "--particles", 16, "--generations", 1, "--replications", 2, "-q",
                     "-t", 1, "-o", cal)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(cal, "r") as f:
        assert f["particles"].attrs["units"].decode() == "1"


# --------------------------------------------------------------------------
# LOW-2, LOW-3, LOW-4
# --------------------------------------------------------------------------


def test_alliance_war_cause_names_no_actors(brink, source_dir, tmp_path):
    """Every file's alliance_war_cause said "a direct NATO-Russia clash", whatever its actors."""
    out = tmp_path / "m.h5"
    proc = run_brink(brink, "run", source_dir / "docs" / "examples" / "minimal.yaml", "-n", 1, "-q", "-o", out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        assert f["alliance_war_cause"].attrs["long_name"].decode() == \
            "what first brought the escalation ladder to the alliance-war rung, if anything"


@pytest.mark.parametrize("value,quoted", [(" 5", "' 5'"), ("5 ", "'5 '"), ("5\t", "'5\\t'"), ("\n5", "'\\n5'")])
def test_a_set_value_with_blanks_around_it_shows_them(brink, tmp_path, value, quoted):
    """`--set 'escalation.tension.initial= 5'` was refused as "must be a finite number, got '5'":
    the message dropped the blank it refused."""
    proc = run_brink(brink, "run", "-n", 1, "-q", "--set", f"escalation.tension.initial={value}",
                     "-o", tmp_path / "x.h5")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        f"brink run: --set escalation.tension.initial={quoted[1:-1]}: 'escalation.tension.initial' must be a finite number "
        f"[tension], got {quoted} (whitespace around the value)"], proc.stderr


def test_params_names_the_choices_of_a_text_field(brink):
    """`brink params` said "one of the names" for combat.law, run.random_numbers and run.information."""
    proc = run_brink(brink, "params")
    assert proc.returncode == 0, proc.stderr
    rows = {m["path"]: m for m in map(PARAMS_ROW.match, proc.stdout.splitlines()) if m}
    assert rows["combat.law"]["range"] == "one of: square, linear"
    assert rows["run.random_numbers"]["range"] == "one of: independent, common"
    assert rows["run.information"]["range"] == "one of: private, revealed"
    assert "one of the names" not in proc.stdout


# --------------------------------------------------------------------------
# The flags' count ranges are the field table's (no change of behaviour)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("flag,value,message", [
    ("-n", "4000000001", "--replications must be a whole number in [1, 4000000000], got '4000000001'"),
    ("-n", "0", "--replications must be a whole number in [1, 4000000000], got '0'"),
    ("--seed", "9007199254740992", "--seed must be a whole number in [0, 9007199254740991], got '9007199254740992'"),
    ("--timeseries", "every=1000001", "--timeseries every must be a whole number in [1, 1000000], got '1000001'"),
    ("--timeseries", "every=0", "--timeseries every must be a whole number in [1, 1000000], got '0'"),
])
def test_the_run_setting_flags_take_the_field_tables_ranges(brink, source_dir, tmp_path, flag, value, message):
    proc = run_brink(brink, "run", source_dir / "docs" / "examples" / "minimal.yaml", flag, value, "-q",
                     "-o", tmp_path / "x.h5")
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
