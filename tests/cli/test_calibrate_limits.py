"""`brink calibrate` on settings an outside tester found accepted by `validate`
and then failing mid-run: a normal prior whose sd is so small that its log
density overflows (NaN weights written, the file then refused by --resume and
inspect), sizes that cannot fit in memory (refused up front, not an "out of
memory" naming a 'ulimit -v' that is not set), and the rule on common random
numbers stated as it is enforced."""

import re

import pytest


@pytest.fixture(scope="module")
def toy(source_dir):
    return (source_dir / "scenarios" / "validation" / "calibrate-incidents.yaml").read_text(encoding="utf-8")


EXPONENTIAL = "escalation.incidents.base_rate: {prior: exponential, rate: 2}"


def one_line(proc):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "terminate called" not in proc.stderr, proc.stderr
    return lines[0]


def with_prior(toy, tmp_path, prior):
    assert EXPONENTIAL in toy
    path = tmp_path / "p.yaml"
    path.write_text(toy.replace(EXPONENTIAL, "escalation.incidents.base_rate: " + prior), encoding="utf-8")
    return path


def prior_line(path):
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1)
                if "escalation.incidents.base_rate: {" in line)


@pytest.mark.parametrize("prior, key, token", [
    # The field's range is [0, 100]/day: (x - mean)/sd reaches 100/1e-300, whose square overflows.
    ("{prior: normal, mean: 0.3, sd: 1e-300}", "sd", "1e-300"),
    ("{prior: normal, mean: 0.3, sd: 1e-200}", "sd", "1e-200"),
    ("{prior: truncated_normal, mean: 0.3, sd: 1e-200, min: 0, max: 1}", "sd", "1e-200"),
    # -rate·x overflows at x = 100.
    ("{prior: exponential, rate: 1e307}", "rate", "1e307"),
])
def test_a_prior_too_narrow_for_finite_weights_is_refused_at_its_line(run, toy, tmp_path, prior, key, token):
    shown = {"1e307": "1e+307"}.get(token, token)  # as fmt writes the number
    scenario = with_prior(toy, tmp_path, prior)
    line = prior_line(scenario)
    column = scenario.read_text().splitlines()[line - 1].index(token) + 1
    for command in (["validate", scenario],
                    ["calibrate", scenario, "-q", "--particles", 200, "--generations", 4, "-t", 1,
                     "-o", tmp_path / "p.h5"]):
        proc = run(*command, timeout=300)
        message = one_line(proc)
        assert proc.returncode == 2, proc.stderr
        assert message.startswith(f"{scenario}:{line}:{column}: 'calibrate.parameters.escalation.incidents."
                                  f"base_rate.{key}' is {shown}, too small" if key == "sd" else
                                  f"{scenario}:{line}:{column}: 'calibrate.parameters.escalation.incidents."
                                  f"base_rate.{key}' is {shown}, too large"), message
        assert "overflows a double" in message, message
    assert not list(tmp_path.glob("p.h5*"))


def test_a_narrow_prior_that_stays_finite_runs_and_writes_finite_weights(run, toy, tmp_path):
    """sd 1e-100 keeps ((x - mean)/sd)^2 finite on [0, 100]: the calibration runs to the end."""
    scenario = with_prior(toy, tmp_path, "{prior: normal, mean: 0.3, sd: 1e-100}")
    assert run("validate", scenario).returncode == 0
    proc = run("calibrate", scenario, "-q", "--particles", 200, "--generations", 3, "-t", 1, "-o",
               tmp_path / "p.h5", timeout=300)
    assert proc.returncode == 0, proc.stderr
    proc = run("inspect", tmp_path / "p.h5")
    assert proc.returncode == 0 and "nan" not in proc.stdout.lower(), proc.stdout + proc.stderr


@pytest.mark.parametrize("where", ["file", "options"])
def test_a_calibration_larger_than_the_machine_is_refused_up_front(run, toy, tmp_path, where):
    big = {"particles": 10_000_000, "generations": 1000, "replications": 1_000_000}
    text = toy
    if where == "file":
        for key, value in big.items():
            text = re.sub(rf"^  {key}: .*$", f"  {key}: {value:.0e}".replace("e+0", "e"), text, count=1,
                          flags=re.M)
    scenario = tmp_path / "big.yaml"
    scenario.write_text(text, encoding="utf-8")
    options = [] if where == "file" else [a for k, v in big.items() for a in (f"--{k}", v)]
    commands = [["calibrate", scenario, "-q", "-t", 1, "-o", tmp_path / "b.h5", *options]]
    if where == "file":
        commands.append(["validate", scenario])
    for command in commands:
        proc = run(*command, timeout=60)
        message = one_line(proc)
        assert proc.returncode == 2, proc.stderr
        assert re.search(r"a calibration of 10000000 particles x 1000000 replications x 1 observation over 1000 "
                         r"generations needs at least [0-9.e+]+ GB of memory .*, more than this machine's "
                         r"[0-9.e+]+ GB; ask for fewer", message), message
        assert "ulimit" not in message and "out of memory" not in message, message
        if where == "file":
            line = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith("  particles:"))
            assert message.startswith(f"{scenario}:{line}:"), message
    assert not list(tmp_path.glob("b.h5*"))


def test_common_random_numbers_say_the_replications_they_accept(run, toy, tmp_path):
    """R = 1 is refused and R = 2 accepted: the message asks for what the rule accepts."""
    scenario = tmp_path / "toy.yaml"
    scenario.write_text(toy, encoding="utf-8")
    proc = run("calibrate", scenario, "-q", "--particles", "20", "--generations", "1", "--replications", "1",
               "--common-random", "-o", tmp_path / "c.h5", timeout=300)
    message = one_line(proc)
    assert proc.returncode == 2 and "give --replications 2 or more" in message, message
    assert "16 or more" not in message.split("give --replications")[1].split("(")[0], message
    proc = run("calibrate", scenario, "-q", "--particles", "20", "--generations", "1", "--replications", "2",
               "--common-random", "-o", tmp_path / "c.h5", timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_out_of_memory_names_the_address_space_limit_only_when_one_is_set(brink, toy, tmp_path):
    """The hint 'ulimit -v' was given with no limit set; under one, the message names it."""
    import resource
    import subprocess
    from pathlib import Path
    if b"__asan_init" in Path(brink).read_bytes():
        pytest.skip("ASan reserves terabytes of address space: an address-space limit cannot apply")
    scenario = tmp_path / "toy.yaml"
    scenario.write_text(toy, encoding="utf-8")
    limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (400 << 20, 400 << 20))  # noqa: E731
    proc = subprocess.run([brink, "calibrate", scenario, "-q", "-t", "1", "--particles", "2000000",
                           "--replications", "30", "--generations", "1", "-o", tmp_path / "m.h5"],
                          capture_output=True, text=True, timeout=120, preexec_fn=limit)
    message = one_line(proc)
    assert proc.returncode == 1 and re.search(r"out of memory: .*address-space limit of 400 MB .*'ulimit -v'",
                                              message), message
