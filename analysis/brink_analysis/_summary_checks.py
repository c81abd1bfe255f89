"""What a finished point's summary holds that brink never writes, beyond its outcome counts: the
rest of summary_problem in engine/src/io/summary_check.cpp, which brink inspect, brink merge and
--resume apply, so that open_results refuses what they refuse. Each check is of a point's own row
against its own invariants (and, for outcome_code, of bytes already read for their checksums), so
it costs next to nothing beside opening the file.

Each function takes the open h5py file and the boolean mask of finished points, and returns the
problem in words (naming the variable, the point and the value) or None."""

from __future__ import annotations

import numpy as np

_SLACK = 1e-9  # rounding in a mean of shares, or in a sum of them
_OUTCOMES = 5  # outcome codes 0..4 (the flag_values of outcome_code)
# outcome_code is read whole (one byte per replication slot, in chunks of 256) up to this size, some
# 15 ms (h5py reads 1 MB of it in 60 ms, a third of open_results' own time on such a file); a larger
# file's codes are left to brink merge and --resume, which read them back anyway (docs/output.md).
_OUTCOME_CODE_BYTES = 256 * 2**10


def _first(bad: np.ndarray, values: np.ndarray, points: np.ndarray, name: str, written: str) -> str | None:
    if not bad.any():
        return None
    index = tuple(np.argwhere(bad)[0])
    return (f"point {int(points[index[0]])}'s summary holds {values[index]!r} in '{name}', where brink writes "
            f"{written}")


def replications_problem(file, finished: np.ndarray) -> str | None:
    """A point cannot run more replications than the file has slots: a forged count with its
    intervals made consistent read as a result 1,600 times more precise than the run."""
    if "replication" not in file:
        return None
    slots = file["replication"].shape[0]
    planned = np.asarray(file.attrs.get("replications", slots))
    if planned.size != 1 or planned.dtype.kind not in "iu" or int(planned.reshape(())) != slots:
        return (f"its root attribute 'replications' is {planned.tolist()!r}, where a run writes the length of its "
                f"dimension 'replication', {slots}")
    replications = np.asarray(file["replications"][()], dtype=np.int64)
    over = np.flatnonzero(replications > slots)
    if over.size:
        return (f"point {int(over[0])} counts {int(replications[over[0]])} replications in 'replications', more "
                f"than the {slots} of its dimension 'replication'")
    return None


# The summaries row_problem judges (open_results hands it those it read for their checksums).
ROW_VARIABLES = frozenset(("survival", "rung_share", "mean_casualties", "casualty_quantile", "mean_end_day",
                           "end_day_quantile", "mean_troops", "mean_belief", "agreement_probability"))


def row_problem(file, finished: np.ndarray, read: dict | None = None) -> str | None:
    """Means, quantiles, shares and survival of the finished points, as summary_check.cpp checks them;
    `read` holds the values of those already read (by name)."""
    points = np.flatnonzero(finished)
    if points.size == 0:
        return None
    read = {} if read is None else read

    def rows(name):
        if name not in file:
            return None
        values = read[name] if name in read else file[name][()]
        return np.asarray(values, dtype=float)[finished]

    troops = "a quantity of troops, at least 0"
    for name, written, valid in (
            ("survival", "a probability, in [0, 1]", lambda v: (v >= 0) & (v <= 1)),
            ("rung_share", "a share of replications, in [0, 1]", lambda v: (v >= 0) & (v <= 1 + _SLACK)),
            ("mean_casualties", troops, lambda v: np.isfinite(v) & (v >= 0)),
            ("casualty_quantile", troops, lambda v: np.isfinite(v) & (v >= 0)),
            ("mean_end_day", "a day, at least 0", lambda v: np.isfinite(v) & (v >= 0)),
            ("end_day_quantile", "a day, at least 0", lambda v: np.isfinite(v) & (v >= 0)),
            ("mean_troops", troops, lambda v: np.isfinite(v) & (v >= 0)),
            ("mean_belief", "a mean probability, in [0, 1]", lambda v: (v >= 0) & (v <= 1 + _SLACK)),
            ("agreement_probability", "a share of replications, in [0, 1]", lambda v: (v >= 0) & (v <= 1 + _SLACK))):
        values = rows(name)
        if values is not None:
            problem = _first(~valid(values), values, points, name, written)
            if problem is not None:
                return problem
    for name in ("casualty_quantile", "end_day_quantile"):
        values = rows(name)
        if values is not None:
            problem = _first(np.diff(values, axis=-1) < 0, values, points, name, "quantiles in order")
            if problem is not None:
                return problem
    shares = rows("rung_share")
    if shares is not None and shares.size:
        total = shares.sum(axis=-1)
        return _first(np.abs(total - 1) > _SLACK, total, points, "rung_share",
                      "shares of the replications that add up to 1 at each step (this is their sum)")
    return None


def outcome_code_problem(file, finished: np.ndarray) -> str | None:
    """Outcome codes outside 0..4 in the replications a finished point ran (later slots of an
    adaptive point hold fill values)."""
    if "outcome_code" not in file or file["outcome_code"].nbytes > _OUTCOME_CODE_BYTES:
        return None
    try:
        codes = np.asarray(file["outcome_code"][()], dtype=np.int64)
    except OSError:  # a damaged chunk: named, with its file and variable, when it is read
        return None
    replications = np.asarray(file["replications"][()], dtype=np.int64)
    ran = finished[:, None] & (np.arange(codes.shape[1])[None, :] < replications[:, None])
    bad = ran & ((codes < 0) | (codes >= _OUTCOMES))
    if not bad.any():
        return None
    point, replication = (int(i) for i in np.argwhere(bad)[0])
    return (f"the variable 'outcome_code' holds {int(codes[point, replication])} for replication {replication} of "
            f"point {point}, where brink writes an outcome from 0 to {_OUTCOMES - 1}")
