"""A multilayer perceptron in PyTorch: the model of chapters 1 and 2.

Rumelhart, Hinton & Williams (1986), "Learning representations by back-propagating
errors", Nature 323: 533-536.

Chapter 1 writes this network by hand in NumPy (`airoad_book.scratch`); chapter 2 writes
it again with `torch.nn` and lets autograd run the chain rule. The two hold the same
parameters, so the same weights give the same gradients. Each layer computes h = f(h W^T
+ b), and the last layer's output is the logits, left to the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


# --8<-- [start:config]
@dataclass(frozen=True)
class MLPConfig:
    """Layer widths from input to output, and the hidden activation."""

    sizes: tuple[int, ...] = (784, 128, 10)  # input features, hidden widths..., classes
    activation: str = "relu"  # "relu" | "tanh" | "sigmoid"

    def __post_init__(self) -> None:
        if len(self.sizes) < 2 or any(int(s) != s or s < 1 for s in self.sizes):
            raise ValueError(
                f"sizes must be two or more positive integers, got {self.sizes}"
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {', '.join(ACTIVATIONS)}; got "
                f"{self.activation!r}"
            )

    # --8<-- [end:config]


# --8<-- [start:model]
class MLP(nn.Module):
    """Dense layers with an activation between them; returns logits (B, classes)."""

    def __init__(self, config: MLPConfig = MLPConfig()) -> None:
        super().__init__()
        self.config = config
        pairs = zip(config.sizes[:-1], config.sizes[1:])
        self.layers = nn.ModuleList(nn.Linear(n_in, n_out) for n_in, n_out in pairs)
        self.act = ACTIVATIONS[config.activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, classes) for inputs (B, D) or images (B, H, W), flattened to
        rows."""
        h = x.flatten(1)  # (B, D): images (B, H, W) become rows of pixels
        if h.shape[1] != self.config.sizes[0]:
            raise ValueError(
                f"expected {self.config.sizes[0]} input features, got {h.shape[1]}"
            )
        for layer in self.layers[:-1]:
            h = self.act(layer(h))  # (B, hidden)
        return self.layers[-1](h)  # (B, classes): logits

    # --8<-- [end:model]


# --8<-- [start:bridge]
def load_numpy_params(model: MLP, params: list) -> MLP:
    """Copy the NumPy MLP's parameters ``[W1, b1, W2, b2, ...]`` into ``model``; returns
    it.

    The layouts differ by a transpose. The NumPy layer computes ``x @ W + b`` with ``W``
    shaped (D_in, D_out); `nn.Linear` computes ``x @ weight.T + bias`` with ``weight``
    shaped (D_out, D_in). So ``weight = W.T``, and the two compute the same numbers. The
    copy keeps the model's dtype: call ``model.double()`` first to compare in float64.
    """
    layers = list(model.layers)
    if len(params) != 2 * len(layers):
        raise ValueError(
            f"expected {2 * len(layers)} arrays [W1, b1, ...] for {len(layers)} "
            f"layers, "
            f"got {len(params)}"
        )
    with torch.no_grad():
        for layer, W, b in zip(layers, params[0::2], params[1::2]):
            expected = (layer.in_features, layer.out_features)
            if tuple(W.shape) != expected or tuple(b.shape) != (layer.out_features,):
                raise ValueError(
                    f"expected W of shape {expected} (D_in, D_out) and b of shape "
                    f"({layer.out_features},), got {tuple(W.shape)} and "
                    f"{tuple(b.shape)}"
                )
            layer.weight.copy_(
                torch.as_tensor(W).T
            )  # (D_out, D_in) = transpose of (D_in, D_out)
            layer.bias.copy_(torch.as_tensor(b))  # (D_out,)
    return model


def numpy_grads(model: MLP) -> list:
    """The gradients of ``model`` in the NumPy MLP's layout: ``[dW1, db1, ...]``, dW
    (D_in, D_out)."""
    out = []
    for layer in model.layers:
        out += [
            layer.weight.grad.T.detach().cpu().numpy(),
            layer.bias.grad.detach().cpu().numpy(),
        ]
    return out
    # --8<-- [end:bridge]


__all__ = ["ACTIVATIONS", "MLP", "MLPConfig", "load_numpy_params", "numpy_grads"]
