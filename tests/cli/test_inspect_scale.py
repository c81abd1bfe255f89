"""`brink inspect` reads a sweep's summaries a slab of points at a time.

It built every point's summary, per-step curves and all (about 15 KB per
point of a long horizon), before printing a table of at most some 30 rows:
1.55 GB for a 100,000-point file, 15 GB for a million-point partial file, and
a ten-million-point plan (which `brink run` accepts and writes in 0.7 GB)
could not be inspected at all. The table it prints is the same.
"""

import os
import subprocess
from pathlib import Path

SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
MINIMAL = SOURCE / "docs" / "examples" / "minimal.yaml"


def test_inspect_of_a_large_sweep_fits_in_bounded_memory(brink, tmp_path):
    """12,000 points of minimal.yaml (a 146 MB file, nearly all of it summaries): read whole, they
    took 200 MB, while the slabs need little beyond the binary's own (about 90 MB resident). The data
    segment is capped at 120 MB, under which reading every summary at once ran out of memory."""
    out = tmp_path / "big.h5"
    subprocess.run([brink, "run", str(MINIMAL), "-q", "-n", "1", "--summary-only", "--design", "lhs", "--samples",
                    "12000", "--sweep", "actors.RED.forces.deployed=0:90000", "-o", str(out)], check=True, timeout=300)
    free = subprocess.run([brink, "inspect", str(out)], capture_output=True, text=True, timeout=300)
    assert free.returncode == 0, free.stderr
    capped = subprocess.run(["bash", "-c", 'ulimit -d 120000; exec "$0" inspect "$1"', brink, str(out)],
                            capture_output=True, text=True, timeout=300)
    assert capped.returncode == 0, capped.stderr
    assert capped.stdout == free.stdout
    assert "of 12000 points shown" in capped.stdout, capped.stdout[-500:]
