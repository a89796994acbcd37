"""A process's command built from its own areas only (classfreq.cli.COMMAND_AREAS) parses as the
whole parser does."""
from __future__ import annotations

import subprocess
import sys

from classfreq.cli import AREAS, COMMAND_AREAS, build_parser

COUNT_ARGV = ["count", "--input", "a.jsonl", "--input", "b.parquet", "--source", "s", "--master", "local[1]",
              "--max-matches-per-class", "3", "--relevance", "--progress-interval", "0"]


def test_command_areas_are_areas_in_layer_order():
    for command, areas in COMMAND_AREAS.items():
        assert list(areas) == [a for a in AREAS if a in areas], command


def test_count_parses_the_same_with_its_areas_only():
    whole = vars(build_parser().parse_args(COUNT_ARGV))
    own = vars(build_parser(COMMAND_AREAS["count"]).parse_args(COUNT_ARGV))
    assert own == whole and own["func"].__module__ == "classfreq.pipelines.cli"
    assert own["relevance"] and own["max_matches_per_class"] == 3


def test_a_count_process_imports_no_other_areas_commands():
    code = ("import sys\n"
            "from classfreq.cli import COMMAND_AREAS, build_parser\n"
            "build_parser(COMMAND_AREAS['count']).parse_args(['count', '--input', 'x', '--source', 's'])\n"
            "print(sorted(m for m in sys.modules if m.endswith('.cli') and m.startswith('classfreq.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(sorted(["classfreq.cli", *COMMAND_AREAS["count"]]))
