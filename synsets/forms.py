"""Surface-form helpers that need no dictionary: qualifiers, spelling variants, possessives.

Normalising and tokenising are the project's one text semantics, classfreq.text.normalize_form
and classfreq.text.form_tokens.
"""
from __future__ import annotations

import re

from classfreq.text import normalize_form

_QUALIFIER = re.compile(r"\s*\(([^()]*)\)\s*")


def remove_qualifier(form: str) -> tuple[str, str] | None:
    """'kite (bird of prey)' -> ('kite', 'bird of prey'); None when there is no parenthetical."""
    match = _QUALIFIER.search(form)
    if not match:
        return None
    stripped = normalize_form(_QUALIFIER.sub(" ", form))
    return (stripped, match.group(1).strip()) if stripped else None


def spelling_variants(form: str, is_noun) -> list[str]:
    """Hyphen, space and closed-up spellings of `form`.

    "t-shirt" -> "t shirt", "tshirt"; "colt's foot" -> "colts foot"; a two-word form is closed up
    only where the closed-up word is itself a dictionary noun (`is_noun`), e.g. "sea horse" ->
    "seahorse", so "tiger shark" does not become "tigershark".
    """
    out = []
    if "'" in form:
        out.append(form.replace("'", ""))
    for f in [form] + out[:]:
        if "-" in f:
            out.append(f.replace("-", " "))
            if f.count("-") == 1 and " " not in f:
                out.append(f.replace("-", ""))
    for f in [form] + out[:]:
        words = f.split(" ")
        if len(words) == 2 and all(w.isalpha() for w in words) and is_noun("".join(words)):
            out.append("".join(words))
    seen, result = {form}, []
    for f in out:
        f = normalize_form(f)
        if f and f not in seen:
            seen.add(f)
            result.append(f)
    return result


def possessive(form: str) -> str | None:
    """The singular possessive ("tiger" -> "tiger's"); None for forms ending in s or holding digits."""
    if form.endswith("s") or form.endswith("'") or any(c.isdigit() for c in form) or not form[-1:].isalpha():
        return None
    return form + "'s"
