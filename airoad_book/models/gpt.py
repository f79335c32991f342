r"""A decoder-only Transformer language model: a small GPT.

Alec Radford, Karthik Narasimhan, Tim Salimans and Ilya Sutskever (2018), *Improving
Language Understanding by Generative Pre-Training*,
<https://cdn.openai.com/research-covers/language-unsupervised/language_understanding_paper.pdf>;
with the layout of GPT-2: Alec Radford, Jeffrey Wu, Rewon Child, David Luan, Dario
Amodei and Ilya Sutskever (2019), *Language Models are Unsupervised Multitask Learners*,
<https://cdn.openai.com/better-language-models/language_models_are_unsupervised_multitask_learners.pdf>.

Vaswani et al. (2017) built an encoder that reads the source and a decoder that writes
the target. Liu et al. (2018), <https://arxiv.org/abs/1801.10198>, dropped the encoder
to write Wikipedia articles; Radford et al. took that decoder-only model — masked
self-attention and a feed-forward layer, repeated — and pre-trained it on one objective,
the oldest one in this book: predict the next token, $L = -\sum_t \log P(u_t \mid
u_{t-k}, \dots, u_{t-1})$. With no source sentence there is no cross-attention; the mask
makes position $t$ see positions $\le t$ only, so one forward pass over a block of $T$
tokens scores all $T$ predictions at once, in parallel, where an RNN must walk the block
step by step. The paper then fine-tuned the pre-trained model on labelled tasks and beat
task-specific architectures on 9 of 12; here we keep the first half, a language model,
and train it on Shakespeare one character at a time.

Where GPT-1 normalised *after* each residual addition (post-LN, as Vaswani et al.), this
file uses GPT-2's pre-LN block, $x + \mathrm{Attn}(\mathrm{LN}(x))$ then $x +
\mathrm{MLP}(\mathrm{LN}(x))$, with a last LayerNorm before the output. The residual
stream then carries the identity from the embedding to the output untouched, so
gradients at initialisation are well scaled at any depth and training needs no long
warm-up (Xiong et al. 2020, <https://arxiv.org/abs/2002.04745>). The input embedding and
the output projection share one matrix (weight tying: Press & Wolf 2017,
<https://arxiv.org/abs/1608.05859>), as in both GPTs.

Symbols: B batch, T time (positions), C = d_model channels, H heads, D = C / H the size
of one head, V vocabulary, L layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "GPTConfig",
    "CausalSelfAttention",
    "MLP",
    "Block",
    "GPT",
    "KVCache",
    "CachedStep",
    "RecomputeStep",
]


# --8<-- [start:config]
@dataclass(frozen=True)
class GPTConfig:
    """Shapes of the model. The defaults are a small character-level GPT for a CPU."""

    vocab_size: int = 96  # V, distinct tokens (ids 0 … V-1)
    context: int = 128  # T_max, the most positions the model can see (n_ctx)
    d_model: int = 128  # C, width of the residual stream
    num_heads: int = 4  # H; each head has D = C / H channels
    num_layers: int = 4  # L, decoder blocks
    d_ff: int = 0  # inner width of the MLP; 0 means 4 * d_model, as in both GPTs
    dropout: float = (
        0.0  # on attention weights, and after each sub-block and the embedding
    )
    bias: bool = True  # biases in the linear layers and LayerNorms
    tie_weights: bool = (
        True  # output projection = input embedding (one matrix, counted once)
    )

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context", "d_model", "num_heads", "num_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GPTConfig.{name} must be an int >= 1; got {value!r}")
        if (
            isinstance(self.d_ff, bool)
            or not isinstance(self.d_ff, int)
            or self.d_ff < 0
        ):
            raise ValueError(
                f"GPTConfig.d_ff must be an int >= 0 (0: 4 * d_model); got "
                f"{self.d_ff!r}"
            )
        if self.d_model % self.num_heads:
            raise ValueError(
                f"GPTConfig.d_model ({self.d_model}) must be divisible by num_heads "
                f"({self.num_heads}): each head gets d_model / num_heads channels"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(
                f"GPTConfig.dropout must be in [0, 1); got {self.dropout!r}"
            )

    @property
    def ff(self) -> int:
        """The MLP's inner width: d_ff, or 4 * d_model when d_ff is 0."""
        return self.d_ff or 4 * self.d_model

    @property
    def head_dim(self) -> int:
        """D = d_model / num_heads, the channels of one head."""
        return self.d_model // self.num_heads


# --8<-- [end:config]


# --8<-- [start:cache]
class KVCache:
    """The keys and values every layer has computed so far, so generation need not redo
    them.

    Generating token t+1 needs the attention of position t over positions 0 … t. Without
    a cache the model recomputes the keys and values of all t+1 positions at every step,
    and a sample of n tokens costs O(n²) positions through the whole network; with it,
    each step pushes one new position through the network and reads the stored k, v of
    the rest.

    Buffers are allocated once, for the whole context: ``k`` and ``v`` are (L, B, H,
    T_max, D); ``length`` counts the positions filled (the same in every layer once a
    forward pass ends).
    """

    def __init__(
        self, config: GPTConfig, batch: int, *, device=None, dtype=torch.float32
    ) -> None:
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"KVCache batch must be an int >= 1; got {batch!r}")
        shape = (
            config.num_layers,
            batch,
            config.num_heads,
            config.context,
            config.head_dim,
        )
        self.k = torch.zeros(shape, device=device, dtype=dtype)  # (L, B, H, T_max, D)
        self.v = torch.zeros(shape, device=device, dtype=dtype)  # (L, B, H, T_max, D)
        self.length = 0  # positions stored
        self.context = config.context

    def append(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store layer ``layer``'s new k, v (B, H, T, D) after the ones held; return all
        of them, (B, H, length + T, D). ``length`` moves on when the last layer has
        appended."""
        start, end = self.length, self.length + k.shape[2]
        self.k[layer, :, :, start:end] = k
        self.v[layer, :, :, start:end] = v
        if layer == self.k.shape[0] - 1:
            self.length = end
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]


# --8<-- [end:cache]


# --8<-- [start:attention]
class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t attends to positions 0 … t only.

    One linear layer makes queries, keys and values for all heads at once (a (C, 3C)
    matrix: one large matmul instead of 3H small ones); PyTorch's fused
    ``F.scaled_dot_product_attention`` computes softmax(Q Kᵀ / √D + M) V for every head
    with the causal mask M (0 on and below the diagonal, -∞ above) without ever storing
    the (T, T) weights in memory. x (B, T, C) -> (B, T, C).
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        C = config.d_model
        self.num_heads, self.dropout = config.num_heads, config.dropout
        self.qkv = nn.Linear(C, 3 * C, bias=config.bias)  # W_Q, W_K, W_V side by side
        self.proj = nn.Linear(
            C, C, bias=config.bias
        )  # W_O, mixes the heads back together
        self.resid_drop = nn.Dropout(config.dropout)

    def forward(
        self, x: Tensor, cache: KVCache | None = None, layer: int = 0
    ) -> Tensor:
        """x (B, T, C) -> (B, T, C). With ``cache``, x holds the positions after the
        cached ones and attends to those as well; the new keys and values are stored in
        it."""
        B, T, C = x.shape
        H = self.num_heads
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 × (B, T, C)
        q = q.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
        v = v.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, D)
        past = 0
        if cache is not None:
            past = cache.length
            k, v = cache.append(layer, k, v)  # (B, H, past + T, D)
        p = self.dropout if self.training else 0.0
        if past == 0:  # plain causal attention over the block
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:  # new query i sits at position past + i: it sees keys 0 … past + i
            mask = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(
                diagonal=past
            )
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C) heads side by side again
        return self.resid_drop(self.proj(y))  # (B, T, C)


# --8<-- [end:attention]


# --8<-- [start:mlp]
class MLP(nn.Module):
    """The position-wise feed-forward layer: C -> 4C -> GELU -> C, the same at every
    position.

    GELU (Hendrycks & Gimpel 2016) is the smooth ReLU both GPTs use. x (B, T, C) -> (B,
    T, C).
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(config.d_model, config.ff, bias=config.bias)  # (C -> 4C)
        self.proj = nn.Linear(config.ff, config.d_model, bias=config.bias)  # (4C -> C)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, T, C) -> (B, T, C)."""
        return self.drop(self.proj(F.gelu(self.fc(x))))  # (B, T, C)


# --8<-- [end:mlp]


# --8<-- [start:block]
class Block(nn.Module):
    """One pre-LN decoder block (GPT-2): x + Attn(LN(x)), then x + MLP(LN(x)). (B, T, C)
    -> (B, T, C).

    The residual stream x is never normalised in place: each sub-block reads a
    normalised copy and adds its answer back, so the identity path runs from the
    embedding to the output through every block.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.mlp = MLP(config)

    def forward(
        self, x: Tensor, cache: KVCache | None = None, layer: int = 0
    ) -> Tensor:
        """x (B, T, C) -> (B, T, C); ``cache`` and ``layer`` pass through to the
        attention."""
        x = x + self.attn(self.ln1(x), cache, layer)  # (B, T, C)
        return x + self.mlp(self.ln2(x))  # (B, T, C)


# --8<-- [end:block]


class GPT(nn.Module):
    """The decoder-only language model: token + position embeddings, L blocks, LN, tied
    output.

    ``forward(idx (B, T) ids)`` returns next-token logits (B, T, V): row t scores the
    token after idx[:, t], having seen idx[:, :t+1] only. T may not exceed
    ``config.context``.
    """

    # --8<-- [start:init]
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise ValueError(f"GPT expects a GPTConfig; got {type(config).__name__}")
        self.config = config
        C = config.d_model
        self.tok_emb = nn.Embedding(config.vocab_size, C)  # (V, C) a vector per token
        self.pos_emb = nn.Embedding(
            config.context, C
        )  # (T_max, C) a learned vector per position
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.ln_f = nn.LayerNorm(C, bias=config.bias)  # GPT-2's final LayerNorm
        self.head = nn.Linear(C, config.vocab_size, bias=False)  # (C -> V) scores
        if config.tie_weights:
            self.head.weight = self.tok_emb.weight  # one Parameter, two uses
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """GPT-2's initialisation: weights N(0, 0.02²), biases 0, LayerNorms (1, 0), and
        the two projections that write into the residual stream scaled by 1/√(2L), so
        the stream's variance does not grow with depth (each block adds two terms to
        it)."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
            if isinstance(module, nn.LayerNorm):
                module.reset_parameters()
        for block in self.blocks:
            for proj in (block.attn.proj, block.mlp.proj):
                nn.init.normal_(
                    proj.weight,
                    mean=0.0,
                    std=0.02 / math.sqrt(2 * self.config.num_layers),
                )

    # --8<-- [end:init]

    # --8<-- [start:forward]
    def forward(self, idx: Tensor, cache: KVCache | None = None) -> Tensor:
        """Logits (B, T, V) for the token after each of idx (B, T).

        With a ``cache``, idx holds the positions that follow the cached ones (a prompt,
        then one token per step) and the new keys and values are stored in the cache.
        """
        start = 0 if cache is None else cache.length
        self._check_ids(idx, start)
        T = idx.shape[1]
        pos = torch.arange(
            start, start + T, device=idx.device
        )  # (T,) absolute positions
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))  # (B, T, C)
        for layer, block in enumerate(self.blocks):
            x = block(x, cache, layer)  # (B, T, C)
        return self.head(self.ln_f(x))  # (B, T, V)

    # --8<-- [end:forward]

    def _check_ids(self, idx: Tensor, start: int) -> None:
        """Reject what the model cannot read, with a message that says what it
        expected."""
        c = self.config
        if not isinstance(idx, Tensor) or idx.ndim != 2:
            got = tuple(idx.shape) if isinstance(idx, Tensor) else type(idx).__name__
            raise ValueError(f"GPT expects token ids of shape (B, T); got {got}")
        if (
            idx.dtype.is_floating_point
            or idx.dtype.is_complex
            or idx.dtype == torch.bool
        ):
            raise ValueError(
                f"GPT expects integer token ids (torch.long); got dtype {idx.dtype}"
            )
        if start + idx.shape[1] > c.context:
            held = f" after the {start} cached positions" if start else ""
            raise ValueError(
                f"sequence of length {idx.shape[1]}{held} is longer than the model's "
                f"context of "
                f"{c.context} positions: crop it to the last {c.context - start} tokens"
            )
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= c.vocab_size):
            raise ValueError(
                f"GPT expects token ids in [0, {c.vocab_size - 1}] (vocab_size "
                f"{c.vocab_size}); "
                f"got ids from {int(idx.min())} to {int(idx.max())}"
            )

    @property
    def num_parameters(self) -> int:
        """How many numbers the model learns; a tied matrix counts once."""
        return sum(p.numel() for p in self.parameters())


# --8<-- [start:generation]
class RecomputeStep:
    """A ``step_fn`` for `airoad_book.decode.generate` without a cache: at every step
    the whole window of the last ``context`` ids goes through the model again. ids (1,
    k) -> (1, V)."""

    def __init__(self, model: GPT) -> None:
        self.model = model

    def __call__(self, ids: Tensor) -> Tensor:
        window = ids[
            :, -self.model.config.context :
        ]  # (1, ≤ T_max) the model's whole view
        return self.model(window)[:, -1]  # (1, V) the logits after the last id


class CachedStep:
    """A ``step_fn`` for `airoad_book.decode.generate` with a `KVCache`: each call feeds
    only the ids the model has not read yet (the prompt, then one id per step). ids (1,
    k) -> (1, V).

    Within the context its logits equal `RecomputeStep`'s. When the cache is full it
    starts again from the last ``context // 2`` ids (the window jumps where
    recomputation slides), so beyond the context the two may choose differently. Use a
    fresh one per sample.
    """

    def __init__(self, model: GPT) -> None:
        self.model, self.cache, self.seen = model, None, 0

    def __call__(self, ids: Tensor) -> Tensor:
        c, k = self.model.config, ids.shape[1]
        if self.cache is None or self.cache.length + (k - self.seen) > c.context:
            keep = min(k, c.context if self.cache is None else max(1, c.context // 2))
            self.cache = KVCache(
                c, ids.shape[0], device=ids.device
            )  # empty, for the last `keep` ids
            self.seen = k - keep
        new = ids[:, self.seen :]  # (1, k - seen) ids not read yet
        self.seen = k
        return self.model(new, self.cache)[:, -1]  # (1, V)


# --8<-- [end:generation]
