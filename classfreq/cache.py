"""Where classfreq keeps what it may rebuild: the user's cache folder, or one an environment variable names."""
from __future__ import annotations

import os


def cache_folder(env: str, *parts: str) -> str | None:
    """``$env`` when set (``off``: None, no cache), else ``$XDG_CACHE_HOME/classfreq/PARTS``, else
    ``~/.cache/classfreq/PARTS``."""
    chosen = os.environ.get(env)
    if chosen == "off":
        return None
    if chosen:
        return chosen
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "classfreq", *parts)
