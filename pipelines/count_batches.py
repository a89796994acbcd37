"""The counting step that runs inside Spark tasks (mapInArrow): match one batch of documents and
emit small partial aggregates (per form, per class, per source stat, quarantine, capped matches).
Summing the partials over all batches gives the exact counts, whatever the partitioning.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow as pa

from classfreq.pipelines.documents import ALL_ROLE
from classfreq.pipelines.match_sample import first_per_class
from classfreq.pipelines.match_spec import MatchSpec, matcher_for
from classfreq.pipelines.match_text import match_text

PARTIAL_DDL = ("kind string, role string, idx int, name string, file string, docs long, docs_clean long, "
               "mentions long, example string, doc_id string, url string, text string, nsfw string, punsafe double")
PARTIAL_SCHEMA = pa.schema([
    ("kind", pa.string()), ("role", pa.string()), ("idx", pa.int32()), ("name", pa.string()),
    ("file", pa.string()), ("docs", pa.int64()), ("docs_clean", pa.int64()), ("mentions", pa.int64()),
    ("example", pa.string()), ("doc_id", pa.string()), ("url", pa.string()), ("text", pa.string()),
    ("nsfw", pa.string()), ("punsafe", pa.float64()),
])
# A partial row's `kind`, and the columns partial rows are summed over (the rest are summed).
# idx is a form index (form), a class index (class, match); name a stat or quarantine reason.
STAT, FORM, CLASS, QUARANTINE, MATCH = "stat", "form", "class", "quar", "match"
PARTIAL_KEY = ("kind", "role", "idx", "name", "file")


def count_batches(batches, spec: MatchSpec, progress=None):
    """mapInArrow body -> PARTIAL_SCHEMA batches. Input columns: text, bad (JSON {reason, example,
    file} of a quarantined record, else null), optional parts, and doc_id, url, nsfw, punsafe when
    doc_matches are kept."""
    matcher = matcher_for(spec)
    form_class = np.asarray(spec.form_class, dtype=np.int64)
    form_amb = np.asarray(spec.form_ambiguous, dtype=bool)
    form_pat = np.asarray(spec.form_pattern, dtype=np.int64)
    form_rep = _pattern_representatives(form_class, form_pat)
    classes_ordered = bool((np.diff(form_class) >= 0).all())
    roles = [ALL_ROLE] + [r for r in spec.roles if r != ALL_ROLE]
    role_code = {r: i for i, r in enumerate(roles)}
    for batch in batches:
        n = batch.num_rows
        if progress is not None:
            progress.add(n)
        parts = []  # Arrow tables of PARTIAL_SCHEMA (built from numpy: pandas costs more than the rows)
        bad = np.asarray(batch.column("bad").is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        n_bad = int(bad.sum())
        if n_bad:
            parts.append(_from_pandas(_quarantine(batch, bad)))
        good_idx = np.flatnonzero(~bad) if n_bad else np.arange(n)
        d, r, f, m = _hits(matcher, batch, good_idx, role_code)
        n_matched = 0
        if len(d):
            d, r, f, m, ordered = _per_doc_form(d, r, f, m, n, len(form_class))
            parts.append(_form_rows(r, f, m, roles, len(form_class)))
            if ordered and classes_ordered:
                rows, n_matched = _class_rows_ordered(d, f, m, form_class, form_amb, form_rep)
            else:
                rows, n_matched = _class_rows(d, r, f, m, n, form_class, form_amb, form_pat, roles), len(np.unique(d[r == 0]))
            parts.append(rows)
            if spec.max_matches_per_class > 0:
                keep = r == 0
                parts.append(_from_pandas(_match_rows(
                    batch, pd.DataFrame({"doc": d[keep], "form": f[keep], "mentions": m[keep]}),
                    form_class, spec.max_matches_per_class, spec.sample_seed, spec.forms)))
        parts.append(_stats(n, n_bad, len(good_idx), n_matched))
        yield from pa.concat_tables(parts).combine_chunks().to_batches()


def _partial(kind: str, n: int, **columns) -> pa.Table:
    """``n`` partial rows of ``kind``: the given columns (arrays or one value each), the rest null."""
    arrays = []
    for f in PARTIAL_SCHEMA:
        value = kind if f.name == "kind" else columns.get(f.name)
        if value is None:
            arrays.append(pa.nulls(n, f.type))
        elif isinstance(value, (str, int)):
            arrays.append(pa.array([value] * n, f.type))
        else:
            arrays.append(pa.array(value, f.type))
    return pa.Table.from_arrays(arrays, schema=PARTIAL_SCHEMA)


def _from_pandas(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame.reindex(columns=PARTIAL_SCHEMA.names), schema=PARTIAL_SCHEMA, preserve_index=False)


def _hits(matcher, batch, good_idx, role_code):
    """(document, role code, form, mentions) per hit of the batch's valid documents; a hit in a
    turn with a role also counts for role 'all' (code 0)."""
    texts, seg_doc, seg_role = _segments(batch, good_idx, role_code)
    hits = matcher.match_batch(texts)
    h_doc = np.asarray(hits.doc, dtype=np.int64)
    d = seg_doc[h_doc]
    r = seg_role[h_doc]
    f = np.asarray(hits.form, dtype=np.int64)
    m = np.asarray(hits.mentions, dtype=np.int64)
    multi = r != 0
    if multi.any():
        d, f, m = (np.concatenate([x, x[multi]]) for x in (d, f, m))
        r = np.concatenate([r, np.zeros(int(multi.sum()), np.int64)])
    return d, r, f, m


def _segments(batch, good_idx, role_code):
    """Flatten documents into the texts given to the matcher: a plain document is one text with
    role 'all'; a document with parts gives one text per part (LLaVA turns, captions of an image)."""
    names = batch.schema.names
    parts_col = batch.column("parts") if "parts" in names else None
    if parts_col is None or parts_col.null_count == len(parts_col):  # plain captions: the fast path
        text = batch.column("text")  # handed over as Arrow: the matcher reads most texts without Python strings
        texts = text if len(good_idx) == len(text) else text.take(pa.array(good_idx))
        return texts, good_idx.astype(np.int64), np.zeros(len(good_idx), np.int64)
    text = batch.column("text").to_pylist()
    parts = parts_col.to_pylist()
    texts, seg_doc, seg_role = [], [], []
    for i in good_idx:
        p = parts[i]
        segments = [(text[i], 0)] if p is None else [
            (part["text"], role_code[part["role"]]) for part in json.loads(p) if part["role"] in role_code]
        for segment, code in segments:
            texts.append(segment)
            seg_doc.append(i)
            seg_role.append(code)
    return texts, np.asarray(seg_doc, dtype=np.int64), np.asarray(seg_role, dtype=np.int64)


def _per_doc_form(d, r, f, m, n_docs, n_forms):
    """Sum mentions per (role, form, doc): several parts of one document can hit one form. The last
    value says whether the hits are all of role 'all' and in (doc, form) order, each pair once."""
    if not r.any() and (np.diff(d * n_forms + f) > 0).all():
        return d, r, f, m, True  # each (doc, form) once already (one text per document): nothing to sum
    key = (r * n_forms + f) * n_docs + d
    uniq, inv = np.unique(key, return_inverse=True)
    if len(uniq) == len(key):
        order = np.argsort(key, kind="stable")
        return d[order], r[order], f[order], m[order], False
    mentions = np.bincount(inv, weights=m).astype(np.int64)
    rf = uniq // n_docs
    return uniq % n_docs, rf // n_forms, rf % n_forms, mentions, False


def _pattern_representatives(form_class, form_pat) -> np.ndarray:
    """Per form: whether it is the first form of its (class, token sequence). The matcher reports a
    token sequence's occurrences for each of its forms, so a class counts the representative's."""
    _, first = np.unique(form_class * (int(form_pat.max(initial=0)) + 1) + form_pat, return_index=True)
    rep = np.zeros(len(form_class), bool)
    rep[first] = True
    return rep


def _stats(n, n_bad, n_good, n_matched) -> pa.Table:
    names = ["docs_read", "docs_quarantined", "docs_matched", "docs_unmatched"]
    return _partial(STAT, 4, role=ALL_ROLE, name=names, docs=[n, n_bad, n_matched, n_good - n_matched])


def _quarantine(batch, bad) -> pd.DataFrame:
    details = [json.loads(b) for b in batch.column("bad").filter(pa.array(bad)).to_pylist()]
    rows = pd.DataFrame({"name": [d.get("reason") for d in details], "file": [d.get("file") for d in details],
                         "example": [d.get("example") for d in details]})
    agg = rows.groupby(["name", "file"], dropna=False, as_index=False).agg(
        docs=("example", "size"), example=("example", "min"))
    agg["kind"] = QUARANTINE
    agg["role"] = ALL_ROLE
    return agg


def _form_rows(r, f, m, roles, n_forms) -> pa.Table:
    rf = r * n_forms + f  # one entry per (role, form, doc): docs are counts of entries
    size = len(roles) * n_forms
    docs = np.bincount(rf, minlength=size)
    mentions = np.bincount(rf, weights=m, minlength=size).astype(np.int64)
    nz = np.flatnonzero(docs)
    return _partial(FORM, len(nz), role=np.asarray(roles, dtype=object)[nz // n_forms], idx=nz % n_forms,
                    docs=docs[nz], mentions=mentions[nz])


def _class_rows(d, r, f, m, n_docs, form_class, form_amb, form_pat, roles) -> pa.Table:
    n_cls = int(form_class.max()) + 1
    n_pat = int(form_pat.max()) + 1
    size = len(roles) * n_cls
    rc = r * n_cls + form_class[f]
    doc_key = rc * n_docs + d
    docs = np.bincount(np.unique(doc_key) // n_docs, minlength=size)
    clean = np.bincount(np.unique(doc_key[~form_amb[f]]) // n_docs, minlength=size)
    # forms with one token sequence report the same occurrences: count them once per class
    _, first = np.unique((rc * n_pat + form_pat[f]) * n_docs + d, return_index=True)
    mentions = np.bincount(rc[first], weights=m[first], minlength=size).astype(np.int64)
    nz = np.flatnonzero(docs)
    return _partial(CLASS, len(nz), role=np.asarray(roles, dtype=object)[nz // n_cls], idx=nz % n_cls,
                    docs=docs[nz], docs_clean=clean[nz], mentions=mentions[nz])


def _class_rows_ordered(d, f, m, form_class, form_amb, form_rep) -> tuple[pa.Table, int]:
    """``_class_rows`` (and the number of matched documents) for hits of role 'all' in (doc, form)
    order with classes in form order: a (doc, class) pair's hits are neighbours, so counting
    documents needs no sort."""
    c = form_class[f]
    n_cls = int(form_class.max()) + 1
    docs, n_matched = _distinct_pairs_per_class(d, c, n_cls)
    clean_hits = ~form_amb[f]
    clean, _ = _distinct_pairs_per_class(d[clean_hits], c[clean_hits], n_cls)
    mentions = np.bincount(c, weights=m * form_rep[f], minlength=n_cls).astype(np.int64)
    nz = np.flatnonzero(docs)
    return _partial(CLASS, len(nz), role=ALL_ROLE, idx=nz, docs=docs[nz], docs_clean=clean[nz],
                    mentions=mentions[nz]), n_matched


def _distinct_pairs_per_class(d, c, n_cls) -> tuple[np.ndarray, int]:
    """(documents per class, distinct documents) of (doc, class) pairs sorted by doc, then class."""
    if not len(d):
        return np.zeros(n_cls, np.int64), 0
    new_doc = np.empty(len(d), bool)
    new_doc[0] = True
    np.not_equal(d[1:], d[:-1], out=new_doc[1:])
    new_pair = new_doc.copy()
    new_pair[1:] |= c[1:] != c[:-1]
    return np.bincount(c[new_pair], minlength=n_cls), int(np.count_nonzero(new_doc))


def doc_key(doc_id, text) -> str:
    """The id shown for a document that has none: a hash of its text."""
    if doc_id is not None:
        return doc_id
    return "sha1:" + hashlib.sha1((text or "").encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _match_rows(batch, hits_all_role: pd.DataFrame, form_class, cap: int, seed: int, forms) -> pd.DataFrame:
    """Up to `cap` documents per class, the first in the hash order of `seed` (`match_sample`: an
    order of doc ids alone, so the final pick is partition-independent); each match's text is its
    caption around the form (`match_text`)."""

    docs = np.unique(hits_all_role.doc.to_numpy())
    names = batch.schema.names
    cols = {c: batch.column(c).take(pa.array(docs)).to_pylist() if c in names else [None] * len(docs)
            for c in ("doc_id", "text", "parts", "url", "nsfw", "punsafe")}
    texts = [t if t is not None else " | ".join(p["text"] for p in json.loads(ps or "[]"))
             for t, ps in zip(cols["text"], cols["parts"])]
    info = pd.DataFrame({
        "doc": docs,
        "doc_id": [doc_key(i, t) for i, t in zip(cols["doc_id"], texts)],
        "text": texts,
        "url": cols["url"], "nsfw": cols["nsfw"], "punsafe": cols["punsafe"]})
    x = hits_all_role.assign(idx=form_class[hits_all_role.form.to_numpy()]).merge(info, on="doc")
    keep = first_per_class(x.drop_duplicates(["idx", "doc_id"])[["idx", "doc_id"]], cap, seed)
    x = x.merge(keep, on=["idx", "doc_id"])
    return pd.DataFrame({"kind": MATCH, "role": ALL_ROLE, "idx": x.idx.to_numpy(), "name": x.form.astype(str),
                         "docs": 1, "mentions": x.mentions.to_numpy(), "doc_id": x.doc_id,
                         "text": [match_text(t, forms[f]) for t, f in zip(x.text, x.form)],
                         "url": x.url, "nsfw": x.nsfw, "punsafe": x.punsafe})
