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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from agreement import compare  # noqa: E402
from peer_brink import brink  # noqa: E402,F401 (the fixture)
from flagship_scenario import from_document, read_document  # noqa: E402
from numpy_flagship import OUTCOMES, extra_event_names, extra_events, load, simulate, simulate_draws  # noqa: E402

REPLICATIONS = 12000
ALPHA = 0.001


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


def test_numpy_flagship_follows_a_draw_per_replication(brink, tmp_path):
    """A posterior run (brink run --posterior) gives every replication its own parameter set; the
    NumPy flagship, given the same per-replication values from brink's file, must agree on every
    outcome and event. Some replications drawing a high war-gain weight for Russia's resolved type and
    others a low one give other outcome probabilities than every replication at the mean, so this
    checks that each lane used its own values."""
    scenario = ROOT / "scenarios" / "backtest-2022.yaml"
    calibration = tmp_path / "cal.h5"
    subprocess.run([brink, "calibrate", str(scenario), "--particles", "40", "--replications", "8",
                    "--generations", "2", "-q", "-o", str(calibration)], check=True, timeout=120)
    posterior = tmp_path / "cal.posterior.yaml"
    run = tmp_path / "pred.h5"
    subprocess.run([brink, "run", str(posterior), "--posterior", str(calibration), "-n", str(REPLICATIONS),
                    "-q", "-o", str(run)], check=True, timeout=120)
    doc = read_document(posterior)
    sc = from_document(doc, str(posterior))
    with h5py.File(run, "r") as f:
        text = lambda v: v.decode() if isinstance(v, bytes) else str(v)  # noqa: E731
        drawn = {text(f[name].attrs["parameter_path"]): f[name][0] for name in f
                 if "parameter_path" in f[name].attrs and f[name].ndim == 2}
        counts = [int(x) for x in f["outcome_count"][0]]
        belief = f["final_belief"][0]
        events = extra_events(f["war_start_step"][0], f["war_end_step"][0],
                              [belief[:, i, 0] for i in range(len(sc.actors))], sc)
    expected = counts + [int(e.sum()) for e in events]
    paths = sorted(drawn)
    assert len(paths) == 6 and all(len(drawn[p]) == REPLICATIONS for p in paths)
    values = np.column_stack([drawn[p] for p in paths])
    assert len(np.unique(values, axis=0)) >= 10
    got = [int(x) for x in simulate_draws(doc, paths, values, seed=2024, extra=True)]
    names = OUTCOMES + extra_event_names(sc)
    rows, agree = compare(names, expected, REPLICATIONS, got, REPLICATIONS, ALPHA)
    table = "\n".join(f"  {o:<30} brink {pa:.4f}  numpy {pb:.4f}  p = {p:.2g}{'  REJECTED' if r else ''}"
                      for o, pa, pb, p, r in rows)
    assert agree, f"the NumPy flagship disagrees with brink's posterior run (Holm, alpha={ALPHA}):\n{table}"
    # The test can tell: every replication at the posterior means is another distribution.
    at_means = [int(x) for x in simulate(sc, REPLICATIONS, seed=2025, extra=True)]
    _, same = compare(names, expected, REPLICATIONS, at_means, REPLICATIONS, ALPHA)
    assert not same, "the draws change nothing detectable: this test would not see lanes ignoring them"


# Wars with many fronts (docs/model.md, start_war and join_alliance_war): T's protector P
# (commitment 0.6) drawn into the defenders by A's attack on T, or first at war with N by its
# scheduled attack on day 2 (which, once P defends T, puts N beside A); N's scheduled attack on
# Y joining the war on; S, an ally of both A and T, on A's side. Every number is an assumption.
MANY_FRONTS = """brink: 1
name: many-fronts
run: {horizon_days: 30, dt_days: 1, replications: 1024, seed: 29}
actors:
  A:
    forces: {deployed: 50000, ready: 10000, deployment_rate: 1000}
    combat: {effectiveness: 0.01}
    decision: {rationality: 1.0, weights: {cost: 1, war_gain: 1.0, credibility: 1.0}}
    actions:
      hold: {}
      strike: {kind: attack, target: T, rung: limited, cost: 1.5}
      invade: {kind: attack, target: T, rung: full, cost: 3.0}
  T: {forces: {deployed: 30000}, combat: {effectiveness: 0.01, defence_advantage: 1.3}}
  P:
    forces: {deployed: 20000}
    combat: {effectiveness: 0.01}
    decision: {rationality: 1.0, weights: {cost: 1, war_gain: 0.5}}
    actions:
      hold: {}
      strike: {kind: attack, target: N, rung: full, cost: 0.5}
  E: {forces: {deployed: 10000}, combat: {effectiveness: 0.01}}
  N: {forces: {deployed: 15000}, combat: {effectiveness: 0.01}}
  S: {forces: {deployed: 5000}, combat: {effectiveness: 0.01}}
  Y: {forces: {deployed: 8000}, combat: {effectiveness: 0.01}}
relations:
  adversaries: [[A, T], [P, N], [N, Y]]
  allies: [[P, E], [A, S], [T, S]]
  commitments: [{from: P, to: T, strength: 0.6}]
escalation:
  rungs: [calm, tense, limited, full, wider]
  initial_rung: tense
  limited_war: limited
  full_war: full
  alliance_war: wider
  incidents: {base_rate: 0.002, tension_rate: 0.01}
combat: {law: square, collapse_fraction: 0.6}
events:
  - {day: 5, actor: N, attack: Y, rung: limited}
  - {day: 2, actor: P, attack: N, rung: full}
"""


def test_numpy_flagship_agrees_with_brink_on_wars_with_many_fronts(brink, tmp_path):
    """Who joins which side decides every casualty and collapse: the outcomes and the war events
    (collapse, a war ended within 45 steps) must agree with an independent implementation."""
    scenario = tmp_path / "many-fronts.yaml"
    scenario.write_text(MANY_FRONTS, encoding="utf-8")
    sc = load(scenario)
    expected = brink_counts(brink, sc, scenario, tmp_path)
    got = [int(x) for x in simulate(sc, REPLICATIONS, seed=4242, extra=True, dtype=np.float64)]
    rows, agree = compare(OUTCOMES + extra_event_names(sc), expected, REPLICATIONS, got, REPLICATIONS, ALPHA)
    table = "\n".join(f"  {o:<30} brink {pa:.4f}  numpy {pb:.4f}  p = {p:.2g}{'  REJECTED' if r else ''}"
                      for o, pa, pb, p, r in rows)
    assert agree, f"many fronts: NumPy flagship disagrees with brink (Holm, alpha={ALPHA}):\n{table}"
    # Both saw full and alliance wars and collapses: no comparison was of empty events.
    assert min(expected[3:6] + got[3:6]) > 0, (expected, got)
