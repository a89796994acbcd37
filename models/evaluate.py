"""Run a model over a labelled image set and tally per-class accuracy (CLIP zero-shot or a VLM).

Each evaluator returns an `Evaluation`: per-class tables keyed by (method, prompt, scoring), the
per-image predictions, and a summary of everything skipped (unreadable images, unmatched labels,
empty classes, renamed or merged class names).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from classfreq.errors import require
from classfreq.models import clip_zero_shot as clip
from classfreq.models import vlm
from classfreq.models.accuracy import per_class
from classfreq.models.answers import SynonymRule, published_rule
from classfreq.models.datasets import LabelledImages
from classfreq.models.image_batches import (
    Failures,
    ShortEdgeCropPixels,
    batched,
    image_batches,
    image_groups,
    processor_pixels,
    single_images,
)
from classfreq.models.labels import PromptNames
from classfreq.models.nway import best_among
from classfreq.models.prompts import OPEN_QUESTION, PROMPT_VARIANTS, PromptVariant, check_closed_question
from classfreq.models.vlm_likelihood import CachedPlan, answer_token_ids, score_names

torch = require("torch", extra="models", purpose="model evaluation")


@dataclass
class Evaluation:
    tables: dict = field(default_factory=dict)      # (method, prompt, scoring) -> per_class DataFrame
    predictions: pd.DataFrame | None = None
    summary: dict = field(default_factory=dict)
    data: LabelledImages | None = None              # what was evaluated, where the evaluator built it


def _finish(evaluation: Evaluation, data: LabelledImages, failures: Failures, names: PromptNames,
            n_classes: int) -> Evaluation:
    sizes = np.bincount(evaluation.predictions["class_index"].to_numpy(dtype=np.int64), minlength=n_classes) \
        if evaluation.predictions is not None and len(evaluation.predictions) else np.zeros(n_classes, int)
    empty = [int(i) for i in np.flatnonzero(sizes == 0)]
    evaluation.summary.update(data.summary())
    evaluation.summary.update(failures.summary())
    evaluation.summary.update({
        "images_scored": int(sizes.sum()), "classes_with_images": int((sizes > 0).sum()),
        "empty_classes": len(empty), "empty_class_indices": empty,
        "name_collisions": names.notes.to_dict(orient="records"),
    })
    return evaluation


def evaluate_clip(model, processor, data: LabelledImages, names: PromptNames, templates: list[str],
                  prompt_label: str, batch_size: int = 64, workers: int = 0,
                  offered: dict | None = None) -> Evaluation:
    """Zero-shot top-1 over every class, or, with `offered` (id(sample) -> class indices), over each
    image's offered classes only (label-space size)."""
    n_classes = len(names.names)
    classes = clip.text_embeddings(model, processor.tokenizer, names.names, templates)
    param = next(model.parameters())
    image_processor = processor.image_processor
    fast = ShortEdgeCropPixels(image_processor) if ShortEdgeCropPixels.supports(image_processor) else None
    failures = Failures()
    paths, truth, pred, sim = [], [], [], []
    for samples, pixels in image_batches(data.samples, fast or processor_pixels(image_processor), batch_size,
                                         failures, workers):
        if fast is not None:
            pixels = fast.normalize(pixels, param.device, param.dtype)
        if offered is None:
            idx, best = clip.classify(model, pixels, classes)
        else:
            sims = clip.similarities(model, pixels, classes).cpu().numpy()
            idx = best_among(sims, np.stack([offered[id(s)] for s in samples]))
            best = sims[np.arange(len(idx)), idx]
        paths += [s.path for s in samples]
        truth += [s.class_index for s in samples]
        pred.append(idx)
        sim.append(best)
    truth = np.asarray(truth, dtype=np.int64)
    pred = np.concatenate(pred) if pred else np.zeros(0, np.int64)
    correct = names.correct(truth, pred) if len(truth) else np.zeros(0, bool)
    predictions = pd.DataFrame({"image": paths, "class_index": truth, "predicted": pred.astype(np.int64),
                                "score": np.concatenate(sim) if sim else np.zeros(0), "correct": correct})
    ev = Evaluation(tables={("zero-shot", prompt_label, "top1"): per_class(truth, correct, n_classes)},
                    predictions=predictions)
    return _finish(ev, data, failures, names, n_classes)


def evaluate_vlm_generation(model, processor, labelset, data: LabelledImages, names: PromptNames,
                            closed: bool, variant: PromptVariant = PROMPT_VARIANTS["default"],
                            chat_format: str = "auto", batch_size: int = 8, max_new_tokens: int = 32,
                            workers: int = 0, offered: dict | None = None) -> Evaluation:
    """Open world (the variant's question) or closed world (the class list in the prompt: every class,
    or with `offered` each image's own offered classes); scored by the published rule (the name in
    the answer) and by any of the class's forms."""
    n_classes = len(names.names)
    variant = variant.for_method(closed)
    if closed:
        check_closed_question(variant.question)
    all_names = build_prompt_for(processor, variant, chat_format, names.names)
    display = [str(n) for n in labelset.classes.sort_values("class_index")["name"]]
    synonyms = SynonymRule(labelset)
    failures = Failures()
    rows = []
    max_new_tokens = max(max_new_tokens, variant.min_new_tokens_limit)

    def prompt_of(sample):
        if offered is None:
            return all_names
        return build_prompt_for(processor, variant, chat_format, [names.names[c] for c in offered[id(sample)]])

    for batch in image_groups(data.samples, failures, batch_size, workers):
        answers = vlm.generate_answers(model, processor, [prompt_of(s) for s, _ in batch], [img for _, img in batch],
                                       max_new_tokens)
        truth = [s.class_index for s, _ in batch]
        by_forms = synonyms.correct(answers, truth)
        # closed world: the model chose among the prompt names, so those are what must appear
        wanted = names.names if closed else display
        for (s, _), answer, syn in zip(batch, answers, by_forms):
            rows.append((s.path, s.class_index, answer, published_rule(answer, wanted[s.class_index]), syn))
    pred = pd.DataFrame(rows, columns=["image", "class_index", "answer", "correct_published", "correct_synonyms"])
    method = "closed-world" if closed else "open-world"
    truth = pred["class_index"].to_numpy(dtype=np.int64)
    ev = Evaluation(tables={
        (method, variant.label, "published"): per_class(truth, pred["correct_published"].to_numpy(bool), n_classes),
        (method, variant.label, "synonyms"): per_class(truth, pred["correct_synonyms"].to_numpy(bool), n_classes)},
        predictions=pred)
    ev.summary["prompt_example"] = all_names if offered is None else prompt_of(data.samples[0])
    return _finish(ev, data, failures, names, n_classes)


def build_prompt_for(processor, variant: PromptVariant, chat_format: str, class_names: list[str]) -> str:
    return vlm.build_prompt(processor, variant.question.replace("{classes}", ", ".join(class_names)), chat_format,
                            variant.answer_prefix)


def evaluate_vlm_likelihood(model, processor, data: LabelledImages, names: PromptNames,
                            method: str = "cached", length_normalized: bool = False,
                            question: str = OPEN_QUESTION, chunk_tokens: int = 1024,
                            share_prefixes: bool = True, workers: int = 0, chat_format: str = "auto",
                            offered: dict | None = None) -> Evaluation:
    """argmax over classes (every class, or each image's `offered` ones) of log p(name | image,
    prompt), summed over the name's tokens."""
    n_classes = len(names.names)
    prompt = vlm.build_prompt(processor, question, chat_format)
    token_ids, alone = answer_token_ids(processor.tokenizer, prompt, names.names)
    lengths = torch.tensor([len(t) for t in token_ids], dtype=torch.float32)
    options = {}
    if method == "cached":
        options["plan"] = CachedPlan.build(token_ids, chunk_tokens, share_prefixes)
    param = next(model.parameters())
    failures = Failures()
    rows = []
    for sample, image in single_images(data.samples, failures, workers):
        prefix = vlm.model_inputs(processor, [prompt], [image], param.device, param.dtype)
        scores = score_names(model, prefix, token_ids, method, **options)
        among = np.arange(n_classes) if offered is None else offered[id(sample)]
        best = int(best_among(scores.numpy()[None], among[None])[0])
        best_mean = int(best_among((scores / lengths).numpy()[None], among[None])[0])
        rows.append((sample.path, sample.class_index, best, float(scores[best]), best_mean))
    pred = pd.DataFrame(rows, columns=["image", "class_index", "predicted", "score", "predicted_mean"])
    truth = pred["class_index"].to_numpy(dtype=np.int64)
    pred["correct"] = names.correct(truth, pred["predicted"].to_numpy(np.int64)) if len(pred) else []
    tables = {("likelihood", question, "sum"): per_class(truth, pred["correct"].to_numpy(bool), n_classes)}
    if length_normalized:
        pred["correct_mean"] = names.correct(truth, pred["predicted_mean"].to_numpy(np.int64)) if len(pred) else []
        tables[("likelihood", question, "mean")] = per_class(truth, pred["correct_mean"].to_numpy(bool), n_classes)
    ev = Evaluation(tables=tables, predictions=pred)
    ev.summary["names_tokenized_alone"] = alone
    ev.summary["likelihood_method"] = method
    return _finish(ev, data, failures, names, n_classes)


def evaluate_imagewikiqa(model, processor, questions, names: PromptNames, conditions: tuple[str, ...] = ("image",),
                         chain_of_thought: bool = True, chat_format: str = "auto", batch_size: int = 8,
                         max_new_tokens: int = 1024, workers: int = 0) -> Evaluation:
    """ImageWikiQA: each question with its image ("image") and/or with the object's name instead
    ("name"), scored by the answer letter; one per-class table per condition."""
    from classfreq.models import imagewikiqa as qa
    from classfreq.models.datasets import LabelledImages, Sample
    from classfreq.models.prompts import CHAIN_OF_THOUGHT

    n_classes = len(names.names)
    prefix = CHAIN_OF_THOUGHT if chain_of_thought else ""
    samples = [Sample(q.image, q.class_index) for q in questions.items]
    of_sample = {id(s): q for s, q in zip(samples, questions.items)}
    data = LabelledImages(qa.DATASET, samples, records=len(samples) + len(questions.rejected),
                          bad_records=list(questions.rejected))
    failures = Failures()
    ev = Evaluation()
    label = "imagewikiqa question" + (f" [{prefix}]" if prefix else "")
    parts = []
    for condition in conditions:
        if condition == "image":
            pairs = ((of_sample[id(s)], img) for s, img in single_images(samples, failures, workers))
        else:
            pairs = ((q, None) for q in questions.items)
        scored = []
        for batch in batched(pairs, batch_size):
            prompts = [vlm.build_prompt(processor, q.text if img is not None else qa.name_given_question(q),
                                        chat_format, prefix, image=img is not None) for q, img in batch]
            images = [img for _, img in batch] if condition == "image" else None
            answers = vlm.generate_answers(model, processor, prompts, images, max_new_tokens)
            scored.append(qa.score_answers([q for q, _ in batch], answers))
        table = pd.concat(scored, ignore_index=True) if scored else qa.score_answers([], [])
        ev.tables[(qa.CONDITIONS[condition], label, "letter")] = qa.qa_table(table, n_classes)
        parts.append(table.assign(condition=condition))
        ev.summary[f"accuracy_{condition}"] = float(table["correct"].mean()) if len(table) else None
    ev.predictions = pd.concat(parts, ignore_index=True)
    ev = _finish(ev, data, failures, names, n_classes)
    ev.summary["images_scored"] = int(len(ev.predictions))      # questions answered, all conditions
    ev.data = data
    return ev
