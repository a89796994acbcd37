"""The jobs behind `classfreq synsets build|add|show`, each taking its validated config
(synsets/configs.py)."""
from __future__ import annotations

from pathlib import Path

from classfreq.errors import UserError
from classfreq.synsets.configs import AddConfig, BuildConfig, ShowConfig
from classfreq.synsets.labelset import FLAGS, load_labelset


def build_labelsets(config: BuildConfig) -> int:
    """Regenerate the built-in label sets (byte for byte) from the shared class lists and WordNet."""
    from classfreq.synsets.build import WordNetTools
    from classfreq.synsets.builtin import build_builtin
    from classfreq.synsets.wordnet_setup import open_wordnet

    tools = WordNetTools(open_wordnet(config.nltk_data))
    for name in config.labelsets():
        ls = build_builtin(name, Path(config.shared), tools, Path(config.out))
        print(f"{name}: version {ls.version}, {len(ls.classes)} classes, {len(ls.forms)} forms -> {ls.path}")
    return 0


def add_labelset(config: AddConfig) -> int:
    from classfreq.synsets.user_labelsets import build_user_labelset

    out = Path(config.out) if config.out else Path("labelsets") / config.name
    try:
        ls = build_user_labelset(config.name, Path(config.source), out, use_wordnet=not config.no_wordnet)
    except UserError as exc:
        if "WordNet" in str(exc) and not config.no_wordnet:
            raise UserError(f"{exc}; or pass --no-wordnet to build without inflections and polysemy flags") from None
        raise
    print(f"{ls.name}: version {ls.version}, {len(ls.classes)} classes, {len(ls.forms)} forms -> {out}")
    print(f"use it with load_labelset({str(out)!r}) or --labelset {out}")
    return 0


def show_labelset(config: ShowConfig) -> int:
    ls = load_labelset(config.labelset)
    mapped = int(ls.classes["class_id"].notna().sum())
    print(f"{ls.name} version {ls.version}: {len(ls.classes)} classes ({mapped} with a WordNet id), "
          f"{len(ls.forms)} forms")
    print(f"source: {ls.source}")
    counts = ls.flag_counts()
    print("forms per flag: " + ", ".join(f"{flag} {counts[flag]}" for flag in FLAGS))
    if config.class_index is not None:
        _show_class(ls, config.class_index)
    return 0


def _show_class(ls, class_index: int) -> None:
    rows = ls.classes[ls.classes.class_index == class_index]
    if rows.empty:
        raise UserError(f"{ls.name} has no class {class_index}; class indexes run 0..{len(ls.classes) - 1}")
    row = rows.iloc[0]
    print(f"\nclass {row.class_index} {row['name']} ({row.class_id or 'no WordNet id'}): {row.gloss or ''}")
    for _, form in ls.forms[ls.forms.class_index == class_index].iterrows():
        flags = "; ".join(f"{f['flag']}: {f['reason']}" for f in form["flags"])
        print(f"  {form.form!r:40} group {form.lemma_group!r:30} {','.join(form.origins):22} {flags}")
