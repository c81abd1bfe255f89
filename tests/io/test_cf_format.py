"""A file that cannot mislead: read with bare xarray (default decoding) and
checked with Debian's udunits2, an adaptive run's unrun replications are
missing values, every index into names carries its flags, the root has the CF
attributes, and older formats are refused by name."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

BRINK = os.environ.get("BRINK")
SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
FLAGSHIP = SOURCE / "scenarios" / "jan-2022-standoff.yaml"
PATIENCE = "actors.RUS.decision.patience_days"
# ctest always sets BRINK (tests/CMakeLists.txt), so in CI these tests always run; the skip
# only spares a hand-run `pytest` without the binary, and names what is missing.
pytestmark = pytest.mark.skipif(not BRINK, reason="BRINK (the binary's path) is not set")


def brink(*args, check=True):
    proc = subprocess.run([BRINK, *map(str, args)], capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, f"brink {args} exit {proc.returncode}:\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def adaptive_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("cf")
    text = FLAGSHIP.read_text(encoding="utf-8")
    lines = [line for line in text.split("\n") if re.match(r"^  replications: ", line)]
    assert len(lines) == 1, "test setup: the flagship's run.replications line"
    text = text.replace(lines[0], "  replications: {min: 256, max: 4096, ci_halfwidth: 0.02}")
    scenario = d / "adaptive.yaml"
    scenario.write_text(text, encoding="utf-8")
    out = d / "adaptive.h5"
    brink("run", scenario, "--sweep", f"{PATIENCE}=5,30,200", "--timeseries", "every=20", "-q", "-t", 2, "-o", out)
    return out


def test_unrun_replications_decode_as_missing(adaptive_file):
    with xr.open_dataset(adaptive_file) as ds:  # xarray's defaults: mask_and_scale=True
        reps = ds.replications.values
        assert reps.min() < ds.sizes["replication"], "test setup: some point must stop early"
        code = ds.outcome_code
        np.testing.assert_array_equal(code.count("replication").values, reps)
        assert np.isnan(code.values[np.argmin(reps), -1])
        outcomes = list(ds.outcome.values)
        for k, name in enumerate(outcomes):
            from_runs = (code == k).sum("replication") / code.count("replication")
            masked = (code == k).where(code.notnull()).mean("replication")
            expected = ds.outcome_probability.sel(outcome=name)
            np.testing.assert_allclose(from_runs.values, expected.values, rtol=0, atol=1e-12)
            np.testing.assert_allclose(masked.values, expected.values, rtol=0, atol=1e-12)
        # -1 ("never") is a value, not a missing one.
        start = ds.war_start_step
        assert (start == -1).sum() > 0
        np.testing.assert_array_equal(start.count("replication").values, reps)
        assert float(ds.casualties.count()) == reps.sum() * ds.sizes["actor"]
        assert int(ds.rung_series.isel(step=0).count()) == reps.sum()
        np.testing.assert_allclose(ds.casualties.mean("replication").values, ds.mean_casualties.values, rtol=1e-12)


def test_fill_values_match_the_hdf5_fill(adaptive_file):
    with xr.open_dataset(adaptive_file, mask_and_scale=False) as ds:
        per_replication = [n for n, v in ds.data_vars.items() if "replication" in v.dims]
    assert {"outcome_code", "war_start_step", "casualties", "troops", "rung_series"} <= set(per_replication)
    with h5py.File(adaptive_file, "r") as f:
        for name in per_replication:
            ds = f[name]
            fill = ds.attrs["_FillValue"]
            assert fill.dtype == ds.dtype, name
            assert (np.isnan(fill[0]) and np.isnan(ds.fillvalue)) or fill[0] == ds.fillvalue, name
            if ds.dtype.kind == "i":
                assert fill[0] == -(2 ** (8 * ds.dtype.itemsize - 1)) + 1, name


def test_every_index_into_names_has_flags(adaptive_file):
    with xr.open_dataset(adaptive_file) as ds:
        rungs = " ".join(ds.rung.values)
        expected = {"outcome_code": " ".join(ds.outcome.values), "peak_rung": rungs, "rung_series": rungs}
        for name, meanings in expected.items():
            assert ds[name].attrs["flag_meanings"] == meanings, name
        for name in ("outcome_code", "peak_rung", "rung_series", "resolve_type", "alliance_war_cause"):
            attrs = ds[name].attrs
            values = np.asarray(attrs["flag_values"])
            assert len(attrs["flag_meanings"].split()) == len(values), name
            np.testing.assert_array_equal(values, np.arange(len(values)))
        types = [n for n in ds.type_name.values.ravel() if n]
        most_types = max(sum(1 for n in row if n) for row in ds.type_name.values)
        assert len(ds.resolve_type.attrs["flag_values"]) == most_types
        # The type dimension has as many slots as the actor with the most types (no padding to 8).
        assert ds.sizes["type"] == most_types
        assert types
        for name, var in ds.variables.items():
            if "index into" in var.attrs.get("long_name", "") and name != "type":
                assert "flag_meanings" in var.attrs, f"{name} indexes names but has no flag_meanings"


def test_root_attributes_follow_cf(adaptive_file):
    with xr.open_dataset(adaptive_file) as ds:
        assert ds.attrs["Conventions"] == "CF-1.10"
        assert int(ds.attrs["format_version"]) == 4
        assert ds.attrs["history"].startswith("created by brink ") and "command_line" in ds.attrs["history"]
        assert ds.attrs["source"].startswith("brink ")
        assert "docs/output.md" in ds.attrs["references"]
        assert "quantile" not in ds.dims and callable(ds.quantile)
        assert ds.casualty_quantile.dims == ("point", "actor", "quantile_level")
        q = ds.casualties.quantile(0.5, dim="replication")  # the method is not hidden by a dimension
        assert q.sizes["point"] == 3


def test_every_unit_is_udunits(adaptive_file):
    udunits = shutil.which("udunits2")
    assert udunits, "udunits2 is missing: apt-get install udunits-bin (scripts/setup.sh)"
    units = set()
    with h5py.File(adaptive_file, "r") as f:
        for ds in f.values():
            if "units" in ds.attrs:
                u = ds.attrs["units"]
                units.add(u.decode() if isinstance(u, bytes) else str(u))
    assert {"1", "day"} <= units
    for u in sorted(units):
        proc = subprocess.run([udunits, "-H", u, "-W", ""], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0 and "Don't recognize" not in proc.stderr + proc.stdout, \
            f"units {u!r} are not UDUNITS-2: {proc.stderr.strip()}"
    # The check itself must be able to fail.
    bad = subprocess.run([udunits, "-H", "troops", "-W", ""], capture_output=True, text=True, timeout=30)
    assert "Don't recognize" in bad.stderr + bad.stdout


def as_format(source, target, version):
    shutil.copyfile(source, target)
    with h5py.File(target, "r+") as f:
        if version is None:
            del f.attrs["format_version"]
        else:
            f.attrs.modify("format_version", np.int32(version))


@pytest.mark.parametrize("version", [None, 1, 2, 3])
def test_inspect_refuses_an_older_format(adaptive_file, tmp_path, version):
    old = tmp_path / "old.h5"
    as_format(adaptive_file, old, version)
    proc = brink("inspect", old, check=False)
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.strip() == (f"brink inspect: '{old}' is not a readable brink result: it is in brink output "
                                   f"format {version or 1} and this brink reads format 4 only; re-run it with this "
                                   "brink")


def test_resume_refuses_an_older_format(tmp_path):
    done = tmp_path / "done.h5"
    brink("run", "-n", 512, "-q", "-o", done)
    target = tmp_path / "again.h5"
    as_format(done, tmp_path / "again.h5.partial", 3)
    proc = brink("run", "-n", 512, "-q", "-o", target, "--resume", check=False)
    assert proc.returncode == 2, proc.stderr
    assert "is in brink output format 3 and this brink writes format 4" in proc.stderr
    assert "--overwrite" in proc.stderr and proc.stderr.count("\n") == 1


def udunits_ok(unit):
    """Whether UDUNITS-2 parses `unit`, asked of the library itself (ut_parse): the udunits2 program
    refuses "1/day", which the library and the CF conventions accept."""
    import ctypes

    try:
        lib = ctypes.CDLL("libudunits2.so.0")
    except OSError:
        pytest.fail("libudunits2 is missing: apt-get install udunits-bin (scripts/setup.sh)")
    lib.ut_set_error_message_handler(lib.ut_ignore)
    lib.ut_read_xml.restype, lib.ut_read_xml.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    lib.ut_parse.restype, lib.ut_parse.argtypes = ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.ut_free.argtypes, lib.ut_free_system.argtypes = [ctypes.c_void_p], [ctypes.c_void_p]
    system = lib.ut_read_xml(None)
    assert system, "UDUNITS-2 cannot read its unit database"
    parsed = lib.ut_parse(system, unit.encode(), 0)  # 0: UT_ASCII
    lib.ut_free(parsed)
    lib.ut_free_system(system)
    return bool(parsed)


def test_a_calibration_file_is_as_cf_tidy_as_a_result_file(tmp_path):
    """The calibration file lacked `units` on its numeric variables generation, particle, particles,
    statistics, observed and observed_sd, held the seed as the text "7" (an integer in result files)
    and said CF-1.8 (result files CF-1.10). Read with xarray and h5py, every numeric variable has
    UDUNITS-2 units; `particles` has those of its parameter, as a result file's coordinate of the
    same path; the seed is an integer. A file of the earlier attributes is still read."""
    toy = SOURCE / "scenarios" / "validation" / "calibrate-incidents.yaml"
    path = "escalation.incidents.base_rate"
    cal = tmp_path / "cal.h5"
    brink("calibrate", toy, "--particles", 40, "--generations", 2, "--replications", 4, "--seed", 11, "-q",
          "-t", 2, "-o", cal)
    run = tmp_path / "run.h5"
    brink("run", toy, "-n", 256, "--set", f"{path}=0.3", "-q", "-o", run)
    with h5py.File(run, "r") as f:
        coordinate = f["escalation_incidents_base_rate"]
        assert coordinate.attrs["parameter_path"].decode() == path
        run_units, run_conventions = coordinate.attrs["units"].decode(), f.attrs["Conventions"].decode()
        run_seed_kind = f.attrs["seed"].dtype.kind
    with xr.open_dataset(cal, engine="h5netcdf") as ds:
        assert ds.attrs["Conventions"] == run_conventions == "CF-1.10"
        numeric = [n for n, v in ds.variables.items() if v.dtype.kind in "iuf"]
        assert {"generation", "particle", "particles", "statistics", "observed", "observed_sd", "weights"} <= set(numeric)
        for name in numeric:
            units = ds[name].attrs.get("units")
            assert units, f"{name} has no units"
            assert ds[name].attrs.get("long_name"), f"{name} has no long_name"
            assert udunits_ok(units), f"{name}: {units!r} is not UDUNITS-2"
        assert ds.particles.attrs["units"] == run_units  # the parameter's unit, as the result file gives it
        assert not udunits_ok("troops")  # the check itself can fail
        assert ds.observed_day.attrs["units"] == "day"
    with h5py.File(cal, "r") as f:
        seed = f.attrs["seed"]
        assert seed.dtype.kind == run_seed_kind == "u" and int(seed) == 11
        for name in ("lane_steps", "seconds"):
            assert f.attrs[name].dtype.kind == "f" and f.attrs[name] > 0, name
    # The earlier attributes (text numbers, CF-1.8): --posterior reads such a file as before.
    old = tmp_path / "old.h5"
    shutil.copyfile(cal, old)
    with h5py.File(old, "r+") as f:
        for name in ("seed", "lane_steps", "seconds"):
            value = f.attrs[name]
            del f.attrs[name]
            f.attrs.create(name, np.bytes_(f"{value:.17g}" if name != "seed" else str(int(value))))
        f.attrs.modify("Conventions", np.bytes_("CF-1.8"))
    draws = {}
    for name, source in (("new", cal), ("old", old)):
        out = tmp_path / f"post-{name}.h5"
        brink("run", toy, "--posterior", source, "-n", 256, "-q", "-o", out)
        with h5py.File(out, "r") as f:
            draws[name] = (f["outcome_code"][()], f["incidents"][()])
    for a, b in zip(draws["new"], draws["old"]):
        np.testing.assert_array_equal(a, b)
