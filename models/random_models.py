"""Random-weight CLIP and LLaVA models with a tokenizer trained on the given texts, saved like a
real checkpoint (save_pretrained) so tests and the benchmark load them through the user's path.

Nothing here is downloaded: the tokenizer is a byte-level BPE trained on the class names and
prompts, the image processor is CLIP's with a small size, the weights are random.
"""
from __future__ import annotations

from pathlib import Path

from classfreq.errors import require

tokenizers = require("tokenizers", extra="models", purpose="random test models")
torch = require("torch", extra="models", purpose="random test models")
transformers = require("transformers", extra="models", purpose="random test models")

SPECIALS = ["<pad>", "<s>", "</s>", "<image>"]


def train_tokenizer(texts: list[str], vocab_size: int = 400, add_eos: bool = False):
    """A byte-level BPE tokenizer (ids 0-3: <pad> <s> </s> <image>); bos always, eos when add_eos (CLIP)."""
    decoders, pre_tokenizers = tokenizers.decoders, tokenizers.pre_tokenizers
    processors, trainers = tokenizers.processors, tokenizers.trainers

    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts), trainer)
    template = "<s> $A </s>" if add_eos else "<s> $A"
    tok.post_processor = processors.TemplateProcessing(single=template, special_tokens=[("<s>", 1), ("</s>", 2)])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   extra_special_tokens={"image_token": "<image>"})


def _image_processor(image_size: int):
    return transformers.CLIPImageProcessor(size={"shortest_edge": image_size},
                              crop_size={"height": image_size, "width": image_size})


def save_random_clip(out_dir: str | Path, texts: list[str], image_size: int = 32, hidden: int = 32,
                     layers: int = 2, seed: int = 0, init_std: float = 0.5) -> Path:
    torch.manual_seed(seed)
    tokenizer = train_tokenizer(texts, add_eos=True)
    config = transformers.CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=2, max_position_embeddings=77,
                         bos_token_id=1, eos_token_id=2, pad_token_id=0, initializer_range=init_std),
        vision_config=dict(hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                           num_attention_heads=2, image_size=image_size, patch_size=image_size // 4,
                           initializer_range=init_std),
        projection_dim=16, initializer_range=init_std)
    out = Path(out_dir)
    transformers.CLIPModel(config).save_pretrained(out)
    transformers.CLIPProcessor(image_processor=_image_processor(image_size), tokenizer=tokenizer).save_pretrained(out)
    return out


def save_random_llava(out_dir: str | Path, texts: list[str], image_size: int = 32, hidden: int = 32,
                      layers: int = 2, seed: int = 0, init_std: float = 0.5) -> Path:
    """init_std is large so that random logits are far from uniform and scores differ per name."""
    torch.manual_seed(seed)
    tokenizer = train_tokenizer(texts)
    patch = image_size // 4
    config = transformers.LlavaConfig(
        vision_config=dict(model_type="clip_vision_model", hidden_size=hidden, intermediate_size=2 * hidden,
                           num_hidden_layers=layers, num_attention_heads=2, image_size=image_size, patch_size=patch),
        text_config=dict(model_type="llama", vocab_size=len(tokenizer), hidden_size=hidden,
                         intermediate_size=2 * hidden, num_hidden_layers=layers, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=4096, bos_token_id=1, eos_token_id=2,
                         pad_token_id=0, initializer_range=init_std),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"), vision_feature_layer=-2,
        vision_feature_select_strategy="default", projector_hidden_act="gelu")
    out = Path(out_dir)
    transformers.LlavaForConditionalGeneration(config).save_pretrained(out)
    transformers.LlavaProcessor(image_processor=_image_processor(image_size), tokenizer=tokenizer, patch_size=patch,
                   vision_feature_select_strategy="default", num_additional_image_tokens=1).save_pretrained(out)
    return out
