"""Lesson 4's self-checks: each reference answer, written as the lesson's solution is, and wrong
answers with the words their hint must contain (run by ``test_checks.py``). Most wrong answers
are the reference with one token changed; each keyword below names that one edit."""

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch.distributions import Normal

from cvae_helpers import checks


def bernoulli_log_likelihood(logits, X, *, sign=-1, over_pixels=torch.sum, per_image=True):
    per_pixel = sign * F.binary_cross_entropy_with_logits(logits, X, reduction="none")
    return over_pixels(per_pixel.flatten(1), 1) if per_image else over_pixels(per_pixel)


def importance_weighted_nll(log_p_x_given_z, log_p_z, log_q_z, *, p_sign=1, q_sign=-1,
                            k_dim=0, lse_dim=0, sign=-1):
    log_w = log_p_x_given_z + p_sign * log_p_z + q_sign * log_q_z
    k = log_w.shape[k_dim]
    return sign * (torch.logsumexp(log_w, dim=lse_dim) - math.log(k))


def log_densities(model, X, Z, *, half=0.5, sum_latent=torch.sum, swap=False, sign=1):
    k, n, d = Z.shape
    mu, logvar = model.encode(X)
    logits = model.decode(Z.reshape(k * n, d))
    log_px_z = sign * bernoulli_log_likelihood(logits, X.repeat(k, 1, 1, 1)).view(k, n)
    log_pz = sum_latent(Normal(0.0, 1.0).log_prob(Z), -1)
    log_qz = Normal(mu, torch.exp(half * logvar)).log_prob(Z).sum(-1)
    return (log_px_z, log_qz, log_pz) if swap else (log_px_z, log_pz, log_qz)


def log_weight_terms(model, X, k, rows_per_pass=50_000, *, half=0.5, noise=torch.randn,
                     shared=False, per_k=True, cat_dim=1):
    device = next(model.parameters()).device
    per_pass = max(1, rows_per_pass // k) if per_k else rows_per_pass
    parts = ([], [], [])
    with torch.no_grad():
        for start in range(0, len(X), per_pass):
            Xb = X[start:start + per_pass].to(device)
            mu, logvar = model.encode(Xb)
            eps = noise(k, 1 if shared else mu.shape[0], mu.shape[1], device=device)
            Z = mu + torch.exp(half * logvar) * eps
            for part, term in zip(parts, log_densities(model, Xb, Z), strict=True):
                part.append(term.cpu())
    return tuple(torch.cat(part, dim=cat_dim) for part in parts)


def log_weight_terms_with_gradients(model, X, k, rows_per_pass=50_000):
    """The reference without its ``with torch.no_grad():`` line (and so in one pass)."""
    mu, logvar = model.encode(X)
    Z = mu + torch.exp(0.5 * logvar) * torch.randn(k, *mu.shape)
    return log_densities(model, X, Z)


def active_units(mu, threshold=0.01, *, spread=torch.var, dim=0, fixed=None, active=True,
                 as_int=True):
    variance = spread(mu, dim=dim)
    over = variance > (threshold if fixed is None else fixed)
    count = (over if active else ~over).sum()
    return int(count) if as_int else count


def kl_per_dimension(mu, logvar, *, half=0.5, variance=torch.exp, over_images=torch.mean,
                     dim=0, sign=1):
    kl = sign * half * (mu ** 2 + variance(logvar) - logvar - 1)
    return over_images(kl, dim=dim)


def label_entropy(labels, *, log=torch.log, sign=-1, drop_empty=True, of_counts=False,
                  over_digits=torch.sum):
    counts = torch.bincount(labels, minlength=10)
    p = counts.float() / counts.sum()
    kept = p > 0 if drop_empty else torch.ones_like(p, dtype=torch.bool)
    logs = log(counts[kept].float()) if of_counts else log(p[kept])
    return (sign * over_digits(p[kept] * logs)).item()


# (check, reference answer, [(wrong answer, words its hint must contain), ...])
CASES = [
    (checks.check_bernoulli_log_likelihood, bernoulli_log_likelihood, [
        (partial(bernoulli_log_likelihood, sign=1), "binary cross-entropy, -log p(x)"),
        (partial(bernoulli_log_likelihood, over_pixels=torch.mean), "averaged over the pixels"),
        (partial(bernoulli_log_likelihood, per_image=False), "one value per image"),
        (lambda logits, X: bernoulli_log_likelihood(torch.sigmoid(logits), X),
         "went through sigmoid"),
        (lambda logits, X: -F.binary_cross_entropy(torch.sigmoid(logits), X, reduction="none")
         .flatten(1).sum(1), "clipped"),
    ]),
    (checks.check_importance_weighted_nll, importance_weighted_nll, [
        (partial(importance_weighted_nll, q_sign=1), "added where it should be subtracted"),
        (partial(importance_weighted_nll, p_sign=-1), "subtracted where it should be added"),
        (partial(importance_weighted_nll, k_dim=1), "k is the number of samples"),
        (partial(importance_weighted_nll, lse_dim=1), "dimension 0"),
        (partial(importance_weighted_nll, sign=1), "sign is flipped"),
        (lambda a, b, c: -(a + b - c).mean(0), "average of log w"),
        (lambda a, b, c: -torch.log(torch.exp(a + b - c).mean(0)), "inf or nan"),
    ]),
    (checks.check_log_densities, log_densities, [
        (partial(log_densities, half=1.0), "Normal takes the standard deviation"),
        (partial(log_densities, half=-0.5), "1 / sigma"),
        (partial(log_densities, sum_latent=torch.mean), "averaged over the latent dimensions"),
        (partial(log_densities, swap=True), "in this order"),
        (partial(log_densities, sign=-1), "minus the binary cross-entropy"),
    ]),
    (checks.check_log_weight_terms, log_weight_terms, [
        (partial(log_weight_terms, half=1.0), "variance exp(logvar) as the standard deviation"),
        (partial(log_weight_terms, shared=True), "shares one noise draw"),
        (partial(log_weight_terms, per_k=False), "in one pass"),
        (partial(log_weight_terms, noise=torch.rand), "torch.randn(k, n, latent_dim)"),
        (partial(log_weight_terms, cat_dim=0), "concatenate them along the images"),
        (log_weight_terms_with_gradients, "torch.no_grad()"),
    ]),
    (checks.check_active_units, active_units, [
        (partial(active_units, spread=torch.std), "not its std"),
        (partial(active_units, active=False), "counted the inactive"),
        (lambda mu, threshold=0.01: int((mu.mean(dim=0).abs() > threshold).sum()), "*varies*"),
        (partial(active_units, dim=1), "dim=0"),
        (partial(active_units, fixed=0.01), "use the threshold argument"),
        (partial(active_units, as_int=False), "Python int"),
    ]),
    (checks.check_kl_per_dimension, kl_per_dimension, [
        (partial(kl_per_dimension, over_images=torch.sum), "don't sum"),
        (partial(kl_per_dimension, half=1.0), "factor 1/2"),
        (partial(kl_per_dimension, variance=lambda lv: lv), "the variance is exp(logvar)"),
        (partial(kl_per_dimension, dim=1), "one value per image"),
        (partial(kl_per_dimension, sign=-1), "sign is flipped"),
    ]),
    (checks.check_label_entropy, label_entropy, [
        (partial(label_entropy, log=torch.log2), "in bits"),
        (partial(label_entropy, sign=1), "sign is flipped"),
        (partial(label_entropy, drop_empty=False), "inf or nan"),
        (partial(label_entropy, of_counts=True), "log of the counts"),
        (partial(label_entropy, over_digits=torch.mean), "averaged over the digits"),
    ]),
]
