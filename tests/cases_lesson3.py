"""Lesson 3's self-checks: each reference answer (the lesson's solutions), and wrong answers with
the words their hint must contain (run by ``test_checks.py``). Most wrong answers are one-token
edits of the reference: a dimension, an argument, an operator, a name."""

import torch
import torch.nn.functional as F
from torch import nn

from cvae_helpers import checks
from cvae_helpers.data import NUM_CLASSES, NUM_PIXELS
from cvae_helpers.losses import vae_loss
from cvae_helpers.models import condition, mlp, one_hot, reparameterize


def reference_condition(h, y, num_classes=NUM_CLASSES):
    one_hot = F.one_hot(y.long(), num_classes).to(h.dtype)
    return torch.cat([h, one_hot], dim=1)


class ReferenceCVAE(nn.Module):
    def __init__(self, latent_dim, hidden, num_classes=NUM_CLASSES):
        super().__init__()
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.encoder = mlp([NUM_PIXELS + num_classes, *hidden, 2 * latent_dim])
        self.decoder = mlp([latent_dim + num_classes, *reversed(hidden), NUM_PIXELS])

    def encode(self, X, y):
        h = condition(X.flatten(1), y, self.num_classes)
        mu, logvar = self.encoder(h).chunk(2, dim=1)
        return mu, logvar

    def decode(self, Z, y):
        logits = self.decoder(condition(Z, y, self.num_classes))
        return logits.view(-1, 1, 28, 28)

    def forward(self, X, y):
        mu, logvar = self.encode(X, y)
        Z = reparameterize(mu, logvar)
        return self.decode(Z, y), mu, logvar

    def loss(self, X, y, beta=1.0):
        logits, mu, logvar = self(X, y)
        return vae_loss(logits, X, mu, logvar, beta)


class LabelInEncoderOnly(ReferenceCVAE):
    def __init__(self, latent_dim, hidden, num_classes=NUM_CLASSES):
        super().__init__(latent_dim, hidden, num_classes)
        self.decoder = mlp([latent_dim, *reversed(hidden), NUM_PIXELS])

    def decode(self, Z, y):
        return self.decoder(Z).view(-1, 1, 28, 28)


class LabelInDecoderOnly(ReferenceCVAE):
    def __init__(self, latent_dim, hidden, num_classes=NUM_CLASSES):
        super().__init__(latent_dim, hidden, num_classes)
        torch.manual_seed(0)
        self.encoder = mlp([NUM_PIXELS, *hidden, 2 * latent_dim])

    def encode(self, X, y):
        return self.encoder(X.flatten(1)).chunk(2, dim=1)


class LabelBeforeFeatures(ReferenceCVAE):
    def encode(self, X, y):
        h = torch.cat([one_hot(y), X.flatten(1)], dim=1)
        mu, logvar = self.encoder(h).chunk(2, dim=1)
        return mu, logvar


class NoSampling(ReferenceCVAE):
    def forward(self, X, y):
        mu, logvar = self.encode(X, y)
        Z = reparameterize(mu, logvar)  # noqa: F841 -- drawn, then not used
        return self.decode(mu, y), mu, logvar  # one token: mu for Z


class IgnoresBeta(ReferenceCVAE):
    def loss(self, X, y, beta=1.0):
        logits, mu, logvar = self(X, y)
        return vae_loss(logits, X, mu, logvar, 1.0)  # one token: 1.0 for beta


class HiddenNotReversed(ReferenceCVAE):
    def __init__(self, latent_dim, hidden, num_classes=NUM_CLASSES):
        super().__init__(latent_dim, hidden, num_classes)
        self.decoder = mlp([latent_dim + num_classes, *hidden, NUM_PIXELS])  # no reversed()


class MuLogvarSwapped(ReferenceCVAE):
    def encode(self, X, y):
        h = condition(X.flatten(1), y, self.num_classes)
        logvar, mu = self.encoder(h).chunk(2, dim=1)  # one swap
        return mu, logvar


class DecodesProbabilities(ReferenceCVAE):
    def decode(self, Z, y):
        logits = self.decoder(condition(Z, y, self.num_classes))
        return torch.sigmoid(logits.view(-1, 1, 28, 28))


@torch.no_grad()
def reference_sample_digits(model, digit, n, temperature=1.0):
    device = next(model.parameters()).device
    Z = temperature * torch.randn(n, model.latent_dim, device=device)
    labels = torch.full((n,), digit, dtype=torch.long, device=device)
    return torch.sigmoid(model.decode(Z, labels))


def sample_digits_with(draw, label=None, sigmoid=torch.sigmoid):
    """``reference_sample_digits`` with one part replaced: how Z is drawn, the label, the
    output function."""
    @torch.no_grad()
    def answer(model, digit, n, temperature=1.0):
        Z = draw(n, model.latent_dim, temperature)
        labels = torch.full((n,), digit if label is None else label, dtype=torch.long)
        return sigmoid(model.decode(Z, labels))
    return answer


@torch.no_grad()
def reference_redraw_as(model, X, y, new_y):
    mu, _ = model.encode(X, y)
    return torch.sigmoid(model.decode(mu, new_y))


def reference_linear_probe(Z_fit, y_fit, Z_eval, y_eval, num_classes=10, steps=300, lr=0.1):
    W = torch.zeros(Z_fit.shape[1], num_classes, requires_grad=True)
    b = torch.zeros(num_classes, requires_grad=True)
    optimizer = torch.optim.Adam([W, b], lr=lr)
    for _ in range(steps):
        loss = F.cross_entropy(Z_fit @ W + b, y_fit)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    predicted = (Z_eval @ W + b).argmax(dim=1)
    return (predicted == y_eval).float().mean().item()


def probe_with(scored_on_fit=False, bias=True, bias_at_eval=True):
    """``reference_linear_probe`` with one slip."""
    def answer(Z_fit, y_fit, Z_eval, y_eval, num_classes=10, steps=300, lr=0.1):
        W = torch.zeros(Z_fit.shape[1], num_classes, requires_grad=True)
        b = torch.zeros(num_classes, requires_grad=bias)
        optimizer = torch.optim.Adam([W, b] if bias else [W], lr=lr)
        for _ in range(steps):
            loss = F.cross_entropy(Z_fit @ W + b, y_fit)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        Z, y = (Z_fit, y_fit) if scored_on_fit else (Z_eval, y_eval)
        with torch.no_grad():
            predicted = (Z @ W + (b if bias_at_eval else 0)).argmax(dim=1)
        return (predicted == y).float().mean().item()
    return answer


# (check, reference answer, [(wrong answer, words its hint must contain), ...])
CASES = [
    (checks.check_condition, reference_condition, [
        (lambda h, y, c=10: torch.cat([F.one_hot(y.long(), c).to(h.dtype), h], dim=1),
         "after the features"),
        (lambda h, y, c=10: torch.cat([h, F.one_hot(y.long(), c).to(h.dtype)], dim=0),
         "along dimension 1"),
        (lambda h, y, c=10: torch.cat([h, F.one_hot(y.long()).to(h.dtype)], dim=1),
         "pass num_classes"),
        (lambda h, y, c=10: torch.cat([h, F.one_hot(y.long(), 10).to(h.dtype)], dim=1),
         "not 10"),
        (lambda h, y, c=10: torch.cat([h, y.to(h.dtype).unsqueeze(1)], dim=1), "one-hot vector"),
    ]),
    (checks.check_cvae, ReferenceCVAE, [
        (LabelInEncoderOnly, "give it the label too"),
        (LabelInDecoderOnly, "the encoder's first layer takes 784 inputs"),
        (LabelBeforeFeatures, "puts the label first"),
        (NoSampling, "decodes the mean code"),
        (IgnoresBeta, "ignores beta"),
        (HiddenNotReversed, "reverse order"),
        (MuLogvarSwapped, "return (mu, logvar)"),
        (DecodesProbabilities, "not probabilities"),
    ]),
    (checks.check_sample_digits, reference_sample_digits, [
        (sample_digits_with(lambda n, d, t: t ** 2 * torch.randn(n, d)), "temperature ** 2"),
        (sample_digits_with(lambda n, d, t: t + torch.randn(n, d)), "don't add it"),
        (sample_digits_with(lambda n, d, t: t * torch.rand(n, d)), "torch.rand"),
        (sample_digits_with(lambda n, d, t: t * torch.randn(1, d).expand(n, d)), "same"),
        (sample_digits_with(lambda n, d, t: torch.randn(n, d)), "not used"),
        (sample_digits_with(lambda n, d, t: t * torch.randn(n, d), label=0), "the label digit"),
        (sample_digits_with(lambda n, d, t: t * torch.randn(n, d), sigmoid=lambda x: x), "[0, 1]"),
    ]),
    (checks.check_redraw_as, reference_redraw_as, [
        (lambda m, X, y, ny: torch.sigmoid(m.decode(m.encode(X, ny)[0], ny)),
         "encode with the image's own label"),
        (lambda m, X, y, ny: torch.sigmoid(m.decode(m.encode(X, y)[0], y)), "not the original"),
        (lambda m, X, y, ny: torch.sigmoid(m.decode(m.encode(X, y)[1], ny)), "log-variance"),
        (lambda m, X, y, ny: m.decode(m.encode(X, y)[0], ny), "[0, 1]"),
        (lambda m, X, y, ny: torch.sigmoid(m.decode(reparameterize(*m.encode(X, y)), ny)),
         "mean code"),
    ]),
    (checks.check_linear_probe, reference_linear_probe, [
        (probe_with(scored_on_fit=True), "not on the codes it was fitted to"),
        (probe_with(bias=False), "needs a bias"),
        (probe_with(bias_at_eval=False), "needs a bias"),
    ]),
]
