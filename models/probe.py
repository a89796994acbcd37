"""Is the class information in the VLM's hidden states? A linear probe, as in the study
(feature_analysis/extract_feature.py and probe.py), with the choice made on a validation split.

Features: the last layer's hidden state at the prompt's last token ("last-token") and its mean
over the image tokens ("image-mean"; the study averages over every token). Probe: multinomial
logistic regression on standardised features, fitted by L-BFGS for each L2 penalty; the penalty
with the best validation accuracy is kept and only then is the test split scored once. (The
study's code reports the best test accuracy over training epochs; this never looks at the test
split to choose.)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from classfreq.errors import UserError, require
from classfreq.models import vlm
from classfreq.models.accuracy import per_class
from classfreq.models.image_batches import Failures, image_groups

torch = require("torch", extra="models", purpose="the hidden-state probe")

REPRESENTATIONS = ("last-token", "image-mean")


@torch.inference_mode()
def hidden_features(model, processor, prompt: str, images: list) -> dict[str, np.ndarray]:
    """{"last-token": (B, H), "image-mean": (B, H)} from the language model's last layer (left padding,
    so position -1 is every row's last prompt token)."""
    param = next(model.parameters())
    processor.tokenizer.padding_side = "left"
    inputs = vlm.model_inputs(processor, [prompt] * len(images), images, param.device, param.dtype)
    hidden = model(**inputs, output_hidden_states=True).hidden_states[-1].float()
    image_token = getattr(model.config, "image_token_id", None) or model.config.image_token_index
    is_image = (inputs["input_ids"] == image_token).unsqueeze(-1).float()
    mean = (hidden * is_image).sum(1) / is_image.sum(1).clamp(min=1)
    return {"last-token": hidden[:, -1].cpu().numpy(), "image-mean": mean.cpu().numpy()}


def extract(model, processor, prompt: str, samples: list, batch_size: int, failures: Failures,
            workers: int = 0) -> tuple[list, dict[str, np.ndarray]]:
    """(the samples read, features per representation in that order); unreadable images go to failures."""
    kept, parts = [], {r: [] for r in REPRESENTATIONS}
    for batch in image_groups(samples, failures, batch_size, workers):
        feats = hidden_features(model, processor, prompt, [img for _, img in batch])
        for r in REPRESENTATIONS:
            parts[r].append(feats[r])
        kept.extend(s for s, _ in batch)
    if not kept:
        raise UserError("no image could be read; check the image paths")
    return kept, {r: np.concatenate(parts[r]) for r in REPRESENTATIONS}


def stratified_split(labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int) -> np.ndarray:
    """Per image "train", "val" or "test": each class's images shuffled with the seed and cut by the
    fractions (rounded, at least one train image per class; classes with one image train only)."""
    rng = np.random.default_rng(seed)
    split = np.full(len(labels), "train", dtype=object)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = min(int(round(len(idx) * test_fraction)), len(idx) - 1)
        n_val = min(int(round(len(idx) * val_fraction)), len(idx) - 1 - n_test)
        split[idx[:n_test]] = "test"
        split[idx[n_test:n_test + n_val]] = "val"
    return split


@dataclass
class Probe:
    mean: np.ndarray
    std: np.ndarray
    weight: torch.Tensor        # (H, classes seen in training)
    bias: torch.Tensor
    classes: np.ndarray         # class index of each output

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = torch.from_numpy((x - self.mean) / self.std).float()
        return self.classes[(z @ self.weight + self.bias).argmax(1).numpy()]


def fit_probe(x: np.ndarray, y: np.ndarray, l2: float, max_iter: int = 200) -> Probe:
    """Multinomial logistic regression, mean cross-entropy + l2 * |W|^2, full-batch L-BFGS."""
    mean, std = x.mean(0), x.std(0) + 1e-6
    classes, target = np.unique(y, return_inverse=True)
    z = torch.from_numpy((x - mean) / std).float()
    t = torch.from_numpy(target).long()
    weight = torch.zeros(x.shape[1], len(classes), requires_grad=True)
    bias = torch.zeros(len(classes), requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(z @ weight + bias, t) + l2 * (weight ** 2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return Probe(mean, std, weight.detach(), bias.detach(), classes)


def choose_and_test(x: np.ndarray, y: np.ndarray, split: np.ndarray, penalties) -> tuple[np.ndarray, dict]:
    """Fit on train for every penalty, keep the best on val (ties: the larger penalty), then predict
    the test split once. Returns (test predictions, {l2, val_accuracy per penalty})."""
    train, val, test = (split == "train"), (split == "val"), (split == "test")
    scores = {}
    for l2 in sorted(penalties):
        probe = fit_probe(x[train], y[train], l2)
        scores[l2] = float((probe.predict(x[val]) == y[val]).mean()) if val.any() else 0.0
    best = max(sorted(scores), key=lambda k: (scores[k], k))
    probe = fit_probe(x[train], y[train], best)
    return probe.predict(x[test]), {"l2": best, "val_accuracy": {str(k): v for k, v in scores.items()}}


def probe_tables(labels: np.ndarray, split: np.ndarray, features: dict[str, np.ndarray], penalties,
                 n_classes: int) -> tuple[dict, pd.DataFrame, dict]:
    """Per representation: the per-class test accuracy table, the test predictions, the choice made."""
    test = split == "test"
    tables, chosen = {}, {}
    predictions = pd.DataFrame({"class_index": labels[test]})
    for r in REPRESENTATIONS:
        predicted, chosen[r] = choose_and_test(features[r], labels, split, penalties)
        predictions[f"predicted_{r}"] = predicted
        tables[r] = per_class(labels[test], predicted == labels[test], n_classes)
        chosen[r]["test_accuracy"] = float((predicted == labels[test]).mean()) if test.any() else None
    return tables, predictions, chosen
