"""The kernel's instruction-set paths, end to end: --isa, --version, target_isa and --resume.

Each path is its own shared object loaded at run time (docs/architecture.md, "Determinism").
Bitwise reproducibility is promised per path, so every comparison here stays within one path.
"""

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import interrupt_after_first_blocks

PATHS = ["avx2", "avx512"]


def _check(proc, code=0):
    assert proc.returncode == code, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def _one_sentence(stderr):
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{stderr}"
    for bad in ("HDF5-DIAG", "terminate called", "Traceback", "what():"):
        assert bad not in stderr, stderr
    return lines[0]


def _version_lines(run):
    out = _check(run("--version")).stdout
    lines = dict(line.split(": ", 1) for line in out.splitlines()[1:] if ": " in line)
    return out, lines


@pytest.fixture(scope="module")
def cpu_paths(run):
    _, lines = _version_lines(run)
    return [p.strip() for p in lines["kernel paths this CPU runs"].split(",")]


def _require(path, cpu_paths):
    if path not in cpu_paths:
        pytest.skip(f"this CPU does not run the {path} path (it runs {', '.join(cpu_paths)})")


def _datasets(path):
    with h5py.File(path, "r") as f:
        out = {}
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        return out, f.attrs["target_isa"].decode() if isinstance(f.attrs["target_isa"], bytes) else str(f.attrs["target_isa"])


def _assert_same_bits(a, b):
    da, _ = _datasets(a)
    db, _ = _datasets(b)
    assert sorted(da) == sorted(db)
    for name, value in da.items():
        other = db[name]
        assert value.dtype == other.dtype and value.shape == other.shape, name
        if value.dtype.kind in "biufc":
            assert value.tobytes() == other.tobytes(), f"{name} differs"
        else:
            assert np.array_equal(value, other), f"{name} differs"


def test_version_names_the_paths_and_the_one_used(run, cpu_paths):
    out, lines = _version_lines(run)
    assert out.startswith("brink "), out
    assert [p.strip() for p in lines["kernel paths built"].split(",")] == ["avx512", "avx2"]
    assert set(cpu_paths) <= set(PATHS) and "avx2" in cpu_paths, out
    best = "avx512" if "avx512" in cpu_paths else "avx2"
    assert lines["kernel path used"].startswith(best + " "), out
    assert re.fullmatch(r"no|Open MPI \d+\.\d+\.\d+", lines["MPI"]), out  # tests/mpi checks it runs


@pytest.mark.parametrize("path", PATHS)
def test_each_path_records_itself_and_is_identical_across_thread_counts(run, cpu_paths, tmp_path, path):
    _require(path, cpu_paths)
    files = {}
    for threads in (1, 2):
        files[threads] = tmp_path / f"{path}-{threads}.h5"
        # 1000 replications: three full blocks and a partial one, per-replication data on.
        proc = _check(run("run", "-n", 1000, "--threads", threads, "--isa", path, "-o", files[threads],
                          "--timeseries", "every=10"))
        assert f"{path} kernel" in proc.stdout
    for threads, f in files.items():
        assert _datasets(f)[1] == path, f"--isa {path} --threads {threads} recorded another target_isa"
    _assert_same_bits(files[1], files[2])


def test_default_is_the_best_path_the_cpu_runs(run, cpu_paths, tmp_path):
    target = tmp_path / "default.h5"
    _check(run("run", "-n", 300, "-q", "--summary-only", "-o", target))
    assert _datasets(target)[1] == ("avx512" if "avx512" in cpu_paths else "avx2")


@pytest.mark.parametrize("value", ["sse2", "AVX2", ""])
def test_unknown_path_is_a_usage_error(run, tmp_path, value):
    target = tmp_path / "never.h5"
    proc = _check(run("run", "-n", 300, "-q", "--isa", value, "-o", target), code=2)
    line = _one_sentence(proc.stderr)
    assert f"'{value}'" in line and "avx2" in line, line
    assert not target.exists() and not target.with_name(target.name + ".partial").exists()


def test_a_truncated_kernel_object_is_refused_before_anything_is_written(brink, cpu_paths, tmp_path):
    """A kernel object cut short (an interrupted copy or install) used to kill brink with SIGBUS,
    even `brink --version`, when dlopen's mapping touched a page past the file's end, and `run`
    left a partial and a lock behind: now one sentence, exit 1, and nothing written."""
    default = "avx512" if "avx512" in cpu_paths else "avx2"
    built = Path(brink).parent
    copy = tmp_path / "bin"
    copy.mkdir()
    shutil.copy2(brink, copy / "brink")
    for other in PATHS:
        if other != default and (built / f"brink_kernel_{other}.so").exists():
            shutil.copy2(built / f"brink_kernel_{other}.so", copy)
    whole = (built / f"brink_kernel_{default}.so").read_bytes()
    for cut in (4096, len(whole) // 2, len(whole) - 8):
        (copy / f"brink_kernel_{default}.so").write_bytes(whole[:cut])
        version = subprocess.run([copy / "brink", "--version"], capture_output=True, text=True, timeout=60)
        _check(version)
        assert f"kernel path used: none ({copy / f'brink_kernel_{default}.so'} is truncated ({cut} of its" \
            in version.stdout, version.stdout
        target = tmp_path / "never.h5"
        proc = subprocess.run([copy / "brink", "run", "-n", "300", "-q", "-o", target], capture_output=True,
                              text=True, timeout=60, cwd=tmp_path)
        line = _one_sentence(_check(proc, code=1).stderr)
        assert line.startswith("brink run: ") and "is truncated" in line and "reinstall brink" in line, line
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"], list(tmp_path.iterdir())


def test_a_kernel_of_another_build_is_refused(brink, cpu_paths, tmp_path):
    """The binary loads only a kernel variant built from its own engine sources. The check was a
    hand-kept ABI number that a change of the types passed to the kernel did not bump, and a
    variant left from an earlier build was loaded and crashed the run (SIGSEGV). Here the
    variant's fingerprint is altered in a copy, as another build's would differ."""
    default = "avx512" if "avx512" in cpu_paths else "avx2"
    built = Path(brink).parent
    version = _check(subprocess.run([brink, "--version"], capture_output=True, text=True, timeout=60)).stdout
    fingerprint = re.search(r"engine sources ([0-9a-f]{32})\)", version).group(1).encode()
    copy = tmp_path / "bin"
    copy.mkdir()
    shutil.copy2(brink, copy / "brink")
    whole = (built / f"brink_kernel_{default}.so").read_bytes()
    assert whole.count(fingerprint) == 1, "the variant carries the binary's fingerprint once"
    other = bytes(reversed(fingerprint))
    (copy / f"brink_kernel_{default}.so").write_bytes(whole.replace(fingerprint, other))
    target = tmp_path / "never.h5"
    proc = subprocess.run([copy / "brink", "run", "-n", "300", "-q", "-o", target], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    line = _one_sentence(_check(proc, code=1).stderr)
    assert f"is not a brink {default} kernel of this version" in line and "reinstall brink" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"], list(tmp_path.iterdir())
    # The unaltered copy runs: the refusal is the fingerprint's.
    (copy / f"brink_kernel_{default}.so").write_bytes(whole)
    _check(subprocess.run([copy / "brink", "run", "-n", "300", "-q", "-o", target], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path))


def test_without_proc_no_kernel_is_loaded_from_the_working_directory(brink, tmp_path):
    """With /proc/self/exe unreadable the loader looked for its kernels in the working directory,
    and would have loaded any brink_kernel_*.so lying there. Now it refuses, naming /proc. Run in a
    private mount namespace with /proc unmounted; a text file stands in the working directory
    under the kernel's name, so a load attempt from there would say it is not an ELF object."""
    probe = subprocess.run(["unshare", "--mount", "--fork", "true"], capture_output=True, timeout=60)
    # CI runs as root on a machine that permits it, so there this test runs; a container without
    # CAP_SYS_ADMIN cannot make the namespace at all, and the case cannot be set up.
    if probe.returncode != 0:
        pytest.skip(f"unshare --mount is not permitted here: {probe.stderr.decode().strip()}")
    for isa in PATHS:
        (tmp_path / f"brink_kernel_{isa}.so").write_text("not a kernel\n")
    target = tmp_path / "never.h5"
    script = f"umount -l /proc && exec {brink} run -n 300 -q -o {target}"
    proc = subprocess.run(["unshare", "--mount", "--fork", "sh", "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    line = _one_sentence(_check(proc, code=1).stderr)
    assert "cannot find the directory of the brink executable" in line and "/proc" in line, line
    assert not target.exists() and not target.with_name(target.name + ".partial").exists()


def _interrupt(brink, target, *extra):
    """Starts a long run, interrupts it once some blocks are done; the .partial remains."""
    partial = target.with_name(target.name + ".partial")
    proc = subprocess.Popen([brink, "run", "-n", "100000", "--threads", "1", "-q", "--seed", "5", "-o", str(target),
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        interrupt_after_first_blocks(proc, partial, time.monotonic() + 20, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, err
    return partial


def test_resume_continues_on_the_recorded_path(brink, run, cpu_paths, tmp_path):
    # The interesting case is a partial file written by a path that is not the default.
    _require("avx512", cpu_paths)
    target = tmp_path / "resumed.h5"
    partial = _interrupt(brink, target, "--isa", "avx2")
    with h5py.File(partial, "r") as f:
        assert 0 < f["block_done"][0].sum() < f["block_done"][0].size

    proc = _check(run("run", "-n", 100000, "--threads", 2, "-q", "--seed", 5, "-o", target, "--resume",
                      "--isa", "avx512"), code=2)
    line = _one_sentence(proc.stderr)
    assert "avx512" in line and "avx2" in line and "--isa" in line, line
    assert partial.exists()

    _check(run("run", "-n", 100000, "--threads", 2, "-q", "--seed", 5, "-o", target, "--resume"))
    reference = tmp_path / "reference.h5"
    _check(run("run", "-n", 100000, "--threads", 2, "-q", "--seed", 5, "-o", reference, "--isa", "avx2"))
    assert _datasets(target)[1] == "avx2"
    _assert_same_bits(target, reference)


def test_resume_refuses_a_path_this_cpu_or_build_lacks(brink, run, tmp_path):
    target = tmp_path / "foreign.h5"
    partial = _interrupt(brink, target)
    with h5py.File(partial, "r+") as f:  # as if written on a machine with a path this one lacks
        del f.attrs["target_isa"]
        f.attrs.create("target_isa", np.bytes_("avx1024"))
    proc = _check(run("run", "-n", 100000, "-q", "--seed", 5, "-o", target, "--resume"), code=2)
    line = _one_sentence(proc.stderr)
    assert "avx1024" in line and str(partial) in line, line
    assert partial.exists()
