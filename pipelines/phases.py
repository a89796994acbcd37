"""The phases of a counting run: how long each took (stored in ``runs.phase_seconds`` and printed
on the last line of ``classfreq count``), and a test hook that stops a run at a named point.

The hook: with ``CLASSFREQ_STOP_AT=NAME`` in the environment, the run writes its PID to the file
``CLASSFREQ_STOP_FILE`` when it reaches checkpoint NAME and stops itself (SIGSTOP), so a test can
SIGKILL it exactly there. A normal run pays one environment lookup per checkpoint.
"""
from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager

STOP_AT_ENV = "CLASSFREQ_STOP_AT"
STOP_FILE_ENV = "CLASSFREQ_STOP_FILE"


def checkpoint(name: str) -> None:
    """A point where a test may stop the run (see the module doc)."""
    if os.environ.get(STOP_AT_ENV) == name:
        _stop_here(name)


def _stop_here(name: str) -> None:
    marker = os.environ.get(STOP_FILE_ENV)
    if marker:
        tmp = f"{marker}.tmp"
        with open(tmp, "w") as f:
            f.write(f"{os.getpid()} {name}\n")
        os.replace(tmp, marker)  # the test sees the whole line or nothing
    os.kill(os.getpid(), signal.SIGSTOP)


class Phases:
    """Seconds per phase, in the order the phases ran; ``with phases("count"): ...`` times one."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        checkpoint(name)
        start = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - start

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.seconds.items()}


def phase_line(seconds: dict[str, float]) -> str:
    """``phases: session 3.1s, listing 0.1s, ...``"""
    return "phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items())
