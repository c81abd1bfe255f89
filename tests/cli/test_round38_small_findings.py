"""Round 38 outside review, the small findings: a range axis without a bound says the key is
missing (sweeps L2); YAML an older reader would read otherwise is refused, a leading-zero integer
and a tag on a mapping or a text choice (hostile 6); an output path too long for the system is
refused before anything is written (hostile 7); a read-only file system and the command that holds
a lock are named (hostile 8)."""

import fcntl
import os
import socket
import subprocess
import time

import pytest

AXIS = "actors.RED.combat.effectiveness"


def one_line(proc):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def square(source_dir):
    """The text of the Lanchester square-law validation scenario: small, fast, every section plain."""
    return (source_dir / "scenarios" / "validation" / "lanchester-square.yaml").read_text(encoding="utf-8")


# --------------------------------------------------------------------------
# Sweeps L2: a range axis without min or max
# --------------------------------------------------------------------------


@pytest.mark.parametrize("axis, missing", [("{min: 0.005}", "max"), ("{max: 0.02, log: true}", "min"),
                                           ("{min: 0.005, max: }", "max"), ("\n      min: 0.005", "max")])
def test_a_range_axis_without_a_bound_says_the_key_is_missing(run, square, tmp_path, axis, missing):
    """`{min: 0.1}` was refused as "'...max' must be a finite number", as if a max had been given."""
    path = tmp_path / "axis.yaml"
    path.write_text(square + f"sweep:\n  design: lhs\n  samples: 4\n  parameters:\n    {AXIS}: {axis}\n",
                    encoding="utf-8")
    line_no = len(square.splitlines()) + 5 + (1 if axis.startswith("\n") else 0)
    for command in (["validate", path], ["run", path, "-q", "-o", tmp_path / "x.h5"]):
        proc = run(*command)
        line = one_line(proc)
        assert proc.returncode == 2, proc.stderr
        assert line.startswith(f"{path}:{line_no}:"), line
        assert f"missing required key '{missing}' in 'sweep.parameters.{AXIS}'" in line, line
        assert "finite" not in line, line
    assert not list(tmp_path.glob("x.h5*"))
