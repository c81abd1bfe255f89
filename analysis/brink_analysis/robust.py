"""Robust policies: comparing policy levers across states of the world.

A levers × uncertainties design runs every policy (a combination of lever
values, the parameters a decision maker sets) in every state of the world (a
combination of the other parameters, the uncertainties). brink writes such a
design as a mixed design (``--lever`` / ``sweep.levers`` crossed with a sampled
design of ``uncertainties``; the file's root attributes ``levers`` and
``uncertainties`` name them, so `levers` may be left out), as a grid over
levers and uncertainties, or as several files of the same sampled design of
uncertainties (same axes, seed and samples) each with the levers fixed by
``--set``: :func:`robustness_table` takes any of them.

Metrics per policy, for an outcome one wants rare (``direction="minimize"``,
e.g. full-scale war; ``"maximize"`` reverses every comparison):

- ``expected``: the mean probability over the states (each state counts once);
- ``worst`` / ``best``: the highest / lowest probability over the states;
- ``max_regret`` / ``mean_regret``: regret in a state is the policy's
  probability minus that of the best policy in the same state (Savage's
  minimax regret); the worst and the mean over the states;
- ``satisficing``: the share of states in which the probability is at or
  below `threshold` (Starr's domain criterion).

Every policy is compared in the same states: where unfinished files (an interrupted run, one
shard of a sweep) left some (policy, state) pairs of the design without results, the functions
compare the states every policy finished and warn (``attrs["incomplete"]``).

Each probability carries Monte Carlo noise, and so does each regret. Policies are paired under
common random numbers (``--set run.random_numbers=common``) or, under independent ones, when
each state is the same point index of files of the same seed (one file per policy), but pairing
removes the noise of a comparison only as far as the policies' replications follow the same
path. The table's ``attrs["regret_noise"]`` is the max_regret that noise alone gives (a binomial
simulation for unpaired policies, with a warning to use common random numbers; a bootstrap of
the replications, paired, otherwise, with a warning when the resamples do not keep the ranking's
leader, ``attrs["leader_share"]``); where it cannot be estimated (--summary-only files, a table) a
warning says so; policies that tie at the top get a warning too; docs/analysis.md, "Robust
policies".
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .checks import (OUTCOME_ROUNDING, at_least, at_most, name_list, not_a_dataset, probability, probability_sum,
                     rounding_ties)
from .discovery import outcome_names, outcomes_probability
from .io import (category_names, format_value, parameter_list_text, parameter_table, read_values, require, shard_of,
                 sweep_axes)
from .tables import _finished_replications

__all__ = ["design_roles", "policy_outcomes", "regret_table", "robustness_table"]

# Draws of _regret_noise's simulation or bootstrap, and the default seed that makes it the same number every time.
_NOISE_DRAWS, _NOISE_SEED = 200, 0

#: The share of paired bootstrap resamples in which the most robust policy must keep the smallest
#: max_regret for the ranking to be told from Monte Carlo noise (robustness_table warns below it).
LEADER_SHARE = 0.95

_NOT_PARAMETERS = {"point", "outcome", "probability", "lower", "upper", "count", "replications", "issue", "_file"}


def _checked_probabilities(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its ``probability`` column checked as probabilities (float, each in [0, 1]):
    a user's table may hold anything, and a NaN would otherwise read as a missing run (or as 0,
    summed over outcomes), a value above 1 or below 0 as a result."""
    column = frame["probability"]
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        raise ValueError(f"the table's 'probability' column is not numeric (dtype {column.dtype})")
    if frame.empty:
        raise ValueError("the table has no rows")
    values = column.to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(values)
    if missing.any():
        raise ValueError(f"the table's 'probability' column holds NaN in row {frame.index[int(np.argmax(missing))]!r}: "
                         "every (policy, state) pair needs a probability (leave out the rows of runs that did not finish)")
    outside = ~((values >= 0.0) & (values <= 1.0))
    if outside.any():
        first = int(np.argmax(outside))
        raise ValueError(f"the table's 'probability' column holds {values[first]!r} in row {frame.index[first]!r}, "
                         "which is not a probability in [0, 1]")
    frame = frame.copy()
    frame["probability"] = values
    return frame


def _check_data(data) -> None:
    """Raises the TypeError of `data` that is neither a Dataset, a non-empty list of Datasets nor a table."""
    if isinstance(data, (xr.Dataset, pd.DataFrame)):
        return
    if not isinstance(data, (list, tuple)) or not data or not all(isinstance(d, xr.Dataset) for d in data):
        got = not_a_dataset(data)
        if isinstance(data, (list, tuple)):
            bad = [d for d in data if not isinstance(d, xr.Dataset)]
            got += f" holding {not_a_dataset(bad[0])}" if bad else " (empty)"
        raise TypeError("data must be a Dataset, a non-empty list of Datasets (one per policy) or a table like "
                        f"outcome_table; got {got}")


def _frame(data, outcome: str | Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per finished point: parameter columns and ``probability`` of `outcome`, from a
    Dataset, a list of Datasets, or a DataFrame shaped like :func:`brink_analysis.outcome_table`
    (or with a ``probability`` column and one row per point); and the parameter columns of the
    files' points that did not finish (an interrupted run's, another shard's), which are the
    design's (policy, state) pairs still without results (none for a table, which has no record of
    them)."""
    if isinstance(data, xr.Dataset):
        data = [data]
    if isinstance(data, pd.DataFrame):
        frame = data
        if "probability" not in frame.columns:
            raise ValueError("the table needs a 'probability' column (see brink_analysis.outcome_table)")
        frame = _checked_probabilities(frame)
        if "outcome" in frame.columns:
            names = name_list(outcome, "outcome", split=True)
            missing = [n for n in names if n not in set(frame["outcome"])]
            if missing:
                raise ValueError(f"the table has no rows for outcome {missing[0]!r}; its outcomes: "
                                 f"{', '.join(map(str, pd.unique(frame['outcome'])))}")
            keys = [c for c in frame.columns if c not in _NOT_PARAMETERS] + (["point"] if "point" in frame else [])
            # dropna=False: a point without a parameter's value (a file that lacks the column)
            # must reach the check in policy_outcomes, not vanish from the grouping.
            frame = frame[frame["outcome"].isin(names)].groupby(keys, sort=False, as_index=False,
                                                                 dropna=False)["probability"].sum()
            frame["probability"] = probability_sum(frame["probability"].to_numpy(), names)
        # Without an outcome column the table holds one outcome's probability (docs/analysis.md), but it may
        # keep outcome_table's other columns: lower, upper, count, replications are no parameters, and taken
        # for uncertainties they made every row its own state of the world.
        frame = frame.drop(columns=[c for c in frame.columns if c in _NOT_PARAMETERS and c != "probability"])
        return frame, frame.iloc[:0].drop(columns="probability")
    _check_data(data)
    _distinct_files(data)
    frames, pending, origins, unfinished = [], [], [], []
    for index, ds in enumerate(data):
        require(ds, ["outcome_probability", "replications"], "outcome summaries",
                "open the whole file with open_results, not a selection of its variables")
        names = outcome_names(ds, outcome)
        table = parameter_table(ds).reset_index(drop=True)
        reps = _finished_replications(ds)
        finished = reps > 0
        pending.append(table[~finished])
        table["probability"] = outcomes_probability(ds, names)
        # Not parameters (_NOT_PARAMETERS): what the Monte Carlo noise of a cell depends on (_regret_noise).
        table["point"], table["replications"] = np.asarray(ds["point"].values), reps
        table["_file"] = index  # which of `data` holds the point's replications (_paired_noise)
        frames.append(table[finished])
        source = ds.encoding.get("source")
        origins += [f"{repr(source) if source else 'the dataset'} point {p}" for p in np.flatnonzero(finished)]
        if not finished.all():  # an interrupted run's or a shard's points: left out, and named if a state lacks them
            unfinished.append(_Unfinished(ds, finished))
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs["origin"] = origins  # each row's file and point, for errors that name them
    frame.attrs["unfinished"] = unfinished
    frame.attrs["independent"] = [repr(ds.encoding["source"]) if ds.encoding.get("source") else "the dataset"
                                  for ds in data if str(ds.attrs.get("random_numbers", "")) == "independent"]
    return frame, pd.concat(pending, ignore_index=True)


class _Unfinished:
    """A file that left points of its design without results: one shard of a sweep (finished, but
    holding only its own points), or an interrupted run; ``str()`` says how much it holds:
    ``'x.h5.partial' (38 of 96 points finished)``, ``'sh0.h5' (shard 0 of 2: 72 of 144 points)``."""

    def __init__(self, ds: xr.Dataset, finished: np.ndarray):
        source = ds.encoding.get("source")
        self.name = repr(source) if source else "a dataset"
        self.shard = shard_of(ds) if int(ds.attrs.get("complete", 0)) == 1 else None
        self.done, self.points = int(finished.sum()), finished.size

    def __str__(self) -> str:
        if self.shard is not None:
            return f"{self.name} (shard {self.shard[0]} of {self.shard[1]}: {self.done} of {self.points} points)"
        return f"{self.name} ({self.done} of {self.points} points finished)"


def _remedy(unfinished: Sequence[_Unfinished]) -> str:
    """What completes the design of the files `unfinished`: joining the shards, finishing the runs."""
    interrupted = [f for f in unfinished if f.shard is None]
    how = []
    if interrupted:
        how.append(f"finish {'it' if len(interrupted) == 1 else 'them'} with brink run ... --resume (the same "
                   "command with --resume)")
    if len(interrupted) < len(unfinished):
        how.append("join the shards with brink merge, or pass every shard's file")
    return " and ".join(how)


def design_roles(data) -> tuple[list[str], list[str]] | None:
    """(levers, uncertainties) recorded by a mixed design (the root attributes ``levers`` and
    ``uncertainties``), or None if `data` (a Dataset or a list of them) records none."""
    datasets = [data] if isinstance(data, xr.Dataset) else list(data) if isinstance(data, (list, tuple)) else []
    roles = {(str(ds.attrs.get("levers", "")), str(ds.attrs.get("uncertainties", ""))) for ds in datasets
             if isinstance(ds, xr.Dataset)}
    roles.discard(("", ""))
    if len(roles) != 1:
        return None
    levers, uncertainties = roles.pop()
    return levers.split(), uncertainties.split()


def _first_dataset(data) -> xr.Dataset | None:
    """The Dataset of `data` (a Dataset or a list of them) that speaks for its layout, or None for a table."""
    first = data if isinstance(data, xr.Dataset) else data[0] if isinstance(data, (list, tuple)) and data else None
    return first if isinstance(first, xr.Dataset) else None


def _category_names(data, path: str) -> dict[float, str] | None:
    """{index: name} of a categorical parameter of `data` (a Dataset or a list of them), or None."""
    first = _first_dataset(data)
    return category_names(first, path) if first is not None else None


def _value_name(data, path: str, value) -> str:
    """Text of a value of parameter `path` in a message: a categorical one's name (a file holds its
    index), any other as :func:`format_value` writes it."""
    names = _category_names(data, path) if not isinstance(value, str) else None
    return names.get(float(value), format_value(value)) if names else format_value(value)


def _roles(data, levers, uncertainties):
    """(levers, uncertainties) checked as lists of parameter paths, none both; levers default to the
    design's. `data` is checked first: the levers of no data are not the question."""
    _check_data(data)
    if uncertainties is not None:
        uncertainties = name_list(uncertainties, "uncertainty")
    if levers is not None:
        levers = name_list(levers, "lever", empty_ok=True)
    if not levers:
        roles = design_roles(data)
        if roles is None:
            raise ValueError("no levers given and the data records none (a mixed design's file has the attribute "
                             "'levers'): pass levers=[parameter paths]")
        levers, uncertainties = roles[0], uncertainties if uncertainties is not None else roles[1]
    both = [name for name in levers if name in (uncertainties or [])]
    if both:  # the pivot would then find no policy in every state, and say only that
        raise ValueError(f"'{both[0]}' is named both as a lever and as an uncertainty; a parameter is one or the other")
    return levers, uncertainties


def _distinct_files(data) -> None:
    """Refuses a list of Datasets that holds one file twice: each policy's file is given once."""
    seen = set()
    for ds in data:
        source = ds.encoding.get("source")
        key = os.path.realpath(source) if source else id(ds)
        if key in seen:
            raise ValueError(f"the file '{source}' is given twice; give each policy's file once" if source
                             else "the same dataset is given twice; give each policy's file once")
        seen.add(key)


def _settings(ds: xr.Dataset, levers: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """What a file's ``overrides`` attribute changed besides the levers: ({--set path: value}, the
    other lines in order: sweeps, design, samples, ...). Left out: the levers' own lines, and
    ``run.replications``, ``run.seed`` and ``output.*``, which the root attributes ``replications``
    and ``seed`` state whether or not an option set them (and output options change no result)."""
    def path_of(text: str) -> str:
        return text.split("=", 1)[0].strip()

    sets, others = {}, []
    for line in str(ds.attrs.get("overrides", "")).splitlines():
        kind, _, rest = line.partition(" ")
        if kind in ("sweep", "lever") and rest:
            if path_of(rest) not in levers:
                others.append(line)
        elif "=" in line and " " not in path_of(line):
            path = path_of(line)
            if path not in levers and path not in ("run.replications", "run.seed") and not path.startswith("output."):
                sets[path] = line.split("=", 1)[1]
        elif line.strip():
            others.append(line)
    return sets, others


def _value_key(text: str) -> tuple:
    """An option's value as compared between files: split at ``:`` and ``,`` (a range, a list of
    grid values), each part a number where it reads as a finite one, else its text. ``0.5`` and
    ``.5``, or ``0:0.6`` and ``0.0:0.60``, are one value (both files hold 0.5, and sample the same
    points); compared as text they made one study look like two."""
    parts = re.split(r"([:,])", text.strip())
    key = []
    for part in parts:
        try:
            number = float(part)
        except ValueError:
            number = None
        key.append(number if number is not None and np.isfinite(number) else part.strip())
    return tuple(key)


def _line_key(line: str) -> tuple:
    """An ``overrides`` line (``sweep PATH=0:0.6``, ``samples 20``) as compared between files: the
    kind, the path and the value's :func:`_value_key`."""
    kind, _, rest = line.strip().partition(" ")
    path, equals, value = rest.partition("=")
    return (kind, path.strip(), _value_key(value)) if equals else (kind, _value_key(rest))


def _study_difference(a: xr.Dataset, b: xr.Dataset, levers: Sequence[str]) -> str | None:
    """How the files `a` and `b` differ as studies, apart from the levers (None if they do not)."""
    def attr(ds: xr.Dataset, name: str):
        return ds.attrs.get(name)

    if attr(a, "scenario") is not None and attr(b, "scenario") is not None and attr(a, "scenario") != attr(b, "scenario"):
        names = [f"'{attr(ds, 'scenario_name')}' from {attr(ds, 'scenario_source')}" for ds in (a, b)]
        return (f"they run different scenarios ({names[0]} and {names[1]})" if names[0] != names[1]
                else f"they run different texts of the scenario {names[0]}")
    if attr(a, "scenario_name") != attr(b, "scenario_name"):
        return f"they run different scenarios ('{attr(a, 'scenario_name')}' and '{attr(b, 'scenario_name')}')"
    if str(attr(a, "inputs") or "") != str(attr(b, "inputs") or ""):
        return "they read different scenario choices or calibration files (root attribute inputs)"
    for name, what in (("replications", "replications per point"), ("seed", "seeds")):
        if attr(a, name) is not None and attr(b, name) is not None and int(attr(a, name)) != int(attr(b, name)):
            return f"they have different {what} ({int(attr(a, name))} and {int(attr(b, name))})"
    (sets_a, others_a), (sets_b, others_b) = _settings(a, levers), _settings(b, levers)
    for path in list(sets_a) + [p for p in sets_b if p not in sets_a]:
        if path in sets_a and path in sets_b and _value_key(sets_a[path]) == _value_key(sets_b[path]):
            continue
        if sets_a.get(path) != sets_b.get(path):
            shown = [f"{path}={sets[path]}" if path in sets else f"no --set of {path}" for sets in (sets_a, sets_b)]
            return (f"they set {path}, which is no lever, differently (--set {shown[0]} and {shown[1]})"
                    if path in sets_a and path in sets_b else
                    f"one sets {path}, which is no lever, and the other does not ({shown[0]}; {shown[1]})")
    if [_line_key(line) for line in others_a] != [_line_key(line) for line in others_b]:
        return (f"their designs differ ({'; '.join(others_a) or 'none'} against {'; '.join(others_b) or 'none'})")
    return None


def _same_study(data: Sequence[xr.Dataset], levers: Sequence[str]) -> None:
    """Refuses files of one policy each that are not one study apart from the levers: regret compares
    policies in the same states of the world, under the same model, so another scenario, another
    --set besides the levers, other replications or another seed would be compared as if it were
    the policy's doing."""
    first = data[0]
    for other in data[1:]:
        why = _study_difference(first, other, levers)
        if why is not None:
            names = [ds.encoding.get("source", "a dataset") for ds in (first, other)]
            raise ValueError(f"'{names[0]}' and '{names[1]}' are not the same study apart from the levers "
                             f"({', '.join(levers)}): {why}")


def policy_outcomes(
    data,
    levers: Sequence[str] | None = None,
    outcome: str | Sequence[str] = "full_war",
    uncertainties: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The probability of `outcome` as a table with one row per state of the world (a MultiIndex
    over `uncertainties`, default: the file's recorded uncertainties, else every other sweep axis
    that varies) and one column per policy (a MultiIndex over `levers`, default: the file's
    recorded levers). ValueError if the design does not cross every policy with the same states;
    unfinished files compare the states every policy finished, and independent random numbers
    warn, as in :func:`robustness_table` (``attrs["incomplete"]`` as there)."""
    return _compared(data, levers, outcome, uncertainties, "minimize")[0]


def _compared(data, levers, outcome, uncertainties, direction: str, seed: int = _NOISE_SEED):
    """(probabilities, regrets, regret noise, incomplete) of the policies (:func:`policy_outcomes`,
    :func:`regret_table`, :func:`_regret_noise`; `incomplete` is (states compared, states of the
    design) when unfinished files left the policies only some states in common, else None),
    warning once each, on behalf of the public function that called it, when only those states
    are compared and when Monte Carlo noise enters the regrets. Both matrices carry
    ``attrs["incomplete"]``."""
    levers, uncertainties = _roles(data, levers, uncertainties)
    keys, matrix, uncertainties, independent, incomplete = _policy_keys(data, levers, outcome, uncertainties)
    if direction not in ("minimize", "maximize"):  # after the data's checks, as before
        raise ValueError(f"direction must be 'minimize' or 'maximize'; got {direction!r}")
    regret = pd.DataFrame(_regret(matrix.to_numpy(), direction), index=matrix.index, columns=matrix.columns)
    if incomplete is not None:
        warnings.warn(incomplete[2], RuntimeWarning, stacklevel=3)
        incomplete = incomplete[:2]
    matrix.attrs["incomplete"] = regret.attrs["incomplete"] = incomplete
    points = keys.pivot_table(index=uncertainties, columns=levers, values="point", aggfunc="first").to_numpy(float) \
        if "point" in keys else None
    unpaired = bool(independent) and points is not None and not (points == points[:, :1]).all()
    noise, draws = _regret_noise(keys, levers, uncertainties, direction, data, outcome, seed,
                                 independent=bool(independent))
    leader_share = None
    if unpaired and noise is not None:
        warnings.warn(f"{' and '.join(independent)} ran the policies under independent random numbers, so each "
                      f"regret holds Monte Carlo noise (policies identical in every state would show a max_regret "
                      f"up to about {noise:.2g} here): compare policies under common random numbers, --set "
                      "run.random_numbers=common (docs/analysis.md, \"Robust policies\")", RuntimeWarning, stacklevel=3)
    elif noise is None and regret.shape[1] > 1:
        why = ("a table records neither the random numbers nor the replications behind its probabilities"
               if isinstance(data, pd.DataFrame) else
               "the files hold no per-replication outcomes (written with --summary-only)")
        warnings.warn(f"the Monte Carlo noise of the regrets is not estimated: {why}, so nothing here tells whether "
                      "the gaps between the policies' max_regrets are more than noise; run without --summary-only "
                      "to estimate it, or compare the ranking with a run of another --seed (docs/analysis.md, "
                      "\"Robust policies\")", RuntimeWarning, stacklevel=3)
    elif draws is not None and regret.shape[1] > 1:
        worst = regret.max(axis=0).to_numpy()
        expected = matrix.mean(axis=0).to_numpy()
        leader = int(_most_robust_first(pd.DataFrame({"max_regret": worst, "expected": expected,
                                                      "at": np.arange(len(worst))}), direction)["at"].iloc[0])
        others = np.delete(draws, leader, axis=1).min(axis=1)
        leader_share = float(np.mean(draws[:, leader] <= others + OUTCOME_ROUNDING))
        ranked = np.sort(rounding_ties(worst))
        if leader_share < LEADER_SHARE and ranked[1] > ranked[0]:
            warnings.warn(f"the two smallest maximum regrets ({ranked[0]:.2g} and {ranked[1]:.2g}) are not a stable "
                          f"ranking: the policy with the smallest has the smallest in only {leader_share:.0%} of "
                          f"{_NOISE_DRAWS} bootstrap resamples of the replications, paired across the policies "
                          f"(at least {LEADER_SHARE:.0%} would tell it apart): the data cannot tell which policy is "
                          "most robust; run more replications (-n), or read max_regret and its gaps against "
                          "regret_noise (docs/analysis.md, \"Robust policies\")", RuntimeWarning, stacklevel=3)
    matrix.attrs["leader_share"] = regret.attrs["leader_share"] = leader_share
    matrix.attrs["regret_noise"] = regret.attrs["regret_noise"] = noise
    return matrix, regret, noise, incomplete


def _policy_keys(data, levers: list[str], outcome, uncertainties):
    """(one row per (policy, state) compared: the levers' and uncertainties' values, rounded to
    match across files, ``probability`` and, from files, ``point`` and ``replications``; its
    (state × policy) matrix of probabilities, categorical values named; the uncertainties; the
    files run under independent random numbers; and, when files left (policy, state) pairs of
    their design without results, ``(states compared, states of the design, why)``, else None),
    every pair checked to be there once.

    The states compared are the same for every policy: when an interrupted run or one shard
    left some pairs without results, only the states every policy finished are compared (with
    fewer than two, ValueError naming how many states each policy lacks)."""
    frame, pending = _frame(data, outcome)
    params = [c for c in frame.columns if c not in _NOT_PARAMETERS]
    uncertainties = _uncertainties(data, frame, params, levers, uncertainties)
    for name in levers + uncertainties:
        if frame[name].isna().any():
            raise ValueError(f"parameter '{name}' has no value at some points (files of different designs?); "
                             "every file must record the same levers and uncertainties")
    if isinstance(data, (list, tuple)) and len(data) > 1:  # after the checks above, whose reasons are plainer
        _same_study(data, levers)
    names = levers + uncertainties
    keys = _rounded(frame, names)
    for column in ("probability", "point", "replications", "_file"):
        if column in frame:
            keys[column] = frame[column].to_numpy()
    if keys.duplicated(names).any():
        raise ValueError(_repeated_pair(data, frame, keys, levers, names, params))
    matrix = keys.pivot_table(index=uncertainties, columns=levers, values="probability", aggfunc="first")
    # The pairs of the files' design that have no results yet (an interrupted run's, another shard's):
    # their states and policies are the design's too, or an unfinished policy would drop out unseen.
    unrun = _rounded(pending, names).dropna().drop_duplicates()
    design = pd.concat([keys[names], unrun], ignore_index=True).drop_duplicates()
    design["_in"] = 1.0
    design = design.pivot_table(index=uncertainties, columns=levers, values="_in", aggfunc="first")
    matrix = matrix.reindex(index=design.index, columns=design.columns)
    if len(matrix.index) < 2:  # uncertainties named that do not vary: as when none varies
        raise ValueError(f"the uncertainties ({', '.join(uncertainties)}) take one value each in the data: "
                         "robustness needs several states of the world")
    named = _named_levels(data, matrix.copy())
    if (matrix.isna() & design.isna()).any().any():  # pairs the design itself lacks
        bad = named.columns[(matrix.isna() & design.isna()).any()].tolist()
        raise ValueError(f"policy {bad[0]} was not run in every state of the world "
                         f"({int((matrix.isna() & design.isna()).sum().sum())} (policy, state) pairs missing); the "
                         "design must cross every policy with the same states")
    incomplete = None
    if matrix.isna().any().any():  # pairs without results: compare the states every policy finished
        done, incomplete = _finished_states(frame, matrix, named)
        keys = keys[keys.set_index(uncertainties).index.isin(matrix.index[done])].reset_index(drop=True)
        named = named[done]
    return keys, named, uncertainties, frame.attrs.get("independent") or [], incomplete


def _uncertainties(data, frame: pd.DataFrame, params: list[str], levers: list[str], uncertainties) -> list[str]:
    """_policy_keys' uncertainties: those named (every lever and uncertainty checked to be a
    parameter of `params`), or by default every sweep axis besides the levers that varies."""
    for kind, names in (("lever", levers), ("uncertainty", uncertainties or [])):
        for name in names:
            if name not in params:
                raise ValueError(f"{kind} '{name}' is not a parameter of the data; its parameters: "
                                 f"{parameter_list_text(params)}")
    if uncertainties is None:
        # A field that follows a scenario choice varies too, but it is part of the choice, not a
        # state: a file says which parameters are sweep axes; a table does not, but such a field
        # takes one value in each policy when the choice is a lever (it follows the levers).
        first = _first_dataset(data)
        axes = sweep_axes(first) if first is not None else params
        uncertainties = [p for p in params if p not in levers and p in axes and frame[p].nunique() > 1
                         and not _follows(frame, p, levers)]
    uncertainties = list(uncertainties)
    if not uncertainties:
        raise ValueError("no uncertainty varies besides the levers: robustness needs several states of the world")
    return uncertainties


def _finished_states(frame: pd.DataFrame, matrix: pd.DataFrame, named: pd.DataFrame) -> tuple[np.ndarray, tuple]:
    """Which states of the (state x policy) `matrix` every policy finished, and _policy_keys'
    ``(states compared, states of the design, why)``; ValueError naming how many states each policy
    lacks (`named`: the matrix with categorical values named) if fewer than two are left."""
    unfinished = frame.attrs.get("unfinished") or []
    files = (f"{'; '.join(map(str, unfinished))} {'has' if len(unfinished) == 1 else 'have'} no results at "
             "some points")
    done = matrix.notna().all(axis=1).to_numpy()
    if done.sum() < 2:
        lacking = named.isna().sum()
        each = ", ".join(f"{policy} lacks {int(count)}" for policy, count in lacking.items() if count)
        raise ValueError(f"only {int(done.sum())} of the design's {len(matrix)} states of the world have results "
                         f"for every policy, too few to compare them, because {files} (of the {len(matrix)} "
                         f"states, policy {each}): {_remedy(unfinished)}, or leave the file out")
    incomplete = (int(done.sum()), len(matrix),
                  f"{files}, so only {int(done.sum())} of the design's {len(matrix)} states of the world have "
                  "results for every policy, and the policies are compared in those alone, which need not be a "
                  f"representative subset (a grid's first rows, say): {_remedy(unfinished)} to compare them in "
                  "every state")
    return done, incomplete


def _rounded(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The columns `names` of `frame` as keys that match across files: values written by the design
    read back exactly, but they are rounded to 12 significant digits (:func:`_significant`) so
    that separately written files of one design match on every platform; a categorical one in a
    table (outcome_table names it) is kept as it is."""
    return pd.DataFrame({name: _significant(frame[name]) if pd.api.types.is_numeric_dtype(frame[name])
                         else frame[name] for name in names}, index=frame.index)


def _follows(frame: pd.DataFrame, name: str, levers: list[str]) -> bool:
    """Whether parameter `name` takes one value in each policy (its values follow the levers', as a
    field set by a scenario choice that is a lever does), so that it cannot tell states apart."""
    return bool((frame.groupby(levers, dropna=False, sort=False)[name].nunique(dropna=False) <= 1).all())


def _repeated_pair(data, frame: pd.DataFrame, keys: pd.DataFrame, levers: list[str], names: list[str],
                   params: list[str]) -> str:
    """Why two rows of `frame` (one per point) are one (policy, state) pair of `keys` (their values
    of the levers and uncertainties `names`, rounded), naming their files and points: values that
    agree to 12 significant digits (20000 and 20000.0000000001, which the rounding makes one),
    another parameter that varies but is neither lever nor uncertainty, or two files of one policy."""
    second = int(np.flatnonzero(keys.duplicated(names))[0])
    first = int(np.flatnonzero((keys[names] == keys[names].iloc[second]).all(axis=1))[0])
    origin = frame.attrs.get("origin")
    where = [origin[i] if origin is not None and len(origin) == len(frame) else f"row {frame.index[i]!r} of the table"
             for i in (first, second)]
    both = f"{where[0]} and {where[1]}"

    def differs(name: str) -> bool:
        a, b = frame[name].iloc[first], frame[name].iloc[second]
        return not (a == b or (pd.isna(a) and pd.isna(b)))

    rounded = [name for name in names if differs(name)]
    if rounded:
        name = rounded[0]
        return (f"{both} are one (policy, state) pair: their values of {name}, {float(frame[name].iloc[first])!r} "
                f"and {float(frame[name].iloc[second])!r}, agree to 12 significant digits, to which robustness tables round "
                "parameters so that files of one design written apart match; make them differ within 12 digits, "
                "or drop one")
    others = [name for name in params if name not in names and differs(name)]
    if others:
        return (f"{both} are one (policy, state) pair but differ in {others[0]}, which is neither a lever nor an "
                "uncertainty; name every parameter that varies as one or the other")
    policy = ", ".join(f"{name}={_value_name(data, name, frame[name].iloc[first])}" for name in levers)
    once = "pass each policy's file once" if origin is not None else "give each pair one row"
    return (f"{both} are the same (policy, state) pair, with every parameter equal ({policy} in the same state): "
            f"each policy must be run once in each state, so {once}")


def _significant(values: pd.Series, digits: int = 12) -> pd.Series:
    """`values` as floats rounded to `digits` significant digits (relative rounding: 1e-12 and 2e-12
    stay apart, 0.1 + 0.2 and 0.3 become one)."""
    floats = values.to_numpy(dtype=float, na_value=np.nan)
    rounded = [float(f"{v:.{digits}g}") for v in floats]
    return pd.Series(rounded, index=values.index, name=values.name, dtype=float)


def _named_levels(data, matrix: pd.DataFrame) -> pd.DataFrame:
    """`matrix` with a categorical parameter's values (combat.law, ...) shown by name, not index, in its
    row and column labels."""
    def renamed(index: pd.Index) -> pd.Index:
        levels = index.levels if isinstance(index, pd.MultiIndex) else [index]
        names = [_category_names(data, name) if name is not None else None for name in index.names]
        if not any(names):
            return index
        named = [level.map(lambda v, n=n: n.get(float(v), v)) if n else level for level, n in zip(levels, names)]
        if isinstance(index, pd.MultiIndex):
            return index.set_levels(named)
        return pd.Index(named[0], name=index.name)
    matrix.index = renamed(matrix.index)
    matrix.columns = renamed(matrix.columns)
    return matrix


def regret_table(data, levers=None, outcome="full_war", uncertainties=None, direction: str = "minimize") -> pd.DataFrame:
    """Regret of each policy (columns) in each state of the world (rows): its probability minus that
    of the best policy in the state (``direction="minimize"``), or the best minus its own (``"maximize"``).
    RuntimeWarning when the policies ran under independent random numbers (:func:`robustness_table`)."""
    return _compared(data, levers, outcome, uncertainties, direction)[1]


def _regret(matrix: np.ndarray, direction: str) -> np.ndarray:
    """The regrets of (state × policy) probabilities, or of a stack of such matrices (the last axis
    the policies): each minus the best in its state (``"minimize"``), or the best minus each."""
    best = matrix.min(axis=-1, keepdims=True) if direction == "minimize" else matrix.max(axis=-1, keepdims=True)
    regret = matrix - best if direction == "minimize" else best - matrix
    return regret + 0.0  # -0.0 (a negated 0) prints as "-0.0": the best policy's regret is 0


def _regret_noise(keys: pd.DataFrame, levers: list[str], uncertainties: list[str], direction: str,
                  data=None, outcome=None, seed: int = _NOISE_SEED,
                  independent: bool = True) -> tuple[float | None, np.ndarray | None]:
    """The max_regret that policies identical in every state would show from Monte Carlo noise
    alone: the 95th percentile over the policies of 200 simulated or bootstrapped designs, or None
    when it cannot be estimated (a table, whose random numbers and replications are unknown, or
    paired files without per-replication outcomes, written with --summary-only); and, for paired
    policies, every policy's max_regret in each bootstrap resample (else None).

    Unpaired policies (`independent` random numbers in a mixed design or a grid: each policy runs
    a state at its own point, whose streams depend on the index): in each state every policy's
    count is drawn from the binomial of the state's pooled probability and the cell's
    replications. Paired policies (common random numbers, or one file per policy of the same seed:
    a state is the same point index in every file): a bootstrap of the replications within each
    state that resamples the same replication index for every policy (:func:`_paired_noise`),
    which keeps the pairing and so measures what common random numbers did and did not remove."""
    def pivot(column: str) -> np.ndarray:
        return keys.pivot_table(index=uncertainties, columns=levers, values=column, aggfunc="first").to_numpy(float)

    if isinstance(data, pd.DataFrame) or "point" not in keys or "_file" not in keys:
        return None, None
    points = pivot("point")
    if not independent or (points == points[:, :1]).all():
        return _paired_noise(keys, pivot, direction, data, outcome, seed) if data is not None else (None, None)
    p, n = pivot("probability"), pivot("replications").astype(np.int64)
    pooled = np.clip((p * n).sum(axis=1, keepdims=True) / n.sum(axis=1, keepdims=True), 0.0, 1.0)  # 1 + 1 ulp
    pooled = np.broadcast_to(pooled, n.shape)
    drawn = np.random.default_rng(seed).binomial(n, pooled, size=(_NOISE_DRAWS, *n.shape)) / n
    return float(np.quantile(_regret(drawn, direction).max(axis=1), 0.95)), None


def _outcome_codes(ds: xr.Dataset, names: Sequence[str]) -> list[float]:
    """The values ``outcome_code`` takes for the outcomes `names` (its flag_values and flag_meanings,
    else the outcome coordinate's positions)."""
    attrs = ds["outcome_code"].attrs
    meanings = str(attrs.get("flag_meanings", "")).split()
    values = list(np.asarray(attrs.get("flag_values", []), dtype=float).ravel())
    if not meanings or len(meanings) != len(values):
        meanings, values = [str(o) for o in ds["outcome"].values], list(range(ds.sizes["outcome"]))
    return [float(values[meanings.index(name)]) for name in names]


def _paired_noise(keys: pd.DataFrame, pivot, direction: str, data, outcome,
                  seed: int) -> tuple[float | None, np.ndarray | None]:
    """:func:`_regret_noise` of paired policies, from the files' per-replication ``outcome_code``:
    200 bootstrap resamples of the replication indices, the same indices for every policy and
    every state. The replication is the unit that is independent: under common random numbers
    replication r draws the same numbers at every point, so it couples the policies of a state
    (as far as their paths stay alike) and also the states (a lucky replication is lucky in
    many), and resampling it whole keeps both; under independent numbers the states' streams are
    independent and stay so. Each policy's resampled probability in a state minus its estimate is
    its noise, and the regrets of those deviations (policies identical in every state, with the
    noise the design really has) give max_regrets whose 95th percentile over the draws and
    policies is returned, with the max_regret of every policy in every resample (draws × policies),
    which :func:`_compared` reads the stability of the ranking from. None without ``outcome_code``
    in every file."""
    datasets = [data] if isinstance(data, xr.Dataset) else list(data)
    if not all("outcome_code" in ds.variables for ds in datasets):
        return None, None
    files, points = pivot("_file").astype(np.int64), pivot("point").astype(np.int64)
    n = int(pivot("replications").min())  # the replications every compared cell ran (all of them, as a rule)
    if n < 1:
        return None, None
    hits = np.empty((n, *points.shape), dtype=np.float64)  # (replication, state, policy)
    for index, ds in enumerate(datasets):
        mine = files == index
        if not mine.any():
            continue
        codes = _outcome_codes(ds, outcome_names(ds, outcome))
        position = {int(v): i for i, v in enumerate(np.asarray(ds["point"].values))}
        wanted = sorted(set(points[mine].tolist()))
        code = read_values(ds["outcome_code"].isel(point=[position[p] for p in wanted], replication=slice(0, n)), ds)
        row = {p: i for i, p in enumerate(wanted)}
        hit = np.isin(np.asarray(code, dtype=float).reshape(len(wanted), n), codes)
        for s, j in zip(*np.nonzero(mine)):
            hits[:, s, j] = hit[row[int(points[s, j])]]
    flat = hits.reshape(n, -1)
    weights = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=_NOISE_DRAWS)  # (draws, n)
    resampled = (weights @ flat / n).reshape(_NOISE_DRAWS, *points.shape)
    deviation = resampled - flat.mean(axis=0).reshape(points.shape)
    return (float(np.quantile(_regret(deviation, direction).max(axis=1), 0.95)),
            _regret(resampled, direction).max(axis=1))


def _seed(seed) -> int:
    """`seed` checked as a non-negative integer (numpy's generators take no other)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    return int(seed)


def _most_robust_first(table: pd.DataFrame, direction: str) -> pd.DataFrame:
    """`table` sorted by maximum regret, smallest first, then by expected value, best first, each
    up to rounding (:func:`~brink_analysis.checks.rounding_ties`): maximum regrets of
    0.29999999999999993 and 0.30000000000000004 are a tie, which the expected value breaks."""
    keys = pd.DataFrame({"regret": rounding_ties(table["max_regret"]), "expected": rounding_ties(table["expected"])},
                        index=table.index)
    order = keys.sort_values(["regret", "expected"], ascending=[True, direction == "minimize"], kind="stable").index
    return table.loc[order].reset_index(drop=True)


def robustness_table(
    data,
    levers: Sequence[str] | None = None,
    outcome: str | Sequence[str] = "full_war",
    *,
    threshold: float = 0.1,
    uncertainties: Sequence[str] | None = None,
    direction: str = "minimize",
    seed: int = _NOISE_SEED,
) -> pd.DataFrame:
    """Robustness of each policy against the states of the world: one row per policy (lever values
    as columns), with ``expected``, ``worst``, ``best``, ``max_regret``, ``mean_regret``,
    ``satisficing`` (share of states at or below `threshold`, or at or above it with
    ``direction="maximize"``) and ``states``, most robust first (smallest maximum regret, then
    best expected value, each up to rounding: 1e-12). `data` is a Dataset, a list of Datasets (one per policy) or a table like
    :func:`brink_analysis.outcome_table`; see the module documentation for the definitions.

    ``table.attrs["regret_noise"]`` is the max_regret that policies identical in every state would
    show from Monte Carlo noise alone (:func:`_regret_noise`); a max_regret, or a gap between two,
    below it cannot be told from noise. When the policies ran unpaired under independent random
    numbers (a mixed design or a grid; root attribute ``random_numbers``) it comes from a binomial
    simulation, and a RuntimeWarning says that each regret holds Monte Carlo noise and to use
    ``--set run.random_numbers=common``. When they are paired (common random numbers, or one file
    per policy of the same seed) it comes from a bootstrap of the replications within each state,
    the same replication indices for every policy (so it measures how much noise the pairing left:
    common random numbers couple two policies only where their replications follow the same
    path, and reordering or adding an action, say, breaks that). ``table.attrs["leader_share"]`` is
    then the share of those resamples in which the first policy of the table has the smallest
    max_regret (ties count for it), and a RuntimeWarning says that the data cannot tell which
    policy is most robust when it is below :data:`LEADER_SHARE` (95%). Both are None for a table,
    or for paired files without per-replication outcomes (--summary-only), and a RuntimeWarning
    then says that the noise is not estimated. `seed` (an integer, default 0) seeds the
    simulation or bootstrap: the same data and seed give the same numbers.
    ``table.attrs["tied"]`` is the number of policies that tie with the first on max_regret and
    expected (up to rounding); above 1 a RuntimeWarning says that their order is no ranking.

    Every policy is compared in the same states. When files left some (policy, state) pairs of
    their design without results (an interrupted run, one shard of a sweep), the table compares
    the policies in the states every one of them finished, with a RuntimeWarning naming the
    files and how to complete them, and ``table.attrs["incomplete"]`` is (states compared,
    states of the design); None otherwise. With fewer than two such states it is a ValueError
    naming how many states each policy lacks."""
    threshold = probability(threshold, "threshold")
    seed = _seed(seed)
    matrix, regret, noise, incomplete = _compared(data, levers, outcome, uncertainties, direction, seed)
    if matrix.shape[1] < 2:
        warnings.warn("only one policy: regret compares policies, so max_regret and mean_regret are 0 by "
                      "definition; give a lever two or more values", RuntimeWarning, stacklevel=2)
    worse = np.max if direction == "minimize" else np.min
    better = np.min if direction == "minimize" else np.max
    ok = at_most(matrix, threshold) if direction == "minimize" else at_least(matrix, threshold)
    table = pd.DataFrame(
        {
            "expected": matrix.mean(axis=0),
            "worst": matrix.apply(worse, axis=0),
            "best": matrix.apply(better, axis=0),
            "max_regret": regret.max(axis=0),
            "mean_regret": regret.mean(axis=0),
            "satisficing": ok.mean(axis=0),
            "states": matrix.count(axis=0),
        }
    )
    table = _most_robust_first(table.reset_index(), direction)
    table.attrs.update(outcome=",".join(name_list(outcome, "outcome", split=True)), threshold=threshold,
                       direction=direction, levers=list(matrix.columns.names), regret_noise=noise,
                       incomplete=incomplete, leader_share=matrix.attrs.get("leader_share"),
                       tied=_tied_at_the_top(table))
    if table.attrs["tied"] > 1:
        names = list(matrix.columns.names)
        tied = [", ".join(f"{name}={_value_name(data, name, table[name].iloc[i])}" for name in names)
                for i in range(table.attrs["tied"])]
        warnings.warn(f"{table.attrs['tied']} policies tie at the top, with the same max_regret "
                      f"({table['max_regret'].iloc[0]:.4g}) and expected value ({table['expected'].iloc[0]:.4g}): "
                      f"{'; '.join(tied)}; their order in the table is the order of the levers' values, not a "
                      "ranking", RuntimeWarning, stacklevel=2)
    return table


def _tied_at_the_top(table: pd.DataFrame) -> int:
    """How many policies of `table` (most robust first) tie with the first on both keys of the
    ranking, max_regret and expected, up to rounding (1 when the first stands alone)."""
    if table.empty:
        return 0
    regret, expected = rounding_ties(table["max_regret"]), rounding_ties(table["expected"])
    return int(np.sum((regret == regret[0]) & (expected == expected[0])))
