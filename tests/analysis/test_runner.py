"""Running brink from Python (brink_analysis.run), finding the binary, and installing the package.

run() is checked against the real binary: the file it returns must hold what
the same command line writes. The install test makes a fresh virtual
environment that sees the system's packages and installs the package with
the documented offline command, then runs its console script on a real file.
"""

import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

import brink_analysis as ba
from brink_analysis import runner

PATIENCE = "actors.RUS.decision.patience_days"
DEPLOYED = "actors.RUS.forces.deployed"
ANALYSIS_DIR = Path(ba.__file__).resolve().parents[1]


def test_brink_command_spells_every_option(brink):
    command = ba.brink_command(
        "scenarios/x.yaml", sweep={PATIENCE: [15, 30.5], DEPLOYED: {"min": 8e4, "max": 1.6e5, "log": True},
                                   "escalation.incidents.base_rate": "0.001:0.002"},
        set={"combat.law": "linear", "run.decisions": False, "actors.USA.forces.ready": 8500.0},
        replications=100, output="out/x.h5", design="lhs", samples=16, sensitivity=True, seed=7, threads=2,
        summary_only=True, timeseries=5, args=["--resume"], binary=brink,
    )
    assert command == [
        brink, "run", "scenarios/x.yaml",
        "--set", "combat.law=linear", "--set", "run.decisions=false", "--set", "actors.USA.forces.ready=8500",
        "--sweep", f"{PATIENCE}=15,30.5", "--sweep", f"{DEPLOYED}=80000:160000:log",
        "--sweep", "escalation.incidents.base_rate=0.001:0.002",
        "-n", "100", "--design", "lhs", "--samples", "16", "--seed", "7", "--threads", "2",
        "--timeseries", "every=5", "--sensitivity", "--summary-only", "--resume", "-o", "out/x.h5",
    ]
    with pytest.raises(ValueError, match="a range is"):
        ba.brink_command(sweep={PATIENCE: {"low": 1}}, output="x.h5", binary=brink)


def test_run_with_levers_writes_a_mixed_design(brink, tmp_path):
    command = ba.brink_command(levers={"actors.USA.forces.ready": [8500, 20000]}, output="x.h5", binary=brink)
    assert command == [brink, "run", "--lever", "actors.USA.forces.ready=8500,20000", "-o", "x.h5"]
    with pytest.raises(ValueError, match="a lever takes a list of values, not a range"):
        ba.brink_command(levers={PATIENCE: {"min": 1, "max": 2}}, output="x.h5", binary=brink)
    with ba.run(levers={"actors.USA.forces.ready": [8500, 20000]}, sweep={PATIENCE: {"min": 10, "max": 60}},
                design="lhs", samples=3, replications=64, summary_only=True, output=tmp_path / "mixed.h5",
                binary=brink, progress=False) as ds:
        assert ba.design_roles(ds) == (["actors.USA.forces.ready"], [PATIENCE])
        assert ds.sizes["point"] == 6
        # The dotted-path coordinates keep the role the file gives each parameter (docs/sweeps.md).
        assert ds.coords["actors.USA.forces.ready"].attrs["role"] == "lever"
        assert ds.coords[PATIENCE].attrs["role"] == "uncertainty"


def test_brink_command_overwrite(brink):
    assert ba.brink_command(output="out/x.h5", overwrite=True, binary=brink) == [
        brink, "run", "--overwrite", "-o", "out/x.h5"]
    assert "--overwrite" not in ba.brink_command(output="out/x.h5", binary=brink)
    with pytest.raises(ValueError, match="resume=True continues .* overwrite=True discards it: give one of them"):
        ba.brink_command(output="out/x.h5", resume=True, overwrite=True, binary=brink)


def test_run_replaces_an_existing_file_only_with_overwrite(brink, tmp_path):
    out = tmp_path / "again.h5"
    ba.run(replications=256, output=out, binary=brink, progress=False).close()
    refused = r"exit code 2:\n.*exists.*--overwrite\n\(from Python: pass overwrite=True\)"
    with pytest.raises(RuntimeError, match=refused):
        ba.run(replications=256, seed=5, output=out, binary=brink, progress=False)
    with pytest.raises(ValueError, match="give one of them"):
        ba.run(replications=256, output=out, binary=brink, progress=False, resume=True, overwrite=True)
    with ba.run(replications=256, seed=5, output=out, binary=brink, progress=False, overwrite=True) as ds:
        assert int(ds.attrs["seed"]) == 5


def test_run_returns_the_file_the_command_line_writes(brink, tmp_path, capsys):
    ds = ba.run(sweep={PATIENCE: [15, 60]}, set={"actors.USA.forces.ready": 8500}, replications=300,
                output=tmp_path / "py.h5", binary=brink, progress="lines", seed=11)
    subprocess.run([brink, "run", "--sweep", f"{PATIENCE}=15,60", "--set", "actors.USA.forces.ready=8500",
                    "-n", "300", "--seed", "11", "-q", "-o", str(tmp_path / "cli.h5")], check=True, timeout=60)
    with ds, h5py.File(tmp_path / "cli.h5", "r") as f:
        assert ds.sizes["point"] == 2 and ds.sizes["replication"] == 300
        np.testing.assert_array_equal(ds["outcome_code"].values, f["outcome_code"][()])
        np.testing.assert_array_equal(ds.coords[PATIENCE].values, [15.0, 60.0])
    err = capsys.readouterr().err
    assert "brink run: 100% done" in err.splitlines()  # one line per step of progress, not a redrawn bar


def test_run_raises_with_brinks_message(brink, tmp_path):
    with pytest.raises(RuntimeError, match=r"exit code 2:\n.*unknown parameter path 'actors.RUS.decision.patience'"):
        ba.run(sweep={"actors.RUS.decision.patience": [5]}, output=tmp_path / "bad.h5", binary=brink, progress=False)
    assert not (tmp_path / "bad.h5").exists()


def fake_brink(folder: Path, body: str) -> Path:
    path = folder / "brink"
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_progress_is_streamed_as_it_comes(tmp_path, single_file):
    # A stand-in for brink that draws a carriage-return bar, then periodic lines, slowly, then
    # copies a real result file to -o: each update must reach the bar before the process ends.
    out = tmp_path / "copy.h5"
    exe = fake_brink(tmp_path, f"""
        printf '[#####     ]  20.0%%  100 replications/s  ETA 1s \\r' >&2; sleep 0.3
        printf '[#######   ]  50.0%%  100 replications/s  ETA 1s \\r' >&2; sleep 0.3
        echo 'points 9/10, 90.0%, 1.2e6 replication-steps/s, ETA 0 s' >&2; sleep 0.3
        echo 'warning: something worth seeing' >&2
        cp '{single_file}' '{out}'
        echo 'table on stdout'
    """)
    seen = []

    class Recorder(runner._Progress):
        def update(self, percent):
            seen.append((percent, round(__import__("time").monotonic(), 2)))

        def message(self, text):
            seen.append((text, None))

    original = runner._Progress
    runner._Progress = Recorder
    try:
        ds = ba.run(output=out, binary=exe, progress="lines")
    finally:
        runner._Progress = original
    ds.close()
    percents = [p for p, t in seen if t is not None]
    assert percents == [20.0, 50.0, 90.0]
    times = [t for p, t in seen if t is not None]
    assert times[-1] - times[0] > 0.4, "updates arrived while brink ran, not all at the end"
    assert ("warning: something worth seeing", None) in seen


def test_tqdm_bar(brink, tmp_path, capsys):
    pytest.importorskip("tqdm")
    # Asked for: the default draws it only in Jupyter or on a terminal (a batch log gets lines).
    ba.run(sweep={PATIENCE: [20]}, replications=2000, output=tmp_path / "bar.h5", binary=brink, progress="bar").close()
    err = capsys.readouterr().err
    assert "brink run: 100%|" in err


def test_find_brink_order(brink, tmp_path, monkeypatch):
    monkeypatch.setenv("BRINK", brink)
    assert ba.find_brink() == Path(brink)
    monkeypatch.setenv("BRINK", str(tmp_path / "none"))
    with pytest.raises(FileNotFoundError, match="BRINK=.* is not an executable file"):
        ba.find_brink()
    # Without BRINK and without a build in the source tree, brink is taken from PATH.
    monkeypatch.delenv("BRINK")
    monkeypatch.setenv("BRINK_SOURCE_DIR", str(tmp_path / "tree"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(FileNotFoundError, match="none on PATH"):
        ba.find_brink()
    (bin_dir / "brink").symlink_to(brink)
    assert ba.find_brink() == bin_dir / "brink"
    built = tmp_path / "tree" / "build" / "release"
    built.mkdir(parents=True)
    (built / "brink").symlink_to(brink)
    assert ba.find_brink() == built / "brink"


def test_pip_install_into_a_fresh_venv(tmp_path, lhs_file):
    # python3-venv provides ensurepip; without it no virtual environment can hold pip.
    if importlib.util.find_spec("ensurepip") is None or importlib.util.find_spec("venv") is None:
        pytest.skip("python3-venv is not installed: no virtual environment can be made")
    base = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    env_dir = tmp_path / "venv"
    subprocess.run([base, "-m", "venv", "--system-site-packages", str(env_dir)], check=True, timeout=120)
    pip = env_dir / "bin" / "pip"
    # The documented command, offline, from the repository's analysis/ folder.
    done = subprocess.run([str(pip), "install", "--no-build-isolation", "--no-index", "-e", str(ANALYSIS_DIR)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not list(ANALYSIS_DIR.glob("*.egg-info")), "the install must not leave build files in the source tree"
    clean_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    python = env_dir / "bin" / "python"
    where = subprocess.run([str(python), "-c", "import brink_analysis as b; print(b.__file__)"], capture_output=True,
                           text=True, timeout=60, env=clean_env, cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()) == ANALYSIS_DIR / "brink_analysis" / "__init__.py"
    # The installed metadata: the package's (the engine's) version, and a description without links
    # relative to the source tree, which mean nothing outside it.
    meta = subprocess.run([str(python), "-c", "import importlib.metadata as m; d = m.metadata('brink-analysis'); "
                           "print(d['Version']); print(d.get_payload() or d['Description'])"],
                          capture_output=True, text=True, timeout=60, env=clean_env, cwd=tmp_path)
    assert meta.returncode == 0, meta.stderr
    assert meta.stdout.splitlines()[0] == ba.__version__
    assert "docs/analysis.md" in meta.stdout and "](../" not in meta.stdout
    script = env_dir / "bin" / "brink-analysis"
    done = subprocess.run([str(script), "discover", str(lhs_file), "--outcome", "full_war", "--no-scores"],
                          capture_output=True, text=True, timeout=120, env=clean_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "PRIM for full_war over actors.RUS.decision.patience_days" in done.stdout
    shutil.rmtree(env_dir)
