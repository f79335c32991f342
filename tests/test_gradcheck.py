"""The central-difference checker itself: right on functions whose gradient is known."""

import numpy as np
import pytest

from airoad_book.scratch.gradcheck import numerical_gradient, relative_error


def test_numerical_gradient_of_a_quadratic_is_exact_up_to_rounding():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4))
    x = rng.normal(size=(3, 4))
    grad = numerical_gradient(lambda: float(np.sum(a * x**2)), x)
    assert relative_error(grad, 2 * a * x) < 1e-7


def test_numerical_gradient_restores_its_input():
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    before = x.copy()
    numerical_gradient(lambda: float(np.sum(np.sin(x))), x)
    assert np.array_equal(x, before)


def test_numerical_gradient_rejects_integer_arrays():
    with pytest.raises(TypeError, match="floating-point"):
        numerical_gradient(lambda: 0.0, np.arange(3))


def test_relative_error_sees_a_wrong_gradient():
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) > 0.05
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error(np.zeros(2), np.zeros(3))
