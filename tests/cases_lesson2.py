"""Lesson 2's self-checks: each reference answer, and wrong answers with the words their hint
must contain (run by ``test_checks.py``)."""

import torch

from cvae_helpers import checks
from cvae_helpers.losses import kl_divergence, reconstruction_loss, vae_loss
from cvae_helpers.models import reparameterize


def reference_negative_elbo(logits, X, mu, logvar):
    return vae_loss(logits, X, mu, logvar)["loss"]


# (check, reference answer, [(wrong answer, words its hint must contain), ...])
CASES = [
    (checks.check_reparameterize, reparameterize, [
        (lambda mu, lv: mu + lv * torch.randn_like(mu), "logvar itself as the standard"),
        (lambda mu, lv: mu + lv.exp() * torch.randn_like(mu), "variance where the standard"),
        (lambda mu, lv: torch.normal(mu, torch.exp(0.5 * lv)).detach(), "cut off"),
    ]),
    (checks.check_kl_divergence, kl_divergence, [
        (lambda mu, lv: -kl_divergence(mu, lv), "sign is flipped"),
        (lambda mu, lv: 0.5 * (mu**2 + lv**2 - torch.log(lv**2) - 1).sum(1).mean(),
         "mu=0, logvar=0"),
        (lambda mu, lv: 0.5 * (mu**2 + lv.exp() - lv - 1).mean(), "times too small"),
        (lambda mu, lv: (mu**2 + lv.exp() - lv - 1).sum(1).mean(), "factor 1/2"),
    ]),
    (checks.check_negative_elbo, reference_negative_elbo, [
        (lambda lg, X, mu, lv: -reference_negative_elbo(lg, X, mu, lv), "the ELBO itself"),
        (lambda lg, X, mu, lv: reconstruction_loss(lg, X) - kl_divergence(mu, lv), "recon - KL"),
        (lambda lg, X, mu, lv: reconstruction_loss(lg, X), "add the KL term"),
    ]),
]
