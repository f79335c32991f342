"""Three optimizers in NumPy: SGD, SGD with momentum, and Adam.

Each works on two parallel lists of arrays, the parameters and their gradients, and
updates the parameters in place: ``optimizer.step(params, grads)``. The lists must come
in the same order at every step (an MLP's ``params()`` and ``grads()`` do), because
momentum and Adam keep one running state array per parameter, matched by position.

- Momentum: Polyak (1964), "Some methods of speeding up the convergence of iteration
  methods"; in neural networks, Rumelhart, Hinton & Williams (1986) and Qian (1999).
- Adam: Kingma & Ba (2015), "Adam: a method for stochastic optimization", ICLR,
  <https://arxiv.org/abs/1412.6980>.
"""

from __future__ import annotations

import numpy as np


def _check_lr(lr: float) -> None:
    if not lr > 0:
        raise ValueError(f"learning rate must be positive, got {lr}")


def _check_pairs(params: list[np.ndarray], grads: list[np.ndarray]) -> None:
    if len(params) != len(grads):
        raise ValueError(f"got {len(params)} parameters but {len(grads)} gradients")


# --8<-- [start:sgd]
class SGD:
    """θ ← θ − η g: a step down the gradient, of size η times its length."""

    def __init__(self, lr: float = 0.1) -> None:
        _check_lr(lr)
        self.lr = lr

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Update each parameter array in place from its gradient (same shape)."""
        _check_pairs(params, grads)
        for theta, g in zip(params, grads):
            theta -= self.lr * g

    # --8<-- [end:sgd]


# --8<-- [start:momentum]
class Momentum:
    """v ← μ v + g; θ ← θ − η v: a velocity that sums past gradients with weights μ^k.

    It is a sum, not an average: for a constant gradient g, v tends to g / (1 − μ), so
    momentum multiplies the effective step by about 1/(1 − μ) (10 for μ = 0.9).
    """

    def __init__(self, lr: float = 0.1, mu: float = 0.9) -> None:
        _check_lr(lr)
        if not 0.0 <= mu < 1.0:
            raise ValueError(f"momentum mu must be in [0, 1), got {mu}")
        self.lr, self.mu = lr, mu
        self.v: list[np.ndarray] | None = None  # one velocity per parameter

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Update each parameter array in place from its gradient (same shape)."""
        _check_pairs(params, grads)
        if self.v is None:
            self.v = [np.zeros_like(theta) for theta in params]
        for theta, g, v in zip(params, grads, self.v):
            v *= self.mu
            v += g
            theta -= self.lr * v

    # --8<-- [end:momentum]


# --8<-- [start:adam]
class Adam:
    """Kingma & Ba (2015): a step per coordinate scaled by a running RMS of its
    gradient.

    m ← β₁ m + (1 − β₁) g,  v ← β₂ v + (1 − β₂) g²,
    m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ),  θ ← θ − η m̂ / (√v̂ + ε).
    """

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        _check_lr(lr)
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise ValueError(f"betas must be in [0, 1), got {beta1}, {beta2}")
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0  # steps taken: the bias correction needs it
        self.m: list[np.ndarray] | None = None  # first moments, one per parameter
        self.v: list[np.ndarray] | None = None  # second moments

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Update each parameter array in place from its gradient (same shape)."""
        _check_pairs(params, grads)
        if self.m is None:
            self.m = [np.zeros_like(theta) for theta in params]
            self.v = [np.zeros_like(theta) for theta in params]
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        for theta, g, m, v in zip(params, grads, self.m, self.v):
            m[...] = b1 * m + (1 - b1) * g
            v[...] = b2 * v + (1 - b2) * g**2
            m_hat = m / (
                1 - b1**self.t
            )  # the zero start biases m and v towards 0: undo it
            v_hat = v / (1 - b2**self.t)
            theta -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    # --8<-- [end:adam]


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}

__all__ = ["OPTIMIZERS", "SGD", "Adam", "Momentum"]
