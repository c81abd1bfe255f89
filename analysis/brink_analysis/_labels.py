"""Parameters and points in words: a parameter's unit as the file records it, the readable label of
a parameter path, and the label of a point from the values of its sweep axes."""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import xarray as xr

from ._parameters import (format_value, named_parameter_table, parameter_list_text, parameter_table,
                          parameter_values, parameters, point_positions, sweep_axes)
from .checks import dataset, name_list


_NICE = {
    "forces.deployed": "deployed forces",
    "forces.ready": "ready forces",
    "forces.reserve": "reserve forces",
    "forces.deployed_cap": "cap on deployed forces",
    "forces.mobilization_rate": "mobilization rate",
    "forces.deployment_rate": "deployment rate",
    "posture.reaction": "reaction coefficient",
    "posture.fatigue": "fatigue",
    "posture.grievance": "grievance",
    "combat.effectiveness": "combat effectiveness",
    "combat.defence_advantage": "defence advantage",
    "decision.rationality": "rationality λ",
    "decision.patience_days": "patience",
    "decision.ready_weight": "weight of ready forces",
    "decision.war_cost": "war cost",
    "decision.war_cost_spread": "spread of the war cost",
    "decision.casualty_cost": "casualty cost",
}


def parameter_units(ds: xr.Dataset, path: str) -> str | None:
    """Unit of parameter `path` as the file records it (the ``units`` of its coordinate, or
    ``parameter_units``), or None if the file gives none or a dimensionless ``1``,
    e.g. ``"troops"`` for ``actors.RUS.forces.deployed``. The package keeps no unit table
    of its own: the engine's parameter registry is the one source."""
    ds = dataset(ds)
    units = parameter_table(ds).attrs["units"]
    if path not in units:
        parameter_values(ds, path)  # raises the ValueError naming the file's parameters
    return units[path]


def _nice_actor_path(rest: str) -> str:
    """Readable text of the part of an ``actors.I.<rest>`` path after the actor id."""
    if rest in _NICE:
        return _NICE[rest]
    m = re.fullmatch(r"types\.([^.]+)\.(prior|resolve)", rest)
    if m:
        return f"{m.group(2)} of type '{m.group(1)}'"
    m = re.fullmatch(r"(?:decision|types\.([^.]+))\.weights\.([^.]+)", rest)
    if m:
        return f"weight on {m.group(2).replace('_', ' ')}" + (f" (type '{m.group(1)}')" if m.group(1) else "")
    m = re.fullmatch(r"actions\.([^.]+)\.([^.]+)", rest)
    if m:
        return f"'{m.group(1)}' {m.group(2)}"
    return rest.replace("_", " ")


def parameter_label(path: str, unit: str | None = None, scenario: Mapping | None = None) -> str:
    """Human-readable label of a parameter path, with `unit` in parentheses when given:
    ``parameter_label("actors.RUS.decision.patience_days", "days")`` -> ``"RUS patience (days)"``.
    Use :func:`label_of` for a parameter of a file, whose unit the file records.

    `scenario` (the parsed scenario, optional) names list entries such as
    commitments: ``relations.commitments.2.strength`` -> ``"USA→UKR commitment strength"``."""
    m = re.fullmatch(r"actors\.([^.]+)\.(.+)", path)
    c = re.fullmatch(r"relations\.commitments\.(\d+)\.strength", path)
    i = re.fullmatch(r"negotiation\.issues\.([^.]+)\.(positions|salience)\.([^.]+)", path)
    text = path
    if m:
        text = f"{m.group(1)} {_nice_actor_path(m.group(2))}"
    elif i:
        text = f"{i.group(3)} {'position' if i.group(2) == 'positions' else 'salience'} on {i.group(1).replace('_', ' ')}"
    elif c and scenario is not None:
        try:
            entry = scenario["relations"]["commitments"][int(c.group(1))]
            text = f"{entry['from']}→{entry['to']} commitment strength"
        except (KeyError, IndexError, TypeError, ValueError):
            pass
    return f"{text} ({unit})" if unit else text


def label_of(ds: xr.Dataset, path: str, units: bool = True) -> str:
    """Label of parameter `path` in a dataset from :func:`open_results` (which names list entries
    from the file's scenario text), with the file's unit in parentheses when it has one and `units` is true."""
    ds = dataset(ds)
    coord = ds.coords.get(path)
    known = path in parameters(ds) or any(str(v.attrs.get("parameter_path")) == path for v in ds.variables.values())
    if not known:  # a typo would otherwise label the plot with the typo
        parameter_values(ds, path)  # raises the ValueError naming the file's parameters
    unit = parameter_units(ds, path) if units and path in parameters(ds) else None
    if coord is not None and "label" in coord.attrs:
        return f"{coord.attrs['label']} ({unit})" if unit else str(coord.attrs["label"])
    return parameter_label(path, unit)


def _parse_scenario(text) -> Mapping | None:
    """The scenario YAML as a dict, or None if PyYAML is missing or the text does not parse."""
    if not isinstance(text, str):
        return None
    try:
        import yaml  # optional (python3-yaml): only used to name list entries in labels
    except ImportError:
        return None
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return parsed if isinstance(parsed, Mapping) else None


def point_label(ds: xr.Dataset, point: int, names: Sequence[str] | None = None) -> str:
    """Label of the point at position `point`: ``"RUS patience 30 days, RUS deployed forces 100,000 troops"``.

    `names` are the parameter paths to show (default: those swept in the file);
    with none, the label is ``"point <index>"``."""
    ds = dataset(ds)
    (point,) = point_positions(ds, [point], "point")
    names = sweep_axes(ds) if names is None else name_list(names, "parameter", empty_ok=True)
    if not names:
        return f"point {int(ds['point'].values[point])}"
    parts = []
    shown = named_parameter_table(ds)
    for name in names:
        if name not in shown.columns:
            raise ValueError(f"{name!r} is not a parameter of this file; its parameters: {parameter_list_text(shown.columns)}")
        unit = parameter_units(ds, name)
        value = format_value(shown[name].to_numpy()[point])
        if unit in ("days", "troops"):
            value += f" {unit[:-1] if value == '1' else unit}"  # "1 day", not "1 days"
        parts.append(f"{label_of(ds, name, units=False)} {value}")
    return ", ".join(parts)
