"""Round 41 (hostile corpus): calibration files that brink never writes, read by its four readers.

A calibration file edited with h5py (its checksums rewritten with it) is held to what a
calibration writes: a particle axis that is empty (which crashed `run --posterior` with SIGSEGV)
or narrower than its settings say (which `--continue` carried on into a calibration whose weights
summed to 0.75, with exit 0), NaN or negative distances, a negative `proposed`, tolerances that
grow, NaN statistics. Every reader refuses such a file as damaged: exit 2, one sentence naming
the file, the variable and the value, and the file named once."""

import os
import shutil
import subprocess

import h5py
import numpy as np
import pytest

PARTICLES = 40
DIMENSIONS = ("generation", "particle", "parameter", "observation")


def _brink(brink, *args, env=None, timeout=180):
    return subprocess.run([brink, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def calibration(brink, source_dir, tmp_path_factory):
    """A finished calibration of the conjugate toy: 40 particles, 3 generations."""
    where = tmp_path_factory.mktemp("cal")
    scenario = where / "cal.yaml"
    shutil.copy(source_dir / "scenarios" / "validation" / "calibrate-incidents.yaml", scenario)
    out = where / "cal.h5"
    proc = _brink(brink, "calibrate", scenario, "--particles", PARTICLES, "--generations", 3, "--threads", 1, "-q",
                  "-o", out)
    assert proc.returncode == 0, proc.stderr
    return scenario, out


def _copy(calibration, tmp_path, name="c.h5"):
    scenario, source = calibration
    target = tmp_path / name
    shutil.copy(source, target)
    return scenario, target


def _keep_particles(source, target, keep):
    """`source` rewritten with only its first `keep` particles (weights renormalized where any are
    left), every attribute and dimension scale as brink writes them: checksums valid."""
    with h5py.File(source, "r") as s, h5py.File(target, "w", libver="latest", track_order=True) as d:
        for key, value in s.attrs.items():
            d.attrs[key] = value
        for name in DIMENSIONS:
            values = s[name][()][:keep] if name == "particle" else s[name][()]
            d.create_dataset(name, data=values, dtype=s[name].dtype)
            for key, value in s[name].attrs.items():
                if key not in ("CLASS", "NAME", "REFERENCE_LIST", "DIMENSION_LIST"):
                    d[name].attrs[key] = value
            d[name].make_scale(name)
        for name, ds in s.items():
            if name in DIMENSIONS:
                continue
            dims = [dim.label or (list(dim.values())[0].name.strip("/") if len(dim) else None) for dim in ds.dims]
            values = ds[()][tuple(slice(0, keep) if dim == "particle" else slice(None) for dim in dims)]
            if name == "weights" and keep > 0:
                values = values / values.sum(axis=1, keepdims=True)
            chunked = dict(fletcher32=True, chunks=values.shape) if ds.dtype.kind in "fi" and values.size else {}
            d.create_dataset(name, data=values, dtype=ds.dtype, **chunked)
            for key, value in ds.attrs.items():
                if key not in ("CLASS", "NAME", "REFERENCE_LIST", "DIMENSION_LIST"):
                    d[name].attrs[key] = value
            for i, dim in enumerate(dims):
                if dim:
                    d[name].dims[i].attach_scale(d[dim])


def _readers(brink, scenario, cal, tmp_path):
    """Each reader of a calibration file, on `cal`: inspect, run --posterior, calibrate --continue
    and calibrate --resume (of a copy of it as the partial), as (name, CompletedProcess, outputs)."""
    post, longer, resumed = tmp_path / "post.h5", tmp_path / "longer.h5", tmp_path / "resumed.h5"
    shutil.copy(cal, f"{resumed}.partial")
    calibrate = ["calibrate", scenario, "--particles", PARTICLES, "--generations", 4, "--threads", 1, "-q"]
    return [
        ("inspect", _brink(brink, "inspect", cal), []),
        ("posterior", _brink(brink, "run", scenario, "--posterior", cal, "-n", 300, "-t", 1, "-q", "-o", post), [post]),
        ("continue", _brink(brink, *calibrate, "--continue", cal, "-o", longer), [longer]),
        ("resume", _brink(brink, *calibrate, "--resume", "-o", resumed), [resumed]),
    ]


def _assert_refused(brink, scenario, cal, tmp_path, said, readers=("inspect", "posterior", "continue", "resume")):
    for name, proc, outputs in _readers(brink, scenario, cal, tmp_path):
        if name not in readers:
            continue
        assert proc.returncode == 2, (name, proc.returncode, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, (name, proc.stderr)
        assert "is damaged: " in lines[0] and said in lines[0], (name, proc.stderr)
        # The file is named once, not "'c.h5' cannot be read as a brink calibration file ('c.h5' is damaged: ...)".
        assert "cannot be read as a brink calibration file" not in lines[0], (name, proc.stderr)
        for out in outputs:
            assert not out.exists(), (name, out)


@pytest.mark.parametrize("keep, said", [
    (0, "hold no particles (the dimension 'particle' is empty)"),
    (PARTICLES * 3 // 4, f"hold {PARTICLES * 3 // 4} particles each where its settings say particles={PARTICLES}"),
    (1, f"hold 1 particles each where its settings say particles={PARTICLES}"),
])
def test_a_particle_axis_other_than_the_settings_is_refused_by_every_reader(brink, calibration, tmp_path, keep,
                                                                           said):
    """0 particles: `run --posterior` died of SIGSEGV in systematic_resample (exit 139), inspect blamed
    the HDF5 library's global heap, --continue blamed the scenario's sd. 30 of 40 (or 1): --continue
    and --resume exited 0 and published a calibration whose last weights summed to 0.75."""
    scenario, source = calibration
    cal = tmp_path / "k.h5"
    _keep_particles(source, cal, keep)
    _assert_refused(brink, scenario, cal, tmp_path, said)


def _edit(name, index, value):
    def edit(f):
        values = f[name][()]
        values[index] = value
        f[name][...] = values
    return edit


@pytest.mark.parametrize("edit, said", [
    (_edit("distances", (2, slice(0, 10)), np.nan), "variable 'distances' holds nan (generation 2, particle 0)"),
    (_edit("distances", (2, slice(0, 10)), -1.0), "variable 'distances' holds -1 (generation 2, particle 0)"),
    (_edit("distances", (2, 0), 1e6), "variable 'distances' holds 1000000 (generation 2, particle 0)"),
    (_edit("distances", (0, 0), -3.0), "variable 'distances' holds -3 (generation 0, particle 0)"),
    (_edit("proposed", 2, -40), f"variable 'proposed' holds -40 for generation 2, fewer than the {PARTICLES}"),
    (_edit("tolerances", 2, 100.0), "variable 'tolerances' holds 100 for generation 2, above generation 1's"),
    (_edit("statistics", (2, slice(None), 0), np.nan), "variable 'statistics' holds nan for observation"),
])
def test_numbers_a_calibration_never_writes_are_refused_by_every_reader(brink, calibration, tmp_path, edit, said):
    """NaN or negative distances steered --continue's next tolerance (2.34 or 1.24 for 1.71) and
    were copied into the longer file; distances of -3 made it simulate 400,000 candidates and blame
    the tolerance schedule; a negative `proposed` changed its bits; a tolerance that grows was
    carried on; NaN statistics made inspect diagnose a data-prior conflict."""
    scenario, cal = _copy(calibration, tmp_path)
    with h5py.File(cal, "r+") as f:
        edit(f)
    _assert_refused(brink, scenario, cal, tmp_path, said)


def test_a_file_refused_by_the_validator_is_named_once(brink, calibration, tmp_path):
    """'c.h5' cannot be read as a brink calibration file ('c.h5' is damaged: ...): one name is enough."""
    scenario, cal = _copy(calibration, tmp_path)
    with h5py.File(cal, "r+") as f:
        _edit("weights", (2, 0), -0.5)(f)
    proc = _brink(brink, "inspect", cal)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"brink inspect: '{cal}' is damaged: generation 2 has the weight -0.5, not a "
                                   "finite non-negative number"), proc.stderr


def test_an_untouched_calibration_is_still_read_and_continued(brink, calibration, tmp_path):
    """The checks hold every file brink writes: the untouched calibration is inspected, drawn from,
    continued and resumed, exit 0."""
    scenario, cal = _copy(calibration, tmp_path)
    for name, proc, outputs in _readers(brink, scenario, cal, tmp_path):
        assert proc.returncode == 0, (name, proc.stderr)
        for out in outputs:
            assert out.exists(), (name, out)
