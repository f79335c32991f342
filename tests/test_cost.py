"""The cost arithmetic of chapter 12: counted from the shapes, checked against the built
model."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from airoad_book import cost
from airoad_book.models.gpt import GPT, GPTConfig

CONFIGS = [
    GPTConfig(vocab_size=50, context=32, d_model=64, num_heads=4, num_layers=2),
    GPTConfig(
        vocab_size=50,
        context=32,
        d_model=64,
        num_heads=4,
        num_layers=2,
        tie_weights=False,
    ),
    GPTConfig(
        vocab_size=97, context=16, d_model=48, num_heads=3, num_layers=3, bias=False
    ),
    GPTConfig(
        vocab_size=10,
        context=8,
        d_model=32,
        num_heads=2,
        num_layers=1,
        d_ff=40,
        tie_weights=False,
        bias=False,
    ),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_parameter_count_from_the_shapes_equals_the_built_models(config):
    model = GPT(config)
    assert cost.parameter_count(config) == sum(p.numel() for p in model.parameters())
    assert cost.parameter_count(config) == model.num_parameters


def test_tying_saves_exactly_one_vocabulary_by_width_matrix():
    tied, untied = CONFIGS[0], CONFIGS[1]
    assert cost.parameter_count(untied) - cost.parameter_count(tied) == 50 * 64
    assert cost.parameter_counts(tied)["output"] == 0


def test_non_embedding_parameters_are_twelve_l_c_squared_with_a_4c_mlp():
    c = CONFIGS[0]
    assert cost.non_embedding_parameters(c) == 12 * 2 * 64**2


def test_training_flops_per_token_match_a_count_by_hand():
    c = CONFIGS[0]  # L = 2, C = 64, V = 50, T = 32
    N = 2 * (
        64 * 192 + 64 * 64 + 64 * 256 + 256 * 64
    )  # qkv, out, fc, proj of each block
    hand = (
        6 * N + 6 * 2 * 32 * 64 + 6 * 64 * 50
    )  # weights, causal attention, output layer
    assert cost.training_flops_per_token(c) == hand == 633_600
    assert cost.training_flops_per_token(c) == 3 * cost.forward_flops_per_token(c)
    assert (
        cost.forward_flops_per_token(c, context=16)
        == 2 * N + 2 * 2 * 16 * 64 + 2 * 64 * 50
    )


@pytest.mark.parametrize("config", CONFIGS[:3])
def test_forward_flops_equal_torchs_count_of_the_matmuls_but_for_the_masked_half(
    config,
):
    model = GPT(config).eval()
    B, T = 2, config.context
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(B, T, dtype=torch.long))
    counted = counter.get_total_flops() / (B * T)  # per token
    # torch counts Q Kᵀ and A V over all T keys; a causal query uses T / 2 of them on
    # average
    masked_half = 2 * config.num_layers * T * config.d_model
    assert counted == cost.forward_flops_per_token(config) + masked_half


def test_dense_rule_is_six_n_d():
    assert cost.dense_training_flops(1_000, 50) == 300_000
    with pytest.raises(ValueError, match="parameters and tokens"):
        cost.dense_training_flops(-1, 5)


def _saved_activation_bytes(model: GPT, idx: torch.Tensor) -> int:
    """Bytes of the distinct tensors autograd saves for backward, parameters left
    out."""
    params = {p.data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params and t.dtype.is_floating_point:
            seen[ptr] = max(seen.get(ptr, 0), t.untyped_storage().nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        logits = model(idx)
        F.cross_entropy(logits.reshape(-1, logits.shape[-1]), idx.reshape(-1))
    return sum(seen.values())


@pytest.mark.parametrize("config", CONFIGS[:3])
def test_activation_estimate_is_within_a_quarter_of_what_autograd_saves(config):
    model = GPT(config).train()
    B = 4
    measured = _saved_activation_bytes(
        model, torch.zeros(B, config.context, dtype=torch.long)
    )
    estimate = cost.training_memory_bytes(config, batch=B)["activations"]
    assert 0.75 < estimate / measured < 1.25, (estimate, measured)


def test_training_memory_is_four_copies_of_the_weights_plus_activations():
    c = CONFIGS[0]
    m = cost.training_memory_bytes(c, batch=8, context=16)
    n = 4 * cost.parameter_count(c)
    assert (m["weights"], m["gradients"], m["adam"]) == (n, n, 2 * n)
    assert m["activations"] == 4 * 8 * 16 * cost.activation_floats_per_token(c)
    assert m["total"] == 4 * n + m["activations"]


def test_matmul_peak_is_a_positive_rate():
    peak = cost.matmul_peak_gflops(size=64, repeats=2)
    assert math.isfinite(peak) and peak > 0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: cost.matmul_peak_gflops(size=8), "size"),
        (lambda: cost.matmul_peak_gflops(repeats=0), "repeats"),
        (lambda: cost.forward_flops_per_token(CONFIGS[0], context=33), "context"),
        (lambda: cost.parameter_count("gpt"), "GPTConfig"),
        (lambda: cost.training_memory_bytes(CONFIGS[0], batch=0), "batch"),
    ],
)
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_gpt2_small_has_the_124_million_parameters_it_is_known_by():
    gpt2 = GPTConfig(
        vocab_size=50_257, context=1024, d_model=768, num_heads=12, num_layers=12
    )
    assert (
        cost.parameter_count(gpt2) == 124_439_808
    )  # nanoGPT's count of the Hugging Face weights
    assert cost.non_embedding_parameters(gpt2) == 12 * 12 * 768**2


# --------------------------------------------------------------------------- appendix
# B's napkin


def test_ring_allreduce_sends_two_p_minus_one_over_p_of_the_gradient():
    assert cost.allreduce_bytes(1000, 1) == 0
    assert (
        cost.allreduce_bytes(1000, 2) == 1000
    )  # two ranks: each sends its half, then its half back
    assert cost.allreduce_bytes(1000, 8) == pytest.approx(1750)
    assert (
        cost.allreduce_bytes(1000, 1024) < 2000 < cost.allreduce_bytes(1000, 1024) + 2
    )


def test_simulated_ring_allreduce_sums_and_sends_what_the_formula_says():
    from airoad_book.distributed import ring_allreduce

    torch.manual_seed(0)
    for p, n in ((2, 8), (3, 12), (4, 1000)):
        grads = [torch.randn(n, dtype=torch.float64) for _ in range(p)]
        results, sent = ring_allreduce(grads)
        for r in results:  # every rank ends with the same sum
            torch.testing.assert_close(r, torch.stack(grads).sum(0))
        assert sent == cost.allreduce_bytes(
            n, p
        )  # floats per rank, as the formula counts bytes


def test_allreduce_seconds_add_latency_per_message_and_bytes_over_bandwidth():
    assert cost.allreduce_seconds(1e9, 2, 1e9) == pytest.approx(1.0)
    assert cost.allreduce_seconds(0, 4, 1e9, latency_s=1e-3) == pytest.approx(6e-3)
    with pytest.raises(ValueError, match="bytes_per_second"):
        cost.allreduce_seconds(1e9, 2, 0)


def test_data_parallel_step_splits_compute_and_adds_or_overlaps_the_allreduce():
    assert cost.data_parallel_step_seconds(1.0, 4, 0.1) == pytest.approx(0.35)
    assert cost.data_parallel_step_seconds(1.0, 4, 0.1, overlap=True) == pytest.approx(
        0.25
    )
    assert cost.data_parallel_step_seconds(1.0, 4, 0.5, overlap=True) == pytest.approx(
        0.5
    )
    with pytest.raises(ValueError, match="world_size"):
        cost.data_parallel_step_seconds(1.0, 0, 0.1)


def test_gpt2_small_on_an_h100_takes_hours_at_the_datasheet_peak():
    gpt2 = GPTConfig(
        vocab_size=50_257, context=1024, d_model=768, num_heads=12, num_layers=12
    )
    tokens = 20 * cost.parameter_count(
        gpt2
    )  # about Chinchilla's 20 tokens per parameter
    flops = cost.training_flops_per_token(gpt2) * tokens
    h100 = cost.DATASHEETS["H100"]
    seconds = cost.training_seconds(flops, h100.peak_flops)
    assert seconds == pytest.approx(flops / 989e12)
    assert 0.5 < seconds / 3600 < 1.0  # ~2.1e18 FLOPs at ~1e15 FLOP/s: about 35 minutes
    assert cost.training_seconds(
        flops, h100.peak_flops, cost.PALM_MFU
    ) == pytest.approx(seconds / 0.462)
    with pytest.raises(ValueError, match="utilisation"):
        cost.training_seconds(flops, h100.peak_flops, 0.0)
