"""Round 37, the scale tester's findings (long and large jobs).

Each test runs the real binary as the tester did, on plans shrunk to run in
seconds: peak memory is the child's peak RSS (GNU time's %M, with generous
margins), disk is what a small tmpfs holds, and never a wall time.
"""

import os
import re
import resource
import subprocess
from pathlib import Path

import pytest

from test_shard_merge import assert_same_as_single_run

HERE = Path(__file__).resolve().parent
SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", HERE.parents[1]))
LHS = ["--design", "lhs", "--sweep", "actors.RUS.forces.deployed=90000:180000"]
SAFE_ADDRESS_SPACE = 6 * 2**30  # a refused run needs none of it; a run that was not refused stops there


def limited(brink, *args, address_space=SAFE_ADDRESS_SPACE, timeout=120):
    """`brink *args` under an address-space limit, so that a binary that starts what it should
    refuse fails early instead of taking the shared machine's memory."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    return subprocess.run([brink, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit)


def peak_rss_mb(brink, *args, timeout=300):
    """(CompletedProcess, peak RSS in MB) of `brink *args`, measured by GNU time."""
    proc = subprocess.run(["/usr/bin/time", "-f", "PEAK %M", brink, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)
    peak = re.search(r"^PEAK (\d+)$", proc.stderr, re.M)
    assert peak, proc.stderr
    return proc, int(peak.group(1)) / 1024


@pytest.fixture
def adaptive(flagship_text, tmp_path):
    """The flagship with adaptive replications up to `max` (the tester's scen/adapt*.yaml)."""
    def make(maximum):
        text = flagship_text.replace("\n  replications: 20000\n",
                                     f"\n  replications: {{min: 1000, max: {maximum}, ci_halfwidth: 0.01}}\n")
        assert text != flagship_text
        path = tmp_path / f"adapt{maximum}.yaml"
        path.write_text(text, encoding="utf-8")
        return path
    return make


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of `size` (e.g. '256m') to stand for a nearly full disk."""
    mounts = []

    def mount(size):
        path = tmp_path / f"disk{len(mounts)}"
        path.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs to stand for a small disk (needs root): {proc.stderr.strip()}")
        mounts.append(path)
        return path
    yield mount
    for path in mounts:
        subprocess.run(["umount", "-l", str(path)], check=False)


# H3 ----------------------------------------------------------------------------------------------


def test_a_generous_adaptive_max_sets_no_memory_aside_per_point(brink, adaptive, tmp_path):
    """H3: max 4e9 set aside a byte per possible block of max for every point (31 MB a point:
    20 points took 632 MB, though each ran under 10,000 replications). The scheduler's states
    now grow with the rounds a point runs: the same sweep stays near the one with max 1e5."""
    args = [*LHS, "--samples", "20", "-t", "2", "--summary-only", "-q"]
    proc, generous = peak_rss_mb(brink, "run", adaptive(4000000000), *args, "-o", tmp_path / "g.h5")
    assert proc.returncode == 0, proc.stderr
    proc, modest = peak_rss_mb(brink, "run", adaptive(100000), *args, "-o", tmp_path / "m.h5")
    assert proc.returncode == 0, proc.stderr
    assert generous < modest + 100, (generous, modest)


# M1, M5 ------------------------------------------------------------------------------------------


def test_an_adaptive_run_with_a_generous_max_is_sized_at_min_not_refused(brink, adaptive, small_disk):
    """M1: max 1e8 counted every point at max (200 GB for 5 points) and the 100x rule refused a
    run that writes a few MB. Adaptive points are now counted at min, a lower bound."""
    disk = small_disk("256m")
    proc = limited(brink, "run", adaptive(100000000), *LHS, "--samples", "5", "-t", "2", "-q", "--no-table",
                   "-o", disk / "a.h5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    assert (disk / "a.h5").is_file()


def test_an_adaptive_warning_says_its_estimate_is_a_lower_bound(brink, adaptive, small_disk):
    """M1: the warning said 'up to' a size counted at max; it now says 'at least' and why."""
    disk = small_disk("2m")
    proc = limited(brink, "run", adaptive(100000000), *LHS, "--samples", "20", "-t", "2", "-q", "--no-table",
                   "-o", disk / "a.h5")
    warning = [line for line in proc.stderr.splitlines() if line.startswith("brink run: warning:")]
    assert len(warning) == 1, proc.stderr
    assert re.search(r"may need at least [0-9.e+-]+ GiB before compression with every point at "
                     r"run\.replications\.min = 1000 \(points that run more write more\)", warning[0]), warning


def test_summaries_that_cannot_fit_are_refused_before_the_run_fills_the_disk(brink, small_disk):
    """M5: a --summary-only sweep's summaries are stored uncompressed, so 'may need up to' was a
    certainty; the run started anyway and filled the disk. It is now refused, exit 2, one
    sentence, nothing written."""
    disk = small_disk("20m")
    proc = limited(brink, "run", "-n", "1", "--summary-only", *LHS, "--samples", "2000", "-t", "1", "-q",
                   "-o", disk / "s.h5")
    assert proc.returncode == 2, proc.stderr
    assert re.fullmatch(r"brink run: the output's per-point summaries alone need [0-9.e+-]+ GiB, which are stored "
                        r"uncompressed, more than the [0-9.e+-]+ GiB free on the file system of '.*disk0', so it "
                        r"could not fit; write fewer points, a sparser --timeseries every=K, or -o on a larger file "
                        r"system\n", proc.stderr), proc.stderr
    assert not list(disk.iterdir())


# H2, M3, L2 --------------------------------------------------------------------------------------


def test_a_summary_only_run_too_large_for_memory_is_refused_before_it_starts(brink, tmp_path):
    """H2: -n 4e9 --summary-only keeps (9 + 8 x actors) bytes per replication, 164 GB for the
    flagship, and ran for hours before running out. It is refused at once, exit 2, naming the
    need, the machine's memory and a remedy that helps one point (not --shard: L2)."""
    proc = limited(brink, "run", "-n", "4000000000", "--summary-only", "-t", "1", "-q", "-o", tmp_path / "x.h5",
                   timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert re.fullmatch(r"brink run: this run needs at least [0-9.]+ GB of memory \([0-9.]+ GB to summarize a "
                        r"point's 4000000000 replications, [0-9.e+-]+ GB for 1 block in flight of 120 steps\), more "
                        r"than this machine's [0-9.]+ GB; run fewer replications \(-n\), a sparser --timeseries "
                        r"every=K, a shorter horizon or fewer --threads\n", proc.stderr), proc.stderr


def test_a_time_series_too_large_for_memory_is_refused_before_it_starts(brink, tmp_path):
    """M3: one block of 256 replications with every=1 holds ~120 bytes per replication and step;
    at 3e5 steps that is 9 GB per block, found only when allocation failed."""
    proc = limited(brink, "run", "-n", "4096", "--set", "run.horizon_days=300000", "--timeseries", "every=1",
                   "-t", "8", "-q", "-o", tmp_path / "t.h5", timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert re.fullmatch(r"brink run: this run needs at least [0-9.]+ GB of memory \(.* GB for [0-9]+ blocks in "
                        r"flight of 300000 steps\), more than this machine's [0-9.]+ GB; .*--timeseries every=K.*\n",
                        proc.stderr), proc.stderr
    assert not list(tmp_path.iterdir())


def test_out_of_memory_on_one_point_does_not_advise_shards(brink, tmp_path):
    """L2: the out-of-memory sentence always said '--shard I/N per node', which splits points
    only; a single point is told what shrinks it."""
    proc = limited(brink, "run", "-n", "16", "--set", "run.horizon_days=1000000", "-t", "1", "-q",
                   "-o", tmp_path / "o.h5", address_space=300 * 2**20)
    assert proc.returncode == 1, proc.stderr
    assert "out of memory" in proc.stderr and "--shard" not in proc.stderr, proc.stderr
    assert "run fewer replications (-n), a sparser --timeseries every=K" in proc.stderr, proc.stderr


# H1 ----------------------------------------------------------------------------------------------


def test_a_shard_file_takes_the_disk_of_its_own_points_and_merges_to_the_same_bits(brink, tmp_path):
    """H1: points are dealt round-robin while summaries were chunked by consecutive points, so
    every shard allocated every chunk: shard 0 of 8 took the whole result's 848 MB. A shard's
    per-point chunks now hold one point; the merge is still one run's file, bit for bit."""
    args = ["-n", "1", "--summary-only", *LHS, "--samples", "600", "-t", "2", "-q"]
    single = tmp_path / "single.h5"
    assert subprocess.run([brink, "run", *args, "-o", single], capture_output=True).returncode == 0
    shards = []
    for i in range(3):
        shards.append(tmp_path / f"s{i}.h5")
        proc = subprocess.run([brink, "run", *args, "--shard", f"{i}/3", "-o", shards[i]], capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stderr
    whole = single.stat().st_size
    for shard in shards:
        assert shard.stat().st_size < 0.6 * whole, (shard.stat().st_size, whole)
    merged = tmp_path / "merged.h5"
    proc = subprocess.run([brink, "merge", "-q", merged, *reversed(shards)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert_same_as_single_run(merged, single)


# L3 ----------------------------------------------------------------------------------------------


def test_each_action_budget_refusal_counts_the_actions_of_every_actor_before_it(run, tmp_path):
    """L3: a refused actor's actions were not counted, so every actor after the first refused one
    repeated the same running total (four actors said '16445 with those of the actors before it')."""
    actor = ("  A{i}:\n    forces: {{deployed: 50000, ready: 20000, reserve: 50000, mobilization_rate: 1000, "
             "deployment_rate: 1000, deployed_cap: 200000}}\n    actions:\n{actions}")
    actions = "".join(f"      x{j}: {{kind: hold, cost: 1.0}}\n" for j in range(1000))
    text = ("brink: 1\nname: many-actions\nrun: {horizon_days: 10, dt_days: 1, replications: 16, seed: 5}\n"
            "actors:\n" + "".join(actor.format(i=i, actions=actions) for i in range(18)))
    path = tmp_path / "many.yaml"
    path.write_text(text, encoding="utf-8")
    proc = run("validate", path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    totals = re.findall(r"'actors\.(A\d+)\.actions' has 1000 actions, (\d+) with those of the actors before it",
                        proc.stderr)
    assert totals == [("A16", "17000"), ("A17", "18000")], proc.stderr


# L1 ----------------------------------------------------------------------------------------------


def test_merge_prints_progress_unless_quiet(brink, tmp_path):
    """L1: a merge printed nothing until it ended (3.3 s for 143 MB, ~40 min for 100 GB). It now
    prints a line at each tenth of the points (and at least every 10 s); -q prints none."""
    args = ["-n", "1", "--summary-only", *LHS, "--samples", "50", "-t", "1", "-q"]
    shards = [tmp_path / f"s{i}.h5" for i in range(2)]
    for i, shard in enumerate(shards):
        assert subprocess.run([brink, "run", *args, "--shard", f"{i}/2", "-o", shard]).returncode == 0
    proc = subprocess.run([brink, "merge", "--no-table", tmp_path / "m.h5", *shards], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr  # a merge under a second says nothing
    # The test hook shortens the first second, so that this small merge prints its lines.
    proc = subprocess.run([brink, "merge", "--no-table", "--overwrite", tmp_path / "m.h5", *shards],
                          capture_output=True, text=True, env={**os.environ, "BRINK_TEST_PROGRESS_EVERY_MS": "0"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines and all(re.fullmatch(r"brink merge: progress: +[0-9.]+% of points, \d+ of 50 merged, elapsed \d+ s, "
                                      r"ETA \d+ s", line) for line in lines), proc.stderr
    assert lines[-1].startswith("brink merge: progress: 100.0% of points, 50 of 50 merged"), proc.stderr
    proc = subprocess.run([brink, "merge", "-q", "--overwrite", tmp_path / "m.h5", *shards], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout == "", proc.stderr
