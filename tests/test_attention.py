"""Claims about Bahdanau et al.'s attention model: its equations, its masking, its
protocol, and that it learns."""

import pytest
import torch
import translation_protocol as protocol  # tests/translation_protocol.py

from airoad_book.decode import beam_search, greedy_translate
from airoad_book.models.attention import SCORES, AttentionConfig, AttentionSeq2Seq

K_X, K_Y = 11, 9


def model_for(score: str = "additive", seed: int = 0, **sizes) -> AttentionSeq2Seq:
    torch.manual_seed(seed)
    config = AttentionConfig(
        K_X,
        K_Y,
        **{
            "embed_dim": 6,
            "hidden_dim": 8,
            "align_dim": 7,
            "maxout_dim": 5,
            "score": score,
            **sizes,
        },
    )
    model = AttentionSeq2Seq(config).double()
    # v_a starts at zero (uniform weights, as the paper does); give it a value so scores
    # differ
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


def padded_batch(seed: int = 0):
    """See translation_protocol.padded_batch: src (3, 7), lengths (3,), tgt_in (3,
    4)."""
    return protocol.padded_batch(K_X, K_Y, seed)


@pytest.mark.parametrize("score", SCORES)
def test_every_score_gives_logits_states_and_weights_of_the_protocol_shapes(score):
    model = model_for(score)
    src, lengths, tgt_in = padded_batch()
    assert model(src, lengths, tgt_in).shape == (3, 4, K_Y)
    memory = model.encode(src, lengths)
    assert memory["h"].shape == (3, 7, 8) and memory["mask"].shape == (3, 7)
    assert memory["keys"].shape == ((3, 7, 7) if score == "additive" else (3, 7, 8))
    state = model.init_state(memory)
    assert state.shape == (3, 8)
    logits, state = model.step(tgt_in[:, 0], state, memory)
    assert logits.shape == (3, K_Y) and state.shape == (3, 8)
    assert model.alignments(src, lengths, tgt_in).shape == (3, 4, 7)


@pytest.mark.parametrize("score", SCORES)
def test_attention_rows_sum_to_one_and_give_padding_exactly_zero(score):
    model = model_for(score)
    src, lengths, tgt_in = padded_batch()
    alpha = model.alignments(src, lengths, tgt_in)  # (B, T, S)
    assert torch.allclose(
        alpha.sum(-1), torch.ones(3, 4, dtype=alpha.dtype), atol=1e-12
    )
    assert bool((alpha >= 0).all())
    padding = (torch.arange(7) >= lengths[:, None])[:, None, :].expand_as(alpha)
    assert bool((alpha[padding] == 0).all())  # exactly zero, not merely small
    assert bool((alpha[~padding] > 0).all())


def test_padding_does_not_change_a_sentence_s_logits_or_weights():
    model = model_for()
    src, lengths, tgt_in = padded_batch()
    batched, alpha = model(src, lengths, tgt_in), model.alignments(src, lengths, tgt_in)
    for b in range(3):
        n = int(lengths[b])
        alone = model(src[b : b + 1, :n], lengths[b : b + 1], tgt_in[b : b + 1])
        assert torch.allclose(batched[b : b + 1], alone, atol=1e-10)
        alone_alpha = model.alignments(
            src[b : b + 1, :n], lengths[b : b + 1], tgt_in[b : b + 1]
        )
        assert torch.allclose(alpha[b : b + 1, :, :n], alone_alpha, atol=1e-10)


def test_annotations_are_a_forward_and_a_backward_gru_over_the_real_words_only():
    model = model_for()
    src, lengths, _ = padded_batch()
    h = model.encode(src, lengths)["h"]  # (B, S, H)
    gru = model.encoder.rnn
    fwd, bwd = (
        torch.nn.GRU(6, 4, batch_first=True).double(),
        torch.nn.GRU(6, 4, batch_first=True).double(),
    )
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(fwd, f"{name}_l0").copy_(getattr(gru, f"{name}_l0"))
            getattr(bwd, f"{name}_l0").copy_(getattr(gru, f"{name}_l0_reverse"))
    for b in range(3):
        n = int(lengths[b])
        x = model.encoder.E(src[b : b + 1, :n])  # (1, n, m)
        right = fwd(x)[0][0]  # (n, 4) →h_1 … →h_n
        left = bwd(x.flip(1))[0][0].flip(0)  # (n, 4) ←h_1 … ←h_n
        assert torch.allclose(h[b, :n], torch.cat([right, left], dim=1), atol=1e-12)
        assert bool((h[b, n:] == 0).all())
        s0 = model.init_state(model.encode(src[b : b + 1], lengths[b : b + 1]))
        assert torch.allclose(
            s0[0], torch.tanh(model.W_s(left[0])), atol=1e-12
        )  # s_0 = tanh(W_s ←h_1)


@pytest.mark.parametrize("score", SCORES)
def test_scores_and_context_match_the_equations_written_out_position_by_position(score):
    model = model_for(score)
    src, lengths, _ = padded_batch()
    memory = model.encode(src, lengths)
    s = torch.randn(3, 8, dtype=torch.double)
    c, alpha = model.attend(s, memory)
    h, f = memory["h"], model.score
    for b in range(3):
        n = int(lengths[b])
        if score == "additive":
            e = torch.stack(
                [
                    f.v_a @ torch.tanh(f.W_a.weight @ s[b] + f.U_a.weight @ h[b, j])
                    for j in range(n)
                ]
            )
        elif score == "dot":
            e = torch.stack([s[b] @ h[b, j] for j in range(n)])
        else:
            e = torch.stack([s[b] @ f.W_a.weight @ h[b, j] for j in range(n)])
        a = torch.exp(e) / torch.exp(e).sum()
        assert torch.allclose(alpha[b, :n], a, atol=1e-12)
        assert torch.allclose(c[b], sum(a[j] * h[b, j] for j in range(n)), atol=1e-12)


def test_weights_are_uniform_over_the_real_words_while_v_a_is_zero():
    torch.manual_seed(0)
    model = AttentionSeq2Seq(
        AttentionConfig(K_X, K_Y, embed_dim=6, hidden_dim=8)
    ).double()  # v_a = 0 at init
    src, lengths, tgt_in = padded_batch()
    alpha = model.alignments(src, lengths, tgt_in)
    expected = (torch.arange(7) < lengths[:, None]).double() / lengths[
        :, None
    ]  # (B, S)
    assert torch.allclose(alpha, expected[:, None, :].expand_as(alpha), atol=1e-12)


def test_output_layer_is_a_maxout_over_pairs_of_linear_pieces():
    model = model_for()
    src, lengths, tgt_in = padded_batch()
    memory = model.encode(src, lengths)
    s_prev = model.init_state(memory)
    logits, s = model.step(tgt_in[:, 0], s_prev, memory)
    c, _ = model.attend(s_prev, memory)
    y = model.E(tgt_in[:, 0])
    assert torch.allclose(
        s, model.cell(torch.cat([y, c], dim=1), s_prev), atol=1e-12
    )  # s_1 = GRU([E y_0; c_1], s_0)
    t_tilde = model.U_o(s) + model.V_o(y) + model.C_o(c)  # (B, 2l)
    t = torch.maximum(t_tilde[:, 0::2], t_tilde[:, 1::2])  # (B, l)
    assert torch.allclose(logits, model.W_o(t), atol=1e-12)


@pytest.mark.parametrize("score", SCORES)
def test_forward_equals_decoding_one_step_at_a_time(score):
    model = model_for(score)
    protocol.assert_forward_equals_stepping(model, *padded_batch())


def test_memory_and_state_keep_the_batch_on_dim_0_so_rows_can_be_reordered():
    protocol.assert_rows_reorder(model_for(), *padded_batch())


def test_greedy_translation_stops_at_eos_and_returns_ids_of_the_target_side():
    model = model_for()
    src, lengths, _ = padded_batch()
    out = greedy_translate(model, src, lengths, bos_id=1, eos_id=2, max_len=6)
    assert len(out) == 3 and all(
        len(r) <= 6 and 2 not in r and all(0 <= t < K_Y for t in r) for r in out
    )


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_beam_of_one_equals_greedy_for_the_attention_model(seed):
    model = model_for(seed=seed)
    src, lengths, _ = padded_batch(seed=seed)
    args = dict(bos_id=1, eos_id=2, max_len=8)
    assert beam_search(model, src, lengths, beam_size=1, **args) == greedy_translate(
        model, src, lengths, **args
    )


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(hidden_dim=7), "even"),
        (dict(score="cosine"), "score"),
        (dict(source_vocab=3), "source_vocab"),
        (dict(embed_dim=0), "embed_dim"),
        (dict(align_dim=2.5), "align_dim"),
        (dict(maxout_dim=True), "maxout_dim"),
    ],
)
def test_config_rejects_bad_sizes_and_unknown_scores(change, message):
    with pytest.raises(ValueError, match=message):
        AttentionConfig(**{"source_vocab": K_X, "target_vocab": K_Y, **change})


def test_model_rejects_a_config_of_another_kind():
    with pytest.raises(ValueError, match="AttentionConfig"):
        AttentionSeq2Seq({"source_vocab": K_X, "target_vocab": K_Y})


def test_a_source_longer_than_its_batch_or_of_floats_gets_a_clear_error():
    model = model_for()
    src, lengths, _ = padded_batch()
    with pytest.raises(ValueError, match=r"src_lengths must lie in 1\.\.7"):
        model.encode(src, lengths + 1)
    with pytest.raises(ValueError, match=r"LongTensor of shape \(B, S\)"):
        model.encode(src.float(), lengths)


def test_attention_model_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = AttentionSeq2Seq(
        AttentionConfig(
            K_X, K_Y, embed_dim=16, hidden_dim=32, align_dim=16, maxout_dim=16
        )
    )
    batch = protocol.reversal_batch()
    losses = protocol.overfit(model, batch, lr=1e-2)
    assert losses[0] > 1.5 and losses[-1] < 0.01
