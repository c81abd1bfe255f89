"""Mutated scenario files never crash the parser: every one is accepted
(exit 0) or rejected (exit 2) with one-line `file:line:col: message` errors."""

import os
import random
import re
import subprocess
from pathlib import Path

SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
TOKENS = ["-1", "nan", ".inf", "[", "]", "{", "}", ":", "RUS", "XYZ", "1e400", "0", "", "- a", "true", '"', "'",
          "&a", "*a", "!!int", "~", "99999999999999999999", "0x10", "1_000"]


def mutate(lines, rng):
    lines = list(lines)
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(len(lines))
        op = rng.random()
        if op < 0.3:
            lines[k] = lines[k].replace(rng.choice(["1", "0", ":", " ", "a", "e"]), rng.choice(TOKENS), 1)
        elif op < 0.5:
            del lines[k]
        elif op < 0.7:
            lines.insert(k, lines[rng.randrange(len(lines))])
        elif op < 0.85:
            lines[k] = lines[k] + " " + rng.choice(TOKENS)
        else:
            lines[k] = lines[k][: rng.randrange(len(lines[k]) + 1)]
    return lines


def test_mutated_scenarios_are_accepted_or_rejected_cleanly(brink, tmp_path):
    lines = (SOURCE / "scenarios" / "jan-2022-standoff.yaml").read_text().split("\n")
    rng = random.Random(2022)
    path = tmp_path / "m.yaml"
    rejected = 0
    for _ in range(300):
        path.write_text("\n".join(mutate(lines, rng)))
        proc = subprocess.run([brink, "validate", str(path)], capture_output=True, text=True, timeout=20)
        assert proc.returncode in (0, 2), proc.stderr
        if proc.returncode == 2:
            rejected += 1
            errors = proc.stderr.strip().split("\n")
            assert errors and all(re.match(re.escape(str(path)) + r"(:\d+:\d+)?: \S", e) for e in errors), errors
    assert rejected > 100  # the mutations do break things
