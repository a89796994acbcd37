"""Fuzz test of the streaming JSON array splitter against json.loads: random documents (nested
arrays and objects, escaped quotes and backslashes, unicode, decoy keys and brackets inside
strings, random white space) split with random block sizes must give exactly the elements that
json.loads finds. Seeded, a few seconds."""
from __future__ import annotations

import io
import json
import random

import pytest

from classfreq.pipelines.documents import DocBuffer
from classfreq.pipelines.json_array_splitter import SKIPPED_OUTSIDE, JsonLayoutError, iter_records, split_pieces
from classfreq.pipelines.pieces import Ledger
from classfreq.pipelines.records import load_json_object

# string pieces chosen to break a splitter that looks at bytes without tracking strings and escapes
DECOYS = ['"conversations": [', '"annotations": [', "]", "}", "[", "{", ",", ":", '\\"', "\\", "\\\\", '"',
          "\\u0022", "\\n", "annotations", "conversations"]
CHARS = ["a", "Z", "0", " ", "/", "é", "寿司", "🌭", "\u2028", "\x00", "\n", "\t", "\x7f", "Ω"]
WHITESPACE = ["", "", "", " ", "\n", "\t", "\r\n", "  "]


def random_string(rng: random.Random) -> str:
    return "".join(rng.choice(DECOYS if rng.random() < 0.3 else CHARS) for _ in range(rng.randint(0, 8)))


def random_value(rng: random.Random, depth: int = 0):
    kind = rng.random()
    if depth >= 4 or kind < 0.35:
        return rng.choice([random_string(rng), random_string(rng), rng.randint(-10**12, 10**12),
                           rng.random() * 1e6, True, False, None])
    if kind < 0.65:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {random_string(rng): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def dump(value, rng: random.Random) -> str:
    """JSON text of ``value`` with random white space around every structural character."""
    def ws() -> str:
        return rng.choice(WHITESPACE)

    if isinstance(value, list):
        return "[" + ws() + ("," + ws()).join(dump(v, rng) + ws() for v in value) + "]"
    if isinstance(value, dict):
        items = (json.dumps(k, ensure_ascii=rng.random() < 0.5) + ws() + ":" + ws() + dump(v, rng) + ws()
                 for k, v in value.items())
        return "{" + ws() + ("," + ws()).join(items) + "}"
    return json.dumps(value, ensure_ascii=rng.random() < 0.5)


def split(data: bytes, block: int, member: str | None = None) -> list:
    return [json.loads(record) for record in iter_records(io.BytesIO(data), member=member, block=block)]


def test_top_level_arrays_split_like_json_loads():
    rng = random.Random(20240611)
    for _ in range(400):
        records = [random_value(rng, depth=1) for _ in range(rng.randint(0, 12))]
        data = (rng.choice(WHITESPACE) + dump(records, rng) + rng.choice(WHITESPACE)).encode("utf-8")
        expected = json.loads(data)
        for block in (rng.randint(1, 8), rng.randint(9, 200), 1 << 20):
            assert split(data, block) == expected, (block, data)


def test_member_array_of_an_object_splits_like_json_loads():
    """COCO layout: the array under "annotations", after decoys at depth 0 and deeper: a nested
    "annotations" key, a string value "annotations", brackets and keys inside strings."""
    rng = random.Random(7)
    for _ in range(300):
        records = [random_value(rng, depth=1) for _ in range(rng.randint(0, 10))]
        before = {f"k{i}": random_value(rng, depth=1) for i in range(rng.randint(0, 3))}
        before["info"] = {"annotations": [random_value(rng, 2)], "x": "annotations"}
        before["note"] = 'say "annotations": [1, 2] here'
        after = {f"z{i}": random_value(rng, depth=1) for i in range(rng.randint(0, 3))}
        doc = {**before, "annotations": records, **after}
        data = dump(doc, rng).encode("utf-8")
        expected = json.loads(data)["annotations"]
        for block in (rng.randint(1, 8), rng.randint(9, 200), 1 << 20):
            assert split(data, block, member="annotations") == expected, (block, data)


def test_escapes_at_every_block_boundary():
    """A backslash or quote that ends a block must be read together with the next block."""
    records = [{"value": 'a \\" b \\\\', "q": '"conversations": ["x"]'}, ["\\", '"', "]"], "\\\\\\\"", {}]
    data = json.dumps(records).encode()
    for block in range(1, len(data) + 2):
        assert split(data, block) == records, block


def test_layout_errors():
    with pytest.raises(JsonLayoutError, match="does not start with a JSON array"):
        split(b'{"a": 1}', 4)
    with pytest.raises(JsonLayoutError, match="has no 'annotations' array"):
        split(b'{"info": {"annotations": []}, "x": "annotations"}', 5, member="annotations")
    with pytest.raises(JsonLayoutError, match="is not an array"):
        split(b'{"annotations": {"a": 1}}', 3, member="annotations")
    with pytest.raises(JsonLayoutError, match="empty"):
        split(b"  \n ", 2)
    assert split(b"[ ]", 1) == [] and split(b'{"annotations": []}', 2, member="annotations") == []


def llava_records(rng: random.Random, n: int) -> list[dict]:
    return [{"id": f"{i:06d}", "image": f"{i}.jpg", "conversations": [
        {"from": rng.choice(["human", "gpt"]), "value": random_string(rng) + " a goldfish"}
        for _ in range(rng.randint(1, 4))]} for i in range(n)]


def test_one_broken_record_costs_only_itself():
    """A closing bracket inserted, or any bracket deleted, anywhere in one record (outside its
    strings; the issue's "closes early" and "unclosed" classes): every other record comes out
    intact, the damaged one as a few pieces (each quarantined downstream), and the ledger balances. (An inserted opening
    bracket can make valid JSON of several records, which no splitter can tell from data.)"""
    rng = random.Random(11)
    for trial in range(300):
        records = llava_records(rng, rng.randint(3, 12))
        texts = [json.dumps(r, indent=rng.choice([None, 2])) for r in records]
        k = rng.randrange(len(texts))
        spots = [i for i, c in enumerate(texts[k]) if c in "{}[]" and _outside_strings(texts[k], i)]
        i = rng.choice(spots)
        texts[k] = (texts[k][:i] + rng.choice("}]") + texts[k][i:] if rng.random() < 0.5
                    else texts[k][:i] + texts[k][i + 1:])
        data = ("[" + rng.choice([",", ",\n  ", ", "]).join(texts) + "]").encode()
        for block in (rng.randint(16, 300), 1 << 20):
            ledger = Ledger()
            pieces = list(split_pieces(io.BytesIO(data), block=block, ledger=ledger))
            good = [json.loads(p.raw) for p in pieces if p.reason is None and _loads(p.raw) is not None]
            others = [r for j, r in enumerate(records) if j != k]
            assert [g for g in good if g in others] == others, (trial, block, data)
            assert len(pieces) - len(others) <= 4 and ledger.read == len(data)
            ledger.check()


def _outside_strings(text: str, i: int) -> bool:
    return text[:i].replace('\\"', "").count('"') % 2 == 0


def _loads(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return None


def test_arrays_back_to_back_bom_and_text_after_are_accounted():
    a, b = json.dumps([1, {"x": "]"}]).encode(), json.dumps(["y"]).encode()
    for block in (1, 3, 64):
        ledger = Ledger()
        data = b"\xef\xbb\xbf" + a + b"\n\xef\xbb\xbf" + b + b"\n tail"
        pieces = list(split_pieces(io.BytesIO(data), block=block, ledger=ledger))
        assert [p.raw for p in pieces] == [b"1", b'{"x": "]"}', b'"y"', b"tail"]
        assert [p.reason for p in pieces] == [None, None, None, SKIPPED_OUTSIDE]
        records = len(b'1{"x": "]"}"y"')
        assert (ledger.read, ledger.record_bytes, ledger.skipped_bytes) == (len(data), records, len(b"tail"))
        assert ledger.structure_bytes == len(data) - records - len(b"tail")  # BOMs, brackets, commas, white space


def test_records_whose_first_key_recurs_inside_them_split_like_json_loads():
    """The fast path cuts the text at the last record start in it ('{' and the first record's
    first key): where that key also starts objects nested in records, or strings hold escaped
    quotes, brackets and the key itself, the split is still exactly json.loads's."""
    rng = random.Random(5)
    for _ in range(150):
        records = [{"id": i, "kids": [{"id": f'{i}.{j} \\" {{"id": ] "', "k": random_string(rng)}
                                      for j in range(rng.randint(0, 3))], "v": random_string(rng)}
                   for i in range(rng.randint(1, 30))]
        data = dump(records, rng).encode("utf-8")
        for block in (rng.randint(16, 300), 1 << 20):
            assert split(data, block) == records, (block, data)


def test_records_come_out_as_their_exact_bytes_invalid_utf8_included():
    texts = [b'{"id": "a\xff\xfe", "v": "\xc3\xa9"}', b'{"id": "b",\n "v": "x\\"y"}', b'{"id":"c"}']
    data = b"[" + b" ,\n".join(texts) + b"]"
    for block in (5, 1 << 20):
        ledger = Ledger()
        assert [p.raw for p in split_pieces(io.BytesIO(data), block=block, ledger=ledger)] == texts
        assert ledger.structure_bytes == len(data) - sum(map(len, texts))


def test_a_record_nested_deeper_than_the_decoders_go_is_one_record_quarantined_by_the_parser():
    """msgspec and the stdlib decoder raise RecursionError past about 1,000 levels: the bracket
    scanner (no depth limit) gives the record its extent, and the parser quarantines it."""
    deep = b'{"id": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    data = b'[{"id": 1}, ' + deep + b', {"id": 2}, {"id": 3}]'
    for block in (64, 1 << 20):
        assert [p.raw for p in split_pieces(io.BytesIO(data), block=block)] == [b'{"id": 1}', deep, b'{"id": 2}', b'{"id": 3}']
    buf = DocBuffer()
    assert load_json_object(deep, buf, "deep.json") is None and len(buf) == 1
