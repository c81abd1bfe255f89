"""Python helpers for the result files of the `brink` crisis-simulation engine.

Install it offline into a virtual environment that sees Debian's packages
(``/usr/bin/python3 -m venv --system-site-packages .venv`` then
``.venv/bin/pip install --no-build-isolation --no-index -e analysis``), or use
it in place with ``PYTHONPATH=analysis`` and Debian's ``/usr/bin/python3`` (it
has xarray, h5netcdf, pandas and matplotlib; scikit-learn and tqdm for the
exploration functions).

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
    :func:`plot_survival`, :func:`plot_beliefs`, :func:`plot_sensitivity`;
    :func:`caption` writes a figure's :func:`provenance` (brink version, scenario, seed,
    replications, design) at its foot.

Running the engine
    :func:`run` runs ``brink run`` with live progress and returns the opened
    file; :func:`find_brink` and :func:`run_brink` locate and run the CLI.

Exploratory modelling
    :func:`find_boxes` (PRIM, Friedman & Fisher 1999, on a sweep file) and
    :func:`prim` (on any cases), :func:`cart_boxes`, :func:`feature_scores`,
    :func:`discovery_data`; :func:`robustness_table`, :func:`regret_table` and
    :func:`policy_outcomes` for levers × uncertainties designs; plots
    :func:`plot_prim_tradeoff`, :func:`plot_prim_box`,
    :func:`plot_outcome_scatter`, :func:`plot_partial_dependence`,
    :func:`plot_robustness`; :func:`morris_table` and :func:`plot_morris` for
    Morris screening (``--design morris``); :func:`indexed` makes the
    parameter coordinates an index, so ``indexed(ds).sel(param=value)`` works. Command line: ``python3 -m brink_analysis
    discover FILE --outcome full_war`` (or ``brink-analysis discover ...``).

Units follow the engine: troops are head counts, time is in days,
probabilities and beliefs are fractions in [0, 1]. ``__version__`` is the
brink engine's version, which the package goes with; it reads result files
of output format :data:`FORMAT_VERSION`.
"""

from ._version import __version__
from .cli import find_brink, run_brink
from .screening import morris_table, plot_morris
from .discovery import cart_boxes, discovery_data, feature_scores, find_boxes, variance_explained
from .explore_plots import (
    plot_outcome_scatter,
    plot_partial_dependence,
    plot_prim_box,
    plot_prim_tradeoff,
    plot_robustness,
)
from .io import (
    FORMAT_VERSION,
    category_names,
    format_value,
    indexed,
    label_of,
    open_results,
    named_parameter_table,
    parameter_label,
    parameter_table,
    parameter_units,
    parameter_values,
    parameters,
    point_label,
    point_position,
    read_values,
    replication_mask,
    replication_parameters,
    select_points,
    shard_of,
    swept_parameters,
    to_grid,
)
from .plots import (
    OUTCOME_COLORS,
    caption,
    plot_beliefs,
    plot_outcome_heatmap,
    plot_outcome_probability,
    plot_rung_occupancy,
    plot_sensitivity,
    plot_survival,
    plot_troop_fan,
    plot_troop_fans,
    provenance,
    save_figure,
)
from .prim import Box, PrimResult, prim
from .robust import design_roles, policy_outcomes, regret_table, robustness_table
from .runner import brink_command, run
from .tables import (
    agreement_table,
    belief_by_true_type,
    clustered_interval,
    outcome_table,
    predictive_table,
    rung_occupancy,
    sensitivity_table,
    survival_curves,
    troop_means,
    troop_quantiles,
    type_names,
    wilson_interval,
)

__all__ = [
    "__version__",
    "FORMAT_VERSION",
    "design_roles",
    "indexed",
    "morris_table",
    "plot_morris",
    "Box",
    "PrimResult",
    "brink_command",
    "cart_boxes",
    "discovery_data",
    "feature_scores",
    "find_boxes",
    "plot_outcome_scatter",
    "plot_partial_dependence",
    "plot_prim_box",
    "plot_prim_tradeoff",
    "plot_robustness",
    "policy_outcomes",
    "prim",
    "regret_table",
    "robustness_table",
    "run",
    "variance_explained",
    "OUTCOME_COLORS",
    "agreement_table",
    "caption",
    "belief_by_true_type",
    "category_names",
    "find_brink",
    "format_value",
    "label_of",
    "open_results",
    "outcome_table",
    "predictive_table",
    "clustered_interval",
    "named_parameter_table",
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
    "provenance",
    "read_values",
    "replication_mask",
    "run_brink",
    "rung_occupancy",
    "save_figure",
    "select_points",
    "sensitivity_table",
    "shard_of",
    "survival_curves",
    "swept_parameters",
    "to_grid",
    "troop_means",
    "troop_quantiles",
    "type_names",
    "wilson_interval",
]
