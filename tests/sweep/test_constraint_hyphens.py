"""Round 42 (outside tester): sweep constraints over hyphenated ids (docs/sweeps.md, "Constraints on sampled
points"; ids may contain '-', docs/scenario-format.md). Truth: the constraints' own arithmetic on the values
h5py reads, and the documented refusal of a word that reads two ways."""

import h5py
import numpy as np

from test_designs import usage_error
from test_sweeps import brink, write

ESCALATION = """escalation:
  rungs: [calm, tense, war, big]
  initial_rung: calm
  limited_war: tense
  full_war: war
  alliance_war: big
"""


def parameter_column(h5, path):
    names = [n.decode() if isinstance(n, bytes) else n for n in h5["parameter"][:]]
    return h5["parameter_value"][:, names.index(path)]


def hyphen_issue(rule, action="reject"):
    """Actors A and A-2 (ids may contain '-'), both positions on issue k swept, one constraint."""
    return f"""brink: 1
name: hyphens
run: {{horizon_days: 10, dt_days: 1, replications: 64, seed: 1}}
actors:
  A: {{forces: {{deployed: 1000}}}}
  A-2: {{forces: {{deployed: 1000}}}}
{ESCALATION}negotiation:
  issues:
    k: {{core: true, positions: {{A: 0.1, A-2: 0.9}}, salience: {{A: 0.5, A-2: 0.5}}}}
sweep:
  design: lhs
  samples: 16
  parameters:
    negotiation.issues.k.positions.A: {{min: 0, max: 1}}
    negotiation.issues.k.positions.A-2: {{min: 0, max: 1}}
  constraints:
    - {{rule: "{rule}", action: {action}}}
"""


def test_a_hyphenated_id_in_a_constraint_is_read_as_the_path(tmp_path):
    """'positions.A-2 <= 0.5' bounds actor A-2's position (before, it read 'positions.A - 2 <= 0.5', always
    true, and half the points broke the rule)."""
    scenario = write(tmp_path, "h.yaml", hyphen_issue("negotiation.issues.k.positions.A-2 <= 0.5"))
    out = tmp_path / "h.h5"
    proc = brink("run", scenario, "-n", 64, "--threads", 1, "-q", "-o", out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out) as f:
        a2 = parameter_column(f, "negotiation.issues.k.positions.A-2")
        assert len(a2) > 0 and np.all(a2 <= 0.5), a2


def test_a_minus_with_spaces_subtracts(tmp_path):
    """'positions.A - 0.25 >= 0' (spaces) bounds actor A's position from below, whatever A-2 does."""
    scenario = write(tmp_path, "h.yaml", hyphen_issue("negotiation.issues.k.positions.A - 0.25 >= 0"))
    out = tmp_path / "h.h5"
    proc = brink("run", scenario, "-n", 64, "--threads", 1, "-q", "-o", out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out) as f:
        a = parameter_column(f, "negotiation.issues.k.positions.A")
        assert len(a) > 0 and np.all(a >= 0.25), a


def test_a_word_that_reads_two_ways_is_refused(tmp_path):
    """'positions.A-2-1' is 'positions.A-2' minus 1 or 'positions.A' minus 2 minus 1: refused, naming both."""
    scenario = write(tmp_path, "h.yaml", hyphen_issue("negotiation.issues.k.positions.A-2-1 <= 0"))
    usage_error(brink("validate", scenario), r"h\.yaml:\d+:\d+: .*reads two ways", r"spaces")


def test_an_actor_with_a_hyphen_in_a_clip_rule(tmp_path):
    """Actor 'A-B' in a clip rule: deployed <= deployed_cap - B's ready = 2000 - 10 at every point (before,
    refused as the unknown path 'actors.A')."""
    scenario = write(tmp_path, "ab.yaml", f"""brink: 1
name: hyph
run: {{horizon_days: 10, dt_days: 1, replications: 64, seed: 1}}
actors:
  A-B: {{forces: {{deployed: 1000, deployed_cap: 2000}}}}
  A: {{forces: {{deployed: 1000}}}}
  B: {{forces: {{deployed: 3000, ready: 10}}}}
{ESCALATION}sweep:
  design: lhs
  samples: 8
  parameters:
    actors.A-B.forces.deployed: {{min: 0, max: 5000}}
  constraints:
    - {{rule: "actors.A-B.forces.deployed <= actors.A-B.forces.deployed_cap - actors.B.forces.ready", action: clip}}
""")
    out = tmp_path / "ab.h5"
    proc = brink("run", scenario, "-n", 64, "--threads", 1, "-q", "-o", out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out) as f:
        deployed = parameter_column(f, "actors.A-B.forces.deployed")
        assert len(deployed) == 8 and np.all(deployed <= 1990) and np.any(deployed == 1990), deployed

