"""Each chapter's experiment: a named, seeded run that returns numbers, tables and
curves.

An experiment is a module in this package with four names:

```python
from airoad_book.results import Result

NAME = "bengio-vs-ngram"      # what `airoad-book run NAME` and the book call it
CHAPTER = 6                   # the chapter whose claim it tests
SUMMARY = "one line for `airoad-book list`"
def run(budget: str, seed: int, seconds: float | None) -> Result: ...
```

with `Result` and `Table` imported from `airoad_book.results`; `run` usually picks its
config with `airoad_book.experiments.budget.config_for(CONFIGS, budget)`, which names
the budgets when given another.

`budget` is `"quick"` (what the book's build runs: seconds on a 2-core CPU) or `"full"`
(what the CLI runs for the published-scale numbers). `seconds`, when given, caps the
training wall-clock of experiments that train.

The registry below is a plain table from name to module, so looking an experiment up (or
hashing its source for the figure cache) never imports torch.
"""

from __future__ import annotations

import importlib
import time
from types import ModuleType

from airoad_book.results import Result, Table

BUDGETS = ("quick", "full")

# name -> module, in the book's order. Add a line here when a chapter adds an
# experiment.
EXPERIMENTS: dict[str, str] = {
    "xor": "airoad_book.experiments.xor",
    "mlp-numpy-mnist": "airoad_book.experiments.mlp_numpy_mnist",
    "init-stats": "airoad_book.experiments.init_stats",
    "regularization": "airoad_book.experiments.regularization",
    "optimizers": "airoad_book.experiments.optimizers",
    "autograd-bridge": "airoad_book.experiments.autograd_bridge",
    "gradient-flow": "airoad_book.experiments.gradient_flow",
    "residual-vs-plain": "airoad_book.experiments.residual_vs_plain",
    "cnn-digits": "airoad_book.experiments.cnn_digits",
    "cnn-rnn-sequence": "airoad_book.experiments.cnn_rnn_sequence",
    "autoencoder": "airoad_book.experiments.autoencoder",
    "ngram-baselines": "airoad_book.experiments.ngram_baselines",
    "ngram-ptb": "airoad_book.experiments.ngram_ptb",
    "bengio-vs-ngram": "airoad_book.experiments.bengio_vs_ngram",
    "bengio-paper-recipe": "airoad_book.experiments.bengio_paper",
    "names-nplm": "airoad_book.experiments.names_nplm",
    "rnn-lm": "airoad_book.experiments.rnn_lm",
    "softmax-cost": "airoad_book.experiments.softmax_cost",
    "word2vec": "airoad_book.experiments.word2vec",
    "architectures": "airoad_book.experiments.architectures",
    "rnn-gradients": "airoad_book.experiments.rnn_gradients",
    "long-lag": "airoad_book.experiments.long_lag",
    "char-lm-shakespeare": "airoad_book.experiments.char_lm_shakespeare",
    "ptb-lstm": "airoad_book.experiments.ptb_lstm",
    "ptb-gru": "airoad_book.experiments.ptb_gru",
    "ptb-lstm-dropout": "airoad_book.experiments.ptb_lstm_dropout",
    "reverse-source": "airoad_book.experiments.reverse_source",
    "messages-reversal": "airoad_book.experiments.messages_reversal",
    "seq2seq-numbers": "airoad_book.experiments.seq2seq_numbers",
    "seq2seq-length": "airoad_book.experiments.seq2seq_length",
    "messages-length": "airoad_book.experiments.messages_length",
    "attention-alignments": "airoad_book.experiments.attention_alignments",
    "encoder-direction": "airoad_book.experiments.encoder_direction",
    "transformer-vs-rnn": "airoad_book.experiments.transformer_vs_rnn",
    "real-translation": "airoad_book.experiments.real_translation",
    "attention-scaling": "airoad_book.experiments.attention_scaling",
    "gpt-shakespeare": "airoad_book.experiments.gpt_shakespeare",
    "ptb-gpt": "airoad_book.experiments.ptb_gpt",
    "gpt-engine": "airoad_book.experiments.gpt_engine",
    "evolution": "airoad_book.experiments.evolution",
    "scaling": "airoad_book.experiments.scaling",
    "scaling-large": "airoad_book.experiments.scaling_large",
    "rnn-dropout": "airoad_book.experiments.rnn_dropout",
    "training-toolkit": "airoad_book.experiments.toolkit",
    "scaling-out": "airoad_book.experiments.scaling_out",
    "vae": "airoad_book.experiments.vae",
    "ddpm": "airoad_book.experiments.ddpm",
    "published-tables": "airoad_book.experiments.published_tables",
    "timeline": "airoad_book.experiments.timeline",
    "residual-conv": "airoad_book.experiments.residual_conv",
    "transfer-learning": "airoad_book.experiments.transfer_learning",
    "lightning-loop": "airoad_book.experiments.lightning_loop",
    "eigen-mlp": "airoad_book.experiments.eigen_mlp",
}


def names() -> list[str]:
    """The experiments' names, in the book's order."""
    return list(EXPERIMENTS)


def module(name: str) -> ModuleType:
    """Import the module of experiment `name`."""
    if name not in EXPERIMENTS:
        raise ValueError(
            f"unknown experiment {name!r}; expected one of: {', '.join(EXPERIMENTS)}"
        )
    return importlib.import_module(EXPERIMENTS[name])


def run_experiment(
    name: str, budget: str = "quick", seed: int = 0, seconds: float | None = None
) -> Result:
    """Run one experiment, seeded, and return its Result with the run's bookkeeping
    filled in."""
    if budget not in BUDGETS:
        raise ValueError(
            f"unknown budget {budget!r}; expected one of: {', '.join(BUDGETS)}"
        )
    if seconds is not None and seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    mod = module(name)
    from airoad_book.device import seed_everything

    seed_everything(seed)
    start = time.perf_counter()
    result = mod.run(budget=budget, seed=seed, seconds=seconds)
    result.experiment, result.budget, result.seed = name, budget, seed
    result.seconds = time.perf_counter() - start
    for key, value in result.metrics.items():
        if not isinstance(value, (int, float)):
            raise TypeError(
                f"experiment {name!r} returned a non-numeric metric {key}={value!r}"
            )
    return result


__all__ = [
    "BUDGETS",
    "EXPERIMENTS",
    "Result",
    "Table",
    "module",
    "names",
    "run_experiment",
]
