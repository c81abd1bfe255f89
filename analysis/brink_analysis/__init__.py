"""Python helpers for the result files of the `brink` crisis-simulation engine.

Usable without installing: put the repository's ``analysis/`` directory on the
path (``PYTHONPATH=analysis``) and use Debian's ``/usr/bin/python3`` (it has
xarray, h5netcdf, pandas and matplotlib).

Reading
    :func:`open_results` opens a file as an :class:`xarray.Dataset` with string
    coordinates as ``str``, ``day`` (the day of each entry of the ``step``
    axis) in days, not timedeltas, and every ``--set``/``--sweep`` parameter
    attached as a coordinate along ``point``; :func:`outcome_table` and
    :func:`agreement_table` turn the per-point outcome and agreement
    probabilities into tidy :class:`pandas.DataFrame` tables.

Derived arrays (what the plots draw)
    :func:`survival_curves`, :func:`rung_occupancy` and :func:`troop_means`
    (per-point summaries: any file); :func:`troop_quantiles` and
    :func:`belief_by_true_type` (per-replication time series: ``--timeseries``).

Plots (matplotlib; each accepts ``ax=`` and returns the Axes, or a Figure for
multi-panel plots)
    :func:`plot_outcome_probability`, :func:`plot_outcome_heatmap`,
    :func:`plot_troop_fan`, :func:`plot_troop_fans`, :func:`plot_rung_occupancy`,
    :func:`plot_survival`, :func:`plot_beliefs`, :func:`plot_sensitivity`.

Running the engine
    :func:`find_brink` and :func:`run_brink` locate and run the CLI.

Units follow the engine: troops are head counts, time is in days,
probabilities and beliefs are fractions in [0, 1].
"""

from .cli import find_brink, run_brink
from .io import (
    format_value,
    label_of,
    open_results,
    parameter_label,
    parameter_table,
    parameter_units,
    parameter_values,
    parameters,
    point_label,
    point_position,
    replication_mask,
    select_points,
    swept_parameters,
)
from .plots import (
    OUTCOME_COLORS,
    plot_beliefs,
    plot_outcome_heatmap,
    plot_outcome_probability,
    plot_rung_occupancy,
    plot_sensitivity,
    plot_survival,
    plot_troop_fan,
    plot_troop_fans,
    save_figure,
)
from .tables import (
    agreement_table,
    belief_by_true_type,
    outcome_table,
    rung_occupancy,
    sensitivity_table,
    survival_curves,
    troop_means,
    troop_quantiles,
    type_names,
    wilson_interval,
)

__all__ = [
    "OUTCOME_COLORS",
    "agreement_table",
    "belief_by_true_type",
    "find_brink",
    "format_value",
    "label_of",
    "open_results",
    "outcome_table",
    "parameter_label",
    "parameter_table",
    "parameter_units",
    "parameter_values",
    "parameters",
    "plot_beliefs",
    "plot_outcome_heatmap",
    "plot_outcome_probability",
    "plot_rung_occupancy",
    "plot_sensitivity",
    "plot_survival",
    "plot_troop_fan",
    "plot_troop_fans",
    "point_label",
    "point_position",
    "replication_mask",
    "run_brink",
    "rung_occupancy",
    "save_figure",
    "select_points",
    "sensitivity_table",
    "survival_curves",
    "swept_parameters",
    "troop_means",
    "troop_quantiles",
    "type_names",
    "wilson_interval",
]
