"""Findings of an outside review of how `brink` reads its input (scenario text
and command-line options): each test names what went wrong before its fix."""

import subprocess
from pathlib import Path

import pytest

from conftest import run_brink
from test_robustness import aliased_menus

SMALL = """brink: 1
name: r
run: {horizon_days: 10, dt_days: 1}
actors: {A: {forces: {deployed: 1}}, B: {forces: {deployed: 1}}}
escalation: {rungs: [a, b, c, d], initial_rung: a, limited_war: b, full_war: c, alliance_war: d}
"""


def validate(brink, path, timeout=60):
    return subprocess.run([brink, "validate", str(path)], capture_output=True, text=True, timeout=timeout)


def test_each_repeated_commitment_is_reported_once_against_the_first(brink, tmp_path):
    """Each repeat of a commitment was compared with, and reported against, every earlier one:
    40,000 copies took 105 s to validate and 100,000 about 11 minutes (far past this test's
    timeout). The list is now read in one pass and each repeat named once, against the first."""
    n = 100_000
    path = tmp_path / "c.yaml"
    path.write_text(SMALL + "relations:\n  commitments:\n" + "    - {from: A, to: B, strength: 0.5}\n" * n)
    proc = validate(brink, path)
    assert proc.returncode == 2, proc.stderr[:500]
    lines = proc.stderr.splitlines()
    assert lines[0] == f"{path}:9:7: 'relations.commitments.1' commits 'A' to 'B' a second time (as " \
        "relations.commitments.0); give one commitment with one strength", lines[:3]
    assert lines[1].startswith(f"{path}:10:7: 'relations.commitments.2' commits 'A' to 'B' a second time (as "
                               "relations.commitments.0)"), lines[:3]
    assert len(lines) == 101 and lines[-1].endswith(f": {n - 1 - 100} more problems from here on are not shown (the "
                                                    "first 100 are above); fix those and validate again"), lines[-1]


def test_a_repeat_is_named_by_its_place_in_the_file(brink, tmp_path):
    """The earlier commitment was named by its place among the commitments read, which skips
    a refused one: after a bad first entry, entry 2 repeating entry 1 was said to repeat entry 0."""
    path = tmp_path / "c.yaml"
    path.write_text(SMALL + "relations:\n  commitments:\n    - {from: A, to: C, strength: 0.5}\n"
                    + "    - {from: A, to: B, strength: 0.5}\n" * 2)
    proc = validate(brink, path)
    assert proc.returncode == 2
    assert "'relations.commitments.2' commits 'A' to 'B' a second time (as relations.commitments.1)" in \
        proc.stderr, proc.stderr



def minimal(source_dir):
    return (source_dir / "docs" / "examples" / "minimal.yaml").read_text()


def validate_bytes(brink, path):
    """validate, with bytes that are not UTF-8 shown as U+FFFD rather than failing to decode."""
    return subprocess.run([brink, "validate", str(path)], capture_output=True, text=True, encoding="utf-8",
                          errors="replace", timeout=60)


# YAML escapes in double quotes write characters the file's own text may not hold; yaml-cpp
# decodes \0, \x00, \u0000 and \U00000000 to a NUL byte, which cut the result file's attributes
# short (title=b"brink run of scenario 'mini"), and \N and \_ to the single bytes 0x85 and 0xA0,
# not UTF-8, which went raw into attributes. All passed validate.
@pytest.mark.parametrize("escape, named", [
    ("\\0", "the control character \\x00"),
    ("\\x00", "the control character \\x00"),
    ("\\u0000", "the control character \\x00"),
    ("\\U00000000", "the control character \\x00"),
    ("\\N", "the byte \\x85, which is not UTF-8"),
    ("\\_", "the byte \\xa0, which is not UTF-8"),
    ("\\uFFFE", "the noncharacter U+FFFE"),
    ("\\uFFFF", "the noncharacter U+FFFF"),
    ("\\uFDD0", "the noncharacter U+FDD0"),
    ("\\uFDEF", "the noncharacter U+FDEF"),
    ("\\U0010FFFF", "the noncharacter U+10FFFF"),
])
@pytest.mark.parametrize("old, key", [
    ("name: minimal", "name"),
    ("description: Three-actor example from docs/scenario-format.md.", "description"),
    ('note: "informal security assurance"', "relations.commitments.0.note"),
    ("rungs: [diplomacy,", "escalation.rungs.0"),
])
def test_escaped_characters_are_checked_as_decoded(brink, source_dir, tmp_path, escape, named, old, key):
    text = minimal(source_dir)
    prefix = old[:old.index(" ") + 1] + ("[" if key.startswith("escalation") else "")
    new = f'{prefix}"mini{escape}mal"' + ("," if key.startswith("escalation") else "")
    at = text.index(old) + len(prefix)
    row, column = text.count("\n", 0, at) + 1, at - text.rindex("\n", 0, at)
    path = tmp_path / "e.yaml"
    path.write_text(text.replace(old, new, 1))
    proc = validate_bytes(brink, path)
    assert proc.returncode == 2, (escape, key, proc.stdout)
    assert f"{path}:{row}:{column}: '{key}' contains {named} (mini" in proc.stderr, proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert not any(raw in proc.stderr for raw in ("\0", "\x85", "\ufffe", "\uffff", "\ufffd")), proc.stderr


def test_an_escaped_character_in_a_key_is_named_once(brink, source_dir, tmp_path):
    """A key is text too; an alias that repeats a scalar does not repeat its report."""
    path = tmp_path / "k.yaml"
    path.write_text(minimal(source_dir).replace("seed: 7", 'seed: 7\n  "x\\0y": &v "a\\eb"\n  z: *v', 1))
    proc = validate_bytes(brink, path)
    assert proc.returncode == 2
    assert "key 'x\\x00y' in 'run' contains the control character \\x00; write it without" in proc.stderr
    assert proc.stderr.count("contains the control character \\x1b") == 1, proc.stderr


def test_a_menu_over_the_total_bound_says_the_total(brink, tmp_path):
    """17 actors sharing a menu of 1024 actions: the message said A16 has 1024 actions, at most 1024
    per actor, and never that the 17,408 of all actors are what is over 16,384."""
    path = tmp_path / "m.yaml"
    path.write_text(aliased_menus(1023, copies=16))
    proc = validate(brink, path)
    assert proc.returncode == 2
    assert "'actors.A16.actions' has 1024 actions, 17408 with those of the actors before it; at most 1024 per " \
        "actor and 16384 over all actors are supported" in proc.stderr, proc.stderr


def test_a_null_actor_is_reported_once_at_its_key(brink, source_dir, tmp_path):
    """`PAT:` with no value also drew "the priors in 'actors.PAT.types' sum to 0, not 1", and both
    were reported at the next key's line."""
    text = minimal(source_dir)
    start, end = text.index("  PAT:\n"), text.index("\nrelations:")
    path = tmp_path / "n.yaml"
    path.write_text(text[:start] + "  PAT:\n" + text[end:])
    row = text.count("\n", 0, start) + 1
    proc = validate(brink, path)
    assert proc.returncode == 2
    assert proc.stderr == f"{path}:{row}:3: 'actors.PAT' must be a mapping, got nothing\n", proc.stderr


def test_a_null_section_is_reported_at_its_key(brink, tmp_path):
    """`actors:` left empty on line 4 was reported at 5:1, the next key."""
    path = tmp_path / "n.yaml"
    path.write_text(SMALL.replace("actors: {A: {forces: {deployed: 1}}, B: {forces: {deployed: 1}}}", "actors:"))
    proc = validate(brink, path)
    assert proc.returncode == 2
    assert proc.stderr == f"{path}:4:1: 'actors' must be a non-empty mapping of actor id to actor\n", proc.stderr


def test_a_tagged_number_is_not_said_to_be_quoted(brink, tmp_path):
    """`horizon_days: ! 60` (YAML's non-specific tag) was refused as `got "60"; write it without the
    quotes`, though the file has no quotes."""
    path = tmp_path / "t.yaml"
    for written, said in (("! 60", "got ! 60; write it without the tag"),
                          ('"60"', 'got "60"; write it without the quotes'),
                          ("&h ! 60", "got ! 60; write it without the tag"),
                          ("&h '60'", 'got "60"; write it without the quotes')):
        path.write_text(SMALL.replace("horizon_days: 10", f"horizon_days: {written}"))
        proc = validate(brink, path)
        assert proc.returncode == 2
        assert f"'run.horizon_days' must be a number, {said}" in proc.stderr, (written, proc.stderr)


def test_too_many_steps_are_counted_as_the_engine_counts_them(brink, tmp_path):
    """60 / 0.00001 was printed as 5999999.999999999 steps; the engine runs 6000000."""
    path = tmp_path / "s.yaml"
    path.write_text(SMALL.replace("horizon_days: 10, dt_days: 1", "horizon_days: 60, dt_days: 0.00001"))
    proc = validate(brink, path)
    assert proc.returncode == 2
    assert "run.horizon_days / run.dt_days = 60 / 1e-05 makes 6000000 steps, more than 1,000,000" in proc.stderr, \
        proc.stderr


@pytest.mark.parametrize("bom, encoding", [(b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
                                           (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")])
def test_a_utf32_file_is_named_utf32(brink, tmp_path, bom, encoding):
    """A UTF-32 file was said to be UTF-16 (little-endian) or to hold a NUL byte (big-endian)."""
    path = tmp_path / "u.yaml"
    path.write_bytes(bom + SMALL.encode(encoding))
    proc = validate(brink, path)
    width = encoding[4:6]
    assert proc.returncode == 2
    assert proc.stderr == f"{path}:1:1: the file is UTF-{width} (it starts with a UTF-{width} byte order mark); " \
        "save it as UTF-8\n", proc.stderr


def run_bytes(brink, *args):
    return subprocess.run([brink, *args], capture_output=True, text=True, encoding="utf-8", errors="replace",
                          timeout=60)


@pytest.mark.parametrize("path, shown, blank", [(" run.horizon_days", '" run.horizon_days"', "a space"),
                                                ("run.horizon_days\t", '"run.horizon_days\\t"', "a tab")])
def test_a_set_path_with_a_blank_says_so(brink, path, shown, blank):
    """`--set ' run.horizon_days=5'` said "unknown parameter path 'run.horizon_days' ... nearest valid
    paths: run.horizon_days": the blank was dropped from the message but not from the lookup."""
    proc = run_bytes(brink, "run", "--quiet", "--set", f"{path}=5", "-o", "/nonexistent/x.h5")
    assert proc.returncode == 2
    assert f"the path {shown} contains {blank}; parameter paths have none" in proc.stderr, proc.stderr
    assert "unknown parameter path" not in proc.stderr


@pytest.mark.parametrize("args", [
    ["--set", "run.seed=1\nbrink: fake second line"],
    ["--set", "run.seed=\x1b[31mred"],
    ["--set", "run.horizon_days=5\u202eevil"],
    ["--set", "run.seed\x1b[31m=5"],
    ["--set", "run.seed=" + "9" * 100_000],
    ["--seed", "1\x1b[31m"],
    ["-n", "1\nbrink: fake"],
    ["--sweep", "run.seed\x1b[31m=1,2"],
    ["--sweep", "actors.RED.posture.reaction=0.1,0.2", "--lever", "actors.RED.posture.reaction=\x1b[31m"],
    ["--design", "\x1b[31mgrid"],
    ["--threads", "9" * 100_000],
    ["--timeseries", "\x1b]0;title\x07"],
    ["--frobnicate\x1b[31m"],
])
def test_command_line_text_in_messages_is_shown_escaped_and_short(brink, source_dir, args):
    """Option values were echoed raw: a newline made a second line, escape sequences and U+202E went
    to the terminal, and a 100,000-digit value was printed in full, twice."""
    proc = run_bytes(brink, "run", str(source_dir / "docs" / "examples" / "minimal.yaml"), "--quiet", "-o",
                     "/nonexistent/dir/x.h5", *args)
    assert proc.returncode == 2, proc.stderr[:300]
    assert len(proc.stderr.splitlines()) == 1, proc.stderr[:500]
    assert not any(c in proc.stderr for c in ("\x1b", "\x07", "\u202e", "\ufffd")), proc.stderr[:500]
    assert len(proc.stderr) < 1000, proc.stderr[:500]


def test_a_set_value_that_is_not_utf8_is_shown_escaped(brink):
    proc = subprocess.run([brink, "run", "--quiet", "--set", b"run.seed=\xff\xfe"], capture_output=True, timeout=60)
    assert proc.returncode == 2
    assert b"\xff" not in proc.stderr and b"the argument 'run.seed=\\xff\\xfe' is not valid UTF-8" in proc.stderr, proc.stderr


@pytest.mark.parametrize("command", ["scenario", "output", "choice", "merge"])
def test_paths_that_are_not_utf8_are_refused_before_anything_is_written(brink, source_dir, tmp_path, command):
    """A scenario or output path with bytes that are not UTF-8 ran (exit 0), and its bytes went into
    the file's UTF-8 attributes (command_line, scenario_source, the scenario coordinate): xarray then
    failed to decode the file and brink_analysis called it damaged."""
    minimal = (source_dir / "docs" / "examples" / "minimal.yaml").read_bytes()
    bad = bytes(tmp_path) + b"/sc\xff.yaml"
    with open(bad, "wb") as f:
        f.write(minimal)
    good = tmp_path / "ok.yaml"
    good.write_bytes(minimal)
    out = bytes(tmp_path / "r.h5")
    args = {"scenario": [b"run", bad, b"-n", b"8", b"-o", out],
            "output": [b"run", bytes(good), b"-n", b"8", b"-o", bytes(tmp_path) + b"/r\xfe.h5"],
            "choice": [b"run", bytes(good), b"-n", b"8", b"-o", out, b"--sweep", b"scenario=" + bytes(good) + b"," + bad],
            "merge": [b"merge", out, bad]}[command]
    proc = subprocess.run([brink, *args], capture_output=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert b"is not valid UTF-8" in proc.stderr and (b"\\xff" in proc.stderr or b"\\xfe" in proc.stderr)
    assert b"\xff" not in proc.stderr and b"\xfe" not in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".yaml") == []
