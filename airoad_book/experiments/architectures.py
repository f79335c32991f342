"""The architecture diagrams' data: the equations each draws, in the text's symbols.

No training. The diagrams of chapters 7, 8, 10, 11 and 12 (``figures/diagrams.py``) are
drawn from this result, so each diagram's caption and its labels come from one place,
and the figure cache redraws them when either changes. Each entry is the equation list
the chapter prints, written with the same letters.
"""

from __future__ import annotations

from airoad_book.results import Result

NAME = "architectures"
CHAPTER = 7
SUMMARY = "no training: the equations the architecture diagrams of chapters 7-12 draw"
CONFIGS: dict = {}  # nothing to size: the diagrams are drawings

EQUATIONS = {
    "rnn-cell": [r"s(t) = f\,(U\,w(t) + W\,s(t-1))", r"y(t) = g\,(V\,s(t))"],
    "lstm-cell": [
        r"i_t,\ f_t,\ o_t = \sigma(W_{x\cdot}\,x_t + W_{h\cdot}\,h_{t-1} + b_\cdot)",
        r"\tilde c_t = \tanh(W_{xc}\,x_t + W_{hc}\,h_{t-1} + b_c)",
        r"c_t = f_t \odot c_{t-1} + i_t \odot \tilde c_t",
        r"h_t = o_t \odot \tanh(c_t)",
    ],
    "gru-cell": [
        r"r_t,\ z_t = \sigma(W_{x\cdot}\,x_t + W_{h\cdot}\,h_{t-1} + b_\cdot)",
        r"\tilde h_t = \tanh(W_{xn}x_t + b_{xn} + r_t \odot (W_{hn}h_{t-1} + b_{hn}))",
        r"h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t",
    ],
    "rnnsearch": [
        r"e_{ij} = v_a^\top \tanh(W_a s_{i-1} + U_a h_j)",
        r"\alpha_{ij} = \mathrm{softmax}_j(e_{ij}),\quad c_i = \sum_j \alpha_{ij} h_j",
        r"s_i = f(s_{i-1}, y_{i-1}, c_i)",
    ],
    "transformer": [r"N = 6,\ d_{model} = 512,\ h = 8,\ d_{ff} = 2048"],
    "gpt-block": [
        r"x \leftarrow x + \mathrm{Attn}(\mathrm{LN}(x))",
        r"x \leftarrow x + \mathrm{MLP}(\mathrm{LN}(x))",
    ],
}


def run(budget: str = "quick", seed: int = 0, seconds: float | None = None) -> Result:
    """The equations of every diagram (the same for every budget and seed)."""
    return Result(
        metrics={"diagrams": float(len(EQUATIONS))},
        series={"equations": EQUATIONS},
    )
