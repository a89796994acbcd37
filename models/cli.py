"""`classfreq eval clip|vlm` and `classfreq import-accuracy`: per-class accuracy into the warehouse."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from classfreq.errors import UserError

DEFAULT_WAREHOUSE = "warehouse/classfreq.duckdb"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="local checkpoint folder, or a model id already in the HF cache")
    p.add_argument("--model-name", help="name in the accuracy table (default: the --model argument's last part)")
    p.add_argument("--revision", help="model revision (recorded in runs)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--images", help="ImageFolder tree: ROOT/<class id|index|name>/*.jpg")
    src.add_argument("--manifest", help='JSON lines: {"image": path, "label": name or index}')
    p.add_argument("--image-root", help="folder that relative manifest paths start from (default: the manifest's)")
    p.add_argument("--dataset-name", help="name in the accuracy table (default: folder or manifest name)")
    p.add_argument("--labelset", default="imagenet1k", help="label set name or folder (default imagenet1k)")
    p.add_argument("--collisions", default="disambiguate", choices=["disambiguate", "merge", "keep"],
                   help="classes with the same display name: rename from the label set, score as one, or keep ties")
    p.add_argument("--device", help="cuda, cuda:1, cpu (default: cuda when available)")
    p.add_argument("--dtype", choices=["bfloat16", "float16", "float32"], help="default bf16 on CUDA, float32 on CPU")
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                   help="image decoding processes (0: in the main process; default min(4, CPUs))")
    p.add_argument("--warehouse", default=DEFAULT_WAREHOUSE, help=f"DuckDB file (default {DEFAULT_WAREHOUSE})")
    p.add_argument("--no-warehouse", action="store_true", help="write the Parquet files only")
    p.add_argument("--out", help="folder for accuracy.parquet, predictions.parquet, summary.json "
                                 "(default out/models/<run id>)")
    p.add_argument("--no-predictions", action="store_true", help="do not write per-image predictions")


def register(subparsers) -> None:
    ev = subparsers.add_parser("eval", help="evaluate a CLIP or LLaVA-style model: per-class accuracy")
    kinds = ev.add_subparsers(dest="model_kind", metavar="KIND", required=True)

    c = kinds.add_parser("clip", help="CLIP-style zero-shot classification")
    _common(c)
    c.add_argument("--templates", default="single",
                   help='"single" ("a photo of a {name}."), "openai7", or a file with one template a line using {name}')
    c.add_argument("--batch-size", type=int, default=64)
    c.set_defaults(func=_eval_clip)

    v = kinds.add_parser("vlm", help="LLaVA-style VLM: open/closed-world generation or class-name likelihood")
    _common(v)
    v.add_argument("--method", required=True, choices=["open", "closed", "likelihood"])
    v.add_argument("--question", help="question in the prompt (default: What type of object is in this photo?)")
    v.add_argument("--likelihood-method", default="cached", choices=["cached", "packed", "naive"],
                   help="cached: prompt KV cache + name trie (fast); packed: dense block mask; naive: one pass per class")
    v.add_argument("--length-normalized", action="store_true",
                   help="also score by mean log-prob per token (written as scoring=mean)")
    v.add_argument("--chunk-tokens", type=int, default=1024, help="name tokens per forward pass (cached method)")
    v.add_argument("--no-trie", action="store_true", help="cached method without sharing name prefixes")
    v.add_argument("--max-new-tokens", type=int, default=32)
    v.add_argument("--batch-size", type=int, default=8, help="images per generate call")
    v.set_defaults(func=_eval_vlm)

    imp = subparsers.add_parser("import-accuracy", help="import published per-class accuracies")
    src = imp.add_mutually_exclusive_group(required=True)
    src.add_argument("--bethgelab", help="bethgelab imagenet_ensemble_results.json (21 CLIP models)")
    src.add_argument("--csv", help="CSV: class_index|class_id|name, correct|accuracy, [n], [model]")
    src.add_argument("--json", help="JSON records like the CSV, or {class name: accuracy} in class-index order")
    imp.add_argument("--labelset", default="imagenet1k")
    imp.add_argument("--n-per-class", type=int, help="images per class (bethgelab default 50: ImageNet val)")
    imp.add_argument("--models", nargs="*", help="bethgelab: keep these (names, keys or pretraining datasets)")
    imp.add_argument("--model", help="model name when the file has no model column")
    imp.add_argument("--dataset", help="dataset name (bethgelab default imagenet1k-val)")
    imp.add_argument("--method", default="zero-shot")
    imp.add_argument("--prompt", default="published")
    imp.add_argument("--scoring", default="top1")
    imp.add_argument("--percent", action="store_true", help="accuracy column is in percent (default: guessed)")
    imp.add_argument("--warehouse", default=DEFAULT_WAREHOUSE)
    imp.set_defaults(func=_import_accuracy)


def _labelset(name: str):
    from classfreq.synsets import load_labelset
    return load_labelset(name)


def _ensure_labelset_tables(con, ls) -> None:
    """Accuracy rows must join to `classes`: write the label set's tables when the warehouse lacks them."""
    have = con.execute("SELECT count(*) FROM classes WHERE labelset = ? AND version = ?",
                       [ls.name, ls.version]).fetchone()[0]
    if have != len(ls.classes):
        from classfreq.synsets import write_labelset_tables
        write_labelset_tables(con, ls)


def _dataset(args, ls):
    from classfreq.models.datasets import image_folder, jsonl_manifest
    if args.images:
        return image_folder(args.images, ls, name=args.dataset_name)
    return jsonl_manifest(args.manifest, ls, name=args.dataset_name, image_root=args.image_root)


def _model_name(args, kind: str) -> str:
    if args.model_name:
        return args.model_name
    path = Path(args.model)
    return f"{kind}:{path.name if path.exists() else args.model}"


def _templates(spec: str) -> tuple[list[str], str]:
    from classfreq.models.clip_zero_shot import TEMPLATE_SETS
    if spec in TEMPLATE_SETS:
        templates = TEMPLATE_SETS[spec]
        return templates, templates[0] if len(templates) == 1 else f"ensemble:{spec}"
    path = Path(spec)
    if not path.is_file():
        raise UserError(f"--templates {spec!r} is neither single, openai7 nor a file; pass one of those")
    templates = [t.strip() for t in path.read_text().splitlines() if t.strip()]
    if not templates or any("{name}" not in t for t in templates):
        raise UserError(f"every line of {path} must be a template containing {{name}}")
    return templates, f"ensemble:{path.name}"


def _eval_clip(args) -> int:
    from classfreq.models.clip_zero_shot import load_clip, pick_device_dtype
    from classfreq.models.evaluate import evaluate_clip
    from classfreq.models.labels import prompt_names

    ls = _labelset(args.labelset)
    data = _dataset(args, ls)
    names = prompt_names(ls, args.collisions)
    templates, prompt_label = _templates(args.templates)
    device, dtype = pick_device_dtype(args.device, args.dtype)
    started = _now()
    model, processor = _load(load_clip, args, device, dtype)
    result = evaluate_clip(model, processor, data, names, templates, prompt_label, args.batch_size, args.workers)
    return _write(args, ls, data, result, "clip", started, model, dtype,
                  {"templates": templates, "batch_size": args.batch_size})


def _eval_vlm(args) -> int:
    from classfreq.models.clip_zero_shot import pick_device_dtype
    from classfreq.models.evaluate import evaluate_vlm_generation, evaluate_vlm_likelihood
    from classfreq.models.labels import prompt_names
    from classfreq.models.vlm import OPEN_QUESTION, load_vlm

    ls = _labelset(args.labelset)
    data = _dataset(args, ls)
    names = prompt_names(ls, args.collisions)
    device, dtype = pick_device_dtype(args.device, args.dtype)
    started = _now()
    model, processor = _load(load_vlm, args, device, dtype)
    options = {"method": args.method, "question": args.question}
    if args.method == "likelihood":
        result = evaluate_vlm_likelihood(model, processor, data, names, args.likelihood_method,
                                         args.length_normalized, args.question or OPEN_QUESTION,
                                         args.chunk_tokens, not args.no_trie, args.workers)
        options.update(likelihood_method=args.likelihood_method, chunk_tokens=args.chunk_tokens,
                       trie=not args.no_trie, length_normalized=args.length_normalized)
    else:
        result = evaluate_vlm_generation(model, processor, ls, data, names, args.method == "closed",
                                         args.batch_size, args.max_new_tokens, args.workers, args.question)
        options.update(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    return _write(args, ls, data, result, "vlm", started, model, dtype, options)


def _load(loader, args, device, dtype):
    try:
        return loader(args.model, device, dtype, args.revision)
    except OSError as exc:
        raise UserError(f"cannot load model {args.model!r} ({str(exc).splitlines()[0][:200]}); pass a local "
                        "checkpoint folder or a model id already in the Hugging Face cache") from None


def _now():
    from classfreq.queries.warehouse import utcnow
    return utcnow()


def _write(args, ls, data, result, kind: str, started, model, dtype, options: dict) -> int:
    import pandas as pd

    from classfreq.models.accuracy import accuracy_rows, write_accuracy, write_outputs
    from classfreq.queries.warehouse import connect, new_run_id, record_run

    run_id = new_run_id(f"eval-{kind}")
    model_name = _model_name(args, kind)
    rows = pd.concat([accuracy_rows(table, model=model_name, dataset=data.name, method=method, prompt=prompt,
                                    scoring=scoring, labelset=ls.name, version=ls.version, origin="evaluated",
                                    run_id=run_id)
                      for (method, prompt, scoring), table in result.tables.items()], ignore_index=True)
    predictions = None if args.no_predictions else result.predictions
    if predictions is not None:
        predictions = predictions.assign(model=model_name, dataset=data.name, run_id=run_id)
    out = args.out or str(Path("out") / "models" / run_id)
    files = write_outputs(out, rows, predictions, {"run_id": run_id, "model": model_name, **result.summary})
    run_options = {"model_id": args.model, "revision": args.revision or getattr(model.config, "_commit_hash", None),
                   "dtype": str(dtype).replace("torch.", ""), "device": str(next(model.parameters()).device),
                   "collisions": args.collisions, **options,
                   "unreadable_images": result.summary["unreadable_images"],
                   "unmatched_records": result.summary["unmatched_records"],
                   "empty_classes": result.summary["empty_classes"]}
    if not args.no_warehouse:
        con = connect(args.warehouse)
        _ensure_labelset_tables(con, ls)
        write_accuracy(con, rows)
        record_run(con, run_id, f"eval-{kind}", started,
                   inputs={"images": args.images, "manifest": args.manifest, "files": files},
                   options=run_options, labelset=ls.name, labelset_version=ls.version)
        con.close()
    _print_summary(run_id, model_name, data.name, rows, result.summary, files, args)
    return 0


def _print_summary(run_id, model_name, dataset, rows, summary, files, args) -> None:
    print(f"{run_id}: {model_name} on {dataset} ({summary['images_scored']} images, "
          f"{summary['classes_with_images']} classes with images, {summary['empty_classes']} empty classes)")
    for (method, scoring), part in rows.groupby(["method", "scoring"]):
        print(f"  {method} / {scoring}: top-1 {part['correct'].sum() / max(part['n'].sum(), 1):.4f} "
              f"(mean per class {part['accuracy'].mean():.4f})")
    if summary["unreadable_images"]:
        print(f"  skipped {summary['unreadable_images']} unreadable images, e.g. {summary['unreadable'][0]['path']}")
    if summary["unmatched_records"]:
        labels = ", ".join(repr(u["label"]) for u in summary["unmatched_labels"][:5])
        print(f"  skipped {summary['unmatched_records']} images whose label is not in the label set: {labels}")
    for note in summary["name_collisions"]:
        print(f"  class {note['class_index']} {note['display_name']!r}: {note['action']} -> {note['prompt_name']!r}")
    print(f"  wrote {', '.join(files.values())}" + ("" if args.no_warehouse else f" and {args.warehouse}"))


def _import_accuracy(args) -> int:
    from classfreq.models.imports import BETHGELAB_DATASET, import_accuracy_file, import_bethgelab_accuracies
    from classfreq.queries.warehouse import connect

    ls = _labelset(args.labelset)
    con = connect(args.warehouse)
    _ensure_labelset_tables(con, ls)
    if args.bethgelab:
        written = import_bethgelab_accuracies(con, args.bethgelab, ls, n_per_class=args.n_per_class or 50,
                                              models=args.models, dataset=args.dataset or BETHGELAB_DATASET)
    else:
        written = import_accuracy_file(con, args.csv or args.json, ls, model=args.model,
                                       dataset=args.dataset or "unknown", method=args.method, prompt=args.prompt,
                                       scoring=args.scoring, n_per_class=args.n_per_class,
                                       percent=True if args.percent else None)
    con.close()
    print(f"imported per-class accuracy of {len(written)} models into {args.warehouse}: {', '.join(written)}")
    return 0
