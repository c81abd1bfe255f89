"""Plots of brink results (matplotlib).

Every function takes a dataset from :func:`brink_analysis.open_results`,
accepts ``ax=`` (an existing Axes to draw into; a new figure is made when it
is None) and returns the Axes it drew on; :func:`plot_troop_fans` draws a grid
of panels and returns the Figure. Time axes are in days since the start of
the crisis, troops are head counts and probabilities are fractions.
Functions raise ValueError, naming the ``brink run`` option to use, when the
file lacks the data a plot needs (e.g. time series without ``--timeseries``).

The plots are defined by what they draw: outcome probabilities against swept parameters in
``_outcome_plots``, series over time in ``_time_series_plots``, Sobol indices in
``_sensitivity_plot``; what they share in ``_plot_common``; captions and saving in
``_figure_files``.
"""

from __future__ import annotations

from ._figure_files import caption, provenance, save_figure
from ._outcome_plots import plot_outcome_heatmap, plot_outcome_probability
from ._plot_common import OUTCOME_COLORS, incomplete_line, outcome_label
from ._sensitivity_plot import plot_sensitivity
from ._time_series_plots import (plot_beliefs, plot_rung_occupancy, plot_survival, plot_troop_fan,
                                 plot_troop_fans)

__all__ = [
    "OUTCOME_COLORS",
    "caption",
    "incomplete_line",
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
