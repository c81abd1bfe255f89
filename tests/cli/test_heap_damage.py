"""A damaged global heap in an input file is refused, never a crash or a hang of brink.

HDF5 keeps no checksum of its global heap, where variable-length strings and the references of
dimension scales live, and trusts each heap object's recorded size: one flipped bit there made
`brink inspect` die of SIGSEGV (an object's size grown by 2^27, read past the heap) or loop for
ever (the heap's free space shrunk, so that its walk lands on zeros: an object of index 0 and size
0, which it steps over by nothing), and so did `brink run --posterior` and `brink calibrate
--resume` on a calibration file. Each command now reads the file first in a child process
(`brink __read-check`), and refuses the file in one sentence, exit 2, if the child crashed or
did not finish in time.

The heap is found by parsing the file (each collection starts with b"GCOL"), not at fixed offsets.
"""

import os
import random
import re
import subprocess
import time
from pathlib import Path

import pytest

SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
TOY = SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml"
CALIBRATE = ["--particles", "50", "--generations", "2", "--threads", "1", "-q"]


def collections(data):
    """Offsets of the global heap collections: b"GCOL", version 1."""
    return [m.start() for m in re.finditer(b"GCOL", data) if data[m.start() + 4] == 1]


def heap_objects(data, start):
    """(offset, index, size) of each object of the collection at `start`, its free space (index 0)
    last: a 16-byte header (index 2, references 2, reserved 4, size 8), then the size's bytes
    padded to 8."""
    size = int.from_bytes(data[start + 8:start + 16], "little")
    objects, at = [], 16
    while at + 16 <= size:
        index = int.from_bytes(data[start + at:start + at + 2], "little")
        length = int.from_bytes(data[start + at + 8:start + at + 16], "little")
        objects.append((start + at, index, length))
        if index == 0:
            break
        at += 16 + (length + 7) // 8 * 8
    return objects


def flipped(good, bad, offset, bit):
    data = bytearray(good.read_bytes())
    data[offset] ^= 1 << bit
    bad.write_bytes(bytes(data))
    return bad


def brink_run(brink, *args, timeout=30, env=None):
    """The finished process; a hang (past `timeout`) fails the test."""
    try:
        return subprocess.run([brink, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                              env=None if env is None else {**os.environ, **env})
    except subprocess.TimeoutExpired:
        pytest.fail(f"brink {' '.join(map(str, args))} hung (no answer in {timeout} s)")


def assert_refused(proc, path, crash=None):
    """Exit 2 and one line naming the file (no HDF5 stack, no glibc message); `crash`: the
    sentence says the reader crashed (True) or was stopped at its time limit ("time")."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"'{path}'" in lines[0] and "damaged" in lines[0], proc.stderr
    if crash is True:
        assert "is damaged: reading it crashed the HDF5 library (SIG" in lines[0], lines[0]
    elif crash == "time":
        assert "could not be read in" in lines[0] and "it is damaged (HDF5 loops for ever" in lines[0], lines[0]


@pytest.fixture(scope="module")
def result(brink, tmp_path_factory):
    path = tmp_path_factory.mktemp("heap") / "good.h5"
    subprocess.run([brink, "run", "-n", "256", "-q", "-t", "1", "--sweep", "actors.RUS.decision.patience_days=10,20",
                    "-o", str(path)], check=True, timeout=120)
    return path


@pytest.fixture(scope="module")
def calibration(brink, tmp_path_factory):
    path = tmp_path_factory.mktemp("heap") / "cal.h5"
    subprocess.run([brink, "calibrate", str(TOY), *CALIBRATE, "-o", str(path)], check=True, timeout=120)
    return path


def test_inspect_refuses_a_result_whose_heap_object_claims_a_huge_size(brink, result, tmp_path):
    """The first object of each collection grown by 2^27 bytes (the tester's segv.h5): the
    collection of the string coordinates crashed inspect with SIGSEGV."""
    data = result.read_bytes()
    starts = collections(data)
    assert len(starts) >= 2, starts
    crashed = 0
    for k, start in enumerate(starts):
        first = heap_objects(data, start)[0]
        bad = flipped(result, tmp_path / f"big{k}.h5", first[0] + 8 + 3, 3)
        proc = brink_run(brink, "inspect", bad)
        if proc.returncode != 0:
            assert_refused(proc, bad)
            crashed += "crashed the HDF5 library" in proc.stderr
    assert crashed >= 1, "no flip reached a crash: the test no longer exercises the child's crash"
    assert brink_run(brink, "inspect", result).returncode == 0


def test_inspect_refuses_a_result_whose_heap_walk_never_ends(brink, result, tmp_path):
    """The free space of the first collection shrunk by its highest bit (the tester's hang.h5):
    HDF5's walk of the collection then steps on zeros for ever. The check's time limit is set to
    2 s here (BRINK_READ_CHECK_SECONDS); by default it is 20 s plus 30 s per GiB of the file."""
    data = result.read_bytes()
    free = heap_objects(data, collections(data)[0])[-1]
    assert free[1] == 0 and free[2] > 0, free
    bit = free[2].bit_length() - 1
    bad = flipped(result, tmp_path / "loop.h5", free[0] + 8 + bit // 8, bit % 8)
    began = time.monotonic()
    proc = brink_run(brink, "inspect", bad, timeout=20, env={"BRINK_READ_CHECK_SECONDS": "2"})
    assert_refused(proc, bad, crash="time")
    assert "could not be read in 2 s" in proc.stderr and time.monotonic() - began < 15


def test_random_heap_flips_never_crash_or_hang_inspect(brink, result, tmp_path):
    """Seeded single-bit flips in the size fields of heap objects: each file reads as before
    (exit 0: an object the reader does not read) or is refused in one sentence."""
    data = result.read_bytes()
    fields = [(offset + 8 + byte) for start in collections(data) for offset, _, _ in heap_objects(data, start)
              for byte in range(4)]
    rng = random.Random(20260)
    for k in range(12):
        bad = flipped(result, tmp_path / f"r{k}.h5", rng.choice(fields), rng.randrange(8))
        proc = brink_run(brink, "inspect", bad, env={"BRINK_READ_CHECK_SECONDS": "3"})
        if proc.returncode != 0:
            assert_refused(proc, bad)


def test_every_reader_of_a_calibration_refuses_a_damaged_heap(brink, calibration, tmp_path):
    """The first heap object of a calibration grown by 2^29 bytes (the tester's calsegv.h5)
    crashed `inspect`, `run --posterior` and `calibrate --resume` (the damaged file its .partial)."""
    data = calibration.read_bytes()
    first = heap_objects(data, collections(data)[0])[0]
    bad = flipped(calibration, tmp_path / "bad.h5", first[0] + 8 + 3, 5)
    assert_refused(brink_run(brink, "inspect", bad), bad, crash=True)
    out = tmp_path / "post.h5"
    proc = brink_run(brink, "run", TOY, "--posterior", bad, "-n", "256", "-q", "-t", "1", "-o", out)
    assert_refused(proc, bad, crash=True)
    assert not out.exists() and not Path(f"{out}.partial").exists()
    target = tmp_path / "again.h5"
    partial = flipped(calibration, Path(f"{target}.partial"), first[0] + 8 + 3, 5)
    proc = brink_run(brink, "calibrate", TOY, *CALIBRATE, "-o", target, "--resume")
    assert_refused(proc, partial, crash=True)
    assert "discard it with --overwrite and start over" in proc.stderr
    assert partial.read_bytes() == bad.read_bytes() and not target.exists()


def read_checks_of(path):
    """Process ids of the read-check children reading `path`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"__read-check" in words and str(path).encode() in words:
            found.append(int(entry.name))
    return found


def test_a_read_check_dies_with_its_parent(brink, result, tmp_path):
    """Only the parent enforced the time limit: a parent killed while its child looped in a
    damaged heap (a batch system's time limit, kill -9, mpirun ending a rank) left the child
    spinning for ever under init. The child now dies with its parent."""
    data = result.read_bytes()
    free = heap_objects(data, collections(data)[0])[-1]
    bit = free[2].bit_length() - 1
    bad = flipped(result, tmp_path / "loop.h5", free[0] + 8 + bit // 8, bit % 8)
    parent = subprocess.Popen([brink, "inspect", str(bad)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not read_checks_of(bad) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert read_checks_of(bad), "no read-check child started"
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 5
    while read_checks_of(bad) and time.monotonic() < deadline:
        time.sleep(0.02)
    left = read_checks_of(bad)
    for pid in left:
        os.kill(pid, 9)
    assert not left, "the read-check child outlived its parent"


def test_a_brink_started_through_the_loader_still_reads_its_inputs(brink, result):
    """Started as `ld.so brink ...` (or under valgrind), /proc/self/exe is the loader, not brink:
    the child ran the wrong program, and inspect failed with exit 1. A child that does not say it
    is brink is ignored and the file is read in place."""
    loader = Path("/lib64/ld-linux-x86-64.so.2")
    if not loader.exists():
        pytest.skip("no x86-64 dynamic loader at /lib64")
    proc = subprocess.run([str(loader), brink, "inspect", str(result)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "outcomes:" in proc.stdout


@pytest.mark.parametrize("value", ["abc", "-1", "0", "inf", "1e9", "0.0001", "1e-9", "0.5", " 5", "5 ", "0x10"])
def test_a_bad_time_limit_is_refused(brink, result, value):
    """A limit below a second (0.0001) killed the child before it said it was brink, and the file was
    then read in place, unguarded: a file that crashes HDF5 took the command with it (SIGSEGV)."""
    proc = brink_run(brink, "inspect", result, env={"BRINK_READ_CHECK_SECONDS": value})
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("brink inspect: BRINK_READ_CHECK_SECONDS must be a number of seconds from 1 to "
                                   f"86400, got '{value}'"), proc.stderr


@pytest.mark.parametrize("value", ["1", "2.5", "86400"])
def test_a_time_limit_of_a_second_or_more_is_taken(brink, result, value):
    proc = brink_run(brink, "inspect", result, env={"BRINK_READ_CHECK_SECONDS": value})
    assert proc.returncode == 0, proc.stderr
