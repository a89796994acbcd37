"""The text a model is prompted with: CLIP templates and the VLM questions (no model needed).

A template holds {name}, replaced by each class's prompt name (models/labels.py); a closed-world
question holds {classes}, replaced by the comma-separated class list.
"""
from __future__ import annotations

from pathlib import Path

from classfreq.errors import UserError

DEFAULT_TEMPLATE = "a photo of a {name}."
# the 7 templates OpenAI's CLIP notebook recommends out of its 80 for ImageNet
OPENAI7 = ["itap of a {name}.", "a bad photo of the {name}.", "a origami {name}.", "a photo of the large {name}.",
           "a {name} in a video game.", "art of the {name}.", "a photo of the small {name}."]
TEMPLATE_SETS = {"single": [DEFAULT_TEMPLATE], "openai7": OPENAI7}

OPEN_QUESTION = "What type of object is in this photo?"
CLOSED_QUESTION = "What type of object is in this photo? Answer with one of the following: {classes}."


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
