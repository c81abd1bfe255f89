#!/usr/bin/env python3
"""Writes the generated part of the hostile-input corpus.

    /usr/bin/python3 tests/cli/hostile/generate.py

Every case is a scenario file (or a recipe for one made at test time, when it
is too large or not a regular file) with the exit code and a fragment of the
message brink must give. tests/cli/test_faults.py runs them all, together with
the hand-written cases of hand.json, against the release binary and, from
scripts/test.sh, against the ASan+UBSan build.

The mutations start from docs/examples/minimal.yaml; the generated files are
committed so that a failing case can be rerun by hand. Rerun this script after
changing minimal.yaml or the recipes, and commit the result.
"""

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
BASE = (ROOT / "docs" / "examples" / "minimal.yaml").read_text(encoding="utf-8")
CASES = HERE / "cases"

# Values no numeric field accepts, each with a word the message must contain
# besides the key (None: the key alone).
BAD_NUMBERS = ["abc", "[1, 2]", "{a: 1}", ".nan", ".inf", "-.inf", "1e400", "true", '"12 days"', "0x1G"]


def case(name, text, exit_code, fragment, located=True, command="validate"):
    return {"name": name, "text": text, "exit": exit_code, "fragment": fragment, "located": located,
            "command": command}


def numeric_fields():
    """(line index, start, end, key) of every `key: number` in the base file."""
    found = []
    for i, line in enumerate(BASE.split("\n")):
        if line.lstrip().startswith("#"):
            continue
        for m in re.finditer(r"\b([a-z_]+): (-?[0-9][0-9._e+-]*)(?=[,} \n]|$)", line):
            found.append((i, m.start(2), m.end(2), m.group(1)))
    return found


def bad_values():
    lines = BASE.split("\n")
    out = []
    for n, (i, start, end, key) in enumerate(numeric_fields()):
        for k in range(2):
            token = BAD_NUMBERS[(2 * n + k) % len(BAD_NUMBERS)]
            changed = list(lines)
            changed[i] = lines[i][:start] + token + lines[i][end:]
            out.append(case(f"value-{key}-{n}-{k}", "\n".join(changed), 2, key))
    return out


def removed_keys():
    """Required keys deleted one at a time: the message names the key."""
    out = []
    for key in ["brink", "name", "horizon_days", "rungs", "initial_rung", "limited_war", "forces", "decision"]:
        text = re.sub(rf"(?m)^\s*{key}:.*\n", "", BASE, count=1)
        out.append(case(f"missing-{key}", text, 2, key))
    return out


def unknown_keys():
    """A misspelt or invented key at every block level."""
    out = []
    lines = BASE.split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"^( *)([a-z_A-Z]+):\s*$", line)
        if not m:
            continue
        indent = len(m.group(1)) + 2
        if i + 1 < len(lines) and lines[i + 1].lstrip().startswith("-"):
            continue  # a list, not a mapping
        changed = list(lines)
        changed.insert(i + 1, " " * indent + "bogus_key_xyz: 1")
        out.append(case(f"unknown-under-{m.group(2)}-{i}", "\n".join(changed), 2, "bogus_key_xyz"))
    return out


def duplicate_keys():
    out = []
    for key, line in [("seed", "  seed: 8"), ("horizon_days", "  horizon_days: 61"), ("name", "name: again")]:
        text = re.sub(rf"(?m)^(\s*{key}:.*)$", lambda m: m.group(1) + "\n" + line, BASE, count=1)
        out.append(case(f"duplicate-{key}", text, 2, key))
    return out


def encodings():
    """Bytes that are not UTF-8, NUL and UTF-16, each at a few places."""
    out = []
    raw = BASE.encode("utf-8")
    spots = {"name": raw.index(b"name: minimal") + 6, "comment": 2, "actor": raw.index(b"Revisionist"),
             "key": raw.index(b"horizon_days"), "end": len(raw) - 1}
    bad = {"latin1": b"\xe9", "lone-continuation": b"\x80", "overlong": b"\xc0\xaf", "surrogate": b"\xed\xa0\x80",
           "above-max": b"\xf4\x90\x80\x80", "truncated": b"\xe2\x82", "ff": b"\xff"}
    for spot, at in spots.items():
        for what, seq in bad.items():
            if (spot in ("comment", "end")) and what not in ("latin1", "truncated"):
                continue
            out.append(case(f"utf8-{what}-in-{spot}", raw[:at] + seq + raw[at:], 2, "not valid UTF-8"))
        out.append(case(f"nul-in-{spot}", raw[:at] + b"\x00" + raw[at:], 2, "NUL"))
    out.append(case("utf16-le", "\ufeff".encode("utf-16-le") + BASE.encode("utf-16-le"), 2, "UTF-16"))
    out.append(case("utf16-be", "\ufeff".encode("utf-16-be") + BASE.encode("utf-16-be"), 2, "UTF-16"))
    # Valid variants are accepted.
    out.append(case("utf8-bom", b"\xef\xbb\xbf" + raw, 0, "ok", located=False))
    out.append(case("crlf", raw.replace(b"\n", b"\r\n"), 0, "ok", located=False))
    out.append(case("utf8-greek-name", raw.replace(b"name: minimal", "name: \u03ba\u03c1\u03af\u03c3\u03b7".encode()),
                    0, "ok", located=False))
    return out


def not_a_scenario():
    out = [
        case("empty", "", 2, "empty"),
        case("only-comments", "# nothing\n# here\n", 2, "empty"),
        case("only-blank", "\n\n   \n\t\n", 2, "empty"),
        case("scalar", "42\n", 2, "mapping"),
        case("list", "- a\n- b\n", 2, "mapping"),
        case("document-marker", "---\n", 2, ""),
        case("two-documents", BASE + "\n---\n" + BASE, 2, "second YAML document"),
        case("two-documents-inline", BASE + "--- {brink: 1}\n", 2, "second YAML document"),
        case("trailing-document-marker", BASE + "---\n", 0, "ok"),
        case("tab-indent", BASE.replace("  horizon_days", "\thorizon_days"), 2, ""),
        case("unclosed-flow", BASE.replace("{deployed: 50000,", "{deployed: 50000,,["), 2, ""),
        case("unclosed-quote", BASE.replace('assurance"}', 'assurance}'), 2, ""),
    ]
    for depth in (100, 1000, 5000):
        out.append(case(f"deep-flow-list-{depth}", "name: " + "[" * depth + "]" * depth + "\n", 2, ""))
        out.append(case(f"deep-flow-map-{depth}", "name: " + "{a: " * depth + "1" + "}" * depth + "\n", 2, ""))
    for depth in (50, 600):
        text = "".join(" " * i + "a:\n" for i in range(depth)) + " " * depth + "b: 1\n"
        out.append(case(f"deep-block-{depth}", text, 2, ""))
    return out


def aliases():
    """Alias bombs: yaml-cpp shares aliased nodes, the parser must not expand them."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for k in range(1, 12):
        prev = f"*a{k - 1}"
        lines.append(f"a{k}: &a{k} [{', '.join([prev] * 10)}]")
    out = [case("billion-laughs", "\n".join(lines) + "\n", 2, "")]
    bomb = BASE.replace("rungs: [diplomacy", "rungs: &r [diplomacy").replace(
        "  initial_rung: signalling", "  initial_rung: signalling\n  extra: [*r, *r, *r]")
    out.append(case("alias-extra-key", bomb, 2, "extra"))
    out.append(case("undefined-alias", BASE.replace("seed: 7", "seed: *nowhere"), 2, ""))
    out.append(case("alias-as-key", BASE.replace("  seed: 7", "  &k seed: 7\n  *k : 8"), 2, ""))
    return out


def references():
    """Names that point nowhere."""
    out = []
    for old, new, fragment in [
        ("target: BLU, rung: incursion", "target: XYZ, rung: incursion", "XYZ"),
        ("rung: invasion", "rung: nowhere", "nowhere"),
        ("initial_rung: signalling", "initial_rung: bogus_rung", "bogus_rung"),
        ("[[RED, BLU], [RED, PAT]]", "[[RED, BLU], [RED, QQQ]]", "QQQ"),
        ("{from: PAT, to: BLU", "{from: PAT, to: ZZZ", "ZZZ"),
        ("actor: PAT, reinforce", "actor: NOPE, reinforce", "NOPE"),
        ("positions: {RED: 0.2, BLU: 0.8, PAT: 0.7}", "positions: {RED: 0.2, BLU: 0.8, GHOST: 0.7}", "GHOST"),
        ("kind: hold, tension", "kind: teleport, tension", "teleport"),
        ("law: square", "law: cubic", "cubic"),
        ("random_numbers: independent", "random_numbers: psychic", "psychic"),
        ("decisions: true", "decisions: maybe", "maybe"),
    ]:
        assert old in BASE, old
        out.append(case(f"ref-{fragment}", BASE.replace(old, new, 1), 2, fragment))
    return out


def sweep(design, axis, spec, samples=None):
    """BASE with a sweep block of one axis."""
    lines = ["", "sweep:", f"  design: {design}"] + ([f"  samples: {samples}"] if samples else [])
    return BASE + "\n".join(lines + ["  parameters:", f"    {axis}: {spec}", ""])


def physics():
    """Physical nonsense (issue 10, item 5): one step at least, dt within the horizon, event days in
    [0, S·dt), plain ids, and sweeps valid over their whole declared range (whatever the seed)."""
    no_events = BASE[:BASE.index("events:")]
    return [
        case("horizon-below-one-step", no_events.replace("horizon_days: 60", "horizon_days: 1e-9"), 2, "horizon"),
        case("dt-above-horizon", BASE.replace("dt_days: 1", "dt_days: 90"), 2, "dt_days"),
        case("dt-equal-horizon", BASE.replace("dt_days: 1", "dt_days: 60"), 0, "ok"),
        case("event-on-horizon", BASE.replace("{day: 45,", "{day: 60,"), 2, "day"),
        case("event-on-day-zero", BASE.replace("{day: 10,", "{day: 0,"), 0, "ok"),
        case("event-in-last-step", BASE.replace("{day: 45,", "{day: 59.999,"), 0, "ok"),
        case("event-past-horizon", BASE.replace("{day: 45,", "{day: 600,"), 2, "day"),
        case("event-past-partial-step", no_events.replace("dt_days: 1", "dt_days: 7") +
             "events:\n  - {day: 63, actor: RED, mobilize: 1}\n", 2, "[0, 63)"),
        case("dotted-actor-id", BASE.replace("PAT", "P.T"), 2, "P.T"),
        case("spaced-actor-id", BASE.replace("PAT", "P T"), 2, "'P T'"),
        case("dotted-type-name", BASE.replace("resolved:", "res.olved:"), 2, "res.olved"),
        case("dotted-action-name", BASE.replace("deny: {kind: hold", "de.ny: {kind: hold"), 2, "de.ny"),
        case("dotted-issue-id", BASE.replace("border_posture:", "border.posture:"), 2, "border.posture"),
        case("digit-actor-id", BASE.replace("PAT", "1PAT"), 2, "1PAT"),
        case("too-many-actors", BASE.replace("actors:\n", "actors:\n" + "".join(
            f"  X{k}: {{forces: {{deployed: 1}}}}\n" for k in range(300)), 1), 2, "at most 256"),
        case("negative-troops", BASE.replace("deployed: 50000", "deployed: -50000"), 2, "deployed"),
        case("priors-not-summing", BASE.replace("prior: 0.4", "prior: 0.9"), 2, "prior"),
        # Sampled, these pass for most seeds (2 LHS points, 6% of the range over the cap): refused for all.
        case("sweep-lhs-crosses-cap", sweep("lhs", "actors.RED.forces.deployed", "{min: 10000, max: 95000}", 2), 2,
             "crosses rule cap_at_least_deployed"),
        case("sweep-sobol-crosses-cap", sweep("sobol", "actors.RED.forces.deployed", "{min: 10000, max: 95000}", 8),
             2, "sobol range [10000, 95000]"),
        case("sweep-grid-crosses-cap", sweep("grid", "actors.RED.forces.deployed", "[10000, 95000, 20000]"), 2,
             "grid values 10000 to 95000"),
        case("sweep-cap-below-deployed", sweep("random", "actors.RED.forces.deployed_cap", "{min: 40000, max: 90000}",
                                               3), 2, "deployed_cap=40000"),
        # Both priors of a two-type actor swept: varied together they keep their values, so the box's
        # corners sum to 0.6-1.0 (one prior swept alone moves the other as its complement: valid).
        case("sweep-prior-range", sweep("random", "actors.RED.types.resolved.prior", "{min: 0.3, max: 0.5}", 3)
             + "    actors.RED.types.bluffer.prior: {min: 0.3, max: 0.5}\n", 2, "priors_sum_to_one"),
        case("sweep-one-prior-range", sweep("random", "actors.RED.types.resolved.prior", "{min: 0, max: 1}", 3), 0,
             "ok"),
        case("sweep-event-day-range", sweep("lhs", "events.1.day", "{min: 40, max: 60}", 4), 2,
             "events_before_the_end"),
        case("sweep-salience-range", sweep("lhs", "negotiation.issues.status_of_region.salience.BLU",
                                           "{min: 0, max: 1}", 4), 2, "issues_have_two_parties"),
        case("sweep-within-rules", sweep("lhs", "actors.RED.forces.deployed", "{min: 10000, max: 90000}", 2), 0,
             "ok"),
    ]


def synthesized():
    """Cases made at test time (too large to commit, or not regular files)."""
    return [
        {"name": "size-over-limit", "synth": "big", "exit": 2, "fragment": "limited to", "located": False},
        {"name": "size-many-unknown-keys", "synth": "many_keys", "exit": 2, "fragment": "limited to",
         "located": False},
        {"name": "directory", "synth": "directory", "exit": 2, "fragment": "directory", "located": False},
        {"name": "fifo", "synth": "fifo", "exit": 2, "fragment": "FIFO", "located": False},
        {"name": "dev-zero", "synth": "dev_zero", "exit": 2, "fragment": "character device", "located": False},
        {"name": "dev-null", "synth": "dev_null", "exit": 2, "fragment": "character device", "located": False},
        {"name": "missing-file", "synth": "missing", "exit": 2, "fragment": "no scenario file", "located": False},
        {"name": "unreadable", "synth": "unreadable", "exit": 2, "fragment": "", "located": False},
        {"name": "keys-80k", "synth": "keys_80k", "exit": 2, "fragment": "79900 more problems", "located": True},
    ]


def main():
    cases = (bad_values() + removed_keys() + unknown_keys() + duplicate_keys() + encodings() + not_a_scenario() +
             aliases() + references() + physics())
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    CASES.mkdir(exist_ok=True)
    for old in CASES.glob("*.yaml"):
        old.unlink()
    manifest = []
    for c in cases:
        data = c.pop("text")
        path = CASES / f"{c['name']}.yaml"
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        c["file"] = f"cases/{path.name}"
        manifest.append(c)
    manifest += synthesized()
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    print(f"{len(manifest)} generated cases in {HERE / 'manifest.json'}")


if __name__ == "__main__":
    main()
