"""The fixed Huffman code of small chunks (scripts/train_chunk_code.py) still
fits what brink stores: on scenarios and seeds it was not trained on, the
chunks below 64 KiB take at most 10% more bytes than zlib's level 1 gives each
chunk with a code of its own. igzip's built-in code, which the trained one
replaced, takes about 20% more there; a stale or broken code fails here."""

import os
import pathlib
import subprocess
import sys
import zlib

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "scripts"))
from train_chunk_code import shuffled, stored_chunks  # noqa: E402  (the training reads chunks the same way)

BRINK = os.environ.get("BRINK")
PER_CHUNK_CODE_MIN = 64 * 1024  # chunk_codec.cpp: from this size a chunk takes level 1


def shuffled_chunks(path):
    """(stored size, the shuffled chunk the encoder compressed) of every compressed chunk."""
    chunks = list(stored_chunks(path))
    assert chunks, "no compressed chunk in the file"
    for size, chunk in chunks:
        yield size, shuffled(chunk)


@pytest.mark.parametrize("scenario,seed", [("jan-2022-standoff", 90210), ("diplomacy-first", 4242)])
def test_small_chunks_stay_near_a_per_chunk_code(tmp_path, scenario, seed):
    assert BRINK, "set BRINK to the brink binary"
    out = tmp_path / "run.h5"
    subprocess.run([BRINK, "run", scenario, "-n", "5120", "--seed", str(seed), "--quiet", "-o", str(out)],
                   check=True, timeout=300)
    stored = per_chunk = chunks = 0
    for size, data in shuffled_chunks(out):
        if len(data) >= PER_CHUNK_CODE_MIN:
            continue
        stored += size
        per_chunk += len(zlib.compress(data, 1))
        chunks += 1
    assert chunks >= 300, chunks  # 20 blocks of about 20 variables
    ratio = stored / per_chunk
    assert ratio <= 1.10, f"{scenario}: small chunks take {ratio:.3f} times zlib level 1's bytes"
