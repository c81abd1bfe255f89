"""Reads files written by the real `brink` binary with the real h5py, xarray
(h5netcdf engine) and ncdump, and checks the HDF5 contract of DESIGN.md."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

OUTCOMES = ["settlement", "standoff", "limited_war", "full_war", "alliance_war"]
FLAGSHIP_ACTORS = ["RUS", "USA", "NATO", "UKR"]
POOLS = ["deployed", "ready", "reserve"]
REPLICATIONS = 1000
EVERY = 5
TIMEOUT_S = 60


def _brink():
    path = os.environ.get("BRINK")
    if not path:
        pytest.fail("environment variable BRINK is not set; it must hold the path of the brink binary", pytrace=False)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"BRINK={path!r} is not an executable file", pytrace=False)
    return path


def _source_dir():
    root = os.environ.get("BRINK_SOURCE_DIR")
    return Path(root) if root else Path(__file__).resolve().parents[2]


def run_brink(*args, cwd=None):
    proc = subprocess.run(
        [_brink(), *[str(a) for a in args]],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, f"brink {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stderr}"
    return proc


def text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def scale_names(ds):
    """Names of the dimension scales attached to each axis of a dataset."""
    return [[scale.name.split("/")[-1] for scale in dim.values()] for dim in ds.dims]


def all_datasets(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    return out


@pytest.fixture(scope="session")
def flagship_text():
    return (_source_dir() / "scenarios" / "jan-2022-standoff.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def flagship(flagship_text):
    return yaml.safe_load(flagship_text)


@pytest.fixture(scope="session")
def produced(tmp_path_factory):
    """The flagship, run once as a user would: brink run --replications 1000 --timeseries every=5 -o f.h5."""
    out = tmp_path_factory.mktemp("readback") / "f.h5"
    proc = run_brink("run", "--replications", REPLICATIONS, "--timeseries", f"every={EVERY}", "-o", out)
    return out, proc


@pytest.fixture(scope="session")
def path(produced):
    return produced[0]


@pytest.fixture(scope="module")
def h5(path):
    with h5py.File(path, "r") as f:
        yield f


# --------------------------------------------------------------------------
# Layout and dimensions
# --------------------------------------------------------------------------

EXPECTED_DIMS = {
    "outcome_code": ["point", "replication"],
    "end_step": ["point", "replication"],
    "peak_rung": ["point", "replication"],
    "casualties": ["point", "replication", "actor"],
    "final_forces": ["point", "replication", "actor", "pool"],
    "outcome_count": ["point", "outcome"],
    "outcome_probability": ["point", "outcome"],
    "outcome_probability_lower": ["point", "outcome"],
    "outcome_probability_upper": ["point", "outcome"],
    "troops": ["point", "replication", "step", "actor", "pool"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_DIMS))
def test_dimension_names(h5, name):
    ds = h5[name]
    labels = [dim.label for dim in ds.dims]
    names = scale_names(ds)
    for axis, expected in enumerate(EXPECTED_DIMS[name]):
        assert labels[axis] == expected or names[axis] == [expected], (
            f"{name} axis {axis}: label {labels[axis]!r}, scales {names[axis]}; expected {expected!r}"
        )


def test_every_axis_has_one_matching_scale(h5):
    """netCDF needs every axis of every variable tied to exactly one dimension scale of its length."""
    for name, ds in all_datasets(h5).items():
        if h5py.h5ds.is_scale(ds.id):
            continue
        for axis, dim in enumerate(ds.dims):
            scales = list(dim.values())
            assert len(scales) == 1, f"{name} axis {axis} has {len(scales)} scales"
            assert scales[0].shape == (ds.shape[axis],), f"{name} axis {axis}: scale {scales[0].name} has the wrong length"


def test_coordinates(h5, flagship):
    assert [text(a) for a in h5["actor"][...]] == FLAGSHIP_ACTORS == list(flagship["actors"])
    assert [text(o) for o in h5["outcome"][...]] == OUTCOMES
    assert [text(p) for p in h5["pool"][...]] == POOLS
    # replication is a dimension without stored values (netCDF's convention), so
    # an adaptive maximum costs nothing; xarray then indexes it 0..N-1.
    assert h5["replication"].shape == (REPLICATIONS,)
    assert h5["replication"].attrs["NAME"].decode().startswith("This is a netCDF dimension but not a netCDF variable.")
    assert h5["point"].shape == (1,)
    steps = int(round(flagship["run"]["horizon_days"] / flagship["run"]["dt_days"]))
    assert list(h5["step"][...]) == list(range(0, steps + 1, EVERY))
    meanings = text(h5["outcome_code"].attrs["flag_meanings"]).split()
    assert meanings == OUTCOMES
    assert list(h5["outcome_code"].attrs["flag_values"]) == list(range(len(OUTCOMES)))


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------


def test_outcome_probabilities(h5):
    p = h5["outcome_probability"][...]
    lower = h5["outcome_probability_lower"][...]
    upper = h5["outcome_probability_upper"][...]
    assert p.shape == (1, len(OUTCOMES))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.all(lower <= p) and np.all(p <= upper)
    assert np.all(lower >= 0) and np.all(upper <= 1)
    assert np.all(upper - lower > 0), "a 95% interval from 1000 replications cannot have zero width"


def test_outcome_counts_match_codes(h5):
    counts = h5["outcome_count"][...]
    codes = h5["outcome_code"][...]
    assert counts.sum(axis=1).tolist() == [REPLICATIONS]
    assert int(h5.attrs["replications"]) == REPLICATIONS
    assert codes.shape == (1, REPLICATIONS)
    assert codes.min() >= 0 and codes.max() <= len(OUTCOMES) - 1
    for point in range(codes.shape[0]):
        assert np.bincount(codes[point], minlength=len(OUTCOMES)).tolist() == counts[point].tolist()
    np.testing.assert_allclose(h5["outcome_probability"][...], counts / REPLICATIONS, rtol=0, atol=1e-15)


def test_mean_casualties_match_runs(h5):
    np.testing.assert_allclose(h5["mean_casualties"][...], h5["casualties"][...].mean(axis=1), rtol=1e-9, atol=1e-9)


def test_forces_and_casualties_non_negative(h5):
    casualties = h5["casualties"][...]
    forces = h5["final_forces"][...]
    assert casualties.shape == (1, REPLICATIONS, len(FLAGSHIP_ACTORS))
    assert forces.shape == (1, REPLICATIONS, len(FLAGSHIP_ACTORS), len(POOLS))
    assert np.all(np.isfinite(casualties)) and np.all(casualties >= 0)
    assert np.all(np.isfinite(forces)) and np.all(forces >= 0)
    assert np.all(h5["troops"][...] >= 0)


def test_time_series_shape_and_start(h5, flagship):
    steps = int(round(flagship["run"]["horizon_days"] / flagship["run"]["dt_days"]))
    records = steps // EVERY + 1
    troops = h5["troops"]
    assert troops.shape == (1, REPLICATIONS, records, len(FLAGSHIP_ACTORS), len(POOLS))
    assert scale_names(troops) == [["point"], ["replication"], ["step"], ["actor"], ["pool"]]
    assert h5["tension"].shape == (1, REPLICATIONS, records)
    assert h5["rung_series"].shape == (1, REPLICATIONS, records)
    # The first record is the scenario's initial state.
    initial = np.array([[flagship["actors"][a]["forces"].get(p, 0) for p in POOLS] for a in FLAGSHIP_ACTORS], dtype=np.float32)
    first = troops[0, :, 0, :, :]
    assert np.array_equal(first, np.broadcast_to(initial, first.shape))
    # The last record, when it falls on the horizon, is the final state.
    if steps % EVERY == 0:
        np.testing.assert_allclose(
            troops[0, :, -1], h5["final_forces"][0].astype(np.float32), rtol=1e-6, atol=0.5
        )


def test_troops_conserved(h5, flagship):
    """deployed + ready + reserve + casualties is the initial head count (no events in the flagship)."""
    assert not flagship.get("events"), "the flagship now has events; this conservation check must account for them"
    initial = np.array([sum(flagship["actors"][a]["forces"].get(p, 0) for p in POOLS) for a in FLAGSHIP_ACTORS])
    final = h5["final_forces"][0].sum(axis=-1) + h5["casualties"][0]
    np.testing.assert_allclose(final, np.broadcast_to(initial, final.shape), rtol=1e-6)
    # and the total never grows over time
    total = h5["troops"][0].astype(np.float64).sum(axis=-1)
    assert np.all(np.diff(total, axis=1) <= 1e-6 * total[:, :-1])


def test_per_run_records_agree(h5, flagship):
    steps = int(round(flagship["run"]["horizon_days"] / flagship["run"]["dt_days"]))
    rungs = [text(r) for r in h5["rung"][...]]
    assert rungs == flagship["escalation"]["rungs"]
    limited, full, alliance = (rungs.index(flagship["escalation"][k]) for k in ("limited_war", "full_war", "alliance_war"))
    code = h5["outcome_code"][0]
    end = h5["end_step"][0]
    war = h5["war_start_step"][0]
    peak = h5["peak_rung"][0]
    casualties = h5["casualties"][0]
    assert np.all((0 <= end) & (end <= steps))
    assert np.all(end[code == 1] == steps), "a standoff is decided at the horizon"
    at_war = code >= 2
    assert np.all(war[at_war] >= 0) and np.all(war[at_war] <= end[at_war]), "a war outcome needs a war start"
    assert np.all(casualties[war < 0] == 0), "casualties without fighting"
    assert np.all(peak[code == 2] >= limited)
    assert np.all(peak[code == 3] >= full)
    assert np.all(peak[code == 4] >= alliance)
    assert np.all(peak[code <= 1] < limited)


# --------------------------------------------------------------------------
# Root attributes
# --------------------------------------------------------------------------


def test_root_attributes(h5, path, flagship, flagship_text):
    attrs = h5.attrs
    for key in ("engine_version", "scenario", "overrides", "seed", "command_line"):
        assert key in attrs, f"root attribute {key} missing"
    version = text(attrs["engine_version"])
    assert version and version[0].isdigit(), version
    proc = subprocess.run([_brink(), "--version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=TIMEOUT_S)
    if proc.returncode == 0:
        assert version in proc.stdout
    assert text(attrs["scenario"]) == flagship_text, "the scenario attribute must be the exact shipped text"
    assert int(attrs["seed"]) == flagship["run"]["seed"]
    overrides = text(attrs["overrides"]).splitlines()
    assert f"run.replications={REPLICATIONS}" in overrides
    assert f"output.timeseries_every={EVERY}" in overrides
    command = text(attrs["command_line"])
    for word in ("run", "--replications", str(REPLICATIONS), f"every={EVERY}", str(path)):
        assert word in command, f"{word!r} missing from command_line {command!r}"


# --------------------------------------------------------------------------
# Other readers
# --------------------------------------------------------------------------


def test_every_file_has_the_same_dimensions_even_without_time_series_or_parameters(tmp_path):
    """The flagship with no options still has step (summaries over time) and an
    empty parameter dimension, so code written for sweep files reads it."""
    xr = pytest.importorskip("xarray")
    out = tmp_path / "plain.h5"
    proc = subprocess.run([os.environ["BRINK"], "run", "-q", "-n", "300", "-o", str(out)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        for dim in ("point", "replication", "actor", "outcome", "step", "pool", "rung", "issue", "parameter"):
            assert dim in ds.dims, f"dimension {dim} missing: {dict(ds.dims)}"
        assert ds.sizes["parameter"] == 0 and ds.sizes["step"] == 121
        assert ds["parameter_value"].dims == ("point", "parameter")
    ncdump = subprocess.run(["ncdump", "-h", str(out)], capture_output=True, text=True, timeout=60)
    assert ncdump.returncode == 0, ncdump.stderr


def test_xarray_h5netcdf(path):
    xr = pytest.importorskip("xarray")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        for dim in ("point", "replication", "actor", "outcome", "step", "pool", "rung", "issue", "parameter"):
            assert dim in ds.dims, f"dimension {dim} missing: {dict(ds.dims)}"
        assert [str(a) for a in ds.actor.values] == FLAGSHIP_ACTORS
        assert [str(o) for o in ds.outcome.values] == OUTCOMES
        assert ds["outcome_probability"].dims == ("point", "outcome")
        assert ds["casualties"].dims == ("point", "replication", "actor")
        assert ds["troops"].dims == ("point", "replication", "step", "actor", "pool")
        p = ds["outcome_probability"].sel(point=0)
        assert float(p.sum()) == pytest.approx(1.0, abs=1e-12)
        counts = ds["outcome_count"].sel(point=0, outcome="settlement")
        assert int(counts) == int((ds["outcome_code"].sel(point=0) == 0).sum())
        assert ds["casualties"].sel(actor="RUS").shape == (1, REPLICATIONS)


def test_ncdump(path):
    ncdump = shutil.which("ncdump")
    if ncdump is None:
        pytest.skip("ncdump not installed (Debian package netcdf-bin)")
    proc = subprocess.run([ncdump, "-h", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    assert "outcome_probability(point, outcome)" in proc.stdout
    assert "casualties(point, replication, actor)" in proc.stdout
    assert "troops(point, replication, step, actor, pool)" in proc.stdout
    for dim in ("point", "replication", "step", "actor", "outcome", "pool"):
        assert f"\t{dim} = " in proc.stdout, f"dimension {dim} missing from ncdump -h"


# --------------------------------------------------------------------------
# A file re-runs to the same bits
# --------------------------------------------------------------------------


def rerun_arguments(overrides):
    """Turns an `overrides` attribute back into command-line flags."""
    args = []
    for line in text(overrides).splitlines():
        if not line.strip():
            continue
        key, value = line.split("=", 1)
        if key == "run.replications":
            args += ["--replications", value]
        elif key == "run.seed":
            args += ["--seed", value]
        elif key == "output.timeseries_every":
            args += ["--timeseries", f"every={value}"]
        else:
            args += ["--set", f"{key}={value}"]
    return args


def assert_rerun_identical(original, tmp_path):
    with h5py.File(original, "r") as f:
        scenario = text(f.attrs["scenario"])
        overrides = text(f.attrs["overrides"])
    scenario_file = tmp_path / "from_file.yaml"
    scenario_file.write_text(scenario, encoding="utf-8")
    again = tmp_path / "again.h5"
    run_brink("run", scenario_file, *rerun_arguments(overrides), "-q", "-o", again)
    with h5py.File(original, "r") as a, h5py.File(again, "r") as b:
        assert text(b.attrs["overrides"]) == overrides
        assert int(b.attrs["seed"]) == int(a.attrs["seed"])
        da, db = all_datasets(a), all_datasets(b)
        assert sorted(da) == sorted(db)
        # The per-point recipes name the scenario file as given (here another
        # path); past it they must agree.
        for x, y in zip(da.pop("rerun_command")[...], db.pop("rerun_command")[...]):
            assert x.split(b" ", 3)[3] == y.split(b" ", 3)[3]
        for name in ("outcome_code", "casualties"):
            assert name in da
        for name in da:
            x, y = da[name][...], db[name][...]
            assert x.dtype == y.dtype and x.shape == y.shape, name
            if x.dtype.kind in "biufc":
                assert x.tobytes() == y.tobytes(), f"{name} differs after re-running from the file's attributes"
            else:
                assert np.array_equal(x, y), name


def test_rerun_from_file_attributes(path, tmp_path):
    assert_rerun_identical(path, tmp_path)


def test_rerun_with_set_and_seed(flagship, tmp_path):
    deployed = flagship["actors"]["RUS"]["forces"]["deployed"] + 30000
    original = tmp_path / "orig.h5"
    run_brink(
        "run",
        "--replications", 700,
        "--seed", 424242,
        "--set", f"actors.RUS.forces.deployed={deployed}",
        "--set", "escalation.incidents.escalation_probability=0.5",
        "-q",
        "-o", original,
    )
    with h5py.File(original, "r") as f:
        assert int(f.attrs["seed"]) == 424242
        names = [text(n) for n in f["parameter"][...]]
        assert names == ["actors.RUS.forces.deployed", "escalation.incidents.escalation_probability"]
        assert f["parameter_value"][0].tolist() == [deployed, 0.5]
    rerun = tmp_path / "rerun"
    rerun.mkdir()
    assert_rerun_identical(original, rerun)


@pytest.mark.parametrize("start,decodable", [("2022-01-24", True), ("1914-07-28", True), ("1618-05-23", False),
                                             ("2262-02-01", False)])
def test_time_coordinate_only_where_xarray_can_decode_it(flagship_text, tmp_path, start, decodable):
    """With run.start_date the file has a CF time coordinate, decoded by xarray to day 0 + day; a
    run whose dates leave numpy's datetime64[ns] range (1677-09-22 to 2262-04-11) has only `day`,
    says so, and still opens in xarray (a time coordinate there made the whole file unreadable)."""
    import xarray as xr
    scenario_text = re.sub(r"(?m)^  start_date: \S+", f"  start_date: {start}", flagship_text)
    assert f"start_date: {start}" in scenario_text
    # The flagship's dated observations fall in 2022: another start leaves them outside the run.
    scenario_text = scenario_text[: scenario_text.index("\nobservations:")] + "\n"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(scenario_text, encoding="utf-8")
    out = tmp_path / "t.h5"
    proc = run_brink("run", scenario, "-n", 256, "--no-table", "-o", out)
    assert ("no 'time' coordinate" in proc.stderr) == (not decodable), proc.stderr
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ("time" in ds.variables) == decodable
        if decodable:
            day0 = np.datetime64(start, "ns")
            expected = day0 + (ds["day"].values * 86400e9).astype("timedelta64[ns]")
            assert np.array_equal(ds["time"].values, expected)
    with h5py.File(out, "r") as f:  # variables on `step` name time among their coordinates only when it exists
        assert ("time" in text(f["survival"].attrs["coordinates"]).split()) == decodable
