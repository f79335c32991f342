r"""A Neural Probabilistic Language Model.

Yoshua Bengio, Réjean Ducharme, Pascal Vincent and Christian Jauvin (2003),
*Journal of Machine Learning Research* 3:1137–1155,
<https://www.jmlr.org/papers/v3/bengio03a.html>.

Before this paper a language model was a table of counts: an n-gram model estimates
$P(w_t \mid w_{t-n+1}, \dots, w_{t-1})$ from how often each exact context was seen, so
it learns nothing about a context it has never met except by backing off to a shorter
one. Bengio et al. replaced the table by a function. Every word gets a learned feature
vector, a row of a shared matrix $C$; the $n-1$ previous words' vectors are concatenated
into $x$; a small network maps $x$ to a score for every word of the vocabulary,

$$y = b + W x + U \tanh(d + H x), \qquad
P(w_t \mid w_{t-n+1}, \dots, w_{t-1}) = \operatorname{softmax}(y)_{w_t},$$

and $C$ is trained jointly with the network by gradient descent on the log-likelihood.
Words used in similar contexts end up with similar vectors, so probability mass flows to
word sequences never seen in training: the curse of dimensionality is fought with
distributed representations instead of counts. On both of its corpora (Brown and AP
News) the paper reported test perplexities clearly below the best smoothed n-gram models
of the day, and lower still when the network's probabilities were mixed with a
trigram's. Its pieces — an embedding table, a hidden layer, a softmax over the
vocabulary — are in every neural language model since.

Symbols follow section 2 of the paper: $|V|$ the vocabulary size, $n-1$ the number of
previous words, $m$ the feature (embedding) size, $h$ the number of hidden units; the
parameters are $C$, $H$, $d$, $U$, $W$ and $b$.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["NPLMConfig", "NPLM", "paper_parameter_count"]


# --8<-- [start:config]
@dataclass(frozen=True)
class NPLMConfig:
    """Shapes of the model. The paper's best Brown-corpus model had n = 5, m = 30, h =
    100."""

    vocab_size: int = 1000  # |V|, the number of distinct words (ids 0 … |V|-1)
    context: int = 4  # n - 1, the number of previous words the model sees
    embed_dim: int = 30  # m, the length of each word's feature vector C(w)
    hidden: int = 100  # h, the number of tanh hidden units
    direct: bool = (
        True  # whether y has the direct connections W x (False: the paper's W = 0)
    )

    def __post_init__(self) -> None:
        checks = [
            (
                "vocab_size",
                self.vocab_size,
                2,
                "a softmax over one word predicts nothing",
            ),
            ("context", self.context, 1, "the model needs at least one previous word"),
            ("embed_dim", self.embed_dim, 1, "each word needs a feature vector"),
            ("hidden", self.hidden, 1, "this implementation needs a hidden layer"),
        ]
        for name, value, least, why in checks:
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(
                    f"NPLMConfig.{name} must be an int >= {least} ({why}); got "
                    f"{value!r}"
                )
        if not isinstance(self.direct, bool):
            raise ValueError(
                f"NPLMConfig.direct must be True or False; got {self.direct!r}"
            )

    @property
    def n(self) -> int:
        """The paper's n: the order of the model, previous words plus the predicted
        one."""
        return self.context + 1


# --8<-- [end:config]


# --8<-- [start:count]
def paper_parameter_count(config: NPLMConfig) -> int:
    """The number of free parameters, as section 2 of the paper counts them.

    With direct connections the paper gives

        |V| (1 + n m + h) + h (1 + (n-1) m)

    — per word of the vocabulary: its bias b, its row of W ((n-1) m), its row of U (h)
    and its feature vector C(w) (m); per hidden unit: its bias d and its row of H
    ((n-1) m). Without direct connections (W = 0) the row of W goes:

        |V| (1 + m + h) + h (1 + (n-1) m)
    """
    V, n, m, h = config.vocab_size, config.n, config.embed_dim, config.hidden
    per_word = 1 + (n * m if config.direct else m) + h
    return V * per_word + h * (1 + (n - 1) * m)


# --8<-- [end:count]


class NPLM(nn.Module):
    """Bengio et al.'s neural probabilistic language model.

    `forward` takes the ids of the n-1 previous words, **oldest first**
    (w_{t-n+1}, …, w_{t-1}: the order they appear in the text, as a sliding window
    over a stream gives them), and returns the logits y over the next word w_t.

    The paper writes x = (C(w_{t-1}), …, C(w_{t-n+1})), newest first; we concatenate
    oldest first. The two differ only by a fixed permutation of the columns of H and W,
    so they define the same family of models.

    Parameter count (section 2 of the paper; see `paper_parameter_count`):
    |V| (1 + n m + h) + h (1 + (n-1) m) with direct connections W,
    |V| (1 + m + h) + h (1 + (n-1) m) without.
    """

    # --8<-- [start:init]
    def __init__(self, config: NPLMConfig) -> None:
        super().__init__()
        if not isinstance(config, NPLMConfig):
            raise ValueError(f"NPLM expects an NPLMConfig; got {type(config).__name__}")
        self.config = config
        V, m, h = config.vocab_size, config.embed_dim, config.hidden
        nm = config.context * m  # (n-1) m, the length of x
        self.C = nn.Parameter(torch.empty(V, m))  # (V, m) word feature vectors, shared
        self.H = nn.Parameter(torch.empty(h, nm))  # (h, (n-1)m) input -> hidden
        self.d = nn.Parameter(torch.empty(h))  # (h,) hidden biases
        self.U = nn.Parameter(torch.empty(V, h))  # (V, h) hidden -> output
        if config.direct:
            self.W = nn.Parameter(torch.empty(V, nm))  # (V, (n-1)m) input -> output
        else:
            self.register_parameter(
                "W", None
            )  # the paper's W = 0: no direct connections
        self.b = nn.Parameter(torch.empty(V))  # (V,) output biases
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Our initialisation (the paper does not fix one).

        The output side U, W, b starts at zero, so every logit y is exactly 0, the
        softmax is uniform and the loss at initialisation is ln |V| — a number to check
        before training. The input side starts small, where learning can begin: C ~ N(0,
        0.1²) and H, d ~ U(-1/√((n-1)m), 1/√((n-1)m)), so tanh works in its linear
        range, not saturated. Small feature vectors matter: a word seen a handful of
        times gets few updates, and with C ~ N(0, 1) its random start would outweigh
        what it learned (on PTB, nearest neighbours stay noise after ten epochs). U gets
        a non-zero gradient at once (tanh(d + H x) ≠ 0), and after the first step so do
        C, H and d.
        """
        bound = 1.0 / math.sqrt(self.H.shape[1])
        nn.init.normal_(self.C, mean=0.0, std=0.1)
        nn.init.uniform_(self.H, -bound, bound)
        nn.init.uniform_(self.d, -bound, bound)
        nn.init.zeros_(self.U)
        if self.W is not None:
            nn.init.zeros_(self.W)
        nn.init.zeros_(self.b)

    # --8<-- [end:init]

    # --8<-- [start:forward]
    def forward(self, context_ids: torch.Tensor) -> torch.Tensor:
        """Logits y over the next word, (B, V), from the previous n-1 ids, (B, n-1).

        The ids are oldest first: context_ids[:, -1] is w_{t-1}. softmax(y) is
        P(w_t | w_{t-n+1}, …, w_{t-1}); pass y to F.cross_entropy for the loss.
        """
        self._check_context(context_ids)
        B = context_ids.shape[0]
        x = self.C[context_ids]  # (B, n-1, m) look up C(w) for each previous word
        x = x.reshape(B, -1)  # (B, (n-1)m) concatenate them: the paper's x
        a = torch.tanh(self.d + x @ self.H.T)  # (B, h) tanh(d + H x)
        y = self.b + a @ self.U.T  # (B, V) b + U tanh(d + H x)
        if self.W is not None:
            y = y + x @ self.W.T  # (B, V) ... + W x, the direct connections
        return y

    # --8<-- [end:forward]

    def _check_context(self, context_ids: torch.Tensor) -> None:
        """Reject what the equations cannot take, with a message that says why."""
        k, V = self.config.context, self.config.vocab_size
        if not isinstance(context_ids, torch.Tensor):
            raise ValueError(
                f"NPLM expects context ids as a torch.Tensor of shape (B, {k}); "
                f"got {type(context_ids).__name__}"
            )
        if (
            context_ids.dtype.is_floating_point
            or context_ids.dtype.is_complex
            or (context_ids.dtype == torch.bool)
        ):
            raise ValueError(
                f"NPLM expects integer word ids (torch.long); got dtype "
                f"{context_ids.dtype}"
            )
        if context_ids.ndim != 2 or context_ids.shape[1] != k:
            raise ValueError(
                f"NPLM expects context ids of shape (B, {k}) — the {k} previous words, "
                f"oldest first; got shape {tuple(context_ids.shape)}"
            )
        if context_ids.numel() > 0:
            low, high = int(context_ids.min()), int(context_ids.max())
            if low < 0 or high >= V:
                raise ValueError(
                    f"NPLM expects word ids in [0, {V - 1}] (vocab_size {V}); "
                    f"got ids from {low} to {high}"
                )

    @property
    def num_parameters(self) -> int:
        """The number of scalars the model trains; equals
        `paper_parameter_count(config)`."""
        return sum(p.numel() for p in self.parameters())
