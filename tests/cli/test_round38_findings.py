"""Round 38 outside review, sweeps: a type's prior as an axis, --set or calibrated parameter (the
actor's other priors follow), and screening under independent random numbers warned of."""

import h5py
import numpy as np
import yaml

RESOLVED = "actors.RUS.types.resolved.prior"
COERCER = "actors.RUS.types.coercer.prior"


def test_a_swept_type_prior_draws_types_at_that_prior_and_the_other_follows(run, tmp_path):
    """Every sweep of one of two type priors was refused (the priors must sum to 1). Now the other
    prior is the complement at every point: with revealed types each replication's final belief is
    its drawn type, so the share of 'resolved' must be the swept prior within binomial error."""
    out = tmp_path / "priors.h5"
    n = 4000
    proc = run("run", "jan-2022-standoff", "-n", n, "-q", "-t", 2, "-o", out, "--set", "run.information=revealed",
               "--set", "run.horizon_days=2", "--design", "lhs", "--samples", 4, "--seed", 7,
               "--sweep", f"{RESOLVED}=0.05:0.95", timeout=120)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out) as f:
        actors = [a.decode() if isinstance(a, bytes) else str(a) for a in f["actor"][()]]
        rus = actors.index("RUS")
        swept = f["parameter_value"][:, 0]
        prior = f["type_prior"][:, rus, :2]
        drawn = f["final_belief"][:, :, rus, :2].astype(float)
    assert len(np.unique(swept)) == 4
    np.testing.assert_array_equal(prior[:, 0], swept)
    np.testing.assert_allclose(prior[:, 1], 1 - swept, rtol=0, atol=1e-15)
    assert set(np.unique(drawn)) <= {0.0, 1.0} and (drawn.sum(axis=2) == 1).all()
    share = drawn[:, :, 0].mean(axis=1)
    z = (share - swept) / np.sqrt(swept * (1 - swept) / n)
    assert (np.abs(z) < 4.5).all(), (share, swept)


def test_priors_varied_together_keep_their_values_and_must_then_sum_to_one(run, tmp_path):
    """Both priors of a two-type actor given with --set keep their values (nothing is left to rescale), so
    they must sum to 1; a --set of one and a sweep of the other leave the swept one no partner either."""
    ok = run("run", "jan-2022-standoff", "-n", 10, "-q", "-o", tmp_path / "ok.h5", "--set", f"{RESOLVED}=0.3",
             "--set", f"{COERCER}=0.7")
    assert ok.returncode == 0, ok.stderr
    with h5py.File(tmp_path / "ok.h5") as f:
        actors = [a.decode() if isinstance(a, bytes) else str(a) for a in f["actor"][()]]
        assert list(f["type_prior"][0, actors.index("RUS"), :2]) == [0.3, 0.7]
    for extra in (["--set", f"{RESOLVED}=0.3", "--set", f"{COERCER}=0.6"],
                  ["--set", f"{COERCER}=0.4", "--sweep", f"{RESOLVED}=0.1:0.9", "--design", "lhs", "--samples", 4]):
        out = tmp_path / "both.h5"
        proc = run("run", "jan-2022-standoff", "-n", 10, "-q", "-o", out, *extra)
        assert proc.returncode == 2, (extra, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "actors.RUS.types" in lines[0] and "sum to" in lines[0], (extra, proc.stderr)
        assert not out.exists() and not (tmp_path / "both.h5.partial").exists()


def test_a_calibrated_type_prior_writes_a_posterior_scenario_whose_priors_sum_to_one(run, source_dir, tmp_path):
    """The posterior scenario held the calibrated prior's mean and the file's other prior, whose sum
    broke the scenario's own rule; the other prior is now written as its complement."""
    text = (source_dir / "scenarios" / "backtest-2022.yaml").read_text(encoding="utf-8")
    line = "    actors.RUS.types.resolved.weights.war_gain: {prior: uniform, min: 0.5, max: 4}"
    assert line in text
    scenario = tmp_path / "prior.yaml"
    scenario.write_text(text.replace(line, f"    {RESOLVED}: {{prior: uniform, min: 0.1, max: 0.9}}"), encoding="utf-8")
    out = tmp_path / "cal.h5"
    proc = run("calibrate", scenario, "--particles", 24, "--generations", 2, "--replications", 2, "-q", "-t", 1,
               "-o", out, timeout=120)
    assert proc.returncode == 0, proc.stderr
    posterior = tmp_path / "cal.posterior.yaml"
    assert run("validate", posterior).returncode == 0
    types = yaml.safe_load(posterior.read_text(encoding="utf-8"))["actors"]["RUS"]["types"]
    with h5py.File(out) as f:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["parameter"][()]]
        particles, weights = f["particles"][-1][:, names.index(RESOLVED)], f["weights"][-1]
    mean = float(np.sum(weights * particles) / np.sum(weights))
    assert abs(types["resolved"]["prior"] - mean) < 1e-12 and mean != 0.5
    assert abs(types["resolved"]["prior"] + types["coercer"]["prior"] - 1) < 1e-12, types
    # The posterior run gives each replication its drawn prior, the other following it.
    pred = tmp_path / "pred.h5"
    proc = run("run", posterior, "--posterior", out, "-n", 256, "-q", "-o", pred)
    assert proc.returncode == 0, proc.stderr


def test_screening_under_independent_random_numbers_is_warned_of(run, tmp_path):
    """A parameter the model never reads got a total index of 0.3 [0.25, 0.37] under independent random
    numbers, with nothing said (docs/sweeps.md, "Monte Carlo noise"); common random numbers give 0."""
    axes = ["--sweep", "actors.RUS.decision.patience_days=10:90", "--sweep", "actors.UKR.forces.reserve=0:1000"]
    cases = {("--sensitivity", "--design", "sobol"): "Sobol' indices", ("--design", "morris"): "Morris"}
    for design, named in cases.items():
        for numbers in ("independent", "common"):
            out = tmp_path / f"{design[-1]}-{numbers}.h5"
            proc = run("run", "jan-2022-standoff", "-n", 8, "--summary-only", "-q", "-t", 1, "-o", out, *design,
                       "--samples", 4, *axes, "--set", f"run.random_numbers={numbers}", "--set",
                       "run.horizon_days=5", timeout=120)
            assert proc.returncode == 0, proc.stderr
            warned = [line for line in proc.stderr.splitlines() if "independent random numbers" in line]
            if numbers == "common":
                assert not warned, proc.stderr
            else:
                assert len(warned) == 1 and named in warned[0] and "run.random_numbers=common" in warned[0], proc.stderr


def test_a_partial_or_shard_of_another_build_is_not_continued_or_merged(run, brink, tmp_path):
    """engine_version (0.2.0) is the same for every build, so --resume and merge took files of a build
    whose model differs. Files now record engine_fingerprint, and both compare it with their own."""
    import os
    import subprocess

    other = {**os.environ, "BRINK_TEST_ENGINE_FINGERPRINT": "another-build"}
    out = tmp_path / "r.h5"
    args = [str(brink), "run", "jan-2022-standoff", "-n", "3000", "-q", "-t", "1", "-o", str(out)]
    killed = subprocess.run(args, env={**other, "BRINK_TEST_KILL_AFTER_BLOCKS": "3"}, capture_output=True, timeout=60)
    assert killed.returncode != 0 and (tmp_path / "r.h5.partial").exists()
    with h5py.File(tmp_path / "r.h5.partial", "r", swmr=True) as f:
        assert f.attrs["engine_fingerprint"] in (b"another-build", "another-build")
    proc = run(*args[1:], "--resume")
    assert proc.returncode == 2 and "the brink build" in proc.stderr, proc.stderr
    assert not out.exists()
    # The same partial resumed by the build that wrote it finishes.
    assert subprocess.run([*args, "--resume"], env=other, capture_output=True, timeout=60).returncode == 0
    # Shards: one of another build is refused, naming it; those of one build merge.
    shards = []
    for i in range(2):
        shards.append(tmp_path / f"s{i}.h5")
        shard = [str(brink), "run", "jan-2022-standoff", "-n", "200", "-q", "-t", "1", "--sweep",
                 "actors.RUS.decision.patience_days=10,20,30", "--shard", f"{i}/2", "-o", str(shards[-1])]
        assert subprocess.run(shard, env=other if i == 1 else os.environ, capture_output=True,
                              timeout=60).returncode == 0
    proc = run("merge", tmp_path / "m.h5", *shards)
    assert proc.returncode == 2 and "the brink build" in proc.stderr, proc.stderr
    assert not (tmp_path / "m.h5").exists()
    with h5py.File(shards[0]) as f:
        fingerprint = f.attrs["engine_fingerprint"]
    fingerprint = fingerprint.decode() if isinstance(fingerprint, bytes) else str(fingerprint)
    version = run("--version").stdout
    assert fingerprint and f"engine sources {fingerprint}" in version, (fingerprint, version)


def test_a_calibration_of_another_build_is_not_resumed(run, brink, tmp_path):
    import os
    import subprocess

    out = tmp_path / "c.h5"
    args = [str(brink), "calibrate", "backtest-2022", "--particles", "16", "--replications", "2", "-q", "-t", "1",
            "-o", str(out)]
    other = {**os.environ, "BRINK_TEST_ENGINE_FINGERPRINT": "another-build"}
    assert subprocess.run([*args, "--generations", "1"], env=other, capture_output=True, timeout=60).returncode == 0
    os.replace(out, tmp_path / "c.h5.partial")  # a finished generation 0, as an interrupted run leaves it
    os.remove(tmp_path / "c.posterior.yaml")
    proc = run(*args[1:], "--generations", 2, "--resume")
    assert proc.returncode == 2 and "another brink build" in proc.stderr, proc.stderr
    assert not out.exists()
