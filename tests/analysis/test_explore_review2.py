"""Findings of the second outside test of the exploration functions: a PRIM box of one value drawn
as a visible cell, no peel of half the box for no gain, the same feature scores per point and per
replication, robustness errors that name the points they mean, and edited files refused on opening.
The files are written by the real brink binary; every expected value is computed here."""

import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D

import brink_analysis as ba

from .conftest import _run, two_actor_scenario

COST = "actors.RED.actions.invade.cost"
RED_PATIENCE = "actors.RED.decision.patience_days"
BLU_PATIENCE = "actors.BLU.decision.patience_days"
BLU_DEPLOYED = "actors.BLU.forces.deployed"
LAW = "combat.law"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("explore_review2")


@pytest.fixture(scope="module")
def scenario(source_dir, folder):
    return two_actor_scenario(source_dir, folder)


@pytest.fixture(scope="module")
def mixed_file(brink, scenario, folder):
    """Levers (the combat law, BLU's patience 20 or 60 days) crossed with 16 LHS states of the world
    (RED's patience, the invasion's cost), common random numbers, 200 replications with per-run
    data: 200 is no power of two, so 1/200 per replication does not sum to 1 exactly."""
    return _run(brink, folder / "mixed.h5", scenario, "-n", 200, "--design", "lhs", "--samples", 16,
                "--sweep", f"{RED_PATIENCE}=5:90", "--sweep", f"{COST}=-1:3",
                "--lever", f"{LAW}=square,linear", "--lever", f"{BLU_PATIENCE}=20,60",
                "--set", "run.random_numbers=common")


@pytest.fixture(scope="module")
def policy_files(brink, scenario, folder):
    """One file per policy of the same LHS states, BLU's deployed forces set to 20000, to a value
    that agrees with it to 12 significant digits, and to 50000."""
    return [_run(brink, folder / f"policy-{k}.h5", scenario, "-n", 32, "--summary-only", "--design", "lhs",
                 "--samples", 6, "--sweep", f"{RED_PATIENCE}=5:90", "--sweep", f"{COST}=-1:3",
                 "--set", f"{BLU_DEPLOYED}={value}")
            for k, value in enumerate(("20000", "20000.0000000001", "50000"))]


# 1. A box of one value -----------------------------------------------------------------------


def red_bars(ax, row):
    """The coloured (box) bars of plot_prim_box's row `row`, as (left, right) in the data's range."""
    red = to_rgba("tab:red")[:3]
    return [(p.get_x(), p.get_x() + p.get_width()) for p in ax.patches
            if tuple(p.get_facecolor()[:3]) == red and p.get_y() < row < p.get_y() + p.get_height()]


def test_a_box_of_one_value_is_a_visible_cell(mixed_file):
    """A box limited to BLU's patience of 60 (lower == upper, at the data's maximum) was a bar of
    zero width: with all_parameters=True the one restricted row looked like the free ones."""
    with ba.open_results(mixed_file) as ds:
        X, _, w = ba.discovery_data(ds)
        y = np.where(X[BLU_PATIENCE].to_numpy() == 60, 0.9, 0.1)
        box = ba.prim(X, y, w, units=X.attrs["units"]).box()
        assert box.restricted == [BLU_PATIENCE] and box.lower[BLU_PATIENCE] == box.upper[BLU_PATIENCE] == 60
        ax = ba.plot_prim_box(box, ds=ds, all_parameters=True)
        rows = [t.get_text() for t in ax.get_yticklabels()]
        row = rows.index(ba.label_of(ds, BLU_PATIENCE))
        (cell,) = red_bars(ax, row)
        assert cell[1] - cell[0] >= 0.02 and cell[0] <= 1.0 <= cell[1]  # 60 is the data's maximum: position 1
        markers = [line for line in ax.lines if isinstance(line, Line2D) and list(line.get_ydata()) == [row]]
        assert [list(m.get_xdata()) for m in markers] == [[1.0]]
        free = rows.index(ba.label_of(ds, COST))
        assert red_bars(ax, free) == [(0.0, 1.0)]


# 2. No peel for no gain -------------------------------------------------------------------------


def dip_cases(categorical: bool):
    """400 cases: x on a fine grid, twice, once per value of a lever the outcome ignores exactly.
    The outcome is 1 for 0.4 < x < 0.6, 0.5 below 0.1 and above 0.9, 0 elsewhere: every first peel
    of x lowers the density (a dip on the way to the dense middle), and dropping a lever value
    leaves it as it is while removing half the box."""
    x = (np.arange(200) + 0.5) / 200
    y = np.select([(x > 0.4) & (x < 0.6), (x < 0.1) | (x > 0.9)], [1.0, 0.5], 0.0)
    X = pd.DataFrame({"x": np.tile(x, 2), "lever": np.repeat([0.0, 1.0], 200)})
    if categorical:
        X.attrs["categories"] = {"lever": {0.0: "off", 1.0: "on"}}
    return X, np.tile(y, 2)


@pytest.mark.parametrize("categorical", [False, True], ids=["numeric lever", "categorical lever"])
def test_a_peel_that_raises_no_density_is_not_taken_for_half_the_box(categorical):
    """When no peel raised the density, the peel of a lever value, which removed half the box for no
    rise, beat the small peels that lowered it a little (by density, and by rise per weight
    removed); pasting adds only what raises the density, so the chosen box kept one lever value:
    the density of the box without that restriction and half its coverage (0.325 here)."""
    X, y = dip_cases(categorical)
    result = ba.prim(X, y)
    assert not any("lever" in box.restricted for box in result.boxes)
    t = result.trajectory
    removed = 1 - t["mass"].to_numpy()[1:] / t["mass"].to_numpy()[:-1]
    no_rise = np.diff(t["density"].to_numpy()) <= 1e-12
    assert no_rise.any() and removed[no_rise].max() < 0.1  # the dips are crossed by small peels
    box = result.box()
    inside = box.contains(X)
    assert box.restricted == ["x"] and box.density == pytest.approx(y[inside].mean()) and box.density > 0.95
    assert box.coverage == pytest.approx(y[inside].sum() / y.sum()) and box.coverage > 0.6


def test_the_box_on_a_levers_file_keeps_no_lever_for_no_gain(mixed_file):
    """On a real levers x uncertainties file with common random numbers, BLU's patience changes no
    count at any state (checked here): no box of the trajectory may restrict it."""
    with ba.open_results(mixed_file) as ds:
        table = ba.parameter_table(ds)
        counts = ds["outcome_count"].values
        others = [c for c in table.columns if c != BLU_PATIENCE]
        for _, rows in table.groupby(others).groups.items():
            assert len(rows) == 2 and (counts[rows[0]] == counts[rows[1]]).all()
        result = ba.find_boxes(ds, "full_war")
    assert not any(BLU_PATIENCE in box.restricted for box in result.boxes)


# 3. Per point and per replication --------------------------------------------------------------


def test_feature_scores_are_the_same_per_point_and_per_replication(mixed_file):
    """Per-replication cases merged per point summed 200 weights of 1/200 and the outcomes times
    them, which missed count/200 in the last bit at some points and changed extra-trees' splits."""
    with ba.open_results(mixed_file) as ds:
        per_point = ba.discovery_data(ds, "full_war", per="point")
        per_replication = ba.discovery_data(ds, "full_war", per="replication")
        counts = ds["outcome_count"].sel(outcome="full_war").values
        replications = ds["replications"].values
    assert (replications == 200).all()
    np.testing.assert_array_equal(per_point[1], counts / replications)
    a, b = ba.feature_scores(*per_point), ba.feature_scores(*per_replication)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs == b.attrs
    pd.testing.assert_frame_equal(ba.cart_boxes(*per_point), ba.cart_boxes(*per_replication))


# 4. Robustness errors name the points ---------------------------------------------------------


def test_policies_that_agree_to_12_digits_are_named(policy_files):
    """Two files whose lever values agree to 12 significant digits are one policy to the table; the
    error said to name every varying parameter as a lever or an uncertainty, which they were."""
    first, same, other = (ba.open_results(f) for f in policy_files)
    try:
        assert ba.robustness_table([first, other], [BLU_DEPLOYED], "full_war").shape[0] == 2
        with pytest.raises(ValueError) as error:
            ba.robustness_table([first, same, other], [BLU_DEPLOYED], "full_war")
        message = str(error.value)
        assert message.startswith(f"'{policy_files[0]}' point 0 and '{policy_files[1]}' point 0 are one "
                                  f"(policy, state) pair: their values of {BLU_DEPLOYED}, 20000.0 and "
                                  "20000.0000000001, agree to 12 significant digits")
        assert "name every parameter" not in message
    finally:
        for ds in (first, same, other):
            ds.close()


def test_the_same_policy_twice_is_named(policy_files, folder):
    """A copy of a policy's file is that policy again: the error names both files."""
    copy = folder / "policy-0-copy.h5"
    shutil.copy(policy_files[0], copy)
    with ba.open_results(policy_files[0]) as a, ba.open_results(policy_files[2]) as b, ba.open_results(copy) as c:
        with pytest.raises(ValueError) as error:
            ba.robustness_table([a, b, c], [BLU_DEPLOYED], "full_war")
    assert str(error.value) == (
        f"'{policy_files[0]}' point 0 and '{copy}' point 0 are the same (policy, state) pair, with every parameter "
        f"equal ({BLU_DEPLOYED}=20,000 in the same state): each policy must be run once in each state, so pass each "
        "policy's file once")


# 5. Edited files --------------------------------------------------------------------------------


def edited(source, folder, name, edit):
    path = folder / name
    shutil.copy(source, path)
    with h5py.File(path, "r+") as file:
        edit(file)
    return path


@pytest.mark.parametrize("name, edit, message", [
    ("nan-probability.h5", lambda f: f["outcome_probability"].__setitem__(Ellipsis, np.nan),
     r"the variable 'outcome_probability' holds nan for outcome settlement at point 0, which finished, "
     r"where brink writes a probability"),
    ("big-probability.h5", lambda f: f["outcome_probability"].__setitem__((2, 1), 1.5),
     r"the variable 'outcome_probability' holds 1.5 for outcome standoff at point 2, which finished, "
     r"where brink writes a probability"),
    ("nan-parameters.h5", lambda f: f["parameter_value"].__setitem__(Ellipsis, np.nan),
     r"the parameter actors.RED.decision.patience_days has no value \(NaN in 'parameter_value'\) at every point"),
    ("nan-axis.h5", lambda f: f["parameter_value"].__setitem__((3, 1), np.nan),
     r"the parameter actors.RED.actions.invade.cost has no value \(NaN in 'parameter_value'\) at point 3, "
     r"which finished"),
], ids=["NaN probabilities", "a probability above 1", "NaN parameter values", "a sweep axis without a value"])
def test_edited_values_are_refused_on_opening(policy_files, folder, name, edit, message):
    """NaN probabilities opened silently (outcome_table showed NaN while discovery read the counts),
    and NaN parameter values made discovery call the parameter 'fixed with --set'."""
    def names(variable):
        return [v.decode() if isinstance(v, bytes) else str(v) for v in variable[()]][:2]

    with h5py.File(policy_files[0], "r") as file:  # the names the messages give
        assert names(file["parameter"]) == [RED_PATIENCE, COST] and names(file["outcome"]) == ["settlement", "standoff"]
    path = edited(policy_files[0], folder, name, edit)
    with pytest.raises(ValueError, match=f"^'{path}' is not a whole brink result: {message} \\(a damaged or edited "
                                         f"file\\); run it again$"):
        ba.open_results(path)


def test_a_repeated_pair_in_a_table_with_its_own_index_is_named():
    """The repeated pair was looked up by position as a label: a table whose index is not 0..n-1
    raised KeyError instead of the sentence, which also told a table's user to pass files."""
    table = pd.DataFrame({"lever": [1.0, 1.0, 2.0, 2.0, 1.0], "state": [0.1, 0.2, 0.1, 0.2, 0.1],
                          "probability": [0.1, 0.2, 0.3, 0.4, 0.5]}, index=[10, 11, 12, 13, 14])
    with pytest.raises(ValueError) as error:
        ba.policy_outcomes(table, ["lever"], "full_war", ["state"])
    assert str(error.value) == (
        "row 10 of the table and row 14 of the table are the same (policy, state) pair, with every parameter equal "
        "(lever=1 in the same state): each policy must be run once in each state, so give each pair one row")
