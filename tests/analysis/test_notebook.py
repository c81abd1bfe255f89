"""Executes the example notebook analysis/notebooks/jan-2022-standoff.ipynb headlessly.

The notebook runs in a temporary copy, with the real binary, in its quick mode
(BRINK_NOTEBOOK_QUICK=1: far fewer replications) and with its figures and
result files redirected to temporary folders, so the test never touches
docs/figures/. The kernel is this test's own interpreter (Debian's
/usr/bin/python3 under ctest), through a kernel spec made for the test.
"""

import asyncio
import json
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


def test_notebook_runs_and_writes_its_figures(brink, source_dir, tmp_path, monkeypatch, kernel_for_this_python):
    work = tmp_path / "notebook"
    work.mkdir()
    copy = work / NOTEBOOK
    shutil.copy(source_dir / "analysis" / "notebooks" / NOTEBOOK, copy)
    figures = tmp_path / "figures"
    monkeypatch.setenv("BRINK", str(brink))
    monkeypatch.setenv("BRINK_SOURCE_DIR", str(source_dir))
    monkeypatch.setenv("BRINK_FIGURES_DIR", str(figures))
    monkeypatch.setenv("BRINK_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("BRINK_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")

    nb = nbformat.read(copy, as_version=4)
    client = NotebookClient(nb, kernel_name=kernel_for_this_python, timeout=120,
                            resources={"metadata": {"path": str(work)}})
    try:
        asyncio.run(client.async_execute())  # asyncio.run closes its event loop afterwards
    except CellExecutionError as error:
        pytest.fail(f"a notebook cell failed:\n{error}", pytrace=False)
    finally:
        nbformat.write(nb, copy)  # kept in tmp_path for inspection

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert sorted(p.name for p in figures.iterdir()) == sorted(FIGURES)
    for name in FIGURES:
        data = (figures / name).read_bytes()
        assert len(data) > 10_000, f"{name} is suspiciously small ({len(data)} bytes)"
        width, height = png_size(data)
        assert width >= 600 and height >= 300, f"{name} is {width}x{height}"
        pixels = matplotlib.image.imread(figures / name)
        assert pixels.shape[:2] == (height, width)
        assert pixels[..., :3].std() > 0.05, f"{name} looks blank"
    # the notebook displayed each figure too
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert images >= len(FIGURES)
