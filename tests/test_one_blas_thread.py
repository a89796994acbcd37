"""A count's driver and its worker daemon give numpy's OpenBLAS one thread (classfreq.cli.ONE_BLAS_THREAD,
pipelines/worker_daemon.py), set before numpy's import; a value the user set stays."""
from __future__ import annotations

import os
import subprocess
import sys

REPORT = ("import atexit, os\n"
          "from threadpoolctl import threadpool_info\n"
          "def report():\n"
          "    blas = [p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas']\n"
          "    print(os.environ.get('OPENBLAS_NUM_THREADS'), blas, flush=True)\n"
          "atexit.register(report)\n")


def _run(code: str, env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if env_value is not None:
        env["OPENBLAS_NUM_THREADS"] = env_value
    done = subprocess.run([sys.executable, "-c", REPORT + code], capture_output=True, text=True, env=env, timeout=120)
    return done.stdout.strip()


def test_the_worker_daemon_imports_numpy_with_one_blas_thread():
    assert _run("import classfreq.pipelines.worker_daemon", None) == "1 [1]"
    assert _run("import classfreq.pipelines.worker_daemon", "2") == "2 [2]"


def test_a_count_process_has_one_blas_thread_other_commands_as_configured():
    # an unknown option: argparse ends the process after the parser (and numpy) was imported
    count = "import sys\nsys.argv = ['classfreq', 'count', '--no-such-option']\nfrom classfreq.cli import main\nmain()\n"
    assert _run(count, None) == "1 [1]"
    assert _run(count, "2") == "2 [2]"
    other = count.replace("'count', ", "'report', ").replace("main()\n", "import numpy\nmain()\n")
    out = _run(other, None)
    assert out.startswith("None [") and out != "None [1]" or os.cpu_count() == 1, out
