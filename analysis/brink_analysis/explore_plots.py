"""Plots for exploratory modelling: PRIM trade-off and box, sampled designs, robustness.

Like :mod:`brink_analysis.plots`, each function takes ``ax=`` (or draws a new
figure) and returns the Axes, or a Figure for multi-panel plots.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .checks import dataset, name_list, probability
from .discovery import _LEAF, _sklearn, discovery_data, outcome_names
from .io import category_names, label_of, parameter_label
from ._plot_common import _categorical_axis, _incomplete_note, _thousands, _value_text, incomplete_line, outcome_label
from .prim import Box, PrimResult
from .robust import _compared, _seed

__all__ = [
    "plot_outcome_scatter",
    "plot_partial_dependence",
    "plot_prim_box",
    "plot_prim_tradeoff",
    "plot_robustness",
]


def _axes(ax: Axes | None, figsize=(7.0, 4.6)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _with_unit(name: str, unit: str | None) -> str:
    return parameter_label(name, unit)


def _outcome_text(outcome: str | Sequence[str], ds: xr.Dataset | None = None) -> str:
    names = name_list(outcome, "outcome", split=True)
    return " or ".join(outcome_label(o, ds) for o in names)


def _first_dataset(data) -> xr.Dataset | None:
    """The dataset of `data` (a Dataset, or the first of a list of them) that names values and outcomes."""
    first = data[0] if isinstance(data, (list, tuple)) and data else data
    return first if isinstance(first, xr.Dataset) else None


def _large_numbers(axis, values) -> None:
    """Thousands separators on an axis of large values (troops), so that ticks do not run together."""
    if np.nanmax(np.abs(np.asarray(values, dtype=float))) >= 1e4:
        _thousands(axis)
        axis.set_major_locator(plt.MaxNLocator(5))


def _parameter_axis(axis, ds: xr.Dataset, path: str, values) -> None:
    """An axis of parameter `path`'s values: a categorical parameter's names at its categories, else numbers."""
    if not _categorical_axis(axis, ds, path, values):
        _large_numbers(axis, values)


def plot_prim_tradeoff(result: PrimResult, chosen: int | None = None, ax: Axes | None = None) -> Axes:
    """PRIM's peeling trajectory: density against coverage of every box, coloured by the number of
    parameters restricted, with box `chosen` (default: the result's chosen box) ringed and numbered."""
    i = result.index(chosen)
    ax = _axes(ax)
    t = result.trajectory
    k = t["restricted_dimensions"].to_numpy()
    cmap = plt.get_cmap("viridis", max(int(k.max()) + 1, 2))
    points = ax.scatter(t["coverage"], t["density"], c=k, cmap=cmap, vmin=-0.5, vmax=max(k.max(), 1) + 0.5, s=22,
                        zorder=3)
    ax.plot(t["coverage"], t["density"], color="0.75", lw=0.8, zorder=2)
    bar = ax.figure.colorbar(points, ax=ax, ticks=range(int(k.max()) + 1))
    bar.set_label("parameters restricted")
    ax.scatter([t["coverage"][i]], [t["density"][i]], s=140, facecolors="none", edgecolors="crimson", lw=1.6, zorder=4)
    ax.annotate(f"box {i}", (t["coverage"][i], t["density"][i]), xytext=(8, 8), textcoords="offset points",
                color="crimson")
    ax.set_xlabel("coverage (share of the cases of interest inside the box)")
    ax.set_ylabel("density (mean outcome inside the box)" if result.threshold is None else
                  f"density (share of points with P ≥ {result.threshold:g} inside the box)")
    case = _case_text(result.outcome, result.threshold)
    ax.set_title("PRIM peeling trajectory" + (f": {case}" if case else "") + _cases_note(result.incomplete))
    ax.grid(alpha=0.3)
    return ax


def _case_text(outcome: str | None, threshold: float | None) -> str:
    """What PRIM's cases are, for a figure's title: ``"P(full-scale war)"``, or with a threshold
    ``"points with P(full-scale war) ≥ 0.5"``; empty for cases of no named outcome."""
    if not outcome:
        return "" if threshold is None else f"points with P ≥ {threshold:g}"
    text = f"P({_outcome_text(outcome)})"
    return text if threshold is None else f"points with {text} ≥ {threshold:g}"


def _cases_note(incomplete: tuple[int, int] | None) -> str:
    """The title line of a PRIM figure whose cases come from an interrupted run (``incomplete``, as
    discovery_data records it): the boxes were found among the finished points alone, which for a
    grid or Sobol plan are not even a representative subset."""
    return incomplete_line(*incomplete, rest="the rest not used") if incomplete else ""


# The narrowest box drawn by plot_prim_box, as a share of the data's range: a box of one value
# (lower == upper) drawn to scale has no width, and its row looked like a parameter left free.
_NARROWEST = 0.02


def plot_prim_box(box: Box, ax: Axes | None = None, all_parameters: bool = False, ds: xr.Dataset | None = None) -> Axes:
    """The limits of a PRIM box: one row per restricted parameter (every parameter if
    `all_parameters`), the grey bar the range the data spans, the coloured bar the box, annotated
    with its limits in the parameter's units; the title gives coverage, density and mass. A box
    narrower than 2% of the data's range (one value kept: lower == upper) is drawn as a cell of
    that width around it with a diamond at the value, or the one restricted row would show no
    bar and look like a parameter left free. With the file `ds` the box was found in, a
    categorical parameter's limits show its values' names.

    The file may also come second, in the place of `ax` (``plot_prim_box(box, ds)``); anything
    else there that is not a matplotlib Axes is a TypeError."""
    if isinstance(ax, xr.Dataset):
        if ds is not None:
            raise TypeError("plot_prim_box got two datasets (ax and ds): pass the file as ds= and a matplotlib Axes "
                            "as ax=")
        ax, ds = None, ax
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes (or None); got {type(ax).__name__}. The file the box was "
                        "found in is ds=: plot_prim_box(box, ds=ds)")
    if not isinstance(box, Box):
        raise TypeError(f"box must be a PRIM Box (result.box()); got {type(box).__name__}")
    if ds is not None:
        ds = dataset(ds, "ds (the file the box was found in)")
    limits = box.limits(all_parameters=all_parameters)
    ax = _axes(ax, figsize=(7.0, 0.7 + 0.55 * max(len(limits), 1)))
    for row, (name, lim) in enumerate(limits.iterrows()):
        if str(name) in box.kept and box.levels.get(str(name)):
            _categorical_row(ax, row, box, str(name))
            continue
        span = lim["data_max"] - lim["data_min"]
        lo = (lim["lower"] - lim["data_min"]) / span if span > 0 else 0.0
        hi = (lim["upper"] - lim["data_min"]) / span if span > 0 else 1.0
        ax.barh(row, 1.0, left=0.0, height=0.5, color="0.88")
        gap = 0.01  # between the bar and its limits' labels
        if hi - lo < _NARROWEST:  # one kept value (a lever at 60 of 20, 60): a cell around it, not a line
            middle = (lo + hi) / 2
            lo = min(max(middle - _NARROWEST / 2, 0.0), 1.0 - _NARROWEST)
            hi, gap = lo + _NARROWEST, 0.025  # the labels clear the diamond
            ax.plot([middle], [row], marker="D", markersize=6, color="tab:red", linestyle="none")
        ax.barh(row, hi - lo, left=lo, height=0.5, color="tab:red", alpha=0.75)
        ax.text(lo - gap, row, _value_text(ds, str(name), lim["lower"]), ha="right", va="center", fontsize=8)
        ax.text(hi + gap, row, _value_text(ds, str(name), lim["upper"]), ha="left", va="center", fontsize=8)
    ax.set_yticks(range(len(limits)), [_with_unit(str(n), u or None) for n, u in zip(limits.index, limits["units"])])
    ax.set_ylim(-0.6, len(limits) - 0.1)
    ax.invert_yaxis()
    ax.set_xlim(-0.2, 1.2)
    ax.set_xticks([0, 1], ["data minimum", "data maximum"])
    case = _case_text(box.outcome, box.threshold)
    ax.set_title(f"PRIM box{f' for {case}' if case else ''}: coverage {box.coverage:.2f}, density {box.density:.2f}, "
                 f"mass {box.mass:.2f}" + _cases_note(box.incomplete))
    return ax


def _categorical_row(ax: Axes, row: int, box: Box, name: str) -> None:
    """A categorical parameter's row of plot_prim_box: one cell per value the data hold, in the
    order of their indices, coloured if the box keeps it and named inside."""
    levels = list(box.levels[name])
    labels = box.categories.get(name) or {}
    width = 1.0 / len(levels)
    for k, value in enumerate(levels):
        kept = value in box.kept[name]
        ax.barh(row, width * 0.96, left=k * width + width * 0.02, height=0.5,
                color="tab:red" if kept else "0.88", alpha=0.75 if kept else 1.0)
        ax.text((k + 0.5) * width, row, labels.get(float(value), format(value, "g")), ha="center", va="center",
                fontsize=8, color="white" if kept else "0.3")


def plot_outcome_scatter(
    ds: xr.Dataset, x: str, y: str, outcome: str | Sequence[str] = "full_war", box: Box | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Every finished point of a sweep (any design, sampled ones included) in the plane of parameters
    `x` and `y`, coloured by its probability of `outcome`; `box` draws a PRIM box's limits."""
    ds = dataset(ds)
    if x == y:
        raise ValueError(f"x and y are the same parameter ('{x}'); a scatter needs two")
    X, p, _ = discovery_data(ds, outcome, [x, y], per="point")
    ax = _axes(ax)
    points = ax.scatter(X[x], X[y], c=p, cmap="magma_r", vmin=0.0, vmax=max(1e-9, float(p.max())), s=28,
                        edgecolors="0.3", linewidths=0.3)
    label = _outcome_text(outcome_names(ds, outcome), ds)
    ax.figure.colorbar(points, ax=ax).set_label(f"P({label})")
    _parameter_axis(ax.xaxis, ds, x, X[x])
    _parameter_axis(ax.yaxis, ds, y, X[y])
    if box is not None:
        for k, ((x0, x1), (y0, y1)) in enumerate((a, b) for a in _box_edges(ds, box, x, X[x])
                                                 for b in _box_edges(ds, box, y, X[y])):
            label = "PRIM box" if box.threshold is None else f"PRIM box of points with P ≥ {box.threshold:g}"
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="tab:blue", lw=1.8, ls="--",
                                   label=label if k == 0 else None))
        ax.legend(loc="best")
    ax.set_xlabel(label_of(ds, x))
    ax.set_ylabel(label_of(ds, y))
    ax.set_title(f"P({label}) at each point" + _incomplete_note(ds, None))
    return ax


def _box_edges(ds: xr.Dataset, box: Box, path: str, values) -> list[tuple[float, float]]:
    """A box's limits on parameter `path` (the data's range if it leaves it free) as drawn: one
    interval, or for a categorical parameter whose kept values are not neighbours (a and c of a, b,
    c) one per run of neighbouring values. A category is the cell around its index, so a box
    holding one category is drawn as that cell, not as a line."""
    pad = 0.5 if category_names(ds, path) else 0.0
    if path in box.kept and box.levels.get(path):
        levels = list(box.levels[path])
        runs: list[list[float]] = []
        for k, value in enumerate(levels):
            if value in box.kept[path]:
                if runs and levels.index(runs[-1][-1]) == k - 1:
                    runs[-1].append(value)
                else:
                    runs.append([value])
        return [(run[0] - pad, run[-1] + pad) for run in runs]
    return [(float(box.lower.get(path, values.min())) - pad, float(box.upper.get(path, values.max())) + pad)]


def plot_partial_dependence(
    ds: xr.Dataset, outcome: str | Sequence[str] = "full_war", parameters: Sequence[str] | None = None,
    random_state: int = 0,
) -> Figure:
    """One panel per parameter (default: the swept ones): each point's probability of `outcome`
    (dots) and the partial dependence of an extra-trees model of it (line: the model's mean
    prediction with the parameter set to each value and the others as sampled)."""
    ds = dataset(ds)
    ExtraTreesRegressor = _sklearn("sklearn.ensemble", "plot_partial_dependence").ExtraTreesRegressor
    partial_dependence = _sklearn("sklearn.inspection", "plot_partial_dependence").partial_dependence

    X, p, w = discovery_data(ds, outcome, parameters, per="point")
    if len(p) < 2 * _LEAF:  # no tree could split them: the model's line would be flat whatever the data
        raise ValueError(f"a partial dependence needs {2 * _LEAF} or more points for its extra-trees model "
                         f"(leaves of {_LEAF}); this selection has {len(p)}")
    model = ExtraTreesRegressor(n_estimators=200, min_samples_leaf=_LEAF, random_state=random_state)
    model.fit(X.to_numpy(dtype=float), p, sample_weight=w)
    names = list(X.columns)
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.4), sharey=True, layout="constrained",
                             squeeze=False)
    label = _outcome_text(outcome_names(ds, outcome), ds)
    for j, (ax, name) in enumerate(zip(axes[0], names)):
        pd_result = partial_dependence(model, X.to_numpy(dtype=float), [j], grid_resolution=40, kind="average")
        grid = pd_result["values"][0]
        ax.scatter(X[name], p, s=10, color="0.6", alpha=0.7, label="points")
        ax.plot(grid, pd_result["average"][0], color="tab:red", lw=2, label="partial dependence")
        ax.set_xlabel(label_of(ds, name))
        _parameter_axis(ax.xaxis, ds, name, X[name])
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"P({label})")
    axes[0][0].legend(loc="best", fontsize=8)
    fig.suptitle(f"P({label}) against each parameter" + _incomplete_note(ds, None))
    return fig


def _policy_label(data, levers: Sequence[str], values) -> str:
    """``"USA ready forces 8,500, USA→UKR commitment strength 0.9"``; names from the file when there is one."""
    values = values if isinstance(values, tuple) else (values,)
    first = _first_dataset(data)
    name = (lambda n: label_of(first, n, units=False)) if first is not None else parameter_label
    # policy_outcomes names a categorical lever's values already; _value_text names any it did not.
    return ", ".join(f"{name(n)} {_value_text(first, n, v)}" for n, v in zip(levers, values))


def plot_robustness(
    data, levers: Sequence[str] | None = None, outcome: str | Sequence[str] = "full_war", *, threshold: float = 0.1,
    uncertainties: Sequence[str] | None = None, direction: str = "minimize", seed: int = 0,
) -> Figure:
    """Two panels per policy (one row each): left, the probability of `outcome` across the states of
    the world (box plot, mean as a dot, `threshold` dashed); right, its maximum and mean regret,
    with a dotted line at the Monte Carlo noise of a regret (``regret_noise`` of
    :func:`~brink_analysis.robustness_table`, seeded by `seed`: the max_regret policies identical
    in every state would show) and a title line that states it, so that a saved figure carries
    it: ``Monte Carlo noise: identical policies would show a max regret up to 0.064 (dotted)``, or,
    where it cannot be estimated (files written with --summary-only, a table), ``Monte Carlo noise
    not estimated (--summary-only files): gaps may be noise; compare with a run of another --seed``.
    `levers` defaults to those a mixed design recorded in the file. When unfinished files leave
    the policies only some states in common (:func:`~brink_analysis.robustness_table`), the
    title says how many of the design's states were compared: ``incomplete run: 19 of 48 states
    of the world finished by every policy, the rest not compared``."""
    threshold = probability(threshold, "threshold")
    matrix, regret, noise, incomplete = _compared(data, levers, outcome, uncertainties, direction, _seed(seed))
    levers = list(matrix.columns.names)
    labels = [_policy_label(data, levers, c) for c in matrix.columns]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 1.2 + 0.55 * len(labels)), sharey=True,
                                      layout="constrained", gridspec_kw={"width_ratios": [3, 2]})
    rows = np.arange(len(labels))
    left.boxplot([matrix[c].to_numpy() for c in matrix.columns], positions=rows, vert=False, widths=0.5)
    left.scatter(matrix.mean(axis=0), rows, color="tab:red", zorder=3, label="expected")
    left.axvline(threshold, color="0.3", ls="--", lw=1, label=f"threshold {threshold:g}")
    name = _outcome_text(outcome, _first_dataset(data))
    left.set_xlabel(f"P({name})\nacross {len(matrix)} states of the world")  # one line ran into the right panel's
    left.set_yticks(rows, labels)
    left.legend(loc="best", fontsize=8)
    right.barh(rows - 0.18, regret.max(axis=0), height=0.36, color="tab:purple", label="maximum regret")
    right.barh(rows + 0.18, regret.mean(axis=0), height=0.36, color="tab:olive", label="mean regret")
    if noise is not None:
        right.axvline(noise, color="0.2", ls=":", lw=1.5, label=f"noise level {noise:.2g}")
    right.set_xlabel("regret vs. the best policy")
    right.legend(loc="best", fontsize=8)
    left.invert_yaxis()
    fig.suptitle(f"Robustness of {len(labels)} policies: P({name})" + _states_note(incomplete)
                 + (_noise_note(noise, data, matrix.attrs.get("leader_share")) if len(labels) > 1 else ""))
    return fig


def _noise_note(noise: float | None, data=None, leader_share: float | None = None) -> str:
    """The title line of a robustness figure that states the Monte Carlo noise of a regret (and, for
    paired policies, the share of bootstrap resamples that keep the smallest max regret's policy),
    or that it is not estimated (files without per-replication outcomes, a table)."""
    if noise is None:
        why = "a table records no replications" if isinstance(data, pd.DataFrame) else "--summary-only files"
        return (f"\nMonte Carlo noise not estimated ({why}): gaps may be noise; compare with a run of "
                "another --seed")
    stable = (f"; the best stays best in {leader_share:.0%} of bootstrap resamples"
              if leader_share is not None else "; gaps below it may be noise")
    return f"\nMonte Carlo noise: identical policies would show a max regret up to {noise:.2g} (dotted)" + stable


def _states_note(incomplete: tuple[int, int] | None) -> str:
    """The title line of a robustness figure whose files left some (policy, state) pairs without
    results (``incomplete``: states compared, states of the design, as robustness_table records it)."""
    return incomplete_line(*incomplete, rest="the rest not compared",
                           what="states of the world finished by every policy") if incomplete else ""
