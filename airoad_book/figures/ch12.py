"""Chapter 12's figures: the GPT against the LSTM in wall-clock, and what the KV cache
saves.

Every function draws from the `gpt-shakespeare` experiment's `Result`; none trains.
Colours come from `COLORS` ("gpt", "lstm") and `SEQUENCE`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from airoad_book.figures.registry import figure
from airoad_book.figures.style import COLORS, SEQUENCE, bits_per_char_axis
from airoad_book.results import Result


@figure(
    "gpt-vs-lstm",
    experiment="gpt-shakespeare",
    caption="Validation loss on Shakespeare against training time for the GPT and chapter 8's LSTM, "
    "two models with the same number of parameters given the same wall-clock. The "
    "right axis reads "
    "the same loss in bits per character.",
    alt="Line chart of validation nats per character against training seconds: one line for the GPT "
    "and one for the LSTM, both falling from the level of a uniform guess.",
)
def gpt_vs_lstm(result: Result) -> Figure:
    """Validation nats (and bits) per character against training seconds, GPT and
    LSTM."""
    curves, m = result.series["curves"], result.metrics
    fig, ax = plt.subplots()
    for key, label, params in (
        ("gpt", "GPT", m["params"]),
        ("lstm", "LSTM", m["lstm_params"]),
    ):
        c = curves[key]
        ax.plot(
            c["eval_seconds"],
            c["valid_nats"],
            color=COLORS[key],
            marker="o",
            markersize=3,
            label=f"{label} ({int(params):,} parameters)",
        )
    ax.axhline(
        m["uniform_nats"],
        color=COLORS["unigram"],
        linestyle="--",
        label="uniform guess",
    )
    ax.set_xlabel("training seconds (evaluation excluded)")
    ax.set_ylabel("validation loss (nats per character)")
    ax.set_xlim(left=0)
    ax.legend(loc="center right")
    bits_per_char_axis(ax)
    return fig


@figure(
    "gpt-kv-cache",
    experiment="gpt-shakespeare",
    caption="Milliseconds to generate each token of a sample, by its position, when the model "
    "recomputes the whole window at every step and when it keeps a KV cache (fastest "
    "of a few runs "
    "at each position). Both produce the same tokens.",
    alt="Line chart of milliseconds per generated token against position: the line without a cache "
    "rises with the position while the line with the KV cache stays low and flat.",
)
def kv_cache(result: Result) -> Figure:
    """Time per generated token against its position, with and without the KV cache."""
    kv, m = result.series["kv"], result.metrics
    fig, ax = plt.subplots()
    ax.plot(
        kv["position"],
        [1000 * s for s in kv["recompute"]],
        color=SEQUENCE[1],
        label=f"recompute the window: {m['recompute_tokens_per_s']:,.0f} tokens/s",
    )
    ax.plot(
        kv["position"],
        [1000 * s for s in kv["cached"]],
        color=SEQUENCE[0],
        label=f"KV cache: {m['kv_tokens_per_s']:,.0f} tokens/s",
    )
    ax.set_xlabel("position of the generated token")
    ax.set_ylabel("milliseconds per token")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    return fig
