r"""How models are scored: perplexity, bits, accuracy, and BLEU for translations
(chapter 9).

Every loss in this book is a cross-entropy in **nats**: the mean of $-\ln p(x_t \mid
x_{<t})$ over the tokens, the unit ``torch.nn.functional.cross_entropy`` returns. The
papers report the same quantity in other units; the functions below convert between
them.

```python
import math
from airoad_book.metrics import bits, perplexity

nats = math.log(10_000)  # a uniform guess over a 10k-word vocabulary
print(round(perplexity(nats)), round(bits(nats), 2))  # 10000 13.29: bits per word
```
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

LN2 = math.log(2.0)  # nats in one bit


# --8<-- [start:perplexity]
def perplexity(nats_per_token: float) -> float:
    r"""Perplexity $= e^{H}$ for a cross-entropy $H$ in nats per token.

    Over a text of $N$ tokens, $H = -\frac{1}{N} \sum_t \ln p(x_t \mid x_{<t})$, so
    perplexity is the inverse geometric mean of the probabilities the model gave the
    text.

    Perplexity is the size of a uniform choice that is as uncertain as the model: a
    model that spreads its probability evenly over $V$ tokens has $H = \ln V$ and
    perplexity $V$. It is what Bengio et al. (2003), Mikolov et al. (2010) and Zaremba
    et al. (2014) report.
    """
    return math.exp(nats_per_token)


def nats_from_perplexity(ppl: float) -> float:
    r"""The cross-entropy in nats per token behind a perplexity: $H =
    \ln(\mathrm{ppl})$."""
    if ppl <= 0:
        raise ValueError(f"perplexity must be positive; got {ppl!r}")
    return math.log(ppl)


# --8<-- [end:perplexity]


# --8<-- [start:bits]
def bits(nats: float) -> float:
    r"""Nats to bits: $H_2 = H / \ln 2$, since $\log_2 p = \ln p / \ln 2$.

    One bit is $\ln 2 \approx 0.693$ nats.
    """
    return nats / LN2


def nats_from_bits(n_bits: float) -> float:
    r"""Bits to nats: $H = H_2 \ln 2$."""
    return n_bits * LN2


def perplexity_from_bits(bits_per_token: float) -> float:
    """Perplexity $= 2^{H_2}$ for a cross-entropy $H_2$ in bits per token."""
    return 2.0**bits_per_token


def bits_per_char(nats_per_token: float, chars_per_token: float = 1.0) -> float:
    r"""Bits per character, the unit of character-level work (Graves 2013).

    A character model has one character per token, so this is just ``bits(nats)``. For a
    model over words or sub-words, the loss of a text is spread over its characters:
    $\mathrm{bpc} = H \cdot N_\text{tokens} / (N_\text{chars} \ln 2)$, so pass
    ``chars_per_token`` $= N_\text{chars} / N_\text{tokens}$ (spaces counted) to compare
    a word model with a character model on the same text.
    """
    if chars_per_token <= 0:
        raise ValueError(f"chars_per_token must be positive; got {chars_per_token!r}")
    return bits(nats_per_token) / chars_per_token


# --8<-- [end:bits]


# --8<-- [start:accuracy]
def accuracy(logits: Tensor, targets: Tensor, ignore_index: int | None = None) -> float:
    """The fraction of positions whose highest-scoring class is the target.

    ``logits`` has shape ``(..., V)`` and ``targets`` the same shape without the last
    axis; targets equal to ``ignore_index`` (padding) are left out of the count.
    """
    if logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"accuracy expects targets of shape {tuple(logits.shape[:-1])} for logits "
            f"of shape "
            f"{tuple(logits.shape)}; got targets of shape {tuple(targets.shape)}"
        )
    counted = torch.ones_like(targets, dtype=torch.bool)
    if ignore_index is not None:
        counted = targets != ignore_index
    n = int(counted.sum())
    if n == 0:
        raise ValueError(
            "accuracy needs at least one target that is not ignore_index; got none"
        )
    correct = (logits.argmax(dim=-1) == targets) & counted
    return int(correct.sum()) / n


# --8<-- [end:accuracy]


# --8<-- [start:bleu]
@dataclass(frozen=True)
class BleuScore:
    """Corpus BLEU and the statistics behind it.

    score: BLEU in 0-100. precisions: the modified n-gram precisions p_1..p_N in percent
    (after smoothing). brevity_penalty: BP in (0, 1]. hyp_len, ref_len: tokens in all
    hypotheses and all references.
    """

    score: float
    precisions: tuple[float, ...]
    brevity_penalty: float
    hyp_len: int
    ref_len: int


def ngrams(tokens: Sequence[str], n: int) -> Counter:
    """How often each n-gram (a tuple of n tokens) occurs in `tokens`."""
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu_score(
    hypotheses: Sequence[Sequence[str]],
    references: Sequence[Sequence[str]],
    max_n: int = 4,
) -> BleuScore:
    r"""Corpus BLEU (Papineni et al. 2002) of tokenized hypotheses, one reference each.

    $$\mathrm{BLEU} = \mathrm{BP} \cdot \exp\Big(\frac{1}{N}\sum_{n=1}^{N} \ln p_n\Big),
    \qquad \mathrm{BP} = \min\big(1,\; e^{\,1 - r/c}\big)$$

    $p_n$ is the clipped n-gram precision over the whole corpus: every n-gram of a
    hypothesis counts as correct at most as often as it occurs in its reference, and the
    counts are summed over all sentences before dividing. $c$ and $r$ are the total
    hypothesis and reference lengths. An order with no correct n-gram would make the
    score 0; like sacrebleu's default ("exp", the smoothing of NIST's mteval-v13a), the
    k-th such order gets the precision $1 / (2^k \cdot \text{total}_n)$ instead.
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"expected one reference per hypothesis; got {len(hypotheses)} hypotheses "
            f"and "
            f"{len(references)} references"
        )
    if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 1:
        raise ValueError(f"max_n must be an int >= 1; got {max_n!r}")
    correct, total = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references):
        hyp_len, ref_len = hyp_len + len(hyp), ref_len + len(ref)
        for n in range(1, max_n + 1):
            h, r = ngrams(hyp, n), ngrams(ref, n)
            correct[n - 1] += sum(
                min(count, r[gram]) for gram, count in h.items()
            )  # clipped
            total[n - 1] += max(len(hyp) - n + 1, 0)
    bp = (
        1.0
        if hyp_len >= ref_len
        else (math.exp(1 - ref_len / hyp_len) if hyp_len else 0.0)
    )
    precisions = [0.0] * max_n
    if not any(correct):
        return BleuScore(0.0, tuple(precisions), bp, hyp_len, ref_len)
    halvings = 1
    for n in range(max_n):
        if (
            total[n] == 0
        ):  # no hypothesis is n tokens long: p_n stays 0, and so does BLEU
            break
        if correct[n] == 0:
            halvings *= 2
            precisions[n] = 100.0 / (halvings * total[n])
        else:
            precisions[n] = 100.0 * correct[n] / total[n]
    log_mean = sum(math.log(p) if p > 0 else -math.inf for p in precisions) / max_n
    return BleuScore(bp * math.exp(log_mean), tuple(precisions), bp, hyp_len, ref_len)


def bleu(
    hypotheses: Sequence[Sequence[str]],
    references: Sequence[Sequence[str]],
    max_n: int = 4,
) -> float:
    """Corpus BLEU in 0-100 of tokenized hypotheses against one reference each."""
    return bleu_score(hypotheses, references, max_n).score


# --8<-- [end:bleu]
