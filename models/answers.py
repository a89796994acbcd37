"""Rules that score a generated answer (no model needed, so imported study outputs are scored the
same way without torch): the published substring rule, the synonym rule, and the answer letter of
a multiple-choice question."""
from __future__ import annotations

import re


def published_rule(answer: str, name: str) -> bool:
    """The published rule: correct when the class name appears in the answer (case-insensitive substring)."""
    return name.lower() in answer.lower()


class SynonymRule:
    """Correct when any surface form of the true class occurs in the answer as a token sequence
    (the project's matcher, so the rule agrees with how captions are counted)."""

    def __init__(self, labelset):
        from classfreq.pipelines.matching import FormMatcher
        forms = labelset.forms
        self.form_class = forms["class_index"].to_numpy()
        self.matcher = FormMatcher(forms=[str(f) for f in forms["form"]])

    def correct(self, answers: list[str], true_index) -> list[bool]:
        hits = self.matcher.match_batch(list(answers))
        ok = [False] * len(answers)
        for doc, form in zip(hits.doc, hits.form):
            if self.form_class[form] == true_index[doc]:
                ok[doc] = True
        return ok


# "The answer is C", "Answer: (C)", "C. Trendelenburg position", a lone "C"
_STATED = re.compile(r"answer(?: is|:)?\s*\(?([A-D])\b", re.IGNORECASE)
# a letter marked as an option ("C.", "(C)", "C)") or alone at the end of a line; not the article "A cat"
_LETTER = re.compile(r"(?<![A-Za-z])\(?([A-D])(?:[).:]|\s*$)", re.MULTILINE)


def answer_letter(answer: str) -> str | None:
    """The option letter an answer picks: the letter after "answer is" / "answer:" when stated (the
    last statement wins: a chain of thought ends with its answer), else the first letter marked as an option or alone on its line;
    None when there is none."""
    stated = _STATED.findall(answer)
    if stated:
        return stated[-1].upper()
    loose = _LETTER.search(answer)
    return loose.group(1) if loose else None
