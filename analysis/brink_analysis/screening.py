"""Morris elementary-effects screening (``--design morris``): the measures the engine wrote,
as a table and as the usual sigma-against-mu* plot.

The file holds ``morris_mu_star``, ``morris_mu``, ``morris_sigma`` and the bootstrap bounds
``morris_mu_star_lower`` / ``_upper`` on (``output``, ``parameter``); an elementary effect is the
output's change over the parameter's whole range (docs/sweeps.md, "Morris screening").
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .checks import dataset, name_list
from .io import label_of

__all__ = ["morris_table", "plot_morris"]

_COLUMNS = {
    "mu_star": "morris_mu_star",
    "mu_star_lower": "morris_mu_star_lower",
    "mu_star_upper": "morris_mu_star_upper",
    "mu": "morris_mu",
    "sigma": "morris_sigma",
}


def morris_table(ds: xr.Dataset, outputs: str | Sequence[str] | None = None) -> pd.DataFrame:
    """One row per (output, swept parameter), most important first within each output (mu*
    descending): columns ``output``, ``parameter``, ``mu_star``, ``mu_star_lower``,
    ``mu_star_upper``, ``mu``, ``sigma``. ValueError if the file is not a Morris run, an output
    is unknown or named twice."""
    ds = dataset(ds)
    missing = [v for v in _COLUMNS.values() if v not in ds.variables]
    if missing:
        raise ValueError(f"the file has no Morris measures ({missing[0]} is missing): run brink with --design morris")
    known = [str(o) for o in ds["output"].values]
    names = known if outputs is None else name_list(outputs, "output")  # one name, or several, none twice
    for name in names:
        if name not in known:
            raise ValueError(f"output '{name}' is not in the file; its outputs: {', '.join(known)}")
    paths = [str(p) for p in ds["parameter"].values]
    rows = []
    for name in names:
        at = {column: np.asarray(ds[var].sel(output=name).values, float) for column, var in _COLUMNS.items()}
        for j, path in enumerate(paths):
            if np.isnan(at["mu_star"][j]):
                continue  # a fixed --set parameter
            rows.append({"output": name, "parameter": path, **{c: float(v[j]) for c, v in at.items()}})
    table = pd.DataFrame(rows, columns=["output", "parameter", *_COLUMNS])
    order = table.groupby("output", sort=False).cumcount()  # keep the outputs' order, rank within each
    table = table.assign(_o=table["output"].map({n: i for i, n in enumerate(names)}), _k=order)
    table = table.sort_values(["_o", "mu_star"], ascending=[True, False], kind="stable")
    return table.drop(columns=["_o", "_k"]).reset_index(drop=True)


def plot_morris(ds: xr.Dataset, output: str = "probability_full_war", ax=None):
    """The Morris plane of one output: sigma against mu* per parameter (error bars: the bootstrap
    interval of mu*; an open marker with no whisker where the file has no bounds), each point
    labelled by its parameter. Parameters near the origin matter
    little; far right, much; high sigma, through interactions or non-linearly. Returns the Axes."""
    ds = dataset(ds)
    import matplotlib.pyplot as plt

    table = morris_table(ds, output)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 4.8), layout="constrained")
    x, y = table["mu_star"].to_numpy(), table["sigma"].to_numpy()
    lower, upper = table["mu_star_lower"].to_numpy(), table["mu_star_upper"].to_numpy()
    # A mu* whose bootstrap bounds are NaN has no interval: an open marker with no whisker (and a
    # legend entry), not a filled one whose missing whisker reads as an exact value.
    ok = np.isfinite(lower) & np.isfinite(upper)
    if ok.any():
        err = np.vstack([x[ok] - lower[ok], upper[ok] - x[ok]])
        ax.errorbar(x[ok], y[ok], xerr=np.maximum(err, 0), fmt="o", color="tab:blue", ecolor="0.6", capsize=3)
    if not ok.all():
        ax.plot(x[~ok], y[~ok], "o", markerfacecolor="none", markeredgecolor="tab:blue", linestyle="none",
                label="no interval for mu* (open marker)")
    for xi, yi, path in zip(x, y, table["parameter"]):
        ax.annotate(label_of(ds, path, units=False), (xi, yi), textcoords="offset points", xytext=(5, 4), fontsize=8)
    top = max(float(np.nanmax(x)) if len(x) else 1.0, float(np.nanmax(y)) if len(y) else 1.0, 1e-12)
    ax.plot([0, top], [0, top], color="0.7", lw=0.8, ls=":", label="sigma = mu*")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"mu* (mean |elementary effect| on {output} over each parameter's range)")
    ax.set_ylabel("sigma (spread of the elementary effects)")
    trajectories = int(ds.attrs.get("samples", 0))
    ax.set_title(f"Morris screening of {output}: {trajectories} trajectories, "
                 f"{int(ds.attrs.get('morris_levels', 4))} levels, seed {ds.attrs.get('seed', '?')}")
    ax.legend(loc="upper left", fontsize=8)
    return ax
