"""The reduced model's NumPy scripts (bench/peer/peer_benchmark.py: the tight
script and the thinned one) read their numbers from the scenario they are
given, so the ratio and agreement that the benchmark prints hold for any
parameter set of that model's shape, not only for peer-model.yaml. Checked
against the real brink binary: P(full war) must agree by a two-sample z-test
(alpha = 0.001) on parameter sets far from peer-model.yaml's, and each script
with peer-model.yaml's numbers must be rejected there (so the test sees a
script that ignores the file). The thinned script's bounds are checked on
every candidate while it runs (check=True) and on a grid of reachable states,
for weights that fall with tension and for weights that rise with it.

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


# Weights that rise with tension (a negative escalation weight), a negative security and war-gain
# weight, no weight on ready troops, a faster decay and bigger incidents: the thinning bounds take
# the other end of each range here.
RISING = {
    "actors.A.decision.weights.escalation": -0.1,
    "actors.A.decision.weights.security": -2.0,
    "actors.A.decision.weights.war_gain": -1.0,
    "actors.A.decision.ready_weight": 0.0,
    "actors.A.actions.invade.cost": 4.5,
    "escalation.incidents.tension_jump": 1.5,
    "escalation.incidents.base_rate": 0.01,
    "escalation.tension.decay": 0.1,
}


def write_model(path, changes):
    doc = with_values(read_document(PEER_MODEL), list(changes), list(changes.values()))
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def other_model(tmp_path_factory):
    return write_model(tmp_path_factory.mktemp("reduced") / "other-model.yaml", CHANGES)


@pytest.fixture(scope="module")
def rising_model(tmp_path_factory):
    return write_model(tmp_path_factory.mktemp("reduced") / "rising-model.yaml", RISING)


def brink_full_wars(brink, scenario, tmp_path):
    out = tmp_path / "reduced.h5"
    subprocess.run([brink, "run", str(scenario), "-n", str(REPLICATIONS), "--threads", "2", "--quiet",
                    "--summary-only", "-o", str(out)], check=True, timeout=120)
    with h5py.File(out, "r") as f:
        names = [x.decode() if isinstance(x, bytes) else str(x) for x in f["outcome"][:]]
        return int(f["outcome_count"][0][names.index("full_war")])


@pytest.fixture(scope="module")
def other_wars(brink, other_model, tmp_path_factory):
    return brink_full_wars(brink, other_model, tmp_path_factory.mktemp("brink"))


def numpy_full_wars(scenario, seed):
    peer_benchmark.use_reduced_scenario(scenario)
    return peer_benchmark.numpy_model(REPLICATIONS, seed, dtype=np.float64)


def thinned_full_wars(scenario, seed):
    peer_benchmark.use_reduced_scenario(scenario)
    return peer_benchmark.thinned_model(REPLICATIONS, seed, check=True)  # raises if a bound fails


def assert_follows(wars, script, scenario, seed):
    """The script agrees with brink's `wars` on `scenario`, and with peer-model.yaml's numbers it does not."""
    ours = script(scenario, seed)
    _, agree = compare(["full_war"], [wars], REPLICATIONS, [ours], REPLICATIONS, ALPHA)
    assert agree, f"P(full war): brink {wars / REPLICATIONS:.4f}, NumPy {ours / REPLICATIONS:.4f}"
    # The script with peer-model.yaml's numbers is a different model: rejected here.
    stale = script(PEER_MODEL, seed + 1)
    _, agree = compare(["full_war"], [wars], REPLICATIONS, [stale], REPLICATIONS, ALPHA)
    assert not agree, f"peer-model.yaml's numbers ({stale / REPLICATIONS:.4f}) pass for the other model's"


def test_the_script_follows_another_parameter_set(other_wars, other_model):
    assert_follows(other_wars, numpy_full_wars, other_model, 11)


def test_the_thinned_script_follows_another_parameter_set(other_wars, other_model):
    assert_follows(other_wars, thinned_full_wars, other_model, 21)


def test_the_thinned_script_follows_weights_rising_with_tension(brink, rising_model, tmp_path):
    assert_follows(brink_full_wars(brink, rising_model, tmp_path), thinned_full_wars, rising_model, 31)


@pytest.mark.parametrize("changes", [{}, CHANGES, RISING], ids=["peer-model", "other", "rising"])
def test_the_thinning_bounds_cover_every_reachable_state(changes, tmp_path):
    """q = W/(1+W) and the incident probability at every point of a grid over the states a lane at
    peace can reach (step, tension in a range, deployed troops from the initial ones to the cap)
    stay at or below the bounds the thinned script draws its candidates with."""
    pb = peer_benchmark
    pb.use_reduced_scenario(write_model(tmp_path / "model.yaml", changes))
    d_lo, d_hi = pb.peace_deployed_range()
    deployed = np.linspace(d_lo, d_hi, 41)
    for s in (0, pb.STEPS // 3, pb.STEPS - 1):
        for t_lo, t_hi in ((0.0, 0.5), (0.2, 3.0), (1.0, 20.0)):
            t, d = (x.ravel() for x in np.meshgrid(np.linspace(t_lo, t_hi, 41), deployed))
            _, w1, w2, w3 = pb.logit_weights(s, t, d, pb.A_DEPLOYED + pb.A_READY - d, at_peace=True)
            w = w1 + w2 + w3
            assert (w / (1 + w)).max() <= pb.hold_leaving_bound(s, t_lo, t_hi), (s, t_lo, t_hi)
            hazard = pb.BASE + pb.TENSION_RATE * t + pb.CONTACT_RATE * np.sqrt(d * pb.B_DEPLOYED) / 1e5
            assert (-np.expm1(-hazard * pb.DT)).max() <= pb.incident_bound(t_hi), (s, t_hi)


def test_a_scenario_of_another_shape_is_refused(tmp_path):
    doc = read_document(PEER_MODEL)
    doc["actors"]["A"]["actions"]["mobilize"] = {"amount": 1000}
    path = tmp_path / "other-shape.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(ValueError, match="must choose among hold, deploy, exercise"):
        peer_benchmark.reduced_constants(path)


def test_an_action_lowering_tension_is_refused(tmp_path):
    path = write_model(tmp_path / "lowering.yaml", {"actors.A.actions.exercise.tension": -0.1})
    with pytest.raises(ValueError, match="lowers tension"):
        peer_benchmark.reduced_constants(path)


def test_weights_that_could_overflow_are_refused(tmp_path):
    peer_benchmark.use_reduced_scenario(PEER_MODEL)
    path = write_model(tmp_path / "overflow.yaml", {"actors.A.decision.rationality": 500.0})
    with pytest.raises(ValueError, match="overflow"):
        peer_benchmark.use_reduced_scenario(path)
    assert peer_benchmark.LAMBDA == 2.0  # the numbers it had are kept
