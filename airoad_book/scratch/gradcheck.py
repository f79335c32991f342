"""Central differences: the slow, obviously correct gradient every hand-written backward
is checked against.

For a scalar function f of an array x, each partial derivative is estimated as

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps),

whose error shrinks like eps^2 (one-sided differences only shrink like eps). Run it in
float64: in float32 the rounding error of f, divided by 2 eps, swamps the estimate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


# --8<-- [start:numerical]
def numerical_gradient(
    f: Callable[[], float], x: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Estimate df/dx by central differences, nudging ``x`` in place and restoring it.

    ``f`` takes no arguments and reads ``x`` (and whatever else it closes over), so the
    same helper checks the gradient of any parameter or input of a layer.
    """
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"x must be a floating-point array, got dtype {x.dtype}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        saved = x[i]
        x[i] = saved + eps
        f_plus = f()
        x[i] = saved - eps
        f_minus = f()
        x[i] = saved  # restore: the check must not change what it checks
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad
    # --8<-- [end:numerical]


# --8<-- [start:relative]
def relative_error(a: np.ndarray, b: np.ndarray, floor: float = 1e-12) -> float:
    """max |a - b| / max(|a|, |b|), elementwise, guarded against 0/0 by ``floor``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)
    return float(np.max(np.abs(a - b) / scale)) if a.size else 0.0
    # --8<-- [end:relative]


__all__ = ["numerical_gradient", "relative_error"]
