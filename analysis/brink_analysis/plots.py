"""Plots of brink results (matplotlib).

Every function takes a dataset from :func:`brink_analysis.open_results`,
accepts ``ax=`` (an existing Axes to draw into; a new figure is made when it
is None) and returns the Axes it drew on; :func:`plot_troop_fans` draws a grid
of panels and returns the Figure. Time axes are in days since the start of
the crisis, troops are head counts and probabilities are fractions.
Functions raise ValueError, naming the ``brink run`` option to use, when the
file lacks the data a plot needs (e.g. time series without ``--timeseries``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from .checks import dataset, figure_file, name_list, positive_int
from .io import (
    category_names,
    format_value,
    label_of,
    parameter_values,
    point_label,
    point_position,
    select_points,
    sweep_axes,
    swept_parameters,
)
from .tables import (
    _check_label,
    _finished_replications,
    _replications,
    _type_index,
    belief_by_true_type,
    rung_occupancy,
    sensitivity_table,
    survival_curves,
    troop_quantiles,
    type_names,
)

__all__ = [
    "OUTCOME_COLORS",
    "caption",
    "outcome_label",
    "plot_beliefs",
    "plot_outcome_heatmap",
    "plot_outcome_probability",
    "plot_rung_occupancy",
    "plot_sensitivity",
    "plot_survival",
    "plot_troop_fan",
    "plot_troop_fans",
    "provenance",
    "save_figure",
]

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

# The file's root attribute design for the designs that sample points rather than cross values.
_SAMPLED_DESIGNS = ("random", "lhs", "sobol", "morris")

_TYPE_COLORS = ["#c0392b", "#2e86c1", "#27ae60", "#8e44ad", "#d68910", "#17a589", "#7f8c8d", "#34495e"]
_DAY_LABEL = "days since the start of the crisis"


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
    varying = swept_parameters(ds, points)
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


# --------------------------------------------------------------------------
# Outcome probabilities against swept parameters
# --------------------------------------------------------------------------


def plot_outcome_probability(
    ds: xr.Dataset,
    x: str,
    outcomes: str | Sequence[str] | None = None,
    by: str | None = None,
    where: Mapping[str, float] | None = None,
    band: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Outcome probability against one swept parameter, with pointwise 95% Wilson bands (each value its own interval).

    x
        Parameter path on the horizontal axis (e.g. ``"actors.RUS.forces.deployed"``).
    outcomes
        An outcome name or list of names (default: every outcome); one line each.
    by
        Another parameter path: one line per value of it (colours by value when
        one outcome is drawn, line styles by value otherwise).
    where
        {path: value} fixing other swept parameters (a grid over three
        parameters needs one fixed when plotting against one and grouping by another).
    band
        Shade the 95% Wilson score interval of each probability.

    Raises ValueError if the selected points differ in a parameter other than
    `x` and `by`, or repeat an x value within a line. Points that did not
    finish (an interrupted run) are left out. A categorical `x` or `by` (a
    text value or a scenario choice) is labelled by its values' names: one
    x tick per category, at its index.
    """
    ds = dataset(ds)
    xv = parameter_values(ds, x)  # an unknown x or by is named before any other complaint
    if by is not None:
        parameter_values(ds, by)
    _check_varies(ds, x, "x")
    points = _finished_points(ds, where)
    _check_others(ds, points, [x] + ([by] if by else []))
    gv = parameter_values(ds, by) if by else np.zeros(ds.sizes["point"])
    groups = np.unique(gv[points])
    chosen = _outcome_list(ds, outcomes)
    names = [str(o) for o in ds["outcome"].values]
    prob = np.asarray(ds["outcome_probability"].values, dtype=float)
    low = np.asarray(ds["outcome_probability_lower"].values, dtype=float)
    high = np.asarray(ds["outcome_probability_upper"].values, dtype=float)

    ax = _axes(ax)
    styles = ["-", "--", ":", "-."]
    group_colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, len(groups))) if len(groups) > 1 else None
    top = 0.0
    for g_i, g in enumerate(groups):
        sub = points[gv[points] == g]
        sub = sub[np.argsort(xv[sub], kind="stable")]
        if np.unique(xv[sub]).size != sub.size:
            raise ValueError(
                f"several points share a value of {x}" + (f" at {by} = {_value_text(ds, by, g)}" if by else "")
                + "; fix the other parameters with where= or group them with by="
            )
        for o in chosen:
            k = names.index(o)
            if by and len(chosen) == 1:
                color, style, label = group_colors[g_i] if group_colors is not None else _outcome_color(ds, o), "-", _value_text(ds, by, g)
            elif by:
                color, style = _outcome_color(ds, o), styles[g_i % len(styles)]
                label = f"{outcome_label(o, ds)}, {_value_text(ds, by, g)}"
            else:
                color, style, label = _outcome_color(ds, o), "-", outcome_label(o, ds)
            ax.plot(xv[sub], prob[sub, k], style, color=color, marker="o", markersize=4, linewidth=1.8, label=label)
            if band:
                ax.fill_between(xv[sub], low[sub, k], high[sub, k], color=color, alpha=0.15, linewidth=0)
            top = max(top, float(np.max(high[sub, k])))

    ax.set_xlabel(label_of(ds, x))
    if len(chosen) == 1:
        ax.set_ylabel(f"P({outcome_label(chosen[0], ds)})" + (" with pointwise 95% band" if band else ""))
        title = f"P({outcome_label(chosen[0], ds)}) against {label_of(ds, x, units=False)}"
    else:
        ax.set_ylabel("probability" + (" with pointwise 95% band" if band else ""))
        title = f"Outcome probabilities against {label_of(ds, x, units=False)}"
    fixed = _fixed_text(ds, points, [x] + ([by] if by else []))
    ax.set_title(title + (f"\n({fixed})" if fixed else "") + _incomplete_note(ds, where))
    ax.set_ylim(0.0, min(1.0, top * 1.08 + 0.01))
    if _categorical_axis(ax.xaxis, ds, x, xv[points]):  # ticks at the categories only, with room for the ends
        ax.set_xlim(float(np.min(xv[points])) - 0.5, float(np.max(xv[points])) + 0.5)
    elif np.nanmax(np.abs(xv[points])) >= 1000:
        _thousands(ax.xaxis)
    ax.grid(alpha=0.3)
    if by and len(chosen) == 1:
        legend_title = label_of(ds, by)
    elif by:
        legend_title = f"outcome, {label_of(ds, by)}"
    else:
        legend_title = None
    if by:  # many lines: keep the legend off the data
        ax.legend(title=legend_title, fontsize="small", title_fontsize="small", loc="center left",
                  bbox_to_anchor=(1.01, 0.5))
    else:
        ax.legend(fontsize="small", loc="best")
    return ax


def plot_outcome_heatmap(
    ds: xr.Dataset,
    outcome: str,
    x: str,
    y: str,
    where: Mapping[str, float] | None = None,
    annotate: bool | None = None,
    cmap: str = "Reds",
    vmax: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Heatmap of one outcome's probability over two swept parameters.

    Cells are the distinct values of `x` (columns, left to right ascending) and
    `y` (rows, bottom to top ascending); ``ax.images[0].get_array()`` is the
    (y, x) array of probabilities, NaN (blank) where the grid has no point.
    `annotate` writes each probability in its cell (default: grids of at most
    120 cells); the colour scale runs from 0 to `vmax` (default: the largest
    probability). Categorical parameters' ticks name their values. Raises ValueError if
    `x` and `y` are the same parameter or two selected points share a cell.
    """
    ds = dataset(ds)
    (o,) = _outcome_list(ds, [outcome])
    parameter_values(ds, x), parameter_values(ds, y)
    if x == y:
        raise ValueError(f"x and y are the same parameter ('{x}'); a heatmap needs two")
    design = str(ds.attrs.get("design", "grid"))
    if design in _SAMPLED_DESIGNS:  # every point has its own values: an x-by-y grid of them is nearly empty
        raise ValueError(f"a heatmap needs a grid design and this is a {design} design, whose points share no "
                         "values: draw them with plot_outcome_scatter(ds, x, y, outcome)")
    _check_varies(ds, x, "x")
    _check_varies(ds, y, "y")
    points = _finished_points(ds, where)
    _check_others(ds, points, [x, y], by_ok=False)
    xv, yv = parameter_values(ds, x)[points], parameter_values(ds, y)[points]
    xs, ys = np.unique(xv), np.unique(yv)
    k = [str(v) for v in ds["outcome"].values].index(o)
    prob = np.asarray(ds["outcome_probability"].values, dtype=float)[points, k]
    grid = np.full((ys.size, xs.size), np.nan)
    for p_i in range(points.size):
        iy, ix = np.searchsorted(ys, yv[p_i]), np.searchsorted(xs, xv[p_i])
        if not np.isnan(grid[iy, ix]):
            raise ValueError(
                f"several points share the cell {x} = {_value_text(ds, x, xv[p_i])}, {y} = {_value_text(ds, y, yv[p_i])}; "
                "fix the other parameters with where= (a heatmap needs a grid design)"
            )
        grid[iy, ix] = prob[p_i]

    ax = _axes(ax, figsize=(7.5, 5.0))
    top = float(np.nanmax(grid)) if vmax is None else float(vmax)
    top = top if top > 0 else 1.0
    image = ax.imshow(grid, origin="lower", aspect="auto", cmap=cmap, vmin=0.0, vmax=top, interpolation="nearest")
    ax.set_xticks(np.arange(xs.size), [_value_text(ds, x, v) for v in xs], rotation=45 if xs.size > 8 else 0)
    ax.set_yticks(np.arange(ys.size), [_value_text(ds, y, v) for v in ys])
    ax.set_xlabel(label_of(ds, x))
    ax.set_ylabel(label_of(ds, y))
    ax.figure.colorbar(image, ax=ax, label=f"P({outcome_label(o, ds)})")
    if annotate is None:
        annotate = grid.size <= 120
    if annotate:
        for iy in range(ys.size):
            for ix in range(xs.size):
                v = grid[iy, ix]
                if np.isfinite(v):
                    ax.text(ix, iy, f"{v:.2f}", ha="center", va="center", fontsize="small",
                            color="white" if v > 0.6 * top else "black")
    fixed = _fixed_text(ds, points, [x, y])
    ax.set_title(f"P({outcome_label(o, ds)}) by {label_of(ds, x, units=False)} and {label_of(ds, y, units=False)}"
                 + (f"\n({fixed})" if fixed else "") + _incomplete_note(ds, where))
    return ax


# --------------------------------------------------------------------------
# Time series
# --------------------------------------------------------------------------


def plot_troop_fan(
    ds: xr.Dataset,
    actor: str,
    pool: str = "deployed",
    point: int | Mapping[str, float] = 0,
    color: str = "C0",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Fan chart of one actor's troops in one pool over time at one point.

    Draws the median across replications (a line) and the 25–75% and 5–95%
    bands (shaded) of ``troops[point, :, :, actor, pool]`` against ``day``.
    `point` is a point index or {parameter path: value}. Needs ``--timeseries``.
    """
    ds = dataset(ds)
    q = troop_quantiles(ds, actor, pool, point, (0.05, 0.25, 0.5, 0.75, 0.95))
    day = q["day"].values
    ax = _axes(ax)
    ax.fill_between(day, q[0], q[4], color=color, alpha=0.18, linewidth=0, label="5–95% of runs")
    ax.fill_between(day, q[1], q[3], color=color, alpha=0.38, linewidth=0, label="25–75% of runs")
    ax.plot(day, q[2], color=color, linewidth=2.0, label="median")
    ax.set_xlim(day[0], day[-1])
    ax.set_xlabel(_DAY_LABEL)
    ax.set_ylabel(f"{pool} troops")
    _thousands(ax.yaxis)
    ax.grid(alpha=0.3)
    if title is None:
        p = point_position(ds, point)
        where = point_label(ds, p) if swept_parameters(ds) else ""
        title = f"{actor}: {pool} troops" + (f"\n({where})" if where else "")
    ax.set_title(title)
    ax.legend(fontsize="small", loc="best")
    return ax


def plot_troop_fans(
    ds: xr.Dataset,
    actors: Sequence[str] | None = None,
    pool: str = "deployed",
    point: int | Mapping[str, float] = 0,
    ncols: int = 2,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Grid of :func:`plot_troop_fan` panels, one per actor (default: every actor), for one pool
    and point. Returns the Figure; the first panel carries the legend."""
    ds = dataset(ds)
    actors = [str(a) for a in ds["actor"].values] if actors is None else name_list(actors, "actor")
    ncols = positive_int(ncols, "ncols")
    for a in actors:
        _check_label(ds, "actor", a)
    nrows = -(-len(actors) // ncols)
    fig, axes = plt.subplots(nrows, ncols, sharex=True, squeeze=False, layout="constrained",
                             figsize=figsize or (5.2 * ncols, 3.4 * nrows))
    for i, a in enumerate(actors):
        ax = axes.flat[i]
        plot_troop_fan(ds, a, pool, point, color=f"C{i % 10}", title=a, ax=ax)
        if i:
            ax.get_legend().remove()
        if i < len(actors) - ncols:
            ax.set_xlabel("")
    for ax in list(axes.flat)[len(actors):]:
        ax.set_visible(False)
    p = point_position(ds, point)
    where = point_label(ds, p) if swept_parameters(ds) else ""
    fig.suptitle(f"{pool.capitalize()} troops over time: median and spread across replications"
                 + (f"\n({where})" if where else ""))
    return fig


def plot_rung_occupancy(
    ds: xr.Dataset,
    point: int | Mapping[str, float] = 0,
    cmap: str = "RdYlBu_r",
    ax: Axes | None = None,
) -> Axes:
    """Stacked areas of the share of replications on each escalation rung over time.

    One area per rung (``ax.collections``, lowest rung at the bottom), coloured
    from calm (blue) to war (red), its thickness at each day the share from
    :func:`rung_occupancy` (the per-point ``rung_share``, on the file's step
    axis); the legend lists the highest rung first and marks rungs no
    replication reached. Works on every file (no ``--timeseries`` needed).
    """
    ds = dataset(ds)
    occ = rung_occupancy(ds, point)
    day = occ["day"].values
    rungs = [str(r) for r in occ["rung"].values]
    colors = plt.get_cmap(cmap)(np.linspace(0.05, 0.95, len(rungs)))
    ax = _axes(ax, figsize=(8.5, 4.6))
    reached = occ.values.max(axis=0) > 0
    labels = [r.replace("_", " ") + ("" if reached[i] else " (not reached)") for i, r in enumerate(rungs)]
    ax.stackplot(day, occ.values.T, labels=labels, colors=colors, linewidth=0.3, edgecolor="white")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], title="rung", loc="center left", bbox_to_anchor=(1.01, 0.5),
              fontsize="small", title_fontsize="small")
    ax.set_xlim(day[0], day[-1])
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel(_DAY_LABEL)
    ax.set_ylabel("share of replications")
    p = point_position(ds, point)
    where = point_label(ds, p) if swept_parameters(ds) else ""
    ax.set_title("Escalation ladder: where the replications stand" + (f"\n({where})" if where else ""))
    return ax


def plot_survival(
    ds: xr.Dataset,
    points: Sequence[int | Mapping[str, float]] | None = None,
    labels: Sequence[str] | None = None,
    band: bool = True,
    cmap: str = "viridis",
    ax: Axes | None = None,
) -> Axes:
    """Survival curves: P(no fighting has begun before day d), one step line per point.

    points
        Point indices or {parameter path: value} dicts (default: every point
        that finished, if there are at most 10; an interrupted run's or a
        shard's other points are left out, as in the other probability plots).
    labels
        Legend labels, one per point (a string is one label); default: the
        values of the parameters that differ between the chosen points (the
        ones they share go in the title).
    band
        Shade the pointwise 95% Wilson interval of each curve (each day its own interval).

    Reads the per-point ``survival`` summary and its interval on the file's
    step axis (:func:`survival_curves`), so it works on ``--summary-only``
    files too. Lines start at day 0 with probability 1 and step down at the
    days of the step axis (every day, or every K steps with ``--timeseries
    every=K``).
    """
    ds = dataset(ds)
    positions = _survival_points(ds, points)
    curves = survival_curves(ds, positions)
    varying = swept_parameters(ds, positions)
    if labels is None:
        labels = [point_label(ds, p, varying) if varying else point_label(ds, p) for p in positions]
    else:
        labels = _survival_labels(labels, len(positions))
    colors = plt.get_cmap(cmap)(np.linspace(0.0, 0.85, len(positions))) if len(positions) > 1 else ["C0"]
    day = curves["day"].values
    ax = _axes(ax)
    for i in range(len(positions)):
        ax.plot(day, curves["survival"].values[i], drawstyle="steps-post", color=colors[i], linewidth=1.8, label=labels[i])
        if band:
            ax.fill_between(day, curves["lower"].values[i], curves["upper"].values[i], step="post", color=colors[i],
                            alpha=0.15, linewidth=0)
    ax.set_xlim(day[0], day[-1])
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel(_DAY_LABEL)
    ax.set_ylabel("P(no fighting before day d)")
    fixed = _fixed_text(ds, np.asarray(positions), varying)
    ax.set_title("Survival of peace: probability that no fighting has begun" + (f"\n({fixed})" if fixed else "")
                 + (_incomplete_note(ds, None) if points is None else ""))  # by default: every finished point
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower left")
    return ax


def _survival_points(ds: xr.Dataset, points) -> list[int]:
    """Positions of plot_survival's `points`; by default the finished points (at most 10)."""
    if points is None:
        positions = [int(p) for p in _finished_points(ds, None)]
        if len(positions) > 10:
            raise ValueError(f"this file has {len(positions)} finished points; choose up to 10 with points=[...]")
        return positions
    if isinstance(points, (str, bytes, Mapping)) or not isinstance(points, Iterable):
        raise TypeError(f"points must be a list of point indices or {{path: value}} dicts; got {points!r}")
    positions = [point_position(ds, p) for p in points]
    if not positions:
        raise ValueError("points is empty: name at least one point")
    return positions


def _survival_labels(labels, count: int) -> list[str]:
    """plot_survival's `labels` as a list of one label per point; a string is one label, not its characters."""
    if isinstance(labels, str):
        labels = [labels]
    elif isinstance(labels, (bytes, Mapping)) or not isinstance(labels, Iterable):
        raise TypeError(f"labels must be a list of names, one per point; got {labels!r}")
    labels = [str(label) for label in labels]
    if len(labels) != count:
        raise ValueError(f"labels has {len(labels)} name{'s' if len(labels) != 1 else ''} ({', '.join(map(repr, labels))}) "
                         f"for {count} point{'s' if count != 1 else ''}: give one label per point")
    return labels


def plot_beliefs(
    ds: xr.Dataset,
    actor: str = "RUS",
    type: str | int | None = None,
    point: int | Mapping[str, float] = 0,
    ax: Axes | None = None,
) -> Axes:
    """Belief trajectories: mean public belief that `actor` is of `type` over time, one line
    per true type of the actor (from ``resolve_type``), and the prior as a dashed line.

    If the others learn, the line of the replications where the actor really is
    `type` rises and the others fall. Needs ``--timeseries`` and per-run data.
    """
    ds = dataset(ds)
    b = belief_by_true_type(ds, actor, type, point)
    names = type_names(ds, actor)
    t = _type_index(names, actor, type)
    prior = ds["type_prior"].sel(actor=actor)
    if "point" in prior.dims:  # per point since 0.2 (a sweep may vary a prior); a file written before had none
        prior = prior.isel(point=point_position(ds, point))
    prior = float(prior.isel(type=t))
    day = b["day"].values
    ax = _axes(ax)
    for k, name in enumerate(names):
        runs = int(b["runs"].values[k])
        ax.plot(day, b.values[k], color=_TYPE_COLORS[k % len(_TYPE_COLORS)], linewidth=2.0,
                label=f"{actor} really is '{name}' ({runs:,} runs)")
    ax.axhline(prior, color="0.4", linestyle="--", linewidth=1.2, label=f"prior {prior:.2f}")
    ax.set_xlim(day[0], day[-1])
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel(_DAY_LABEL)
    ax.set_ylabel(f"mean public belief that {actor} is '{names[t]}'")
    p = point_position(ds, point)
    where = point_label(ds, p) if swept_parameters(ds) else ""
    ax.set_title(f"What the others believe about {actor}: P({actor} is '{names[t]}')" + (f"\n({where})" if where else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="best")
    return ax


# --------------------------------------------------------------------------
# Sensitivity
# --------------------------------------------------------------------------


def _output_label(output: str, ds: xr.Dataset | None = None) -> str:
    if output.startswith("probability_"):
        return f"P({outcome_label(output.removeprefix('probability_'), ds)})"
    if output.startswith("mean_casualties_"):
        return f"mean {output.removeprefix('mean_casualties_')} casualties"
    return output.replace("_", " ")


# How far outside [0, 1] a Sobol index may lie before the plot says that it is sampling noise, not
# a share of the variance (the estimators of docs/sweeps.md stray a little outside with any sample).
_INDEX_NOISE = 0.05


def plot_sensitivity(
    ds: xr.Dataset,
    output: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Sobol sensitivity indices of one output: horizontal bars of the first-order and
    total-effect index of each parameter with their 95% bootstrap intervals.

    `output` is a name from the ``output`` coordinate (default
    ``probability_full_war`` if present). ``ax.patches`` holds the first-order
    bars, then the total-effect bars, one per parameter in file order (top to
    bottom); a parameter fixed with ``--set`` has no indices and no bar (see
    :func:`brink_analysis.sensitivity_table`). An index the engine gave no
    interval (NaN bounds, a rare event for the bootstrap; the table's
    ``attrs["no_interval"]``) is drawn as a hatched bar with no whisker, and the
    legend and title say that hatched bars have no interval. An index more than
    0.05 outside [0, 1] (too few samples) makes the title say that it is sampling
    noise. On an Axes that shares its x axis with another panel the range only
    grows, so that no panel's whiskers are cut. Needs a file written with
    ``--sensitivity``.
    """
    ds = dataset(ds)
    table = sensitivity_table(ds)
    constant = table.attrs["constant_outputs"]
    outputs = list(dict.fromkeys(table["output"]))
    if output is None:
        output = "probability_full_war" if "probability_full_war" in outputs + constant else (outputs + constant)[0]
    if output in constant:  # nothing to draw: say why on the plot rather than leave it empty
        ax = _axes(ax, figsize=(8.0, 2.4))
        ax.text(0.5, 0.5, f"{_output_label(output, ds)} has the same value at every point:\n"
                "it has no variance to explain, so no Sobol indices", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        ax.set_title(f"What drives {_output_label(output, ds)}? Sobol sensitivity indices")
        return ax
    if output not in outputs:
        raise ValueError(f"no output '{output}' in the sensitivity indices; outputs: {', '.join(outputs + constant)}")
    rows = table[table["output"] == output]
    names = list(rows["parameter"])
    y = np.arange(len(names))
    h = 0.38
    ax = _axes(ax, figsize=(8.0, 1.2 + 0.75 * len(names)))
    shown = ax.get_xlim()  # a panel sharing this x axis (sharex=True) has set it for its own indices
    missing = {(p, k) for o, p, k in table.attrs["no_interval"] if o == output}
    kinds = ((-h / 2, "first", "#2e86c1", "first-order $S_i$"), (h / 2, "total", "#d68910", "total-effect $S_{Ti}$"))
    for offset, kind, color, text in kinds:
        v = rows[kind].to_numpy()
        lower, upper = rows[f"{kind}_lower"].to_numpy(), rows[f"{kind}_upper"].to_numpy()
        bars = ax.barh(y + offset, v, height=h, color=color, label=text)
        # An index the engine gave no interval (NaN bounds: a rare event for the bootstrap) is no
        # exact value: hatch its bar and draw no whisker, rather than a bare bar that reads as certain.
        bare = np.array([(n, kind) in missing for n in names], dtype=bool)
        for bar, flag in zip(bars, bare):
            if flag:
                bar.set_hatch("///")
                bar.set_edgecolor("0.15")
                bar.set_alpha(0.55)
        ok = ~bare & np.isfinite(v)
        if ok.any():
            err = np.vstack([np.clip(v[ok] - lower[ok], 0, None), np.clip(upper[ok] - v[ok], 0, None)])
            ax.errorbar(v[ok], (y + offset)[ok], xerr=err, fmt="none", ecolor="0.25", elinewidth=1.0, capsize=3)
    ax.set_yticks(y, [label_of(ds, n, units=False) for n in names])
    ax.invert_yaxis()
    ax.axvline(0.0, color="black", linewidth=0.8)
    lo = min(0.0, float(rows[["first_lower", "total_lower", "first", "total"]].min().min()))
    hi = max(1.0, float(rows[["first_upper", "total_upper", "first", "total"]].max().max()))
    # Never narrower than what the axis shows already: on axes shared with another panel, setting
    # this panel's range alone cut the other's whiskers at the edge without a mark.
    shared = len(ax.get_shared_x_axes().get_siblings(ax)) > 1
    ax.set_xlim(min(lo - 0.02, shown[0]) if shared else lo - 0.02, max(hi + 0.02, shown[1]) if shared else hi + 0.02)
    ax.set_xlabel("Sobol index (share of the output's variance), 95% bootstrap interval")
    title = f"What drives {_output_label(output, ds)}? Sobol sensitivity indices"
    estimates = rows[["first", "total"]].to_numpy(dtype=float)
    if np.any(estimates[np.isfinite(estimates)] > 1.0 + _INDEX_NOISE) or np.any(estimates[np.isfinite(estimates)]
                                                                                < -_INDEX_NOISE):
        title += "\n(an index outside [0, 1] is sampling noise: too few samples to estimate it)"
    # Plain patches as legend keys: a bar container's key copies its first bar, hatched or not.
    handles = [Patch(facecolor=color) for _, _, color, _ in kinds]
    labels = [text for _, _, _, text in kinds]
    if missing:
        title += "\n(hatched: no interval)"
        handles.append(Patch(facecolor="white", edgecolor="0.15", hatch="///"))
        labels.append("no interval: rare event,\nsee docs/sweeps.md 'Intervals'")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(handles, labels, fontsize="small", loc="lower right")
    return ax


# --------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------


def provenance(ds: xr.Dataset) -> str:
    """Where a file's results come from, in one line: ``"brink 0.2.0, scenario jan-2022-standoff,
    seed 42, 500 replications per point, lhs design of 128 points"`` (from its root attributes;
    an adaptive run's replications as the range its finished points ran, ``"256 to 2,048"``)."""
    ds = dataset(ds)
    a = ds.attrs
    reps = _finished_replications(ds)
    reps = reps[reps > 0]
    runs = f"{int(reps.min()):,}" if reps.min() == reps.max() else f"{int(reps.min()):,} to {int(reps.max()):,}"
    n = ds.sizes["point"]
    return (f"brink {a.get('engine_version', '?')}, scenario {a.get('scenario_name', '?')}, seed {a.get('seed', '?')}, "
            f"{runs} replications per point, {a.get('design', 'grid')} design of {n} point{'s' if n != 1 else ''}")


def caption(fig: Figure | Axes, ds: xr.Dataset, file: str | os.PathLike | None = None) -> Figure:
    """Writes :func:`provenance` of `ds` at the foot of the figure (of `fig`, or of the Axes' figure),
    after ``file:`` when a file name is given, so that a saved figure says what it was drawn from;
    returns the Figure. The notebooks and ``brink-analysis discover --plots`` caption every figure."""
    fig = fig.figure if isinstance(fig, Axes) else fig
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure or Axes; got {type(fig).__name__}")
    text = provenance(ds)
    if file is not None:
        text = f"{os.fspath(file)}: {text}"
    fig.supxlabel(text, x=0.99, ha="right", fontsize=7, color="0.4")
    return fig


# What keeps each format's bytes the same from one save to the next: no software name, no date,
# and SVG's element ids hashed with a fixed salt instead of a random one.
_FIGURE_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Creator": None, "Date": None},
}


def save_figure(fig: Figure | Axes, path: str | os.PathLike, dpi: int = 150, *, overwrite: bool = False) -> Path:
    """Saves a figure (or an Axes' figure) at `path` (parent directories made), as PNG, PDF or SVG
    by its suffix (``.png`` added to a name without one), with a tight bounding box and no software
    name or date, so that the same figure gives the same bytes. Returns the path of the file written.

    An existing file is replaced only with ``overwrite=True`` (FileExistsError otherwise); another
    suffix (``.jpg``, ``.h5``) or a folder is a ValueError, before anything is drawn. The figure is
    written to a temporary file beside `path` and renamed, so that a failure leaves no file behind,
    and an existing file is never left half-written."""
    figure = fig.figure if isinstance(fig, Axes) else fig
    if not isinstance(figure, Figure):
        raise TypeError(f"fig must be a matplotlib Figure or Axes; got {type(fig).__name__}")
    out = figure_file(path, overwrite=overwrite)
    kind = out.suffix[1:].lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = _new_temporary(out)
    try:
        with plt.rc_context({"svg.hashsalt": "brink"}):
            figure.savefig(temporary, format=kind, dpi=dpi, bbox_inches="tight", pad_inches=0.15,
                           metadata=_FIGURE_METADATA[kind])
        if overwrite:
            os.replace(temporary, out)
        else:
            _link_new(temporary, out)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return out


def _new_temporary(out: Path) -> str:
    """A new empty file beside `out` (same folder, so the rename is atomic), hidden, with the
    permissions any new file gets (tempfile's are private to the user)."""
    while True:
        name = str(out.parent / f".{out.name}.{secrets.token_hex(4)}{out.suffix}")
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return name
        except FileExistsError:  # another writer's temporary file: draw another name
            continue


def _link_new(temporary: str, out: Path) -> None:
    """Puts `temporary` at `out` only if no file is there (a hard link fails if one appeared since
    the check); a file system without hard links gets a check and a rename instead."""
    try:
        os.link(temporary, out)
    except FileExistsError:
        raise FileExistsError(f"path '{out}' exists; pass overwrite=True to replace it") from None
    except OSError:
        if out.exists():
            raise FileExistsError(f"path '{out}' exists; pass overwrite=True to replace it") from None
        os.replace(temporary, out)
