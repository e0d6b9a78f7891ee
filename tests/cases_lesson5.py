"""Lesson 5's self-checks: each reference answer, and wrong answers with the words their hint
must contain (run by ``test_checks.py``)."""

import torch
import torch.nn.functional as F

from cvae_helpers import checks
from cvae_helpers.data import mask_input, visible_mask
from cvae_helpers.losses import (
    conditional_vae_loss,
    kl_divergence,
    masked_reconstruction_loss,
    reconstruction_loss,
)


def reference_conditional_elbo(logits, Y, hidden, q, p):
    return conditional_vae_loss(logits, Y, hidden, q, p)["loss"]


def per_pixel_bce(logits, Y):
    return F.binary_cross_entropy_with_logits(logits, Y, reduction="none")


# (check, reference answer, [(wrong answer, words its hint must contain), ...])
CASES = [
    (checks.check_mask_input, mask_input, [
        (lambda X, v: X * v, "set them to -1"),
        (lambda X, v: torch.where(v, torch.full_like(X, -1.0), X), "swapped"),
        (lambda X, v: mask_input(X, visible_mask(1)), "three visible quadrants"),
        (lambda X, v: mask_input(X, v[:1]), "a different mask for each image"),
        (lambda X, v: X.masked_fill_(~v, -1.0), "changed the images passed to it"),
    ]),
    (checks.check_masked_reconstruction_loss, masked_reconstruction_loss, [
        (lambda lg, Y, h: reconstruction_loss(lg, Y), "every pixel was scored"),
        (lambda lg, Y, h: (per_pixel_bce(lg, Y) * ~h).sum() / Y.shape[0],
         "only the visible pixels"),
        (lambda lg, Y, h: (per_pixel_bce(lg, Y) * h).sum(), "times too large"),
        (lambda lg, Y, h: per_pixel_bce(lg, Y)[h].sum() / Y.shape[0], "sharing one [1, 28, 28]"),
    ]),
    (checks.check_conditional_elbo, reference_conditional_elbo, [
        (lambda lg, Y, h, q, p: masked_reconstruction_loss(lg, Y, h) + kl_divergence(*q),
         "N(0, I)"),
        (lambda lg, Y, h, q, p: masked_reconstruction_loss(lg, Y, h) + kl_divergence(*p, *q),
         "wrong way round"),
        (lambda lg, Y, h, q, p: reconstruction_loss(lg, Y) + kl_divergence(*q, *p),
         "every pixel was scored"),
        (lambda lg, Y, h, q, p: masked_reconstruction_loss(lg, Y, h), "add the KL term"),
    ]),
]
