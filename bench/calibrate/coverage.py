#!/usr/bin/python3
"""Coverage study of `brink calibrate` on synthetic data from a known
flagship-like parameter set (issue 13, item 5). Outside CI: about 100
calibrations.

Each calibration k:
1. simulates ONE replication of the flagship (scenarios/jan-2022-standoff.yaml)
   at the TRUE parameters (the flagship's own values, or with --truth prior a
   draw from the prior) with `brink run -n 1` (seed --seed + k), and takes
   Russia's deployed forces on the observed days: one realised history, as
   the record is;
2. adds a normal measurement error of the observations' sd (seeded by k):
   the synthetic record;
3. calibrates the three parameters that drive Russia's build-up from wide
   uniform priors (seed k) and reads the weighted 50% and 90% central credible
   intervals of the last generation;
4. records whether each interval covers the truth.

The distance's target is one world measured with error: each of a
particle's R replications is one world read with N(0, sd²) error, and the
share of its worlds within the tolerance weights it (docs/calibration.md,
"Distance"), which is how steps 1 and 2 make the data, so a calibrated
posterior covers the truth at the nominal rate; ABC's final tolerance
above 0 widens the posterior, so the coverage is expected at or above
nominal (conservative). A fixed truth (the default) tests frequentist
coverage, which flat priors containing the truth well inside their support
approach; --truth prior tests Bayesian coverage, exact by construction.
(Before the target was one world, the data were the model's mean over
2,560 replications plus the error; the tables of calibration.md
measured that way say so.)

Results go to a JSON-lines file, one line per calibration (re-running skips
the done ones: the study can be stopped and resumed), and the table is
printed in Markdown:

    /usr/bin/python3 bench/calibrate/coverage.py --brink build/release/brink --runs 100 --out out/coverage
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import xarray as xr

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "scenarios" / "jan-2022-standoff.yaml"

# (dotted path, truth = the flagship's value, prior support). The supports are
# wide on purpose and contain the truth well inside.
PARAMETERS = [
    ("actors.RUS.forces.deployed", 127000.0, (90000.0, 160000.0)),
    ("actors.RUS.forces.deployment_rate", 2500.0, (500.0, 5000.0)),
    ("actors.RUS.posture.grievance", -930.0, (-3000.0, 1000.0)),
]
DAYS = (1, 10, 20, 30)  # observed days of Russia's deployed forces
SD = 5000.0  # troops: the observations' standard deviation


def observations_yaml(values):
    lines = ["observations:"]
    for day, v in zip(DAYS, values):
        lines += [f"  rus_deployed_day_{day}:", "    quantity: forces", "    actor: RUS", "    pool: deployed",
                  f"    day: {day}", f"    value: {v:.1f}", f"    sd: {SD}",
                  '    source: "synthetic: one run of the model at the true parameters plus normal error '
                  '(bench/calibrate/coverage.py)"']
    return "\n".join(lines) + "\n"


def calibrate_yaml(args):
    lines = ["calibrate:", f"  particles: {args.particles}", f"  generations: {args.generations}",
             f"  replications: {args.replications}", "  quantile: 0.5", "  parameters:"]
    for path, _, (lo, hi) in PARAMETERS:
        lines.append(f"    {path}: {{prior: uniform, min: {lo}, max: {hi}}}")
    return "\n".join(lines) + "\n"


def base_text():
    # The flagship without its own observations (they are replaced by the synthetic ones).
    text = FLAGSHIP.read_text()
    cut = text.find("\nobservations:")
    return text if cut < 0 else text[: cut + 1]


def brink(binary, *args):
    proc = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"brink {' '.join(map(str, args[:2]))} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc


def one_world_deployed(binary, scenario, truth, work, seed):
    # Russia's deployed forces on DAYS in one replication at the true parameters: one realised history.
    out = work / "truth.h5"
    sets = [a for path, v in zip([p[0] for p in PARAMETERS], truth) for a in ("--set", f"{path}={v}")]
    brink(binary, "run", scenario, "-n", 1, "--seed", seed, "--timeseries", "every=1", "-q", "--no-table",
          "--overwrite", "-o", out, "--set", f"run.horizon_days={max(DAYS) + 1}", *sets)
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        run = ds.troops.sel(point=0, replication=0, actor="RUS", pool="deployed").values  # entry d: after d steps
    return [float(run[d]) for d in DAYS]


def weighted_quantile(values, weights, q):
    order = np.argsort(values)
    cdf = np.cumsum(weights[order]) - 0.5 * weights[order]
    return float(np.interp(q, cdf / cdf[-1], values[order]))


def one_calibration(args, k, work):
    rng = np.random.default_rng([args.seed, k])
    if args.truth == "prior":
        truth = [float(rng.uniform(lo, hi)) for _, _, (lo, hi) in PARAMETERS]
    else:
        truth = [t for _, t, _ in PARAMETERS]
    base = work / "base.yaml"
    base.write_text(base_text())
    history = one_world_deployed(args.brink, base, truth, work, args.seed + k)
    observed = [x + SD * float(rng.standard_normal()) for x in history]
    scenario = work / "synthetic.yaml"
    scenario.write_text(base_text() + "\n" + observations_yaml(observed) + "\n" + calibrate_yaml(args))
    out = work / "cal.h5"
    started = time.time()
    brink(args.brink, "calibrate", scenario, "-o", out, "--seed", 1000 + k, "--threads", args.threads, "-q",
          "--overwrite")
    seconds = time.time() - started
    with h5py.File(out, "r") as f:
        particles, weights = f["particles"][-1], f["weights"][-1]
        tolerance, ess = float(f["tolerances"][-1]), float(f["ess"][-1])
    row = {"run": k, "truth": truth, "observed": observed, "tolerance": tolerance, "ess": ess, "seconds": seconds}
    for j, (path, _, _) in enumerate(PARAMETERS):
        x, w = particles[:, j], weights
        q = {p: weighted_quantile(x, w, p) for p in (0.05, 0.25, 0.75, 0.95)}
        mean = float(np.sum(w * x))
        row[path] = {"mean": mean, "sd": float(math.sqrt(np.sum(w * (x - mean) ** 2))), "q": q,
                     "in50": q[0.25] <= truth[j] <= q[0.75], "in90": q[0.05] <= truth[j] <= q[0.95]}
    return row


def binomial_interval(k, n, z=1.959964):
    # Wilson 95% interval of a coverage rate.
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def table(rows, args):
    n = len(rows)
    lines = [f"{n} calibrations ({args.particles} particles, {args.generations} generations, {args.replications} "
             f"replications per particle; truth: {args.truth}); 95% Wilson intervals of the coverage rates.", "",
             "| parameter | truth | prior | 50% interval covers | 90% interval covers | posterior sd (mean) | "
             "prior sd |", "|---|---|---|---|---|---|---|"]
    for path, t, (lo, hi) in PARAMETERS:
        k50 = sum(r[path]["in50"] for r in rows)
        k90 = sum(r[path]["in90"] for r in rows)
        a50, b50 = binomial_interval(k50, n)
        a90, b90 = binomial_interval(k90, n)
        truth = "drawn from the prior" if args.truth == "prior" else f"{t:g}"
        lines.append(f"| `{path}` | {truth} | U({lo:g}, {hi:g}) | {k50}/{n} = {k50 / n:.2f} [{a50:.2f}, {b50:.2f}] | "
                     f"{k90}/{n} = {k90 / n:.2f} [{a90:.2f}, {b90:.2f}] | "
                     f"{np.mean([r[path]['sd'] for r in rows]):.4g} | {(hi - lo) / math.sqrt(12):.4g} |")
    lines += ["", f"final tolerance: median {np.median([r['tolerance'] for r in rows]):.3g}; final ESS: median "
              f"{np.median([r['ess'] for r in rows]):.0f}; wall time per calibration: median "
              f"{np.median([r['seconds'] for r in rows]):.1f} s"]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--brink", default=str(ROOT / "build" / "release" / "brink"))
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--particles", type=int, default=150)
    parser.add_argument("--generations", type=int, default=4)
    parser.add_argument("--replications", type=int, default=32)
    parser.add_argument("--truth", choices=("flagship", "prior"), default="flagship")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20260)
    parser.add_argument("--out", default=str(ROOT / "out" / "coverage"))
    parser.add_argument("--cpu-budget", type=float, default=25 * 60, help="stop starting calibrations past this many "
                        "CPU seconds of brink (default 25 minutes)")
    parser.add_argument("--wall-budget", type=float, default=float("inf"), help="stop starting calibrations past "
                        "this many seconds of wall time (a shared machine; the table then says how many ran)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # One-world data (the earlier files, coverage-TRUTH.jsonl, hold expectation data: not mixed in).
    results = out / f"coverage-{args.truth}-one-world.jsonl"
    rows = [json.loads(x) for x in results.read_text().splitlines()] if results.exists() else []
    done = {r["run"] for r in rows}
    started = time.time()
    for k in range(args.runs):
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = used.ru_utime + used.ru_stime
        if cpu > args.cpu_budget:
            print(f"CPU budget of {args.cpu_budget:.0f} s used: stopping after {len(rows)} calibrations",
                  file=sys.stderr)
            break
        if time.time() - started > args.wall_budget:
            print(f"wall budget of {args.wall_budget:.0f} s used: stopping", file=sys.stderr)
            break
        if k in done:
            continue
        row = one_calibration(args, k, out)
        rows.append(row)
        with results.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"calibration {k + 1}/{args.runs}: {row['seconds']:.1f} s, tolerance {row['tolerance']:.3g}, "
              f"CPU so far {cpu:.0f} s", file=sys.stderr)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"this invocation: {time.time() - started:.0f} s wall, {used.ru_utime + used.ru_stime:.0f} s CPU of brink",
          file=sys.stderr)
    if rows:
        print(table(rows, args))


if __name__ == "__main__":
    main()
