"""Open WordNet 3.0 through NLTK offline, assembling an NLTK_DATA folder from Debian's packages.

NLTK's reader wants `corpora/wordnet/` inside an NLTK data folder, plus a `lexnames` file that
Debian's `wordnet-base` does not ship (the project ships its own copy next to this module).
Only building label sets needs WordNet; loading them at count time never does.
"""
from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

from classfreq.errors import UserError

WORDNET_SYSTEM_DIR = Path("/usr/share/wordnet")
LEXNAMES = Path(__file__).with_name("lexnames")
APT_COMMAND = "sudo apt-get install -y wordnet-base wordnet-sense-index"

# what NLTK's WordNetCorpusReader opens; cntlist.rev holds the sense counts (Lemma.count())
WORDNET_FILES = [f"{kind}.{pos}" for kind in ("data", "index") for pos in ("noun", "verb", "adj", "adv")]
WORDNET_FILES += ["index.sense", "cntlist.rev"] + [f"{pos}.exc" for pos in ("noun", "verb", "adj", "adv")]


def default_nltk_data_dir() -> Path:
    """$CLASSFREQ_NLTK_DATA, else ~/.cache/classfreq/nltk_data."""
    env = os.environ.get("CLASSFREQ_NLTK_DATA")
    return Path(env) if env else Path.home() / ".cache" / "classfreq" / "nltk_data"


def assemble_nltk_data(target: str | Path | None = None, wordnet_dir: str | Path = WORDNET_SYSTEM_DIR,
                       lexnames: str | Path = LEXNAMES) -> Path:
    """Copy the WordNet 3.0 database files and `lexnames` into `target`/corpora/wordnet/.

    Copies rather than links: NLTK refuses reader paths that resolve outside its data folder.
    Returns the NLTK data folder (`target`).
    """
    target = Path(target) if target else default_nltk_data_dir()
    wordnet_dir = Path(wordnet_dir)
    missing = [name for name in WORDNET_FILES if not (wordnet_dir / name).is_file()]
    if missing:
        raise UserError(
            f"WordNet 3.0 is not installed ({wordnet_dir} lacks {', '.join(missing[:3])}"
            f"{'...' if len(missing) > 3 else ''}); install it with `{APT_COMMAND}` (or run `make setup` as root)")
    if not Path(lexnames).is_file():
        raise UserError(f"the WordNet lexnames file {lexnames} is missing; reinstall classfreq")
    corpus = target / "corpora" / "wordnet"
    corpus.mkdir(parents=True, exist_ok=True)
    for name in WORDNET_FILES:
        _copy_if_changed(wordnet_dir / name, corpus / name)
    _copy_if_changed(Path(lexnames), corpus / "lexnames")
    return target


def open_wordnet(nltk_data: str | Path | None = None, wordnet_dir: str | Path = WORDNET_SYSTEM_DIR):
    """Return an NLTK WordNetCorpusReader for WordNet 3.0.

    Uses an NLTK data folder that already holds WordNet (e.g. from `nltk.download('wordnet')`),
    else assembles one from `wordnet_dir` in `nltk_data` (default `default_nltk_data_dir()`).
    """
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    folder = Path(nltk_data) if nltk_data else default_nltk_data_dir()
    ours = folder / "corpora" / "wordnet"
    if all((ours / name).is_file() for name in WORDNET_FILES + ["lexnames"]):
        root = nltk.data.find("corpora/wordnet", paths=[str(folder)])
    else:
        try:
            root = nltk.data.find("corpora/wordnet")
        except LookupError:
            assemble_nltk_data(folder, wordnet_dir)
            root = nltk.data.find("corpora/wordnet", paths=[str(folder)])
    if str(folder) not in nltk.data.path:
        nltk.data.path.insert(0, str(folder))  # NLTK refuses reader paths outside its data path
    with warnings.catch_warnings():  # "multilingual functions are not available": we pass no OMW reader
        warnings.simplefilter("ignore", UserWarning)
        reader = WordNetCorpusReader(root, None)
    if reader.get_version() != "3.0":
        raise UserError(f"found WordNet {reader.get_version()} at {root}, but the label sets are built from "
                        f"WordNet 3.0; install it with `{APT_COMMAND}` and set CLASSFREQ_NLTK_DATA to an empty folder")
    return reader


def _copy_if_changed(src: Path, dst: Path) -> None:
    if dst.is_file() and dst.stat().st_size == src.stat().st_size and dst.stat().st_mtime >= src.stat().st_mtime:
        return
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
