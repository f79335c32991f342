r"""An Elman recurrent language model in NumPy, with backpropagation through time by
hand.

The network of Mikolov et al. (2010) on one sequence of token ids $w(1) … w(T)$:

$$a(t) = U w(t) + W s(t-1), \quad s(t) = \tanh a(t), \quad z(t) = V s(t) + b, \quad
p(t) = \operatorname{softmax} z(t),$$

with the loss $L = -\frac{1}{T} \sum_t \ln p(t)_{y(t)}$, $y(t)$ the token after $w(t)$.
$U$ is stored with one *row* per word, (|V|, H), so $U w(t)$ is the row ``U[w(t)]``.

Backpropagation through time is the chain rule run backwards along the sequence. The
state $s(t)$ reaches the loss two ways: through this step's output $z(t)$, and through
the next state $s(t+1)$. So the gradient arriving at $s(t)$ is

$$\frac{\partial L}{\partial s(t)} = V^\top \frac{\partial L}{\partial z(t)}
 + W^\top \Big(\frac{\partial L}{\partial s(t+1)} \odot \big(1 - s(t+1)^2\big)\Big),$$

and each step's weights collect their share: the same $U$, $W$, $V$, $b$ serve every
step, so their gradients are sums over $t$. The tests check `backward` against central
differences (`airoad_book.scratch.gradcheck`) and against torch's autograd.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Params",
    "Cache",
    "init_params",
    "forward",
    "backward",
    "state_gradient_norms",
    "with_spectral_radius",
]


@dataclass
class Params:
    """The weights of the net, float64: U (V, H), W (H, H), V (V, H), b (V,)."""

    U: np.ndarray  # (V, H) input weights, one row per word
    W: np.ndarray  # (H, H) recurrent weights
    V: np.ndarray  # (V, H) output weights
    b: np.ndarray  # (V,) output biases


@dataclass
class Cache:
    """What the forward pass keeps for the backward pass."""

    tokens: np.ndarray  # (T,) input ids w(t)
    targets: np.ndarray  # (T,) the ids to predict y(t)
    states: np.ndarray  # (T + 1, H) s(0), s(1), ..., s(T)
    probs: np.ndarray  # (T, V) p(t)


def init_params(
    vocab_size: int, hidden: int, rng: np.random.Generator, scale: float = 0.5
) -> Params:
    """Random weights N(0, scale²/H) for W, N(0, scale²) elsewhere (small, for
    checks)."""
    if vocab_size < 2 or hidden < 1:
        raise ValueError(
            f"need vocab_size >= 2 and hidden >= 1; got {vocab_size}, {hidden}"
        )
    V, H = vocab_size, hidden
    return Params(
        U=rng.normal(0, scale, (V, H)),
        W=rng.normal(0, scale / np.sqrt(H), (H, H)),
        V=rng.normal(0, scale, (V, H)),
        b=rng.normal(0, scale, V),
    )


# --8<-- [start:forward]
def forward(
    p: Params, tokens: np.ndarray, targets: np.ndarray, s0: np.ndarray
) -> tuple[float, Cache]:
    """Mean cross-entropy (nats per token) of `targets` (T,) given `tokens` (T,), from
    state s0 (H,)."""
    T, H = len(tokens), len(s0)
    states = np.zeros((T + 1, H))  # (T+1, H) states[t] is s(t); states[0] = s(0)
    states[0] = s0
    probs = np.zeros((T, len(p.b)))  # (T, V)
    for t in range(T):
        a = p.U[tokens[t]] + p.W @ states[t]  # (H,) U w(t) + W s(t-1)
        states[t + 1] = np.tanh(a)  # (H,) s(t)
        z = p.V @ states[t + 1] + p.b  # (V,) V s(t) + b
        e = np.exp(
            z - z.max()
        )  # (V,) shifted: softmax is unchanged, exp cannot overflow
        probs[t] = e / e.sum()  # (V,) p(t)
    loss = -np.mean(np.log(probs[np.arange(T), targets]))
    return float(loss), Cache(tokens, targets, states, probs)


# --8<-- [end:forward]


# --8<-- [start:backward]
def backward(p: Params, cache: Cache) -> tuple[Params, np.ndarray]:
    """Gradients of the mean loss with respect to U, W, V, b (a Params), and to s(0)
    (H,)."""
    T = len(cache.tokens)
    S = cache.states  # (T+1, H)
    g = Params(
        U=np.zeros_like(p.U),
        W=np.zeros_like(p.W),
        V=np.zeros_like(p.V),
        b=np.zeros_like(p.b),
    )
    ds_next = np.zeros(
        S.shape[1]
    )  # (H,) dL/ds(t) arriving from step t+1 (none after the last)
    for t in reversed(range(T)):
        dz = cache.probs[t].copy()  # (V,) dL/dz(t) = (p(t) - onehot(y(t))) / T
        dz[cache.targets[t]] -= 1.0
        dz /= T
        g.V += np.outer(dz, S[t + 1])  # (V, H) z(t) = V s(t) + b
        g.b += dz
        ds = (
            p.V.T @ dz + ds_next
        )  # (H,) both paths into s(t): the output and the next state
        da = ds * (1.0 - S[t + 1] ** 2)  # (H,) through tanh: tanh'(a) = 1 - tanh(a)²
        g.U[cache.tokens[t]] += da  # (H,) only the row of the word read at t
        g.W += np.outer(da, S[t])  # (H, H) a(t) = U w(t) + W s(t-1)
        ds_next = p.W.T @ da  # (H,) what s(t-1) receives through W
    return g, ds_next  # ds_next is now dL/ds(0)


# --8<-- [end:backward]


# --8<-- [start:norms]
def state_gradient_norms(
    p: Params, tokens: np.ndarray, target: int, s0: np.ndarray
) -> np.ndarray:
    """‖∂L/∂s(T−k)‖ for k = 0 … T−1, for the loss L = −ln p(T)[target] of the last step
    only.

    Going back one step multiplies the gradient by the transposed Jacobian
    ∂s(t)/∂s(t−1) = diag(1 − s(t)²) W, so the norm at k steps back measures the product
    of k Jacobians: it shrinks or grows roughly like a power of W's spectral radius.
    Returns an array of shape (T,), entry k for k steps back.
    """
    T = len(tokens)
    _, cache = forward(p, tokens, np.full(T, target), s0)
    S = cache.states  # (T+1, H)
    dz = cache.probs[-1].copy()  # (V,) dL/dz(T) for the last step's loss alone
    dz[target] -= 1.0
    ds = p.V.T @ dz  # (H,) dL/ds(T)
    norms = np.zeros(T)
    for k in range(T):
        norms[k] = np.linalg.norm(ds)  # dL/ds(T-k)
        ds = p.W.T @ (ds * (1.0 - S[T - k] ** 2))  # (H,) one Jacobian further back
    return norms


# --8<-- [end:norms]


def with_spectral_radius(W: np.ndarray, radius: float) -> np.ndarray:
    """W rescaled so that its largest |eigenvalue| is `radius`: shape (H, H), like W."""
    current = np.max(np.abs(np.linalg.eigvals(W)))
    if current == 0:
        raise ValueError(
            "W has spectral radius 0; it cannot be rescaled to another radius"
        )
    return W * (radius / current)
