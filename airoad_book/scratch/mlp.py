"""A multilayer perceptron in NumPy, composed of the hand-written layers, and its
training loop.

Rumelhart, Hinton & Williams (1986), "Learning representations by back-propagating
errors", Nature 323: 533-536, <https://doi.org/10.1038/323533a0>.

The network is a list of layers, Dense → activation (→ Dropout) → … → Dense, and a
softmax cross-entropy on top. Backpropagation is the list read backwards: each layer's
``backward`` turns the gradient of its output into the gradient of its input, and
leaves the gradient of its own parameters behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from airoad_book.scratch.layers import (
    ACTIVATIONS,
    INITS,
    Dense,
    Dropout,
    Layer,
    SoftmaxCrossEntropy,
)


# --8<-- [start:mlp]
class MLP:
    """Dense layers with an activation between them; maps (B, D) inputs to logits (B,
    K).

    ``sizes`` lists the widths from input to output, e.g. (784, 128, 10). Parameters are
    ``[W1, b1, W2, b2, ...]`` with W_l shaped (sizes[l-1], sizes[l]) and b_l
    (sizes[l],).
    """

    def __init__(
        self,
        sizes: tuple[int, ...],
        activation: str = "relu",
        init: str = "he",
        dropout: float = 0.0,
        seed: int = 0,
        dtype: type = np.float64,
    ) -> None:
        if len(sizes) < 2 or any(int(s) != s or s < 1 for s in sizes):
            raise ValueError(
                f"sizes must be two or more positive integers, got {sizes}"
            )
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {', '.join(ACTIVATIONS)}; got "
                f"{activation!r}"
            )
        if init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}; got {init!r}")
        rng = np.random.default_rng(seed)
        self.sizes = tuple(sizes)
        self.layers: list[Layer] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            self.layers.append(Dense(n_in, n_out, init, rng, dtype))
            if (
                i < len(sizes) - 2
            ):  # no activation after the last layer: it outputs logits
                self.layers.append(ACTIVATIONS[activation]())
                if dropout > 0:
                    self.layers.append(Dropout(dropout, rng))
        self.loss_fn = SoftmaxCrossEntropy()

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits (B, K) for inputs (B, D) or images (B, H, W), flattened to rows."""
        h = x.reshape(len(x), -1)  # (B, D)
        for layer in self.layers:
            h = layer.forward(h)
        return h  # (B, K)

    def loss(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Forward pass and mean cross-entropy (nats) against labels (B,)."""
        return self.loss_fn.forward(self.forward(x), labels)

    def backward(self) -> None:
        """Backpropagate from the last ``loss``: fills every layer's ``grads``."""
        g = self.loss_fn.backward()  # (B, K): p − y, over B
        for layer in reversed(self.layers):
            g = layer.backward(g)  # the chain rule, one layer at a time

    def dense_layers(self) -> list[Dense]:
        """The Dense layers, input to output."""
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    def params(self) -> list[np.ndarray]:
        """[W1, b1, W2, b2, ...]: the arrays themselves, so an optimizer updates them in
        place."""
        return [layer.params[k] for layer in self.dense_layers() for k in ("W", "b")]

    def grads(self) -> list[np.ndarray]:
        """dL/d(param) for each array of ``params()``, same order and shapes."""
        return [layer.grads[k] for layer in self.dense_layers() for k in ("W", "b")]

    def train(self, mode: bool = True) -> MLP:
        """Switch dropout on (training) or off (evaluation); returns self."""
        for layer in self.layers:
            layer.training = mode
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The most likely class (B,) for inputs (B, D), with dropout off."""
        was = self.layers[0].training
        self.train(False)
        out = self.forward(x).argmax(axis=1)
        self.train(was)
        return out

    # --8<-- [end:mlp]


# --8<-- [start:train]
@dataclass
class History:
    """What `fit` measured: one entry per epoch unless the field says otherwise."""

    train_loss: list[float] = field(
        default_factory=list
    )  # mean minibatch loss (nats) of the epoch
    valid_loss: list[float] = field(
        default_factory=list
    )  # loss on the validation set, if given
    valid_acc: list[float] = field(
        default_factory=list
    )  # accuracy on the validation set, if given
    step_loss: list[float] = field(
        default_factory=list
    )  # every minibatch's loss, in order
    best_epoch: int = (
        0  # 1-based epoch of the lowest validation loss (early stopping keeps it)
    )
    seconds: float = 0.0  # training wall-clock (s)


def l2_penalty(model: MLP, lam: float) -> float:
    """(λ/2) Σ_l ‖W_l‖²: the L2 penalty on the weights (not the biases)."""
    return (
        0.5 * lam * sum(float(np.sum(d.params["W"] ** 2)) for d in model.dense_layers())
    )


def fit(
    model: MLP,
    optimizer,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int = 64,
    seed: int = 0,
    l2: float = 0.0,
    x_valid: np.ndarray | None = None,
    y_valid: np.ndarray | None = None,
    patience: int | None = None,
) -> History:
    """Minibatch training: shuffle, forward, backward, step; inputs (N, D), labels (N,).

    With ``l2`` > 0 the loss gains (λ/2) Σ‖W‖² and each weight gradient gains λW. With a
    validation set and ``patience``, training stops after ``patience`` epochs without a
    new best validation loss and the best epoch's weights are put back (early stopping).
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(
            f"epochs and batch_size must be positive, got {epochs}, {batch_size}"
        )
    rng = np.random.default_rng(seed)
    history, best, best_params, start = History(), np.inf, None, time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train(True)
        order = rng.permutation(len(x))  # (N,) a new shuffle each epoch
        losses = []
        for s in range(0, len(x), batch_size):
            idx = order[s : s + batch_size]
            loss = model.loss(x[idx], y[idx]) + (l2_penalty(model, l2) if l2 else 0.0)
            model.backward()
            if l2:
                for d in model.dense_layers():
                    d.grads["W"] = (
                        d.grads["W"] + l2 * d.params["W"]
                    )  # d/dW of (λ/2)‖W‖²
            optimizer.step(model.params(), model.grads())
            losses.append(loss)
        history.train_loss.append(float(np.mean(losses)))
        history.step_loss += losses
        if x_valid is not None:
            v_loss, v_acc = evaluate(model, x_valid, y_valid)
            history.valid_loss.append(v_loss)
            history.valid_acc.append(v_acc)
            if v_loss < best:
                best, history.best_epoch = v_loss, epoch
                best_params = [p.copy() for p in model.params()]
            elif patience is not None and epoch - history.best_epoch >= patience:
                break
    if patience is not None and best_params is not None:
        for p, saved in zip(model.params(), best_params):
            p[...] = saved  # early stopping: keep the weights of the best epoch
    history.seconds = time.perf_counter() - start
    return history


def evaluate(model: MLP, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy (nats) and accuracy (0..1) on inputs (N, D), labels (N,),
    dropout off."""
    was = model.layers[0].training
    model.train(False)
    logits = model.forward(x)  # (N, K)
    loss = model.loss_fn.forward(logits, y)
    model.train(was)
    return loss, float(np.mean(logits.argmax(axis=1) == y))
    # --8<-- [end:train]


__all__ = ["MLP", "History", "evaluate", "fit", "l2_penalty"]
