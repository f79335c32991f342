"""Claims about the Transformer of Vaswani et al. (2017): its attention against torch's,
its masks, its protocol."""

import math

import pytest
import torch
import torch.nn.functional as F
import translation_protocol as protocol  # tests/translation_protocol.py

from airoad_book.decode import beam_hypotheses, beam_search, greedy_translate
from airoad_book.models.transformer import (
    MultiHeadAttention,
    Transformer,
    TransformerConfig,
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
    sinusoidal_positions,
)

K_X, K_Y = 11, 9


def model_for(seed: int = 0, **sizes) -> Transformer:
    torch.manual_seed(seed)
    config = TransformerConfig(
        K_X,
        K_Y,
        **{
            "d_model": 8,
            "num_heads": 2,
            "d_ff": 16,
            "encoder_layers": 2,
            "decoder_layers": 2,
            "dropout": 0.0,
            "max_len": 16,
            **sizes,
        },
    )
    return Transformer(config).double().eval()


def padded_batch(seed: int = 0):
    """See translation_protocol.padded_batch: src (3, 7), lengths (3,), tgt_in (3,
    4)."""
    return protocol.padded_batch(K_X, K_Y, seed)


# --- scaled dot-product attention
# -------------------------------------------------------------


@pytest.mark.parametrize("masked", ["none", "causal", "padding"])
def test_attention_matches_torch_scaled_dot_product_attention(masked):
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 3, 5, 4, generator=g, dtype=torch.double)  # (B, h, T_q, d_k)
    k = torch.randn(2, 3, 6, 4, generator=g, dtype=torch.double)
    v = torch.randn(
        2, 3, 6, 7, generator=g, dtype=torch.double
    )  # d_v need not equal d_k
    mask = {
        "none": None,
        "causal": torch.ones(5, 6, dtype=torch.bool).tril(),
        "padding": padding_mask(torch.tensor([6, 2]), 6)[:, None, None, :],
    }[masked]
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    assert torch.allclose(
        out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=1e-12
    )
    assert weights.shape == (2, 3, 5, 6)
    assert torch.allclose(
        weights.sum(-1), torch.ones(2, 3, 5, dtype=torch.double), atol=1e-12
    )
    if mask is not None:
        assert bool(
            (weights.masked_select(~mask.expand_as(weights)) == 0).all()
        )  # exactly zero


def test_attention_equals_the_formula_written_out_for_one_query():
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(n, 3, generator=g, dtype=torch.double) for n in (1, 4, 4))
    out, _ = scaled_dot_product_attention(q, k, v)
    e = torch.stack([q[0] @ k[j] / math.sqrt(3) for j in range(4)])
    a = torch.exp(e) / torch.exp(e).sum()
    assert torch.allclose(out[0], sum(a[j] * v[j] for j in range(4)), atol=1e-12)


# --- multi-head attention
# ---------------------------------------------------------------------


def test_multihead_attention_matches_torch_multihead_attention_with_the_same_weights():
    torch.manual_seed(0)
    d, h = 12, 3
    ours = MultiHeadAttention(d, h).double()
    theirs = torch.nn.MultiheadAttention(d, h, batch_first=True).double()
    with torch.no_grad():  # torch stacks [W_q; W_k; W_v] in one in_proj_weight
        for i, lin in enumerate((ours.W_q, ours.W_k, ours.W_v)):
            lin.weight.copy_(theirs.in_proj_weight[i * d : (i + 1) * d])
            lin.bias.copy_(
                torch.randn(d)
            )  # torch starts its biases at zero: make them count
            theirs.in_proj_bias[i * d : (i + 1) * d] = lin.bias
        ours.W_o.weight.copy_(theirs.out_proj.weight)
        ours.W_o.bias.copy_(torch.randn(d))
        theirs.out_proj.bias.copy_(ours.W_o.bias)
    g = torch.Generator().manual_seed(2)
    query = torch.randn(2, 4, d, generator=g, dtype=torch.double)
    memory = torch.randn(2, 6, d, generator=g, dtype=torch.double)
    real = padding_mask(torch.tensor([6, 3]), 6)  # (B, S) True at real positions
    out, weights = ours(query, memory, memory, real[:, None, None, :])
    # torch's key_padding_mask is True where a key is *ignored*
    expected, expected_weights = theirs(
        query, memory, memory, key_padding_mask=~real, average_attn_weights=False
    )
    assert torch.allclose(out, expected, atol=1e-12)
    assert torch.allclose(
        weights, expected_weights, atol=1e-12
    )  # (B, h, T_q, T_k), head by head


def test_multihead_self_attention_with_a_causal_mask_matches_torch():
    torch.manual_seed(1)
    ours = MultiHeadAttention(8, 2).double()
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    with torch.no_grad():
        theirs.in_proj_weight.copy_(
            torch.cat([ours.W_q.weight, ours.W_k.weight, ours.W_v.weight])
        )
        theirs.in_proj_bias.copy_(
            torch.cat([ours.W_q.bias, ours.W_k.bias, ours.W_v.bias])
        )
        theirs.out_proj.weight.copy_(ours.W_o.weight)
        theirs.out_proj.bias.copy_(ours.W_o.bias)
    x = torch.randn(2, 5, 8, dtype=torch.double)
    out, _ = ours(x, x, x, causal_mask(5))
    expected, _ = theirs(
        x, x, x, attn_mask=~causal_mask(5)
    )  # torch's True means "may not attend"
    assert torch.allclose(out, expected, atol=1e-12)


def test_each_head_reads_only_its_own_slice_of_the_projections():
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2).double()
    x = torch.randn(1, 5, 8, dtype=torch.double)
    _, weights = mha(x, x, x)
    q, k = mha.W_q(x)[0, :, 4:], mha.W_k(x)[0, :, 4:]  # head 2: features 4..7
    assert torch.allclose(
        weights[0, 1], torch.softmax(q @ k.T / 2.0, dim=-1), atol=1e-12
    )


# --- positions and masks
# ----------------------------------------------------------------------


def test_sinusoidal_positions_follow_the_paper_formula():
    pe = sinusoidal_positions(50, 16)
    assert pe.shape == (50, 16)
    for pos, i in [(0, 0), (3, 0), (7, 2), (49, 7)]:
        angle = pos / 10000 ** (2 * i / 16)
        assert pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
        assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_a_shift_of_k_positions_is_the_same_rotation_at_every_position():
    pe = sinusoidal_positions(40, 8).double()
    k = 5
    for i in range(
        4
    ):  # each (sin, cos) pair turns by the angle k * w_i, whatever the position
        w = 1 / 10000 ** (2 * i / 8)
        c, s = math.cos(k * w), math.sin(k * w)
        rotation = torch.tensor([[c, -s], [s, c]], dtype=torch.double)
        pair = pe[:, 2 * i : 2 * i + 2]  # (40, 2) rows (sin, cos)
        assert torch.allclose(pair[:-k] @ rotation, pair[k:], atol=1e-5)


def test_masks_say_which_positions_may_be_read():
    assert causal_mask(3).tolist() == [
        [True, False, False],
        [True, True, False],
        [True, True, True],
    ]
    assert causal_mask(1, past=3).tolist() == [
        [True, True, True, True]
    ]  # the newest word reads them all
    assert causal_mask(2, past=1).tolist() == [[True, True, False], [True, True, True]]
    assert padding_mask(torch.tensor([1, 3]), 4).tolist() == [
        [True, False, False, False],
        [True, True, True, False],
    ]


# --- the model
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_model_gives_logits_memory_state_and_maps_of_the_protocol_shapes(norm):
    model = model_for(norm=norm)
    src, lengths, tgt_in = padded_batch()
    assert model(src, lengths, tgt_in).shape == (3, 4, K_Y)
    memory = model.encode(src, lengths)
    assert memory["memory"].shape == (3, 7, 8) and memory["mask"].shape == (3, 7)
    assert [k.shape for k in memory["keys"] + memory["values"]] == [
        (3, 2, 7, 4)
    ] * 4  # (B, h, S, d_k) per layer
    state = model.init_state(memory)
    assert [k.shape for k in state["keys"] + state["values"]] == [(3, 2, 0, 4)] * 4
    for t in range(1, 3):
        logits, state = model.step(tgt_in[:, t - 1], state, memory)
        assert logits.shape == (3, K_Y)
        assert [k.shape for k in state["keys"] + state["values"]] == [
            (3, 2, t, 4)
        ] * 4  # one more word cached
    maps = model.attention_maps(src, lengths, tgt_in)
    assert [w.shape for w in maps["encoder"]] == [(3, 2, 7, 7)] * 2
    assert [w.shape for w in maps["decoder"]] == [(3, 2, 4, 4)] * 2
    assert [w.shape for w in maps["cross"]] == [(3, 2, 4, 7)] * 2


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_causal_mask_output_at_t_does_not_change_when_later_targets_change(norm):
    model = model_for(norm=norm)
    src, lengths, tgt_in = padded_batch()
    before = model(src, lengths, tgt_in)
    for t in range(3):
        changed = tgt_in.clone()
        changed[:, t + 1 :] = (changed[:, t + 1 :] + 1 - 3) % (
            K_Y - 3
        ) + 3  # other real words after t
        after = model(src, lengths, changed)
        assert torch.allclose(before[:, : t + 1], after[:, : t + 1], atol=1e-12)
        assert not torch.allclose(
            before[:, t + 1 :], after[:, t + 1 :]
        )  # the later ones do change


def test_padding_is_invisible_more_padding_or_other_pad_values_change_nothing():
    model = model_for()
    src, lengths, tgt_in = padded_batch()
    before = model(src, lengths, tgt_in)
    wider = torch.cat(
        [src, torch.zeros(3, 4, dtype=torch.long)], dim=1
    )  # four more pad columns
    assert torch.allclose(model(wider, lengths, tgt_in), before, atol=1e-12)
    junk = src.clone()
    junk[torch.arange(7) >= lengths[:, None]] = (
        5  # a real word id where the lengths say padding
    )
    assert torch.allclose(model(junk, lengths, tgt_in), before, atol=1e-12)
    for b in range(3):  # and each sentence alone, unpadded, gives its row
        n = int(lengths[b])
        alone = model(src[b : b + 1, :n], lengths[b : b + 1], tgt_in[b : b + 1])
        assert torch.allclose(alone, before[b : b + 1], atol=1e-12)
    cross = model.attention_maps(src, lengths, tgt_in)["cross"][0]  # (B, h, T, S)
    assert bool(
        (cross[1, :, :, 2:] == 0).all()
    )  # sentence 1 has 2 words: no weight past them


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_forward_equals_decoding_one_step_at_a_time(norm):
    model = model_for(norm=norm)
    protocol.assert_forward_equals_stepping(model, *padded_batch())


def test_memory_and_state_keep_the_batch_on_dim_0_so_rows_can_be_reordered():
    protocol.assert_rows_reorder(model_for(), *padded_batch())


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_beam_of_one_equals_greedy_for_the_transformer(seed):
    model = model_for(seed=seed)
    src, lengths, _ = padded_batch(seed=seed)
    args = dict(bos_id=1, eos_id=2, max_len=8)
    greedy = greedy_translate(model, src, lengths, **args)
    assert beam_search(model, src, lengths, beam_size=1, **args) == greedy
    assert len(greedy) == 3 and all(len(r) <= 8 and 2 not in r for r in greedy)


def test_beam_search_log_probs_equal_the_teacher_forced_log_probs_of_its_hypotheses():
    """Beam search reorders the key-value caches at every step; a wrong reorder would
    score the wrong prefix, so each hypothesis's log-probability must equal forward's
    for the same tokens."""
    model = model_for(seed=5)
    src, lengths, _ = padded_batch(seed=5)
    found = beam_hypotheses(
        model, src, lengths, beam_size=3, bos_id=1, eos_id=2, max_len=6, alpha=0.0
    )
    for b, hypotheses in enumerate(found):
        assert hypotheses
        for h in hypotheses:
            target = (
                h.tokens + [2] if len(h.tokens) < 6 else h.tokens
            )  # finished ones end in <eos>
            tgt_in = torch.tensor([[1] + target[:-1]])  # <bos> y_1 … y_{n-1}
            logp = torch.log_softmax(
                model(src[b : b + 1], lengths[b : b + 1], tgt_in), -1
            )[0]  # (n, V)
            forced = sum(logp[i, t].item() for i, t in enumerate(target))
            assert forced == pytest.approx(
                h.log_prob, abs=1e-5
            )  # beam search scores in float32


def test_post_ln_normalizes_every_layer_output_and_pre_ln_adds_one_final_norm():
    src, lengths, _ = padded_batch()
    post, pre = model_for(norm="post"), model_for(norm="pre")
    x = post.encode(src, lengths)[
        "memory"
    ]  # the last LayerNorm's output (weight 1, bias 0)
    assert torch.allclose(x.mean(-1), torch.zeros(3, 7, dtype=torch.double), atol=1e-9)
    assert isinstance(post.encoder_norm, torch.nn.Identity) and isinstance(
        pre.encoder_norm, torch.nn.LayerNorm
    )
    assert (
        pre.num_parameters == post.num_parameters + 2 * 2 * 8
    )  # two final norms, weight and bias


def test_tied_output_shares_the_target_embedding_and_counts_it_once():
    tied, untied = model_for(), model_for(tie_output=False)
    assert tied.out.weight is tied.tgt_embed.E.weight
    assert untied.num_parameters - tied.num_parameters == K_Y * 8


def test_embeddings_are_scaled_by_sqrt_d_model_and_add_the_positions():
    model = model_for()
    ids = torch.tensor([[4, 5, 6]])
    x = model.src_embed(ids)  # dropout is off
    expected = (
        model.src_embed.E.weight[ids] * math.sqrt(8)
        + sinusoidal_positions(3, 8).double()
    )
    assert torch.allclose(x, expected, atol=1e-12)


def test_transformer_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = Transformer(
        TransformerConfig(K_X, K_Y, d_model=32, num_heads=4, d_ff=64, dropout=0.0)
    )
    batch = protocol.reversal_batch()
    src, lengths = batch[0], batch[1]
    losses = protocol.overfit(model, batch, lr=3e-3)
    assert losses[0] > 1.5 and losses[-1] < 0.05
    model.eval()
    out = greedy_translate(model, src, lengths, bos_id=1, eos_id=2, max_len=10)
    assert out == [r[r != 0].tolist() for r in src.flip(1)]


# --- errors at the edge
# -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(d_model=10, num_heads=4), "divisible by num_heads"),
        (dict(d_model=9, num_heads=3), "even"),
        (dict(norm="sandwich"), "norm"),
        (dict(dropout=1.0), "dropout"),
        (dict(encoder_layers=0), "encoder_layers"),
        (dict(num_heads=True), "num_heads"),
        (dict(target_vocab=3), "target_vocab"),
    ],
)
def test_config_rejects_bad_sizes(change, message):
    with pytest.raises(ValueError, match=message):
        TransformerConfig(**{"source_vocab": K_X, "target_vocab": K_Y, **change})


def test_multihead_attention_rejects_heads_that_do_not_divide_the_width():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 3)


def test_a_sequence_longer_than_max_len_gets_a_clear_error():
    model = model_for(max_len=6)
    src, lengths, tgt_in = padded_batch()  # S = 7 > 6
    with pytest.raises(ValueError, match="longer than max_len=6"):
        model(src, lengths, tgt_in)
    with pytest.raises(ValueError, match="longer than max_len=6"):
        model(src[:, :5], lengths.clamp(max=5), torch.ones(3, 7, dtype=torch.long))


def test_bad_sources_and_configs_get_clear_errors():
    model = model_for()
    src, lengths, tgt_in = padded_batch()
    with pytest.raises(ValueError, match=r"src_lengths must lie in 1\.\.7"):
        model.encode(src, lengths + 1)
    with pytest.raises(ValueError, match="TransformerConfig"):
        Transformer({"source_vocab": K_X, "target_vocab": K_Y})
    with pytest.raises(ValueError, match="even"):
        sinusoidal_positions(4, 5)
