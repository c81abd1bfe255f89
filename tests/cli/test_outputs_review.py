"""Findings of the tenth outside hostile test that concern where brink's output goes: standard
output that cannot be written, output paths with control characters, and the command a file
records to rerun one of its points."""

import re
import subprocess

import pytest

from conftest import run_brink


@pytest.fixture(scope="module")
def minimal(source_dir):
    return source_dir / "docs" / "examples" / "minimal.yaml"


@pytest.mark.parametrize("command", [["validate", "MINIMAL"], ["params", "MINIMAL"], ["scenarios"], ["--version"]])
def test_output_that_cannot_be_written_is_a_failure(brink, minimal, command):
    """`brink validate minimal.yaml > /dev/full` and `brink scenarios >&-` exited 0: what they
    printed was lost, and the exit code said it arrived."""
    args = [str(minimal) if a == "MINIMAL" else a for a in command]
    with open("/dev/full", "w") as full:
        proc = subprocess.run([brink, *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    # The reason is known when the last write fails, not when an earlier one did (params prints pages).
    assert re.fullmatch(r"brink: could not write to standard output( \(No space left on device\))?; the command "
                        r"itself finished, and any file it wrote is complete\n",
                        proc.stderr.splitlines(keepends=True)[-1]), proc.stderr
    proc = subprocess.run([brink, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
    # validate's notes (minimal.yaml's unreached weights, since round 39) are all it may say on stderr.
    assert proc.returncode == 0, proc.stderr
    assert all(line.startswith("brink validate: note: ") for line in proc.stderr.splitlines()), proc.stderr
    closed = subprocess.run(f"'{brink}' {' '.join(args)} >&-", shell=True, stderr=subprocess.PIPE, text=True, timeout=60)
    assert closed.returncode == 1 and "could not write to standard output" in closed.stderr, closed.stderr


def test_a_run_whose_table_cannot_be_printed_says_its_file_is_complete(brink, minimal, tmp_path):
    """Round 39: `brink run ... > /dev/full` exited 1 with only "could not write to standard output",
    after publishing a complete result; a batch script that reran it was told the result exists."""
    with open("/dev/full", "w") as full:
        proc = subprocess.run([brink, "run", minimal, "-n", "64", "-o", tmp_path / "r.h5"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 1 and "any file it wrote is complete" in proc.stderr, proc.stderr
    assert (tmp_path / "r.h5").exists() and not (tmp_path / "r.h5.partial").exists()


@pytest.mark.parametrize("name", ["c\nname: injected\n#.h5", "tab\there.h5", "esc\x1b[31m.h5", "c1\u0085.h5"])
def test_an_output_path_with_a_control_character_is_refused(brink, minimal, tmp_path, source_dir, name):
    """`brink calibrate ... -o $'c\\nname: injected\\n#.h5'` exited 0 and wrote a posterior scenario
    whose header comment the newline split, injecting YAML; `run` wrote the file and a message of
    three lines. Every command that writes a file refuses such a path, exit 2, and writes nothing."""
    code = "\\x0a" if "\n" in name else "\\x09" if "\t" in name else "\\x1b" if "\x1b" in name else "U+0085"
    calibration = source_dir / "scenarios" / "validation" / "calibrate-incidents.yaml"
    for command in (["run", minimal, "-q", "-n", "20"],
                    ["calibrate", calibration, "-q", "--particles", "20", "--generations", "1"]):
        proc = run_brink(brink, *command, "-o", name, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr == (f"brink {command[0]}: the output path contains the control character {code}; give a "
                               "path without control characters (such as a newline or a tab)\n"), proc.stderr
        assert not list(tmp_path.iterdir())
    shards = [tmp_path / f"s{i}.h5" for i in (0, 1)]
    for i, shard in enumerate(shards):
        assert run_brink(brink, "run", minimal, "-q", "-n", "20", "--shard", f"{i}/2", "-o", shard).returncode == 0
    proc = run_brink(brink, "merge", name, *shards, cwd=tmp_path)
    assert proc.returncode == 2 and "control character" in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s0.h5", "s1.h5"]


@pytest.mark.parametrize("runs", [True, False], ids=["per-replication", "summary-only"])
def test_merge_refuses_a_shard_whose_summary_no_run_writes(brink, minimal, tmp_path, runs):
    """A shard edited with h5py (valid checksums) to count 999,999 replications of 50 in one
    outcome was merged with exit 0 into a file that `inspect` then called damaged. Merge checks
    every summary it copies as `inspect` does, and writes nothing."""
    import h5py

    sweep = ["-n", "50", "--sweep", "actors.RED.forces.deployed=10000,20000,30000,40000"]
    shards = [tmp_path / f"s{i}.h5" for i in range(3)]
    for i, shard in enumerate(shards):
        proc = run_brink(brink, "run", minimal, "-q", *sweep, *([] if runs else ["--summary-only"]),
                         "--shard", f"{i}/3", "-o", shard)
        assert proc.returncode == 0, proc.stderr
    assert run_brink(brink, "merge", tmp_path / "good.h5", *shards).returncode == 0
    with h5py.File(shards[2], "r+") as f:
        f["outcome_count"][2, 1] = 999999
    proc = run_brink(brink, "merge", tmp_path / "out.h5", *shards)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (f"brink merge: '{shards[2]}' is damaged (point 2's summary counts 999999 of 50 "
                           "replications in one outcome); run that shard again\n"), proc.stderr
    assert not list(tmp_path.glob("out.h5*"))


@pytest.mark.parametrize("edit", ["no-scenario", "text-version"])
def test_inspect_names_what_an_edited_file_lacks(brink, minimal, tmp_path, edit):
    """`inspect --scenario` of a file without its 'scenario' attribute printed nothing with exit
    0 (so `> rerun.yaml` made an empty scenario); a format_version written as text read as
    'brink output format 1'."""
    import h5py

    out = tmp_path / "r.h5"
    assert run_brink(brink, "run", minimal, "-q", "-n", "10", "-o", out).returncode == 0
    with h5py.File(out, "r+") as f:
        if edit == "no-scenario":
            del f.attrs["scenario"]
        else:
            f.attrs["format_version"] = "abc"
    proc = run_brink(brink, "inspect", "--scenario", out)
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    expected = ("holds no scenario text (its root attribute 'scenario' is missing)" if edit == "no-scenario"
                else "its root attribute 'format_version' is not one integer")
    assert expected in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr
