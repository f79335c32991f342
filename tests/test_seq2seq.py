"""Claims about chapter 9's encoder–decoder: the protocol holds, padding is invisible,
it learns."""

import pytest
import torch
import torch.nn.functional as F
import translation_protocol as protocol  # tests/translation_protocol.py

from airoad_book.models.seq2seq import Seq2Seq, Seq2SeqConfig


def _model(cell: str = "gru", layers: int = 2, **kw) -> Seq2Seq:
    torch.manual_seed(0)
    config = Seq2SeqConfig(
        11, 13, embed_dim=6, hidden_dim=8, num_layers=layers, cell=cell, **kw
    )
    return Seq2Seq(config).double().eval()


def _batch():
    g = torch.Generator().manual_seed(3)
    src = torch.randint(4, 11, (3, 5), generator=g)
    lengths = torch.tensor([5, 2, 4])
    for row, n in enumerate(lengths.tolist()):
        src[row, n:] = 0  # right padding
    tgt_in = torch.randint(3, 13, (3, 6), generator=g)
    tgt_in[:, 0] = 1  # <bos>
    return src, lengths, tgt_in


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_forward_equals_decoding_step_by_step(cell):
    model = _model(cell)
    protocol.assert_forward_equals_stepping(model, *_batch())


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_memory_and_state_keep_the_batch_on_dim_0_so_rows_can_be_reordered(cell):
    protocol.assert_rows_reorder(_model(cell), *_batch())


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_right_padding_does_not_change_the_fixed_vector(cell):
    model = _model(cell)
    src, lengths, _ = _batch()
    c = model.encode(src, lengths)
    wider = torch.cat(
        [src, torch.zeros(3, 4, dtype=torch.long)], dim=1
    )  # four more pad columns
    c_wider = model.encode(wider, lengths)
    alone = model.encode(
        src[1:2, :2], lengths[1:2]
    )  # row 1 by itself, with no padding at all
    if cell == "lstm":
        for a, b in zip(c, c_wider):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        torch.testing.assert_close(c[0][1:2], alone[0])
        torch.testing.assert_close(c[1][1:2], alone[1])
    else:
        torch.testing.assert_close(c, c_wider, rtol=0, atol=0)
        torch.testing.assert_close(c[1:2], alone)


def test_the_encoding_is_the_state_after_each_rows_last_real_token():
    model = _model("gru", layers=1)
    src, lengths, _ = _batch()
    c = model.encode(src, lengths)  # (B, 1, H)
    outputs, _ = model.encoder.rnn(
        model.encoder.embed(src)
    )  # (B, S, H), pads read as tokens
    for row, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(c[row, 0], outputs[row, n - 1])


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_shapes_put_the_batch_first_in_memory_and_state(cell):
    model = _model(cell, layers=2)
    src, lengths, tgt_in = _batch()
    assert model(src, lengths, tgt_in).shape == (3, 6, 13)
    memory = model.encode(src, lengths)
    tensors = memory if cell == "lstm" else (memory,)
    assert all(t.shape == (3, 2, 8) for t in tensors)
    logits, state = model.step(tgt_in[:, 0], model.init_state(memory), memory)
    assert logits.shape == (3, 13)
    assert all(t.shape == (3, 2, 8) for t in (state if cell == "lstm" else (state,)))


def test_reordering_rows_of_the_state_reorders_the_next_logits():
    model = _model("lstm")
    src, lengths, tgt_in = _batch()
    memory = model.encode(src, lengths)
    logits, _ = model.step(tgt_in[:, 0], model.init_state(memory), memory)
    order = torch.tensor([2, 0, 0])
    picked = tuple(t.index_select(0, order) for t in memory)
    logits_picked, _ = model.step(tgt_in[order, 0], picked, picked)
    torch.testing.assert_close(logits_picked, logits[order])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"source_vocab": 0}, "source_vocab"),
        ({"target_vocab": 3}, "target_vocab"),
        ({"hidden_dim": 2.5}, "hidden_dim"),
        ({"num_layers": True}, "num_layers"),
        ({"cell": "rnn"}, "cell"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_config_rejects_bad_sizes_naming_the_field(kwargs, field):
    args = {"source_vocab": 10, "target_vocab": 10, **kwargs}
    with pytest.raises(ValueError, match=field):
        Seq2SeqConfig(**args)


def test_bad_source_batches_raise_value_errors():
    model = _model()
    src, lengths, tgt_in = _batch()
    with pytest.raises(ValueError, match="src_lengths"):
        model.encode(src, torch.tensor([5, 0, 4]))
    with pytest.raises(ValueError, match="src_lengths"):
        model.encode(src, torch.tensor([6, 2, 4]))
    with pytest.raises(ValueError, match="src"):
        model.encode(src.float(), lengths)
    with pytest.raises(ValueError, match="tgt_in"):
        model(src, lengths, tgt_in[:2])
    with pytest.raises(ValueError, match="Seq2SeqConfig"):
        Seq2Seq({"source_vocab": 10})


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_training_a_few_steps_overfits_a_tiny_batch(cell):
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(11, 13, embed_dim=16, hidden_dim=32, cell=cell))
    src, lengths, tgt_in = _batch()
    tgt_out = torch.cat([tgt_in[:, 1:], torch.full((3, 1), 2)], dim=1)  # y <eos>
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        logits = model(src, lengths, tgt_in)
        loss = F.cross_entropy(logits.reshape(-1, 13), tgt_out.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
    assert losses[-1] < 0.1  # memorized: ~0.9 of the probability on every right token
