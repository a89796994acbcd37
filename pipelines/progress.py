"""The progress line of long runs: rows counted and rows/s, from a Spark accumulator that tasks
add to as they finish their batches."""
from __future__ import annotations

import sys
import threading
import time


class Progress:
    def __init__(self, spark, source: str, interval: float = 10.0, stream=None):
        self.acc = spark.sparkContext.accumulator(0)
        self.source, self.interval = source, interval
        self.stream = stream or sys.stderr
        self._stop = threading.Event()
        self._thread = None
        self.started = time.monotonic()

    def line(self) -> str:
        rows = self.acc.value
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (f"[classfreq count] source={self.source} rows={rows:,} ({rows / elapsed:,.0f} rows/s, "
                f"{elapsed:,.0f}s)")

    def _run(self):
        while not self._stop.wait(self.interval):
            print(self.line(), file=self.stream, flush=True)

    def __enter__(self):
        if self.interval > 0:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread:
            self._thread.join()
