"""Self-checks for the lessons' exercises (lessons 1-5).

Each ``check_<exercise>(your_function)`` runs your code on cases with known answers and prints
one line: a pass, "not done yet", or a hint naming the case that failed and what was expected.
It never shows a traceback, and the hints say what is wrong without writing the code for you.
The answers are compared with the course's reference implementations in ``cvae_helpers``.

For autograding, set the environment variable ``CVAE_STRICT_CHECKS=1``: a check that does not
pass then raises ``CheckFailed`` (an ``AssertionError``) after printing its line.
"""

import math
import os
from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

from .data import HIDDEN, mask_input, visible_mask
from .evaluate import importance_weighted_nll, label_entropy, redraw_as
from .losses import (
    conditional_vae_loss,
    kl_divergence,
    masked_reconstruction_loss,
    reconstruction_loss,
    vae_loss,
)
from .models import CVAE, condition

STRICT_ENV = "CVAE_STRICT_CHECKS"

# A case is a description and a test that returns None when the answer is right, else a hint.
Case = tuple[str, Callable[[], str | None]]


class CheckFailed(AssertionError):
    """Raised by a check that did not pass, when ``CVAE_STRICT_CHECKS`` is set."""


def strict() -> bool:
    return os.environ.get(STRICT_ENV, "").lower() not in ("", "0", "false", "no")


def run_cases(exercise: str, cases: Iterable[Case]) -> bool:
    """Run the cases in order, stop at the first that fails, print the verdict; True on pass."""
    for description, test in cases:
        try:
            hint = test()
        except NotImplementedError:
            return _verdict(exercise, "not done yet: replace `raise NotImplementedError()` with "
                            "your code, run that cell, then run this check again.")
        except Exception as err:  # a learner's bug: report it as a hint, not a traceback
            hint = f"your code raised {type(err).__name__}: {err}"
        if hint:
            return _verdict(exercise, f"{description}: {hint}")
    print(f"PASS {exercise}: all cases agree with the reference.")
    return True


def _verdict(exercise: str, message: str) -> bool:
    print(f"FAIL {exercise}: {message}")
    if strict():
        raise CheckFailed(f"{exercise}: {message}")
    return False


def compare(got: object, expected: Tensor, wrong_answers: dict[str, Tensor] | None = None,
            atol: float = 1e-4, rtol: float = 1e-4) -> str | None:
    """None when ``got`` matches ``expected``; else a hint. ``wrong_answers`` maps a hint to
    the value a typical mistake produces, so the hint can name the mistake."""
    if not isinstance(got, Tensor):
        return f"expected a torch.Tensor, got {type(got).__name__}"
    if got.shape != expected.shape:
        return (f"expected shape {list(expected.shape)}, got {list(got.shape)}"
                + (" (a single number: sum over pixels or dimensions, then average over the "
                   "batch)" if expected.dim() == 0 else ""))
    got = got.detach().float()
    if not torch.isfinite(got).all():
        return "the result holds inf or nan: look for log(0) or exp of a large number"
    if torch.allclose(got, expected, atol=atol, rtol=rtol):
        return None
    for hint, wrong in (wrong_answers or {}).items():
        if torch.allclose(got, wrong, atol=atol, rtol=rtol):
            return hint
    if expected.dim() == 0:
        return f"expected {expected.item():.4f}, got {got.item():.4f}"
    return "the values differ from the expected ones"


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- lesson 1

def check_reconstruction_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Lesson 1, exercise 1: ``reconstruction_loss(logits, X)`` in nats per image."""
    g = _seeded(1)
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

    return run_cases("reconstruction_loss", [
        ("a batch of 4 images", case(logits, X)),
        ("a batch of one image", case(logits[:1], X[:1])),
        ("confident logits (+-40)", lambda: _stable_hint(fn)),
    ])


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


def check_autoencoder_layers(fn: Callable[[int], tuple[nn.Module, nn.Module]]) -> bool:
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

    return run_cases("autoencoder layers", [
        ("latent_dim=2, a batch of 8", lambda: shapes(2, 8)),
        ("latent_dim=5, a batch of one", lambda: shapes(5, 1)),
        ("the layers", nonlinear),
        ("the decoder's output", returns_logits),
    ])


def check_uniform_in_box(fn: Callable[[Tensor, int], Tensor]) -> bool:
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

    return run_cases("uniform_in_box", [("20,000 points in [-1, 3] x [2, 5]", spread),
                                        ("a single point", one)])


# ----------------------------------------------------------------------------- lesson 2

def check_reparameterize(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Lesson 2, exercise 1: ``reparameterize(mu, logvar)`` draws z = mu + sigma * eps."""

    def moments() -> str | None:
        torch.manual_seed(0)
        mu = torch.full((200_000, 1), 3.0)
        logvar = torch.full((200_000, 1), math.log(4.0))  # variance 4, standard deviation 2
        z = fn(mu, logvar)
        if not isinstance(z, Tensor) or z.shape != mu.shape:
            return f"expected a tensor shaped like mu {list(mu.shape)}, got {getattr(z, 'shape', z)}"
        mean, std = z.mean().item(), z.std().item()
        if abs(mean - 3.0) > 0.05:
            return f"with mu=3 the samples should average 3, got {mean:.2f}"
        if abs(std - 2.0) > 0.05:
            known = {math.log(4.0): "you used logvar itself as the standard deviation",
                     4.0: "you used the variance where the standard deviation belongs",
                     math.sqrt(math.log(4.0)): "you took the square root of logvar, not of the variance"}
            for value, hint in known.items():
                if abs(std - value) < 0.05:
                    return f"with logvar=log 4 the standard deviation should be 2, got {std:.2f}: {hint}"
            return (f"with logvar=log 4 (variance 4) the samples' standard deviation should be 2, "
                    f"got {std:.2f}")
        return None

    def gradients() -> str | None:
        mu = torch.zeros(5, 3, requires_grad=True)
        logvar = torch.zeros(5, 3, requires_grad=True)
        z = fn(mu, logvar)
        if not z.requires_grad:
            return ("z is cut off from the graph: build it from mu and logvar with tensor "
                    "arithmetic, drawing only the noise at random")
        z.sum().backward()
        if mu.grad is None or logvar.grad is None or logvar.grad.abs().sum() == 0:
            return "gradients must reach both mu and logvar"
        return None

    def zero_variance() -> str | None:
        mu = torch.randn(1, 4, generator=_seeded(2))
        z = fn(mu, torch.full((1, 4), -60.0))
        return compare(z, mu, atol=1e-6) and ("with a variance of almost zero (logvar=-60), z "
                                             "should equal mu")

    return run_cases("reparameterize", [
        ("200,000 draws with mu=3, logvar=log 4", moments),
        ("gradients", gradients),
        ("a batch of one with zero variance", zero_variance),
    ])


def check_kl_divergence(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Lesson 2, exercise 2: ``kl_divergence(mu, logvar)`` = KL(q || N(0, I)), nats per image."""
    g = _seeded(3)

    def case(mu: Tensor, logvar: Tensor) -> Callable[[], str | None]:
        expected = kl_divergence(mu, logvar)
        n, d = mu.shape
        sigma = logvar  # what a learner gets by reading logvar as the standard deviation
        as_sigma = 0.5 * (mu ** 2 + sigma ** 2 - torch.log(sigma ** 2) - 1).sum(1).mean()
        wrong = {
            "the sign is flipped: a KL divergence is never negative": -expected,
            "twice the expected value: check the factor 1/2": 2 * expected,
            f"{d} times too small: sum over the latent dimensions, don't average": expected / d,
            f"{n} times too large: average over the images of the batch": expected * n,
            "it looks like logvar was used as the standard deviation": as_sigma,
        }
        return lambda: compare(fn(mu.clone(), logvar.clone()), expected, wrong)

    mu, logvar = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    return run_cases("kl_divergence", [
        ("q equal to the prior (mu=0, logvar=0)", case(torch.zeros(3, 4), torch.zeros(3, 4))),
        ("a batch of 6 random Gaussians in 4-D", case(mu, logvar)),
        ("a batch of one", case(mu[:1], logvar[:1])),
        ("a nearly zero variance (logvar=-20)", case(mu[:2], torch.full((2, 4), -20.0))),
    ])


def check_negative_elbo(fn: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Lesson 2, exercise 3: ``negative_elbo(logits, X, mu, logvar)`` = recon + KL."""
    g = _seeded(4)

    def case(n: int) -> Callable[[], str | None]:
        logits = torch.randn(n, 1, 28, 28, generator=g)
        X = torch.rand(n, 1, 28, 28, generator=g)
        mu, logvar = torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g)
        parts = vae_loss(logits, X, mu, logvar)
        wrong = {
            "this is the ELBO itself; return the loss to minimise, -ELBO": -parts["loss"],
            "this is recon - KL: the KL term is added to the reconstruction loss":
                parts["recon"] - parts["kl"],
            "only the reconstruction term: add the KL term": parts["recon"],
            "only the KL term: add the reconstruction term": parts["kl"],
        }
        return lambda: compare(fn(logits, X, mu, logvar), parts["loss"], wrong)

    return run_cases("negative_elbo", [("a batch of 5", case(5)), ("a batch of one", case(1))])


# ----------------------------------------------------------------------------- lesson 3

def check_condition(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Lesson 3, exercise 1: ``condition(h, y)`` appends the one-hot label to each row."""
    g = _seeded(5)

    def case(n: int, d: int) -> Callable[[], str | None]:
        h = torch.randn(n, d, generator=g)
        y = torch.randint(0, 10, (n,), generator=g)
        expected = condition(h, y)
        wrong = {"the one-hot label should come after the features, not before":
                 torch.cat([expected[:, d:], expected[:, :d]], dim=1)}

        def test() -> str | None:
            got = fn(h, y)
            if isinstance(got, Tensor) and got.shape == (n, d + 1):
                return "the label was appended as one number: append its one-hot vector (10 columns)"
            return compare(got, expected, wrong)
        return test

    return run_cases("condition", [("8 rows of 784 features", case(8, 784)),
                                   ("one row of a 2-D code", case(1, 2))])


def _small_cvae() -> CVAE:
    torch.manual_seed(6)
    return CVAE(latent_dim=3, hidden=(32,)).eval()


def check_sample_digits(fn: Callable[[CVAE, int, int, float], Tensor]) -> bool:
    """Lesson 3, exercise 2: ``sample_digits(model, digit, n, temperature)``."""
    model = _small_cvae()

    def shape() -> str | None:
        X = fn(model, 4, 6, 1.0)
        if not isinstance(X, Tensor) or tuple(X.shape) != (6, 1, 28, 28):
            return f"expected images [6, 1, 28, 28], got {getattr(X, 'shape', type(X).__name__)}"
        if X.min() < 0 or X.max() > 1:
            return "expected pixel probabilities in [0, 1]: the decoder returns logits"
        if (X[0] - X[1]).abs().max() < 1e-6:
            return "all samples are identical at temperature 1: draw a new z for each image"
        return None

    def at_zero_temperature(digit: int) -> Callable[[], str | None]:
        def test() -> str | None:
            with torch.no_grad():
                expected = torch.sigmoid(model.decode(torch.zeros(2, 3),
                                                      torch.full((2,), digit)))
            got = fn(model, digit, 2, 0.0)
            hint = compare(got, expected, atol=1e-5)
            return hint and (f"at temperature 0 every z is the prior's mean, so both images "
                             f"should be the decoding of z = 0 with label {digit}; {hint}")
        return test

    return run_cases("sample_digits", [("6 samples of digit 4", shape),
                                       ("temperature 0, digit 3", at_zero_temperature(3)),
                                       ("temperature 0, digit 7", at_zero_temperature(7))])


def check_redraw_as(fn: Callable[[CVAE, Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Lesson 3, exercise 3: ``redraw_as(model, X, y, new_y)`` keeps the style, changes the
    digit."""
    model = _small_cvae()
    g = _seeded(7)
    X = torch.rand(5, 1, 28, 28, generator=g)
    y = torch.tensor([0, 1, 2, 3, 4])
    new_y = torch.tensor([9, 8, 7, 6, 5])
    with torch.no_grad():
        mu_new, _ = model.encode(X, new_y)
        wrong = {"encode with the image's own label y; only the decoder gets new_y":
                 torch.sigmoid(model.decode(mu_new, new_y)),
                 "decode under new_y, not the original label": redraw_as(model, X, y, y)}

    def deterministic() -> str | None:
        first, second = fn(model, X, y, new_y), fn(model, X, y, new_y)
        if isinstance(first, Tensor) and isinstance(second, Tensor) and \
                first.shape == second.shape and not torch.allclose(first, second):
            return "two calls gave different images: use the mean code mu, not a random sample"
        return None

    return run_cases("redraw_as", [
        ("5 images, the same twice", deterministic),
        ("5 images", lambda: compare(fn(model, X, y, new_y), redraw_as(model, X, y, new_y),
                                     wrong, atol=1e-5)),
        ("a batch of one", lambda: compare(fn(model, X[:1], y[:1], new_y[:1]),
                                           redraw_as(model, X[:1], y[:1], new_y[:1]), atol=1e-5)),
    ])


# ----------------------------------------------------------------------------- lesson 4

def check_importance_weighted_nll(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Lesson 4, exercise 1: ``importance_weighted_nll(log_p_x_given_z, log_p_z, log_q_z)``,
    each ``[k, N]``, returns -L_k of each image, ``[N]``."""
    g = _seeded(8)

    def case(k: int, n: int, log_px_z: float) -> Callable[[], str | None]:
        # log p(x|z) around log_px_z, log p(z) around -20, log q(z|x) around +15, +- a few nats
        terms = [3 * torch.randn(k, n, generator=g) + mean for mean in (log_px_z, -20.0, 15.0)]
        expected = importance_weighted_nll(*terms)
        log_w = terms[0] + terms[1] - terms[2]
        wrong = {
            "this is -ELBO, the average of log w: average the weights w themselves, in log "
            "space (torch.logsumexp), then take the log": -log_w.mean(0),
            "the 1/k is missing: subtract log k after the logsumexp": expected - math.log(k),
            "the sign is flipped: return -L_k, a positive number of nats":  -expected,
            "log q(z|x) is added where it should be subtracted: w = p(x|z) p(z) / q(z|x)":
                importance_weighted_nll(terms[0], terms[1], -terms[2]),
        }
        return lambda: compare(fn(*(t.clone() for t in terms)), expected, wrong, atol=1e-3)

    return run_cases("importance_weighted_nll", [
        ("k = 5 samples of 3 images", case(5, 3, -100.0)),
        ("k = 1: the bound is the ELBO", case(1, 4, -100.0)),
        ("k = 1000 weights far below float32's range (log w near -1000)", case(1000, 2, -1000.0)),
    ])


def check_active_units(fn: Callable[[Tensor], object]) -> bool:
    """Lesson 4, exercise 2: ``active_units(mu)``, the number of latent dimensions whose mean
    code varies across images by more than 0.01 (variance)."""
    g = _seeded(9)
    spread = torch.tensor([1.0, 0.5, 0.3, 0.05, 0.0, 0.2])  # standard deviations over images
    mu = torch.randn(5000, 6, generator=g) * spread + torch.tensor([0, 3.0, 0, 2.0, -1.0, 0])

    def case(mu: Tensor, expected: int) -> Callable[[], str | None]:
        def test() -> str | None:
            got = fn(mu.clone())
            got = got.item() if isinstance(got, Tensor) and got.numel() == 1 else got
            if not isinstance(got, int | float) or got != int(got):
                return f"expected a whole number of dimensions, got {got!r}"
            if got == expected:
                return None
            var, std = mu.var(dim=0), mu.std(dim=0)
            if got == (std > 0.01).sum().item():
                return "compare the variance of each dimension's mean with 0.01, not its std"
            if got == (mu.mean(dim=0).abs() > 0.01).sum().item():
                return "a dimension is active when mu *varies* across images, not when it is large"
            if got == (mu.var(dim=1) > 0.01).sum().item():
                return "take the variance over the images (dim=0), one value per dimension"
            if got == (var <= 0.01).sum().item():
                return "you counted the inactive dimensions: count those with variance > 0.01"
            return f"expected {expected} active dimensions, got {got}"
        return test

    return run_cases("active_units", [
        ("6 dimensions, 4 of them active", case(mu, 4)),
        ("a collapsed code: every image has the same mean", case(mu[:, [3, 4]], 0)),
    ])


def check_label_entropy(fn: Callable[[Tensor], object]) -> bool:
    """Lesson 4, exercise 3: ``label_entropy(labels)``, the entropy of the histogram of
    predicted digits, in nats."""
    g = _seeded(10)
    skewed = torch.cat([torch.zeros(70), torch.ones(20), torch.full((10,), 7)]).long()

    def case(labels: Tensor) -> Callable[[], str | None]:
        expected = torch.tensor(label_entropy(labels))
        wrong = {"this is in bits (log base 2): use the natural log, for nats":
                 expected / math.log(2),
                 "the sign is flipped: an entropy is never negative": -expected}
        return lambda: compare(torch.as_tensor(fn(labels.clone()), dtype=torch.float32),
                               expected, wrong)

    return run_cases("label_entropy", [
        ("1,000 labels, all ten digits equally often", case(torch.arange(10).repeat(100))),
        ("70 zeros, 20 ones and 10 sevens (digits that never occur count 0 log 0 = 0)",
         case(skewed)),
        ("every label the same digit", case(torch.full((50,), 4))),
        ("300 random labels", case(torch.randint(0, 10, (300,), generator=g))),
    ])


# ----------------------------------------------------------------------------- lesson 5

def check_mask_input(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Lesson 5, exercise 1: ``mask_input(X, visible)`` keeps the visible pixels and sets the
    others to -1."""
    g = _seeded(11)
    X = torch.rand(4, 1, 28, 28, generator=g)

    def case(visible: Tensor) -> Callable[[], str | None]:
        expected = mask_input(X, visible)
        wrong = {
            "the hidden pixels are 0, which the network cannot tell from a pixel with no ink: set "
            "them to -1 (data.HIDDEN)": torch.where(visible, X, torch.zeros_like(X)),
            "visible and hidden are swapped: keep the pixels where `visible` is True":
                torch.where(visible, torch.full_like(X, HIDDEN), X),
        }
        return lambda: compare(fn(X.clone(), visible.clone()), expected, wrong)

    def leaves_X_alone() -> str | None:
        X_given = X.clone()
        fn(X_given, visible_mask(2))
        if not torch.equal(X_given, X):
            return ("your function changed the images passed to it: return a new tensor "
                    "(torch.where does) instead of writing -1 into X")
        return None

    per_image = torch.stack([visible_mask(k) for k in (1, 2, 3, 1)])
    return run_cases("mask_input", [
        ("one visible quadrant", case(visible_mask(1))),
        ("the input images are left unchanged", leaves_X_alone),
        ("three visible quadrants", case(visible_mask(3))),
        ("a different mask for each image", case(per_image)),
    ])


def _completion_case(g: torch.Generator, n: int,
                     shared_mask: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """Logits, whole digits and the hidden-pixel mask: one mask per image, or one ``[1, 28,
    28]`` mask for all (``shared_mask``), as the lessons pass both."""
    logits = 2 * torch.randn(n, 1, 28, 28, generator=g)
    Y = torch.rand(n, 1, 28, 28, generator=g)
    if shared_mask:
        return logits, Y, ~visible_mask(1)
    hidden = ~torch.stack([visible_mask(k) for k in (1, 2, 3)])[torch.arange(n) % 3]
    return logits, Y, hidden


def check_masked_reconstruction_loss(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Lesson 5, exercise 2: ``masked_reconstruction_loss(logits, Y, hidden)``: the binary
    cross-entropy of the hidden pixels, summed over them, averaged over the images."""
    g = _seeded(12)

    def case(n: int, shared_mask: bool = False) -> Callable[[], str | None]:
        logits, Y, hidden = _completion_case(g, n, shared_mask)
        expected = masked_reconstruction_loss(logits, Y, hidden)
        everything = reconstruction_loss(logits, Y)
        wrong = {
            "every pixel was scored: sum over the hidden pixels only": everything,
            "only the visible pixels were scored: the hidden ones are those to predict":
                everything - expected,
            f"{n} times too large: average over the images of the batch": expected * n,
        }
        return lambda: compare(fn(logits, Y, hidden), expected, wrong)

    return run_cases("masked_reconstruction_loss", [
        ("a batch of 6, one mask per image", case(6)),
        ("a batch of one", case(1)),
        ("a batch of 4 sharing one [1, 28, 28] mask", case(4, shared_mask=True)),
    ])


def check_conditional_elbo(fn: Callable[..., Tensor]) -> bool:
    """Lesson 5, exercise 3: ``conditional_negative_elbo(logits, Y, hidden, q, p)``: the
    hidden pixels' reconstruction loss + KL(q(z|x,y) || p(z|x)), nats per image."""
    g = _seeded(13)

    def case(n: int) -> Callable[[], str | None]:
        logits, Y, hidden = _completion_case(g, n)
        q = (torch.randn(n, 4, generator=g), torch.randn(n, 4, generator=g))
        p = (torch.randn(n, 4, generator=g), torch.randn(n, 4, generator=g))
        parts = conditional_vae_loss(logits, Y, hidden, q, p)
        wrong = {
            "the KL is measured against N(0, I): compare q with the learned prior p(z|x), "
            "kl_divergence(mu_q, logvar_q, mu_p, logvar_p)":
                parts["recon"] + kl_divergence(*q),
            "the KL is the wrong way round: KL(q || p), with q's (mu, logvar) first":
                parts["recon"] + kl_divergence(*p, *q),
            "every pixel was scored: the reconstruction term counts the hidden pixels only":
                reconstruction_loss(logits, Y) + parts["kl"],
            "only the reconstruction term: add the KL term": parts["recon"],
        }
        return lambda: compare(fn(logits, Y, hidden, q, p), parts["loss"], wrong)

    return run_cases("conditional_negative_elbo", [("a batch of 6", case(6)),
                                                   ("a batch of one", case(1))])
