"""Chapter 1's MLP in C++ with Eigen, driven from Python (appendix F).

The C++ source is ``cpp/mlp_eigen.cpp`` at the root of the book's checkout: the same
network as `airoad_book.scratch.mlp.MLP` (Dense layers, ReLU between them, a stable
softmax cross-entropy), forward and backward written by hand against Eigen's matrices.
This module compiles it with g++ and runs it on a NumPy MLP's own weights and batch, so
the two gradients can be compared number for number, and both can be timed.

The program and Python speak through two binary files of little-endian int64 and
float64, row-major (NumPy's order): in, the layer sizes, the batch and every weight;
out, the loss, every gradient and the seconds one forward+backward took.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from airoad_book.scratch.mlp import MLP

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SOURCE = PROJECT_ROOT / "cpp" / "mlp_eigen.cpp"
CXXFLAGS = ("-O3", "-march=native", "-std=c++17", "-DNDEBUG")  # as in cpp/Makefile
EIGEN_DIRS = ("/usr/include/eigen3", "/usr/local/include/eigen3")
PACKAGES = (
    "g++ and the Eigen 3 headers (Debian/Ubuntu: apt-get install g++ libeigen3-dev)"
)


class ToolchainMissing(RuntimeError):
    """g++ or the Eigen headers are not installed: the message names the packages."""


def eigen_include() -> Path:
    """The folder that holds ``Eigen/Dense``: ``$EIGEN`` if set, else Debian's place."""
    candidates = [os.environ["EIGEN"]] if os.environ.get("EIGEN") else EIGEN_DIRS
    for folder in candidates:
        if (Path(folder) / "Eigen" / "Dense").is_file():
            return Path(folder)
    raise ToolchainMissing(
        f"the Eigen 3 headers were not found in {', '.join(candidates)}; appendix F "
        f"needs {PACKAGES}, or EIGEN=/path/to/eigen3"
    )


def compiler() -> str:
    """The C++ compiler: ``$CXX`` if set, else ``g++`` on the PATH."""
    cxx = os.environ.get("CXX") or "g++"
    if shutil.which(cxx) is None:
        raise ToolchainMissing(
            f"no C++ compiler {cxx!r} on the PATH; appendix F needs {PACKAGES}"
        )
    return cxx


def host_cpu() -> str:
    """The CPU that `-march=native` compiles for: the first processor's model and
    instruction-set flags from /proc/cpuinfo where there is one, else what `platform`
    says."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    first = text.split("\n\n", 1)[0].splitlines()
    wanted = ("vendor_id", "model name", "flags", "Features", "CPU part")
    lines = [line for line in first if line.split(":", 1)[0].strip() in wanted]
    return "\n".join(lines) or f"{platform.machine()} {platform.processor()}"


def binary_key(source: Path, cxx: str) -> str:
    """The cache key of the compiled program: a hash of the source, the flags, the
    compiler's version and the CPU. With `-march=native` a binary is only good for
    the CPU it was compiled on: a `.cache/` carried to another machine compiles again
    instead of running instructions that CPU may lack."""
    version = subprocess.run(
        [cxx, "--version"], capture_output=True, text=True, check=False
    ).stdout
    target = subprocess.run(  # what g++ resolves -march=native to, where it says
        [cxx, "-march=native", "-Q", "--help=target"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    parts = [source.read_bytes(), " ".join(CXXFLAGS).encode(), version.encode()]
    parts += [host_cpu().encode(), target.encode()]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:12]


def build(out_dir: str | Path | None = None, source: Path = SOURCE) -> Path:
    """Compile ``source`` (once per version of it) and return the executable's path.

    The binary goes to ``out_dir`` (default: ``.cache/cpp/`` in the checkout), under a
    name that carries a hash of the source, the flags, the compiler and the CPU
    (`binary_key`), so an edited source is compiled again and an unchanged one is
    not. Raises `ToolchainMissing` when g++ or Eigen is absent, FileNotFoundError when
    the source is (it ships in the checkout, not in the wheel).
    """
    if not source.is_file():
        raise FileNotFoundError(
            f"{source} not found: the C++ source is in the book's git checkout "
            "(cpp/mlp_eigen.cpp), not in the installed package"
        )
    cxx, include = compiler(), eigen_include()
    key = binary_key(source, cxx)
    out = Path(out_dir) if out_dir is not None else PROJECT_ROOT / ".cache" / "cpp"
    exe = out / f"mlp_eigen-{key}"
    if exe.is_file():
        return exe
    out.mkdir(parents=True, exist_ok=True)
    partial = out / f".{exe.name}.{os.getpid()}"  # renamed when complete: atomic
    cmd = [cxx, *CXXFLAGS, f"-I{include}", str(source), "-o", str(partial)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"compiling {source.name} failed:\n{proc.stderr[-2000:]}")
    partial.replace(exe)
    return exe


@dataclass
class EigenStep:
    """What the C++ program returned for one batch."""

    loss: float  # mean cross-entropy, nats
    grads: list[np.ndarray]  # [dW1, db1, dW2, db2, ...], shapes of `MLP.params()`
    seconds: float  # one forward+backward, mean over the timed repeats (0 if none)


def _problem_bytes(model: MLP, x: np.ndarray, labels: np.ndarray) -> bytes:
    sizes = np.asarray(model.sizes, dtype="<i8")
    parts = [np.asarray([len(sizes)], "<i8"), sizes, np.asarray([len(x)], "<i8")]
    parts += [np.ascontiguousarray(x, "<f8"), np.asarray(labels, "<i8")]
    parts += [np.ascontiguousarray(p, "<f8") for p in model.params()]
    return b"".join(p.tobytes() for p in parts)


def eigen_step(
    exe: Path, model: MLP, x: np.ndarray, labels: np.ndarray, repeats: int = 0
) -> EigenStep:
    """Run the C++ MLP on ``model``'s weights: the loss and gradients for inputs x
    (B, D) and labels (B,), and, with ``repeats`` > 0, the mean seconds of that many
    steps."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)  # (B, D)
    labels = np.asarray(labels)
    if x.shape[1] != model.sizes[0] or labels.shape != (len(x),):
        raise ValueError(
            f"expected x (B, {model.sizes[0]}) and labels (B,); got {x.shape} and "
            f"{labels.shape}"
        )
    with tempfile.TemporaryDirectory(prefix="mlp_eigen-") as tmp:
        src, dst = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        src.write_bytes(_problem_bytes(model, x, labels))
        proc = subprocess.run(
            [str(exe), "grads", str(src), str(dst), str(int(repeats))],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{exe.name} failed: {proc.stderr.strip()}")
        out = np.fromfile(dst, dtype="<f8")
    grads, at = [], 1
    for p in model.params():
        grads.append(out[at : at + p.size].reshape(p.shape))
        at += p.size
    if at + 1 != len(out):
        raise RuntimeError(f"{exe.name} wrote {len(out)} numbers; expected {at + 1}")
    return EigenStep(loss=float(out[0]), grads=grads, seconds=float(out[at]))


def numpy_seconds(model: MLP, x: np.ndarray, labels: np.ndarray, repeats: int) -> float:
    """Mean seconds of one forward+backward of the NumPy MLP, after one warm-up pass."""
    model.loss(x, labels)
    model.backward()
    start = time.perf_counter()
    for _ in range(repeats):
        model.loss(x, labels)
        model.backward()
    return (time.perf_counter() - start) / repeats


def max_rel_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """The largest ``max|a_i - b_i| / max|b_i|`` over the arrays: each gradient's error
    relative to its own scale (0 when the arrays are equal)."""
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        scale = float(np.abs(y).max())
        diff = float(np.abs(x - y).max())
        worst = max(worst, diff / scale if scale > 0 else diff)
    return worst


__all__ = [
    "EigenStep",
    "ToolchainMissing",
    "build",
    "compiler",
    "eigen_include",
    "eigen_step",
    "max_rel_diff",
    "numpy_seconds",
]
