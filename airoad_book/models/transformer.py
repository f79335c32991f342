r"""Attention Is All You Need: the Transformer encoder–decoder.

Ashish Vaswani, Noam Shazeer, Niki Parmar, Jakob Uszkoreit, Llion Jones, Aidan N. Gomez,
Łukasz Kaiser and Illia Polosukhin (2017), NeurIPS 2017,
<https://arxiv.org/abs/1706.03762>.

Chapter 10's decoder attends to the source, but both of its halves are still recurrent:
the encoder reads one word after another, and the decoder needs $s_{i-1}$ before it can
attend for $s_i$. Vaswani et al. removed the recurrence. Every position of a sentence
reads every other position directly, with one kind of attention,

$$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q
K^\top}{\sqrt{d_k}}\right) V,$$

run $h$ times in parallel on learned projections (*multi-head* attention). The encoder
is a stack of $N$ identical layers, each self-attention followed by a position-wise
feed-forward network, each wrapped in a residual connection and a layer normalization.
The decoder's layers add a second attention, over the encoder's output, and mask their
self-attention so that position $t$ sees only positions $\le t$. Word order, which a
recurrence gave for free, comes from sinusoidal *positional encodings* added to the
embeddings. Every position of a training sentence is then computed at once, as a few
large matrix products.

Symbols follow the paper: $d_{model}$ the width of every layer's output, $h$ the heads,
$d_k = d_v = d_{model}/h$ the width of one head, $d_{ff}$ the feed-forward's hidden
width, $N$ the layers, $W^Q_i, W^K_i, W^V_i, W^O$ the projections, $PE$ the positional
encodings.

The model follows the book's translation protocol (chapters 9–11): `forward` (teacher
forcing), `encode`, `init_state` and `step`, so chapter 9's greedy and beam search
decode it unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from airoad_book.models.seq2seq import (
    check_source,
)  # the same batch format as chapters 9–10

__all__ = [
    "NORMS",
    "TransformerConfig",
    "scaled_dot_product_attention",
    "MultiHeadAttention",
    "sinusoidal_positions",
    "padding_mask",
    "causal_mask",
    "FeedForward",
    "PostNorm",
    "PreNorm",
    "RESIDUALS",
    "EncoderLayer",
    "DecoderLayer",
    "Embeddings",
    "Transformer",
]

NORMS = (
    "post",
    "pre",
)  # where the layer normalization sits: the paper's "post", or "pre"


# --8<-- [start:config]
@dataclass(frozen=True)
class TransformerConfig:
    """Sizes of the model. The paper's base model: d_model 512, h 8, d_ff 2048, N 6 + 6
    layers, dropout 0.1, 65 million parameters. The defaults here fit a CPU."""

    source_vocab: int  # source words (ids 0 … source_vocab - 1; 0 is padding)
    target_vocab: int  # target words (0 padding, 1 <bos>, 2 <eos>, ...)
    d_model: int = (
        64  # width of every embedding and sublayer output (even: sin and cos pairs)
    )
    num_heads: int = 4  # h; each head has d_k = d_v = d_model / h
    d_ff: int = 256  # hidden width of the position-wise feed-forward network
    encoder_layers: int = 2  # N on the encoder side
    decoder_layers: int = 2  # N on the decoder side
    dropout: float = 0.1  # P_drop, on every sublayer output and on the embeddings + PE
    max_len: int = 256  # the longest source or target (tokens) the model accepts
    # "post": LayerNorm(x + Sublayer(x)), the paper's; "pre": x + Sublayer(LayerNorm(x))
    norm: str = "post"
    tie_output: bool = True  # the output projection reuses the target embedding matrix

    def __post_init__(self) -> None:
        for name, least in (
            ("source_vocab", 2),
            ("target_vocab", 4),
            ("d_model", 2),
            ("num_heads", 1),
            ("d_ff", 1),
            ("encoder_layers", 1),
            ("decoder_layers", 1),
            ("max_len", 1),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(
                    f"TransformerConfig.{name} must be an int >= {least}; got {value!r}"
                )
        if self.d_model % self.num_heads:
            raise ValueError(
                f"TransformerConfig.d_model must be divisible by num_heads (d_k = "
                f"d_model / h); "
                f"got d_model={self.d_model}, num_heads={self.num_heads}"
            )
        if self.d_model % 2:
            raise ValueError(
                f"TransformerConfig.d_model must be even (sin and cos pairs); got "
                f"{self.d_model}"
            )
        if (
            isinstance(self.dropout, bool)
            or not isinstance(self.dropout, (int, float))
            or not 0.0 <= self.dropout < 1.0
        ):
            raise ValueError(
                f"TransformerConfig.dropout must be a number in [0, 1); got "
                f"{self.dropout!r}"
            )
        if self.norm not in NORMS:
            raise ValueError(
                f"TransformerConfig.norm must be one of {NORMS}; got {self.norm!r}"
            )


# --8<-- [end:config]


# --8<-- [start:attention]
def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """softmax(Q K^T / sqrt(d_k)) V, and the weights.

    q (..., T_q, d_k), k (..., T_k, d_k), v (..., T_k, d_v), where ... are batch dims
    (B, h for multi-head attention). mask: bool, broadcastable to (..., T_q, T_k), True
    where a query may attend to a key (as
    `torch.nn.functional.scaled_dot_product_attention` reads a boolean mask). Every
    query needs at least one key it may attend to. Returns out (..., T_q, d_v) and
    weights (..., T_q, T_k), each row summing to 1.
    """
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., T_q, T_k)
    if mask is not None:
        scores = scores.masked_fill(
            ~mask, float("-inf")
        )  # e^{-inf} = 0: no weight at all
    weights = torch.softmax(scores, dim=-1)  # (..., T_q, T_k)
    return weights @ v, weights  # (..., T_q, d_v), (..., T_q, T_k)


# --8<-- [end:attention]


# --8<-- [start:multihead]
class MultiHeadAttention(nn.Module):
    """MultiHead(Q, K, V) = Concat(head_1, …, head_h) W^O, head_i = Attention(Q W^Q_i, K
    W^K_i, V W^V_i).

    The h projections W^Q_i (d_model, d_k) side by side are one (d_model, d_model)
    matrix, so each of Q, K, V takes one linear layer and the result is split into
    heads. The weights are laid out as `torch.nn.MultiheadAttention`'s: its
    in_proj_weight is [W_q; W_k; W_v] stacked on dim 0, its out_proj is W_o.
    """

    def __init__(self, d_model: int, num_heads: int) -> None:
        super().__init__()
        if d_model % num_heads:
            raise ValueError(
                f"d_model must be divisible by num_heads; got {d_model} and {num_heads}"
            )
        self.h, self.d_k = num_heads, d_model // num_heads
        # Biases on all four projections, as nn.MultiheadAttention; the paper has none.
        self.W_q = nn.Linear(d_model, d_model)  # the h matrices W^Q_i side by side
        self.W_k = nn.Linear(d_model, d_model)
        self.W_v = nn.Linear(d_model, d_model)
        self.W_o = nn.Linear(d_model, d_model)  # W^O, (h d_v, d_model)

    def split(self, x: Tensor) -> Tensor:
        """(B, T, d_model) -> (B, h, T, d_k): one slice of the features per head."""
        return x.unflatten(-1, (self.h, self.d_k)).transpose(1, 2)

    def keys_values(self, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        """key, value (B, T_k, d_model) -> K W^K and V W^V split into heads, each (B, h,
        T_k, d_k)."""
        return self.split(self.W_k(key)), self.split(self.W_v(value))

    def attend(
        self, query: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """query (B, T_q, d_model) reads keys and values already projected, (B, h, T_k,
        d_k).

        Returns the output (B, T_q, d_model) and every head's weights (B, h, T_q, T_k).
        """
        q = self.split(self.W_q(query))  # (B, h, T_q, d_k)
        heads, weights = scaled_dot_product_attention(q, k, v, mask)  # (B, h, T_q, d_v)
        concat = heads.transpose(1, 2).flatten(
            2
        )  # (B, T_q, h d_v) Concat(head_1, …, head_h)
        return self.W_o(concat), weights  # (B, T_q, d_model), (B, h, T_q, T_k)

    def forward(
        self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """query (B, T_q, d_model), key and value (B, T_k, d_model); mask broadcastable
        to (B, h, T_q, T_k), True where attending is allowed.

        Returns the output (B, T_q, d_model) and every head's weights (B, h, T_q, T_k).
        """
        return self.attend(query, *self.keys_values(key, value), mask)


# --8<-- [end:multihead]


# --8<-- [start:positions]
def sinusoidal_positions(length: int, d_model: int) -> Tensor:
    """The paper's positional encodings, (length, d_model):

    PE(pos, 2i) = sin(pos / 10000^(2i / d_model)),  PE(pos, 2i + 1) = cos(pos /
    10000^(2i / d_model)).

    Each pair of dimensions is a sine and cosine of one frequency; wavelengths grow
    geometrically from 2π to 10000·2π, so PE(pos + k) is a fixed rotation of PE(pos).
    """
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise ValueError(f"length must be an int >= 0; got {length!r}")
    if (
        isinstance(d_model, bool)
        or not isinstance(d_model, int)
        or d_model < 2
        or d_model % 2
    ):
        raise ValueError(f"d_model must be an even int >= 2; got {d_model!r}")
    pos = torch.arange(length, dtype=torch.float32).unsqueeze(1)  # (length, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (d_model / 2,) 2i
    angle = pos / 10000 ** (two_i / d_model)  # (length, d_model / 2)
    pe = torch.empty(length, d_model)
    pe[:, 0::2] = torch.sin(angle)  # even dimensions
    pe[:, 1::2] = torch.cos(angle)  # odd dimensions
    return pe  # (length, d_model)


# --8<-- [end:positions]


# --8<-- [start:masks]
def padding_mask(lengths: Tensor, width: int) -> Tensor:
    """(B,) sentence lengths -> (B, width) bool, True at real tokens, False at
    padding."""
    return torch.arange(width, device=lengths.device) < lengths.unsqueeze(
        1
    )  # (B, width)


def causal_mask(
    length: int, past: int = 0, device: torch.device | str | None = None
) -> Tensor:
    """(length, past + length) bool: query i, at position past + i, may read keys 0 …
    past + i.

    With past = 0 it is the lower triangle: position t reads only 0 … t. With past > 0
    the queries are the newest `length` positions of a sequence whose first `past` keys
    are cached.
    """
    return torch.ones(length, past + length, dtype=torch.bool, device=device).tril(
        diagonal=past
    )


# --8<-- [end:masks]


# --8<-- [start:feedforward]
class FeedForward(nn.Module):
    """FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, the same two layers at every position."""

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.W_1 = nn.Linear(d_model, d_ff)
        self.W_2 = nn.Linear(d_ff, d_model)

    def forward(self, x: Tensor) -> Tensor:
        """(B, T, d_model) -> (B, T, d_model); no position reads another."""
        return self.W_2(torch.relu(self.W_1(x)))  # (B, T, d_ff) inside


# --8<-- [end:feedforward]


# --8<-- [start:residual]
class PostNorm(nn.Module):
    """The paper's residual connection: LayerNorm(x + Dropout(Sublayer(x))).

    A layer calls `inputs(x)` for what its sublayer reads, then `add(x, out)` with the
    sublayer's output.
    """

    def __init__(self, d_model: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)

    def inputs(self, x: Tensor) -> Tensor:
        """What the sublayer reads: x itself, (B, T, d_model)."""
        return x

    def add(self, x: Tensor, out: Tensor) -> Tensor:
        """x and Sublayer's output, both (B, T, d_model) -> LayerNorm(x +
        Dropout(out))."""
        return self.norm(x + self.drop(out))


class PreNorm(PostNorm):
    """The pre-LN residual connection: x + Dropout(Sublayer(LayerNorm(x))).

    The residual stream x is never normalized, so gradients reach the lower layers
    undamped; a stack of these needs a final LayerNorm (the model's `encoder_norm`,
    `decoder_norm`).
    """

    def inputs(self, x: Tensor) -> Tensor:
        """What the sublayer reads: LayerNorm(x), (B, T, d_model)."""
        return self.norm(x)

    def add(self, x: Tensor, out: Tensor) -> Tensor:
        """x and Sublayer's output, both (B, T, d_model) -> x + Dropout(out)."""
        return x + self.drop(out)


RESIDUALS = {"post": PostNorm, "pre": PreNorm}
# --8<-- [end:residual]


# --8<-- [start:encoder_layer]
class EncoderLayer(nn.Module):
    """Self-attention over the source, then the feed-forward network, each in a
    residual."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        d, residual = config.d_model, RESIDUALS[config.norm]
        self.self_attn = MultiHeadAttention(d, config.num_heads)
        self.ffn = FeedForward(d, config.d_ff)
        self.res_attn = residual(d, config.dropout)
        self.res_ffn = residual(d, config.dropout)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, S, d_model), mask (B, 1, 1, S) True at real words -> x (B, S, d_model),
        weights (B, h, S, S)."""
        z = self.res_attn.inputs(x)
        a, weights = self.self_attn(z, z, z, mask)  # every word reads every real word
        x = self.res_attn.add(x, a)
        x = self.res_ffn.add(x, self.ffn(self.res_ffn.inputs(x)))
        return x, weights


# --8<-- [end:encoder_layer]


# --8<-- [start:decoder_layer]
KeysValues = tuple[Tensor, Tensor]  # K and V of one attention, each (B, h, T, d_k)


class DecoderLayer(nn.Module):
    """Masked self-attention, attention over the encoder's output, feed-forward; each in
    a residual.

    The layer reads T new target positions and the keys and values of the positions
    before them (none in training, where all T positions come at once; all but the
    newest when decoding one word at a time), so both uses run the same code.
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        d, residual = config.d_model, RESIDUALS[config.norm]
        self.self_attn = MultiHeadAttention(d, config.num_heads)
        self.cross_attn = MultiHeadAttention(d, config.num_heads)
        self.ffn = FeedForward(d, config.d_ff)
        self.res_self = residual(d, config.dropout)
        self.res_cross = residual(d, config.dropout)
        self.res_ffn = residual(d, config.dropout)

    def forward(
        self, y: Tensor, past: KeysValues, memory: KeysValues, memory_mask: Tensor
    ) -> tuple[Tensor, KeysValues, Tensor, Tensor]:
        """y (B, T, d_model) the new positions; past, the self-attention's K and V of
        the t0 positions before them, (B, h, t0, d_k); memory, the cross-attention's K
        and V of the source, (B, h, S, d_k); memory_mask (B, 1, 1, S), True at real
        source words.

        Returns y (B, T, d_model), the K and V of all t0 + T positions (B, h, t0 + T,
        d_k), and the weights of the self-attention (B, h, T, t0 + T) and of the
        cross-attention (B, h, T, S).
        """
        t0, T = past[0].shape[2], y.shape[1]
        z = self.res_self.inputs(y)
        k, v = self.self_attn.keys_values(
            z, z
        )  # (B, h, T, d_k): the new positions' keys and values
        k, v = (
            torch.cat([past[0], k], dim=2),
            torch.cat([past[1], v], dim=2),
        )  # (B, h, t0 + T, d_k)
        a, self_weights = self.self_attn.attend(
            z, k, v, causal_mask(T, t0, y.device)
        )  # t reads 0 … t
        y = self.res_self.add(y, a)
        z = self.res_cross.inputs(y)
        a, cross_weights = self.cross_attn.attend(
            z, *memory, memory_mask
        )  # queries from the target,
        y = self.res_cross.add(y, a)  # keys and values from the source
        y = self.res_ffn.add(y, self.ffn(self.res_ffn.inputs(y)))
        return y, (k, v), self_weights, cross_weights


# --8<-- [end:decoder_layer]


# --8<-- [start:embeddings]
class Embeddings(nn.Module):
    """Token ids -> Dropout(sqrt(d_model) · E[ids] + PE): the input of a stack.

    E starts with N(0, 1/d_model) entries, so sqrt(d_model) · E has entries of about
    unit size, like the positional encodings it is added to (and, tied to the output
    layer, gives logits of about unit size at the start).
    """

    def __init__(self, vocab: int, config: TransformerConfig) -> None:
        super().__init__()
        self.d_model, self.max_len = config.d_model, config.max_len
        self.E = nn.Embedding(vocab, config.d_model, padding_idx=0)  # (V, d_model)
        nn.init.normal_(self.E.weight, std=config.d_model**-0.5)
        with torch.no_grad():
            self.E.weight[0].zero_()  # padding stays zero
        self.register_buffer(
            "pe", sinusoidal_positions(config.max_len, config.d_model), persistent=False
        )
        self.drop = nn.Dropout(config.dropout)

    def forward(self, ids: Tensor, start: int = 0) -> Tensor:
        """ids (B, T) at positions start … start + T - 1 -> (B, T, d_model).

        A ValueError if the sequence would run past the config's max_len.
        """
        end = start + ids.shape[1]
        if end > self.max_len:
            raise ValueError(
                f"a sequence of {end} tokens is longer than max_len={self.max_len}; "
                "build the model with a larger TransformerConfig.max_len"
            )
        x = self.E(ids) * math.sqrt(self.d_model)  # (B, T, d_model)
        return self.drop(x + self.pe[start:end])  # (B, T, d_model)


# --8<-- [end:embeddings]


class Transformer(nn.Module):
    """The encoder–decoder of Vaswani et al. (2017) in the book's translation protocol.

    - `forward(src, src_lengths, tgt_in)` -> logits (B, T, V_tgt), with teacher forcing;
    - `encode(src, src_lengths)` -> memory, a dict with ``memory`` the encoder's output
      (B, S, d_model), ``mask`` (B, S) True at real source words, and ``keys`` and
      ``values``, one (B, h, S, d_k) tensor per decoder layer: the source as each
      cross-attention reads it, projected once per sentence;
    - `init_state(memory)` -> the decoder's self-attention cache, a dict with ``keys`` and
      ``values``, one (B, h, t, d_k) tensor per decoder layer, t = 0 at the start;
    - `step(prev, state, memory)` -> logits (B, V_tgt) of the next word and the cache, t + 1.

    `attention_maps(src, src_lengths, tgt_in)` gives every head's weights in every
    layer.
    """

    # --8<-- [start:init]
    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        if not isinstance(config, TransformerConfig):
            raise ValueError(
                f"Transformer expects a TransformerConfig; got {type(config).__name__}"
            )
        self.config = config
        self.src_embed = Embeddings(config.source_vocab, config)
        self.tgt_embed = Embeddings(config.target_vocab, config)
        self.encoder = nn.ModuleList(
            EncoderLayer(config) for _ in range(config.encoder_layers)
        )
        self.decoder = nn.ModuleList(
            DecoderLayer(config) for _ in range(config.decoder_layers)
        )
        # pre-LN leaves the residual stream unnormalized: one LayerNorm closes each
        # stack
        final = nn.LayerNorm if config.norm == "pre" else lambda d: nn.Identity()
        self.encoder_norm, self.decoder_norm = (
            final(config.d_model),
            final(config.d_model),
        )
        self.out = nn.Linear(
            config.d_model, config.target_vocab, bias=False
        )  # (V_tgt, d_model)
        for name, p in self.named_parameters():
            if p.dim() == 2 and ".E." not in f".{name}":
                nn.init.xavier_uniform_(
                    p
                )  # Glorot, as torch's nn.MultiheadAttention and nn.Transformer
        if config.tie_output:
            self.out.weight = (
                self.tgt_embed.E.weight
            )  # one matrix: target embedding = output layer

    # --8<-- [end:init]

    # --8<-- [start:encode]
    def encode(self, src: Tensor, src_lengths: Tensor) -> dict:
        """src (B, S) ids right-padded with 0, src_lengths (B,) in 1..S -> the memory:
        the encoder's output ``memory`` (B, S, d_model), ``mask`` (B, S) bool, and the
        cross-attentions' ``keys`` and ``values``, lists of (B, h, S, d_k), one per
        decoder layer."""
        return self._encode(src, src_lengths)[0]

    def _encode(self, src: Tensor, src_lengths: Tensor) -> tuple[dict, list[Tensor]]:
        check_source(src, src_lengths)
        mask = padding_mask(src_lengths.to(src.device), src.shape[1])  # (B, S)
        x = self.src_embed(src)  # (B, S, d_model)
        weights = []
        for layer in self.encoder:
            x, w = layer(
                x, mask[:, None, None, :]
            )  # the mask broadcasts over heads and queries
            weights.append(w)  # (B, h, S, S)
        x = self.encoder_norm(x)  # (B, S, d_model)
        kv = [
            layer.cross_attn.keys_values(x, x) for layer in self.decoder
        ]  # once per sentence
        return {
            "memory": x,
            "mask": mask,
            "keys": [k for k, _ in kv],
            "values": [v for _, v in kv],
        }, weights

    # --8<-- [end:encode]

    # --8<-- [start:decode]
    def init_state(self, memory: dict) -> dict:
        """The decoder's self-attention cache before any target word: ``keys`` and
        ``values``, one empty (B, h, 0, d_k) tensor per decoder layer."""
        empty = memory["keys"][0][:, :, :0]  # (B, h, 0, d_k)
        return {
            "keys": [empty] * len(self.decoder),
            "values": [empty] * len(self.decoder),
        }

    def decode(self, tgt: Tensor, state: dict, memory: dict) -> tuple[Tensor, dict]:
        """Logits (B, T, V_tgt) of the word after each of tgt (B, T), the new target
        words that follow the t0 cached in `state`; and the cache, now t0 + T long."""
        logits, state, _, _ = self._decode(tgt, state, memory)
        return logits, state

    def _decode(
        self, tgt: Tensor, state: dict, memory: dict
    ) -> tuple[Tensor, dict, list, list]:
        t0 = state["keys"][0].shape[2]  # target words already read
        y = self.tgt_embed(
            tgt, start=t0
        )  # (B, T, d_model) at positions t0 … t0 + T - 1
        memory_mask = memory["mask"][:, None, None, :]  # (B, 1, 1, S)
        cache = {"keys": [], "values": []}
        self_weights, cross_weights = [], []
        for i, layer in enumerate(self.decoder):
            past = (state["keys"][i], state["values"][i])
            y, (k, v), ws, wc = layer(
                y, past, (memory["keys"][i], memory["values"][i]), memory_mask
            )
            cache["keys"].append(k)  # (B, h, t0 + T, d_k)
            cache["values"].append(v)
            self_weights.append(ws)  # (B, h, T, t0 + T)
            cross_weights.append(wc)  # (B, h, T, S)
        return (
            self.out(self.decoder_norm(y)),
            cache,
            self_weights,
            cross_weights,
        )  # (B, T, V_tgt)

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits (B, T, V_tgt) of tgt_in (B, T) = <bos> y_1 … given src
        (B, S).

        Every target position is computed at once, from an empty cache: the causal mask,
        not a loop, keeps position t from reading the words after it.
        """
        if tgt_in.ndim != 2 or tgt_in.shape[0] != src.shape[0]:
            raise ValueError(
                f"expected tgt_in of shape (B, T) with B = {src.shape[0]}; got "
                f"{tuple(tgt_in.shape)}"
            )
        memory = self.encode(src, src_lengths)
        return self.decode(tgt_in, self.init_state(memory), memory)[0]

    def step(self, prev: Tensor, state: dict, memory: dict) -> tuple[Tensor, dict]:
        """prev (B,) the last target ids, state the cache of the t words before ->
        logits (B, V_tgt) of the next word, and the cache of t + 1 words.

        One new position runs through the decoder; the earlier ones are not recomputed,
        their keys and values are read from the cache.
        """
        logits, state = self.decode(prev.unsqueeze(1), state, memory)  # (B, 1, V_tgt)
        return logits.squeeze(1), state  # (B, V_tgt)

    # --8<-- [end:decode]

    @torch.no_grad()
    def attention_maps(
        self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor
    ) -> dict[str, list[Tensor]]:
        """Every head's weights of a teacher-forced pass, one tensor per layer:

        ``encoder`` (B, h, S, S) self-attention, ``decoder`` (B, h, T, T) masked
        self-attention, ``cross`` (B, h, T, S) the decoder reading the source. Run the
        model in eval mode for maps without dropout.
        """
        memory, encoder = self._encode(src, src_lengths)
        _, _, decoder, cross = self._decode(tgt_in, self.init_state(memory), memory)
        return {"encoder": encoder, "decoder": decoder, "cross": cross}

    @property
    def num_parameters(self) -> int:
        """The number of trainable parameters (scalars); a tied matrix counts once."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
