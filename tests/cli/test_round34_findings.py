"""Findings of two outside reviews (round 34: sweeps and calibration; MPI,
shards and merge), each test naming what went wrong before its fix."""

import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import run_brink


@pytest.fixture(scope="module")
def minimal(source_dir):
    return source_dir / "docs" / "examples" / "minimal.yaml"


@pytest.fixture(scope="module")
def toy(source_dir):
    return (source_dir / "scenarios" / "validation" / "calibrate-incidents.yaml").read_text(encoding="utf-8")


def adaptive(minimal, tmp_path, halfwidth):
    path = tmp_path / f"adaptive-{halfwidth}.yaml"
    text = minimal.read_text(encoding="utf-8")
    assert "  replications: 2000\n" in text
    path.write_text(text.replace("  replications: 2000\n",
                                 f"  replications: {{min: 256, max: 512, ci_halfwidth: {halfwidth}}}\n"),
                    encoding="utf-8")
    return path


SWEEP = ["--sweep", "actors.RED.decision.rationality=1,2"]


def test_an_adaptive_run_stopped_at_max_short_of_its_halfwidth_says_so_and_records_it(brink, minimal, tmp_path):
    """An adaptive run that reached `max` before `ci_halfwidth` said nothing: no warning, no
    attribute, and `brink inspect` showed only the replications run. Now it warns on stderr,
    even with -q (like every warning), the file keeps the target as the root attribute
    `ci_halfwidth`, and inspect names the points that fell short."""
    out = tmp_path / "short.h5"
    proc = run_brink(brink, "run", adaptive(minimal, tmp_path, 0.001), *SWEEP, "-q", "-t", "2", "-o", out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["ci_halfwidth"] == 0.001
        replications = f["replications"][()]
        half = (f["outcome_probability_upper"][()] - f["outcome_probability_lower"][()]).max(axis=1) / 2
    assert list(replications) == [512, 512] and (half > 0.001).all(), (replications, half)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(
        "brink run: warning: 2 of 2 points stopped at run.replications.max = 512 replications with an outcome's 95% "
        "interval wider than ci_halfwidth = 0.001 asked for: the widest half-width is "
        f"{half.max():.3g} (point {int(half.argmax())})"), proc.stderr
    shown = run_brink(brink, "inspect", out)
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"^  ci_halfwidth +0\.001$", shown.stdout, re.M), shown.stdout
    assert "ci_halfwidth 0.001: not reached at 2 of 2 finished points, which stopped at run.replications.max " \
           "(points 0, 1); the widest 95% half-width is" in shown.stdout, shown.stdout


def test_an_adaptive_run_that_reached_its_halfwidth_is_silent_and_a_fixed_one_has_no_target(brink, minimal, tmp_path):
    out = tmp_path / "reached.h5"
    proc = run_brink(brink, "run", adaptive(minimal, tmp_path, 0.5), *SWEEP, "-q", "-t", "2", "-o", out)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    shown = run_brink(brink, "inspect", out)
    assert "ci_halfwidth 0.5: reached at every finished point" in shown.stdout, shown.stdout
    fixed = tmp_path / "fixed.h5"
    assert run_brink(brink, "run", minimal, "-n", "100", "-q", "-o", fixed).returncode == 0
    with h5py.File(fixed, "r") as f:
        assert "ci_halfwidth" not in f.attrs
    assert "ci_halfwidth" not in run_brink(brink, "inspect", fixed).stdout


def with_calibrate(toy, parameters):
    """The toy with its calibrated parameters replaced by `parameters` (lines under 'parameters:')."""
    head = toy[: toy.index("  parameters:\n")]
    return head + "  parameters:\n" + "".join(f"    {line}\n" for line in parameters)


@pytest.mark.parametrize("prior,message", [
    ("{prior: normal, mean: 1, sd: 0}", ".base_rate.sd' must be positive, got 0"),
    ("{prior: truncated_normal, mean: 1, sd: -1, min: 0, max: 2}", ".base_rate.sd' must be positive, got -1"),
    ("{prior: exponential, rate: 0}", ".base_rate.rate' must be positive, got 0"),
    ("{prior: exponential, rate: -2}", ".base_rate.rate' must be positive, got -2"),
])
def test_a_prior_parameter_that_must_be_positive_is_named_with_its_value(brink, toy, tmp_path, prior, message):
    """"'...sd' must be positive" and "'...rate' must be positive" left out the value given."""
    path = tmp_path / "prior.yaml"
    path.write_text(with_calibrate(toy, [f"escalation.incidents.base_rate: {prior}"]), encoding="utf-8")
    proc = run_brink(brink, "validate", path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_calibrated_path_far_from_every_path_gets_no_unrelated_guess(brink, toy, tmp_path):
    """'bargaining.rounds' in a scenario without bargaining was answered "did you mean
    'output.runs'?": a guess is made only for a near path (a typo) now."""
    path = tmp_path / "far.yaml"
    path.write_text(with_calibrate(toy, ["bargaining.rounds: {prior: uniform, min: 1, max: 5}"]), encoding="utf-8")
    proc = run_brink(brink, "validate", path)
    assert proc.returncode == 2, proc.stderr
    assert "unknown parameter 'bargaining.rounds' in 'calibrate.parameters'; 'brink params' lists this scenario's " \
           "paths" in proc.stderr and "did you mean" not in proc.stderr, proc.stderr
    path.write_text(with_calibrate(toy, ["escalation.incidents.bse_rate: {prior: uniform, min: 0, max: 1}"]),
                    encoding="utf-8")
    proc = run_brink(brink, "validate", path)
    assert proc.returncode == 2 and "did you mean 'escalation.incidents.base_rate'?" in proc.stderr, proc.stderr


def test_the_refusal_of_an_integer_calibrated_path_points_at_what_rules_it_out(brink, flagship_path, tmp_path):
    """On the flagship the refusal of 'bargaining.rounds' said "see 'brink params', kind 'sweep'",
    and `brink params` lists it as kind 'sweep': the hint pointed at the field itself."""
    params = run_brink(brink, "params", flagship_path).stdout
    row = next(line for line in params.splitlines() if line.startswith("bargaining.rounds "))
    assert " integer " in row and row.rstrip().endswith("sweep"), row
    flagship = flagship_path.read_text(encoding="utf-8")
    assert "\ncalibrate:" not in flagship
    path = tmp_path / "integer.yaml"
    path.write_text(flagship + "\ncalibrate:\n  parameters:\n    bargaining.rounds: {prior: uniform, min: 1, max: 5}\n",
                    encoding="utf-8")
    proc = run_brink(brink, "validate", path)
    assert proc.returncode == 2, proc.stderr
    assert "'bargaining.rounds' cannot be calibrated: it holds whole numbers (its range is marked 'integer' in " \
           "'brink params'); only real-valued model parameters can" in proc.stderr, proc.stderr
    assert "kind 'sweep'" not in proc.stderr


def test_a_sweep_value_that_underflows_is_refused_as_a_scenario_number_is(brink, minimal, tmp_path):
    """`--sweep PATH=1e-400,0.2` was "not a list of finite numbers or a range"; 1e-400 is finite
    and underflows. It is refused with the reason a scenario's field gives for the same text."""
    proc = run_brink(brink, "run", minimal, "-q", "-o", tmp_path / "u.h5",
                     "--sweep", "escalation.incidents.base_rate=1e-400,0.2")
    assert proc.returncode == 2, proc.stderr
    assert "'1e-400' is closer to 0 than a double can hold (below about 2.2e-308: write 0 or a larger number)" \
        in proc.stderr, proc.stderr
    proc = run_brink(brink, "run", minimal, "-q", "-o", tmp_path / "u.h5",
                     "--sweep", "escalation.incidents.base_rate=1e-400:0.2")
    assert proc.returncode == 2 and "'1e-400' is closer to 0 than a double can hold" in proc.stderr, proc.stderr
    field = tmp_path / "field.yaml"
    field.write_text(minimal.read_text(encoding="utf-8").replace("base_rate: 0.001", "base_rate: 1e-400"),
                     encoding="utf-8")
    proc = run_brink(brink, "validate", field)
    assert proc.returncode == 2 and "is closer to 0 than a double can hold" in proc.stderr, proc.stderr
    listed = tmp_path / "listed.yaml"
    listed.write_text(minimal.read_text(encoding="utf-8")
                      + "sweep:\n  parameters:\n    escalation.incidents.base_rate: [1e-400, 0.2]\n", encoding="utf-8")
    proc = run_brink(brink, "validate", listed)
    assert proc.returncode == 2, proc.stderr
    assert "'sweep.parameters.escalation.incidents.base_rate' value '1e-400' is closer to 0 than a double can " \
           "hold" in proc.stderr, proc.stderr


def test_an_incidents_reading_may_be_given_as_a_value_that_is_not_whole(brink, toy, tmp_path):
    """`value: 12.5, sd: 1` was refused as "not a whole number, which a count of incidents must
    be", while the same reading as `range: [10.54, 14.46]` was accepted."""
    for reading in ("value: 12.5\n    sd: 1", "range: [10.54, 14.46]"):
        path = tmp_path / "reading.yaml"
        path.write_text(toy.replace("value: 12\n    sd: 1", reading), encoding="utf-8")
        assert reading in path.read_text(encoding="utf-8")
        proc = run_brink(brink, "validate", path)
        assert proc.returncode == 0, proc.stderr


def shards(brink, minimal, work, *extra):
    paths = []
    for i in range(2):
        out = work / f"s{i}.h5"
        args = ["-n", "50", "--sweep", "actors.RED.decision.rationality=1,2,3"] + (list(extra) if i == 1 else [])
        proc = run_brink(brink, "run", minimal, "-q", "-t", "1", *args, "--shard", f"{i}/2", "-o", out)
        assert proc.returncode == 0, proc.stderr
        paths.append(out)
    return paths


def test_merge_names_the_option_that_differs_between_shards(brink, minimal, tmp_path):
    """merge said only "the list of --set, sweep and run options differs"; --resume names the line."""
    s0, s1 = shards(brink, minimal, tmp_path, "--set", "actors.RED.forces.deployed=60000")
    proc = run_brink(brink, "merge", tmp_path / "m.h5", s0, s1)
    assert proc.returncode == 2, proc.stderr
    assert f"the list of --set, sweep and run options differs ('actors.RED.forces.deployed=60000' in '{s1}', " \
           f"not in '{s0}')" in proc.stderr, proc.stderr
    (tmp_path / "seed").mkdir()
    s0, s1 = shards(brink, minimal, tmp_path / "seed", "--seed", "7")
    proc = run_brink(brink, "merge", tmp_path / "m.h5", s0, s1)
    assert proc.returncode == 2 and f"('run.seed=7' in '{s1}', not in '{s0}')" in proc.stderr, proc.stderr


def test_merge_says_it_replaces_a_killed_merges_partial_even_with_quiet(brink, minimal, tmp_path):
    """`brink merge -q` replaced the partial a killed merge left without a word; docs/cluster.md
    says the takeover is said on stderr."""
    s0, s1 = shards(brink, minimal, tmp_path)
    reference = tmp_path / "reference.h5"
    assert run_brink(brink, "merge", "-q", reference, s0, s1).returncode == 0
    out = tmp_path / "m.h5"
    partial = Path(f"{out}.partial")
    shutil.copy(reference, partial)
    with h5py.File(partial, "r+") as f:  # as a merge killed before it marked the file complete leaves it
        f.attrs.modify("complete", np.int32(0))
    proc = run_brink(brink, "merge", "-q", out, s0, s1)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"brink merge: replacing '{partial}', left by a merge that did not finish\n", proc.stderr
    assert out.is_file() and not partial.exists()
