"""What a brink file open with h5py must hold before open_results hands it over: brink's layout,
outcome and rung names that match their checksummed flags, recorded texts that match their
digests, checksummed variables whose chunks pass, and only values brink writes. These are the
checks of brink inspect, merge and --resume, so that open_results refuses what they refuse; the
rest of a finished point's summary is checked in _summary_checks.

Each *_problem function takes the open h5py file and returns the problem in words, or None."""

from __future__ import annotations

import numpy as np

from . import _summary_checks
from ._hdf5_file import _OPEN_ERRORS, _hdf5_reason, _text


# open_results reads every variable that carries Fletcher-32 checksums (the summaries, constants and
# marks) when it opens a finished file, up to this many bytes in all: a damaged chunk is refused there,
# in one sentence, rather than at the first computation. Per-replication chunks carry deflate's own
# checksum, which HDF5 checks whenever they are read.
_CHECKED_BYTES = 512 * 2**20


def _fnv1a_64(data: bytes) -> int:
    """FNV-1a, 64 bits: the digest brink keeps of its recorded texts (content_digest in the engine)."""
    digest = 0xcbf29ce484222325
    for byte in data:
        digest = ((digest ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return digest


def _recorded_text_problem(file) -> str | None:
    """Whether the texts that record how the file was run (root attributes `scenario` and `overrides`)
    match their digests (`scenario_digest`, `overrides_digest`): the texts are too large for HDF5's
    checksummed metadata, the digests are not (docs/output.md). None for a file without digests."""
    def text(name):
        value = file.attrs.get(name)
        return value if isinstance(value, bytes) else None if value is None else str(value).encode("utf-8")

    for name in ("scenario", "overrides"):
        digest, recorded = text(f"{name}_digest"), text(name)
        if digest and recorded is not None and f"{_fnv1a_64(recorded):016x}" != digest.decode("ascii", "replace"):
            return (f"its attribute '{name}' does not match its digest '{name}_digest', so the record of how it "
                    "was run is damaged")
    return None


def _damaged_variable(file, read: dict | None = None) -> tuple[str, str] | None:
    """The first checksummed variable of the open h5py `file` whose chunks fail their checksum, with
    HDF5's reason, or None; variables past _CHECKED_BYTES in all are left to be checked when read.
    The values of the summaries _summary_checks.row_problem judges are kept in `read`, not read twice."""
    import h5py

    budget = _CHECKED_BYTES
    for name, obj in file.items():
        if not isinstance(obj, h5py.Dataset) or not obj.fletcher32 or obj.nbytes > budget:
            continue
        budget -= obj.nbytes
        try:
            values = obj[()]
        except _OPEN_ERRORS as error:
            return name, _hdf5_reason(error)
        if read is not None and name in _summary_checks.ROW_VARIABLES:
            read[name] = values
    return None


def _format_version(value) -> int | str:
    """The root attribute format_version as an int, or as its text if it is no integer (refused)."""
    array = np.asarray(value)
    if array.size == 1 and array.dtype.kind in "iu":
        return int(array.reshape(()))
    return repr(_text(value) if _text(value) is not None else value)


# The variables every brink result holds, as (name, kind, dimensions): the same list brink's own
# reader checks (engine/src/io/recovery.cpp, layout_problem), so that a file brink inspect, merge and
# --resume refuse is refused here too, in its words, rather than read with a piece missing.
_LAYOUT = (
    ("actor", "string", ("actor",)),
    ("outcome", "string", ("outcome",)),
    ("outcome_count", "integer", ("point", "outcome")),
    ("outcome_probability", "floating-point", ("point", "outcome")),
    ("outcome_probability_lower", "floating-point", ("point", "outcome")),
    ("outcome_probability_upper", "floating-point", ("point", "outcome")),
    ("replications", "integer", ("point",)),
    ("mean_casualties", "floating-point", ("point", "actor")),
    ("mean_end_day", "floating-point", ("point",)),
)
_KINDS = {"string": "SOU", "integer": "iu", "floating-point": "f"}


def _layout_problem(file) -> str | None:
    """What the open h5py `file` lacks of a brink result's layout, in words, or None."""
    sizes: dict[str, int] = {}
    present = set(file.keys())  # not file.get: it reads a link that damaged metadata hides as a missing one
    for name, kind, dims in _LAYOUT + (("parameter_value", "floating-point", ("point", "parameter")),):
        if name == "parameter_value" and "parameter" not in present:
            continue
        obj = file[name] if name in present else None
        if obj is None or not hasattr(obj, "dtype"):
            return f"the variable '{name}' is missing"
        if obj.dtype.kind not in _KINDS[kind]:
            return f"the variable '{name}' holds {obj.dtype} values, not {kind} ones"
        if len(obj.shape) != len(dims):
            return f"the variable '{name}' has {len(obj.shape)} dimensions, not {len(dims)}"
        for dim, size in zip(dims, obj.shape):
            expected = sizes.setdefault(dim, size if dim != "parameter" else file["parameter"].shape[0])
            if size != expected:
                return f"the variable '{name}' has {size} entries along '{dim}', not {expected}"
    return None


def _label_problem(file) -> str | None:
    """Whether the names of the outcomes and rungs (strings in HDF5's global heap, which has no
    checksum) are those the checksummed flag_meanings of outcome_code and peak_rung list, and no
    actor is named twice: two flipped bytes swapped two outcomes' names, and open_results then
    called a standoff probability a full-war one. None if they are."""
    for coordinate, coded in (("outcome", "outcome_code"), ("rung", "peak_rung")):
        if coordinate not in file or coded not in file or "flag_meanings" not in file[coded].attrs:
            continue
        names = [_text(name) for name in file[coordinate][()]]
        meanings = (_text(file[coded].attrs["flag_meanings"]) or "").split()
        if names != meanings:
            return (f"its {coordinate} names {names} are not those its variable {coded} lists in flag_meanings "
                    f"({meanings})")
    actors = [_text(name) for name in file["actor"][()]]
    if len(set(actors)) != len(actors):
        return f"it names an actor twice ({actors})"
    return None


def _summary_problem(file, finished: np.ndarray) -> str | None:
    """What a finished point's summary holds that brink never writes, as brink inspect checks it
    (summary_problem in engine/src/io/hdf5_reader.cpp): counts that are negative or do not add up
    to the replications, a probability that is not count / replications, an interval that does not
    hold its probability. open_results read such files without a word."""
    replications = np.asarray(file["replications"][()], dtype=np.int64)
    if (replications < 0).any():
        return f"point {int(np.flatnonzero(replications < 0)[0])} counts {int(replications.min())} replications"
    counts = np.asarray(file["outcome_count"][()], dtype=np.int64)[finished]
    runs = replications[finished]
    probability = np.asarray(file["outcome_probability"][()], dtype=float)[finished]
    lower = np.asarray(file["outcome_probability_lower"][()], dtype=float)[finished]
    upper = np.asarray(file["outcome_probability_upper"][()], dtype=float)[finished]
    points = np.flatnonzero(finished)
    for row, point in enumerate(points):
        n, k = runs[row], counts[row]
        if (k < 0).any() or k.sum() != n:
            return f"point {point}'s outcome counts {k.tolist()} do not add up to its {n} replications"
        if np.abs(probability[row] - k / n).max() > 1e-12:
            return f"point {point}'s outcome probabilities are not its counts over its {n} replications"
        if not ((lower[row] >= 0) & (lower[row] <= probability[row]) & (probability[row] <= upper[row])
                & (upper[row] <= 1)).all():
            return f"point {point}'s outcome probability intervals do not hold its probabilities"
    return None


def _value_problem(file, read: dict | None = None) -> str | None:
    """What the open h5py `file` holds that brink never writes, in words, or None: a finished
    point's outcome probability that is not a number in [0, 1], or a parameter without a value
    (NaN) where every point has one (a sweep axis at a finished point; any parameter at every
    point). Only an edit makes them, and they were read silently: outcome_table showed NaN
    probabilities while discovery, which reads the counts, went on, and discovery called a
    parameter of NaN values "fixed with --set". A field that only some scenario choices have is
    NaN at the others' points, so a parameter may lack a value at some points."""
    finished = np.asarray(file["replications"][()]) > 0
    probability = np.asarray(file["outcome_probability"][()], dtype=float)[finished]
    bad = ~((probability >= 0.0) & (probability <= 1.0))
    if bad.any():
        row, k = np.argwhere(bad)[0]
        point, value = np.flatnonzero(finished)[row], float(probability[row, k])
        outcome = _text(file["outcome"][k]) if k < file["outcome"].shape[0] else str(k)
        return (f"the variable 'outcome_probability' holds {value!r} for outcome {outcome} at point {point}, "
                "which finished, where brink writes a probability")
    summary = (_summary_problem(file, finished) or _summary_checks.replications_problem(file, finished)
               or _summary_checks.row_problem(file, finished, read)
               or _summary_checks.outcome_code_problem(file, finished))
    if summary is not None:
        return summary
    if "parameter" not in file or file["parameter"].shape[0] == 0:
        return None
    values = np.asarray(file["parameter_value"][()], dtype=float)
    names = [_text(name) for name in file["parameter"][()]]
    swept = (np.asarray(file["parameter_swept"][()]) == 1 if "parameter_swept" in file
             else np.zeros(len(names), dtype=bool))
    for j, name in enumerate(names):
        missing = np.isnan(values[:, j])
        if missing.all() or (swept[j] and (missing & finished).any()):
            where = ("every point" if missing.all()
                     else f"point {int(np.flatnonzero(missing & finished)[0])}, which finished")
            return f"the parameter {name} has no value (NaN in 'parameter_value') at {where}"
    return None
