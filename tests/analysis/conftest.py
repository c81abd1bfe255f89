"""Fixtures for the tests of the Python analysis package (analysis/brink_analysis).

Every result file is written once per session by the real `brink` binary
(path in the BRINK environment variable), with small replication counts so
that the whole folder runs in seconds. Plots use matplotlib's Agg backend.
"""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

SOURCE_DIR = Path(os.environ.get("BRINK_SOURCE_DIR") or Path(__file__).resolve().parents[2])
if str(SOURCE_DIR / "analysis") not in sys.path:
    sys.path.insert(0, str(SOURCE_DIR / "analysis"))

TIMEOUT_S = 60
DEPLOYED = "actors.RUS.forces.deployed"
PATIENCE = "actors.RUS.decision.patience_days"
COMMITMENT = "relations.commitments.2.strength"


@pytest.fixture(scope="session")
def brink():
    path = os.environ.get("BRINK")
    if not path:
        pytest.fail(
            "environment variable BRINK is not set; it must hold the path of the brink binary "
            "(ctest sets it; by hand: BRINK=$PWD/build/release/brink)",
            pytrace=False,
        )
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"BRINK={path!r} is not an executable file", pytrace=False)
    return path


@pytest.fixture(scope="session")
def source_dir():
    return SOURCE_DIR


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("brink_results")


def two_actor_scenario(source_dir, folder):
    """docs/examples/sweep.yaml (two actors, RED and BLU) without its sweep block, with fixed
    replications (64, or set by -n), written into `folder`."""
    text = (source_dir / "docs" / "examples" / "sweep.yaml").read_text(encoding="utf-8")
    assert "\nsweep:" in text, "test setup: the example has no sweep block to drop"
    text = text.split("\nsweep:")[0] + "\n"
    lines = [("  replications: 64" if line.startswith("  replications:") else line) for line in text.split("\n")]
    path = folder / "two-actors.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _run(brink, out, *args):
    proc = subprocess.run(
        [brink, "run", *[str(a) for a in args], "-q", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, f"brink run {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stderr}"
    return out


@pytest.fixture(scope="session")
def law_file(brink, results_dir):
    """A grid over a text value (combat.law, stored as the index of its value) and RUS patience."""
    return _run(brink, results_dir / "law.h5", "-n", 256, "--summary-only", "--sweep", "combat.law=square,linear",
                "--sweep", f"{PATIENCE}=15,30,60")


@pytest.fixture(scope="session")
def single_file(brink, results_dir):
    """One point of the flagship, 512 replications, time series every 5 steps."""
    return _run(brink, results_dir / "single.h5", "-n", 512, "--timeseries", "every=5")


@pytest.fixture(scope="session")
def plain_file(brink, results_dir):
    """One point of the flagship, 256 replications, no time series."""
    return _run(brink, results_dir / "plain.h5", "-n", 256)


@pytest.fixture(scope="session")
def grid_file(brink, results_dir):
    """A 3 x 3 grid over RUS deployed forces and patience, 256 replications, time series every 10 steps,
    plus a constant --set (USA ready forces)."""
    return _run(
        brink, results_dir / "grid.h5", "-n", 256,
        "--sweep", f"{DEPLOYED}=60000,120000,180000",
        "--sweep", f"{PATIENCE}=15,30,60",
        "--set", "actors.USA.forces.ready=8500",
        "--timeseries", "every=10",
    )


@pytest.fixture(scope="session")
def three_way_file(brink, results_dir):
    """A 2 x 2 x 2 grid (deployed, patience, USA->UKR commitment), summaries only."""
    return _run(
        brink, results_dir / "three.h5", "-n", 256, "--summary-only",
        "--sweep", f"{DEPLOYED}=80000,160000",
        "--sweep", f"{PATIENCE}=20,60",
        "--sweep", f"{COMMITMENT}=0.15,0.9",
    )


@pytest.fixture(scope="session")
def sens_file(brink, results_dir):
    """Sobol indices over patience and deployed forces (Saltelli plan, 16 base rows), summaries only."""
    return _run(
        brink, results_dir / "sens.h5", "-n", 128, "--summary-only", "--sensitivity",
        "--design", "sobol", "--samples", 16,
        "--sweep", f"{PATIENCE}=10:90", "--sweep", f"{DEPLOYED}=80000:160000",
        "--set", "run.random_numbers=common",
    )


@pytest.fixture(scope="session")
def adaptive_file(brink, results_dir, source_dir):
    """Adaptive replications (256 to 2048 per point): points run different numbers of replications."""
    text = (source_dir / "scenarios" / "jan-2022-standoff.yaml").read_text(encoding="utf-8")
    lines = text.split("\n")
    hits = [i for i, line in enumerate(lines) if line.startswith("  replications:")]
    assert len(hits) == 1, "test setup: cannot find run.replications in the flagship"
    lines[hits[0]] = "  replications: {min: 256, max: 2048, ci_halfwidth: 0.03}"
    scenario = results_dir / "adaptive.yaml"
    scenario.write_text("\n".join(lines), encoding="utf-8")
    return _run(
        brink, results_dir / "adaptive.h5", scenario,
        "--sweep", f"{PATIENCE}=10,30", "--timeseries", "every=20",
    )


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


CAP = "actors.RUS.forces.deployed_cap"
USA_READY = "actors.USA.forces.ready"


@pytest.fixture(scope="session")
def lhs_file(brink, results_dir):
    """A Latin hypercube of 128 points over RUS patience (which drives full-scale war) and the cap on
    RUS deployed forces between 5 and 100 million troops (never reached from 100,000: the model
    ignores it), common random numbers, 64 replications with per-run data."""
    return _run(
        brink, results_dir / "lhs.h5", "-n", 64, "--design", "lhs", "--samples", 128,
        "--sweep", f"{PATIENCE}=5:90", "--sweep", f"{CAP}=5000000:100000000",
        "--set", "run.random_numbers=common",
        # Ukraine's war cost known to Russia: no demand refused on day 26, so patience drives the war.
        "--set", "actors.UKR.decision.war_cost_spread=0",
    )


@pytest.fixture(scope="session")
def policy_grid_file(brink, results_dir):
    """Levers (USA ready forces, USA->UKR commitment) crossed with uncertainties (RUS patience and
    deployed forces) as one grid: 2 x 2 policies in 3 x 2 states, summaries only."""
    return _run(
        brink, results_dir / "policy-grid.h5", "-n", 128, "--summary-only",
        "--sweep", f"{USA_READY}=8500,50000", "--sweep", f"{COMMITMENT}=0.15,0.6",
        "--sweep", f"{PATIENCE}=15,30,60", "--sweep", f"{DEPLOYED}=80000,160000",
    )


@pytest.fixture(scope="session")
def policy_lhs_files(brink, results_dir):
    """The same LHS design of uncertainties (same axes, samples and seed) run once per policy, the
    lever fixed with --set: the levers x uncertainties design as one file per policy."""
    return [
        _run(
            brink, results_dir / f"policy-lhs-{ready}.h5", "-n", 128, "--summary-only",
            "--design", "lhs", "--samples", 12,
            "--sweep", f"{PATIENCE}=10:80", "--sweep", f"{DEPLOYED}=80000:160000",
            "--set", f"{USA_READY}={ready}",
        )
        for ready in (8500, 30000, 60000)
    ]


@pytest.fixture
def grid(grid_file):
    """The grid sweep's file, open as open_results gives it (closed after the test)."""
    import brink_analysis as ba  # after sys.path has the package

    with ba.open_results(grid_file) as ds:
        yield ds
