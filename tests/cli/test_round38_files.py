"""Round 38 outside review, files and file systems: a run whose directory was moved leaves the new
directory's files alone, a stale partial's other hard links keep their bytes, and a resume after a
full disk counts the space its partial already holds."""

import os
import signal
import subprocess
import time

import h5py
import pytest

SWEEP = ["--sweep", "actors.RUS.forces.deployed=100000:180000", "--design", "lhs", "--threads", "1", "--no-table"]


def wait_for(path, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, "the run ended before its partial file appeared"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.005)


def test_a_run_whose_directory_was_moved_leaves_the_new_directorys_partial_alone(brink, tmp_path):
    """Run A's directory is moved away and a new one made at its path, where run B leaves an
    interrupted partial; A used to delete B's partial by path when it ended, and say that its own
    result (complete, in the moved directory) was removed."""
    first, moved = tmp_path / "results", tmp_path / "moved"
    first.mkdir()
    a = subprocess.Popen([str(brink), "run", "jan-2022-standoff", "-n", "3000", *SWEEP, "--samples", "40", "-q",
                          "-o", str(first / "x.h5")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(first / "x.h5.partial", a)
        a.send_signal(signal.SIGSTOP)
        first.rename(moved)
        first.mkdir()
        b = subprocess.run([str(brink), "run", "jan-2022-standoff", "-n", "3000", *SWEEP, "--samples", "12", "-q",
                            "-o", str(first / "x.h5")], env={**os.environ, "BRINK_TEST_KILL_AFTER_BLOCKS": "3"},
                           capture_output=True, timeout=120)
        assert b.returncode != 0 and (first / "x.h5.partial").exists()
        kept = (first / "x.h5.partial").read_bytes()
    finally:
        a.send_signal(signal.SIGCONT)
    _, err = a.communicate(timeout=300)
    assert a.returncode == 1, err
    assert "no longer the files this run wrote" in err and "nothing at those paths is touched" in err, err
    assert (first / "x.h5.partial").read_bytes() == kept  # B's work, untouched
    assert not (first / "x.h5").exists()
    with h5py.File(moved / "x.h5.partial") as f:  # A's finished work, where its directory went
        assert f.attrs["complete"] == 1


def test_a_stale_partial_is_unlinked_not_truncated_so_its_other_links_keep_their_bytes(run, tmp_path):
    """`ln keep.h5 x.h5.partial; brink run ... -o x.h5 --overwrite` rewrote keep.h5 in place with another
    run's result, which looked valid; calibrate did the same to its staging files without --overwrite."""
    keep = tmp_path / "keep.h5"
    assert run("run", "jan-2022-standoff", "-n", 50, "-q", "-t", 1, "-o", keep).returncode == 0
    before = keep.read_bytes()
    os.link(keep, tmp_path / "x.h5.partial")
    proc = run("run", "jan-2022-standoff", "-n", 70, "-q", "-t", 1, "-o", tmp_path / "x.h5", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert keep.read_bytes() == before
    with h5py.File(tmp_path / "x.h5") as f:
        assert f["outcome_code"].shape[1] == 70
    for name in ("c.posterior.yaml.partial", "c.h5.partial.tmp"):
        other = tmp_path / f"other-{name}"
        other.write_text("someone's file\n")
        os.link(other, tmp_path / name)
    proc = run("calibrate", "backtest-2022", "--particles", 12, "--generations", 1, "--replications", 1, "-q",
               "-t", 1, "-o", tmp_path / "c.h5")
    assert proc.returncode == 0, proc.stderr
    for name in ("c.posterior.yaml.partial", "c.h5.partial.tmp"):
        assert (tmp_path / f"other-{name}").read_text() == "someone's file\n"


def test_a_resume_counts_the_space_its_partial_already_holds(brink, tmp_path, small_tmpfs):
    """After a full disk the advice is to free space and --resume; the space check asked for room for
    every per-point summary again, though the partial already held most of them, and refused."""
    tmpfs = small_tmpfs
    subprocess.run(["mount", "-o", "remount,size=96m", str(tmpfs)], check=True)
    args = [str(brink), "run", "jan-2022-standoff", "-n", "256", *SWEEP, "--samples", "600"]
    reference = tmp_path / "ref.h5"
    assert subprocess.run([*args, "-q", "-o", str(reference)], capture_output=True, timeout=300).returncode == 0
    out = tmpfs / "t.h5"
    killed = subprocess.run([*args, "-q", "-o", str(out)], env={**os.environ, "BRINK_TEST_KILL_AFTER_BLOCKS": "470"},
                            capture_output=True, timeout=300)
    assert killed.returncode != 0
    partial = out.with_name("t.h5.partial")
    held = os.stat(partial).st_blocks * 512
    remaining = reference.stat().st_size - held
    # Leave room for the rest and 3 MiB: less than the summaries alone, enough for the resume.
    free = os.statvfs(tmpfs).f_bavail * os.statvfs(tmpfs).f_frsize
    filler = free - remaining - 3 * 1024 * 1024
    assert filler > 0
    subprocess.run(["fallocate", "-l", str(filler), str(tmpfs / "filler")], check=True)
    proc = subprocess.run([*args, "-q", "-o", str(out), "--resume"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out) as f, h5py.File(reference) as g:
        for name in ("outcome_count", "outcome_code", "final_forces"):
            assert (f[name][()] == g[name][()]).all(), name


def flip_in_scenario_text(path, needle=b"patience_days: 30"):
    data = bytearray(path.read_bytes())
    at = data.find(needle)
    assert at >= 0, "test setup: the scenario text is not in the file as it was written"
    data[at + len(needle) - 2] = ord("8")  # 30 -> 80
    path.write_bytes(bytes(data))


def test_a_damaged_scenario_text_is_found_by_its_digest(run, brink, tmp_path):
    """The scenario text (the recipe of a re-run) is too large for HDF5's checksummed metadata: a flipped
    byte (patience 30 -> 80) was read back silently by inspect, --resume (which blamed the user for a
    changed scenario) and merge. Its digest, kept in checksummed metadata, now finds it."""
    done = tmp_path / "done.h5"
    assert run("run", "jan-2022-standoff", "-n", 100, "-q", "-t", 1, "-o", done).returncode == 0
    assert run("inspect", done).returncode == 0
    flip_in_scenario_text(done)
    proc = run("inspect", done)
    assert proc.returncode == 2 and "attribute 'scenario' does not match its digest" in proc.stderr, proc.stderr
    # A partial with the same damage is not resumed as another run's.
    out = tmp_path / "r.h5"
    args = [str(brink), "run", "jan-2022-standoff", "-n", "3000", "-q", "-t", "1", "-o", str(out)]
    killed = subprocess.run(args, env={**os.environ, "BRINK_TEST_KILL_AFTER_BLOCKS": "3"}, capture_output=True,
                            timeout=60)
    assert killed.returncode != 0
    flip_in_scenario_text(tmp_path / "r.h5.partial")
    proc = run(*args[1:], "--resume")
    assert proc.returncode == 2 and "is damaged" in proc.stderr and "'scenario'" in proc.stderr, proc.stderr
    # Nor merged as a shard.
    shards = [tmp_path / f"s{i}.h5" for i in range(2)]
    for i, shard in enumerate(shards):
        assert run("run", "jan-2022-standoff", "-n", 100, "-q", "-t", 1, "--sweep",
                   "actors.RUS.decision.weights.cost=0.5,1", "--shard", f"{i}/2", "-o", shard).returncode == 0
    flip_in_scenario_text(shards[1])
    proc = run("merge", tmp_path / "m.h5", *shards)
    assert proc.returncode == 2 and "is damaged" in proc.stderr, proc.stderr
    assert not (tmp_path / "m.h5").exists()


def test_brink_analysis_refuses_a_file_whose_scenario_text_is_damaged(run, tmp_path):
    """open_results read the flipped scenario text silently; it now checks the digest as inspect does."""
    import brink_analysis as ba

    out = tmp_path / "r.h5"
    assert run("run", "jan-2022-standoff", "-n", 50, "-q", "-t", 1, "-o", out).returncode == 0
    ba.open_results(str(out)).close()  # the digests of a sound file match
    flip_in_scenario_text(out)
    with pytest.raises(ValueError, match="attribute 'scenario' does not match its digest"):
        ba.open_results(str(out))
