r"""Neural Machine Translation by Jointly Learning to Align and Translate.

Dzmitry Bahdanau, Kyunghyun Cho and Yoshua Bengio (2015), ICLR,
<https://arxiv.org/abs/1409.0473>; with the dot and general scores of Minh-Thang Luong,
Hieu Pham and Christopher D. Manning (2015), *Effective Approaches to Attention-based
Neural Machine Translation*, EMNLP, <https://arxiv.org/abs/1508.04025>.

The encoder–decoder of chapter 9 reads the whole source into one fixed-size vector and
decodes the translation from it, so a long sentence has to fit in as many numbers as a
short one. Bahdanau et al. let the decoder look back. The encoder keeps one *annotation*
$h_j$ per source word, from a bidirectional RNN, and before emitting word $i$ the
decoder scores every annotation against its state $s_{i-1}$ with a small network (the
*alignment model*), turns the scores into weights that sum to one, and reads the
weighted average

$$e_{ij} = v_a^\top \tanh(W_a s_{i-1} + U_a h_j), \qquad
\alpha_{ij} = \frac{\exp e_{ij}}{\sum_k \exp e_{ik}}, \qquad
c_i = \sum_j \alpha_{ij} h_j .$$

The context $c_i$ is new for every target word, so the source no longer has to squeeze
through one vector, and the weights $\alpha_{ij}$ are a soft alignment that one can
draw. The paper's RNNsearch models kept their BLEU on long sentences where the
fixed-vector RNNencdec models collapsed (its Figure 2).

Symbols follow the paper's appendix A: $E$ the word embeddings, $\overrightarrow{h}_j$
and $\overleftarrow{h}_j$ the forward and backward encoder states, $h_j$ their
concatenation, $s_i$ the decoder state, $c_i$ the context, $W_a, U_a, v_a$ the alignment
model, $W_s$ the initial-state layer and $U_o, V_o, C_o, W_o$ the maxout output layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from airoad_book.models.seq2seq import (
    check_source,
)  # the same batch format as chapter 9

__all__ = [
    "SCORES",
    "SCORE_CLASSES",
    "AttentionConfig",
    "AdditiveScore",
    "DotScore",
    "GeneralScore",
    "BidirectionalEncoder",
    "ENCODERS",
    "ForwardEncoder",
    "AttentionSeq2Seq",
]


# --8<-- [start:config]
SCORES = ("additive", "dot", "general")
ENCODERS = ("bi", "uni")


@dataclass(frozen=True)
class AttentionConfig:
    """Sizes of the model. Bahdanau et al.'s RNNsearch had m = 620, n = 1000 per
    direction, n' = 1000 and l = 500, over vocabularies of 30,000 words; ours are sized
    for a CPU."""

    source_vocab: int  # K_x, source words (ids 0 … K_x - 1; 0 is padding)
    target_vocab: int  # K_y, target words
    embed_dim: int = 32  # m, length of a word vector, on both sides
    hidden_dim: int = (
        64  # size of an annotation h_j and of the decoder state s_i (even:
    )
    #                       half of each annotation comes from each direction)
    align_dim: int = 64  # n', hidden units of the additive alignment model
    maxout_dim: int = (
        64  # l, units of the maxout layer (each the max of 2 linear pieces)
    )
    score: str = "additive"  # "additive" (Bahdanau), "dot" or "general" (Luong)
    encoder: str = "bi"  # "bi" (Bahdanau's), or "uni": one forward GRU of hidden_dim

    def __post_init__(self) -> None:
        for name, least in (
            ("source_vocab", 4),
            ("target_vocab", 4),
            ("embed_dim", 1),
            ("hidden_dim", 2),
            ("align_dim", 1),
            ("maxout_dim", 1),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(
                    f"AttentionConfig.{name} must be an int >= {least}; got {value!r}"
                )
        if self.hidden_dim % 2:
            raise ValueError(
                "AttentionConfig.hidden_dim must be even (each encoder direction gives "
                "half of an "
                f"annotation); got {self.hidden_dim}"
            )
        if self.encoder not in ENCODERS:
            raise ValueError(
                f"AttentionConfig.encoder must be one of {ENCODERS}; got "
                f"{self.encoder!r}"
            )
        if self.score not in SCORES:
            raise ValueError(
                f"AttentionConfig.score must be one of {SCORES}; got {self.score!r}"
            )


# --8<-- [end:config]


# --8<-- [start:encoder]
class BidirectionalEncoder(nn.Module):
    """Embed the source and read it both ways with a GRU: annotations h_j = [→h_j;
    ←h_j].

    Padding on the right is skipped by packing the sequences, so the backward GRU starts
    at each row's last real word and padded positions get zero annotations.
    """

    def __init__(self, config: AttentionConfig) -> None:
        super().__init__()
        self.E = nn.Embedding(
            config.source_vocab, config.embed_dim, padding_idx=0
        )  # (K_x, m)
        self.rnn = nn.GRU(
            config.embed_dim,
            config.hidden_dim // 2,
            batch_first=True,
            bidirectional=True,
        )

    def forward(self, src: Tensor, src_lengths: Tensor) -> tuple[Tensor, Tensor]:
        """src (B, S) ids, src_lengths (B,) -> annotations h (B, S, H) and ←h_1 (B,
        H/2)."""
        x = self.E(src)  # (B, S, m)
        packed = pack_padded_sequence(
            x, src_lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        out, last = self.rnn(packed)  # last: (2, B, H/2), each direction's final state
        h, _ = pad_packed_sequence(
            out, batch_first=True, total_length=src.shape[1]
        )  # (B, S, H)
        # the backward GRU reads x_S ... x_1, so its final state is ←h_1
        return h, last[1]


# --8<-- [end:encoder]


# --8<-- [start:uni]
class ForwardEncoder(nn.Module):
    """The one-directional counterpart: a single GRU of H units reads the source left
    to right, so annotation h_j = →h_j summarises x_1 … x_j only.

    Same interface as `BidirectionalEncoder`; the state it hands the decoder is its
    final →h_S (B, H), the summary an encoder–decoder would use (Cho et al. 2014).
    """

    def __init__(self, config: AttentionConfig) -> None:
        super().__init__()
        self.E = nn.Embedding(config.source_vocab, config.embed_dim, padding_idx=0)
        self.rnn = nn.GRU(config.embed_dim, config.hidden_dim, batch_first=True)

    def forward(self, src: Tensor, src_lengths: Tensor) -> tuple[Tensor, Tensor]:
        """src (B, S) ids, src_lengths (B,) -> annotations h (B, S, H) and →h_S (B,
        H), each row's state at its last real word."""
        packed = pack_padded_sequence(
            self.E(src), src_lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        out, last = self.rnn(packed)  # last: (1, B, H)
        h, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        return h, last[0]


# --8<-- [end:uni]


# --8<-- [start:scores]
class AdditiveScore(nn.Module):
    """Bahdanau's alignment model, a one-hidden-layer network: e_ij = v_a^T tanh(W_a s +
    U_a h_j).

    U_a h_j does not depend on the decoder step, so `keys` computes it once per
    sentence.
    """

    def __init__(self, config: AttentionConfig) -> None:
        super().__init__()
        H, A = config.hidden_dim, config.align_dim
        self.W_a = nn.Linear(H, A, bias=False)  # (A, H) reads the decoder state s_{i-1}
        self.U_a = nn.Linear(H, A, bias=False)  # (A, H) reads an annotation h_j
        self.v_a = nn.Parameter(
            torch.zeros(A)
        )  # (A,) zero at the start: uniform weights, as in the paper

    def keys(self, h: Tensor) -> Tensor:
        """The per-sentence part of the score: U_a h_j, (B, S, H) -> (B, S, A)."""
        return self.U_a(h)

    def forward(self, s: Tensor, keys: Tensor) -> Tensor:
        """Scores e (B, S) of decoder states s (B, H) against precomputed keys (B, S,
        A)."""
        return torch.tanh(self.W_a(s).unsqueeze(1) + keys) @ self.v_a  # (B, S)


class DotScore(nn.Module):
    """Luong's dot score: e_ij = s^T h_j. No parameters; s and h_j must have the same
    size."""

    def __init__(self, config: AttentionConfig) -> None:
        super().__init__()

    def keys(self, h: Tensor) -> Tensor:
        """The annotations themselves: (B, S, H) -> (B, S, H)."""
        return h

    def forward(self, s: Tensor, keys: Tensor) -> Tensor:
        """Scores e (B, S) of s (B, H) against keys (B, S, H): one dot product per
        position."""
        return (keys @ s.unsqueeze(2)).squeeze(2)  # (B, S)


class GeneralScore(DotScore):
    """Luong's general score: e_ij = s^T W_a h_j, a bilinear form; W_a h_j is computed
    once."""

    def __init__(self, config: AttentionConfig) -> None:
        super().__init__(config)
        self.W_a = nn.Linear(config.hidden_dim, config.hidden_dim, bias=False)  # (H, H)

    def keys(self, h: Tensor) -> Tensor:
        """W_a h_j for every position: (B, S, H) -> (B, S, H)."""
        return self.W_a(h)


SCORE_CLASSES = {"additive": AdditiveScore, "dot": DotScore, "general": GeneralScore}
# --8<-- [end:scores]


class AttentionSeq2Seq(nn.Module):
    """RNNsearch: a bidirectional GRU encoder and a GRU decoder that attends to its
    annotations.

    The book's translation-model protocol (chapters 9–11):

    - `forward(src, src_lengths, tgt_in)` -> logits (B, T, K_y), with teacher forcing;
    - `encode(src, src_lengths)` -> memory, a dict of tensors with the batch on dim 0:
      ``h`` the annotations (B, S, H), ``keys`` their per-sentence score part (B, S, A or H),
      ``mask`` (B, S), True at real source words, and ``back`` (B, H/2), the state ←h_1
      (with ``encoder="uni"``: →h_S, (B, H));
    - `init_state(memory)` -> s_0 (B, H);
    - `step(prev, state, memory)` -> (logits (B, K_y), next state): one target word.

    `alignments(src, src_lengths, tgt_in)` gives the weights α (B, T, S) of a forced
    decode.
    """

    # --8<-- [start:init]
    def __init__(self, config: AttentionConfig) -> None:
        super().__init__()
        if not isinstance(config, AttentionConfig):
            raise ValueError(
                f"AttentionSeq2Seq expects an AttentionConfig; got "
                f"{type(config).__name__}"
            )
        self.config = config
        m, H, l, K_y = (
            config.embed_dim,
            config.hidden_dim,
            config.maxout_dim,
            config.target_vocab,
        )
        uni = config.encoder == "uni"  # the one-directional variant: s_0 from →h_S
        self.encoder = (ForwardEncoder if uni else BidirectionalEncoder)(config)
        self.score = SCORE_CLASSES[config.score](config)
        self.W_s = nn.Linear(H if uni else H // 2, H)  # s_0 = tanh(W_s ←h_1)
        self.E = nn.Embedding(K_y, m, padding_idx=0)  # (K_y, m) target word vectors
        self.cell = nn.GRUCell(m + H, H)  # s_i = GRU([E y_{i-1}; c_i], s_{i-1})
        self.U_o = nn.Linear(
            H, 2 * l
        )  # the maxout layer's pre-activation t~_i, from s_i,
        self.V_o = nn.Linear(m, 2 * l, bias=False)  # from E y_{i-1},
        self.C_o = nn.Linear(H, 2 * l, bias=False)  # and from c_i
        self.W_o = nn.Linear(l, K_y)  # (K_y, l) scores of the target words

    # --8<-- [end:init]

    # --8<-- [start:encode]
    def encode(self, src: Tensor, src_lengths: Tensor) -> dict[str, Tensor]:
        """Annotations, their keys and the padding mask of a batch of sources.

        src (B, S) ids right-padded with 0, src_lengths (B,) >= 1 -> memory with ``h``
        (B, S, H), ``keys`` (B, S, A) for the additive score ((B, S, H) for the others),
        ``mask`` (B, S) bool and ``back`` (B, H/2), the backward state ←h_1.
        """
        check_source(src, src_lengths)
        h, back = self.encoder(src, src_lengths)  # (B, S, H), (B, H/2)
        mask = torch.arange(src.shape[1], device=src.device) < src_lengths.to(
            src.device
        ).unsqueeze(1)
        return {"h": h, "keys": self.score.keys(h), "mask": mask, "back": back}

    def init_state(self, memory: dict[str, Tensor]) -> Tensor:
        """The decoder's first state s_0 = tanh(W_s ←h_1), (B, H)."""
        return torch.tanh(self.W_s(memory["back"]))  # (B, H)

    # --8<-- [end:encode]

    # --8<-- [start:attend]
    def attend(self, s: Tensor, memory: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """The context c_i and the weights α_i for the decoder state s = s_{i-1} (B, H).

        Returns c (B, H) and α (B, S); padded positions get a score of -inf, so their
        weight is exactly 0 and each row of α sums to 1 over the real source words.
        """
        e = self.score(s, memory["keys"])  # (B, S) e_ij
        e = e.masked_fill(
            ~memory["mask"], float("-inf")
        )  # padding can never be attended
        alpha = torch.softmax(e, dim=1)  # (B, S) α_ij
        c = (alpha.unsqueeze(1) @ memory["h"]).squeeze(1)  # (B, H) c_i = Σ_j α_ij h_j
        return c, alpha

    # --8<-- [end:attend]

    # --8<-- [start:step]
    def recur(
        self, y: Tensor, s: Tensor, memory: dict[str, Tensor]
    ) -> tuple[Tensor, Tensor, Tensor]:
        """The recurrent part of one step: E y_{i-1} (B, m) and s_{i-1} (B, H) -> s_i
        (B, H), c_i (B, H), α_i (B, S)."""
        c, alpha = self.attend(
            s, memory
        )  # (B, H), (B, S): the context is read with s_{i-1}
        s = self.cell(
            torch.cat([y, c], dim=-1), s
        )  # (B, H) s_i = GRU([E y_{i-1}; c_i], s_{i-1})
        return s, c, alpha

    def output(self, s: Tensor, y: Tensor, c: Tensor) -> Tensor:
        """The maxout output layer: s_i (…, H), E y_{i-1} (…, m), c_i (…, H) -> logits
        (…, K_y)."""
        t = self.U_o(s) + self.V_o(y) + self.C_o(c)  # (…, 2l) t~_i
        t = t.unflatten(-1, (-1, 2)).amax(
            dim=-1
        )  # (…, l) maxout: t_i,k = max(t~_i,2k-1, t~_i,2k)
        return self.W_o(t)  # (…, K_y)

    def step(
        self, prev: Tensor, state: Tensor, memory: dict[str, Tensor]
    ) -> tuple[Tensor, Tensor]:
        """The protocol's step: prev (B,) ids of y_{i-1}, state s_{i-1} (B, H) -> logits
        (B, K_y), s_i (B, H)."""
        y = self.E(prev)  # (B, m)
        s, c, _ = self.recur(y, state, memory)
        return self.output(s, y, c), s

    # --8<-- [end:step]

    # --8<-- [start:forward]
    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits (B, T, K_y) of tgt_in (B, T) = <bos> y_1 … given src
        (B, S)."""
        return self._decode(src, src_lengths, tgt_in)[0]

    def alignments(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tensor:
        """The weights α (B, T, S) of a teacher-forced decode: row i is where word i
        looked."""
        return self._decode(src, src_lengths, tgt_in)[1]

    def _decode(
        self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor
    ) -> tuple[Tensor, Tensor]:
        memory = self.encode(src, src_lengths)
        s = self.init_state(memory)  # (B, H) s_0
        y = self.E(tgt_in)  # (B, T, m) every E y_{i-1} at once: the inputs are known
        states, contexts, alphas = [], [], []
        for i in range(
            tgt_in.shape[1]
        ):  # the recurrence is sequential even when the targets are known
            s, c, alpha = self.recur(y[:, i], s, memory)
            states.append(s)
            contexts.append(c)
            alphas.append(alpha)
        # the output layer has no recurrence: one call for all T steps
        logits = self.output(
            torch.stack(states, 1), y, torch.stack(contexts, 1)
        )  # (B, T, K_y)
        return logits, torch.stack(alphas, dim=1)  # (B, T, K_y), (B, T, S)

    # --8<-- [end:forward]

    @property
    def num_parameters(self) -> int:
        """The number of trainable parameters (scalars)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
