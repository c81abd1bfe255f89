"""Faults a clumsy or hostile user (or the machine) causes, and what brink
promises about each (issue 10):

- the hostile-input corpus (tests/cli/hostile): every case gives its exit code
  and message, never a crash or a hang, located file:line:col when the fault
  is in the file's text;
- two writers to one output: the second exits 2 at once naming the first;
- kill -9 (a deterministic test hook, and random moments with the seed
  printed), a full disk (a 2 MB tmpfs) and `ulimit -f`: each resumed with
  --resume and no manual step gives the same datasets as an uninterrupted run;
- SIGTERM is honoured quickly, outputs never replace inputs or devices, and
  `inspect` tells a partial or forged file from a result.

BRINK may point at the release or the ASan+UBSan binary; the corpus runs
against both (scripts/test.sh), the fault tests against the release build.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import interrupt_after_first_blocks

HERE = Path(__file__).resolve().parent
HOSTILE = HERE / "hostile"
SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", HERE.parents[1]))
MINIMAL = SOURCE / "docs" / "examples" / "minimal.yaml"
CASE_TIMEOUT_S = 60  # generous for ASan on a loaded machine; a hang shows as a timeout
CRASH_PATTERN = re.compile(r"(AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|terminate called|"
                           r"Segmentation fault|core dumped|HDF5-DIAG)")


def load_cases():
    generated = json.loads((HOSTILE / "manifest.json").read_text(encoding="utf-8"))
    hand = json.loads((HOSTILE / "hand.json").read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["name"]) for case in generated + hand]


def synthesize(kind, tmp_path):
    """A scenario path for the cases that cannot be committed as files."""
    if kind == "big":
        path = tmp_path / "big.yaml"
        path.write_bytes(MINIMAL.read_bytes() + b"# " + b"x" * (5 * 1024 * 1024) + b"\n")
    elif kind == "many_keys":
        path = tmp_path / "keys.yaml"
        path.write_text("".join(f"key_{i:07d}: {i}\n" for i in range(400_000)), encoding="utf-8")
    elif kind == "keys_80k":
        path = tmp_path / "keys80k.yaml"
        path.write_text(MINIMAL.read_text(encoding="utf-8") + "".join(f"k{i}: 1\n" for i in range(80_000)),
                        encoding="utf-8")
    elif kind == "directory":
        path = tmp_path / "dir.yaml"
        path.mkdir()
    elif kind == "fifo":
        path = tmp_path / "fifo.yaml"
        os.mkfifo(path)
    elif kind == "dev_zero":
        path = Path("/dev/zero")
    elif kind == "dev_null":
        path = Path("/dev/null")
    elif kind == "missing":
        path = tmp_path / "missing.yaml"
    elif kind == "unreadable":
        path = tmp_path / "unreadable.yaml"
        path.write_text(MINIMAL.read_text(encoding="utf-8"), encoding="utf-8")
        path.chmod(0)
        if os.geteuid() == 0:  # root reads anything: make it a dangling symlink instead
            path.unlink()
            path.symlink_to(tmp_path / "nowhere" / "x.yaml")
    else:
        raise AssertionError(kind)
    return path


def case_command(case, tmp_path):
    """(argv after the binary, scenario path or None)."""
    minimal = tmp_path / "minimal.yaml"
    shutil.copy(MINIMAL, minimal)
    (tmp_path / "pdir.partial").mkdir(exist_ok=True)
    if "args" in case:
        if "text" in case:
            target = case["args"][1].replace("{tmp}", str(tmp_path))
            Path(target).write_bytes(case["text"].encode("utf-8", "surrogateescape"))
        if "minimal_replace" in case:
            old, new = case["minimal_replace"]
            text = MINIMAL.read_text(encoding="utf-8")
            assert old in text
            Path(case["args"][1].replace("{tmp}", str(tmp_path))).write_text(text.replace(old, new), encoding="utf-8")
        args = [a.replace("{tmp}", str(tmp_path)).replace("{minimal}", str(minimal)) for a in case["args"]]
        return args, (Path(args[1]) if case.get("located") else None)
    path = HOSTILE / case["file"] if "file" in case else synthesize(case["synth"], tmp_path)
    return [case.get("command", "validate"), str(path)], path


@pytest.mark.parametrize("case", load_cases())
def test_hostile_corpus(brink, tmp_path, case):
    args, scenario = case_command(case, tmp_path)
    proc = subprocess.run([brink, *[os.fsencode(a) for a in args]], cwd=tmp_path, capture_output=True,
                          timeout=CASE_TIMEOUT_S)
    stderr = proc.stderr.decode("utf-8", "replace")
    stdout = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {stderr}"
    assert not CRASH_PATTERN.search(stderr), stderr
    assert proc.returncode == case["exit"], f"exit {proc.returncode}, expected {case['exit']}: {stderr}{stdout}"
    assert case["fragment"] in stderr + stdout, f"no {case['fragment']!r} in: {stderr}{stdout}"
    if proc.returncode == 2:
        lines = [line for line in stderr.split("\n") if line]
        assert lines, "a rejection must say why"
        if case.get("located") and scenario is not None:
            pattern = re.escape(str(scenario)) + r":\d+:\d+: \S"
            assert all(re.match(pattern, line) for line in lines), f"not located file:line:col: {lines}"


def test_corpus_is_large_enough():
    generated = json.loads((HOSTILE / "manifest.json").read_text(encoding="utf-8"))
    hand = json.loads((HOSTILE / "hand.json").read_text(encoding="utf-8"))
    assert len(generated) + len(hand) >= 150
    for case in generated:
        if "file" in case:
            assert (HOSTILE / case["file"]).is_file(), f"{case['file']}: rerun tests/cli/hostile/generate.py"


def test_key_checking_is_linear(brink, tmp_path):
    # Quadratic checks (a duplicate search per key, a hint per unknown key)
    # took 10 s at 80,000 keys and 33 s at 160,000; linear ones take about a
    # second at 160,000 (1.7 MB, under the 4 MiB limit), and stop listing
    # problems after the first 100.
    path = tmp_path / "keys160k.yaml"
    path.write_text(MINIMAL.read_text(encoding="utf-8") + "".join(f"k{i}: 1\n" for i in range(160_000)),
                    encoding="utf-8")
    start = time.monotonic()
    proc = subprocess.run([brink, "validate", str(path)], capture_output=True, text=True, timeout=CASE_TIMEOUT_S)
    seconds = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert len(lines) == 101, f"{len(lines)} lines"
    assert all(re.match(re.escape(str(path)) + r":\d+:\d+: ", line) for line in lines), lines[-1]
    assert "159900 more problems from here on are not shown" in lines[-1], lines[-1]
    assert seconds < 15, f"{seconds:.1f} s for 160,000 unknown keys"


# --------------------------------------------------------------------------
# Output paths
# --------------------------------------------------------------------------

def flagship(tmp_path, name="s.yaml", **replace):
    text = (SOURCE / "scenarios" / "jan-2022-standoff.yaml").read_text(encoding="utf-8")
    for old, new in replace.items():
        text = re.sub(old, lambda _, new=new: new, text, count=1, flags=re.M)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(brink, *args, cwd=None, env=None, timeout=120):
    return subprocess.run([brink, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def datasets(path):
    with h5py.File(path, "r") as f:
        return {name: f[name][()] for name in f}


def assert_same_datasets(a, b):
    da, db = datasets(a), datasets(b)
    assert sorted(da) == sorted(db)
    for name in da:
        assert np.array_equal(da[name], db[name], equal_nan=da[name].dtype.kind == "f"), name


def test_output_never_replaces_the_scenario_or_a_device(brink, tmp_path):
    scenario = flagship(tmp_path)
    before = scenario.read_bytes()
    proc = run(brink, "run", scenario, "-q", "-n", "256", "-o", scenario)
    assert proc.returncode == 2 and "is the input file" in proc.stderr
    link = tmp_path / "link.h5"
    link.symlink_to(scenario)
    proc = run(brink, "run", scenario, "-q", "-n", "256", "-o", link)
    assert proc.returncode == 2 and "is the input file" in proc.stderr
    assert scenario.read_bytes() == before
    before_binary = os.stat(brink)
    proc = run(brink, "run", scenario, "-q", "-n", "256", "-o", brink)  # named as what it is, not /proc/self/exe
    assert proc.returncode == 2 and "is the brink program that is running" in proc.stderr, proc.stderr
    assert os.stat(brink).st_mtime_ns == before_binary.st_mtime_ns
    proc = run(brink, "run", scenario, "-q", "-n", "256", "-o", "/dev/null")
    assert proc.returncode == 2 and "character device" in proc.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = run(brink, "run", scenario, "-q", "-n", "256", "-o", fifo)
    assert proc.returncode == 2 and "FIFO" in proc.stderr and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_default_output_name_stays_in_out_and_is_portable(brink, tmp_path):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    for name, expected in [('"../../x"', "___.._x.h5"), ('"/tmp/abs name"', "_tmp_abs_name.h5"),
                           ('"caf\\u00e9*z"', "caf___z.h5"), ('".hidden"', "_hidden.h5"), ('"..."', "scenario.h5")]:
        scenario = flagship(tmp_path, name="n.yaml", **{r"^name: .*$": f"name: {name}"})
        proc = run(brink, "run", scenario, "-q", "-n", "256", cwd=work)
        assert proc.returncode == 0, proc.stderr
        assert (work / "out" / expected).is_file(), (name, list((work / "out").iterdir()))
    assert {p.parent for p in tmp_path.rglob("*.h5")} == {work / "out"}
    with h5py.File(work / "out" / "caf___z.h5", "r") as f:
        f.attrs["scenario"].decode("utf-8")  # the documented re-run recipe reads it as UTF-8


# --------------------------------------------------------------------------
# Concurrent writers and the lock
# --------------------------------------------------------------------------

def test_second_writer_exits_at_once_and_leaves_the_first_alone(brink, tmp_path):
    scenario = flagship(tmp_path)
    out = tmp_path / "r.h5"
    first = subprocess.Popen([brink, "run", scenario, "-q", "-n", "20000", "-t", "1", "-o", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while not (tmp_path / "r.h5.partial").exists() and time.time() < deadline:
        time.sleep(0.02)
    start = time.time()
    second = run(brink, "run", scenario, "-q", "-n", "512", "-s", "5", "-o", out)
    assert time.time() - start < 5
    assert second.returncode == 2, second.stderr
    assert f"PID {first.pid} on host {socket.gethostname()}" in second.stderr
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert not (tmp_path / "r.h5.lock").exists() and not (tmp_path / "r.h5.partial").exists()
    reference = tmp_path / "ref.h5"
    assert run(brink, "run", scenario, "-q", "-n", "20000", "-t", "1", "-o", reference).returncode == 0
    assert_same_datasets(out, reference)
    proc = run(brink, "inspect", out)
    assert proc.returncode == 0 and "complete         1" in proc.stdout


def test_same_instant_writers_one_wins(brink, tmp_path):
    scenario = flagship(tmp_path)
    out = tmp_path / "r.h5"
    procs = [subprocess.Popen([brink, "run", scenario, "-q", "-n", "2048", "-t", "1", "-o", out],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    codes = sorted(p.wait(timeout=300) for p in procs)
    assert codes[0] == 0 and all(c in (0, 2) for c in codes), codes
    assert run(brink, "inspect", out).returncode == 0


# --------------------------------------------------------------------------
# kill -9, resume and stale partial files
# --------------------------------------------------------------------------

def killed_then_resumed(brink, tmp_path, scenario, n, kill):
    """Kills a run (kill(proc) or the hook), resumes it; returns the output path."""
    out = tmp_path / "k.h5"
    args = [brink, "run", scenario, "-q", "-n", str(n), "-t", "2", "-o", str(out)]
    if isinstance(kill, int):
        proc = subprocess.run(args, env={**os.environ, "BRINK_TEST_KILL_AFTER_BLOCKS": str(kill)},
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == -signal.SIGKILL, proc.stderr
    else:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        kill(proc)
        proc.wait(timeout=60)
    assert (tmp_path / "k.h5.partial").exists() or out.exists()
    if out.exists():
        return out  # finished before the kill
    resumed = run(brink, "run", scenario, "-q", "-n", n, "-t", "2", "-o", out, "--resume", timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    return out


@pytest.fixture(scope="module")
def reference_run(brink, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference")
    scenario = flagship(tmp)
    out = tmp / "ref.h5"
    proc = run(brink, "run", scenario, "-q", "-n", "20000", "-t", "2", "-o", out, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return scenario, out


@pytest.mark.parametrize("blocks", [1, 20, 60])
def test_kill_after_n_blocks_resumes_to_identical_datasets(brink, tmp_path, reference_run, blocks):
    scenario, reference = reference_run
    out = killed_then_resumed(brink, tmp_path, scenario, 20000, blocks)
    assert_same_datasets(out, reference)


def test_kill_at_random_moments_resumes_to_identical_datasets(brink, tmp_path, reference_run):
    scenario, reference = reference_run
    seed = int(os.environ.get("BRINK_FAULT_SEED", time.time_ns() % 1_000_000))
    print(f"kill moments drawn with BRINK_FAULT_SEED={seed}")
    rng = random.Random(seed)
    for attempt in range(3):
        delay = rng.uniform(0.05, 1.5)

        def kill(proc, delay=delay):
            time.sleep(delay)
            proc.kill()

        work = tmp_path / f"attempt{attempt}"
        work.mkdir()
        out = killed_then_resumed(brink, work, scenario, 20000, kill)
        assert_same_datasets(out, reference), f"BRINK_FAULT_SEED={seed}, attempt {attempt}, delay {delay:.3f}s"


def test_a_killed_sweep_of_many_small_points_resumes_to_identical_datasets(brink, tmp_path):
    """Tens of thousands of one-replication points: the run writes thousands of chunks between two
    flushes, and kill -9 leaves some of them in a chunk index past the end of file the superblock
    recorded. Resuming cut them off, then failed to write them again ('HDF5 failed to write a
    chunk'). Killed after the first points are published, at a moment drawn as in the test above."""
    text = MINIMAL.read_text(encoding="utf-8")
    scenario = tmp_path / "short.yaml"
    scenario.write_text(re.sub(r"(?ms)^events:.*", "", text.replace("horizon_days: 60", "horizon_days: 10")),
                        encoding="utf-8")
    sweep = ["--sweep", "actors.RED.decision.patience_days=" + ",".join(str(d) for d in range(1, 21)),
             "--sweep", "actors.RED.posture.fatigue=" + ",".join(f"{0.001 * k:.3f}" for k in range(1, 1001))]
    reference = tmp_path / "ref.h5"
    assert run(brink, "run", scenario, "-q", "-n", "1", "-t", "2", *sweep, "-o", reference,
               timeout=300).returncode == 0
    seed = int(os.environ.get("BRINK_FAULT_SEED", time.time_ns() % 1_000_000))
    delay = random.Random(seed).uniform(1.0, 2.0)
    out = tmp_path / "k.h5"
    args = [brink, "run", str(scenario), "-q", "-n", "1", "-t", "2", *sweep, "-o", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(delay)
    proc.kill()
    proc.wait(timeout=60)
    if not out.exists():
        resumed = run(brink, *args[1:], "--resume", timeout=300)
        assert resumed.returncode == 0, f"BRINK_FAULT_SEED={seed}: {resumed.stderr}"
    assert_same_datasets(out, reference)


def test_a_resume_that_spells_the_scenario_otherwise_keeps_the_files_rerun_commands(brink, tmp_path):
    """Started as 'flagship.yaml' from its folder, resumed by its absolute path: the finished file
    is the uninterrupted run's (rerun_command included), since it keeps the first run's
    scenario_source and command_line."""
    scenario = flagship(tmp_path)
    sweep = ["--sweep", "actors.RUS.decision.rationality=1,2,3,4", "-n", "1024", "-t", "2", "-q"]
    env = {**os.environ, "BRINK_TEST_KILL_AFTER_BLOCKS": "5"}
    proc = subprocess.run([brink, "run", scenario.name, *sweep, "-o", "k.h5"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    resumed = run(brink, "run", scenario.resolve(), *sweep, "-o", tmp_path / "k.h5", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    whole = subprocess.run([brink, "run", scenario.name, *sweep, "-o", "whole.h5"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr
    with h5py.File(tmp_path / "k.h5", "r") as a, h5py.File(tmp_path / "whole.h5", "r") as b:
        commands = list(a["rerun_command"][()])
        assert commands == list(b["rerun_command"][()])
        assert all(c.decode().startswith(f"brink run {scenario.name} ") for c in commands), commands
        assert a.attrs["scenario_source"] == b.attrs["scenario_source"]


def test_a_resume_refuses_a_partial_whose_metadata_fails_hdf5s_checks(brink, tmp_path):
    """One byte flipped in each B-tree, fractal heap and free-space header of a killed run's partial
    (found by their signatures): --resume either refuses it as damaged (exit 2, saying so) or
    finishes it to the uninterrupted run's datasets in a file every object of which reads back.
    A flip in an index brink never names (the root attributes' creation order) was carried into a
    file marked complete that h5py's visit and h5stat refused; others were blamed on another run,
    another format or another program."""
    scenario = flagship(tmp_path)
    args = ["run", scenario, "-q", "-n", "1024", "--sweep", "actors.RUS.decision.patience_days=15,30,60",
            "--timeseries", "every=10", "-t", "2"]
    whole = tmp_path / "whole.h5"
    assert run(brink, *args, "-o", whole, timeout=300).returncode == 0
    out, partial = tmp_path / "p.h5", tmp_path / "p.h5.partial"
    killed = run(brink, *args, "-o", out, env={**os.environ, "BRINK_TEST_KILL_AFTER_BLOCKS": "4"}, timeout=300)
    assert killed.returncode == -signal.SIGKILL and partial.exists()
    original = partial.read_bytes()
    offsets = sorted(m.start() for signature in (b"BTHD", b"BTIN", b"FRHP", b"FHIB", b"FSHD")
                     for m in re.finditer(re.escape(signature), original))
    assert len(offsets) >= 5, offsets
    refused = 0
    for offset in offsets:
        damaged = bytearray(original)
        damaged[offset + 8] ^= 0xFF  # past the signature and version: the header's own fields
        partial.write_bytes(damaged)
        out.unlink(missing_ok=True)
        proc = run(brink, *args, "-o", out, "--resume", timeout=300)
        if proc.returncode == 2:
            assert "is damaged" in proc.stderr and "--overwrite" in proc.stderr, (offset, proc.stderr)
            refused += 1
            continue
        assert proc.returncode == 0, (offset, proc.stderr)
        assert_same_datasets(whole, out)
        with h5py.File(out, "r") as f:
            f.visit(lambda name: None)
            assert int(f.attrs["complete"]) == 1
    assert refused >= 1, "no flip was refused: the test no longer reaches damaged metadata"


def test_a_resumes_speed_counts_only_what_it_simulated(brink, tmp_path):
    """The closing line of a resumed run divided the whole plan's replication-steps by its time,
    the kept blocks' included: a resume that kept most of the blocks reported several times the
    real speed. It now says how many replications it simulated and how many it kept."""
    scenario = flagship(tmp_path)
    args = ["run", scenario, "--no-table", "-n", "1024", "--sweep", "actors.RUS.decision.patience_days=15,30,60",
            "-t", "2"]
    out = tmp_path / "s.h5"
    killed = run(brink, *args, "-q", "-o", out, env={**os.environ, "BRINK_TEST_KILL_AFTER_BLOCKS": "6"})
    assert killed.returncode == -signal.SIGKILL
    resumed = run(brink, *args, "-o", out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    m = re.search(r"; (\d+) replications simulated, (\d+) kept from the partial\)", resumed.stdout)
    assert m, resumed.stdout
    simulated, kept = int(m.group(1)), int(m.group(2))
    assert simulated > 0 and kept > 0 and simulated + kept == 3 * 1024, (simulated, kept)
    fresh = run(brink, *args, "-o", tmp_path / "f.h5")
    assert fresh.returncode == 0 and "kept from the partial" not in fresh.stdout, fresh.stdout


def test_fresh_run_refuses_a_partial_with_finished_blocks(brink, tmp_path):
    scenario = flagship(tmp_path)
    out = tmp_path / "k.h5"
    env = {**os.environ, "BRINK_TEST_KILL_AFTER_BLOCKS": "30"}
    assert run(brink, "run", scenario, "-q", "-n", "20000", "-o", out, env=env).returncode == -signal.SIGKILL
    partial = tmp_path / "k.h5.partial"
    before = partial.read_bytes()
    proc = run(brink, "run", scenario, "-q", "-n", "20000", "-o", out)
    assert proc.returncode == 2 and "--resume" in proc.stderr and "--overwrite" in proc.stderr, proc.stderr
    assert partial.read_bytes() == before
    proc = run(brink, "run", scenario, "-q", "-n", "512", "-o", out, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert not partial.exists()


def test_inspect_of_a_killed_partial_shows_finished_points_and_the_rest_as_not_run(brink, tmp_path):
    scenario = flagship(tmp_path)
    out = tmp_path / "k.h5"
    env = {**os.environ, "BRINK_TEST_KILL_AFTER_BLOCKS": "8"}
    proc = run(brink, "run", scenario, "-q", "-n", "512", "--sweep", "actors.RUS.decision.rationality=1,2,3,4,5,6,7,8",
               "-t", "1", "-o", out, env=env)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    proc = run(brink, "inspect", tmp_path / "k.h5.partial")
    assert proc.returncode == 0, proc.stderr
    assert "INCOMPLETE" in proc.stdout
    match = re.search(r"not run: (\d+) of 8 points", proc.stdout)
    assert match and 0 < int(match.group(1)) < 8, proc.stdout


def never_flushed_partial(path):
    """What a run killed inside H5Fcreate, before its first flush, leaves: HDF5's new superblock
    and whatever its cache had written, from the same HDF5 library, killed before the close."""
    code = ("import h5py, os, signal, sys\n"
            "f = h5py.File(sys.argv[1], 'w', libver='latest')\n"
            "f.create_dataset('x', data=list(range(1000)))\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL and path.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n", proc.stderr


@pytest.mark.parametrize("resume", [True, False], ids=["resume", "fresh"])
def test_a_partial_stopped_before_its_first_flush_starts_over_and_a_damaged_one_is_refused(brink, tmp_path, resume):
    """A partial that provably holds no finished block (empty, or HDF5's superblock as H5Fcreate
    leaves it) is started over; one with a signature that HDF5 cannot open may hold finished
    blocks, and is refused (it used to be started over by --resume, and by a fresh run)."""
    scenario = flagship(tmp_path)
    extra = ["--resume"] if resume else []
    for kind in ("empty", "never_flushed"):
        out = tmp_path / f"{kind}.h5"
        partial = tmp_path / f"{kind}.h5.partial"
        if kind == "empty":
            partial.write_bytes(b"")
        else:
            never_flushed_partial(partial)
        proc = run(brink, "run", scenario, "-q", "-n", "512", "-o", out, *extra)
        assert proc.returncode == 0, f"{kind}: {proc.stderr}"
        assert out.is_file() and not partial.exists(), kind
    out = tmp_path / "damaged.h5"
    partial = tmp_path / "damaged.h5.partial"
    partial.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    proc = run(brink, "run", scenario, "-q", "-n", "512", "-o", out, *extra)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert str(partial) in lines[0] and "--overwrite" in lines[0] and "h5clear" not in lines[0], lines[0]
    assert partial.read_bytes() == b"\x89HDF\r\n\x1a\n" + b"\0" * 100 and not out.exists()


def test_an_unreadable_partial_that_holds_finished_blocks_is_refused_never_deleted(brink, tmp_path):
    """An interrupted run's partial cut short (a copy, a full disk, a damaged file system) no
    longer opens as HDF5. --resume deleted it and started over ("is not a readable HDF5 file ...
    starting from the beginning"), and so did a fresh run: interrupted again, the old blocks were
    gone. Both now refuse, exit 2, naming the file and --overwrite, and leave it as it is."""
    out = tmp_path / "t.h5"
    partial = tmp_path / "t.h5.partial"
    args = ["run", "-q", "-n", "200000", "-t", "1", "--seed", "3", "-o", str(out)]
    proc = subprocess.Popen([brink, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    interrupt_after_first_blocks(proc, partial, time.monotonic() + 60, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "continue with --resume" in err, err
    with open(partial, "r+b") as f:
        f.truncate(partial.stat().st_size * 2 // 3)
    before = partial.read_bytes()
    for extra in (["--resume"], []):
        refused = run(brink, *args, *extra)
        lines = refused.stderr.strip().splitlines()
        assert refused.returncode == 2 and len(lines) == 1, refused.stderr
        assert str(partial) in lines[0] and "--overwrite" in lines[0], lines[0]
        assert "starting from the beginning" not in lines[0], lines[0]
        assert partial.read_bytes() == before and not out.exists()
    replaced = run(brink, "run", "-q", "-n", "512", "-o", out, "--overwrite")
    assert replaced.returncode == 0 and out.is_file() and not partial.exists(), replaced.stderr


def test_resume_mends_damaged_constants_to_an_uninterrupted_runs_bits(brink, tmp_path):
    """The constants (string coordinates in HDF5's global heap, numeric coordinates stored
    contiguously) carry no checksum. Damaged in a killed sweep's partial, --resume kept them:
    `action[1]` read 'mobi' in a file marked complete (the size of its heap object cut from 8 to
    4). Now they are checked against the plan (strings) or written again (numbers), and the
    finished file equals an uninterrupted run's, dataset by dataset."""
    args = ["run", "-q", "-n", "2048", "-t", "2", "--set", "run.decisions=false", "--set",
            "run.horizon_days=600", "--sweep", "actors.USA.forces.ready=8500,50000,20000"]
    out = tmp_path / "k.h5"
    partial = tmp_path / "k.h5.partial"
    killed = run(brink, *args, "-o", out, env={**os.environ, "BRINK_TEST_KILL_AFTER_BLOCKS": "10"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with h5py.File(partial, "r", libver="latest", swmr=True) as f:
        assert 0 < f["block_done"][()].sum() < f["block_done"].size
        numbers = {name: (f[name].id.get_offset(), f[name].dtype.itemsize)
                   for name in ("point", "quantile_level", "actors_USA_forces_ready")}
    data = bytearray(partial.read_bytes())
    at = data.find(b"mobilize")
    assert at > 0 and int.from_bytes(data[at - 8:at], "little") == 8  # the heap object's size
    data[at - 8] ^= 0x0C
    for offset, size in numbers.values():
        for i in range(offset, offset + size):
            data[i] ^= 0x55
    partial.write_bytes(bytes(data))
    resumed = run(brink, *args, "-o", out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    reference = tmp_path / "ref.h5"
    assert run(brink, *args, "-o", reference).returncode == 0
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] == 1 and f["action"][1] == b"mobilize", f["action"][:]
    assert_same_datasets(out, reference)


# --------------------------------------------------------------------------
# Disks that fill up
# --------------------------------------------------------------------------


def test_full_disk_names_itself_and_keeps_a_resumable_partial(brink, small_tmpfs, reference_run):
    scenario, reference = reference_run
    out = small_tmpfs / "r.h5"
    proc = run(brink, "run", scenario, "-q", "-n", "20000", "-t", "2", "-o", out, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "no space left on device" in proc.stderr and "r.h5.partial" in proc.stderr, proc.stderr
    assert "free space and run again with --resume" in proc.stderr
    assert not CRASH_PATTERN.search(proc.stderr)
    subprocess.run(["mount", "-o", "remount,size=200m", str(small_tmpfs)], check=True)
    proc = run(brink, "run", scenario, "-q", "-n", "20000", "-t", "2", "-o", out, "--resume", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert_same_datasets(out, reference)


def test_a_disk_full_before_any_block_finished_leaves_nothing_to_resume(brink, small_tmpfs, reference_run):
    """It used to keep the partial and advise --resume, which then found no readable file."""
    scenario, _ = reference_run
    subprocess.run(["mount", "-o", "remount,size=80k", str(small_tmpfs)], check=True)
    out = small_tmpfs / "r.h5"
    proc = run(brink, "run", scenario, "-q", "-n", "20000", "-t", "2", "-o", out, timeout=300)
    assert proc.returncode == 1 and "no space left on device" in proc.stderr, proc.stderr
    assert "nothing could be kept; free space and run again" in proc.stderr and "--resume" not in proc.stderr
    assert not list(small_tmpfs.iterdir())


def test_a_disk_without_free_inodes_is_a_full_disk_not_bad_input(brink, small_tmpfs, reference_run):
    """With megabytes free but no inode left, the lock file could not be created and the run exited 2
    (bad usage); a full disk is a runtime failure (1), wherever it strikes, and ENOSPC may be inodes."""
    scenario, _ = reference_run
    subprocess.run(["mount", "-o", "remount,nr_inodes=2", str(small_tmpfs)], check=True)
    (small_tmpfs / "taken").touch()
    proc = run(brink, "run", scenario, "-q", "-n", "256", "-t", "1", "-o", small_tmpfs / "r.h5", timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "cannot create the lock file" in proc.stderr and "inodes" in proc.stderr, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and not CRASH_PATTERN.search(proc.stderr)
    assert sorted(p.name for p in small_tmpfs.iterdir()) == ["taken"]


def test_a_run_larger_than_the_free_space_is_warned_of_before_it_starts(brink, small_tmpfs):
    """A ten-million-point plan once ran for minutes until it filled the shared disk. The file's
    size before compression is now compared with the free space at the start: a warning, not a
    refusal, since compression makes most files fit (here 3 MB of the 7.8 MB do)."""
    subprocess.run(["mount", "-o", "remount,size=5m", str(small_tmpfs)], check=True)
    proc = run(brink, "run", "-q", "--no-table", "-n", "20000", "-t", "2", "-o", small_tmpfs / "big.h5", timeout=300)
    assert proc.returncode == 0, proc.stderr
    warning = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and re.search(r"may need up to [0-9.]+ GiB before compression, and the file system "
                                           r"of '.*small' has [0-9.]+ GiB free", warning[0]), proc.stderr
    (small_tmpfs / "big.h5").unlink()
    proc = run(brink, "run", "-q", "--no-table", "-n", "2000", "-t", "2", "-o", small_tmpfs / "small.h5", timeout=300)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_a_run_that_could_not_fit_under_any_compression_is_refused_before_it_writes(brink, small_tmpfs):
    """4e9 replications with a time series asked for 15,800 GiB on a disk of 60 GiB free: only a
    warning, and the run wrote gigabytes until the disk was full. Beyond 100 times the free space
    (brink's data never compress that far) the run is refused, exit 2, and nothing is written."""
    subprocess.run(["mount", "-o", "remount,size=5m", str(small_tmpfs)], check=True)
    proc = run(brink, "run", "-q", "--no-table", "-n", "2000000", "-t", "2", "-o", small_tmpfs / "huge.h5", timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert re.fullmatch(r"brink run: the output needs up to [0-9.e+]+ GiB before compression, more than 100 times "
                        r"the [0-9.e-]+ GiB free on the file system of '.*small', so it could not fit; write fewer "
                        r"replications or points, --summary-only, a sparser --timeseries every=K, or -o on a larger "
                        r"file system\n", proc.stderr), proc.stderr
    assert not list(small_tmpfs.iterdir())


def test_the_free_space_warning_counts_every_per_point_variable(brink, tmp_path, small_tmpfs):
    """The estimate left out the strings and the parameters' coordinate variables: a plan of many
    axes and short runs writes a rerun command of some 4 KB per point (even with --summary-only),
    and its 38 MB file was estimated at 7.6 MB, so a 16 MB disk got no warning."""
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_tmpfs)], check=True)
    scenario = SOURCE / "tests" / "fuzz" / "corpus" / "lanchester-square.yaml"
    axes = narrow_axes(brink, scenario)
    command = ["run", scenario, "-q", "--no-table", "-n", "1", "-t", "1", "--summary-only", "--design", "sobol",
               "--samples", "100", "--sensitivity", "--set", "run.horizon_days=2", "--set", "run.random_numbers=common",
               *axes]
    proc = run(brink, *command, "-o", small_tmpfs / "w.h5", timeout=300)
    warning = [line for line in proc.stderr.splitlines() if "warning: the output may need" in line]
    assert len(warning) == 1, proc.stderr
    estimate = float(re.search(r"may need up to ([0-9.e+-]+) GiB before compression", warning[0]).group(1)) * 2**30
    assert proc.returncode == 1 and "no space left on device" in proc.stderr, proc.stderr
    out = tmp_path / "w.h5"
    proc = run(brink, *command, "-o", out, timeout=300)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    size = out.stat().st_size
    assert 0.9 * size <= estimate <= 2 * size, (estimate, size)


def test_file_size_limit_gives_a_clear_message(brink, tmp_path, reference_run):
    scenario, reference = reference_run
    out = tmp_path / "r.h5"
    proc = subprocess.run(["bash", "-c", 'ulimit -f 1000; exec "$0" run "$1" -q -n 20000 -t 2 -o "$2"', brink,
                           str(scenario), str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "file too large (EFBIG)" in proc.stderr and "ulimit -f" in proc.stderr, proc.stderr
    proc = run(brink, "run", scenario, "-q", "-n", "20000", "-t", "2", "-o", out, "--resume", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert_same_datasets(out, reference)


# --------------------------------------------------------------------------
# Interrupts, threads
# --------------------------------------------------------------------------

def test_sigterm_is_honoured_within_half_a_second_at_a_long_horizon(brink, tmp_path):
    # One block of 256 replications over 500,000 steps takes many seconds: far longer than the
    # promise. Settled lanes keep drawing down, so no block ends early.
    scenario = flagship(tmp_path, **{r"^  horizon_days: .*$": "  horizon_days: 500000"})
    out = tmp_path / "long.h5"
    proc = subprocess.Popen([brink, "run", scenario, "-q", "-n", "512", "-t", "2", "--timeseries", "every=10000",
                             "-o", out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)  # well inside the first blocks
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
        elapsed = time.monotonic() - start
    finally:
        proc.kill()
        proc.wait()
    assert code == 1 and "interrupted" in proc.stderr.read()
    assert elapsed < 1.0, f"SIGTERM took {elapsed:.2f} s (0.5 s promised, margin for a loaded machine)"


def test_interrupted_summary_only_run_does_not_advise_resume(brink, tmp_path):
    scenario = flagship(tmp_path)
    out = tmp_path / "s.h5"
    # Long enough (several seconds on one thread) that a fast kernel is still running after the wait.
    proc = subprocess.Popen([brink, "run", scenario, "-q", "-n", "1000000", "-t", "1", "--summary-only", "-o", out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 1
    message = proc.stderr.read()
    assert "interrupted" in message and "--resume" not in message, message
    assert run(brink, "run", scenario, "-q", "-n", "512", "--summary-only", "-o", out).returncode == 0


def test_summary_only_resume_of_a_run_with_per_replication_data_says_what_is_wrong(brink, tmp_path):
    """--resume --summary-only on the .partial of a run that kept per-replication data is refused;
    the message used to read "a summary-only run keeps no per-replication data to resume from", as
    if the interrupted run had been summary-only, and advised a run without --resume, which the
    .partial then refuses."""
    scenario = flagship(tmp_path)
    out = tmp_path / "r.h5"
    proc = subprocess.Popen([brink, "run", scenario, "-q", "-n", "1000000", "-t", "1", "-o", out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    interrupt_after_first_blocks(proc, Path(f"{out}.partial"), time.monotonic() + 60, signal.SIGINT)
    assert proc.wait(timeout=120) == 1
    done = run(brink, "run", scenario, "-q", "-n", "1000000", "-t", "1", "--summary-only", "--resume", "-o", out)
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("brink run: --summary-only cannot be combined with --resume, because a summary-only output "
                           "keeps no per-replication data to continue from; resume without --summary-only, or start "
                           "over with --overwrite\n"), done.stderr
    assert Path(f"{out}.partial").exists()  # left as it was, for the resume the message advises


def narrow_axes(brink, scenario):
    """--sweep options over every sweepable non-integer number of `scenario`, each over a thin
    range ending at its value (0 to 1e-9 for a 0): many axes, every point a valid scenario."""
    rows = run(brink, "params", scenario).stdout.splitlines()[1:]
    axes = []
    for row in rows:
        fields = row.split()
        if fields[-1] not in ("sweep", "inert") or "integer" in row or "prior" in fields[0]:
            continue
        try:
            value = float(fields[1])
        except ValueError:
            continue
        axes += ["--sweep", f"{fields[0]}={value * 0.999!r}:{value!r}" if value > 0 else f"{fields[0]}=0:1e-9"]
    return axes


def big_plan_command(brink, tmp_path, out, *extra):
    """About 65,000 points of some 60 axes: creating the file (a rerun command and a value per
    parameter for every point) took 10 s and more."""
    scenario = SOURCE / "tests" / "fuzz" / "corpus" / "lanchester-square.yaml"
    axes = narrow_axes(brink, scenario)
    assert len(axes) >= 100, axes
    return [brink, "run", scenario, "-q", "--no-table", "-n", "1", "-t", "1", "--design", "sobol", "--samples",
            "1000", "--sensitivity", *axes, "-o", out, *extra]


@pytest.mark.parametrize("signum, summary_only", [(signal.SIGINT, True), (signal.SIGTERM, True),
                                                  (signal.SIGTERM, False)])
def test_a_large_plan_is_interrupted_within_a_second_while_its_file_is_created(brink, tmp_path, signum,
                                                                               summary_only):
    # SIGINT or SIGTERM while the file was being created (every point's rerun_command and
    # parameter values) took effect only once it was done: 9 to 14 s at 70,000 points, many
    # minutes at the 10,000,000-point cap while the file grew to tens of GB.
    out = tmp_path / "big.h5"
    partial = Path(str(out) + ".partial")
    proc = subprocess.Popen([str(a) for a in big_plan_command(brink, tmp_path, out,
                                                               *(["--summary-only"] if summary_only else []))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not partial.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert partial.exists() and proc.poll() is None, "test setup: the run should be creating its file"
        time.sleep(0.2)
        start = time.monotonic()
        proc.send_signal(signum)
        code = proc.wait(timeout=300)
        elapsed = time.monotonic() - start
    finally:
        proc.kill()
        proc.wait()
    message = proc.stderr.read()
    assert code == 1 and "interrupted" in message and not CRASH_PATTERN.search(message), message
    assert "--resume" not in message, message  # nothing was finished to resume from
    assert elapsed < 2.0, f"the interruption took {elapsed:.2f} s (about a second promised)"
    assert not list(tmp_path.glob("big.h5*")), list(tmp_path.glob("big.h5*"))  # no half-made file left


def test_many_threads_under_a_memory_limit_fail_cleanly_or_run(brink, tmp_path):
    scenario = flagship(tmp_path)
    proc = subprocess.run(["bash", "-c", 'ulimit -v 2097152; exec "$0" run "$1" -n 2048 -t 1024 -o "$2"', brink,
                           str(scenario), str(tmp_path / "t.h5")], capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    assert "terminate called" not in proc.stderr
    if proc.returncode == 0:
        assert "using" in proc.stderr  # the cap was applied and said so
    else:
        assert "fewer --threads" in proc.stderr, proc.stderr


# --------------------------------------------------------------------------
# inspect on files brink did not write
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def good_result(brink, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("good")
    out = tmp / "good.h5"
    assert run(brink, "run", "docs/examples/minimal.yaml", "-q", "-n", "256", "-o", out, cwd=SOURCE).returncode == 0
    return out


def forge(source, target, edit):
    shutil.copy(source, target)
    with h5py.File(target, "r+") as f:
        edit(f)
    return target


@pytest.mark.parametrize("name,edit,fragment", [
    ("no-outcome-count", lambda f: f.__delitem__("outcome_count"), "'outcome_count' is missing"),
    ("no-actor", lambda f: f.__delitem__("actor"), "'actor' is missing"),
    ("no-replications", lambda f: f.__delitem__("replications"), "'replications' is missing"),
    ("string-probability", lambda f: (f.__delitem__("outcome_probability"),
                                      f.create_dataset("outcome_probability", data=np.array([b"x"] * 5).reshape(1, 5))),
     "'outcome_probability' holds string values"),
    ("short-lower", lambda f: (f.__delitem__("outcome_probability_lower"),
                               f.create_dataset("outcome_probability_lower", data=np.zeros((1, 3)))),
     "'outcome_probability_lower' has 3 entries"),
    ("flat-casualties", lambda f: (f.__delitem__("mean_casualties"),
                                   f.create_dataset("mean_casualties", data=np.zeros(3))),
     "'mean_casualties' has 1 dimensions"),
    ("no-engine", lambda f: f.attrs.__delitem__("engine"), "'engine' is missing"),
    ("group-not-dataset", lambda f: (f.__delitem__("mean_end_day"), f.create_group("mean_end_day")),
     "'mean_end_day' is missing"),
])
def test_inspect_refuses_forged_files_naming_the_variable(brink, tmp_path, good_result, name, edit, fragment):
    forged = forge(good_result, tmp_path / f"{name}.h5", edit)
    proc = run(brink, "inspect", forged)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert fragment in proc.stderr, proc.stderr


def test_inspect_refuses_a_foreign_hdf5_file(brink, tmp_path):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    proc = run(brink, "inspect", foreign)
    assert proc.returncode == 2 and "'engine' is missing" in proc.stderr, proc.stderr


# --------------------------------------------------------------------------
# damaged files, pipes and oversized plans (a hostile audit's findings)
# --------------------------------------------------------------------------

# Signatures of HDF5 metadata that carries a checksum: one byte changed past
# the signature fails the checksum, which a SWMR reader retries.
CHECKSUMMED = [b"FRHP", b"OHDR", b"OCHK", b"BTHD", b"BTLF", b"FSHD", b"FSSE", b"FHDB", b"FHIB", b"SMTB", b"SMLI"]


def damaged_copies(source, directory):
    """One copy of SOURCE per checksummed metadata signature it holds, a byte of that block flipped."""
    data = source.read_bytes()
    copies = []
    for signature in CHECKSUMMED:
        at = data.find(signature)
        if at < 0:
            continue
        copy = bytearray(data)
        copy[at + 6] ^= 0x5A
        path = directory / f"{source.stem}-{signature.decode()}.h5"
        path.write_bytes(bytes(copy))
        copies.append(path)
    assert any("FRHP" in p.name for p in copies), "the file has no fractal heap: pick another signature"
    return copies


def refused_promptly_or_read(brink, args, path):
    """Exit 0 when the flipped byte is in a block the command never reads; else exit 2 naming the file."""
    start = time.monotonic()
    proc = run(brink, *args, timeout=30)  # a hang raises TimeoutExpired
    assert time.monotonic() - start < 20, (path.name, args[0])
    assert not CRASH_PATTERN.search(proc.stderr), proc.stderr
    assert proc.returncode in (0, 2), (path.name, args[0], proc.returncode, proc.stderr)
    if proc.returncode == 2:
        assert path.name in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    return proc.returncode


def test_damaged_metadata_is_refused_promptly_not_retried_forever(brink, tmp_path, good_result):
    refused = [refused_promptly_or_read(brink, ["inspect", p], p) for p in damaged_copies(good_result, tmp_path)]
    assert refused.count(2) >= 3, refused  # object headers, heaps and B-trees are read by inspect
    args = ["-n", "256", "--sweep", "actors.RED.decision.rationality=1,2"]
    shards = []
    for i in range(2):
        shards.append(tmp_path / f"shard{i}.h5")
        made = run(brink, "run", MINIMAL, "-q", *args, "--shard", f"{i}/2",
                   "-o", shards[-1])
        assert made.returncode == 0, made.stderr
    merged = tmp_path / "m.h5"
    for path in damaged_copies(shards[0], tmp_path):
        if refused_promptly_or_read(brink, ["merge", "-q", merged, path, shards[1]], path) == 2:
            assert not merged.exists() and not Path(f"{merged}.partial").exists()
        merged.unlink(missing_ok=True)


def test_a_pipe_given_as_an_input_file_is_refused_not_waited_on(brink, tmp_path, good_result):
    fifo = tmp_path / "f.h5"
    os.mkfifo(fifo)
    calibration = SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml"
    for args in (["inspect", fifo], ["merge", "-q", tmp_path / "m.h5", fifo, good_result],
                 ["run", calibration, "-q", "-n", "64", "--posterior", fifo, "-o", tmp_path / "o.h5"]):
        proc = run(brink, *args, timeout=30)
        assert proc.returncode == 2, (args[0], proc.stderr)
        assert "f.h5" in proc.stderr, proc.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_calibrate_never_writes_over_its_scenario(brink, tmp_path):
    source = (SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml").read_text(encoding="utf-8")
    scenario = tmp_path / "s.yaml"
    scenario.write_text(source, encoding="utf-8")
    # -o the scenario itself, and an -o whose posterior scenario (OUT.posterior.yaml) is the scenario.
    posterior_named = tmp_path / "x.posterior.yaml"
    posterior_named.write_text(source, encoding="utf-8")
    for scen, out, says in ((scenario, scenario, "is the input file"),
                            (posterior_named, tmp_path / "x.h5", "writes its posterior scenario to")):
        proc = run(brink, "calibrate", scen, "-q", "--particles", "16", "--generations", "2", "-t", "1", "-o", out)
        assert proc.returncode == 2 and says in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
        assert scen.read_text(encoding="utf-8") == source
    assert not (tmp_path / "x.h5").exists()
    pipe = tmp_path / "c.posterior.yaml"
    os.mkfifo(pipe)
    proc = run(brink, "calibrate", scenario, "-q", "--particles", "16", "--generations", "2", "-t", "1",
               "-o", tmp_path / "c.h5", timeout=60)
    assert proc.returncode == 2 and "FIFO" in proc.stderr, proc.stderr
    assert not (tmp_path / "c.h5").exists()


def test_a_plan_too_large_for_memory_is_refused_before_it_starts(brink, tmp_path):
    values = ",".join(str(v / 1000) for v in range(1, 1001))
    grid = flagship(tmp_path, "grid.yaml")
    with grid.open("a", encoding="utf-8") as f:
        f.write("sweep:\n  parameters:\n")
        for path in ("escalation.tension.decay", "escalation.incidents.base_rate", "escalation.incidents.tension_rate"):
            f.write(f"    {path}: [{values}]\n")
    grid_free = flagship(tmp_path, "plain.yaml")
    # Each refusal names the count planned (an outside tester's finding: it said only "more than 10000000").
    for planned, args in (
            (1000 ** 3, ["validate", grid]), (1000 ** 3, ["run", grid, "-q", "-n", "64", "-o", tmp_path / "g.h5"]),
            (30000000, ["run", "-q", "-n", "64", "-o", tmp_path / "m.h5", "--design", "morris", "--samples",
                        "10000000", "--sweep", "escalation.tension.decay=0:1", "--sweep",
                        "escalation.incidents.base_rate=0:1"]),
            (10 ** 10, ["run", "-q", "-n", "64", "-o", tmp_path / "l.h5", "--design", "lhs", "--samples", "10000000",
                        "--sweep", "escalation.tension.decay=0:1", "--lever",
                        f"escalation.incidents.base_rate={values}"]),
            # Two scenario files run the 6,000,000 samples once each.
            (12000000, ["run", grid_free, "-q", "-n", "64", "-o", tmp_path / "s.h5", "--design", "random",
                        "--samples", "6000000", "--sweep", f"scenario={grid_free},{grid_free}", "--sweep",
                        "escalation.tension.decay=0:1"])):
        proc = run(brink, *args, timeout=60)
        assert proc.returncode == 2, (args, proc.stderr[-500:])
        assert f"the design plans {planned} points, more than the 10000000 one run holds" in proc.stderr \
            and proc.stderr.count("\n") == 1, proc.stderr
    assert not list(tmp_path.glob("*.h5*"))
    # The largest plan allowed is planned: one sampled axis at the most samples passes validation.
    ok = run(brink, "validate", flagship(tmp_path, "ok.yaml", **{r"\Z": "\nsweep:\n  design: sobol\n  samples: 10000000\n"
                                                                       "  parameters:\n    escalation.tension.decay: "
                                                                       "{min: 0, max: 0.1}\n"}))
    assert ok.returncode == 0, ok.stderr


def test_damaged_calibration_and_partial_files_are_bad_input_naming_the_file(brink, tmp_path, good_result):
    calibration_scenario = SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml"
    calibration = tmp_path / "c.h5"
    made = run(brink, "calibrate", calibration_scenario, "-q", "--particles", "16", "--generations", "2", "-t", "1",
               "-o", calibration, timeout=300)
    assert made.returncode == 0, made.stderr
    damaged = forge(calibration, tmp_path / "damaged.h5", lambda f: f.__delitem__("parameter"))
    for args in (["inspect", damaged],
                 ["run", calibration_scenario, "-q", "-n", "64", "--posterior", damaged, "-o", tmp_path / "o.h5"]):
        proc = run(brink, *args)
        assert proc.returncode == 2, (args[0], proc.returncode, proc.stderr)
        assert "damaged.h5" in proc.stderr and "cannot be read" in proc.stderr, proc.stderr
    # calibrate --resume over a .partial that is text, or damaged: refused, with the way out.
    for name, content in (("text-partial", b"not hdf5\n"), ("damaged-partial", damaged.read_bytes())):
        out = tmp_path / f"{name}.h5"
        (tmp_path / f"{name}.h5.partial").write_bytes(content)
        proc = run(brink, "calibrate", calibration_scenario, "-q", "--particles", "16", "--generations", "2",
                   "-t", "1", "--resume", "-o", out)
        assert proc.returncode == 2 and "--overwrite" in proc.stderr, (name, proc.stderr)
        assert not out.exists()
    # run --resume over a .partial of the same run whose datasets cannot be read back.
    partial = tmp_path / "r.h5.partial"
    with h5py.File(good_result, "r") as f:
        header = h5py.h5o.get_info(f["point"].id).addr  # the dataset's object header, checksummed
    data = bytearray(good_result.read_bytes())
    assert data[header:header + 4] == b"OHDR"
    data[header + 6] ^= 0x5A
    partial.write_bytes(bytes(data))
    before = partial.read_bytes()
    proc = run(brink, "run", "docs/examples/minimal.yaml", "-q", "-n", "256", "--resume", "-o", tmp_path / "r.h5",
               cwd=SOURCE)
    assert proc.returncode == 2, proc.stderr
    assert "r.h5.partial' is damaged" in proc.stderr and "--overwrite" in proc.stderr, proc.stderr
    assert partial.read_bytes() == before and not (tmp_path / "r.h5").exists()


@pytest.mark.parametrize("name,replace,fragment", [
    ("rungs-not-a-list", {r"^  rungs: \[.*\]$": "  rungs: diplomacy"}, "'escalation.rungs' must be a list"),
    ("ally-and-adversary", {r"^  allies: \[\[USA, NATO\]\]$": "  allies: [[USA, NATO], [RUS, UKR]]"},
     "both as adversaries and as allies"),
    ("start-date-impossible", {r"^  start_date: \S+": "  start_date: 2021-11-31"}, "'run.start_date' must be"),
    ("run-not-a-map", {r"^run:\n(?:[ #].*\n|\n)+": "run: daily\n"}, "'run' must be a mapping"),
    ("samples-zero", {r"\Z": "\nsweep:\n  design: lhs\n  samples: 0\n  parameters:\n"
                             "    escalation.tension.decay: {min: 0, max: 0.1}\n"}, "'sweep.samples' must be"),
    # A refused prior is not also summed with the others' (its default would stand in for it).
    ("prior-nan", {r"^        prior: 0\.5 .*$": "        prior: .nan"}, "prior' must be a finite number"),
    ("prior-above-one", {r"^        prior: 0\.5 .*$": "        prior: 1.5"}, "prior' must be in [0, 1]"),
])
def test_one_fault_is_reported_once_not_echoed_by_what_depends_on_it(brink, tmp_path, name, replace, fragment):
    text = (SOURCE / "scenarios" / "backtest-2022.yaml").read_text(encoding="utf-8")
    for old, new in replace.items():
        text, count = re.subn(old, lambda _, new=new: new, text, count=1, flags=re.M)
        assert count == 1, old
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    proc = run(brink, "validate", path)
    assert proc.returncode == 2 and fragment in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr


@pytest.mark.parametrize("line_end,refused", [("\r", True), ("\r\n", False)])
def test_line_ends_of_cr_alone_are_named_not_called_empty(brink, tmp_path, line_end, refused):
    # yaml-cpp reads a lone CR as an ordinary byte, so a file saved with classic Mac
    # line ends would be one long comment line after its first '#'.
    path = tmp_path / "mac.yaml"
    path.write_bytes(MINIMAL.read_bytes().replace(b"\n", line_end.encode()))
    proc = run(brink, "validate", path)
    if refused:
        assert proc.returncode == 2 and "carriage return (CR) without a line feed" in proc.stderr, proc.stderr
        assert "empty" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
