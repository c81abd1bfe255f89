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


CPUS = sorted(os.sched_getaffinity(0))  # the CPUs this script and its children may run on


def busy_seconds():
    """CPU seconds the CPUs in CPUS have spent busy (every process, and time a hypervisor stole),
    from /proc/stat; None where it cannot be read."""
    try:
        with open("/proc/stat") as f:
            rows = {x[0]: x[1:] for x in (line.split() for line in f) if x[0].startswith("cpu")}
        ticks = [[int(v) for v in rows[f"cpu{c}"][:8]] for c in CPUS]
    except (OSError, KeyError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    return sum(sum(t) - t[3] - t[4] for t in ticks) / os.sysconf("SC_CLK_TCK")


def timed(args):
    """(wall seconds, CPU seconds, cores the other processes kept busy meanwhile or None) of one
    child run; exits if it fails."""
    # stderr goes to a file, not a pipe: a pipe left unread while waiting could fill and stall the child.
    with tempfile.TemporaryFile() as err:
        busy = busy_seconds()
        start = time.monotonic()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        busy_after = busy_seconds()
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            sys.exit(f"{' '.join(map(str, args))} failed: {err.read().decode(errors='replace').strip()}")
    cpu = usage.ru_utime + usage.ru_stime
    others = None if busy is None or busy_after is None else max(0.0, (busy_after - busy - cpu) / wall)
    return wall, cpu, others


def compare(title, baseline, candidate, pairs, tmp):
    """Runs baseline(out) and candidate(out) in alternation; prints the ratios candidate/baseline and
    returns the wall ratios and the candidate's runs (wall, CPU, others' cores)."""
    walls, cpus, runs = [], [], []
    for p in range(pairs):
        base_out, cand_out = tmp / f"base{p}.h5", tmp / f"cand{p}.h5"
        b = timed(baseline(base_out))
        c = timed(candidate(cand_out))
        for path in (base_out, cand_out):
            path.unlink(missing_ok=True)
        walls.append(c[0] / b[0])
        cpus.append(c[1] / b[1])
        runs.append(c)
    print(f"  {title:<58} wall {statistics.median(walls):6.2f}x ({min(walls):.2f}-{max(walls):.2f})"
          f"   CPU {statistics.median(cpus):6.2f}x ({min(cpus):.2f}-{max(cpus):.2f})")
    return walls, runs


def print_cores(runs, target):
    """Beside a thread speed-up: the cores the 2-thread runs got (their CPU / wall), the cores the
    machine's other processes kept busy meanwhile, and the load average; and, when the machine could
    not give two cores, that the speed-up is the machine's. A speed-up of `target` needs the two
    threads running side by side; alternating runs cannot make up for cores others hold."""
    got = statistics.median(cpu / wall for wall, cpu, _ in runs)
    others = [x for _, _, x in runs if x is not None]
    busy = statistics.median(others) if others else None
    free = len(CPUS) - busy if busy is not None else None
    load = os.getloadavg()[0]
    print(f"  {'':<58} the 2-thread runs got {got:.2f} cores (CPU / wall, median); "
          + (f"other processes kept {busy:.2f} of the {len(CPUS)} CPUs busy; " if busy is not None else "")
          + f"load average {load:.2f} (1 min, with this script's runs)")
    if len(CPUS) < 2 or (free is not None and free < target):
        print(f"  {'':<58} this machine could not give the 2-thread runs two cores (about "
              f"{free if free is not None else len(CPUS):.1f} of its {len(CPUS)} CPUs were free): the speed-up "
              "is the machine's, not brink's")


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
          f"(ratio: second command over first; median, range); load average {os.getloadavg()[0]:.2f} "
          f"(1 min) on {len(CPUS)} CPUs before the runs")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        compare("per-replication output / --summary-only, 2 threads (<= 1.33)",
                run(brink, args.scenario, "--summary-only", "-t", "2"), run(brink, args.scenario, "-t", "2"),
                args.pairs, tmp)
        if args.sweep_points:
            compare(f"the same, {args.sweep_points} points of 1 replication (<= 1.33)",
                    run_sweep("--summary-only", "-t", "2"), run_sweep("-t", "2"), args.pairs, tmp)
        walls, runs = compare("2 threads / 1 thread, --summary-only (<= 1/1.8 = 0.56)",
                              run(brink, args.scenario, "--summary-only", "-t", "1"),
                              run(brink, args.scenario, "--summary-only", "-t", "2"), args.pairs, tmp)
        print(f"  {'':<58} speed-up {1 / statistics.median(walls):.2f}x")
        print_cores(runs, 1.8)
        if args.previous:
            walls, _ = compare("today's flagship / previous release, 2 threads (<= 1/6)",
                            run(args.previous, args.previous_scenario, "--summary-only", "-t", "2"),
                            run(brink, args.scenario, "--summary-only", "-t", "2"), args.pairs, tmp)
            print(f"  {'':<58} speed-up {1 / statistics.median(walls):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
