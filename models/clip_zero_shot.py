"""CLIP-style zero-shot classification: class text embeddings once, images in batches, argmax."""
from __future__ import annotations

import numpy as np

from classfreq.errors import require

torch = require("torch", extra="models", purpose="model evaluation")


def pick_device_dtype(device: str | None = None, dtype: str | None = None) -> tuple[torch.device, torch.dtype]:
    """bf16 on CUDA, float32 on CPU, unless told."""
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if dtype:
        return dev, {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    return dev, torch.bfloat16 if dev.type == "cuda" else torch.float32


def load_clip(path: str, device: torch.device, dtype: torch.dtype, revision: str | None = None):
    """(model, processor) from a local folder or a model id already in the cache (never downloads)."""
    transformers = require("transformers", extra="models", purpose="model evaluation")
    kw = dict(revision=revision, local_files_only=True)
    model = transformers.AutoModel.from_pretrained(path, dtype=dtype, **kw).to(device).eval()
    processor = transformers.AutoProcessor.from_pretrained(path, **kw)
    return model, processor


def _features(out) -> torch.Tensor:
    # transformers 5 returns a model output whose pooler_output is the projected embedding
    return out if isinstance(out, torch.Tensor) else out.pooler_output


@torch.inference_mode()
def text_embeddings(model, tokenizer, names: list[str], templates: list[str], batch_size: int = 256) -> torch.Tensor:
    """(classes, dim) unit vectors: the mean over templates of normalised embeddings, renormalised."""
    device = next(model.parameters()).device
    total = None
    for template in templates:
        texts = [template.format(name=n) for n in names]
        parts = []
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], padding=True, truncation=True, return_tensors="pt")
            emb = _features(model.get_text_features(**{k: v.to(device) for k, v in batch.items()})).float()
            parts.append(emb / emb.norm(dim=-1, keepdim=True))
        emb = torch.cat(parts)
        total = emb if total is None else total + emb
    return total / total.norm(dim=-1, keepdim=True)


@torch.inference_mode()
def image_embeddings(model, pixels: torch.Tensor) -> torch.Tensor:
    param = next(model.parameters())
    emb = _features(model.get_image_features(pixel_values=pixels.to(param.device, param.dtype))).float()
    return emb / emb.norm(dim=-1, keepdim=True)


def similarities(model, pixels: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
    """(images, classes) cosine similarities."""
    return image_embeddings(model, pixels) @ class_embeddings.T


def classify(model, pixels: torch.Tensor, class_embeddings: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class index, its cosine similarity) per image."""
    best, idx = similarities(model, pixels, class_embeddings).max(dim=1)
    return idx.cpu().numpy(), best.cpu().numpy()
