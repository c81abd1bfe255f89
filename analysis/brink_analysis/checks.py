"""Checks of the arguments the package takes: one function per kind of argument.

Every public function refuses a bad argument through these, so that the same
kind of argument gets the same one-sentence error everywhere (TypeError for a
value of the wrong type, ValueError for one out of range), naming the argument
and its value, instead of an exception from deep inside numpy, pandas,
scikit-learn or matplotlib, or a silently wrong number.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["FIGURE_FORMATS", "OUTCOME_ROUNDING", "at_least", "at_most", "cases", "dataset", "figure_file", "interest",
           "name_list", "not_a_dataset", "positive_int", "probability", "probability_sum", "rounding_ties", "share"]

#: The figure formats :func:`brink_analysis.save_figure` writes, by the file's suffix (the first is
#: the default): those whose metadata it knows how to keep out, so that a figure gives the same bytes.
FIGURE_FORMATS = ("png", "pdf", "svg")

# Outcome probabilities are counts over replications, so a sum over distinct outcomes can exceed 1
# only by rounding; anything larger means an outcome was counted twice.
_SUM_ROUNDING = 1e-9

#: Outcomes (or densities, regrets, thresholds) that differ by no more than this are the same: a sum,
#: difference or mean of probabilities rounds differently from point to point (0.7 + 0.2 is
#: 0.8999999999999999, 0.30000000000000004 against 0.29999999999999993). Comparisons of such
#: numbers with a threshold go through :func:`at_least` or :func:`at_most`, rankings through
#: :func:`rounding_ties`; PRIM's default box and pasting count a rise of no more than this as none.
OUTCOME_ROUNDING = 1e-12


def at_least(values, threshold: float):
    """``values >= threshold`` up to rounding (:data:`OUTCOME_ROUNDING`), elementwise: a sum of
    probabilities that is the threshold in exact arithmetic (0.7 + 0.2 against 0.9) reaches it."""
    return values >= threshold - OUTCOME_ROUNDING


def at_most(values, threshold: float):
    """``values <= threshold`` up to rounding (:data:`OUTCOME_ROUNDING`), elementwise (0.1 + 0.2 <= 0.3)."""
    return values <= threshold + OUTCOME_ROUNDING


def rounding_ties(values) -> np.ndarray:
    """`values` with those that differ by rounding only made equal, for ranking: in increasing
    order, each value within :data:`OUTCOME_ROUNDING` of the smallest of the group before it joins
    that group and becomes its smallest (0.30000000000000004 and 0.29999999999999993 both become
    the latter), so that a tie-break decides between them, not the last bit. NaN stays NaN."""
    v = np.asarray(values, dtype=float)
    order = np.argsort(v, kind="stable")
    ranked = v[order].copy()
    for i in range(1, len(ranked)):
        if ranked[i] - ranked[i - 1] <= OUTCOME_ROUNDING:  # NaN compares False: a run of its own
            ranked[i] = ranked[i - 1]
    out = np.empty_like(v)
    out[order] = ranked
    return out


def dataset(value, what: str = "ds", *, variable_ok: bool = False):
    """`value` checked to be an opened result file: an :class:`xarray.Dataset` (or, with
    `variable_ok`, a variable of one, an :class:`xarray.DataArray`). TypeError naming `what`
    otherwise, saying what to do with the usual mistakes: a file name (open it first) and one
    variable of the file where the whole file is needed."""
    kinds = (xr.Dataset, xr.DataArray) if variable_ok else (xr.Dataset,)
    if isinstance(value, kinds):
        return value
    expected = "an xarray Dataset" + (" (or one of its variables)" if variable_ok else "")
    raise TypeError(f"{what} must be {expected} opened with brink_analysis.open_results; got {not_a_dataset(value)}")


def not_a_dataset(value) -> str:
    """What `value`, given where an opened result file belongs, is, for the TypeError of
    :func:`dataset` (and of functions that take a list of files too): its type, and for a file
    name or one variable of a file, what to pass instead."""
    got = type(value).__name__
    if isinstance(value, (str, os.PathLike)):
        got += f" ({str(value)!r}); open the file first: brink_analysis.open_results(path)"
    elif isinstance(value, xr.DataArray):
        got += f" ({value.name!r}); pass the whole Dataset, not one of its variables"
    return got


def name_list(value, what: str, *, split: bool = False, empty_ok: bool = False) -> list[str]:
    """`value` (one name, or a sequence of names) as a list of str, refusing repeats.

    A str is one name, not a sequence of characters; with `split` a str is a comma-separated
    list ("full_war,limited_war"), and an empty or blank one names nothing. Raises TypeError for
    anything else, ValueError for an empty name (",", "a,,b", ["a", ""]), a name given twice or
    (unless `empty_ok`) for no name at all."""
    if isinstance(value, str):
        if split:
            items = [v.strip() for v in value.split(",")] if value.strip() else []
        else:
            items = [value]
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        items = [v if isinstance(v, str) else str(v) for v in value]
    else:
        raise TypeError(f"{what} must be a name or a list of names; got {value!r}")
    if any(not item.strip() for item in items):  # before the repeats: "," would be '' named twice
        raise ValueError(f"{what} {value!r} holds an empty name" + (" (a comma too many?)" if split else ""))
    seen = set()
    for item in items:
        if item in seen:
            raise ValueError(f"{what} '{item}' is named twice")
        seen.add(item)
    if not items and not empty_ok:
        raise ValueError(f"{what}: name at least one")
    return items


def _real(value, what: str, expected: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be {expected}; got {value!r}")
    return float(value)


def probability(value, what: str) -> float:
    """`value` as a float in [0, 1]; TypeError if it is not a number, ValueError if NaN or outside."""
    v = _real(value, what, "a probability in [0, 1]")
    if not 0.0 <= v <= 1.0:  # NaN fails too
        raise ValueError(f"{what} must be a probability in [0, 1]; got {value!r}")
    return v


def share(value, what: str, low: float, high: float, *, high_inclusive: bool = False) -> float:
    """`value` as a float in (low, high) (or (low, high]); TypeError / ValueError naming `what`."""
    v = _real(value, what, "a number")
    if not (low < v < high or (high_inclusive and v == high)):
        raise ValueError(f"{what} must lie in ({low:g}, {high:g}{']' if high_inclusive else ')'}; got {value!r}")
    return v


def positive_int(value, what: str, minimum: int = 1) -> int:
    """`value` as an int of at least `minimum`; TypeError if it is not an integer (True, 1.5, "2")."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an integer; got {value!r}")
    if int(value) < minimum:
        raise ValueError(f"{what} must be an integer of at least {minimum}; got {value!r}")
    return int(value)


def probability_sum(values: np.ndarray, names: list[str]) -> np.ndarray:
    """`values`, a sum of the probabilities of the outcomes `names`, checked to be at most 1.

    Outcomes exclude each other, so their probabilities sum to at most 1; a larger sum is an
    error (clipping it would hide the mistake), and only the rounding of the sum is trimmed."""
    values = np.asarray(values, dtype=float)
    if np.any(values > 1.0 + _SUM_ROUNDING):
        raise ValueError(f"the probabilities of {', '.join(names)} sum to {np.nanmax(values):.6g} > 1 at some point")
    return np.minimum(values, 1.0)


def cases(X, y, weights, what: str = "the cases") -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Checked scenario-discovery cases: `X` a DataFrame of numeric parameter columns, `y` one
    outcome in [0, 1] and `weights` (default 1) one non-negative weight per row, at least one row
    and a positive total weight. A pandas `y` or `weights` is matched to X's rows by its index
    (refused if its labels are not X's). Returns (X as float64, y, w)."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame with one column per parameter; got {type(X).__name__}")
    if X.shape[1] == 0:
        raise ValueError("X has no parameter column")
    repeated = X.columns[X.columns.duplicated()]
    if len(repeated):  # X[name] would be a DataFrame, not a column
        raise ValueError(f"X column '{repeated[0]}' appears twice; give each parameter once")
    for name in X.columns:
        if not pd.api.types.is_numeric_dtype(X[name]) or pd.api.types.is_bool_dtype(X[name]):
            raise ValueError(f"X column '{name}' is not numeric (dtype {X[name].dtype})")
    y = _floats(_aligned(y, X, "y")).ravel()
    w = np.ones(len(y)) if weights is None else _floats(_aligned(weights, X, "weights")).ravel()
    if not len(X) == len(y) == len(w):
        raise ValueError(f"{what} need one row of X, one outcome and one weight per case; "
                         f"got {len(X)} rows, {len(y)} outcomes and {len(w)} weights")
    if len(y) == 0:
        raise ValueError(f"no cases: {what} are empty")
    values = X.to_numpy(dtype=float, na_value=np.nan)  # pandas' missing values (pd.NA) are NaN, refused below
    for kind, a in (("parameter value", values), ("outcome", y), ("weight", w)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{what} hold a non-finite {kind}; drop or fill those cases first")
    if np.any(y < 0) or np.any(y > 1):
        raise ValueError("outcomes must lie in [0, 1] (a 0/1 case of interest or a probability)")
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    if not w.sum() > 0:
        raise ValueError("all weights are zero: no case counts")
    frame = pd.DataFrame(values, columns=X.columns, index=X.index)
    frame.attrs = dict(X.attrs)
    return frame, y, w


def _aligned(values, X: pd.DataFrame, what: str):
    """`values` (`y` or `weights` of the cases `X`) in the order of X's rows: a pandas Series or
    DataFrame is matched to `X` by its index, as pandas matches labels, when it holds the same
    labels (once each) in another order; one whose labels differ from X's is refused (ValueError),
    never paired by position. Anything else (an array, a list) is taken in X's row order."""
    if (not isinstance(values, (pd.Series, pd.DataFrame)) or values.index.equals(X.index)
            or len(values.index) != len(X.index)):  # another length: the length check names it
        return values
    if values.index.is_unique and X.index.is_unique and values.index.isin(X.index).all():
        return values.reindex(X.index)
    extra = values.index.difference(X.index) if values.index.is_unique and X.index.is_unique else []
    example = f" (it has {extra[0]!r}, which X has not)" if len(extra) else ""
    raise ValueError(f"{what}'s index does not match X's index{example}: give {what} the labels of X's rows, "
                     f"or pass {what}.to_numpy() to pair them by position")


def _floats(values) -> np.ndarray:
    """`values` as a float array, pandas' missing values (pd.NA in a nullable column) as NaN, so
    that the checks name them rather than pandas or numpy failing to convert them."""
    if isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        return values.to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(values, dtype=float)


def interest(y: np.ndarray, w: np.ndarray, threshold: float | None) -> None:
    """Raises the ValueError of cases without a case of interest (`y` after `threshold`)."""
    if float((w * y).sum()) <= 0:
        why = (f"no case reaches the threshold {threshold:g}" if threshold is not None
               else "the outcome is 0 everywhere")
        raise ValueError(f"no case of interest: {why}, so there is nothing to find")


def figure_file(path, what: str = "path", *, overwrite: bool = False, how: str = "pass overwrite=True") -> Path:
    """`path` checked as a figure file to write: a name without a suffix gets ``.png``; a folder, a
    suffix other than those of :data:`FIGURE_FORMATS` (any case) and, unless `overwrite`, an
    existing file are refused (ValueError; FileExistsError saying `how` to replace it). `what`
    names the argument (``--plot``) in the messages."""
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what} must be a file name; got {path!r}")
    out = Path(path)
    formats = ", ".join("." + f for f in FIGURE_FORMATS[:-1]) + " or ." + FIGURE_FORMATS[-1]
    if not out.is_dir() and not out.suffix:  # matplotlib would add it: name the file really written
        out = out.with_name(out.name + "." + FIGURE_FORMATS[0])
    if out.is_dir():
        raise ValueError(f"{what} '{out}' is a folder; give a file name ending in {formats}")
    if out.suffix[1:].lower() not in FIGURE_FORMATS:
        raise ValueError(f"{what} '{out}' ends in {out.suffix}, which is not a figure format written here; "
                         f"use {formats}")
    if not overwrite and (out.exists() or out.is_symlink()):
        raise FileExistsError(f"{what} '{out}' exists; {how} to replace it")
    return out
