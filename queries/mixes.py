"""Training mixes: which count sources make up a model's training data, and what cannot be counted.

A mix file (YAML, JSON or CSV) declares, for one model family, the models that share a mix and
its components. YAML/JSON:

    models: [ViT-B-32_laion400m, ViT-B-16_laion400m]   # names as in the accuracy table
    components:
      - component: LAION-400M
        source: imported:bethgelab:laion400m:lemmatized   # a count_key (see class_sources)
        weight: 1                                          # epochs or sampling weight
      - component: CLIP image-text pairs (vision tower)
        counted: false                                     # no counts exist: shown as uncovered
        note: OpenAI's 400M pairs were never released

`source` may also be written as fields: {kind: imported, origin, corpus, method} or
{kind: ours, source, mode (default 'default'), role (default 'all'), basis (default 'raw')}. Our
counter's key with ':relevant' appended (basis: relevant) names its relevance-judged counts
(relevant documents only): that component is then counted as relevant documents on either basis
of the mix. A file may hold a list of such entries under `mixes:`. CSV: one row per (model,
component) with columns model, component, source, weight, counted, note.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from classfreq.errors import UserError
from classfreq.queries.warehouse import replace_rows

COLUMNS = ["model", "component", "source_kind", "source", "weight", "counted", "note"]


RELEVANT = ":relevant"
VALID_KEYS = ("'imported:<origin>:<corpus>:<method>', 'ours:<source>:<mode>:<role>' or "
              "'ours:<source>:<mode>:<role>:relevant' (its relevance-judged counts)")


def count_key(spec) -> str:
    """The count_key a component names, from a string or from {kind, ...} fields."""
    if isinstance(spec, str):
        if not _is_count_key(spec):
            raise UserError(f"mix source {spec!r} is not a count key; write {VALID_KEYS}")
        return spec
    if isinstance(spec, dict):
        kind = spec.get("kind")
        if kind == "imported" and {"origin", "corpus", "method"} <= set(spec):
            return f"imported:{spec['origin']}:{spec['corpus']}:{spec['method']}"
        if kind == "ours" and "source" in spec:
            basis = spec.get("basis", "raw")
            if basis not in ("raw", "relevant"):
                raise UserError(f"mix source {spec!r}: basis must be raw or relevant, not {basis!r}")
            key = f"ours:{spec['source']}:{spec.get('mode', 'default')}:{spec.get('role', 'all')}"
            return key + (RELEVANT if basis == "relevant" else "")
    raise UserError(f"mix source {spec!r} must be a count key ({VALID_KEYS}) or {{kind: imported, origin, corpus, "
                    f"method}} / {{kind: ours, source, mode, role, basis}}")


def _is_count_key(key: str) -> bool:
    parts = key.split(":")
    if parts[0] == "imported":
        return len(parts) == 4
    return parts[0] == "ours" and (len(parts) == 4 or (len(parts) == 5 and parts[4] == RELEVANT[1:]))


def _truthy(value) -> bool:
    if isinstance(value, str):
        if value.strip().lower() in ("true", "yes", "1", "y"):
            return True
        if value.strip().lower() in ("false", "no", "0", "n", ""):
            return False
        raise UserError(f"'counted' must be true or false, not {value!r}")
    return bool(value)


def _entry_rows(entry: dict, where: str) -> list[dict]:
    models = entry.get("models") or ([entry["model"]] if entry.get("model") else [])
    if isinstance(models, str):
        models = [models]
    comps = entry.get("components")
    if not models or not comps:
        raise UserError(f"{where}: each mix needs 'models' (a list of model names) and 'components'")
    rows = []
    for i, comp in enumerate(comps):
        if not isinstance(comp, dict) or not comp.get("component", comp.get("name")):
            raise UserError(f"{where}: component {i + 1} needs a 'component' name")
        counted = _truthy(comp.get("counted", True))
        source = comp.get("source")
        if source is None and {"kind"} <= set(comp):
            source = {k: comp[k] for k in ("kind", "origin", "corpus", "method", "source", "mode", "role", "basis")
                      if k in comp}
        if counted and source is None:
            raise UserError(f"{where}: counted component {comp.get('component', comp.get('name'))!r} "
                            f"needs a 'source' (a count key), or mark it 'counted: false'")
        key = count_key(source) if source is not None else None
        weight = comp.get("weight", comp.get("epochs", 1.0))
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            raise UserError(f"{where}: weight {weight!r} is not a number") from None
        if weight < 0:
            raise UserError(f"{where}: weight must not be negative")
        for model in models:
            rows.append({"model": str(model), "component": str(comp.get("component", comp.get("name"))),
                         "source_kind": key.split(":", 1)[0] if key else None, "source": key,
                         "weight": weight, "counted": counted, "note": comp.get("note")})
    return rows


def read_mix_file(path: str | Path) -> pd.DataFrame:
    """Rows for the `mixes` table from a YAML, JSON or CSV mix file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"mix file {path} does not exist; check the path")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df = pd.read_csv(path)
        missing = {"model", "component"} - set(df.columns)
        if missing:
            raise UserError(f"{path} needs columns model, component, source, weight, counted, note "
                            f"(missing {', '.join(sorted(missing))})")
        rows = []
        for rec in df.to_dict("records"):
            rec = {k: (None if pd.isna(v) else v) for k, v in rec.items()}
            rows += _entry_rows({"models": [rec["model"]], "components": [rec]}, str(path))
        return pd.DataFrame(rows, columns=COLUMNS)
    text = path.read_text()
    try:
        if suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise UserError(f"{path}: mix files are .yaml, .yml, .json or .csv")
    except (json.JSONDecodeError, ValueError, yaml.YAMLError) as exc:
        raise UserError(f"{path} cannot be parsed ({exc})") from exc
    entries = data.get("mixes", [data]) if isinstance(data, dict) else data
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UserError(f"{path} must hold a mix (models, components) or a list under 'mixes'")
    rows = [r for e in entries for r in _entry_rows(e, str(path))]
    return pd.DataFrame(rows, columns=COLUMNS)


def write_mixes(con, rows: pd.DataFrame) -> list[str]:
    """Replace the mixes of the models in `rows`; returns warnings for sources with no counts yet."""
    dup = rows.duplicated(["model", "component"])
    if dup.any():
        r = rows[dup].iloc[0]
        raise UserError(f"mix of {r['model']!r} lists component {r['component']!r} twice")
    for model, part in rows.groupby("model", sort=True):
        replace_rows(con, "mixes", part, where={"model": model})
    known = {r[0] for r in con.execute("SELECT DISTINCT count_key FROM class_sources").fetchall()}
    return [f"mix {m!r}: component {c!r} names {s!r}, which has no counts in the warehouse yet"
            for m, c, s in rows.loc[rows["counted"], ["model", "component", "source"]].drop_duplicates()
            .itertuples(index=False) if s not in known]
