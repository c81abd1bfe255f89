"""`brink run` under a real `mpirun` (Open MPI): the file of any rank and
thread count is the file of one thread, bit for bit; signals and killed ranks
leave a clean `.partial` that `--resume` finishes to the same bits; errors are
printed once, by rank 0, with the usual exit codes.

Skipped, with a message, only when the binary says "MPI: no". The comparison
helpers are those of the thread-count identity tests (tests/sweep/test_sweeps.py).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sweep"))
from test_sweeps import (  # noqa: E402  (the path above must come first)
    ADAPTIVE_AXES, MIXED_AXES, SHARED_AXES, assert_same_files, scenario_text, set_run_field, sweep_block, write)

BRINK = os.environ.get("BRINK")
TIMEOUT_S = 120
# Root in a container, more ranks than cores on CI: what Open MPI needs to start at all.
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1"}
# Attributes that record how a run was invoked, not what it computed.
INVOCATION = ("command_line", "scenario_source")


def version():
    if not BRINK:
        pytest.fail("environment variable BRINK is not set; it must hold the path of the brink binary "
                    "(ctest sets it; by hand: BRINK=$PWD/build/release/brink)", pytrace=False)
    return subprocess.run([BRINK, "--version"], capture_output=True, text=True, timeout=30).stdout


@pytest.fixture(scope="module")
def mpirun():
    if "MPI: no" in version():
        pytest.skip("this brink is built without MPI ('MPI: no' in brink --version)")
    path = shutil.which("mpirun")
    assert path, "brink is built with MPI but mpirun is not on PATH (Debian: openmpi-bin)"
    return path


SUPPRESSIONS = Path(__file__).resolve().parent / "asan.supp"


def env():
    """The test's environment for mpirun. For an ASan build of brink, Open MPI's own
    allocations kept until exit are suppressed (asan.supp); brink's never are."""
    sanitizer = {
        "ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "fast_unwind_on_malloc=0"])),
        "LSAN_OPTIONS": ":".join(filter(None, [os.environ.get("LSAN_OPTIONS"), f"suppressions={SUPPRESSIONS}"])),
    }
    return {**os.environ, **MPI_ENV, **sanitizer}


def mpi_cmd(mpirun, ranks, *args):
    return [mpirun, "-np", str(ranks), BRINK, *[str(a) for a in args]]


def run_mpi(mpirun, ranks, *args, timeout=TIMEOUT_S):
    return subprocess.run(mpi_cmd(mpirun, ranks, *args), capture_output=True, text=True, env=env(),
                          timeout=timeout)


def run_plain(*args, timeout=TIMEOUT_S):
    return subprocess.run([BRINK, *[str(a) for a in args]], capture_output=True, text=True, timeout=timeout)


def ok(proc):
    assert proc.returncode == 0, f"{proc.args}\nexit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


# --------------------------------------------------------------------------
# The build reports MPI; a run without a launcher never starts it
# --------------------------------------------------------------------------


def test_version_names_the_mpi_library(mpirun):
    assert re.search(r"^MPI: Open MPI \d+\.\d+\.\d+$", version(), re.M), version()


def test_one_rank_under_mpirun_equals_a_plain_run(mpirun, tmp_path):
    scenario = write(tmp_path, "s.yaml", scenario_text(replications=600))
    plain = tmp_path / "plain.h5"
    ok(run_plain("run", scenario, "-q", "-t", 1, "-o", plain))
    one = tmp_path / "np1.h5"
    ok(run_mpi(mpirun, 1, "run", scenario, "-q", "-t", 2, "-o", one))
    assert_same_files(plain, one, ignore_attrs=INVOCATION)


# --------------------------------------------------------------------------
# The same bits for any ranks x threads
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flagship(tmp_path_factory):
    d = tmp_path_factory.mktemp("flagship")
    # 1,800 replications: seven whole blocks and a short one, so five ranks all get work.
    scenario = write(d, "s.yaml", scenario_text(replications=1800))
    reference = d / "ref.h5"
    ok(run_plain("run", scenario, "-q", "-t", 1, "--timeseries", "every=15", "-o", reference))
    return scenario, reference


@pytest.mark.parametrize("ranks,threads", [(2, 1), (3, 1), (5, 1), (2, 2)])
def test_flagship_is_identical_for_any_ranks_and_threads(mpirun, flagship, tmp_path, ranks, threads):
    scenario, reference = flagship
    out = tmp_path / f"np{ranks}t{threads}.h5"
    proc = ok(run_mpi(mpirun, ranks, "run", scenario, "-t", threads, "--timeseries", "every=15", "--no-table",
                      "-o", out))
    assert_same_files(reference, out, ignore_attrs=INVOCATION)
    # Rank 0 alone prints: one header, one final line.
    assert proc.stdout.count("wrote ") == 1 and proc.stdout.count("scenario ") == 1, proc.stdout


def test_every_rank_runs_the_path_rank_0_chose(mpirun, flagship, tmp_path):
    runs = re.search(r"^kernel paths this CPU runs: (.*)$", version(), re.M).group(1)
    if "avx512" not in runs:
        pytest.skip("the CPU runs only the avx2 path: nothing to choose between")
    # The paths differ in the last bits (tests/cli/test_isa.py), so a rank that
    # ran its own default (avx512) instead of rank 0's avx2 would show here.
    scenario, _ = flagship
    reference = tmp_path / "avx2.h5"
    ok(run_plain("run", scenario, "-q", "-t", 1, "--isa", "avx2", "-o", reference))
    out = tmp_path / "np3.h5"
    ok(run_mpi(mpirun, 3, "run", scenario, "-q", "-t", 1, "--isa", "avx2", "-o", out))
    assert_same_files(reference, out, ignore_attrs=INVOCATION)
    with h5py.File(out, "r") as f:
        assert f.attrs["target_isa"] in (b"avx2", "avx2")


def test_adaptive_sweep_is_identical_under_mpi(mpirun, tmp_path):
    rule = {"min": 256, "max": 2048, "ci_halfwidth": 0.03}
    scenario = write(tmp_path, "a.yaml", scenario_text(replications=rule, sweep=sweep_block(ADAPTIVE_AXES)))
    reference = tmp_path / "ref.h5"
    ok(run_plain("run", scenario, "-q", "-t", 1, "-o", reference))
    out = tmp_path / "np3.h5"
    ok(run_mpi(mpirun, 3, "run", scenario, "-q", "-t", 1, "-o", out))
    assert_same_files(reference, out, ignore_attrs=INVOCATION)
    with h5py.File(out, "r") as f:
        reps = f["replications"][()]
    assert reps.max() > 256 and reps.min() < reps.max(), f"not adaptive: {reps}"


@pytest.mark.parametrize("axes", [SHARED_AXES, MIXED_AXES], ids=["per-lane", "mixed"])
def test_points_sharing_blocks_are_identical_under_mpi(mpirun, tmp_path, axes):
    """Every rank runs points of few replications several to a block (docs/sweeps.md)."""
    scenario = write(tmp_path, "p.yaml", scenario_text(replications=2, sweep=sweep_block(axes)))
    reference = tmp_path / "ref.h5"
    proc = subprocess.run([BRINK, "run", scenario, "-q", "-t", "1", "-o", reference], capture_output=True,
                          text=True, timeout=TIMEOUT_S, env={**os.environ, "BRINK_TEST_ONE_BLOCK_PER_POINT": "1"})
    ok(proc)
    out = tmp_path / "np3.h5"
    ok(run_mpi(mpirun, 3, "run", scenario, "-q", "-t", 2, "-o", out))
    assert_same_files(reference, out, ignore_attrs=INVOCATION)


def test_chunk_groups_of_points_are_handed_out_whole_under_mpi(mpirun, tmp_path):
    """Points of 4 replications share blocks and chunks 15 at a time (at most 64 to a block, and a sweep
    has at least 32 groups; docs/output.md): rank 0 hands each group to one rank whole, which simulates
    and encodes it as one block."""
    axes = {"actors.RUS.decision.rationality": {"min": 0.5, "max": 3.0},
            "actors.UKR.forces.deployed": {"min": 120000, "max": 240000}}
    points = 450
    scenario = write(tmp_path, "g.yaml", scenario_text(replications=4, horizon_days=30,
                                                       sweep=sweep_block(axes, design="lhs", samples=points)))
    reference = tmp_path / "ref.h5"
    ok(run_plain("run", scenario, "-q", "-t", 1, "-o", reference))
    out = tmp_path / "np3.h5"
    proc = subprocess.run(mpi_cmd(mpirun, 3, "run", scenario, "-q", "-t", 1, "-o", out), capture_output=True,
                          text=True, env={**env(), "BRINK_MPI_TIMING": "1"}, timeout=TIMEOUT_S)
    ok(proc)
    received = re.search(r"received (\d+) from other ranks", proc.stderr)
    assert received and int(received.group(1)) >= 15, proc.stderr  # at least a group ran elsewhere
    assert_same_files(reference, out, ignore_attrs=INVOCATION)
    with h5py.File(out, "r") as f:
        assert f["outcome_code"].chunks == (15, 4) and f["outcome_code"].id.get_num_chunks() == points // 15


def test_sensitivity_design_with_common_random_numbers_is_identical_under_mpi(mpirun, tmp_path):
    axes = {"actors.RUS.decision.patience_days": {"min": 10, "max": 90},
            "actors.RUS.forces.deployed": {"min": 80000, "max": 160000}}
    sweep = sweep_block(axes, design="sobol", samples=4, sensitivity=True, random_numbers="common")
    scenario = write(tmp_path, "s.yaml", scenario_text(replications=256, sweep=sweep))
    reference = tmp_path / "ref.h5"
    ok(run_plain("run", scenario, "-q", "-t", 1, "-o", reference))
    out = tmp_path / "np3.h5"
    ok(run_mpi(mpirun, 3, "run", scenario, "-q", "-t", 1, "-o", out))
    assert_same_files(reference, out, ignore_attrs=INVOCATION)
    with h5py.File(out, "r") as f:
        assert "sensitivity_first" in f and f["replications"].shape == (4 * (2 + 2),), sorted(f)


def test_levers_morris_and_shard_options_reach_every_rank(mpirun, tmp_path):
    """Options beyond --sweep (levers of a mixed design, Morris, --shard) are part of the job every
    rank rebuilds its plan from: a rank that dropped one would build another plan and stop the job."""
    scenario = write(tmp_path, "s.yaml", scenario_text(replications=256))
    mixed = ["--lever", "actors.USA.forces.ready=8500,50000", "--sweep", "actors.RUS.decision.patience_days=10:90",
             "--design", "lhs", "--samples", 2]
    morris = ["--sweep", "actors.RUS.decision.patience_days=10:90", "--sweep", "actors.RUS.forces.deployed=80000:160000",
              "--design", "morris", "--samples", 4]
    for name, options in (("mixed", mixed), ("morris", morris)):
        reference = tmp_path / f"{name}-ref.h5"
        ok(run_plain("run", scenario, "-q", "-t", 1, *options, "-o", reference))
        out = tmp_path / f"{name}-np3.h5"
        ok(run_mpi(mpirun, 3, "run", scenario, "-q", "-t", 1, *options, "-o", out))
        assert_same_files(reference, out, ignore_attrs=INVOCATION)
    shards = []
    for i in range(2):
        shards.append(tmp_path / f"shard{i}.h5")
        ok(run_mpi(mpirun, 2, "run", scenario, "-q", "-t", 1, *mixed, "--shard", f"{i}/2", "-o", shards[-1]))
    merged = tmp_path / "merged.h5"
    ok(run_plain("merge", merged, *shards, "-q"))
    assert_same_files(tmp_path / "mixed-ref.h5", merged, ignore_attrs=INVOCATION)
    # A merge under a launcher is rank 0's alone: the others would race it for the same file.
    for extra in ([], ["--overwrite"]):
        launched = tmp_path / "merged-np3.h5"
        proc = ok(run_mpi(mpirun, 3, "merge", launched, *shards, *extra))
        assert proc.stdout.count("merged 2 shards") == 1 and proc.stderr == "", proc.stderr
        assert not Path(f"{launched}.partial").exists()
        assert_same_files(tmp_path / "mixed-ref.h5", launched, ignore_attrs=INVOCATION)


def test_one_process_commands_speak_once_under_a_launcher(mpirun, tmp_path):
    """validate, inspect, scenarios and params are one process's work: under mpirun rank 0 answers
    and the other ranks stay silent, and a refusal is one sentence with rank 0's exit code 2."""
    scenario = write(tmp_path, "s.yaml", scenario_text(replications=64))
    out = tmp_path / "r.h5"
    ok(run_plain("run", scenario, "-q", "-t", 1, "-o", out))
    for args, marker in ((["validate", scenario], "ok"), (["inspect", out], "attributes:"),
                         (["scenarios"], "jan-2022-standoff"), (["params", scenario], "actors.")):
        alone = ok(run_plain(*args))
        launched = ok(run_mpi(mpirun, 3, *args))
        assert marker in alone.stdout
        # What one process says (validate's notes included), once: the other ranks stay silent.
        assert launched.stdout == alone.stdout and launched.stderr == alone.stderr, (args, launched.stdout[:400],
                                                                                   launched.stderr)
    broken = write(tmp_path, "broken.yaml", scenario_text(replications=64).replace("brink: 1", "brink: 7"))
    alone = run_plain("validate", broken)
    launched = run_mpi(mpirun, 3, "validate", broken)
    assert alone.returncode == 2 and launched.returncode == 2, (alone.stderr, launched.stderr)
    assert launched.stderr.count("broken.yaml") == alone.stderr.count("broken.yaml") == 1, launched.stderr


def test_posterior_run_with_a_draw_per_replication_is_identical_under_mpi(mpirun, tmp_path):
    """Each rank rebuilds the replications' parameter draws from the calibration file and packs them
    into its blocks itself: the file must equal a one-thread run's."""
    toy = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
    toy = toy / "scenarios" / "validation" / "calibrate-incidents.yaml"
    calibration = tmp_path / "toy.h5"
    ok(run_plain("calibrate", toy, "-q", "--particles", 200, "--generations", 3, "-o", calibration))
    posterior = ["--posterior", calibration, "-n", 2000]
    reference = tmp_path / "ref.h5"
    ok(run_plain("run", tmp_path / "toy.posterior.yaml", "-q", "-t", 1, *posterior, "-o", reference))
    out = tmp_path / "np3.h5"
    ok(run_mpi(mpirun, 3, "run", tmp_path / "toy.posterior.yaml", "-q", "-t", 1, *posterior, "-o", out))
    assert_same_files(reference, out, ignore_attrs=INVOCATION)
    with h5py.File(out, "r") as f:
        assert f["escalation_incidents_base_rate"].shape == (1, 2000)


SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
CALIBRATION_ATTRS = INVOCATION + ("seconds",)


@pytest.mark.parametrize("case", ["packed", "weights", "unpacked"])
def test_calibration_under_mpi_equals_one_process(mpirun, tmp_path, case):
    """The ranks share each batch of candidates and sum the statistics: every dataset equals a
    one-thread calibration's, whether particles pack into blocks (per-lane fields, decision
    weights) or run one per block (a field that is not per-lane)."""
    if case == "weights":
        scenario, options = SOURCE / "scenarios" / "backtest-2022.yaml", ["--particles", 96, "--replications", 8]
    else:
        scenario, options = SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml", ["--particles", 150]
    if case == "unpacked":  # decision.patience_days is read as one value per block
        text = scenario.read_text().replace(
            "    escalation.incidents.base_rate: {prior: exponential, rate: 2}",
            "    escalation.incidents.base_rate: {prior: exponential, rate: 2}\n"
            "    actors.A.decision.patience_days: {prior: uniform, min: 5, max: 50}")
        assert "patience_days: {prior" in text
        scenario = write(tmp_path, "unpacked.yaml", text)
        options = ["--particles", 100]
    options += ["--generations", 3, "-q"]
    reference = tmp_path / "ref.h5"
    ok(run_plain("calibrate", scenario, *options, "-t", 1, "-o", reference))
    out = tmp_path / "np3.h5"
    ok(run_mpi(mpirun, 3, "calibrate", scenario, *options, "-t", 1, "-o", out))
    assert_same_files(reference, out, ignore_attrs=CALIBRATION_ATTRS)
    assert (tmp_path / "np3.posterior.yaml").read_text().split("\n", 1)[1] == \
        (tmp_path / "ref.posterior.yaml").read_text().split("\n", 1)[1].replace("ref.h5", "np3.h5").replace(
            "ref.posterior.yaml", "np3.posterior.yaml")  # the header names both in the forecast's command
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("np3")) == ["np3.h5", "np3.posterior.yaml"]


def test_calibration_under_mpi_resumes_and_refuses_once(mpirun, tmp_path):
    toy = SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml"
    options = ["--particles", 120, "-q", "-t", 1]
    reference = tmp_path / "ref.h5"
    ok(run_plain("calibrate", toy, *options, "--generations", 4, "-o", reference))
    # Two generations under 2 ranks, kept as a partial file (as after a kill), then resumed to four under 3.
    out = tmp_path / "out.h5"
    ok(run_mpi(mpirun, 2, "calibrate", toy, *options, "--generations", 2, "-o", out))
    out.rename(tmp_path / "out.h5.partial")
    (tmp_path / "out.posterior.yaml").unlink()  # a killed calibration has written none
    refused = run_mpi(mpirun, 3, "calibrate", toy, *options, "--generations", 4, "-o", out)
    assert refused.returncode == 2 and refused.stderr.count("--resume") == 1, refused.stderr
    ok(run_mpi(mpirun, 3, "calibrate", toy, *options, "--generations", 4, "--resume", "-o", out))
    assert_same_files(reference, out, ignore_attrs=CALIBRATION_ATTRS + ("lane_steps",))
    bad = run_mpi(mpirun, 3, "calibrate", toy, "--particles", "x", "-o", tmp_path / "bad.h5")
    assert bad.returncode == 2 and bad.stderr.count("--particles must be a whole number") == 1, bad.stderr


def test_a_calibration_warning_is_printed_by_rank_0_alone(mpirun, tmp_path):
    """A quantile observation at fewer than 64 replications is warned on stderr (even with -q):
    once, by rank 0, not once per rank."""
    toy = (SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml").read_text()
    scenario = tmp_path / "q.yaml"
    scenario.write_text(toy.replace("    sd: 1\n", "    sd: 1\n    quantile: 0.9\n", 1), encoding="utf-8")
    proc = ok(run_mpi(mpirun, 3, "calibrate", scenario, "--particles", 60, "--generations", 2, "--replications", 4,
                      "-q", "-t", 1, "-o", tmp_path / "q.h5"))
    assert proc.stderr.count("brink calibrate: warning: observation 'incidents_by_day_39' (the 0.9 quantile)") == 1
    assert proc.stderr.count("\n") == 1, proc.stderr


def mpmd(mpirun, first_dir, rest_dir, *args, ranks=3):
    """Rank 0 in `first_dir`, the others in `rest_dir`: as on nodes that do not see the same files."""
    args = [str(a) for a in args]
    return subprocess.run([mpirun, "-np", "1", "-wdir", str(first_dir), BRINK, *args, ":",
                           "-np", str(ranks - 1), "-wdir", str(rest_dir), BRINK, *args],
                          capture_output=True, text=True, env=env(), timeout=TIMEOUT_S)


@pytest.mark.parametrize("case", ["scenario missing", "scenario differs", "partial missing"])
def test_calibration_ranks_that_read_other_files_stop_every_rank_with_one_sentence(mpirun, tmp_path, case):
    """Every rank of a calibration reads the scenario and any partial file. A rank that cannot
    (it waited in no collective: the others hung in theirs), or reads other ones than rank 0
    (it simulated other candidates, summed into a file that looked valid, or crashed when
    generations differed), stops the job before anything runs."""
    toy = (SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml").read_text()
    first, rest = tmp_path / "node0", tmp_path / "node1"
    first.mkdir(), rest.mkdir()
    (first / "s.yaml").write_text(toy)
    if case == "scenario differs":
        (rest / "s.yaml").write_text(toy.replace("seed: 7", "seed: 8"))
    elif case == "partial missing":
        (rest / "s.yaml").write_text(toy)
    options = ["--particles", 100, "--generations", 3, "-q", "-t", 1]
    out = tmp_path / "out.h5"
    if case == "partial missing":  # only rank 0 sees the partial file it resumes: one command line, two folders
        out = first / "out.h5"
        ok(run_plain("calibrate", first / "s.yaml", "--particles", 100, "--generations", 2, "-q", "-o", out))
        out.rename(first / "out.h5.partial")
        (first / "out.posterior.yaml").unlink()
        proc = mpmd(mpirun, first, rest, "calibrate", "s.yaml", *options, "--resume", "-o", "out.h5")
    else:
        proc = mpmd(mpirun, first, rest, "calibrate", "s.yaml", *options, "-o", out)
    expected = "could not set up" if case == "scenario missing" else "read another scenario"
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count(f"MPI rank 1 {expected}") == 1, proc.stderr
    assert "double free" not in proc.stderr and "MPI_Allreduce failed" not in proc.stderr, proc.stderr
    assert not out.exists()
    if case == "partial missing":
        assert (first / "out.h5.partial").exists()


def test_a_rank_that_reads_other_choice_texts_stops_the_run_with_one_sentence(mpirun, tmp_path):
    """Every rank reads the files of `--sweep scenario=...` itself. A rank whose copies differ from
    rank 0's in an edit that every choice shares builds the same points (the field differs between no
    choices), but another model: it simulated its blocks with it, and the job exited 0 with a file
    whose recorded choice texts were rank 0's. The plan's fingerprint covers the choices' texts."""
    first, rest = tmp_path / "node0", tmp_path / "node1"
    first.mkdir(), rest.mkdir()
    base = scenario_text(replications=64)
    assert base.count("      ready: 8500 ") == 1 and base.count("      patience_days: 90 ") == 1
    write(first, "s.yaml", base)
    for directory, text in ((first, base), (rest, base.replace("      ready: 8500 ", "      ready: 90000 "))):
        write(directory, "a.yaml", text)
        write(directory, "b.yaml", text.replace("      patience_days: 90 ", "      patience_days: 100 "))
    out = tmp_path / "out.h5"
    proc = mpmd(mpirun, first, rest, "run", first / "s.yaml", "-n", 20000, "--sweep", "scenario=a.yaml,b.yaml",
                "-q", "-t", 1, "-o", out, ranks=2)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert re.search(r"brink run: rank 1 on \S+: it built a different sweep plan from the job than rank 0 did",
                     proc.stderr), proc.stderr
    assert proc.stderr.count("different sweep plan") == 1, proc.stderr
    assert not out.exists()


def bounded(command, limit=60):
    """Runs an mpirun command that must end by itself; one that hangs is ended with SIGTERM (which
    mpirun forwards to its ranks, leaving no rank spinning) and fails the test."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        pytest.fail(f"{command} did not end within {limit} s", pytrace=False)
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


OTHER_ARGUMENTS = "brink calibrate: MPI rank 1 was started with other arguments than rank 0's ({})"


@pytest.mark.parametrize("rank0,rank1,code,sentence", [
    ([], ["--bogus"], 2, OTHER_ARGUMENTS.format("'--bogus' where rank 0 has nothing")),
    ([], ["--help"], 2, OTHER_ARGUMENTS.format("'--help' where rank 0 has nothing")),
    (["--seed", "x"], [], 2, OTHER_ARGUMENTS.format("nothing where rank 0 has '--seed'")),
    (["--help"], ["--help"], 0, "brink calibrate SCENARIO"),
])
def test_calibration_ranks_given_other_options_end_at_once(mpirun, tmp_path, rank0, rank1, code, sentence):
    """Every rank of a calibration parses its own command line. One given options it cannot take, or
    --help (an MPMD command line, a script that builds each node's), returned before the agreement
    to start and left the others waiting in it for ever. Every rank now compares its whole command
    line with rank 0's first; --help on every rank prints the help once."""
    toy = SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml"
    common = ["calibrate", str(toy), "--particles", "60", "--generations", "2", "-q", "-t", "1",
              "-o", str(tmp_path / "c.h5")]
    proc = bounded([mpirun, "-np", "1", BRINK, *common, *rank0, ":", "-np", "2", BRINK, *common, *rank1])
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    stream = proc.stdout if code == 0 else proc.stderr
    assert stream.count(sentence) == 1, (proc.stdout, proc.stderr)
    assert not list(tmp_path.glob("c.*")), list(tmp_path.iterdir())


@pytest.mark.parametrize("rank0,rank1", [
    (["run", "-n", "1000", "-q", "-t", "1"], ["--version"]),
    (["run", "-n", "1000", "-q", "-t", "1"], ["inspect", "{ref}"]),
    (["inspect", "{ref}"], ["run", "-n", "1000", "-q", "-t", "1"]),
    (["calibrate", str(SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml"), "--particles", "60",
      "--generations", "2", "-q", "-t", "1"], ["scenarios"]),
])
def test_ranks_started_with_different_commands_stop_at_once(mpirun, tmp_path, rank0, rank1):
    """An MPMD launch whose ranks run different commands: one that never started MPI (--version,
    inspect) left rank 0 of a run waiting in MPI_Init for ever. Every rank now starts MPI, and
    rank 0 names the first rank whose command is not its own."""
    ref = tmp_path / "ref.h5"
    ok(run_plain("run", "-n", 100, "-q", "-t", 1, "-o", ref))
    out = tmp_path / "out.h5"
    writes = ["-o", str(out)] if rank0[0] in ("run", "calibrate") else []
    first = [a.format(ref=ref) for a in rank0] + writes
    second = [a.format(ref=ref) for a in rank1] + (["-o", str(out)] if rank1[0] in ("run", "calibrate") else [])
    proc = bounded([mpirun, "-np", "1", BRINK, *first, ":", "-np", "1", BRINK, *second])
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    sentence = (f"brink {rank0[0]}: MPI rank 1 was started with another command than rank 0's 'brink {rank0[0]}'; "
                "start every rank with the same brink command")
    assert proc.stderr.count(sentence) == 1 and proc.stdout == "", (proc.stdout, proc.stderr)
    assert not list(tmp_path.glob("out*")), list(tmp_path.iterdir())


# --------------------------------------------------------------------------
# Errors: printed once, by rank 0, with the usual exit codes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("args,code,sentence", [
    (["--replications", "many"], 2, "--replications must be a whole number"),
    (["no-such-scenario.yaml"], 2, "no scenario file 'no-such-scenario.yaml' exists"),
    (["--set", "actors.RUS.forces.deploy=1"], 2, "unknown parameter path 'actors.RUS.forces.deploy'"),
])
def test_errors_are_printed_once_with_the_usual_exit_code(mpirun, tmp_path, args, code, sentence):
    proc = run_mpi(mpirun, 3, "run", *args, "-q", "-o", tmp_path / "e.h5")
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.count(sentence) == 1, proc.stderr
    assert proc.stdout == "", proc.stdout
    assert not list(tmp_path.glob("e.h5*"))


def test_help_exits_zero_and_prints_once(mpirun):
    proc = run_mpi(mpirun, 2, "run", "--help")
    assert proc.returncode == 0 and proc.stdout.count("brink run [SCENARIO]") == 1, proc.stdout


# --------------------------------------------------------------------------
# Faults: SIGTERM to mpirun, a killed worker rank; --resume finishes to the same bits
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("long")
    # About 25 s of one thread's work, whatever the build (release or ASan) and the machine. The
    # tests signal or kill a rank once the writer's first flush (2 s in) shows finished blocks,
    # which with start-up is 3-4 s in: the run must be far from done by then, or a killed worker
    # holds no block and the others finish the run without it (at 10 s of work, 60% of the blocks
    # were done by then, and 1 run in 7 of the ASan build ended with the file complete). Without
    # decisions no replication ends before the horizon (no block goes idle early), so the run's
    # cost grows with the horizon as the calibration run's does.
    def text(replications, horizon_days):
        return set_run_field(scenario_text(replications=replications, horizon_days=horizon_days), "decisions", "false")

    # The calibration doubles its horizon until the extra steps take half a second, and the rate
    # comes from the difference of the last two runs: start-up and exit (seconds under ASan, whose
    # leak check runs at exit) would otherwise count as steps and shorten the run.
    def seconds_for(horizon):
        calibration = write(d, "cal.yaml", text(512, horizon))
        start = time.monotonic()
        ok(run_plain("run", calibration, "-q", "-t", 1, "--summary-only", "-o", d / "cal.h5", "--overwrite"))
        return time.monotonic() - start

    horizon, seconds = 400, seconds_for(400)
    while True:
        longer = seconds_for(2 * horizon)
        if longer - seconds > 0.5 or horizon >= 80000:
            break
        horizon, seconds = 2 * horizon, longer
    rate = 512 * horizon / max(longer - seconds, 1e-3)  # replication-steps per second, one thread
    replications = 60 * 256  # 60 blocks
    horizon = int(min(200000, max(150, 25 * rate / replications)))
    scenario = write(d, "s.yaml", text(replications, horizon))
    reference = d / "ref.h5"
    ok(run_plain("run", scenario, "-q", "-t", 2, "-o", reference, timeout=300))
    return scenario, reference


def start(mpirun, ranks, scenario, out, *extra):
    return subprocess.Popen(mpi_cmd(mpirun, ranks, "run", scenario, "-q", "-t", 1, "-o", out, *extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())


def wait_for_blocks(partial, proc, blocks=2, limit=60):
    """Waits until the partial file holds some finished blocks (read live, SWMR)."""
    deadline = time.time() + limit
    while time.time() < deadline and proc.poll() is None:
        if partial.exists():
            try:
                with h5py.File(partial, "r", libver="latest", swmr=True) as f:
                    if int(f["block_done"][()].sum()) >= blocks:
                        return
            except (OSError, KeyError):
                pass
        time.sleep(0.05)
    pytest.fail(f"{partial} never held {blocks} finished blocks (exit {proc.poll()})")


def assert_clean_partial(partial):
    with h5py.File(partial, "r") as f:
        done = int(f["block_done"][()].sum())
        assert 0 < done < f["block_done"].size, done


def test_sigterm_to_mpirun_closes_the_partial_then_resume_finishes(mpirun, long_run, tmp_path):
    scenario, reference = long_run
    out = tmp_path / "r.h5"
    partial = tmp_path / "r.h5.partial"
    proc = start(mpirun, 3, scenario, out)
    wait_for_blocks(partial, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    # Rank 0 prints the sentence once. mpirun, itself signalled, may tear down its output
    # forwarding before that line arrives (Open MPI 4.1 then logs an epoll warning instead),
    # so the line can be lost but is never repeated; the file's state below is what must hold.
    assert err.count("interrupted;") <= 1, err
    assert not out.exists()
    assert_clean_partial(partial)
    # Resumed with another rank count.
    ok(run_mpi(mpirun, 2, "run", scenario, "-q", "-t", 1, "-o", out, "--resume", timeout=300))
    assert_same_files(reference, out, ignore_attrs=INVOCATION)


def worker_pids(mpirun_pid):
    """The brink processes mpirun started, by rank."""
    ranks = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(re.search(r"^PPid:\s+(\d+)", status, re.M).group(1))
        rank = [v for v in environ if v.startswith(b"OMPI_COMM_WORLD_RANK=")]
        if ppid == mpirun_pid and rank:
            ranks[int(rank[0].split(b"=")[1])] = int(entry.name)
    return ranks


@pytest.mark.parametrize("killed", [2, 0], ids=["worker", "rank0"])
def test_killed_rank_ends_the_job_and_resume_finishes(mpirun, long_run, tmp_path, killed):
    """kill -9 of a worker ends the job with a clean .partial, which threads alone finish; kill -9
    of rank 0 (the writer) leaves the blocks flushed before the kill, and --resume under another
    rank count finishes them. Either way, to the same bits."""
    scenario, reference = long_run
    out = tmp_path / "k.h5"
    partial = tmp_path / "k.h5.partial"
    proc = start(mpirun, 3, scenario, out)
    wait_for_blocks(partial, proc)
    ranks = worker_pids(proc.pid)
    assert killed in ranks, ranks
    os.kill(ranks[killed], signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert not out.exists()
    if killed == 0:
        ok(run_mpi(mpirun, 2, "run", scenario, "-q", "-t", 1, "-o", out, "--resume", timeout=300))
    else:
        assert_clean_partial(partial)
        ok(run_plain("run", scenario, "-q", "-t", 2, "-o", out, "--resume", timeout=300))
    assert_same_files(reference, out, ignore_attrs=INVOCATION)


def test_a_rank_that_dies_before_taking_the_job_lets_rank_0_close_its_partial(mpirun, tmp_path):
    """Rank 1 stopped (SIGSTOP) once rank 0 holds the output lock, before the job reaches it, then
    killed: the flagship's job is larger than MPI's eager limit, so rank 0 waits for rank 1 to take
    it. The launcher then ends rank 0 (SIGTERM, SIGKILL soon after): rank 0 must stop waiting and
    close its `.partial` (here: remove it, nothing being finished). Blocked in MPI_Send it was
    killed, leaving the `.partial` marked open for writing (h5py could not open it) and the lock."""
    scenario = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2])) / "scenarios" / \
        "jan-2022-standoff.yaml"
    assert scenario.stat().st_size > 4096, "the job must exceed Open MPI's eager limit over shared memory (4 KiB)"
    out = tmp_path / "d.h5"
    partial, lock = tmp_path / "d.h5.partial", tmp_path / "d.h5.lock"
    proc = subprocess.Popen(mpi_cmd(mpirun, 2, "run", scenario, "-q", "-n", 20000, "-o", out),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    deadline = time.time() + 60
    ranks = {}
    while 1 not in ranks and time.time() < deadline:
        ranks = worker_pids(proc.pid)
    while not lock.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.001)
    os.kill(ranks[1], signal.SIGSTOP)
    while not partial.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(1.0)
    os.kill(ranks[1], signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert err.count("brink run: interrupted") <= 1, err
    assert not out.exists() and not lock.exists(), (err, list(tmp_path.iterdir()))
    if partial.exists():  # rank 1 took the job in time: then blocks ran, and the partial is whole
        with h5py.File(partial, "r"):
            pass


def test_worker_signalled_alone_ends_the_run_with_one_sentence(mpirun, long_run, tmp_path):
    scenario, _ = long_run
    out = tmp_path / "w.h5"
    partial = tmp_path / "w.h5.partial"
    proc = start(mpirun, 3, scenario, out)
    wait_for_blocks(partial, proc)
    ranks = worker_pids(proc.pid)
    os.kill(ranks[1], signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert err.count("rank 1 on ") == 1 and err.count("stopped by a signal") == 1, err
    # One sentence: the rank's reason, then what the partial keeps and how to go on, once (the
    # worker's own "the finished blocks are kept, continue with --resume" came before rank 0's).
    line = next(line for line in err.splitlines() if "rank 1 on " in line)
    assert err.count("continue with --resume") == 1 and "finished blocks are kept" not in err, err
    assert re.fullmatch(r"brink run: rank 1 on \S+: it was stopped by a signal; \d+ finished blocks? kept in "
                        + re.escape(str(partial)) + r"; continue with --resume", line), line
    assert_clean_partial(partial)


def test_interrupted_calibration_under_mpi_is_reported_once_by_rank_0(mpirun, tmp_path):
    """SIGTERM to every rank of a calibration (as Open MPI forwards it, or scancel sends it): each
    rank used to print its own "brink: MPI rank R: interrupted; ..." on its way to MPI_Abort. Now
    the ranks learn of the stop in the sum they share, and rank 0 alone prints the sentence of a
    one-process calibration; the others exit quietly with the same code. The ranks are signalled
    directly, so that mpirun's output forwarding is intact and a line cannot be lost."""
    toy = SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml"
    out = tmp_path / "c.h5"
    partial = tmp_path / "c.h5.partial"
    proc = subprocess.Popen(mpi_cmd(mpirun, 3, "calibrate", toy, "--particles", 600, "--generations", 200, "-q",
                                    "-t", 1, "-o", out),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    deadline = time.time() + 60
    while not partial.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert partial.exists() and proc.poll() is None, "the calibration kept no generation, or finished"
    ranks = worker_pids(proc.pid)
    assert sorted(ranks) == [0, 1, 2], ranks
    for pid in ranks.values():
        os.kill(pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    lines = [line for line in err.splitlines() if "interrupted" in line]
    assert len(lines) == 1 and "MPI rank" not in err, err
    assert re.fullmatch(r"brink calibrate: interrupted; " + re.escape(str(partial))
                        + r" keeps \d+ complete generations?, continue with --resume", lines[0]), lines[0]
    assert partial.exists() and not out.exists()


# --------------------------------------------------------------------------
# Round 38: ranks of another brink build are refused
# --------------------------------------------------------------------------


def mixed_builds_cmd(mpirun, *args):
    """Rank 0 this build, ranks 1 and 2 standing for another build of the same version
    (BRINK_TEST_ENGINE_FINGERPRINT: the engine_fingerprint they report)."""
    args = [str(a) for a in args]
    return [mpirun, "-np", "1", BRINK, *args, ":", "-np", "2", "-x", "BRINK_TEST_ENGINE_FINGERPRINT=another-build",
            BRINK, *args]


@pytest.mark.parametrize("command", ["run", "calibrate"])
def test_ranks_of_another_build_are_refused(mpirun, tmp_path, command):
    """An outside review ran rank 0 on one build and the other ranks on a build with one change in the
    model: both say brink 0.2.0, and the run and the calibration wrote complete files that matched
    neither build. Ranks now compare the engine fingerprint: refused, one sentence, no file."""
    out = tmp_path / "mixed.h5"
    if command == "run":
        args = ["run", "jan-2022-standoff", "-n", 600, "-q", "-t", 1, "-o", out]
    else:
        args = ["calibrate", "backtest-2022", "--particles", 16, "--generations", 1, "--replications", 2, "-q",
                "-t", 1, "-o", out]
    proc = subprocess.run(mixed_builds_cmd(mpirun, *args), capture_output=True, text=True, env=env(),
                          timeout=TIMEOUT_S)
    assert proc.returncode != 0, proc.stderr
    assert "another brink build" in proc.stderr and "every rank" in proc.stderr, proc.stderr
    assert not out.exists()
    if command == "run":  # the job is refused before a block is simulated
        partial = tmp_path / "mixed.h5.partial"
        if partial.exists():
            with h5py.File(partial) as f:
                assert not f["block_done"][()].any()


SHARD_TASK = """#!/bin/sh
exec "$BRINK" run "$SCENARIO" -q -t 1 -n 300 --sweep actors.RUS.decision.patience_days=15,30,45,60 \\
    --shard "$OMPI_COMM_WORLD_RANK/2" -o "$OUT/shard-$OMPI_COMM_WORLD_RANK.h5"
"""


def test_tasks_that_each_run_their_own_shard_are_refused_unless_they_leave_mpi(mpirun, tmp_path):
    """`mpirun -np 2 task.sh`, each task a `brink run --shard RANK/2`: the tasks joined one MPI run,
    rank 0's, and exited 0 with shard 1 never written. Now the ranks compare their whole command
    lines (exit 2, naming what differs); with BRINK_NO_MPI=1 each task is a process of its own and
    the two shards merge into the file of one run."""
    task = tmp_path / "task.sh"
    task.write_text(SHARD_TASK, encoding="utf-8")
    task.chmod(0o755)
    scenario = SOURCE / "scenarios" / "jan-2022-standoff.yaml"
    variables = {"BRINK": BRINK, "SCENARIO": str(scenario), "OUT": str(tmp_path)}
    exports = [a for k, v in variables.items() for a in ("-x", f"{k}={v}")]
    proc = bounded([mpirun, "-np", "2", *exports, str(task)])
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stderr.count("brink run: MPI rank 1 was started with other arguments than rank 0's ('1/2' where "
                             "rank 0 has '0/2')") == 1, proc.stderr
    assert not list(tmp_path.glob("shard-*")), list(tmp_path.iterdir())
    proc = bounded([mpirun, "-np", "2", *exports, "-x", "BRINK_NO_MPI=1", str(task)])
    assert proc.returncode == 0, proc.stderr
    merged, whole = tmp_path / "merged.h5", tmp_path / "whole.h5"
    ok(run_plain("merge", merged, tmp_path / "shard-0.h5", tmp_path / "shard-1.h5"))
    ok(run_plain("run", scenario, "-q", "-t", "1", "-n", 300, "--sweep",
                 "actors.RUS.decision.patience_days=15,30,45,60", "-o", whole))
    with h5py.File(merged, "r") as a, h5py.File(whole, "r") as b:
        np.testing.assert_array_equal(a["outcome_code"][()], b["outcome_code"][()])


DRIVER = """import os, sys
sys.path.insert(0, os.environ["ANALYSIS"])
import brink_analysis as ba
if os.environ["OMPI_COMM_WORLD_RANK"] == "0":
    ba.run(os.environ["SCENARIO"], output=os.environ["OUT"], replications=300, binary=os.environ["BRINK"],
           progress=False)
print("done", os.environ["OMPI_COMM_WORLD_RANK"], flush=True)
"""


def test_a_driver_under_mpirun_runs_brink_as_a_process_of_its_own(mpirun, tmp_path):
    """A Python driver started by mpirun whose rank 0 alone calls brink_analysis.run: brink inherited
    the launcher's variables and waited for ever for a rank 1 that never came."""
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    exports = ["-x", f"BRINK={BRINK}", "-x", f"SCENARIO={SOURCE / 'scenarios' / 'jan-2022-standoff.yaml'}",
               "-x", f"OUT={tmp_path / 'r.h5'}", "-x", f"ANALYSIS={SOURCE / 'analysis'}"]
    proc = bounded([mpirun, "-np", "2", *exports, "/usr/bin/python3", str(driver)], limit=90)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert sorted(proc.stdout.split("\n")) == ["", "done 0", "done 1"], proc.stdout
    assert (tmp_path / "r.h5").exists()
