"""Fixtures for the end-to-end tests of the `brink` command line.

The tests run the real binary (path in the BRINK environment variable) the way
a user does, and read its files with the real h5py.  Scenario variants are
made by editing the shipped flagship text line by line, so they follow the
flagship when its numbers change.
"""

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

TIMEOUT_S = 60
OUTCOMES = ["settlement", "standoff", "limited_war", "full_war", "alliance_war"]
FLAGSHIP_NAME = "jan-2022-standoff"


# --------------------------------------------------------------------------
# Paths and the binary
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def brink():
    path = os.environ.get("BRINK")
    if not path:
        pytest.fail(
            "environment variable BRINK is not set; it must hold the path of the brink binary "
            "(ctest sets it; by hand: BRINK=$PWD/build/release/brink)",
            pytrace=False,
        )
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"BRINK={path!r} is not an executable file", pytrace=False)
    return path


@pytest.fixture(scope="session")
def source_dir():
    root = os.environ.get("BRINK_SOURCE_DIR")
    return Path(root) if root else Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def flagship_path(source_dir):
    path = source_dir / "scenarios" / f"{FLAGSHIP_NAME}.yaml"
    assert path.is_file(), f"flagship scenario missing: {path}"
    return path


@pytest.fixture(scope="session")
def flagship_text(flagship_path):
    return flagship_path.read_text(encoding="utf-8")


def run_brink(binary, *args, cwd=None, timeout=TIMEOUT_S):
    """Runs brink with `args` (converted to str); returns the CompletedProcess."""
    return subprocess.run(
        [str(binary), *[str(a) for a in args]],
        cwd=None if cwd is None else str(cwd),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def run(brink):
    """run(*args, cwd=None) -> CompletedProcess of `brink *args` (text mode, 60 s timeout)."""

    def _run(*args, cwd=None, timeout=TIMEOUT_S):
        return run_brink(brink, *args, cwd=cwd, timeout=timeout)

    return _run


# --------------------------------------------------------------------------
# Editing the flagship text
# --------------------------------------------------------------------------

_KEY_RE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?=\s|$)")


class Located:
    """A block-style key found in a YAML text: 0-based line index, and columns."""

    def __init__(self, index, line, indent, key):
        self.index = index  # 0-based line index
        self.line = line  # the line's text
        self.indent = indent
        self.key = key

    @property
    def lineno(self):  # 1-based, as in diagnostics
        return self.index + 1

    @property
    def key_col(self):  # 1-based column of the key
        return self.indent + 1

    @property
    def value_col(self):  # 1-based column of the value's first character
        after = self.indent + len(self.key) + 1
        rest = self.line[after:]
        return after + (len(rest) - len(rest.lstrip(" "))) + 1


def _blocks_done(partial):
    """Blocks `partial` marks done, read as a SWMR reader; 0 while its metadata is mid-flush."""
    import h5py  # noqa: PLC0415 - only the tests that interrupt runs need it

    try:
        with h5py.File(partial, "r", swmr=True) as f:
            return int(f["block_done"][...].sum())
    except (OSError, KeyError):
        return 0


def interrupt_after_first_blocks(proc, partial, deadline, signum):
    """Sends `signum` to a run once `partial` marks its first blocks done,
    whatever the machine's speed or load: a fixed wait let a fast kernel finish
    the whole run first, and the file's growth alone came before any block was
    marked on a busy machine."""
    while not partial.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    assert partial.exists(), "a run must write beside the target (<target>.partial)"
    while proc.poll() is None and _blocks_done(partial) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(signum)


def locate(text, dotted):
    """Finds the block-style key `a.b.c` in `text` (each part a `key:` line nested
    under the previous one).  Fails the test if the layout is not found."""
    lines = text.split("\n")
    parts = dotted.split(".")
    start, end, parent_indent = 0, len(lines), -1
    found = None
    for part in parts:
        found = None
        child_indent = None
        for i in range(start, end):
            m = _KEY_RE.match(lines[i])
            if not m:
                continue
            indent = len(m.group("indent"))
            if indent <= parent_indent:
                end = i
                break
            if child_indent is None:
                child_indent = indent
            if indent == child_indent and m.group("key") == part:
                found = Located(i, lines[i], indent, part)
                break
        if found is None:
            pytest.fail(f"test setup: cannot find block key '{dotted}' (part '{part}') in the flagship text")
        # the block of `found` runs to the next key at its indentation or less
        start = found.index + 1
        end = len(lines)
        for j in range(start, len(lines)):
            m = _KEY_RE.match(lines[j])
            if m and len(m.group("indent")) <= found.indent:
                end = j
                break
        parent_indent = found.indent
    found.block_end = end  # 0-based index one past the block's last line
    return found


def set_value(text, dotted, raw):
    """Replaces the value of block key `dotted` by the raw YAML `raw` (the comment is dropped)."""
    loc = locate(text, dotted)
    lines = text.split("\n")
    lines[loc.index] = " " * loc.indent + f"{loc.key}: {raw}"
    return "\n".join(lines)


def delete_key(text, dotted):
    """Removes block key `dotted` and everything nested under it."""
    loc = locate(text, dotted)
    lines = text.split("\n")
    del lines[loc.index : loc.block_end]
    return "\n".join(lines)


def insert_after(text, dotted, new_line):
    """Inserts `new_line` (already indented) right after the line of block key `dotted`."""
    loc = locate(text, dotted)
    lines = text.split("\n")
    lines.insert(loc.index + 1, new_line)
    return "\n".join(lines)


def line_of(text, needle):
    """1-based number of the only line containing `needle`."""
    hits = [i + 1 for i, line in enumerate(text.split("\n")) if needle in line]
    assert len(hits) == 1, f"test setup: {needle!r} occurs on lines {hits}, expected exactly one"
    return hits[0]


@pytest.fixture
def write_scenario(tmp_path):
    """write_scenario(text, name="scenario.yaml") -> Path of the text written into tmp_path."""

    def _write(text, name="scenario.yaml"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def variant(flagship_text, write_scenario):
    """variant(old, new, name=...) -> Path of the flagship with the unique string `old` replaced by `new`."""

    def _variant(old, new, name="variant.yaml"):
        assert flagship_text.count(old) == 1, f"test setup: {old!r} is not unique in the flagship"
        return write_scenario(flagship_text.replace(old, new), name)

    return _variant


# --------------------------------------------------------------------------
# Reading brink's outputs
# --------------------------------------------------------------------------

_TABLE_RE = re.compile(
    r"^\s*(?P<name>" + "|".join(OUTCOMES) + r")\s+(?P<p>\d+\.\d+)\s+\[\s*(?P<lo>\d+\.\d+),\s*(?P<hi>\d+\.\d+)\]\s+(?P<n>\d+)\s*$"
)


def parse_outcome_table(stdout):
    """{outcome: (probability, lower, upper, count)} from a printed outcome table (one point)."""
    rows = {}
    for line in stdout.splitlines():
        m = _TABLE_RE.match(line)
        if m:
            assert m.group("name") not in rows, f"outcome {m.group('name')} printed twice:\n{stdout}"
            rows[m.group("name")] = (float(m.group("p")), float(m.group("lo")), float(m.group("hi")), int(m.group("n")))
    return rows


def diagnostic_lines(stderr, path):
    """The stderr lines of the form `<path>:<line>:<col>: message`, as (line, col, message)."""
    pattern = re.compile(r"^" + re.escape(str(path)) + r":(\d+):(\d+): (.+)$")
    out = []
    for line in stderr.splitlines():
        m = pattern.match(line)
        if m:
            out.append((int(m.group(1)), int(m.group(2)), m.group(3)))
    return out


# A 2 MiB tmpfs (remount it to resize) to simulate a full disk; skipped where it cannot be mounted (not root).
@pytest.fixture
def small_tmpfs(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to simulate a full disk (needs root): {proc.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)
