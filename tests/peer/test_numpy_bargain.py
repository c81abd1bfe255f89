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
import numpy as np

ROOT = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(ROOT / "bench" / "peer"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from agreement import compare  # noqa: E402
from peer_brink import brink  # noqa: E402,F401 (the fixture)
from numpy_flagship import OUTCOMES, load, simulate  # noqa: E402

REPLICATIONS = 12000
ALPHA = 0.001
FULL_WAR = OUTCOMES.index("full_war")


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


# -- The flagship's bargaining in brink, replication by replication ------------------------------------------

def flagship_day26(brink, tmp_path, *settings):
    out = tmp_path / f"flagship-{len(settings)}.h5"
    args = [brink, "run", str(ROOT / "scenarios" / "jan-2022-standoff.yaml"), "-n", "8000", "--threads", "2", "-q",
            "-o", str(out)]
    for s in settings:
        args += ["--set", s]
    subprocess.run(args, check=True, timeout=120)
    with h5py.File(out, "r") as f:
        ukr = [x.decode() if isinstance(x, bytes) else str(x) for x in f["actor"][:]].index("UKR")
        return f["offer"][0], f["war_cost"][0, :, ukr], f["war_start_step"][0]


def test_flagship_demand_follows_fearon_replication_by_replication(brink, tmp_path):
    # Russia's cost 0.79, Ukraine's U[0, 1.58], no discounting or casualty costs: C = c_A and
    # y* = clip((c_hi - c_A)/2, c_lo, c_hi) = 0.395, so Ukraine refuses (and the war starts on
    # day 26) exactly when its cost is below 0.395: P = 0.25 among the lanes offered.
    offer, cost, start = flagship_day26(brink, tmp_path)
    offered = np.isfinite(offer)
    assert offered.mean() > 0.9 and offer[offered].max() < 1.0  # interior: the demand is below the whole stake
    low = offered & (cost < 0.395 - 1e-9)
    high = offered & (cost > 0.395 + 1e-9)
    assert np.all(start[low] == 26), "a Ukraine with a cost below 0.395 accepted Russia's demand"
    # Above it Ukraine accepts; only a menu attack chosen later in the same step can start a war that day.
    assert (start[high] == 26).mean() < 0.005
    share = low.sum() / offered.sum()
    assert abs(share - 0.25) < 3.29 * math.sqrt(0.25 * 0.75 / offered.sum())


def test_flagship_revealed_cost_removes_the_bargaining_war(brink, tmp_path):
    # Complete information: Russia demands exactly Ukraine's reservation share, which it accepts.
    offer, _, start = flagship_day26(brink, tmp_path, "run.information=revealed")
    offered = np.isfinite(offer)
    assert offered.mean() > 0.9
    assert (start[offered] == 26).mean() < 0.005
