"""The lessons' models: MLP autoencoder (lesson 1), VAE (lesson 2), CVAE (lesson 3), the two
digit classifiers that score generated samples (lessons 1 and 3), and the two models that
complete a partly hidden digit (lesson 5).

Images go in as ``[N, 1, 28, 28]`` in [0, 1]. Decoders return logits ``[N, 1, 28, 28]``: the
pixel probabilities are ``torch.sigmoid(logits)``, and the loss works on logits directly because
that is numerically stable. Each model keeps its constructor arguments in ``self.config`` so a
checkpoint can say which architecture it holds.

Each model owns its objective: ``model.loss(X, y, beta)`` returns ``{"loss": ..., parts...}``
for one batch, in nats per image, so one training loop serves them all (lesson 1's, and
``train.fit``). ``y`` is the digit labels, or for lesson 5's models the number of visible
quadrants of each image (``data.random_quadrant_counts``); a model that needs neither ignores it.

Each model checks what it is given (shapes, dtypes, pixel and label values, with the checks
of ``inputs``) and says how to fix a careless input, rather than failing deep inside torch or
returning a wrong number. Its ``y_kind`` says what its ``loss`` takes as ``y``.
"""

import numbers
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .data import IMAGE_SHAPE, NUM_CLASSES, NUM_PIXELS, mask_input, visible_masks
from .inputs import (
    check_codes,
    check_count,
    check_gaussian,
    check_images,
    check_labels,
    check_layer_sizes,
    check_quadrant_counts,
    check_same_count,
    check_temperature,
)
from .losses import conditional_vae_loss, masked_reconstruction_loss, reconstruction_loss, vae_loss

Losses = dict[str, Tensor]


def mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers of the given sizes with a ReLU between each pair (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def reparameterize(mu: Tensor, logvar: Tensor) -> Tensor:
    """Draw z ~ N(mu, diag(sigma^2)) as z = mu + sigma * eps, eps ~ N(0, I) (lesson 2).

    ``logvar`` is log sigma^2, so sigma = exp(logvar / 2): the standard deviation, the square
    root of the variance. The randomness sits in eps alone, so gradients reach mu and logvar.
    """
    check_gaussian(mu, logvar)
    sigma = torch.exp(0.5 * logvar)
    return mu + sigma * torch.randn_like(sigma)


def one_hot(y: Tensor, num_classes: int = NUM_CLASSES) -> Tensor:
    """Labels ``[N]`` as float one-hot rows ``[N, num_classes]`` (lesson 3)."""
    check_labels(y, None, num_classes)
    return F.one_hot(y.long(), num_classes).float()


def condition(h: Tensor, y: Tensor, num_classes: int = NUM_CLASSES) -> Tensor:
    """Append the one-hot label to each row: ``[N, D]`` and ``[N]`` -> ``[N, D + num_classes]``
    (lesson 3). The CVAE conditions both its encoder and its decoder this way."""
    if not isinstance(h, Tensor) or h.dim() != 2:
        raise ValueError(f"condition appends labels to rows [N, D], got "
                         f"{list(h.shape) if isinstance(h, Tensor) else type(h).__name__}: "
                         "flatten images first, X.flatten(1)")
    check_labels(y, h.shape[0], num_classes)
    if y.device != h.device:
        raise ValueError(f"the labels are on {y.device} but the rows on {h.device}: move them "
                         f"with y.to({str(h.device)!r})")
    return torch.cat([h, one_hot(y, num_classes)], dim=1)


class _LatentModel(nn.Module):
    """What the generative models share: a latent size, and logits shaped as images."""

    latent_dim: int
    y_kind: str | None = None  # what ``loss`` takes as y: nothing, "labels" or "quadrants"

    def _images(self, logits: Tensor) -> Tensor:
        return logits.view(-1, *IMAGE_SHAPE)


class Autoencoder(_LatentModel):
    """A deterministic MLP autoencoder: 784 -> hidden -> latent_dim -> reversed hidden -> 784."""

    def __init__(self, latent_dim: int = 2, hidden: Sequence[int] = (512, 256)):
        super().__init__()
        latent_dim, hidden = check_count(latent_dim, "latent_dim"), check_layer_sizes(hidden)
        self.config = {"latent_dim": latent_dim, "hidden": list(hidden)}
        self.latent_dim = latent_dim
        self.encoder = mlp([NUM_PIXELS, *hidden, latent_dim])
        self.decoder = mlp([latent_dim, *reversed(hidden), NUM_PIXELS])

    def encode(self, X: Tensor) -> Tensor:
        """Images ``[N, 1, 28, 28]`` -> codes ``[N, latent_dim]``."""
        check_images(X, self)
        return self.encoder(X.flatten(1))

    def decode(self, Z: Tensor) -> Tensor:
        """Codes ``[N, latent_dim]`` -> pixel logits ``[N, 1, 28, 28]``."""
        check_codes(Z, self)
        return self._images(self.decoder(Z))

    def forward(self, X: Tensor) -> Tensor:
        return self.decode(self.encode(X))

    def loss(self, X: Tensor, y: Tensor | None = None, beta: float = 1.0) -> Losses:
        """The reconstruction loss of ``X`` (lesson 1); the labels ``y`` are not used."""
        recon = reconstruction_loss(self(X), X)
        return {"loss": recon, "recon": recon}


class VAE(_LatentModel):
    """A variational autoencoder (lesson 2).

    The encoder outputs the mean and log-variance of a diagonal Gaussian q(z|x); the decoder maps
    a sample z to pixel logits of p(x|z); the prior p(z) is N(0, I).
    """

    def __init__(self, latent_dim: int = 20, hidden: Sequence[int] = (512, 512)):
        super().__init__()
        latent_dim, hidden = check_count(latent_dim, "latent_dim"), check_layer_sizes(hidden)
        self.config = {"latent_dim": latent_dim, "hidden": list(hidden)}
        self._build(latent_dim, hidden, num_classes=0)

    def _build(self, latent_dim: int, hidden: Sequence[int], num_classes: int) -> None:
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        # A CVAE appends a one-hot label to both inputs (num_classes > 0); a VAE appends nothing.
        self.encoder = mlp([NUM_PIXELS + num_classes, *hidden, 2 * latent_dim])
        self.decoder = mlp([latent_dim + num_classes, *reversed(hidden), NUM_PIXELS])

    def encode(self, X: Tensor) -> tuple[Tensor, Tensor]:
        """Images -> ``(mu, logvar)``, each ``[N, latent_dim]``."""
        check_images(X, self)
        mu, logvar = self.encoder(X.flatten(1)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, Z: Tensor) -> Tensor:
        """Codes ``[N, latent_dim]`` -> pixel logits ``[N, 1, 28, 28]``."""
        check_codes(Z, self)
        return self._images(self.decoder(Z))

    def forward(self, X: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Returns ``(logits, mu, logvar)``: encode, draw z by reparameterization, decode."""
        mu, logvar = self.encode(X)
        return self.decode(reparameterize(mu, logvar)), mu, logvar

    def loss(self, X: Tensor, y: Tensor | None = None, beta: float = 1.0) -> Losses:
        """``recon + beta * kl`` with one draw of z per image (lesson 2): the negative ELBO when
        beta = 1. The labels ``y`` are not used."""
        logits, mu, logvar = self(X)
        return vae_loss(logits, X, mu, logvar, beta)

    @torch.no_grad()
    def sample(self, n: int, labels: Tensor | None = None, temperature: float = 1.0) -> Tensor:
        """Draw ``n`` images from the model: z ~ N(0, temperature^2 I), pixels = sigmoid(decode(z)).

        Returns pixel probabilities ``[n, 1, 28, 28]`` in [0, 1] (the decoder's mean image).
        """
        if labels is not None:
            raise ValueError("a VAE takes no labels; use a CVAE to choose the digit")
        check_count(n, "n")
        check_temperature(temperature)
        Z = temperature * torch.randn(n, self.latent_dim, device=_device_of(self))
        return torch.sigmoid(self.decode(Z))


class CVAE(VAE):
    """A conditional VAE (lesson 3): the one-hot label is appended to the encoder's input and to
    the decoder's input, so q(z|x, y) and p(x|z, y); the prior p(z) stays N(0, I)."""

    y_kind = "labels"

    def __init__(self, latent_dim: int = 20, hidden: Sequence[int] = (512, 512),
                 num_classes: int = NUM_CLASSES):
        nn.Module.__init__(self)
        latent_dim, hidden = check_count(latent_dim, "latent_dim"), check_layer_sizes(hidden)
        num_classes = check_count(num_classes, "num_classes", minimum=2)
        self.config = {"latent_dim": latent_dim, "hidden": list(hidden), "num_classes": num_classes}
        self._build(latent_dim, hidden, num_classes)

    def encode(self, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        """Images and labels -> ``(mu, logvar)``, each ``[N, latent_dim]``."""
        check_images(X, self)
        mu, logvar = self.encoder(condition(X.flatten(1), y, self.num_classes)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, Z: Tensor, y: Tensor) -> Tensor:  # type: ignore[override]
        """Codes ``[N, latent_dim]`` and labels ``[N]`` -> pixel logits ``[N, 1, 28, 28]``."""
        check_codes(Z, self)
        return self._images(self.decoder(condition(Z, y, self.num_classes)))

    def forward(self, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:  # type: ignore[override]
        mu, logvar = self.encode(X, y)
        return self.decode(reparameterize(mu, logvar), y), mu, logvar

    def loss(self, X: Tensor, y: Tensor, beta: float = 1.0) -> Losses:
        """``recon + beta * kl`` of the images ``X`` with their labels ``y`` (lesson 3)."""
        logits, mu, logvar = self(X, y)
        return vae_loss(logits, X, mu, logvar, beta)

    @torch.no_grad()
    def sample(self, n: int, labels: Tensor | int | None = None,
               temperature: float = 1.0) -> Tensor:
        """Draw ``n`` images of the requested digits: z ~ N(0, temperature^2 I).

        ``labels`` is one digit for all, or ``n`` digits; ``None`` cycles 0, 1, ..., 9, 0, ...
        Returns pixel probabilities ``[n, 1, 28, 28]``.
        """
        check_count(n, "n")
        check_temperature(temperature)
        device = _device_of(self)
        if labels is None:
            labels = torch.arange(n) % self.num_classes
        elif isinstance(labels, numbers.Integral) and not isinstance(labels, bool):
            labels = torch.full((n,), int(labels))
        elif isinstance(labels, Tensor) and labels.dim() == 0:
            labels = labels.expand(n)
        elif not isinstance(labels, Tensor):
            raise TypeError(f"labels must be one digit (an int) or a tensor of {n} digits, got "
                            f"{type(labels).__name__}: torch.tensor([...]) makes one")
        labels = labels.to(device)
        Z = temperature * torch.randn(n, self.latent_dim, device=device)
        return torch.sigmoid(self.decode(Z, labels))


class CompletionNet(nn.Module):
    """The deterministic baseline of lesson 5: a masked digit in, one guess of every pixel out.

    An MLP 784 -> hidden -> 784 from ``data.mask_input``'s image (hidden pixels at -1) to pixel
    logits ``[N, 1, 28, 28]``; only the hidden pixels' logits are scored.
    """

    y_kind = "quadrants"

    def __init__(self, hidden: Sequence[int] = (500, 500)):
        super().__init__()
        hidden = check_layer_sizes(hidden)
        self.config = {"hidden": list(hidden)}
        self.net = mlp([NUM_PIXELS, *hidden, NUM_PIXELS])

    def forward(self, X_in: Tensor) -> Tensor:
        check_images(X_in, self, masked=True)
        return self.net(X_in.flatten(1)).view(-1, *IMAGE_SHAPE)

    def loss(self, X: Tensor, y: Tensor, beta: float = 1.0) -> Losses:
        """The hidden pixels' loss when digit n of ``X`` shows ``y[n]`` quadrants (lesson 5)."""
        visible = _quadrant_masks(y, X)
        recon = masked_reconstruction_loss(self(mask_input(X, visible)), X, ~visible)
        return {"loss": recon, "recon": recon}


class CompletionCVAE(_LatentModel):
    """The CVAE of Sohn et al. (2015) for completing a masked digit (lesson 5).

    ``x`` is the masked input (``data.mask_input``), ``y`` the whole digit, of which the hidden
    pixels are the output to predict. Three MLPs, as in the paper:

    - recognition q(z | x, y): sees the masked input and the whole digit (training only);
    - prior p(z | x): sees the masked input alone, so it is what we sample from at test time;
    - generation p(y | x, z): the masked input and a code -> pixel logits ``[N, 1, 28, 28]``.
    """

    y_kind = "quadrants"

    def __init__(self, latent_dim: int = 20, hidden: Sequence[int] = (500, 500)):
        super().__init__()
        latent_dim, hidden = check_count(latent_dim, "latent_dim"), check_layer_sizes(hidden)
        self.config = {"latent_dim": latent_dim, "hidden": list(hidden)}
        self.latent_dim = latent_dim
        self.recognition = mlp([2 * NUM_PIXELS, *hidden, 2 * latent_dim])
        self.prior = mlp([NUM_PIXELS, *hidden, 2 * latent_dim])
        self.generation = mlp([latent_dim + NUM_PIXELS, *hidden, NUM_PIXELS])

    def recognize(self, X_in: Tensor, Y: Tensor) -> tuple[Tensor, Tensor]:
        """``(mu, logvar)`` of q(z | x, y), each ``[N, latent_dim]``."""
        check_images(X_in, self, masked=True)
        check_images(Y, self)
        check_same_count(len(Y), "whole digits Y", len(X_in), "masked inputs",
                         "give one of each per image")
        mu, logvar = self.recognition(torch.cat([X_in.flatten(1), Y.flatten(1)], 1)).chunk(2, 1)
        return mu, logvar

    def prior_params(self, X_in: Tensor) -> tuple[Tensor, Tensor]:
        """``(mu, logvar)`` of the learned prior p(z | x), each ``[N, latent_dim]``."""
        check_images(X_in, self, masked=True)
        mu, logvar = self.prior(X_in.flatten(1)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, Z: Tensor, X_in: Tensor) -> Tensor:
        """Codes ``[N, latent_dim]`` and masked inputs -> pixel logits ``[N, 1, 28, 28]``."""
        check_codes(Z, self)
        check_images(X_in, self, masked=True)
        check_same_count(len(Z), "codes", len(X_in), "masked inputs",
                         "give one of each per image")
        return self._images(self.generation(torch.cat([Z, X_in.flatten(1)], 1)))

    def forward(self, X_in: Tensor, Y: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor],
                                                         tuple[Tensor, Tensor]]:
        """Training pass: ``(logits, (mu_q, logvar_q), (mu_p, logvar_p))`` with z ~ q(z|x, y)."""
        q = self.recognize(X_in, Y)
        return self.decode(reparameterize(*q), X_in), q, self.prior_params(X_in)

    def loss(self, X: Tensor, y: Tensor, beta: float = 1.0) -> Losses:
        """The negative conditional ELBO when digit n of ``X`` shows ``y[n]`` quadrants: the
        hidden pixels' loss + ``beta`` * KL(q(z | x, y) || p(z | x)) (lesson 5)."""
        visible = _quadrant_masks(y, X)
        logits, q, p = self(mask_input(X, visible), X)
        return conditional_vae_loss(logits, X, ~visible, q, p, beta)

    @torch.no_grad()
    def sample(self, X_in: Tensor, n: int = 1) -> Tensor:
        """``n`` completions of each masked input, z ~ p(z | x): pixel probabilities
        ``[n, N, 1, 28, 28]``. The visible pixels are not copied in; the caller may."""
        check_count(n, "n")
        mu, logvar = self.prior_params(X_in)
        Z = reparameterize(mu.repeat(n, 1), logvar.repeat(n, 1))
        probs = torch.sigmoid(self.decode(Z, X_in.repeat(n, 1, 1, 1)))
        return probs.view(n, *X_in.shape)


class _DigitClassifier(nn.Module):
    """What the two classifiers share: their objective."""

    y_kind = "labels"

    def loss(self, X: Tensor, y: Tensor, beta: float = 1.0) -> Losses:
        """The cross-entropy of the true labels ``y``, nats per image (``beta`` is not used)."""
        logits = self(X)
        check_labels(y, X.shape[0])
        return {"loss": F.cross_entropy(logits, y)}


class Classifier(_DigitClassifier):
    """A small convolutional digit classifier, the judge of generated samples (lesson 1).

    Two 5x5 convolutions with max-pooling, then a linear layer; returns class logits ``[N, 10]``.
    """

    def __init__(self, channels: Sequence[int] = (16, 32)):
        super().__init__()
        channels = check_layer_sizes(channels, "channels")
        if len(channels) != 2:
            raise ValueError(f"channels lists the two convolutions' channel counts, e.g. "
                             f"[16, 32], got {channels}")
        self.config = {"channels": list(channels)}
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Linear(c2 * 7 * 7, NUM_CLASSES)

    def forward(self, X: Tensor) -> Tensor:
        check_images(X, self)
        return self.head(self.features(X).flatten(1))


class MLPClassifier(_DigitClassifier):
    """A second judge of another architecture, a multilayer perceptron 784 -> hidden -> 10
    (lesson 3): a score that both judges agree on is a property of the samples, not of one
    classifier's quirks."""

    def __init__(self, hidden: Sequence[int] = (256, 256)):
        super().__init__()
        hidden = check_layer_sizes(hidden)
        self.config = {"hidden": list(hidden)}
        self.net = mlp([NUM_PIXELS, *hidden, NUM_CLASSES])

    def forward(self, X: Tensor) -> Tensor:
        check_images(X, self)
        return self.net(X.flatten(1))


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _quadrant_masks(counts: Tensor, X: Tensor) -> Tensor:
    """``visible_masks(counts)``, one per image of ``X``."""
    check_quadrant_counts(counts, X.shape[0] if isinstance(X, Tensor) and X.dim() else None)
    return visible_masks(counts)


# The course's models, and their subclasses: what they take as y is known (their y_kind).
COURSE_MODELS = (Autoencoder, VAE, CompletionNet, CompletionCVAE, _DigitClassifier)
# The course's own classes, which return what their losses expect by construction.
COURSE_CLASSES = (Autoencoder, VAE, CVAE, CompletionNet, CompletionCVAE, Classifier, MLPClassifier)
