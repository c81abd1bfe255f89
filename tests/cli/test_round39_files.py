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

