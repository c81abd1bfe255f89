"""What brink promises about the files it writes over, found by a second
hostile-input audit:

- an existing result is never replaced without --overwrite (run, calibrate,
  merge), and --resume does not rerun a finished one;
- no output replaces an input: the scenario choices of `--sweep scenario=`
  and the calibration file of `--posterior` are inputs too;
- --resume and --overwrite contradict each other and are refused together;
- a TARGET.partial that is another program's HDF5 file, not HDF5 at all, or
  that this process may not write, is refused rather than called damaged and
  thrown away; a file at TARGET.lock that is not a brink lock is never deleted;
- an output name whose TARGET.partial would be too long is a usage error;
- SIGINT, SIGTERM and SIGHUP stop run, calibrate and merge with a sentence
  (never death by the signal, never a stray lock file), and a closed pipe on
  stderr does not kill a run.
"""

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import _blocks_done, interrupt_after_first_blocks

SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
MINIMAL = SOURCE / "docs" / "examples" / "minimal.yaml"
N = "256"

CALIBRATION = """
observations:
  red_deployed: {quantity: forces, actor: RED, date: 2022-01-20, value: 60000, range: [50000, 70000],
                 source: "test"}
calibrate:
  particles: 16
  generations: 2
  replications: 16
  parameters:
    actors.RED.forces.deployment_rate: {prior: uniform, min: 500, max: 5000}
"""


def run(brink, *args, cwd, timeout=120):
    return subprocess.run([brink, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def one_sentence(proc):
    lines = [line for line in proc.stderr.splitlines() if line]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def work(tmp_path):
    (tmp_path / "a.yaml").write_text(MINIMAL.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def calibration_scenario(work):
    text = MINIMAL.read_text(encoding="utf-8").replace("  seed: 7\n", "  seed: 7\n  start_date: 2022-01-01\n")
    text = "\n".join(line for line in text.split("\n") if "day: 45, actor: RED" not in line)
    path = work / "c.yaml"
    path.write_text(text + CALIBRATION, encoding="utf-8")
    return path


def test_run_refuses_to_replace_an_existing_result_unless_overwrite(brink, work):
    assert run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "r.h5", cwd=work).returncode == 0
    before = (work / "r.h5").read_bytes()
    for extra in ([], ["--seed", "99"], ["--resume"]):
        proc = run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "r.h5", *extra, cwd=work)
        line = one_sentence(proc)
        assert proc.returncode == 2 and "'r.h5' exists" in line and "--overwrite" in line, (extra, line)
        assert (work / "r.h5").read_bytes() == before, extra
        assert not (work / "r.h5.lock").exists() and not (work / "r.h5.partial").exists()
    # Any file, not only a result: the name is the user's.
    (work / "notes.txt").write_text("field notes\n")
    proc = run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "notes.txt", cwd=work)
    assert proc.returncode == 2 and (work / "notes.txt").read_text() == "field notes\n", proc.stderr

    proc = run(brink, "run", "a.yaml", "-q", "-n", N, "--seed", "99", "-o", "r.h5", "--overwrite", cwd=work)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(work / "r.h5", "r") as f:
        assert int(f.attrs["seed"]) == 99


def test_resume_may_replace_the_result_its_partial_was_started_over(brink, work):
    # A run that was allowed to replace r.h5 (--overwrite) and was interrupted
    # is finished by --resume, which cannot be given with --overwrite.
    assert run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "r.h5", cwd=work).returncode == 0
    target = work / "r.h5"
    partial = work / "r.h5.partial"
    proc = subprocess.Popen([brink, "run", "-n", "100000", "--threads", "1", "-q", "-o", str(target), "--overwrite"],
                            cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    interrupt_after_first_blocks(proc, partial, time.monotonic() + 20, signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 1 and partial.exists()
    done = run(brink, "run", "-n", "100000", "--threads", "2", "-q", "-o", target, "--resume", cwd=work)
    assert done.returncode == 0, done.stderr
    with h5py.File(target, "r") as f:
        assert f.attrs["scenario_source"] != "a.yaml" and int(f.attrs["complete"]) == 1


@pytest.mark.parametrize("second", [[], ["--resume"], ["--overwrite"]], ids=["fresh", "resume", "overwrite"])
def test_a_live_runs_partial_is_refused_even_when_its_lock_file_was_removed(brink, work, second):
    """With the lock file removed by hand during a run, a second run took the lock anew and treated the
    live partial as an interrupted one: it advised --resume, and that resume wrote into the file the
    first run was writing (both failed, and the 'kept' blocks were deleted). The run also holds its
    partial (a shared flock), so the second run stops (exit 1, as when a reader holds the file) and
    the partial is left to its writer."""
    target, partial, lock = work / "live.h5", work / "live.h5.partial", work / "live.h5.lock"
    first = subprocess.Popen([brink, "run", "-n", "1000000", "--threads", "1", "-q", "-o", str(target)],
                             cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        interrupt_after_first_blocks(first, partial, time.monotonic() + 30, signal.SIGSTOP)
        lock.unlink()
        proc = run(brink, "run", "-n", "1000000", "--threads", "1", "-q", "-o", target, *second, cwd=work)
        line = one_sentence(proc)
        assert proc.returncode == 1 and "another program has it open (a brink run still writing it" in line, line
        assert ("run again with --resume" in line) == (second == ["--resume"]), line
        assert partial.exists() and not target.exists()
    finally:
        first.kill()
        first.communicate(timeout=30)


@pytest.mark.parametrize("started", [[], ["--overw"]], ids=["without-overwrite", "abbreviated-overwrite"])
def test_resume_replaces_a_file_that_appeared_at_the_target_only_if_its_run_could(brink, work, started):
    """A run started with no t.h5 and without --overwrite, interrupted; then a result is copied to
    t.h5. --resume used to replace it and exit 0: that run was never allowed to. One started with
    --overwrite (here abbreviated, as the option parser accepts it) was."""
    assert run(brink, "run", "a.yaml", "-q", "-n", N, "--seed", "99", "-o", "precious.h5", cwd=work).returncode == 0
    target, partial = work / "t.h5", work / "t.h5.partial"
    proc = subprocess.Popen([brink, "run", "-n", "100000", "--threads", "1", "-q", "-o", str(target), *started],
                            cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    interrupt_after_first_blocks(proc, partial, time.monotonic() + 20, signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 1 and partial.exists() and not target.exists()
    shutil.copy(work / "precious.h5", target)
    before, partial_before = target.read_bytes(), partial.read_bytes()
    resume = ["run", "-n", "100000", "--threads", "2", "-q", "-o", target, "--resume"]
    proc = run(brink, *resume, cwd=work)
    if started:
        assert proc.returncode == 0, proc.stderr
        with h5py.File(target, "r") as f:
            assert int(f.attrs["seed"]) != 99 and int(f.attrs["complete"]) == 1
        return
    line = one_sentence(proc)
    assert proc.returncode == 2 and "'" + str(target) + "' exists" in line and "without --overwrite" in line, line
    assert target.read_bytes() == before and partial.read_bytes() == partial_before
    assert not (work / "t.h5.lock").exists()
    (work / "t.h5").rename(work / "kept.h5")  # as the message says: move it away, then resume
    assert run(brink, *resume, cwd=work).returncode == 0
    assert (work / "kept.h5").read_bytes() == before


def test_calibrate_resume_replaces_neither_a_result_nor_a_posterior_scenario_that_appeared(brink, work):
    scenario = calibration_scenario(work)
    assert run(brink, "calibrate", scenario, "-q", "-o", "c.h5", "--generations", "1", cwd=work).returncode == 0
    (work / "c.h5").rename(work / "c.h5.partial")  # one generation kept, as after a kill
    (work / "c.posterior.yaml").unlink()
    assert run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "precious.h5", cwd=work).returncode == 0
    resume = ["calibrate", scenario, "-q", "-o", "c.h5", "--generations", "2", "--resume"]
    for appeared in ("c.h5", "c.posterior.yaml"):
        shutil.copy(work / "precious.h5", work / appeared)
        before, partial_before = (work / appeared).read_bytes(), (work / "c.h5.partial").read_bytes()
        proc = run(brink, *resume, cwd=work)
        line = one_sentence(proc)
        assert proc.returncode == 2 and f"'{appeared}' exists" in line and "without --overwrite" in line, line
        assert (work / appeared).read_bytes() == before and (work / "c.h5.partial").read_bytes() == partial_before
        (work / appeared).unlink()
    assert run(brink, *resume, cwd=work).returncode == 0
    assert (work / "c.h5").exists() and (work / "c.posterior.yaml").exists()


def test_resume_and_overwrite_together_are_refused(brink, work):
    for command in (["run", "a.yaml", "-n", N], ["calibrate", calibration_scenario(work)]):
        proc = run(brink, *command, "-q", "-o", "x.h5", "--resume", "--overwrite", cwd=work)
        line = one_sentence(proc)
        assert proc.returncode == 2 and "--resume" in line and "--overwrite" in line, line
        assert not list(work.glob("x.h5*"))


def test_scenario_choices_and_the_posterior_file_are_inputs_never_outputs(brink, work):
    text = (work / "a.yaml").read_text(encoding="utf-8")
    (work / "b.yaml").write_text(text.replace("patience_days: 20", "patience_days: 25"), encoding="utf-8")
    proc = run(brink, "run", "a.yaml", "-q", "-n", N, "--sweep", "scenario=a.yaml,b.yaml", "-o", "b.yaml",
               "--overwrite", cwd=work)
    assert proc.returncode == 2 and "is the input file 'b.yaml'" in one_sentence(proc), proc.stderr
    assert (work / "b.yaml").read_text(encoding="utf-8") != text and not h5py.is_hdf5(work / "b.yaml")

    scenario = calibration_scenario(work)
    assert run(brink, "calibrate", scenario, "-q", "-o", "cal.h5", cwd=work).returncode == 0
    before = (work / "cal.h5").read_bytes()
    proc = run(brink, "run", scenario, "-q", "-n", N, "--posterior", "cal.h5", "-o", "cal.h5", "--overwrite",
               cwd=work)
    assert proc.returncode == 2 and "is the input file 'cal.h5'" in one_sentence(proc), proc.stderr
    assert (work / "cal.h5").read_bytes() == before


def test_the_same_scenario_choice_twice_is_refused(brink, work):
    os.symlink(work / "a.yaml", work / "same.yaml")
    for choices in ("a.yaml,a.yaml", "a.yaml,same.yaml"):
        proc = run(brink, "run", "a.yaml", "-q", "-n", N, "--sweep", f"scenario={choices}", "-o", "x.h5", cwd=work)
        assert proc.returncode == 2 and "give each scenario once" in one_sentence(proc), proc.stderr


def test_calibrate_refuses_to_replace_a_calibration_unless_overwrite(brink, work):
    scenario = calibration_scenario(work)
    assert run(brink, "calibrate", scenario, "-q", "-o", "cal.h5", cwd=work).returncode == 0
    before = (work / "cal.h5").read_bytes()
    proc = run(brink, "calibrate", scenario, "-q", "-o", "cal.h5", "--seed", "3", cwd=work)
    assert proc.returncode == 2 and "'cal.h5' exists" in one_sentence(proc), proc.stderr
    assert (work / "cal.h5").read_bytes() == before
    # The posterior scenario beside it is a result too.
    (work / "cal.h5").unlink()
    proc = run(brink, "calibrate", scenario, "-q", "-o", "cal.h5", cwd=work)
    assert proc.returncode == 2 and "'cal.posterior.yaml' exists" in one_sentence(proc), proc.stderr
    assert run(brink, "calibrate", scenario, "-q", "-o", "cal.h5", "--overwrite", cwd=work).returncode == 0


def test_merge_refuses_an_existing_file_of_any_kind(brink, work):
    sweep = ["--sweep", "actors.RED.decision.patience_days=10,20"]
    for i in range(2):
        assert run(brink, "run", "a.yaml", "-q", "-n", N, *sweep, "--shard", f"{i}/2", "-o", f"s{i}.h5",
                   cwd=work).returncode == 0
    (work / "m.h5").write_text("keep me\n")
    proc = run(brink, "merge", "m.h5", "s0.h5", "s1.h5", cwd=work)
    assert proc.returncode == 2 and "'m.h5' exists" in one_sentence(proc), proc.stderr
    assert (work / "m.h5").read_text() == "keep me\n"


@pytest.mark.parametrize("make", ["latest", "default"])
def test_a_foreign_hdf5_partial_is_refused_not_thrown_away(brink, work, make):
    partial = work / "f.h5.partial"
    with h5py.File(partial, "w", **({"libver": "latest"} if make == "latest" else {})) as f:
        f["mydata"] = [1, 2, 3]
    for extra in (["--resume"], []):
        proc = run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "f.h5", *extra, cwd=work)
        line = one_sentence(proc)
        assert proc.returncode == 2 and "not an unfinished brink run" in line and "--overwrite" in line, line
        with h5py.File(partial, "r") as f:
            assert list(f["mydata"][...]) == [1, 2, 3]
    assert run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "f.h5", "--overwrite", cwd=work).returncode == 0


def test_a_partial_that_is_not_hdf5_is_refused_not_thrown_away(brink, work):
    """A non-empty TARGET.partial without HDF5's signature is no brink run's (a stopped run leaves
    an empty file or one that starts with it): run refuses it, with or without --resume."""
    partial = work / "f.h5.partial"
    partial.write_text("my lab notes, not brink's\n")
    for extra in (["--resume"], []):
        proc = run(brink, "run", "a.yaml", "-n", N, "--no-table", "-o", "f.h5", *extra, cwd=work)
        line = one_sentence(proc)
        assert proc.returncode == 2 and "is not an HDF5 file" in line and "--overwrite" in line, line
        assert partial.read_text() == "my lab notes, not brink's\n" and not (work / "f.h5").exists()
    partial.write_bytes(b"")  # what a run killed at once leaves: discarded as before
    assert run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "f.h5", cwd=work).returncode == 0
    assert not partial.exists()


def test_a_file_at_the_lock_path_is_never_deleted(brink, work):
    """brink keeps TARGET.lock while it writes and deletes it after: a result or any other file
    already at that path is refused (run, merge, calibrate), while a stale lock of a killed run,
    empty or with its note, is taken over."""
    assert run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "other.h5", cwd=work).returncode == 0
    (work / "other.h5").rename(work / "res.h5.lock")  # a result at the lock path (-o res.h5.lock is refused)
    kept = (work / "res.h5.lock").read_bytes()
    for i in range(2):
        assert run(brink, "run", "a.yaml", "-q", "-n", N, "--sweep", "actors.RED.decision.patience_days=10,20",
                   "--shard", f"{i}/2", "-o", f"s{i}.h5", cwd=work).returncode == 0
    scenario = calibration_scenario(work)
    (work / "cal.h5.lock").write_bytes(kept)
    for args in (["run", "a.yaml", "-q", "-n", N, "-o", "res.h5"],
                 ["merge", "res.h5", "s0.h5", "s1.h5", "-q"],
                 ["calibrate", scenario, "-q", "-o", "cal.h5"]):
        proc = run(brink, *args, cwd=work)
        line = one_sentence(proc)
        assert proc.returncode == 2 and "is not a brink lock file" in line, line
    assert (work / "res.h5.lock").read_bytes() == kept and (work / "cal.h5.lock").read_bytes() == kept
    for stale in (b"", b"PID 12345 on host elsewhere\n"):
        (work / "res.h5.lock").write_bytes(stale)
        assert run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "res.h5", "--overwrite", cwd=work).returncode == 0
        assert not (work / "res.h5.lock").exists()


def test_an_output_that_is_a_link_to_nothing_is_refused_up_front(brink, work):
    """The final rename cannot replace a dangling symlink; it used to end every run (and every
    --resume) with a false "created by another program". Now: exit 2 before running, for run's
    target and calibrate's posterior scenario, and the link is left alone."""
    (work / "dl.h5").symlink_to(work / "nowhere.h5")
    for extra in ([], ["--resume"]):
        proc = run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "dl.h5", *extra, cwd=work)
        line = one_sentence(proc)
        assert proc.returncode == 2 and "'dl.h5' is a symbolic link to" in line and "does not exist" in line, line
    scenario = calibration_scenario(work)
    (work / "cal.posterior.yaml").symlink_to("/nonexistent/posterior.yaml")
    proc = run(brink, "calibrate", scenario, "-q", "-o", "cal.h5", cwd=work)
    line = one_sentence(proc)
    assert proc.returncode == 2 and "'cal.posterior.yaml' is a symbolic link" in line, line
    assert sorted(p.name for p in work.iterdir() if p.name.startswith(("dl.", "cal."))) == \
        ["cal.posterior.yaml", "dl.h5"]  # nothing written, both links still there
    assert (work / "dl.h5").is_symlink() and (work / "cal.posterior.yaml").is_symlink()


def test_an_output_that_is_a_loop_of_links_is_refused_up_front(brink, work):
    """A loop of links (ELOOP): the run used to simulate everything, then end with a false "created
    or replaced by another program" and a kept `.partial` that later runs misread as unfinished
    work. Now: exit 2 before running."""
    (work / "loop1").symlink_to("loop2")
    (work / "loop2").symlink_to("loop1")
    for extra in ([], ["--resume"], ["--overwrite"]):
        proc = run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "loop1", *extra, cwd=work)
        line = one_sentence(proc)
        assert proc.returncode == 2 and "output 'loop1' cannot be written: Too many levels of symbolic links" in line, \
            line
    assert sorted(p.name for p in work.iterdir() if p.name.startswith("loop")) == ["loop1", "loop2"]


@pytest.mark.parametrize("summary_only", [False, True])
def test_a_finished_result_left_in_the_partial_is_not_replaced(brink, work, summary_only):
    """A run whose target appeared while it ran keeps its finished result in TARGET.partial and says
    so. The next run into the same target replaced it silently (--summary-only) or offered to
    resume it; both now refuse and say how to move it into place."""
    extra = ["--summary-only"] if summary_only else []
    finished = work / "done.h5"
    assert run(brink, "run", "a.yaml", "-q", "-n", N, *extra, "-o", finished, cwd=work).returncode == 0
    partial = work / "r.h5.partial"
    partial.write_bytes(finished.read_bytes())
    proc = run(brink, "run", "a.yaml", "-q", "-n", N, *extra, "-o", "r.h5", cwd=work)
    line = one_sentence(proc)
    assert proc.returncode == 2 and "holds the finished result of an earlier run" in line \
        and "'mv r.h5.partial r.h5'" in line, line
    assert partial.read_bytes() == finished.read_bytes() and not (work / "r.h5").exists()
    if summary_only:  # nothing to resume from: the one way on is the mv the message names
        proc = run(brink, "run", "a.yaml", "-q", "-n", N, *extra, "--overwrite", "-o", "r.h5", cwd=work)
        assert proc.returncode == 0 and (work / "r.h5").exists() and not partial.exists(), proc.stderr
        return
    # --resume continues it, which runs nothing and puts it in place.
    proc = run(brink, "run", "a.yaml", "-q", "-n", N, "--resume", "-o", "r.h5", cwd=work)
    assert proc.returncode == 0 and not partial.exists(), proc.stderr
    with h5py.File(work / "r.h5", "r") as a, h5py.File(finished, "r") as b:
        assert all(np.array_equal(a[name][()], b[name][()], equal_nan=a[name].dtype.kind == "f") for name in b
                   if a[name].dtype.kind != "O")


def test_a_finished_result_left_beside_a_file_that_appeared_is_never_put_over_it(brink, work):
    """A run refused its target because a file appeared there keeps its finished result in
    TARGET.partial. The next run called that "an interrupted run that was to replace it" and advised
    --resume, which then replaced the file that had appeared without --overwrite."""
    finished = work / "done.h5"
    assert run(brink, "run", "a.yaml", "-q", "-n", N, "-o", finished, cwd=work).returncode == 0
    (work / "r.h5.partial").write_bytes(finished.read_bytes())
    appeared = work / "r.h5"
    assert run(brink, "run", "a.yaml", "-q", "-n", "64", "--seed", "3", "-o", "other.h5", cwd=work).returncode == 0
    shutil.copy(work / "other.h5", appeared)
    before = appeared.read_bytes()
    for extra in ([], ["--resume"]):
        proc = run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "r.h5", *extra, cwd=work)
        line = one_sentence(proc)
        assert proc.returncode == 2 and "holds the finished result of an earlier run" in line \
            and "move 'r.h5' (the file that appeared) away, then move it into place ('mv r.h5.partial r.h5')" \
            in line and "--overwrite" in line, (extra, line)
        assert appeared.read_bytes() == before and (work / "r.h5.partial").read_bytes() == finished.read_bytes()
    proc = run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "r.h5", "--overwrite", cwd=work)
    assert proc.returncode == 0 and not (work / "r.h5.partial").exists(), proc.stderr


def test_brink_never_writes_through_a_link_at_its_own_files(brink, work):
    """A TARGET.partial that was a symbolic link was written through (--overwrite truncated the file it
    points to, and the link was renamed to TARGET), and so was calibrate's OUT.posterior.yaml.partial."""
    assert run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "important.h5", cwd=work).returncode == 0
    before = (work / "important.h5").read_bytes()
    (work / "precious.txt").write_text("mine\n")
    os.symlink("important.h5", work / "a.h5.partial")
    os.symlink("precious.txt", work / "b.h5.lock")
    for out, link in (("a.h5", "a.h5.partial"), ("b.h5", "b.h5.lock")):
        for extra in (["--overwrite"], ["--resume"], []):
            proc = run(brink, "run", "a.yaml", "-q", "-n", N, "-o", out, *extra, cwd=work)
            line = one_sentence(proc)
            assert proc.returncode == 2 and f"'{link}' is a symbolic link" in line, (extra, line)
            assert (work / link).is_symlink() and not (work / out).exists()
    scenario = calibration_scenario(work)
    os.symlink("precious.txt", work / "cc.posterior.yaml.partial")
    proc = run(brink, "calibrate", scenario, "-q", "-o", "cc.h5", cwd=work)
    line = one_sentence(proc)
    assert proc.returncode == 2 and "'cc.posterior.yaml.partial' is a symbolic link" in line, line
    assert not (work / "cc.h5").exists() and not (work / "cc.posterior.yaml").exists()
    assert (work / "important.h5").read_bytes() == before and (work / "precious.txt").read_text() == "mine\n"


def calibrate_while_a_file_appears(brink, work, appears):
    """Runs a calibration into cal.h5, and once it has saved its first generation, stopped (SIGSTOP, so
    that the moment is no race), writes a file at `appears`; returns the finished process."""
    scenario = calibration_scenario(work)
    proc = subprocess.Popen([brink, "calibrate", scenario, "-q", "-t", "1", "-o", "cal.h5", "--particles", "100",
                             "--generations", "4"], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    while not (work / "cal.h5.partial").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGSTOP)
    assert proc.poll() is None, "the calibration finished before a file could appear"
    (work / appears).write_text("appeared\n")
    proc.send_signal(signal.SIGCONT)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("appears", ["cal.posterior.yaml", "cal.h5"])
def test_calibrate_never_publishes_over_a_file_that_appeared(brink, work, appears):
    """The posterior scenario was renamed over a file that appeared at OUT.posterior.yaml while the
    calibration ran, and was published even when OUT itself could not be (a file appeared there),
    saying that its particles were in OUT, another program's file."""
    proc = calibrate_while_a_file_appears(brink, work, appears)
    line = one_sentence(proc)
    assert proc.returncode == 1 and f"'{appears}' was created or replaced by another program" in line, line
    assert (work / appears).read_text() == "appeared\n"
    if appears == "cal.h5":  # the posterior names OUT as its particles' file: it goes nowhere either
        assert not (work / "cal.posterior.yaml").exists() and not (work / "cal.posterior.yaml.partial").exists()
        assert (work / "cal.h5.partial").exists()
        # Its finished calibration is left in the partial: --resume would put it over the file that
        # appeared, so it is refused until that file is moved away.
        again = [brink, "calibrate", proc.args[2], "-q", "-t", "1", "-o", "cal.h5", "--particles", "100",
                 "--generations", "4", "--resume"]
        resumed = subprocess.run(again, cwd=work, capture_output=True, text=True, timeout=120)
        line = one_sentence(resumed)
        assert resumed.returncode == 2 and "cal.h5.partial holds a finished calibration" in line \
            and "move 'cal.h5' (the file that appeared) away" in line, line
        assert (work / "cal.h5").read_text() == "appeared\n" and (work / "cal.h5.partial").exists()
        (work / "cal.h5").rename(work / "moved.h5")
        resumed = subprocess.run(again, cwd=work, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0 and (work / "cal.h5").exists() and (work / "cal.posterior.yaml").exists(), \
            resumed.stderr
    else:
        assert (work / "cal.h5").exists() and (work / "cal.posterior.yaml.partial").exists()
    assert not (work / "cal.h5.lock").exists()


def test_out_of_memory_is_a_sentence_and_leaves_no_partial(brink, work):
    """A plan too large for the address space (a ten-million-point grid under ulimit -v) ends with
    one sentence and exit 1, and the file it had started holds nothing to resume: it is removed,
    so the next run into the same target needs no --overwrite."""
    import resource
    # The ASan build reserves its shadow memory up front, so under any address-space limit it
    # cannot start; the release build (run first in CI) covers this case.
    if b"__asan_init" in Path(brink).read_bytes():
        pytest.skip("ASan reserves terabytes of address space: an address-space limit cannot apply")
    # 10^7 points, the most a plan may have: a million once ran out of memory too, until the
    # file's per-point command strings were written a slice at a time.
    axes = [f"{path}={','.join(str(round(start + step * i, 5)) for i in range(count))}"
            for path, start, step, count in (("combat.collapse_fraction", 0.0, 0.005, 100),
                                             ("actors.RED.decision.rationality", 1.0, 0.01, 100),
                                             ("escalation.tension.decay", 0.0, 0.0001, 1000))]
    limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (300 << 20, 300 << 20))  # noqa: E731
    # every=1000 keeps the summaries' step axis to its first day: summaries that alone exceed the
    # free space are refused before any memory is needed (112 GiB of them on a 34 GiB disk).
    proc = subprocess.run([brink, "run", "a.yaml", "-n", "1", "-q", "--summary-only", "--timeseries", "every=1000",
                           "-o", "big.h5", *[a for axis in axes for a in ("--sweep", axis)]],
                          cwd=work, capture_output=True, text=True, timeout=120, preexec_fn=limit)
    # The whole file may exceed the free space, which is warned of first (depending on the disk).
    proc.stderr = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("brink run: warning:"))
    line = one_sentence(proc)
    assert proc.returncode == 1 and "out of memory" in line and "bad_alloc" not in line, line
    assert not list(work.glob("big.h5*"))
    assert run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "big.h5", cwd=work).returncode == 0


# Only root can run the binary as `nobody` (setpriv) and hand it a file it may not write; CI runs
# as root, so there these tests always run. A non-root developer cannot set the case up at all.
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the binary as another user")
def test_a_read_only_partial_is_refused_as_such_not_called_damaged(brink, tmp_path):
    # Root writes any file: run as nobody, in a directory nobody may reach
    # (pytest's own are private to root) but may not write that file in.
    work = Path(tempfile.mkdtemp(prefix="brink-ro-", dir="/tmp"))
    os.chmod(work, 0o777)
    target = work / "x.h5"
    proc = subprocess.Popen([brink, "run", "-n", "100000", "--threads", "1", "-q", "-o", str(target)], cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = work / "x.h5.partial"
    interrupt_after_first_blocks(proc, partial, time.monotonic() + 20, signal.SIGINT)
    proc.communicate(timeout=30)
    os.chown(partial, 65534, 65534)
    os.chmod(partial, 0o444)
    before = partial.read_bytes()
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", brink]
    done = subprocess.run([*as_nobody, "run", "-n", "100000", "-q", "-o", str(target), "--resume"], cwd=work,
                          capture_output=True, text=True, timeout=60)
    line = one_sentence(done)
    try:
        assert done.returncode == 2 and "cannot be written" in line and "damaged" not in line, line
        assert partial.read_bytes() == before
    finally:
        shutil.rmtree(work)


def interrupted_flagship(brink, tmp_path):
    """The command of a one-thread flagship run and its partial file, left by SIGINT after its first blocks."""
    target = tmp_path / "x.h5"
    args = [brink, "run", "-n", "100000", "--threads", "1", "-q", "--seed", "5", "-o", str(target)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = tmp_path / "x.h5.partial"
    interrupt_after_first_blocks(proc, partial, time.monotonic() + 20, signal.SIGINT)
    proc.communicate(timeout=30)
    return args, partial


def assert_resumes_to_an_uninterrupted_runs_bits(args, tmp_path):
    resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    reference = tmp_path / "reference.h5"
    assert subprocess.run([*args[:-1], str(reference)], capture_output=True, timeout=120).returncode == 0
    with h5py.File(args[-1], "r") as a, h5py.File(reference, "r") as b:
        for name in b:
            assert np.array_equal(a[name][()], b[name][()], equal_nan=a[name].dtype.kind == "f"), name


def test_a_partial_another_program_has_open_is_kept_and_resumes_once_it_is_closed(brink, tmp_path):
    """A reader without SWMR (h5py's default) holds HDF5's lock on the partial file. --resume used to
    call the file unreadable, start over, and truncate it: the finished blocks were lost."""
    args, partial = interrupted_flagship(brink, tmp_path)
    before = partial.read_bytes()
    with h5py.File(partial, "r"):
        held = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=60)
    line = one_sentence(held)
    assert held.returncode == 1, line
    assert "another program has it open" in line and "--resume" in line and "--overwrite" not in line, line
    assert partial.read_bytes() == before
    assert_resumes_to_an_uninterrupted_runs_bits(args, tmp_path)


@pytest.mark.parametrize("damage", ["published_unfinished", "done_flag_of_two"])
def test_resume_trusts_only_marks_that_agree_with_each_other(brink, tmp_path, damage):
    """A point whose `replications` is set while its blocks are not all done was never published (its
    summary rows were never written), and a block_done flag other than 1 marks nothing: --resume must
    run them again, not keep an empty summary or copy the flag into the finished file."""
    args, partial = interrupted_flagship(brink, tmp_path)
    with h5py.File(partial, "r+") as f:
        assert f["replications"][0] == 0 and f["block_done"][0, 0] == 1
        if damage == "published_unfinished":
            f["replications"][0] = 100000
        else:
            f["block_done"][0, 0] = 2
    assert_resumes_to_an_uninterrupted_runs_bits(args, tmp_path)


def killed_while_open_for_writing(partial):
    """What a --resume killed in its first moments leaves: the file reopened read-write (HDF5 marks the
    superblock open for writing at once) but not yet switched to SWMR writing. A plain h5py "r+" open
    does the same, and kill -9 keeps it from clearing the mark."""
    holder = subprocess.Popen([sys.executable, "-c", "import h5py, sys, time\n"
                               "f = h5py.File(sys.argv[1], 'r+')\nprint('open', flush=True)\ntime.sleep(60)",
                               str(partial)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "open"
    holder.kill()
    holder.wait(timeout=30)
    with open(partial, "rb") as raw:  # superblock version 3, file consistency flags: write access, not SWMR
        head = raw.read(12)
    assert head[8] == 3 and head[11] == 0x01, head


def test_a_partial_left_marked_open_by_a_killed_reopen_resumes_to_an_uninterrupted_runs_bits(brink, tmp_path):
    """kill -9 in the first tenth of a second of a --resume left the partial marked open for writing
    but not for SWMR writing, which no read-only open gets past: every later run called the intact
    file damaged and refused it until `h5clear -s`. Under the lock the mark is stale and is cleared."""
    args, partial = interrupted_flagship(brink, tmp_path)
    killed_while_open_for_writing(partial)
    before = partial.read_bytes()
    fresh = subprocess.run(args, capture_output=True, text=True, timeout=60)
    line = one_sentence(fresh)
    assert fresh.returncode == 2 and "finished block" in line and "--resume" in line and "damaged" not in line, line
    partial.write_bytes(before)  # the mark again: --resume must get past it too
    assert_resumes_to_an_uninterrupted_runs_bits(args, tmp_path)


# As above: root alone can run the binary as `nobody`; CI runs as root.
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the binary as another user")
def test_an_unreachable_output_directory_is_named_as_such(brink, tmp_path):
    # pytest's directories are private to root: nobody cannot reach them, which is not "missing".
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", brink, "run", "-q", "-n",
                           N, "-o", str(tmp_path / "x.h5")], capture_output=True, text=True, timeout=60)
    line = one_sentence(proc)
    assert proc.returncode == 2 and "cannot reach the directory" in line and "Permission denied" in line, line


def test_an_output_name_too_long_for_its_partial_is_a_usage_error(brink, work):
    for length in (248, 250, 260):
        name = "c" * (length - 3) + ".h5"
        proc = run(brink, "run", "a.yaml", "-q", "-n", N, "-o", name, cwd=work)
        assert proc.returncode == 2 and "bytes" in one_sentence(proc), (length, proc.stderr)
        assert not list(work.glob("c*")), length


def interrupted(brink, work, signum, args, after_s):
    proc = subprocess.Popen([brink, *map(str, args)], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(after_s)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_merge_stops_on_a_signal_and_leaves_nothing_behind(brink, work, signum):
    sweep = ["--sweep", "actors.RUS.decision.patience_days=10,20,30,40"]
    for i in range(2):
        assert run(brink, "run", "-q", "-n", "60000", *sweep, "--shard", f"{i}/2", "-o", f"s{i}.h5",
                   cwd=work).returncode == 0
    # A merge shorter than the wait finishes, which is no test: wait less until one is interrupted.
    for after_s in (0.3, 0.15, 0.08, 0.04, 0.02):
        code, err = interrupted(brink, work, signum, ["merge", "-q", "m.h5", "s0.h5", "s1.h5"], after_s)
        if code != 0:
            break
        (work / "m.h5").unlink()
    assert code == 1 and "interrupted" in err and "run the merge again" in err, (code, err)
    assert not list(work.glob("m.h5*")), list(work.glob("m.h5*"))
    assert run(brink, "merge", "-q", "m.h5", "s0.h5", "s1.h5", cwd=work).returncode == 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP])
def test_calibrate_stops_on_a_signal_and_resumes(brink, work, signum):
    scenario = calibration_scenario(work)
    args = ["calibrate", scenario, "-q", "-o", "cal.h5", "--particles", "1000", "--generations", "12",
            "--replications", "32"]
    proc = subprocess.Popen([brink, *map(str, args)], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    partial = work / "cal.h5.partial"
    deadline = time.monotonic() + 60
    while not partial.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the calibration finished before it could be interrupted"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "interrupted" in err and "--resume" in err, (proc.returncode, err)
    assert partial.exists() and not (work / "cal.h5.lock").exists() and not (work / "cal.h5").exists()


def test_a_closed_stderr_pipe_or_a_hangup_does_not_kill_a_run(brink, work):
    # The progress lines hit the closed pipe long before the run ends.
    shell = f"'{brink}' run -n 100000 --threads 1 --no-table -o p.h5 2>&1 | head -c 1 > /dev/null; " \
            "echo ${PIPESTATUS[0]}"
    proc = subprocess.run(["bash", "-c", shell], cwd=work, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "0", proc.stdout + proc.stderr
    with h5py.File(work / "p.h5", "r") as f:
        assert int(f.attrs["complete"]) == 1

    target = work / "h.h5"
    proc = subprocess.Popen([brink, "run", "-n", "100000", "--threads", "1", "-q", "-o", str(target)], cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    interrupt_after_first_blocks(proc, work / "h.h5.partial", time.monotonic() + 20, signal.SIGHUP)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "continue with --resume" in err, (proc.returncode, err)
    assert not (work / "h.h5.lock").exists()


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGINT])
def test_a_signal_ignored_at_start_stays_ignored(brink, work, signum):
    """`nohup brink run ... &` then a hangup, or Ctrl-C meant for the shell's foreground job, stopped
    the run: brink replaced the ignored disposition it inherited with its own handler."""
    target = work / "n.h5"
    proc = subprocess.Popen([brink, "run", "-n", "100000", "--threads", "1", "-q", "-o", str(target)], cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signum, signal.SIG_IGN))
    interrupt_after_first_blocks(proc, work / "n.h5.partial", time.monotonic() + 20, signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (proc.returncode, err)
    with h5py.File(target, "r") as f:
        assert int(f.attrs["complete"]) == 1


@pytest.mark.parametrize("second_writer", [False, True], ids=["lock_deleted", "lock_taken"])
def test_a_run_whose_lock_was_deleted_does_not_publish(brink, work, second_writer):
    """With TARGET.lock deleted mid-run a second writer could take a lock of its own and write the same
    partial; the first run then published the file as complete. It now checks its lock first."""
    target = work / "l.h5"
    proc = subprocess.Popen([brink, "run", "-n", "100000", "--threads", "1", "-q", "-o", str(target)], cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    interrupt_after_first_blocks(proc, work / "l.h5.partial", time.monotonic() + 20, 0)  # signal 0: only waits
    (work / "l.h5.lock").unlink()
    holder = None
    if second_writer:
        holder = open(work / "l.h5.lock", "w")
        fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if holder:
            holder.close()
    line = one_sentence(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    assert proc.returncode == 1 and "l.h5.lock' was removed or replaced" in line and "not published" in line, line
    assert not target.exists()
    assert (work / "l.h5.partial").exists() == second_writer
    assert (work / "l.h5.lock").exists() == second_writer  # another run's lock is not deleted


def test_merge_names_its_own_way_out_of_a_lock_held_by_another_run(brink, work):
    """merge takes OUT as an operand, but was told to "give another -o" when another run held OUT's lock."""
    sweep = ["--sweep", "actors.RED.decision.patience_days=10,20"]
    for i in range(2):
        assert run(brink, "run", "a.yaml", "-q", "-n", N, *sweep, "--shard", f"{i}/2", "-o", f"s{i}.h5",
                   cwd=work).returncode == 0
    with open(work / "m.h5.lock", "w") as held:
        held.write("PID 1 on host elsewhere\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = run(brink, "merge", "-q", "m.h5", "s0.h5", "s1.h5", cwd=work)
    line = one_sentence(proc)
    assert proc.returncode == 2 and "merge into another OUT" in line and "-o" not in line, line


def test_a_rename_that_fails_says_where_the_finished_result_is(brink, work):
    """`cannot rename ...: Operation not permitted` (an immutable target replaced with --overwrite) did
    not say that the finished result is kept in TARGET.partial, nor how to publish it."""
    assert run(brink, "run", "a.yaml", "-q", "-n", N, "-o", "r.h5", cwd=work).returncode == 0
    if subprocess.run(["chattr", "+i", str(work / "r.h5")], capture_output=True).returncode != 0:
        pytest.skip("this file system has no immutable files (chattr +i)")
    try:
        proc = run(brink, "run", "a.yaml", "-q", "-n", N, "--seed", "9", "-o", "r.h5", "--overwrite", cwd=work)
    finally:
        subprocess.run(["chattr", "-i", str(work / "r.h5")], check=True)
    line = one_sentence(proc)
    assert proc.returncode == 1 and "cannot rename" in line and "the finished result is kept in 'r.h5.partial'" \
        in line and "'mv r.h5.partial r.h5'" in line, line
    assert (work / "r.h5.partial").exists()


def test_a_run_interrupted_before_its_first_block_keeps_nothing_and_says_so(brink, work):
    """A signal while the first block is still in flight (blocks of 10 years of daily steps, one
    thread): the run used to say its partial "keeps the finished blocks, continue with --resume"
    and leave a file with none, which a later run then called an earlier run's work."""
    target = work / "e.h5"
    proc = subprocess.Popen([brink, "run", "-n", "100000", "--threads", "1", "--no-table", "--set",
                             "run.horizon_days=3650", "-o", str(target)], cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.readline()  # the header is printed once the signals are caught, just before the first block
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (proc.returncode, err)
    assert "interrupted before a block finished; nothing was kept, run it again" in err, err
    assert not (work / "e.h5.partial").exists() and not (work / "e.h5.lock").exists() and not target.exists()


@pytest.mark.parametrize("suffix", [".partial", ".lock"])
def test_an_output_named_like_another_runs_partial_or_lock_is_refused(brink, tmp_path, suffix):
    """`-o X.h5.partial --overwrite` used to replace a running job's partial file, which that job
    then published as its own result."""
    out = tmp_path / f"x.h5{suffix}"
    proc = subprocess.run([brink, "run", "-n", "64", "-q", "--overwrite", "-o", str(out)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and f"ends in '{suffix}'" in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert not out.exists()


def test_a_build_without_mpi_under_a_launcher_says_so(brink, tmp_path):
    """Every rank of a build without MPI ran the whole command into one output: one rank wrote the
    file, another was refused by its lock, and the launcher aborted the job."""
    version = subprocess.run([brink, "--version"], capture_output=True, text=True, timeout=60).stdout
    # With MPI built in the variables would make brink start MPI without a launcher; the decision
    # itself is tested in every build (tests/cli/launcher_test.cpp).
    if "MPI: no" not in version:
        pytest.skip("this brink is built with MPI")
    for rank in ("0", "1"):
        env = {**os.environ, "OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": rank}
        proc = subprocess.run([brink, "run", "-n", "64", "-q", "-o", str(tmp_path / "x.h5")], env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and not (tmp_path / "x.h5").exists()
        assert ("built without MPI" in proc.stderr) == (rank == "0"), proc.stderr


def test_an_existing_result_beside_an_interrupted_replacement_points_to_resume(brink, tmp_path):
    """After an --overwrite run was interrupted, a plain rerun advised only --overwrite, which
    discards the interrupted run's blocks."""
    out = tmp_path / "r.h5"
    assert subprocess.run([brink, "run", "-n", "64", "-q", "-o", str(out)], timeout=60).returncode == 0
    killed = subprocess.run([brink, "run", "-n", "3000", "-t", "1", "-q", "--overwrite", "-o", str(out)],
                            env={**os.environ, "BRINK_TEST_KILL_AFTER_BLOCKS": "2"}, capture_output=True, text=True,
                            timeout=60)
    assert killed.returncode == -signal.SIGKILL and Path(f"{out}.partial").exists()
    proc = subprocess.run([brink, "run", "-n", "3000", "-t", "1", "-q", "-o", str(out)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and f"and so does '{out}.partial'" in proc.stderr and "--resume" in proc.stderr
    proc = subprocess.run([brink, "run", "-n", "3000", "-t", "1", "-q", "-o", str(out), "--resume"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("summary_only", [False, True])
def test_a_run_that_fails_mid_way_says_what_it_kept_for_resume(brink, tmp_path, summary_only):
    """Only a full disk used to say that the finished blocks were kept and --resume continues them;
    any other failure (an I/O error, memory) kept them silently. A --summary-only run keeps nothing."""
    out = tmp_path / "r.h5"
    args = [brink, "run", "-n", "3000", "-t", "1", "-q", "-o", str(out)] + (["--summary-only"] if summary_only else [])
    failed = subprocess.run(args, env={**os.environ, "BRINK_TEST_FAIL_AFTER_BLOCKS": "2"}, capture_output=True,
                            text=True, timeout=60)
    assert failed.returncode == 1 and len(failed.stderr.strip().splitlines()) == 1, failed.stderr
    assert "BRINK_TEST_FAIL_AFTER_BLOCKS" in failed.stderr and not out.exists()
    if summary_only:
        assert "--resume" not in failed.stderr and not Path(f"{out}.partial").exists()
        return
    assert f"finished blocks kept in {out}.partial; continue with --resume" in failed.stderr, failed.stderr
    resumed = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    clean = tmp_path / "clean.h5"
    assert subprocess.run(args[:-1] + [str(clean)], timeout=120).returncode == 0
    with h5py.File(out, "r") as a, h5py.File(clean, "r") as b:
        for name in ("outcome_code", "casualties", "end_step", "outcome_probability"):
            assert a[name][...].tobytes() == b[name][...].tobytes(), name


def test_a_run_stopped_by_the_file_size_limit_resumes_from_the_blocks_it_kept(brink, tmp_path):
    """A flush that hit the file size limit (EFBIG) left the superblock's end of file past the bytes on
    disk; --resume could not reopen such a file and started over, although the failure had said
    which blocks were kept for it. Points of two blocks: the run's first resume sums are vouched for
    at once, so blocks are kept however seldom the run publishes before it meets the limit."""
    import resource

    sweep = ["--sweep", "actors.RUS.decision.rationality=0.5:3.0", "--sweep",
             "escalation.incidents.base_rate=0.0005:0.005", "--set", "run.horizon_days=30", "--design", "lhs",
             "--samples", "100", "-n", "512", "--timeseries", "every=5", "-t", "1", "-q"]
    clean = tmp_path / "clean.h5"
    assert subprocess.run([brink, "run", *sweep, "-o", str(clean)], timeout=120).returncode == 0
    limit = clean.stat().st_size * 4 // 5

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    out = tmp_path / "r.h5"
    failed = subprocess.run([brink, "run", *sweep, "-o", str(out)], preexec_fn=limit_file_size,
                            capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1 and "EFBIG" in failed.stderr and "--resume" in failed.stderr, failed.stderr
    partial = Path(f"{out}.partial")
    assert partial.stat().st_size == limit, partial.stat().st_size  # cut off at the limit
    # Still under the limit, --resume says so and leaves the file, rather than start over and fail again.
    before = partial.read_bytes()
    stuck = subprocess.run([brink, "run", *sweep, "-o", str(out), "--resume"], preexec_fn=limit_file_size,
                           capture_output=True, text=True, timeout=120)
    assert stuck.returncode == 1 and "raise the file size limit" in stuck.stderr, stuck.stderr
    assert len(stuck.stderr.strip().splitlines()) == 1 and partial.read_bytes() == before, stuck.stderr
    resumed = subprocess.run([brink, "run", *sweep, "-o", str(out), "--resume"], capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0 and "starting from the beginning" not in resumed.stderr, resumed.stderr
    with h5py.File(out, "r") as a, h5py.File(clean, "r") as b:
        numeric = [name for name in a if a[name].dtype.kind in "biuf"]
        assert "outcome_code" in numeric and "mean_troops" in numeric, numeric
        for name in numeric:
            assert a[name][...].tobytes() == b[name][...].tobytes(), name


SHARED_BLOCK_SWEEP = ["--sweep", "actors.RUS.decision.rationality=0.5:3.0", "--sweep",
                      "escalation.incidents.base_rate=0.0005:0.005", "--set", "run.horizon_days=30", "--design",
                      "lhs", "--samples", "20000", "-n", "3"]


def blocks_resume_keeps(f):
    """(point, block) of the blocks --resume keeps of a partial file: a point of several blocks keeps its
    finished blocks; a point of one block is kept once published, with every other point of its chunk."""
    group = f["final_forces"].chunks[0]
    done = np.argwhere(f["block_done"][()] != 0)
    published = f["replications"][()] > 0
    if f["block_done"].shape[1] > 1:
        return [tuple(int(v) for v in d) for d in done]
    return [(int(p), int(b)) for p, b in done if published[p - p % group:][:group].all()]


@pytest.mark.parametrize("args", [["-n", "100000"], SHARED_BLOCK_SWEEP], ids=["blocks_of_a_point", "chunk_groups"])
def test_resume_runs_again_a_finished_block_whose_chunk_was_damaged_on_disk(brink, tmp_path, args):
    """--resume trusted every block marked done without reading its chunks, so bytes damaged on disk
    in an interrupted run's file ended up, unread, in a finished file that h5py cannot read."""
    clean = tmp_path / "clean.h5"
    assert subprocess.run([brink, "run", *args, "-t", "1", "-q", "-o", str(clean)], timeout=300).returncode == 0
    out = tmp_path / "r.h5"
    partial = Path(f"{out}.partial")
    proc = subprocess.Popen([brink, "run", *args, "-t", "1", "-q", "-o", str(out)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:  # until it holds a block that --resume keeps
        try:
            with h5py.File(partial, "r", swmr=True) as f:
                if blocks_resume_keeps(f):
                    break
        except (OSError, KeyError):  # not created yet, or caught mid-write
            pass
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    with h5py.File(partial, "r") as f:
        kept = blocks_resume_keeps(f)
        point, block = kept[len(kept) // 2]
        data = f["final_forces"]
        chunk = data.id.get_chunk_info_by_coord((point - point % data.chunks[0], block * data.chunks[1], 0, 0))
    with open(partial, "r+b") as raw:  # flip 16 bytes inside the chunk's compressed stream
        raw.seek(chunk.byte_offset + chunk.size // 2)
        bits = raw.read(16)
        raw.seek(chunk.byte_offset + chunk.size // 2)
        raw.write(bytes(b ^ 0xFF for b in bits))
    resumed = subprocess.run([brink, "run", *args, "-t", "2", "-q", "-o", str(out), "--resume"],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    with h5py.File(out, "r") as a, h5py.File(clean, "r") as b:
        numeric = [name for name in a if a[name].dtype.kind in "biuf"]
        assert "final_forces" in numeric, numeric
        for name in numeric:
            assert a[name][...].tobytes() == b[name][...].tobytes(), name


def test_an_output_ending_in_a_slash_is_named_a_folder(run, tmp_path):
    """`-o out.h5/` was refused because "the directory of output file 'out.h5/' does not exist", in a
    folder that exists: the name's last part was taken for the folder."""
    for output in (tmp_path / "out.h5", tmp_path):
        proc = run("run", "--quiet", "-n", "10", "-o", f"{output}/")
        assert proc.returncode == 2 and f"output '{output}/' ends in '/', so it names a folder; give a file name" \
            in proc.stderr, proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("swap", ["replaced", "linked"])
def test_a_partial_moved_away_mid_run_is_never_published(brink, work, swap):
    """The partial was renamed onto the target at the end whatever the path then named: a
    .partial moved away mid-run and replaced by another file (or a link) became the 'result',
    with exit 0. The run writes through its open descriptor, and publishes only if the path
    still names that file."""
    out = work / "r.h5"
    partial = work / "r.h5.partial"
    proc = subprocess.Popen([brink, "run", "a.yaml", "-n", "400000", "-t", "1", "-q", "-o", out], cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    # Once the file is made and written to (moved while HDF5 creates it, the creation fails).
    while proc.poll() is None and _blocks_done(partial) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before its partial could be moved"
    partial.rename(work / "moved.partial")
    if swap == "replaced":
        partial.write_text("not hdf5\n")
    else:
        partial.symlink_to(work / "moved.partial")
    stderr = proc.communicate(timeout=120)[1]
    assert proc.returncode == 1, stderr
    assert "r.h5.partial' is no longer the file this run wrote" in stderr, stderr
    # Round 41: the moved file holds the finished result; "run it again" alone sent the user to rerun it.
    assert "the finished result is in that file, wherever it was moved" in stderr, stderr
    assert not out.exists() and not out.is_symlink()


@pytest.mark.parametrize("command, syncs", [("run", 2), ("calibrate", 2), ("calibrate", 4)])
def test_a_directory_that_cannot_be_synced_after_publishing_is_a_warning(brink, work, command, syncs):
    """The last fsync, of the directory once the result is renamed into place, failed the command
    (exit 1, 'cannot sync'), though the result was in place; calibrate then never wrote its
    posterior scenario, and --resume refused ('its run finished'). The result stands, with a
    warning that it may not survive a crash."""
    strace = shutil.which("strace")
    if strace is None or subprocess.run([strace, "-o", "/dev/null", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs strace, allowed to trace (scripts/setup.sh installs it)")
    if command == "run":
        args, outputs = ["run", "a.yaml", "-n", "300", "-q", "-o", "r.h5"], ["r.h5"]
    else:
        scenario = calibration_scenario(work)
        args, outputs = ["calibrate", scenario.name, "-q", "-o", "c.h5"], ["c.h5", "c.posterior.yaml"]
    log = work / "syncs.log"
    subprocess.run([strace, "-f", "-qq", "-e", "trace=fsync", "-o", log, brink, *args[:-1], "counted.h5"], cwd=work,
                   check=True, capture_output=True, timeout=120)
    counted = sum(1 for line in log.read_text().splitlines() if "fsync(" in line)
    assert counted == (2 if command == "run" else 4), log.read_text()
    proc = subprocess.run([strace, "-f", "-qq", "-o", "/dev/null", "-e", f"inject=fsync:error=EIO:when={syncs}", brink,
                           *args], cwd=work, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "is in place, but cannot sync '" in proc.stderr and "Input/output error" in proc.stderr, proc.stderr
    for name in outputs:
        assert (work / name).is_file(), name
        assert not (work / f"{name}.partial").exists()
