"""models/configs.py: the typed configs of `classfreq eval clip|vlm` and `classfreq import-accuracy`,
the options they keep, validation before anything is read, and the models extra named when missing."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from classfreq.cli import build_parser, main
from classfreq.configs import add_options, from_args
from classfreq.errors import UserError
from classfreq.models.configs import ClipEvalConfig, ImportAccuracyConfig, VlmEvalConfig
from classfreq.queries.warehouse import DEFAULT_WAREHOUSE

# every option of the three commands before they had configs, with its choices
COMMON = {"--model": None, "--model-name": None, "--revision": None, "--images": None, "--manifest": None,
          "--image-root": None, "--dataset-name": None, "--labelset": None,
          "--collisions": ["disambiguate", "merge", "keep"], "--device": None,
          "--dtype": ["bfloat16", "float16", "float32"], "--workers": None, "--warehouse": None,
          "--no-warehouse": None, "--out": None, "--no-predictions": None, "--n-way": None, "--seed": None}
OPTIONS = {
    ("eval", "clip"): {**COMMON, "--templates": None, "--batch-size": None},
    ("eval", "vlm"): {**COMMON, "--method": ["open", "closed", "likelihood"], "--prompt": None, "--question": None,
                      "--chat-format": ["auto", "template", "llava-1.5", "llava-1.6-mistral", "llava-1.6-vicuna"],
                      "--likelihood-method": ["cached", "packed", "naive"], "--length-normalized": None,
                      "--chunk-tokens": None, "--no-trie": None, "--max-new-tokens": None, "--batch-size": None},
    ("import-accuracy",): {"--bethgelab": None, "--csv": None, "--json": None, "--vlmclassifier": None,
                           "--labelset": None, "--n-per-class": None, "--models": None, "--model": None,
                           "--dataset": None, "--method": None, "--prompt": None, "--scoring": None,
                           "--percent": None, "--seed": None, "--warehouse": None},
}


def _subparser(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> argparse.ArgumentParser:
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


@pytest.mark.parametrize("path", list(OPTIONS))
def test_every_option_and_its_choices_is_kept(path):
    parser = _subparser(build_parser(), path)
    got = {a.option_strings[0]: (list(a.choices) if a.choices else None)
           for a in parser._actions if a.option_strings and a.option_strings[0] != "-h"}
    assert got == OPTIONS[path]
    groups = [sorted(a.option_strings[0] for a in g._group_actions) for g in parser._mutually_exclusive_groups]
    sources = [["--images", "--manifest"]] if path[0] == "eval" else [["--bethgelab", "--csv", "--json", "--vlmclassifier"]]
    assert groups == sources
    assert all(g.required for g in parser._mutually_exclusive_groups)


def test_defaults_are_the_old_ones():
    clip = ClipEvalConfig(model="m", images="i").validate()
    assert (clip.labelset, clip.collisions, clip.templates, clip.batch_size, clip.warehouse) == (
        "imagenet1k", "disambiguate", "single", 64, DEFAULT_WAREHOUSE)
    assert clip.workers == min(4, os.cpu_count() or 1) and not clip.no_warehouse and not clip.no_predictions
    vlm = VlmEvalConfig(model="m", manifest="x.jsonl", method="likelihood").validate()
    assert (vlm.likelihood_method, vlm.chunk_tokens, vlm.max_new_tokens, vlm.batch_size, vlm.no_trie) == (
        "cached", 1024, 32, 8, False)
    imp = ImportAccuracyConfig(bethgelab="b.json").validate()
    assert (imp.labelset, imp.method, imp.prompt, imp.scoring, imp.models, imp.n_per_class, imp.percent) == (
        "imagenet1k", "zero-shot", "published", "top1", None, None, False)


def _parse(cls, argv):
    return from_args(cls, add_options(argparse.ArgumentParser(), cls).parse_args(argv))


def test_config_built_directly_equals_the_cli():
    assert _parse(VlmEvalConfig, ["--model", "m", "--manifest", "v.jsonl", "--method", "closed", "--workers", "0",
                                  "--question", "Which: {classes}?", "--no-trie", "--batch-size", "2"]) == \
        VlmEvalConfig(model="m", manifest="v.jsonl", method="closed", workers=0, question="Which: {classes}?",
                      no_trie=True, batch_size=2)
    assert _parse(ImportAccuracyConfig, ["--bethgelab", "b.json", "--models", "laion400m", "cc3m"]) == \
        ImportAccuracyConfig(bethgelab="b.json", models=("laion400m", "cc3m"))
    assert _parse(ClipEvalConfig, ["--model", "m", "--images", "i", "--templates", "openai7"]) == \
        ClipEvalConfig(model="m", images="i", templates="openai7")


def test_bad_options_are_refused_before_anything_is_read(tmp_path, capsys):
    missing = str(tmp_path / "no-such-model")
    # the model, the manifest and the images do not exist: validation speaks first
    assert main(["eval", "vlm", "--model", missing, "--manifest", str(tmp_path / "m.jsonl"), "--method", "closed",
                 "--question", "What is it?"]) == 2
    assert "must contain {classes}" in capsys.readouterr().err
    (tmp_path / "t.txt").write_text("no placeholder\n")
    assert main(["eval", "clip", "--model", missing, "--images", str(tmp_path), "--templates",
                 str(tmp_path / "t.txt")]) == 2
    assert "must be a template containing {name}" in capsys.readouterr().err
    assert main(["eval", "clip", "--model", missing, "--images", str(tmp_path), "--workers", "-1"]) == 2
    assert "--workers must be at least 0" in capsys.readouterr().err
    with pytest.raises(UserError, match="exactly one of --images"):
        ClipEvalConfig(model="m", images="i", manifest="m").validate()
    with pytest.raises(UserError, match="exactly one of --bethgelab"):
        ImportAccuracyConfig().validate()
    with pytest.raises(UserError, match="--n-per-class must be at least 1"):
        ImportAccuracyConfig(csv="a.csv", n_per_class=0).validate()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval", "clip", "--model", "m", "--images", "i", "--manifest", "j"])


BLOCKED = ("import sys\n"
           "for m in ('torch', 'transformers', 'PIL', 'tokenizers'):\n"
           "    sys.modules[m] = None   # as if the models extra were not installed\n"
           "from classfreq.cli import main\n"
           "sys.exit(main(sys.argv[1:]))\n")


def _without_models_extra(*argv):
    return subprocess.run([sys.executable, "-c", BLOCKED, *argv], capture_output=True, text=True)


def test_missing_models_extra_is_named_not_a_traceback(tmp_path):
    run = _without_models_extra("eval", "clip", "--model", "m", "--images", str(tmp_path), "--no-warehouse")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "needs the Python package torch" in run.stderr and "pip install -e '.[models]'" in run.stderr


def test_import_accuracy_needs_no_models_extra(shared, tmp_path):
    wh = tmp_path / "wh.duckdb"
    run = _without_models_extra("import-accuracy", "--bethgelab",
                                str(shared / "reference" / "bethgelab" / "imagenet_ensemble_results.json"),
                                "--models", "clip:ViT-B-32:laion400m", "--warehouse", str(wh))
    assert run.returncode == 0, run.stderr
    assert "imported per-class accuracy of 1 models" in run.stdout
