"""Benchmark models/: CLIP image-tower throughput from JPEG files, and class-name likelihood
(naive vs dense packed vs cached+trie) at LLaVA-1.5-7B shape. Random weights; prints one table.

    .venv/bin/python benchmarks/bench_models.py            # full shapes (needs a CUDA GPU, ~3 min)
    .venv/bin/python benchmarks/bench_models.py --tiny     # small shapes, runs on CPU in seconds

Full shapes: CLIP ViT-L/14-336 image tower (bf16) on JPEGs written at 500x375, decoded, resized and
normalised by CLIP's image processor in worker processes; LLaVA-1.5-7B (Llama-2-7B language model,
ViT-L/14-336 vision tower) with a 626-token prefix (576 image tokens + 50 text tokens) and 1,000
random 8-token class names. Times are model time only for the likelihood rows (inputs prepared in
advance, CUDA synchronised); the CLIP end-to-end row includes decoding.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from classfreq.models.datasets import Sample  # noqa: E402
from classfreq.models.image_batches import Failures, ShortEdgeCropPixels, image_batches, processor_pixels  # noqa: E402
from classfreq.models.vlm_likelihood import CachedPlan, score_cached, score_naive, score_packed  # noqa: E402

FULL = dict(
    clip_vision=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                     image_size=336, patch_size=14, projection_dim=768),
    llava_text=dict(model_type="llama", vocab_size=32064, hidden_size=4096, intermediate_size=11008,
                    num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                    max_position_embeddings=16384),
    text_tokens=50, names=1000, name_tokens=8, clip_images=2048, clip_batch=256,
    vlm_images=50, naive_images=2, chunk_tokens=2048,
)
TINY = dict(
    clip_vision=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                     image_size=224, patch_size=32, projection_dim=32),
    llava_text=dict(model_type="llama", vocab_size=4000, hidden_size=256, intermediate_size=688,
                    num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4,
                    max_position_embeddings=8192),
    text_tokens=20, names=300, name_tokens=8, clip_images=256, clip_batch=32,
    vlm_images=4, naive_images=1, chunk_tokens=512,
)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def write_jpegs(folder: Path, n: int, unique: int = 512, seed: int = 0) -> list[Sample]:
    """n samples over `unique` ImageNet-like files (500x375, smooth colour fields plus noise, so they
    compress like photos); files repeat to keep the set-up short, each read is still a full decode."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:375, 0:500]
    paths = []
    for i in range(min(n, unique)):
        a, b, c = rng.uniform(0.005, 0.03, 3)
        base = np.stack([np.sin(xx * a + i), np.cos(yy * b), np.sin((xx + yy) * c)], -1) * 100 + 128
        img = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        paths.append(folder / f"{i:05d}.jpg")
        Image.fromarray(img).save(paths[-1], quality=90)
    return [Sample(str(paths[i % len(paths)]), 0) for i in range(n)]


def bench_clip(shape: dict, device, dtype, workers: int) -> list[tuple]:
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection
    cfg = dict(shape["clip_vision"])
    torch.manual_seed(0)
    with torch.device(device):
        model = CLIPVisionModelWithProjection(CLIPVisionConfig(**cfg)).to(dtype).eval()
    size = cfg["image_size"]
    processor = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        samples = write_jpegs(Path(tmp), shape["clip_images"])
        batch = shape["clip_batch"]
        with torch.inference_mode():  # warm-up (kernels, allocator)
            model(pixel_values=torch.randn(batch, 3, size, size, device=device, dtype=dtype))
        sync(device)
        pixels = torch.randn(batch, 3, size, size, device=device, dtype=dtype)
        reps = max(1, shape["clip_images"] // batch)
        t0 = time.perf_counter()
        with torch.inference_mode():
            for _ in range(reps):
                model(pixel_values=pixels)
        sync(device)
        model_only = reps * batch / (time.perf_counter() - t0)
        fast = ShortEdgeCropPixels(processor)
        end_to_end = {}
        for route, preprocess in (("uint8 crop in workers, normalise on device", fast),
                                  ("CLIP image processor in workers", processor_pixels(processor))):
            failures = Failures()
            t0 = time.perf_counter()
            n = 0
            with torch.inference_mode():
                for good, pixels in image_batches(samples, preprocess, batch, failures, workers):
                    if preprocess is fast:
                        pixels = fast.normalize(pixels, device, dtype)
                    model(pixel_values=pixels.to(device, dtype, non_blocking=True)).image_embeds.float().cpu()
                    n += len(good)
            sync(device)
            end_to_end[route] = (n, n / (time.perf_counter() - t0))
    label = f"CLIP image tower {size}px/{cfg['patch_size']}, {cfg['num_hidden_layers']} layers"
    for route, (n, speed) in end_to_end.items():
        rows.append((label, f"JPEG end to end: {route}", f"{n} images, {workers} workers", f"{speed:,.0f} images/s",
                     "", "", ""))
    rows.append((label, "model only", f"{reps * batch} images", f"{model_only:,.0f} images/s", "", "", ""))
    return rows


def build_llava(shape: dict, device, dtype):
    from transformers import LlavaConfig, LlavaForConditionalGeneration
    vision = dict(shape["clip_vision"], model_type="clip_vision_model")
    vision.pop("projection_dim")
    text = shape["llava_text"]
    image_token = text["vocab_size"] - 1
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=image_token,
                         vision_feature_layer=-2, vision_feature_select_strategy="default",
                         projector_hidden_act="gelu")
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)       # build the 7B model in bf16 directly on the GPU
    try:
        with torch.device(device):
            model = LlavaForConditionalGeneration(config).to(dtype).eval()
    finally:
        torch.set_default_dtype(default)
    image_tokens = (vision["image_size"] // vision["patch_size"]) ** 2
    return model, image_token, image_tokens


def imagenet_names(shared: Path, vocab: int) -> list[list[int]]:
    """CLIP's 1,000 ImageNet class names, tokenized after the prompt by a byte-level BPE trained on
    them (not LLaVA's tokenizer, which is not available offline): real shared prefixes for the trie."""
    import json

    from classfreq.models.random_models import train_tokenizer
    from classfreq.models.vlm_likelihood import answer_token_ids
    names = json.loads((shared / "labelsets" / "imagenet1k_clip_names.json").read_text())
    tokenizer = train_tokenizer(names * 2, vocab_size=min(vocab - 1, 32000))
    ids, _ = answer_token_ids(tokenizer, "USER: <image>\nWhat type of object is in this photo? ASSISTANT:", names)
    return ids


def bench_likelihood(shape: dict, device, dtype, names_from: str, shared: Path) -> list[tuple]:
    model, image_token, image_tokens = build_llava(shape, device, dtype)
    vocab = shape["llava_text"]["vocab_size"] - 1
    g = torch.Generator().manual_seed(1)
    if names_from == "imagenet":
        names = imagenet_names(shared, vocab)
        name_desc = f"{len(names)} ImageNet names ({sum(map(len, names))} tokens)"
    else:
        names = torch.randint(3, vocab, (shape["names"], shape["name_tokens"]), generator=g).tolist()
        name_desc = f"{len(names)} x {shape['name_tokens']}-token names"
    size = shape["clip_vision"]["image_size"]
    prefixes = []
    for _ in range(shape["vlm_images"]):
        text = torch.randint(3, vocab, (shape["text_tokens"],), generator=g)
        ids = torch.cat([torch.tensor([1]), text[:5], torch.full((image_tokens,), image_token), text[5:]])
        prefixes.append({"input_ids": ids[None].to(device),
                         "pixel_values": torch.randn(1, 3, size, size, generator=g).to(device, dtype)})
    P = prefixes[0]["input_ids"].shape[1]
    plan = CachedPlan.build(names, shape["chunk_tokens"], share_prefixes=True)
    plan_flat = CachedPlan.build(names, shape["chunk_tokens"], share_prefixes=False)
    methods = {
        "naive (1 pass per class)": lambda p: score_naive(model, p, names),
        "dense packed (block mask)": lambda p: score_packed(model, p, names),
        "cached prefix + trie": lambda p: score_cached(model, p, plan=plan),
        "cached prefix, no trie": lambda p: score_cached(model, p, plan=plan_flat),
    }
    score_packed(model, prefixes[0], names[:16])   # warm-up
    score_cached(model, prefixes[0], plan=plan)
    results = {}
    for name, fn in methods.items():
        todo = prefixes[:shape["naive_images"]] if name.startswith("naive") else prefixes
        scores = []
        sync(device)
        t0 = time.perf_counter()
        for p in todo:
            scores.append(fn(p))
        sync(device)
        results[name] = ((time.perf_counter() - t0) / len(todo), torch.stack(scores))
        if device.type == "cuda":
            torch.cuda.empty_cache()
    naive_s, naive = results["naive (1 pass per class)"]
    packed_s, packed = results["dense packed (block mask)"]
    rows = []
    label = (f"likelihood, {shape['llava_text']['num_hidden_layers']}-layer d={shape['llava_text']['hidden_size']} LM, "
             f"{P}-token prefix, {name_desc}")
    for name, (secs, scores) in results.items():
        k = min(len(naive), len(scores))
        agree_naive = (scores[:k].argmax(1) == naive[:k].argmax(1)).float().mean().item()
        diff_naive = (scores[:k] - naive[:k]).abs().max().item()
        agree_packed = (scores.argmax(1) == packed[:len(scores)].argmax(1)).float().mean().item()
        fed = {"cached prefix + trie": plan.fed_tokens, "cached prefix, no trie": plan_flat.fed_tokens}.get(
            name, sum(map(len, names)))
        rows.append((label, name, f"{len(scores)} images, {fed} name tokens fed", f"{secs:.4f} s/image",
                     f"{packed_s / secs:.2f}x", f"{agree_naive:.0%} / {diff_naive:.3g}", f"{agree_packed:.0%}"))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="small shapes for a CPU run")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", choices=["bfloat16", "float32"], help="default bf16 on CUDA, float32 on CPU")
    ap.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1), help="JPEG decoding processes")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's); 1 is steadier on a busy machine")
    ap.add_argument("--names", choices=["random", "imagenet"], default="random",
                    help="random 8-token names (the issue's shape) or CLIP's ImageNet names (real shared prefixes)")
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data",
                    help="data folder for --names imagenet (default ../shared/data)")
    ap.add_argument("--skip-clip", action="store_true")
    ap.add_argument("--skip-likelihood", action="store_true")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype) if args.dtype else (torch.bfloat16 if device.type == "cuda" else torch.float32)
    shape = TINY if args.tiny else FULL
    rows = []
    if not args.skip_clip:
        rows += bench_clip(shape, device, dtype, args.workers)
    if not args.skip_likelihood:
        rows += bench_likelihood(shape, device, dtype, args.names, args.shared)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({os.cpu_count()} cores)"
    print(f"\nbench_models: {'tiny' if args.tiny else 'full'} shapes, {gpu}, {str(dtype).replace('torch.', '')}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, random weights")
    header = ("benchmark", "method", "work", "speed", "vs packed", "argmax = naive / max |diff|", "argmax = packed")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths)] + rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
