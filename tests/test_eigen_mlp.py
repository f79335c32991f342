"""Appendix F: chapter 1's MLP in C++ with Eigen equals the NumPy one, gradient for
gradient.

These tests compile ``cpp/mlp_eigen.cpp``: without g++ or the Eigen headers they fail
with `ToolchainMissing` naming the packages (they never skip: a missing toolchain is a
broken checkout, and `.ci/run` installs it).
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from airoad_book.eigen_mlp import (
    ToolchainMissing,
    build,
    eigen_step,
    max_rel_diff,
    numpy_seconds,
)
from airoad_book.experiments import eigen_mlp as experiment
from airoad_book.scratch.mlp import MLP


@pytest.fixture(scope="module")
def exe():
    return build()


def batch(d: int, b: int = 16, k: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((b, d)), rng.integers(0, k, size=b)


@pytest.mark.parametrize("sizes", [(20, 10), (30, 16, 5), (12, 8, 8, 3)])
def test_eigen_gradients_equal_numpy_backward(exe, sizes):
    model = MLP(sizes, activation="relu", init="he", seed=1)
    x, y = batch(sizes[0], k=sizes[-1])
    loss = model.loss(x, y)
    model.backward()
    out = eigen_step(exe, model, x, y)
    assert [g.shape for g in out.grads] == [g.shape for g in model.grads()]
    assert out.loss == pytest.approx(loss, rel=1e-12)
    assert max_rel_diff(out.grads, model.grads()) <= 1e-6


def test_eigen_gradients_match_finite_differences(exe):
    """Not only equal to NumPy: both equal the derivative of the loss."""
    model = MLP((6, 5, 4), activation="relu", init="he", seed=3)
    x, y = batch(6, b=8, k=4)
    grads = eigen_step(exe, model, x, y).grads
    w, eps = model.params()[0], 1e-6
    for i, j in [(0, 0), (2, 3), (5, 1)]:
        saved = w[i, j]
        w[i, j] = saved + eps
        up = model.loss(x, y)
        w[i, j] = saved - eps
        down = model.loss(x, y)
        w[i, j] = saved
        assert grads[0][i, j] == pytest.approx((up - down) / (2 * eps), abs=1e-7)


def test_max_rel_diff_sees_a_changed_gradient():
    a = [np.ones((3, 2)), np.full(2, 2.0)]
    b = [g.copy() for g in a]
    assert max_rel_diff(a, b) == 0.0
    b[1][0] += 1e-3
    assert max_rel_diff(a, b) == pytest.approx(1e-3 / 2.001, rel=1e-6)


def test_both_are_timed(exe):
    model = MLP((20, 10, 4), seed=0)
    x, y = batch(20, k=4)
    assert eigen_step(exe, model, x, y, repeats=5).seconds > 0
    assert eigen_step(exe, model, x, y).seconds == 0.0  # no repeats, no timing
    assert numpy_seconds(model, x, y, 5) > 0


def test_bad_shapes_are_a_value_error(exe):
    model = MLP((20, 10, 4), seed=0)
    x, y = batch(20, k=4)
    with pytest.raises(ValueError, match=r"expected x \(B, 20\)"):
        eigen_step(exe, model, x[:, :19], y)
    with pytest.raises(ValueError, match="labels"):
        eigen_step(exe, model, x, y[:-1])


def test_a_label_out_of_range_is_reported_by_the_program(exe):
    model = MLP((20, 10, 4), seed=0)
    x, y = batch(20, k=4)
    y[0] = 7
    with pytest.raises(RuntimeError, match="outside 0..K-1"):
        eigen_step(exe, model, x, y)


def test_the_demo_passes_its_own_finite_difference_check(exe):
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "max relative error" in proc.stdout


def test_a_missing_compiler_names_the_packages(monkeypatch, tmp_path):
    monkeypatch.setenv("CXX", "no-such-compiler-g++")
    with pytest.raises(ToolchainMissing, match="libeigen3-dev") as err:
        build(tmp_path)
    assert "g++" in str(err.value)


def test_missing_eigen_headers_name_the_packages(monkeypatch, tmp_path):
    monkeypatch.setenv("EIGEN", str(tmp_path / "nowhere"))
    with pytest.raises(ToolchainMissing, match="libeigen3-dev"):
        build(tmp_path)


def test_a_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="git checkout"):
        build(tmp_path, source=tmp_path / "mlp_eigen.cpp")


def test_build_is_cached(exe):
    assert build() == exe


def test_the_experiment_reports_equal_gradients_and_both_speeds():
    result = experiment.run_config(experiment.Config(batch=16, repeats=5))
    m = result.metrics
    assert m["max_rel_grad_diff"] <= 1e-6
    assert m["loss_diff"] <= 1e-12
    assert m["speed_ratio"] > 0 and m["eigen_ms"] > 0 and m["numpy_ms"] > 0
    assert len(result.tables["grads"].rows) == 4  # W1, b1, W2, b2
    assert "agree" in result.text["verdict"]


def test_the_binary_is_keyed_by_the_cpu_it_was_compiled_for(monkeypatch):
    from airoad_book import eigen_mlp

    cxx = shutil.which("g++") or "true"
    here = eigen_mlp.binary_key(eigen_mlp.SOURCE, cxx)
    assert here == eigen_mlp.binary_key(eigen_mlp.SOURCE, cxx), "the key is stable"
    assert eigen_mlp.host_cpu(), "the CPU is named"
    monkeypatch.setattr(eigen_mlp, "host_cpu", lambda: "another CPU")
    assert eigen_mlp.binary_key(eigen_mlp.SOURCE, cxx) != here
