"""Round 37 hostile tester's findings: a hostile environment (closed standard descriptors, a small
stack, CPU, memory and open-file limits, unreadable files, a closed pipe) gets its own cause named,
never "damaged", and never loses a run's work; number options quote a refused value as given; an
output path is never one of brink's own kernel libraries.
"""

import os
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import h5py
import pytest

SWEPT = "actors.RUS.forces.deployed"


def brink_with(brink, *args, cwd, limits=(), shell_redirects="", timeout=180, user=None):
    """brink *args in `cwd` under the resource `limits` ((RLIMIT_X, soft, hard), ...), with
    `shell_redirects` (e.g. '<&- 2>&-') applied by bash before brink starts, as user `user`."""

    def prepare():
        for which, soft, hard in limits:
            resource.setrlimit(which, (soft, hard))
        if user is not None:
            os.setgid(user)
            os.setuid(user)

    command = ["bash", "-c", f'exec "$0" "$@" {shell_redirects}', str(brink), *map(str, args)]
    try:
        return subprocess.run(command, cwd=cwd, capture_output=not shell_redirects, text=True, timeout=timeout,
                              preexec_fn=prepare)
    except subprocess.TimeoutExpired:
        pytest.fail(f"brink {' '.join(map(str, args))} hung (no answer in {timeout} s)")


def one_sentence(proc):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# --------------------------------------------------------------------------
# F1, L9: closed standard descriptors
# --------------------------------------------------------------------------


def test_run_with_stdin_and_stderr_closed_publishes_its_result(brink, tmp_path):
    """F1: with fds 0 and 2 closed the .partial became fd 2, progress text overwrote its superblock
    and the run failed with exit 1 and no file."""
    proc = brink_with(brink, "run", "-n", 2000, "-t", 1, "-o", "a.h5", cwd=tmp_path,
                      shell_redirects="<&- 2>&- >/dev/null")
    assert proc.returncode == 0
    assert (tmp_path / "a.h5").is_file() and not (tmp_path / "a.h5.partial").exists()
    with h5py.File(tmp_path / "a.h5", "r") as f:
        assert f.attrs["engine"] == b"brink" or f.attrs["engine"] == "brink"


def test_run_with_stdout_closed_publishes_and_exits_as_its_output_says(brink, tmp_path):
    """F1: with stdout closed the .lock took fd 1 and the header overwrote its note. The run now
    publishes its file and leaves no lock; its exit code still says whether what it printed (the
    table) arrived (tests/cli/test_outputs_review.py): 1 when it printed, 0 with -q."""
    for quiet, code in (([], 1), (["-q"], 0)):
        out = tmp_path / f"a{len(quiet)}.h5"
        proc = brink_with(brink, "run", "-n", 200, "-t", 1, "-o", out.name, *quiet, cwd=tmp_path,
                          shell_redirects=">&- 2>/dev/null")
        assert proc.returncode == code
        assert out.is_file() and not out.with_name(out.name + ".lock").exists()


def test_interrupted_run_with_stderr_closed_keeps_a_resumable_partial(brink, tmp_path):
    """F1: an interrupted run with fds 0 and 2 closed destroyed its .partial of finished blocks."""
    partial = tmp_path / "r.h5.partial"
    child = subprocess.Popen(["bash", "-c", 'exec "$0" "$@" <&- 2>&- >/dev/null', str(brink), "run", "-n", "3000000",
                              "-t", "1", "-o", "r.h5"], cwd=tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (partial.exists() and partial.stat().st_size > 2_000_000):
        time.sleep(0.2)
    time.sleep(2.5)  # the writer flushes its finished blocks every 2 s
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=120) == 1
    assert partial.is_file(), "the interrupted run's .partial was removed"
    inspected = subprocess.run([brink, "inspect", partial], capture_output=True, text=True, timeout=120)
    assert inspected.returncode == 0, inspected.stderr
    assert "progress" not in partial.read_bytes()[:4096].decode("latin-1")


# --------------------------------------------------------------------------
# F3: a small stack
# --------------------------------------------------------------------------

SMALL_STACK = ((resource.RLIMIT_STACK, 64 * 1024, resource.RLIM_INFINITY),)


def test_run_and_inspect_under_a_64_kib_stack(brink, tmp_path):
    """F3: `ulimit -s 64` made every run die of SIGSEGV (the compressor's state on a worker's
    stack) and inspect too (a 64 KiB read buffer on the stack)."""
    for threads in (1, 2):
        proc = brink_with(brink, "run", "-n", 2000, "-t", threads, "-q", "-o", f"a{threads}.h5", cwd=tmp_path,
                          limits=SMALL_STACK)
        assert proc.returncode == 0, (threads, proc.returncode, proc.stderr)
    proc = brink_with(brink, "inspect", "a1.h5", cwd=tmp_path, limits=SMALL_STACK)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)


def test_merge_under_a_64_kib_stack(brink, tmp_path):
    """F3: merge died of SIGSEGV in the check that a shard's chunk inflates (ISA-L's state on the
    stack), leaving OUT.lock and OUT.partial."""
    for i in range(2):
        subprocess.run([brink, "run", "-n", "300", "-t", "1", "-q", "--sweep", f"{SWEPT}=100000,180000",
                        "--shard", f"{i}/2", "-o", tmp_path / f"s{i}.h5"], check=True, timeout=180)
    proc = brink_with(brink, "merge", "-q", "m.h5", "s0.h5", "s1.h5", cwd=tmp_path, limits=SMALL_STACK)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert (tmp_path / "m.h5").is_file() and not (tmp_path / "m.h5.partial").exists()


# --------------------------------------------------------------------------
# F4, F5: CPU and memory limits are not damage
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sweep_file(brink, tmp_path_factory):
    """A healthy 3000-point result (about 90 MB)."""
    path = tmp_path_factory.mktemp("sweep") / "pp.h5"
    subprocess.run([brink, "run", "-n", "5", "-t", "2", "-q", "-o", path, "--sweep", f"{SWEPT}=100000:180000",
                    "--design", "random", "--samples", "3000"], check=True, timeout=600)
    return path


def test_inspect_short_of_memory_says_so_not_damaged(brink, sweep_file):
    """F5: under `ulimit -v` an HDF5 read that could not allocate called a healthy file damaged
    (exit 2); the out-of-memory message also advised --shard, which inspect does not have."""
    for kib in (30000, 35000, 40000, 45000):
        limit = kib * 1024
        proc = brink_with(brink, "inspect", sweep_file, cwd=sweep_file.parent,
                          limits=((resource.RLIMIT_AS, limit, limit),))
        if proc.returncode == 0:
            continue  # enough at this limit on this machine
        line = one_sentence(proc)
        assert proc.returncode == 1, (kib, line)
        assert "out of memory" in line and "damaged" not in line and "--shard" not in line, (kib, line)


@pytest.fixture(scope="module")
def large_summary_file(brink, tmp_path_factory):
    """A healthy 20,000-point summary-only result (about 600 MB), whose inspect takes over a CPU second."""
    path = tmp_path_factory.mktemp("large") / "m.h5"
    subprocess.run([brink, "run", "-n", "1", "-t", "2", "-q", "--summary-only", "--sweep", f"{SWEPT}=100000:180000",
                    "--design", "random", "--samples", "20000", "-o", path], check=True, timeout=600)
    yield path
    path.unlink()


def cpu_seconds_of_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_inspect_under_a_cpu_limit_names_the_limit(brink, large_summary_file):
    """F4: with `ulimit -S -t 1; ulimit -H -t 2` the read check could not raise its CPU limit, died
    of SIGXCPU, and the file was called damaged (exit 2) with an invented duration."""
    before = cpu_seconds_of_children()
    free = subprocess.run([brink, "inspect", large_summary_file], capture_output=True, text=True, timeout=300)
    assert free.returncode == 0, free.stderr
    if cpu_seconds_of_children() - before < 1.5:
        pytest.skip("inspect of the file takes under a CPU second here: the limit is never reached")
    proc = brink_with(brink, "inspect", large_summary_file, cwd=large_summary_file.parent,
                      limits=((resource.RLIMIT_CPU, 1, 2),))
    line = one_sentence(proc)
    assert proc.returncode == 1, line
    assert "CPU-time limit" in line and "ulimit -t" in line and "damaged" not in line, line


# --------------------------------------------------------------------------
# F2, L3: out of file descriptors
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ten_shards(brink, tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    for i in range(10):
        subprocess.run([brink, "run", "-n", "2", "-t", "1", "-q", "--sweep", f"{SWEPT}=100000:180000", "--design",
                        "random", "--samples", "20", "--shard", f"{i}/10", "-o", folder / f"sh{i}.h5"], check=True,
                       timeout=180)
    return folder


def test_merge_past_the_open_file_limit_names_the_limit(brink, ten_shards):
    """F2: past `ulimit -n` merge called a good shard damaged and said to run it again (exit 2)."""
    shards = [f"sh{i}.h5" for i in range(10)]
    proc = brink_with(brink, "merge", "-q", "m.h5", *shards, cwd=ten_shards,
                      limits=((resource.RLIMIT_NOFILE, 10, 10),))
    line = one_sentence(proc)
    assert proc.returncode == 1, line
    assert "too many open files" in line and "ulimit -n" in line and "damaged" not in line, line
    assert not (ten_shards / "m.h5").exists() and not (ten_shards / "m.h5.partial").exists()


def test_merge_raises_a_low_soft_open_file_limit(brink, ten_shards):
    """F2: a soft limit below the shard count, with room under the hard one, no longer stops a merge."""
    shards = [f"sh{i}.h5" for i in range(10)]
    proc = brink_with(brink, "merge", "-q", "m2.h5", *shards, cwd=ten_shards,
                      limits=((resource.RLIMIT_NOFILE, 10, 4096),))
    assert proc.returncode == 0, proc.stderr
    assert (ten_shards / "m2.h5").is_file()


def interrupted_partial(brink, folder, name):
    partial = folder / f"{name}.partial"
    child = subprocess.Popen([brink, "run", "-n", "3000000", "-t", "1", "-q", "-o", name], cwd=folder,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (partial.exists() and partial.stat().st_size > 2_000_000):
        time.sleep(0.2)
    time.sleep(2.5)
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=120)
    assert partial.is_file()
    return partial


def test_resume_short_of_descriptors_keeps_the_partial(brink, tmp_path):
    """L3: `ulimit -n 5; brink run --resume` called a healthy partial damaged and advised
    --overwrite, which throws its blocks away."""
    partial = interrupted_partial(brink, tmp_path, "r.h5")
    size = partial.stat().st_size
    proc = brink_with(brink, "run", "-n", 3000000, "-t", 1, "-q", "-o", "r.h5", "--resume", cwd=tmp_path,
                      limits=((resource.RLIMIT_NOFILE, 5, 5),))
    assert proc.returncode == 1, proc.stderr
    assert "damaged" not in proc.stderr and "--overwrite" not in proc.stderr, proc.stderr
    assert "too many open files" in proc.stderr, proc.stderr
    assert partial.is_file() and partial.stat().st_size >= size


# --------------------------------------------------------------------------
# L1, L5, L6, L8
# --------------------------------------------------------------------------


@pytest.mark.parametrize("args, shown", [
    (["run", "-t", " 2"], "' 2'"),
    (["run", "-t", "2 "], "'2 '"),
    (["run", "-n", "5\t"], "'5\\t'"),
    (["calibrate", "validation/calibrate-incidents", "--quantile", " 0.5"], "' 0.5'"),
])
def test_number_with_a_blank_is_quoted_with_it(run, args, shown):
    """L1: a number refused for a blank around it was quoted without it ("got '2'")."""
    proc = run(*args)
    assert proc.returncode == 2
    assert f"got {shown}" in proc.stderr, proc.stderr


def test_params_into_a_closed_pipe_exits_0(brink):
    """L6: `brink params | head -1` was killed by SIGPIPE (exit 141)."""
    for args in (["params"], ["params", "jan-2022-standoff"]):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader has gone before brink writes: every write meets EPIPE
        try:
            proc = subprocess.run([brink, *args], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
        finally:
            os.close(write_end)
        assert proc.returncode == 0, (args, proc.returncode, proc.stderr)
        assert proc.stderr == ""


def test_output_over_a_kernel_library_is_refused(brink, tmp_path):
    """L8: `-o brink_kernel_avx512.so --overwrite` beside the binary replaced the kernel brink loads."""
    source = Path(brink).resolve().parent
    kernels = sorted(source.glob("brink_kernel_*.so"))
    if not kernels:
        pytest.skip("this brink keeps its kernels elsewhere")
    shutil.copy2(brink, tmp_path / "brink")
    for kernel in kernels:
        shutil.copy2(kernel, tmp_path / kernel.name)
    for kernel in kernels:
        before = (tmp_path / kernel.name).read_bytes()
        proc = subprocess.run(["./brink", "run", "-n", "5", "-t", "1", "-q", "-o", kernel.name, "--overwrite"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "kernel" in one_sentence(proc), proc.stderr
        assert (tmp_path / kernel.name).read_bytes() == before


@pytest.fixture
def nobody_dir():
    """A directory another user may use, and that user's id (the tests run as root or not)."""
    folder = Path(tempfile.mkdtemp(dir="/tmp"))
    folder.chmod(0o777)
    yield folder, 65534 if os.geteuid() == 0 else None
    shutil.rmtree(folder, ignore_errors=True)


def test_unreadable_hdf5_input_is_named_as_permission_denied(brink, nobody_dir):
    """L5: an unreadable result or shard was "not an HDF5 file (or cannot be read)", an unreadable
    calibration "not a calibration file"."""
    folder, user = nobody_dir
    if not os.access(brink, os.X_OK) or not all(
            os.stat(p).st_mode & stat.S_IXOTH for p in Path(brink).resolve().parents if p != Path("/")):
        pytest.skip("the binary is not reachable by another user")
    for i in range(2):
        subprocess.run([brink, "run", "-n", "20", "-t", "1", "-q", "--sweep", f"{SWEPT}=100000,180000", "--shard",
                        f"{i}/2", "-o", folder / f"s{i}.h5"], check=True, timeout=180)
    (folder / "s1.h5").chmod(0)
    proc = brink_with(brink, "inspect", "s1.h5", cwd=folder, user=user)
    line = one_sentence(proc)
    assert proc.returncode == 2 and "Permission denied" in line and "s1.h5" in line, line
    proc = brink_with(brink, "merge", "m.h5", "s0.h5", "s1.h5", cwd=folder, user=user)
    line = one_sentence(proc)
    assert proc.returncode == 2 and "Permission denied" in line and "s1.h5" in line, line
