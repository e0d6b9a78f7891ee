"""The losses, each a small pure function in nats per image (lessons 1, 2 and 5).

A nat is the unit of information of the natural logarithm (1 nat = 1/ln 2 = 1.44 bits). Every
loss here is summed over what one image has (784 pixels, or the latent dimensions) and averaged
over the images of the batch, so the numbers read "nats per image" whatever the batch size.

Each loss first checks what it is given (``inputs``: shapes, and that the targets are pixel
intensities in [0, 1]): pixels in 0..255, say, would give a negative number of "nats" instead
of an error.
"""

import torch
import torch.nn.functional as F
from torch import Tensor

from .inputs import check_beta, check_gaussian, check_logits, check_mask, check_same_count


def reconstruction_loss(logits: Tensor, X: Tensor) -> Tensor:
    """-log p(x | z) for independent Bernoulli pixels (lesson 1).

        recon = -(1/N) sum_n sum_{i=1}^{784} [ x_i log p_i + (1 - x_i) log(1 - p_i) ],
        p_i = sigmoid(logit_i)

    the binary cross-entropy, summed over pixels and averaged over the batch: nats per image.
    MNIST's grey levels in [0, 1] are used as soft targets, as pytorch/examples does.
    """
    check_logits(logits, X)
    return F.binary_cross_entropy_with_logits(logits, X, reduction="sum") / X.shape[0]


def gaussian_kl(mu: Tensor, logvar: Tensor, mu_p: Tensor | float = 0.0,
                logvar_p: Tensor | float = 0.0) -> Tensor:
    """KL(N(mu, sigma^2) || N(mu_p, sigma_p^2)) for each coordinate, in nats (lesson 2).

        KL = 1/2 [ log(sigma_p^2 / sigma^2) + (sigma^2 + (mu - mu_p)^2) / sigma_p^2 - 1 ]

    Returns a tensor shaped like ``mu``; the defaults compare against N(0, 1).
    """
    check_gaussian(mu, logvar, mu_p, logvar_p)
    logvar_p = torch.as_tensor(logvar_p, dtype=mu.dtype, device=mu.device)
    return 0.5 * (logvar_p - logvar
                  + (logvar.exp() + (mu - mu_p) ** 2) / logvar_p.exp()
                  - 1)


def kl_divergence(mu: Tensor, logvar: Tensor, mu_p: Tensor | float = 0.0,
                  logvar_p: Tensor | float = 0.0) -> Tensor:
    """KL(q(z|x) || p(z)) between diagonal Gaussians, in nats per image (lesson 2).

    Summed over the latent dimensions of ``gaussian_kl`` and averaged over the batch. Against
    the standard prior N(0, I) (the defaults) it reads

        KL = 1/2 sum_j [ mu_j^2 + sigma_j^2 - log sigma_j^2 - 1 ],

    and passing ``mu_p, logvar_p`` compares with a learned prior p(z | x) instead (lesson 5).
    """
    if isinstance(mu, Tensor) and mu.dim() != 2:
        raise ValueError(f"mu and logvar must be shaped [N, latent_dim], one row per image, got "
                         f"{list(mu.shape)}" + (": one image's is mu.view(1, -1)"
                                               if mu.dim() == 1 else ""))
    return gaussian_kl(mu, logvar, mu_p, logvar_p).sum(dim=1).mean()


def vae_loss(logits: Tensor, X: Tensor, mu: Tensor, logvar: Tensor,
             beta: float = 1.0) -> dict[str, Tensor]:
    """The VAE objective (lesson 2): ``loss = recon + beta * kl``, each part in nats per image.

    With beta = 1 the loss is the negative evidence lower bound, -ELBO >= -log p(x).
    Returns ``{"loss", "recon", "kl"}``.
    """
    check_beta(beta, tensor=True)
    recon = reconstruction_loss(logits, X)
    kl = kl_divergence(mu, logvar)  # both have checked their arguments' types and shapes
    check_same_count(X.shape[0], "images X", mu.shape[0], "codes mu",
                     "pass the mu and logvar that the encoder gave for these images")
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl}


def masked_reconstruction_loss(logits: Tensor, Y: Tensor, hidden: Tensor) -> Tensor:
    """-log p(y | ...) of the hidden pixels only, in nats per image (lesson 5).

        recon = -(1/N) sum_n sum_{i hidden} [ y_i log p_i + (1 - y_i) log(1 - p_i) ]

    ``hidden`` is a bool mask broadcastable to ``Y``, True where the pixel is to be predicted;
    the visible pixels were given to the model, so they cost nothing.
    """
    check_logits(logits, Y)
    check_mask(hidden, Y, "hidden", "hidden = ~data.visible_mask(num_visible)")
    per_pixel = F.binary_cross_entropy_with_logits(logits, Y, reduction="none")
    return (per_pixel * hidden).sum() / Y.shape[0]


def conditional_vae_loss(logits: Tensor, Y: Tensor, hidden: Tensor,
                         q: tuple[Tensor, Tensor], p: tuple[Tensor, Tensor],
                         beta: float = 1.0) -> dict[str, Tensor]:
    """The negative conditional ELBO of lesson 5, each part in nats per image:

        -log p(y | x) <= E_q[ -log p(y | x, z) ] + KL( q(z | x, y) || p(z | x) )

    ``q`` and ``p`` are the ``(mu, logvar)`` of the recognition and the prior network; ``beta``
    weights the KL as in lesson 2. Returns ``{"loss", "recon", "kl"}``.
    """
    for name, pair in (("q", q), ("p", p)):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(f"{name} must be the pair (mu, logvar) of a Gaussian, got "
                            f"{type(pair).__name__}" + (f" of length {len(pair)}"
                                                        if isinstance(pair, tuple | list) else ""))
    check_beta(beta, tensor=True)
    recon = masked_reconstruction_loss(logits, Y, hidden)
    kl = kl_divergence(*q, *p)
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl}
