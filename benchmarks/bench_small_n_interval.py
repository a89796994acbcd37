"""CPU milliseconds per class for the exact small-n interval (below SMALL_N judged documents) against
two baselines in the same run: the interval as shipped before 2026-12-03 (24 Gauss–Hermite nodes over
the class bias, bisection for the quantiles; loaded from git revision --baseline-rev) and the normal
interval a class of SMALL_N or more judged documents gets.

    .venv/bin/python benchmarks/bench_small_n_interval.py [--baseline-rev 52e37ae] [--repeats 20]
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from classfreq.relevance import estimate


def load_revision(rev: str):
    """relevance/estimate.py as of git revision `rev`, imported as its own module."""
    root = Path(__file__).resolve().parents[1]
    try:
        src = subprocess.run(["git", "-C", str(root), "show", f"{rev}:relevance/estimate.py"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        sys.exit(f"error: cannot read relevance/estimate.py at git revision {rev!r}")
    path = Path(tempfile.mkdtemp()) / "estimate_baseline.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("estimate_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["estimate_baseline"] = module
    spec.loader.exec_module(module)
    return module


def per_call_ms(fn, args: tuple, repeats: int) -> float:
    """CPU milliseconds per call of fn(*args) (the process's CPU time, which moves much less than wall-clock time
    when other processes share the machine), after a warm-up call."""
    fn(*args)
    start = time.process_time()
    for _ in range(repeats):
        fn(*args)
    return (time.process_time() - start) / repeats * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-rev", default="52e37ae")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    if args.repeats < 1:
        print("error: --repeats must be at least 1", file=sys.stderr)
        return 2
    before = load_revision(args.baseline_rev)
    rng = np.random.default_rng(0)
    print("| judged p | n judged of docs | tau | grid (CPU ms) | Gauss–Hermite before (CPU ms) | ratio | normal (CPU ms) |")
    print("|---|---|---|---|---|---|---|")
    for kind in ("Beta(2, 2)", "N(0.3, 0.05)"):
        for n, docs, tau in [(5, 5000, 0.2), (20, 5000, 0.2), (49, 5000, 0.2), (30, 30, 0.2), (49, 5000, 0.03)]:
            p = rng.beta(2, 2, n) if kind.startswith("Beta") else np.clip(rng.normal(0.3, 0.05, n), 0, 1)
            case = (p, tau ** 2, docs)
            new = per_call_ms(estimate.small_n_interval, case, args.repeats)
            old = per_call_ms(before.small_n_interval, case, args.repeats)
            normal = per_call_ms(estimate.normal_interval, case, args.repeats)
            print(f"| {kind} | {n} of {docs} | {tau} | {new:.2f} | {old:.2f} | {new / old:.2f} | {normal:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
