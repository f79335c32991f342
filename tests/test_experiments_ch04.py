"""Chapter 4's experiments and figures, run at a tiny size: their contracts and their
claims."""

import math
from dataclasses import replace

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from airoad_book.experiments import (
    EXPERIMENTS,
    autoencoder,
    cnn_digits,
    cnn_rnn_sequence,
)
from airoad_book.figures import registry
from airoad_book.figures.style import themed
from airoad_book.models.mlp import MLP, MLPConfig

TINY_CNN = cnn_digits.Config(
    max_steps=40, eval_every=20, train_images=800, mistakes=5, augment=False
)
TINY_READER = cnn_rnn_sequence.Config(
    channels=(4, 8),
    features=16,
    hidden=32,
    batch_size=16,
    max_steps=30,
    eval_every=15,
    test_rows=100,
    train_images=800,
    examples=3,
)
TINY_AE = autoencoder.Config(
    channels=(4, 8), hidden=16, max_steps=30, train_images=800, grid=4
)


@pytest.fixture(scope="module")
def cnn():
    return cnn_digits.run_config(TINY_CNN, seed=0)


@pytest.fixture(scope="module")
def reader():
    return cnn_rnn_sequence.run_config(TINY_READER, seed=0)


@pytest.fixture(scope="module")
def ae():
    return autoencoder.run_config(TINY_AE, seed=0)


def test_the_three_experiments_are_registered_for_chapter_4():
    for mod in (cnn_digits, cnn_rnn_sequence, autoencoder):
        assert EXPERIMENTS[mod.NAME] == mod.__name__
        assert mod.CHAPTER == 4


def test_cnn_digits_reports_both_accuracies_and_matched_parameter_counts(cnn):
    m = cnn.metrics
    for key in ("cnn_test_acc", "mlp_test_acc"):
        assert 0.0 <= m[key] <= 1.0
    assert abs(m["mlp_params"] / m["cnn_params"] - 1) < 0.1
    assert m["test_images"] == 1000 and m["train_images"] == 800
    assert m["cnn_steps"] == m["mlp_steps"] == TINY_CNN.max_steps
    rows = cnn.tables["accuracy"].rows
    assert [r[3] for r in rows] == [m["cnn_test_acc"], m["mlp_test_acc"]]
    assert "claim" in cnn.text["verdict"]


def test_even_a_short_run_learns_digits(cnn):
    # 40 steps of 64 digits: far from 97%, far above the 10% of guessing
    assert cnn.metrics["cnn_test_acc"] > 0.5 and cnn.metrics["mlp_test_acc"] > 0.5


def test_matched_hidden_gives_the_closest_mlp():
    target = 61_706  # LeNet-5's parameters
    h = cnn_digits.matched_hidden(target)
    count = sum(p.numel() for p in MLP(MLPConfig(sizes=(784, h, 10))).parameters())
    assert count == cnn_digits.mlp_params(h)
    assert all(
        abs(count - target) <= abs(cnn_digits.mlp_params(w) - target)
        for w in (h - 1, h + 1)
    )


def test_augmentation_keeps_shapes_and_changes_pixels():
    torch.manual_seed(0)
    x = torch.zeros(4, 28, 28)
    x[:, 10:18, 12:16] = 1.0
    moved = cnn_digits.make_augment(replace(TINY_CNN, augment=True, degrees=30.0))(x)
    assert moved.shape == x.shape and not torch.equal(moved, x)
    assert torch.equal(cnn_digits.make_augment(replace(TINY_CNN, augment=False))(x), x)


def test_reader_scores_digits_numbers_and_sums(reader):
    m = reader.metrics
    for key in ("digit_acc", "number_acc", "sum_acc", "read_add_acc"):
        assert 0.0 <= m[key] <= 1.0, key
    assert m["number_acc"] <= m["digit_acc"]
    assert m["test_rows"] == 100 and m["length"] == 3
    assert len(reader.series["examples"]["digits"]) == TINY_READER.examples


def test_score_of_perfect_logits_is_perfect():
    class Oracle(
        torch.nn.Module
    ):  # returns the true digits and running sums as one-hot logits
        def __init__(self, digits):
            super().__init__()
            self.digits = digits

        def forward(self, x):
            d = self.digits[: len(x)]
            return (
                torch.nn.functional.one_hot(d, 10).float(),
                torch.nn.functional.one_hot(d.cumsum(1), 28).float(),
            )

    digits = torch.randint(0, 10, (20, 3), generator=torch.Generator().manual_seed(0))
    s = cnn_rnn_sequence.score(Oracle(digits), torch.zeros(20, 3, 28, 28), digits)
    assert s["digit_acc"] == s["number_acc"] == s["sum_acc"] == s["read_add_acc"] == 1.0


def test_chance_sum_accuracy_is_the_most_likely_sum():
    assert cnn_rnn_sequence.chance_sum_acc(1) == pytest.approx(0.1)
    assert cnn_rnn_sequence.chance_sum_acc(2) == pytest.approx(
        0.1
    )  # sum 9: 10 ways in 100
    assert cnn_rnn_sequence.chance_sum_acc(3) == pytest.approx(
        75 / 1000
    )  # sums 13 and 14


def test_autoencoder_compares_its_codes_with_pca(ae):
    m = ae.metrics
    assert 0 < m["pca_test_mse"] < m["mean_image_mse"]  # PCA beats the mean image
    assert math.isfinite(m["ae_test_mse"]) and 0.0 <= m["ae_knn_acc"] <= 1.0
    assert len(ae.series["latent"]["x"]) == 1000
    assert sorted(ae.series["reconstructions"]["label"]) == list(range(10))


def test_pca_reconstruction_is_the_best_linear_one():
    torch.manual_seed(0)
    x = torch.randn(200, 6) @ torch.randn(6, 6)
    mean, axes = autoencoder.pca(x, 2)
    best = (((x - mean) @ axes @ axes.T + mean - x) ** 2).sum()
    q, _ = torch.linalg.qr(torch.randn(6, 2))  # any other 2-D subspace does worse
    other = (((x - mean) @ q @ q.T + mean - x) ** 2).sum()
    assert best <= other


def test_knn_accuracy_is_perfect_on_separated_clusters():
    centres = torch.arange(10).float()[:, None] * torch.tensor([[10.0, 0.0]])  # (10, 2)
    y = torch.arange(10).repeat(5)
    codes = centres[y] + 0.1 * torch.randn(50, 2)
    assert autoencoder.knn_accuracy(codes, y, centres, torch.arange(10), k=3) == 1.0


@pytest.mark.parametrize("module", [cnn_digits, cnn_rnn_sequence, autoencoder])
def test_both_budgets_exist_and_an_unknown_one_is_refused(module):
    assert set(module.CONFIGS) == {"quick", "full"}
    with pytest.raises(ValueError, match="budget"):
        module.run("huge", seed=0, seconds=None)


def test_fixed_seed_gives_identical_metrics_twice(reader):
    assert cnn_rnn_sequence.run_config(TINY_READER, seed=0).metrics == reader.metrics


def test_a_seconds_cap_stops_training_early():
    result = autoencoder.run_config(
        replace(TINY_AE, max_steps=100_000), seed=0, seconds=0.3
    )
    assert result.metrics["train_steps"] < 100_000


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_chapter_4_figures_draw_from_tiny_results(cnn, reader, ae, theme):
    specs = {
        n: s for n, s in registry().items() if s.module == "airoad_book.figures.ch04"
    }
    assert {
        "cnn-vs-mlp-curves",
        "cnn-filters",
        "cnn-rnn-examples",
        "autoencoder-latent",
        "autoencoder-reconstructions",
    } <= set(specs)
    results = {"cnn-digits": cnn, "cnn-rnn-sequence": reader, "autoencoder": ae}
    with themed(theme):
        for spec in specs.values():
            fig = spec.draw(results[spec.experiment])
            assert isinstance(fig, Figure)
            plt.close(fig)
