"""Opening brink result files and naming their sweep parameters.

A brink file (docs/output.md) is a netCDF-4 file with dimensions ``point``
(sweep points), ``replication``, ``block``, ``step`` (the one time axis: the
initial state and every K steps, with ``day(step)`` in days), ``actor``,
``pool``, ``outcome``, ``rung``, ``action``, ``type``, ``quantile_level``, ``issue``
(negotiation issues), ``parameter`` (the ``--set``/``--sweep`` paths, if any)
and, after ``--sensitivity``, ``output``.

This module is where the package's reading functions are imported from. Each is defined, by
meaning, in one of:

- ``_open_results``: :func:`open_results` and :func:`shard_of`; the checks it makes before
  handing a file over are in ``_hdf5_file`` (opening with h5py, HDF5's errors in one sentence)
  and ``_file_checks`` (layout, names, checksums, values), what it adds to the file in
  ``_decoration``;
- ``_parameters``: the parameters' values at every point, and the points a value picks;
- ``_labels``: units and labels of parameters and points;
- ``_grids``: :func:`indexed` and :func:`to_grid`;
- ``_variables``: :func:`replication_mask`, :func:`read_values`, :func:`require`.
"""

from __future__ import annotations

from ._decoration import UNRUN_COMMENT
from ._grids import indexed, to_grid
from ._labels import label_of, parameter_label, parameter_units, point_label
from ._open_results import FORMAT_VERSION, open_results, shard_of
from ._parameters import (
    DRAWN_HINT,
    READ_DRAWN,
    category_names,
    format_value,
    named_parameter_table,
    parameter_list_text,
    parameter_table,
    parameter_values,
    parameters,
    point_position,
    point_positions,
    replication_parameter_paths,
    replication_parameters,
    select_points,
    sweep_axes,
    swept_parameters,
)
from ._variables import PER_RUN_HINT, TIMESERIES_HINT, read_values, replication_mask, require

__all__ = [
    "DRAWN_HINT",
    "FORMAT_VERSION",
    "PER_RUN_HINT",
    "READ_DRAWN",
    "TIMESERIES_HINT",
    "UNRUN_COMMENT",
    "category_names",
    "format_value",
    "indexed",
    "label_of",
    "named_parameter_table",
    "open_results",
    "parameter_label",
    "parameter_list_text",
    "parameter_table",
    "parameter_units",
    "parameter_values",
    "parameters",
    "point_label",
    "point_position",
    "point_positions",
    "read_values",
    "replication_mask",
    "replication_parameter_paths",
    "replication_parameters",
    "require",
    "select_points",
    "shard_of",
    "sweep_axes",
    "swept_parameters",
    "to_grid",
]
