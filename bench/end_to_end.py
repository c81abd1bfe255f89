#!/usr/bin/env python3
"""The end-to-end targets of issue 8 as ratios from one run: per-replication
output against --summary-only (the flagship, and a sweep of many points of
one replication each), two threads against one, and (given the previous
release's binary) today's flagship against it.

Each comparison runs its two commands in alternation, `--pairs` times, and
prints the median and the range of the per-pair ratios of wall time and of CPU
time (os.wait4 of the child). Alternation matters on a virtual machine whose
speed drifts within minutes: a ratio of two runs side by side holds where
absolute times do not.

Run:  /usr/bin/python3 bench/end_to_end.py [--replications N] [--sweep-points S] [--pairs P]
          [--previous PATH/TO/OLD/brink --previous-scenario OLD.yaml]
(BRINK=path/to/brink, default build/release/brink.) The previous release is
commit 82beb7a; its flagship is `git show 82beb7a:scenarios/jan-2022-standoff.yaml`.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from brink_binary import brink_binary  # noqa: E402


def timed(args):
    """(wall seconds, CPU seconds) of one child run; exits if it fails."""
    # stderr goes to a file, not a pipe: a pipe left unread while waiting could fill and stall the child.
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            sys.exit(f"{' '.join(map(str, args))} failed: {err.read().decode(errors='replace').strip()}")
    return wall, usage.ru_utime + usage.ru_stime


def compare(title, baseline, candidate, pairs, tmp):
    """Runs baseline(out) and candidate(out) in alternation; prints and returns the wall ratios candidate/baseline."""
    walls, cpus = [], []
    for p in range(pairs):
        base_out, cand_out = tmp / f"base{p}.h5", tmp / f"cand{p}.h5"
        b = timed(baseline(base_out))
        c = timed(candidate(cand_out))
        for path in (base_out, cand_out):
            path.unlink(missing_ok=True)
        walls.append(c[0] / b[0])
        cpus.append(c[1] / b[1])
    print(f"  {title:<58} wall {statistics.median(walls):6.2f}x ({min(walls):.2f}-{max(walls):.2f})"
          f"   CPU {statistics.median(cpus):6.2f}x ({min(cpus):.2f}-{max(cpus):.2f})")
    return walls


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "jan-2022-standoff.yaml"))
    parser.add_argument("--replications", type=int, default=100000)
    parser.add_argument("--sweep-points", type=int, default=5000,
                        help="points of one replication in the sweep's comparison (0: skip it)")
    parser.add_argument("--pairs", type=int, default=5, help="alternating runs of each comparison")
    parser.add_argument("--previous", help="the previous release's brink binary (for the flagship ratio)")
    parser.add_argument("--previous-scenario", help="the previous release's own flagship scenario file")
    args = parser.parse_args()
    if bool(args.previous) != bool(args.previous_scenario):
        parser.error("--previous and --previous-scenario go together")
    if args.replications < 1 or args.pairs < 1 or args.sweep_points < 0:
        parser.error("--replications and --pairs must be at least 1, --sweep-points at least 0")
    brink = brink_binary("end_to_end.py")
    n = str(args.replications)

    def run(binary, scenario, *extra):
        return lambda out: [binary, "run", scenario, "-n", n, "-q", "-o", str(out), *extra]

    # A design of many points of one replication each (they share blocks and chunks: docs/sweeps.md).
    sweep = ["-n", "1", "--design", "lhs", "--samples", str(args.sweep_points),
             "--sweep", "actors.RUS.decision.rationality=0.5:3", "--sweep", "actors.RUS.forces.deployed=80000:160000"]

    def run_sweep(*extra):
        return lambda out: [brink, "run", args.scenario, *sweep, "-q", "-o", str(out), *extra]

    print(f"{Path(args.scenario).name}, {n} replications, {args.pairs} alternating pairs "
          "(ratio: second command over first; median, range)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        compare("per-replication output / --summary-only, 2 threads (<= 1.33)",
                run(brink, args.scenario, "--summary-only", "-t", "2"), run(brink, args.scenario, "-t", "2"),
                args.pairs, tmp)
        if args.sweep_points:
            compare(f"the same, {args.sweep_points} points of 1 replication (<= 1.33)",
                    run_sweep("--summary-only", "-t", "2"), run_sweep("-t", "2"), args.pairs, tmp)
        walls = compare("2 threads / 1 thread, --summary-only (<= 1/1.8 = 0.56)",
                        run(brink, args.scenario, "--summary-only", "-t", "1"),
                        run(brink, args.scenario, "--summary-only", "-t", "2"), args.pairs, tmp)
        print(f"  {'':<58} speed-up {1 / statistics.median(walls):.2f}x")
        if args.previous:
            walls = compare("today's flagship / previous release, 2 threads (<= 1/6)",
                            run(args.previous, args.previous_scenario, "--summary-only", "-t", "2"),
                            run(brink, args.scenario, "--summary-only", "-t", "2"), args.pairs, tmp)
            print(f"  {'':<58} speed-up {1 / statistics.median(walls):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
