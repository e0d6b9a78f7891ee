"""Lesson 4's estimator: ``evaluate.log_densities`` gives the three terms of a log-weight for
given codes, and ``evaluate.log_weight_terms`` draws its codes as the lesson asks the learner to,
so that the two agree from the same seed."""

import torch
from torch.distributions import Bernoulli, Independent, Normal

from cvae_helpers.evaluate import (
    importance_weighted_nll,
    iwae_nll,
    log_densities,
    log_weight_terms,
)
from cvae_helpers.models import CVAE, VAE


def test_log_densities_of_a_model_whose_q_is_its_posterior_give_log_p_x_exactly():
    """A decoder that ignores z and an encoder that outputs the prior: q(z|x) = p(z) = p(z|x),
    every weight is p(x), and -L_k = -log p(x) whatever the codes."""
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden=(16,)).eval()
    with torch.no_grad():
        model.encoder[-1].weight.zero_()
        model.encoder[-1].bias.zero_()
        model.decoder[0].weight.zero_()
        X = torch.rand(4, 1, 28, 28)
        Z = 2 * torch.randn(7, 4, 3)
        log_px_z, log_pz, log_qz = log_densities(model, X, Z)
        logits = model.decode(torch.zeros(4, 3))
    log_px = Bernoulli(logits=logits, validate_args=False).log_prob(X).flatten(1).sum(1)
    assert torch.equal(log_pz, log_qz)
    assert torch.allclose(log_px_z, log_px.expand(7, 4), atol=1e-3)
    assert torch.allclose(importance_weighted_nll(log_px_z, log_pz, log_qz), -log_px, atol=1e-3)


def test_log_densities_of_a_cvae_match_torch_distributions():
    torch.manual_seed(1)
    model = CVAE(latent_dim=2, hidden=(16,)).eval()
    X, y = torch.rand(3, 1, 28, 28), torch.tensor([4, 0, 9])
    Z = torch.randn(5, 3, 2)
    with torch.no_grad():
        log_px_z, log_pz, log_qz = log_densities(model, X, Z, y)
        mu, logvar = model.encode(X, y)
        for i in range(5):
            logits = model.decode(Z[i], y)
            expected = Bernoulli(logits=logits, validate_args=False).log_prob(X).flatten(1).sum(1)
            assert torch.allclose(log_px_z[i], expected, atol=1e-3)
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = Independent(Normal(torch.zeros(2), torch.ones(2)), 1)
    assert torch.allclose(log_qz, q.log_prob(Z), atol=1e-5)
    assert torch.allclose(log_pz, p.log_prob(Z), atol=1e-5)


def test_log_weight_terms_draws_the_codes_as_lesson_4_asks():
    """Lesson 4's exercise draws eps = torch.randn(k, n, d) for each pass of n images: from the
    same seed it gets exactly the codes, and so the terms, of ``log_weight_terms``."""
    torch.manual_seed(2)
    model = VAE(latent_dim=4, hidden=(16,)).eval()
    X, k, rows_per_pass = torch.rand(7, 1, 28, 28), 10, 30
    torch.manual_seed(3)
    expected = log_weight_terms(model, X, k=k, rows_per_pass=rows_per_pass)
    torch.manual_seed(3)
    parts = []
    with torch.no_grad():
        for start in range(0, 7, rows_per_pass // k):
            Xb = X[start:start + rows_per_pass // k]
            mu, logvar = model.encode(Xb)
            Z = mu + torch.exp(0.5 * logvar) * torch.randn(k, *mu.shape)
            parts.append(log_densities(model, Xb, Z))
    for got, want in zip((torch.cat(t, dim=1) for t in zip(*parts, strict=True)), expected, strict=True):
        assert got.shape == (k, 7) and torch.equal(got, want)
    torch.manual_seed(3)
    assert iwae_nll(model, X, k=k, rows_per_pass=rows_per_pass) == (
        importance_weighted_nll(*expected).mean().item())
