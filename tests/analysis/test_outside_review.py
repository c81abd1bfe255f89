"""Findings of the outside test of issue 14 (scenario discovery, reading and packaging), each on
synthetic cases whose answer is known or on files the real brink binary writes, with the expected
values computed here by hand. Test names carry the finding's number (F1, F2, ...) in that report.
"""

import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

import brink_analysis as ba

from .conftest import DEPLOYED, PATIENCE, _run
from .test_explore import run_module

OUTCOMES = ["settlement", "standoff", "limited_war", "full_war", "alliance_war"]


def raw(path, name):
    with h5py.File(path, "r") as f:
        return f[name][()]


@pytest.fixture(scope="module")
def adaptive_file(brink, source_dir, tmp_path_factory):
    """An LHS design of 24 points with adaptive replications (256 to 1024 per point) and per-run
    data: points near P = 0.5 run more replications than the others."""
    folder = tmp_path_factory.mktemp("outside_review")
    lines = (source_dir / "scenarios" / "jan-2022-standoff.yaml").read_text(encoding="utf-8").split("\n")
    hits = [i for i, line in enumerate(lines) if line.startswith("  replications:")]
    assert len(hits) == 1, "test setup: cannot find run.replications in the flagship"
    lines[hits[0]] = "  replications: {min: 256, max: 1024, ci_halfwidth: 0.03}"
    scenario = folder / "adaptive.yaml"
    scenario.write_text("\n".join(lines), encoding="utf-8")
    return _run(brink, folder / "adaptive.h5", scenario, "--threads", 1, "--design", "lhs", "--samples", 24,
                "--sweep", f"{PATIENCE}=5:90", "--sweep", f"{DEPLOYED}=80000:160000")


def _points(path):
    """(parameters per point, P(full_war) per point, replications per point), read with h5py."""
    names = [p.decode() for p in raw(path, "parameter")]
    X = pd.DataFrame(raw(path, "parameter_value"), columns=names)
    return X, raw(path, "outcome_probability")[:, OUTCOMES.index("full_war")], raw(path, "replications")


# F1 -------------------------------------------------------------------------


def test_f1_every_point_counts_once_in_an_adaptive_run(adaptive_file):
    """Mass is the share of the sampled points in a box, density the mean of their probabilities,
    coverage their share of the sum of the probabilities, whatever replications each point ran."""
    from scipy.special import betainc

    X, p, reps = _points(adaptive_file)
    # The premise: points ran different replications, so weighting by them would move the numbers.
    assert len(np.unique(reps)) > 1, reps
    assert abs(np.average(p, weights=reps) - p.mean()) > 1e-3
    with ba.open_results(adaptive_file) as ds:
        result = ba.find_boxes(ds, "full_war")
        per_replication = ba.find_boxes(ds, "full_war", per="replication")
        Xp, yp, wp = ba.discovery_data(ds, "full_war")
        Xr, yr, wr = ba.discovery_data(ds, "full_war", per="replication")
    boxes = result.boxes + [result.box()]
    assert len(result.boxes) > 3
    for i, box in enumerate(boxes):
        inside = box.contains(X)
        assert box.mass == pytest.approx(inside.mean()), i
        assert box.density == pytest.approx(p[inside].mean()), i
        assert box.coverage == pytest.approx(p[inside].sum() / p.sum()), i
    # The chosen box differs from what replication weights give (the bias of the finding).
    chosen = result.box()
    inside = chosen.contains(X)
    assert abs(np.average(p[inside], weights=reps[inside]) - p[inside].mean()) > 1e-3
    # Per replication, each replication weighs 1/replications(point): the same points, the same boxes.
    np.testing.assert_allclose(wp, 1.0)
    np.testing.assert_allclose(wr, 1.0 / np.repeat(reps, reps))
    pd.testing.assert_frame_equal(per_replication.trajectory, result.trajectory, check_exact=False, rtol=1e-9)
    # weight="replication" keeps the old weighting on request.
    with ba.open_results(adaptive_file) as ds:
        by_replication = ba.find_boxes(ds, "full_war", weight="replication")
    for box in by_replication.boxes:
        inside = box.contains(X)
        assert box.density == pytest.approx(np.average(p[inside], weights=reps[inside]))
        assert box.mass == pytest.approx(reps[inside].sum() / reps.sum())
    # The qp values count the points in the box as trials (its replications are not trials of a
    # restriction): hits = density x points in the box.
    table = result.inspect(paste=False)
    peeled = result.box(paste=False)
    inside = peeled.contains(X)
    for name in table.index:
        free = np.ones(len(X), dtype=bool)
        for other in peeled.restricted:
            if other != name:
                free &= X[other].between(peeled.lower[other], peeled.upper[other]).to_numpy()
        assert table.loc[name, "density_without"] == pytest.approx(p[free].mean())
        n = inside.sum()
        expected = betainc(p[inside].mean() * n, n - p[inside].mean() * n + 1, p[free].mean())
        assert table.loc[name, "qp"] == pytest.approx(expected)
    # The tree models and scores weigh every point the same: as the unweighted per-point cases.
    pd.testing.assert_frame_equal(ba.cart_boxes(Xp, yp, wp), ba.cart_boxes(Xp, yp))
    pd.testing.assert_frame_equal(ba.feature_scores(Xr, yr, wr), ba.feature_scores(Xp, yp), check_exact=False,
                                  rtol=1e-9)
    # The command line reports the same box.
    done = run_module("discover", adaptive_file, "--no-scores")
    assert done.returncode == 0, done.stderr
    assert (f"coverage {chosen.coverage:.4f}, density {chosen.density:.4f}, mass {chosen.mass:.4f}"
            in done.stdout), done.stdout


def test_f1_a_run_with_one_replication_count_is_unchanged(lhs_file):
    """With the same replications everywhere, weighting points or replications is the same."""
    with ba.open_results(lhs_file) as ds:
        by_point = ba.find_boxes(ds, "full_war")
        by_replication = ba.find_boxes(ds, "full_war", weight="replication")
        assert len(np.unique(ds.replications.values)) == 1
    pd.testing.assert_frame_equal(by_point.trajectory, by_replication.trajectory, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(by_point.inspect(), by_replication.inspect(), check_exact=False, rtol=1e-9)


# F4 -------------------------------------------------------------------------


def _scenario_cases(order):
    """900 cases over x in [0, 1) and a categorical scen of values a, b, c listed in `order` (the
    index of a value is its position there); the outcome is 1 iff scen is a or c and x > 0.5."""
    rng = np.random.default_rng(7)
    n = 900
    scen = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    x = rng.random(n)
    index = {name: float(k) for k, name in enumerate(order)}
    X = pd.DataFrame({"x": x, "scen": [index[s] for s in scen]})
    X.attrs["categories"] = {"scen": {k: name for name, k in index.items()}}
    return X, ((scen != "b") & (x > 0.5)).astype(float), scen


@pytest.mark.parametrize("order", [("a", "b", "c"), ("a", "c", "b"), ("b", "a", "c")])
def test_f4_prim_peels_a_categorical_parameter_one_value_at_a_time(order):
    X, y, scen = _scenario_cases(order)
    result = ba.prim(X, y)
    box = result.box()
    # The box: scen in {a, c} (whatever their indices) and x above about 0.5.
    assert box.restricted == ["x", "scen"]
    assert {box.categories["scen"][k] for k in box.kept["scen"]} == {"a", "c"}
    limits = box.limits()
    assert set(limits.loc["scen", "values"].split(", ")) == {"a", "c"}
    assert limits.loc["x", "lower"] == pytest.approx(0.5, abs=0.02)
    assert limits.loc["x", "upper"] == X["x"].max()
    assert box.density > 0.98 and box.coverage > 0.98
    # The statistics are those of the cases the box holds, by value.
    inside = (scen != "b") & (X["x"].to_numpy() >= limits.loc["x", "lower"])
    np.testing.assert_array_equal(box.contains(X), inside)
    assert box.density == pytest.approx(y[inside].mean())
    assert box.coverage == pytest.approx(y[inside].sum() / y.sum())


def test_f4_the_trajectory_does_not_depend_on_the_order_of_the_values():
    first = ba.prim(*_scenario_cases(("a", "b", "c"))[:2])
    second = ba.prim(*_scenario_cases(("c", "a", "b"))[:2])
    pd.testing.assert_frame_equal(first.trajectory, second.trajectory)
    # The first peel removes b, a third of the cases, in one step: no numeric peel of alpha raises the
    # density as much per case removed (1/3 -> 1/2 for a third, against 1/3 -> 0.35 for 5%).
    assert first.trajectory.loc[1, "restricted"] == "scen"
    assert first.trajectory.loc[1, "mass"] == pytest.approx(np.mean(_scenario_cases("abc")[2] != "b"))


def test_f4_pasting_adds_a_value_back():
    """b has density 0.95 above x = 0.8 and 0 below, a and c 0.6 above x = 0.5 and 0.1 below: PRIM
    peels b early (its density over all x is 0.19), and any box it leaves above x = 0.8 is less
    dense (0.6) than b's slice there, so pasting must put b back."""
    rng = np.random.default_rng(7)
    n = 900
    scen, x = rng.integers(0, 3, n).astype(float), rng.random(n)
    y = np.where(scen != 1, np.where(x > 0.5, 0.6, 0.1), np.where(x > 0.8, 0.95, 0.0))
    X = pd.DataFrame({"x": x, "scen": scen})
    X.attrs["categories"] = {"scen": {0.0: "a", 1.0: "b", 2.0: "c"}}
    result = ba.prim(X, y)
    checked = 0
    for i, peeled in enumerate(result.boxes):
        if 1.0 in peeled.kept["scen"] or peeled.lower["x"] < 0.8:
            continue
        pasted = result.box(i)
        assert 1.0 in pasted.kept["scen"], i
        assert pasted.density > peeled.density
        assert pasted.limits(all_parameters=True).loc["scen", "values"].startswith("a, b")
        checked += 1
    assert checked > 0, "the premise: some box of the trajectory has peeled b and lies above x = 0.8"


def test_f4_on_a_file_the_law_is_a_set_of_values(law_file):
    """combat.law (square, linear) with RUS patience, the outcome made to depend on the law only:
    the box keeps the one law, by name, and plots draw it as a cell."""
    with ba.open_results(law_file) as ds:
        X, _, w = ba.discovery_data(ds)
        names = ba.category_names(ds, "combat.law")
        linear = next(k for k, v in names.items() if v == "linear")
        y = np.where(X["combat.law"].to_numpy() == linear, 0.9, 0.1)
        box = ba.prim(X, y, w).box()
        assert box.kept["combat.law"] == (linear,) and box.restricted == ["combat.law"]
        ax = ba.plot_prim_box(box, ds=ds)
        assert sorted(t.get_text() for t in ax.texts) == ["linear", "square"]  # one cell per value
        ax = ba.plot_outcome_scatter(ds, PATIENCE, "combat.law", box=box)
        (rect,) = ax.patches
        assert rect.get_y() < linear < rect.get_y() + rect.get_height()


# F3 -------------------------------------------------------------------------


def _step_cases(n, seed):
    """n cases: `a` a Latin hypercube of [0, 1) (one case in each n-th), `b` uniform noise; the
    outcome is a noise-free step, 0.9 below a = 0.15 and 0.1 above, so `a` explains all of it."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": (rng.permutation(n) + rng.random(n)) / n, "b": rng.random(n)})
    return X, np.where(X["a"] < 0.15, 0.9, 0.1)


def test_f3_a_step_at_forty_points_is_explained_and_noise_is_not():
    scores = pd.DataFrame([ba.variance_explained(*_step_cases(40, seed)) for seed in range(20)])
    # Two bins (the median split the old rule gave 40 points) put the 6 high cases among 20 and
    # score about 0.2; bins of about sqrt(40) cases each nearly isolate them.
    assert scores["a"].min() > 0.7, scores["a"].describe()
    # Noise: eta^2 of k bins averages (k - 1)/(n - 1), which the adjustment takes back to about 0.
    assert scores["b"].mean() < 0.05 and scores["b"].max() < 0.35, scores["b"].describe()
    # The tester's case: uniform draws, seed 0.
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.random(40), "b": rng.random(40)})
    assert ba.variance_explained(X, np.where(X["a"] < 0.15, 0.9, 0.1))["a"] > 0.7


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_f3_too_few_cases_score_nan_not_everything(n):
    """Two points of pure noise used to 'explain' all of the outcome (1.0): one bin per value."""
    for seed in range(10):
        rng = np.random.default_rng(seed)
        X = pd.DataFrame({"noise": rng.random(n)})
        y = rng.random(n)
        assert np.isnan(ba.variance_explained(X, y)["noise"])
        if n < 4:  # neither score is then defined
            with pytest.warns(RuntimeWarning, match="variance_explained is NaN: .* too few to bin"):
                scores = ba.feature_scores(X, y)
            assert scores.isna().all().all()


# F5 -------------------------------------------------------------------------


def test_f5_feature_scores_say_when_the_model_explains_nothing():
    for seed in range(3):
        rng = np.random.default_rng(seed)
        X = pd.DataFrame(rng.random((120, 3)), columns=["a", "b", "c"])
        # Pure noise: the importances still sum to 1, but held-out points are predicted no better
        # than by their mean (R² about 0 or below), and the warning says so.
        with pytest.warns(RuntimeWarning, match=r"does not fit: its out-of-sample R² is -?[\d.]+"):
            noise = ba.feature_scores(X, rng.random(120))
        assert noise["extra_trees"].sum() == pytest.approx(1.0)
        assert noise.attrs["extra_trees_r2"] <= 0.05
        # A strong signal in a: held-out points are predicted well, and nothing is said.
        y = np.where(X["a"] > 0.5, 0.8, 0.1) + 0.05 * rng.random(120)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            signal = ba.feature_scores(X, y)
        assert signal.attrs["extra_trees_r2"] > 0.8 and signal.index[0] == "a"


def test_f5_discover_prints_the_out_of_sample_fit(lhs_file):
    with ba.open_results(lhs_file) as ds:
        r2 = ba.feature_scores(*ba.discovery_data(ds, "full_war")).attrs["extra_trees_r2"]
    assert r2 > 0.5  # patience drives full-scale war in this file
    done = run_module("discover", lhs_file)
    assert done.returncode == 0, done.stderr
    assert f"extra-trees out-of-sample R² (5-fold cross-validated): {r2:.4f}\n" in done.stdout, done.stdout
    assert "does not fit" not in done.stderr


# F2 -------------------------------------------------------------------------


def test_f2_open_results_warns_once_with_the_right_expression(adaptive_file, lhs_file, brink, tmp_path):
    with pytest.warns(RuntimeWarning) as caught:
        ds = ba.open_results(adaptive_file)
    with ds:
        adaptive = [w for w in caught if "adaptive run" in str(w.message)]
        assert len(adaptive) == 1, [str(w.message) for w in caught]
        text = str(adaptive[0].message)
        expression = "(ds.outcome_code == 3).where(ds.replication < ds.replications).mean('replication')"
        assert expression in text and "ba.replication_mask(ds)" in text
        # The expression the warning names gives the file's own probabilities; the naive one does not.
        right = eval(expression, {"ds": ds})  # noqa: S307 - the text of our own warning
        full_war = ds.outcome_probability.sel(outcome="full_war")
        np.testing.assert_allclose(right.values, full_war.values, rtol=0, atol=1e-12)
        naive = (ds.outcome_code == 3).mean("replication")
        short = ds.replications.values < ds.sizes["replication"]
        assert short.any() and not np.allclose(naive.values[short], full_war.values[short])
        assert "replication_mask" in ds.outcome_code.attrs["comment"]
        assert "comment" not in ds.outcome_probability.attrs  # per-point results are right as they are
    # A run with every slot run, and an adaptive run without per-replication data: nothing to warn about.
    lines = (Path(adaptive_file).parent / "adaptive.yaml").read_text(encoding="utf-8")
    scenario = tmp_path / "adaptive.yaml"
    scenario.write_text(lines, encoding="utf-8")
    summary = _run(brink, tmp_path / "summary.h5", scenario, "--threads", 1, "--summary-only", "--design", "lhs",
                   "--samples", 6, "--sweep", f"{PATIENCE}=5:90")
    for path in (lhs_file, summary):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ba.open_results(path).close()


# F6 -------------------------------------------------------------------------


def test_f6a_plot_prim_box_takes_the_file_second_or_says_what_it_wants(law_file):
    with ba.open_results(law_file) as ds:
        X, _, w = ba.discovery_data(ds)
        linear = next(k for k, v in ba.category_names(ds, "combat.law").items() if v == "linear")
        box = ba.prim(X, np.where(X["combat.law"] == linear, 0.9, 0.1), w).box()
        ax = ba.plot_prim_box(box, ds)  # as docs/analysis.md used to show it: the file second
        assert "linear" in [t.get_text() for t in ax.texts]
        for bad in ("ds", 3):
            with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
                ba.plot_prim_box(box, bad)
        with pytest.raises(TypeError, match="two datasets"):
            ba.plot_prim_box(box, ds, ds=ds)


def test_f6b_prim_documents_that_a_peel_removes_at_least_alpha():
    from brink_analysis import prim as prim_module

    for text in (prim_module.__doc__, ba.prim.__doc__):
        assert "at least" in text and "at most a share" not in text and "peels at most" not in text


def test_f6c_robust_without_levers_names_the_option(policy_grid_file):
    done = run_module("robust", policy_grid_file)
    assert done.returncode == 2 and done.stdout == ""
    assert "pass --levers PATH,..." in done.stderr and "levers=[" not in done.stderr, done.stderr


def test_f6d_regret_has_no_negative_zeros(policy_grid_file):
    levers = ["actors.USA.forces.ready", "relations.commitments.2.strength"]
    with ba.open_results(policy_grid_file) as ds:
        for direction in ("minimize", "maximize"):
            regret = ba.regret_table(ds, levers, "full_war", direction=direction).to_numpy()
            assert (regret >= 0).all() and not np.signbit(regret).any(), direction
            assert (regret == 0).any(axis=1).all()  # the best policy in each state has regret 0
            assert "-0.0" not in ba.regret_table(ds, levers, "full_war", direction=direction).to_string()


def test_f6e_indexed_selects_a_categorical_parameter_by_name(law_file):
    with ba.open_results(law_file) as ds:
        names = ba.category_names(ds, "combat.law")
        law = ds.coords["combat.law"].values
        picked = ba.indexed(ds).sel({"combat.law": "linear"})
        linear = [k for k, v in names.items() if v == "linear"][0]
        expected = ds.outcome_probability.values[law == linear]
        np.testing.assert_array_equal(picked.outcome_probability.values, expected)
        same = ba.indexed(ds).sel(combat_law="linear").outcome_probability.values  # the file's own name
        np.testing.assert_array_equal(same, expected)


# F7 -------------------------------------------------------------------------


def test_f7_the_format_version_is_the_engines(source_dir, plain_file):
    import re

    header = (source_dir / "engine" / "include" / "brink" / "io" / "variables.hpp").read_text(encoding="utf-8")
    found = re.findall(r"constexpr std::int32_t kFormatVersion = (\d+);", header)
    assert found == [str(ba.FORMAT_VERSION)], found
    assert int(raw_attr(plain_file, "format_version")) == ba.FORMAT_VERSION  # what the binary writes


def raw_attr(path, name):
    with h5py.File(path, "r") as f:
        return f.attrs[name]


@pytest.mark.parametrize("offset", [None, -1, 1])
def test_f7_open_results_refuses_another_format(plain_file, tmp_path, offset):
    """A file patched to no version (format 1), an older or a newer one is refused, as brink
    inspect, merge and --resume refuse it, with the versions found and read."""
    import shutil

    version = None if offset is None else int(raw_attr(plain_file, "format_version")) + offset
    found = "format 1 (it has no root attribute format_version)" if offset is None else f"format {version}"
    advice = ("use the brink_analysis of the brink that wrote it" if offset == 1
              else "run it again with a brink that writes format")
    target = tmp_path / "patched.h5"
    shutil.copy(plain_file, target)
    with h5py.File(target, "r+") as f:
        if version is None:
            del f.attrs["format_version"]
        else:
            f.attrs.modify("format_version", np.int32(version))
    with pytest.raises(ValueError) as caught:
        ba.open_results(target)
    text = str(caught.value)
    assert text.startswith(f"'{target}' is in brink output {found} and brink_analysis reads format "
                           f"{ba.FORMAT_VERSION} only") and advice in text, text
    done = run_module("discover", target)
    assert done.returncode == 2 and found in done.stderr and done.stdout == ""


# F9 -------------------------------------------------------------------------


def test_f9_the_package_has_the_engines_version(source_dir):
    import re

    cmake = (source_dir / "CMakeLists.txt").read_text(encoding="utf-8")
    engine = re.search(r"project\(brink VERSION ([0-9.]+)", cmake)[1]
    assert ba.__version__ == engine
    pyproject = (source_dir / "analysis" / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject and "\nversion =" not in pyproject.split("[tool.setuptools.dynamic]")[0]
    # The README becomes the package's long description: no link relative to the source tree.
    readme = (source_dir / "analysis" / "README.md").read_text(encoding="utf-8")
    assert "](../" not in readme


def _installed_copy(folder):
    """The package as a non-editable install leaves it: a copy in a site-packages folder."""
    import shutil

    site = folder / "venv" / "lib" / "python3.11" / "site-packages"
    shutil.copytree(Path(ba.__file__).parent, site / "brink_analysis", ignore=shutil.ignore_patterns("__pycache__"))
    return site


def _find_brink_in(site, env):
    import subprocess
    import sys

    code = "import brink_analysis as b\ntry:\n    print(b.find_brink())\nexcept FileNotFoundError as e:\n    print(e)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**env, "PYTHONPATH": str(site)})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_f9_an_installed_package_looks_for_no_build_outside_a_source_tree(tmp_path, brink):
    import os

    site = _installed_copy(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("BRINK", "BRINK_SOURCE_DIR", "PYTHONPATH")}
    env["PATH"] = str(tmp_path / "empty")
    # venv/lib/python3.11 is no source tree: no venv/lib/python3.11/build/release/brink is tried.
    fake = tmp_path / "venv" / "lib" / "python3.11" / "build" / "release"
    fake.mkdir(parents=True)
    (fake / "brink").symlink_to(brink)
    said = _find_brink_in(site, env)
    assert said.startswith("no brink binary") and "lies in no brink source tree" in said, said
    assert "build/release" not in said.split(";")[0]
    # Inside a source tree (CMakeLists.txt and engine/ beside analysis/), its build is found.
    tree = tmp_path / "tree"
    tree_site = tree / "analysis"
    tree_site.mkdir(parents=True)
    import shutil

    shutil.copytree(site / "brink_analysis", tree_site / "brink_analysis")
    (tree / "CMakeLists.txt").write_text("project(brink VERSION 0)\n")
    (tree / "engine").mkdir()
    (tree / "build" / "release").mkdir(parents=True)
    (tree / "build" / "release" / "brink").symlink_to(brink)
    assert _find_brink_in(tree_site, env) == str(tree / "build" / "release" / "brink")
