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
# # Lab: a tiny GPT, hands on
#
# This notebook goes with [chapter 12](../../part2/12-gpt/). In several seconds of CPU
# time it trains a small decoder-only Transformer on Shakespeare, counts what that training
# cost against the machine's matmul peak, samples from the model in four ways, and times the
# KV cache. Then it is yours: every knob is in one cell, and the last cell suggests what to
# turn.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/12-gpt-lab.py` from the book's folder). It needs
# nothing but the `airoad_book` package: the plays ship inside a Python package, so it runs
# offline.

# %% [markdown]
# ## The knobs
#
# A smaller GPT than the chapter's, so that it gets past its first plateau in seconds: two
# blocks of width 64 over a context of 64 characters. The budget is counted in optimizer
# steps, so that the same seed gives the same numbers. The defaults are sized to run in
# seconds: 200 steps leave the samples rough. Raise `STEPS` (600 takes three times as
# long) for a model that writes more of Shakespeare's words.

# %%
CONTEXT = 64  # T_max: characters the model sees
D_MODEL = 64  # C: width of the residual stream
HEADS = 4  # H: heads of 16 channels each
LAYERS = 2  # L: decoder blocks
BATCH = 16  # blocks per step
LR = 3e-3  # AdamW's peak learning rate
STEPS = 200  # optimizer steps, with a warm-up of 30 and a cosine decay
VALID_CHARS = 4_096  # characters of the validation plays the loss is measured on
SEED = 0

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from airoad_book import cost
from airoad_book.data import Vocab, char_tokens, lm_windows, random_batches, shakespeare
from airoad_book.decode import generate
from airoad_book.device import seed_everything
from airoad_book.experiments.gpt_shakespeare import evaluate_windows, gpt_loss
from airoad_book.figures.palette import use_book_colors
from airoad_book.models.gpt import GPT, CachedStep, CausalSelfAttention, GPTConfig, RecomputeStep
from airoad_book.train import TrainConfig, fit

use_book_colors()  # the book's colour-blind-safe palette for the plots below

# %% [markdown]
# ## The data and the model, and what a step will cost
#
# The vocabulary is every character of the training plays. Before training, the cost
# helpers say how many parameters the model has, how many FLOPs each character of training
# costs, and how much memory a step needs.

# %%
train_text = shakespeare("train")
vocab = Vocab.build(char_tokens(train_text))
train = vocab.encode(char_tokens(train_text))  # (N,) ids
valid = vocab.encode(char_tokens(shakespeare("valid")[:VALID_CHARS]))
config = GPTConfig(vocab_size=len(vocab), context=CONTEXT, d_model=D_MODEL, num_heads=HEADS,
                   num_layers=LAYERS)
per_token = cost.training_flops_per_token(config)
memory = cost.training_memory_bytes(config, batch=BATCH)
print(f"{len(vocab)} symbols; {cost.parameter_count(config):,} parameters; "
      f"{per_token / 1e6:.2f} MFLOPs per training character; "
      f"{memory['total'] / 2**20:.1f} MiB to train ({memory['activations'] / 2**20:.1f} of it activations)")

# %% [markdown]
# ## Training, and the share of the peak it reaches
#
# The book's `fit`, with AdamW, a warm-up and a cosine decay. The throughput it reaches is
# set beside one large matmul on the same machine.

# %%
gen = seed_everything(SEED)
model = GPT(config)
batches = random_batches(*lm_windows(train, CONTEXT), batch_size=BATCH, generator=gen)
history = fit(model, batches, gpt_loss,
              TrainConfig(max_steps=STEPS, lr=LR, optimizer="adamw", warmup_steps=30,
                          schedule="cosine", min_lr=LR / 10, clip_norm=1.0, eval_every=STEPS // 6,
                          restore_best=False),
              evaluate=lambda m: evaluate_windows(m, valid))
tokens = history.steps_done * BATCH * CONTEXT
achieved = tokens * per_token / history.seconds / 1e9
peak = cost.matmul_peak_gflops(size=1024, repeats=5)
print(f"{history.steps_done} steps in {history.seconds:.1f} s: validation loss "
      f"{history.eval_loss[-1]:.3f} nats per character (uniform: {math.log(len(vocab)):.3f})")
print(f"{tokens / history.seconds:,.0f} characters/s = {achieved:.1f} GFLOP/s, "
      f"{achieved / peak:.0%} of the {peak:.0f} GFLOP/s matmul peak")

# %% alt="Line chart of training and validation loss in nats per character against optimizer step, both falling."
fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.plot(history.step, history.train_loss, alpha=0.6, label="train (each step)")
ax.plot(history.eval_step, history.eval_loss, marker="o", label="validation")
ax.set_xlabel("optimizer step")
ax.set_ylabel("nats per character")
ax.legend()
plt.show()

# %% [markdown]
# ## Fused attention against attention written out
#
# The model's attention is PyTorch's fused `scaled_dot_product_attention`. Here is the
# same layer with the softmax written out, as in chapter 11, timed on one forward and
# backward pass of a batch: the outputs agree; the times need not.

# %%
class WrittenOut(CausalSelfAttention):
    """softmax(Q Kᵀ / √D + M) V with the (T, T) weights in memory."""

    def forward(self, x, cache=None, layer=0):
        B, T, C = x.shape
        H = self.num_heads
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in self.qkv(x).split(C, dim=2))
        scores = q @ k.transpose(-2, -1) / math.sqrt(C // H)  # (B, H, T, T)
        scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        return self.proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C))


fused = model.blocks[0].attn
written = WrittenOut(config)
written.load_state_dict(fused.state_dict())
x = torch.randn(BATCH, CONTEXT, D_MODEL)
print(f"largest difference: {(fused(x) - written(x)).abs().max().item():.1e}")
for name, layer in (("fused", fused), ("written out", written)):
    times = []
    for _ in range(10):
        started = time.perf_counter()
        layer(x).sum().backward()
        times.append(time.perf_counter() - started)
    print(f"{name:>12}: {1000 * min(times):.2f} ms per forward and backward")

# %% [markdown]
# ## Four ways to choose the next character
#
# The same prompt and the same seed for each: greedy, temperature, top-k and nucleus.

# %%
model.eval()
prompt = vocab.encode(char_tokens("OTHELLO.\n")).tolist()
for name, kwargs in (("greedy", {"top_k": 1}), ("temperature 0.8", {"temperature": 0.8}),
                     ("top-k 5", {"top_k": 5}), ("top-p 0.9", {"top_p": 0.9})):
    new = generate(CachedStep(model), prompt, 160, generator=torch.Generator().manual_seed(SEED), **kwargs)
    print(f"--- {name}\n{''.join(vocab.decode(new))}\n")

# %% [markdown]
# ## The KV cache, timed
#
# Generate to the end of the context with and without the cache: the same tokens, and the
# time per token by position.

# %% alt="Line chart of milliseconds per generated token against position, rising without a cache and flat with it."
fig, ax = plt.subplots(figsize=(6.4, 3.6))
outputs = {}
for name, make in (("recompute", RecomputeStep), ("KV cache", CachedStep)):
    step, times = make(model), []

    def timed(ids, step=step, times=times):
        started = time.perf_counter()
        out = step(ids)
        times.append(time.perf_counter() - started)
        return out

    outputs[name] = generate(timed, prompt, CONTEXT - len(prompt), top_k=1)
    ax.plot(range(len(prompt), CONTEXT), [1000 * t for t in times],
            label=f"{name}: {len(times) / sum(times):,.0f} tokens/s")
print("same tokens:", outputs["recompute"] == outputs["KV cache"])
ax.set_xlabel("position of the generated token")
ax.set_ylabel("milliseconds per token")
ax.legend()
plt.show()

# %% [markdown]
# ## Your turn
#
# - Double `D_MODEL` (and keep `HEADS`): how do the MFLOPs per character, the characters
#   per second and the share of the peak change? Which of them does the loss after the
#   same number of *seconds* follow?
# - Set `CONTEXT = 256`: where does the attention term of the FLOPs count start to matter,
#   and how does the KV cache's speed-up change?
# - Build the model with `tie_weights=False` and compare the loss after `STEPS`.
# - Raise `LR` to `1e-2`, then lower it to `1e-3`: what does the first plateau do?
# - Sample with `temperature=1.5` and with `top_p=0.5`. Which one still writes words?
