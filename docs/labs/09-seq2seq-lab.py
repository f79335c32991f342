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
# # Lab: sequence to sequence, hands on
#
# This notebook goes with [chapter 9](../../part2/09-seq2seq/). In a few seconds of CPU
# time it trains a small LSTM encoder–decoder to write English number words in French,
# translates with greedy decoding and with beam search, computes BLEU by hand, and looks
# at how much of each source word survives in the fixed vector $c$. Then it is yours:
# every knob is in one cell.
#
# Download it with the buttons at the top of this page: as a Jupyter notebook (`.ipynb`),
# or as its [jupytext](https://jupytext.readthedocs.io) source (`.py`), which also runs as a
# plain script (`uv run python docs/labs/09-seq2seq-lab.py` from the book's folder). It
# needs nothing but the `airoad_book` package, and runs offline.

# %% [markdown]
# ## The knobs
#
# The defaults are sized to run in seconds: 100 steps leave the model far from perfect.
# Raise `STEPS` to 300 (about three times as long) for a much better translator.

# %%
MAX_DIGITS = 8  # numbers up to 10^8 - 1: sources of 1 to 19 tokens
N_TRAIN = 2500  # training pairs
CELL = "lstm"  # "lstm" or "gru"
EMBED_DIM = 32  # E
HIDDEN = 64  # H: c holds 2H numbers for the LSTM (h and its cell), H for the GRU
REVERSE = True  # feed every source backwards (Sutskever et al. 2014)
STEPS = 100  # optimizer steps
LR = 1e-2  # Adam's learning rate
BEAM = 4  # beam size to compare with greedy decoding
SEED = 0

# %% [markdown]
# ## The task
#
# `numbers_task` draws numbers with 1 to `MAX_DIGITS` digits and writes each in English
# and in French with num2words. Word tokens; every pair has exactly one right answer.

# %%
import math
import time

import matplotlib.pyplot as plt
import torch

from airoad_book.data import make_batch, number_pair, numbers_task
from airoad_book.decode import beam_hypotheses
from airoad_book.device import seed_everything
from airoad_book.experiments.translation_training import bleu_by_length, train_translator, translate
from airoad_book.figures.palette import use_book_colors
from airoad_book.metrics import bleu, ngrams
from airoad_book.models.seq2seq import Seq2Seq, Seq2SeqConfig
from airoad_book.train import TrainConfig

use_book_colors()  # the book's colour-blind-safe palette for the plots below

task = numbers_task(n_train=N_TRAIN, n_valid=200, n_test=200, max_digits=MAX_DIGITS)
print(task.describe())
for pair in task.train[:3]:
    print(" ".join(pair.source), "\n  ->", " ".join(pair.target))

# %% [markdown]
# ## Train the encoder–decoder
#
# `train_translator` runs the book's training loop with the teacher-forcing loss, and
# measures the validation loss every 20 steps.

# %% alt="Line chart of the validation loss in nats per target token against the training step, falling steadily."
seed_everything(SEED)
model = Seq2Seq(Seq2SeqConfig(len(task.source_vocab), len(task.target_vocab), embed_dim=EMBED_DIM,
                              hidden_dim=HIDDEN, cell=CELL))
history = train_translator(model, task, TrainConfig(max_steps=STEPS, lr=LR, clip_norm=1.0, eval_every=20),
                           batch_size=64, reverse_source=REVERSE, seed=SEED)
print(f"{model.num_parameters:,} parameters, {history.steps_done} steps in {history.seconds:.1f} s")
plt.plot(history.eval_step, history.eval_loss, marker="o")
plt.xlabel("training step")
plt.ylabel("validation loss (nats per target token)")
plt.show()

# %% [markdown]
# ## Greedy against beam search
#
# The whole test set, both ways, with the time each takes and where they differ.

# %%
refs = [p.target for p in task.test]
outputs = {}
for k in (1, BEAM):
    start = time.perf_counter()
    outputs[k] = translate(model, task, task.test, beam_size=k, reverse_source=REVERSE)
    ms = 1000 * (time.perf_counter() - start) / len(refs)
    right = sum(h == r for h, r in zip(outputs[k], refs)) / len(refs)
    print(f"beam {k}: BLEU {bleu(outputs[k], refs):.1f}, exactly right {right:.1%}, {ms:.2f} ms per sentence")
differ = [i for i in range(len(refs)) if outputs[1][i] != outputs[BEAM][i]]
print(f"\n{len(differ)} sentences differ; the first few:")
for i in differ[:3]:
    print(" ", " ".join(task.test[i].source))
    print(f"    {'reference:':11}", " ".join(refs[i]))
    print(f"    {'greedy:':11}", " ".join(outputs[1][i]))
    print(f"    {f'beam {BEAM}:':11}", " ".join(outputs[BEAM][i]))

# %% [markdown]
# The beam's other hypotheses, with their log-probabilities and length-normalized scores,
# for one sentence:

# %%
batch = make_batch(task.test[differ[0] : differ[0] + 1] if differ else task.test[:1], task,
                   reverse_source=REVERSE)
model.eval()
for h in beam_hypotheses(model, batch.src, batch.src_lengths, beam_size=BEAM, bos_id=task.bos_id,
                         eos_id=task.eos_id, max_len=50)[0]:
    print(f"log p {h.log_prob:7.3f}  score {h.score:7.3f}  ", " ".join(task.target_vocab.decode(h.tokens)))

# %% [markdown]
# ## BLEU by hand
#
# The modified n-gram precisions over the whole test set, the brevity penalty, and the
# score, against `airoad_book.metrics.bleu`.

# %%
hyps = outputs[1]
log_p = 0.0
for n in range(1, 5):
    correct = sum(sum(min(c, ngrams(r, n)[g]) for g, c in ngrams(h, n).items()) for h, r in zip(hyps, refs))
    total = sum(max(len(h) - n + 1, 0) for h in hyps)
    print(f"p_{n} = {correct}/{total} = {correct / total:.3f}")
    log_p += math.log(correct / total) / 4
c, r = sum(map(len, hyps)), sum(map(len, refs))
bp = 1.0 if c > r else math.exp(1 - r / c)
print(f"c = {c}, r = {r}, BP = {bp:.3f}")
print(f"BLEU by hand {100 * bp * math.exp(log_p):.2f}, airoad_book {bleu(hyps, refs):.2f}")

# %% [markdown]
# ## Your own number
#
# Any number from 0 to `10**MAX_DIGITS - 1`; larger ones are outside what it was trained on.

# %%
n = 2_024_613
pair = number_pair(n)
print(" ".join(pair.source))
print("  reference:", " ".join(pair.target))
print("  model:    ", " ".join(translate(model, task, [pair], beam_size=BEAM, reverse_source=REVERSE)[0]))

# %% [markdown]
# ## BLEU against source length

# %% alt="Line chart of test BLEU against source-length bucket: highest for short sources, falling for long ones."
rows = bleu_by_length(model, task, task.test, [4, 8, 12, 16, 20], reverse_source=REVERSE)
for label, count, score in rows:
    print(f"{label:>6} tokens: {count:3d} pairs, BLEU {score:5.1f}")
plt.plot([r[0] for r in rows], [r[2] for r in rows], marker="s")
plt.ylim(0, 100)
plt.xlabel("source length (tokens)")
plt.ylabel("test BLEU (greedy)")
plt.show()

# %% [markdown]
# ## What survives in the fixed vector
#
# Take long test sources, change one token at a time to another word of the vocabulary,
# and measure how far $c$ moves (relative to its size). A token the encoder read just
# before the end moves $c$ a lot; one read many steps earlier, if the encoder kept little
# of it, moves it less. The x axis counts steps from the end of the encoding, in the order
# the encoder read the tokens (reversed, if `REVERSE`).

# %% alt="Line chart of the relative change of the fixed vector when one source token is replaced, against how many steps before the end of encoding that token was read; the change is largest for the last tokens read."
long = [p for p in task.test if len(p.source) >= 15][:60]
batch = make_batch(long, task, reverse_source=REVERSE)
words = torch.arange(4, len(task.source_vocab))  # every id but <pad> <bos> <eos> <unk>
gen = torch.Generator().manual_seed(SEED)


def fixed_vector(src, lengths):
    memory = model.encode(src, lengths)  # (B, layers, H), or a pair of them
    parts = memory if isinstance(memory, tuple) else (memory,)
    return torch.cat([p.flatten(1) for p in parts], dim=1)  # (B, 2H) for the LSTM


with torch.no_grad():
    c0 = fixed_vector(batch.src, batch.src_lengths)
    span = int(batch.src_lengths.min())
    change = []
    for back in range(1, span + 1):  # the token read `back` steps before the end
        src = batch.src.clone()
        pos = batch.src_lengths - back  # (B,)
        rows = torch.arange(len(long))
        old = src[rows, pos]
        new = words[torch.randint(len(words), (len(long),), generator=gen)]
        new = torch.where(new == old, words[(new - 3) % len(words)], new)  # always a different word
        src[rows, pos] = new
        change.append(((fixed_vector(src, batch.src_lengths) - c0).norm(dim=1) / c0.norm(dim=1)).mean().item())
print("relative change of c, by steps before the end:", [round(x, 2) for x in change])
plt.plot(range(1, span + 1), change, marker="o")
plt.xlabel("steps before the end of encoding when the token was read")
plt.ylabel("relative change of c")
plt.ylim(bottom=0)
plt.show()

# %% [markdown]
# ## Try next
#
# - Set `REVERSE = False` and run everything again: the loss curve, BLEU, and which
#   tokens $c$ remembers.
# - Double `HIDDEN`: does the long bucket catch up with the short ones?
# - Set `CELL = "gru"`, or `MAX_DIGITS = 12` for sources up to 28 tokens.
