r"""Long Short-Term Memory and the Gated Recurrent Unit, from their equations.

Sepp Hochreiter and Jürgen Schmidhuber (1997), *Long Short-Term Memory*, Neural
Computation 9(8):1735–1780, <https://doi.org/10.1162/neco.1997.9.8.1735>; with the
forget gate of Felix Gers, Jürgen Schmidhuber and Fred Cummins (2000), *Learning to
Forget*, Neural Computation 12(10):2451–2471; written in the notation of Alex Graves
(2013), *Generating Sequences With Recurrent Neural Networks*,
<https://arxiv.org/abs/1308.0850>. Kyunghyun Cho et al. (2014), *Learning Phrase
Representations using RNN Encoder–Decoder for Statistical Machine Translation*,
<https://arxiv.org/abs/1406.1078>, section 2.3.

A vanilla recurrent network rewrites its whole state at every step, $h_t = \tanh(W x_t +
U h_{t-1} + b)$, so an error signal sent back through time is multiplied by a Jacobian
at every step and shrinks (or grows) geometrically. The LSTM adds a *cell* $c_t$ that is
updated by addition, $c_t = f_t \odot c_{t-1} + i_t \odot \tilde c_t$: with the forget
gate $f_t$ near one, the gradient flows back along $c$ almost unchanged, over hundreds
of steps. Gates (sigmoids between 0 and 1) decide what to write ($i$), what to keep
($f$) and what to show ($o$). The GRU of Cho et al. keeps the idea with two gates and no
separate cell: an update gate $z$ interpolates between the old state and a candidate.

This file holds both cells written line by line from the equations, a layer that runs a
cell over time (and can record every gate), a loader that copies the weights of
`torch.nn.LSTM` / `torch.nn.GRU` into the hand cells, and the two models the chapter
trains: `RecurrentLM` and `SequenceClassifier`. Those use torch's fused modules, which
compute the same functions many times faster; the tests prove the hand cells and torch's
agree.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

__all__ = [
    "KINDS",
    "LSTMCell",
    "LSTMStep",
    "GRUCell",
    "GRUStep",
    "Recurrence",
    "cell_from_torch",
    "RecurrentLM",
    "SequenceClassifier",
    "recurrent_parameter_count",
    "hidden_for_parameters",
    "chrono_init_",
]

KINDS = ("rnn", "lstm", "gru")  # the three recurrent layers the chapter compares
_TORCH_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_GATES = {
    "rnn": 1,
    "lstm": 4,
    "gru": 3,
}  # weight blocks per layer: one per gate or candidate


def _check_size(name: str, value: object, least: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}; got {value!r}")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")


def _weight(rows: int, cols: int, scale: float) -> nn.Parameter:
    return nn.Parameter(torch.empty(rows, cols).uniform_(-scale, scale))


def _bias(size: int, scale: float) -> nn.Parameter:
    return nn.Parameter(torch.empty(size).uniform_(-scale, scale))


# --8<-- [start:lstm]
class LSTMStep(NamedTuple):
    """Everything one LSTM step computes, each (B, H): the gates i, f, o in (0, 1), the
    candidate g = c̃ in (-1, 1), the new cell c and the new hidden state h."""

    i: Tensor
    f: Tensor
    g: Tensor
    o: Tensor
    c: Tensor
    h: Tensor


class LSTMCell(nn.Module):
    r"""One LSTM step (Graves 2013, eqs. 7–11, without the peephole terms $W_{c\cdot}
    c$):

    $$\begin{aligned}
    i_t &= \sigma(W_{xi} x_t + W_{hi} h_{t-1} + b_i) \\
    f_t &= \sigma(W_{xf} x_t + W_{hf} h_{t-1} + b_f) \\
    \tilde c_t &= \tanh(W_{xc} x_t + W_{hc} h_{t-1} + b_c) \\
    c_t &= f_t \odot c_{t-1} + i_t \odot \tilde c_t \\
    o_t &= \sigma(W_{xo} x_t + W_{ho} h_{t-1} + b_o) \\
    h_t &= o_t \odot \tanh(c_t)
    \end{aligned}$$

    The candidate $\tilde c_t$ is called `g` in the code, as in torch. Weights act on
    row vectors: `w_xi` is (D, H), `w_hi` is (H, H), `b_i` is (H,).
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        _check_size("input_size", input_size)
        _check_size("hidden_size", hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        D, H, s = input_size, hidden_size, hidden_size**-0.5  # torch's init range
        for gate in "ifgo":
            setattr(self, f"w_x{gate}", _weight(D, H, s))  # (D, H)
            setattr(self, f"w_h{gate}", _weight(H, H, s))  # (H, H)
            setattr(self, f"b_{gate}", _bias(H, s))  # (H,)

    def initial_state(self, batch: int) -> tuple[Tensor, Tensor]:
        """(h_0, c_0): zeros, each (B, H)."""
        zeros = self.w_hi.new_zeros(batch, self.hidden_size)  # (B, H)
        return zeros, zeros

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> LSTMStep:
        """One step: x (B, D) and state (h, c), each (B, H) -> an `LSTMStep` of (B, H)
        tensors."""
        h, c = state
        i = torch.sigmoid(x @ self.w_xi + h @ self.w_hi + self.b_i)  # (B, H) input gate
        f = torch.sigmoid(
            x @ self.w_xf + h @ self.w_hf + self.b_f
        )  # (B, H) forget gate
        g = torch.tanh(x @ self.w_xg + h @ self.w_hg + self.b_g)  # (B, H) candidate c̃
        c = f * c + i * g  # (B, H) the cell: kept part plus written part
        o = torch.sigmoid(
            x @ self.w_xo + h @ self.w_ho + self.b_o
        )  # (B, H) output gate
        h = o * torch.tanh(c)  # (B, H)
        return LSTMStep(i, f, g, o, c, h)

    @staticmethod
    def next_state(step: LSTMStep) -> tuple[Tensor, Tensor]:
        """The state the next step reads: (h, c), each (B, H)."""
        return step.h, step.c


# --8<-- [end:lstm]


# --8<-- [start:gru]
class GRUStep(NamedTuple):
    """Everything one GRU step computes, each (B, H): the reset gate r and update gate z
    in (0, 1), the candidate n = h̃ in (-1, 1) and the new hidden state h."""

    r: Tensor
    z: Tensor
    n: Tensor
    h: Tensor


class GRUCell(nn.Module):
    r"""One GRU step (Cho et al. 2014, eqs. 5–8, in the form torch computes):

    $$\begin{aligned} r_t &= \sigma(W_{xr} x_t + W_{hr} h_{t-1} + b_r) \\ z_t &=
    \sigma(W_{xz} x_t + W_{hz} h_{t-1} + b_z) \\ \tilde h_t &= \tanh\big(W_{xn} x_t +
    b_{xn} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\big) \\ h_t &= z_t \odot h_{t-1} + (1 -
    z_t) \odot \tilde h_t \end{aligned}$$

    Cho et al. apply the reset gate *before* the matrix, $W_{hn}(r_t \odot h_{t-1})$;
    torch (and cuDNN) apply it after, to $W_{hn} h_{t-1} + b_{hn}$, which is why the
    candidate keeps two biases. The candidate $\tilde h_t$ is called `n` in the code, as
    in torch.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        _check_size("input_size", input_size)
        _check_size("hidden_size", hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        D, H, s = input_size, hidden_size, hidden_size**-0.5
        for gate in "rzn":
            setattr(self, f"w_x{gate}", _weight(D, H, s))  # (D, H)
            setattr(self, f"w_h{gate}", _weight(H, H, s))  # (H, H)
        self.b_r, self.b_z = _bias(H, s), _bias(H, s)  # (H,) each
        self.b_xn, self.b_hn = (
            _bias(H, s),
            _bias(H, s),
        )  # (H,) each: b_hn sits inside r ⊙ (...)

    def initial_state(self, batch: int) -> Tensor:
        """h_0: zeros, (B, H)."""
        return self.w_hr.new_zeros(batch, self.hidden_size)  # (B, H)

    def forward(self, x: Tensor, h: Tensor) -> GRUStep:
        """One step: x (B, D) and h (B, H) -> a `GRUStep` of (B, H) tensors."""
        r = torch.sigmoid(x @ self.w_xr + h @ self.w_hr + self.b_r)  # (B, H) reset gate
        z = torch.sigmoid(
            x @ self.w_xz + h @ self.w_hz + self.b_z
        )  # (B, H) update gate
        n = torch.tanh(
            x @ self.w_xn + self.b_xn + r * (h @ self.w_hn + self.b_hn)
        )  # (B, H) h̃
        h = z * h + (1 - z) * n  # (B, H) keep where z is near 1, rewrite where near 0
        return GRUStep(r, z, n, h)

    @staticmethod
    def next_state(step: GRUStep) -> Tensor:
        """The state the next step reads: h, (B, H)."""
        return step.h


# --8<-- [end:gru]


# --8<-- [start:recurrence]
class Recurrence(nn.Module):
    """Run a cell (`LSTMCell` or `GRUCell`) over a sequence, one step at a time."""

    def __init__(self, cell: LSTMCell | GRUCell) -> None:
        super().__init__()
        if not isinstance(cell, (LSTMCell, GRUCell)):
            raise ValueError(
                f"expected an LSTMCell or a GRUCell; got {type(cell).__name__}"
            )
        self.cell = cell

    def steps(self, x: Tensor, state=None) -> list[LSTMStep] | list[GRUStep]:
        """Every step's record for x (B, T, D), starting from `state` (zeros if
        None)."""
        if x.ndim != 3 or x.shape[2] != self.cell.input_size:
            raise ValueError(
                f"expected x of shape (B, T, {self.cell.input_size}); got "
                f"{tuple(x.shape)}"
            )
        state = self.cell.initial_state(x.shape[0]) if state is None else state
        records = []
        for t in range(x.shape[1]):
            step = self.cell(x[:, t], state)  # each field (B, H)
            state = self.cell.next_state(step)
            records.append(step)
        return records

    def forward(self, x: Tensor, state=None):
        """x (B, T, D) -> (outputs (B, T, H), final state), like torch's batch_first
        layers."""
        records = self.steps(x, state)
        outputs = torch.stack([r.h for r in records], dim=1)  # (B, T, H)
        return outputs, self.cell.next_state(records[-1])

    def trace(self, x: Tensor, state=None) -> dict[str, Tensor]:
        """Every gate and state of every step: field name -> (B, T, H), e.g. "f", "c",
        "h"."""
        records = self.steps(x, state)
        return {
            name: torch.stack([getattr(r, name) for r in records], dim=1)  # (B, T, H)
            for name in records[0]._fields
        }


# --8<-- [end:recurrence]


# --8<-- [start:load]
@torch.no_grad()
def cell_from_torch(module: nn.LSTM | nn.GRU, layer: int = 0) -> LSTMCell | GRUCell:
    """A hand cell holding the weights of one layer of a `torch.nn.LSTM` or
    `torch.nn.GRU`.

    torch stacks the gates' weights in one (gates·H, D) matrix per layer: rows in the
    order i, f, g, o for the LSTM and r, z, n for the GRU, acting on column vectors. The
    hand cells keep one (D, H) matrix per gate acting on row vectors, so each block is
    transposed.
    """
    if (
        not isinstance(module, (nn.LSTM, nn.GRU))
        or module.bidirectional
        or module.proj_size
    ):
        raise ValueError(
            f"expected a one-directional nn.LSTM or nn.GRU; got {module!r}"
        )
    if not 0 <= layer < module.num_layers:
        raise ValueError(f"layer must be in [0, {module.num_layers}); got {layer}")
    if not module.bias:
        raise ValueError("expected a module with biases (bias=True)")
    w_ih, w_hh = (
        getattr(module, f"weight_ih_l{layer}"),
        getattr(module, f"weight_hh_l{layer}"),
    )
    b_ih, b_hh = (
        getattr(module, f"bias_ih_l{layer}"),
        getattr(module, f"bias_hh_l{layer}"),
    )
    D, H = w_ih.shape[1], module.hidden_size
    if isinstance(module, nn.LSTM):
        cell, gates = LSTMCell(D, H), "ifgo"
    else:
        cell, gates = GRUCell(D, H), "rzn"
    cell = cell.to(dtype=w_ih.dtype, device=w_ih.device)
    for k, gate in enumerate(gates):
        rows = slice(k * H, (k + 1) * H)
        getattr(cell, f"w_x{gate}").copy_(w_ih[rows].T)  # (D, H)
        getattr(cell, f"w_h{gate}").copy_(w_hh[rows].T)  # (H, H)
        if gate == "n":  # the GRU's candidate keeps its two biases apart
            cell.b_xn.copy_(b_ih[rows])
            cell.b_hn.copy_(b_hh[rows])
        else:
            getattr(cell, f"b_{gate}").copy_(b_ih[rows] + b_hh[rows])  # (H,)
    return cell


# --8<-- [end:load]


def recurrent_parameter_count(
    kind: str, input_size: int, hidden: int, layers: int = 1
) -> int:
    """Parameters of torch's `nn.RNN`/`nn.LSTM`/`nn.GRU` (two biases per gate, as torch
    keeps).

    Each layer has `gates` blocks of (H·D + H·H + 2H): 1 for the RNN, 4 for the LSTM, 3
    for the GRU; layers after the first read H inputs.
    """
    _check_kind(kind)
    total = 0
    for layer in range(layers):
        d = input_size if layer == 0 else hidden
        total += _GATES[kind] * (hidden * d + hidden * hidden + 2 * hidden)
    return total


def hidden_for_parameters(
    kind: str,
    target: int,
    input_size: int,
    outputs: int,
    layers: int = 1,
    fixed: int = 0,
) -> int:
    """The hidden size H whose model (recurrent layers + an (H -> outputs) linear layer
    + `fixed` other parameters, e.g. an embedding) has the parameter count closest to
    `target`."""
    _check_kind(kind)

    def count(h: int) -> int:
        return (
            fixed
            + recurrent_parameter_count(kind, input_size, h, layers)
            + h * outputs
            + outputs
        )

    return min(range(1, 4096), key=lambda h: abs(count(h) - target))


# --8<-- [start:chrono]
@torch.no_grad()
def chrono_init_(
    module: nn.LSTM | nn.GRU, t_max: int, generator: torch.Generator | None = None
) -> None:
    """Set the gate biases of a torch LSTM or GRU so that memory lasts 1 to `t_max`
    steps.

    Tallec & Ollivier (2018), *Can recurrent neural networks warp time?*,
    <https://arxiv.org/abs/1804.11188>: a unit whose keep-gate sits at σ(b) forgets with
    a time constant of about 1 / (1 - σ(b)) ≈ e^b steps, so b ~ ln U(1, t_max - 1)
    spreads the units' memories over the lags the task needs. For the LSTM the forget
    bias b_f gets that value and the input bias b_i = -b_f (write little, keep long);
    for the GRU the update gate z (which keeps h where it is near 1) gets it. Each
    layer's ih bias holds the value, hh 0.
    """
    if not isinstance(module, (nn.LSTM, nn.GRU)):
        raise ValueError(f"expected an nn.LSTM or nn.GRU; got {type(module).__name__}")
    if isinstance(t_max, bool) or not isinstance(t_max, int) or t_max < 3:
        raise ValueError(
            f"t_max must be an integer >= 3 (steps of memory); got {t_max!r}"
        )
    H = module.hidden_size
    keep = slice(H, 2 * H)  # f in torch's (i, f, g, o); z in torch's (r, z, n)
    for layer in range(module.num_layers):
        b_ih, b_hh = (
            getattr(module, f"bias_ih_l{layer}"),
            getattr(module, f"bias_hh_l{layer}"),
        )
        u = (
            torch.rand(H, generator=generator, dtype=b_ih.dtype) * (t_max - 2) + 1
        )  # U(1, t_max - 1)
        b = torch.log(u).to(b_ih.device)  # (H,)
        b_ih[keep], b_hh[keep] = b, 0.0
        if isinstance(module, nn.LSTM):
            b_ih[:H], b_hh[:H] = -b, 0.0  # the input gate i


# --8<-- [end:chrono]


# --8<-- [start:models]
class RecurrentLM(nn.Module):
    """Embedding -> torch's fused `nn.RNN` (tanh) / `nn.LSTM` / `nn.GRU` -> linear
    scores.

    forward(x (B, T) ids, state) -> (logits (B, T, V), final state). The state is
    whatever the torch layer returns ((h, c) for the LSTM, h otherwise, each (layers, B,
    H)); pass it back in to go on reading the same streams (truncated BPTT), detached by
    the caller.

    `dropout` is Zaremba et al.'s (2014): on the non-recurrent connections only, a fresh
    mask at every time step on the word vectors, between stacked layers (torch's own
    inter-layer dropout) and before the output layer; the h -> h path is never dropped.
    `tie=True` shares one matrix between the input embedding and the output layer (Press
    & Wolf 2017; Inan et al. 2017), which needs `embed_dim == hidden`.
    """

    def __init__(
        self,
        kind: str,
        vocab_size: int,
        embed_dim: int,
        hidden: int,
        layers: int = 1,
        dropout: float = 0.0,
        tie: bool = False,
    ) -> None:
        super().__init__()
        _check_kind(kind)
        for name, value in (
            ("vocab_size", vocab_size),
            ("embed_dim", embed_dim),
            ("hidden", hidden),
            ("layers", layers),
        ):
            _check_size(name, value)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
        if tie and embed_dim != hidden:
            raise ValueError(
                "tie=True shares the embedding with the output layer, so embed_dim "
                f"must equal hidden; got embed_dim={embed_dim}, hidden={hidden}"
            )
        self.kind = kind
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.drop = nn.Dropout(dropout)
        self.rnn = _TORCH_LAYERS[kind](
            embed_dim,
            hidden,
            num_layers=layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.out = nn.Linear(hidden, vocab_size)
        if tie:
            self.out.weight = self.embed.weight  # one (V, H) matrix, read both ways

    def forward(self, x: Tensor, state=None):
        """x (B, T) token ids -> (logits (B, T, V), state)."""
        e = self.drop(self.embed(x))  # (B, T, E)
        hs, state = self.rnn(e, state)  # (B, T, H)
        return self.out(self.drop(hs)), state  # (B, T, V)

    @property
    def num_parameters(self) -> int:
        """How many numbers the model learns."""
        return sum(p.numel() for p in self.parameters())


class SequenceClassifier(nn.Module):
    """Embedding -> one torch recurrent layer -> linear scores from the last hidden
    state.

    forward(x (B, T) ids) -> logits (B, classes): the answer is read after the whole
    sequence.
    """

    def __init__(
        self, kind: str, vocab_size: int, embed_dim: int, hidden: int, classes: int
    ) -> None:
        super().__init__()
        _check_kind(kind)
        for name, value in (
            ("vocab_size", vocab_size),
            ("embed_dim", embed_dim),
            ("hidden", hidden),
            ("classes", classes),
        ):
            _check_size(name, value)
        self.kind = kind
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = _TORCH_LAYERS[kind](embed_dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, classes)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, T) token ids -> logits (B, classes)."""
        hs, _ = self.rnn(self.embed(x))  # (B, T, H)
        return self.out(hs[:, -1])  # (B, classes)

    @property
    def num_parameters(self) -> int:
        """How many numbers the model learns."""
        return sum(p.numel() for p in self.parameters())


# --8<-- [end:models]
