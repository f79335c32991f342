"""The cost arithmetic of chapter 12: counted from the shapes, checked against the built model."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from airoad_book import cost
from airoad_book.models.gpt import GPT, GPTConfig

CONFIGS = [
    GPTConfig(vocab_size=50, context=32, d_model=64, num_heads=4, num_layers=2),
    GPTConfig(vocab_size=50, context=32, d_model=64, num_heads=4, num_layers=2, tie_weights=False),
    GPTConfig(vocab_size=97, context=16, d_model=48, num_heads=3, num_layers=3, bias=False),
    GPTConfig(vocab_size=10, context=8, d_model=32, num_heads=2, num_layers=1, d_ff=40,
              tie_weights=False, bias=False),
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
    N = 2 * (64 * 192 + 64 * 64 + 64 * 256 + 256 * 64)  # qkv, out, fc, proj of each block
    hand = 6 * N + 6 * 2 * 32 * 64 + 6 * 64 * 50  # weights, causal attention, output layer
    assert cost.training_flops_per_token(c) == hand == 633_600
    assert cost.training_flops_per_token(c) == 3 * cost.forward_flops_per_token(c)
    assert cost.forward_flops_per_token(c, context=16) == 2 * N + 2 * 2 * 16 * 64 + 2 * 64 * 50


@pytest.mark.parametrize("config", CONFIGS[:3])
def test_forward_flops_equal_torchs_count_of_the_matmuls_but_for_the_masked_half(config):
    model = GPT(config).eval()
    B, T = 2, config.context
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(B, T, dtype=torch.long))
    counted = counter.get_total_flops() / (B * T)  # per token
    # torch counts Q Kᵀ and A V over all T keys; a causal query uses T / 2 of them on average
    masked_half = 2 * config.num_layers * T * config.d_model
    assert counted == cost.forward_flops_per_token(config) + masked_half


def test_dense_rule_is_six_n_d():
    assert cost.dense_training_flops(1_000, 50) == 300_000
    with pytest.raises(ValueError, match="parameters and tokens"):
        cost.dense_training_flops(-1, 5)


def _saved_activation_bytes(model: GPT, idx: torch.Tensor) -> int:
    """Bytes of the distinct tensors autograd saves for backward, parameters left out."""
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
    measured = _saved_activation_bytes(model, torch.zeros(B, config.context, dtype=torch.long))
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


@pytest.mark.parametrize("call, message", [
    (lambda: cost.matmul_peak_gflops(size=8), "size"),
    (lambda: cost.matmul_peak_gflops(repeats=0), "repeats"),
    (lambda: cost.forward_flops_per_token(CONFIGS[0], context=33), "context"),
    (lambda: cost.parameter_count("gpt"), "GPTConfig"),
    (lambda: cost.training_memory_bytes(CONFIGS[0], batch=0), "batch"),
])
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_gpt2_small_has_the_124_million_parameters_it_is_known_by():
    gpt2 = GPTConfig(vocab_size=50_257, context=1024, d_model=768, num_heads=12, num_layers=12)
    assert cost.parameter_count(gpt2) == 124_439_808  # nanoGPT's count of the Hugging Face weights
    assert cost.non_embedding_parameters(gpt2) == 12 * 12 * 768**2
