"""Running `brink run` from Python with live progress, and opening the file it writes."""

from __future__ import annotations

import importlib.util
import numbers
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import xarray as xr

from .checks import positive_int
from .cli import find_brink, single_process_environment
from .io import open_results

__all__ = ["brink_command", "run"]

_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_AFTER_BAR = re.compile(r"^(\[.*?%.*?)\s+(brink \w+: .*)$")


def _number(v) -> str:
    """A value as brink reads it: ints without a decimal point, floats by their shortest repr."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
    return str(v)


def _axis(path: str, spec) -> str:
    """``PATH=...`` for ``--sweep``: a list/tuple of grid values, a {min, max[, log]} range, or text as written."""
    if isinstance(spec, str):
        return f"{path}={spec}"
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"min", "max", "log"}
        if unknown or not {"min", "max"} <= set(spec):
            raise ValueError(f"sweep of '{path}': a range is {{'min': a, 'max': b}} with optional 'log'; got {dict(spec)}")
        log = spec.get("log", False)
        if not isinstance(log, (bool, np.bool_)):  # "false" from a config file is truthy: a log-uniform design
            raise TypeError(f"sweep of '{path}': 'log' must be True or False; got {log!r}")
        return f"{path}={_number(spec['min'])}:{_number(spec['max'])}" + (":log" if log else "")
    if isinstance(spec, (bytes, numbers.Number)) or not isinstance(spec, Iterable):
        raise TypeError(f"sweep of '{path}' must be a list of values, a {{'min': a, 'max': b}} range or the text "
                        f"of --sweep; got {spec!r} (a single value is set=, not a sweep)")
    values = list(spec)
    if not values:
        raise ValueError(f"sweep of '{path}' has no values")
    return f"{path}=" + ",".join(_number(v) for v in values)


def brink_command(
    scenario: str | os.PathLike | None = None,
    *,
    sweep: Mapping | None = None,
    set: Mapping | None = None,  # noqa: A002 - the CLI's own option name
    replications: int | None = None,
    output: str | os.PathLike | None = None,
    levers: Mapping | None = None,
    design: str | None = None,
    samples: int | None = None,
    sensitivity: bool = False,
    seed: int | None = None,
    threads: int | None = None,
    summary_only: bool = False,
    timeseries: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    args: Sequence = (),
    binary: str | os.PathLike | None = None,
) -> list[str]:
    """The `brink run` command line (a list of str) for :func:`run`'s arguments. `output` is required here.

    `levers` is {path: values} of a mixed design's policy levers (``--lever PATH=v1,v2,...``): every
    combination of them runs the same sampled points of the `sweep` ranges.

    `resume` continues the run's ``OUTPUT.partial`` (``--resume``); `overwrite` lets brink replace an
    existing `output` and discard an interrupted run's ``.partial`` (``--overwrite``; without it brink
    refuses, exit 2). Raises ValueError if both are given: brink refuses the pair."""
    if isinstance(args, (str, bytes)) or not isinstance(args, Iterable):  # a str would become its characters
        raise TypeError(f"args must be a list of extra arguments, e.g. ['--quiet']; got {args!r}")
    exe = Path(binary) if binary is not None else find_brink()
    command = [str(exe), "run"]
    if scenario is not None:
        command.append(os.fspath(scenario))
    if output is None:
        raise ValueError("brink_command needs output= (the HDF5 file to write)")
    if resume and overwrite:
        raise ValueError("resume=True continues the interrupted run and overwrite=True discards it: give one of them")
    for path, value in (set or {}).items():
        command += ["--set", f"{path}={_number(value)}"]
    for path, spec in (sweep or {}).items():
        command += ["--sweep", _axis(str(path), spec)]
    for path, spec in (levers or {}).items():
        if isinstance(spec, Mapping):
            raise ValueError(f"lever '{path}': a lever takes a list of values, not a range; got {dict(spec)}")
        command += ["--lever", _axis(str(path), spec)]
    for flag, value in (("-n", replications), ("--design", design), ("--samples", samples), ("--seed", seed),
                        ("--threads", threads)):
        if value is not None:
            command += [flag, _number(value)]
    if timeseries is not None:  # int() made 2.5 every=2, a run other than the one asked for
        command += ["--timeseries", f"every={positive_int(timeseries, 'timeseries (K of --timeseries every=K)')}"]
    command += ["--sensitivity"] * bool(sensitivity) + ["--summary-only"] * bool(summary_only)
    command += ["--resume"] * bool(resume) + ["--overwrite"] * bool(overwrite)
    command += [str(a) for a in args] + ["-o", os.fspath(output)]
    return command


def _stopped_text(reason: BaseException, command: list[str], output: Path, timeout: float | None) -> str:
    """The one sentence of the TimeoutError or KeyboardInterrupt that stopped brink: what stopped it,
    what it kept for resume=True, and that `output`, if it exists, is an earlier run's file."""
    what = (f"did not finish within {timeout} s and was stopped" if isinstance(reason, TimeoutError)
            else "was interrupted")
    partial = Path(f"{output}.partial")
    kept = (f"its finished blocks are in '{partial}', which run(..., resume=True) continues" if partial.exists()
            else "it kept nothing to resume (a --summary-only run, or one stopped before its first block was written)")
    earlier = (f", and '{output}' still holds the results of an earlier run, not of this one" if output.exists()
               else "")
    return f"`{' '.join(command)}` {what}: {kept}{earlier}"


def _in_jupyter() -> bool:
    """Whether this runs in a Jupyter kernel (which shows tqdm's widget or text bar)."""
    return "ipykernel" in sys.modules


def _stderr_is_a_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False


class _Progress:
    """Shows a percentage: a tqdm bar when tqdm is installed and `mode` allows, else a line every 10%.
    The default (True) draws the bar only where one can be seen, in Jupyter or on a terminal: a batch
    job's log, where stderr is a file, gets lines, as brink's own progress does there."""

    def __init__(self, mode, label: str):
        self.bar, self.lines, self.last = None, False, -1.0
        if mode is False or mode is None:
            return
        if mode is True and not (_in_jupyter() or _stderr_is_a_terminal()):
            mode = "lines"
        if mode in (True, "bar"):
            try:
                # tqdm.auto draws a widget in Jupyter, but warns without ipywidgets: then use the text bar.
                if importlib.util.find_spec("ipywidgets") is not None:
                    from tqdm.auto import tqdm
                else:
                    from tqdm import tqdm

                self.bar = tqdm(total=100.0, desc=label, unit="%", bar_format="{desc}: {percentage:3.0f}%|{bar}| "
                                "[{elapsed}<{remaining}]")
                return
            except ImportError:
                if mode == "bar":
                    raise
        if mode not in (True, "bar", "lines"):
            raise ValueError(f"progress must be True, False, 'bar' or 'lines'; got {mode!r}")
        self.lines, self.label = True, label

    def update(self, percent: float) -> None:
        if self.bar is not None:
            self.bar.update(max(0.0, percent - self.bar.n))
        elif self.lines and (percent >= self.last + 10 or (percent >= 100 and self.last < 100)):
            print(f"{self.label}: {percent:.0f}% done", file=sys.stderr, flush=True)
            self.last = percent

    def message(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# How long brink may take to keep its finished blocks and exit after SIGINT (it takes milliseconds)
# before it is killed.
_STOP_GRACE_S = 10.0


class _Stopped(Exception):
    """brink was stopped before it finished: `reason` is the TimeoutError or KeyboardInterrupt that
    stopped it."""

    def __init__(self, reason: BaseException):
        super().__init__(str(reason))
        self.reason = reason


def _stream(command: list[str], on_line: Callable[[str], None], timeout: float | None) -> tuple[int, str]:
    """Runs `command`, calling `on_line` with each line or carriage-return update brink writes to
    stderr as it comes, and returns (exit code, stdout). stderr is a pseudo-terminal where the OS
    has one, since brink draws its progress bar only on a terminal.

    After `timeout` seconds, or on a KeyboardInterrupt (Jupyter's "interrupt kernel", Ctrl-C),
    brink gets SIGINT, as from Ctrl-C in a terminal: it keeps its finished blocks in the output's
    ``.partial`` for ``--resume`` and says so, which `on_line` still receives; it is killed if it
    has not exited within 10 s. Then _Stopped is raised, holding the reason."""
    try:
        import pty

        master, slave = pty.openpty()
    except (ImportError, OSError):
        master, slave = None, subprocess.PIPE
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                            env=single_process_environment())
    if master is not None:
        os.close(slave)
    source = master if master is not None else proc.stderr.fileno()
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True)
    reader.start()
    pending = b""

    def pump(until: float | None) -> bool:
        """Passes brink's stderr on until it closes (True) or `until` passes (False)."""
        nonlocal pending
        while True:
            if until is not None and time.monotonic() > until:
                return False
            ready, _, _ = select.select([source], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(source, 65536)
            except OSError:  # the pty reports EIO once brink has exited
                chunk = b""
            if not chunk:
                return True
            parts = re.split(rb"[\r\n]+", pending + chunk)
            pending = parts.pop()
            for part in parts:
                if part.strip():
                    on_line(part.decode(errors="replace").strip())

    deadline = None if timeout is None else time.monotonic() + timeout
    stopped = None
    try:
        try:
            if not pump(deadline):
                stopped = TimeoutError(f"`{' '.join(command)}` did not finish within {timeout} s")
        except KeyboardInterrupt as interrupt:
            stopped = interrupt
        if stopped is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # brink keeps its finished blocks, as on Ctrl-C in a terminal
            pump(time.monotonic() + _STOP_GRACE_S)
        if pending.strip():
            on_line(pending.decode(errors="replace").strip())
        if stopped is not None:
            raise _Stopped(stopped)
        code = proc.wait(timeout=None if deadline is None else max(0.1, deadline - time.monotonic()))
        reader.join()
    finally:
        if master is not None:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        proc.stdout.close()
    return code, b"".join(out).decode(errors="replace")


def run(
    scenario: str | os.PathLike | None = None,
    *,
    sweep: Mapping | None = None,
    set: Mapping | None = None,  # noqa: A002 - the CLI's own option name
    replications: int | None = None,
    output: str | os.PathLike | None = None,
    progress: bool | str = True,
    show_table: bool = False,
    timeout: float | None = None,
    binary: str | os.PathLike | None = None,
    **options,
) -> xr.Dataset:
    """Runs ``brink run`` and returns the file it wrote, opened with :func:`open_results`.

    - `scenario`: a scenario file or a shipped name (default: brink's, jan-2022-standoff);
    - `sweep`: {path: values}, each a list of grid values, a ``{"min": a, "max": b, "log": False}``
      range (with ``design=``) or the text of ``--sweep PATH=...``;
    - `set`: {path: value} overrides (numbers, true/false or text such as ``combat.law: "linear"``);
    - `replications`: ``-n``; `output`: the file (default ``out/<scenario file stem>.h5``);
    - `options`: ``levers`` ({path: values}, ``--lever``; see :func:`brink_command`), ``design``, ``samples``, ``sensitivity``, ``seed``, ``threads``, ``summary_only``,
      ``timeseries`` (K of ``--timeseries every=K``), ``resume``, ``overwrite`` (replace an existing
      `output`, which brink otherwise refuses; see :func:`brink_command`), ``args`` (extra arguments);
    - `progress`: True (a tqdm bar in Jupyter or on a terminal if tqdm is installed; otherwise, as in a
      batch log, a line every 10%), ``"bar"``,
      ``"lines"`` or False; `show_table`: print brink's table of results afterwards.

    Raises RuntimeError with brink's messages if it fails (e.g. exit code 2 for bad input). After
    `timeout` seconds, or on a KeyboardInterrupt (Jupyter's "interrupt kernel"), brink is stopped
    as by Ctrl-C (SIGINT: it keeps its finished blocks in ``OUTPUT.partial``), its messages are
    shown, and TimeoutError or KeyboardInterrupt is raised saying that ``resume=True`` continues
    the run, and that `output`, if it exists, still holds an earlier run.
    """
    if output is None:
        output = Path("out") / f"{Path(os.fspath(scenario)).stem if scenario is not None else 'jan-2022-standoff'}.h5"
    command = brink_command(scenario, sweep=sweep, set=set, replications=replications, output=output,
                            binary=binary, **options)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    label = f"brink {Path(os.fspath(scenario)).stem if scenario is not None else 'run'}"
    bar = _Progress(progress, label)
    messages: list[str] = []

    def on_line(line: str) -> None:
        # A message brink writes while its bar is drawn ("brink run: interrupted; ...") follows the
        # bar on the same terminal line.
        after = _AFTER_BAR.match(line)
        if after:
            on_line(after.group(1))
            line = after.group(2)
        found = _PERCENT.findall(line)
        if found and ("ETA" in line or line.startswith("[")):
            bar.update(float(found[-1]))
        else:
            messages.append(line)

    try:
        code, stdout = _stream(command, on_line, timeout)
    except _Stopped as stopped:
        bar.close()
        for line in messages:  # brink's own words: what it kept, and where
            bar.message(line)
        raise type(stopped.reason)(_stopped_text(stopped.reason, command, Path(output), timeout)) from None
    finally:
        bar.close()
    if code != 0:
        text = "\n".join(messages).strip()
        # brink's advice names its flags (an existing output: --overwrite; a .partial: --resume or --overwrite).
        advice = [f"{flag}=True" for flag in ("resume", "overwrite") if f"--{flag}" in text and not options.get(flag)]
        if advice:
            text += f"\n(from Python: pass {' or '.join(advice)})"
        raise RuntimeError(f"`{' '.join(command)}` failed with exit code {code}:\n{text}")
    for line in messages:
        bar.message(line)
    if show_table:
        print(stdout, end="")
    return open_results(output)
