"""Reads every variable of brink's files through the netCDF-C library (the
netCDF4 Python module, Debian's python3-netcdf4) and through xarray's default
engine, which is netCDF4 wherever that module is installed, as on most
analysts' machines, and checks each value against h5py's reading of the same
bytes: a file that ncdump's header accepts could still hold a variable
netCDF-C cannot read."""

import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

# scripts/setup.sh installs python3-netcdf4 and python3-xarray, so in CI these tests always run;
# the skip only spares a hand-run pytest on a machine without them, and names the missing module.
netCDF4 = pytest.importorskip("netCDF4")
xr = pytest.importorskip("xarray")

SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR") or Path(__file__).resolve().parents[2])


def brink(*args):
    binary = os.environ.get("BRINK")
    if not binary:
        pytest.fail("environment variable BRINK is not set; it must hold the path of the brink binary", pytrace=False)
    proc = subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"brink {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stderr}"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("netcdf_c")
    run, sweep, calibration = tmp / "run.h5", tmp / "sweep.h5", tmp / "calibration.h5"
    brink("run", SOURCE / "scenarios/jan-2022-standoff.yaml", "-n", 200, "--timeseries", "every=7", "-q", "-o", run)
    brink("run", SOURCE / "docs/examples/sweep.yaml", "-n", 32, "-q", "-o", sweep)
    brink("calibrate", SOURCE / "scenarios/backtest-2022.yaml", "--particles", 24, "--generations", 2,
          "--replications", 8, "-q", "-o", calibration)
    return {"run": run, "sweep": sweep, "calibration": calibration}


def h5py_values(path):
    """Every dataset's values as h5py reads them, keyed by its path without the leading slash."""
    out = {}
    with h5py.File(path, "r") as f:
        def take(name, obj):
            if isinstance(obj, h5py.Dataset):
                values = obj.asstr()[...] if h5py.check_string_dtype(obj.dtype) else obj[...]
                out[name] = np.asarray(values)
        f.visititems(take)
    return out


def netcdf_values(group, prefix=""):
    out = {}
    group.set_auto_maskandscale(False)  # the stored values, fill values included
    for name, variable in group.variables.items():
        out[prefix + name] = np.asarray(variable[...])
    for name, child in group.groups.items():
        out.update(netcdf_values(child, prefix + name + "/"))
    return out


def assert_same(expected, actual, what):
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, h5py reads {expected.shape}"
    if expected.dtype.kind in "biuf":
        assert actual.dtype == expected.dtype, f"{what}: type {actual.dtype}, h5py reads {expected.dtype}"
        assert actual.tobytes() == expected.tobytes(), f"{what}: values differ from h5py's"
    else:
        assert [str(v) for v in actual.ravel()] == [str(v) for v in expected.ravel()], f"{what}: strings differ"


@pytest.mark.parametrize("kind", ["run", "sweep", "calibration"])
def test_netcdf_c_reads_every_variable_as_h5py_does(files, kind):
    expected = h5py_values(files[kind])
    with netCDF4.Dataset(files[kind], "r") as ds:
        actual = netcdf_values(ds)
    # Dimension scales without values of their own (netCDF's dimensions
    # without a coordinate variable) are the only datasets netCDF-C may hide.
    hidden = set(expected) - set(actual)
    with h5py.File(files[kind], "r") as f:
        for name in hidden:
            assert f[name].attrs.get("NAME", b"").startswith(b"This is a netCDF dimension but not a netCDF variable"), (
                f"{kind}: netCDF-C does not show dataset {name}")
    assert len(actual) >= 10, f"{kind}: netCDF-C sees only {sorted(actual)}"
    for name, values in actual.items():
        assert name in expected, f"{kind}: netCDF-C shows {name}, which h5py does not"
        assert_same(expected[name], values, f"{kind}:{name}")


@pytest.mark.parametrize("kind", ["run", "sweep"])
def test_xarray_netcdf4_engine_agrees_with_h5netcdf(files, kind):
    # netcdf4 is xarray's default engine wherever the module is installed.
    with xr.open_dataset(files[kind], engine="netcdf4") as default, xr.open_dataset(files[kind], engine="h5netcdf") as h5:
        assert set(default.variables) == set(h5.variables)
        assert dict(default.sizes) == dict(h5.sizes)
        for name in h5.variables:
            a, b = default[name], h5[name]
            assert a.dims == b.dims, name
            if b.dtype.kind in "biufmM":
                np.testing.assert_array_equal(a.values, b.values, err_msg=name)
            else:
                assert [str(v) for v in a.values.ravel()] == [str(v) for v in b.values.ravel()], name
