#!/usr/bin/env python3
"""The flagship's arithmetic floor on each kernel path, against the kernel on
that path, measured in one run on this machine.

For each path this CPU runs (avx2, avx512), it runs bench's
brink_unit_bench_<path> (BM_FlagshipFloor: the exponentials, logarithms,
square roots, Philox calls, divisions and lane arithmetic of one
replication-step, built with that path's -march; docs/performance.md) and
`brink run SCENARIO --isa <path> --summary-only --threads 1` (its CPU time
from os.wait4), and prints the floor and the kernel in ns per
replication-step and their ratio (the runs of floor and kernel alternate,
one of each in turn). The floor keeps the lane arithmetic in
registers and leaves out every load and store, so it is a lower bound. It
counts the whole step; the floor of the decisions alone (the floor until the
fifteenth round of docs/performance.md) is printed beside it.

Run:  /usr/bin/python3 bench/floor.py [--replications N] [--repeats R]
(BRINK=path/to/brink, default build/release/brink; the unit benches are
looked for in build/release/bench, or --bench-dir.)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "peer"))
sys.path.insert(0, str(HERE))
from brink_binary import brink_binary  # noqa: E402
from flagship_scenario import load  # noqa: E402

def built_paths(bench_dir):
    """The kernel paths whose unit bench is built (avx2 and avx512, or native for BRINK_ARCH=native)."""
    paths = sorted(p.name.removeprefix("brink_unit_bench_") for p in Path(bench_dir).glob("brink_unit_bench_*"))
    if not paths:
        sys.exit(f"no brink_unit_bench_* in {bench_dir}: build them (cmake --build build/release) or pass --bench-dir")
    return paths


def runnable_paths(brink):
    """The kernel paths this CPU runs, as brink's own dispatch says (`brink --version`)."""
    out = subprocess.run([brink, "--version"], capture_output=True, text=True, check=True).stdout
    line = next((x for x in out.splitlines() if x.startswith("kernel paths this CPU runs:")), None)
    if line is None:
        sys.exit(f"{brink} --version does not say which kernel paths this CPU runs")
    return [p.strip() for p in line.split(":", 1)[1].split(",") if p.strip()]


def floor_ns(bench_dir, path, min_time, whole_step=True):
    """BM_FlagshipFloor's ns per replication-step on `path`: the whole step's operations, or the decisions' alone."""
    exe = Path(bench_dir) / f"brink_unit_bench_{path}"
    name = f"BM_FlagshipFloor<float>/whole_step:{1 if whole_step else 0}$"
    proc = subprocess.run([str(exe), f"--benchmark_filter={name}", "--benchmark_format=json",
                           f"--benchmark_min_time={min_time}"], capture_output=True, text=True, check=True)
    runs = json.loads(proc.stdout)["benchmarks"]
    if not runs:
        sys.exit(f"{exe} has no benchmark {name}")
    return statistics.median(b["time/rep-step"] for b in runs) * 1e9  # the counter is in seconds


def kernel_ns(brink, scenario, path, replications, steps):
    """CPU ns per replication-step of a whole `brink run` on one thread, on kernel path `path`."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [brink, "run", str(scenario), "-n", str(replications), "--threads", "1", "--quiet",
                "--summary-only", "-o", str(Path(tmp) / "floor.h5")]
        if path != "native":  # a native build has the one path
            args += ["--isa", path]
        proc = subprocess.Popen(args)
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{' '.join(args)} failed")
    return (usage.ru_utime + usage.ru_stime) * 1e9 / (replications * steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "jan-2022-standoff.yaml"),
                        help="the flagship (the floor's operation counts are the flagship's)")
    parser.add_argument("--replications", type=int, default=51200)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the median is kept")
    parser.add_argument("--bench-dir", default=str(ROOT / "build" / "release" / "bench"))
    parser.add_argument("--min-time", type=float, default=0.5, help="Google Benchmark's min time per floor run")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a kernel runs below its floor (the floor would count work the kernel "
                             "does not do)")
    args = parser.parse_args()
    brink = brink_binary("floor.py")
    steps = load(args.scenario).steps
    print(f"{Path(args.scenario).name}: {args.replications} replications x {steps} steps, one thread, "
          f"median of {args.repeats}")
    print(f"  {'path':<8} {'floor ns/rep-step':>18} {'kernel ns/rep-step':>19} {'kernel / floor':>15} "
          f"{'decisions-only floor':>21} {'kernel / it':>12}")
    below = False
    runnable = runnable_paths(brink)
    for path in built_paths(args.bench_dir):
        if path not in runnable:  # not even started: its instructions could fault before any check
            print(f"  {path:<8} {'(this CPU cannot run this path)':>54}")
            continue
        # One run of each in turn, `repeats` times, as end_to_end.py and peer_benchmark.py do: this
        # virtual machine's speed drifts within minutes, and all the floors first and all the kernels
        # after would put a slow spell on one side of the ratio.
        runs = {"floor": lambda: floor_ns(args.bench_dir, path, args.min_time),
                "decisions": lambda: floor_ns(args.bench_dir, path, args.min_time, whole_step=False),
                "kernel": lambda: kernel_ns(brink, args.scenario, path, args.replications, steps)}
        times = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                times[name].append(run())
        floor, decisions, kernel = (statistics.median(times[name]) for name in runs)
        print(f"  {path:<8} {floor:>18.1f} {kernel:>19.1f} {kernel / floor:>15.2f} {decisions:>21.1f} "
              f"{kernel / decisions:>12.2f}")
        below |= kernel < floor
    return 1 if args.check and below else 0


if __name__ == "__main__":
    sys.exit(main())
