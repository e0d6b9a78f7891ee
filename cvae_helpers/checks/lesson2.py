"""Lesson 2: the reparameterization trick, the KL divergence and the negative ELBO."""

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ..losses import kl_divergence, vae_loss
from .core import compare, run_cases, seeded


def check_reparameterize(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Lesson 2, exercise 1: ``reparameterize(mu, logvar)`` draws z = mu + sigma * eps."""

    def moments() -> str | None:
        torch.manual_seed(0)
        mu = torch.full((200_000, 1), 3.0)
        logvar = torch.full((200_000, 1), math.log(4.0))  # variance 4, standard deviation 2
        z = fn(mu, logvar)
        if not isinstance(z, Tensor) or z.shape != mu.shape:
            return f"expected a tensor shaped like mu {list(mu.shape)}, got {getattr(z, 'shape', z)}"
        mean, std = z.mean().item(), z.std().item()
        if abs(mean - 3.0) > 0.05:
            return f"with mu=3 the samples should average 3, got {mean:.2f}"
        if abs(std - 2.0) > 0.05:
            known = {math.log(4.0): "you used logvar itself as the standard deviation",
                     4.0: "you used the variance where the standard deviation belongs",
                     math.sqrt(math.log(4.0)): "you took the square root of logvar, not of the variance"}
            for value, hint in known.items():
                if abs(std - value) < 0.05:
                    return f"with logvar=log 4 the standard deviation should be 2, got {std:.2f}: {hint}"
            return (f"with logvar=log 4 (variance 4) the samples' standard deviation should be 2, "
                    f"got {std:.2f}")
        return None

    def gradients() -> str | None:
        mu = torch.zeros(5, 3, requires_grad=True)
        logvar = torch.zeros(5, 3, requires_grad=True)
        z = fn(mu, logvar)
        if not z.requires_grad:
            return ("z is cut off from the graph: build it from mu and logvar with tensor "
                    "arithmetic, drawing only the noise at random")
        z.sum().backward()
        if mu.grad is None or logvar.grad is None or logvar.grad.abs().sum() == 0:
            return "gradients must reach both mu and logvar"
        return None

    def zero_variance() -> str | None:
        mu = torch.randn(1, 4, generator=seeded(2))
        z = fn(mu, torch.full((1, 4), -60.0))
        return compare(z, mu, atol=1e-6) and ("with a variance of almost zero (logvar=-60), z "
                                             "should equal mu")

    run_cases("reparameterize", [
        ("200,000 draws with mu=3, logvar=log 4", moments),
        ("gradients", gradients),
        ("a batch of one with zero variance", zero_variance),
    ], answer=fn)


def check_kl_divergence(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Lesson 2, exercise 2: ``kl_divergence(mu, logvar)`` = KL(q || N(0, I)), nats per image."""
    g = seeded(3)

    def case(mu: Tensor, logvar: Tensor) -> Callable[[], str | None]:
        expected = kl_divergence(mu, logvar)
        n, d = mu.shape
        sigma = logvar  # what a learner gets by reading logvar as the standard deviation
        as_sigma = 0.5 * (mu ** 2 + sigma ** 2 - torch.log(sigma ** 2) - 1).sum(1).mean()
        wrong = {
            "the sign is flipped: a KL divergence is never negative": -expected,
            "twice the expected value: check the factor 1/2": 2 * expected,
            f"{d} times too small: sum over the latent dimensions, don't average": expected / d,
            f"{n} times too large: average over the images of the batch": expected * n,
            "it looks like logvar was used as the standard deviation": as_sigma,
        }
        return lambda: compare(fn(mu.clone(), logvar.clone()), expected, wrong)

    mu, logvar = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    run_cases("kl_divergence", [
        ("q equal to the prior (mu=0, logvar=0)", case(torch.zeros(3, 4), torch.zeros(3, 4))),
        ("a batch of 6 random Gaussians in 4-D", case(mu, logvar)),
        ("a batch of one", case(mu[:1], logvar[:1])),
        ("a nearly zero variance (logvar=-20)", case(mu[:2], torch.full((2, 4), -20.0))),
    ], answer=fn)


def check_negative_elbo(fn: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]) -> None:
    """Lesson 2, exercise 3: ``negative_elbo(logits, X, mu, logvar)`` = recon + KL."""
    g = seeded(4)

    def case(n: int) -> Callable[[], str | None]:
        logits = torch.randn(n, 1, 28, 28, generator=g)
        X = torch.rand(n, 1, 28, 28, generator=g)
        mu, logvar = torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g)
        parts = vae_loss(logits, X, mu, logvar)
        wrong = {
            "this is the ELBO itself; return the loss to minimise, -ELBO": -parts["loss"],
            "this is recon - KL: the KL term is added to the reconstruction loss":
                parts["recon"] - parts["kl"],
            "only the reconstruction term: add the KL term": parts["recon"],
            "only the KL term: add the reconstruction term": parts["kl"],
        }
        return lambda: compare(fn(logits, X, mu, logvar), parts["loss"], wrong)

    run_cases("negative_elbo", [("a batch of 5", case(5)), ("a batch of one", case(1))], answer=fn)

