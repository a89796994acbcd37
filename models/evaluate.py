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
from classfreq.models.image_batches import Failures, ShortEdgeCropPixels, image_batches, processor_pixels, single_images
from classfreq.models.labels import PromptNames
from classfreq.models.prompts import CLOSED_QUESTION, OPEN_QUESTION, check_closed_question
from classfreq.models.vlm_likelihood import CachedPlan, answer_token_ids, score_names

torch = require("torch", extra="models", purpose="model evaluation")


@dataclass
class Evaluation:
    tables: dict = field(default_factory=dict)      # (method, prompt, scoring) -> per_class DataFrame
    predictions: pd.DataFrame | None = None
    summary: dict = field(default_factory=dict)


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
                  prompt_label: str, batch_size: int = 64, workers: int = 0) -> Evaluation:
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
        idx, best = clip.classify(model, pixels, classes)
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
                            closed: bool, batch_size: int = 8, max_new_tokens: int = 32,
                            workers: int = 0, question: str | None = None) -> Evaluation:
    """Open world ("What type of object is in this photo?") or closed world (class list in the prompt);
    scored by the published rule (display name in the answer) and by any of the class's forms."""
    n_classes = len(names.names)
    template = question or (CLOSED_QUESTION if closed else OPEN_QUESTION)
    if closed:
        check_closed_question(template)
    prompt = vlm.build_prompt(processor, template.replace("{classes}", ", ".join(names.names)))
    display = [str(n) for n in labelset.classes.sort_values("class_index")["name"]]
    synonyms = SynonymRule(labelset)
    failures = Failures()
    rows, batch = [], []

    def flush():
        answers = vlm.generate_answers(model, processor, prompt, [img for _, img in batch], max_new_tokens)
        truth = [s.class_index for s, _ in batch]
        by_forms = synonyms.correct(answers, truth)
        # closed world: the model chose among the prompt names, so those are what must appear
        wanted = names.names if closed else display
        for (s, _), answer, syn in zip(batch, answers, by_forms):
            rows.append((s.path, s.class_index, answer, published_rule(answer, wanted[s.class_index]), syn))
        batch.clear()

    for sample, image in single_images(data.samples, failures, workers):
        batch.append((sample, image))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    pred = pd.DataFrame(rows, columns=["image", "class_index", "answer", "correct_published", "correct_synonyms"])
    method = "closed-world" if closed else "open-world"
    truth = pred["class_index"].to_numpy(dtype=np.int64)
    ev = Evaluation(tables={
        (method, template, "published"): per_class(truth, pred["correct_published"].to_numpy(bool), n_classes),
        (method, template, "synonyms"): per_class(truth, pred["correct_synonyms"].to_numpy(bool), n_classes)},
        predictions=pred)
    return _finish(ev, data, failures, names, n_classes)


def evaluate_vlm_likelihood(model, processor, data: LabelledImages, names: PromptNames,
                            method: str = "cached", length_normalized: bool = False,
                            question: str = OPEN_QUESTION, chunk_tokens: int = 1024,
                            share_prefixes: bool = True, workers: int = 0) -> Evaluation:
    """argmax over classes of log p(name | image, prompt), summed over the name's tokens."""
    n_classes = len(names.names)
    prompt = vlm.build_prompt(processor, question)
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
        rows.append((sample.path, sample.class_index, int(scores.argmax()), float(scores.max()),
                     int((scores / lengths).argmax())))
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
