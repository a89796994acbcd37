"""JSON array splitting speed and the LLaVA reader's memory, with their baselines from the same run.

Speed: a generated LLaVA-shaped array split by the splitter before issue 11 (a byte scanner,
benchmarks/baseline_json_splitter.py), by the splitter now (pipelines/json_array_splitter.py: msgspec
splits each decoded block at once, the stdlib C decoder then the scanner as fallbacks, every byte
accounted for), and by a plain stdlib
``JSONDecoder.raw_decode`` loop over the whole decoded text (no record bytes, no accounting, no
recovery); each must find the same number of records. MB/s by wall clock (best of --repeats) and
by CPU time (steadier on a busy machine).

Memory: peak RSS of a fresh process staging an array of 20 KB records into Parquet chunks
(``staging.stage_records``, the reader's driver side) against the plain stdlib baseline
(``json.load`` of the file) and the staging before issue 11 (chunks of 50,000 records). Every
process imports the same modules first; "growth" is the peak over that.

    .venv/bin/python benchmarks/bench_readers.py [--mb 120] [--memory-mb 300] [--repeats 3]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import baseline_json_splitter  # noqa: E402

from classfreq.pipelines.json_array_splitter import split_batches  # noqa: E402

WORDS = ("a goldfish in a bowl with the tabby cat sitting on the sofa near a window describe this image "
         "what is shown here there are two dogs playing").split()


def llava_array(target_bytes: int, value_words: tuple[int, int], seed: int = 1) -> bytes:
    """A LLaVA-shaped array of about ``target_bytes``: samples of 2-8 turns, ``value_words`` words each."""
    rng = random.Random(seed)
    out, size, i = [], 2, 0
    while size < target_bytes:
        turns = [{"from": "human" if k % 2 == 0 else "gpt",
                  "value": " ".join(rng.choice(WORDS) for _ in range(rng.randint(*value_words)))}
                 for k in range(rng.randint(2, 8))]
        rec = json.dumps({"id": f"{i:012d}", "image": f"coco/train2017/{i:012d}.jpg", "conversations": turns})
        out.append(rec)
        size += len(rec) + 2
        i += 1
    return ("[" + ", ".join(out) + "]").encode()


def stdlib_loop(data: bytes) -> int:
    text, decode, n = data.decode("utf-8"), json.JSONDecoder().raw_decode, 0
    sep = re.compile(r"[\s,]*")
    pos = 1
    while True:
        pos = sep.match(text, pos).end()
        if text[pos] == "]":
            return n
        pos = decode(text, pos)[1]
        n += 1


def new_splitter(data: bytes) -> int:
    return sum(len(batch) for batch in split_batches(io.BytesIO(data)))


def old_splitter(data: bytes) -> int:
    return sum(1 for _ in baseline_json_splitter.iter_records(io.BytesIO(data)))


def best(fn, data: bytes, repeats: int) -> tuple[int, float, float]:
    """(records, best wall seconds, CPU seconds of that run)."""
    runs = []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        n = fn(data)
        runs.append((time.perf_counter() - w, time.process_time() - c, n))
    wall, cpu, n = min(runs)
    return n, wall, cpu


def speed_table(mb: float, repeats: int) -> list[str]:
    data = llava_array(int(mb * 1e6), (5, 120))
    size = len(data) / 1e6
    rows = [("stdlib raw_decode loop (baseline)", stdlib_loop, repeats),
            ("splitter now (msgspec fast path + fallbacks)", new_splitter, repeats),
            ("splitter before (byte scanner)", old_splitter, 1)]
    results = [(name, *best(fn, data, r)) for name, fn, r in rows]
    base_w, base_c = size / results[0][2], size / results[0][3]
    lines = [f"JSON array splitting, {size:.0f} MB LLaVA-shaped array ({results[0][1]:,} records)",
             "| splitter | records | best s | MB/s | x stdlib | CPU MB/s | x stdlib CPU |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, n, wall, cpu in results:
        if n != results[0][1]:
            raise SystemExit(f"{name} found {n} records, the stdlib loop {results[0][1]}")
        lines.append(f"| {name} | {n:,} | {wall:.2f} | {size / wall:.1f} | {size / wall / base_w:.2f} | "
                     f"{size / cpu:.1f} | {size / cpu / base_c:.2f} |")
    return lines


MEMORY_CHILD = """
import json, sys, os, io
sys.path.insert(0, {here!r})

def peak_rss():  # VmHWM: this process's own high-water mark (ru_maxrss keeps the parent's across exec)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))

kind, path, staging = sys.argv[1:4]
import pyarrow, pyarrow.parquet, baseline_json_splitter
from classfreq.pipelines.read_json_array import split_json
from classfreq.pipelines.staging import stage_records
before = peak_rss()
if kind == "stdlib":
    with open(path, "rb") as f:
        n = len(json.load(f))
elif kind == "now":
    chunks, failed = stage_records(None, [path], split_json, staging)
    n = len(chunks)
else:
    pa, pq = pyarrow, pyarrow.parquet
    records, n = [], 0
    with open(path, "rb") as f:
        for r in baseline_json_splitter.iter_records(f):
            records.append(r)
            if len(records) >= 50_000:
                pq.write_table(pa.table({{"record": pa.array(records, pa.binary())}}), os.path.join(staging, f"c{{n}}.parquet"))
                records, n = [], n + 1
    if records:
        pq.write_table(pa.table({{"record": pa.array(records, pa.binary())}}), os.path.join(staging, f"c{{n}}.parquet"))
print(before, peak_rss())
"""


def memory_table(mb: float) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "llava.json")
        data = llava_array(int(mb * 1e6), (700, 900), seed=2)  # about 20 KB a record
        n_records = data.count(b'"id": ')
        with open(path, "wb") as f:
            f.write(data)
        size = len(data)
        del data
        lines = [f"Peak RSS reading a {size / 1e6:.0f} MB LLaVA array of {n_records:,} records "
                 f"(about {size / n_records / 1e3:.0f} KB each), one fresh process each",
                 "| reader | peak RSS MB | after imports MB | growth MB | growth / file size |",
                 "| --- | ---: | ---: | ---: | ---: |"]
        for name, kind in (("stdlib json.load (baseline)", "stdlib"),
                           ("staging now (byte-bounded chunks)", "now"),
                           ("staging before (50,000-record chunks)", "before")):
            staging = os.path.join(tmp, kind)
            os.makedirs(staging)
            out = subprocess.run([sys.executable, "-c", MEMORY_CHILD.format(here=str(HERE)), kind, path, staging],
                                 check=True, capture_output=True, text=True).stdout
            before, rss = (int(v) for v in out.split()[-2:])
            lines.append(f"| {name} | {rss / 1e6:,.0f} | {before / 1e6:,.0f} | {(rss - before) / 1e6:,.0f} | "
                         f"{(rss - before) / size:.2f} |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=120, help="size of the array split for speed (MB)")
    ap.add_argument("--memory-mb", type=float, default=300, help="size of the array of 20 KB records (MB)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print("\n".join(speed_table(args.mb, args.repeats)), flush=True)
    print()
    print("\n".join(memory_table(args.memory_mb)))
    print(f"(peak RSS: VmHWM of each fresh process, Linux; Python {sys.version.split()[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
