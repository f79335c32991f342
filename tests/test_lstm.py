"""Claims about chapter 8's cells: they are torch's LSTM and GRU, written from the
equations."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from airoad_book.models.lstm import (
    GRUCell,
    LSTMCell,
    Recurrence,
    RecurrentLM,
    SequenceClassifier,
    cell_from_torch,
    chrono_init_,
    hidden_for_parameters,
    recurrent_parameter_count,
)


def _torch_and_hand(kind: str, layers: int = 2):
    torch.manual_seed(0)
    module = (nn.LSTM if kind == "lstm" else nn.GRU)(
        5, 7, num_layers=layers, batch_first=True
    ).double()
    with torch.no_grad():  # make every bias matter, the two of each gate differently
        for name, p in module.named_parameters():
            if "bias" in name:
                p.normal_(0.0, 0.5)
    cells = [cell_from_torch(module, layer) for layer in range(layers)]
    return module, cells


def _run_hand(cells, x, state):
    out = x
    finals = []
    for layer, cell in enumerate(cells):
        s = None
        if state is not None:
            s = (
                tuple(t[layer] for t in state)
                if isinstance(state, tuple)
                else state[layer]
            )
        out, final = Recurrence(cell)(out, s)
        finals.append(final)
    return out, finals


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_hand_cells_match_torch_outputs_and_final_state_from_a_given_state(kind):
    module, cells = _torch_and_hand(kind)
    x = torch.randn(3, 6, 5, dtype=torch.double)
    g = torch.Generator().manual_seed(1)
    h0 = torch.randn(2, 3, 7, generator=g, dtype=torch.double)
    state = (
        (h0, torch.randn(2, 3, 7, generator=g, dtype=torch.double))
        if kind == "lstm"
        else h0
    )
    expected, final = module(x, state)
    got, finals = _run_hand(cells, x, state)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
    if kind == "lstm":
        torch.testing.assert_close(finals[-1][0], final[0][-1])  # h
        torch.testing.assert_close(finals[-1][1], final[1][-1])  # c
    else:
        torch.testing.assert_close(finals[-1], final[-1])


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_hand_cells_match_torch_gradients_for_input_and_every_weight(kind):
    module, cells = _torch_and_hand(kind, layers=1)
    cell = cells[0]
    x = torch.randn(2, 5, 5, dtype=torch.double, requires_grad=True)
    target = torch.randn(2, 5, 7, dtype=torch.double)
    loss_t = ((module(x)[0] - target) ** 2).sum()
    gx_t, *gw_t = torch.autograd.grad(
        loss_t,
        [
            x,
            module.weight_ih_l0,
            module.weight_hh_l0,
            module.bias_ih_l0,
            module.bias_hh_l0,
        ],
    )
    loss_h = ((Recurrence(cell)(x)[0] - target) ** 2).sum()
    gates = "ifgo" if kind == "lstm" else "rzn"
    params = [getattr(cell, f"w_x{k}") for k in gates] + [
        getattr(cell, f"w_h{k}") for k in gates
    ]
    biases = (
        [cell.b_xn, cell.b_hn, cell.b_r, cell.b_z]
        if kind == "gru"
        else [getattr(cell, f"b_{k}") for k in gates]
    )
    grads = torch.autograd.grad(loss_h, [x, *params, *biases])
    gx_h, gw = grads[0], grads[1:]
    torch.testing.assert_close(gx_h, gx_t)
    n = len(gates)
    # torch's (gates*H, D) weight gradient is the hand cell's per-gate (D, H) gradients,
    # transposed and stacked
    torch.testing.assert_close(torch.cat([g.T for g in gw[:n]]), gw_t[0])
    torch.testing.assert_close(torch.cat([g.T for g in gw[n : 2 * n]]), gw_t[1])
    if kind == "lstm":
        # one bias per gate in the hand cell = b_ih + b_hh in torch: both get the same
        # gradient
        stacked = torch.cat(gw[2 * n :])
        torch.testing.assert_close(stacked, gw_t[2])
        torch.testing.assert_close(stacked, gw_t[3])
    else:
        b_xn, b_hn, b_r, b_z = gw[2 * n :]
        torch.testing.assert_close(torch.cat([b_r, b_z, b_xn]), gw_t[2])
        torch.testing.assert_close(torch.cat([b_r, b_z, b_hn]), gw_t[3])


def test_gru_reset_gate_acts_after_the_recurrent_matrix_as_in_torch():
    # with W_hn h + b_hn != 0 and r in (0, 1), applying r before the matrix gives
    # another answer:
    # the torch form is the one the hand cell implements
    module, (cell,) = _torch_and_hand("gru", layers=1)
    x, h = torch.randn(4, 5, dtype=torch.double), torch.randn(4, 7, dtype=torch.double)
    step = cell(x, h)
    cho = torch.tanh(x @ cell.w_xn + cell.b_xn + (step.r * h) @ cell.w_hn + cell.b_hn)
    assert (cho - step.n).abs().max() > 1e-3
    torch.testing.assert_close(module(x[:, None], h[None])[0][:, 0], step.h)


def test_lstm_cell_gates_lie_in_their_ranges_and_the_cell_follows_its_equation():
    torch.manual_seed(0)
    cell = LSTMCell(3, 4).double()
    x, h, c = (torch.randn(5, n, dtype=torch.double) for n in (3, 4, 4))
    s = cell(x, (h, c))
    for gate in (s.i, s.f, s.o):
        assert gate.shape == (5, 4) and bool(((gate > 0) & (gate < 1)).all())
    assert bool((s.g.abs() < 1).all())
    torch.testing.assert_close(s.c, s.f * c + s.i * s.g)
    torch.testing.assert_close(s.h, s.o * torch.tanh(s.c))


def test_lstm_with_forget_gate_one_and_input_gate_zero_keeps_its_cell_exactly():
    cell = LSTMCell(2, 3).double()
    with torch.no_grad():
        cell.b_f.fill_(1e3)  # f = 1
        cell.b_i.fill_(-1e3)  # i = 0
    c0 = torch.randn(2, 3, dtype=torch.double)
    trace = Recurrence(cell).trace(
        torch.randn(2, 50, 2, dtype=torch.double),
        (torch.zeros(2, 3, dtype=torch.double), c0),
    )
    torch.testing.assert_close(trace["c"][:, -1], c0)  # 50 steps later, unchanged


def test_recurrence_trace_shapes_and_torch_parameter_counts():
    x = torch.randn(2, 7, 3)
    assert {
        k: tuple(v.shape) for k, v in Recurrence(GRUCell(3, 5)).trace(x).items()
    } == {k: (2, 7, 5) for k in "rznh"}
    for kind, layer in (("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)):
        m = layer(3, 5, num_layers=2)
        assert recurrent_parameter_count(kind, 3, 5, layers=2) == sum(
            p.numel() for p in m.parameters()
        )


def test_hidden_sizes_for_equal_parameters_match_within_five_percent():
    target = RecurrentLM("lstm", 80, 32, 128).num_parameters
    for kind in ("rnn", "gru"):
        H = hidden_for_parameters(kind, target, 32, 80, fixed=80 * 32)
        assert abs(RecurrentLM(kind, 80, 32, H).num_parameters / target - 1) < 0.05


def test_chrono_init_sets_keep_gate_biases_in_range():
    lstm, gru = nn.LSTM(3, 6), nn.GRU(3, 6)
    chrono_init_(lstm, 100, generator=torch.Generator().manual_seed(0))
    chrono_init_(gru, 100, generator=torch.Generator().manual_seed(0))
    b_f = lstm.bias_ih_l0[6:12] + lstm.bias_hh_l0[6:12]
    assert bool(((b_f >= 0) & (b_f <= torch.log(torch.tensor(99.0)))).all())
    torch.testing.assert_close(lstm.bias_ih_l0[:6], -lstm.bias_ih_l0[6:12])
    assert bool((gru.bias_ih_l0[6:12] >= 0).all())


def test_bad_inputs_raise_value_errors_that_name_what_was_expected():
    with pytest.raises(ValueError, match="kind"):
        RecurrentLM("transformer", 10, 4, 4)
    with pytest.raises(ValueError, match="hidden_size"):
        LSTMCell(3, 0)
    with pytest.raises(ValueError, match="nn.LSTM or nn.GRU"):
        cell_from_torch(nn.RNN(3, 4))
    with pytest.raises(ValueError, match="x of shape"):
        Recurrence(LSTMCell(3, 4))(torch.randn(2, 5, 2))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_recurrent_lm_shapes_and_loss_falls_in_a_few_steps(kind):
    torch.manual_seed(0)
    model = RecurrentLM(kind, 11, 8, 16)
    x = torch.randint(11, (4, 12))
    y = (x + 1) % 11  # next id = this id + 1: learnable in a few steps
    logits, state = model(x)
    assert logits.shape == (4, 12, 11)
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    losses = []
    for _ in range(40):
        loss = F.cross_entropy(model(x)[0].reshape(-1, 11), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_sequence_classifier_reads_the_last_step():
    model = SequenceClassifier("gru", 6, 4, 5, 3)
    assert model(torch.randint(6, (7, 9))).shape == (7, 3)
