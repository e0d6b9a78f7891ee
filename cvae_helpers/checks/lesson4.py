"""Lesson 4: the importance-weighted bound, active units and the entropy of predicted labels."""

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ..evaluate import importance_weighted_nll, label_entropy
from .core import compare, run_cases, seeded


def check_importance_weighted_nll(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """Lesson 4, exercise 1: ``importance_weighted_nll(log_p_x_given_z, log_p_z, log_q_z)``,
    each ``[k, N]``, returns -L_k of each image, ``[N]``."""
    g = seeded(8)

    def case(k: int, n: int, log_px_z: float) -> Callable[[], str | None]:
        # log p(x|z) around log_px_z, log p(z) around -20, log q(z|x) around +15, +- a few nats
        terms = [3 * torch.randn(k, n, generator=g) + mean for mean in (log_px_z, -20.0, 15.0)]
        expected = importance_weighted_nll(*terms)
        log_w = terms[0] + terms[1] - terms[2]
        wrong = {
            "this is -ELBO, the average of log w: average the weights w themselves, in log "
            "space (torch.logsumexp), then take the log": -log_w.mean(0),
            "the 1/k is missing: subtract log k after the logsumexp": expected - math.log(k),
            "the sign is flipped: return -L_k, a positive number of nats":  -expected,
            "log q(z|x) is added where it should be subtracted: w = p(x|z) p(z) / q(z|x)":
                importance_weighted_nll(terms[0], terms[1], -terms[2]),
        }
        return lambda: compare(fn(*(t.clone() for t in terms)), expected, wrong, atol=1e-3)

    run_cases("importance_weighted_nll", [
        ("k = 5 samples of 3 images", case(5, 3, -100.0)),
        ("k = 1: the bound is the ELBO", case(1, 4, -100.0)),
        ("k = 1000 weights far below float32's range (log w near -1000)", case(1000, 2, -1000.0)),
    ], answer=fn)


def check_active_units(fn: Callable[[Tensor], object]) -> None:
    """Lesson 4, exercise 2: ``active_units(mu)``, the number of latent dimensions whose mean
    code varies across images by more than 0.01 (variance)."""
    g = seeded(9)
    spread = torch.tensor([1.0, 0.5, 0.3, 0.05, 0.0, 0.2])  # standard deviations over images
    mu = torch.randn(5000, 6, generator=g) * spread + torch.tensor([0, 3.0, 0, 2.0, -1.0, 0])

    def case(mu: Tensor, expected: int) -> Callable[[], str | None]:
        def test() -> str | None:
            got = fn(mu.clone())
            got = got.item() if isinstance(got, Tensor) and got.numel() == 1 else got
            if not isinstance(got, int | float) or got != int(got):
                return f"expected a whole number of dimensions, got {got!r}"
            if got == expected:
                return None
            var, std = mu.var(dim=0), mu.std(dim=0)
            if got == (std > 0.01).sum().item():
                return "compare the variance of each dimension's mean with 0.01, not its std"
            if got == (mu.mean(dim=0).abs() > 0.01).sum().item():
                return "a dimension is active when mu *varies* across images, not when it is large"
            if got == (mu.var(dim=1) > 0.01).sum().item():
                return "take the variance over the images (dim=0), one value per dimension"
            if got == (var <= 0.01).sum().item():
                return "you counted the inactive dimensions: count those with variance > 0.01"
            return f"expected {expected} active dimensions, got {got}"
        return test

    run_cases("active_units", [
        ("6 dimensions, 4 of them active", case(mu, 4)),
        ("a collapsed code: every image has the same mean", case(mu[:, [3, 4]], 0)),
    ], answer=fn)


def check_label_entropy(fn: Callable[[Tensor], object]) -> None:
    """Lesson 4, exercise 3: ``label_entropy(labels)``, the entropy of the histogram of
    predicted digits, in nats."""
    g = seeded(10)
    skewed = torch.cat([torch.zeros(70), torch.ones(20), torch.full((10,), 7)]).long()

    def case(labels: Tensor) -> Callable[[], str | None]:
        expected = torch.tensor(label_entropy(labels))
        wrong = {"this is in bits (log base 2): use the natural log, for nats":
                 expected / math.log(2),
                 "the sign is flipped: an entropy is never negative": -expected}
        return lambda: compare(torch.as_tensor(fn(labels.clone()), dtype=torch.float32),
                               expected, wrong)

    run_cases("label_entropy", [
        ("1,000 labels, all ten digits equally often", case(torch.arange(10).repeat(100))),
        ("70 zeros, 20 ones and 10 sevens (digits that never occur count 0 log 0 = 0)",
         case(skewed)),
        ("every label the same digit", case(torch.full((50,), 4))),
        ("300 random labels", case(torch.randint(0, 10, (300,), generator=g))),
    ], answer=fn)

