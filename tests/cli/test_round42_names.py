"""Round 42 (hostile corpus, names and dates): a dated event outside the run was reported under a
key the file does not have; a null `date` beside `day` was refused although a null counts as
absent; a refused date hid the blanks and invisible characters that made it wrong; -n, --seed,
--timeseries every= and --shard took integers with a leading zero that --set refuses; and
`brink --version extra` ignored its operand."""

import datetime
import os
import re
import subprocess

import h5py
import numpy as np
import pytest

LEADING_ZERO = "an integer with a leading zero"


def _brink(brink, *args, cwd=None):
    return subprocess.run([brink, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.fixture
def minimal(source_dir):
    return (source_dir / "docs" / "examples" / "minimal.yaml").read_text(encoding="utf-8")


def _with_events(text, events, start_date=None):
    """minimal.yaml (horizon 60 days, dt 1) with `events` replacing its events, and a start date."""
    if start_date is not None:
        text = text.replace("  seed: 7\n", f"  seed: 7\n  start_date: {start_date}\n")
    return text[:text.index("events:")] + "events:\n" + "".join(f"  - {e}\n" for e in events)


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# L1 ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("date", ["2024-02-29", "2022-03-25"])
def test_a_dated_event_past_the_run_names_its_date(brink, minimal, tmp_path, date):
    """The file has `date:`, so the message names 'events.0.date', the date as written and the
    day it falls on (counted here by Python's calendar), not an 'events.0.day' the file lacks."""
    start = "2022-01-24"
    day = (datetime.date.fromisoformat(date) - datetime.date.fromisoformat(start)).days
    assert day >= 60
    path = _write(tmp_path, "d.yaml", _with_events(minimal, [f"{{date: {date}, actor: PAT, reinforce: 3000}}"],
                                                   start))
    proc = _brink(brink, "validate", path)
    assert proc.returncode == 2, proc.stderr
    line = next(i for i, l in enumerate(path.read_text().splitlines(), 1) if date in l)
    assert re.search(rf"d\.yaml:{line}:\d+: 'events\.0\.date' {date} is day {day}\b", proc.stderr), proc.stderr
    assert "'events.0.day'" not in proc.stderr, proc.stderr
    assert f"run.start_date {start}" in proc.stderr, proc.stderr


def test_an_event_given_as_a_day_past_the_run_is_still_named_by_its_day(brink, minimal, tmp_path):
    path = _write(tmp_path, "d.yaml", _with_events(minimal, ["{day: 70, actor: PAT, reinforce: 3000}"],
                                                   "2022-01-24"))
    proc = _brink(brink, "validate", path)
    assert proc.returncode == 2, proc.stderr
    assert "'events.0.day' is 70, but the run simulates days [0, 60)" in proc.stderr, proc.stderr


# L6 ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("event, same_as", [
    ("{day: 4.25, date: null, actor: PAT, reinforce: 3000}", "{day: 4.25, actor: PAT, reinforce: 3000}"),
    ("{day: 4.25, date: ~, actor: PAT, reinforce: 3000}", "{day: 4.25, actor: PAT, reinforce: 3000}"),
    ("{date: 2022-01-28, day: null, actor: PAT, reinforce: 3000}", "{day: 4, actor: PAT, reinforce: 3000}"),
])
def test_a_null_date_or_day_beside_the_other_counts_as_absent(brink, minimal, tmp_path, event, same_as):
    """scenario-format.md, Values: "A scalar key with an empty (null) value counts as absent". The
    event then runs as the one without that key: the same bits."""
    outputs = []
    for name, e in (("null.yaml", event), ("plain.yaml", same_as)):
        path = _write(tmp_path, name, _with_events(minimal, [e], "2022-01-24"))
        proc = _brink(brink, "validate", path)
        assert proc.returncode == 0, proc.stderr
        out = tmp_path / (name + ".h5")
        proc = _brink(brink, "run", path, "-n", 64, "-t", 1, "-q", "-o", out)
        assert proc.returncode == 0, proc.stderr
        with h5py.File(out, "r") as f:
            outputs.append({k: f[k][()] for k in ("outcome_code", "casualties", "end_step")})
    for key in outputs[0]:
        np.testing.assert_array_equal(outputs[0][key], outputs[1][key])


@pytest.mark.parametrize("when", ["{day: 4, date: null}", "{date: 2022-01-28, day: ~}"])
def test_an_observation_with_a_null_date_or_day_counts_it_absent(brink, minimal, tmp_path, when):
    keys = when.strip("{}")
    text = _with_events(minimal, ["{day: 4, actor: PAT, reinforce: 3000}"], "2022-01-24")
    text += f"observations:\n  o1: {{quantity: forces, actor: PAT, value: 1000, range: [500, 1500], source: a test, {keys}}}\n"
    proc = _brink(brink, "validate", _write(tmp_path, "obs.yaml", text))
    assert proc.returncode == 0, proc.stderr


def test_both_date_and_day_given_are_still_refused(brink, minimal, tmp_path):
    path = _write(tmp_path, "both.yaml", _with_events(
        minimal, ["{day: 4, date: 2022-01-28, actor: PAT, reinforce: 3000}"], "2022-01-24"))
    proc = _brink(brink, "validate", path)
    assert proc.returncode == 2 and "needs exactly one of 'date'" in proc.stderr, proc.stderr


# L7 ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("written, echo, note", [
    ('"2024-03-01 "', "'2024-03-01 '", " (whitespace around the value)"),
    ("' 2024-03-01'", "' 2024-03-01'", " (whitespace around the value)"),
    ("2024-03-01\u200b", "'2024-03-01U+200B'", ""),
    ("2024\u00a003-01", "'2024U+00A003-01'", ""),
])
def test_a_refused_date_shows_what_hides_in_it(brink, minimal, tmp_path, written, echo, note):
    """A date refused for a blank around it or an invisible character is echoed with them shown,
    as the --set reader shows them."""
    path = _write(tmp_path, "d.yaml", _with_events(
        minimal, [f"{{date: {written}, actor: PAT, reinforce: 3000}}"], "2022-01-24"))
    proc = _brink(brink, "validate", path)
    assert proc.returncode == 2, proc.stderr
    assert f"'events.0.date' must be an ISO date like 2022-01-19, got {echo}{note}" in proc.stderr, proc.stderr
    assert "\u200b" not in proc.stderr and "\u00a0" not in proc.stderr


def test_a_refused_start_date_shows_its_blanks(brink, minimal, tmp_path):
    path = _write(tmp_path, "d.yaml", _with_events(minimal, ["{day: 4, actor: PAT, reinforce: 3000}"],
                                                   '"2022-01-24\\t"'))
    proc = _brink(brink, "validate", path)
    assert proc.returncode == 2, proc.stderr
    assert "'run.start_date' must be an ISO date like 2022-01-24, got '2022-01-24\\t' (whitespace around the " \
           "value)" in proc.stderr, proc.stderr


# L3 ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, name", [
    (["--seed", "017"], "--seed"),
    (["-n", "016"], "--replications"),
    (["--replications", "0_16"], "--replications"),
    (["--timeseries", "every=010"], "--timeseries every"),
    (["--shard", "00/2"], "--shard"),
    (["--shard", "0/02"], "--shard"),
    (["--threads", "01"], "--threads"),
])
def test_a_count_option_with_a_leading_zero_is_refused_as_set_refuses_it(brink, source_dir, tmp_path, args, name):
    """scenario-format.md: an integer with a leading zero "is refused wherever it stands"; -n and
    --seed are the overrides run.replications and run.seed, which --set refuses so written."""
    scenario = source_dir / "docs" / "examples" / "minimal.yaml"
    proc = _brink(brink, "run", scenario, "-q", "-o", tmp_path / "o.h5", *args)
    assert proc.returncode == 2, proc.stderr
    assert LEADING_ZERO in proc.stderr and f"'{name}'" in proc.stderr, proc.stderr
    assert not (tmp_path / "o.h5").exists()
    by_set = _brink(brink, "run", scenario, "-q", "-o", tmp_path / "o.h5", "--set", "run.seed=017")
    assert by_set.returncode == 2 and LEADING_ZERO in by_set.stderr, by_set.stderr


def test_counts_without_a_leading_zero_still_run(brink, source_dir, tmp_path):
    scenario = source_dir / "docs" / "examples" / "minimal.yaml"
    out = tmp_path / "o.h5"
    proc = _brink(brink, "run", scenario, "-q", "-o", out, "--seed", "0", "-n", "16", "--timeseries", "every=10",
                  "--shard", "0/2", "-t", "1")
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        assert int(f.attrs["seed"]) == 0 and int(f.attrs["replications"]) == 16


# L5 ----------------------------------------------------------------------------------------------

def test_version_refuses_an_operand(brink):
    proc = _brink(brink, "--version", "extra")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "'extra'" in proc.stderr and proc.stdout == "", proc.stderr
    proc = _brink(brink, "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("brink "), proc.stderr
