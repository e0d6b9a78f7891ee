"""Lesson 5's self-checks: each reference answer, and wrong answers with the words their hint
must contain (run by ``test_checks.py``).

The reference answers are written as the lesson's solutions are, so that each wrong answer is a
one-token edit of one of them: a sign, an index, a mask, an argument's order.
"""

import torch
import torch.nn.functional as F
from torch import nn

from cvae_helpers import checks
from cvae_helpers.data import HIDDEN, NUM_PIXELS, visible_mask
from cvae_helpers.losses import kl_divergence, reconstruction_loss
from cvae_helpers.models import mlp, reparameterize


def mask_input(X, visible):
    return torch.where(visible, X, torch.full_like(X, HIDDEN))


def visible_masks(counts):
    masks = torch.stack([visible_mask(k) for k in (1, 2, 3)])
    return masks[counts - 1]


def masked_reconstruction_loss(logits, Y, hidden):
    per_pixel = F.binary_cross_entropy_with_logits(logits, Y, reduction="none")
    return (per_pixel * hidden).sum() / Y.shape[0]


def conditional_negative_elbo(logits, Y, hidden, q, p, beta=1.0):
    mu_q, logvar_q = q
    mu_p, logvar_p = p
    recon = masked_reconstruction_loss(logits, Y, hidden)
    kl = kl_divergence(mu_q, logvar_q, mu_p, logvar_p)
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl}


class CompletionCVAE(nn.Module):
    """The reference module, written as the lesson's solution; each wrong module below is a
    subclass that changes one token of one method."""

    def __init__(self, latent_dim=20, hidden=(500, 500)):
        super().__init__()
        self.latent_dim = latent_dim
        self.recognition = mlp([2 * NUM_PIXELS, *hidden, 2 * latent_dim])
        self.prior = mlp([NUM_PIXELS, *hidden, 2 * latent_dim])
        self.generation = mlp([latent_dim + NUM_PIXELS, *hidden, NUM_PIXELS])

    def recognize(self, X_in, Y):
        h = torch.cat([X_in.flatten(1), Y.flatten(1)], dim=1)
        mu, logvar = self.recognition(h).chunk(2, dim=1)
        return mu, logvar

    def prior_params(self, X_in):
        mu, logvar = self.prior(X_in.flatten(1)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, Z, X_in):
        logits = self.generation(torch.cat([Z, X_in.flatten(1)], dim=1))
        return logits.view(-1, 1, 28, 28)

    def forward(self, X_in, Y):
        q = self.recognize(X_in, Y)
        p = self.prior_params(X_in)
        Z = reparameterize(*q)
        return self.decode(Z, X_in), q, p

    def loss(self, X, counts, beta=1.0):
        visible = visible_masks(counts)
        X_in = mask_input(X, visible)
        logits, q, p = self(X_in, X)
        return conditional_negative_elbo(logits, X, ~visible, q, p, beta)


def per_pixel_bce(logits, Y):
    return F.binary_cross_entropy_with_logits(logits, Y, reduction="none")


def bce_of_probabilities(logits, Y, hidden):
    """Lesson 1's log-of-sigmoid slip: fine for moderate logits, inf or nan for confident ones."""
    P = torch.sigmoid(logits)
    per_pixel = -(Y * torch.log(P) + (1 - Y) * torch.log(1 - P))
    return (per_pixel * hidden).sum() / Y.shape[0]


def elbo_variant(recon_of, kl_of, combine=lambda recon, kl, beta: recon + beta * kl):
    """``conditional_negative_elbo`` with one of its tokens changed."""
    def answer(logits, Y, hidden, q, p, beta=1.0):
        recon, kl = recon_of(logits, Y, hidden), kl_of(q, p)
        return {"loss": combine(recon, kl, beta), "recon": recon, "kl": kl}
    return answer


def masks_variant(order=(1, 2, 3), shift=1, invert=False, cat=False):
    def answer(counts):
        join = torch.cat if cat else torch.stack
        masks = join([visible_mask(k) for k in order])
        chosen = masks[counts - shift]
        return ~chosen if invert else chosen
    return answer


class KLToStandardNormal(CompletionCVAE):
    def loss(self, X, counts, beta=1.0):
        visible = visible_masks(counts)
        X_in = mask_input(X, visible)
        logits, q, p = self(X_in, X)
        zeros = (torch.zeros_like(q[0]), torch.zeros_like(q[1]))
        return conditional_negative_elbo(logits, X, ~visible, q, zeros, beta)


class KLReversed(CompletionCVAE):
    def loss(self, X, counts, beta=1.0):
        visible = visible_masks(counts)
        X_in = mask_input(X, visible)
        logits, q, p = self(X_in, X)
        return conditional_negative_elbo(logits, X, ~visible, p, q, beta)


class PriorSeesTheWholeDigit(CompletionCVAE):
    def forward(self, X_in, Y):
        q = self.recognize(X_in, Y)
        p = self.prior_params(Y)
        Z = reparameterize(*q)
        return self.decode(Z, X_in), q, p


class AllPixelsScored(CompletionCVAE):
    def loss(self, X, counts, beta=1.0):
        visible = visible_masks(counts)
        X_in = mask_input(X, visible)
        logits, q, p = self(X_in, X)
        return conditional_negative_elbo(logits, X, visible | ~visible, q, p, beta)


class VisiblePixelsScored(CompletionCVAE):
    def loss(self, X, counts, beta=1.0):
        visible = visible_masks(counts)
        X_in = mask_input(X, visible)
        logits, q, p = self(X_in, X)
        return conditional_negative_elbo(logits, X, visible, q, p, beta)


class InputNotMasked(CompletionCVAE):
    def loss(self, X, counts, beta=1.0):
        visible = visible_masks(counts)
        X_in = mask_input(X, visible)  # noqa: F841 -- computed, then not used: the slip
        logits, q, p = self(X, X)
        return conditional_negative_elbo(logits, X, ~visible, q, p, beta)


class BetaIgnored(CompletionCVAE):
    def loss(self, X, counts, beta=1.0):
        visible = visible_masks(counts)
        X_in = mask_input(X, visible)
        logits, q, p = self(X_in, X)
        return conditional_negative_elbo(logits, X, ~visible, q, p)


class DecodesTheMean(CompletionCVAE):
    def forward(self, X_in, Y):
        q = self.recognize(X_in, Y)
        p = self.prior_params(X_in)
        Z = q[0]
        return self.decode(Z, X_in), q, p


class RecognitionReadsSwapped(CompletionCVAE):
    def recognize(self, X_in, Y):
        h = torch.cat([Y.flatten(1), X_in.flatten(1)], dim=1)
        mu, logvar = self.recognition(h).chunk(2, dim=1)
        return mu, logvar


class DecodeReturnsProbabilities(CompletionCVAE):
    def decode(self, Z, X_in):
        logits = self.generation(torch.cat([Z, X_in.flatten(1)], dim=1))
        return torch.sigmoid(logits).view(-1, 1, 28, 28)


class GenerationSeesOnlyZ(CompletionCVAE):
    """Pyro's generation network: a code in, no masked input (a layer-size mistake here)."""

    def __init__(self, latent_dim=20, hidden=(500, 500)):
        super().__init__(latent_dim, hidden)
        self.generation = mlp([latent_dim, *hidden, NUM_PIXELS])


class PriorOutputsMuOnly(CompletionCVAE):
    def __init__(self, latent_dim=20, hidden=(500, 500)):
        super().__init__(latent_dim, hidden)
        self.prior = mlp([NUM_PIXELS, *hidden, latent_dim])


# (check, reference answer, [(wrong answer, words its hint must contain), ...])
CASES = [
    (checks.check_mask_input, mask_input, [
        (lambda X, v: torch.where(v, X, torch.full_like(X, 0.0)), "set them to -1"),
        (lambda X, v: torch.where(v, X, torch.full_like(X, -HIDDEN)), "full of ink"),
        (lambda X, v: torch.where(~v, X, torch.full_like(X, HIDDEN)), "swapped"),
        (lambda X, v: X.masked_fill_(~v, HIDDEN), "changed the images passed to it"),
        (lambda X, v: mask_input(X, v[:1]), "a different mask for each image"),
    ]),
    (checks.check_visible_masks, visible_masks, [
        (masks_variant(shift=0), "mask k is at index k - 1"),
        (masks_variant(order=(3, 2, 1)), "wrong order"),
        (masks_variant(invert=True), "True marks the hidden pixels"),
        (masks_variant(cat=True), "torch.stack"),
        (lambda counts: visible_masks(counts).float(), "return bool masks"),
    ]),
    (checks.check_masked_reconstruction_loss, masked_reconstruction_loss, [
        (lambda lg, Y, h: (per_pixel_bce(lg, Y) * ~h).sum() / Y.shape[0],
         "only the visible pixels"),
        (lambda lg, Y, h: (per_pixel_bce(lg, Y) * h).sum(), "times too large"),
        (lambda lg, Y, h: (per_pixel_bce(lg, Y) * h).mean(), "averaged over all the pixels"),
        (lambda lg, Y, h: (per_pixel_bce(lg, Y) * h).sum() / h.sum(),
         "divided by the number of hidden pixels"),
        (lambda lg, Y, h: (per_pixel_bce(lg, Y) * h).sum() / h.shape[0],
         "divided by the mask's first dimension"),
        (lambda lg, Y, h: per_pixel_bce(lg, Y)[h].sum() / Y.shape[0], "sharing one [1, 28, 28]"),
        (lambda lg, Y, h: reconstruction_loss(lg, Y), "every pixel was scored"),
        (bce_of_probabilities, "binary_cross_entropy_with_logits"),
    ]),
    (checks.check_conditional_elbo, conditional_negative_elbo, [
        (elbo_variant(masked_reconstruction_loss, lambda q, p: kl_divergence(*q)), "N(0, I)"),
        (elbo_variant(masked_reconstruction_loss, lambda q, p: kl_divergence(*p, *q)),
         "wrong way round"),
        (elbo_variant(masked_reconstruction_loss,
                      lambda q, p: kl_divergence(q[1], q[0], p[1], p[0])), "in that order"),
        (elbo_variant(lambda lg, Y, h: reconstruction_loss(lg, Y),
                      lambda q, p: kl_divergence(*q, *p)), "every pixel was scored"),
        (elbo_variant(masked_reconstruction_loss, lambda q, p: kl_divergence(*q, *p),
                      lambda recon, kl, beta: recon - beta * kl), "recon - KL"),
        (elbo_variant(masked_reconstruction_loss, lambda q, p: kl_divergence(*q, *p),
                      lambda recon, kl, beta: beta * recon + kl), "beta weighs the reconstruction"),
        (elbo_variant(masked_reconstruction_loss, lambda q, p: kl_divergence(*q, *p),
                      lambda recon, kl, beta: recon + kl), "beta is ignored"),
        (elbo_variant(masked_reconstruction_loss, lambda q, p: kl_divergence(*q, *p),
                      lambda recon, kl, beta: recon), "add the KL term"),
        (lambda lg, Y, h, q, p, beta=1.0: conditional_negative_elbo(lg, Y, h, q, p, beta)["loss"],
         "return a dict"),
    ]),
    (checks.check_completion_cvae, CompletionCVAE, [
        (KLToStandardNormal, "N(0, I)"),
        (KLReversed, "wrong way round"),
        (PriorSeesTheWholeDigit, "the prior network sees only the masked input"),
        (AllPixelsScored, "every pixel was scored"),
        (VisiblePixelsScored, "only the visible pixels were scored"),
        (InputNotMasked, "given the whole digit as x"),
        (BetaIgnored, "beta is ignored"),
        (DecodesTheMean, "not its mean"),
        (RecognitionReadsSwapped, "[masked input, whole digit], in that order"),
        (DecodeReturnsProbabilities, "return the logits"),
        (GenerationSeesOnlyZ, "`generation` is not built"),
        (PriorOutputsMuOnly, "`prior` is not built"),
    ]),
]
