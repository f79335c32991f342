r"""The encoder–decoder: a whole sentence read into one fixed vector, then written out.

Ilya Sutskever, Oriol Vinyals and Quoc V. Le (2014), *Sequence to Sequence Learning with
Neural Networks*, NeurIPS 2014, <https://arxiv.org/abs/1409.3215>; Kyunghyun Cho, Bart
van Merriënboer, Caglar Gulcehre, Dzmitry Bahdanau, Fethi Bougares, Holger Schwenk and
Yoshua Bengio (2014), *Learning Phrase Representations using RNN Encoder–Decoder for
Statistical Machine Translation*, EMNLP 2014, <https://arxiv.org/abs/1406.1078>.

A language model predicts the next word of one sequence. Translation maps a sequence to
another of a different length, with words in a different order. The two papers solved it
with two recurrent networks: an *encoder* reads the source $x_1 \dots x_S$ and its final
state is a fixed-size vector $c$; a *decoder* is a language model over the target whose
first state is $c$,

$$p(y_1, \dots, y_T \mid x_1, \dots, x_S) = \prod_{t=1}^{T} p(y_t \mid y_{<t}, c),$$

trained by maximizing the log-likelihood of the reference translations. Everything the
decoder knows about the source has to pass through $c$: the bottleneck that chapter 10's
attention removes.

This file holds the model of Sutskever et al. (their decoder starts from the encoder's
final state; Cho et al. also feed $c$ to every decoder step). It uses torch's fused
`nn.GRU` / `nn.LSTM`, which chapter 8 rebuilt from their equations and tested equal to
these. The model follows the book's translation protocol: `forward` (teacher forcing),
`encode`, `init_state` and `step` (one decoder step, for greedy and beam search), with
the batch on dim 0 of every tensor of the memory and the state.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

__all__ = ["CELLS", "Seq2SeqConfig", "Encoder", "Decoder", "Seq2Seq", "check_source"]

CELLS = ("gru", "lstm")  # the recurrent cells the encoder and decoder can use
_TORCH_LAYERS = {"gru": nn.GRU, "lstm": nn.LSTM}

# A state is a tensor (GRU: h) or a pair (LSTM: h, c). torch's layers keep each as
# (layers, B, H); the protocol wants the batch first, (B, layers, H), so that beam
# search can
# reorder rows with one index_select on dim 0.
State = Tensor | tuple[Tensor, Tensor]


# --8<-- [start:config]
@dataclass(frozen=True)
class Seq2SeqConfig:
    """Sizes of the model. Sutskever et al. used 4 LSTM layers of 1000 units and
    1000-wide embeddings; Cho et al. one GRU-like layer of 1000 units. The defaults fit
    a CPU."""

    source_vocab: int  # |V_src|, source word ids 0 … |V_src|-1 (0 is padding)
    target_vocab: int  # |V_tgt|, target word ids (0 padding, then <bos>, <eos>, ...)
    embed_dim: int = 64  # the length of each word's vector, on both sides
    hidden_dim: int = (
        128  # H, the size of the recurrent state: the fixed vector c is this big
    )
    num_layers: int = 1  # stacked recurrent layers in the encoder and in the decoder
    cell: str = "gru"  # "gru" or "lstm", the same for encoder and decoder
    dropout: float = 0.0  # on embeddings, between layers and before the output layer

    def __post_init__(self) -> None:
        checks = [
            ("source_vocab", self.source_vocab, 2),
            ("target_vocab", self.target_vocab, 4),  # <pad> <bos> <eos> and one word
            ("embed_dim", self.embed_dim, 1),
            ("hidden_dim", self.hidden_dim, 1),
            ("num_layers", self.num_layers, 1),
        ]
        for name, value, least in checks:
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(
                    f"Seq2SeqConfig.{name} must be an int >= {least}; got {value!r}"
                )
        if self.cell not in CELLS:
            raise ValueError(
                f"Seq2SeqConfig.cell must be one of {CELLS}; got {self.cell!r}"
            )
        if (
            isinstance(self.dropout, bool)
            or not isinstance(self.dropout, (int, float))
            or not 0.0 <= self.dropout < 1.0
        ):
            raise ValueError(
                f"Seq2SeqConfig.dropout must be a number in [0, 1); got "
                f"{self.dropout!r}"
            )


# --8<-- [end:config]


def _batch_first(state: State) -> State:
    """torch's (layers, B, H) -> the protocol's (B, layers, H), for h or for (h, c)."""
    if isinstance(state, tuple):
        return tuple(s.transpose(0, 1) for s in state)
    return state.transpose(0, 1)


def _layers_first(state: State) -> State:
    """The protocol's (B, layers, H) -> torch's (layers, B, H), contiguous, as cuDNN
    wants."""
    if isinstance(state, tuple):
        return tuple(s.transpose(0, 1).contiguous() for s in state)
    return state.transpose(0, 1).contiguous()


def _recurrent(config: Seq2SeqConfig) -> nn.GRU | nn.LSTM:
    return _TORCH_LAYERS[config.cell](
        config.embed_dim,
        config.hidden_dim,
        num_layers=config.num_layers,
        batch_first=True,
        dropout=config.dropout if config.num_layers > 1 else 0.0,
    )


# --8<-- [start:encoder]
class Encoder(nn.Module):
    """Source ids -> the fixed vector c: the recurrent state after each source's last
    token.

    The batch is right-padded, so rows end at different steps. The padded embeddings are
    *packed* (`pack_padded_sequence`): torch then runs each row for exactly its own
    length and returns the state at its last real token, so padding never changes c.
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(config.source_vocab, config.embed_dim, padding_idx=0)
        self.drop = nn.Dropout(config.dropout)
        self.rnn = _recurrent(config)

    def forward(self, src: Tensor, src_lengths: Tensor) -> State:
        """src (B, S) ids, src_lengths (B,) -> c: h (B, layers, H), or (h, c) for the
        LSTM."""
        e = self.drop(self.embed(src))  # (B, S, E)
        packed = pack_padded_sequence(
            e, src_lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, final = self.rnn(
            packed
        )  # (layers, B, H), each row's state at its own last token
        return _batch_first(final)  # (B, layers, H)


# --8<-- [end:encoder]


# --8<-- [start:decoder]
class Decoder(nn.Module):
    """A recurrent language model over the target whose first state is the encoder's c.

    `forward` reads a whole target prefix at once (training); `step` reads one token
    (generation). Both compute p(y_t | y_<t, c) as logits over the target vocabulary.
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(config.target_vocab, config.embed_dim, padding_idx=0)
        self.drop = nn.Dropout(config.dropout)
        self.rnn = _recurrent(config)
        self.out = nn.Linear(config.hidden_dim, config.target_vocab)

    def forward(self, y_in: Tensor, state: State) -> tuple[Tensor, State]:
        """y_in (B, T) ids and a state (B, layers, H) -> (logits (B, T, V_tgt), the next
        state)."""
        e = self.drop(self.embed(y_in))  # (B, T, E)
        hs, state = self.rnn(
            e, _layers_first(state)
        )  # hs (B, T, H): the top layer at every step
        return self.out(self.drop(hs)), _batch_first(state)  # (B, T, V_tgt)


# --8<-- [end:decoder]


# --8<-- [start:model]
class Seq2Seq(nn.Module):
    """The encoder–decoder of Sutskever et al. (2014): encode, hand c over, decode.

    Protocol (shared with chapter 10's attention model):

    - ``forward(src (B, S), src_lengths (B,), tgt_in (B, T)) -> logits (B, T, V_tgt)``,
      teacher forcing: the decoder reads the reference prefix ``<bos> y_1 … y_{T-1}``;
    - ``encode(src, src_lengths) -> memory``, here c itself;
    - ``init_state(memory) -> state``, the decoder's first state (c again);
    - ``step(prev (B,), state, memory) -> (logits (B, V_tgt), state)``, one token.

    Memory and state are a tensor (GRU) or a pair of tensors (LSTM), each (B, layers,
    H).
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        if not isinstance(config, Seq2SeqConfig):
            raise ValueError(f"expected a Seq2SeqConfig; got {type(config).__name__}")
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)

    def encode(self, src: Tensor, src_lengths: Tensor) -> State:
        """src (B, S) ids, right-padded with 0; src_lengths (B,) in 1..S -> c, (B,
        layers, H)."""
        check_source(src, src_lengths)
        return self.encoder(src, src_lengths)

    def init_state(self, memory: State) -> State:
        """The decoder starts where the encoder stopped: its first state is c, (B,
        layers, H)."""
        return memory

    def step(self, prev: Tensor, state: State, memory: State) -> tuple[Tensor, State]:
        """prev (B,) the last target ids -> (logits (B, V_tgt) for the next one, new
        state).

        `memory` is not read: after the first step, all the decoder knows of the source
        is in its own state. (Chapter 10's decoder reads the memory at every step.)
        """
        logits, state = self.decoder(prev.unsqueeze(1), state)  # (B, 1, V_tgt)
        return logits.squeeze(1), state  # (B, V_tgt)

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher forcing: src (B, S), src_lengths (B,), tgt_in (B, T) -> logits (B, T,
        V_tgt)."""
        if tgt_in.ndim != 2 or tgt_in.shape[0] != src.shape[0]:
            raise ValueError(
                f"expected tgt_in of shape (B, T) with B = {src.shape[0]}; got "
                f"{tuple(tgt_in.shape)}"
            )
        c = self.encode(src, src_lengths)  # (B, layers, H)
        logits, _ = self.decoder(tgt_in, self.init_state(c))  # (B, T, V_tgt)
        return logits

    @property
    def num_parameters(self) -> int:
        """How many numbers the model learns."""
        return sum(p.numel() for p in self.parameters())


# --8<-- [end:model]


def check_source(src: Tensor, src_lengths: Tensor) -> None:
    """Raise ValueError unless src is a LongTensor (B, S) and src_lengths (B,) lie in
    1..S."""
    if not isinstance(src, Tensor) or src.ndim != 2 or src.dtype != torch.long:
        got = (
            f"{tuple(src.shape)} {src.dtype}"
            if isinstance(src, Tensor)
            else type(src).__name__
        )
        raise ValueError(f"expected src, a LongTensor of shape (B, S); got {got}")
    if not isinstance(src_lengths, Tensor) or src_lengths.shape != src.shape[:1]:
        got = (
            tuple(src_lengths.shape)
            if isinstance(src_lengths, Tensor)
            else type(src_lengths).__name__
        )
        raise ValueError(f"expected src_lengths of shape ({src.shape[0]},); got {got}")
    if src_lengths.min() < 1 or src_lengths.max() > src.shape[1]:
        raise ValueError(
            f"src_lengths must lie in 1..{src.shape[1]} (S); got {src_lengths.tolist()}"
        )
