import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal
from torch.distributions import kl_divergence as torch_kl

from cvae_helpers.data import visible_mask
from cvae_helpers.losses import (
    conditional_vae_loss,
    gaussian_kl,
    kl_divergence,
    masked_reconstruction_loss,
    reconstruction_loss,
    vae_loss,
)


def test_kl_matches_torch_distributions_against_standard_normal():
    mu, logvar = torch.randn(16, 5), torch.randn(16, 5)
    q = Normal(mu, torch.exp(0.5 * logvar))
    expected = torch_kl(q, Normal(0.0, 1.0)).sum(1).mean()
    assert torch.allclose(kl_divergence(mu, logvar), expected, atol=1e-5)


def test_kl_matches_torch_distributions_against_a_learned_prior():
    mu, logvar = torch.randn(16, 5), torch.randn(16, 5)
    mu_p, logvar_p = torch.randn(16, 5), torch.randn(16, 5)
    expected = torch_kl(Normal(mu, torch.exp(0.5 * logvar)),
                        Normal(mu_p, torch.exp(0.5 * logvar_p))).sum(1).mean()
    assert torch.allclose(kl_divergence(mu, logvar, mu_p, logvar_p), expected, atol=1e-5)


def test_kl_agrees_with_a_monte_carlo_estimate():
    mu, logvar = torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([[0.3, -0.7, 0.0]])
    q = Normal(mu, torch.exp(0.5 * logvar))
    z = q.sample((400_000,))
    mc = (q.log_prob(z) - Normal(0.0, 1.0).log_prob(z)).sum(-1).mean()
    assert kl_divergence(mu, logvar).item() == pytest.approx(mc.item(), abs=0.02)


def test_kl_is_zero_for_the_prior_itself_and_positive_otherwise():
    assert kl_divergence(torch.zeros(4, 3), torch.zeros(4, 3)).item() == pytest.approx(0.0)
    assert (gaussian_kl(torch.randn(100, 3), torch.randn(100, 3)) >= 0).all()


def test_reconstruction_loss_is_bernoulli_nll_summed_over_pixels_in_nats_per_image():
    logits = torch.randn(3, 1, 28, 28)
    X = (torch.rand(3, 1, 28, 28) > 0.5).float()
    p = torch.sigmoid(logits)
    by_hand = -(X * p.log() + (1 - X) * (1 - p).log()).sum() / 3
    assert torch.allclose(reconstruction_loss(logits, X), by_hand, rtol=1e-4)
    # A decoder that outputs probability 1/2 everywhere pays log 2 per pixel.
    flat = reconstruction_loss(torch.zeros(2, 1, 28, 28), X[:2])
    assert flat.item() == pytest.approx(784 * math.log(2), rel=1e-5)
    assert torch.allclose(flat, F.binary_cross_entropy_with_logits(
        torch.zeros(2, 1, 28, 28), X[:2], reduction="sum") / 2)


def test_vae_loss_adds_beta_times_kl():
    logits, X = torch.randn(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    mu, logvar = torch.randn(4, 2), torch.randn(4, 2)
    parts = vae_loss(logits, X, mu, logvar, beta=3.0)
    assert set(parts) == {"loss", "recon", "kl"}
    assert torch.allclose(parts["loss"], parts["recon"] + 3.0 * parts["kl"])


def test_masked_reconstruction_loss_sums_the_hidden_pixels_only():
    logits, Y = 2 * torch.randn(3, 1, 28, 28), torch.rand(3, 1, 28, 28)
    hidden = ~torch.stack([visible_mask(k) for k in (1, 2, 3)])
    per_pixel = F.binary_cross_entropy_with_logits(logits, Y, reduction="none")
    by_hand = per_pixel[hidden].sum() / 3
    assert torch.allclose(masked_reconstruction_loss(logits, Y, hidden), by_hand, rtol=1e-5)
    # One mask [1, 28, 28] for the whole batch broadcasts over the images.
    shared = ~visible_mask(1)
    by_hand = per_pixel[shared.expand_as(Y)].sum() / 3
    assert torch.allclose(masked_reconstruction_loss(logits, Y, shared), by_hand, rtol=1e-5)


def test_masked_reconstruction_loss_of_every_pixel_or_none():
    logits, Y = torch.randn(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    everything = torch.ones(4, 1, 28, 28, dtype=torch.bool)
    assert torch.allclose(masked_reconstruction_loss(logits, Y, everything),
                          reconstruction_loss(logits, Y), rtol=1e-5)
    assert masked_reconstruction_loss(logits, Y, ~everything).item() == 0.0
    # The hidden and the visible pixels together cost what every pixel costs.
    hidden = ~visible_mask(2)
    parts = (masked_reconstruction_loss(logits, Y, hidden)
             + masked_reconstruction_loss(logits, Y, ~hidden))
    assert torch.allclose(parts, reconstruction_loss(logits, Y), rtol=1e-5)


def test_conditional_vae_loss_with_a_standard_prior_has_the_vae_kl():
    logits, Y = torch.randn(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    hidden = ~visible_mask(1)
    mu, logvar = torch.randn(4, 3), torch.randn(4, 3)
    parts = conditional_vae_loss(logits, Y, hidden, (mu, logvar),
                                 (torch.zeros(4, 3), torch.zeros(4, 3)), beta=2.0)
    assert set(parts) == {"loss", "recon", "kl"}
    assert torch.allclose(parts["kl"], kl_divergence(mu, logvar), atol=1e-6)
    assert torch.allclose(parts["recon"], masked_reconstruction_loss(logits, Y, hidden))
    assert torch.allclose(parts["loss"], parts["recon"] + 2.0 * parts["kl"])


def test_conditional_vae_loss_kl_is_against_the_learned_prior():
    logits, Y = torch.randn(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    hidden = ~visible_mask(3)
    q = (torch.randn(2, 4), torch.randn(2, 4))
    same = conditional_vae_loss(logits, Y, hidden, q, (q[0].clone(), q[1].clone()))
    assert same["kl"].item() == pytest.approx(0.0, abs=1e-6)
    assert torch.allclose(same["loss"], same["recon"])
    p = (torch.randn(2, 4), torch.randn(2, 4))
    parts = conditional_vae_loss(logits, Y, hidden, q, p)
    expected = torch_kl(Normal(q[0], torch.exp(0.5 * q[1])),
                        Normal(p[0], torch.exp(0.5 * p[1]))).sum(1).mean()
    assert torch.allclose(parts["kl"], expected, atol=1e-5)
    assert parts["kl"] > 0
