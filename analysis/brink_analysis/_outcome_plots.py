"""Outcome probabilities against swept parameters: a line per outcome (or per value of a second
parameter) along one parameter, and a heatmap over two."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes

from ._plot_common import (_axes, _categorical_axis, _check_others, _check_varies, _finished_points, _fixed_text,
                           _incomplete_note, _outcome_color, _outcome_list, _thousands, _value_text, outcome_label)
from .checks import dataset
from .io import label_of, parameter_values

# The file's root attribute design for the designs that sample points rather than cross values.
_SAMPLED_DESIGNS = ("random", "lhs", "sobol", "morris")


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
            color, style, label = _line_style(ds, o, by, g, g_i, group_colors, len(chosen) == 1)
            ax.plot(xv[sub], prob[sub, k], style, color=color, marker="o", markersize=4, linewidth=1.8, label=label)
            if band:
                ax.fill_between(xv[sub], low[sub, k], high[sub, k], color=color, alpha=0.15, linewidth=0)
            top = max(top, float(np.max(high[sub, k])))

    _probability_labels(ax, ds, x, by, chosen, band, points, where)
    ax.set_ylim(0.0, min(1.0, top * 1.08 + 0.01))
    if _categorical_axis(ax.xaxis, ds, x, xv[points]):  # ticks at the categories only, with room for the ends
        ax.set_xlim(float(np.min(xv[points])) - 0.5, float(np.max(xv[points])) + 0.5)
    elif np.nanmax(np.abs(xv[points])) >= 1000:
        _thousands(ax.xaxis)
    ax.grid(alpha=0.3)
    _probability_legend(ax, ds, by, chosen)
    return ax


# Line styles of the values of plot_outcome_probability's `by` when several outcomes take the colours.
_GROUP_STYLES = ["-", "--", ":", "-."]


def _line_style(ds: xr.Dataset, outcome: str, by: str | None, value, index: int, group_colors, one: bool):
    """(colour, line style, legend label) of plot_outcome_probability's line of `outcome` at the
    `index`-th value of `by`: with `one` outcome drawn, the values of `by` take the colours
    (`group_colors`); with several, the outcomes keep theirs and the values take line styles."""
    if by and one:
        color = group_colors[index] if group_colors is not None else _outcome_color(ds, outcome)
        return color, "-", _value_text(ds, by, value)
    if by:
        return (_outcome_color(ds, outcome), _GROUP_STYLES[index % len(_GROUP_STYLES)],
                f"{outcome_label(outcome, ds)}, {_value_text(ds, by, value)}")
    return _outcome_color(ds, outcome), "-", outcome_label(outcome, ds)


def _probability_labels(ax: Axes, ds: xr.Dataset, x: str, by: str | None, chosen: Sequence[str], band: bool,
                        points: np.ndarray, where: Mapping[str, float] | None) -> None:
    """plot_outcome_probability's axis labels and title: P(outcome) when one outcome is drawn, with
    the values the drawn `points` share and a note of the points that did not finish."""
    ax.set_xlabel(label_of(ds, x))
    if len(chosen) == 1:
        ax.set_ylabel(f"P({outcome_label(chosen[0], ds)})" + (" with pointwise 95% band" if band else ""))
        title = f"P({outcome_label(chosen[0], ds)}) against {label_of(ds, x, units=False)}"
    else:
        ax.set_ylabel("probability" + (" with pointwise 95% band" if band else ""))
        title = f"Outcome probabilities against {label_of(ds, x, units=False)}"
    fixed = _fixed_text(ds, points, [x] + ([by] if by else []))
    ax.set_title(title + (f"\n({fixed})" if fixed else "") + _incomplete_note(ds, where))


def _probability_legend(ax: Axes, ds: xr.Dataset, by: str | None, chosen: Sequence[str]) -> None:
    """plot_outcome_probability's legend: with a line per value of `by` (many lines), titled by it and
    beside the axes, off the data."""
    if not by:
        ax.legend(fontsize="small", loc="best")
        return
    legend_title = label_of(ds, by) if len(chosen) == 1 else f"outcome, {label_of(ds, by)}"
    ax.legend(title=legend_title, fontsize="small", title_fontsize="small", loc="center left",
              bbox_to_anchor=(1.01, 0.5))


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
