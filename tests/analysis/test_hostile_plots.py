"""Plots and tables: the findings of the hostile test (items 5, 6, 12 and part of 14).

Every file is written by the real brink binary into pytest's temporary folders; the
assertions look at the artists (legend texts, tick labels, line data), not at images.
"""

import shutil

import h5py
import numpy as np
import pandas as pd
import pytest

import brink_analysis as ba
from brink_analysis.plots import outcome_label
from .conftest import PATIENCE, _run

LAW = "combat.law"
RED_PATIENCE, BLU_DEPLOYED = "actors.RED.decision.patience_days", "actors.BLU.forces.deployed"


def texts(artists):
    return [a.get_text() for a in artists]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile_plots")


@pytest.fixture(scope="module")
def scenario_file(brink, folder, source_dir):
    """A grid over two scenario files (a scenario choice, stored as its index) and RUS patience."""
    choices = [str(source_dir / "scenarios" / f"{name}.yaml") for name in ("jan-2022-standoff", "diplomacy-first")]
    path = _run(brink, folder / "scenario.h5", "-n", 256, "--summary-only",
                "--sweep", f"scenario={','.join(choices)}", "--sweep", f"{PATIENCE}=15,60")
    return path, choices


@pytest.fixture
def law(law_file):
    with ba.open_results(law_file) as ds:
        yield ds


# --------------------------------------------------------------------------
# 5. Categorical parameters are labelled by their names
# --------------------------------------------------------------------------


def test_legend_names_the_values_of_a_categorical_by(law):
    ax = ba.plot_outcome_probability(law, PATIENCE, "full_war", by=LAW)
    assert texts(ax.get_legend().get_texts()) == ["square", "linear"]
    ax = ba.plot_outcome_probability(law, PATIENCE, ["settlement", "full_war"], by=LAW)
    legend = texts(ax.get_legend().get_texts())
    assert len(legend) == 4 and all(t.endswith((", square", ", linear")) for t in legend)


def test_categorical_x_axis_has_a_named_tick_at_each_category(law):
    ax = ba.plot_outcome_probability(law, LAW, "full_war", by=PATIENCE)
    codes = sorted(ba.category_names(law, LAW))
    np.testing.assert_array_equal(ax.get_xticks(), codes)
    assert texts(ax.get_xticklabels()) == ["square", "linear"]
    for line in ax.get_lines():  # every line runs through the categories' positions
        np.testing.assert_array_equal(line.get_xdata(), codes)
    low, high = ax.get_xlim()
    assert low < codes[0] and high > codes[-1]


def test_heatmap_ticks_name_a_text_value(law):
    ax = ba.plot_outcome_heatmap(law, "full_war", PATIENCE, LAW)
    assert texts(ax.get_yticklabels()) == ["square", "linear"]
    assert texts(ax.get_xticklabels()) == ["15", "30", "60"]


def test_heatmap_ticks_name_a_scenario_choice(scenario_file):
    path, choices = scenario_file
    with ba.open_results(path) as ds:
        ax = ba.plot_outcome_heatmap(ds, "full_war", "scenario", PATIENCE)
        assert texts(ax.get_xticklabels()) == choices
        ax = ba.plot_outcome_probability(ds, PATIENCE, "full_war", by="scenario")
        assert texts(ax.get_legend().get_texts()) == choices


def test_scatter_axis_names_a_categorical_parameter(law):
    ax = ba.plot_outcome_scatter(law, PATIENCE, LAW)
    np.testing.assert_array_equal(ax.get_yticks(), sorted(ba.category_names(law, LAW)))
    assert texts(ax.get_yticklabels()) == ["square", "linear"]


def test_scatter_draws_a_box_of_one_category_as_its_cell(law):
    linear = next(code for code, name in ba.category_names(law, LAW).items() if name == "linear")
    values = ba.parameter_values(law, PATIENCE)
    box = ba.Box(lower=pd.Series({LAW: linear, PATIENCE: values.min()}),
                 upper=pd.Series({LAW: linear, PATIENCE: values.max()}), mass=0.5, coverage=0.5, density=0.5,
                 data_min=pd.Series({LAW: 0.0, PATIENCE: values.min()}),
                 data_max=pd.Series({LAW: 1.0, PATIENCE: values.max()}))
    ax = ba.plot_outcome_scatter(law, PATIENCE, LAW, box=box)
    (rect,) = ax.patches
    assert rect.get_y() < linear < rect.get_y() + rect.get_height()  # not a line of zero height


def test_partial_dependence_axis_names_a_categorical_parameter(law):
    fig = ba.plot_partial_dependence(law, "full_war")
    panel = next(a for a in fig.axes if a.get_xlabel() == ba.label_of(law, LAW))
    assert texts(panel.get_xticklabels()) == ["square", "linear"]


def test_prim_box_names_the_limits_of_a_categorical_parameter(law):
    linear = next(code for code, name in ba.category_names(law, LAW).items() if name == "linear")
    square = next(code for code, name in ba.category_names(law, LAW).items() if name == "square")
    box = ba.Box(lower=pd.Series({LAW: linear}), upper=pd.Series({LAW: linear}), mass=0.5, coverage=0.5,
                 density=0.5, data_min=pd.Series({LAW: min(linear, square)}),
                 data_max=pd.Series({LAW: max(linear, square)}))
    ax = ba.plot_prim_box(box, ds=law)
    assert texts(ax.texts) == ["linear", "linear"]


# --------------------------------------------------------------------------
# 6. Outcome labels come from the file
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_actor_sens_file(brink, folder, source_dir):
    """The two-actor example (RED and BLU), Sobol indices over RED's patience and BLU's forces."""
    return _run(brink, folder / "two-sens.h5", source_dir / "docs" / "examples" / "sweep.yaml", "-n", 64,
                "--summary-only", "--sensitivity", "--design", "sobol", "--samples", 16,
                "--sweep", f"{RED_PATIENCE}=10:90", "--sweep", f"{BLU_DEPLOYED}=20000:80000")


@pytest.fixture(scope="module")
def two_actor_grid_file(brink, folder, source_dir):
    """The two-actor example's own 3 x 2 grid."""
    return _run(brink, folder / "two-grid.h5", source_dir / "docs" / "examples" / "sweep.yaml", "-n", 256,
                "--summary-only")


# A rare outcome's Sobol bounds are NaN (sweeps.md, "Intervals"): matplotlib warns about its error bars.
@pytest.mark.filterwarnings("ignore:All-NaN axis encountered:RuntimeWarning")
def test_two_actor_scenario_has_no_nato_russia_war(two_actor_sens_file, two_actor_grid_file):
    with ba.open_results(two_actor_sens_file) as ds:
        title = ba.plot_sensitivity(ds, "probability_alliance_war").get_title()
        assert "P(alliance war)" in title and "NATO" not in title
    with ba.open_results(two_actor_grid_file) as ds:
        ax = ba.plot_outcome_probability(ds, RED_PATIENCE, where={BLU_DEPLOYED: 40000})
        legend = texts(ax.get_legend().get_texts())
        assert "alliance war" in legend and not any("NATO" in t for t in legend)
        ax = ba.plot_outcome_heatmap(ds, "alliance_war", RED_PATIENCE, BLU_DEPLOYED)
        assert ax.get_title().startswith("P(alliance war)")
    assert outcome_label("alliance_war") == "alliance war"  # no file: nothing says more


def test_flagship_keeps_its_nato_russia_wording(law):
    """The flagship's scenario text makes NATO and RUS adversaries: the file says the wording applies."""
    ax = ba.plot_outcome_probability(law, PATIENCE, where={LAW: "square"})
    assert "NATO–Russia war" in texts(ax.get_legend().get_texts())


# --------------------------------------------------------------------------
# 12. plot_survival leaves out the points a file holds no results of
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shard_file(brink, folder):
    """Shard 0 of 2 of a four-point sweep: results for points 0 and 2 only."""
    return _run(brink, folder / "shard.h5", "-n", 256, "--summary-only", "--shard", "0/2",
                "--sweep", f"{PATIENCE}=10,20,30,40")


def test_survival_default_points_are_the_finished_ones(shard_file):
    with pytest.warns(RuntimeWarning, match="shard 0 of 2"):
        ds = ba.open_results(shard_file)
    with ds:
        finished = np.flatnonzero(ds["replications"].values > 0)
        assert 0 < finished.size < ds.sizes["point"]  # the premise: some points have no results
        ax = ba.plot_survival(ds)
        assert texts(ax.get_legend().get_texts()) == [ba.point_label(ds, int(p)) for p in finished]
        curves = ba.survival_curves(ds, finished)
        for line, expected in zip(ax.get_lines(), curves["survival"].values):
            np.testing.assert_array_equal(line.get_ydata(), expected)
        unfinished = int(np.flatnonzero(ds["replications"].values == 0)[0])
        with pytest.raises(ValueError, match="belongs to another shard"):
            ba.plot_survival(ds, points=[unfinished])  # asked for by name: still an error


# --------------------------------------------------------------------------
# 14. Argument checks
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def series_file(brink, folder):
    """The flagship with per-replication time series every 10 steps."""
    return _run(brink, folder / "series.h5", "-n", 256, "--timeseries", "every=10")


@pytest.mark.parametrize("bad", [1.7, True, [0], np.float64(1.0)], ids=repr)
def test_belief_type_must_be_a_name_or_an_integer(series_file, bad):
    with ba.open_results(series_file) as ds:
        with pytest.raises(TypeError, match=r"^type must be a type name or an integer index; got "):
            ba.belief_by_true_type(ds, "RUS", bad)
        with pytest.raises(TypeError, match=r"^type must be a type name or an integer index"):
            ba.plot_beliefs(ds, "RUS", bad)
        names = ba.type_names(ds, "RUS")
        assert ba.belief_by_true_type(ds, "RUS", np.int64(1)).attrs["type"] == names[1]  # numpy integers are fine


def test_heatmap_refuses_the_same_parameter_twice(law):
    with pytest.raises(ValueError, match=r"^x and y are the same parameter \('actors.RUS.decision.patience_days'\)"):
        ba.plot_outcome_heatmap(law, "full_war", PATIENCE, PATIENCE)


def test_survival_labels_as_one_string_are_one_label(law):
    ax = ba.plot_survival(law, points=[0], labels="ab")
    assert texts(ax.get_legend().get_texts()) == ["ab"]
    with pytest.raises(ValueError, match=r"^labels has 1 name \('ab'\) for 2 points"):
        ba.plot_survival(law, points=[0, 1], labels="ab")
    with pytest.raises(TypeError, match=r"^labels must be a list of names"):
        ba.plot_survival(law, points=[0], labels=3)


def test_troop_quantiles_names_the_file_and_variable_of_a_damaged_chunk(series_file, folder):
    damaged = folder / "damaged-troops.h5"
    shutil.copy(series_file, damaged)
    with h5py.File(damaged, "r") as f:
        chunk = f["troops"].id.get_chunk_info(0)
    with open(damaged, "r+b") as handle:  # one byte of the compressed chunk flipped
        handle.seek(chunk.byte_offset + chunk.size // 2)
        byte = handle.read(1)[0]
        handle.seek(chunk.byte_offset + chunk.size // 2)
        handle.write(bytes([byte ^ 0x55]))
    with ba.open_results(damaged) as ds:  # per-replication chunks are checked only when read
        with pytest.raises(ValueError, match=r"^'.*damaged-troops\.h5' is damaged: variable 'troops' cannot be read") as info:
            ba.troop_quantiles(ds, "RUS")
        assert isinstance(info.value.__cause__, OSError)
        with pytest.raises(ValueError, match="variable 'troops' cannot be read"):
            ba.plot_troop_fan(ds, "RUS")


def test_partial_dependence_refuses_too_few_points_to_split(law):
    """Three points: no tree of leaves of two can split them, and the model's line was drawn flat
    although patience moves the probability."""
    with pytest.raises(ValueError, match="needs 4 or more points .* this selection has 3"):
        ba.plot_partial_dependence(law.isel(point=[0, 1, 2]), "full_war", parameters=[PATIENCE])
