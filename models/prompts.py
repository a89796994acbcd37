"""The text a model is prompted with: CLIP templates and the VLM questions (no model needed).

A template holds {name}, replaced by each class's prompt name (models/labels.py); a closed-world
question holds {classes}, replaced by the comma-separated class list.

VLM prompts are named variants (`PromptVariant`), as in the study (main_results/main.py and
analyze_prompt.sh / analyze_cot.sh): its default question, its alternative wordings, chain of
thought (the assistant's turn starts with "Let's think step by step." and may run to 512 tokens),
or a question from a user file. The closed world appends the study's
' Choose one from "{classes}".' to the question.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from classfreq.errors import UserError

DEFAULT_TEMPLATE = "a photo of a {name}."
# the 7 templates OpenAI's CLIP notebook recommends out of its 80 for ImageNet
OPENAI7 = ["itap of a {name}.", "a bad photo of the {name}.", "a origami {name}.", "a photo of the large {name}.",
           "a {name} in a video game.", "art of the {name}.", "a photo of the small {name}."]
TEMPLATE_SETS = {"single": [DEFAULT_TEMPLATE], "openai7": OPENAI7}

OPEN_QUESTION = "What type of object is in this photo?"
# verbatim from the study's main_results/analyze_prompt.sh (its prompt4: "photograph", not "photo")
ALTERNATIVE_QUESTION = "What is the main object depicted in this photograph?"
CLOSED_SUFFIX = ' Choose one from "{classes}".'
CLOSED_QUESTION = OPEN_QUESTION + CLOSED_SUFFIX
CHAIN_OF_THOUGHT = "Let's think step by step."
COT_MAX_NEW_TOKENS = 512      # the study's limit with chain of thought (64 without)


VICUNA_SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. The assistant gives "
                 "helpful, detailed, and polite answers to the human's questions.")
# the study's prompt per model family (main_results/main.py); {image} is the processor's image token
CHAT_FORMATS = {
    "llava-1.5": "USER: {image}\n{question}\nASSISTANT:",
    "llava-1.6-mistral": "[INST] {image}\n{question}[/INST]",
    "llava-1.6-vicuna": VICUNA_SYSTEM + " USER: {image}\n{question} ASSISTANT:",
}
CHAT_FORMAT_CHOICES = ("auto", "template", *CHAT_FORMATS)


@dataclass(frozen=True)
class PromptVariant:
    """A question, and what the assistant's answer starts with (chain of thought)."""

    name: str                       # default | alternative | cot | file:<file name> | question
    question: str
    answer_prefix: str = ""
    min_new_tokens_limit: int = 0   # generation may run at least this long (chain of thought)

    def for_method(self, closed: bool) -> PromptVariant:
        """The closed-world variant lists the classes: the study's suffix unless the question has {classes}."""
        if not closed or "{classes}" in self.question:
            return self
        return PromptVariant(self.name, self.question + CLOSED_SUFFIX, self.answer_prefix, self.min_new_tokens_limit)

    @property
    def label(self) -> str:
        """What the accuracy table records as the prompt."""
        return self.question + (f" [{self.answer_prefix}]" if self.answer_prefix else "")


PROMPT_VARIANTS = {
    "default": PromptVariant("default", OPEN_QUESTION),
    "alternative": PromptVariant("alternative", ALTERNATIVE_QUESTION),
    # the study's two other wordings in analyze_prompt.sh
    "name-item": PromptVariant("name-item", "Can you name the specific item pictured here?"),
    "identify": PromptVariant("identify", "Identify the object in this image."),
    "cot": PromptVariant("cot", OPEN_QUESTION, CHAIN_OF_THOUGHT, COT_MAX_NEW_TOKENS),
}


def read_prompt(spec: str, question: str | None = None) -> PromptVariant:
    """The variant named `spec` (default, alternative, cot) or a file holding one question; an
    explicit `question` replaces the variant's question and keeps its answer prefix."""
    if spec in PROMPT_VARIANTS:
        variant = PROMPT_VARIANTS[spec]
    else:
        path = Path(spec)
        if not path.is_file():
            raise UserError(f"--prompt {spec!r} is neither {', '.join(PROMPT_VARIANTS)} nor a file; pass one of those")
        text = " ".join(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        if not text:
            raise UserError(f"prompt file {path} is empty; write the question on its first line")
        variant = PromptVariant(f"file:{path.name}", text)
    if question is not None:
        variant = PromptVariant("question", question, variant.answer_prefix, variant.min_new_tokens_limit)
    return variant


def read_templates(spec: str) -> tuple[list[str], str]:
    """(templates, prompt label) for "single", "openai7" or a file with one template a line.

    The label is what the accuracy table records as the prompt: the template itself when there is
    one, else "ensemble:<set or file name>".
    """
    if spec in TEMPLATE_SETS:
        templates = TEMPLATE_SETS[spec]
        return templates, templates[0] if len(templates) == 1 else f"ensemble:{spec}"
    path = Path(spec)
    if not path.is_file():
        raise UserError(f"--templates {spec!r} is neither single, openai7 nor a file; pass one of those")
    templates = [t.strip() for t in path.read_text().splitlines() if t.strip()]
    if not templates or any("{name}" not in t for t in templates):
        raise UserError(f"every line of {path} must be a template containing {{name}}")
    return templates, f"ensemble:{path.name}"


def check_closed_question(question: str) -> None:
    if "{classes}" not in question:
        raise UserError("a closed-world --question must contain {classes} where the class list goes")
