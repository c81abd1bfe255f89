"""`brink params`: every settable path of a scenario with its value, unit and range,
the same paths --set accepts and validate counts."""

import re
import subprocess

import pytest

ROW = re.compile(r"^(?P<path>\S+)\s+(?P<value>\S+)\s+(?P<unit>.+?)\s{2,}(?P<range>.+?)\s{2,}(?P<kind>sweep|set|unreached|inert)$")


def params(brink, *args):
    return subprocess.run([brink, "params", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("scenario", ["jan-2022-standoff", "validation/lanchester-square"])
def test_params_lists_every_settable_path_that_validate_counts(brink, scenario):
    proc = params(brink, scenario)
    assert proc.returncode == 0, proc.stderr
    rows = [m for m in map(ROW.match, proc.stdout.splitlines()[1:-1]) if m]
    assert len(rows) == len(proc.stdout.splitlines()) - 2, "every line between header and total is a row"
    validated = subprocess.run([brink, "validate", scenario], capture_output=True, text=True, timeout=60)
    found = re.search(r"scenario '(?P<name>[^']+)', .* (?P<count>\d+) settable parameters", validated.stdout)
    assert len(rows) == int(found["count"])
    assert proc.stdout.rstrip().endswith(f"{found['count']} settable paths in '{found['name']}'")


def test_listed_values_and_paths_are_what_the_scenario_holds_and_set_accepts(brink, tmp_path):
    rows = {m["path"]: m for m in map(ROW.match, params(brink).stdout.splitlines()) if m}
    # Values from the flagship file (scenarios/jan-2022-standoff.yaml).
    assert rows["actors.RUS.forces.deployed"]["value"] == "127000"
    assert rows["actors.RUS.forces.deployed"]["unit"].strip() == "troops"
    assert rows["actors.USA.forces.ready"]["value"] == "8500"
    # A text field is a categorical sweep axis (--sweep combat.law=square,linear); run settings are not.
    assert rows["combat.law"]["value"] == "square" and rows["combat.law"]["kind"] == "sweep"
    assert rows["run.seed"]["kind"] == "set" and rows["run.random_numbers"]["kind"] == "set"
    assert rows["actors.RUS.decision.patience_days"]["kind"] == "sweep"
    # A listed path is one --set takes; a path not listed is refused.
    ok = subprocess.run([brink, "run", "-n", "256", "-q", "-o", tmp_path / "a.h5", "--set",
                         "actors.RUS.decision.patience_days=45"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "actors.RUS.decision.patience" not in rows
    bad = subprocess.run([brink, "run", "-n", "256", "-q", "-o", tmp_path / "b.h5", "--set",
                          "actors.RUS.decision.patience=45"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2


def test_unknown_scenario_is_a_usage_error(brink):
    proc = params(brink, "no-such-scenario")
    assert proc.returncode == 2 and "no-such-scenario" in proc.stderr
