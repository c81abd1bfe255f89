"""Plots along the time axis (days since the start of the crisis): troop fans, rung occupancy,
survival curves and beliefs about each actor's type."""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._plot_common import _axes, _finished_points, _fixed_text, _incomplete_note, _thousands
from .checks import dataset, name_list, positive_int
from .io import point_label, point_position, sweep_axes, swept_parameters
from .tables import (_check_label, _type_index, belief_by_true_type, rung_occupancy, survival_curves,
                     troop_quantiles, type_names)

_TYPE_COLORS = ["#c0392b", "#2e86c1", "#27ae60", "#8e44ad", "#d68910", "#17a589", "#7f8c8d", "#34495e"]
_DAY_LABEL = "days since the start of the crisis"


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
        else:  # the lowest panel of its column, also above an empty slot: shared x hid its tick labels
            ax.tick_params(axis="x", labelbottom=True)
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
    varying = sweep_axes(ds, positions)  # not the fields a scenario choice sets: the choice names them
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
    actor: str | None = None,
    type: str | int | None = None,
    point: int | Mapping[str, float] = 0,
    ax: Axes | None = None,
) -> Axes:
    """Belief trajectories: mean public belief that `actor` is of `type` over time, one line
    per true type of the actor (from ``resolve_type``), and the prior as a dashed line.

    `actor` defaults to the file's only actor with private types; a file with several (or
    none) raises ValueError naming them. If the others learn, the line of the replications
    where the actor really is `type` rises and the others fall. Needs ``--timeseries`` and
    per-run data.
    """
    ds = dataset(ds)
    if actor is None:
        actor = _typed_actor(ds)
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


def _typed_actor(ds: xr.Dataset) -> str:
    """The file's only actor with private types (plot_beliefs' default); ValueError naming the
    candidates when there are several, or the actors when none has types."""
    actors = [str(a) for a in ds["actor"].values]
    typed = [a for a in actors if len(type_names(ds, a)) > 1]
    if len(typed) == 1:
        return typed[0]
    if not typed:
        raise ValueError(f"no actor in this file has private types, so there are no beliefs to draw; its actors: "
                         f"{', '.join(actors)}")
    raise ValueError(f"{len(typed)} actors in this file have private types ({', '.join(typed)}): name one with "
                     f"actor=, e.g. plot_beliefs(ds, {typed[0]!r})")
