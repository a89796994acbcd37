"""Shared inputs of the models/ tests: the real ImageNet label set, a tiny random LLaVA saved like a
checkpoint, and images written as real JPEG files."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from classfreq.models.prompts import ALTERNATIVE_QUESTION, CHAIN_OF_THOUGHT, OPEN_QUESTION


def load_imagenet():
    from classfreq.synsets import load_labelset
    return load_labelset("imagenet1k")


def save_tiny_llava(folder, imagenet, extra_texts=()):
    """Random weights; the tokenizer is trained on the class names and the study's prompts."""
    from classfreq.models.random_models import save_random_llava
    prompts = [f"USER: <image>\n{q}\nASSISTANT: {CHAIN_OF_THOUGHT}" for q in (OPEN_QUESTION, ALTERNATIVE_QUESTION)]
    return save_random_llava(folder, list(imagenet.classes["name"]) + prompts * 5 + list(extra_texts))


def write_jpeg(path, seed: int, size=(50, 40)):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path, format="JPEG")
    return path


def write_manifest(folder, labels: list) -> str:
    """One JPEG per label (seeded by position) and a JSON-lines manifest of them."""
    lines = []
    for k, label in enumerate(labels):
        write_jpeg(folder / f"img{k}.jpg", 100 + k)
        lines.append(json.dumps({"image": f"img{k}.jpg", "label": label}))
    (folder / "m.jsonl").write_text("\n".join(lines) + "\n")
    return str(folder / "m.jsonl")


def hf_generate(model_dir, prompts: list[str], image_paths: list | None, max_new_tokens: int) -> list[str]:
    """Greedy answers straight from transformers (an independent path from models/vlm.py)."""
    import torch
    from transformers import AutoProcessor, LlavaForConditionalGeneration
    model = LlavaForConditionalGeneration.from_pretrained(model_dir).eval()
    proc = AutoProcessor.from_pretrained(model_dir)
    answers = []
    for k, prompt in enumerate(prompts):
        images = [Image.open(image_paths[k]).convert("RGB")] if image_paths is not None else None
        inputs = proc(text=[prompt], images=images, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=proc.tokenizer.pad_token_id)
        answers.append(proc.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip())
    return answers
