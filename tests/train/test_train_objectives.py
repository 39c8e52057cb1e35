from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from unisel.errors import ParameterError
from unisel.train.data import IGNORE
from unisel.train.objectives import l2_token_losses, shifted_targets, token_stats


def _example():
    # Batch of 2 sequences of length 4 over a vocabulary of 5; -100 marks masked labels.
    logits = torch.tensor(
        [
            [
                [0.5, -1.0, 2.0, 0.0, 1.0],
                [1.0, 0.0, 0.0, 0.0, 0.0],
                [0.1, 0.2, 0.3, 0.4, 0.5],
                [9.0, 9.0, 9.0, 9.0, 9.0],
            ],
            [
                [-0.5, 0.5, 0.0, 1.5, -2.0],
                [0.0, 3.0, 0.0, -1.0, 0.0],
                [2.0, 2.0, 2.0, 2.0, 2.0],
                [1.0, 1.0, 1.0, 1.0, 1.0],
            ],
        ]
    )
    labels = torch.tensor([[IGNORE, 2, 0, IGNORE], [IGNORE, IGNORE, 1, 3]])
    return logits, labels


def test_l2_equals_hand_computed_mse():
    logits, labels = _example()
    # Hand-made: the positions whose *next* label is kept are (0,0)->2, (0,1)->0, (1,1)->1, (1,2)->3.
    rows = [logits[0, 0], logits[0, 1], logits[1, 1], logits[1, 2]]
    targets = [2, 0, 1, 3]
    V = 5
    per_token = []
    for z, y in zip(rows, targets, strict=True):
        onehot = [1.0 if v == y else 0.0 for v in range(V)]
        per_token.append(sum((float(z[v]) - onehot[v]) ** 2 for v in range(V)))
    expected_mean = sum(per_token) / (len(per_token) * V)
    st = token_stats(logits, labels, "l2", l2_reduction="mean")
    assert st.n_tokens == 4
    assert float(st.loss_sum) / st.n_tokens == pytest.approx(expected_mean, rel=1e-6)
    # And torch's MSELoss on the explicit one-hot matrix is the same number.
    z, y = shifted_targets(logits, labels)
    assert float(F.mse_loss(z, F.one_hot(y, V).float())) == pytest.approx(expected_mean, rel=1e-6)
    st_sum = token_stats(logits, labels, "l2", l2_reduction="sum")
    assert float(st_sum.loss_sum) / st_sum.n_tokens == pytest.approx(sum(per_token) / 4, rel=1e-6)


def test_ce_and_accuracy_beside_l2():
    logits, labels = _example()
    z, y = shifted_targets(logits, labels)
    st = token_stats(logits, labels, "l2")
    assert st.ce_sum == pytest.approx(float(F.cross_entropy(z, y, reduction="sum")), rel=1e-6)
    # argmax of the four rows: 2, 0, 1, 0 -> targets 2, 0, 1, 3: three correct.
    assert st.n_correct == 3
    ce = token_stats(logits, labels, "ce")
    assert float(ce.loss_sum) == pytest.approx(ce.ce_sum)


def test_l2_gradient_matches_autograd_on_one_hot():
    torch.manual_seed(0)
    z = torch.randn(6, 7, requires_grad=True)
    y = torch.randint(0, 7, (6,))
    l2_token_losses(z, y, "mean").mean().backward()
    g1 = z.grad.clone()
    z.grad = None
    F.mse_loss(z, F.one_hot(y, 7).float()).backward()
    torch.testing.assert_close(g1, z.grad)


def test_unknown_objective_and_reduction():
    logits, labels = _example()
    with pytest.raises(ParameterError):
        token_stats(logits, labels, "hinge")
    with pytest.raises(ParameterError):
        token_stats(logits, labels, "l2", l2_reduction="max")
