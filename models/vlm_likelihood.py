"""Log-probability of every class name given one image and prompt: three methods, same scores.

A name's score is the sum over its tokens of log p(token | image, prompt, earlier name tokens)
(the study's rule); divide by `lengths` for the length-normalised variant.

- `score_naive`: one full forward pass (vision tower included) per (image, name): the reference.
- `score_packed`: one forward pass per image; the names are packed after the prompt with a block
  attention mask (each name sees the prompt and its own earlier tokens) and position ids that
  restart after the prompt for every name. Dense (P+N)^2 mask.
- `score_cached`: the prompt (and image) runs once with a KV cache; the names then run against
  that cache in chunks, as a token trie: names sharing leading tokens share those nodes, and a
  name's last token is never fed (its logits are not needed). Each chunk's mask is only
  chunk x (prompt + chunk), so attention stays small and the linear layers see each distinct
  (prefix-of-a-name) token once.

`prefix` is what the model's processor returns for (prompt text, image): input_ids of shape (1, P)
with the image placeholders expanded, pixel_values and any other image inputs.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from classfreq.errors import require

torch = require("torch", extra="models", purpose="model evaluation")


def _extras(prefix: dict) -> dict:
    return {k: v for k, v in prefix.items() if k not in ("input_ids", "attention_mask")}


def _language_model(model):
    inner = getattr(model, "model", model)
    return getattr(inner, "language_model", None) or model.language_model


def _cache_kw(module) -> str:
    params = inspect.signature(module.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _output_cache(out):
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def _additive(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(Q, K) bool -> (1, 1, Q, K) additive mask: the form every attention backend accepts."""
    mask = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    return mask.masked_fill_(~allowed, torch.finfo(dtype).min)[None, None]


def _log_probs(model, hidden: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(model.get_output_embeddings()(hidden).float(), dim=-1)


@torch.inference_mode()
def score_naive(model, prefix: dict, names: list[list[int]]) -> torch.Tensor:
    ids = prefix["input_ids"]
    P = ids.shape[1]
    scores = torch.empty(len(names), dtype=torch.float32)
    for i, name in enumerate(names):
        name_t = torch.tensor([name], dtype=ids.dtype, device=ids.device)
        logits = model(input_ids=torch.cat([ids, name_t], dim=1), **_extras(prefix)).logits[0]
        lp = torch.log_softmax(logits[P - 1: P - 1 + len(name)].float(), dim=-1)
        scores[i] = lp.gather(1, name_t[0, :, None].to(lp.device)).sum().cpu()
    return scores


@torch.inference_mode()
def score_packed(model, prefix: dict, names: list[list[int]]) -> torch.Tensor:
    ids = prefix["input_ids"]
    device, P = ids.device, ids.shape[1]
    lengths = torch.tensor([len(n) for n in names], device=device)
    N = int(lengths.sum())
    seg = torch.cat([torch.full((P,), -1, device=device),
                     torch.repeat_interleave(torch.arange(len(names), device=device), lengths)])
    starts = torch.cumsum(lengths, 0) - lengths + P
    local = torch.arange(P + N, device=device) - torch.cat(
        [torch.zeros(P, dtype=torch.long, device=device), starts.repeat_interleave(lengths)])
    position = torch.cat([torch.arange(P, device=device), P + local[P:]])
    q, k = torch.arange(P + N, device=device)[:, None], torch.arange(P + N, device=device)[None, :]
    allowed = ((k < P) & ((q >= P) | (k <= q))) | ((seg[:, None] == seg[None, :]) & (seg[None, :] >= 0) & (k <= q))
    flat = torch.tensor([t for n in names for t in n], dtype=ids.dtype, device=device)
    inner = getattr(model, "model", model)
    dtype = next(model.parameters()).dtype
    hidden = inner(input_ids=torch.cat([ids, flat[None]], dim=1), attention_mask=_additive(allowed, dtype),
                   position_ids=position[None], **_extras(prefix)).last_hidden_state[0]
    # the logits at position p predict token p+1 of the same name; P-1 predicts every first token
    scores = _log_probs(model, hidden[P - 1])[flat[starts - P]]
    inner_pos = torch.arange(P, P + N, device=device)[local[P:] > 0]   # tokens 2..L of each name
    if len(inner_pos):
        lp = _log_probs(model, hidden[inner_pos - 1])
        scores = scores.index_add(0, seg[inner_pos], lp.gather(1, flat[inner_pos - P][:, None])[:, 0])
    return scores.cpu()


@dataclass
class _Trie:
    token: list       # per node: the token it feeds
    depth: list       # per node: 1-based position after the prompt
    parent: list      # per node: parent node or -1
    root: list        # per node: the root node of its subtree
    edges: list       # (node, next token, name): log p(next token | path to node) belongs to name
    first: list       # per name: its first token (scored from the prompt's last position)


def _build_trie(names: list[list[int]], share_prefixes: bool) -> _Trie:
    trie = _Trie([], [], [], [], [], [])
    index: dict[tuple, int] = {}
    for i, name in enumerate(names):
        if not name:
            raise ValueError(f"class name {i} has no tokens")
        trie.first.append(name[0])
        parent = -1
        for depth in range(1, len(name)):
            key = tuple(name[:depth]) if share_prefixes else (i, *name[:depth])
            node = index.get(key)
            if node is None:
                node = index[key] = len(trie.token)
                trie.token.append(name[depth - 1])
                trie.depth.append(depth)
                trie.parent.append(parent)
                trie.root.append(node if parent < 0 else trie.root[parent])
            trie.edges.append((node, name[depth], i))
            parent = node
    return trie


def _chunks(trie: _Trie, chunk_tokens: int) -> list[list[int]]:
    """Whole subtrees per chunk (a node's ancestors are always in its chunk), in node order."""
    by_root: dict[int, list[int]] = {}
    for node, root in enumerate(trie.root):
        by_root.setdefault(root, []).append(node)
    chunks, current = [], []
    for nodes in by_root.values():
        if current and len(current) + len(nodes) > chunk_tokens:
            chunks.append(current)
            current = []
        current.extend(nodes)
    if current:
        chunks.append(current)
    return chunks


@dataclass
class CachedPlan:
    """Everything about the names that does not depend on the image: build once, reuse per image."""

    first: torch.Tensor                 # (names,) first token of each name
    chunks: list                        # per chunk: (tokens (Q,), depth (Q,), allowed (Q, Q), edges (E, 3) local)
    n_names: int
    fed_tokens: int                     # tokens run through the model after the prompt, all chunks
    _placed: dict = field(default_factory=dict, repr=False)

    def placed(self, prompt_length: int, device, dtype) -> list:
        """The chunks as device tensors with their (prompt + chunk) additive masks, made once per prompt length."""
        key = (prompt_length, str(device), dtype)
        if key not in self._placed:
            self._placed[key] = [
                (tokens.to(device), (prompt_length - 1 + depth).to(device),
                 _additive(torch.cat([torch.ones(len(tokens), prompt_length, dtype=torch.bool), allowed], 1).to(device),
                           dtype), edges.to(device))
                for tokens, depth, allowed, edges in self.chunks]
        return self._placed[key]

    @classmethod
    def build(cls, names: list[list[int]], chunk_tokens: int = 1024, share_prefixes: bool = True) -> CachedPlan:
        trie = _build_trie(names, share_prefixes)
        parent = torch.tensor(trie.parent, dtype=torch.long)
        edges = torch.tensor(trie.edges, dtype=torch.long).reshape(-1, 3)
        chunks = []
        for nodes in _chunks(trie, chunk_tokens):
            nodes_t = torch.tensor(nodes, dtype=torch.long)
            local = torch.full((len(trie.token),), -1, dtype=torch.long)
            local[nodes_t] = torch.arange(len(nodes))
            Q = len(nodes)
            allowed = torch.zeros(Q, Q, dtype=torch.bool)
            rows, anc = torch.arange(Q), nodes_t.clone()
            while len(rows):  # walk every node up to its root, marking ancestors (and itself)
                allowed[rows, local[anc]] = True
                anc = parent[anc]
                keep = anc >= 0
                rows, anc = rows[keep], anc[keep]
            mine = edges[local[edges[:, 0]] >= 0]
            mine = torch.stack([local[mine[:, 0]], mine[:, 1], mine[:, 2]], dim=1)
            chunks.append((torch.tensor([trie.token[n] for n in nodes]),
                           torch.tensor([trie.depth[n] for n in nodes]), allowed, mine))
        return cls(torch.tensor(trie.first), chunks, len(names), len(trie.token))


def trie_size(names: list[list[int]], share_prefixes: bool = True) -> int:
    """Tokens the cached method feeds for these names (the packed method feeds sum of lengths)."""
    return len(_build_trie(names, share_prefixes).token)


@torch.inference_mode()
def score_cached(model, prefix: dict, names: list[list[int]] | None = None, chunk_tokens: int = 1024,
                 share_prefixes: bool = True, plan: CachedPlan | None = None) -> torch.Tensor:
    ids = prefix["input_ids"]
    device, P = ids.device, ids.shape[1]
    plan = plan or CachedPlan.build(names, chunk_tokens, share_prefixes)
    inner = getattr(model, "model", model)
    out = inner(input_ids=ids, use_cache=True, **_extras(prefix))
    cache = _output_cache(out)
    saved = [(layer.keys, layer.values) for layer in cache.layers]
    scores = _log_probs(model, out.last_hidden_state[0, -1])[plan.first.to(device)]
    lm = _language_model(model)
    cache_kw = _cache_kw(lm)
    dtype = next(model.parameters()).dtype
    for tokens, position, mask, edges in plan.placed(P, device, dtype):
        hidden = lm(input_ids=tokens[None].to(ids.dtype), attention_mask=mask, position_ids=position[None],
                    use_cache=True, **{cache_kw: cache}).last_hidden_state[0]
        for layer, (keys, values) in zip(cache.layers, saved):  # drop this chunk from the prompt's cache
            layer.keys, layer.values = keys, values
        lp = _log_probs(model, hidden)
        scores = scores.index_add(0, edges[:, 2], lp[edges[:, 0], edges[:, 1]])
    return scores.cpu()


METHODS = {"naive": score_naive, "packed": score_packed, "cached": score_cached}


def score_names(model, prefix: dict, names: list[list[int]], method: str = "cached", **options) -> torch.Tensor:
    if method not in METHODS:
        raise ValueError(f"unknown likelihood method {method!r}; use one of {', '.join(METHODS)}")
    return METHODS[method](model, prefix, names, **(options if method == "cached" else {}))


def answer_token_ids(tokenizer, prompt_text: str, answers: list[str], sep: str = " ") -> tuple[list[list[int]], list[str]]:
    """Tokens of each answer as they follow the prompt; returns (ids, answers tokenized on their own).

    The answer is tokenized inside prompt + sep + answer, so the tokens are the ones the model
    would produce; where the tokenizer merges across the boundary the answer is tokenized alone
    and listed.
    """
    base = tokenizer(prompt_text).input_ids
    ids, alone = [], []
    for answer in answers:
        full = tokenizer(prompt_text + sep + answer).input_ids
        if full[:len(base)] == base and len(full) > len(base):
            ids.append(full[len(base):])
        else:
            ids.append(tokenizer(sep + answer, add_special_tokens=False).input_ids)
            alone.append(answer)
    return ids, alone
