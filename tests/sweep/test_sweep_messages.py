"""An outside tester's findings on sweep options, through the real `brink`
binary: the file's samples and levels are judged against the design the run
ends with (after --design), a --sweep of a path that cannot be swept says so
before judging its values, and a grid axis without values is shown example
values from the field's own range (docs/sweeps.md)."""

import re

import h5py
import pytest

from test_designs import usage_error
from test_sweeps import FLAGSHIP, brink, brink_ok, scenario_text, text, write

PROBABILITY = "escalation.incidents.escalation_probability"  # range [0, 1]


def file_sweep(tmp_path, design, samples, levels):
    """The flagship with a file sweep of PROBABILITY in [0, 1] under `design`."""
    sweep = (f"sweep:\n  design: {design}\n  samples: {samples}\n  levels: {levels}\n  parameters:\n"
             f"    {PROBABILITY}: {{min: 0, max: 1}}\n")
    return write(tmp_path, "f.yaml", scenario_text(replications=256, sweep=sweep))


def test_file_levels_fit_the_design_the_command_line_gives(tmp_path):
    """docs/sweeps.md: samples and levels must fit the design the run ends with; a file with
    design lhs and levels 4 was refused even under --design morris."""
    scenario = file_sweep(tmp_path, "lhs", 4, 4)
    out = tmp_path / "m.h5"
    brink_ok("run", scenario, "-q", "-n", 256, "--design", "morris", "--summary-only", "-o", out)
    with h5py.File(out, "r") as f:
        assert text(f.attrs["design"]) == "morris" and int(f.attrs["morris_levels"]) == 4
    # Without --design, or with another design that is not morris, the levels are still refused at their line.
    for extra in ([], ["--design", "sobol"], ["--samples", "8"]):
        proc = brink("run", scenario, "-q", "-n", 256, "--summary-only", "-o", tmp_path / "x.h5", *extra)
        usage_error(proc, r"f\.yaml:\d+:\d+: 'sweep\.levels' \(Morris grid levels.*\) applies to the morris design "
                          r"only.*(lhs|sobol)")
    assert brink("validate", scenario).returncode == 2


def test_file_samples_fit_the_design_the_command_line_gives(tmp_path):
    """A grid file with samples, run with --design lhs, samples the range; --design grid refuses them."""
    body = scenario_text(replications=256, sweep=f"sweep:\n  design: grid\n  samples: 3\n  parameters:\n"
                                                 f"    {PROBABILITY}: {{min: 0, max: 1}}\n")
    scenario = write(tmp_path, "g.yaml", body)
    out = tmp_path / "l.h5"
    brink_ok("run", scenario, "-q", "-n", 256, "--design", "lhs", "--summary-only", "-o", out)
    with h5py.File(out, "r") as f:
        assert text(f.attrs["design"]) == "lhs"
    proc = brink("validate", scenario)  # the file alone: its samples (and its range axis) do not fit a grid
    assert proc.returncode == 2 and re.search(r"g\.yaml:\d+:\d+: 'sweep\.samples' \(3\)", proc.stderr), proc.stderr
    usage_error(brink("run", scenario, "-q", "-n", 256, "--design", "grid", "-o", tmp_path / "x.h5"),
                r"g\.yaml:\d+:\d+: 'sweep\.samples' \(3\) sets the points of a sampled design, and --design grid")


@pytest.mark.parametrize("argument, message", [
    # A path no scenario field has: named as unknown, whatever its values (they read as numbers or not).
    ("events.0.rung=limited,full", r"unknown parameter path 'events\.0\.rung'"),
    ("events.0.rung=1,2", r"unknown parameter path 'events\.0\.rung'"),
    # A run setting cannot be swept, with valid values or not.
    ("run.information=a,b", r"'run\.information' is a run setting, not a model parameter; it cannot be swept"),
    ("run.information=private,revealed", r"'run\.information' is a run setting"),
])
def test_a_path_that_cannot_be_swept_is_named_before_its_values(argument, message, tmp_path):
    proc = brink("run", FLAGSHIP, "-q", "-n", 1, "-o", tmp_path / "x.h5", "--sweep", argument)
    usage_error(proc, message)
    assert "is not a list" not in proc.stderr, proc.stderr


def test_a_grid_axis_without_values_shows_values_in_the_fields_range(tmp_path):
    proc = brink("run", FLAGSHIP, "-q", "-n", 1, "-o", tmp_path / "x.h5", "--sweep", f"{PROBABILITY}=0:1")
    usage_error(proc, r"a range needs a random, lhs, sobol or morris design \(--design lhs",
                rf"on a grid, axis '{re.escape(PROBABILITY)}' takes values, e\.g\. \[0, 1\] in a file or "
                rf"{re.escape(PROBABILITY)}=0,1 with --sweep")
    assert "50000" not in proc.stderr, proc.stderr
