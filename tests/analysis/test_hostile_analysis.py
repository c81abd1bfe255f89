"""Findings of the second hostile test of the analysis package (discovery, robustness, figures and
the command line), on synthetic cases where the answer is known and on files the real brink binary
writes. Test names carry the finding's number in that report.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import brink_analysis as ba

from .conftest import PATIENCE, _run
from .test_explore import run_module


# 1 --------------------------------------------------------------------------


def test_1_threshold_per_replication_is_refused(lhs_file):
    with ba.open_results(lhs_file) as ds:
        with pytest.raises(ValueError, match="with per replication each replication's outcome is already a 0/1 case"):
            ba.find_boxes(ds, "full_war", per="replication", threshold=0.2)
        ba.find_boxes(ds, "full_war", per="replication")  # each alone is fine
        ba.find_boxes(ds, "full_war", threshold=0.2)
    done = run_module("discover", lhs_file, "--threshold", "0.2", "--per", "replication")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "drop --threshold or use --per point" in done.stderr, done.stderr


# 4 --------------------------------------------------------------------------


@pytest.mark.parametrize("constant", [0.1, 0.3, 0.7, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
def test_4_constant_outcome_chooses_the_whole_space_despite_rounding(constant, weighted):
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.uniform(0, 1, (200, 2)), columns=["a", "b"])
    w = rng.integers(1, 100, 200).astype(float) if weighted else None
    with pytest.warns(RuntimeWarning, match=f"the outcome is {constant:g} in every case"):
        result = ba.prim(X, np.full(200, constant), w)
    # The densities differ from box 0's in the last bits only: no box is denser.
    assert np.ptp(result.trajectory["density"]) < 1e-12
    assert result.chosen == 0
    assert result.box().restricted == []
