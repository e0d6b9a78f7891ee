"""Lesson 1: the reconstruction loss, the autoencoder's layers, and random codes in a box."""

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..losses import reconstruction_loss
from .core import compare, run_cases, seeded


def check_reconstruction_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Lesson 1, exercise 1: ``reconstruction_loss(logits, X)`` in nats per image."""
    g = seeded(1)
    logits = torch.randn(4, 1, 28, 28, generator=g) * 3
    X = torch.rand(4, 1, 28, 28, generator=g)

    def case(logits: Tensor, X: Tensor) -> Callable[[], str | None]:
        expected = reconstruction_loss(logits, X)
        n = X.shape[0]
        wrong = {
            "the value is 784 times too small: sum over the pixels of an image, don't average "
            "them": expected / 784,
            f"the value is {n} times too large: average over the images of the batch": expected * n,
            "the value is far too small: sum over pixels, then average over images": expected / (784 * n),
            "the sign is flipped: a loss is the negative log-likelihood, >= 0": -expected,
        }
        return lambda: compare(fn(logits.clone(), X.clone()), expected, wrong)

    run_cases("reconstruction_loss", [
        ("a batch of 4 images", case(logits, X)),
        ("a batch of one image", case(logits[:1], X[:1])),
        ("confident logits (+-40)", lambda: _stable_hint(fn)),
    ], answer=fn)


def _stable_hint(fn: Callable[[Tensor, Tensor], Tensor]) -> str | None:
    logits = torch.full((2, 1, 28, 28), 40.0)
    logits[1] = -40.0
    X = torch.zeros(2, 1, 28, 28)
    X[0] = 1.0
    got = fn(logits, X)
    if isinstance(got, Tensor) and not torch.isfinite(got).all():
        return ("the loss is inf or nan when the decoder is very sure: work on logits with a "
                "numerically stable function rather than log(sigmoid(...))")
    return compare(got, reconstruction_loss(logits, X), atol=1e-3)


def check_autoencoder_layers(fn: Callable[[int], tuple[nn.Module, nn.Module]]) -> None:
    """Lesson 1, exercise 2: ``build_autoencoder_layers(latent_dim) -> (encoder, decoder)``
    mapping flat images ``[N, 784]`` to codes ``[N, latent_dim]`` and codes back to logits."""

    def shapes(latent_dim: int, n: int) -> str | None:
        encoder, decoder = fn(latent_dim)
        X = torch.rand(n, 784)
        Z = encoder(X)
        if tuple(Z.shape) != (n, latent_dim):
            return (f"the encoder should map [{n}, 784] to [{n}, {latent_dim}], "
                    f"got {list(Z.shape)}")
        out = decoder(Z)
        if tuple(out.shape) != (n, 784):
            return f"the decoder should map [{n}, {latent_dim}] to [{n}, 784], got {list(out.shape)}"
        return None

    def nonlinear() -> str | None:
        encoder, decoder = fn(2)
        kinds = [type(m) for m in [*encoder.modules(), *decoder.modules()]]
        if not any(issubclass(k, (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.Tanh, nn.SiLU, nn.ELU))
                   for k in kinds):
            return ("there is no nonlinearity between the layers: a stack of Linear layers is "
                    "one linear map, which can only learn what PCA learns")
        return None

    def returns_logits() -> str | None:
        _, decoder = fn(2)
        last = list(decoder.modules())[-1]
        if isinstance(last, (nn.Sigmoid, nn.ReLU, nn.Tanh, nn.Softmax)):
            return (f"the decoder ends with {type(last).__name__}: it should return logits "
                    "(any real number); the loss applies the sigmoid itself")
        return None

    run_cases("autoencoder layers", [
        ("latent_dim=2, a batch of 8", lambda: shapes(2, 8)),
        ("latent_dim=5, a batch of one", lambda: shapes(5, 1)),
        ("the layers", nonlinear),
        ("the decoder's output", returns_logits),
    ], answer=fn)


def check_uniform_in_box(fn: Callable[[Tensor, int], Tensor]) -> None:
    """Lesson 1, exercise 3: ``uniform_in_box(Z, n)``: n points uniform in the codes' box."""
    Z = torch.tensor([[-1.0, 2.0], [3.0, 5.0], [0.0, 4.0]])
    low, high = torch.tensor([-1.0, 2.0]), torch.tensor([3.0, 5.0])

    def spread() -> str | None:
        P = fn(Z, 20_000)
        if not isinstance(P, Tensor) or tuple(P.shape) != (20_000, 2):
            return f"expected a tensor of shape [20000, 2], got {getattr(P, 'shape', type(P))}"
        if (P < low).any() or (P > high).any():
            return ("some points fall outside the box [-1, 3] x [2, 5] that holds the codes: "
                    "scale and shift uniform numbers from [0, 1)")
        width = high - low
        if ((P.min(0).values - low) > 0.02 * width).any() or \
                ((high - P.max(0).values) > 0.02 * width).any():
            return "the points do not reach the edges of the box [-1, 3] x [2, 5]"
        if ((P.std(0) - width / math.sqrt(12)).abs() > 0.05 * width).any():
            return ("the points are not spread evenly over the box: draw them from a uniform "
                    "distribution, not a normal one")
        return None

    def one() -> str | None:
        P = fn(Z, 1)
        return None if tuple(P.shape) == (1, 2) else f"n=1 should give shape [1, 2], got {list(P.shape)}"

    run_cases("uniform_in_box", [("20,000 points in [-1, 3] x [2, 5]", spread),
                                        ("a single point", one)], answer=fn)

