"""Matcher speed on the real shared captions with the full ImageNet-1k forms, one table.

    .venv/bin/python benchmarks/bench_matcher.py --shared ../shared/data [--repeat 3]

Rows: classfreq's FormMatcher (each installed engine of ``match_engines.ENGINES``), a per-caption pyahocorasick loop with
word-boundary checks (the baseline every ratio refers to), spaCy's PhraseMatcher (tokenizer-only
``spacy.blank("en")``, attr LOWER) and the paper-mode counter (NLTK word_tokenize). FormMatcher's
counts are checked against ``match_reference``; the other rows implement other semantics, so
their column says how many (caption, form) pairs differ from the reference. A second table
times the engines alone (``find`` on the batches' canonical bytes, MB/s) and their build time.

For other benchmarks (benchmarks/bench_counting.py adds Spark rows):
    from bench_matcher import load_inputs, matcher_rows, format_table, Row
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the shared-data loaders
from matching_samples import all_captions, imagenet_forms  # noqa: E402

from classfreq.pipelines import matching  # noqa: E402
from classfreq.pipelines.match_engines import ENGINES, _installed, make_engine  # noqa: E402
from classfreq.pipelines.matcher import Hits  # noqa: E402
from classfreq.pipelines.matching import FormMatcher, match_reference  # noqa: E402
from classfreq.pipelines.paper_mode import PaperMatcher  # noqa: E402
from classfreq.text import normalize_text  # noqa: E402

BASELINE = "pyahocorasick loop, per caption"


@dataclass
class Row:
    method: str
    captions: int
    seconds: float                    # best wall-clock time of the repeats
    agreement: str                    # "identical" to the reference, or how it differs
    note: str = ""
    cpu_seconds: float | None = None  # this process's CPU time in that run, where it means something

    @property
    def per_second(self) -> float:
        return self.captions / self.seconds if self.seconds > 0 else float("inf")


def load_inputs(shared: str | Path) -> tuple[list, list[str], list[str], str]:
    """(captions, ImageNet-1k forms, CLIP class names, where the forms came from)."""
    forms, names, origin = imagenet_forms()
    return all_captions(shared), forms, names, origin


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _pairs(hits: Hits) -> dict:
    return dict(zip(zip(hits.doc.tolist(), hits.form.tolist()), hits.mentions.tolist()))


def _differences(got: dict, expected: dict) -> str:
    if got == expected:
        return "identical"
    differ = sum(got.get(k) != v for k, v in expected.items()) + sum(k not in expected for k in got)
    return f"{differ:,} pairs differ"


def _expand(counts: dict, forms_of: list[list[int]]) -> dict:
    return {(d, f): n for (d, p), n in counts.items() for f in forms_of[p]}


def pyahocorasick_loop(forms: list[str], normalize=str.lower):
    """The baseline: ``normalize`` each caption (lowercase by default), one automaton of the forms
    as written (lowercased), keep hits whose neighbours are not alphanumeric, count every one."""
    import ahocorasick

    patterns: dict[str, list[int]] = {}
    for i, form in enumerate(forms):
        patterns.setdefault(form.lower(), []).append(i)
    automaton = ahocorasick.Automaton()
    for pid, pattern in enumerate(patterns):
        automaton.add_word(pattern, (pid, len(pattern)))
    automaton.make_automaton()
    forms_of = list(patterns.values())

    def run(texts):
        counts: dict = {}
        for d, text in enumerate(texts):
            if not text:
                continue
            low = normalize(text)
            n = len(low)
            for end, (pid, length) in automaton.iter(low):
                start = end - length + 1
                if (start == 0 or not low[start - 1].isalnum()) and (end + 1 == n or not low[end + 1].isalnum()):
                    counts[d, pid] = counts.get((d, pid), 0) + 1
        return _expand(counts, forms_of)
    return run


def spacy_phrase_matcher(forms: list[str]):
    import spacy
    from spacy.matcher import PhraseMatcher

    nlp = spacy.blank("en")
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    patterns: dict[str, list[int]] = {}
    for i, form in enumerate(forms):
        patterns.setdefault(form.lower(), []).append(i)
    keys = []
    for pid, doc in enumerate(nlp.tokenizer.pipe(list(patterns))):
        keys.append(nlp.vocab.strings.add(str(pid)))
        matcher.add(str(pid), [doc])
    pid_of = {k: i for i, k in enumerate(keys)}
    forms_of = list(patterns.values())

    def run(texts):
        counts: dict = {}
        for d, doc in enumerate(nlp.tokenizer.pipe(t or "" for t in texts)):
            for key, _, _ in matcher(doc):
                p = pid_of[key]
                counts[d, p] = counts.get((d, p), 0) + 1
        return _expand(counts, forms_of)
    return run


def matcher_rows(captions: list, forms: list[str], names: list[str], repeat: int = 3,
                 batch_size: int = 10_000, slow: bool = True, log=print) -> list[Row]:
    """Time every matcher on ``captions``. The fast methods run ``repeat`` rounds, interleaved so
    that a busy machine slows them alike; each keeps its best round. FormMatcher must equal the
    reference exactly (AssertionError otherwise)."""
    n = len(captions)
    batches = [captions[i:i + batch_size] for i in range(0, n, batch_size)]
    expected = _pairs(match_reference(forms, captions))

    def batched(matcher):
        def run(texts):  # results of the timed batches, as {(caption, form): mentions}
            got = {}
            for k in range(0, len(texts), batch_size):
                part = _pairs(matcher.match_batch(texts[k:k + batch_size]))
                got.update({(d + k, f): m for (d, f), m in part.items()})
            return got
        return run

    fast = {}  # method -> (timed function, function giving the counts, note)
    for engine in installed_engines():
        matcher = FormMatcher(forms, engine=engine)
        # only the matching is timed; the dict of results is built after the clock stops
        fast[f"classfreq FormMatcher ({engine})"] = (
            lambda m=matcher: [m.match_batch(b) for b in batches], batched(matcher), f"batches of {batch_size:,}")
    loop = pyahocorasick_loop(forms)
    fast[BASELINE] = (lambda: loop(captions), loop, "lowercase, word-boundary checks, all occurrences")
    loop_norm = pyahocorasick_loop(forms, normalize_text)
    fast["pyahocorasick loop + normalize_text"] = (lambda: loop_norm(captions), loop_norm,
                                                   "unescape + NFKC + lowercase first")
    best: dict[str, tuple[float, float]] = {}
    for _ in range(max(1, repeat)):
        for method, (timed, _, _) in fast.items():
            wall, cpu, _ = _timed(timed)
            if method not in best or wall < best[method][0]:
                best[method] = (wall, cpu)
    rows = []
    for method, (_, counted, note) in fast.items():
        agreement = _differences(counted(captions), expected)
        if method.startswith("classfreq") and agreement != "identical":
            raise AssertionError(f"{method} differs from the reference: {agreement}")
        rows.append(Row(method, n, best[method][0], agreement, note, best[method][1]))
        log(f"  {method}: {rows[-1].per_second:,.0f} captions/s")
    if slow:  # one run each: tens of seconds
        spacy_run = spacy_phrase_matcher(forms)
        wall, cpu, got = _timed(lambda: spacy_run(captions))
        rows.append(Row("spaCy PhraseMatcher (blank en, LOWER)", n, wall, _differences(got, expected),
                        "1 run", cpu))
        log(f"  {rows[-1].method}: {rows[-1].per_second:,.0f} captions/s")
        paper = PaperMatcher(names)
        wall, cpu, _ = _timed(lambda: paper.match_batch(captions))
        rows.append(Row("paper mode (NLTK word_tokenize)", n, wall, "other semantics",
                        f"{len(names):,} CLIP names, 1 run", cpu))
        log(f"  {rows[-1].method}: {rows[-1].per_second:,.0f} captions/s")
    return rows


def installed_engines() -> list[str]:
    return [name for name in ENGINES if _installed(name)]


def engine_table(captions: list, forms: list[str], repeat: int = 3, batch_size: int = 10_000) -> str:
    """Each installed engine alone: ``find`` over the canonical bytes of every batch (best of
    ``repeat`` interleaved rounds, CPU time of this process), and the time to build it."""
    matcher = FormMatcher(forms)
    patterns = [(" " + " ".join(p) + " ").encode("utf-8") for p in matcher.patterns]
    work = matching._Workspace()
    haystacks = [matching._canonical_batch(captions[i:i + batch_size], work)[0].copy()
                 for i in range(0, len(captions), batch_size)]
    size = sum(h.size for h in haystacks)
    engines, build = {}, {}
    for name in installed_engines():
        wall, _, engines[name] = _timed(lambda n=name: make_engine(patterns, n))
        build[name] = wall
    best: dict[str, float] = {}
    found: dict[str, int] = {}
    for _ in range(max(1, repeat)):
        for name, engine in engines.items():
            _, cpu, result = _timed(lambda e=engine: [e.find(h) for h in haystacks])
            best[name] = min(best.get(name, cpu), cpu)
            found[name] = sum(len(r[0]) for r in result)
    if len(set(found.values())) > 1:
        raise AssertionError(f"engines found different numbers of occurrences: {found}")
    first = next(iter(best), None)
    header = ["engine", "build s", "find CPU s", "MB/s", f"x {first}", "occurrences"]
    lines = [[name, f"{build[name]:.3f}", f"{cpu:.3f}", f"{size / cpu / 1e6:,.0f}", f"{best[first] / cpu:.2f}",
              f"{found[name]:,}"] for name, cpu in best.items()]
    title = f"engines alone: find on {size / 1e6:.1f} MB of canonical text ({len(haystacks)} batches), {len(patterns):,} patterns"
    return "\n".join([title, _grid(header, lines)])


def _grid(header: list[str], lines: list[list[str]]) -> str:
    widths = [max(len(x) for x in col) for col in zip(header, *lines)]

    def fmt(cells):
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([fmt(header), "-+-".join("-" * w for w in widths)] + [fmt(line) for line in lines])


def format_table(rows: list[Row], baseline: str = BASELINE) -> str:
    """One text table. "x loop" is captions/s over the baseline row's by wall clock; "x loop CPU"
    the same by this process's CPU time (steadier on a busy machine; only for in-process rows)."""
    base = next((r for r in rows if r.method == baseline), None)
    header = ["method", "captions", "best s", "captions/s", "x loop", "CPU captions/s", "x loop CPU",
              "counts vs reference", "note"]

    def cpu_rate(r):
        return r.captions / r.cpu_seconds if r.cpu_seconds else None

    lines = []
    for r in rows:
        rate, base_rate = cpu_rate(r), cpu_rate(base) if base else None
        lines.append([r.method, f"{r.captions:,}", f"{r.seconds:.3f}", f"{r.per_second:,.0f}",
                      f"{r.per_second / base.per_second:.2f}" if base else "-",
                      f"{rate:,.0f}" if rate else "-",
                      f"{rate / base_rate:.2f}" if rate and base_rate else "-", r.agreement, r.note])
    return _grid(header, lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"),
                   help="the shared data folder (default ../shared/data)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each fast method; the best counts")
    p.add_argument("--batch-size", type=int, default=10_000, help="captions per match_batch call")
    p.add_argument("--no-slow", action="store_true", help="skip spaCy and paper mode (tens of seconds)")
    args = p.parse_args(argv)
    captions, forms, names, origin = load_inputs(args.shared)
    print(f"{len(captions):,} captions, {len(forms):,} forms ({origin}), one process, "
          f"best of {args.repeat} interleaved rounds", file=sys.stderr)
    rows = matcher_rows(captions, forms, names, args.repeat, args.batch_size, not args.no_slow,
                        log=lambda s: print(s, file=sys.stderr))
    print(format_table(rows))
    print()
    print(engine_table(captions, forms, args.repeat, args.batch_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
