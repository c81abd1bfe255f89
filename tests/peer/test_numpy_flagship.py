"""The NumPy flagship (bench/peer/numpy_flagship.py) against the real brink
binary: every outcome probability must agree by a two-sample z-test per
outcome, Holm-corrected, at alpha = 0.001 (issue 8). The NumPy model is an
independent implementation of docs/model.md with its own random numbers, so
agreement is statistical; a wrong mechanism (a Lanchester coefficient off by
20%, Bayes' rule left out) shifts outcome probabilities by far more than the
test's resolution at these replication counts (so does the peer's attack value
left on the log force ratio where the flagship uses war_forecast). Outcome classes depend on the
peak rung only, so mechanisms that act on timing and beliefs are also checked
through yes/no events per replication (extra_event_names): a war ended by
collapse, ended within 45 steps of its start, and each typed actor's final
belief in its first type above the prior.

Run: BRINK=build/release/brink /usr/bin/python3 -m pytest tests/peer
"""

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(ROOT / "bench" / "peer"))

from agreement import compare  # noqa: E402
from numpy_flagship import OUTCOMES, extra_event_names, extra_events, load, simulate  # noqa: E402

REPLICATIONS = 12000
ALPHA = 0.001


@pytest.fixture(scope="session")
def brink():
    path = os.environ.get("BRINK", str(ROOT / "build" / "release" / "brink"))
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"BRINK={path!r} is not an executable file (build it, or set BRINK)", pytrace=False)
    return path


def brink_counts(brink, sc, scenario, tmp_path):
    """brink's outcome counts and extra-event counts, from its per-replication output."""
    out = tmp_path / f"{scenario.stem}.h5"
    subprocess.run([brink, "run", str(scenario), "-n", str(REPLICATIONS), "--threads", "2", "--quiet", "-o", str(out)],
                   check=True, timeout=120)
    with h5py.File(out, "r") as f:
        names = [x.decode() if isinstance(x, bytes) else str(x) for x in f["outcome"][:]]
        assert names == OUTCOMES
        counts = [int(x) for x in f["outcome_count"][0]]
        belief = f["final_belief"][0]  # replications x actors x types
        events = extra_events(f["war_start_step"][0], f["war_end_step"][0],
                              [belief[:, i, 0] for i in range(len(sc.actors))], sc)
    return counts + [int(e.sum()) for e in events]


# Each precision of the NumPy utilities and logit on one scenario.
@pytest.mark.parametrize("name, dtype", [("jan-2022-standoff", np.float64), ("feb-2022-buildup", np.float32)])
def test_numpy_flagship_agrees_with_brink(brink, tmp_path, name, dtype):
    scenario = ROOT / "scenarios" / f"{name}.yaml"
    sc = load(scenario)
    expected = brink_counts(brink, sc, scenario, tmp_path)
    got = [int(x) for x in simulate(sc, REPLICATIONS, seed=12345, extra=True, dtype=dtype)]
    rows, agree = compare(OUTCOMES + extra_event_names(sc), expected, REPLICATIONS, got, REPLICATIONS, ALPHA)
    table = "\n".join(f"  {o:<30} brink {pa:.4f}  numpy {pb:.4f}  p = {p:.2g}{'  REJECTED' if r else ''}"
                      for o, pa, pb, p, r in rows)
    assert agree, f"{name}: NumPy flagship disagrees with brink (Holm, alpha={ALPHA}):\n{table}"
    # Both saw settlements, wars, collapses and belief moves: no comparison was of empty events.
    assert min(expected[0], expected[3], expected[5], expected[7], got[0], got[3], got[5], got[7]) > 0
