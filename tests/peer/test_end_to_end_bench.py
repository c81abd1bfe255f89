"""bench/end_to_end.py, the script that prints issue 8's end-to-end ratios,
run as a user runs it on a small flagship: each comparison prints its median
and range, and a comparison of a binary with itself comes out near 1 while
per-replication output costs more than --summary-only (so the script times the
commands it names, in the order it says); beside the thread speed-up, the
cores the 2-thread runs got and the load average. Without a brink binary,
end_to_end.py, floor.py and peer_benchmark.py say in one sentence how to
point them at one (exit 2).

Run: BRINK=build/release/brink /usr/bin/python3 -m pytest tests/peer
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from peer_brink import brink  # noqa: F401 (the fixture)

ROOT = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SCRIPT = ROOT / "bench" / "end_to_end.py"
FLAGSHIP = ROOT / "scenarios" / "jan-2022-standoff.yaml"
LINE = re.compile(r"^  (?P<title>.+?)\s+wall\s+(?P<wall>[0-9.]+)x \(([0-9.]+)-([0-9.]+)\)\s+CPU\s+(?P<cpu>[0-9.]+)x")


def run_script(brink_path, *args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "BRINK": brink_path}, timeout=600)


def test_prints_each_ratio_and_a_self_comparison_near_one(brink):
    proc = run_script(brink, "--replications", 20480, "--sweep-points", 300, "--pairs", 3, "--previous", brink,
                      "--previous-scenario", FLAGSHIP)
    assert proc.returncode == 0, proc.stderr
    rows = {m["title"]: m for m in map(LINE.match, proc.stdout.splitlines()) if m}
    assert len(rows) == 4, proc.stdout
    assert re.search(r"the 2-thread runs got [0-9.]+ cores .*load average [0-9.]+", proc.stdout), proc.stdout
    assert any(t.startswith("the same, 300 points of 1 replication") for t in rows), proc.stdout
    per_rep = next(m for t, m in rows.items() if t.startswith("per-replication output"))
    itself = next(m for t, m in rows.items() if t.startswith("today's flagship / previous release"))
    # Writing every replication's variables costs CPU that --summary-only does not spend.
    assert float(per_rep["cpu"]) > 1.0, proc.stdout
    # The same binary on the same scenario: a ratio that is not near 1 would mean the
    # script timed something else than it names.
    assert 0.6 < float(itself["cpu"]) < 1.6, proc.stdout


def test_sweep_points_can_be_left_out(brink):
    proc = run_script(brink, "--replications", 2048, "--sweep-points", 0, "--pairs", 1)
    assert proc.returncode == 0, proc.stderr
    titles = [m["title"] for m in map(LINE.match, proc.stdout.splitlines()) if m]
    assert len(titles) == 2 and not any("points of 1 replication" in t for t in titles), proc.stdout


def test_previous_needs_its_scenario(brink):
    proc = run_script(brink, "--previous", brink)
    assert proc.returncode == 2
    assert "--previous-scenario" in proc.stderr


@pytest.mark.parametrize("script", ["bench/end_to_end.py", "bench/floor.py", "bench/peer/peer_benchmark.py"])
def test_without_a_brink_binary_one_sentence_says_how_to_point_at_one(script, tmp_path):
    missing = tmp_path / "no-such-brink"
    proc = subprocess.run([sys.executable, str(ROOT / script)], capture_output=True, text=True,
                          env={**os.environ, "BRINK": str(missing)}, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert f"BRINK={missing}" in proc.stderr and "set BRINK=path/to/brink" in proc.stderr, proc.stderr
