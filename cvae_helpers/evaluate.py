"""How good is a model? Negative ELBO, importance-weighted log-likelihood, and classifier scores
of generated samples (lessons 1, 2 and 4).
"""

import math

import torch
from torch import Tensor, nn
from torch.distributions import Normal

from .models import CVAE, VAE, reparameterize
from .train import average_loss

# A decode "looks like a digit" when the classifier gives its top class at least this
# probability. Every lesson uses this one threshold (lesson 1).
CONFIDENCE = 0.9


def uniform_in_box(Z: Tensor, n: int, generator: torch.Generator | None = None) -> Tensor:
    """``n`` points drawn uniformly from the smallest axis-aligned box holding the codes ``Z``
    (lesson 1): "random points of the code space", for an autoencoder that has no prior."""
    low, high = Z.min(dim=0).values, Z.max(dim=0).values
    return low + (high - low) * torch.rand(n, Z.shape[1], generator=generator).to(Z.device)


@torch.no_grad()
def redraw_as(model: CVAE, X: Tensor, y: Tensor, new_y: Tensor) -> Tensor:
    """Redraw real digits as other digits (lesson 3): encode ``X`` with its true labels ``y``,
    keep the mean code (the style), decode it under ``new_y``. Returns pixel probabilities."""
    mu, _ = model.encode(X, y)
    return torch.sigmoid(model.decode(mu, new_y))


def negative_elbo(model: VAE, X: Tensor, y: Tensor, batch_size: int = 1000) -> dict[str, float]:
    """Average ``{"loss": -ELBO, "recon", "kl"}`` over a data set, nats per image (lesson 2).

    One sample of z per image, as in training, with beta = 1. ``y`` is used by a CVAE only.
    """
    return average_loss(model, X, y, beta=1.0, batch_size=batch_size)


@torch.no_grad()
def iwae_nll(model: VAE, X: Tensor, y: Tensor | None = None, k: int = 100,
             rows_per_pass: int = 50_000) -> float:
    """Importance-weighted estimate of -log p(x) (or -log p(x|y) for a CVAE), nats per image.

        log p(x) >= L_k = E[ log (1/k) sum_{i=1}^k p(x, z_i) / q(z_i | x) ],  z_i ~ q(z | x)

    (Burda et al., 2016). L_1 is the ELBO, and L_k rises toward log p(x) as k grows, so the
    returned -L_k falls toward -log p(x). Images are processed a few at a time so that
    ``images * k <= rows_per_pass``, which keeps k = 1000 within memory.
    """
    model.eval()
    device = next(model.parameters()).device
    chunk = max(1, rows_per_pass // k)
    total = 0.0
    for start in range(0, X.shape[0], chunk):
        Xb = X[start:start + chunk].to(device)
        n = Xb.shape[0]
        if isinstance(model, CVAE):
            yb = y[start:start + chunk].to(device)
            mu, logvar = model.encode(Xb, yb)
        else:
            mu, logvar = model.encode(Xb)
        # Draw k codes per image: rows are (sample i, image n), shaped [k * n, latent_dim].
        mu_k, logvar_k = mu.repeat(k, 1), logvar.repeat(k, 1)
        Z = reparameterize(mu_k, logvar_k)
        logits = model.decode(Z, yb.repeat(k)) if isinstance(model, CVAE) else model.decode(Z)
        log_px_z = -nn.functional.binary_cross_entropy_with_logits(
            logits, Xb.repeat(k, 1, 1, 1), reduction="none").flatten(1).sum(1)
        log_pz = Normal(0.0, 1.0).log_prob(Z).sum(1)
        log_qz = Normal(mu_k, torch.exp(0.5 * logvar_k)).log_prob(Z).sum(1)
        log_w = (log_px_z + log_pz - log_qz).view(k, n)
        total += (torch.logsumexp(log_w, dim=0) - math.log(k)).sum().item()
    return -total / X.shape[0]


@torch.no_grad()
def predict_proba(classifier: nn.Module, X: Tensor, batch_size: int = 2000) -> Tensor:
    """Class probabilities ``[N, 10]`` of the digit classifier, on the classifier's device."""
    classifier.eval()
    device = next(classifier.parameters()).device
    return torch.cat([torch.softmax(classifier(X[i:i + batch_size].to(device)), dim=1)
                      for i in range(0, X.shape[0], batch_size)])


def accuracy(classifier: nn.Module, X: Tensor, y: Tensor) -> float:
    """Fraction of images whose most probable class is the true label (lesson 1)."""
    return (predict_proba(classifier, X).argmax(1).cpu() == y.cpu()).float().mean().item()


def confident_fraction(classifier: nn.Module, X: Tensor, threshold: float = CONFIDENCE) -> float:
    """Fraction of images the classifier recognises confidently: top-class probability >=
    ``threshold`` (lesson 1). Used to score random decodes: garbage scores low."""
    return (predict_proba(classifier, X).max(1).values >= threshold).float().mean().item()


def label_fidelity(classifier: nn.Module, X: Tensor, labels: Tensor) -> float:
    """Fraction of generated images the classifier assigns to the requested label (lesson 3)."""
    return accuracy(classifier, X, labels)


def label_entropy(classifier: nn.Module, X: Tensor) -> float:
    """Entropy of the histogram of predicted labels, in nats (lesson 4).

    log 10 = 2.30 nats when the ten digits come out equally often; 0 when all are one digit.
    """
    counts = torch.bincount(predict_proba(classifier, X).argmax(1).cpu(), minlength=10).float()
    p = counts / counts.sum()
    return -(p[p > 0] * p[p > 0].log()).sum().item()


def mean_pairwise_distance(X: Tensor) -> float:
    """Average Euclidean distance between two different images of a set, in pixel units
    (lesson 3): a diversity score, near 0 when every sample looks the same."""
    flat = X.flatten(1).float()
    n = flat.shape[0]
    return (torch.cdist(flat, flat).sum() / (n * (n - 1))).item()
