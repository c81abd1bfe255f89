"""Parameter paths whose coordinate name would reach netCDF's NC_MAX_NAME (256
bytes): actor ids may be as long as a YAML key (1024 characters), and the
flattened name of a swept or --set path through such an id must still be a
name netCDF-C reads (docs/output.md: ncdump, netCDF4 and xarray's netcdf4
engine read the file), with the full path kept in `parameter_path`."""

import os
import shutil
import subprocess
from pathlib import Path

import h5py
import pytest

netCDF4 = pytest.importorskip("netCDF4")
xr = pytest.importorskip("xarray")

# netcdf.h's NC_MAX_NAME is 256, with the terminating NUL: a name of 256 bytes made files that
# netCDF4.Dataset opened 2 times in 5, never with that variable; 255 opens every time.
MAX_NAME = 255
LONG = "A" * 1000  # the ids differ only at their last character: a shortened name must still tell them apart
OTHER = "A" * 999 + "C"
MID = "M" * 233  # "actors_" + 233 + "_forces_deployed" = 256 bytes, one too many


def brink(*args):
    binary = os.environ.get("BRINK")
    if not binary:
        pytest.fail("environment variable BRINK is not set; it must hold the path of the brink binary", pytrace=False)
    proc = subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"brink {' '.join(map(str, args))[:300]} exited {proc.returncode}:\n{proc.stderr}"


SCENARIO = f"""brink: 1
name: longid
run: {{horizon_days: 10, dt_days: 1, replications: 64, seed: 1}}
actors:
  {LONG}: {{forces: {{deployed: 1000}}}}
  {OTHER}: {{forces: {{deployed: 1000}}}}
  {MID}: {{forces: {{deployed: 1000}}}}
  B: {{forces: {{deployed: 1000}}}}
relations: {{adversaries: [[{LONG}, B], [{OTHER}, B], [{MID}, B]]}}
escalation:
  rungs: [calm, tense, war, big]
  initial_rung: calm
  limited_war: tense
  full_war: war
  alliance_war: big
sweep:
  parameters:
    actors.{LONG}.forces.deployed: [1000, 2000]
    actors.{OTHER}.forces.deployed: [1000, 3000]
"""
PATHS = [f"actors.{LONG}.forces.deployed", f"actors.{OTHER}.forces.deployed", f"actors.{MID}.forces.deployed"]


@pytest.fixture(scope="module")
def longid(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("long_names")
    (tmp / "longid.yaml").write_text(SCENARIO)
    out = tmp / "longid.h5"
    brink("run", tmp / "longid.yaml", "-n", 64, "--threads", 1, "-q", "-o", out,
          "--set", f"{PATHS[2]}=1500")
    return out


def coordinates_by_path(path):
    """{parameter_path: variable name} as h5py reads the file (HDF5 has no name limit)."""
    with h5py.File(path, "r") as f:
        return {f[n].attrs["parameter_path"].decode() if isinstance(f[n].attrs["parameter_path"], bytes)
                else str(f[n].attrs["parameter_path"]): n for n in f if "parameter_path" in f[n].attrs}


def test_every_name_fits_netcdf(longid):
    with h5py.File(longid, "r") as f:
        names = []
        f.visit(names.append)
        for name in names:
            assert len(name.encode()) <= MAX_NAME, f"variable name of {len(name.encode())} bytes: {name[:60]}..."
            assert all(len(a.encode()) <= MAX_NAME for a in f[name].attrs), name
    by_path = coordinates_by_path(longid)
    assert sorted(by_path) == sorted(PATHS), "each parameter has its coordinate, with its full path"
    assert len(set(by_path.values())) == len(PATHS), "paths that share their first 255 bytes get distinct names"


def test_netcdf_c_opens_it_every_time_and_sees_the_coordinates(longid):
    by_path = coordinates_by_path(longid)
    for _ in range(5):  # the overlong name made netCDF-C read past its buffer: some opens failed
        with netCDF4.Dataset(longid, "r") as ds:
            for path, name in by_path.items():
                assert name in ds.variables, f"netCDF-C does not see the coordinate of {path[:40]}..."
                assert ds.variables[name].getncattr("parameter_path") == path
    swept = {1000.0, 2000.0}
    with netCDF4.Dataset(longid, "r") as ds:
        assert set(ds.variables[by_path[PATHS[0]]][:].tolist()) == swept
        assert set(ds.variables[by_path[PATHS[2]]][:].tolist()) == {1500.0}


def test_xarray_netcdf4_engine_has_the_coordinates(longid):
    by_path = coordinates_by_path(longid)
    with xr.open_dataset(longid, engine="netcdf4") as ds:
        for path, name in by_path.items():
            assert name in ds.coords, f"xarray (netcdf4) has no coordinate for {path[:40]}..."
            assert ds.coords[name].attrs["parameter_path"] == path


@pytest.mark.skipif(shutil.which("ncdump") is None, reason="ncdump (netcdf-bin) is not installed")
def test_ncdump_lists_the_coordinates(longid):
    proc = subprocess.run(["ncdump", "-h", str(longid)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for name in coordinates_by_path(longid).values():
        assert f"double {name}(point)" in proc.stdout, f"ncdump -h does not list {name[:40]}..."


def test_brink_analysis_reads_the_parameters_by_path(longid):
    ba = pytest.importorskip("brink_analysis")
    ds = ba.open_results(longid)
    table = ba.parameter_table(ds)
    assert sorted(table.columns) == sorted(PATHS)
    assert set(table[PATHS[1]]) == {1000.0, 3000.0}
    grid = ba.indexed(ds, [PATHS[0]])
    assert PATHS[0] in grid.indexes or any(PATHS[0] in str(i) for i in grid.indexes)


def test_inspect_reads_the_file(longid):
    binary = os.environ["BRINK"]
    proc = subprocess.run([binary, "inspect", str(longid)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
