"""Part III's generative experiments, `vae` and `ddpm`, at tiny budgets, and their
figures."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from airoad_book.experiments import EXPERIMENTS, ddpm, vae


@pytest.fixture(scope="module")
def vae_result():
    config = dataclasses.replace(
        vae.CONFIGS["quick"],
        hidden=32,
        max_steps=150,
        betas=(0.5, 1.0, 4.0),
        prior_samples=50,
        elbo_samples=2,
        grid=4,
    )
    return vae.run_config(config, seed=0)


@pytest.fixture(scope="module")
def ddpm_result():
    config = dataclasses.replace(
        ddpm.CONFIGS["quick"],
        toy_points=1024,
        toy_hidden=64,
        toy_train_steps=600,
        digit_hidden=32,
        digit_train_steps=60,
        snapshots=(20, 60),
        digit_samples=40,
        chain_frames=4,
    )
    return ddpm.run_config(config, seed=0)


def test_both_are_registered_with_quick_and_full_budgets():
    for name, mod in (("vae", vae), ("ddpm", ddpm)):
        assert EXPERIMENTS[name] == mod.__name__ and mod.NAME == name and mod.SUMMARY
        assert set(mod.CONFIGS) == {"quick", "full"}
    with pytest.raises(ValueError, match="quick"):
        vae.run("huge", 0, None)


def test_vae_reports_the_elbo_as_its_two_terms(vae_result):
    m = vae_result.metrics
    assert m["test_elbo_nats"] == pytest.approx(-(m["recon_nats"] + m["kl_nats"]))
    assert 0 < m["kl_nats"] < 20 and 50 < m["recon_nats"] < 544  # 544: 784 * log 2
    for beta in (0.5, 1, 4):
        assert f"beta_{beta:g}_kl_nats" in m
    assert m["beta_1_elbo_nats"] == m["test_elbo_nats"]
    assert 0 <= m["vae_codes_in_prior"] <= 1 and 0 <= m["ae_codes_in_prior"] <= 1
    assert m["trainings"] == 4


def test_a_larger_beta_buys_a_smaller_kl(vae_result):
    kl = vae_result.series["beta"]["kl"]
    assert kl == sorted(kl, reverse=True)  # β = 0.5, 1, 4


def test_the_vae_codes_fill_the_prior_better_than_the_autoencoders(vae_result):
    m = vae_result.metrics
    assert m["vae_codes_in_prior"] > m["ae_codes_in_prior"]


def test_vae_series_have_the_figures_shapes(vae_result):
    s = vae_result.series
    assert np.asarray(s["prior_samples"]["vae"]).shape == (32, 28, 28)
    assert np.asarray(s["plane"]).shape == (4, 4, 28, 28)
    assert np.asarray(s["interpolations"]["ae"]).shape == (3, 9, 28, 28)
    assert np.asarray(s["codes"]["vae"]).shape == (1000, 2)
    assert set(vae_result.tables) == {"elbo", "prior", "beta"}


def test_nearest_distance_is_zero_for_an_image_of_the_reference():
    ref = torch.rand(5, 16)
    d = vae.nearest_distance(torch.cat([ref[2:3], ref[:1] + 0.5]), ref)
    assert float(d[0]) == 0 and float(d[1]) == pytest.approx(0.5, abs=1e-6)


def test_energy_distance_matches_scipy_in_one_dimension():
    from scipy.stats import energy_distance as scipy_energy

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(300, 1, generator=g), 0.5 + torch.randn(200, 1, generator=g)
    expected = scipy_energy(a[:, 0].double().numpy(), b[:, 0].double().numpy()) ** 2
    assert ddpm.energy_distance(a.double(), b.double()) == pytest.approx(expected)
    assert ddpm.energy_distance(a, a) == pytest.approx(0, abs=1e-6)


def test_two_moons_are_centred_with_about_unit_spread():
    x = ddpm.two_moons(20_000, torch.Generator().manual_seed(0))
    assert x.shape == (20_000, 2)
    assert x.mean(0).abs().max() < 0.05
    assert ((x.std(0) - 1).abs() < 0.15).all()


def test_ddpm_samples_beat_the_noise_on_the_moons(ddpm_result):
    m = ddpm_result.metrics
    assert m["toy_two_sample_stat"] < 0.7 * m["toy_two_sample_stat_noise"]
    assert m["toy_two_sample_stat_data"] < m["toy_two_sample_stat"]
    assert m["digits_two_sample_stat_noise"] > m["digits_two_sample_stat_train"]


def test_ddpm_keeps_a_sample_grid_per_snapshot(ddpm_result):
    s = ddpm_result.series
    assert list(s["digits"]) == ["20", "60"]
    assert np.asarray(s["digits"]["60"]).shape == (40, 8, 8)
    assert len(s["toy"]["chain"]) == 4
    assert s["digits_stat"]["step"] == [20, 60]
    m = ddpm_result.metrics
    assert m["digits_two_sample_stat"] == m["digits_two_sample_stat_at_60"]
    assert math.isfinite(m["digits_two_sample_stat_at_20"])


def test_every_generative_figure_draws(vae_result, ddpm_result):
    import matplotlib.pyplot as plt

    from airoad_book.figures import registry

    figures = {n: f for n, f in registry().items() if f.module.endswith(".generative")}
    assert len(figures) == 8
    for spec in figures.values():
        result = vae_result if spec.experiment == "vae" else ddpm_result
        fig = spec.draw(result)
        assert fig.axes
        plt.close(fig)
