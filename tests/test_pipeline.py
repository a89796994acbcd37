"""The counting job on the real caption files: each reader, counts against a plain reference,
the document invariant, quarantine of bad records and unreadable files."""
from __future__ import annotations

import gzip
import json
from collections import defaultdict

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pipeline_support import assert_invariant, class_docs, count, labelset, stats

from classfreq.pipelines.json_array_splitter import iter_records
from classfreq.pipelines.matching import match_reference

CAPTIONS = "captions"


def reference_class_docs(texts_by_doc: dict, nested=False) -> dict:
    """Distinct documents per class from the matching reference implementation, one text at a time."""
    ls = labelset()
    forms = ls.forms.sort_values(["class_index", "form"])
    form_list, form_class = list(forms.form), list(forms.class_index)
    docs = defaultdict(set)
    ids = list(texts_by_doc)
    flat, owner = [], []
    for d in ids:
        for t in texts_by_doc[d]:
            flat.append(t)
            owner.append(d)
    hits = match_reference(form_list, flat, nested=nested)
    for i, f in zip(hits.doc.tolist(), hits.form.tolist()):
        docs[int(form_class[f])].add(owner[i])
    return {c: len(v) for c, v in docs.items()}


def test_cc3m_counts_equal_the_reference(shared, tmp_path):
    path = shared / CAPTIONS / "cc3m_val" / "Validation_GCC-1.1.0-Validation.tsv"
    res = count(tmp_path, path, "cc3m_val")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert stats(res)["docs_read"] == len(lines) == 15833
    assert_invariant(res)
    texts = {i: [ln.split("\t", 1)[0]] for i, ln in enumerate(lines)}
    assert class_docs(res) == reference_class_docs(texts)
    # per-form rows: docs never exceed the class's docs, and every matched class has a form row
    counts, classes = res.tables["counts"], res.tables["class_counts"]
    per_class_max = counts.groupby("class_index").docs.max()
    cls = classes[classes.role == "all"].set_index("class_index").docs
    assert (per_class_max <= cls.reindex(per_class_max.index)).all()
    assert set(counts.class_index) == {c for c, d in cls.items() if d > 0}
    assert (res.tables["class_counts"].docs_est == res.tables["class_counts"].docs).all()


def test_cc12m_layout_gives_the_same_counts(shared, tmp_path):
    src = shared / CAPTIONS / "cc3m_val" / "Validation_GCC-1.1.0-Validation.tsv"
    lines = src.read_text(encoding="utf-8").splitlines()[:3000]
    cc3m, cc12m = tmp_path / "cc3m.tsv", tmp_path / "cc12m.tsv.gz"
    cc3m.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with gzip.open(cc12m, "wt", encoding="utf-8") as f:
        f.write("\n".join("\t".join(reversed(ln.split("\t", 1))) for ln in lines) + "\n")
    a = count(tmp_path, cc3m, "a")
    b = count(tmp_path, cc12m, "b")  # format detected: url first -> cc12m
    assert class_docs(a) == class_docs(b) and stats(b)["docs_read"] == 3000


def test_laion_parquet_real_sample(shared, tmp_path):
    folder = shared / CAPTIONS / "laion400m_sample_img2dataset"
    res = count(tmp_path, folder, "laion_sample", max_matches_per_class=3)
    table = pq.read_table(folder / "test_10000.parquet").to_pandas()
    assert stats(res)["docs_read"] == 10000
    assert_invariant(res)
    texts = {i: [t] for i, t in enumerate(table.TEXT)}
    assert class_docs(res) == reference_class_docs(texts)
    m = res.tables["doc_matches"]
    assert len(m) and m.groupby("class_index").doc_id.nunique().max() <= 3
    assert m.doc_id.str.startswith("test_10000.parquet:").all() and m.url.str.startswith("http").all()


def _laion_rows(shared, n=2000):
    t = pq.read_table(shared / CAPTIONS / "laion400m_sample_img2dataset" / "test_10000.parquet").slice(0, n)
    return t.column("TEXT").to_pylist(), t.column("URL").to_pylist()


def test_laion_400m_and_2b_layouts_keep_ids_and_nsfw_fields(shared, tmp_path):
    texts, urls = _laion_rows(shared)
    n = len(texts)
    l400 = pa.table({"SAMPLE_ID": pa.array(range(1000, 1000 + n), pa.int64()), "URL": urls, "TEXT": texts,
                     "HEIGHT": [256] * n, "WIDTH": [256] * n, "LICENSE": ["?"] * n,
                     "NSFW": ["UNLIKELY" if i % 3 else "NSFW" for i in range(n)], "similarity": [0.3] * n})
    l2b = pa.table({"URL": urls, "TEXT": texts, "WIDTH": [256] * n, "HEIGHT": [256] * n,
                    "similarity": [0.3] * n, "hash": list(range(n)), "punsafe": [i / n for i in range(n)],
                    "pwatermark": [0.1] * n})
    pq.write_table(l400, tmp_path / "part-00000-400m.parquet")
    (tmp_path / "2b").mkdir()
    pq.write_table(l2b, tmp_path / "2b" / "part-00000.snappy.parquet")
    a = count(tmp_path, tmp_path / "part-00000-400m.parquet", "l400", max_matches_per_class=2)
    b = count(tmp_path, tmp_path / "2b", "l2b", max_matches_per_class=2)
    assert class_docs(a) == class_docs(b) == reference_class_docs({i: [t] for i, t in enumerate(texts)})
    ma, mb = a.tables["doc_matches"], b.tables["doc_matches"]
    assert ma.doc_id.astype(int).between(1000, 1000 + n).all() and set(ma.nsfw) <= {"UNLIKELY", "NSFW"}
    assert mb.punsafe.notna().all() and mb.nsfw.isna().all()


def test_img2dataset_and_generic_parquet(shared, tmp_path):
    texts, urls = _laion_rows(shared, 1000)
    pq.write_table(pa.table({"caption": texts, "url": urls, "key": [f"{i:09d}" for i in range(1000)],
                             "status": ["success"] * 1000}), tmp_path / "00000.parquet")
    pq.write_table(pa.table({"alt": texts, "uid": list(range(1000))}), tmp_path / "generic.parquet")
    a = count(tmp_path, tmp_path / "00000.parquet", "i2d")
    b = count(tmp_path, tmp_path / "generic.parquet", "gen", format="parquet",
              text_column="alt", id_column="uid", dedup="id")
    assert class_docs(a) == class_docs(b) and stats(a)["docs_read"] == 1000


def test_coco_captions_and_image_documents(shared, tmp_path):
    path = shared / CAPTIONS / "coco_val2017" / "captions_val2017.json"
    data = json.loads(path.read_text())
    per_caption = count(tmp_path, path, "coco")
    per_image = count(tmp_path, path, "coco_img", doc_unit="image")
    assert stats(per_caption)["docs_read"] == len(data["annotations"]) == 25014
    assert stats(per_image)["docs_read"] == len({a["image_id"] for a in data["annotations"]}) == 5000
    assert_invariant(per_caption)
    assert_invariant(per_image)
    by_image = defaultdict(list)
    for a in data["annotations"]:
        by_image[a["image_id"]].append(a["caption"])
    assert class_docs(per_image) == reference_class_docs(by_image)
    assert class_docs(per_caption) == reference_class_docs({a["id"]: [a["caption"]] for a in data["annotations"]})


def test_flickr_token_file_including_space_separated_lines(shared, tmp_path):
    path = shared / CAPTIONS / "flickr8k" / "Flickr8k.token.txt"
    res = count(tmp_path, path, "flickr8k")
    img = count(tmp_path, path, "flickr8k_img", doc_unit="image")
    assert stats(res)["docs_read"] == 40460 and stats(res)["docs_quarantined"] == 0
    assert stats(img)["docs_read"] == 8092
    by_image = defaultdict(list)
    for ln in path.read_text(encoding="utf-8").splitlines():
        key, sep, cap = ln.partition("\t")
        if not sep:
            key, _, cap = ln.partition(" ")
        by_image[key.split("#")[0]].append(cap)
    assert class_docs(img) == reference_class_docs(by_image)


def test_llava_evaluation_jsonl_files(shared, tmp_path):
    folder = shared / CAPTIONS / "llava_samples"
    qa90 = count(tmp_path, folder / "qa90_gpt4_answer.jsonl", "qa90", id_column="question_id")
    assert stats(qa90)["docs_read"] == 90 and stats(qa90)["docs_matched"] == 61
    qa90_recs = [json.loads(ln) for ln in (folder / "qa90_gpt4_answer.jsonl").read_text().splitlines()]
    assert class_docs(qa90) == reference_class_docs({r["question_id"]: [r["text"]] for r in qa90_recs})
    gpt4 = count(tmp_path, folder / "coco2014_val_gpt4_qa_30x3.jsonl", "gpt4qa", text_column="output")
    assert stats(gpt4)["docs_read"] == 90 and stats(gpt4)["docs_quarantined"] == 0
    assert stats(gpt4)["docs_matched"] == 64 and stats(gpt4)["docs_unmatched"] == 26
    caps = count(tmp_path, folder / "caps_boxes_coco2014_val_80.jsonl", "caps", text_column="captions")
    recs = [json.loads(ln) for ln in (folder / "caps_boxes_coco2014_val_80.jsonl").read_text().splitlines()]
    assert stats(caps)["docs_read"] == 80
    assert class_docs(caps) == reference_class_docs({r["id"] + str(i): r["captions"] for i, r in enumerate(recs)})


def _llava_samples():
    """Samples in exactly the shape of llava_v1_5_mix665k.json, with texts from the real captions."""
    return [
        {"id": "000000033471", "image": "coco/train2017/000000033471.jpg", "conversations": [
            {"from": "human", "value": "<image>\nWhat is the goldfish doing in the bowl?"},
            {"from": "gpt", "value": "The goldfish is swimming next to a tiger shark toy."}]},
        {"id": "000000052846", "image": "coco/train2017/000000052846.jpg", "conversations": [
            {"from": "human", "value": "Is there a goldfish?\n<image>"},
            {"from": "gpt", "value": "No, only a &quot;hot dog&quot; on a plate."},
            {"from": "human", "value": "And a cat?"}, {"from": "gpt", "value": "Yes, a tabby cat."}]},
        {"id": "ocr_vqa_1", "image": "ocr_vqa/images/1.jpg", "conversations": [
            {"from": "human", "value": "<image>\nWho wrote this book?"}, {"from": "gpt", "value": "Unknown."}]},
        {"id": "text_only_1", "conversations": [
            {"from": "human", "value": "Describe a banana."}, {"from": "gpt", "value": "A banana is yellow."}]},
        {"id": "broken_no_conv", "image": "x.jpg"},
        {"id": "broken_nonstring", "image": "y.jpg", "conversations": [{"from": "human", "value": 42}]},
    ]


def test_llava_training_json_array_counts_per_role(tmp_path):
    samples = _llava_samples()
    raw = json.dumps(samples, indent=2).encode()
    raw = raw[:-2] + b',\n  {"id": "malformed", "conversations": [ {"from": "human" "value": "x"} ]}\n]'
    path = tmp_path / "llava_v1_5_mix665k.json"
    path.write_bytes(raw)
    assert len(list(iter_records(open(path, "rb"), block=64))) == 7
    res = count(tmp_path, path, "llava", max_matches_per_class=5)
    s = stats(res)
    assert s["docs_read"] == 7 and s["docs_quarantined"] == 3
    assert_invariant(res)
    q = res.tables["quarantine"]
    assert {"LLaVA sample without conversations", "malformed JSON record"} <= set(q.reason)
    assert q.reason.str.startswith("non-string text").any()
    ls = labelset()
    goldfish = int(ls.classes.set_index("name").class_index.get("goldfish"))
    cc = res.tables["class_counts"].set_index(["role", "class_index"]).docs
    assert cc[("human", goldfish)] == 2 and cc[("gpt", goldfish)] == 1 and cc[("all", goldfish)] == 2
    assert "<image>" not in " ".join(res.tables["doc_matches"].text)
    only_gpt = count(tmp_path, path, "llava_gpt", roles=("gpt",))
    cg = only_gpt.tables["class_counts"].set_index(["role", "class_index"]).docs
    assert cg[("all", goldfish)] == 1 and "human" not in set(only_gpt.tables["class_counts"].role)


def test_quarantine_and_odd_but_valid_documents(tmp_path):
    good = [
        {"text": "<b>A goldfish</b> in a <a href='x'>bowl</a>"}, {"text": "&quot;Goldfish&quot; &amp; friends"},
        {"text": "🐟 goldfish 🐠🐡"}, {"text": "金魚 goldfish Золотая рыбка"}, {"text": ""},
        {"text": "goldfish " + "x" * (1 << 20)}, {"text": "   "}, {"text": "no class here"},
    ]
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in good]
    lines += [b'{"text": "unterminated', b'{"caption": "no text field"}', b'{"text": 12}',
              b'{"text": {"nested": "object"}}', b'["not", "an", "object"]',
              b'{"text": "bad bytes \xff\xfe goldfish"}', b'{"text": null}']
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n\n")
    res = count(tmp_path, path, "mixed", format="jsonl")
    s = stats(res)
    assert s["docs_read"] == len(lines) and s["docs_quarantined"] == 7
    assert s["docs_matched"] == 5 and s["docs_unmatched"] == 3
    assert_invariant(res)
    reasons = set(res.tables["quarantine"].reason)
    assert "invalid UTF-8 bytes" in reasons and "malformed JSON record" in reasons
    assert any(r.startswith("record without a text field") for r in reasons)
    assert any(r.startswith("non-string text") for r in reasons)
    assert res.tables["quarantine"].example.str.len().max() <= 501


def test_csv_with_text_column_and_malformed_rows(tmp_path):
    path = tmp_path / "captions.csv"
    path.write_text('id,caption,url\n1,"A goldfish, in a bowl",http://a\n2,a tabby cat,http://b\n'
                    '3,"unterminated quote,http://c\n4,too,many,fields,here\n5,,http://e\n', encoding="utf-8")
    res = count(tmp_path, path, "csv", text_column="caption", id_column="id", max_matches_per_class=2)
    s = stats(res)
    # rows 1 (goldfish) and 2 (tabby cat) match; 5 (empty caption) is a valid unmatched document
    assert s["docs_read"] == 5 and s["docs_quarantined"] == 2 and s["docs_matched"] == 2 and s["docs_unmatched"] == 1
    assert_invariant(res)
    assert set(res.tables["doc_matches"].url) == {"http://a", "http://b"}
    assert set(res.tables["doc_matches"].doc_id) == {"1", "2"}
    q = res.tables["quarantine"]  # row 3 (unterminated quote) and row 4 (five fields)
    assert q.reason.str.startswith("malformed CSV record").all() and q.n.tolist() == [1, 1]


def test_unreadable_files_are_reported_and_the_job_finishes(shared, tmp_path):
    texts, urls = _laion_rows(shared, 500)
    good = tmp_path / "in" / "part-0.parquet"
    good.parent.mkdir()
    pq.write_table(pa.table({"TEXT": texts, "URL": urls}), good)
    data = good.read_bytes()
    (tmp_path / "in" / "part-1.parquet").write_bytes(data[: len(data) // 2])  # truncated
    res = count(tmp_path, tmp_path / "in", "trunc")
    s = stats(res)
    assert s["files_failed"] == 1 and s["docs_read"] == 500
    q = res.tables["quarantine"]
    assert q.file.str.endswith("part-1.parquet").any() and q.reason.str.contains("Parquet").any()
    tsv = tmp_path / "tsv"
    tsv.mkdir()
    with gzip.open(tsv / "a.tsv.gz", "wt") as f:
        f.write("a goldfish\thttp://x\n" * 100)
    whole = gzip.compress("".join(f"a tabby cat {i}\thttp://y/{i * 7919}\n" for i in range(5000)).encode())
    (tsv / "b.tsv.gz").write_bytes(whole[: len(whole) // 2])  # truncated gzip
    (tsv / "c.tsv.gz").write_bytes(b"this is not gzip at all")
    res = count(tmp_path, tsv, "gz", format="cc3m")
    s = stats(res)
    assert s["files_failed"] == 2 and s["docs_read"] == 100 and s["docs_matched"] == 100
    assert_invariant(res)


def test_hadoop_uris_go_through_spark_and_the_jvm_filesystem(shared, tmp_path):
    """file:// URIs take the same path as s3a:// or hdfs:// (Hadoop FileSystem listing, checks and
    streaming), so that code runs here; results equal the local-path run."""
    src = shared / CAPTIONS / "cc3m_val" / "Validation_GCC-1.1.0-Validation.tsv"
    folder = tmp_path / "tsv"
    folder.mkdir()
    lines = src.read_text(encoding="utf-8").splitlines()[:2000]
    (folder / "part-0.tsv").write_text("\n".join(lines[:1000]) + "\n", encoding="utf-8")
    (folder / "part-1.tsv").write_text("\n".join(lines[1000:]) + "\n", encoding="utf-8")
    (folder / "part-2.tsv.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode())[:300])
    local = count(tmp_path, [folder / "part-0.tsv", folder / "part-1.tsv"], "local", format="cc3m")
    uri = count(tmp_path, f"file://{folder}/part-*", "uri", format="cc3m")
    assert class_docs(uri) == class_docs(local) and stats(uri)["docs_read"] == 2000
    assert stats(uri)["files_failed"] == 1
    llava = tmp_path / "llava.json"
    llava.write_text(json.dumps(_llava_samples()), encoding="utf-8")
    a = count(tmp_path, llava, "llava_local")
    b = count(tmp_path, f"file://{llava}", "llava_uri")
    assert class_docs(a) == class_docs(b) and stats(b)["docs_read"] == 6
    pq.write_table(pa.table({"TEXT": ["a goldfish"] * 10}), tmp_path / "ok.parquet")
    (tmp_path / "bad.parquet").write_bytes((tmp_path / "ok.parquet").read_bytes()[:-10])
    c = count(tmp_path, f"file://{tmp_path}/*.parquet", "pq_uri")
    assert stats(c)["files_failed"] == 1 and stats(c)["docs_matched"] == 10


def test_parquet_invalid_utf8_null_and_non_string_text_are_quarantined(tmp_path):
    texts = [b"a goldfish", b"bad \xff\xfe goldfish", None, b"", "金魚 goldfish".encode()]
    pq.write_table(pa.table({"TEXT": pa.array(texts, pa.binary()), "URL": ["u"] * 5}), tmp_path / "bin.parquet")
    res = count(tmp_path, tmp_path / "bin.parquet", "bin", format="laion")
    s = stats(res)
    assert (s["docs_read"], s["docs_quarantined"], s["docs_matched"], s["docs_unmatched"]) == (5, 2, 2, 1)
    assert set(res.tables["quarantine"].reason) == {"invalid UTF-8 bytes", "record without a text field ('TEXT')"}
    pq.write_table(pa.table({"TEXT": [1, 2, 3]}), tmp_path / "ints.parquet")
    res = count(tmp_path, tmp_path / "ints.parquet", "ints", format="laion", allow_all_bad=True)  # every record is bad
    assert stats(res)["docs_quarantined"] == 3 and res.tables["quarantine"].reason.str.startswith("non-string text").all()
    assert_invariant(res)


def test_csv_files_with_different_headers_are_refused(tmp_path):
    """Lines are read with the first file's header: a second file whose columns are in another order
    would silently count its ids as captions."""
    from classfreq.errors import UserError
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("id,caption\n1,a goldfish\n", encoding="utf-8")
    b.write_text("caption,id\na tabby cat,2\n", encoding="utf-8")
    with pytest.raises(UserError, match="differs"):
        count(tmp_path, [a, b], "csv2", text_column="caption")
    b.write_text("id,caption\n2,a tabby cat\n", encoding="utf-8")
    res = count(tmp_path, [a, b], "csv2", text_column="caption")
    assert stats(res)["docs_read"] == 2 and stats(res)["docs_matched"] == 2


def test_generic_parquet_list_of_strings_is_several_captions_of_one_document(shared, tmp_path):
    """README: for jsonl, csv and parquet a list of strings counts as several captions of one document."""
    recs = [json.loads(ln) for ln in (shared / CAPTIONS / "llava_samples" / "caps_boxes_coco2014_val_80.jsonl")
            .read_text().splitlines()]
    ids = [f"{r['id']}-{i}" for i, r in enumerate(recs)]
    caps = [r["captions"] for r in recs]
    path = tmp_path / "captions.parquet"
    pq.write_table(pa.table({"id": ids + ["empty", "hole"], "captions": caps + [[], ["a goldfish", None]]}), path)
    res = count(tmp_path, path, "caps_pq", format="parquet", text_column="captions")
    s = stats(res)
    assert s["docs_read"] == 82 and s["docs_quarantined"] == 2
    assert_invariant(res)
    assert class_docs(res) == reference_class_docs(dict(zip(ids, caps)))
    # the same list column under another Parquet layout (--text-column picks it there too)
    i2d = count(tmp_path, path, "caps_i2d", format="img2dataset", text_column="captions")
    assert class_docs(i2d) == class_docs(res)


def test_a_lone_carriage_return_inside_a_caption_does_not_split_the_record(tmp_path):
    path = tmp_path / "cr.tsv"
    # a CRLF line end (stripped) and a lone "\r" inside a caption (kept: one document)
    path.write_bytes(b"a goldfish\rin a bowl\thttp://a\r\na tabby cat\thttp://b\n")
    res = count(tmp_path, path, "cr", format="cc3m", max_matches_per_class=2)
    s = stats(res)
    assert s["docs_read"] == 2 and s["docs_quarantined"] == 0 and s["docs_matched"] == 2
    assert set(res.tables["doc_matches"].url) == {"http://a", "http://b"}
