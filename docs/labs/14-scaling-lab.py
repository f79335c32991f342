# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab: where each claim holds, hands on
#
# This notebook goes with [chapter 14](../../part2/14-scaling/). In about half a minute of
# CPU time it trains two families, the LSTM and the GPT, and counts Kneser–Ney models, on a
# small compute ladder of character Shakespeare; fits a power law to each; finds where the
# fits cross; and draws the loss at each position of a context window. Then it is yours:
# the ladder, the rule and the families are in one cell.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/14-scaling-lab.py` from the book's folder). It
# needs nothing but the `airoad_book` package, and runs offline.

# %% [markdown]
# ## The knobs
#
# Rungs are FLOPs, not seconds: a busy machine gives the same losses, only later. Each rung
# has the parameter count that `TOKENS_PER_PARAM` characters per parameter gives at its
# compute, N = sqrt(C / (6 · ratio)).

# %%
from dataclasses import replace

from airoad_book.experiments import evolution as evo
from airoad_book.experiments.scaling import Config, rung_flops, rung_params

FAMILIES = ("lstm", "gpt")  # any of: nplm, rnn, lstm, gru, gpt
MIN_FLOPS = 2e8  # the smallest rung's training FLOPs
RUNGS = 4  # each rung doubles the compute
TOKENS_PER_PARAM = 20.0  # the rule that sizes the models
MIN_STEPS = 40  # smaller batches where a rung would have fewer steps
SEED = 0

base = replace(evo.Config(), train_chars=1_000_000)
config = Config(
    min_flops=MIN_FLOPS,
    rungs=RUNGS,
    tokens_per_param=TOKENS_PER_PARAM,
    min_steps=MIN_STEPS,
    valid_chars=2_048,
    base=base,
)
for k, c in enumerate(rung_flops(config)):
    print(f"rung {k}: {c:.1e} FLOPs, {rung_params(c, TOKENS_PER_PARAM):,} parameters")

# %% [markdown]
# ## The ladder
#
# `train_one` builds a family at the rung's size (chapter 13's `build_model`), trains it
# for the rung's FLOPs with its chapter's recipe, and scores it on the validation
# characters. The n-gram model's rung counts the characters a network of that rung reads.

# %%
from airoad_book.experiments.scaling import kn_point, train_one

vocab, train, valid_all = evo.load_data(base)
valid = evo.aligned_valid(valid_all, config.valid_chars, base.context)
data = (train, valid, vocab.eos_id, len(vocab))

points, models = {k: [] for k in (*FAMILIES, "kn")}, {}
for k, c in enumerate(rung_flops(config)):
    n = rung_params(c, TOKENS_PER_PARAM)
    kn = kn_point(
        min(2 + k, 8), train[: round(TOKENS_PER_PARAM * n)], valid, len(vocab)
    )
    points["kn"].append({"flops": c, **kn})
    for fam in FAMILIES:
        p = train_one(fam, n, c, data, base, 1.0, SEED, f"{fam} rung {k}", MIN_STEPS)
        models[fam] = p.pop("model")  # the last rung's model stays
        points[fam].append(p)
for fam, pts in points.items():
    print(fam, " ".join(f"{p['loss']:.3f}" for p in pts))

# %% [markdown]
# ## Fits and crossings
#
# `fit_power_law` tries L(C) = a·C^(−α) + L∞ and falls back to the plain power law when
# that is degenerate; `fit_crossings` solves where two fits meet, up to 10,000 times the top
# rung.

# %%
from airoad_book.experiments.scaling import fit_crossings, fit_power_law

fits = {
    fam: fit_power_law([p["flops"] for p in pts], [p["loss"] for p in pts])
    for fam, pts in points.items()
}
top = rung_flops(config)[-1]
for fam, f in fits.items():
    print(f"{fam:5s} {f['form']:10s} alpha {f['alpha']:.3f}  floor {f['floor']:.3f}")
for a, b in (("lstm", "kn"), ("gpt", "kn"), ("gpt", "lstm")):
    if a in fits and b in fits:
        cross = fit_crossings(fits[a], fits[b], rung_flops(config)[0], top * 1e4)
        print(
            f"{a} / {b}: fits cross at {', '.join(f'{x:.1e}' for x in cross) or 'no point in reach'}"
        )

# %% alt="Two charts: on the left, validation nats per character against training FLOPs on log-log axes, points and fitted lines for each family; on the right, loss at each position of a 128-character window for the GPT and the LSTM."
import matplotlib.pyplot as plt
import numpy as np

from airoad_book.experiments.scaling import position_loss
from airoad_book.figures.palette import COLORS, use_book_colors

use_book_colors()
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
for fam, pts in points.items():
    x = [p["flops"] for p in pts]
    left.plot(x, [p["loss"] for p in pts], "o", color=COLORS[fam], label=fam)
    grid = np.geomspace(x[0], x[-1], 50)
    f = fits[fam]
    left.plot(grid, f["a"] * grid ** -f["alpha"] + f["floor"], color=COLORS[fam])
left.set(
    xscale="log",
    yscale="log",
    xlabel="training FLOPs",
    ylabel="valid nats per character",
)
left.legend()
for fam in ("gpt", "lstm"):
    if fam in models:
        curve = position_loss(models[fam], valid, base.context, 16)
        right.plot(np.arange(1, len(curve) + 1), curve, color=COLORS[fam], label=fam)
right.set(
    xscale="log", xlabel="position in the window", ylabel="loss at that position (nats)"
)
right.legend()
plt.show()

# %% [markdown]
# ## Your turn
#
# - Add `"nplm"` and `"rnn"` to `FAMILIES`: which is steepest?
# - Set `TOKENS_PER_PARAM = 100`: smaller models, more steps. Do the fits move?
# - Set `MIN_STEPS = 1`: the GPT's smallest rungs get a handful of steps at its chapter's
#   batch. How much of its curve was the batch, not the model?
