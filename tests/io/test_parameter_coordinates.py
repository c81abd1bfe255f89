"""Parameters as coordinates: with bare xarray (no brink_analysis), each
--sweep/--set parameter is a coordinate along `point` named by a safe version
of its path, so a sweep file is selected, grouped, plotted and reshaped by
parameter value."""

import os
import subprocess

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

BRINK = os.environ.get("BRINK")
# ctest always sets BRINK (tests/CMakeLists.txt), so in CI these tests always run; the skip
# only spares a hand-run `pytest` without the binary, and names what is missing.
pytestmark = pytest.mark.skipif(not BRINK, reason="BRINK (the binary's path) is not set")
DEPLOYED, PATIENCE, READY = "actors.RUS.forces.deployed", "actors.RUS.decision.patience_days", "actors.USA.forces.ready"
D, P, R = "actors_RUS_forces_deployed", "actors_RUS_decision_patience_days", "actors_USA_forces_ready"


def brink(*args):
    proc = subprocess.run([BRINK, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"brink {args} exit {proc.returncode}:\n{proc.stderr}"


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("coords") / "grid.h5"
    brink("run", "-n", 256, "-q", "-t", 2, "--sweep", f"{DEPLOYED}=100000,150000,180000",
          "--sweep", f"{PATIENCE}=5,30", "--set", f"{READY}=8500", "-o", out)
    return out


@pytest.fixture(scope="module")
def lhs(tmp_path_factory):
    out = tmp_path_factory.mktemp("coords") / "lhs.h5"
    brink("run", "-n", 128, "-q", "-t", 2, "--design", "lhs", "--samples", 24,
          "--sweep", f"{PATIENCE}=5:90", "--summary-only", "-o", out)
    return out


def test_each_parameter_is_a_coordinate_along_point(grid):
    with xr.open_dataset(grid) as ds, h5py.File(grid, "r") as f:
        values = f["parameter_value"][()]
        paths = [p.decode() if isinstance(p, bytes) else p for p in f["parameter"][()]]
        assert paths == [DEPLOYED, PATIENCE, READY]
        for k, (name, path) in enumerate(zip((D, P, R), paths)):
            coord = ds.coords[name]
            assert coord.dims == ("point",)
            np.testing.assert_array_equal(coord.values, values[:, k])
            assert coord.attrs["parameter_path"] == path
            assert coord.attrs["swept"] == (1 if k < 2 else 0)
        assert ds.coords[D].attrs["units"] == "1" and ds.coords[D].attrs["scenario_units"] == "troops"
        assert ds.coords[P].attrs["units"] == "day"
        # Every variable on `point` carries them, so selections keep them.
        assert D in ds.outcome_probability.coords and D in ds.outcome_code.coords
        assert D in ds.survival.isel(step=3).coords


def test_select_group_and_reshape_by_value(grid):
    with xr.open_dataset(grid) as ds:
        p = ds.outcome_probability.sel(outcome="full_war")
        chosen = p.set_xindex(D).sel({D: 150000})
        np.testing.assert_array_equal(chosen[P].values, [5, 30])
        np.testing.assert_array_equal(chosen.values, p.values[ds[D].values == 150000])
        by_patience = p.groupby(P).mean()
        for v in (5, 30):
            assert float(by_patience.sel({P: v})) == pytest.approx(float(p.values[ds[P].values == v].mean()))
        table = p.set_index(point=[D, P]).unstack("point")
        assert table.dims == (D, P) and table.shape == (3, 2)
        for i in range(ds.sizes["point"]):
            assert float(table.sel({D: ds[D].values[i], P: ds[P].values[i]})) == float(p.values[i])


def test_a_sampled_design_plots_against_the_parameter(lhs):
    with xr.open_dataset(lhs) as ds:
        p = ds.outcome_probability.sel(outcome="full_war")
        lines = p.sortby(P).plot(x=P)
        x = lines[0].get_xdata()
        np.testing.assert_array_equal(x, np.sort(ds[P].values))
        assert plt.gca().get_xlabel().replace("\n", "").startswith(PATIENCE)  # the long_name, not "point"
        plt.close("all")
