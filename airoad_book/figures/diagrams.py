"""Architecture diagrams, drawn by the build in the text's symbols (light and dark).

The RNN cell (chapter 7, Mikolov's letters), the LSTM and GRU cells (chapter 8),
RNNsearch (chapter 10), the Transformer (Vaswani et al.'s Figure 1, chapter 11) and
the GPT block (chapter 12). Boxes are operations with weights, circles elementwise
operations; each diagram prints the equations it draws, from the ``architectures``
experiment.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from airoad_book.figures.palette import BLUE, GREEN, GREY, RED, YELLOW
from airoad_book.figures.registry import figure
from airoad_book.results import Result

GATE, TANH, WEIGHTS, NORM = RED, BLUE, GREEN, YELLOW  # box colours by kind


class Sketch:
    """One diagram: an axes in data units with boxes, circles and arrows on it."""

    def __init__(self, width: float, height: float, scale: float = 0.62) -> None:
        self.fig, self.ax = plt.subplots(figsize=(width * scale, height * scale))
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(0, height)
        self.ax.set_aspect("equal")
        self.ax.axis("off")
        self.ink = plt.rcParams["text.color"]

    def box(self, x, y, w, h, text, color=GREY, size=10, alpha=0.28):
        """A rounded box centred at (x, y), tinted with ``color``."""
        self.ax.add_patch(
            FancyBboxPatch(
                (x - w / 2, y - h / 2),
                w,
                h,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=color,
                alpha=alpha,
                edgecolor="none",
            )
        )
        self.ax.add_patch(
            FancyBboxPatch(
                (x - w / 2, y - h / 2),
                w,
                h,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor="none",
                edgecolor=color,
                linewidth=1.4,
            )
        )
        self.text(x, y, text, size=size)

    def frame(self, x, y, w, h, label, side="left"):
        """A dashed frame around a repeated stack, its count (``N×``) beside it."""
        self.ax.add_patch(
            FancyBboxPatch(
                (x - w / 2, y - h / 2),
                w,
                h,
                boxstyle="round,pad=0.02,rounding_size=0.2",
                facecolor="none",
                edgecolor=self.ink,
                linewidth=1.0,
                linestyle=(0, (4, 3)),
            )
        )
        dx = -w / 2 - 0.15 if side == "left" else w / 2 + 0.15
        ha = "right" if side == "left" else "left"
        self.text(x + dx, y, label, size=12, ha=ha)

    def op(self, x, y, text, r=0.28, size=11):
        """An elementwise operation: a circle with its symbol."""
        self.ax.add_patch(
            Circle((x, y), r, facecolor="none", edgecolor=self.ink, linewidth=1.3)
        )
        self.text(x, y, text, size=size)

    def text(self, x, y, s, size=10, ha="center", va="center", **kw):
        """Text in the theme's ink."""
        self.ax.text(x, y, s, size=size, ha=ha, va=va, color=self.ink, **kw)

    def arrow(self, *points, dashed=False, head=True):
        """A polyline through ``points`` with an arrowhead at the last one."""
        style = dict(color=self.ink, linewidth=1.3, linestyle="--" if dashed else "-")
        for (x0, y0), (x1, y1) in zip(points[:-2], points[1:-1]):
            self.ax.plot([x0, x1], [y0, y1], solid_capstyle="butt", **style)
        self.ax.add_patch(
            FancyArrowPatch(
                points[-2],
                points[-1],
                arrowstyle="-|>" if head else "-",
                mutation_scale=11,
                shrinkA=0,
                shrinkB=0,
                **style,
            )
        )

    def equations(self, lines, x, y, size=9.5, step=0.42):
        """The equations the diagram draws, one per line, top-down from (x, y)."""
        for k, line in enumerate(lines):
            self.text(x, y - k * step, f"${line}$", size=size, ha="left")


# --------------------------------------------------------------------------- chapter 7
@figure(
    "rnn-cell",
    experiment="architectures",
    caption="Mikolov et al.'s recurrent network, one step. The word w(t) enters "
    "through U, the previous state s(t−1) through W; f is the logistic "
    "sigmoid, g the softmax over the vocabulary. The new state s(t) both "
    "predicts y(t) and becomes the next step's s(t−1).",
    alt="Diagram of one step of a recurrent network: w(t) and s(t-1) enter a sigmoid "
    "box f through U and W; its output s(t) goes up through V to a softmax box g "
    "giving y(t), and right, dashed, to the next step.",
)
def rnn_cell(result: Result) -> Figure:
    """The RNN LM's step in chapter 7's letters: s(t) = f(U w(t) + W s(t−1))."""
    s = Sketch(11, 6)
    s.box(4, 2.6, 2.2, 0.9, r"$f$ (sigmoid)", TANH)
    s.box(4, 4.5, 2.2, 0.9, r"$g$ (softmax)", WEIGHTS)
    s.text(4, 0.35, r"$w(t)$", size=12)
    s.arrow((4, 0.7), (4, 2.15))
    s.text(4.2, 1.4, r"$U$", size=11, ha="left")
    s.text(0.9, 2.6, r"$s(t-1)$", size=12)
    s.arrow((1.7, 2.6), (2.9, 2.6))
    s.text(2.3, 2.85, r"$W$", size=11)
    s.arrow((5.1, 2.6), (6.6, 2.6), dashed=True)
    s.text(7.4, 2.6, r"$s(t)$" + "\nto step t+1", size=10)
    s.arrow((4, 3.05), (4, 4.05))
    s.text(4.2, 3.55, r"$V$", size=11, ha="left")
    s.arrow((4, 4.95), (4, 5.6))
    s.text(4.2, 5.55, r"$y(t)$", size=12, ha="left")
    s.equations(result.series["equations"]["rnn-cell"], 6.3, 5.0)
    return s.fig


# --------------------------------------------------------------------------- chapter 8
@figure(
    "lstm-cell",
    experiment="architectures",
    caption="The LSTM cell in chapter 8's letters. The cell state c runs along the "
    "top, touched only by a product with the forget gate f_t and a sum with "
    "i_t ⊙ c̃_t; the hidden state h runs along the bottom. Red boxes are "
    "sigmoid gates, blue boxes tanh; each box holds its own W_x·, W_h· and b·.",
    alt="Diagram of an LSTM cell: c(t-1) flows along the top through a multiply by the"
    " forget gate and an add of input gate times candidate to c(t); h(t-1) and "
    "x(t) feed four boxes (f, i, candidate, o) along the bottom; tanh of c(t) "
    "times o gives h(t).",
)
def lstm_cell(result: Result) -> Figure:
    """c_t = f_t ⊙ c_{t−1} + i_t ⊙ c̃_t, h_t = o_t ⊙ tanh(c_t), drawn."""
    s = Sketch(11.5, 8.2)
    top, gates, bottom = 5.2, 2.3, 1.0
    s.text(0.55, top, r"$c_{t-1}$", size=12)
    s.arrow((1.1, top), (2.72, top))
    s.op(3.0, top, r"$\odot$")
    s.arrow((3.28, top), (5.22, top))
    s.op(5.5, top, r"$+$")
    s.arrow((5.78, top), (9.9, top))
    s.text(10.4, top, r"$c_t$", size=12)
    for x, name, sym, color in [
        (3.0, r"$f_t$", r"$\sigma$", GATE),
        (4.3, r"$i_t$", r"$\sigma$", GATE),
        (5.6, r"$\tilde c_t$", r"$\tanh$", TANH),
        (6.9, r"$o_t$", r"$\sigma$", GATE),
    ]:
        s.box(x, gates, 1.0, 0.8, sym, color)
        s.text(x + 0.55, gates + 0.62, name, size=10, ha="left")
        s.arrow((x, bottom), (x, gates - 0.4))
    s.arrow((3.0, gates + 0.4), (3.0, top - 0.28))  # f_t into the product
    s.op(5.0, 3.8, r"$\odot$")
    s.arrow((4.3, gates + 0.4), (4.3, 3.8), (4.72, 3.8))  # i_t
    s.arrow((5.6, gates + 0.4), (5.6, 3.8), (5.28, 3.8))  # c~_t
    s.arrow((5.0, 4.08), (5.0, top - 0.1), (5.22, top - 0.1), head=False)
    s.op(8.6, 4.1, r"$\tanh$", r=0.36, size=9)
    s.arrow((8.6, top), (8.6, 4.46))
    s.op(8.6, 2.9, r"$\odot$")
    s.arrow((8.6, 3.74), (8.6, 3.18))
    s.arrow((6.9, gates + 0.4), (6.9, 2.9), (8.32, 2.9))  # o_t
    s.arrow((8.6, 2.62), (8.6, bottom), (9.9, bottom))
    s.text(10.4, bottom, r"$h_t$", size=12)
    s.text(0.55, bottom, r"$h_{t-1}$", size=12)
    s.ax.plot([1.1, 6.9], [bottom, bottom], color=s.ink, linewidth=1.3)
    s.text(2.0, 0.25, r"$x_t$", size=12)
    s.arrow((2.0, 0.5), (2.0, bottom), head=False)
    s.equations(result.series["equations"]["lstm-cell"], 0.4, 7.7)
    return s.fig


@figure(
    "gru-cell",
    experiment="architectures",
    caption="The GRU cell in chapter 8's letters (PyTorch's form of the candidate). "
    "One state h; the update gate z_t keeps z_t of the old state and lets 1 − "
    "z_t of the candidate h̃_t in, where the LSTM has two gates, f_t and i_t. "
    "The reset gate r_t scales the old state inside the candidate; there is no"
    " output gate.",
    alt="Diagram of a GRU cell: h(t-1) flows along the top through a multiply by z and"
    " an add to h(t); h(t-1) and x(t) feed three boxes (r, z, candidate); r enters"
    " the candidate box, and one minus z times the candidate joins the sum.",
)
def gru_cell(result: Result) -> Figure:
    """h_t = z_t ⊙ h_{t−1} + (1 − z_t) ⊙ h̃_t, as boxes and circles."""
    s = Sketch(11.5, 7.8)
    top, gates, bottom = 4.9, 2.0, 0.8
    s.text(0.55, top, r"$h_{t-1}$", size=12)
    s.arrow((1.1, top), (2.72, top))
    s.op(3.0, top, r"$\odot$")
    s.arrow((3.28, top), (7.02, top))
    s.op(7.3, top, r"$+$")
    s.arrow((7.58, top), (9.9, top))
    s.text(10.4, top, r"$h_t$", size=12)
    s.arrow((1.4, top), (1.4, bottom), head=False)  # h_{t-1} down to the gates
    s.ax.plot([1.4, 7.3], [bottom, bottom], color=s.ink, linewidth=1.3)
    s.text(2.2, 0.1, r"$x_t$", size=12)
    s.arrow((2.2, 0.35), (2.2, bottom), head=False)
    for x, name, sym, color in [
        (3.0, r"$z_t$", r"$\sigma$", GATE),
        (5.0, r"$r_t$", r"$\sigma$", GATE),
        (7.3, r"$\tilde h_t$", r"$\tanh$", TANH),
    ]:
        s.box(x, gates, 1.0, 0.8, sym, color)
        s.text(x + 0.55, gates + 0.62, name, size=10, ha="left")
        s.arrow((x, bottom), (x, gates - 0.4))
    s.arrow(
        (5.0, gates + 0.4),
        (5.0, 2.95),
        (6.3, 2.95),
        (6.3, gates + 0.1),
        (6.8, gates + 0.1),
    )  # r_t into the candidate
    s.arrow((3.0, gates + 0.4), (3.0, top - 0.28))  # z_t into the product
    s.op(5.7, 3.8, r"$1-$", size=9)
    s.arrow((3.0, 3.8), (5.42, 3.8))
    s.op(7.3, 3.8, r"$\odot$")
    s.arrow((5.98, 3.8), (7.02, 3.8))
    s.arrow((7.3, gates + 0.4), (7.3, 3.52))
    s.arrow((7.3, 4.08), (7.3, top - 0.28))
    s.equations(result.series["equations"]["gru-cell"], 0.4, 7.3)
    return s.fig


# --------------------------------------------------------------------------- chapter 10
@figure(
    "rnnsearch",
    experiment="architectures",
    caption="RNNsearch (Bahdanau et al. 2015) producing target word y_i. A "
    "bidirectional encoder writes one annotation h_j per source word; the "
    "alignment model scores each against the previous decoder state s_{i−1}; "
    "the softmax weights α_ij (line widths) average the annotations into the "
    "context c_i, which the decoder reads with y_{i−1}.",
    alt="Diagram of attention in RNNsearch: four source words feed forward and "
    "backward recurrent states, joined into annotations h1 to h4; lines of "
    "different widths, the weights alpha, carry them to a sum giving the context "
    "c_i, which enters decoder state s_i together with s_(i-1) and y_(i-1); s_i "
    "outputs y_i.",
)
def rnnsearch(result: Result) -> Figure:
    """The annotations, the weights α_ij, the context c_i and one decoder step."""
    s = Sketch(12, 8.4)
    xs, weights = [1.2, 2.8, 4.4, 6.0], [0.1, 0.6, 0.25, 0.05]
    for j, x in enumerate(xs, start=1):
        s.text(x, 0.35, f"$x_{j}$", size=12)
        s.arrow((x, 0.65), (x, 1.15))
        s.box(x, 1.5, 1.0, 0.6, rf"$\overrightarrow{{h}}_{j}$", TANH, size=10)
        s.box(x, 2.5, 1.0, 0.6, rf"$\overleftarrow{{h}}_{j}$", TANH, size=10)
        s.ax.add_patch(
            FancyBboxPatch(
                (x - 0.62, 1.08),
                1.24,
                1.84,
                boxstyle="round,pad=0,rounding_size=0.1",
                facecolor="none",
                edgecolor=GREY,
                linewidth=1.0,
                linestyle=(0, (3, 2)),
            )
        )
        s.arrow((x, 2.92), (x, 3.44))
        s.op(x, 3.7, f"$h_{j}$", r=0.26, size=9)
        if j < len(xs):
            s.arrow((x + 0.5, 1.5), (xs[j] - 0.5, 1.5))
            s.arrow((xs[j] - 0.5, 2.5), (x + 0.5, 2.5))
    cx, cy = 3.6, 6.0
    for j, (x, a) in enumerate(zip(xs, weights), start=1):
        s.ax.plot(
            [x, cx],
            [3.96, cy - 0.3],
            color=RED,
            linewidth=0.8 + 7 * a,
            solid_capstyle="round",
            alpha=0.85,
        )
        s.text(x + (0.5 if x > cx else -0.5), 4.3, rf"$\alpha_{{i{j}}}$", size=10)
    s.op(cx, cy, r"$\Sigma$", r=0.3)
    s.text(cx - 0.45, cy + 0.35, r"$c_i$", size=12, ha="right")
    s.box(8.2, 7.3, 1.2, 0.7, r"$s_{i-1}$", WEIGHTS, size=11)
    s.box(10.6, 7.3, 1.2, 0.7, r"$s_i$", WEIGHTS, size=11)
    s.arrow((8.8, 7.3), (10.0, 7.3))
    s.arrow((cx + 0.3, cy), (10.3, cy), (10.3, 6.95))
    s.text(11.0, 4.9, r"$y_{i-1}$", size=12)
    s.arrow((11.0, 5.25), (11.0, 6.95))
    s.arrow((11.2, 7.3), (11.7, 7.3))
    s.text(11.75, 7.75, r"$y_i$", size=12, ha="left")
    s.arrow((8.2, 6.95), (8.2, 6.6), (4.6, 6.6), (4.6, 4.9), dashed=True)
    s.text(6.3, 6.35, r"scores $e_{ij}$ use $s_{i-1}$", size=9)
    s.equations(result.series["equations"]["rnnsearch"], 6.9, 3.7, size=9.5, step=0.6)
    return s.fig


# --------------------------------------------------------------------------- chapter 11
def _sublayers(
    s: Sketch,
    x: float,
    y0: float,
    names: list[tuple[str, str]],
    sign: int = -1,
    step: float = 0.95,
) -> float:
    """Stack sublayers upwards from y0, each followed by Add & Norm with a residual
    arrow around it (on the left for sign -1, the right for +1); return the top's y."""
    y = y0
    for text, color in names:
        s.arrow((x, y), (x, y + 0.35))
        s.box(x, y + 0.7, 3.3, 0.7, text, color, size=9)
        s.box(x, y + 0.7 + step, 3.3, 0.55, "Add & Norm", NORM, size=9)
        s.arrow((x, y + 1.05), (x, y + 0.7 + step - 0.28))
        side = x + sign * 1.95
        s.arrow(
            (x, y + 0.15),
            (side, y + 0.15),
            (side, y + 0.7 + step),
            (x + sign * 1.65, y + 0.7 + step),
        )  # the residual path
        y = y + 0.7 + step + 0.28
    return y


@figure(
    "transformer",
    experiment="architectures",
    caption="The Transformer, after Vaswani et al.'s Figure 1, in chapter 11's "
    "letters. Left, the encoder: N identical layers of self-attention and a "
    "position-wise feed-forward network; right, the decoder: N layers that add"
    " masked self-attention and attention over the encoder's output (its keys "
    "and values). Every sublayer is wrapped as LayerNorm(x + Sublayer(x)), the"
    " post-LN of the paper.",
    alt="Diagram of the Transformer: on the left an encoder stack (input embedding "
    "plus positional encoding, then N times multi-head attention and feed forward,"
    " each with add and norm); on the right a decoder stack (output embedding plus"
    " positional encoding, then N times masked multi-head attention, multi-head "
    "attention over the encoder output, feed forward); then linear and softmax to "
    "output probabilities.",
)
def transformer(result: Result) -> Figure:
    """Encoder and decoder stacks, post-LN; the encoder's output feeds the decoder."""
    s = Sketch(13.2, 12.4, scale=0.5)
    ex, dx = 3.9, 9.1
    for x, words, emb in [
        (ex, "Inputs", "Input embedding"),
        (dx, "Outputs (shifted right)", "Output embedding"),
    ]:
        s.text(x, 0.3, words, size=10)
        s.arrow((x, 0.55), (x, 1.0))
        s.box(x, 1.35, 3.3, 0.7, emb, WEIGHTS, size=9)
        s.op(x, 2.5, r"$+$")
        s.arrow((x, 1.7), (x, 2.22))
        side = -1 if x == ex else 1
        s.op(x + side * 1.5, 2.5, r"$\sim$")
        s.arrow((x + side * 1.22, 2.5), (x + side * 0.28, 2.5))
    s.text(ex - 1.85, 2.5, "positional\nencoding", size=8, ha="right")
    s.text(dx + 1.85, 2.5, "positional\nencoding", size=8, ha="left")
    enc_top = _sublayers(
        s, ex, 2.78, [("Multi-head\nattention", RED), ("Feed forward", BLUE)]
    )
    s.frame(ex, (3.0 + enc_top) / 2, 4.5, enc_top - 3.0 + 0.1, r"$N\times$", "left")
    dec_top = _sublayers(
        s,
        dx,
        2.78,
        [
            ("Masked multi-head\nattention", RED),
            ("Multi-head\nattention", RED),
            ("Feed forward", BLUE),
        ],
        sign=1,
    )
    s.frame(dx, (3.0 + dec_top) / 2, 4.5, dec_top - 3.0 + 0.1, r"$N\times$", "right")
    # the encoder's output: keys and values of the decoder's second attention
    y_kv = 2.78 + 1.0 * (0.7 + 0.95 + 0.28) + 0.7
    mid = (ex + dx) / 2
    s.arrow(
        (ex, enc_top),
        (ex, enc_top + 0.4),
        (mid, enc_top + 0.4),
        (mid, y_kv),
        (dx - 1.65, y_kv),
    )
    s.text(dx - 2.05, y_kv + 0.27, "K, V", size=8)
    s.arrow((dx, dec_top), (dx, dec_top + 0.45))
    s.box(dx, dec_top + 0.8, 3.3, 0.7, "Linear", WEIGHTS, size=9)
    s.arrow((dx, dec_top + 1.15), (dx, dec_top + 1.55))
    s.box(dx, dec_top + 1.9, 3.3, 0.7, "Softmax", GREY, size=9)
    s.arrow((dx, dec_top + 2.25), (dx, dec_top + 2.6))
    s.text(dx, dec_top + 2.85, "Output probabilities", size=10)
    s.equations(result.series["equations"]["transformer"], 0.3, 12.0, size=9)
    return s.fig


# --------------------------------------------------------------------------- chapter 12
@figure(
    "gpt-block",
    experiment="architectures",
    caption="The GPT of chapter 12 (GPT-2's pre-LN layout): token and position "
    "embeddings, L blocks of masked multi-head attention (H heads) and an MLP "
    "C → 4C → C, each applied to LN(x) and added to x, a final LayerNorm, and "
    "an output layer that reuses the token embedding W_e (tied).",
    alt="Diagram of the GPT: token ids go through the token embedding and add a "
    "position embedding; then L times: LayerNorm, masked multi-head attention, "
    "add; LayerNorm, MLP, add; then a final LayerNorm, a linear layer tied to the "
    "token embedding, and a softmax over the next token.",
)
def gpt_block(result: Result) -> Figure:
    """Pre-LN blocks x + Attn(LN(x)), x + MLP(LN(x)), L times; LN; tied output."""
    s = Sketch(10.5, 14.2, scale=0.5)
    x = 4.2
    s.text(x, 0.3, "token ids (B, T)", size=10)
    s.arrow((x, 0.55), (x, 0.95))
    s.box(x, 1.3, 3.4, 0.7, r"token embedding $W_e$", WEIGHTS, size=9)
    s.op(x, 2.4, r"$+$")
    s.arrow((x, 1.65), (x, 2.12))
    s.box(x + 3.4, 2.4, 2.6, 0.7, r"position $W_p$", WEIGHTS, size=9)
    s.arrow((x + 2.1, 2.4), (x + 0.28, 2.4))
    y = 2.68
    for sub, color in [
        ("masked multi-head\nattention, $H$ heads", RED),
        (r"MLP $C \to 4C \to C$" + "\n(GELU)", BLUE),
    ]:
        s.arrow((x, y), (x, y + 0.5))
        s.box(x, y + 0.8, 3.4, 0.6, "LayerNorm", NORM, size=9)
        s.arrow((x, y + 1.1), (x, y + 1.5))
        s.box(x, y + 1.95, 3.4, 0.9, sub, color, size=9)
        s.arrow((x, y + 2.4), (x, y + 2.82))
        s.op(x, y + 3.1, r"$+$")
        side = x - 2.0
        s.arrow((x, y + 0.25), (side, y + 0.25), (side, y + 3.1), (x - 0.28, y + 3.1))
        y += 3.38
    s.frame(x, (2.85 + y) / 2, 4.7, y - 2.85 + 0.1, r"$L\times$", "right")
    s.arrow((x, y), (x, y + 0.45))
    s.box(x, y + 0.75, 3.4, 0.6, "LayerNorm", NORM, size=9)
    s.arrow((x, y + 1.05), (x, y + 1.45))
    s.box(x, y + 1.8, 3.4, 0.7, r"linear $W_e^\top$ (tied)", WEIGHTS, size=9)
    s.arrow((x, y + 2.15), (x, y + 2.55))
    s.text(x, y + 2.8, "softmax: next token (B, T, V)", size=10)
    s.equations(result.series["equations"]["gpt-block"], 0.2, 13.9, size=9)
    return s.fig


__all__ = [
    "Sketch",
    "gpt_block",
    "gru_cell",
    "lstm_cell",
    "rnn_cell",
    "rnnsearch",
    "transformer",
]
