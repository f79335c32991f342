"""Zaremba et al.'s dropout placement, weight tying and the rnn-dropout experiment."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from airoad_book.experiments import rnn_dropout
from airoad_book.models.lstm import RecurrentLM


def _single_layers(model: RecurrentLM) -> list[nn.LSTM]:
    """One one-layer torch LSTM per layer of `model`, holding that layer's weights."""
    layers = []
    for k in range(model.rnn.num_layers):
        size = model.rnn.input_size if k == 0 else model.rnn.hidden_size
        layer = nn.LSTM(size, model.rnn.hidden_size)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(layer, f"{name}_l0").copy_(getattr(model.rnn, f"{name}_l{k}"))
        layers.append(layer)
    return layers


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_dropout_sits_on_the_non_recurrent_connections_only(layers):
    """Zaremba et al. (2014), section 3: a fresh mask per time step on the word vectors,
    on each layer's outputs going up, and before the softmax; none on h -> h. A
    reference that runs the layers one by one, with dropout only there, drawn from the
    same random stream, gives the same logits to the last bit."""
    torch.manual_seed(0)
    model = RecurrentLM("lstm", 30, 8, 8, layers=layers, dropout=0.5).train()
    x = torch.randint(0, 30, (3, 7))
    reference_layers = _single_layers(model)  # built first: their init draws numbers
    torch.manual_seed(1)
    logits, _ = model(x)
    torch.manual_seed(1)
    h = F.dropout(model.embed(x), 0.5).transpose(0, 1)  # (T, B, E), as torch runs it
    for k, layer in enumerate(reference_layers):
        h, _ = layer(h)  # the recurrence itself: no dropout inside
        if k < layers - 1:
            h = F.dropout(h, 0.5)  # between layers
    reference = model.out(F.dropout(h.transpose(0, 1), 0.5))  # before the softmax
    assert torch.equal(logits, reference)
    assert not torch.equal(logits, model.eval()(x)[0])  # dropout did act in training


def test_dropout_is_off_in_eval_mode():
    torch.manual_seed(0)
    model = RecurrentLM("lstm", 20, 6, 6, layers=2, dropout=0.5).eval()
    plain = RecurrentLM("lstm", 20, 6, 6, layers=2)
    plain.load_state_dict(model.state_dict())
    x = torch.randint(0, 20, (2, 5))
    assert torch.equal(model(x)[0], plain.eval()(x)[0])


def test_tied_model_shares_one_matrix_and_counts_it_once():
    untied = RecurrentLM("lstm", 50, 16, 16, layers=2)
    tied = RecurrentLM("lstm", 50, 16, 16, layers=2, tie=True)
    assert tied.out.weight is tied.embed.weight
    assert untied.num_parameters - tied.num_parameters == 50 * 16
    # the shared matrix gets gradient from both of its uses
    x = torch.randint(0, 50, (2, 4))
    logits, _ = tied(x)
    logits.logsumexp(-1).sum().backward()
    grad = tied.embed.weight.grad
    unused = sorted(set(range(50)) - set(x.flatten().tolist()))
    assert grad[unused].abs().sum() > 0  # words not read still get the output's share


def test_tie_needs_matching_sizes():
    with pytest.raises(ValueError, match="embed_dim must equal hidden"):
        RecurrentLM("lstm", 50, 8, 16, tie=True)


def test_config_rejects_bad_input():
    with pytest.raises(ValueError, match="variants must include"):
        rnn_dropout.Config(variants=("dropout",))
    with pytest.raises(ValueError, match="variants must include"):
        rnn_dropout.Config(variants=("dropout", "no_dropout", "wide"))
    with pytest.raises(ValueError, match="optimizer"):
        rnn_dropout.Config(optimizer="rmsprop")
    with pytest.raises(ValueError, match="dropout must be in"):
        rnn_dropout.Config(dropout=0.0)
    with pytest.raises(ValueError, match="variant must be one of"):
        rnn_dropout.build_model("wide", 10, rnn_dropout.Config())


def test_learning_rate_follows_zaremba():
    c = rnn_dropout.Config(lr=1.0, decay_after=4, decay=0.5)
    assert [rnn_dropout.learning_rate(e, c) for e in range(1, 8)] == [
        1,
        1,
        1,
        1,
        0.5,
        0.25,
        0.125,
    ]


def test_variants_are_built_as_named():
    c = rnn_dropout.Config(hidden=8, layers=2, dropout=0.3)
    models = {v: rnn_dropout.build_model(v, 40, c) for v in rnn_dropout.VARIANTS}
    assert models["no_dropout"].drop.p == 0.0 and models["dropout"].drop.p == 0.3
    assert models["dropout"].rnn.dropout == 0.3
    assert models["one_layer"].rnn.num_layers == 1
    assert models["tied"].out.weight is models["tied"].embed.weight
    assert models["tied_no_dropout"].drop.p == 0.0
    for m in models.values():
        assert all(p.abs().max() <= c.init_range for p in m.parameters())


TINY = rnn_dropout.Config(
    hidden=16,
    vocab_size=200,
    optimizer="adam",
    lr=1e-2,
    epochs=3,
    batch_size=8,
    bptt=10,
    train_tokens=2_000,
    eval_tokens=800,
)


@pytest.fixture(scope="module")
def tiny_result():
    return rnn_dropout.run_config(TINY, seed=0)


def test_experiment_reports_the_issue_metrics(tiny_result):
    m = tiny_result.metrics
    for v in TINY.variants:
        for key in ("train_ppl", "valid_ppl", "best_valid_ppl", "test_ppl", "params"):
            assert math.isfinite(m[f"{key}_{v}"]), f"{key}_{v}"
        curve = tiny_result.series["curves"][v]
        assert curve["epoch"] == [1, 2, 3]
        assert len(curve["train_ppl"]) == len(curve["valid_ppl"]) == 3
        # every model learns: its train perplexity falls below the vocabulary's size
        assert curve["train_ppl"][-1] < curve["train_ppl"][0] < 200
    assert m["valid_ppl_dropout"] > 1 and m["valid_ppl_no_dropout"] > 1
    assert m["params_tied"] == m["params_dropout"] - 200 * 16
    assert m["params_one_layer"] < m["params_dropout"]
    for key in ("dropout", "tying", "depth"):
        assert tiny_result.text[key]


def test_experiment_is_deterministic(tiny_result):
    again = rnn_dropout.run_config(TINY, seed=0)
    assert (
        again.metrics["valid_ppl_dropout"] == tiny_result.metrics["valid_ppl_dropout"]
    )


def test_sgd_path_runs_one_fit_per_epoch():
    c = rnn_dropout.Config(
        hidden=8,
        vocab_size=100,
        epochs=2,
        decay_after=1,
        variants=("no_dropout", "dropout"),
        batch_size=4,
        bptt=10,
        train_tokens=400,
        eval_tokens=200,
    )
    r = rnn_dropout.run_config(c, seed=0)
    assert r.series["curves"]["dropout"]["lr"] == [1.0, 0.5]
    assert r.series["curves"]["dropout"]["epoch"] == [1, 2]


def test_training_flops_counts_six_per_matrix_weight_per_token():
    model = RecurrentLM("lstm", 37, 12, 12, layers=2)
    weights = sum(
        p.numel() for n, p in model.rnn.named_parameters() if n.startswith("weight")
    )
    weights += model.out.weight.numel()
    assert rnn_dropout.training_flops(12, 2, 37, 100, 3) == 6 * weights * 100 * 3


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_regularisation_figures_draw_from_a_tiny_result(tiny_result, theme):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from airoad_book.figures import registry
    from airoad_book.figures.style import themed

    specs = {
        n: s
        for n, s in registry().items()
        if s.module == "airoad_book.figures.regularisation"
    }
    assert set(specs) == {"rnn-dropout-curves", "rnn-dropout-variants"}
    with themed(theme):
        for spec in specs.values():
            assert spec.experiment == "rnn-dropout"
            fig = spec.draw(tiny_result)
            assert isinstance(fig, Figure)
            plt.close(fig)
