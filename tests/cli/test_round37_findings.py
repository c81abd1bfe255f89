"""Round 37 outside review, a new analyst's first week: a sweep, --set or
calibrated parameter that reaches no replication, and a misspelled required
key reported as missing."""

import h5py


def test_a_weight_every_type_gives_itself_is_refused_as_an_axis_or_set(run, flagship_path, tmp_path):
    """Both Russian types of the flagship give their own war_gain, so the actor's war_gain reaches no
    replication: a sweep over it ran three bit-identical points and a --set changed nothing, silently.
    Both are refused now, naming the types and the paths that do reach them; a type's own weight runs."""
    scenario = flagship_path
    text = scenario.read_text(encoding="utf-8")  # both Russian types give their own war_gain
    assert "weights: {security: 1.5, war_gain: 2.6" in text and "weights: {security: 0.8, war_gain: 1.2" in text
    dead = "actors.RUS.decision.weights.war_gain"
    reason = (f"'{dead}' reaches no replication: every type of RUS (resolved, coercer) gives its own 'war_gain'")
    for option in (["--sweep", f"{dead}=0,1.5,10"], ["--set", f"{dead}=3"]):
        proc = run("run", scenario, "-n", 64, "-q", "-o", tmp_path / "x.h5", *option)
        assert proc.returncode == 2 and reason in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "actors.RUS.types.TYPE.weights.war_gain" in proc.stderr
        assert not list(tmp_path.glob("x.h5*"))
    # A type's own weight reaches its lanes, and a weight the types leave to the actor reaches them.
    proc = run("run", scenario, "-n", 64, "-q", "-t", 1, "-o", tmp_path / "live.h5", "--sweep",
               "actors.RUS.types.resolved.weights.war_gain=0.5,4", "--set", "actors.RUS.decision.weights.cost=1.2")
    assert proc.returncode == 0, proc.stderr
    with h5py.File(tmp_path / "live.h5") as f:
        assert f["outcome_code"].shape[0] == 2


def test_a_calibrated_weight_that_reaches_no_replication_is_warned_of(run, source_dir, tmp_path):
    """The back-test calibrated such a weight until round 38 (both Russian types set their own
    war_gain): the calibration says its posterior can only be its prior."""
    shipped = (source_dir / "scenarios" / "backtest-2022.yaml").read_text(encoding="utf-8")
    reached = "    actors.RUS.types.resolved.weights.war_gain: {prior: uniform, min: 0.5, max: 4}"
    assert reached in shipped
    dead = tmp_path / "dead.yaml"
    dead.write_text(shipped.replace(reached, reached.replace("types.resolved", "decision")), encoding="utf-8")
    proc = run("calibrate", dead, "--particles", 20, "--generations", 1, "--replications", 1, "-q",
               "-t", 1, "-o", tmp_path / "dead.h5")
    assert proc.returncode == 0, proc.stderr
    assert ("calibrated parameter 'actors.RUS.decision.weights.war_gain' reaches no replication" in proc.stderr
            and "its posterior can only be its prior" in proc.stderr), proc.stderr
    # Round 39: the posterior scenario's header listed it as a --set, which --set refuses.
    header = [line for line in (tmp_path / "dead.posterior.yaml").read_text().splitlines() if line.startswith("#")]
    line = next(line for line in header if "actors.RUS.decision.weights.war_gain=" in line)
    assert "--set" not in line.split("#")[1] and "reaches no replication" in line and "--set refuses it" in line, line
    assert any(line.startswith("#   --set ") for line in header), "the reached parameters keep their --set lines"


def test_the_shipped_back_test_calibrates_only_parameters_that_reach_a_replication(run, tmp_path):
    """Round 37 found the back-test calibrating the actor's war-gain weight, which no replication
    reads; it now calibrates the resolved type's, and the calibration warns of nothing unreached."""
    proc = run("calibrate", "backtest-2022", "--particles", 20, "--generations", 1, "--replications", 1,
               "-q", "-t", 1, "-o", tmp_path / "bt.h5")
    assert proc.returncode == 0, proc.stderr
    assert "reaches no replication" not in proc.stderr, proc.stderr
    with h5py.File(tmp_path / "bt.h5") as f:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["parameter"][()]]
    assert "actors.RUS.types.resolved.weights.war_gain" in names, names


def test_a_misspelled_required_key_is_reported_missing_not_malformed(run, flagship_path, tmp_path):
    """`rung:` for `rungs:` gave the unknown-key error and then "'escalation.rungs' must be a list of
    four to 100 rung names" at the misspelled key, as if a malformed value were there."""
    text = flagship_path.read_text(encoding="utf-8")
    assert "\n  rungs:" in text
    bad = tmp_path / "typo.yaml"
    bad.write_text(text.replace("\n  rungs:", "\n  rung:", 1), encoding="utf-8")
    proc = run("validate", bad)
    assert proc.returncode == 2
    assert "unknown key 'rung' in 'escalation'; did you mean 'rungs'?" in proc.stderr, proc.stderr
    assert "missing required key 'rungs' in 'escalation'" in proc.stderr and "must be a list" not in proc.stderr
