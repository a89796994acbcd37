"""`classfreq relevance train|evaluate|score|senses`: fit, check and apply the relevance judge
(pipelines adds judge-run, which re-judges a count run in the warehouse)."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from classfreq.configs import Config, add_options, from_args, option

LABELSETS = ("imagenet1k", "flowers102", "stanford_cars", "caltech101")
SCORE_CHUNK = 4096


@dataclass
class TrainConfig(Config):
    labels: str = option(required=True, help="labelled pairs (JSONL, the shared file's format)")
    labelset: str = option("imagenet1k", help="label set the labels' class indexes refer to")
    out: str | None = option(help="parameters file to write (default: the shipped relevance/data/judge_params.json)")


@dataclass
class EvaluateConfig(Config):
    labels: str = option(required=True, help="labelled pairs (JSONL, the shared file's format)")
    labelset: str = option("imagenet1k", help="label set the labels' class indexes refer to")
    learning_curve: bool = option(False, help="instead, grouped-CV accuracy of the full and fast judges trained "
                                              "on 25-100%% of each training fold's classes (5 fold seeds)")


@dataclass
class ScoreConfig(Config):
    pairs: str = option(required=True, help="JSONL lines {pair_id, text, class_index, form}")
    out: str = option(required=True, help="JSONL output, lines {pair_id, p_relevant, relevant}")
    labelset: str = option("imagenet1k", help="built-in label set name or label-set folder")
    variant: str = option("full", choices=("full", "fast", "lexical"),
                          help="full (spaCy + embeddings), fast (spaCy, no MiniLM pass) or lexical (no spaCy, no MiniLM pass)")
    rejects: str | None = option(
        help="where malformed lines go with their reason (default: judged.rejects.jsonl for --out judged.jsonl)")


@dataclass
class SensesConfig(Config):
    labelset: tuple[str, ...] = option(repeat=True, help="label set to precompute (repeatable; default the built-ins)")


def register(subparsers) -> None:
    parser = subparsers.add_parser("relevance", help="judge whether matched words mean the class")
    parser.actions = parser.add_subparsers(dest="relevance_command", metavar="ACTION", required=True)
    for name, cls, handler, text in (
            ("train", TrainConfig, _train, "fit the judge on labelled pairs and write its parameters"),
            ("evaluate", EvaluateConfig, _evaluate, "grouped cross-validation of the judge against baselines"),
            ("score", ScoreConfig, _score, "judge pairs from a JSONL file"),
            ("senses", SensesConfig, _senses, "precompute the WordNet sense tables the judge ships with")):
        add_action(subparsers, name, cls, handler, text)


def add_action(subparsers, name: str, cls, handler, text: str) -> None:
    """Add ACTION to `classfreq relevance`. Layers above relevance add theirs here (the pipelines'
    judge-run), since relevance may not import them; register() must have run first."""
    actions = subparsers.choices["relevance"].actions
    add_options(actions.add_parser(name, help=text), cls).set_defaults(func=handler, config_cls=cls)


def _train(args) -> int:
    from classfreq.relevance.judge import PARAMS_PATH
    from classfreq.relevance.train import train

    config = from_args(TrainConfig, args)
    out = Path(config.out) if config.out else PARAMS_PATH
    params = train(Path(config.labels), config.labelset, out)
    for variant, fitted in params["variants"].items():
        cv = fitted["grouped_cv"]
        accuracy = (cv["tp"] + cv["tn"]) / sum(cv[k] for k in ("tp", "tn", "fp", "fn"))
        print(f"{variant}: grouped-CV accuracy {accuracy:.3f} ({cv['folds']} folds by class)")
    print(f"parameters -> {out}")
    return 0


def _evaluate(args) -> int:
    from classfreq.relevance.report import evaluation_report, learning_curve_report

    config = from_args(EvaluateConfig, args)
    report = learning_curve_report if config.learning_curve else evaluation_report
    print(report(Path(config.labels), config.labelset))
    return 0


def _score(args) -> int:
    from classfreq.relevance.judge import load_judge
    from classfreq.relevance.pairs_io import BadLine, read_pair_lines

    config = from_args(ScoreConfig, args)
    judge = load_judge(config.labelset, config.variant)
    out = Path(config.out)
    rejects_path = Path(config.rejects) if config.rejects else out.with_name(out.stem + ".rejects.jsonl")
    indexes = set(judge.extractor.class_names)
    scored, bad, chunk = 0, [], []
    with open(out, "w", encoding="utf-8") as sink:
        for item in read_pair_lines(Path(config.pairs), indexes):
            if isinstance(item, BadLine):
                bad.append(item)
                continue
            chunk.append(item)
            if len(chunk) >= SCORE_CHUNK:
                scored += _write_scores(judge, chunk, sink)
                chunk = []
        scored += _write_scores(judge, chunk, sink)
    with open(rejects_path, "w", encoding="utf-8") as sink:
        for b in bad:
            sink.write(json.dumps({"line": b.number, "reason": b.reason}) + "\n")
    print(f"scored {scored} pairs -> {out}")
    if bad:
        print(f"{len(bad)} malformed line(s) set aside -> {rejects_path}; first: line {bad[0].number}: {bad[0].reason}",
              file=sys.stderr)
        return 1
    return 0


def _write_scores(judge, chunk, sink) -> int:
    if not chunk:
        return 0
    p = judge.score([c.text for c in chunk], [c.class_index for c in chunk], [c.form for c in chunk])
    for item, prob in zip(chunk, p):
        sink.write(json.dumps({"pair_id": item.pair_id, "p_relevant": round(float(prob), 4),
                               "relevant": bool(prob >= judge.threshold)}) + "\n")
    return len(chunk)


def _senses(args) -> int:
    from classfreq.relevance.senses import build_sense_table, shipped_path, write_table
    from classfreq.synsets import load_labelset
    from classfreq.synsets.wordnet_setup import open_wordnet

    config = from_args(SensesConfig, args)
    wordnet = open_wordnet()
    for name in config.labelset or LABELSETS:
        labelset = load_labelset(name)
        table = build_sense_table(labelset, wordnet)
        path = shipped_path(name) if name in LABELSETS else labelset.path / "relevance_senses.json.gz"
        write_table(table, path)
        print(f"{name}: {len(table.form_senses)} forms, {len(table.glosses)} senses -> {path}")
    return 0
