"""Lesson 2's self-checks: each reference answer, and wrong answers with the words their hint
must contain (run by ``test_checks.py``). Most wrong answers are one-token edits of the
reference: a sign, a factor, sum vs mean, variance vs standard deviation, a swapped pair."""

import math

import torch
from torch import nn
from torch.distributions import Normal

from cvae_helpers import checks
from cvae_helpers.losses import kl_divergence, reconstruction_loss
from cvae_helpers.models import mlp, reparameterize


def reparameterize_with(scale, noise=torch.randn_like):
    """mu + scale(logvar) * noise: the reference with sigma = exp(0.5 * logvar), or a slip."""
    return lambda mu, lv: mu + scale(lv) * noise(mu)


def kl_with(per_dim, reduce=lambda t: t.sum(dim=1).mean()):
    return lambda mu, lv: reduce(0.5 * per_dim(mu, lv))


def reference_monte_carlo_kl(mu, logvar, num_draws, draw=reparameterize, sign=1.0,
                             over_dims="sum", root=True, scale=lambda lv: torch.exp(0.5 * lv)):
    shape = (num_draws, *mu.shape)
    z = draw(mu.expand(shape), logvar.expand(shape))  # [num_draws, N, d]
    ratio = sign * (Normal(mu, scale(logvar)).log_prob(z) - Normal(0.0, 1.0).log_prob(z))
    per_draw = getattr(ratio, over_dims)(dim=2).mean(dim=1)  # one batch estimate per draw
    return per_draw.mean(), per_draw.std() / (math.sqrt(num_draws) if root else 1.0)


def reference_negative_elbo(logits, X, mu, logvar, beta=1.0):
    recon = reconstruction_loss(logits, X)
    kl = kl_divergence(mu, logvar)
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl}


def negative_elbo_with(combine, kl_part=lambda beta, kl: kl):
    def answer(logits, X, mu, logvar, beta=1.0):
        recon, kl = reconstruction_loss(logits, X), kl_divergence(mu, logvar)
        return {"loss": combine(recon, kl, beta), "recon": recon, "kl": kl_part(beta, kl)}
    return answer


class ReferenceVAE(nn.Module):
    """The module of exercise 2.5, as pytorch/examples' vae/main.py lays it out."""

    def __init__(self, latent_dim=20, hidden=(512, 512)):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = mlp([784, *hidden, 2 * latent_dim])
        self.decoder = mlp([latent_dim, *reversed(hidden), 784])

    def encode(self, X):
        mu, logvar = self.encoder(X.flatten(1)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, Z):
        return self.decoder(Z).view(-1, 1, 28, 28)

    def forward(self, X):
        mu, logvar = self.encode(X)
        return self.decode(reparameterize(mu, logvar)), mu, logvar

    def loss(self, X, y=None, beta=1.0):
        logits, mu, logvar = self(X)
        return reference_negative_elbo(logits, X, mu, logvar, beta)

    def sample(self, n):
        return torch.sigmoid(self.decode(torch.randn(n, self.latent_dim)))


class EncoderOfHalfWidth(ReferenceVAE):
    def __init__(self, latent_dim=20, hidden=(512, 512)):
        nn.Module.__init__(self)
        self.latent_dim = latent_dim
        self.encoder = mlp([784, *hidden, latent_dim])  # slip: latent_dim, not 2 * latent_dim
        self.decoder = mlp([latent_dim, *reversed(hidden), 784])


class DecoderNotReversed(ReferenceVAE):
    def __init__(self, latent_dim=20, hidden=(512, 512)):
        nn.Module.__init__(self)
        self.latent_dim = latent_dim
        self.encoder = mlp([784, *hidden, 2 * latent_dim])
        self.decoder = mlp([latent_dim, *hidden, 784])  # slip: hidden, not reversed(hidden)


class DecoderBuiltFirst(ReferenceVAE):
    def __init__(self, latent_dim=20, hidden=(512, 512)):
        nn.Module.__init__(self)
        self.latent_dim = latent_dim
        self.decoder = mlp([latent_dim, *reversed(hidden), 784])  # slip: built before the encoder
        self.encoder = mlp([784, *hidden, 2 * latent_dim])


class SwappedEncode(ReferenceVAE):
    def encode(self, X):
        logvar, mu = self.encoder(X.flatten(1)).chunk(2, dim=1)  # slip: the halves swapped
        return mu, logvar


class ProbabilitiesDecoded(ReferenceVAE):
    def decode(self, Z):
        return torch.sigmoid(self.decoder(Z)).view(-1, 1, 28, 28)  # slip: probabilities


class NotSampled(ReferenceVAE):
    def forward(self, X):
        mu, logvar = self.encode(X)
        return self.decode(mu), mu, logvar  # slip: z = mu


class NoKL(ReferenceVAE):
    def loss(self, X, y=None, beta=1.0):
        logits, mu, logvar = self(X)
        return reference_negative_elbo(logits, X, mu, logvar, 0.0)  # slip: beta = 0, no KL


class BetaIgnored(ReferenceVAE):
    def loss(self, X, y=None, beta=1.0):
        logits, mu, logvar = self(X)
        return reference_negative_elbo(logits, X, mu, logvar)  # slip: beta not passed on


class SampleLogits(ReferenceVAE):
    def sample(self, n):
        return self.decode(torch.randn(n, self.latent_dim))  # slip: logits, no sigmoid


# (check, reference answer, [(wrong answer, words its hint must contain), ...])
CASES = [
    (checks.check_reparameterize, reparameterize_with(lambda lv: torch.exp(0.5 * lv)), [
        (reparameterize_with(lambda lv: 0.5 * torch.exp(lv)), "half the variance"),
        (reparameterize_with(lambda lv: torch.exp(lv)), "variance where the standard"),
        (reparameterize_with(lambda lv: lv), "logvar itself as the standard"),
        (reparameterize_with(lambda lv: torch.exp(-0.5 * lv)), "1 / sigma"),
        (reparameterize_with(lambda lv: torch.exp(0.5 * lv), torch.rand_like), "uniform"),
        (lambda mu, lv: mu * torch.exp(0.5 * lv) * torch.randn_like(mu), "should average mu"),
        (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn(mu.shape[1]), "same noise"),
        (lambda mu, lv: torch.normal(mu, torch.exp(0.5 * lv)).detach(), "cut off"),
    ]),
    (checks.check_kl_divergence, kl_with(lambda mu, lv: mu**2 + lv.exp() - lv - 1), [
        (kl_with(lambda mu, lv: -(mu**2 + lv.exp() - lv - 1)), "sign is flipped"),
        (kl_with(lambda mu, lv: mu**2 + lv.exp() - lv - 1, lambda t: t.mean(dim=1).mean()),
         "times too small"),
        (kl_with(lambda mu, lv: mu**2 + lv.exp() - lv - 1, lambda t: t.sum(dim=1).sum()),
         "times too large"),
        (kl_with(lambda mu, lv: mu**2 + lv.exp() + lv - 1), "log-variance term has the wrong"),
        (kl_with(lambda mu, lv: mu**2 + lv - lv - 1), "where the variance belongs"),
        (kl_with(lambda mu, lv: mu + lv.exp() - lv - 1), "enters squared"),
        (kl_with(lambda mu, lv: mu**2 + lv.exp() - lv + 1), "the constant is -1"),
        (lambda mu, lv: (mu**2 + lv.exp() - lv - 1).sum(1).mean(), "factor 1/2"),
        (lambda mu, lv: 0.5 * (mu**2 + lv**2 - torch.log(lv**2) - 1).sum(1).mean(),
         "mu=0, logvar=0"),
    ]),
    (checks.check_monte_carlo_kl, reference_monte_carlo_kl, [
        (lambda mu, lv, s: reference_monte_carlo_kl(mu, lv, s, sign=-1.0), "sign is flipped"),
        (lambda mu, lv, s: reference_monte_carlo_kl(mu, lv, s, over_dims="mean"),
         "times too small"),
        (lambda mu, lv, s: reference_monte_carlo_kl(mu, lv, s, root=False), "sqrt(num_draws)"),
        (lambda mu, lv, s: reference_monte_carlo_kl(
            mu, lv, s, draw=lambda m, v: torch.randn_like(m)), "drawn from the prior"),
        (lambda mu, lv, s: reference_monte_carlo_kl(mu, lv, s, scale=torch.exp),
         "the variance as Normal's scale"),
    ]),
    (checks.check_negative_elbo, reference_negative_elbo, [
        (negative_elbo_with(lambda r, k, b: r - b * k), "recon - KL"),
        (negative_elbo_with(lambda r, k, b: r + k), "beta was not applied"),
        (negative_elbo_with(lambda r, k, b: b * r + k), "beta weighs the reconstruction"),
        (negative_elbo_with(lambda r, k, b: r + b * k, lambda b, k: b * k), "the KL itself"),
        (negative_elbo_with(lambda r, k, b: r), "add the KL term"),
        (negative_elbo_with(lambda r, k, b: -(r + b * k)), "the ELBO itself"),
        (lambda lg, X, mu, lv, beta=1.0: reference_negative_elbo(lg, X, mu, lv, beta)["loss"],
         "return the parts too"),
    ]),
    (checks.check_vae, ReferenceVAE, [
        (EncoderOfHalfWidth, "2 * latent_dim"),
        (DecoderNotReversed, "decoder should map"),
        (DecoderBuiltFirst, "build the encoder first"),
        (SwappedEncode, "mu and logvar are swapped"),
        (ProbabilitiesDecoded, "these are probabilities"),
        (NotSampled, "z = mu"),
        (NoKL, "KL is left out"),
        (BetaIgnored, "beta is not applied"),
        (SampleLogits, "pixel probabilities"),
    ]),
]
