"""Round 36 hostile tester's findings (M1, M2, L1): damage HDF5 reads without an error is refused
as damage, never printed or used as if the file were whole; calibrate's staging file is checked
against the inputs like every other name it writes beside OUT.

Every damaged file is a real file brink wrote, with one bit flipped; the offsets are found from
the file's own structure (the bytes of a name, the signature of an object header), never fixed.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import h5py
import pytest

SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
TOY = SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml"
CALIBRATE = ["--particles", "40", "--generations", "2", "--replications", "2", "--threads", "1", "-q"]
SWEPT = "actors.RUS.forces.deployed"


def brink_run(brink, *args, cwd=None, timeout=120):
    try:
        return subprocess.run([brink, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        pytest.fail(f"brink {' '.join(map(str, args))} hung (no answer in {timeout} s)")


def flipped(good, bad, offset, bit=0):
    data = bytearray(good.read_bytes())
    data[offset] ^= 1 << bit
    bad.write_bytes(bytes(data))
    return bad


def assert_damaged(proc, path):
    """Exit 2, one line naming `path` as damaged."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"'{path}'" in lines[0] and "damaged" in lines[0], lines[0]


def attribute_fails(path, name):
    """True if the file opens and its root attribute `name` does not read."""
    try:
        with h5py.File(path, "r") as f:
            try:
                f.attrs[name]
            except (OSError, RuntimeError, KeyError):
                return True
    except OSError:
        return False
    return False


def root_attribute_damaged(good, bad, names, keep):
    """`good` with one bit flipped where h5py can no longer read a root attribute of `names` but
    still reads `keep` (so a reader still knows what kind of file it is): the first byte of an
    occurrence of such a name's bytes that does that. The root attributes live in the checksummed
    blocks of a fractal heap; a flip in one fails the checksum of every attribute in that block,
    and which attributes share a block with `keep` depends on the lengths of the texts before."""
    data = good.read_bytes()
    for name in names:
        for match in re.finditer(re.escape(name.encode()), data):
            # A file name per flip: HDF5 may keep a file it failed to read half-open, and would
            # answer the next open of that name from it.
            candidate = flipped(good, bad.with_name(f"{bad.stem}_{match.start()}.h5"), match.start())
            if attribute_fails(candidate, name) and not attribute_fails(candidate, keep):
                return candidate
    pytest.fail(f"no flip of the bytes of {names} makes one unreadable: the test no longer applies")


@pytest.fixture(scope="module")
def calibration(brink, tmp_path_factory):
    path = tmp_path_factory.mktemp("cal") / "cal.h5"
    subprocess.run([brink, "calibrate", TOY, *CALIBRATE, "-o", path], check=True, timeout=300,
                   capture_output=True)
    return path


@pytest.fixture(scope="module")
def damaged_calibration(calibration, tmp_path_factory):
    bad = tmp_path_factory.mktemp("bad") / "cal_attrs.h5"
    return root_attribute_damaged(calibration, bad, ["seed", "scenario", "settings"], "brink_file_kind")


# --------------------------------------------------------------------------
# M2: a root attribute HDF5 cannot read is damage, not absence
# --------------------------------------------------------------------------


def test_inspect_refuses_a_calibration_whose_seed_attribute_fails_its_checksum(brink, calibration,
                                                                               damaged_calibration):
    """It printed "seed 0" with exit 0 (the seed is brink's default, not 0)."""
    good = brink_run(brink, "inspect", calibration)
    assert good.returncode == 0 and "(seed 0)" not in good.stdout, good.stdout
    proc = brink_run(brink, "inspect", damaged_calibration)
    assert_damaged(proc, damaged_calibration)
    assert "attribute" in proc.stderr and "seed 0" not in proc.stdout, proc.stderr


def test_posterior_run_refuses_a_calibration_whose_root_attributes_fail_their_checksum(brink, damaged_calibration,
                                                                                       tmp_path):
    """It ran from the file with exit 0 and no word about the damage."""
    out = tmp_path / "posterior.h5"
    proc = brink_run(brink, "run", TOY, "--posterior", damaged_calibration, "-n", "64", "-q", "-o", out)
    assert_damaged(proc, damaged_calibration)
    assert not out.exists() and not Path(f"{out}.partial").exists()


def test_resume_calls_a_partial_with_unreadable_root_attributes_damaged_not_edited(brink, damaged_calibration,
                                                                                    tmp_path):
    """It said the partial was written with "another scenario text", which it was not."""
    target = tmp_path / "resumed.h5"
    partial = Path(f"{target}.partial")
    shutil.copyfile(damaged_calibration, partial)
    before = partial.read_bytes()
    proc = brink_run(brink, "calibrate", TOY, *CALIBRATE[:2], "--generations", "3", *CALIBRATE[4:], "-o", target,
                     "--resume")
    assert_damaged(proc, partial)
    assert "another scenario text" not in proc.stderr, proc.stderr
    assert "--overwrite" in proc.stderr, proc.stderr  # the way out, as for other damage to a partial
    assert partial.read_bytes() == before and not target.exists()


@pytest.fixture(scope="module")
def shards(brink, tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    paths = []
    for k in range(2):
        path = folder / f"s{k}.h5"
        subprocess.run([brink, "run", "-n", "64", "-q", "-t", "1", "--no-table", "--sweep",
                        "actors.RUS.decision.patience_days=10,20", "--shard", f"{k}/2", "-o", path],
                       check=True, timeout=300, capture_output=True)
        paths.append(path)
    return paths


def test_merge_and_inspect_refuse_a_result_whose_root_attributes_fail_their_checksum(brink, shards, tmp_path):
    """A run's result (here a shard) is read through the same helpers: an attribute HDF5 cannot
    read was taken for absent (the seed 0, the scenario text empty)."""
    bad = root_attribute_damaged(shards[0], tmp_path / "s0.h5", ["seed", "complete", "shard_index", "scenario"], "engine")
    out = tmp_path / "merged.h5"
    proc = brink_run(brink, "merge", out, bad, shards[1])
    assert_damaged(proc, bad)
    assert "shards of different runs" not in proc.stderr, proc.stderr
    assert not out.exists()
    assert_damaged(brink_run(brink, "inspect", bad), bad)


# --------------------------------------------------------------------------
# M1: inspect checks a result against the format's table of variables
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def result(brink, tmp_path_factory):
    path = tmp_path_factory.mktemp("whole") / "whole.h5"
    subprocess.run([brink, "run", "jan-2022-standoff", "-n", "256", "--sweep", f"{SWEPT}=100000:150000",
                    "--design", "lhs", "--samples", "6", "--seed", "5", "--threads", "1", "-q", "--no-table",
                    "-o", path], check=True, timeout=300, capture_output=True)
    return path


def candidate_flips(data):
    """(offset, bit) of flips in the parts HDF5 trusts or whose damage it reports only per object:
    the access time of each version-2 object header (b"OHDR", version, flags, then the times;
    the header's checksum then fails, and the object drops out of HDF5's listing), and each byte
    of the 16-byte global heap header (index, references, reserved, size) of the swept
    parameter's name in the coordinate `parameter` (the heap object whose recorded size is the
    name's length) and of the object before it."""
    flips = [(m.start() + 6, 2) for m in re.finditer(b"OHDR\x02", data)]
    name = SWEPT.encode()
    for m in re.finditer(re.escape(name), data):
        if int.from_bytes(data[m.start() - 8:m.start()], "little") != len(name):
            continue  # the name inside a longer text (the command line, the scenario)
        for header in (m.start() - 16, m.start() - 32):
            flips += [(header + k, 4) for k in range(16)]
    return flips


def test_inspect_never_prints_a_damaged_result_as_a_different_valid_listing(brink, result, tmp_path):
    """One flipped bit made inspect list the file, exit 0, without type_name, with a dimension
    named '' ('(=121)') or without the swept parameter's name in the outcome table, where xarray,
    h5dump and brink_analysis refuse the same bytes. Each flip must now be refused as damage, or
    change nothing inspect prints."""
    good = brink_run(brink, "inspect", result)
    assert good.returncode == 0, good.stderr
    assert "type_name" in good.stdout and SWEPT in good.stdout, good.stdout
    intact = good.stdout.replace(str(result), "FILE")
    data = result.read_bytes()
    flips = candidate_flips(data)
    assert len(flips) > 40, len(flips)
    refused_by_schema = 0
    for offset, bit in flips:
        bad = flipped(result, tmp_path / f"flip_{offset}_{bit}.h5", offset, bit)
        proc = brink_run(brink, "inspect", bad)
        if proc.returncode == 0:
            # The file's name as inspect gives it (the command line recorded names the original).
            assert proc.stdout.replace(str(bad), "FILE").replace(str(result), "FILE") == intact, (
                f"byte {offset} bit {bit}: a different listing, exit 0")
        else:  # refused: by the check of its layout, as damaged, or by the child's crash check
            assert proc.returncode == 2, (offset, bit, proc.returncode, proc.stderr)
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1 and f"'{bad}'" in lines[0], proc.stderr
            refused_by_schema += "which a file of its layout holds" in proc.stderr or "has the dimensions" in proc.stderr
        bad.unlink()
    assert refused_by_schema >= 1, "no flip reached the check against the table of variables"


# --------------------------------------------------------------------------
# L1: calibrate's staging file is checked against the inputs
# --------------------------------------------------------------------------


def test_calibrate_refuses_a_scenario_named_as_its_staging_file(brink, tmp_path):
    """A scenario named OUT.partial.tmp was staged over, renamed to OUT.partial, then to OUT:
    exit 0 and the input gone."""
    scenario = tmp_path / "t.h5.partial.tmp"
    shutil.copyfile(TOY, scenario)
    text = scenario.read_bytes()
    proc = brink_run(brink, "calibrate", scenario.name, *CALIBRATE, "-o", "t.h5", cwd=tmp_path)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "is the input file 't.h5.partial.tmp'" in lines[0], proc.stderr
    assert "writing it would destroy the input" in lines[0], lines[0]
    assert scenario.read_bytes() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.h5.partial.tmp"]
