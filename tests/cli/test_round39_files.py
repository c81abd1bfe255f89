"""Round 39, a fresh hostile corpus: partial files whose datasets were edited (a shape, a type, a
huge dimension) are refused as damaged before anything is simulated, and calibration files check
the names and texts that HDF5 keeps without a checksum."""

import os
import subprocess

import h5py
import numpy as np
import pytest


def _brink(brink, *args, env=None, timeout=120):
    return subprocess.run([brink, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def _partial(brink, source_dir, tmp_path):
    """A partial run of a three-point sweep of the minimal example, 35 blocks kept, and how to resume it."""
    scenario = source_dir / "docs" / "examples" / "minimal.yaml"
    args = ["run", scenario, "-o", tmp_path / "part.h5", "-n", 20000, "--sweep",
            "actors.RED.forces.deployed=40000,50000,60000", "-t", 1, "-q", "--no-table"]
    proc = _brink(brink, *args, env={"BRINK_TEST_FAIL_AFTER_BLOCKS": "35"})
    assert proc.returncode == 1 and (tmp_path / "part.h5.partial").exists(), proc.stderr
    return [*args, "--resume"]


def _recreate(path, name, shape, dtype, chunks=None):
    with h5py.File(path, "r+") as f:
        del f[name]
        f.create_dataset(name, shape=shape, dtype=dtype, chunks=chunks)


@pytest.mark.parametrize("edit", ["shape", "type", "huge", "complete"])
def test_a_partial_with_an_edited_dataset_is_refused_as_damaged(brink, source_dir, tmp_path, edit):
    """Resuming such a partial failed with exit 1 and "continue with --resume" every time (a retry
    loop never ended), or, with a dimension of 2^40, allocated an index that the next resume
    iterated for ever, deaf to SIGINT and SIGTERM. Now: exit 2 at once, the partial left as it is."""
    resume = _partial(brink, source_dir, tmp_path)
    partial = tmp_path / "part.h5.partial"
    if edit == "shape":
        _recreate(partial, "outcome_count", (3, 4), "i8")
    elif edit == "type":
        _recreate(partial, "outcome_count", (3, 5), "f8")
    elif edit == "huge":
        with h5py.File(partial) as f:
            dtype = f["outcome_code"].dtype
        _recreate(partial, "outcome_code", (3, 2 ** 40), dtype, chunks=(1, 256))
    else:
        with h5py.File(partial, "r+") as f:
            f.attrs["complete"] = "no"
    before = partial.read_bytes()
    for _ in range(2):
        proc = _brink(brink, *resume, timeout=60)
        assert proc.returncode == 2 and "is damaged" in proc.stderr and "--overwrite" in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert partial.read_bytes() == before and not (tmp_path / "part.h5").exists()



@pytest.fixture(scope="module")
def calibration(brink, tmp_path_factory):
    """A short calibration of the back-test (six parameters), and the bytes of its file."""
    directory = tmp_path_factory.mktemp("calibration")
    out = directory / "bt.h5"
    proc = _brink(brink, "calibrate", "backtest-2022", "--particles", 20, "--generations", 1, "--replications", 1,
                  "-q", "-t", 1, "-o", out, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def _swap_names(path):
    with h5py.File(path, "r+") as f:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["parameter"][()]]
        f["parameter"][0], f["parameter"][1] = names[1], names[0]


def _duplicate_name(path):
    with h5py.File(path, "r+") as f:
        f["parameter"][1] = f["parameter"][0]


def _edit_scenario_byte(path):
    """One digit of the recorded scenario changed in place, as a flipped byte would."""
    data = bytearray(path.read_bytes())
    at = data.find(b"patience_days: ")
    assert at > 0
    digit = at + len(b"patience_days: ")
    data[digit] = ord("9") if data[digit] != ord("9") else ord("8")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_swap_names, _duplicate_name, _edit_scenario_byte])
def test_a_calibration_whose_unchecksummed_texts_changed_is_refused(brink, calibration, tmp_path, damage):
    """The parameter names (which field each column of the particles sets) and the recorded scenario
    live where HDF5 keeps no checksum: one changed byte sent a posterior to another field (P(full
    war) 0.133 -> 0.047 with exit 0), or changed the scenario the file says it calibrated."""
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(calibration.read_bytes())
    damage(damaged)
    for args in (["inspect", damaged], ["run", "backtest-2022", "--posterior", damaged, "-n", 256, "-q", "-o",
                                        tmp_path / "p.h5"]):
        proc = _brink(brink, *args)
        assert proc.returncode == 2 and "is damaged" in proc.stderr, (args, proc.stderr)
    assert not (tmp_path / "p.h5").exists()
    # The same file, undamaged, is read (so the check is not refusing everything).
    assert _brink(brink, "inspect", calibration).returncode == 0


def test_a_result_whose_actor_names_cannot_be_read_is_refused(brink, source_dir, tmp_path):
    """A flipped byte in the reference of an actor name into the global heap made the read fail,
    and the reader took the failure for an empty list: inspect printed the outcome table with no
    casualty row for any actor, exit 0."""
    out = tmp_path / "r.h5"
    proc = _brink(brink, "run", source_dir / "docs" / "examples" / "minimal.yaml", "-n", 256, "-q", "-o", out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out) as f:
        offset = f["actor"].id.get_offset()
    assert offset is not None, "the actor names are stored contiguously"
    data = bytearray(out.read_bytes())
    data[offset + 9] ^= 0xFF  # the heap collection's address of the first name, far past the end of the file
    out.write_bytes(bytes(data))
    proc = _brink(brink, "inspect", out)
    assert proc.returncode == 2 and "damaged" in proc.stderr, proc.stdout + proc.stderr


def test_damage_is_named_as_damage_not_as_a_missing_variable_or_a_foreign_file(brink, source_dir, calibration,
                                                                               tmp_path):
    """A flipped bit in the index of the file's variables read as "the variable 'outcome_count' is
    missing", and a calibration file cut short as "not a calibration file": both sent the analyst
    after an older format or a foreign file instead of a damaged copy."""
    out = tmp_path / "r.h5"
    proc = _brink(brink, "run", source_dir / "docs" / "examples" / "minimal.yaml", "-n", 256, "-q", "-o", out)
    assert proc.returncode == 0, proc.stderr
    data = bytearray(out.read_bytes())
    leaf = data.find(b"BTLF")  # the first leaf of a version-2 B-tree: the index of the root group's links
    assert leaf > 0
    data[leaf + 13] ^= 0x01
    out.write_bytes(bytes(data))
    proc = _brink(brink, "inspect", out)
    assert proc.returncode == 2 and "damaged" in proc.stderr and "is missing" not in proc.stderr, proc.stderr

    cut = tmp_path / "cut.h5"
    cut.write_bytes(calibration.read_bytes()[:-1])
    proc = _brink(brink, "run", "backtest-2022", "--posterior", cut, "-n", 256, "-q", "-o", tmp_path / "p.h5")
    assert proc.returncode == 2 and "damaged or cut short" in proc.stderr, proc.stderr


@pytest.mark.parametrize("edit", ["probability", "interval", "survival", "engine"])
def test_an_edited_summary_brink_never_writes_is_refused_by_inspect(brink, source_dir, tmp_path, edit):
    """inspect printed a probability of 0.5 beside a count of 37 of 300, an interval [0.99, 0.165],
    a survival probability of 7, and read a file whose 'engine' attribute was not brink's."""
    out = tmp_path / "r.h5"
    proc = _brink(brink, "run", source_dir / "docs" / "examples" / "minimal.yaml", "-n", 300, "-q", "-o", out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r+") as f:
        if edit == "probability":
            f["outcome_probability"][0, 0] = 0.5 if f["outcome_probability"][0, 0] != 0.5 else 0.25
        elif edit == "interval":
            f["outcome_probability_lower"][0, 0] = 0.99
        elif edit == "survival":
            f["survival"][0, 0] = 7.0
        else:
            f.attrs["engine"] = np.bytes_("notbrink")
    proc = _brink(brink, "inspect", out)
    assert proc.returncode == 2, proc.stdout + proc.stderr
