"""Typed job configs of `classfreq eval clip|vlm` and `classfreq import-accuracy` (no model needed).

The CLI builds them from arguments (classfreq.configs.add_options / from_args); Python callers
construct them directly. `validate()` runs once, before a label set, an image or a model is read.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from classfreq.configs import Config, option
from classfreq.errors import UserError
from classfreq.models.labels import COLLISION_POLICIES
from classfreq.models.prompts import CHAT_FORMAT_CHOICES, check_closed_question, read_prompt, read_templates
from classfreq.queries.warehouse import DEFAULT_WAREHOUSE

DEFAULT_WORKERS = min(4, os.cpu_count() or 1)


def _at_least(value: int | None, minimum: int, flag: str) -> None:
    if value is not None and value < minimum:
        raise UserError(f"{flag} must be at least {minimum}, not {value}")


@dataclass(kw_only=True)
class ModelConfig(Config):
    """What every command that runs a model takes: the model, the device, the outputs."""

    model: str = option(required=True, help="local checkpoint folder, or a model id already in the HF cache")
    model_name: str | None = option(help="name in the accuracy table (default: the --model argument's last part)")
    revision: str | None = option(help="model revision (recorded in runs)")
    device: str | None = option(help="cuda, cuda:1, cpu (default: cuda when available)")
    dtype: str | None = option(choices=("bfloat16", "float16", "float32"), help="default bf16 on CUDA, float32 on CPU")
    workers: int = option(DEFAULT_WORKERS, help="image decoding processes (0: in the main process; min(4, CPUs))")
    warehouse: str = option(DEFAULT_WAREHOUSE, help="DuckDB file")
    no_warehouse: bool = option(False, help="write the Parquet files only")
    out: str | None = option(help="folder for accuracy.parquet, predictions.parquet, summary.json "
                                  "(default out/models/<run id>)")
    no_predictions: bool = option(False, help="do not write per-image predictions")


@dataclass(kw_only=True)
class LabelledImagesConfig(ModelConfig):
    """A model and labelled images: an ImageFolder tree or a JSON-lines manifest, and their label set."""

    images: str | None = option(group="source", required=True,
                                help="ImageFolder tree: ROOT/<class id|index|name>/*.jpg")
    manifest: str | None = option(group="source", help='JSON lines: {"image": path, "label": name or index}')
    image_root: str | None = option(help="folder that relative manifest paths start from (default: the manifest's)")
    dataset_name: str | None = option(help="name in the accuracy table (default: folder or manifest name)")
    labelset: str = option("imagenet1k", help="label set name or folder")

    def validate(self) -> LabelledImagesConfig:
        if (self.images is None) == (self.manifest is None):
            raise UserError("pass exactly one of --images (an ImageFolder tree) and --manifest (JSON lines)")
        _at_least(self.workers, 0, "--workers")
        return self


@dataclass(kw_only=True)
class EvalConfig(LabelledImagesConfig):
    """What every evaluation takes: the model, the labelled images, the label set, the outputs."""

    collisions: str = option("disambiguate", choices=COLLISION_POLICIES,
                             help="classes with the same display name: rename from the label set, score as one, "
                                  "or keep ties")
    n_way: int | None = option(help="label-space size: classify each image among its true class and N-1 others "
                                    "drawn with --seed (the study: 2, 5, 20, 100); rows go to nway_accuracy")
    seed: int = option(0, help="seed of the --n-way draw")

    def validate(self) -> EvalConfig:
        super().validate()
        if self.collisions not in COLLISION_POLICIES:
            raise UserError(f"unknown collision policy {self.collisions!r}; use one of {', '.join(COLLISION_POLICIES)}")
        _at_least(self.n_way, 2, "--n-way")
        return self


@dataclass(kw_only=True)
class ClipEvalConfig(EvalConfig):
    """`classfreq eval clip`: CLIP-style zero-shot classification."""

    templates: str = option("single", help='"single" ("a photo of a {name}."), "openai7", or a file with one '
                                           'template a line using {name}')
    batch_size: int = option(64, help="images per forward pass")

    def validate(self) -> ClipEvalConfig:
        super().validate()
        _at_least(self.batch_size, 1, "--batch-size")
        read_templates(self.templates)
        return self


@dataclass(kw_only=True)
class VlmEvalConfig(EvalConfig):
    """`classfreq eval vlm`: LLaVA-style open/closed-world generation or class-name likelihood."""

    method: str = option(required=True, choices=("open", "closed", "likelihood"),
                         help="open: the class named in a free answer; closed: the class list in the prompt; "
                              "likelihood: the most likely class name")
    prompt: str = option("default", help="default (What type of object is in this photo?), alternative (What is the "
                                         "main object depicted in this photograph?), name-item, identify (the "
                                         "study's other wordings), cot (chain of thought: the answer starts with "
                                         "Let's think step by step., up to 512 tokens), or a file holding the question")
    question: str | None = option(help="question in the prompt, replacing the --prompt variant's (closed: must "
                                       "contain {classes})")
    chat_format: str = option("auto", choices=CHAT_FORMAT_CHOICES,
                              help="auto: the checkpoint's chat template, else LLaVA-1.5's USER/ASSISTANT; or the "
                                   "study's format of a model family")
    likelihood_method: str = option("cached", choices=("cached", "packed", "naive"),
                                    help="cached: prompt KV cache + name trie (fast); packed: dense block mask; "
                                         "naive: one pass per class")
    length_normalized: bool = option(False, help="also score by mean log-prob per token (written as scoring=mean)")
    chunk_tokens: int = option(1024, help="name tokens per forward pass (cached method)")
    no_trie: bool = option(False, help="cached method without sharing name prefixes")
    max_new_tokens: int = option(32, help="tokens generated per answer (open and closed)")
    batch_size: int = option(8, help="images per generate call")

    def validate(self) -> VlmEvalConfig:
        super().validate()
        if self.method not in ("open", "closed", "likelihood"):
            raise UserError(f"unknown --method {self.method!r}; use open, closed or likelihood")
        if self.method == "closed" and self.question is not None:
            check_closed_question(self.question)
        variant = read_prompt(self.prompt, self.question)
        if self.method == "likelihood" and variant.answer_prefix:
            raise UserError("--prompt cot generates a chain of thought: use it with --method open or closed")
        if self.method == "open" and self.n_way is not None:
            raise UserError("--n-way offers N classes: use it with --method closed or likelihood, not open")
        for value, flag in ((self.chunk_tokens, "--chunk-tokens"), (self.max_new_tokens, "--max-new-tokens"),
                            (self.batch_size, "--batch-size")):
            _at_least(value, 1, flag)
        return self


@dataclass(kw_only=True)
class ImageWikiQAConfig(ModelConfig):
    """`classfreq eval imagewikiqa`: the study's multiple-choice questions, scored by the answer letter."""

    questions: str = option(required=True, help="imagewikiqa.jsonl (../shared/data/reference/vlmclassifier/)")
    images: str | None = option(help="your ImageNet val folder (the questions' image paths start from it; a leading "
                                     "images/ may be absent); needed by the image condition")
    condition: str = option("image", choices=("image", "name", "both"),
                            help="image: the question with its image (the study); name: the object's name in words "
                                 "instead of the image; both")
    no_cot: bool = option(False, help="ask without chain of thought (the study starts the answer with Let's think "
                                      "step by step.)")
    chat_format: str = option("auto", choices=CHAT_FORMAT_CHOICES, help="as for eval vlm")
    labelset: str = option("imagenet1k", help="label set the question classes are joined to")
    limit: int | None = option(help="the first N usable questions only")
    batch_size: int = option(8, help="questions per generate call")
    max_new_tokens: int = option(1024, help="tokens generated per answer (the study: 1,024)")

    def validate(self) -> ImageWikiQAConfig:
        if self.condition in ("image", "both") and self.images is None:
            raise UserError("the image condition needs --images (your ImageNet val folder); or pass --condition name")
        for value, flag in ((self.limit, "--limit"), (self.batch_size, "--batch-size"),
                            (self.max_new_tokens, "--max-new-tokens")):
            _at_least(value, 1, flag)
        _at_least(self.workers, 0, "--workers")
        return self


@dataclass(kw_only=True)
class ProbeConfig(LabelledImagesConfig):
    """`classfreq probe`: a linear probe on the VLM's last-layer hidden states."""

    prompt: str = option("default", help="the question the hidden states are read after: default, alternative, or "
                                         "a file (as for eval vlm)")
    chat_format: str = option("auto", choices=CHAT_FORMAT_CHOICES, help="as for eval vlm")
    val_fraction: float = option(0.2, help="share of each class's images that choose the regularisation")
    test_fraction: float = option(0.2, help="share of each class's images the accuracy is reported on")
    split_seed: int = option(0, help="seed of the per-class train/validation/test split")
    l2: tuple[float, ...] = option((1e-4, 1e-3, 1e-2, 1e-1, 1.0), nargs="+",
                                   help="L2 penalties tried; the one with the best validation accuracy is kept")
    batch_size: int = option(8, help="images per forward pass")

    def validate(self) -> ProbeConfig:
        super().validate()
        if read_prompt(self.prompt).answer_prefix:
            raise UserError("--prompt cot starts a generated answer; the probe reads the prompt's hidden states: "
                            "use default, alternative or a file")
        if not (0 < self.val_fraction < 1 and 0 < self.test_fraction < 1
                and self.val_fraction + self.test_fraction < 1):
            raise UserError("--val-fraction and --test-fraction must be between 0 and 1 and leave images to train on")
        if not self.l2 or any(x < 0 for x in self.l2):
            raise UserError("--l2 takes one or more penalties >= 0")
        _at_least(self.batch_size, 1, "--batch-size")
        return self


@dataclass(kw_only=True)
class ImportAccuracyConfig(Config):
    """`classfreq import-accuracy`: published per-class accuracies into the warehouse."""

    bethgelab: str | None = option(group="source", required=True,
                                   help="bethgelab imagenet_ensemble_results.json (21 CLIP models)")
    csv: str | None = option(group="source", help="CSV: class_index|class_id|name, correct|accuracy, [n], [model]")
    json: str | None = option(group="source",
                              help="JSON records like the CSV, or {class name: accuracy} in class-index order")
    vlmclassifier: str | None = option(group="source",
                                       help="JSON lines written by the study's main_results/main.py (image, label, "
                                            "output, pred[, choices]); scored here; needs --model and --method")
    labelset: str = option("imagenet1k", help="label set the results were computed on")
    n_per_class: int | None = option(help="images per class (bethgelab default 50: ImageNet val)")
    models: tuple[str, ...] | None = option(nargs="*", help="bethgelab: keep these (names, keys or pretraining datasets)")
    model: str | None = option(help="model name when the file has no model column")
    dataset: str | None = option(help="dataset name (bethgelab default imagenet1k-val, else unknown)")
    method: str = option("zero-shot", help="evaluation method recorded with the rows (--vlmclassifier: open or "
                                           "closed)")
    prompt: str = option("published", help="prompt recorded with the rows")
    scoring: str = option("top1", help="scoring recorded with the rows")
    percent: bool = option(False, help="accuracy column is in percent (default: guessed)")
    seed: int = option(1234, help="--vlmclassifier closed runs with N < all classes: the seed the study drew "
                                  "the choices with (its default 1234)")
    warehouse: str = option(DEFAULT_WAREHOUSE, help="DuckDB file")

    def validate(self) -> ImportAccuracyConfig:
        if sum(x is not None for x in (self.bethgelab, self.csv, self.json, self.vlmclassifier)) != 1:
            raise UserError("pass exactly one of --bethgelab, --csv, --json and --vlmclassifier")
        _at_least(self.n_per_class, 1, "--n-per-class")
        if self.vlmclassifier is not None:
            if self.method not in ("open", "closed"):
                raise UserError("--vlmclassifier needs --method open or --method closed (how the study's run prompted)")
            if not self.model:
                raise UserError("--vlmclassifier needs --model NAME (the model the study's run used)")
        return self
