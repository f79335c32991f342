"""The one-directional encoder option of the attention model, and the experiment that
sets it against Bahdanau's bidirectional encoder."""

import math

import pytest
import torch
import translation_protocol as protocol  # tests/translation_protocol.py

from airoad_book.experiments import encoder_direction
from airoad_book.models.attention import (
    AttentionConfig,
    AttentionSeq2Seq,
    BidirectionalEncoder,
    ForwardEncoder,
)

K_X, K_Y = 11, 9


def uni_model(seed: int = 0) -> AttentionSeq2Seq:
    torch.manual_seed(seed)
    config = AttentionConfig(
        K_X, K_Y, embed_dim=6, hidden_dim=8, align_dim=7, maxout_dim=5, encoder="uni"
    )
    model = AttentionSeq2Seq(config).double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


def test_uni_annotations_are_one_forward_gru_over_the_real_words_only():
    model = uni_model()
    assert isinstance(model.encoder, ForwardEncoder)
    src, lengths, _ = protocol.padded_batch(K_X, K_Y)
    memory = model.encode(src, lengths)
    h = memory["h"]  # (B, S, H)
    assert h.shape == (3, src.shape[1], 8) and memory["back"].shape == (3, 8)
    gru = torch.nn.GRU(6, 8, batch_first=True).double()
    gru.load_state_dict(model.encoder.rnn.state_dict())
    for b in range(3):
        n = int(lengths[b])
        x = model.encoder.E(src[b : b + 1, :n])  # (1, n, m)
        right = gru(x)[0][0]  # (n, 8) →h_1 … →h_n
        assert torch.allclose(h[b, :n], right, atol=1e-12)
        assert bool((h[b, n:] == 0).all())
        # the decoder starts from the state at the last real word, →h_n
        assert torch.allclose(memory["back"][b], right[-1], atol=1e-12)
        s0 = model.init_state(model.encode(src[b : b + 1], lengths[b : b + 1]))
        assert torch.allclose(s0[0], torch.tanh(model.W_s(right[-1])), atol=1e-12)


def test_uni_annotation_at_word_j_does_not_see_the_words_after_it():
    model = uni_model()
    src = torch.tensor([[3, 4, 5, 6, 7]])
    changed = src.clone()
    changed[0, 3:] = torch.tensor([8, 9])
    lengths = torch.tensor([5])
    a, b = model.encode(src, lengths)["h"], model.encode(changed, lengths)["h"]
    assert torch.equal(a[0, :3], b[0, :3]) and not torch.equal(a[0, 3:], b[0, 3:])


def test_bidirectional_stays_the_default_and_unknown_encoders_are_refused():
    config = AttentionConfig(K_X, K_Y)
    assert isinstance(AttentionSeq2Seq(config).encoder, BidirectionalEncoder)
    with pytest.raises(ValueError, match="encoder must be one of"):
        AttentionConfig(K_X, K_Y, encoder="both")


def test_uni_model_follows_the_translation_protocol():
    protocol.assert_forward_equals_stepping(
        uni_model(), *protocol.padded_batch(K_X, K_Y)
    )
    protocol.assert_rows_reorder(uni_model(), *protocol.padded_batch(K_X, K_Y))


def test_uni_model_overfits_a_tiny_batch():
    torch.manual_seed(0)
    model = AttentionSeq2Seq(
        AttentionConfig(
            K_X,
            K_Y,
            embed_dim=16,
            hidden_dim=32,
            align_dim=16,
            maxout_dim=16,
            encoder="uni",
        )
    )
    losses = protocol.overfit(model, protocol.reversal_batch(), lr=1e-2)
    assert losses[0] > 1.5 and losses[-1] < 0.05


def test_experiment_reports_both_encoders():
    config = encoder_direction.Config(
        max_digits=4, n_train=200, n_test=40, max_steps=8, hidden_dim=16
    )
    r = encoder_direction.run_config(config, seed=0)
    for e in ("bi", "uni"):
        for key in ("bleu", "exact", "params", "valid_loss"):
            assert math.isfinite(r.metrics[f"{key}_{e}"])
    # same annotation size H: the forward GRU has one H x H recurrence per gate where
    # the bidirectional one has two (H/2) x (H/2) (3 * H^2 / 2 more weights), and W_s
    # reads H numbers instead of H/2 (H^2 / 2 more): 2 H^2 in all
    assert r.metrics["params_uni"] - r.metrics["params_bi"] == 2 * 16**2
    assert r.text["verdict"]
