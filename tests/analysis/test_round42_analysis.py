"""Findings of the round-42 outside test of the analysis package (/tmp/round42/output/REPORT.md,
L1-L6): labels of a scenario-choice sweep name its axes alone (L1), plot_beliefs has no flagship
default actor (L2), the caption of an unfinished file says so (L3), scenario choices that read alike
in flag_meanings are told apart (L4, as docs/sweeps.md says), the troop fans of an odd number of
actors keep their x tick labels (L5) and a missing scikit-learn is named in one sentence (L6).
Test names carry the finding's name. Files come from the real brink binary (BRINK)."""

import importlib.abc
import subprocess
import sys

import h5py
import matplotlib.pyplot as plt
import numpy as np
import pytest

import brink_analysis as ba

from .conftest import PATIENCE, TIMEOUT_S, _run, two_actor_scenario


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("round42")


@pytest.fixture(scope="module")
def choice_file(brink, folder, source_dir):
    """A grid over two shipped scenarios (which set RUS's issue positions differently) and RUS patience."""
    choices = [str(source_dir / "scenarios" / f"{name}.yaml") for name in ("jan-2022-standoff", "diplomacy-first")]
    path = _run(brink, folder / "choice.h5", "-n", 128, "--summary-only",
                "--sweep", f"scenario={','.join(choices)}", "--sweep", f"{PATIENCE}=1,60")
    return path, choices


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_l1_survival_legend_names_the_sweep_axes_not_the_fields_a_choice_sets(choice_file):
    path, choices = choice_file
    with h5py.File(path, "r") as f:  # the file itself: fields the choices set vary too, flagged 0
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["parameter"][()]]
        swept = dict(zip(names, f["parameter_swept"][()]))
        values = dict(zip(names, np.asarray(f["parameter_value"][()]).T))
    follow = [n for n in names if swept[n] == 0 and np.unique(values[n]).size > 1]
    assert follow, "test setup: the two scenarios must differ in some field"
    with ba.open_results(path) as ds:
        ax = ba.plot_survival(ds)
        day = {1.0: "1 day", 60.0: "60 days"}
        expected = [f"scenario {choices[int(s)]}, RUS patience {day[p]}"
                    for s, p in zip(values["scenario"], values[PATIENCE])]
        assert _legend(ax) == expected
        ax = ba.plot_survival(ds, points=[0, 1])  # one scenario: patience differs, the scenario is shared
        assert _legend(ax) == ["RUS patience 1 day", "RUS patience 60 days"]
        assert ax.get_title().endswith(f"(scenario {choices[0]})")
        with pytest.raises(ValueError, match=r"matches 2 points; add values for scenario$"):
            ba.point_position(ds, {PATIENCE: 60})


def _typed_scenario(source_dir, folder, typed):
    """The two-actor example (RED, BLU), with private types for the actors in `typed`."""
    text = two_actor_scenario(source_dir, folder).read_text(encoding="utf-8")
    for actor in typed:
        head, rest = text.split(f"  {actor}:\n", 1)
        body, tail = rest.split("    actions:\n", 1)
        text = (f"{head}  {actor}:\n{body}    types:\n      hawk: {{prior: 0.4, resolve: 1.0}}\n"
                f"      dove: {{prior: 0.6, resolve: 0.3}}\n    actions:\n{tail}")
    path = folder / f"typed-{'-'.join(typed) or 'none'}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def typed_files(brink, folder, source_dir):
    """Time series of the two-actor example with types for no actor, for BLU only and for both."""
    return {typed: _run(brink, folder / f"typed-{'-'.join(typed) or 'none'}.h5",
                        _typed_scenario(source_dir, folder, typed), "-n", 64, "--timeseries", "every=10")
            for typed in ((), ("BLU",), ("RED", "BLU"))}


def test_l2_plot_beliefs_defaults_to_the_only_actor_with_types(typed_files):
    for typed, path in typed_files.items():
        with h5py.File(path, "r") as f:  # the file's own record of each actor's types
            actors = [a.decode() for a in f["actor"][()]]
            names = f["type_name"][()]
            have = [a for a, row in zip(actors, names) if sum(1 for n in row if n) > 1]
        assert have == [a for a in actors if a in typed]
        with ba.open_results(path) as ds:
            if len(have) == 1:
                ax = ba.plot_beliefs(ds)
                assert f"about {have[0]}:" in ax.get_title()
                assert all(t.startswith(f"{have[0]} really is") for t in _legend(ax)[:-1])
            elif not have:
                with pytest.raises(ValueError, match=r"^no actor in this file has private types.*its actors: RED, BLU$"):
                    ba.plot_beliefs(ds)
            else:
                with pytest.raises(ValueError, match=r"^2 actors in this file have private types \(RED, BLU\): name one"):
                    ba.plot_beliefs(ds)
            assert "RUS" not in actors


# What an interrupted run leaves (output.md): no `complete`, and the summaries and `replications` of its
# unfinished points read 0.
_SUMMARIES = ("replications", "outcome_count", "outcome_probability", "outcome_probability_lower",
              "outcome_probability_upper", "survival", "survival_lower", "survival_upper", "rung_share")


def test_l3_caption_of_an_unfinished_file_says_how_much_of_the_design_it_holds(brink, folder, tmp_path):
    whole = _run(brink, folder / "four.h5", "-n", 64, "--summary-only", "--sweep", f"{PATIENCE}=5,10,20,40")
    with ba.open_results(whole) as ds:
        text = ba.provenance(ds)
        assert text.endswith("grid design of 4 points") and "incomplete" not in text
    partial = tmp_path / "four.h5.partial"
    partial.write_bytes(whole.read_bytes())
    with h5py.File(partial, "r+") as f:
        del f.attrs["complete"]
        for name in _SUMMARIES:
            if name in f:
                f[name][3] = 0
    with pytest.warns(RuntimeWarning, match="incomplete"):
        ds = ba.open_results(partial)
    with ds:
        assert ba.provenance(ds).endswith("grid design of 4 points, incomplete run: 3 of 4 points finished")
        fig = ba.caption(ba.plot_survival(ds), ds, "four.h5.partial")
        assert fig._supxlabel.get_text().endswith("incomplete run: 3 of 4 points finished")
    # Every point finished but the run did not (interrupted between adaptive rounds): still not the whole run.
    with h5py.File(partial, "r+") as f:
        with h5py.File(whole, "r") as g:
            for name in _SUMMARIES:
                if name in f:
                    f[name][3] = g[name][3]
    with pytest.warns(RuntimeWarning, match="incomplete"):
        ds = ba.open_results(partial)
    with ds:
        assert ba.provenance(ds).endswith(", incomplete run: 4 of 4 points finished")
    shard = _run(brink, folder / "shard.h5", "-n", 64, "--summary-only", "--shard", "1/2",
                 "--sweep", f"{PATIENCE}=5,10,20,40")
    with pytest.warns(RuntimeWarning, match="shard 1 of 2"):
        ds = ba.open_results(shard)
    with ds:
        assert ba.provenance(ds).endswith("grid design of 4 points, shard 1 of 2: 2 of the 4 points")


def test_l4_choices_that_read_alike_in_flag_meanings_are_told_apart_by_scenario_choices(brink, folder, source_dir):
    # docs/sweeps.md: every byte but ASCII letters, digits and _ . + - @ becomes '_' in flag_meanings, so
    # a/b.yaml and a_b.yaml read alike there; the package names the choices from scenario_choices.
    text = (source_dir / "scenarios" / "jan-2022-standoff.yaml").read_text(encoding="utf-8")
    (folder / "a").mkdir(exist_ok=True)
    (folder / "a" / "b.yaml").write_text(text, encoding="utf-8")
    (folder / "a_b.yaml").write_text(text, encoding="utf-8")
    out = folder / "alike.h5"
    proc = subprocess.run([brink, "run", "-n", "32", "--summary-only", "-q", "-o", str(out),
                           "--sweep", "scenario=a/b.yaml,a_b.yaml"], cwd=folder, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as f:
        assert f["scenario"].attrs["flag_meanings"].decode().split() == ["a_b.yaml", "a_b.yaml"]
        assert f.attrs["scenario_choices"].decode().split("\n") == ["a/b.yaml", "a_b.yaml"]
    with ba.open_results(out) as ds:
        assert ba.category_names(ds, "scenario") == {0.0: "a/b.yaml", 1.0: "a_b.yaml"}
        assert list(ba.select_points(ds, {"scenario": "a_b.yaml"})) == [1]
        assert ba.point_label(ds, 0) == "scenario a/b.yaml"


def _shown_x_ticks(ax):
    ax.figure.canvas.draw()
    return [t.get_text() for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]


def test_l5_troop_fans_show_x_ticks_under_every_column(single_file):
    with ba.open_results(single_file) as ds:
        actors = [str(a) for a in ds["actor"].values]
        for chosen, ncols in ((actors[:3], 2), (actors, 3), (actors[:3], 1)):
            fig = ba.plot_troop_fans(ds, chosen, ncols=ncols)
            panels = [ax for ax in fig.axes if ax.get_visible()]
            assert [ax.get_title() for ax in panels] == chosen
            for column in range(ncols):
                mine = panels[column::ncols]
                # the lowest panel of each column reads its days; the ones above it share them
                assert _shown_x_ticks(mine[-1]), (chosen, ncols, column)
                assert mine[-1].get_xlabel()
                assert all(not _shown_x_ticks(ax) and not ax.get_xlabel() for ax in mine[:-1])
            plt.close(fig)


class _HideSklearn(importlib.abc.MetaPathFinder):
    """A machine without scikit-learn, as the tester's shadow path made it."""

    def find_spec(self, name, path=None, target=None):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def test_l6_scikit_learn_missing_is_named_in_one_sentence(grid_file, monkeypatch):
    with ba.open_results(grid_file) as ds:
        X, y, w = ba.discovery_data(ds, "full_war")
        for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
            monkeypatch.delitem(sys.modules, name)
        monkeypatch.setattr(sys, "meta_path", [_HideSklearn(), *sys.meta_path])
        with pytest.raises(ModuleNotFoundError):
            import sklearn  # noqa: F401  (test setup: scikit-learn is hidden)
        for what, call in (("feature_scores", lambda: ba.feature_scores(X, y, w)),
                           ("plot_partial_dependence", lambda: ba.plot_partial_dependence(ds, "full_war"))):
            with pytest.raises(ImportError) as caught:
                call()
            assert str(caught.value) == (f"{what} needs scikit-learn, which is not installed: install "
                                         "python3-sklearn (Debian) or scikit-learn")
