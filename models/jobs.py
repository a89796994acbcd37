"""The jobs behind `classfreq eval clip|vlm` and `classfreq import-accuracy`, each taking its
validated config (models/configs.py): read the label set and images, load the model, evaluate,
write Parquet files and warehouse rows, print a summary."""
from __future__ import annotations

from pathlib import Path

from classfreq.errors import UserError
from classfreq.models.configs import (
    ClipEvalConfig,
    EvalConfig,
    ImageWikiQAConfig,
    ImportAccuracyConfig,
    ModelConfig,
    ProbeConfig,
    VlmEvalConfig,
)
from classfreq.queries.labelsets import ensure_labelset_tables
from classfreq.queries.warehouse import connect, utcnow
from classfreq.synsets import load_labelset


def eval_clip(config: ClipEvalConfig) -> int:
    from classfreq.models.clip_zero_shot import load_clip, pick_device_dtype
    from classfreq.models.evaluate import evaluate_clip
    from classfreq.models.labels import prompt_names
    from classfreq.models.prompts import read_templates

    ls = load_labelset(config.labelset)
    data = _dataset(config, ls)
    names = prompt_names(ls, config.collisions)
    templates, prompt_label = read_templates(config.templates)
    device, dtype = pick_device_dtype(config.device, config.dtype)
    started = utcnow()
    model, processor = _load(load_clip, config, device, dtype)
    result = evaluate_clip(model, processor, data, names, templates, prompt_label, config.batch_size, config.workers,
                           _offered(config, data, len(names.names)))
    return _write(config, ls, data, result, "clip", started, model, dtype,
                  {"templates": templates, "batch_size": config.batch_size})


def eval_vlm(config: VlmEvalConfig) -> int:
    from classfreq.models.clip_zero_shot import pick_device_dtype
    from classfreq.models.evaluate import evaluate_vlm_generation, evaluate_vlm_likelihood
    from classfreq.models.labels import prompt_names
    from classfreq.models.prompts import read_prompt
    from classfreq.models.vlm import load_vlm

    ls = load_labelset(config.labelset)
    data = _dataset(config, ls)
    names = prompt_names(ls, config.collisions)
    offered = _offered(config, data, len(names.names))
    variant = read_prompt(config.prompt, config.question).for_method(config.method == "closed")
    device, dtype = pick_device_dtype(config.device, config.dtype)
    started = utcnow()
    model, processor = _load(load_vlm, config, device, dtype)
    options = {"method": config.method, "prompt_variant": variant.name, "question": variant.question,
               "answer_prefix": variant.answer_prefix, "chat_format": config.chat_format}
    if config.method == "likelihood":
        result = evaluate_vlm_likelihood(model, processor, data, names, config.likelihood_method,
                                         config.length_normalized, variant.question, config.chunk_tokens,
                                         not config.no_trie, config.workers, config.chat_format, offered)
        options.update(likelihood_method=config.likelihood_method, chunk_tokens=config.chunk_tokens,
                       trie=not config.no_trie, length_normalized=config.length_normalized)
    else:
        result = evaluate_vlm_generation(model, processor, ls, data, names, config.method == "closed", variant,
                                         config.chat_format, config.batch_size, config.max_new_tokens,
                                         config.workers, offered)
        options.update(max_new_tokens=max(config.max_new_tokens, variant.min_new_tokens_limit),
                       batch_size=config.batch_size, prompt_example=result.summary["prompt_example"])
    return _write(config, ls, data, result, "vlm", started, model, dtype, options)


def eval_imagewikiqa(config: ImageWikiQAConfig) -> int:
    from classfreq.models.clip_zero_shot import pick_device_dtype
    from classfreq.models.evaluate import evaluate_imagewikiqa
    from classfreq.models.imagewikiqa import read_questions
    from classfreq.models.labels import prompt_names
    from classfreq.models.vlm import load_vlm

    ls = load_labelset(config.labelset)
    questions = read_questions(config.questions, ls, config.images if config.condition != "name" else None,
                               config.limit)
    names = prompt_names(ls)
    device, dtype = pick_device_dtype(config.device, config.dtype)
    started = utcnow()
    model, processor = _load(load_vlm, config, device, dtype)
    conditions = ("image", "name") if config.condition == "both" else (config.condition,)
    result = evaluate_imagewikiqa(model, processor, questions, names, conditions, not config.no_cot,
                                  config.chat_format, config.batch_size, config.max_new_tokens, config.workers)
    options = {"questions": config.questions, "conditions": list(conditions), "chain_of_thought": not config.no_cot,
               "chat_format": config.chat_format, "max_new_tokens": config.max_new_tokens,
               "batch_size": config.batch_size, "limit": config.limit,
               **{k: v for k, v in result.summary.items() if k.startswith("accuracy_")}}
    return _write(config, ls, result.data, result, "imagewikiqa", started, model, dtype, options)


def probe(config: ProbeConfig) -> int:
    import numpy as np

    from classfreq.models.clip_zero_shot import pick_device_dtype
    from classfreq.models.evaluate import Evaluation, _finish
    from classfreq.models.image_batches import Failures
    from classfreq.models.labels import prompt_names
    from classfreq.models.probe import extract, probe_tables, stratified_split
    from classfreq.models.prompts import read_prompt
    from classfreq.models.vlm import build_prompt, load_vlm

    ls = load_labelset(config.labelset)
    data = _dataset(config, ls)
    names = prompt_names(ls)
    variant = read_prompt(config.prompt)
    device, dtype = pick_device_dtype(config.device, config.dtype)
    started = utcnow()
    model, processor = _load(load_vlm, config, device, dtype)
    prompt = build_prompt(processor, variant.question, config.chat_format)
    failures = Failures()
    kept, features = extract(model, processor, prompt, data.samples, config.batch_size, failures, config.workers)
    labels = np.array([s.class_index for s in kept], dtype=np.int64)
    split = stratified_split(labels, config.val_fraction, config.test_fraction, config.split_seed)
    tables, predictions, chosen = probe_tables(labels, split, features, config.l2, len(names.names))
    predictions.insert(0, "image", [s.path for s, part in zip(kept, split) if part == "test"])
    result = Evaluation(tables={("probe", variant.question, r): t for r, t in tables.items()}, predictions=predictions)
    _finish(result, data, failures, names, len(names.names))
    sizes = {part: int((split == part).sum()) for part in ("train", "val", "test")}
    options = {"prompt_variant": variant.name, "question": variant.question, "prompt_example": prompt,
               "chat_format": config.chat_format, "split_seed": config.split_seed, "split_sizes": sizes,
               "val_fraction": config.val_fraction, "test_fraction": config.test_fraction,
               "l2_grid": list(config.l2), "feature_dim": int(features["last-token"].shape[1]), "chosen": chosen}
    print(f"probe on {sizes['train']} train / {sizes['val']} validation / {sizes['test']} test images: "
          + ", ".join(f"{r} test accuracy {c['test_accuracy']:.4f} (l2 {c['l2']:g}, chosen on validation)"
                      for r, c in chosen.items()))
    return _write(config, ls, data, result, "probe", started, model, dtype, options)


def import_accuracy(config: ImportAccuracyConfig) -> int:
    from classfreq.models.imports import BETHGELAB_DATASET, import_accuracy_file, import_bethgelab_accuracies

    ls = load_labelset(config.labelset)
    con = connect(config.warehouse)
    ensure_labelset_tables(con, ls)
    if config.vlmclassifier:
        return _import_study_outputs(con, config, ls)
    if config.bethgelab:
        written = import_bethgelab_accuracies(con, config.bethgelab, ls, n_per_class=config.n_per_class or 50,
                                              models=config.models, dataset=config.dataset or BETHGELAB_DATASET)
    else:
        written = import_accuracy_file(con, config.csv or config.json, ls, model=config.model,
                                       dataset=config.dataset or "unknown", method=config.method,
                                       prompt=config.prompt, scoring=config.scoring, n_per_class=config.n_per_class,
                                       percent=True if config.percent else None)
    con.close()
    print(f"imported per-class accuracy of {len(written)} models into {config.warehouse}: {', '.join(written)}")
    return 0


def _import_study_outputs(con, config: ImportAccuracyConfig, ls) -> int:
    from classfreq.models.vlmclassifier import import_study_outputs
    s = import_study_outputs(con, config.vlmclassifier, ls, model=config.model, method=config.method,
                             dataset=config.dataset, prompt=config.prompt, seed=config.seed)
    con.close()
    where = "nway_accuracy" if s["n_way"] else "accuracy"
    print(f"imported {s['records']} records of {s['model']} ({s['method']}"
          + (f", N = {s['n_way']}" if s["n_way"] else "") + f") into {where} of {config.warehouse}: top-1 "
          f"{s['top1_published']:.4f} by the published rule, {s['top1_synonyms']:.4f} by synonyms")
    if s["lines_rejected"]:
        print(f"  left out {s['lines_rejected']} lines: "
              + ", ".join(f"{k} ({v})" for k, v in s["rejected_by_reason"].items())
              + f"; e.g. line {s['rejected_examples'][0]['line']}: {s['rejected_examples'][0]['reason']}")
    return 0


def _dataset(config: EvalConfig, ls):
    from classfreq.models.datasets import image_folder, jsonl_manifest
    if config.images:
        return image_folder(config.images, ls, name=config.dataset_name)
    return jsonl_manifest(config.manifest, ls, name=config.dataset_name, image_root=config.image_root)


def _offered(config: EvalConfig, data, n_classes: int) -> dict | None:
    """--n-way: id(sample) -> the classes offered to that image (its own and N-1 drawn with --seed)."""
    from classfreq.models.nway import draw_choices
    if config.n_way is None:
        return None
    if config.n_way > n_classes:
        raise UserError(f"--n-way {config.n_way} is more than the {n_classes} classes of label set {config.labelset}")
    choices = draw_choices([s.class_index for s in data.samples], n_classes, config.n_way, config.seed)
    return {id(s): row for s, row in zip(data.samples, choices)}


def _model_name(config: EvalConfig, kind: str) -> str:
    if config.model_name:
        return config.model_name
    path = Path(config.model)
    return f"{kind}:{path.name if path.exists() else config.model}"


def _load(loader, config: EvalConfig, device, dtype):
    try:
        return loader(config.model, device, dtype, config.revision)
    except OSError as exc:
        raise UserError(f"cannot load model {config.model!r} ({str(exc).splitlines()[0][:200]}); pass a local "
                        "checkpoint folder or a model id already in the Hugging Face cache") from None


def _write(config: ModelConfig, ls, data, result, kind: str, started, model, dtype, options: dict) -> int:
    import pandas as pd

    from classfreq.models.accuracy import accuracy_rows, write_accuracy, write_outputs
    from classfreq.queries.warehouse import new_run_id, record_run

    run_id = new_run_id(f"eval-{kind}")
    model_name = _model_name(config, kind)
    n_way = getattr(config, "n_way", None)
    rows = pd.concat([accuracy_rows(table, model=model_name, dataset=data.name, method=method, prompt=prompt,
                                    scoring=scoring, labelset=ls.name, version=ls.version, origin="evaluated",
                                    run_id=run_id, n_way=n_way, seed=config.seed if n_way is not None else None)
                      for (method, prompt, scoring), table in result.tables.items()], ignore_index=True)
    predictions = None if config.no_predictions else result.predictions
    if predictions is not None:
        predictions = predictions.assign(model=model_name, dataset=data.name, run_id=run_id)
    out = config.out or str(Path("out") / "models" / run_id)
    files = write_outputs(out, rows, predictions, {"run_id": run_id, "model": model_name, **result.summary})
    run_options = {"model_id": config.model,
                   "revision": config.revision or getattr(model.config, "_commit_hash", None),
                   "dtype": str(dtype).replace("torch.", ""), "device": str(next(model.parameters()).device),
                   "collisions": getattr(config, "collisions", None), "n_way": n_way,
                   "seed": config.seed if n_way is not None else None, **options,
                   "unreadable_images": result.summary["unreadable_images"],
                   "unmatched_records": result.summary["unmatched_records"],
                   "empty_classes": result.summary["empty_classes"]}
    if not config.no_warehouse:
        con = connect(config.warehouse)
        ensure_labelset_tables(con, ls)
        write_accuracy(con, rows)
        record_run(con, run_id, f"eval-{kind}", started,
                   inputs={"images": config.images, "manifest": getattr(config, "manifest", None), "files": files},
                   options=run_options, labelset=ls.name, labelset_version=ls.version)
        con.close()
    _print_summary(run_id, model_name, data.name, rows, result.summary, files, config)
    return 0


def _print_summary(run_id, model_name, dataset, rows, summary, files, config: ModelConfig) -> None:
    n_way = getattr(config, "n_way", None)
    nway = f", N = {n_way} (seed {config.seed})" if n_way is not None else ""
    print(f"{run_id}: {model_name} on {dataset}{nway} ({summary['images_scored']} images, "
          f"{summary['classes_with_images']} classes with images, {summary['empty_classes']} empty classes)")
    for (method, scoring), part in rows.groupby(["method", "scoring"]):
        print(f"  {method} / {scoring}: top-1 {part['correct'].sum() / max(part['n'].sum(), 1):.4f} "
              f"(mean per class {part['accuracy'].mean():.4f})")
    if summary["unreadable_images"]:
        print(f"  skipped {summary['unreadable_images']} unreadable images, e.g. {summary['unreadable'][0]['path']}")
    if summary.get("bad_records"):
        first = summary["bad_records"][0]
        print(f"  left out {len(summary['bad_records'])} malformed records, e.g. line {first['line']}: {first['reason']}")
    if summary["unmatched_records"]:
        labels = ", ".join(repr(u["label"]) for u in summary["unmatched_labels"][:5])
        print(f"  skipped {summary['unmatched_records']} images whose label is not in the label set: {labels}")
    for note in summary["name_collisions"]:
        print(f"  class {note['class_index']} {note['display_name']!r}: {note['action']} -> {note['prompt_name']!r}")
    table = "nway_accuracy" if n_way is not None else "accuracy"
    print(f"  wrote {', '.join(files.values())}" + ("" if config.no_warehouse else f" and {config.warehouse} ({table})"))
