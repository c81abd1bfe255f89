"""`cmake --install` puts a working brink in a prefix: the binary in bin/, the
kernel variants where the binary looks for them (lib/brink beside bin/), and
the shipped scenarios in share/brink/scenarios."""

import os
import subprocess
from pathlib import Path

import h5py
import pytest

BRINK = os.environ.get("BRINK")
# ctest always sets BRINK (tests/CMakeLists.txt), so in CI these tests always run; the skip
# only spares a hand-run `pytest` without the binary, and names what is missing.
pytestmark = pytest.mark.skipif(not BRINK, reason="BRINK (the binary's path) is not set")


def test_installed_brink_runs_a_shipped_scenario_from_its_prefix(tmp_path):
    build = Path(BRINK).resolve().parent
    assert (build / "CMakeCache.txt").exists(), f"test setup: {build} is not a build directory"
    prefix = tmp_path / "prefix"
    proc = subprocess.run(["cmake", "--install", str(build), "--prefix", str(prefix)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    binary = prefix / "bin" / "brink"
    kernels = sorted(p.name for p in prefix.rglob("brink_kernel_*.so"))
    assert binary.exists() and kernels, f"installed: {sorted(str(p) for p in prefix.rglob('*'))}"
    scenario = prefix / "share" / "brink" / "scenarios" / "jan-2022-standoff.yaml"
    assert scenario.exists()
    assert not (prefix / "share" / "brink" / "scenarios" / "validation").exists()
    # Run from elsewhere, so nothing in the build tree can be found by accident.
    out = tmp_path / "run.h5"
    run = subprocess.run([str(binary), "run", str(scenario), "-n", "256", "-q", "-o", str(out)], capture_output=True,
                         text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    with h5py.File(out, "r") as f:
        assert int(f.attrs["complete"]) == 1
        assert f["outcome_count"][()].sum() == 256
