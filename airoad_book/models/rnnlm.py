r"""Recurrent neural network based language model.

Tomáš Mikolov, Martin Karafiát, Lukáš Burget, Jan Černocký and Sanjeev Khudanpur (2010),
*Interspeech 2010*, 1045–1048,
<https://www.isca-archive.org/interspeech_2010/mikolov10_interspeech.html>.

The neural language model of Bengio et al. (2003) still read a fixed window of $n-1$
words. Mikolov et al. removed the window: an Elman network carries a state $s(t)$ from
word to word, updated by the same weights at every step,

$$s(t) = f\big(U w(t) + W s(t-1)\big), \qquad y(t) = g\big(V s(t)\big),$$

where $w(t)$ is the current word as a one-hot vector, $f$ a squashing function and $g$
the softmax. $y(t)$ is the distribution of the *next* word. The state can in principle
hold everything read so far, so there is no $n$ to choose; the paper trains the network
with backpropagation and stochastic gradient descent, and reports that a mixture of such
networks roughly halves the perplexity of a Kneser–Ney 5-gram on the Wall Street
Journal.

Symbols follow section 2 of the paper: $|V|$ the vocabulary, $H$ the size of the state
(the paper's hidden layer), $U$ the input weights (one column per word), $W$ the
recurrent weights, $V$ the output weights. We use $f = \tanh$ where the paper uses the
logistic sigmoid, and add an output bias $b$: with a one-hot input the two networks are
the same family (see `RNNLM`'s docstring).
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["RNNLMConfig", "RNNLM", "paper_parameter_count"]


# --8<-- [start:config]
@dataclass(frozen=True)
class RNNLMConfig:
    """Shapes of the model. The paper (WSJ, not PTB) used H between 60 and 400."""

    vocab_size: int = 10_000  # |V|, the number of distinct tokens (ids 0 … |V|-1)
    hidden: int = 100  # H, the size of the state s(t)

    def __post_init__(self) -> None:
        for name, value, least, why in (
            (
                "vocab_size",
                self.vocab_size,
                2,
                "a softmax over one token predicts nothing",
            ),
            ("hidden", self.hidden, 1, "the state needs at least one unit"),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(
                    f"RNNLMConfig.{name} must be an int >= {least} ({why}); got "
                    f"{value!r}"
                )


# --8<-- [end:config]


# --8<-- [start:count]
def paper_parameter_count(config: RNNLMConfig) -> int:
    """The number of free parameters: |V| H for U, H² for W, |V| H for V, |V| for b.

    The count does not depend on how much context the model uses: the same W serves
    every step. The NPLM's grows by m H with each word of its window.
    """
    V, H = config.vocab_size, config.hidden
    return V * H + H * H + V * H + V


# --8<-- [end:count]


class RNNLM(nn.Module):
    """Mikolov et al.'s recurrent language model: an Elman network with a softmax
    output.

    `forward(tokens, state)` reads tokens (B, T) and a state (B, H) and returns the
    logits (B, T, |V|) of the token after each one, and the state after the last one, to
    pass to the next call. `forward_loop` is the same computation written as a Python
    loop over time, one line per equation; `forward` runs it in the C++ kernel that
    `torch.nn.RNN` uses, which the tests check against the loop.

    Why tanh and a bias: the paper writes s = σ(U w + W s') and y = softmax(V s). Since
    σ(a) = (1 + tanh(a/2)) / 2, a sigmoid state is an affine image of a tanh state, and
    the affine offsets land in U (a constant added to U w is a constant added to each
    column of U, because w is one-hot) and in the output bias b. So the tanh network
    with b is exactly as expressive as the paper's; tanh, centred on 0, trains more
    easily.
    """

    # --8<-- [start:init]
    def __init__(self, config: RNNLMConfig) -> None:
        super().__init__()
        if not isinstance(config, RNNLMConfig):
            raise ValueError(
                f"RNNLM expects an RNNLMConfig; got {type(config).__name__}"
            )
        self.config = config
        V, H = config.vocab_size, config.hidden
        # U w(t) with a one-hot w(t) picks column w(t) of U: we store U's columns as
        # rows,
        # (V, H), so the product is a row lookup, U[w] — what nn.Embedding does.
        self.U = nn.Parameter(
            torch.empty(V, H)
        )  # (V, H) input weights, one row per word
        self.W = nn.Parameter(torch.empty(H, H))  # (H, H) recurrent weights
        self.V = nn.Parameter(torch.empty(V, H))  # (V, H) output weights
        self.b = nn.Parameter(torch.empty(V))  # (V,) output biases
        self.register_buffer(
            "eye", torch.eye(H), persistent=False
        )  # (H, H) for the fast path
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Our initialisation (the paper: "small values"; it does not fix them further).

        U ~ N(0, 0.1²) and W ~ U(-1/√H, 1/√H), whose spectral radius is about 0.58: the
        state starts in tanh's linear range and a signal fades as it passes through W,
        so nothing explodes at the start. V and b start at zero, so the first prediction
        is uniform and the loss at initialisation is exactly ln |V|, as in chapter 6.
        """
        H = self.config.hidden
        nn.init.normal_(self.U, mean=0.0, std=0.1)
        nn.init.uniform_(self.W, -1.0 / math.sqrt(H), 1.0 / math.sqrt(H))
        nn.init.zeros_(self.V)
        nn.init.zeros_(self.b)

    def init_state(self, batch_size: int) -> torch.Tensor:
        """The state before the first token, s(0) = 0: zeros of shape (B, H)."""
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int)
            or batch_size < 1
        ):
            raise ValueError(f"batch_size must be an int >= 1; got {batch_size!r}")
        return torch.zeros(
            batch_size, self.config.hidden, dtype=self.W.dtype, device=self.W.device
        )  # (B, H)

    # --8<-- [end:init]

    # --8<-- [start:loop]
    def forward_loop(self, tokens: torch.Tensor, state: torch.Tensor | None = None):
        """The equations, one time step per iteration: logits (B, T, |V|), last state
        (B, H)."""
        B, T = self._check(tokens, state)
        s = self.init_state(B) if state is None else state  # (B, H) s(t-1)
        states = []
        for t in range(T):
            Uw = self.U[tokens[:, t]]  # (B, H) U w(t): the column of U for word w(t)
            s = torch.tanh(Uw + s @ self.W.T)  # (B, H) s(t) = f(U w(t) + W s(t-1))
            states.append(s)
        S = torch.stack(states, dim=1)  # (B, T, H) s(1) … s(T)
        y = S @ self.V.T + self.b  # (B, T, V) V s(t) + b; softmax is g
        return y, s

    # --8<-- [end:loop]

    # --8<-- [start:forward]
    def forward(self, tokens: torch.Tensor, state: torch.Tensor | None = None):
        """The same as `forward_loop`, with the time loop in C++: logits (B, T, |V|),
        state (B, H).

        `torch.rnn_tanh` is the kernel behind `torch.nn.RNN`: it computes s(t) =
        tanh(W_ih x(t) + W_hh s(t-1)). With x(t) = U w(t) and W_ih the identity, that is
        the paper's update; W_hh is our W.
        """
        B, T = self._check(tokens, state)
        s0 = self.init_state(B) if state is None else state  # (B, H)
        Uw = self.U[tokens]  # (B, T, H) U w(t) for every t at once
        S, s = torch.rnn_tanh(
            Uw,
            s0.unsqueeze(0),
            [self.eye, self.W],
            False,
            1,
            0.0,
            self.training,
            False,
            True,
        )  # no biases, 1 layer, batch first
        y = S @ self.V.T + self.b  # (B, T, V)
        return y, s.squeeze(0)  # (B, T, V), (B, H)

    # --8<-- [end:forward]

    def _check(
        self, tokens: torch.Tensor, state: torch.Tensor | None
    ) -> tuple[int, int]:
        """Reject what the equations cannot take, with a message that says why."""
        V, H = self.config.vocab_size, self.config.hidden
        if not isinstance(tokens, torch.Tensor) or tokens.ndim != 2:
            got = (
                tuple(tokens.shape)
                if isinstance(tokens, torch.Tensor)
                else type(tokens).__name__
            )
            raise ValueError(f"RNNLM expects token ids of shape (B, T); got {got}")
        if (
            tokens.dtype.is_floating_point
            or tokens.dtype.is_complex
            or tokens.dtype == torch.bool
        ):
            raise ValueError(
                f"RNNLM expects integer token ids (torch.long); got dtype "
                f"{tokens.dtype}"
            )
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= V):
            raise ValueError(
                f"RNNLM expects token ids in [0, {V - 1}] (vocab_size {V}); "
                f"got ids from {int(tokens.min())} to {int(tokens.max())}"
            )
        B, T = tokens.shape
        if state is not None and tuple(state.shape) != (B, H):
            raise ValueError(
                f"RNNLM expects a state of shape (B, H) = ({B}, {H}); got "
                f"{tuple(state.shape)}"
            )
        return B, T

    @property
    def num_parameters(self) -> int:
        """The number of scalars the model trains; equals
        `paper_parameter_count(config)`."""
        return sum(p.numel() for p in self.parameters())
