"""Turning a language model's logits into text.

A language model gives a distribution over the next token; decoding chooses one. This
file holds the choices the book uses, each a small function of the logits:

- `greedy_next`: the single most probable token (argmax);
- `sample_next`: a draw from softmax(logits / temperature), optionally restricted to the
  k most probable tokens (top-k, as in Fan, Lewis & Dauphin 2018,
  <https://arxiv.org/abs/1805.04833>);
- `generate`: the autoregressive loop — predict, choose, append, repeat — for any model
  wrapped as a `step_fn`;
- `greedy_translate`: the same loop for an encoder–decoder (chapters 9–11), a batch of
  source sentences at a time, through the translation models' protocol
  (`encode`, `init_state`, `step`);
- `beam_search`: for a translation model, the K most probable partial translations kept
  at every step instead of one (Sutskever et al. 2014), ranked at the end with GNMT's
  length penalty (Wu et al. 2016, <https://arxiv.org/abs/1609.08144>).

Chapter 12 adds a KV cache here.
"""

from collections.abc import Callable
from typing import NamedTuple

import torch

__all__ = [
    "greedy_next",
    "sample_next",
    "generate",
    "select_rows",
    "greedy_translate",
    "Hypothesis",
    "length_penalty",
    "beam_hypotheses",
    "beam_search",
]


def _check_logits(logits: torch.Tensor) -> None:
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[1] < 1:
        got = (
            tuple(logits.shape)
            if isinstance(logits, torch.Tensor)
            else type(logits).__name__
        )
        raise ValueError(f"expected logits of shape (B, V) with V >= 1; got {got}")
    if not logits.dtype.is_floating_point:
        raise ValueError(f"expected floating-point logits; got dtype {logits.dtype}")


# --8<-- [start:greedy]
def greedy_next(logits: torch.Tensor) -> torch.Tensor:
    """The most probable next token of each row: argmax over V. (B, V) -> (B,)."""
    _check_logits(logits)
    return logits.argmax(dim=-1)  # (B,)


# --8<-- [end:greedy]


# --8<-- [start:sample]
def sample_next(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw one next token per row from softmax(logits / temperature). (B, V) -> (B,).

    temperature: > 0. Below 1 sharpens the distribution (towards greedy as it nears 0),
        above 1 flattens it (towards uniform). 0 is not allowed: use `greedy_next`.
    top_k: if given, only the k highest logits of each row can be drawn (ties with the
        k-th are kept); k larger than V means no restriction.
    top_p: nucleus sampling (Holtzman et al. 2020): if given, in (0, 1], only the
    smallest
        set of most probable tokens whose probabilities (after temperature and top_k) sum
        to at least top_p can be drawn, renormalized; 1 means no restriction.
    generator: a seeded `torch.Generator` makes the draws reproducible.
    """
    _check_logits(logits)
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not (0.0 < temperature < float("inf"))
    ):
        raise ValueError(
            f"temperature must be a finite number > 0 (use greedy_next for argmax); "
            f"got {temperature!r}"
        )
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1
    ):
        raise ValueError(f"top_k must be None or an int >= 1; got {top_k!r}")
    if top_p is not None and (
        isinstance(top_p, bool)
        or not isinstance(top_p, (int, float))
        or not 0.0 < top_p <= 1.0
    ):
        raise ValueError(f"top_p must be None or a number in (0, 1]; got {top_p!r}")
    y = logits / temperature  # (B, V)
    if top_k is not None and top_k < y.shape[1]:
        kth = torch.topk(y, top_k, dim=-1).values[
            :, -1:
        ]  # (B, 1) the k-th largest logit
        y = y.masked_fill(y < kth, float("-inf"))  # (B, V) all but the top k get p = 0
    p = torch.softmax(y, dim=-1)  # (B, V)
    if top_p is not None and top_p < 1.0:
        p_sorted, order = p.sort(dim=-1, descending=True)  # (B, V) most probable first
        before = (
            p_sorted.cumsum(dim=-1) - p_sorted
        )  # (B, V) mass of the tokens ranked above
        p_sorted = p_sorted.masked_fill(
            before >= top_p, 0.0
        )  # the nucleus reached top_p already
        p = torch.zeros_like(p).scatter_(
            -1, order, p_sorted
        )  # (B, V) back in vocabulary order
    return torch.multinomial(p, num_samples=1, generator=generator).squeeze(1)  # (B,)


# --8<-- [end:sample]


# --8<-- [start:generate]
@torch.no_grad()
def generate(
    step_fn: Callable[[torch.Tensor], torch.Tensor],
    context: list[int],
    steps: int,
    *,
    stop_id: int | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> list[int]:
    """Sample up to `steps` new tokens after `context`, one at a time.

    step_fn maps the ids so far, a LongTensor (1, k), to the next token's logits (1, V).
    It sees the whole history, so it decides how much to use: a model with a fixed
    window of n-1 words keeps the last n-1 ids itself,

        generate(lambda ids: model(ids[:, -(n - 1):]), prompt, 50)

    and the caller makes the prompt at least n-1 ids long (pad it on the left with a
    start-of-text id). The ids are on the CPU; a step_fn for a model elsewhere moves
    them (`ids.to(device)`). Returns only the new ids; it stops early after producing
    `stop_id`, which is then the last id returned. temperature, top_k and top_p are
    `sample_next`'s; top_k=1 is greedy decoding.
    """
    if len(context) < 1:
        raise ValueError(
            "context must hold at least one id (e.g. a start-of-text id); got []"
        )
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an int >= 0; got {steps!r}")
    ids = torch.tensor([context], dtype=torch.long)  # (1, k)
    new: list[int] = []
    for _ in range(steps):
        logits = step_fn(ids)  # (1, V)
        if (
            not isinstance(logits, torch.Tensor)
            or logits.ndim != 2
            or logits.shape[0] != 1
        ):
            got = (
                tuple(logits.shape)
                if isinstance(logits, torch.Tensor)
                else type(logits)
            )
            raise ValueError(f"step_fn must return logits of shape (1, V); got {got}")
        next_id = sample_next(
            logits,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            generator=generator,
        )
        new.append(int(next_id))
        ids = torch.cat([ids, next_id.view(1, 1).to(ids.device)], dim=1)  # (1, k+1)
        if stop_id is not None and new[-1] == stop_id:
            break
    return new


# --8<-- [end:generate]


def select_rows(tree, index: torch.Tensor):
    """Rows `index` (dim 0) of every tensor in a tensor, tuple, list or dict (nested).

    A translation model keeps its memory and decoder state batch-first, so this one
    function can reorder them (beam search keeps the best hypotheses) or repeat them
    (``index = arange(B).repeat_interleave(k)`` makes k copies of each sentence).
    """
    if isinstance(tree, torch.Tensor):
        return tree.index_select(0, index.to(tree.device))
    if isinstance(tree, tuple):
        return tuple(select_rows(t, index) for t in tree)
    if isinstance(tree, list):
        return [select_rows(t, index) for t in tree]
    if isinstance(tree, dict):
        return {k: select_rows(v, index) for k, v in tree.items()}
    if tree is None:
        return None
    raise ValueError(
        f"select_rows expects a tensor, or a tuple/list/dict of them; got "
        f"{type(tree).__name__}"
    )


def _check_translation_args(
    src: torch.Tensor, src_lengths: torch.Tensor, max_len: int
) -> None:
    if src.ndim != 2 or src_lengths.shape != (src.shape[0],):
        raise ValueError(
            f"expected src (B, S) and src_lengths (B,); got {tuple(src.shape)} and "
            f"{tuple(src_lengths.shape)}"
        )
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"max_len must be an int >= 1; got {max_len!r}")


# --8<-- [start:greedy_translate]
@torch.no_grad()
def greedy_translate(
    model,
    src: torch.Tensor,
    src_lengths: torch.Tensor,
    *,
    bos_id: int,
    eos_id: int,
    max_len: int,
) -> list[list[int]]:
    """Translate a batch by taking the most probable token at every step.

    model follows the translation protocol: ``encode(src, src_lengths)`` gives a memory,
    ``init_state(memory)`` the decoder's first state, and ``step(prev, state, memory)``
    maps the previous tokens (B,) to logits (B, V) and the next state. src is (B, S),
    padded on the right; src_lengths is (B,). Every sentence starts from `bos_id` and
    ends at its first `eos_id` or after `max_len` tokens. Returns one list of ids per
    sentence, without `<bos>` and `<eos>`.
    """
    _check_translation_args(src, src_lengths, max_len)
    memory = model.encode(src, src_lengths)
    state = model.init_state(memory)
    prev = torch.full(
        (src.shape[0],), bos_id, dtype=torch.long, device=src.device
    )  # (B,)
    out = torch.empty(src.shape[0], 0, dtype=torch.long, device=src.device)
    done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)  # (B,)
    for _ in range(max_len):
        logits, state = model.step(prev, state, memory)  # (B, V)
        prev = greedy_next(logits)  # (B,)
        out = torch.cat([out, prev[:, None]], dim=1)  # (B, t)
        done |= prev == eos_id
        if done.all():
            break
    results = []
    for row in out.tolist():
        results.append(row[: row.index(eos_id)] if eos_id in row else row)
    return results


# --8<-- [end:greedy_translate]


# --8<-- [start:beam]
class Hypothesis(NamedTuple):
    """One translation found by beam search.

    tokens: the ids, without ``<eos>``; log_prob: its log-probability under the model,
    in nats (the ``<eos>`` included when it ended with one); score: log_prob / lp, the
    number beams are ranked by at the end (see `length_penalty`).
    """

    tokens: list[int]
    log_prob: float
    score: float


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's lp(Y) = ((5 + |Y|) / 6) ** alpha (Wu et al. 2016); alpha = 0 gives 1.

    A log-probability only falls as tokens are added, so ranking by it favours short
    outputs; dividing by lp(Y), which grows with the length |Y| (tokens, ``<eos>``
    counted), evens that out. alpha = 1 is close to dividing by the length itself.
    """
    return ((5.0 + length) / 6.0) ** alpha


@torch.no_grad()
def beam_hypotheses(
    model: torch.nn.Module,
    src: torch.Tensor,
    src_lengths: torch.Tensor,
    *,
    beam_size: int,
    bos_id: int,
    eos_id: int,
    max_len: int,
    alpha: float = 0.6,
) -> list[list[Hypothesis]]:
    """Beam search over a batch of sentences at once; for each, its hypotheses, best
    first.

    src (B, S) and src_lengths (B,) as for the model's `encode`. The B·K beams run as
    one batch of rows through `model.step`. At every step each beam's log-probability is
    extended by every next token, (B, K·V) candidates per sentence; a candidate ending
    in ``<eos>`` and ranked among the K best is finished (set aside with its
    length-normalized score), and the K best candidates not ending in ``<eos>`` live on.
    A sentence stops after K finished hypotheses; at `max_len` steps the live beams are
    kept too, unfinished. With beam_size=1 this is greedy decoding. Returns B lists of
    `Hypothesis`, sorted by score.
    """
    _check_translation_args(src, src_lengths, max_len)
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be an int >= 1; got {beam_size!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha < 0:
        raise ValueError(
            f"alpha must be a number >= 0 (0: no length penalty); got {alpha!r}"
        )
    B, K = src.shape[0], beam_size
    memory = model.encode(src, src_lengths)
    memory = select_rows(
        memory, torch.arange(B, device=src.device).repeat_interleave(K)
    )  # B·K rows
    state = model.init_state(memory)
    scores = torch.full(
        (B, K), float("-inf"), device=src.device
    )  # (B, K) log p of each beam
    scores[:, 0] = 0.0  # one live beam to start with: <bos>
    tokens = torch.empty(B, K, 0, dtype=torch.long, device=src.device)  # (B, K, t)
    prev = torch.full((B * K,), bos_id, dtype=torch.long, device=src.device)  # (B·K,)
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    done = [False] * B
    for _ in range(max_len):
        logits, state = model.step(prev, state, memory)  # (B·K, V)
        V = logits.shape[-1]
        if not 0 <= eos_id < V:
            raise ValueError(f"eos_id must be a token id in 0..{V - 1}; got {eos_id!r}")
        candidates = scores.unsqueeze(-1) + torch.log_softmax(logits.float(), -1).view(
            B, K, V
        )
        # finish: an <eos> among the K best candidates of a sentence
        best, where = candidates.view(B, K * V).topk(K, dim=1)  # (B, K)
        ends = (where % V == eos_id) & (best > float("-inf"))  # (B, K)
        for b, j in ends.nonzero().tolist():
            if not done[b]:
                beam, log_p = int(where[b, j]) // V, float(best[b, j])
                n = tokens.shape[2] + 1  # the <eos> counts in |Y|
                finished[b].append(
                    Hypothesis(
                        tokens[b, beam].tolist(),
                        log_p,
                        log_p / length_penalty(n, alpha),
                    )
                )
        done = [d or len(f) >= K for d, f in zip(done, finished)]
        if all(done):
            break
        # live on: the K best candidates that do not end in <eos>
        candidates[:, :, eos_id] = float("-inf")
        scores, where = candidates.view(B, K * V).topk(K, dim=1)  # (B, K)
        beam, token = (
            where // V,
            where % V,
        )  # (B, K) which beam each came from, its new token
        tokens = torch.cat(
            [
                tokens.gather(1, beam.unsqueeze(-1).expand_as(tokens)),
                token.unsqueeze(-1),
            ],
            dim=2,
        )  # (B, K, t+1)
        rows = (beam + K * torch.arange(B, device=src.device).unsqueeze(1)).view(
            -1
        )  # (B·K,)
        state = select_rows(state, rows)  # each new beam continues its parent's state
        prev = token.view(-1)  # (B·K,)
    for b in range(B):
        if not done[b]:  # out of steps: the live beams count as they are, without <eos>
            n = tokens.shape[2]
            finished[b] += [
                Hypothesis(
                    tokens[b, k].tolist(),
                    float(scores[b, k]),
                    float(scores[b, k]) / length_penalty(n, alpha),
                )
                for k in range(K)
                if scores[b, k] > float("-inf")
            ]
    return [sorted(f, key=lambda h: h.score, reverse=True) for f in finished]


def beam_search(
    model: torch.nn.Module,
    src: torch.Tensor,
    src_lengths: torch.Tensor,
    *,
    beam_size: int,
    bos_id: int,
    eos_id: int,
    max_len: int,
    alpha: float = 0.6,
) -> list[list[int]]:
    """The best translation of each sentence by beam search: B lists of ids, without
    ``<eos>``.

    src (B, S), src_lengths (B,). Same arguments as `beam_hypotheses`, which also
    returns the other hypotheses and their scores.
    """
    found = beam_hypotheses(
        model,
        src,
        src_lengths,
        beam_size=beam_size,
        bos_id=bos_id,
        eos_id=eos_id,
        max_len=max_len,
        alpha=alpha,
    )
    return [hypotheses[0].tokens for hypotheses in found]


# --8<-- [end:beam]
