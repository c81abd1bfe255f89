"""Round 39, a fresh hostile corpus against brink_analysis.open_results: a flipped bit that makes
HDF5 itself crash is refused instead of killing the interpreter, names swapped in the global heap
are caught by the checksummed flag_meanings, and summaries brink never writes are refused as
brink inspect refuses them."""

import os
import subprocess
import sys
import warnings

import h5py
import numpy as np
import pytest

import brink_analysis as ba

ANALYSIS = os.path.dirname(os.path.dirname(os.path.abspath(ba.__file__)))  # the package under test


def _open_in_a_child(path):
    """open_results(path) in another interpreter: its exit status, and what it printed."""
    code = ("import warnings, brink_analysis as ba\nwarnings.simplefilter('ignore')\n"
            f"try:\n    ba.open_results({str(path)!r}).close()\n    print('opened')\n"
            "except ValueError as error:\n    print(error)\n")
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join([ANALYSIS, *sys.path])})
    return child.returncode, child.stdout


def test_a_bit_that_crashes_hdf5_is_refused_without_killing_python(plain_file, tmp_path):
    """One flipped bit in the index of the root group's links (checksummed metadata) made HDF5
    abort or segfault inside open_results, taking a Jupyter kernel with it; brink inspect refused
    the same files. Every flip below must leave the interpreter alive, and some must be named as
    a crash of HDF5 (the flips that crash it, found on such a file)."""
    data = bytearray(plain_file.read_bytes())
    leaf = data.find(b"BTLF")
    assert leaf > 0
    refused_as_crash = 0
    for offset in range(4, 40):
        damaged = bytearray(data)
        damaged[leaf + offset] ^= 0x01
        path = tmp_path / f"flip{offset}.h5"
        path.write_bytes(bytes(damaged))
        status, printed = _open_in_a_child(path)
        assert status == 0, f"open_results died (status {status}) on the bit flipped at BTLF+{offset}"
        refused_as_crash += "HDF5 crashed reading its metadata" in printed
    assert refused_as_crash > 0


def _copy(path, tmp_path, name):
    out = tmp_path / name
    out.write_bytes(path.read_bytes())
    return out


def test_outcome_names_swapped_in_the_heap_are_refused(plain_file, tmp_path):
    """Two flipped bytes swapped the heap references of two outcome names: open_results called
    the standoff probability a full-war one (0.87 where the truth was 0)."""
    out = _copy(plain_file, tmp_path, "swapped.h5")
    with h5py.File(out, "r+") as f:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["outcome"][()]]
        names[1], names[3] = names[3], names[1]
        f["outcome"][...] = np.array(names, dtype=object)
    with pytest.raises(ValueError, match="outcome names .* not those its variable outcome_code lists"):
        ba.open_results(out)


@pytest.mark.parametrize("edit", ["negative_count", "probability", "interval"])
def test_a_summary_brink_never_writes_is_refused(plain_file, tmp_path, edit):
    """open_results accepted what brink inspect refuses: counts that do not add up to the
    replications, a probability beside a count that says another, an interval above its
    probability."""
    out = _copy(plain_file, tmp_path, f"{edit}.h5")
    with h5py.File(out, "r+") as f:
        if edit == "negative_count":
            counts = f["outcome_count"][()]
            counts[0, 0] -= 5
            counts[0, 1] += 5 + 1
            f["outcome_count"][...] = counts
        elif edit == "probability":
            f["outcome_probability"][0, 0] = 0.5 if f["outcome_probability"][0, 0] != 0.5 else 0.25
        else:
            f["outcome_probability_lower"][0, 0] = 0.99
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="not a whole brink result"):
            ba.open_results(out)
    ba.open_results(plain_file).close()  # the file as written opens
