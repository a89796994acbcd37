"""`classfreq synsets build|add|show`: regenerate the built-in label sets, add a user one, summarise one."""
from __future__ import annotations

from pathlib import Path

from classfreq.errors import UserError
from classfreq.synsets.labelset import BUILTIN, DATA_DIR, FLAGS, load_labelset


def register(subparsers) -> None:
    parser = subparsers.add_parser("synsets", help="label sets: build, add your own, show")
    sub = parser.add_subparsers(dest="synsets_command", metavar="ACTION", required=True)

    build = sub.add_parser("build", help="regenerate the built-in label-set tables from WordNet 3.0 (byte for byte)")
    build.add_argument("--shared", default="../shared/data", help="shared data folder with labelsets/ (../shared/data)")
    build.add_argument("--labelset", choices=BUILTIN, action="append",
                       help="build only this label set (repeatable; default all)")
    build.add_argument("--out", default=str(DATA_DIR), help="folder that receives <labelset>/ (default: synsets/data)")
    build.add_argument("--nltk-data", help="NLTK data folder to find or assemble WordNet in "
                                           "(default $CLASSFREQ_NLTK_DATA or ~/.cache/classfreq/nltk_data)")
    build.set_defaults(func=_build)

    add = sub.add_parser("add", help="make a label set from a CSV or JSON of class names (and optional synonyms)")
    add.add_argument("name", help="label-set name (letters, digits, _ and -)")
    add.add_argument("--from", dest="source", required=True,
                     help="names.csv (header: name[,synonyms][,class_id]; synonyms separated by ';') or names.json")
    add.add_argument("--out", help="folder to write (default: labelsets/NAME)")
    add.add_argument("--no-wordnet", action="store_true",
                     help="build without WordNet (no inflections or polysemy flags)")
    add.set_defaults(func=_add)

    show = sub.add_parser("show", help="summarise a label set: classes, forms, forms per flag")
    show.add_argument("labelset", help=f"one of {', '.join(BUILTIN)} or a label-set folder")
    show.add_argument("--class", dest="class_index", type=int, help="list the forms of this class index")
    show.set_defaults(func=_show)


def _build(args) -> int:
    from classfreq.synsets.build import WordNetTools
    from classfreq.synsets.builtin import build_builtin
    from classfreq.synsets.wordnet_setup import open_wordnet

    tools = WordNetTools(open_wordnet(args.nltk_data))
    for name in args.labelset or BUILTIN:
        ls = build_builtin(name, Path(args.shared), tools, Path(args.out))
        print(f"{name}: version {ls.version}, {len(ls.classes)} classes, {len(ls.forms)} forms -> {ls.path}")
    return 0


def _add(args) -> int:
    from classfreq.synsets.user_labelsets import build_user_labelset

    out = Path(args.out) if args.out else Path("labelsets") / args.name
    try:
        ls = build_user_labelset(args.name, Path(args.source), out, use_wordnet=not args.no_wordnet)
    except UserError as exc:
        if "WordNet" in str(exc) and not args.no_wordnet:
            raise UserError(f"{exc}; or pass --no-wordnet to build without inflections and polysemy flags") from None
        raise
    print(f"{ls.name}: version {ls.version}, {len(ls.classes)} classes, {len(ls.forms)} forms -> {out}")
    print(f"use it with load_labelset({str(out)!r}) or --labelset {out}")
    return 0


def _show(args) -> int:
    ls = load_labelset(args.labelset)
    mapped = int(ls.classes["class_id"].notna().sum())
    print(f"{ls.name} version {ls.version}: {len(ls.classes)} classes ({mapped} with a WordNet id), "
          f"{len(ls.forms)} forms")
    print(f"source: {ls.source}")
    counts = ls.flag_counts()
    print("forms per flag: " + ", ".join(f"{flag} {counts[flag]}" for flag in FLAGS))
    if args.class_index is not None:
        rows = ls.classes[ls.classes.class_index == args.class_index]
        if rows.empty:
            raise UserError(f"{ls.name} has no class {args.class_index}; class indexes run 0..{len(ls.classes) - 1}")
        row = rows.iloc[0]
        print(f"\nclass {row.class_index} {row['name']} ({row.class_id or 'no WordNet id'}): {row.gloss or ''}")
        for _, form in ls.forms[ls.forms.class_index == args.class_index].iterrows():
            flags = "; ".join(f"{f['flag']}: {f['reason']}" for f in form["flags"])
            print(f"  {form.form!r:40} group {form.lemma_group!r:30} {','.join(form.origins):22} {flags}")
    return 0
