"""Executes the example notebook analysis/notebooks/jan-2022-standoff.ipynb headlessly.

The notebook runs in a temporary copy, with the real binary, in its quick mode
(BRINK_NOTEBOOK_QUICK=1: far fewer replications) and with its figures and
result files redirected to temporary folders, so the test never touches
docs/figures/. The output folder starts with the result files of an earlier
execution in place, which the notebook must replace (brink refuses to without
--overwrite). The kernel is this test's own interpreter (Debian's
/usr/bin/python3 under ctest), through a kernel spec made for the test.
"""

import asyncio
import json
import re
import shutil
import struct
import sys
import zlib

import matplotlib.image
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK = "jan-2022-standoff.ipynb"
FIGURES = [
    f"jan-2022-standoff-{name}.png"
    for name in (
        "war-risk-by-forces",
        "war-risk-heatmap",
        "outcomes-by-patience",
        "troop-fans",
        "escalation-ladder",
        "survival",
        "beliefs",
        "sensitivity",
    )
]
KERNEL = "brink-test-python3"


def png_size(data):
    """(width, height) of a PNG after checking its signature, every chunk's CRC and the IEND end."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, chunks, size = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"bad CRC in chunk {kind!r}"
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        chunks.append(kind)
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND" and b"IDAT" in chunks
    return size


@pytest.fixture
def kernel_for_this_python(tmp_path, monkeypatch):
    """A kernel spec running ipykernel under sys.executable, found first through JUPYTER_PATH."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (brink tests)",
        "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return KERNEL


def execute_notebook(name, brink, source_dir, tmp_path, monkeypatch, kernel, earlier=(), stale=None):
    """Executes a copy of analysis/notebooks/<name> in quick mode; returns (notebook, figures folder).

    `earlier` names the result files a previous execution left in the output folder (copies of
    `stale`, a brink result): brink refuses to replace a file without --overwrite, so executing a
    notebook twice works only if it passes it; each must have been rewritten."""
    work = tmp_path / "notebook"
    work.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    for result in earlier:
        shutil.copy(stale, out / result)
    copy = work / name
    shutil.copy(source_dir / "analysis" / "notebooks" / name, copy)
    figures = tmp_path / "figures"
    monkeypatch.setenv("BRINK", str(brink))
    monkeypatch.setenv("BRINK_SOURCE_DIR", str(source_dir))
    monkeypatch.setenv("BRINK_FIGURES_DIR", str(figures))
    monkeypatch.setenv("BRINK_OUTPUT_DIR", str(out))
    monkeypatch.setenv("BRINK_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")

    nb = nbformat.read(copy, as_version=4)
    client = NotebookClient(nb, kernel_name=kernel, timeout=180, resources={"metadata": {"path": str(work)}})
    try:
        asyncio.run(client.async_execute())  # asyncio.run closes its event loop afterwards
    except CellExecutionError as error:
        pytest.fail(f"a notebook cell failed:\n{error}", pytrace=False)
    finally:
        nbformat.write(nb, copy)  # kept in tmp_path for inspection
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    for result in earlier:
        assert (out / result).read_bytes() != stale.read_bytes(), f"{result} of the earlier execution was kept"
    return nb, figures


def check_figures(nb, figures, expected):
    assert sorted(p.name for p in figures.iterdir()) == sorted(expected)
    for name in expected:
        data = (figures / name).read_bytes()
        assert len(data) > 10_000, f"{name} is suspiciously small ({len(data)} bytes)"
        width, height = png_size(data)
        assert width >= 600 and height >= 300, f"{name} is {width}x{height}"
        pixels = matplotlib.image.imread(figures / name)
        assert pixels.shape[:2] == (height, width)
        assert pixels[..., :3].std() > 0.05, f"{name} looks blank"
    # the notebook displayed each figure too
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert images >= len(expected)


def test_notebook_runs_and_writes_its_figures(brink, source_dir, tmp_path, monkeypatch, kernel_for_this_python,
                                              plain_file):
    nb, figures = execute_notebook(NOTEBOOK, brink, source_dir, tmp_path, monkeypatch, kernel_for_this_python,
                                   earlier=["baseline.h5", "grid.h5", "sensitivity.h5"], stale=plain_file)
    check_figures(nb, figures, FIGURES)
    # Every saved figure records the scenario, seed and replications it comes from.
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "supxlabel" in sources and "a['seed']" in sources and "a['replications']" in sources
    calls = [line.strip() for line in sources.splitlines() if line.strip().startswith("save(")]
    assert len(calls) == len(FIGURES)
    for call in calls:
        assert re.fullmatch(r'save\(.+, "[a-z-]+", (grid|base|sens)\)', call), call


def output_text(cell):
    parts = []
    for o in cell.get("outputs", []):
        parts.append(o.get("text", ""))
        parts.append(o.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_exploration_notebook(brink, source_dir, tmp_path, monkeypatch, kernel_for_this_python, plain_file):
    """exploration.ipynb: an LHS of uncertainties crossed with three postures, PRIM, feature scores and
    a robustness table; its figures record scenario, seed and replications."""
    nb, figures = execute_notebook("exploration.ipynb", brink, source_dir, tmp_path, monkeypatch,
                                   kernel_for_this_python, earlier=["status-quo.h5", "reinforce.h5", "commit.h5"],
                                   stale=plain_file)
    check_figures(nb, figures, [f"exploration-{n}.png" for n in ("prim", "partial-dependence", "robustness")])
    text = "\n".join(output_text(c) for c in nb.cells if c.cell_type == "code")
    assert "3 postures x 24 states of the world, 64 replications each" in text
    assert "box " in text and "coverage" in text and "density" in text
    assert "extra_trees" in text and "variance_explained" in text
    for posture in ("status quo", "reinforce", "commit"):
        assert posture in text
    assert "max_regret" in text and "satisficing" in text
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "supxlabel" in sources and "a['seed']" in sources and "a['replications']" in sources


def uniform_sd(prior_text):
    """The sd of a prior written by the calibrator as 'uniform [lo, hi]'."""
    kind, bounds = prior_text.split(" ", 1)
    assert kind == "uniform", prior_text
    lo, hi = (float(x) for x in bounds.strip("[]").split(","))
    return (hi - lo) / 12 ** 0.5


def test_calibration_notebook(brink, source_dir, tmp_path, monkeypatch, kernel_for_this_python, plain_file):
    """calibration.ipynb: the back-test calibrated (quick mode), prior vs posterior, the fit, and the
    posterior predictive fan with February's record; checked from its result files, not its text."""
    import numpy as np
    import xarray as xr

    nb, figures = execute_notebook("calibration.ipynb", brink, source_dir, tmp_path, monkeypatch,
                                   kernel_for_this_python, earlier=["backtest.h5", "predict.h5"], stale=plain_file)
    check_figures(nb, figures, [f"calibration-{n}.png" for n in ("prior-posterior", "fit", "fan")])
    out = tmp_path / "out"
    cal = xr.open_dataset(out / "backtest.h5", engine="h5netcdf")
    assert cal.attrs["brink_file_kind"] == "brink calibration" and dict(cal.sizes)["generation"] == 5
    # The record informs the US ready pool (observed 8,500 +- 510 against a 0-20,000 prior) and Russia's
    # day-0 deployed forces (observed directly on day 0): their posterior sd must be below the prior's.
    w = cal.weights.isel(generation=-1).values
    # (Quick mode, 5 generations: over the scenario's seed and 11 others the ratios were 0.37-0.67 and 0.74-0.94.)
    for name, most in (("actors.USA.forces.ready", 0.8), ("actors.RUS.forces.deployed", 1.0)):
        x = cal.particles.isel(generation=-1).sel(parameter=name).values
        mean = np.sum(w * x)
        sd = np.sqrt(np.sum(w * (x - mean) ** 2))
        prior_sd = uniform_sd(str(cal.prior.sel(parameter=name).values))
        assert sd < most * prior_sd, (name, sd, prior_sd)
    # The predictive file: every replication its own posterior draw, dated by the CF time coordinate.
    pred = xr.open_dataset(out / "predict.h5", engine="h5netcdf")
    assert str(pred.time.values[0])[:10] == "2021-11-21" and pred.sizes["point"] == 1
    drawn = pred.coords["actors_USA_forces_ready"]
    assert drawn.dims == ("point", "replication") and len(np.unique(drawn.values)) >= 2
    last = cal.particles.isel(generation=-1).sel(parameter="actors.USA.forces.ready").values
    assert np.isin(drawn.values.ravel(), last).all()
    summary = json.loads((out / "calibration-summary.json").read_text())
    for date, day in (("15 Feb 2022", 86), ("18 Feb 2022", 89)):
        q = summary["band_90"][date]
        assert q["q05"] <= q["q25"] <= q["q50"] <= q["q75"] <= q["q95"], q
        deployed = pred.troops.sel(actor="RUS", pool="deployed").isel(step=day).values.ravel()
        assert abs(np.quantile(deployed, 0.5) - q["q50"]) < 1e-6 * q["q50"] + 1
    fought = pred.war_start_step.values.ravel()
    assert summary["p_fighting_by_24_feb"] == np.mean((fought >= 0) & (fought <= 95))
    assert 0 <= summary["p_full_war_by_24_feb"] <= summary["p_fighting_by_24_feb"]
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "supxlabel" in sources and "SEED" in sources and "PARTICLES" in sources and "REPLICATIONS" in sources
