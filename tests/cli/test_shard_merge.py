"""Shards for job arrays (issue 11, item 5): `brink run --shard I/N` runs the
points p with p mod N == I into a file of the whole plan's shape, and
`brink merge OUT SHARD...` joins the N files into the file one run writes.

Each case runs the real binary and reads the real files with h5py: three
shards merged equal a single run dataset by dataset (values, dtypes, shapes)
for a grid sweep with per-replication output and time series, an adaptive
sweep and a --sensitivity design; root attributes may differ only in
command_line and scenario_source, and --shard is recorded nowhere in the
merged file. A killed shard resumes alone. Every refusal is exit 2 with one
sentence naming the file at fault, and leaves no output behind.
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", HERE.parents[1]))
MINIMAL = SOURCE / "docs" / "examples" / "minimal.yaml"
SWEEP = SOURCE / "docs" / "examples" / "sweep.yaml"  # adaptive replications, common random numbers
SHARDS = 3
# The only root attributes a merged file may hold differently from a single run.
MAY_DIFFER = {"command_line", "scenario_source"}
SHARD_ATTRIBUTES = {"shard_index", "shard_count", "shard_plan_points"}
# Object references to dimension scales: equal when the datasets are, and not comparable as values.
REFERENCE_ATTRIBUTES = {"DIMENSION_LIST", "REFERENCE_LIST"}

GRID = ["-n", "600", "--sweep", "actors.RED.decision.rationality=1,2,3,4,5", "--timeseries", "every=10"]
SENSITIVITY = ["-n", "300", "--sensitivity", "--design", "sobol", "--samples", "4",
               "--sweep", "actors.RED.decision.rationality=1:5", "--sweep", "actors.RED.decision.patience_days=10:50"]
CASES = {
    "grid": (MINIMAL, GRID),
    "adaptive": (SWEEP, []),
    "sensitivity": (MINIMAL, SENSITIVITY),
    # No blocks in the shards: the summaries are taken as the shards computed them.
    "summary-only-adaptive": (SWEEP, ["--summary-only"]),
    "summary-only-sensitivity": (MINIMAL, ["--summary-only"] + SENSITIVITY),
}


def run(brink, *args, env=None):
    return subprocess.run([brink, *map(str, args)], env=None if env is None else {**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                attrs = {k: v for k, v in obj.attrs.items() if k not in REFERENCE_ATTRIBUTES}
                out[name] = (obj[()], obj.dtype, obj.shape, attrs)
        f.visititems(visit)
    return out


def root_attributes(path):
    with h5py.File(path, "r") as f:
        return {k: v.decode("utf-8") if isinstance(v, bytes) else v for k, v in f.attrs.items()}


def same_value(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def assert_same_as_single_run(merged, single):
    dm, ds = datasets(merged), datasets(single)
    assert sorted(dm) == sorted(ds)
    for name in ds:
        (vm, tm, sm, am), (vs, ts, ss, as_) = dm[name], ds[name]
        assert tm == ts and sm == ss, f"{name}: {tm}{sm} against {ts}{ss}"
        assert same_value(vm, vs), f"dataset {name} differs"
        assert sorted(am) == sorted(as_) and all(same_value(am[k], as_[k]) for k in as_), f"attributes of {name}"
    am, as_ = root_attributes(merged), root_attributes(single)
    assert sorted(am) == sorted(as_), set(am) ^ set(as_)
    differ = {k for k in as_ if not same_value(am[k], as_[k])}
    assert differ <= MAY_DIFFER, differ


def run_shards(brink, work, scenario, args, shards=SHARDS, prefix="s"):
    paths = []
    for i in range(shards):
        out = work / f"{prefix}{i}.h5"
        proc = run(brink, "run", scenario, "-q", "-t", "2", *args, "--shard", f"{i}/{shards}", "-o", out)
        assert proc.returncode == 0, proc.stderr
        paths.append(out)
    return paths


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request, brink, tmp_path_factory):
    """(work dir, scenario, args, single-run file, shard files) of one sweep."""
    work = tmp_path_factory.mktemp(request.param)
    scenario, args = CASES[request.param]
    single = work / "single.h5"
    proc = run(brink, "run", scenario, "-q", "-t", "1", *args, "-o", single)
    assert proc.returncode == 0, proc.stderr
    return request.param, work, scenario, args, single, run_shards(brink, work, scenario, args)


def test_three_shards_merged_equal_a_single_run(brink, case):
    name, work, _, _, single, shards = case
    merged = work / "merged.h5"
    proc = run(brink, "merge", merged, *reversed(shards))  # any order
    assert proc.returncode == 0, proc.stderr
    assert f"merged {SHARDS} shards" in proc.stdout
    assert not (work / "merged.h5.partial").exists()
    assert_same_as_single_run(merged, single)
    attrs = root_attributes(merged)
    assert not SHARD_ATTRIBUTES & set(attrs), "a merged file is written without the shard attributes"
    assert "shard" not in attrs["overrides"] and attrs["overrides"] == root_attributes(single)["overrides"]
    with h5py.File(merged, "r") as f:
        replications = f["replications"][()]
        assert (replications > 0).all()
        if "adaptive" in name:  # rounds were added at some points and not at others
            assert len(set(replications.tolist())) > 1, replications
        if "sensitivity" in name:
            assert np.isfinite(f["sensitivity_total"][()][:, :2]).all()
        assert ("outcome_code" in f) == ("summary-only" not in name)


def test_a_shard_holds_its_round_robin_points_in_the_whole_plans_shape(brink, case):
    _, _, _, _, single, shards = case
    with h5py.File(single, "r") as f:
        points = f["replications"].shape[0]
        shapes = {name: f[name].shape for name in ("outcome_code", "outcome_probability") if name in f}
    for i, path in enumerate(shards):
        attrs = root_attributes(path)
        assert (int(attrs["shard_index"]), int(attrs["shard_count"]), int(attrs["shard_plan_points"])) == \
            (i, SHARDS, points)
        assert "shard" not in attrs["overrides"]
        assert int(attrs["complete"]) == 1
        with h5py.File(path, "r") as f:
            assert {name: f[name].shape for name in shapes} == shapes
            ran = np.flatnonzero(f["replications"][()] > 0).tolist()
            assert ran == list(range(i, points, SHARDS))
            if attrs["sensitivity"]:  # a shard has too few points for Sobol indices
                assert np.isnan(f["sensitivity_total"][()]).all()


def test_a_killed_shard_resumes_alone_to_the_same_merge(brink, tmp_path):
    single = tmp_path / "single.h5"
    args = ["-n", "2000", "--sweep", "actors.RED.decision.rationality=1,2,3,4,5,6"]
    assert run(brink, "run", MINIMAL, "-q", "-t", "1", *args, "-o", single).returncode == 0
    shards = run_shards(brink, tmp_path, MINIMAL, args)
    shards[1].unlink()
    killed = run(brink, "run", MINIMAL, "-q", "-t", "1", *args, "--shard", "1/3", "-o", shards[1],
                 env={"BRINK_TEST_KILL_AFTER_BLOCKS": "5"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    partial = Path(f"{shards[1]}.partial")
    assert partial.exists()
    # Another shard's --resume of this file is refused, naming --shard.
    proc = run(brink, "run", MINIMAL, "-q", *args, "--shard", "2/3", "-o", shards[1], "--resume")
    assert proc.returncode == 2 and "--shard" in proc.stderr and str(partial) in proc.stderr, proc.stderr
    proc = run(brink, "run", MINIMAL, "-q", *args, "-o", shards[1], "--resume")
    assert proc.returncode == 2 and "--shard" in proc.stderr, proc.stderr
    proc = run(brink, "run", MINIMAL, "-q", "-t", "2", *args, "--shard", "1/3", "-o", shards[1], "--resume")
    assert proc.returncode == 0, proc.stderr
    merged = tmp_path / "merged.h5"
    assert run(brink, "merge", merged, *shards).returncode == 0
    assert_same_as_single_run(merged, single)


def test_more_shards_than_points_leave_empty_shards_that_merge_needs(brink, tmp_path):
    args = ["-n", "300", "--sweep", "actors.RED.decision.rationality=1,2,3"]
    single = tmp_path / "single.h5"
    assert run(brink, "run", MINIMAL, "-q", *args, "-o", single).returncode == 0
    shards = run_shards(brink, tmp_path, MINIMAL, args, shards=5)
    with h5py.File(shards[4], "r") as f:
        assert (f["replications"][()] == 0).all()
    proc = run(brink, "merge", tmp_path / "m.h5", *shards[:3])
    assert proc.returncode == 2 and "shards 3, 4 of 5 are missing" in proc.stderr, proc.stderr
    assert run(brink, "merge", tmp_path / "m.h5", *shards).returncode == 0
    assert_same_as_single_run(tmp_path / "m.h5", single)


def test_inspect_of_a_shard_lists_its_points_and_names_the_rest(brink, case):
    _, _, _, _, _, shards = case
    proc = run(brink, "inspect", shards[0])
    assert proc.returncode == 0, proc.stderr
    assert "shard_index" in proc.stdout and "not run in this shard" in proc.stdout


# --------------------------------------------------------------------------
# Refusals: exit 2, one sentence naming the file, no output left behind
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def grid(brink, tmp_path_factory):
    work = tmp_path_factory.mktemp("refusals")
    return work, run_shards(brink, work, MINIMAL, GRID)


def refused(brink, work, *args, fragment, names):
    out = work / "out.h5"
    for stale in (out, Path(f"{out}.partial")):
        stale.unlink(missing_ok=True)
    proc = run(brink, "merge", out, *args)
    lines = [line for line in proc.stderr.splitlines() if line]
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert len(lines) == 1 and lines[0].startswith("brink merge: "), proc.stderr
    assert fragment in lines[0], lines[0]
    assert str(names) in lines[0], lines[0]
    assert not out.exists() and not Path(f"{out}.partial").exists()
    return lines[0]


def test_merge_refuses_a_missing_shard(brink, grid):
    work, shards = grid
    refused(brink, work, shards[0], shards[2], fragment="shard 1 of 3 is missing", names="given: 2 files")
    refused(brink, work, shards[0], shards[1], work / "nowhere.h5", fragment="no shard file",
            names=work / "nowhere.h5")


def test_merge_refuses_a_duplicate_shard(brink, grid, tmp_path):
    work, shards = grid
    copy = tmp_path / "copy.h5"
    shutil.copy(shards[1], copy)
    refused(brink, work, *shards, copy, fragment="are both shard 1/3", names=copy)


@pytest.mark.parametrize("change,fragment", [
    (["--seed", "8"], "the seed differs"),
    (["--set", "actors.RED.forces.deployed=60000"], "the list of --set, sweep and run options differs"),
    (["--sweep", "actors.RED.decision.patience_days=10,20"], "the list of --set, sweep and run options differs"),
])
def test_merge_refuses_a_shard_of_another_run(brink, grid, tmp_path, change, fragment):
    work, shards = grid
    other = run_shards(brink, tmp_path, MINIMAL, GRID + change, prefix="other")
    refused(brink, work, shards[0], shards[1], other[2], fragment=fragment, names=other[2])


def test_merge_refuses_a_shard_of_another_scenario_or_shard_count(brink, grid, tmp_path):
    work, shards = grid
    edited = tmp_path / "edited.yaml"
    edited.write_text(MINIMAL.read_text(encoding="utf-8").replace("seed: 7", "seed: 7  # edited"), encoding="utf-8")
    other = run_shards(brink, tmp_path, edited, GRID, prefix="edited")
    refused(brink, work, shards[0], other[1], shards[2], fragment="the scenario differs", names=other[1])
    halves = run_shards(brink, tmp_path, MINIMAL, GRID, shards=2, prefix="half")
    refused(brink, work, shards[0], shards[1], halves[1], fragment="the shard count", names=halves[1])


def test_merge_refuses_an_unfinished_shard(brink, grid, tmp_path):
    work, shards = grid
    target = tmp_path / "k.h5"
    killed = run(brink, "run", MINIMAL, "-q", "-t", "1", *GRID, "--shard", "1/3", "-o", target,
                 env={"BRINK_TEST_KILL_AFTER_BLOCKS": "2"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    partial = Path(f"{target}.partial")
    refused(brink, work, shards[0], partial, shards[2], fragment="unfinished shard", names=partial)
    refused(brink, work, shards[0], target, shards[2], fragment="has not finished", names=partial)
    # A .partial name that names no file is a missing shard, not one to resume.
    nowhere = tmp_path / "nowhere.h5.partial"
    message = refused(brink, work, shards[0], nowhere, shards[2], fragment="no shard file", names=nowhere)
    assert "--resume" not in message, message
    # A finished file whose `complete` mark is 0 is refused too.
    copy = tmp_path / "incomplete.h5"
    shutil.copy(shards[1], copy)
    with h5py.File(copy, "r+") as f:
        f.attrs.modify("complete", np.int32(0))
    refused(brink, work, shards[0], copy, shards[2], fragment="unfinished shard", names=copy)


def test_merge_refuses_a_shard_whose_point_counts_other_replications_than_its_plan(brink, grid, tmp_path):
    """Merge copies each point's chunks and summary as the shard holds them: a count of replications
    its plan does not give (an edited or damaged shard) would be copied unnoticed."""
    work, shards = grid
    copy = tmp_path / "edited.h5"
    shutil.copy(shards[1], copy)
    with h5py.File(copy, "r+") as f:
        assert f["replications"][1] > 1
        f["replications"][1] -= 1
        # One outcome fewer too, so that the summary is whole in itself (merge refuses one that is not).
        counts = f["outcome_count"][1]
        counts[np.argmax(counts)] -= 1
        f["outcome_count"][1] = counts
        # and its probabilities the counts over the replications, inside their intervals.
        p = counts / f["replications"][1]
        f["outcome_probability"][1] = p
        f["outcome_probability_lower"][1] = np.minimum(f["outcome_probability_lower"][1], p)
        f["outcome_probability_upper"][1] = np.maximum(f["outcome_probability_upper"][1], p)
    refused(brink, work, shards[0], copy, shards[2], fragment="does not hold all the blocks of its point 1", names=copy)


def test_merge_refuses_an_older_format_and_a_file_that_is_not_a_shard(brink, grid, tmp_path):
    work, shards = grid
    old = tmp_path / "old.h5"
    shutil.copy(shards[2], old)
    with h5py.File(old, "r+") as f:
        f.attrs.modify("format_version", np.int32(1))
    refused(brink, work, shards[0], shards[1], old, fragment="format 1", names=old)
    single = tmp_path / "single.h5"
    assert run(brink, "run", MINIMAL, "-q", *GRID, "-o", single).returncode == 0
    refused(brink, work, shards[0], shards[1], single, fragment="is not a shard", names=single)
    text = tmp_path / "text.h5"
    text.write_text("not hdf5\n")
    refused(brink, work, shards[0], shards[1], text, fragment="not an HDF5 file", names=text)
    # A shard cut short (a copy that stopped) is named as such, not as something HDF5 cannot open.
    cut = tmp_path / "cut.h5"
    cut.write_bytes(Path(shards[2]).read_bytes()[:4096])
    refused(brink, work, shards[0], shards[1], cut, fragment="(damaged or cut short); run its shard again", names=cut)
    # A calibration file is named as one, not as "no brink result".
    calibration = tmp_path / "cal.h5"
    toy = SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml"
    assert run(brink, "calibrate", toy, "-q", "--particles", "20", "--generations", "1", "-t", "1",
               "-o", calibration).returncode == 0
    refused(brink, work, shards[0], shards[1], calibration, fragment="is a calibration file", names=calibration)


def test_merge_refuses_an_existing_output_unless_overwrite(brink, grid):
    work, shards = grid
    out = work / "exists.h5"
    out.write_text("keep me\n")
    proc = run(brink, "merge", out, *shards)
    assert proc.returncode == 2 and str(out) in proc.stderr and "--overwrite" in proc.stderr, proc.stderr
    assert out.read_text() == "keep me\n"
    proc = run(brink, "merge", out, *shards, "--overwrite", "-q")
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    assert h5py.is_hdf5(out)
    proc = run(brink, "merge", shards[0], *shards, "--overwrite")
    assert proc.returncode == 2 and "is the input file" in proc.stderr, proc.stderr
    assert int(root_attributes(shards[0])["shard_index"]) == 0


@pytest.mark.parametrize("value", ["3/3", "-1/3", "1/0", "a/3", "1", "1/3/4", "", "0/1000001"])
def test_run_refuses_a_bad_shard(brink, tmp_path, value):
    out = tmp_path / "bad.h5"
    proc = run(brink, "run", MINIMAL, "-q", "-n", "256", "--shard", value, "-o", out)
    lines = [line for line in proc.stderr.splitlines() if line]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "--shard takes I/N" in lines[0] and f"'{value}'" in lines[0], lines[0]
    assert not out.exists()


@pytest.mark.parametrize("value,quoted", [(" 0/2", "' 0/2'"), ("0/2 ", "'0/2 '"), ("0/2\t", "'0/2\\t'")])
def test_a_shard_refused_for_its_blanks_is_quoted_with_them(brink, tmp_path, value, quoted):
    """The value is refused for the blanks around it; a message that quoted it trimmed showed a
    valid-looking '0/2' being rejected."""
    out = tmp_path / "bad.h5"
    proc = run(brink, "run", MINIMAL, "-q", "-n", "256", "--shard", value, "-o", out)
    assert proc.returncode == 2, proc.stderr
    assert f"got {quoted} (whitespace around the value)" in proc.stderr, proc.stderr
    assert not out.exists()


def test_merge_needs_an_output_and_a_shard(brink, tmp_path):
    proc = run(brink, "merge", tmp_path / "x.h5")
    assert proc.returncode == 2 and "at least one SHARD" in proc.stderr, proc.stderr


def test_merge_takes_the_choices_the_shards_ran_and_resume_refuses_changed_ones(brink, tmp_path):
    """A sweep over scenario files read them from disk again in --resume and brink merge: an
    edited choice file was silently mixed into the result (the file still recording the old
    text). Merge now takes the texts the shards recorded (it needs no choice file), refuses shards
    that ran on different texts, and --resume refuses a changed file (attribute `inputs`)."""
    choices = [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    for path in choices:
        shutil.copy(MINIMAL, path)
    args = ["-n", "3000", "--sweep", f"scenario={choices[0]},{choices[1]}",
            "--sweep", "actors.RED.decision.rationality=1,2,3"]
    single = tmp_path / "single.h5"
    assert run(brink, "run", MINIMAL, "-q", *args, "-o", single).returncode == 0
    shards = run_shards(brink, tmp_path, MINIMAL, args, shards=2)
    with h5py.File(shards[0]) as f:
        assert f.attrs["inputs"].decode().count("choice ") == 2
    killed = run(brink, "run", MINIMAL, "-q", "-t", "1", *args, "-o", tmp_path / "k.h5",
                 env={"BRINK_TEST_KILL_AFTER_BLOCKS": "2"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    original = choices[1].read_text()
    choices[1].write_text(original.replace("deployed: 50000", "deployed: 45000", 1))  # another model
    proc = run(brink, "run", MINIMAL, "-q", *args, "-o", tmp_path / "k.h5", "--resume")
    assert proc.returncode == 2 and "a file it read besides the scenario" in proc.stderr, proc.stderr
    choices[0].unlink()
    merged = tmp_path / "m.h5"
    proc = run(brink, "merge", merged, *shards)
    assert proc.returncode == 0, proc.stderr
    assert_same_as_single_run(merged, single)
    # A shard run again on the edited file does not merge with one of the original.
    shutil.copy(MINIMAL, choices[0])
    shards[1].unlink()
    assert run(brink, "run", MINIMAL, "-q", *args, "--shard", "1/2", "-o", shards[1]).returncode == 0
    proc = run(brink, "merge", tmp_path / "m2.h5", *shards)
    assert proc.returncode == 2 and "are shards of different runs: a file the run read" in proc.stderr, proc.stderr
    assert not (tmp_path / "m2.h5").exists()
    choices[1].write_text(original)
    proc = run(brink, "run", MINIMAL, "-q", *args, "-o", tmp_path / "k.h5", "--resume")
    assert proc.returncode == 0, proc.stderr


def test_a_posterior_file_that_changed_is_refused_by_resume(brink, tmp_path):
    toy = SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml"
    for seed in (1, 2):
        assert run(brink, "calibrate", toy, "-q", "--particles", "20", "--generations", "2", "-s", seed,
                   "-o", tmp_path / f"c{seed}.h5").returncode == 0
    shutil.copy(tmp_path / "c1.h5", tmp_path / "post.h5")
    args = [tmp_path / "c1.posterior.yaml", "--posterior", tmp_path / "post.h5", "-n", "20000", "-t", "1",
            "--posterior-draws", "12", "-o", tmp_path / "p.h5"]
    killed = run(brink, "run", *args, "-q", env={"BRINK_TEST_KILL_AFTER_BLOCKS": "2"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    shutil.copy(tmp_path / "c2.h5", tmp_path / "post.h5")
    proc = run(brink, "run", *args, "-q", "--resume")
    assert proc.returncode == 2 and "the --posterior calibration" in proc.stderr, proc.stderr
    shutil.copy(tmp_path / "c1.h5", tmp_path / "post.h5")
    assert run(brink, "run", *args, "-q", "--resume").returncode == 0


def test_a_merge_into_a_running_runs_output_names_the_run(brink, tmp_path):
    """Merge checked for OUT.partial before taking the lock, so a run still writing OUT was called
    'an interrupted run or merge' and --overwrite was advised; the lock now speaks first."""
    args = ["-n", "300", "--sweep", "actors.RED.decision.rationality=1,2"]
    shards = run_shards(brink, tmp_path, MINIMAL, args, shards=2)
    out = tmp_path / "busy.h5"
    writer = subprocess.Popen([brink, "run", MINIMAL, "-q", "-t", "1", "-n", "5000000", "-o", str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not Path(f"{out}.partial").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        proc = run(brink, "merge", out, *shards)
        assert proc.returncode == 2 and "another brink run" in proc.stderr and "is writing" in proc.stderr, proc.stderr
        assert "interrupted" not in proc.stderr
    finally:
        writer.kill()
        writer.wait()


def test_a_merge_killed_outright_is_redone_without_overwrite_but_a_runs_partial_is_not_replaced(brink, tmp_path):
    """kill -9 of `brink merge` leaves OUT.partial and a stale OUT.lock. A merge is redone, not
    continued, so running the same merge again used to be refused ("'OUT.partial' exists (an
    interrupted run or merge); discard it with --overwrite"). Now a merge replaces a partial that
    a merge wrote (the lock proves that merge dead; the shards give everything again); a run's
    partial, which may hold finished blocks, is still refused without --overwrite."""
    args = ["-n", "10000", "--sweep", "actors.RED.decision.rationality=1,2,3,4", "--timeseries", "every=1"]
    shards = run_shards(brink, tmp_path, MINIMAL, args, shards=2)
    out = tmp_path / "k.h5"
    partial = Path(f"{out}.partial")
    merge = subprocess.Popen([brink, "merge", "-q", str(out), *map(str, shards)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    # Killed once the partial is a merge's file a reader can open: mid-way through the chunks.
    deadline = time.monotonic() + 30
    started = False
    while not started and merge.poll() is None and time.monotonic() < deadline:
        try:
            with h5py.File(partial, "r", libver="latest", swmr=True) as f:
                started = "merge" in f.attrs["command_line"].decode()
        except (OSError, KeyError):
            time.sleep(0.005)
    merge.kill()
    merge.wait(timeout=30)
    assert started and merge.returncode == -signal.SIGKILL, "the merge finished before it could be killed"
    assert partial.exists() and Path(f"{out}.lock").exists() and not out.exists()
    redone = run(brink, "merge", "-q", out, *shards)
    assert redone.returncode == 0, redone.stderr
    assert out.is_file() and not partial.exists() and not Path(f"{out}.lock").exists()
    reference = tmp_path / "reference.h5"
    assert run(brink, "merge", "-q", reference, *shards).returncode == 0
    a, b = datasets(out), datasets(reference)
    assert sorted(a) == sorted(b)
    for name in a:
        assert np.array_equal(a[name][0], b[name][0], equal_nan=a[name][0].dtype.kind == "f"), name
    # A run's partial into the same kind of target stays, and so does a finished output.
    run_out = tmp_path / "r.h5"
    killed = run(brink, "run", MINIMAL, "-q", "-t", "1", *args, "-o", run_out, env={"BRINK_TEST_KILL_AFTER_BLOCKS": "3"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run_partial = Path(f"{run_out}.partial")
    before = run_partial.read_bytes()
    proc = run(brink, "merge", run_out, *shards)
    assert proc.returncode == 2 and str(run_partial) in proc.stderr and "--overwrite" in proc.stderr, proc.stderr
    assert run_partial.read_bytes() == before and not run_out.exists()
    proc = run(brink, "merge", out, *shards)
    assert proc.returncode == 2 and "--overwrite" in proc.stderr, proc.stderr
