"""Round 41 (hostile corpus): result files holding what brink never writes, read back by brink.

Edited with h5py (checksums valid), a partial's kept blocks or published summaries were finished
by --resume into a file marked complete that inspect then called damaged (or one of NaN means); a
shard's were laundered by merge into a clean-looking file; a single file's were printed by inspect
and accepted by open_results. Each reader now applies one check of a point's summary against its
own invariants (summary_check.cpp, mirrored in brink_analysis/_summary_checks.py) and a range check
of the per-replication values it reads back: such a file is refused as damaged, exit 2, in one
sentence naming the file, the variable and the value, the partial as it was."""

import os
import subprocess
import sys

import h5py
import numpy as np
import pytest


def _brink(brink, *args, env=None, timeout=120):
    return subprocess.run([brink, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def _minimal(source_dir):
    return source_dir / "docs" / "examples" / "minimal.yaml"


def _partial(brink, source_dir, tmp_path, replications, blocks):
    """A partial run of a three-point sweep of the minimal example, `blocks` blocks kept, and how to resume it."""
    args = ["run", _minimal(source_dir), "-o", tmp_path / "part.h5", "-n", replications, "--sweep",
            "actors.RED.forces.deployed=40000,50000,60000", "-t", 1, "-q", "--no-table"]
    proc = _brink(brink, *args, env={"BRINK_TEST_FAIL_AFTER_BLOCKS": str(blocks)})
    assert proc.returncode == 1 and (tmp_path / "part.h5.partial").exists(), proc.stderr
    return [*args, "--resume"]


def _set(name, index, value):
    def edit(f):
        values = f[name][()]
        values[index] = value
        f[name][...] = values
    return edit


def _assert_resume_refused(brink, resume, partial, said):
    before = partial.read_bytes()
    proc = _brink(brink, *resume)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"'{partial}' is damaged: " in lines[0] and said in lines[0], proc.stderr
    assert "--overwrite" in lines[0], proc.stderr
    assert partial.read_bytes() == before and not partial.with_suffix("").exists()


@pytest.mark.parametrize("edit, said", [
    (_set("outcome_code", (0, slice(0, 256)), 9), "'outcome_code' holds 9 for replication 0"),
    (_set("outcome_code", (0, slice(0, 256)), -100), "'outcome_code' holds -100 for replication 0"),
    (_set("casualties", (0, slice(0, 256)), np.nan), "'casualties' holds nan for replication 0"),
    (_set("casualties", (0, slice(0, 256)), -1e9), "'casualties' holds -1000000000 for replication 0"),
    (_set("end_step", (0, slice(0, 256)), -5), "'end_step' holds -5 for replication 0"),
])
def test_resume_refuses_kept_blocks_holding_what_no_run_writes(brink, source_dir, tmp_path, edit, said):
    """Codes 9 or -100 vanished from outcome_count (probabilities summing to 0.9872) in a file marked
    complete that inspect then refused; NaN casualties made every mean_casualties NaN, exit 0."""
    resume = _partial(brink, source_dir, tmp_path, 20000, 35)
    partial = tmp_path / "part.h5.partial"
    with h5py.File(partial, "r+") as f:
        assert f["block_done"][0, 0] == 1
        edit(f)
    _assert_resume_refused(brink, resume, partial, said)


def _forge_counts(f, counts):
    """Point 0's summary made to count `counts`, its probabilities and intervals consistent with them."""
    counts = np.asarray(counts, dtype=np.int64)
    n = counts.sum()
    _set("outcome_count", 0, counts)(f)
    _set("outcome_probability", 0, counts / n)(f)
    _set("outcome_probability_lower", 0, np.zeros(5))(f)
    _set("outcome_probability_upper", 0, np.ones(5))(f)
    _set("replications", 0, n)(f)


@pytest.mark.parametrize("edit, said", [
    (lambda f: _forge_counts(f, [2048, 0, 0, 0, 0]), "in 'outcome_count', where its blocks' 'outcome_code' holds"),
    (lambda f: _set("outcome_count", 0, [1024, 0, 0, 0, 0])(f), "counts 1024 outcomes for 2048 replications"),
    (_set("mean_casualties", (0, 0), -5e6), "holds -5000000 in 'mean_casualties'"),
    (_set("rung_share", (0, slice(None), 0), 1.0), "in 'rung_share' that add up to"),
])
def test_resume_refuses_a_published_summary_holding_what_no_run_writes(brink, source_dir, tmp_path, edit, said):
    """A published point's summary was kept as the file held it: counts that do not add up, or a
    consistent forgery (100% settlement) beside outcome codes that say otherwise, went into a file
    marked complete."""
    resume = _partial(brink, source_dir, tmp_path, 2048, 12)
    partial = tmp_path / "part.h5.partial"
    with h5py.File(partial, "r+") as f:
        assert f["replications"][0] == 2048
        edit(f)
    _assert_resume_refused(brink, resume, partial, said)


@pytest.fixture(scope="module")
def shards(brink, source_dir, tmp_path_factory):
    where = tmp_path_factory.mktemp("shards")
    made = []
    for index in (0, 1):
        out = where / f"shard{index}.h5"
        proc = _brink(brink, "run", _minimal(source_dir), "-n", 300, "-t", 1, "-q", "--sweep",
                      "escalation.incidents.base_rate=0.001,0.01,0.1,0.5", "--shard", f"{index}/2", "-o", out)
        assert proc.returncode == 0, proc.stderr
        made.append(out)
    return made


@pytest.mark.parametrize("edit, said", [
    (_set("outcome_code", (0, slice(0, 100)), 9), "'outcome_code' holds 9 for replication 0 of point 0"),
    (lambda f: _forge_counts(f, [300, 0, 0, 0, 0]), "in 'outcome_count', where its 'outcome_code' holds"),
    (_set("mean_casualties", (0, 0), -1.0), "holds -1 in 'mean_casualties'"),
    (_set("replications", 0, 100000), "counts 100000"),
])
def test_merge_refuses_a_shard_whose_summary_its_outcome_codes_contradict(brink, shards, tmp_path, edit, said):
    """A shard whose point 0 says 300/300 settlement while its outcome_code holds 37/256/7, or whose
    codes include 9, was merged with exit 0 into a file that inspect and open_results accepted."""
    edited = tmp_path / "shard0.h5"
    edited.write_bytes(shards[0].read_bytes())
    with h5py.File(edited, "r+") as f:
        edit(f)
    merged = tmp_path / "merged.h5"
    proc = _brink(brink, "merge", merged, edited, shards[1])
    assert proc.returncode == 2, proc.stderr
    assert f"'{edited}' is damaged" in proc.stderr and said in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not merged.exists()


def test_merge_of_untouched_shards_still_works(brink, shards, tmp_path):
    proc = _brink(brink, "merge", tmp_path / "merged.h5", *shards)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def single(brink, source_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "single.h5"
    assert _brink(brink, "run", _minimal(source_dir), "-n", 600, "-t", 1, "-q", "-o", out).returncode == 0
    return out


def _open_results(path):
    code = "import sys, brink_analysis as ba; ba.open_results(sys.argv[1])"
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)


def _scale_replications(f):
    """replications 1000 times the run's (more than the file's 600 slots), counts scaled with it."""
    counts = f["outcome_count"][0] * 1000
    _set("outcome_count", 0, counts)(f)
    _set("replications", 0, counts.sum())(f)


def _root_replications(f):
    f.attrs["replications"] = np.int64(10 ** 9)


@pytest.mark.parametrize("edit, variable", [
    (_scale_replications, "replications"),
    (_root_replications, "replications"),
    (_set("survival", (0, 5), 1.7), "survival"),
    (_set("mean_casualties", (0, 0), -5e6), "mean_casualties"),
    (_set("casualty_quantile", (0, 0), [900.0, 10.0, 3.0]), "casualty_quantile"),
    (_set("mean_end_day", 0, -400.0), "mean_end_day"),
    (_set("rung_share", (0, slice(None), 0), 1.0), "rung_share"),
    (_set("agreement_probability", 0, 5.0), "agreement_probability"),
    (_set("mean_troops", (0, slice(None), 0, 0), np.nan), "mean_troops"),
    (_set("mean_belief", (0, slice(None), 0, 0), 2.0), "mean_belief"),
])
def test_inspect_and_open_results_refuse_a_summary_brink_never_writes(brink, single, tmp_path, edit, variable):
    """Each was printed by inspect (exit 0: "RED -5000000", "(900 / 10 / -3)", "mean -400.0", a
    point of 600,000 replications in a file of 600 slots) and accepted by open_results."""
    edited = tmp_path / "edited.h5"
    edited.write_bytes(single.read_bytes())
    with h5py.File(edited, "r+") as f:
        edit(f)
    proc = _brink(brink, "inspect", edited)
    assert proc.returncode == 2 and "damaged" in proc.stderr and f"'{variable}'" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    opened = _open_results(edited)
    assert opened.returncode != 0 and f"'{variable}'" in opened.stderr, opened.stderr


@pytest.mark.parametrize("edit, said", [
    (_set("survival", (0, 5), 1.7), "'survival'"),
    (_set("survival", (0, 5), np.nan), "'survival'"),
    (_set("outcome_code", (0, slice(0, 50)), 9), "'outcome_code' holds 9"),
    (_set("outcome_code", (0, slice(0, 50)), -3), "'outcome_code' holds -3"),
])
def test_open_results_refuses_what_inspect_refuses_and_outcome_codes_out_of_range(single, tmp_path, edit, said):
    """open_results accepted survival of 1.7 (which inspect refused) and survival_curves returned it;
    outcome codes outside the outcome_code flag_values (0..4) were read as results."""
    edited = tmp_path / "edited.h5"
    edited.write_bytes(single.read_bytes())
    with h5py.File(edited, "r+") as f:
        edit(f)
    opened = _open_results(edited)
    assert opened.returncode != 0 and said in opened.stderr, opened.stderr


def test_an_untouched_file_and_partial_are_read_as_before(brink, source_dir, single, tmp_path):
    """The checks hold everything brink writes: a single run, a sweep and a resumed partial."""
    assert _brink(brink, "inspect", single).returncode == 0
    assert _open_results(single).returncode == 0, _open_results(single).stderr
    resume = _partial(brink, source_dir, tmp_path, 2048, 12)
    proc = _brink(brink, *resume)
    assert proc.returncode == 0, proc.stderr
    assert _brink(brink, "inspect", tmp_path / "part.h5").returncode == 0
    assert _open_results(tmp_path / "part.h5").returncode == 0


def test_inspect_refuses_a_nan_parameter_value_at_a_finished_point_as_open_results_does(brink, source_dir, tmp_path):
    """A sweep point's parameter_value set to NaN: open_results refused the file, brink inspect
    printed its table, exit 0."""
    out = tmp_path / "s.h5"
    proc = _brink(brink, "run", _minimal(source_dir), "-n", 256, "-t", 1, "-q",
                  "--sweep", "escalation.incidents.base_rate=0.01,0.1,0.3", "-o", out)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r+") as f:
        values = f["parameter_value"][()]
        values[1, 0] = np.nan
        f["parameter_value"][...] = values
    proc = _brink(brink, "inspect", out)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (f"brink inspect: '{out}' is damaged: the parameter escalation.incidents.base_rate "
                                   "has no value (NaN in 'parameter_value') at point 1, which finished"), proc.stderr
