"""What the plots share: the colour and words of each outcome, a parameter value's text on an axis,
a new Axes, the points a plot draws (finished ones, and a note of the rest) and the checks that
a plot's parameters vary and that the points it draws differ in nothing else."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from .checks import name_list
from .io import (category_names, format_value, parameter_values, point_label, select_points, sweep_axes,
                 swept_parameters)
from .tables import _finished_replications


#: Colour of each outcome in every plot (others fall back to matplotlib's cycle).
OUTCOME_COLORS = {
    "settlement": "#2a9d8f",
    "standoff": "#8a96a3",
    "limited_war": "#f4a261",
    "full_war": "#d62828",
    "alliance_war": "#6a040f",
}

_OUTCOME_TEXT = {
    "settlement": "settlement",
    "standoff": "standoff at horizon",
    "limited_war": "limited war",
    "full_war": "full-scale war",
    "alliance_war": "alliance war",
    "war": "any war (limited, full or alliance)",
}

# Wording that holds only in a scenario whose text makes the two actors adversaries: an alliance war
# then brings in every actor not yet fighting (model.md, join_alliance_war), so NATO against Russia.
_SCENARIO_OUTCOME_TEXT = {"alliance_war": (("NATO", "RUS"), "NATO–Russia war")}



def outcome_label(outcome: str, ds: xr.Dataset | None = None) -> str:
    """Readable name of an outcome: ``"full_war"`` -> ``"full-scale war"``, ``"alliance_war"`` ->
    ``"alliance war"``. With the dataset `ds`, wording tied to a scenario is used only if its file
    says it applies: ``"NATO–Russia war"`` when the scenario text makes NATO and RUS adversaries."""
    if ds is not None and outcome in _SCENARIO_OUTCOME_TEXT:
        pair, text = _SCENARIO_OUTCOME_TEXT[outcome]
        if set(pair) in _adversary_pairs(ds):
            return text
    return _OUTCOME_TEXT.get(outcome, outcome.replace("_", " "))


def _adversary_pairs(ds: xr.Dataset) -> list[set[str]]:
    """The scenario's ``relations.adversaries`` as sets of actor ids (none if the file's scenario text
    is missing or does not parse, or PyYAML is not installed)."""
    try:
        import yaml  # optional (python3-yaml), as for the labels of list entries (io.parameter_label)
    except ImportError:
        return []
    text = ds.attrs.get("scenario", "")
    try:
        scenario = yaml.safe_load(text.decode() if isinstance(text, bytes) else str(text))
        return [set(map(str, pair)) for pair in scenario["relations"]["adversaries"]]
    except (yaml.YAMLError, UnicodeDecodeError, KeyError, TypeError):  # then the file does not say it applies
        return []


def _value_text(ds: xr.Dataset | None, path: str, value) -> str:
    """Text of a value of parameter `path` in a plot: a categorical parameter's value by its name
    (``"linear"``, ``"b.yaml"``; the file holds its index), any other by :func:`format_value`."""
    names = category_names(ds, path) if ds is not None and not isinstance(value, str) else None
    return names.get(float(value), format_value(value)) if names else format_value(value)


def _categorical_axis(axis, ds: xr.Dataset, path: str, values) -> bool:
    """Puts a tick at each index a categorical parameter takes among `values`, labelled by its name,
    and returns True; returns False (axis untouched) for a numeric parameter."""
    if not category_names(ds, path):
        return False
    codes = np.unique(np.asarray(values, dtype=float))
    axis.set_ticks(codes, [_value_text(ds, path, c) for c in codes])
    return True


def _outcome_color(ds: xr.Dataset, outcome: str) -> str:
    if outcome in OUTCOME_COLORS:
        return OUTCOME_COLORS[outcome]
    return f"C{list(ds['outcome'].values).index(outcome) % 10}"


def _axes(ax: Axes | None, figsize=(7.5, 4.6)) -> Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _thousands(axis) -> None:
    """Formats an axis with thousands separators (100,000)."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def _outcome_list(ds: xr.Dataset, outcomes: str | Sequence[str] | None) -> list[str]:
    have = [str(o) for o in ds["outcome"].values]
    if outcomes is None:
        return have
    chosen = name_list(outcomes, "outcome")
    for o in chosen:
        if o not in have:
            raise ValueError(f"no outcome '{o}' in this file; its outcomes: {', '.join(have)}")
    return chosen


def _fixed_text(ds: xr.Dataset, points: np.ndarray, exclude: Sequence[str]) -> str:
    """Label such as "RUS patience 30 days" of the swept parameters that are constant among `points`."""
    varying = sweep_axes(ds, points)
    fixed = [n for n in sweep_axes(ds) if n not in exclude and n not in varying]
    return point_label(ds, int(points[0]), fixed) if fixed else ""


def _finished_points(ds: xr.Dataset, where: Mapping[str, float] | None) -> np.ndarray:
    """Positions of the points matching `where` that finished (all of them, but in an interrupted run)."""
    finished = _finished_replications(ds) > 0  # none at all: the file's reason, not the selection's
    points = select_points(ds, where)
    points = points[finished[points]]
    if points.size == 0:
        raise ValueError("none of the selected points has results in this file (the run was interrupted, "
                         "or the file is one shard of a sweep and they belong to others)")
    return points


def _incomplete_note(ds: xr.Dataset, where: Mapping[str, float] | None) -> str:
    """A title line when some points `where` selects did not finish (an interrupted run, a shard):
    the figure leaves them out, and without a mark it would read as the whole design."""
    finished = _finished_replications(ds) > 0
    selected = select_points(ds, where)
    return incomplete_line(int(finished[selected].sum()), selected.size)


def incomplete_line(done: int, total: int, rest: str = "the rest not drawn", what: str = "points finished") -> str:
    """The title line of a figure drawn from `done` of `total` points (empty when all finished), or
    of `total` other things that `what` names (the states of the world of a robustness figure)."""
    return "" if done == total else f"\nincomplete run: {done} of {total} {what}, {rest}"


def _check_varies(ds: xr.Dataset, name: str, role: str) -> None:
    """Refuses a parameter with one value at every point of the file (fixed with --set): there is
    nothing to draw against it, and fixing the others with where= would not help."""
    values = parameter_values(ds, name)
    if values.size and np.unique(values).size == 1:
        axes = [n for n in sweep_axes(ds) if n != name]
        raise ValueError(f"{role} '{name}' has one value ({_value_text(ds, name, values[0])}) at every point "
                         "(fixed with --set?), so there is nothing to draw against it; choose a swept parameter"
                         + (f": {', '.join(axes)}" if axes else ""))


def _check_others(ds: xr.Dataset, points: np.ndarray, used: Sequence[str], by_ok: bool = True) -> None:
    # A field that follows a scenario choice varies with its axis, which names the difference.
    axes = sweep_axes(ds)
    others = [n for n in swept_parameters(ds, points) if n not in used and n in axes]
    if others:
        design = str(ds.attrs.get("design", "grid"))
        if design != "grid":  # no two sampled points share a value: where= and by= cannot help
            raise ValueError(
                f"the points of this {design} design also differ in " + ", ".join(others) + "; draw them with "
                "plot_outcome_scatter(ds, x, y, outcome) or plot_partial_dependence(ds, outcome)"
            )
        raise ValueError(
            "the selected points also differ in " + ", ".join(others) + "; fix them with "
            + ("where={path: value} or draw one line per value with by=path" if by_ok else "where={path: value}")
        )
