"""Round 38 outside review, the small findings: a range axis without a bound says the key is
missing (sweeps L2); YAML an older reader would read otherwise is refused, a leading-zero integer
and a tag on a mapping or a text choice (hostile 6); an output path too long for the system is
refused before anything is written (hostile 7); a read-only file system and the command that holds
a lock are named (hostile 8)."""

import fcntl
import os
import socket
import subprocess
import time

import pytest

AXIS = "actors.RED.combat.effectiveness"


def one_line(proc):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def square(source_dir):
    """The text of the Lanchester square-law validation scenario: small, fast, every section plain."""
    return (source_dir / "scenarios" / "validation" / "lanchester-square.yaml").read_text(encoding="utf-8")


# --------------------------------------------------------------------------
# Sweeps L2: a range axis without min or max
# --------------------------------------------------------------------------


@pytest.mark.parametrize("axis, missing", [("{min: 0.005}", "max"), ("{max: 0.02, log: true}", "min"),
                                           ("{min: 0.005, max: }", "max"), ("\n      min: 0.005", "max")])
def test_a_range_axis_without_a_bound_says_the_key_is_missing(run, square, tmp_path, axis, missing):
    """`{min: 0.1}` was refused as "'...max' must be a finite number", as if a max had been given."""
    path = tmp_path / "axis.yaml"
    path.write_text(square + f"sweep:\n  design: lhs\n  samples: 4\n  parameters:\n    {AXIS}: {axis}\n",
                    encoding="utf-8")
    line_no = len(square.splitlines()) + 5 + (1 if axis.startswith("\n") else 0)
    for command in (["validate", path], ["run", path, "-q", "-o", tmp_path / "x.h5"]):
        proc = run(*command)
        line = one_line(proc)
        assert proc.returncode == 2, proc.stderr
        assert line.startswith(f"{path}:{line_no}:"), line
        assert f"missing required key '{missing}' in 'sweep.parameters.{AXIS}'" in line, line
        assert "finite" not in line, line
    assert not list(tmp_path.glob("x.h5*"))


@pytest.mark.parametrize("value, missing", [("0.005:", "max"), (":0.02", "min"), (":0.02:log", "min")])
def test_a_command_line_range_without_a_bound_names_the_bound(run, square, tmp_path, value, missing):
    """--sweep PATH=0.005: said "'0.005:' is not a list of finite numbers or a range"."""
    (tmp_path / "s.yaml").write_text(square, encoding="utf-8")
    proc = run("run", "s.yaml", "-q", "-o", "x.h5", "--design", "lhs", "--samples", 4, "--sweep", f"{AXIS}={value}",
               cwd=tmp_path)
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    assert f"the range '{value}' has no {missing}; a range is min:max or min:max:log" in line, line
    assert not list(tmp_path.glob("x.h5*"))


# --------------------------------------------------------------------------
# Hostile 6: what YAML 1.1 and 1.2 readers read differently
# --------------------------------------------------------------------------


@pytest.mark.parametrize("written, octal, decimal", [("070000", "the octal number 28672", "70000"),
                                                     ("0_70_000", "the octal number 28672", "70000"),
                                                     ("+017", "the octal number 15", "17"),
                                                     ("08000", "text", "8000")])
def test_an_integer_with_a_leading_zero_is_refused(run, square, tmp_path, written, octal, decimal):
    """`deployed: 070000` was read as 70000, where PyYAML (YAML 1.1) reads 28672."""
    text = square.replace("forces: {deployed: 70000}", f"forces: {{deployed: {written}}}")
    assert text != square
    path = tmp_path / "zero.yaml"
    path.write_text(text, encoding="utf-8")
    proc = run("validate", path)
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    line_no = next(i + 1 for i, t in enumerate(text.splitlines()) if written in t)
    assert line.startswith(f"{path}:{line_no}:"), line
    assert f"'actors.BLUE.forces.deployed' is {written}, an integer with a leading zero" in line, line
    assert f"read as {octal} and YAML 1.2 readers as {decimal}" in line, line
    assert line.endswith("write it without the leading zero"), line


@pytest.mark.parametrize("value", ["0", "-0", "+0", "0.0", "0.5", "0e3", "00.5", "0.25e-1"])
def test_zero_and_fractions_that_start_with_zero_stay_numbers(run, square, tmp_path, value):
    """Only an integer with a leading zero is read two ways; zero itself and fractions are not. (Zero
    written with more digits, 00 or 0_000, is refused since round 39, as in a sweep list, where 000 is
    the rest of 100,000: test_round39_newuser.py.)"""
    assert square.count("collapse_fraction: 0}") == 1
    text = square.replace("collapse_fraction: 0}", f"collapse_fraction: {value}}}")
    path = tmp_path / "fine.yaml"
    path.write_text(text, encoding="utf-8")
    proc = run("validate", path)
    assert proc.returncode == 0, proc.stderr


def test_a_leading_zero_is_refused_in_a_sweep_list_and_an_observation_too(run, source_dir, tmp_path):
    """Wherever a number stands, not only in the field table."""
    text = (source_dir / "scenarios" / "validation" / "calibrate-incidents.yaml").read_text(encoding="utf-8")
    assert "    value: 12\n" in text
    path = tmp_path / "obs.yaml"
    path.write_text(text.replace("    value: 12\n", "    value: 012\n"), encoding="utf-8")
    proc = run("validate", path)
    assert proc.returncode == 2 and "'observations.incidents_by_day_39.value' is 012" in one_line(proc), proc.stderr


@pytest.mark.parametrize("old, new, where, kind, tag", [
    ("actors:\n  RED:", "actors: !!seq\n  RED:", "'actors'", "mapping", "!!seq"),
    ("actors:\n  RED:", "actors: !custom\n  RED:", "'actors'", "mapping", "!custom"),
    ("adversaries: [[RED, BLUE]]", "adversaries: !pair [[RED, BLUE]]", "'relations.adversaries'", "list", "!pair"),
])
def test_a_tag_on_a_mapping_or_a_list_is_refused(run, square, tmp_path, old, new, where, kind, tag):
    """`actors: !!seq` over a mapping was read as the mapping, the tag ignored, while `!troops 5` is refused."""
    assert old in square
    path = tmp_path / "tag.yaml"
    path.write_text(square.replace(old, new), encoding="utf-8")
    proc = run("validate", path)
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    line_no = next(i + 1 for i, t in enumerate(square.replace(old, new).splitlines()) if tag in t)
    assert line.startswith(f"{path}:{line_no}:"), line
    assert f"{where} is a {kind} under the tag {tag}" in line and "write it without the tag" in line, line


@pytest.mark.parametrize("old, new, message", [
    ("law: square", "law: !weird square", "'combat.law' must be 'square' or 'linear', got !weird square"),
    ("law: square", "law: !!int square", "'combat.law' must be 'square' or 'linear', got !!int square"),
    ("decisions: false", "decisions: !flag false", "'run.decisions' must be true or false, got !flag false"),
    ("actor: RED, attack", "actor: !who RED, attack", "'events.0.actor' must name an actor, got !who RED"),
    ("rung: full}", "rung: !r full}", "must name a rung of the escalation ladder, got !r full"),
])
def test_a_tag_on_a_text_choice_is_refused(run, square, tmp_path, old, new, message):
    """`law: !weird linear` was read as linear, the tag ignored."""
    assert square.count(old) == 1
    path = tmp_path / "choice.yaml"
    path.write_text(square.replace(old, new), encoding="utf-8")
    proc = run("validate", path)
    line = one_line(proc)
    assert proc.returncode == 2 and message in line and line.endswith("write it without the tag"), line


def test_tags_that_say_what_the_value_is_stay_accepted(run, square, tmp_path):
    """!!str on text, !!bool on true/false, !!map on a mapping, !!seq on a list, quotes on a choice."""
    text = (square.replace("law: square", "law: !!str square").replace("decisions: false", "decisions: !!bool false")
            .replace("actors:\n  RED:", "actors: !!map\n  RED:")
            .replace("adversaries: [[RED, BLUE]]", "adversaries: !!seq [[RED, BLUE]]")
            .replace("initial_rung: tense", 'initial_rung: "tense"'))
    path = tmp_path / "plain.yaml"
    path.write_text(text, encoding="utf-8")
    proc = run("validate", path)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------
# Hostile 7: a path too long for the system
# --------------------------------------------------------------------------


@pytest.fixture
def deep(tmp_path):
    """16 nested directories of 250-byte names under tmp_path: (their relative path, 4016 bytes, and a
    descriptor of the deepest), each made relative to the last, as their whole path passes PATH_MAX."""
    name = "d" * 250
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(16):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        yield (name + "/") * 16, fd
    finally:
        os.close(fd)


def test_an_output_whose_partial_passes_path_max_is_refused_before_anything_is_written(run, square, tmp_path, deep):
    """A 4088-byte -o fits, but its .partial (4096 bytes with the NUL) did not: 'filesystem error:
    status: File name too long', exit 1, instead of a refusal at the start."""
    prefix, deepest = deep
    (tmp_path / "s.yaml").write_text(square, encoding="utf-8")
    target = prefix + "f" * (4088 - len(prefix) - 3) + ".h5"
    assert len(target) == 4088
    proc = run("run", "s.yaml", "-n", 10, "-q", "-o", target, cwd=tmp_path)
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    assert "is 4088 bytes; with '.partial' added" in line and "limit of 4096 bytes for a path" in line, line
    assert "File name too long" not in line and len(line) < 600, line
    assert os.listdir(deepest) == []


def test_a_calibration_whose_posterior_partial_passes_path_max_is_refused_at_once(run, source_dir, tmp_path, deep):
    """calibrate writes OUT.posterior.yaml.partial, 20 bytes longer than OUT: it must fit too."""
    prefix, deepest = deep
    scenario = source_dir / "scenarios" / "validation" / "calibrate-incidents.yaml"
    target = prefix + "f" * (4080 - len(prefix) - 3) + ".h5"  # OUT.partial.tmp fits (4092 bytes)
    proc = run("calibrate", scenario, "--particles", 20, "--generations", 2, "-q", "-o", target, cwd=tmp_path)
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    assert "posterior.yaml" in line and "with '.partial' added" in line and "for a path" in line, line
    assert os.listdir(deepest) == []


def test_a_calibration_whose_staging_file_passes_name_max_is_refused_at_once(run, source_dir, tmp_path):
    """OUT.partial.tmp, where each generation is staged, is 4 bytes longer than OUT.partial."""
    scenario = source_dir / "scenarios" / "validation" / "calibrate-incidents.yaml"
    target = "f" * 200 + "." + "e" * 44  # 245 bytes: .partial 253, .partial.tmp 257, .posterior.yaml 215
    proc = run("calibrate", scenario, "--particles", 20, "--generations", 2, "-q", "-o", target, cwd=tmp_path)
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    assert "with '.partial.tmp' added" in line and "limit of 255 bytes" in line, line
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------
# Hostile 8: a read-only file system, and who holds a lock
# --------------------------------------------------------------------------


@pytest.fixture
def read_only_bind(tmp_path):
    """read_only_bind(path): mounts `path` read-only over itself (needs root); unmounted afterwards."""
    mounted = []

    def bind(path):
        for command in (["mount", "--bind", str(path), str(path)],
                        ["mount", "-o", "remount,bind,ro", str(path)]):
            proc = subprocess.run(command, capture_output=True, text=True)
            if proc.returncode != 0:
                if mounted:
                    subprocess.run(["umount", str(path)], check=False)
                pytest.skip(f"cannot bind-mount a file read-only (needs root): {proc.stderr.strip()}")
            if command[1] == "--bind":
                mounted.append(path)

    yield bind
    for path in mounted:
        subprocess.run(["umount", str(path)], check=False)


def test_a_partial_on_a_read_only_file_system_is_called_so(run, square, tmp_path, read_only_bind):
    """A read-only mount (EROFS) was reported as 'Permission denied; make it writable', which chmod
    cannot cure."""
    (tmp_path / "s.yaml").write_text(square, encoding="utf-8")
    assert run("run", "s.yaml", "-n", 64, "-q", "-o", "done.h5", cwd=tmp_path).returncode == 0
    partial = tmp_path / "ip.h5.partial"
    os.rename(tmp_path / "done.h5", partial)  # a run's file, holding blocks
    read_only_bind(partial)
    for extra, advice in ((["--resume"], "copy it to a writable one and resume it there"),
                          ([], "give -o on a writable one")):
        proc = run("run", "s.yaml", "-n", 64, "-q", "-o", "ip.h5", *extra, cwd=tmp_path)
        line = one_line(proc)
        assert proc.returncode == 2, proc.stderr
        assert "ip.h5.partial cannot be written: it is on a read-only file system" in line and advice in line, line
        assert "Permission denied" not in line and "make it writable" not in line, line
    assert not (tmp_path / "ip.h5").exists()


def test_a_run_blocked_by_a_calibration_names_the_calibration(brink, run, source_dir, tmp_path):
    """A run against a target a `brink calibrate` holds was told 'another brink run (PID N ...)'."""
    scenario = source_dir / "scenarios" / "validation" / "calibrate-incidents.yaml"
    out = tmp_path / "cal.h5"
    holder = subprocess.Popen([brink, "calibrate", scenario, "--particles", "200000", "--generations", "8", "-t", "1",
                               "-q", "-o", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "cal.h5.partial").exists() and holder.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert holder.poll() is None, "the calibration finished before the second command ran"
        proc = run("run", scenario, "-n", 10, "-q", "-o", out)
        assert holder.poll() is None, "the calibration finished before the second command ran"
    finally:
        holder.kill()
        holder.wait()
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    assert f"another brink calibrate (PID {holder.pid} on host {socket.gethostname()}) is writing" in line, line


def test_a_lock_note_without_its_command_names_no_command(run, square, tmp_path):
    """An older build's note ('PID N on host H') does not say which command holds the lock: the message
    names none rather than calling it a run."""
    (tmp_path / "s.yaml").write_text(square, encoding="utf-8")
    with open(tmp_path / "l.h5.lock", "w") as held:
        held.write("PID 1 on host elsewhere\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = run("run", "s.yaml", "-n", 10, "-q", "-o", "l.h5", cwd=tmp_path)
    line = one_line(proc)
    assert proc.returncode == 2, proc.stderr
    assert "another brink process (a run, merge or calibration; PID 1 on host elsewhere) is writing" in line, line


# --------------------------------------------------------------------------
# Cluster L2: every key the reader accepts is documented
# --------------------------------------------------------------------------

# The probe key put into each mapping of docs/examples/minimal.yaml (and the sections it lacks): the
# reader refuses it naming every key that mapping takes, "(allowed: ...)".
PROBE = "zz_probe: 1"
PROBES = [
    ("name: minimal\n", f"name: minimal\n{PROBE}\n", "scenario"),
    ("  random_numbers: independent\n", f"  random_numbers: independent\n  {PROBE}\n", "run"),
    ("  timeseries_every: 0\n", f"  timeseries_every: 0\n  {PROBE}\n", "output"),
    ("    name: Revisionist state\n", f"    name: Revisionist state\n    {PROBE}\n", "actors.RED"),
    ("      patience_days: 20\n", f"      patience_days: 20\n      {PROBE}\n", "actors.RED.decision"),
    ("resolved: {prior: 0.4,", f"resolved: {{{PROBE}, prior: 0.4,", "actors.RED.types.resolved"),
    ("deny: {kind: hold,", f"deny: {{{PROBE}, kind: hold,", "actors.RED.actions.deny"),
    ("strike: {kind: attack,", f"strike: {{{PROBE}, kind: attack,", "actors.RED.actions.strike"),
    ("  allies: []\n", f"  allies: []\n  {PROBE}\n", "relations"),
    ("{from: PAT, to: BLU,", f"{{{PROBE}, from: PAT, to: BLU,", "relations.commitments.0"),
    ("  initial_rung: signalling\n", f"  initial_rung: signalling\n  {PROBE}\n", "escalation"),
    ("  collapse_fraction: 0.5\n", f"  collapse_fraction: 0.5\n  {PROBE}\n", "combat"),
    ("  drawdown: 0.5\n", f"  drawdown: 0.5\n  {PROBE}\n", "negotiation"),
    ("      core: false\n", f"      core: false\n      {PROBE}\n", "negotiation.issues.status_of_region"),
    ("{day: 45, actor: RED,", f"{{{PROBE}, day: 45, actor: RED,", "events.1"),
]
ADDED = f"""
bargaining: {{proposer: RED, receiver: BLU, {PROBE}}}
sweep:
  {PROBE}
  design: lhs
  samples: 4
  parameters:
    actors.RED.decision.patience_days: {{min: 10, max: 30, {PROBE}}}
  constraints:
    - {{rule: "actors.RED.decision.patience_days <= 40", {PROBE}}}
observations:
  red_troops: {{quantity: forces, actor: RED, day: 1, value: 50000, sd: 100, source: test, {PROBE}}}
calibrate:
  {PROBE}
  parameters:
    actors.RED.combat.effectiveness: {{prior: uniform, min: 0.005, max: 0.02, {PROBE}}}
"""
ADDED_PATHS = ["bargaining", "sweep", "sweep.parameters.actors.RED.decision.patience_days", "sweep.constraints.0",
               "observations.red_troops", "calibrate", "calibrate.parameters.actors.RED.combat.effectiveness"]


def doc_section(doc, path):
    """The text of docs/scenario-format.md's section on the mapping at `path`."""
    parts = path.split(".")
    heading = {"scenario": "## Top level", "run": "## `run`", "output": "## `output`", "relations": "## Relations",
               "escalation": "## Escalation", "combat": "## Combat", "bargaining": "## Bargaining",
               "negotiation": "## Negotiation", "events": "## Events", "sweep": "## Sweep",
               "observations": "## Observations", "calibrate": "## Calibrate"}.get(parts[0])
    if parts[0] == "actors":
        heading = {"types": "### Types", "actions": "## Actions"}.get(parts[2] if len(parts) > 2 else "", "## `actors`")
    assert heading and doc.count(f"\n{heading}\n") == 1, (path, heading)
    start = doc.index(f"\n{heading}\n") + 1
    level = heading.split(" ")[0]
    ends = [doc.find(f"\n{h} ", start + 1) for h in ("#" * k for k in range(1, len(level) + 1))]
    return doc[start:min([e for e in ends if e > 0], default=len(doc))]


def test_every_key_the_reader_accepts_is_documented(run, source_dir, tmp_path):
    """`note` in a calibration prior was accepted but in no table: the field tables are generated and
    checked (docs_test.cpp), the structural keys (the reader's own lists) were not. Each mapping's
    accepted keys, as the reader names them, must each appear in backticks in its section."""
    import re  # noqa: PLC0415

    text = (source_dir / "docs" / "examples" / "minimal.yaml").read_text(encoding="utf-8")
    for old, new, _ in PROBES:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "probe.yaml"
    path.write_text(text + ADDED, encoding="utf-8")
    proc = run("validate", path)
    assert proc.returncode == 2, proc.stderr
    pattern = re.compile(r"unknown key 'zz_probe' in '([^']+)'; did you mean '[^']*'\? \(allowed: (.*)\)$")
    allowed = {m.group(1): m.group(2).split(", ") for m in map(pattern.search, proc.stderr.splitlines()) if m}
    assert set(allowed) == {p for _, _, p in PROBES} | set(ADDED_PATHS), proc.stderr
    doc = (source_dir / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    missing = []
    for where, keys in sorted(allowed.items()):
        section = doc_section(doc, where)
        missing += [f"{where}: {key}" for key in keys
                    if not re.search(r"`[^`\n]*(?<![\w.])" + re.escape(key) + r"(?![\w])[^`\n]*`", section)]
    assert not missing, f"accepted but not documented in docs/scenario-format.md: {missing}"
