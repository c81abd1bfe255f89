"""End-to-end tests of sweeps: the `sweep:` block and --sweep/--design/--samples/
--sensitivity/--summary-only, adaptive replications, common random numbers and
the per-point summaries, run through the real `brink` binary and read back with
h5py.

Every scenario is written into a temporary directory from the shipped flagship
text (scenarios/jan-2022-standoff.yaml) with a `sweep:` block appended and few
replications, as a user would do from outside the repository.  Monte Carlo
comparisons allow Z = 4.5 standard errors (a false alarm rate below 1e-5 per
comparison); deterministic comparisons are exact or at rounding level.

The helpers live in this file on purpose: a second `conftest.py` beside
tests/cli/conftest.py would shadow its `from conftest import ...` when ctest
runs all the pytest directories in one process.
"""

import itertools
import math
import os
import re
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

BRINK = os.environ.get("BRINK")
SOURCE = Path(os.environ.get("BRINK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
FLAGSHIP = SOURCE / "scenarios" / "jan-2022-standoff.yaml"
OUTCOMES = ["settlement", "standoff", "limited_war", "full_war", "alliance_war"]
FULL_WAR = OUTCOMES.index("full_war")
LANES = 256  # replications per block, the unit of adaptive rounds
Z = 4.5  # standard errors allowed for Monte Carlo estimates
Z95 = 1.959963984540054  # the 95% Wilson intervals' z
TIMEOUT_S = 300


# --------------------------------------------------------------------------
# Running brink
# --------------------------------------------------------------------------


def brink(*args):
    if not BRINK:
        pytest.fail("environment variable BRINK is not set; it must hold the path of the brink binary "
                    "(ctest sets it; by hand: BRINK=$PWD/build/release/brink)", pytrace=False)
    return subprocess.run([BRINK, *[str(a) for a in args]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=TIMEOUT_S)


def brink_ok(*args):
    proc = brink(*args)
    assert proc.returncode == 0, (f"brink {' '.join(map(str, args))}\nexit {proc.returncode}\n"
                                  f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def simulate(out, scenario, *args):
    """Runs `brink run scenario -q -o out args...`; returns out."""
    brink_ok("run", scenario, "-q", "-o", out, *args)
    return out


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def load(path):
    """(datasets, root attributes) of a brink file, every dataset read into numpy."""
    data = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: data.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        attrs = {k: f.attrs[k] for k in f.attrs}
    return data, attrs


def names(values):
    return [text(v) for v in values]


# --------------------------------------------------------------------------
# Scenario text: the flagship with edited run settings and a sweep block
# --------------------------------------------------------------------------


def flagship_text():
    body = FLAGSHIP.read_text(encoding="utf-8")
    assert not re.search(r"(?m)^sweep:", body), \
        "test setup: the flagship has grown a sweep block; the tests append their own"
    return body


FLAGSHIP_DOC = yaml.safe_load(flagship_text())


def set_run_field(body, key, raw):
    """Sets `run.<key>` to the raw YAML `raw` (replacing the line, or adding one)."""
    lines = body.split("\n")
    assert "run:" in lines, "test setup: no top-level 'run:' line in the flagship"
    start = lines.index("run:")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^[A-Za-z_]", lines[i])), len(lines))
    hits = [i for i in range(start + 1, end) if re.match(rf"^  {key}:(\s|$)", lines[i])]
    assert len(hits) <= 1, f"test setup: run.{key} appears {len(hits)} times"
    if hits:
        lines[hits[0]] = f"  {key}: {raw}"
    else:
        lines.insert(start + 1, f"  {key}: {raw}")
    return "\n".join(lines)


def flow(value):
    """A Python value as YAML flow text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return repr(value)


def sweep_block(parameters, design=None, samples=None, random_numbers=None, sensitivity=None):
    lines = ["sweep:"]
    if design is not None:
        lines.append(f"  design: {design}")
    if samples is not None:
        lines.append(f"  samples: {samples}")
    if sensitivity is not None:
        lines.append(f"  sensitivity: {flow(sensitivity)}")
    if random_numbers is not None:
        lines.append(f"  random_numbers: {random_numbers}")
    lines.append("  parameters:")
    lines += [f"    {path}: {flow(values)}" for path, values in parameters.items()]
    return "\n".join(lines) + "\n"


def scenario_text(replications=256, horizon_days=None, dt_days=None, random_numbers=None, sweep=None):
    body = set_run_field(flagship_text(), "replications", flow(replications))
    if horizon_days is not None:
        body = set_run_field(body, "horizon_days", flow(horizon_days))
    if dt_days is not None:
        body = set_run_field(body, "dt_days", flow(dt_days))
    if random_numbers is not None:
        body = set_run_field(body, "random_numbers", random_numbers)
    if sweep is not None:
        body = body.rstrip("\n") + "\n\n" + sweep
    return body


def write(directory, name, body):
    path = Path(directory) / name
    path.write_text(body, encoding="utf-8")
    return path


# --------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "biufc":
        return a.tobytes() == b.tobytes()
    return np.array_equal(a, b)


def assert_same_files(first, second, ignore_attrs=("command_line",)):
    """Every dataset bit for bit equal and every root attribute equal, except
    the attributes that record how the run was invoked."""
    data_a, attrs_a = load(first)
    data_b, attrs_b = load(second)
    assert sorted(data_a) == sorted(data_b)
    differing = [name for name in data_a if not same_bits(data_a[name], data_b[name])]
    assert not differing, f"datasets differ between {first.name} and {second.name}: {differing}"
    assert sorted(attrs_a) == sorted(attrs_b)
    for key in attrs_a:
        if key not in ignore_attrs:
            assert same_bits(attrs_a[key], attrs_b[key]), f"root attribute {key} differs"


def wilson(k, n, z=Z95):
    """95% Wilson score interval for k successes in n (arrays), clipped to [0, 1]."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.maximum(0.0, centre - half), np.minimum(1.0, centre + half)


def half_widths(codes):
    """Wilson half-widths of every outcome from a vector of outcome codes."""
    counts = np.bincount(codes, minlength=len(OUTCOMES))
    lower, upper = wilson(counts, len(codes))
    return (upper - lower) / 2


# --------------------------------------------------------------------------
# 1. Designs
# --------------------------------------------------------------------------

# Listed out of order on purpose: a grid keeps the listed order of the values.
GRID_AXES = {
    "actors.RUS.forces.deployed": [150000, 50000, 100000],
    "actors.USA.forces.ready": [8500, 20000],
    "actors.RUS.decision.patience_days": [15, 45],
}

RANGE_AXES = {
    "actors.RUS.forces.deployed": {"min": 50000, "max": 150000},
    "actors.USA.forces.ready": {"min": 1000, "max": 100000, "log": True},
    "actors.RUS.decision.patience_days": {"min": 10, "max": 60},
}

# Many points for the distribution checks; 256 is a power of two for Sobol'.
DESIGN_SAMPLES = {"random": 512, "lhs": 256, "sobol": 256}


def to_unit(values, axis):
    """Design coordinates in [0, 1]: linear, or logarithmic for a log axis."""
    lo, hi = axis["min"], axis["max"]
    if axis.get("log"):
        return (np.log(values) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return (values - lo) / (hi - lo)


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    # Common random numbers make each point's replications comparable with a
    # single run at that point's values (test below).
    d = tmp_path_factory.mktemp("grid")
    body = scenario_text(replications=256, sweep=sweep_block(GRID_AXES, design="grid", random_numbers="common"))
    path = write(d, "grid.yaml", body)
    return body, simulate(d / "grid.h5", path)


def test_grid_is_the_cartesian_product_with_the_last_axis_fastest(grid_run):
    body, out = grid_run
    data, attrs = load(out)
    expected = np.array(list(itertools.product(*GRID_AXES.values())), dtype=float)
    assert names(data["parameter"]) == list(GRID_AXES)
    assert data["parameter_value"].shape == (len(expected), len(GRID_AXES))
    np.testing.assert_array_equal(data["parameter_value"], expected)
    np.testing.assert_array_equal(data["point"], np.arange(len(expected)))
    np.testing.assert_array_equal(data["replications"], np.full(len(expected), 256))
    assert data["outcome_code"].shape == (len(expected), 256)
    np.testing.assert_array_equal(data["outcome_count"].sum(axis=1), 256)
    # Root attributes record how to redo the run.
    assert text(attrs["scenario"]) == body
    assert int(attrs["seed"]) == FLAGSHIP_DOC["run"]["seed"]
    assert text(attrs["random_numbers"]) == "common"


def test_grid_point_is_simulated_at_its_parameter_values(grid_run, tmp_path):
    # With common random numbers a point's replication r draws the same stream
    # as replication r of a single run, so the point must reproduce, bit for
    # bit, a plain run with --set at its values.
    _, out = grid_run
    data, _ = load(out)
    point = 7
    values = data["parameter_value"][point]
    sets = [a for path, v in zip(GRID_AXES, values) for a in ("--set", f"{path}={float(v)!r}")]
    single = simulate(tmp_path / "single.h5", write(tmp_path, "base.yaml", scenario_text(replications=256)),
                      *sets, "--set", "run.random_numbers=common")
    one, _ = load(single)
    for name in ("outcome_code", "end_step", "war_start_step", "casualties"):
        assert same_bits(data[name][point], one[name][0]), f"{name} at point {point} is not the run at its values"
    # Not vacuous: the parameters change the results, so another point's
    # replications differ.
    others = [p for p in range(len(data["point"])) if p != point]
    assert any(not same_bits(data["outcome_code"][p], data["outcome_code"][point]) for p in others)


@pytest.fixture(scope="module")
def range_design(tmp_path_factory):
    """range_design(design) -> the datasets of a sweep over RANGE_AXES (run once per design)."""
    # The design tests look at the points, not the crisis: one replication and
    # a 5-day horizon keep hundreds of points cheap.
    cache = {}

    def get(design):
        if design not in cache:
            d = tmp_path_factory.mktemp(f"design_{design}")
            body = scenario_text(replications=1, horizon_days=5,
                                 sweep=sweep_block(RANGE_AXES, design=design, samples=DESIGN_SAMPLES[design]))
            cache[design] = load(simulate(d / f"{design}.h5", write(d, f"{design}.yaml", body)))[0]
        return cache[design]

    return get


@pytest.mark.parametrize("design", sorted(DESIGN_SAMPLES))
def test_range_design_points_lie_in_their_ranges(range_design, design):
    data = range_design(design)
    n = DESIGN_SAMPLES[design]
    values = data["parameter_value"]
    assert names(data["parameter"]) == list(RANGE_AXES)
    assert values.shape == (n, len(RANGE_AXES))
    np.testing.assert_array_equal(data["replications"], np.ones(n))
    for j, (path, axis) in enumerate(RANGE_AXES.items()):
        assert np.all(values[:, j] >= axis["min"]) and np.all(values[:, j] <= axis["max"]), path
        assert len(np.unique(values[:, j])) == n, f"{path}: repeated values in a {design} design"


@pytest.mark.parametrize("design", sorted(DESIGN_SAMPLES))
def test_range_design_is_uniform_on_the_axis_scale(range_design, design):
    # Every design is uniform in the axis' coordinate: linear for plain axes,
    # logarithmic for log axes, so the median lies at the geometric midpoint of
    # a log axis.  Tolerance: Z standard errors of a sample median of n
    # independent uniforms (0.5/sqrt(n)); stratified designs (lhs, sobol) are
    # far tighter than that.
    data = range_design(design)
    n = DESIGN_SAMPLES[design]
    tolerance = Z * 0.5 / math.sqrt(n)
    log_axis = RANGE_AXES["actors.USA.forces.ready"]
    arithmetic_mid = (log_axis["min"] + log_axis["max"]) / 2
    # Setup check: the test tells log-uniform from uniform.  Were the log axis
    # mapped linearly, its median would sit at the arithmetic midpoint, whose
    # log-scale coordinate must then lie more than 2 tolerances from 0.5 (one
    # for the test's band, one for the noise of that wrong median).
    assert abs(to_unit(arithmetic_mid, log_axis) - 0.5) > 2 * tolerance
    units = np.column_stack([to_unit(data["parameter_value"][:, j], axis) for j, axis in enumerate(RANGE_AXES.values())])
    for j, path in enumerate(RANGE_AXES):
        assert abs(np.median(units[:, j]) - 0.5) <= tolerance, f"{path}: median off the middle of its scale"
    values = data["parameter_value"][:, list(RANGE_AXES).index("actors.USA.forces.ready")]
    geometric_mid = math.sqrt(log_axis["min"] * log_axis["max"])
    assert abs(np.mean(values < geometric_mid) - 0.5) <= tolerance
    assert np.mean(values < arithmetic_mid) > 0.5 + tolerance
    # The coordinates of different axes are not tied to each other: sample
    # correlations of independent coordinates have standard error 1/sqrt(n-1).
    correlation = np.corrcoef(units.T)
    for a, b in itertools.combinations(range(len(RANGE_AXES)), 2):
        assert abs(correlation[a, b]) <= Z / math.sqrt(n - 1), (design, a, b, correlation[a, b])


def test_lhs_has_one_point_per_stratum_in_every_dimension(range_design):
    design = "lhs"
    data = range_design(design)
    n = DESIGN_SAMPLES[design]
    for j, (path, axis) in enumerate(RANGE_AXES.items()):
        strata = np.floor(to_unit(data["parameter_value"][:, j], axis) * n).astype(int)
        np.testing.assert_array_equal(np.sort(strata), np.arange(n), err_msg=path)


def test_sobol_design_is_the_sobol_sequence(range_design):
    # The sobol design is the (unscrambled) Sobol' sequence with Joe and Kuo's
    # new-joe-kuo-6.21201 direction numbers, as in scipy, from its point 1 on
    # (point 0 is the corner of the cube); axes map its coordinates linearly or
    # on the log scale.
    design = "sobol"
    data = range_design(design)
    qmc = pytest.importorskip("scipy.stats.qmc")
    n = DESIGN_SAMPLES[design]
    reference = qmc.Sobol(len(RANGE_AXES), scramble=False).random_base2(int(math.log2(n)) + 1)[1:n + 1]
    units = np.column_stack([to_unit(data["parameter_value"][:, j], axis) for j, axis in enumerate(RANGE_AXES.values())])
    np.testing.assert_allclose(units, reference, rtol=0, atol=1e-12)


def test_range_design_point_is_simulated_at_its_parameter_values(range_design, tmp_path):
    # Point 0 draws the same streams as a single run (point index 0 with
    # independent random numbers), so it must reproduce a plain run with --set
    # at its exact, unrounded values.  With a 5-day horizon the troop pools
    # show the values (Russia's deployed troops among them).
    data = range_design("random")
    values = data["parameter_value"][0]
    sets = [a for path, v in zip(RANGE_AXES, values) for a in ("--set", f"{path}={float(v)!r}")]
    base = write(tmp_path, "base.yaml", scenario_text(replications=1, horizon_days=5))
    one, _ = load(simulate(tmp_path / "single.h5", base, *sets))
    for name in ("final_forces", "action_count", "outcome_code", "end_step"):
        assert same_bits(data[name][0], one[name][0]), f"{name} at point 0 is not the run at its values"
    # Not vacuous: a run at values rounded to 6 significant digits differs.
    rounded = [a for path, v in zip(RANGE_AXES, values) for a in ("--set", f"{path}={float(v):.6g}")]
    other, _ = load(simulate(tmp_path / "rounded.h5", base, *rounded))
    assert not same_bits(data["final_forces"][0], other["final_forces"][0])


@pytest.mark.parametrize("design", ["grid", "random", "lhs", "sobol"])
def test_designs_are_deterministic_from_the_seed(design, tmp_path):
    if design == "grid":
        block = sweep_block(GRID_AXES, design="grid")
    else:
        block = sweep_block(RANGE_AXES, design=design, samples=16)
    path = write(tmp_path, "s.yaml", scenario_text(replications=1, horizon_days=5, sweep=block))
    first = load(simulate(tmp_path / "a.h5", path))[0]
    again = load(simulate(tmp_path / "b.h5", path))[0]
    assert same_bits(first["parameter_value"], again["parameter_value"])
    assert same_bits(first["outcome_code"], again["outcome_code"])
    seed = FLAGSHIP_DOC["run"]["seed"] + 1
    other, attrs = load(simulate(tmp_path / "c.h5", path, "--seed", seed))
    assert int(attrs["seed"]) == seed
    if design in ("random", "lhs"):
        # 48 coordinates drawn anew: equal with probability ~0 unless the seed is ignored.
        assert not np.any(other["parameter_value"] == first["parameter_value"]), \
            f"a {design} design must be drawn from the seed"


def test_cli_sweep_replaces_and_adds_axes(tmp_path):
    file_axes = {"actors.RUS.forces.deployed": [50000, 100000], "actors.USA.forces.ready": [8500, 20000]}
    path = write(tmp_path, "s.yaml", scenario_text(replications=1, horizon_days=5, sweep=sweep_block(file_axes)))
    out = simulate(tmp_path / "s.h5", path, "--sweep", "actors.USA.forces.ready=10000,30000,40000",
                   "--sweep", "actors.RUS.decision.patience_days=20,40")
    data, attrs = load(out)
    axes = {"actors.RUS.forces.deployed": [50000, 100000], "actors.USA.forces.ready": [10000, 30000, 40000],
            "actors.RUS.decision.patience_days": [20, 40]}
    assert names(data["parameter"]) == list(axes)
    np.testing.assert_array_equal(data["parameter_value"], np.array(list(itertools.product(*axes.values())), float))
    assert "actors.RUS.decision.patience_days=20,40" in text(attrs["overrides"])


# --------------------------------------------------------------------------
# 2. Threads never change the results
# --------------------------------------------------------------------------


def test_threads_give_identical_files(tmp_path):
    # 600 replications: two whole blocks and a partial one per point, so that
    # blocks of one point finish out of order on two threads.
    axes = {"actors.RUS.forces.deployed": [50000, 150000], "actors.RUS.decision.patience_days": [10, 30, 90]}
    path = write(tmp_path, "s.yaml", scenario_text(replications=600, sweep=sweep_block(axes)))
    one = simulate(tmp_path / "t1.h5", path, "--threads", 1)
    two = simulate(tmp_path / "t2.h5", path, "--threads", 2)
    assert_same_files(one, two)
    data, _ = load(one)
    assert data["outcome_code"].shape == (6, 600)


# Points of few replications share simulation blocks (docs/sweeps.md, "Points
# that share a block"): the file must be the one a block per point writes.
SHARED_AXES = {"actors.RUS.decision.rationality": [0.5, 2.0, 6.0], "escalation.tension.decay": [0.01, 0.08],
               "actors.UKR.forces.deployed": [120000, 240000], "actors.RUS.posture.reaction": [0.0, 0.03],
               "escalation.incidents.base_rate": [0.0005, 0.02], "actors.RUS.combat.effectiveness": [0.004, 0.03]}


# Axes read once per block (patience) or per lane but not bit for bit (a decision weight), crossed with
# per-lane ones: points share a block only with points that agree on the first two.
MIXED_AXES = {"actors.RUS.decision.patience_days": [10, 60], "actors.RUS.decision.weights.cost": [1.0, 3.0],
              "escalation.tension.decay": [0.01, 0.08], "actors.RUS.decision.rationality": [0.5, 1.0, 2.0, 4.0, 8.0],
              "actors.UKR.forces.deployed": [120000, 240000, 180000]}


@pytest.mark.parametrize("replications,extra,axes", [(1, [], SHARED_AXES), (5, ["--timeseries", "every=9"], SHARED_AXES),
                                                     (16, ["--summary-only"], SHARED_AXES), (2, [], MIXED_AXES)])
def test_points_that_share_blocks_write_the_file_of_a_block_per_point(tmp_path, replications, extra, axes):
    path = write(tmp_path, "s.yaml", scenario_text(replications=replications, sweep=sweep_block(axes)))
    shared = simulate(tmp_path / "shared.h5", path, "--threads", 2, *extra)
    own = tmp_path / "own.h5"
    proc = subprocess.run([BRINK, "run", str(path), "-q", "-t", "1", "-o", str(own), *extra], capture_output=True,
                          text=True, timeout=TIMEOUT_S, env={**os.environ, "BRINK_TEST_ONE_BLOCK_PER_POINT": "1"})
    assert proc.returncode == 0, proc.stderr
    assert_same_files(shared, own)
    data, _ = load(shared)
    points = math.prod(len(values) for values in axes.values())
    assert data["outcome_count"].shape == (points, 5) and (data["outcome_count"].sum(axis=1) == replications).all()
    # Per-replication data: a chunk per shared block of points (aligned groups of 256 // R, or fewer so
    # that a sweep has 32 of them), not per point, when every point may share a block with every other.
    group = min(256 // replications, -(-points // 32)) if axes is SHARED_AXES else 1
    checked = 0
    with h5py.File(shared, "r") as f, h5py.File(own, "r") as g:
        for name, ds in f.items():
            if isinstance(ds, h5py.Dataset) and ds.compression:
                assert ds.chunks[:2] in ((min(group, points), replications), (min(group, points), 1)), (name, ds.chunks)
                assert ds.id.get_num_chunks() == -(-points // group), name
                assert g[name].chunks[0] == 1 and g[name].id.get_num_chunks() == points, name
                checked += 1
    assert checked > 0 or "--summary-only" in extra


def test_a_killed_sweep_of_shared_blocks_resumes_to_the_same_file(tmp_path):
    axes = {"actors.RUS.decision.rationality": {"min": 0.5, "max": 3.0},
            "escalation.incidents.base_rate": {"min": 0.0005, "max": 0.005}}
    path = write(tmp_path, "s.yaml", scenario_text(replications=3, horizon_days=30,
                                                   sweep=sweep_block(axes, design="lhs", samples=3000)))
    reference = simulate(tmp_path / "ref.h5", path, "--threads", 1)
    out = tmp_path / "k.h5"
    args = [BRINK, "run", str(path), "-q", "-o", str(out)]
    killed = subprocess.run(args + ["-t", "1"], capture_output=True, text=True, timeout=TIMEOUT_S,
                            env={**os.environ, "BRINK_TEST_KILL_AFTER_BLOCKS": "40"})
    assert killed.returncode == -9 and Path(f"{out}.partial").exists(), killed.stderr
    # Points 0-84 share a block and a chunk of each per-replication variable (3,000 points: 32 groups
    # or more); one thread stores them first, the first point is published at once, and the run dies
    # after 40: --resume runs the group again whole.
    with h5py.File(f"{out}.partial", "r", swmr=True) as f:
        assert f["outcome_code"].chunks == (85, 3)
        done = int(f["block_done"][:85].sum())
        finished = int(f["block_done"][()].sum())
        published = f["replications"][()] > 0
    assert 0 < done < 85, done
    # A fresh run over it is refused, counting the blocks --resume would keep: those of whole groups of
    # published points (none here), not every finished block.
    groups = [published[g:g + 85] for g in range(0, len(published), 85)]
    kept = sum(len(g) for g in groups if g.all())
    refused = subprocess.run(args + ["-t", "1"], capture_output=True, text=True, timeout=TIMEOUT_S)
    assert refused.returncode == 2, refused.stderr
    if kept == 0:
        assert f"--resume would keep none of its {finished} finished block" in refused.stderr, refused.stderr
        assert "--overwrite" in refused.stderr and "continue it with --resume" not in refused.stderr, refused.stderr
    else:
        assert f"holds {kept} finished block" in refused.stderr, refused.stderr
    resumed = subprocess.run(args + ["-t", "2", "--resume"], capture_output=True, text=True, timeout=TIMEOUT_S)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_files(reference, out, ignore_attrs=("command_line", "scenario_source"))


@pytest.mark.parametrize("replications,blocks", [(256, 1), (257, 2)])
def test_resume_sums_are_kept_only_where_a_point_has_several_blocks(tmp_path, replications, blocks):
    """--resume continues a point it has not finished from the sums over its first blocks, kept in two
    slots per point in flight; a point of one block is published whole or runs again, so its file keeps
    no sums. A finished file's slots are cleared, and no sums are kept per block."""
    path = write(tmp_path, "s.yaml", scenario_text(replications=replications, horizon_days=20,
                                                   sweep=sweep_block({"escalation.tension.decay": [0.01, 0.08]})))
    data, _ = load(simulate(tmp_path / "out.h5", path, "-t", 2))
    sums = ("resume_rung_count", "resume_troops_sum", "resume_belief_sum", "resume_point", "resume_blocks")
    assert not [name for name in data if name.startswith("block_") and name != "block_done"]
    if blocks == 1:
        assert not any(name in data for name in sums)
        return
    assert data["resume_troops_sum"].shape[0] == data["resume_rung_count"].shape[0] == 4  # 2 per point
    for name in sums:
        assert not data[name].any(), name


def test_a_failed_sweep_of_shared_chunks_counts_only_the_blocks_resume_keeps(tmp_path):
    # 96 points of 3 replications: chunk groups of 3 points (32 of them). One thread stores points in
    # order and the failure comes after 40, all published as the writer closes: 13 whole groups are kept,
    # point 39 runs again with its group.
    path = write(tmp_path, "s.yaml", scenario_text(replications=3, sweep=sweep_block(SHARED_AXES)))
    out = tmp_path / "f.h5"
    args = [BRINK, "run", str(path), "-q", "-t", "1", "-o", str(out)]
    failed = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S,
                            env={**os.environ, "BRINK_TEST_FAIL_AFTER_BLOCKS": "40"})
    assert failed.returncode == 1, failed.stderr
    with h5py.File(f"{out}.partial", "r") as f:
        assert f["outcome_code"].chunks == (3, 3)
        done = f["block_done"][:, 0] == 1
        published = f["replications"][()] > 0
    assert done.sum() == 40 and (published == done).all(), (done.sum(), published.sum())
    assert "39 finished blocks kept in" in failed.stderr, failed.stderr
    resumed = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=TIMEOUT_S)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_files(simulate(tmp_path / "ref.h5", path, "--threads", 2), out,
                      ignore_attrs=("command_line", "scenario_source"))


def per_point_summaries(path):
    """{name: (shape, chunk shape, stored chunks, bytes per element)} of the per-point summaries of a file, and
    of block_done (the blocks each point has finished)."""
    out = {}
    with h5py.File(path, "r", swmr=True) as f:
        for name, ds in f.items():
            dims = [d[0].name.lstrip("/") for d in ds.dims if len(d)]
            if isinstance(ds, h5py.Dataset) and dims[:1] == ["point"] and ds.chunks and ds.compression is None \
                    and "replication" not in dims and ("block" not in dims or name == "block_done"):
                out[name] = (ds.shape, ds.chunks, ds.id.get_num_chunks(), ds.dtype.itemsize)
    return out


def test_per_point_summaries_share_chunks_and_a_sweep_killed_mid_chunk_resumes_to_the_same_file(tmp_path):
    # 600 points of one replication: a chunk per point and variable cost a disk write and an index entry each.
    points = 600
    body = scenario_text(replications=1, horizon_days=30,
                         sweep=sweep_block({"actors.RUS.decision.rationality": {"min": 0.5, "max": 3.0},
                                            "escalation.incidents.base_rate": {"min": 0.0005, "max": 0.005}},
                                           design="lhs", samples=points))
    path = write(tmp_path, "s.yaml", body)
    reference = simulate(tmp_path / "ref.h5", path, "--threads", 2)
    summaries = per_point_summaries(reference)
    assert {"mean_troops", "rung_share", "outcome_count", "replications", "block_done"} <= set(summaries), \
        sorted(summaries)
    for name, (shape, chunks, stored, itemsize) in summaries.items():
        assert shape[0] == points and chunks[1:] == shape[1:], (name, shape, chunks)
        # as many points as fit in 256 KiB, evened out: no chunk is mostly padding
        row = itemsize * math.prod(shape[1:])
        fit = max(1, 256 * 1024 // row)
        assert chunks[0] == -(-points // -(-points // fit)) and chunks[0] * row <= 256 * 1024, (name, chunks, row)
        assert stored == -(-points // chunks[0]) < points, (name, stored)
    # Killed with points published in a chunk it had not filled: --resume fills the rest of it.
    out = tmp_path / "k.h5"
    args = [BRINK, "run", str(path), "-q", "-t", "2", "-o", str(out)]
    killed = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S,
                            env={**os.environ, "BRINK_TEST_KILL_AFTER_BLOCKS": "150",
                                 "BRINK_TEST_ONE_BLOCK_PER_POINT": "1"})
    assert killed.returncode == -9, killed.stderr
    with h5py.File(f"{out}.partial", "r", swmr=True) as f:
        published = int((f["replications"][()] > 0).sum())
    assert 0 < published < points, published
    # Its per-replication chunks are per point; a run that would write them per shared block refuses it.
    refused = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=TIMEOUT_S)
    assert refused.returncode == 2 and "the chunks of" in refused.stderr and "--overwrite" in refused.stderr, \
        refused.stderr
    resumed = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=TIMEOUT_S,
                             env={**os.environ, "BRINK_TEST_ONE_BLOCK_PER_POINT": "1"})
    assert resumed.returncode == 0, resumed.stderr
    assert_same_files(reference, out, ignore_attrs=("command_line", "scenario_source"))


# --------------------------------------------------------------------------
# 3. Errors: exit 2, name the path, leave an existing output alone
# --------------------------------------------------------------------------

DEPLOYED = "actors.RUS.forces.deployed"
READY = "actors.USA.forces.ready"
TYPO = "actors.RUS.forces.deploy"
TYPO_RE = re.escape(TYPO) + r"(?!ed)"  # the wrong path itself, not the right one it prefixes

# name: (sweep block or None, extra CLI arguments, regexes the message must match,
#        path whose key line the file diagnostic must point at, or None)
ERROR_CASES = {
    "file_unknown_path": (sweep_block({TYPO: [50000, 100000]}), [], [TYPO_RE, re.escape(DEPLOYED)], TYPO),
    "cli_unknown_path": (None, ["--sweep", f"{TYPO}=50000,100000"], [TYPO_RE, re.escape(DEPLOYED)], None),
    "file_negative_troops": (sweep_block({DEPLOYED: [-5000, 100000]}), [], [re.escape(DEPLOYED), "-5000"], DEPLOYED),
    "cli_negative_troops": (None, ["--design", "random", "--samples", 8, "--sweep", f"{READY}=-100:5000"],
                            [re.escape(READY), "-100"], None),
    "file_range_for_grid": (sweep_block({DEPLOYED: {"min": 50000, "max": 100000}}, design="grid"), [],
                            [re.escape(DEPLOYED), "grid"], DEPLOYED),
    "cli_range_for_grid": (None, ["--sweep", f"{DEPLOYED}=50000:100000"], [re.escape(DEPLOYED), "grid"], None),
    "file_list_for_sobol": (sweep_block({DEPLOYED: [50000, 100000]}, design="sobol", samples=8), [],
                            [re.escape(DEPLOYED), "sobol"], DEPLOYED),
    "cli_list_for_sobol": (None, ["--design", "sobol", "--samples", 8, "--sweep", f"{DEPLOYED}=50000,100000"],
                           [re.escape(DEPLOYED), "sobol"], None),
    "file_random_without_samples": (sweep_block({DEPLOYED: {"min": 50000, "max": 100000}}, design="random"), [],
                                    ["samples", "random"], "sweep"),
    "cli_random_without_samples": (None, ["--design", "random", "--sweep", f"{DEPLOYED}=50000:100000"],
                                   ["samples", "random"], None),
    "file_run_setting": (sweep_block({"run.seed": [1, 2]}), [], [r"run\.seed"], "run.seed"),
    "cli_run_setting": (None, ["--sweep", "run.seed=1,2"], [r"run\.seed"], None),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_bad_sweep_is_a_usage_error(case, tmp_path):
    block, extra, patterns, key = ERROR_CASES[case]
    body = scenario_text(replications=256, sweep=block)
    path = write(tmp_path, "bad.yaml", body)
    out = tmp_path / "out.h5"
    previous = b"results of an earlier run\n"
    out.write_bytes(previous)
    proc = brink("run", path, "-q", "-o", out, *extra)
    assert proc.returncode == 2, f"expected exit 2, got {proc.returncode}\nstderr:\n{proc.stderr}"
    for bad in ("terminate called", "Traceback", "HDF5-DIAG", "what():"):
        assert bad not in proc.stderr, proc.stderr
    for pattern in patterns:
        assert re.search(pattern, proc.stderr), f"message does not match {pattern!r}:\n{proc.stderr}"
    if key is not None:
        # A problem in the file is reported at its place: file:line:col.
        lines = body.split("\n")
        sweep_line = lines.index("sweep:") + 1
        if key == "sweep":
            where = list(range(sweep_line, len(lines) + 1))
        else:
            where = [i + 1 for i, line in enumerate(lines) if i + 1 > sweep_line and line.startswith(f"    {key}:")]
            assert len(where) == 1
        located = re.findall(rf"^{re.escape(str(path))}:(\d+):(\d+): ", proc.stderr, re.M)
        assert located and int(located[0][0]) in where, f"expected a diagnostic at line {where}:\n{proc.stderr}"
        if key != "sweep":
            assert int(located[0][1]) == 5, f"expected the column of the key '{key}':\n{proc.stderr}"
    assert out.read_bytes() == previous, "a failed run must not touch an existing output file"
    assert not Path(str(out) + ".partial").exists()


# --------------------------------------------------------------------------
# 4. Adaptive replications
# --------------------------------------------------------------------------

ADAPTIVE_AXES = {"actors.RUS.decision.patience_days": [5, 30, 200]}


def adaptive_scenario(directory, name, ci_halfwidth, maximum=20480):
    rule = {"min": 256, "max": maximum, "ci_halfwidth": ci_halfwidth}
    return write(directory, name, scenario_text(replications=rule, sweep=sweep_block(ADAPTIVE_AXES)))


@pytest.mark.parametrize("rule, missing", [({"max": 300, "ci_halfwidth": 0.01}, "min"),
                                           ({"min": 50000, "ci_halfwidth": 0.01}, "max")])
def test_a_missing_replication_bound_is_reported_alone(tmp_path, rule, missing):
    # After "missing required key 'min'" came "'run.replications.max' (300) is below
    # 'run.replications.min' (1000)": a hidden default the user never wrote.
    scenario = write(tmp_path, "s.yaml", scenario_text(replications=rule, sweep=sweep_block(ADAPTIVE_AXES)))
    for command in (["validate", scenario], ["run", scenario, "-q", "-o", tmp_path / "o.h5"]):
        proc = brink(*command)
        assert proc.returncode == 2, proc.stderr
        assert re.search(rf"^{re.escape(str(scenario))}:\d+:\d+: missing required key '{missing}' in "
                         r"'run.replications'$", proc.stderr.strip()), proc.stderr
        assert "is below" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.fixture(scope="module")
def adaptive_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("adaptive")
    loose = adaptive_scenario(d, "loose.yaml", 0.02)
    return {
        "loose_1": simulate(d / "loose_1.h5", loose, "--threads", 1),
        "loose_2": simulate(d / "loose_2.h5", loose, "--threads", 2),
        "tight": simulate(d / "tight.h5", adaptive_scenario(d, "tight.yaml", 0.01), "--threads", 2),
        "capped": simulate(d / "capped.h5", adaptive_scenario(d, "capped.yaml", 0.02, maximum=1024)),
    }


def check_adaptive_rule(data, ci_halfwidth, minimum, maximum):
    reps = data["replications"]
    codes = data["outcome_code"]
    assert codes.shape == (len(ADAPTIVE_AXES["actors.RUS.decision.patience_days"]), maximum)
    for p, n in enumerate(reps):
        assert minimum <= n <= maximum and (n % LANES == 0 or n == maximum), (p, n)
        run = codes[p, :n]
        assert np.all((run >= 0) & (run < len(OUTCOMES))), f"point {p}: a replication run without an outcome"
        assert np.all(codes[p, n:] == -127), f"point {p}: replications past {n} must read the fill value -127"
        assert np.all(np.isnan(data["casualties"][p, n:])), f"point {p}: casualties past {n} must read NaN"
        counts = np.bincount(run, minlength=len(OUTCOMES))
        np.testing.assert_array_equal(data["outcome_count"][p], counts)
        lower, upper = wilson(counts, n)
        np.testing.assert_allclose(data["outcome_probability_lower"][p], lower, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(data["outcome_probability_upper"][p], upper, rtol=1e-12, atol=1e-15)
        half = (data["outcome_probability_upper"][p] - data["outcome_probability_lower"][p]) / 2
        assert np.all(half <= ci_halfwidth) or n == maximum, f"point {p} stopped at {n} with half-widths {half}"
        if n > minimum:
            # The first round is `min` replications; a point that went on was
            # not yet precise enough after it.
            assert np.any(half_widths(run[:minimum]) > ci_halfwidth), f"point {p} should have stopped at {minimum}"


def test_adaptive_rounds_stop_at_the_wilson_half_width(adaptive_runs):
    data, attrs = load(adaptive_runs["loose_2"])
    check_adaptive_rule(data, 0.02, 256, 20480)
    assert int(attrs["replications"]) == 20480
    # Not vacuous: the rule made some point run more than its first round.
    assert data["replications"].max() > 256


def test_adaptive_stops_at_max(adaptive_runs):
    data, _ = load(adaptive_runs["capped"])
    check_adaptive_rule(data, 0.02, 256, 1024)
    # Patience 30 needs ~2,500 replications for +-0.02 on its ~0.5 standoff share.
    assert data["replications"][1] == 1024


def test_adaptive_threads_give_identical_files(adaptive_runs):
    assert_same_files(adaptive_runs["loose_1"], adaptive_runs["loose_2"])


def test_tighter_ci_never_runs_fewer_replications(adaptive_runs):
    loose, _ = load(adaptive_runs["loose_2"])
    tight, _ = load(adaptive_runs["tight"])
    check_adaptive_rule(tight, 0.01, 256, 20480)
    assert np.all(tight["replications"] >= loose["replications"]), (tight["replications"], loose["replications"])
    assert np.any(tight["replications"] > loose["replications"])
    # A replication's result does not depend on the stopping rule.
    for p, n in enumerate(loose["replications"]):
        for name in ("outcome_code", "end_step", "casualties"):
            assert same_bits(tight[name][p, :n], loose[name][p, :n]), (name, p)


# --------------------------------------------------------------------------
# 5. Common random numbers
# --------------------------------------------------------------------------

# Pilot (5,120 replications per point, flagship, USA ready 8,500 vs 20,000):
# the paired difference D = 1[full_war at 20,000] - 1[full_war at 8,500] had
# variance 0.036 with common random numbers and 0.364 with independent ones
# (ratio 0.10); E[(D - mean)^4] was 0.034 and 0.364.  The SE of a sample
# variance is sqrt((m4 - var^2) / N); with N = 512 that is 0.008 (common) and
# 0.021 (independent), so even at Z = 4.5 SE against the test, the ratio is
# (0.036 + 4.5*0.008) / (0.364 - 4.5*0.021) = 0.27, well below 0.8.
CRN_REPLICATIONS = 512
CRN_AXES = {"actors.USA.forces.ready": [8500, 20000]}


@pytest.fixture(scope="module")
def crn_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("crn")
    out = {}
    for mode in ("common", "independent"):
        body = scenario_text(replications=CRN_REPLICATIONS, sweep=sweep_block(CRN_AXES, random_numbers=mode))
        out[mode] = load(simulate(d / f"{mode}.h5", write(d, f"{mode}.yaml", body)))
    return out


def test_common_random_numbers_reduce_the_variance_of_paired_differences(crn_runs):
    variance = {}
    for mode, (data, attrs) in crn_runs.items():
        assert text(attrs["random_numbers"]) == mode
        np.testing.assert_array_equal(data["parameter_value"][:, 0], CRN_AXES["actors.USA.forces.ready"])
        full_war = (data["outcome_code"] == FULL_WAR).astype(float)
        variance[mode] = np.var(full_war[1] - full_war[0], ddof=1)
    assert variance["independent"] > 0
    assert variance["common"] / variance["independent"] < 0.8, variance


def test_common_random_numbers_share_draws_the_parameter_cannot_affect(crn_runs):
    # Private types are drawn at step 0 from the priors alone (docs/model.md,
    # "Random numbers": kResolve), so US ready troops cannot change them: with
    # common random numbers replication r has the same types at both points.
    common, _ = crn_runs["common"]
    assert same_bits(common["resolve_type"][0], common["resolve_type"][1])
    # With independent streams Russia's type (prior 0.5/0.5) agrees only by
    # chance: about half the time, at most 0.5 + Z * 0.5/sqrt(N).
    independent, _ = crn_runs["independent"]
    actors = names(independent["actor"])
    rus = actors.index("RUS")
    agree = np.mean(independent["resolve_type"][0, :, rus] == independent["resolve_type"][1, :, rus])
    assert agree <= 0.5 + Z * 0.5 / math.sqrt(CRN_REPLICATIONS)


# --------------------------------------------------------------------------
# 6. Summaries agree with the per-replication data
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixed_run(tmp_path_factory):
    # dt = 0.5 day so that a summary that forgot dt would show; 600 replications
    # end in a partial block.
    d = tmp_path_factory.mktemp("summary")
    body = scenario_text(replications=600, horizon_days=60, dt_days=0.5, sweep=sweep_block(ADAPTIVE_AXES))
    return simulate(d / "fixed.h5", write(d, "fixed.yaml", body))


def initial_forces(data, point):
    """(actors, pools) troops at day 0 of `point`: the flagship's forces, with any
    swept or --set `actors.<id>.forces.<pool>` parameter at the point's value."""
    actors, pools = names(data["actor"]), names(data["pool"])
    forces = np.array([[float(FLAGSHIP_DOC["actors"][a]["forces"][pool]) for pool in pools] for a in actors])
    for j, path in enumerate(names(data.get("parameter", []))):
        parts = path.split(".")
        if len(parts) == 4 and parts[0] == "actors" and parts[2] == "forces" and parts[3] in pools:
            forces[actors.index(parts[1]), pools.index(parts[3])] = data["parameter_value"][point, j]
    return forces


@pytest.mark.parametrize("which", ["fixed", "adaptive"])
def test_summaries_agree_with_the_replications(which, fixed_run, adaptive_runs):
    data, attrs = load(fixed_run if which == "fixed" else adaptive_runs["tight"])
    dt = float(attrs["dt_days"])
    quantiles = data["quantile_level"]
    np.testing.assert_array_equal(quantiles, [0.05, 0.5, 0.95])
    # One time axis: the initial state and every K steps (K = 1 without
    # --timeseries), the last entry at the horizon when K divides S.
    every = int(attrs["step_every"])
    assert every == 1, "test setup: these runs record no time series, so the step axis has every step"
    steps_total = int(round(float(attrs["horizon_days"]) / dt))
    step = data["step"]
    np.testing.assert_array_equal(step, np.arange(steps_total // every + 1) * every)
    np.testing.assert_allclose(data["day"], step * dt, rtol=1e-12, atol=0)
    assert "horizon" not in data
    actors = len(data["actor"])
    points = len(data["point"])
    rungs = names(data["rung"])
    issues = names(data["issue"])
    assert issues == list(FLAGSHIP_DOC["negotiation"]["issues"])
    assert data["casualty_quantile"].shape == (points, actors, len(quantiles))
    assert data["end_day_quantile"].shape == (points, len(quantiles))
    assert data["mean_end_day"].shape == (points,)
    assert data["survival"].shape == data["survival_lower"].shape == data["survival_upper"].shape == (points, len(step))
    assert data["rung_share"].shape == (points, len(step), len(rungs))
    assert data["mean_troops"].shape == (points, len(step), actors, len(data["pool"]))
    assert data["mean_belief"].shape == (points, len(step), actors, len(data["type"]))
    assert data["agreement_probability"].shape == (points, len(issues))
    initial_rung = rungs.index(FLAGSHIP_DOC["escalation"]["initial_rung"])
    war_rungs = slice(rungs.index(FLAGSHIP_DOC["escalation"]["limited_war"]), None)
    for p, n in enumerate(data["replications"]):
        codes = data["outcome_code"][p, :n]
        counts = np.bincount(codes, minlength=len(OUTCOMES))
        np.testing.assert_array_equal(data["outcome_count"][p], counts)
        np.testing.assert_array_equal(data["outcome_probability"][p], counts / n)
        casualties = data["casualties"][p, :n]
        assert casualties.shape == (n, actors) and np.all(np.isfinite(casualties))
        np.testing.assert_allclose(data["mean_casualties"][p], casualties.mean(axis=0), rtol=1e-12, atol=1e-9)
        for a in range(actors):
            np.testing.assert_allclose(data["casualty_quantile"][p, a], np.quantile(casualties[:, a], quantiles),
                                       rtol=1e-12, atol=1e-9, err_msg=f"point {p} actor {a}")
        end_day = data["end_step"][p, :n] * dt
        np.testing.assert_allclose(data["mean_end_day"][p], end_day.mean(), rtol=1e-12)
        np.testing.assert_allclose(data["end_day_quantile"][p], np.quantile(end_day, quantiles), rtol=1e-12)

        # Survival at step t: no fighting began in steps 0 .. t-1, so 1 at step 0.
        start = data["war_start_step"][p, :n]
        surviving = np.array([np.sum((start == -1) | (start >= t)) for t in step])
        assert surviving[0] == n
        np.testing.assert_allclose(data["survival"][p], surviving / n, rtol=0, atol=1e-15)
        lower, upper = wilson(surviving, n)
        np.testing.assert_allclose(data["survival_lower"][p], lower, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(data["survival_upper"][p], upper, rtol=1e-12, atol=1e-15)

        # Rung shares: a distribution over the rungs at every step, all on the
        # initial rung at step 0, and on a war rung exactly when fighting has
        # begun (war rungs are reached only by fighting and never left: model.md).
        share = data["rung_share"][p]
        assert np.all(share >= 0)
        np.testing.assert_allclose(share.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(share[0], np.eye(len(rungs))[initial_rung])
        np.testing.assert_allclose(share[:, war_rungs].sum(axis=1), 1.0 - surviving / n, rtol=0, atol=1e-12)

        # Mean troops: the scenario's forces at step 0, the mean of final_forces
        # at the last step (the horizon, since K = 1).
        troops = data["mean_troops"][p]
        np.testing.assert_allclose(troops[0], initial_forces(data, p), rtol=1e-12, atol=0)
        final = data["final_forces"][p, :n]
        assert np.all(np.isfinite(final))
        np.testing.assert_allclose(troops[-1], final.mean(axis=0), rtol=1e-12, atol=1e-6)

        # Mean beliefs: the priors at step 0, the mean of final_belief at the end
        # (final_belief is float32).
        np.testing.assert_allclose(data["mean_belief"][p, 0], data["type_prior"][p], rtol=1e-12, atol=0)
        np.testing.assert_allclose(data["mean_belief"][p, -1], data["final_belief"][p, :n].astype(float).mean(axis=0),
                                   rtol=0, atol=1e-6)

        # Agreement probability: the share of replications that agreed each issue.
        agreed = data["agreed"][p, :n]
        assert agreed.shape == (n, len(issues)) and set(np.unique(agreed)) <= {0, 1}
        np.testing.assert_allclose(data["agreement_probability"][p], agreed.mean(axis=0), rtol=0, atol=1e-15)
    # Not vacuous: wars begin, at different times, at some point of the sweep;
    # the replications leave the initial rung and the initial forces; and some
    # issue is agreed in some but not all replications.
    assert np.ptp(data["survival"]) > 0.1
    assert np.any(data["rung_share"][:, -1, initial_rung] < 0.9)
    assert np.any(np.abs(data["mean_troops"][:, -1] - data["mean_troops"][:, :1]) > 1000)
    assert np.any((data["agreement_probability"] > 0.05) & (data["agreement_probability"] < 0.95))


# --------------------------------------------------------------------------
# 7. Sobol' sensitivity indices
# --------------------------------------------------------------------------

PATIENCE = "actors.RUS.decision.patience_days"
IGNORED = "negotiation.issues.new_start_followon.positions.NATO"
SENSITIVITY_AXES = [f"{PATIENCE}=10:120", f"{IGNORED}=0:1", "actors.USA.forces.ready=8500:50000"]
SENSITIVITY_N = 64


@pytest.fixture(scope="module")
def sensitivity_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("sensitivity")
    path = write(d, "base.yaml", scenario_text(replications=256))
    sweeps = [a for axis in SENSITIVITY_AXES for a in ("--sweep", axis)]
    out = simulate(d / "sens.h5", path, "--sensitivity", "--design", "sobol", "--samples", SENSITIVITY_N,
                   *sweeps, "--set", "run.random_numbers=common", "--summary-only")
    return out


def test_sensitivity_variables_and_layout(sensitivity_run):
    data, attrs = load(sensitivity_run)
    d = len(SENSITIVITY_AXES)
    assert len(data["point"]) == SENSITIVITY_N * (d + 2)
    assert names(data["parameter"]) == [a.split("=")[0] for a in SENSITIVITY_AXES]
    actors = names(data["actor"])
    outputs = [f"probability_{o}" for o in OUTCOMES] + ["probability_war"] + [f"mean_casualties_{a}" for a in actors]
    assert names(data["output"]) == outputs
    with h5py.File(sensitivity_run, "r") as f:
        for stat in ("first", "total"):
            for suffix in ("", "_lower", "_upper"):
                ds = f[f"sensitivity_{stat}{suffix}"]
                assert ds.shape == (len(outputs), d)
                assert [[s.name.split("/")[-1] for s in dim.values()] for dim in ds.dims] == [["output"], ["parameter"]]
    assert text(attrs["random_numbers"]) == "common"
    overrides = text(attrs["overrides"])
    assert "run.random_numbers=common" in overrides and all(a in overrides for a in SENSITIVITY_AXES)
    # --summary-only: summaries, no per-replication variables (nor the resume
    # sums, which only --resume reads), but the per-point time summaries on the
    # step axis are there.
    for name in ("outcome_code", "casualties", "end_step", "war_start_step", "agreed", "resume_rung_count",
                 "resume_troops_sum", "resume_belief_sum", "resume_point", "resume_slot", "troops", "rung_series"):
        assert name not in data
    for name in ("survival", "rung_share", "mean_troops", "mean_belief", "agreement_probability", "day"):
        assert name in data
    np.testing.assert_allclose(data["rung_share"].sum(axis=2), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(data["replications"], 256)
    for j, axis in enumerate(SENSITIVITY_AXES):
        lo, hi = (float(x) for x in axis.split("=")[1].split(":"))
        assert np.all((data["parameter_value"][:, j] >= lo) & (data["parameter_value"][:, j] <= hi))
    for stat in ("first", "total"):
        lower, upper = data[f"sensitivity_{stat}_lower"], data[f"sensitivity_{stat}_upper"]
        # NaN bounds (a rare event, docs/sweeps.md) come in pairs; the others are ordered.
        np.testing.assert_array_equal(np.isnan(lower), np.isnan(upper))
        assert np.all(lower[~np.isnan(lower)] <= upper[~np.isnan(upper)])


def test_ignored_parameter_has_no_effect_and_patience_dominates(sensitivity_run):
    # The flagship gives NATO salience 0 on the New START follow-on ("not a
    # party"), so NATO's position on it enters no utility and no agreement test.
    issue = FLAGSHIP_DOC["negotiation"]["issues"]["new_start_followon"]
    assert issue["salience"]["NATO"] == 0, "test setup: NATO is now a party to new_start_followon; pick another"
    data, _ = load(sensitivity_run)
    params = names(data["parameter"])
    outputs = names(data["output"])
    ignored, patience = params.index(IGNORED), params.index(PATIENCE)
    first, total = data["sensitivity_first"], data["sensitivity_total"]
    assert np.all(np.isfinite(first)) and np.all(np.isfinite(total))
    for o, output in enumerate(outputs):
        assert abs(first[o, ignored]) < 0.05, (output, first[o, ignored])
        assert total[o, ignored] < 0.05, (output, total[o, ignored])
    # Moscow's patience decides when it stops talking: it drives the war risk.
    assert total[outputs.index("probability_full_war"), patience] > 0.3


def test_inspect_prints_the_sobol_table(sensitivity_run):
    proc = brink_ok("inspect", sensitivity_run)
    assert "Sobol" in proc.stdout, proc.stdout
    data, _ = load(sensitivity_run)
    number = r"(-?\d+\.\d+|nan)"
    row = re.compile(rf"^\s*(\S+)\s+(\S+)\s+{number}\s+\[\s*{number},\s*{number}\]\s+{number}\s+\[\s*{number},\s*{number}\]\s*$")
    rows = {}
    for line in proc.stdout.splitlines():
        m = row.match(line)
        if m:
            rows[(m.group(1), m.group(2))] = [float(x) for x in m.groups()[2:]]
    outputs, params = names(data["output"]), names(data["parameter"])
    assert set(rows) == {(o, p) for o in outputs for p in params}, proc.stdout
    for o, output in enumerate(outputs):
        for j, param in enumerate(params):
            expected = [data[f"sensitivity_{s}"][o, j] for s in
                        ("first", "first_lower", "first_upper", "total", "total_lower", "total_upper")]
            np.testing.assert_allclose(rows[(output, param)], expected, rtol=0, atol=0.0005 + 1e-12,
                                       err_msg=f"{output} / {param}")


def test_sobol_intervals_are_nan_exactly_where_too_few_rows_vary(tmp_path):
    """A tiny design (N = 4 base rows, 20 replications) gave finite indices with intervals
    [nan, nan]. By the rule (docs/sweeps.md, "Intervals"), a bootstrap resample whose rows all hold
    one value has no index, and the bounds are NaN when more than 2.5% of the 500 resamples are such.
    A resample draws only rows r with f(A_r) = f(B_r) = c with probability (m_c / N)^N for the m_c such
    rows: far above 2.5% gives NaN bounds, far below finite ones. `run` says why under the table."""
    n = 4
    out = tmp_path / "sob.h5"
    proc = brink_ok("run", "-n", 20, "--summary-only", "--sensitivity", "--design", "sobol", "--samples", n,
                    "--sweep", f"{PATIENCE}=10:90", "--sweep", "actors.RUS.forces.deployed=80000:160000", "-o", out)
    data, _ = load(out)
    war = data["outcome_probability"][:, OUTCOMES.index("limited_war"):].sum(axis=1, keepdims=True)  # probability_war
    columns = np.concatenate([data["outcome_probability"], war, data["mean_casualties"]], axis=1)
    decided = {"nan": 0, "finite": 0}
    for o in range(columns.shape[1]):
        a, b = columns[:n, o], columns[n:2 * n, o]
        first, low, high = (data[f"sensitivity_first{s}"][o] for s in ("", "_lower", "_upper"))
        if np.all(a == a[0]) and np.all(b == a[0]):  # V = 0: no index at all
            assert np.all(np.isnan(first)) and np.all(np.isnan(low))
            continue
        alike = [r for r in range(n) if a[r] == b[r]]
        p_none = sum((sum(1 for r in alike if a[r] == c) / n) ** n for c in {a[r] for r in alike})
        if p_none > 0.1:  # 50 or so of 500 resamples against the 12.5 allowed
            assert np.all(np.isnan(low)) and np.all(np.isnan(high)) and np.all(np.isfinite(first)), o
            decided["nan"] += 1
        elif p_none < 0.005:  # 2.5 expected
            assert np.all(np.isfinite(low)) and np.all(np.isfinite(high)), o
            decided["finite"] += 1
    assert decided["nan"] > 0, "test setup: some output must vary in too few rows"
    unbounded = np.isfinite(data["sensitivity_first"]) & np.isnan(data["sensitivity_first_lower"])
    note = "an interval of nan beside a finite index: the output varies in so few of the base rows"
    assert unbounded.any() and note in proc.stdout, proc.stdout
    assert note in brink_ok("inspect", out).stdout


def test_rung_share_counts_every_block_in_a_scenario_without_issues(tmp_path):
    # Several blocks, no negotiation issues: every block's rung counts enter the
    # shares (once only the last block to arrive did), at any thread count.
    for threads in ("1", "2"):
        out = tmp_path / f"lanchester-{threads}.h5"
        brink_ok("run", "validation/lanchester-square", "-n", "700", "--threads", threads, "-o", str(out), "--quiet")
        data, _ = load(out)
        np.testing.assert_allclose(data["rung_share"].sum(axis=2), 1.0, rtol=0, atol=1e-12)
