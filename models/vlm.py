"""LLaVA-style VLMs (transformers LlavaForConditionalGeneration + processor): loading, prompts and
greedy generation (the rules that score the answers are in models/answers.py)."""
from __future__ import annotations

from classfreq.errors import require

torch = require("torch", extra="models", purpose="model evaluation")


def load_vlm(path: str, device: torch.device, dtype: torch.dtype, revision: str | None = None):
    """(model, processor) from a local folder or a model id already in the cache (never downloads).

    LLaVA loads as LlavaForConditionalGeneration; other image-text-to-text models with the same
    layout (model.language_model, lm_head, processor with images and text) load the same way."""
    transformers = require("transformers", extra="models", purpose="model evaluation")
    kw = dict(revision=revision, local_files_only=True)
    model = transformers.AutoModelForImageTextToText.from_pretrained(path, dtype=dtype, **kw).to(device).eval()
    processor = transformers.AutoProcessor.from_pretrained(path, **kw)
    return model, processor


def build_prompt(processor, question: str) -> str:
    """The model's chat template when it has one, else LLaVA-1.5's "USER: <image>\\n... ASSISTANT:"."""
    if getattr(processor, "chat_template", None):
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
        return processor.apply_chat_template(messages, add_generation_prompt=True)
    image_token = getattr(processor, "image_token", "<image>")
    return f"USER: {image_token}\n{question} ASSISTANT:"


def model_inputs(processor, prompts: list[str], images: list, device: torch.device, dtype: torch.dtype) -> dict:
    batch = processor(text=prompts, images=images, return_tensors="pt", padding=len(prompts) > 1)
    return {k: (v.to(device, dtype) if torch.is_floating_point(v) else v.to(device)) for k, v in batch.items()}


@torch.inference_mode()
def generate_answers(model, processor, prompt: str, images: list, max_new_tokens: int = 32) -> list[str]:
    """Greedy answers for a batch of images with the same prompt (left padding)."""
    param = next(model.parameters())
    processor.tokenizer.padding_side = "left"
    inputs = model_inputs(processor, [prompt] * len(images), images, param.device, param.dtype)
    pad = processor.tokenizer.pad_token_id
    out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                         pad_token_id=pad if pad is not None else processor.tokenizer.eos_token_id)
    return [a.strip() for a in processor.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)]
