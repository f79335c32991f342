"""The RNN LM of Mikolov et al. (2010): shapes, the fast path against the readable loop,
training."""

import math

import pytest
import torch
import torch.nn.functional as F

from airoad_book.models.rnnlm import RNNLM, RNNLMConfig, paper_parameter_count


def _model(V=17, H=6, seed=0) -> RNNLM:
    torch.manual_seed(seed)
    model = RNNLM(RNNLMConfig(vocab_size=V, hidden=H))
    with torch.no_grad():  # non-zero outputs, so the checks below see every weight
        model.V.normal_()
        model.b.normal_()
    return model


def test_forward_returns_logits_per_step_and_the_last_state():
    model = _model()
    tokens = torch.randint(0, 17, (3, 5))
    logits, state = model(tokens)
    assert logits.shape == (3, 5, 17) and state.shape == (3, 6)
    assert model.init_state(3).shape == (3, 6) and not model.init_state(3).any()


def test_fast_path_matches_the_readable_loop_values_and_gradients():
    model = _model()
    tokens, s0 = torch.randint(0, 17, (4, 9)), torch.randn(4, 6)
    fast, fast_state = model(tokens, s0)
    slow, slow_state = model.forward_loop(tokens, s0)
    assert torch.allclose(fast, slow, atol=1e-6)
    assert torch.allclose(fast_state, slow_state, atol=1e-6)
    weights = torch.randn_like(fast)
    grads_fast = torch.autograd.grad((fast * weights).sum(), list(model.parameters()))
    slow, _ = model.forward_loop(tokens, s0)
    grads_slow = torch.autograd.grad((slow * weights).sum(), list(model.parameters()))
    for a, b in zip(grads_fast, grads_slow):
        assert torch.allclose(a, b, atol=1e-6)


def test_the_loop_computes_the_papers_equations_for_one_step():
    model = _model()
    w, s_prev = torch.tensor([[3]]), torch.randn(1, 6)
    logits, s = model.forward_loop(w, s_prev)
    one_hot = F.one_hot(torch.tensor(3), 17).float()  # (V,) w(t)
    expected_s = torch.tanh(
        model.U.T @ one_hot + model.W @ s_prev[0]
    )  # f(U w(t) + W s(t-1))
    assert torch.allclose(s[0], expected_s, atol=1e-6)
    assert torch.allclose(
        logits[0, 0], model.V @ expected_s + model.b, atol=1e-6
    )  # V s(t) + b


def test_two_calls_with_the_carried_state_equal_one_call_over_the_whole_sequence():
    model = _model()
    tokens = torch.randint(0, 17, (2, 10))
    whole, _ = model(tokens)
    first, state = model(tokens[:, :4])
    second, _ = model(tokens[:, 4:], state)
    assert torch.allclose(torch.cat([first, second], dim=1), whole, atol=1e-6)


def test_loss_at_initialisation_is_log_vocabulary():
    torch.manual_seed(0)
    model = RNNLM(RNNLMConfig(vocab_size=50, hidden=8))
    logits, _ = model(torch.randint(0, 50, (2, 7)))
    loss = F.cross_entropy(logits.reshape(-1, 50), torch.randint(0, 50, (14,)))
    assert loss.item() == pytest.approx(math.log(50), abs=1e-6)


def test_parameter_count_matches_the_formula():
    config = RNNLMConfig(vocab_size=10_000, hidden=100)
    assert (
        RNNLM(config).num_parameters
        == paper_parameter_count(config)
        == 2 * 10_000 * 100 + 100**2 + 10_000
    )


def test_a_few_adam_steps_learn_a_repeating_sequence():
    torch.manual_seed(0)
    model = RNNLM(RNNLMConfig(vocab_size=5, hidden=16))
    stream = torch.tensor([0, 1, 2, 3, 4] * 4).unsqueeze(0)  # (1, 20)
    x, y = stream[:, :-1], stream[:, 1:]
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, 5), y.reshape(-1))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]


@pytest.mark.parametrize(
    "field, value", [("vocab_size", 1), ("hidden", 0), ("hidden", 2.5)]
)
def test_bad_config_is_a_clear_error(field, value):
    with pytest.raises(ValueError, match=field):
        RNNLMConfig(**{field: value})


def test_bad_inputs_are_clear_errors():
    model = _model()
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="integer"):
        model(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="ids in"):
        model(torch.full((2, 3), 17))
    with pytest.raises(ValueError, match="state"):
        model(torch.zeros(2, 3, dtype=torch.long), torch.zeros(3, 6))
    with pytest.raises(ValueError, match="RNNLMConfig"):
        RNNLM({"vocab_size": 10})
