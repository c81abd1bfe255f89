"""The reduced model's tight NumPy script (bench/peer/peer_benchmark.py) reads
its numbers from the scenario it is given, so the ratio and agreement that the
benchmark prints hold for any parameter set of that model's shape, not only
for peer-model.yaml. Checked against the real brink binary: P(full war) must
agree by a two-sample z-test (alpha = 0.001) on a parameter set far from
peer-model.yaml's, and the script with peer-model.yaml's numbers must be
rejected there (so the test sees a script that ignores the file).

Run: BRINK=build/release/brink /usr/bin/python3 -m pytest tests/peer
"""

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

ROOT = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(ROOT / "bench" / "peer"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import peer_benchmark  # noqa: E402
from agreement import compare  # noqa: E402
from peer_brink import brink  # noqa: E402,F401 (the fixture)
from flagship_scenario import read_document, with_values  # noqa: E402

PEER_MODEL = ROOT / "bench" / "peer" / "peer-model.yaml"
REPLICATIONS = 40000
ALPHA = 0.001
# Another parameter set of the same shape: a less rational attacker that
# weighs costs and war gains differently, a stronger defender, more incidents.
CHANGES = {
    "actors.A.decision.rationality": 1.3,
    "actors.A.decision.weights.cost": 0.7,
    "actors.A.decision.weights.war_gain": 3.0,
    "actors.A.decision.weights.security": 1.5,
    "actors.A.actions.invade.cost": 5.0,
    "actors.B.combat.defence_advantage": 1.2,
    "escalation.incidents.tension_rate": 0.004,
}


@pytest.fixture(scope="module")
def other_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("reduced") / "other-model.yaml"
    doc = with_values(read_document(PEER_MODEL), list(CHANGES), list(CHANGES.values()))
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def brink_full_wars(brink, scenario, tmp_path):
    out = tmp_path / "reduced.h5"
    subprocess.run([brink, "run", str(scenario), "-n", str(REPLICATIONS), "--threads", "2", "--quiet",
                    "--summary-only", "-o", str(out)], check=True, timeout=120)
    with h5py.File(out, "r") as f:
        names = [x.decode() if isinstance(x, bytes) else str(x) for x in f["outcome"][:]]
        return int(f["outcome_count"][0][names.index("full_war")])


def numpy_full_wars(scenario, seed):
    peer_benchmark.use_reduced_scenario(scenario)
    return peer_benchmark.numpy_model(REPLICATIONS, seed, dtype=np.float64)


def test_the_script_follows_another_parameter_set(brink, other_model, tmp_path):
    wars = brink_full_wars(brink, other_model, tmp_path)
    ours = numpy_full_wars(other_model, 11)
    _, agree = compare(["full_war"], [wars], REPLICATIONS, [ours], REPLICATIONS, ALPHA)
    assert agree, f"P(full war): brink {wars / REPLICATIONS:.4f}, NumPy {ours / REPLICATIONS:.4f}"
    # The script with peer-model.yaml's numbers is a different model: rejected here.
    stale = numpy_full_wars(PEER_MODEL, 12)
    _, agree = compare(["full_war"], [wars], REPLICATIONS, [stale], REPLICATIONS, ALPHA)
    assert not agree, f"peer-model.yaml's numbers ({stale / REPLICATIONS:.4f}) pass for the other model's"


def test_a_scenario_of_another_shape_is_refused(tmp_path):
    doc = read_document(PEER_MODEL)
    doc["actors"]["A"]["actions"]["mobilize"] = {"amount": 1000}
    path = tmp_path / "other-shape.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(ValueError, match="must choose among hold, deploy, exercise"):
        peer_benchmark.reduced_constants(path)
