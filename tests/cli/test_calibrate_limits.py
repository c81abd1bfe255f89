"""`brink calibrate` on settings an outside tester found accepted by `validate`
and then failing mid-run: a normal prior whose sd is so small that its log
density overflows (NaN weights written, the file then refused by --resume and
inspect)."""

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
