"""Damaged bytes in a result file are refused, never read as numbers.

HDF5 keeps a Fletcher-32 checksum of every chunk of the summaries, constants
and marks (per-replication chunks carry deflate's checksum already). Without
one, a flipped byte in `outcome_count` read as a plausible count: the file
opened, the analysis computed probabilities from it, and nothing said so.

- a finished file with a damaged chunk is refused by the analysis package
  (one sentence naming the file and the variable), by `brink inspect` and by
  `brink merge`;
- `--resume` reads back what it keeps with the checks on: every point of a
  damaged chunk of summaries or marks runs again, a damaged constant is
  written again, and the finished file is the uninterrupted run's, bit for bit.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(SOURCE / "analysis"))
import brink_analysis as ba  # noqa: E402

SWEEP = ["--sweep", "actors.RUS.decision.patience_days=" + ",".join(str(d) for d in range(10, 70, 5))]


def flip_a_byte(path, dataset, chunk=0):
    """Flips one bit in the stored bytes of `dataset`'s chunk number `chunk` (read as a SWMR reader,
    so that a file a killed run left marked open can be damaged too)."""
    with h5py.File(path, "r", swmr=True) as f:
        info = f[dataset].id.get_chunk_info(chunk)
    with open(path, "r+b") as f:
        f.seek(info.byte_offset + info.size // 2)
        byte = f.read(1)[0]
        f.seek(info.byte_offset + info.size // 2)
        f.write(bytes([byte ^ 0x10]))


def test_summaries_constants_and_marks_carry_checksums_and_resume_slots_do_not(brink, tmp_path):
    out = tmp_path / "x.h5"
    subprocess.run([brink, "run", "-n", "512", "-q", *SWEEP, "-o", str(out)], check=True, timeout=120)
    with h5py.File(out, "r") as f:
        chunked = {name: d for name, d in f.items() if isinstance(d, h5py.Dataset) and d.chunks is not None}
        compressed = {name for name, d in chunked.items() if d.compression == "gzip"}
        slots = {name for name in chunked if name.startswith("resume_")}
        assert {"outcome_count", "replications", "block_done", "parameter_value", "day"} <= set(chunked)
        assert compressed and slots, (compressed, slots)
        for name, d in chunked.items():
            assert d.fletcher32 == (name not in compressed | slots), name


@pytest.fixture
def damaged_result(brink, tmp_path):
    """A finished two-point file and a copy of it whose outcome_count chunk has one bit flipped."""
    good, bad = tmp_path / "good.h5", tmp_path / "bad.h5"
    subprocess.run([brink, "run", "-n", "512", "-q", "--sweep", "actors.RUS.decision.patience_days=10,20",
                    "-o", str(good)], check=True, timeout=120)
    bad.write_bytes(good.read_bytes())
    flip_a_byte(bad, "outcome_count")
    return good, bad


def test_the_analysis_refuses_a_finished_file_with_a_damaged_summary(damaged_result):
    good, bad = damaged_result
    with ba.open_results(good) as ds:
        counts = ds.outcome_count.values
        np.testing.assert_array_equal(counts.sum(axis=1), ds.replications.values)
    with pytest.raises(ValueError) as caught:
        ba.open_results(bad)
    message = str(caught.value)
    assert message.startswith(f"'{bad}' is damaged: the stored values of outcome_count fail their checksum"), message
    assert "\n" not in message


def test_inspect_and_merge_refuse_a_damaged_file(brink, damaged_result, tmp_path):
    _, bad = damaged_result
    inspected = subprocess.run([brink, "inspect", str(bad)], capture_output=True, text=True, timeout=60)
    assert inspected.returncode == 2 and "damaged" in inspected.stderr, inspected.stderr
    shards = [tmp_path / f"s{i}.h5" for i in range(2)]
    for i, shard in enumerate(shards):
        subprocess.run([brink, "run", "-n", "512", "-q", "--sweep", "actors.RUS.decision.patience_days=10,20",
                        "--shard", f"{i}/2", "-o", str(shard)], check=True, timeout=120)
    flip_a_byte(shards[1], "outcome_count")
    merged = tmp_path / "merged.h5"
    proc = subprocess.run([brink, "merge", "-q", str(merged), *map(str, shards)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0 and str(shards[1]) in proc.stderr, proc.stderr
    assert not merged.exists()


@pytest.mark.parametrize("edit, message", [
    (lambda f: f["replications"].__setitem__(0, -1), "point 0's summary counts -1 replications"),
    (lambda f: f["outcome_count"].__setitem__((1, 0), f["outcome_count"][1, 0] + 7), "point 1's summary counts"),
    (lambda f: f["outcome_probability"].__setitem__((0, 2), np.nan), "point 0's summary gives an outcome the "
                                                                       "probability nan"),
])
def test_inspect_refuses_summaries_no_run_writes(brink, damaged_result, tmp_path, edit, message):
    """A file edited with valid checksums (h5py recomputes them): inspect printed NaN probabilities
    and "point 0 (-1 replications)" with exit 0."""
    good, _ = damaged_result
    edited = tmp_path / "edited.h5"
    edited.write_bytes(good.read_bytes())
    with h5py.File(edited, "r+") as f:
        edit(f)
    proc = subprocess.run([brink, "inspect", str(edited)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and message in proc.stderr and "the file is damaged" in proc.stderr, proc.stderr


def killed_sweep(brink, tmp_path):
    """A sweep killed (as by kill -9) after 40 blocks: (target, the run's arguments, its partial)."""
    target = tmp_path / "x.h5"
    args = [brink, "run", "-n", "1024", "--threads", "1", "-q", "--seed", "11", *SWEEP, "-o", str(target)]
    killed = subprocess.run(args, capture_output=True, timeout=120,
                            env={**os.environ, "BRINK_TEST_KILL_AFTER_BLOCKS": "40"})
    assert killed.returncode != 0
    return target, args, tmp_path / "x.h5.partial"


@pytest.mark.parametrize("dataset", ["outcome_count", "block_done", "replications", "parameter_value"])
def test_resume_runs_again_what_a_damaged_chunk_held(brink, tmp_path, dataset):
    """A run killed (as by kill -9) after its first point was published; one bit of a chunk flipped.
    A summary (outcome_count): without the read-back, --resume failed on the published point's
    summary, or wrote the chunk again around the damage, giving it a valid checksum over a wrong
    byte. A constant (parameter_value) is written again. The marks (block_done, replications) are
    read without the check, for trust_consistent to judge: checked, one bad chunk failed the resume."""
    target, args, partial = killed_sweep(brink, tmp_path)
    with h5py.File(partial, "r", swmr=True) as f:
        assert f["replications"][0] > 0, "the first point must be published before the kill"
        assert f[dataset].fletcher32
    flip_a_byte(partial, dataset)
    resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    reference = tmp_path / "reference.h5"
    subprocess.run([*args[:-1], str(reference)], check=True, capture_output=True, timeout=120)
    with h5py.File(target, "r") as a, h5py.File(reference, "r") as b:
        for name in b:  # every chunk is read with its checksum checked
            assert np.array_equal(a[name][()], b[name][()], equal_nan=a[name].dtype.kind == "f"), name


def test_a_damaged_chunk_index_stops_the_resume_at_once(brink, tmp_path):
    """A chunk index (a fixed array's data block, "FADB") that fails its checksum, as a kill chain
    left one in testing. In single-writer mode HDF5 retries such a read 100 times with doubling
    sleeps: --resume hung for ever, deaf to SIGINT and SIGTERM, in its read-back of the kept blocks
    or at its first write. Every index is now read before that mode starts, where a failed checksum
    fails at once: one sentence naming the variable, exit 2, the partial's data left as it is.
    `brink inspect` says so too (it read the summaries and called such a file sound)."""
    target, args, partial = killed_sweep(brink, tmp_path)
    kept = partial.read_bytes()
    blocks = [i for i in range(len(kept)) if kept.startswith(b"FADB", i)]
    assert len(blocks) > 10, "every chunked variable has a fixed-array index"
    named = set()
    for at in blocks:
        damaged = bytearray(kept)
        damaged[at + 16:at + 20] = b"ZZZZ"  # inside the block, before its checksum
        partial.write_bytes(damaged)
        try:
            proc = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"--resume hung on a damaged chunk index at byte {at}")
        assert proc.returncode == 2, proc.stderr
        found = re.search(r"is damaged and cannot be continued \(the chunk index of (\w+) fails its checksum\); "
                          r"start over with --overwrite", proc.stderr)
        assert found, proc.stderr
        named.add(found.group(1))
        # inspect reads only the summaries' chunks, yet says the file is damaged and where.
        shown = subprocess.run([brink, "inspect", str(partial)], capture_output=True, text=True, timeout=30)
        assert shown.returncode == 2 and f"(the chunk index of {found.group(1)} fails its checksum); the file is " \
            "damaged" in shown.stderr, shown.stderr
        # Only the superblock's status flags (its first 48 bytes) may change: the open clears them.
        assert partial.read_bytes()[48:] == bytes(damaged[48:]) and not target.exists()
    assert len(named) == len(blocks), "each damaged index is named as its own variable's"
    partial.write_bytes(kept)
    assert subprocess.run([*args, "--resume"], capture_output=True, timeout=120).returncode == 0


def test_a_damaged_calibration_file_is_refused_not_drawn_from(brink, tmp_path):
    """`brink calibrate` writes its numbers with checksums too: a flipped bit in `particles` would
    otherwise become a parameter set of every posterior run."""
    cal = tmp_path / "cal.h5"
    scenario = SOURCE / "scenarios" / "backtest-2022.yaml"
    subprocess.run([brink, "calibrate", str(scenario), "--particles", "100", "--generations", "2",
                    "--replications", "8", "--threads", "2", "-q", "-o", str(cal)], check=True, timeout=120)
    with h5py.File(cal, "r") as f:
        assert f["particles"].fletcher32 and f["weights"].fletcher32
    good = subprocess.run([brink, "run", str(scenario), "--posterior", str(cal), "-n", "256", "-q", "-o",
                           str(tmp_path / "good.h5")], capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr
    flip_a_byte(cal, "particles")
    for command in (["inspect", str(cal)],
                    ["run", str(scenario), "--posterior", str(cal), "-n", "256", "-q", "-o", str(tmp_path / "p.h5")]):
        proc = subprocess.run([brink, *command], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and f"'{cal}' cannot be read as a brink calibration file" in proc.stderr, \
            proc.stderr
    assert not (tmp_path / "p.h5").exists()


def damage_object_header(path, dataset):
    """Overwrites four bytes inside `dataset`'s object header (its checksum then fails)."""
    with h5py.File(path, "r") as f:
        header = h5py.h5o.get_info(f[dataset].id).addr
    with open(path, "r+b") as f:
        f.seek(header + 57)
        f.write(b"ZZZZ")


def test_a_finished_file_with_a_damaged_header_is_refused_at_once(brink, damaged_result, tmp_path):
    """A finished file was opened as a SWMR reader first, which retries a metadata read whose checksum
    fails for a quarter of a second, once per object read: a damaged `day`, which every variable on
    the step axis names, took `brink inspect` 21 s, and 107 s with the retries for a file being
    written. A finished file now opens plainly and fails at once; the timeout makes a hang fail."""
    good, _ = damaged_result
    bad = tmp_path / "header.h5"
    bad.write_bytes(good.read_bytes())
    damage_object_header(bad, "day")
    proc = subprocess.run([brink, "inspect", str(bad)], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 2 and f"'{bad}' cannot be read as a brink result" in proc.stderr, proc.stderr
    assert "damaged" in proc.stderr


@pytest.mark.parametrize("damage", ["header", "block chunk"])
def test_merge_refuses_a_damaged_shard_as_bad_input(brink, tmp_path, damage):
    """A damaged shard was a runtime failure (exit 1, 'HDF5 failed to open survival'), and a
    per-replication chunk was copied into the merged file unread."""
    shards = [tmp_path / f"s{i}.h5" for i in range(2)]
    for i, shard in enumerate(shards):
        subprocess.run([brink, "run", "-n", "512", "-q", "--sweep", "actors.RUS.decision.patience_days=10,20",
                        "--shard", f"{i}/2", "-o", str(shard)], check=True, timeout=120)
    if damage == "header":
        damage_object_header(shards[1], "survival")
    else:
        flip_a_byte(shards[1], "outcome_code")
    merged = tmp_path / "merged.h5"
    proc = subprocess.run([brink, "merge", "-q", str(merged), *map(str, shards)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and f"'{shards[1]}'" in proc.stderr and "damaged" in proc.stderr, proc.stderr
    assert not merged.exists() and not Path(f"{merged}.partial").exists()


def test_a_signal_while_resume_reads_back_stops_it_at_once(brink, tmp_path):
    """--resume reads back every finished chunk before it simulates (seconds for a large file),
    and a signal then waited for the read-back and the replay to end (4-5 s on a 333 MB partial).
    Raised as the read-back starts (a test hook), it stops the run before any block runs, the
    partial keeps what it held, and a later --resume finishes an uninterrupted run's bits. A
    block's chunk is damaged first: a read-back that went on to its end would unmark that block."""
    target, args, partial = killed_sweep(brink, tmp_path)
    with h5py.File(partial, "r", swmr=True) as f:
        before = int(f["block_done"][()].sum())
    assert before > 0
    flip_a_byte(partial, "outcome_code")
    proc = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "BRINK_TEST_SIGNAL_AT_REPLAY": "1"})
    assert proc.returncode == 1, proc.stderr
    assert f"interrupted; {before} finished blocks kept in" in proc.stderr, proc.stderr
    with h5py.File(partial, "r") as f:
        assert int(f["block_done"][()].sum()) == before
    assert subprocess.run([*args, "--resume"], capture_output=True, timeout=120).returncode == 0
    reference = tmp_path / "reference.h5"
    assert subprocess.run([*args[:-1], str(reference)], capture_output=True, timeout=120).returncode == 0
    with h5py.File(target) as a, h5py.File(reference) as b:
        for name in a:
            if isinstance(a[name], h5py.Dataset):
                x, y = a[name][()], b[name][()]
                assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name
