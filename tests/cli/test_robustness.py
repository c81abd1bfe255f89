"""Mutated scenario files never crash the parser: every one is accepted
(exit 0) or rejected (exit 2) with one-line `file:line:col: message` errors."""

import os
import random
import re
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
TOKENS = ["-1", "nan", ".inf", "[", "]", "{", "}", ":", "RUS", "XYZ", "1e400", "0", "", "- a", "true", '"', "'",
          "&a", "*a", "!!int", "~", "99999999999999999999", "0x10", "1_000"]


def mutate(lines, rng):
    lines = list(lines)
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(len(lines))
        op = rng.random()
        if op < 0.3:
            lines[k] = lines[k].replace(rng.choice(["1", "0", ":", " ", "a", "e"]), rng.choice(TOKENS), 1)
        elif op < 0.5:
            del lines[k]
        elif op < 0.7:
            lines.insert(k, lines[rng.randrange(len(lines))])
        elif op < 0.85:
            lines[k] = lines[k] + " " + rng.choice(TOKENS)
        else:
            lines[k] = lines[k][: rng.randrange(len(lines[k]) + 1)]
    return lines


def test_mutated_scenarios_are_accepted_or_rejected_cleanly(brink, tmp_path):
    lines = (SOURCE / "scenarios" / "jan-2022-standoff.yaml").read_text().split("\n")
    rng = random.Random(2022)
    path = tmp_path / "m.yaml"
    rejected = 0
    for _ in range(300):
        path.write_text("\n".join(mutate(lines, rng)))
        proc = subprocess.run([brink, "validate", str(path)], capture_output=True, text=True, timeout=20)
        assert proc.returncode in (0, 2), proc.stderr
        if proc.returncode == 2:
            rejected += 1
            errors = proc.stderr.strip().split("\n")
            assert errors and all(re.match(re.escape(str(path)) + r"(:\d+:\d+)?: \S", e) for e in errors), errors
    assert rejected > 100  # the mutations do break things


MINIMAL = SOURCE / "docs" / "examples" / "minimal.yaml"


def validate(brink, path, timeout=20):
    return subprocess.run([brink, "validate", str(path)], capture_output=True, text=True, timeout=timeout)


def test_a_megabyte_long_name_is_refused_at_once_and_shown_short(brink, tmp_path):
    """The nearest-name suggestion compared whole names, quadratic in their length: a rung of
    100,000 letters took 35 s, one of 1.5 million hours, and each message repeated the name whole."""
    text = MINIMAL.read_text()
    rung = "r" * 1_000_000
    path = tmp_path / "long.yaml"
    path.write_text(text.replace("rungs: [diplomacy,", f"rungs: [{rung},").replace(
        "initial_rung: signalling", f"initial_rung: {rung[:-1]}s"))
    proc = validate(brink, path)
    assert proc.returncode == 2 and "unknown rung 'rrrr" in proc.stderr, proc.stderr[:500]
    assert len(proc.stderr) < 2000, "each name is shown cut at 60 characters"


def aliased_menus(actions, copies=255):
    """Actor A0 with `actions` actions besides hold, copied by alias into `copies` more actors."""
    menu = "\n".join(f"      x{k}: {{kind: exercise, cost: {k % 7}, tension: 0.01}}" for k in range(actions))
    copies = "\n".join(f"  A{k}: *a" for k in range(1, copies + 1))
    return f"""brink: 1
name: amp
run: {{horizon_days: 30, dt_days: 1, replications: 100}}
actors:
  A0: &a
    forces: {{deployed: 1000}}
    actions:
      hold: {{}}
{menu}
{copies}
relations:
  adversaries: [[A0, A1]]
escalation: {{rungs: [a, b, c, d], initial_rung: a, limited_war: b, full_war: c, alliance_war: d}}
"""


def test_an_alias_cannot_multiply_an_actors_menu(brink, tmp_path):
    """One actor's 2,000 actions aliased into 255 more actors: half a million actions from a file of
    60 KB took gigabytes and minutes. Such a file's aliases stand for 4 million nodes, and it is
    refused at load, before anything reads it (docs/scenario-format.md, "The file"). Within that
    bound, menus are bounded per actor and over all actors."""
    path = tmp_path / "amp.yaml"
    path.write_text(aliased_menus(2000))
    proc = validate(brink, path)
    assert proc.returncode == 2 and "the YAML aliases up to this one, '*a' (anchor '&a' on line 5, 16,009 nodes), " \
        "expand the document by more than 1,000,000 nodes" in proc.stderr, proc.stderr[:500]
    path.write_text(aliased_menus(2000, copies=3))
    proc = validate(brink, path)
    assert proc.returncode == 2 and "'actors.A0.actions' has 2001 actions; at most 1024 per actor and 16384 over " \
        "all actors are supported" in proc.stderr, proc.stderr[:500]
    # Within the bound per actor, the bound over all actors stops the copies: 16 menus of 1001 fit.
    path.write_text(aliased_menus(1000, copies=20))
    proc = validate(brink, path)
    assert proc.returncode == 2 and "'actors.A16.actions' has 1001 actions" in proc.stderr, proc.stderr[:500]
    assert "'actors.A15.actions'" not in proc.stderr


def test_control_characters_in_text_are_refused(brink, tmp_path):
    """A name is printed by validate, run and inspect: an escape sequence in it recoloured the
    terminal and retitled its window. Tabs and newlines stay allowed."""
    path = tmp_path / "esc.yaml"
    path.write_text(MINIMAL.read_text().replace("name: ", 'name: "\\e[31mRED\\e]0;pwned\\a" #', 1))
    proc = validate(brink, path)
    assert proc.returncode == 2 and "contains the control character \\x1b (\\x1b[31mRED\\x1b]0;pwned\\x07)" in \
        proc.stderr, proc.stderr
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr
    path.write_text(MINIMAL.read_text().replace("name: ", 'name: "two\\twords" #', 1))
    assert validate(brink, path).returncode == 0


@pytest.mark.parametrize("escape, shown", [
    ("\\u009b31m", "U+009B"),  # C1 CSI: an escape sequence's start on terminals that honour C1
    ("\\x85", "U+0085"),  # next line
    ("\\u2028", "U+2028"),  # line separator
    ("\\u202e", "U+202E"),  # right-to-left override: shows text out of order
    ("\\u2067", "U+2067"),  # right-to-left isolate
    ("\\ufeff", "U+FEFF"),  # byte order mark inside the text
    ("\\u200f", "U+200F"),  # right-to-left mark
    ("\\u061c", "U+061C"),  # Arabic letter mark
])
def test_unicode_controls_in_text_are_refused(brink, tmp_path, escape, shown):
    """C0 controls were refused but C1 controls, the line separators and the bidirectional
    overrides passed into validate's, run's and inspect's output and the file's attributes.
    The message names the top-level key as written ('name'), and prints no raw control."""
    path = tmp_path / "c1.yaml"
    path.write_text(MINIMAL.read_text().replace("name: ", f'name: "red{escape}RED" #', 1), encoding="utf-8")
    proc = validate(brink, path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"'name' contains the control character {shown} (red{shown}" in proc.stderr, proc.stderr
    raw = bytes.fromhex(shown[2:].rjust(4, "0")).decode("utf-16-be")
    assert raw not in proc.stderr and raw not in proc.stdout
    # Other characters beyond ASCII stay text.
    path.write_text(MINIMAL.read_text().replace("name: ", 'name: "Kyiv \u041a\u0438\u0457\u0432 \u2013 ok" #', 1),
                    encoding="utf-8")
    assert validate(brink, path).returncode == 0


def test_text_after_a_top_level_flow_mapping_is_not_dropped(brink, tmp_path):
    """yaml-cpp ends a document at the top-level flow mapping's closing brace and took the next line
    for a second document, which was dropped: a `run: {horizon_days: -5}` there was never read."""
    import json
    import yaml
    flow = json.dumps(yaml.safe_load(MINIMAL.read_text()))
    path = tmp_path / "flow.yaml"
    for tail, line in (("", 0), ("\n# a comment\n", 0), ("\n...\n", 0), ("\nrun: {horizon_days: -5}\n", 2)):
        path.write_text(flow + tail)
        proc = validate(brink, path)
        if line == 0:
            assert proc.returncode == 0, (tail, proc.stderr)
        else:
            assert proc.returncode == 2 and f"flow.yaml:{line}:1: text after the end of the top-level flow " \
                "mapping starts a second YAML document here" in proc.stderr, proc.stderr
    # Braces inside quoted text are text, not the mapping's end.
    path.write_text(flow.replace('"name": "minimal"', '"name": "min}{imal \\" } \'x\'"'))
    proc = validate(brink, path)
    assert proc.returncode == 0, proc.stderr


def test_digit_separators_stand_between_digits(brink, tmp_path):
    """100_000 is a YAML 1.1 number; _60, 60_ and 6__0 are no number in any YAML schema and were read as 60."""
    text = MINIMAL.read_text()
    path = tmp_path / "n.yaml"
    for written, ok in (("6_0", True), ("_60", False), ("60_", False), ("6__0", False)):
        path.write_text(text.replace("horizon_days: 60", f"horizon_days: {written}", 1))
        proc = validate(brink, path)
        assert (proc.returncode == 0) == ok, (written, proc.stderr)
        if not ok:
            assert f"'run.horizon_days' must be a finite number [days], got '{written}'" in proc.stderr


def test_a_document_end_marker_is_named_as_written(brink, tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(MINIMAL.read_text() + "...\nfoo: bar\n")
    proc = validate(brink, path)
    assert proc.returncode == 2 and "(remove this '...' and what follows" in proc.stderr, proc.stderr


def test_contradictory_relations_are_refused(brink, tmp_path):
    """An attack on an ally was forecast with the target on the attacker's own side, and a
    commitment to protect an adversary was accepted; both ran without a word."""
    text = MINIMAL.read_text()
    path = tmp_path / "rel.yaml"
    cases = [
        (text.replace("adversaries: [[RED, BLU], [RED, PAT]]", "adversaries: [[RED, PAT]]").replace(
            "allies: []", "allies: [[RED, BLU]]"),
         "'actors.RED.actions.strike.target' is 'BLU', an ally of 'RED' (relations.allies); an attack is on a "
         "non-ally"),
        (text.replace("{from: PAT, to: BLU,", "{from: PAT, to: RED,"),
         "'relations.commitments.0' commits 'PAT' to protect 'RED', its adversary"),
        # An event names its target under `attack:`; the message called it 'events.2.target', a key events lack.
        (text.replace("adversaries: [[RED, BLU], [RED, PAT]]", "adversaries: [[RED, PAT]]").replace(
            "allies: []", "allies: [[RED, BLU]]").replace(
            "  - {day: 45, actor: RED, mobilize: 10000}",
            "  - {day: 45, actor: RED, mobilize: 10000}\n  - {day: 50, actor: RED, attack: BLU, rung: invasion}"),
         "'events.2.attack' is 'BLU', an ally of 'RED' (relations.allies); an attack is on a non-ally"),
    ]
    for body, message in cases:
        path.write_text(body)
        proc = validate(brink, path)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert re.search(r"rel\.yaml:(\d+):\d+: ", proc.stderr), proc.stderr  # located at its line


def test_tags_that_change_a_value_are_not_ignored(brink, tmp_path):
    """`!!int 60.5` ran 61 steps and `name: !!binary ...` named the scenario by its base64 text."""
    text = MINIMAL.read_text()
    path = tmp_path / "tag.yaml"
    for old, new, message in (
            ("horizon_days: 60", "horizon_days: !!int 60.5", "'run.horizon_days' must be a whole number, got '60.5'"),
            ("name: minimal", "name: !!binary bWluaW1hbA==",
             "'name' must be plain text, got !!binary bWluaW1hbA==; write it without the tag")):
        path.write_text(text.replace(old, new, 1))
        proc = validate(brink, path)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    path.write_text(text.replace("horizon_days: 60", "horizon_days: !!int 60", 1).replace(
        "name: minimal", "name: !!str minimal", 1))
    assert validate(brink, path).returncode == 0


def test_messages_say_what_the_file_says(brink, tmp_path):
    """An action without a kind was called an 'unknown action kind' named after the action; an event
    on the horizon day of a 0.3-day run was refused for a horizon shown as 0.30000000000000004."""
    text = MINIMAL.read_text()
    path = tmp_path / "m.yaml"
    path.write_text(text.replace("strike: {kind: attack,", "strike: {kind: ~,", 1))
    proc = validate(brink, path)
    assert proc.returncode == 2 and "'actors.RED.actions.strike' gives no kind, and its name 'strike' is not one; " \
        "add 'kind:'" in proc.stderr, proc.stderr
    path.write_text(text.replace("horizon_days: 60", "horizon_days: 0.3", 1).replace("dt_days: 1", "dt_days: 0.1", 1)
                    .replace("day: 10, actor: PAT", "day: 0.3, actor: PAT", 1).replace("day: 45,", "day: 0.1,", 1))
    proc = validate(brink, path)
    assert proc.returncode == 2 and "'events.0.day' is 0.3, but the run simulates days [0, 0.3) (3 steps" in \
        proc.stderr, proc.stderr


def test_a_key_with_invisible_characters_is_shown_escaped(brink, tmp_path):
    """`"horizon_days ": 60` was reported as "unknown key 'horizon_days' ...; did you mean 'horizon_days'?"."""
    text = MINIMAL.read_text()
    path = tmp_path / "k.yaml"
    for written, shown in (('"horizon_days "', '"horizon_days "'), ("horizon_days\u200b", '"horizon_days\\u200b"')):
        path.write_text(text.replace("horizon_days: 60", f"{written}: 60", 1), encoding="utf-8")
        proc = validate(brink, path)
        assert proc.returncode == 2 and f"unknown key {shown} in 'run'; did you mean 'horizon_days'?" in proc.stderr, \
            proc.stderr


def test_a_chunk_hdf5_cannot_store_is_refused_before_the_run(brink, tmp_path):
    """A valid scenario of a million steps with a series every step needs 4 GiB chunks, which HDF5
    refused only when the file was made: exit 1 with 'HDF5 failed to create dataset troops'. It is
    bad input, refused before anything runs or is written, with what to change."""
    path = tmp_path / "long.yaml"
    path.write_text(MINIMAL.read_text().replace("horizon_days: 60", "horizon_days: 1000000", 1))
    out = tmp_path / "long.h5"
    proc = subprocess.run([brink, "run", path, "-n", "120", "-t", "1", "--timeseries", "every=1", "-o", out],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert ("variable 'troops' would be stored in chunks of 4320004320 bytes (point=1, replication=120, "
            "step=1000001, actor=3, pool=3)") in proc.stderr, proc.stderr
    assert "HDF5 stores a chunk of less than 4 GiB (4294967296 bytes); record fewer steps" in proc.stderr
    assert list(tmp_path.iterdir()) == [path]
    # A file that asks for the series itself is refused by validate too.
    path.write_text(path.read_text().replace("timeseries_every: 0", "timeseries_every: 1", 1))
    proc = validate(brink, path)
    assert proc.returncode == 2 and "variable 'troops' would be stored in chunks of" in proc.stderr, proc.stderr


def test_an_identifier_with_controls_is_named_without_them(brink, tmp_path):
    """An action named with an escape sequence and a right-to-left override was refused as no
    plain identifier, but the message printed the name raw: it recoloured the terminal."""
    path = tmp_path / "ident.yaml"
    path.write_text(MINIMAL.read_text().replace("      deny: {kind: hold", '      "de\\e[31mny\\u202e": {kind: hold', 1))
    proc = validate(brink, path)
    assert proc.returncode == 2, proc.stderr
    assert "action name 'de\\x1b[31mnyU+202E' is not a plain identifier" in proc.stderr, proc.stderr
    assert "\x1b" not in proc.stderr and "\u202e" not in proc.stderr
