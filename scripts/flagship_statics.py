#!/usr/bin/python3
"""Comparative statics of a scenario with common random numbers.

Runs the scenario once per setting (each a list of `--set` overrides) with the
same seed, so replication r draws the same random stream under every setting,
and prints a Markdown table: P(war) and P(full-scale war) with 95% Wilson
intervals, and the paired difference from the first setting with its 95%
interval (the per-replication differences share their draws, so the interval
is much narrower than two independent ones).

    /usr/bin/python3 scripts/flagship_statics.py                 # the flagship table of docs/model.md
    /usr/bin/python3 scripts/flagship_statics.py -n 4000 --brink build/release/brink

A setting that the engine refuses (a field the scenario does not have) is
reported as such and skipped, so the same table runs on older binaries.
"""
import argparse
import math
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

WAR = (2, 3, 4)  # outcome codes: limited_war, full_war, alliance_war
FULL_WAR = (3, 4)

# (label, overrides). Paired type parameters move together so that the mean
# stays where the scenario puts it (a spread at the same mean).
FLAGSHIP_SETTINGS = [
    ("as shipped", []),
    ("RUS resolve spread ±0 (both types 0.65)",
     ["actors.RUS.types.resolved.resolve=0.65", "actors.RUS.types.coercer.resolve=0.65"]),
    ("RUS resolve spread ±0.35 (1.0 / 0.3, as shipped)",
     ["actors.RUS.types.resolved.resolve=1.0", "actors.RUS.types.coercer.resolve=0.3"]),
    ("RUS war-gain weight spread ±0 (both 1.9)",
     ["actors.RUS.types.resolved.weights.war_gain=1.9", "actors.RUS.types.coercer.weights.war_gain=1.9"]),
    ("RUS war-gain weight spread ±1.4 (3.3 / 0.5)",
     ["actors.RUS.types.resolved.weights.war_gain=3.3", "actors.RUS.types.coercer.weights.war_gain=0.5"]),
    ("USA resolve spread ±0 (both types 0.65)",
     ["actors.USA.types.steadfast.resolve=0.65", "actors.USA.types.wavering.resolve=0.65"]),
    ("types revealed", ["run.information=revealed"]),
    # Ukraine's private war cost in the bargaining (a spread at the same mean 0.79).
    ("UKR war-cost spread 0 (cost known)", ["actors.UKR.decision.war_cost_spread=0"]),
    ("UKR war-cost spread 0.2", ["actors.UKR.decision.war_cost_spread=0.2"]),
    ("UKR war-cost spread 0.5", ["actors.UKR.decision.war_cost_spread=0.5"]),
    ("UKR war-cost spread 0.65", ["actors.UKR.decision.war_cost_spread=0.65"]),
    ("UKR war-cost mean 0.5 (spread 0.5)",
     ["actors.UKR.decision.war_cost=0.5", "actors.UKR.decision.war_cost_spread=0.5"]),
    ("UKR effectiveness 0.004", ["actors.UKR.combat.effectiveness=0.004"]),
    ("UKR effectiveness 0.016", ["actors.UKR.combat.effectiveness=0.016"]),
    ("UKR defence advantage 3.0", ["actors.UKR.combat.defence_advantage=3.0"]),
    ("RUS invasion cost ×2 (3.8)", ["actors.RUS.actions.invade.cost=3.8"]),
    ("RUS war cost +0.2 (war_forecast)", ["actors.RUS.decision.war_cost=0.99"]),
    ("RUS war cost −0.2 (war_forecast)", ["actors.RUS.decision.war_cost=0.59"]),
    ("USA→UKR commitment 0", ["relations.commitments.2.strength=0"]),
    ("USA→UKR commitment 1.0", ["relations.commitments.2.strength=1.0"]),
    ("arms aid none (USA and NATO arm_partner effect 0)",
     ["actors.USA.actions.arm_partner.effect=0", "actors.NATO.actions.arm_partner.effect=0"]),
    ("arms aid ×3 (USA arm_partner effect 0.15)", ["actors.USA.actions.arm_partner.effect=0.15"]),
    ("arms aid ×3, USA and NATO (effects 0.15, 0.09)",
     ["actors.USA.actions.arm_partner.effect=0.15", "actors.NATO.actions.arm_partner.effect=0.09"]),
    # The pace of a projected shift in power (Powell 2006): Ukraine's effectiveness grows on
    # day 60, 30 or 27, after the offer of day 26; with discounting (0.99/day) so that later days weigh less.
    ("discount 0.99/day, no shift", ["bargaining.discount=0.99"]),
    ("discount 0.99/day, UKR effectiveness +10% on day 60",
     ["bargaining.discount=0.99", "bargaining.shift_day=60", "bargaining.shift_growth=0.1"]),
    ("discount 0.99/day, UKR effectiveness +50% on day 60",
     ["bargaining.discount=0.99", "bargaining.shift_day=60", "bargaining.shift_growth=0.5"]),
    ("discount 0.99/day, UKR effectiveness +50% on day 30",
     ["bargaining.discount=0.99", "bargaining.shift_day=30", "bargaining.shift_growth=0.5"]),
    ("discount 0.99/day, UKR effectiveness +200% (the cap) on day 30",
     ["bargaining.discount=0.99", "bargaining.shift_day=30", "bargaining.shift_growth=2.0"]),
    ("discount 0.99/day, UKR effectiveness +50% on day 27",
     ["bargaining.discount=0.99", "bargaining.shift_day=27", "bargaining.shift_growth=0.5"]),
    ("RUS patience 10 days", ["actors.RUS.decision.patience_days=10"]),
    ("RUS patience 90 days", ["actors.RUS.decision.patience_days=90"]),
]


def wilson(k, n, z=1.959964):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def run(brink, scenario, replications, overrides, out):
    cmd = [brink, "run", scenario, "-n", str(replications), "-o", out, "--quiet", "--no-table"]
    for o in overrides:
        cmd += ["--set", o]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return None, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
    with h5py.File(out, "r") as f:
        return f["outcome_code"][0, :].astype(np.int64), None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--brink", default=os.path.join(root, "build", "release", "brink"))
    parser.add_argument("--scenario", default=os.path.join(root, "scenarios", "jan-2022-standoff.yaml"))
    parser.add_argument("-n", "--replications", type=int, default=4000)
    args = parser.parse_args()

    rows = []
    base_war = base_full = None
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, overrides) in enumerate(FLAGSHIP_SETTINGS):
            codes, error = run(args.brink, args.scenario, args.replications, overrides,
                               os.path.join(tmp, f"s{i}.h5"))
            if codes is None:
                unknown = re.search(r"unknown parameter path '([^']+)'", error)
                rows.append(f"| {label} | — (this binary has no `{unknown.group(1)}`) | | |" if unknown
                            else f"| {label} | not available: {error} | | |")
                continue
            war = np.isin(codes, WAR).astype(float)
            full = np.isin(codes, FULL_WAR).astype(float)
            n = len(codes)
            if base_war is None:
                base_war, base_full = war, full
            d = full - base_full
            half = 1.959964 * d.std(ddof=1) / math.sqrt(n) if n > 1 else float("nan")
            lo, hi = wilson(war.sum(), n)
            flo, fhi = wilson(full.sum(), n)
            rows.append(f"| {label} | {war.mean():.3f} [{lo:.3f}, {hi:.3f}] | {full.mean():.3f} [{flo:.3f}, {fhi:.3f}] "
                        f"| {d.mean():+.3f} ± {half:.3f} |")
            print(f"{label}: done", file=sys.stderr)
    print(f"{args.replications} replications per setting, seed as in the scenario, common random numbers; "
          "95% Wilson intervals; Δ is the paired difference in P(full-scale war) from the first row.\n")
    print("| setting | P(war) | P(full-scale war) | Δ P(full-scale war) |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
