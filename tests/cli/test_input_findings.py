"""Findings of an outside review of how `brink` reads its input (scenario text
and command-line options): each test names what went wrong before its fix."""

import subprocess
from pathlib import Path

import pytest

from conftest import run_brink

SMALL = """brink: 1
name: r
run: {horizon_days: 10, dt_days: 1}
actors: {A: {forces: {deployed: 1}}, B: {forces: {deployed: 1}}}
escalation: {rungs: [a, b, c, d], initial_rung: a, limited_war: b, full_war: c, alliance_war: d}
"""


def validate(brink, path, timeout=60):
    return subprocess.run([brink, "validate", str(path)], capture_output=True, text=True, timeout=timeout)


def test_each_repeated_commitment_is_reported_once_against_the_first(brink, tmp_path):
    """Each repeat of a commitment was compared with, and reported against, every earlier one:
    40,000 copies took 105 s to validate and 100,000 about 11 minutes (far past this test's
    timeout). The list is now read in one pass and each repeat named once, against the first."""
    n = 100_000
    path = tmp_path / "c.yaml"
    path.write_text(SMALL + "relations:\n  commitments:\n" + "    - {from: A, to: B, strength: 0.5}\n" * n)
    proc = validate(brink, path)
    assert proc.returncode == 2, proc.stderr[:500]
    lines = proc.stderr.splitlines()
    assert lines[0] == f"{path}:9:7: 'relations.commitments.1' commits 'A' to 'B' a second time (as " \
        "relations.commitments.0); give one commitment with one strength", lines[:3]
    assert lines[1].startswith(f"{path}:10:7: 'relations.commitments.2' commits 'A' to 'B' a second time (as "
                               "relations.commitments.0)"), lines[:3]
    assert len(lines) == 101 and lines[-1].endswith(f": {n - 1 - 100} more problems from here on are not shown (the "
                                                    "first 100 are above); fix those and validate again"), lines[-1]


def test_a_repeat_is_named_by_its_place_in_the_file(brink, tmp_path):
    """The earlier commitment was named by its place among the commitments read, which skips
    a refused one: after a bad first entry, entry 2 repeating entry 1 was said to repeat entry 0."""
    path = tmp_path / "c.yaml"
    path.write_text(SMALL + "relations:\n  commitments:\n    - {from: A, to: C, strength: 0.5}\n"
                    + "    - {from: A, to: B, strength: 0.5}\n" * 2)
    proc = validate(brink, path)
    assert proc.returncode == 2
    assert "'relations.commitments.2' commits 'A' to 'B' a second time (as relations.commitments.1)" in \
        proc.stderr, proc.stderr
