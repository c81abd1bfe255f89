"""The shipped variants are the flagship with marked changes only.

Each variant's header says that everything not marked "variant" is the
January standoff. A variant copied from an older flagship silently keeps
that flagship's values (it once lacked the bargaining, the war forecast and
the observations), and an analyst comparing the two would credit the
variant's marked change with the effect of the unmarked ones. So every
scenario value in which a variant differs from the flagship, or that one of
them lacks, must sit on a line marked `# variant` (or under a key so
marked), and every marked line must differ.
"""

from pathlib import Path

import pytest
import yaml

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
FLAGSHIP = "jan-2022-standoff"
VARIANTS = ["deterrence-surge", "diplomacy-first", "feb-2022-buildup"]
IDENTITY = {"name", "description"}  # what names the file, not the crisis


def leaves(node, path=(), lines=()):
    """(path -> (value, lines of the path's keys and value)) of a composed YAML node."""
    lines = lines + (node.start_mark.line,)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key, value in node.value:
            out.update(leaves(value, path + (key.value,), lines + (key.start_mark.line,)))
        return out
    if isinstance(node, yaml.SequenceNode) and node.value:
        out = {}
        for i, item in enumerate(node.value):
            out.update(leaves(item, path + (i,), lines))
        return out
    value = [] if isinstance(node, yaml.SequenceNode) else yaml.safe_load(yaml.serialize(node))
    return {path: (value, lines)}


def read(name):
    text = (SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8")
    return text.splitlines(), leaves(yaml.compose(text))


def grew(path, *trees):
    """An empty list in one file that holds items in the other: the items are compared."""
    return any(other != path and other[: len(path)] == path for tree in trees for other in tree)


def marked(line):
    return "# variant" in line


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_variant_differs_from_the_flagship_only_where_it_says_so(variant):
    _, base = read(FLAGSHIP)
    text, changed = read(variant)
    unmarked = []
    for path in sorted(set(base) | set(changed), key=str):
        if path[0] in IDENTITY:
            continue
        before, after = base.get(path, ("<absent>", ())), changed.get(path, ("<absent>", ()))
        if before[0] == after[0] or grew(path, base, changed):
            continue
        if not after[1] or not any(marked(text[line]) for line in after[1]):
            unmarked.append(f"{'.'.join(map(str, path))}: flagship {before[0]!r}, {variant} {after[0]!r}")
    assert not unmarked, f"{variant} differs from {FLAGSHIP} without a '# variant' mark:\n" + "\n".join(unmarked)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_mark_is_a_change(variant):
    _, base = read(FLAGSHIP)
    text, changed = read(variant)
    marks = {n for n, line in enumerate(text) if marked(line)}
    assert marks, f"{variant} marks no change"
    differing_lines = set()
    for path, (value, lines) in changed.items():
        if base.get(path, ("<absent>",))[0] != value:
            differing_lines.update(lines)
    stale = sorted(n + 1 for n in marks - differing_lines)
    assert not stale, f"{variant}: lines {stale} are marked '# variant' but match the flagship"
