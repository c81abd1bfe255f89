#!/usr/bin/python3
"""Compare two brink result files dataset by dataset.

usage: scripts/compare_outputs.py A.h5 B.h5 [--ignore DATASET]...

Every group, dataset and attribute must match: the same names, shapes, dtypes
and values (bit for bit; NaN equals NaN). Root attributes may differ only in
`command_line` and `scenario_source`, which name how and from where a run was
started. Prints the first difference and exits 1, or prints "identical" and
exits 0. Exit 2 for bad usage or an unreadable file. `--ignore NAME` skips a
dataset (e.g. one known to differ between two runs of the same binary).
"""

import sys

import h5py
import numpy as np

ROOT_ATTRIBUTES_ALLOWED_TO_DIFFER = {"command_line", "scenario_source"}


class Difference(Exception):
    pass


def same_values(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind in "fc":
        # Bitwise: NaN == NaN and -0.0 != 0.0, as a re-run must reproduce.
        return a.tobytes() == b.tobytes()
    if a.dtype.kind == "O":
        return all(x == y for x, y in zip(a.ravel(), b.ravel()))
    return np.array_equal(a, b)


def compare_attributes(name, a, b, allowed=()):
    keys_a, keys_b = set(a.keys()) - set(allowed), set(b.keys()) - set(allowed)
    if keys_a != keys_b:
        raise Difference(f"{name}: attributes differ: only in A {sorted(keys_a - keys_b)}, "
                         f"only in B {sorted(keys_b - keys_a)}")
    for key in sorted(keys_a):
        if key == "DIMENSION_LIST" or key == "REFERENCE_LIST":
            continue  # object references: compared through the datasets they point to
        va, vb = np.asarray(a[key]), np.asarray(b[key])
        if not same_values(va, vb):
            raise Difference(f"{name}: attribute {key!r} differs: {va!r} ({va.dtype}) vs {vb!r} ({vb.dtype})")


def compare(name, a, b, ignored=()):
    if name.lstrip("/") in ignored:
        return
    if isinstance(a, h5py.Group) != isinstance(b, h5py.Group):
        raise Difference(f"{name}: a group in one file and a dataset in the other")
    compare_attributes(name, a.attrs, b.attrs, ROOT_ATTRIBUTES_ALLOWED_TO_DIFFER if name == "/" else ())
    if isinstance(a, h5py.Group):
        if set(a.keys()) != set(b.keys()):
            raise Difference(f"{name}: members differ: only in A {sorted(set(a) - set(b))}, "
                             f"only in B {sorted(set(b) - set(a))}")
        for key in a.keys():
            compare(f"{name.rstrip('/')}/{key}", a[key], b[key], ignored)
        return
    if a.dtype != b.dtype:
        raise Difference(f"{name}: dtype {a.dtype} vs {b.dtype}")
    if a.shape != b.shape:
        raise Difference(f"{name}: shape {a.shape} vs {b.shape}")
    va, vb = a[()], b[()]
    va, vb = np.asarray(va), np.asarray(vb)
    if not same_values(va, vb):
        if va.shape:
            where = np.argwhere(~((va == vb) | ((va != va) & (vb != vb))) if va.dtype.kind in "fc" else va != vb)
            first = tuple(where[0]) if len(where) else ()
            raise Difference(f"{name}: values differ, first at {first}: {va[first]!r} vs {vb[first]!r}")
        raise Difference(f"{name}: values differ: {va!r} vs {vb!r}")


def main(argv):
    files, ignored, rest = [], [], list(argv[1:])
    while rest:
        arg = rest.pop(0)
        if arg == "--ignore" and rest:
            ignored.append(rest.pop(0).lstrip("/"))
        else:
            files.append(arg)
    if len(files) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    argv = [argv[0]] + files
    try:
        with h5py.File(argv[1], "r") as a, h5py.File(argv[2], "r") as b:
            compare("/", a, b, ignored)
    except Difference as d:
        print(f"{argv[1]} and {argv[2]} differ: {d}")
        return 1
    except OSError as e:
        print(f"compare_outputs: {e}", file=sys.stderr)
        return 2
    print("identical")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
