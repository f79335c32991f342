"""The GPT of chapter 12: causal, equal to the attention formula written out, tied,
cached."""

import math

import pytest
import torch
import torch.nn.functional as F

from airoad_book.decode import generate
from airoad_book.models.gpt import (
    GPT,
    CachedStep,
    CausalSelfAttention,
    GPTConfig,
    KVCache,
    RecomputeStep,
)

SMALL = GPTConfig(vocab_size=17, context=12, d_model=24, num_heads=3, num_layers=2)


def small_model(**changes) -> GPT:
    torch.manual_seed(0)
    config = GPTConfig(**{**SMALL.__dict__, **changes})
    return GPT(config).eval()


def test_logits_have_one_row_per_position_and_vocabulary_column():
    model = small_model()
    idx = torch.randint(0, 17, (5, 9))
    assert model(idx).shape == (5, 9, 17)


def test_output_at_t_does_not_change_when_later_tokens_change():
    model = small_model()
    idx = torch.randint(0, 17, (2, 12))
    changed = idx.clone()
    changed[:, 7:] = (changed[:, 7:] + 5) % 17  # change positions 7 … 11
    a, b = model(idx), model(changed)
    assert torch.allclose(a[:, :7], b[:, :7], atol=1e-6)
    assert not torch.allclose(
        a[:, 7:], b[:, 7:], atol=1e-3
    )  # later positions do see it


def test_attention_equals_softmax_of_scaled_scores_with_causal_mask_written_out():
    torch.manual_seed(1)
    attn = CausalSelfAttention(SMALL).eval()
    x = torch.randn(2, 10, 24)  # (B, T, C)
    B, T, C, H = 2, 10, 24, 3
    q, k, v = (x @ attn.qkv.weight.T + attn.qkv.bias).split(C, dim=2)  # (B, T, C) each
    q, k, v = (
        t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v)
    )  # (B, H, T, D)
    scores = q @ k.transpose(-2, -1) / math.sqrt(C // H)  # (B, H, T, T)
    mask = torch.full((T, T), float("-inf")).triu(diagonal=1)  # -inf above the diagonal
    y = torch.softmax(scores + mask, dim=-1) @ v  # (B, H, T, D)
    y = y.transpose(1, 2).reshape(B, T, C) @ attn.proj.weight.T + attn.proj.bias
    assert torch.allclose(attn(x), y, atol=1e-5)


def test_tied_output_layer_is_the_token_embedding_and_counted_once():
    model = small_model()
    assert model.head.weight is model.tok_emb.weight
    untied = small_model(tie_weights=False)
    assert untied.head.weight is not untied.tok_emb.weight
    assert untied.num_parameters - model.num_parameters == 17 * 24
    assert model.num_parameters == sum(p.numel() for p in set(model.parameters()))


def test_a_gradient_step_moves_the_tied_matrix_by_both_of_its_uses():
    model = small_model().train()
    idx = torch.randint(0, 17, (2, 6))
    model(idx).sum().backward()
    grad = model.tok_emb.weight.grad
    # the output layer's gradient reaches every row; the embedding's only the rows read
    assert (
        grad is model.head.weight.grad and torch.count_nonzero(grad.abs().sum(1)) == 17
    )


def test_logits_with_kv_cache_equal_full_recomputation_chunk_by_chunk():
    model = small_model()
    idx = torch.randint(0, 17, (3, 12))
    cache = KVCache(model.config, batch=3)
    parts = [model(idx[:, a:b], cache) for a, b in ((0, 4), (4, 5), (5, 9), (9, 12))]
    assert cache.length == 12
    assert torch.allclose(torch.cat(parts, dim=1), model(idx), atol=1e-5)


@pytest.mark.parametrize(
    "sampling", [{"top_k": 1}, {"temperature": 1.0}, {"temperature": 0.7, "top_k": 5}]
)
def test_generating_with_kv_cache_gives_the_same_tokens_as_recomputation(sampling):
    model = small_model()
    runs = []
    for step in (RecomputeStep(model), CachedStep(model)):
        gen = torch.Generator().manual_seed(3)
        runs.append(
            generate(step, [1, 2, 3], 9, generator=gen, **sampling)
        )  # 3 + 9 = the context
    assert runs[0] == runs[1] and len(runs[0]) == 9


def test_cached_generation_goes_on_past_the_context():
    model = small_model()
    out = generate(CachedStep(model), [1, 2, 3], 40, top_k=1)
    assert len(out) == 40 and all(0 <= t < 17 for t in out)


def test_a_sequence_longer_than_the_context_is_rejected_naming_the_context():
    model = small_model()
    with pytest.raises(ValueError, match="context of 12"):
        model(torch.zeros(1, 13, dtype=torch.long))
    cache = KVCache(model.config, batch=1)
    model(torch.zeros(1, 10, dtype=torch.long), cache)
    with pytest.raises(ValueError, match="10 cached positions.*context of 12"):
        model(torch.zeros(1, 3, dtype=torch.long), cache)


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.zeros(4, dtype=torch.long), "shape"),
        (torch.zeros(1, 4), "integer"),
        (torch.full((1, 4), 17), r"\[0, 16\]"),
    ],
)
def test_bad_token_ids_raise_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        small_model()(bad)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("d_model", 25, "divisible by num_heads"),
        ("num_layers", 0, "num_layers"),
        ("dropout", 1.0, "dropout"),
        ("context", 2.5, "context"),
    ],
)
def test_bad_config_raises_value_error(field, value, message):
    with pytest.raises(ValueError, match=message):
        GPTConfig(**{**SMALL.__dict__, field: value})


def test_loss_falls_in_a_few_steps_on_a_repeating_text():
    torch.manual_seed(0)
    model = GPT(SMALL).train()
    text = torch.arange(12).repeat(8)  # 0 1 … 11 0 1 …: each token names the next
    x, y = text[:-1].unfold(0, 12, 1)[::5], text[1:].unfold(0, 12, 1)[::5]  # (B, 12)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = F.cross_entropy(model(x).reshape(-1, 17), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] > math.log(17) - 0.3  # starts near a uniform guess
    assert losses[-1] < 0.2 * losses[0]


def test_initial_loss_is_close_to_a_uniform_guess():
    model = small_model()
    idx, targets = torch.randint(0, 17, (2, 8, 12))
    logits = model(idx)
    loss = F.cross_entropy(logits.reshape(-1, 17), targets.reshape(-1))
    assert abs(loss.item() - math.log(17)) < 0.1


def test_attention_equals_chapter_11s_attention_function_with_its_causal_mask():
    from airoad_book.models.transformer import causal_mask, scaled_dot_product_attention

    torch.manual_seed(2)
    attn = CausalSelfAttention(SMALL).eval()
    x = torch.randn(3, 7, 24)  # (B, T, C)
    q, k, v = attn.qkv(x).split(24, dim=2)
    q, k, v = (t.view(3, 7, 3, 8).transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
    out, weights = scaled_dot_product_attention(q, k, v, causal_mask(7))
    expected = attn.proj(out.transpose(1, 2).reshape(3, 7, 24))
    assert torch.allclose(attn(x), expected, atol=1e-5)
    assert torch.all(weights.triu(diagonal=1) == 0)  # no weight on a later position
