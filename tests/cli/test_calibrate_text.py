"""A scenario's YAML as text: aliases that would expand it beyond any scenario
are refused by every command at load (a "billion laughs" in a note passed
`validate` and `run`, then took `brink calibrate` to 23 GB writing the
posterior scenario), notes must be text, and the posterior scenario of
`brink calibrate` is the scenario's own text, comments kept, with the
posterior means substituted (it used to be re-emitted from the parsed tree:
comments gone, every alias expanded)."""

import re
import resource
import subprocess
import time

import h5py
import numpy as np
import pytest
import yaml


@pytest.fixture(scope="module")
def toy(source_dir):
    return (source_dir / "scenarios" / "validation" / "calibrate-incidents.yaml").read_text(encoding="utf-8")


def laughs(levels):
    """A flow list whose aliases expand to 10^levels nodes in 1.3 KB or so."""
    parts = ["&a0 [1,1,1,1,1,1,1,1,1,1]"]
    for level in range(1, levels + 1):
        parts.append(f"&a{level} [" + ",".join([f"*a{level - 1}"] * 10) + "]")
    return "[" + ", ".join(parts) + "]"


def run_limited(brink, *args, timeout=60):
    """brink under a 2 GB address-space limit: an expansion fails there instead of taking the machine."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run([brink, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout, preexec_fn=limit)


WHERE = {
    # An observation's note, a prior's note (the tester's two), and a sweep-free description.
    "observation_note": ("    source: \"synthetic: 12 incidents in 40 steps\"\n",
                         "    source: \"synthetic: 12 incidents in 40 steps\"\n    note: {}\n"),
    "prior_note": ("{prior: exponential, rate: 2}", "{{prior: exponential, rate: 2, note: {}}}"),
    "description": ("description: \"Validation: ABC-SMC on binomial incident counts against the Beta posterior.\"",
                    "description: {}"),
}


@pytest.mark.parametrize("where", sorted(WHERE))
@pytest.mark.parametrize("command", ["validate", "run", "calibrate"])
def test_aliases_that_expand_a_scenario_beyond_a_million_nodes_are_refused_at_load(brink, toy, tmp_path, where,
                                                                                    command):
    old, new = WHERE[where]
    assert old in toy
    text = toy.replace(old, new.format(laughs(9)), 1)  # 1e9 nodes, 1.6 KB
    scenario = tmp_path / "lol.yaml"
    scenario.write_text(text, encoding="utf-8")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "&a9" in t)
    extra = {"validate": [], "run": ["-n", "16", "-q", "-o", tmp_path / "o.h5"],
             "calibrate": ["-q", "-o", tmp_path / "o.h5"]}[command]
    start = time.monotonic()
    proc = run_limited(brink, command, scenario, *extra)
    assert time.monotonic() - start < 10
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-500:])
    assert proc.stderr.count("\n") == 1, proc.stderr
    found = re.match(rf"{re.escape(str(scenario))}:{line}:\d+: the YAML aliases up to this one, '\*a(\d)' \(anchor "
                     rf"'&a\1' on line {line}, [\d,]+ nodes\), expand the document by more than 1,000,000 nodes",
                     proc.stderr)
    assert found, proc.stderr
    assert not list(tmp_path.glob("o.*"))


def test_an_alias_that_repeats_its_own_node_is_refused(run, toy, tmp_path):
    """`&x [*x]` is a cycle: a walk of it never ends (the posterior scenario's deep copy recursed
    until the stack overflowed)."""
    scenario = tmp_path / "cycle.yaml"
    scenario.write_text(toy.replace("{prior: exponential, rate: 2}", "{prior: exponential, rate: 2, note: &x [*x]}"),
                        encoding="utf-8")
    proc = run("validate", scenario)
    assert proc.returncode == 2 and "alias '*x' repeats anchor '&x'" in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1


@pytest.mark.parametrize("old,new,key", [
    ("    source: \"synthetic: 12 incidents in 40 steps\"\n",
     "    source: \"synthetic: 12 incidents in 40 steps\"\n    note: [a, list]\n", "observations.incidents_by_day_39.note"),
    ("{prior: exponential, rate: 2}", "{prior: exponential, rate: 2, note: {a: mapping}}",
     "calibrate.parameters.escalation.incidents.base_rate.note"),
    ("observations:", "events:\n  - {day: 50, actor: A, deploy: 10, note: [1, 2]}\nobservations:", "events.0.note"),
])
def test_a_note_is_text(run, toy, tmp_path, old, new, key):
    """docs/scenario-format.md gives every `note` the type text; a list or a mapping there was
    accepted and never read (nor bounded)."""
    assert old in toy
    text = toy.replace(old, new, 1).replace("horizon_days: 40", "horizon_days: 60")
    scenario = tmp_path / "note.yaml"
    scenario.write_text(text, encoding="utf-8")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "note:" in t)
    proc = run("validate", scenario)
    assert proc.returncode == 2, proc.stderr
    assert re.match(rf"{re.escape(str(scenario))}:{line}:\d+: '{re.escape(key)}' must be text, got a (list|mapping)\n$",
                    proc.stderr), proc.stderr


def comment_lines(text):
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def test_the_posterior_scenario_is_the_scenario_text_with_the_posterior_means(run, source_dir, tmp_path):
    """Every comment of the back-test (sources, 'assumption' marks) survives; the calibrated paths
    hold the posterior means and the calibration's --set values; the calibrate: block is commented
    out; and `brink run --posterior` runs it."""
    source = source_dir / "scenarios" / "backtest-2022.yaml"
    text = source.read_text(encoding="utf-8")
    out = tmp_path / "bt.h5"
    proc = run("calibrate", source, "-q", "-t", "2", "--particles", "60", "--generations", "2", "--replications",
               "4", "--set", "run.horizon_days=70", "-o", out, timeout=300)
    assert proc.returncode == 0, proc.stderr
    posterior_text = (tmp_path / "bt.posterior.yaml").read_text(encoding="utf-8")
    kept = comment_lines(posterior_text)
    missing = [c for c in comment_lines(text) if c not in kept]
    assert not missing, missing[:5]
    assert sum("assumption" in c for c in kept) >= sum("assumption" in c for c in comment_lines(text))
    posterior = yaml.safe_load(posterior_text)
    assert "calibrate" not in posterior
    assert any(c.startswith("# calibrate:") for c in kept)
    with h5py.File(out) as f:
        paths = [p.decode() for p in f["parameter"][()]]
        means = f["weights"][-1, :] @ f["particles"][-1, :, :]
    for path, mean in zip(paths, means):
        node = posterior
        for part in path.split("."):
            node = node[part]
        assert node == pytest.approx(mean, rel=1e-12), path
    assert posterior["run"]["horizon_days"] == 70
    proc = run("run", tmp_path / "bt.posterior.yaml", "--posterior", out, "-n", "256", "-q", "-t", "2",
               "-o", tmp_path / "p.h5", timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_the_posterior_scenario_keeps_aliases_unexpanded(run, toy, tmp_path):
    """Shared blocks stay shared when no calibrated path goes through them: the text is not
    re-emitted from a copy in which every alias was expanded."""
    text = toy.replace("  A:\n    forces: {deployed: 1000}\n  B:\n    forces: {deployed: 1000}\n",
                       "  A:\n    forces: &f {deployed: 1000}   # shared\n  B:\n    forces: *f\n")
    assert "*f" in text
    scenario = tmp_path / "shared.yaml"
    scenario.write_text(text, encoding="utf-8")
    proc = run("calibrate", scenario, "-q", "--particles", "40", "--generations", "2", "-o", tmp_path / "s.h5",
               timeout=300)
    assert proc.returncode == 0, proc.stderr
    posterior_text = (tmp_path / "s.posterior.yaml").read_text(encoding="utf-8")
    assert "forces: &f {deployed: 1000}   # shared\n" in posterior_text and "forces: *f\n" in posterior_text
    posterior = yaml.safe_load(posterior_text)
    assert posterior["actors"]["B"]["forces"] == {"deployed": 1000}
    with h5py.File(tmp_path / "s.h5") as f:
        mean = float(f["weights"][-1, :] @ f["particles"][-1, :, 0])
    assert posterior["escalation"]["incidents"]["base_rate"] == pytest.approx(mean, rel=1e-12)
    assert np.isfinite(mean)
