"""LLaVA-style VLMs (transformers LlavaForConditionalGeneration + processor): loading, prompts and
greedy generation (the rules that score the answers are in models/answers.py)."""
from __future__ import annotations

from classfreq.errors import UserError, require
from classfreq.models.prompts import CHAT_FORMATS

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


def build_prompt(processor, question: str, chat_format: str = "auto", answer_prefix: str = "",
                 image: bool = True) -> str:
    """The prompt for one question. auto: the processor's own chat template when the checkpoint has
    one, else LLaVA-1.5's; template: the chat template (an error without one); or one of the study's
    formats by family. answer_prefix starts the assistant's turn (chain of thought); image=False
    leaves the image out (ImageWikiQA with the class name given)."""
    has_template = bool(getattr(processor, "chat_template", None))
    if chat_format == "template" and not has_template:
        raise UserError("--chat-format template: this checkpoint's processor has no chat template; pick a family "
                        f"format ({', '.join(CHAT_FORMATS)})")
    if chat_format in ("auto", "template") and has_template:
        content = ([{"type": "image"}] if image else []) + [{"type": "text", "text": question}]
        prompt = processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)
    else:
        layout = CHAT_FORMATS["llava-1.5" if chat_format in ("auto", "template") else chat_format]
        if not image:
            layout = layout.replace("{image}\n", "")
        prompt = layout.format(image=getattr(processor, "image_token", "<image>"), question=question)
    return f"{prompt} {answer_prefix}" if answer_prefix else prompt


def model_inputs(processor, prompts: list[str], images: list, device: torch.device, dtype: torch.dtype) -> dict:
    batch = processor(text=prompts, images=images, return_tensors="pt", padding=len(prompts) > 1)
    return {k: (v.to(device, dtype) if torch.is_floating_point(v) else v.to(device)) for k, v in batch.items()}


@torch.inference_mode()
def generate_answers(model, processor, prompts: list[str], images: list | None, max_new_tokens: int = 32) -> list[str]:
    """Greedy answers, one per prompt (with its image, or from text alone when images is None), left padded."""
    param = next(model.parameters())
    processor.tokenizer.padding_side = "left"
    inputs = model_inputs(processor, prompts, images, param.device, param.dtype)
    pad = processor.tokenizer.pad_token_id
    out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                         pad_token_id=pad if pad is not None else processor.tokenizer.eos_token_id)
    return [a.strip() for a in processor.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)]
