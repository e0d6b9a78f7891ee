"""Lesson 5: the masked input, the hidden pixels' loss and the conditional ELBO."""

from collections.abc import Callable

import torch
from torch import Tensor

from ..data import HIDDEN, mask_input, visible_mask
from ..losses import conditional_vae_loss, kl_divergence, masked_reconstruction_loss, reconstruction_loss
from .core import compare, run_cases, seeded


def check_mask_input(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Lesson 5, exercise 1: ``mask_input(X, visible)`` keeps the visible pixels and sets the
    others to -1."""
    g = seeded(11)
    X = torch.rand(4, 1, 28, 28, generator=g)

    def case(visible: Tensor) -> Callable[[], str | None]:
        expected = mask_input(X, visible)
        wrong = {
            "the hidden pixels are 0, which the network cannot tell from a pixel with no ink: set "
            "them to -1 (data.HIDDEN)": torch.where(visible, X, torch.zeros_like(X)),
            "visible and hidden are swapped: keep the pixels where `visible` is True":
                torch.where(visible, torch.full_like(X, HIDDEN), X),
        }
        return lambda: compare(fn(X.clone(), visible.clone()), expected, wrong)

    def leaves_X_alone() -> str | None:
        X_given = X.clone()
        fn(X_given, visible_mask(2))
        if not torch.equal(X_given, X):
            return ("your function changed the images passed to it: return a new tensor "
                    "(torch.where does) instead of writing -1 into X")
        return None

    per_image = torch.stack([visible_mask(k) for k in (1, 2, 3, 1)])
    run_cases("mask_input", [
        ("one visible quadrant", case(visible_mask(1))),
        ("the input images are left unchanged", leaves_X_alone),
        ("three visible quadrants", case(visible_mask(3))),
        ("a different mask for each image", case(per_image)),
    ], answer=fn)


def _completion_case(g: torch.Generator, n: int,
                     shared_mask: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """Logits, whole digits and the hidden-pixel mask: one mask per image, or one ``[1, 28,
    28]`` mask for all (``shared_mask``), as the lessons pass both."""
    logits = 2 * torch.randn(n, 1, 28, 28, generator=g)
    Y = torch.rand(n, 1, 28, 28, generator=g)
    if shared_mask:
        return logits, Y, ~visible_mask(1)
    hidden = ~torch.stack([visible_mask(k) for k in (1, 2, 3)])[torch.arange(n) % 3]
    return logits, Y, hidden


def check_masked_reconstruction_loss(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """Lesson 5, exercise 2: ``masked_reconstruction_loss(logits, Y, hidden)``: the binary
    cross-entropy of the hidden pixels, summed over them, averaged over the images."""
    g = seeded(12)

    def case(n: int, shared_mask: bool = False) -> Callable[[], str | None]:
        logits, Y, hidden = _completion_case(g, n, shared_mask)
        expected = masked_reconstruction_loss(logits, Y, hidden)
        everything = reconstruction_loss(logits, Y)
        wrong = {
            "every pixel was scored: sum over the hidden pixels only": everything,
            "only the visible pixels were scored: the hidden ones are those to predict":
                everything - expected,
            f"{n} times too large: average over the images of the batch": expected * n,
        }
        return lambda: compare(fn(logits, Y, hidden), expected, wrong)

    run_cases("masked_reconstruction_loss", [
        ("a batch of 6, one mask per image", case(6)),
        ("a batch of one", case(1)),
        ("a batch of 4 sharing one [1, 28, 28] mask", case(4, shared_mask=True)),
    ], answer=fn)


def check_conditional_elbo(fn: Callable[..., Tensor]) -> None:
    """Lesson 5, exercise 3: ``conditional_negative_elbo(logits, Y, hidden, q, p)``: the
    hidden pixels' reconstruction loss + KL(q(z|x,y) || p(z|x)), nats per image."""
    g = seeded(13)

    def case(n: int) -> Callable[[], str | None]:
        logits, Y, hidden = _completion_case(g, n)
        q = (torch.randn(n, 4, generator=g), torch.randn(n, 4, generator=g))
        p = (torch.randn(n, 4, generator=g), torch.randn(n, 4, generator=g))
        parts = conditional_vae_loss(logits, Y, hidden, q, p)
        wrong = {
            "the KL is measured against N(0, I): compare q with the learned prior p(z|x), "
            "kl_divergence(mu_q, logvar_q, mu_p, logvar_p)":
                parts["recon"] + kl_divergence(*q),
            "the KL is the wrong way round: KL(q || p), with q's (mu, logvar) first":
                parts["recon"] + kl_divergence(*p, *q),
            "every pixel was scored: the reconstruction term counts the hidden pixels only":
                reconstruction_loss(logits, Y) + parts["kl"],
            "only the reconstruction term: add the KL term": parts["recon"],
        }
        return lambda: compare(fn(logits, Y, hidden, q, p), parts["loss"], wrong)

    run_cases("conditional_negative_elbo", [("a batch of 6", case(6)),
                                                   ("a batch of one", case(1))], answer=fn)
