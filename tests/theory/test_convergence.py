from __future__ import annotations

import numpy as np
import pytest
import torch

from unisel.theory.convergence import (
    QUICK,
    gradient_descent,
    init_residual_net,
    output_gram,
    residual_net,
)


def _net(d: int = 2, seed: int = 0):
    return init_residual_net(d, 8, 2, torch.Generator().manual_seed(seed))


def test_output_gram_matches_autograd_loop() -> None:
    P = _net()
    X = torch.tensor(np.random.default_rng(0).standard_normal((5, 2)))
    rows = []
    for i in range(5):
        Pi = {k: v.clone().requires_grad_(True) for k, v in P.items()}
        g = torch.autograd.grad(residual_net(Pi, X[i : i + 1])[0], list(Pi.values()))
        rows.append(torch.cat([t.reshape(-1) for t in g]))
    J = torch.stack(rows)
    K = output_gram(P, X)
    assert K.dtype == torch.float64
    torch.testing.assert_close(K, J @ J.T, rtol=1e-10, atol=1e-12)


def test_gram_of_a_duplicated_point_is_singular() -> None:
    P = _net()
    X = torch.tensor(np.random.default_rng(1).standard_normal((4, 2)))
    X[3] = X[1]
    ev = torch.linalg.eigvalsh(output_gram(P, X))
    assert float(ev[0]) < 1e-10 * float(ev[-1])


def test_gradient_descent_reaches_or_reports_not_reached() -> None:
    P = _net()
    X = torch.tensor(np.random.default_rng(2).uniform(-1, 1, (4, 2)))
    y = torch.tensor([0.5, -0.5, 1.0, 0.0])
    lam_max = float(torch.linalg.eigvalsh(output_gram(P, X))[-1])
    lr = 4 / lam_max
    ok = gradient_descent(P, X, y, lr=lr, max_steps=3000, threshold=1e-3, track_points=5)
    assert ok.steps is not None and ok.final_loss <= 1e-3
    assert ok.track_loss[0] > ok.final_loss and ok.track_steps[0] == 0
    capped = gradient_descent(P, X, y, lr=lr, max_steps=3, threshold=1e-12, track_points=5)
    assert capped.steps is None and capped.track_steps[-1] == 3
    # P0 is not modified by training.
    assert all(not v.requires_grad for v in P.values())


def test_quick_run_directions(quick_results) -> None:
    res = quick_results["convergence"]
    assert res.figure_path is not None and res.figure_path.is_file()
    assert res.agrees, res.summary()
    sweep = res.data["gap_sweep"]
    big, small = max(QUICK.gap_factors), min(QUICK.gap_factors)
    for s in range(QUICK.seeds):
        rows = {r["gap_factor"]: r for r in sweep if r["seed_index"] == s}
        # Smaller eigenvalue, and no faster training, at the smallest gap.
        assert rows[small]["lambda_min_init"] < rows[big]["lambda_min_init"]
        steps_small = rows[small]["steps_to_threshold"] or QUICK.max_steps + 1
        assert rows[big]["reached"] and rows[big]["steps_to_threshold"] < steps_small
    slope = [c for c in res.checks if "h_min^2" in c.prediction]
    assert len(slope) == 1 and slope[0].value == pytest.approx(2.0, abs=0.5)
    for p in res.data["subsets"]:
        assert p["maxmin"]["h_min"] > p["random"]["h_min"]
        assert p["maxmin"]["lambda_min_init"] > p["random"]["lambda_min_init"]
