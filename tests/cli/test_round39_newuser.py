"""Round 39: a new analyst's first week (tests/round39 newuser report, M1 and L1-L10).

Each test runs the real binary on a small variant of the Lanchester square-law
validation scenario, as the analyst met the problem on her own scenario.
"""

import re

import pytest

DEPLOYED = "actors.RED.forces.deployed"


def one_line(proc):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def line_of(text, fragment):
    """The 1-based number of the first line of `text` holding `fragment`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


@pytest.fixture
def square(source_dir):
    """The Lanchester square-law validation scenario: small, fast, every section plain."""
    return (source_dir / "scenarios" / "validation" / "lanchester-square.yaml").read_text(encoding="utf-8")


def variant(tmp_path, square, old, new, name="v.yaml"):
    assert square.count(old) == 1, old
    path = tmp_path / name
    path.write_text(square.replace(old, new), encoding="utf-8")
    return path


def plain(tmp_path, square):
    path = tmp_path / "square.yaml"
    path.write_text(square, encoding="utf-8")
    return path


def with_sweep(tmp_path, square, block, name="sweep.yaml"):
    path = tmp_path / name
    path.write_text(square + "sweep:\n" + block, encoding="utf-8")
    return path


# --------------------------------------------------------------------------
# M1: a thousands separator in a sweep list became extra sweep points
# --------------------------------------------------------------------------


@pytest.mark.parametrize("values, element, after, number", [("100,000", "000", "100", "100000"),
                                                            ("70,000,150,000", "000", "70", "70000"),
                                                            ("1,000,000", "000", "1", "1000000")])
def test_a_thousands_separator_in_a_sweep_argument_is_refused(run, square, tmp_path, values, element, after, number):
    """`--sweep P=100,000` ran two points, 100 and 0 troops, exit 0."""
    path = plain(tmp_path, square)
    proc = run("run", path, "-q", "-n", 1, "-o", tmp_path / "x.h5", "--sweep", f"{DEPLOYED}={values}")
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    assert line.startswith(f"brink run: --sweep {DEPLOYED}={values}: "), line
    assert f"'{DEPLOYED}' lists {element} right after {after}: a number with a thousands separator? " \
           f"write {number}" in line, line
    assert not list(tmp_path.glob("x.h5*"))


def test_a_thousands_separator_in_a_file_sweep_list_is_refused(run, square, tmp_path):
    """`sweep: {parameters: {P: [100,000]}}` validated, and a run wrote the values [100, 0]."""
    path = with_sweep(tmp_path, square, f"  parameters:\n    {DEPLOYED}: [100,000]\n")
    line_no = len(square.splitlines()) + 3
    for command in (["validate", path], ["run", path, "-q", "-n", 1, "-o", tmp_path / "x.h5"]):
        proc = run(*command)
        line = one_line(proc)
        assert proc.returncode == 2, proc.stderr
        column = len(f"    {DEPLOYED}: [100,") + 1
        assert line.startswith(f"{path}:{line_no}:{column}: "), line
        assert line.endswith(f"'sweep.parameters.{DEPLOYED}' lists 000 right after 100: a number with a thousands "
                             "separator? write 100000 (a comma separates the values of a list)"), line
    assert not list(tmp_path.glob("x.h5*"))
    # Zero itself, a fraction and an exponent stay values, in the file and on the command line.
    path = with_sweep(tmp_path, square, "  parameters:\n    actors.RED.forces.reserve: [0, 0.5, 1e3]\n", "fine.yaml")
    proc = run("validate", path)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("; sweep: 3 points, grid"), proc.stdout + proc.stderr
    for values in ("0,0.5", "0e3,1000", "0.5,1"):
        proc = run("run", plain(tmp_path, square), "-q", "-n", 1, "-o", tmp_path / "y.h5", "--overwrite", "--sweep",
                   f"actors.RED.forces.reserve={values}")
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("values, shown", [("05,10", "05"), ("1000,000", "000"), ("1000,05", "05"), ("00:1000", "00")])
def test_a_leading_zero_in_a_sweep_argument_is_refused_as_in_a_file(run, square, tmp_path, values, shown):
    """The scenario file refused 017 but a --sweep list read 05 as 5 and 000 as 0."""
    path = plain(tmp_path, square)
    proc = run("run", path, "-q", "-n", 1, "-o", tmp_path / "x.h5", "--sweep", f"{DEPLOYED}={values}",
               *(["--design", "lhs", "--samples", 2] if ":" in values else []))
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    assert f"'{DEPLOYED}' is {shown}, an integer with a leading zero" in line, line
    assert line.endswith("write zero as 0" if set(shown) == {"0"} else "write it without the leading zero"), line


@pytest.mark.parametrize("written", ["000", "00", "0_000", "-00"])
def test_zero_with_more_than_one_digit_is_refused_in_a_scenario_file_too(run, square, tmp_path, written):
    """One rule for the file and the --sweep list: zero is written 0 (docs/scenario-format.md, Values)."""
    path = variant(tmp_path, square, "collapse_fraction: 0}", f"collapse_fraction: {written}}}")
    proc = run("validate", path)
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    assert line.startswith(f"{path}:{line_of(path.read_text(), 'collapse_fraction')}:"), line
    assert line.endswith(f"'combat.collapse_fraction' is {written}, an integer with a leading zero; write zero as 0"), \
        line


# --------------------------------------------------------------------------
# L1: a comma in a flow-mapping number made an unknown key '000'
# --------------------------------------------------------------------------


@pytest.mark.parametrize("written, number", [("100,000", "100000"), ("1,000,000", "1000000")])
def test_a_key_of_digits_is_named_as_a_thousands_separator(run, square, tmp_path, written, number):
    """`forces: {deployed: 100,000}` said "unknown key '000' ...; did you mean 'ready'?"."""
    path = variant(tmp_path, square, "forces: {deployed: 100000}", f"forces: {{deployed: {written}, ready: 5}}")
    proc = run("validate", path)
    line = one_line(proc)  # 1,000,000 has the key 000 twice: one mistake, one line
    assert proc.returncode == 2, proc.stderr
    line_no = line_of(path.read_text(), "deployed: 1")
    assert line.startswith(f"{path}:{line_no}:{len('    forces: {deployed: ') + written.index(',') + 2}: "), line
    assert line.endswith(f"unknown key '000' in 'actors.RED.forces', right after 'deployed: {written.split(',')[0]}': "
                         f"a number with a thousands separator? write {number} (in a flow mapping a comma ends the "
                         "value)"), line
    assert "did you mean" not in line, line


# --------------------------------------------------------------------------
# L2: a tab in the indentation got a bare yaml-cpp message
# --------------------------------------------------------------------------


def test_a_tab_in_the_indentation_is_named(run, square, tmp_path):
    """`\thorizon_days: 35` gave "8:14: YAML syntax error: illegal map value", with no word of the tab."""
    path = variant(tmp_path, square, "  BLUE:\n    forces:", "  BLUE:\n\tforces:")
    line_no = line_of(path.read_text(), "\tforces:")
    proc = run("validate", path)
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    assert line == f"{path}:{line_no}:1: line {line_no}: a tab in the indentation; YAML indents with spaces", line
    # A tab inside a value stays legal.
    path = variant(tmp_path, square, "initial_rung: tense", "initial_rung:\ttense", "value.yaml")
    proc = run("validate", path)
    assert proc.returncode == 0, proc.stderr
    # A tab before a flow mapping's continued entries is legal YAML: an error elsewhere is not blamed on it.
    text = square.replace("forces: {deployed: 100000}", "forces: {deployed: 100000,\n\t\tready: 5}")
    assert run("validate", variant(tmp_path, text, "r: limited", "r: limited", "flow.yaml")).returncode == 0
    path = variant(tmp_path, text, "limited_war: limited", "limited_war limited", "colon.yaml")
    line = one_line(run("validate", path))
    assert line.startswith(f"{path}:{line_of(path.read_text(), 'limited_war limited') + 1}:"), line
    assert line.endswith(": YAML syntax error: illegal map value"), line


# --------------------------------------------------------------------------
# L3: `--set PATH VALUE` was counted as a second scenario
# --------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "calibrate"])
def test_a_set_without_equals_is_named_before_the_operands_are_counted(run, square, tmp_path, command):
    path = plain(tmp_path, square)
    proc = run(command, path, "-o", tmp_path / "x.h5", "--set", DEPLOYED, "4000")
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    assert line.startswith(f"brink {command}: --set: '{DEPLOYED}' is not of the form PATH=VALUE"), line
    assert "SCENARIO" not in line, line


# --------------------------------------------------------------------------
# L4: a range on a grid axis said the axis "needs at least one value"
# --------------------------------------------------------------------------


def test_a_range_on_a_grid_axis_leads_with_the_design_it_needs(run, square, tmp_path):
    path = plain(tmp_path, square)
    proc = run("run", path, "-q", "-n", 1, "-o", tmp_path / "x.h5", "--sweep", f"{DEPLOYED}=1000:300000")
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    assert line.startswith(f"brink run: --sweep {DEPLOYED}=1000:300000: a range needs a random, lhs, sobol or morris "
                           "design (--design "), line
    assert "needs at least one value" not in line, line


def test_an_empty_value_list_is_named_as_one(run, square, tmp_path):
    path = with_sweep(tmp_path, square, f"  parameters:\n    {DEPLOYED}: []\n")
    proc = run("validate", path)
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    assert line.endswith(f"'sweep.parameters.{DEPLOYED}' lists no values; a grid axis needs at least one, e.g. "
                         "[0, 100000000]"), line


# --------------------------------------------------------------------------
# L5: validate said nothing of the sweep's size nor of numbers that reach no replication
# --------------------------------------------------------------------------


def test_validate_gives_the_sweeps_size(run, square, tmp_path):
    path = with_sweep(tmp_path, square, f"  parameters:\n    {DEPLOYED}: [90000, 100000]\n"
                                        "    actors.BLUE.forces.deployed: [60000, 70000, 80000]\n")
    proc = run("validate", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("settable parameters; sweep: 6 points, grid"), proc.stdout
    path = with_sweep(tmp_path, square, f"  design: lhs\n  samples: 7\n  parameters:\n"
                                        f"    {DEPLOYED}: {{min: 90000, max: 100000}}\n", "lhs.yaml")
    proc = run("validate", path)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("; sweep: 7 points, lhs"), proc.stdout
    proc = run("validate", plain(tmp_path, square))
    assert proc.returncode == 0 and "; sweep:" not in proc.stdout and not proc.stderr, proc.stdout + proc.stderr


def test_validate_notes_a_number_that_reaches_no_replication(run, square, tmp_path):
    """A weight every type gives itself: `brink params` marks it unreached; validate said a plain ok."""
    typed = ("    combat: {effectiveness: 0.01}\n"
             "    decision: {weights: {settlement: 0.5, war_gain: 0.2}}\n"
             "    types:\n"
             "      hawk: {prior: 0.5, weights: {settlement: 0.1}}\n"
             "      dove: {prior: 0.5, weights: {settlement: 0.9}}\n")
    path = variant(tmp_path, square, "    combat: {effectiveness: 0.01}\n", typed)
    proc = run("validate", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{path}: ok"), proc.stdout
    # settlement only: war_gain reaches the types that do not give it (both are inert in this menu,
    # which has no propose or attack: noted on lines of their own since round 41)
    lines = [x for x in proc.stderr.splitlines() if "'unreached'" in x]
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    line_no = line_of(path.read_text(), "decision: {weights")
    assert line == (f"brink validate: note: {path} gives numbers that are 'unreached' (an actor's weight that every "
                    "one of its types sets itself, which reaches no replication): "
                    f"actors.RED.decision.weights.settlement (line {line_no})"), line
    params = run("params", path)
    assert re.search(r"^actors\.RED\.decision\.weights\.settlement .* unreached$", params.stdout, re.M), params.stdout


# --------------------------------------------------------------------------
# L6: a horizon that is not a whole number of steps ran past it silently
# --------------------------------------------------------------------------


NOTE = ("note: run.horizon_days (200) is not a whole number of steps of run.dt_days (3): the run simulates 67 steps, "
        "to day 201")


def test_run_notes_a_horizon_that_is_no_whole_number_of_steps(run, square, tmp_path):
    path = plain(tmp_path, square)
    proc = run("run", path, "--no-table", "-n", 1, "-o", tmp_path / "x.h5", "--set", "run.dt_days=3")
    assert proc.returncode == 0, proc.stderr
    assert f"brink run: {NOTE}\n" in proc.stderr, proc.stderr
    assert "67 steps of 3 days" in proc.stdout, proc.stdout
    proc = run("run", path, "-q", "-n", 1, "-o", tmp_path / "x.h5", "--overwrite", "--set", "run.dt_days=3")
    assert proc.returncode == 0 and not proc.stderr, proc.stderr  # -q: as the other notes
    proc = run("run", path, "--no-table", "-n", 1, "-o", tmp_path / "x.h5", "--overwrite", "--set", "run.dt_days=2")
    assert proc.returncode == 0 and "note" not in proc.stderr, proc.stderr


def test_validate_notes_a_horizon_that_is_no_whole_number_of_steps(run, square, tmp_path):
    path = variant(tmp_path, square, "dt_days: 1,", "dt_days: 3,")
    proc = run("validate", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"brink validate: {NOTE}\n", proc.stderr
    assert proc.stdout.startswith(f"{path}: ok — scenario 'validation-lanchester-square', 2 actors, 67 steps"), \
        proc.stdout


# --------------------------------------------------------------------------
# L7: a key in the wrong section got a nonsense "did you mean"
# --------------------------------------------------------------------------


@pytest.mark.parametrize("old, new, key, message", [
    ("decisions: false}", "decisions: false, timeseries_every: 1}", "timeseries_every",
     "'timeseries_every' belongs in 'output', not 'run'; move it there"),
    ("combat: {law: square,", "combat: {seed: 3, law: square,", "seed",
     "'seed' belongs in 'run', not 'combat'; move it there"),
    ("brink: 1\n", "brink: 1\nhorizon_days: 20\n", "horizon_days",
     "'horizon_days' belongs in 'run', not the top level; move it there"),
    ("decisions: false}", "decisions: false, name: x}", "name",
     "'name' belongs at the top level, not 'run'; move it there"),
    ("combat: {law: square,", "combat: {random_numbers: common, law: square,", "random_numbers",
     "'random_numbers' belongs in 'run', 'sweep' or 'calibrate', not 'combat'; move it to the one meant"),
])
def test_a_key_of_another_section_is_named_where_it_belongs(run, square, tmp_path, old, new, key, message):
    path = variant(tmp_path, square, old, new)
    proc = run("validate", path)
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    text = path.read_text()
    line_no = line_of(text, next(part for part in new.splitlines() if f"{key}:" in part))
    column = text.splitlines()[line_no - 1].index(f"{key}:") + 1
    assert line == f"{path}:{line_no}:{column}: {message}", line
    # A key no other section takes still gets the nearest one.
    path = variant(tmp_path, square, "decisions: false}", "decisions: false, horizon: 5}", "typo.yaml")
    proc = run("validate", path)
    assert proc.returncode == 2 and "unknown key 'horizon' in 'run'; did you mean 'horizon_days'?" in proc.stderr, \
        proc.stderr


# --------------------------------------------------------------------------
# L9: docs/sweeps.md said a --set of any swept path is refused
# --------------------------------------------------------------------------


def test_a_set_of_a_swept_path_does_what_sweeps_md_says(run, square, tmp_path, source_dir):
    """Refused beside a --sweep of the path; a file's axis leaves the sweep (how rerun_command runs a point)."""
    docs = " ".join((source_dir / "docs" / "sweeps.md").read_text(encoding="utf-8").split())
    assert "A `--set` of a swept path is refused" not in docs
    assert "A `--set` of a path a `--sweep` or `--lever` varies is refused, and one of a path the file's sweep " \
           "varies takes that axis out of the sweep" in docs
    path = plain(tmp_path, square)
    proc = run("run", path, "-q", "-n", 1, "-o", tmp_path / "x.h5", "--sweep", f"{DEPLOYED}=90000,100000",
               "--set", f"{DEPLOYED}=95000")
    assert proc.returncode == 2 and "fixes a parameter the sweep varies" in proc.stderr, proc.stderr
    path = with_sweep(tmp_path, square, f"  parameters:\n    {DEPLOYED}: [90000, 100000]\n")
    proc = run("run", path, "--no-table", "-n", 1, "-o", tmp_path / "y.h5", "--set", f"{DEPLOYED}=95000")
    assert proc.returncode == 0 and "1 point (single point)" in proc.stdout, proc.stdout + proc.stderr


# --------------------------------------------------------------------------
# L10: calibrate --help described -t's default otherwise than run --help
# --------------------------------------------------------------------------


def test_the_threads_default_reads_the_same_in_run_and_calibrate_help(run):
    def threads_help(command):
        text = run(command, "--help").stdout
        block = re.search(r"-t \[ --threads \] arg(.*?)\n  -", text, re.S)
        assert block, text
        return " ".join(block.group(1).split())

    assert threads_help("calibrate") == threads_help("run")
    assert "the CPUs this process may use" in threads_help("calibrate")
