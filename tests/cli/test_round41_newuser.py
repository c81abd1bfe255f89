"""Round 41, the new user's findings (a Kargil 1999 model built from the docs alone).

M1: numbers that reach no replication as the file reads ('inert': a weight of a feature no action
of the menu has, a war cost without a war forecast or bargaining) and a commitment of a protector
without troops are noted by `brink validate` (one line each, file:line:col and path, exit 0) and
marked by `brink params`. M3: a `--posterior` run records its --set paths in `parameter`, as any
run does, so that files of one policy each compare by their levers. L1: `brink inspect` of a
posterior file prints the pooled table `brink run` printed. L3: error messages that say what to
write instead."""

import os
import re
import subprocess

import h5py
import numpy as np
import pytest


def _brink(brink, *args, timeout=300):
    return subprocess.run([brink, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def _minimal(source_dir, tmp_path, *edits):
    """docs/examples/minimal.yaml with (old, new) text replacements, each of which must apply once."""
    text = (source_dir / "docs" / "examples" / "minimal.yaml").read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_col(path, text):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number, line.index(text) + 1
    raise AssertionError(text)


def _notes(stderr):
    return {m.group(2): (m.group(1), m.group(3)) for m in
            re.finditer(r"^brink validate: note: \S+?:(\d+:\d+): '(\S+)' (.*)$", stderr, re.M)}


BLU_WEIGHTS = "weights: {security: 1.5, cost: 1.0, escalation: 1.0, issue_gain: 1.0, settlement: 1.0}"
BLU_DECISION = "      patience_days: 60\n"


def test_validate_notes_the_inert_numbers_one_line_each(brink, source_dir, tmp_path):
    """BLU (no attack, no retaliate) weighs credibility, and gives a war cost and a casualty cost without
    war_forecast or bargaining; PAT (no propose or concede) weighs issue_gain and settlement, and with its
    raise_readiness gone, security too. Each is noted at its place, and params marks it 'inert'; the
    weights an actor's menu can use are not. The old build noted none of them."""
    path = _minimal(source_dir, tmp_path,
                    (BLU_WEIGHTS, BLU_WEIGHTS.replace("settlement: 1.0}", "settlement: 1.0, credibility: 2.0}")),
                    (BLU_DECISION, BLU_DECISION + "      war_cost: 0.3\n      casualty_cost: 2\n"),
                    ("      raise_readiness: {amount: 5000, cost: 1.5}\n", ""))
    proc = _brink(brink, "validate", path)
    assert proc.returncode == 0 and proc.stdout.startswith(f"{path}: ok"), proc.stdout + proc.stderr
    notes = _notes(proc.stderr)
    expected = {"actors.BLU.decision.weights.credibility", "actors.BLU.decision.war_cost",
                "actors.BLU.decision.casualty_cost", "actors.PAT.decision.weights.security",
                "actors.PAT.decision.weights.issue_gain", "actors.PAT.decision.weights.settlement"}
    assert set(notes) == expected, proc.stderr
    line, col = _line_col(path, "war_cost: 0.3")
    assert notes["actors.BLU.decision.war_cost"][0] == f"{line}:{col + len('war_cost: ')}", notes
    assert "war_forecast" in notes["actors.BLU.decision.war_cost"][1], notes
    assert ("only 'attack' or 'retaliate' actions give the 'credibility' feature a value"
            in notes["actors.BLU.decision.weights.credibility"][1]), notes
    assert "'mobilize', 'raise_readiness', 'deploy' or 'withdraw'" in notes["actors.PAT.decision.weights.security"][1]
    params = _brink(brink, "params", path)
    kinds = {row.split()[0]: row.split()[-1] for row in params.stdout.splitlines()[1:-1]}
    for p in expected:
        assert kinds[p] == "inert", (p, kinds[p])
    for p in ("actors.BLU.decision.weights.security", "actors.PAT.decision.weights.credibility",
              "actors.BLU.decision.weights.issue_gain"):
        assert kinds[p] == "sweep", (p, kinds[p])
    # Inert, not refused: a --set of one is accepted (another value elsewhere can make it matter).
    proc = _brink(brink, "run", path, "-n", 256, "-q", "-o", tmp_path / "x.h5",
                  "--set", "actors.BLU.decision.war_cost=1")
    assert proc.returncode == 0, proc.stderr


def test_a_war_cost_that_a_war_forecast_or_bargaining_reads_is_not_noted(brink, source_dir, tmp_path):
    path = _minimal(source_dir, tmp_path,
                    ("      ready_weight: 0.5\n", "      ready_weight: 0.5\n      war_forecast: true\n"
                                                  "      war_cost: 0.2\n"))
    proc = _brink(brink, "validate", path)
    assert proc.returncode == 0, proc.stderr
    assert "actors.RED.decision.war_cost" not in _notes(proc.stderr), proc.stderr


def test_validate_says_what_a_commitment_of_a_protector_without_troops_does(brink, source_dir, tmp_path):
    """PAT with no troops at all (no reinforce event either): its commitment deters no one, and at 0.5 or
    more makes every war on BLU an alliance war; the note says so at the commitment's strength."""
    path = _minimal(source_dir, tmp_path,
                    ("    forces: {deployed: 2000, ready: 5000, reserve: 20000,",
                     "    forces: {deployed: 0, ready: 0, reserve: 0,"),
                    ("  - {day: 10, actor: PAT, reinforce: 3000, note: \"troops flown in from outside the theatre\"}\n",
                     ""))
    proc = _brink(brink, "validate", path)
    assert proc.returncode == 0, proc.stderr
    notes = _notes(proc.stderr)
    where, said = notes["relations.commitments.0.strength"]
    line, _ = _line_col(path, "{from: PAT, to: BLU, strength: 0.3")
    assert where.startswith(f"{line}:"), where
    assert "PAT has no troops" in said and "deters no attacker" in said and "alliance_war" in said, said
    assert "0.5" in said, said
    # With troops (the shipped example), no such note.
    proc = _brink(brink, "validate", source_dir / "docs" / "examples" / "minimal.yaml")
    assert "relations.commitments.0.strength" not in _notes(proc.stderr), proc.stderr


# --------------------------------------------------------------------------
# M3: a posterior run's --set paths are parameters of its file
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def calibration(brink, source_dir, tmp_path_factory):
    where = tmp_path_factory.mktemp("cal")
    scenario = where / "toy.yaml"
    scenario.write_text((source_dir / "scenarios" / "validation" / "calibrate-incidents.yaml").read_text(
        encoding="utf-8"), encoding="utf-8")
    out = where / "c.h5"
    proc = _brink(brink, "calibrate", scenario, "-q", "--particles", 30, "--generations", 2, "-o", out)
    assert proc.returncode == 0, proc.stderr
    return where / "c.posterior.yaml", out


@pytest.mark.parametrize("draws", [[], ["--posterior-draws", "3"]])
def test_a_posterior_run_records_its_set_paths_as_parameters(brink, calibration, tmp_path, draws):
    scenario, cal = calibration
    out = tmp_path / "p.h5"
    proc = _brink(brink, "run", scenario, "--posterior", cal, "-n", 600, *draws, "-q", "-o", out,
                  "--set", "actors.A.forces.deployed=2000", "--set", "run.random_numbers=common")
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out) as f:
        paths = [p.decode() for p in f["parameter"][()]]
        swept = f["parameter_swept"][()]
        values = f["parameter_value"][()]
        k = paths.index("actors.A.forces.deployed")
        assert swept[k] == 0 and np.all(values[:, k] == 2000), (paths, swept, values)
        assert "run.random_numbers" not in paths  # a run setting, as in an ordinary run
        if draws:  # the drawn parameter first, swept
            assert paths[0] == "escalation.incidents.base_rate" and swept[0] == 1, paths
        else:
            assert paths == ["actors.A.forces.deployed"], paths
        recipe = f["rerun_command"][0].decode()
    assert "--set actors.A.forces.deployed=2000" in recipe, recipe


def test_robustness_table_compares_posterior_files_of_one_policy_each(brink, calibration, tmp_path):
    """analysis.md's recipe under the posterior: one file per policy, the lever fixed by --set. The old
    build's files did not name the lever: ValueError "... is not a parameter of the data"."""
    ba = pytest.importorskip("brink_analysis")
    scenario, cal = calibration
    files = []
    for deployed in (1000, 3000):
        out = tmp_path / f"p{deployed}.h5"
        proc = _brink(brink, "run", scenario, "--posterior", cal, "-n", 512, "--posterior-draws", 4, "-q", "-o", out,
                      "--set", f"actors.A.forces.deployed={deployed}", "--set", "run.random_numbers=common")
        assert proc.returncode == 0, proc.stderr
        files.append(ba.open_results(out))
    table = ba.robustness_table(files, ["actors.A.forces.deployed"], "standoff")
    assert sorted(table["actors.A.forces.deployed"].tolist()) == [1000, 3000], table
    assert (table["states"] == 4).all(), table  # the draws, the same in both files


# --------------------------------------------------------------------------
# L1: inspect of a posterior file prints the pooled table
# --------------------------------------------------------------------------


def test_inspect_of_a_posterior_file_prints_the_pooled_table_run_printed(brink, calibration, tmp_path):
    scenario, cal = calibration
    out = tmp_path / "p.h5"
    proc = _brink(brink, "run", scenario, "--posterior", cal, "-n", 768, "--posterior-draws", 3, "-t", 1,
                  "-o", out)
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout[proc.stdout.index("3 points pooled"):proc.stdout.index("wrote ")]
    shown = _brink(brink, "inspect", out)
    assert shown.returncode == 0, shown.stderr
    assert table in shown.stdout, shown.stdout


# --------------------------------------------------------------------------
# L3: messages that say what to write instead
# --------------------------------------------------------------------------


def test_a_thousands_separator_in_block_style_gets_the_hint(brink, source_dir, tmp_path):
    path = _minimal(source_dir, tmp_path, ("    forces: {deployed: 40000, ready: 30000, reserve: 100000,\n"
                                           "             mobilization_rate: 1500, deployment_rate: 2000, "
                                           "deployed_cap: 100000}\n",
                                           "    forces:\n      deployed: 40,000\n      ready: 30000\n"
                                           "      reserve: 100000\n      mobilization_rate: 1500\n"
                                           "      deployment_rate: 2000\n      deployed_cap: 100000\n"))
    proc = _brink(brink, "validate", path)
    assert proc.returncode == 2, proc.stderr
    assert "a number with a thousands separator? write 40000" in proc.stderr, proc.stderr
    proc = _brink(brink, "run", source_dir / "docs" / "examples" / "minimal.yaml", "-q", "-o", tmp_path / "x.h5",
                  "--set", "actors.BLU.forces.deployed=1,000,000")
    assert proc.returncode == 2 and "write 1000000" in proc.stderr, proc.stderr


def test_a_percentage_gets_write_the_fraction(brink, source_dir, tmp_path):
    path = _minimal(source_dir, tmp_path, ("sanction: {target: RED, effect: 0.05,", "sanction: {target: RED, effect: 5%,"))
    proc = _brink(brink, "validate", path)
    assert proc.returncode == 2, proc.stderr
    assert "got '5%'" in proc.stderr and "a percentage? write the fraction, 0.05" in proc.stderr, proc.stderr


def test_a_retaliate_with_a_target_is_told_it_takes_none(brink, source_dir, tmp_path):
    path = _minimal(source_dir, tmp_path, ("retaliate: {rung: wider_war,", "retaliate: {target: BLU, rung: wider_war,"))
    proc = _brink(brink, "validate", path)
    assert proc.returncode == 2, proc.stderr
    line, col = _line_col(path, "target: BLU, rung: wider_war")
    assert f":{line}:{col + len('target: ')}: 'actors.PAT.actions.retaliate.target': a retaliate takes no target" \
        in proc.stderr, proc.stderr
    assert "did you mean" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_adaptive_replications_from_the_command_line_say_where_they_go(brink, source_dir, tmp_path):
    proc = _brink(brink, "run", source_dir / "docs" / "examples" / "minimal.yaml", "-q", "-o", tmp_path / "x.h5",
                  "--set", "run.replications.min=256")
    assert proc.returncode == 2, proc.stderr
    assert "can only be declared in the scenario file" in proc.stderr, proc.stderr
    assert "--set run.replications=N" in proc.stderr and "unknown parameter path" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("args", [
    ["--lever", "actors.BLU.forces.ready=20000,40000"],
    ["--design", "lhs", "--sweep", "actors.BLU.forces.ready=20000:40000"],
])
def test_sweep_messages_name_the_command_like_every_other(brink, source_dir, tmp_path, args):
    proc = _brink(brink, "run", source_dir / "docs" / "examples" / "minimal.yaml", "-q", "-o", tmp_path / "x.h5",
                  *args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("brink run: "), proc.stderr
