"""The NumPy peer's bargaining phase (bench/peer/flagship_bargain.py): it must
reproduce Fearon's closed form on the validation ultimatum and agree with brink
there, and the flagship comparison must notice when it is left out (the
flagship's demand of neutrality, rejected, is most of its wars).

Run: BRINK=build/release/brink /usr/bin/python3 -m pytest tests/peer/test_numpy_bargain.py
"""

import math
import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

ROOT = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(ROOT / "bench" / "peer"))

from agreement import compare  # noqa: E402
from numpy_flagship import OUTCOMES, load, simulate  # noqa: E402

REPLICATIONS = 12000
ALPHA = 0.001
FULL_WAR = OUTCOMES.index("full_war")


@pytest.fixture(scope="module")
def brink():
    path = os.environ.get("BRINK", str(ROOT / "build" / "release" / "brink"))
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"BRINK={path!r} is not an executable file (build it, or set BRINK)", pytrace=False)
    return path


def brink_counts(brink, scenario, out):
    subprocess.run([brink, "run", str(scenario), "-n", str(REPLICATIONS), "--threads", "2", "--quiet", "-o", str(out)],
                   check=True, timeout=120)
    with h5py.File(out, "r") as f:
        return [int(x) for x in f["outcome_count"][0]]


def test_peer_reproduces_fearon_on_the_ultimatum(brink, tmp_path):
    # bargaining-ultimatum.yaml: p = 0.5, c_A = 0.1, c_B ~ U[0.05, 0.45]:
    # x* = p + (c_hi - c_A)/2 = 0.675, P(war) = (x* - p - c_lo)/(c_hi - c_lo) = 0.3125.
    scenario = ROOT / "scenarios" / "validation" / "bargaining-ultimatum.yaml"
    sc = load(scenario)
    got = simulate(sc, REPLICATIONS, seed=4242)
    p_war = got[FULL_WAR] / REPLICATIONS
    half = 3.29 * math.sqrt(0.3125 * 0.6875 / REPLICATIONS)  # 99.9% normal interval
    assert abs(p_war - 0.3125) < half, f"peer P(war) {p_war:.4f}, Fearon's closed form 0.3125 ± {half:.4f}"
    expected = brink_counts(brink, scenario, tmp_path / "ultimatum.h5")
    rows, agree = compare(OUTCOMES, expected, REPLICATIONS, list(got), REPLICATIONS, ALPHA)
    assert agree, f"peer and brink disagree on the ultimatum: {rows}"


def test_flagship_comparison_notices_a_peer_without_bargaining(brink, tmp_path):
    scenario = ROOT / "scenarios" / "jan-2022-standoff.yaml"
    sc = load(scenario)
    assert sc.bargaining is not None
    expected = brink_counts(brink, scenario, tmp_path / "flagship.h5")
    sc.bargaining = None  # the demand of neutrality left out of the peer
    got = [int(x) for x in simulate(sc, REPLICATIONS, seed=99)]
    _, agree = compare(OUTCOMES, expected, REPLICATIONS, got, REPLICATIONS, ALPHA)
    assert not agree, "the flagship comparison should reject a peer without the bargaining phase"
