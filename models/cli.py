"""`classfreq eval clip|vlm` and `classfreq import-accuracy`: per-class accuracy into the warehouse.

Each subcommand's options are the fields of its config (models/configs.py); the handler builds the
validated config and runs the job (models/jobs.py).
"""
from __future__ import annotations

from classfreq.configs import add_options, from_args
from classfreq.models.configs import ClipEvalConfig, ImageWikiQAConfig, ImportAccuracyConfig, ProbeConfig, VlmEvalConfig


def register(subparsers) -> None:
    ev = subparsers.add_parser("eval", help="evaluate a CLIP or LLaVA-style model: per-class accuracy")
    kinds = ev.add_subparsers(dest="model_kind", metavar="KIND", required=True)
    clip = add_options(kinds.add_parser("clip", help="CLIP-style zero-shot classification"), ClipEvalConfig)
    clip.set_defaults(func=_eval_clip)
    vlm = add_options(kinds.add_parser("vlm", help="LLaVA-style VLM: open/closed-world generation or class-name "
                                                   "likelihood"), VlmEvalConfig)
    vlm.set_defaults(func=_eval_vlm)
    qa = add_options(kinds.add_parser("imagewikiqa", help="the study's ImageWikiQA: multiple-choice questions about "
                                                          "the object in an ImageNet image"), ImageWikiQAConfig)
    qa.set_defaults(func=_eval_imagewikiqa)
    probe = add_options(subparsers.add_parser("probe", help="linear probe on a VLM's hidden states: per-class "
                                                            "accuracy of what the model encodes"), ProbeConfig)
    probe.set_defaults(func=_probe)
    imp = add_options(subparsers.add_parser("import-accuracy", help="import published per-class accuracies"),
                      ImportAccuracyConfig)
    imp.set_defaults(func=_import_accuracy)


def _eval_clip(args) -> int:
    from classfreq.models.jobs import eval_clip
    return eval_clip(from_args(ClipEvalConfig, args))


def _eval_vlm(args) -> int:
    from classfreq.models.jobs import eval_vlm
    return eval_vlm(from_args(VlmEvalConfig, args))


def _eval_imagewikiqa(args) -> int:
    from classfreq.models.jobs import eval_imagewikiqa
    return eval_imagewikiqa(from_args(ImageWikiQAConfig, args))


def _probe(args) -> int:
    from classfreq.models.jobs import probe
    return probe(from_args(ProbeConfig, args))


def _import_accuracy(args) -> int:
    from classfreq.models.jobs import import_accuracy
    return import_accuracy(from_args(ImportAccuracyConfig, args))
