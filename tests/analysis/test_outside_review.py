"""Findings of the outside test of issue 14 (scenario discovery, reading and packaging), each on
synthetic cases whose answer is known or on files the real brink binary writes, with the expected
values computed here by hand. Test names carry the finding's number (F1, F2, ...) in that report.
"""

import warnings

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
    from scipy.stats import binom

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
    # The qp values still count the replications as trials: hits = density x replications in the box.
    table = result.inspect(paste=False)
    peeled = result.box(paste=False)
    inside = peeled.contains(X)
    for name in table.index:
        free = np.ones(len(X), dtype=bool)
        for other in peeled.restricted:
            if other != name:
                free &= X[other].between(peeled.lower[other], peeled.upper[other]).to_numpy()
        assert table.loc[name, "density_without"] == pytest.approx(p[free].mean())
        n = reps[inside].sum()
        expected = binom.sf(round(p[inside].mean() * n) - 1, n, p[free].mean())
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
