"""Lesson 1's self-checks: each reference answer, and wrong answers with the words their hint
must contain (run by ``test_checks.py``)."""

import torch
import torch.nn.functional as F
from torch import nn

from cvae_helpers import checks
from cvae_helpers.evaluate import uniform_in_box
from cvae_helpers.losses import reconstruction_loss
from cvae_helpers.models import mlp


def reference_layers(latent_dim):
    return mlp([784, 64, latent_dim]), mlp([latent_dim, 64, 784])


# (check, reference answer, [(wrong answer, words its hint must contain), ...])
CASES = [
    (checks.check_reconstruction_loss, reconstruction_loss, [
        (lambda lg, X: F.binary_cross_entropy_with_logits(lg, X), "784 times too small"),
        (lambda lg, X: F.binary_cross_entropy_with_logits(lg, X, reduction="sum"),
         "times too large"),
        (lambda lg, X: -(X * torch.log(torch.sigmoid(lg)) + (1 - X) * torch.log(
            1 - torch.sigmoid(lg))).sum() / X.shape[0], "numerically stable"),
    ]),
    (checks.check_autoencoder_layers, reference_layers, [
        (lambda d: (nn.Linear(784, d), nn.Linear(d, 784)), "no nonlinearity"),
        (lambda d: (mlp([784, 64, d]), nn.Sequential(mlp([d, 64, 784]), nn.Sigmoid())),
         "should return logits"),
        (lambda d: (mlp([784, 64, 2]), mlp([2, 64, 784])), "latent_dim=5"),
    ]),
    (checks.check_uniform_in_box, uniform_in_box, [
        (lambda Z, n: torch.rand(n, Z.shape[1]), "outside the box"),
        (lambda Z, n: Z.mean(0) + Z.std(0) * torch.randn(n, Z.shape[1]), "outside the box"),
        (lambda Z, n: (Z.min(0).values + Z.max(0).values) / 2 + 0.4 * (
            Z.max(0).values - Z.min(0).values) * (torch.rand(n, 2) - 0.5), "edges"),
    ]),
]
