"""Events dated by the calendar (docs/scenario-format.md, "Events"): `date: 2022-02-24` instead of
`day: 4` with run.start_date 2022-02-20. A new analyst found that observations took a date and events
did not. Run through the real CLI."""

import os
import re
import subprocess

import h5py
import numpy as np
import pytest

BRINK = os.environ.get("BRINK")

SCENARIO = """brink: 1
name: dated
run: {{horizon_days: 10, dt_days: 1, replications: 256, seed: 1, decisions: false{start}}}
actors:
  A: {{forces: {{deployed: 1000, ready: 500}}, combat: {{effectiveness: 0.01}}}}
  B: {{forces: {{deployed: 1000}}, combat: {{effectiveness: 0.01}}}}
relations: {{adversaries: [[A, B]]}}
escalation: {{rungs: [calm, tense, limited, full, wider], initial_rung: tense, limited_war: limited, full_war: full,
             alliance_war: wider}}
combat: {{law: square, collapse_fraction: 0}}
events:
  - {{{attack_when}, actor: A, attack: B, rung: full}}
  - {{{deploy_when}, actor: A, deploy: 300}}
"""
START = ", start_date: 2022-02-20"


def brink(*args):
    assert BRINK, "set BRINK to the brink binary"
    return subprocess.run([BRINK, *map(str, args)], capture_output=True, text=True, timeout=120)


def write(tmp_path, name, **keys):
    path = tmp_path / name
    path.write_text(SCENARIO.format(**{"start": START, **keys}), encoding="utf-8")
    return path


def test_a_dated_event_is_the_event_on_its_model_day(tmp_path):
    """Dates four and two days after the start date give the bits of days 4 and 2: the deployment
    on day 2 and the war from day 4 (A fights with 1,300 against 1,000 from then on)."""
    dated = write(tmp_path, "dated.yaml", attack_when="date: 2022-02-24", deploy_when="date: 2022-02-22")
    by_day = write(tmp_path, "days.yaml", attack_when="day: 4", deploy_when="day: 2")
    outputs = []
    for scenario in (dated, by_day):
        out = scenario.with_suffix(".h5")
        proc = brink("run", scenario, "-q", "-t", 1, "--timeseries", "every=1", "-o", out)
        assert proc.returncode == 0, proc.stderr
        with h5py.File(out, "r") as f:
            outputs.append({k: f[k][()] for k in ("war_start_step", "casualties", "troops")})
    for key in outputs[0]:
        np.testing.assert_array_equal(outputs[0][key], outputs[1][key])
    assert (outputs[0]["war_start_step"] == 4).all()
    deployed = outputs[0]["troops"][0, 0, :, 0, 0]  # steps of A's deployed troops
    assert deployed[2] == 1000 and deployed[3] == 1300, deployed


@pytest.mark.parametrize("keys, start, pattern", [
    ({"attack_when": "date: 2022-02-24, day: 4", "deploy_when": "day: 2"}, START,
     r"'events\.0' needs exactly one of 'date' .* or 'day'"),
    ({"attack_when": "date: 2022-02-24", "deploy_when": "day: 2"}, "",
     r"'events\.0\.date' needs 'run\.start_date'"),
    ({"attack_when": "date: 2022-02-31", "deploy_when": "day: 2"}, START,
     r"'events\.0\.date' must be an ISO date like 2022-01-19, got '2022-02-31'"),
    ({"attack_when": "date: 2022-02-10", "deploy_when": "day: 2"}, START,
     r"'events\.0\.date' falls on day -10, before day 0 \(run\.start_date\)"),
    ({"attack_when": "date: 2022-03-02", "deploy_when": "day: 2"}, START,
     r"'events\.0\.date' 2022-03-02 is day 10 \(run\.start_date 2022-02-20 is day 0\), but the run simulates days \[0, 10\)"),
])
def test_a_date_brink_cannot_place_is_refused_at_its_line(tmp_path, keys, start, pattern):
    """Both keys, a date without a start date, no such date, a date before the start, and a date on
    the horizon (day 10 of a 10-day run, refused as a day would be): exit 2, at the event's line."""
    path = tmp_path / "bad.yaml"
    path.write_text(SCENARIO.format(start=start, **keys), encoding="utf-8")
    proc = brink("validate", path)
    assert proc.returncode == 2, proc.stderr
    assert re.search(r"bad\.yaml:1[12]:\d+: ", proc.stderr), proc.stderr
    assert re.search(pattern, proc.stderr), proc.stderr
