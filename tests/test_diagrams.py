"""The architecture diagrams: each draws in both themes from the `architectures` result,
shows the text's symbols, and keeps its ink inside the canvas."""

import matplotlib.pyplot as plt
import pytest

from airoad_book.experiments import run_experiment
from airoad_book.figures import registry
from airoad_book.figures.style import THEMES, themed

DIAGRAMS = [
    "rnn-cell",
    "lstm-cell",
    "gru-cell",
    "rnnsearch",
    "transformer",
    "gpt-block",
]
SYMBOLS = {
    "rnn-cell": ["$s(t-1)$", "$w(t)$", "$U$", "$W$", "$V$", "$y(t)$"],
    "lstm-cell": [
        "$c_{t-1}$",
        "$c_t$",
        "$h_{t-1}$",
        "$h_t$",
        "$x_t$",
        "$f_t$",
        "$o_t$",
    ],
    "gru-cell": ["$h_{t-1}$", "$h_t$", "$z_t$", "$r_t$", r"$\tilde h_t$", "$1-$"],
    "rnnsearch": ["$c_i$", "$s_{i-1}$", "$s_i$", "$y_{i-1}$", r"$\alpha_{i1}$"],
    "transformer": ["Add & Norm", "Masked multi-head\nattention", r"$N\times$"],
    "gpt-block": ["LayerNorm", r"$L\times$", r"linear $W_e^\top$ (tied)"],
}


@pytest.fixture(scope="module")
def result():
    return run_experiment("architectures")


@pytest.mark.parametrize("name", DIAGRAMS)
@pytest.mark.parametrize("theme", list(THEMES))
def test_each_diagram_draws_the_texts_symbols_in_the_themes_ink(name, theme, result):
    spec = registry()[name]
    assert spec.experiment == "architectures"
    with themed(theme):
        fig = spec.draw(result)
        texts = [t for t in fig.axes[0].texts]
        labels = {t.get_text() for t in texts}
        for symbol in SYMBOLS[name]:
            assert symbol in labels, f"{name} lacks {symbol!r}"
        for line in result.series["equations"][name]:
            assert f"${line}$" in labels  # the equations the chapter prints
        ink = THEMES[theme]["text.color"]
        assert all(t.get_color() == ink for t in texts)
        fig.canvas.draw()
        canvas = fig.bbox
        for t in texts:  # no label is cut off by the figure's edge
            box = t.get_window_extent()
            assert box.x0 >= canvas.x0 - 1 and box.x1 <= canvas.x1 + 1, t.get_text()
            assert box.y0 >= canvas.y0 - 1 and box.y1 <= canvas.y1 + 1, t.get_text()
        plt.close(fig)
