"""Round 41 (hostile corpus): messages that sent the user after the wrong cause.

A partial left unreadable by a umask of 777 was called damaged; the finished result such a run
could not sync was not said to be in the partial; a run of one thread refused a thread was told
to use fewer."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest


def _brink(brink, *args, env=None, timeout=120, cwd=None, prefix=()):
    return subprocess.run([*prefix, brink, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def _as_nobody():
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


@pytest.fixture
def shared_dir():
    """A directory any user can reach (pytest's own are root's alone when the tests run as root)."""
    where = Path(tempfile.mkdtemp(prefix="brink-r41-", dir="/tmp"))
    where.chmod(0o777)
    yield where
    shutil.rmtree(where, ignore_errors=True)


def test_a_partial_this_user_may_not_read_is_not_called_damaged(brink, source_dir, shared_dir):
    """A mode-000 partial (a umask of 777) was 'an unfinished run's file that HDF5 cannot open
    (damaged or cut short)'; it is a matter of permissions, which the message now says."""
    prefix = _as_nobody()
    tmp_path = shared_dir
    scenario = tmp_path / "min.yaml"
    shutil.copy(source_dir / "docs" / "examples" / "minimal.yaml", scenario)
    scenario.chmod(0o644)
    args = ["run", scenario, "-n", 20000, "-t", 1, "-q", "--no-table", "-o", tmp_path / "r.h5"]
    proc = _brink(brink, *args, prefix=prefix, env={"BRINK_TEST_FAIL_AFTER_BLOCKS": "10"})
    partial = tmp_path / "r.h5.partial"
    assert proc.returncode == 1 and partial.exists(), proc.stderr
    partial.chmod(0)
    for extra in (["--resume"], []):
        proc = _brink(brink, *args, *extra, prefix=prefix)
        assert proc.returncode == 2, proc.stderr
        assert "cannot be read: Permission denied; make it readable and writable (chmod u+rw)" in proc.stderr, \
            proc.stderr
        assert "damaged" not in proc.stderr, proc.stderr
    assert partial.stat().st_mode & 0o777 == 0


def test_a_finished_result_that_cannot_be_synced_is_said_to_be_in_the_partial(brink, source_dir, shared_dir):
    """Under a umask of 777 the run simulated everything and then said only "cannot open
    'u777.h5.partial' to sync it: Permission denied", not that the finished result was there."""
    prefix = _as_nobody()
    tmp_path = shared_dir
    scenario = tmp_path / "min.yaml"
    shutil.copy(source_dir / "docs" / "examples" / "minimal.yaml", scenario)
    scenario.chmod(0o644)
    out = tmp_path / "u.h5"
    proc = subprocess.run(["sh", "-c", 'umask 777; exec "$@"', "sh", *prefix, brink, "run", str(scenario), "-n", "300",
                           "-t", "1", "-q", "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert f"the finished result is kept in '{out}.partial'" in proc.stderr, proc.stderr
    assert f"'mv {out}.partial {out}' puts it in place" in proc.stderr, proc.stderr


def test_one_thread_that_cannot_start_is_not_told_to_use_fewer_threads(brink, source_dir, tmp_path):
    """'cannot start worker thread 1 of 1 (...); run with fewer --threads': advice no one can follow."""
    scenario = source_dir / "docs" / "examples" / "minimal.yaml"
    for limit in (25000, 22000, 20000, 27000):
        command = f'ulimit -v {limit}; exec "$0" run "$1" -n 20000 -t 1 -q --overwrite -o "$2"'
        proc = subprocess.run(["bash", "-c", command, brink, str(scenario), str(tmp_path / "t.h5")],
                              capture_output=True, text=True, timeout=120)
        if "cannot start worker thread 1 of 1" in proc.stderr:
            assert "fewer --threads" not in proc.stderr, proc.stderr
            assert "ulimit -v" in proc.stderr, proc.stderr
            return
    pytest.skip("no address-space limit here refused the one worker thread (and only it)")
