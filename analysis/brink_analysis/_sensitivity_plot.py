"""The Sobol indices of a ``--sensitivity`` file, per parameter, with their intervals."""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from ._plot_common import _axes, outcome_label
from .checks import dataset
from .io import label_of
from .tables import sensitivity_table


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
        return _no_variance(_axes(ax, figsize=(8.0, 2.4)), ds, output)
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
        bare = np.array([(n, kind) in missing for n in names], dtype=bool)
        _index_bars(ax, rows, kind, y + offset, h, color, text, bare)
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


def _no_variance(ax: Axes, ds: xr.Dataset, output: str) -> Axes:
    """plot_sensitivity's panel for an output with one value at every point: it says so, where an
    empty plot would leave the reader guessing."""
    ax.text(0.5, 0.5, f"{_output_label(output, ds)} has the same value at every point:\n"
            "it has no variance to explain, so no Sobol indices", ha="center", va="center",
            transform=ax.transAxes)
    ax.set_axis_off()
    ax.set_title(f"What drives {_output_label(output, ds)}? Sobol sensitivity indices")
    return ax


def _index_bars(ax: Axes, rows, kind: str, y: np.ndarray, height: float, color: str, text: str,
                bare: np.ndarray) -> None:
    """The bars of one `kind` of index ("first" or "total") of plot_sensitivity at heights `y`, with
    their 95% whiskers; `bare` marks the indices the engine gave no interval."""
    v = rows[kind].to_numpy()
    lower, upper = rows[f"{kind}_lower"].to_numpy(), rows[f"{kind}_upper"].to_numpy()
    bars = ax.barh(y, v, height=height, color=color, label=text)
    # An index the engine gave no interval (NaN bounds: a rare event for the bootstrap) is no
    # exact value: hatch its bar and draw no whisker, rather than a bare bar that reads as certain.
    for bar, flag in zip(bars, bare):
        if flag:
            bar.set_hatch("///")
            bar.set_edgecolor("0.15")
            bar.set_alpha(0.55)
    ok = ~bare & np.isfinite(v)
    if ok.any():
        err = np.vstack([np.clip(v[ok] - lower[ok], 0, None), np.clip(upper[ok] - v[ok], 0, None)])
        ax.errorbar(v[ok], y[ok], xerr=err, fmt="none", ecolor="0.25", elinewidth=1.0, capsize=3)
