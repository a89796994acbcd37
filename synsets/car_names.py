"""The forms people write for a Stanford Cars class: "2012 Acura TL Sedan" is also "acura tl".

A class name is YEAR MAKE MODEL [TRIM...] [BODY...]. Its forms: the full name, the name without
the year, make + model (body styles and trims removed), and the model alone where it is a
distinctive name ("hummer", "integra"), not a common word ("golf", "edge"), a place ("tucson")
or a code ("tl").
"""
from __future__ import annotations

import re

from classfreq.text import form_tokens, normalize_form

_TWO_WORD_MAKES = {"am general", "aston martin", "land rover"}
# removed from the end, longest first, repeatedly: "phantom drophead coupe convertible" -> "phantom"
_SUFFIXES = sorted([
    "crew cab", "extended cab", "regular cab", "club cab", "quad cab", "cargo van", "passenger van", "wagon van",
    "drophead coupe", "sedan", "suv", "sut", "coupe", "convertible", "conv.", "hatchback", "wagon", "minivan",
    "van", "supercab", "roadster", "hybrid", "classic", "super duty", "type-s", "type r", "ss", "srt-8", "srt8",
    "gs", "zr1", "z06", "ipl", "abarth", "superleggera", "touring", "el", "ron fellows edition",
], key=len, reverse=True)
_YEAR = re.compile(r"^(19|20)\d\d$")


def split_car_name(name: str) -> tuple[str | None, str, str]:
    """'2012 Acura TL Sedan' -> ('2012', 'acura', 'tl'); the model keeps no body style or trim."""
    words = normalize_form(name).split(" ")
    year = words.pop(0) if words and _YEAR.match(words[0]) else None
    make_len = 2 if " ".join(words[:2]) in _TWO_WORD_MAKES else 1
    make, rest = " ".join(words[:make_len]), " ".join(words[make_len:])
    changed = True
    while changed and rest:
        changed = False
        for suffix in _SUFFIXES:
            if rest.endswith(" " + suffix):
                rest = rest[: -len(suffix) - 1].strip()
                changed = True
                break
    return year, make, rest


def car_forms(name: str, is_common_word) -> list[tuple[str, str]]:
    """(form, origin) pairs for one car class; `is_common_word(word)` rejects a model as a form alone."""
    full = normalize_form(name)
    year, make, model = split_car_name(name)
    forms = [(full, "clip_name")]
    if year:
        forms.append((full[len(year) + 1:], "variant"))
    if model:
        forms.append((f"{make} {model}", "variant"))
        alone = model.split(" ")
        first = alone[0]
        others_are_codes = all(any(c.isdigit() for c in w) or len(w) <= 3 for w in alone[1:])
        # a one-letter token alone is not distinctive: "s-class" would match "today's class"
        if sum(c.isalpha() for c in first) >= 4 and first.replace("-", "").isalpha() and others_are_codes \
                and all(len(t) > 1 for t in form_tokens(first)) and not is_common_word(first):
            forms.append((first, "variant"))
    seen, out = set(), []
    for form, origin in forms:
        if form not in seen:
            seen.add(form)
            out.append((form, origin))
    return out
