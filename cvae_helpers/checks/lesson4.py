"""Lesson 4: the Bernoulli log-likelihood, the importance-weighted bound (its combination in log
space, the log-densities of given codes, and the estimator over a data set), active units, the
KL of each latent dimension, and the entropy of predicted labels."""

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.distributions import Normal

from ..evaluate import (
    _bernoulli_log_prob,
    active_units,
    importance_weighted_nll,
    label_entropy,
    log_densities,
    log_weight_terms,
)
from ..losses import gaussian_kl
from ..models import VAE
from .core import compare, run_cases, seeded

TERMS = ("log p(x|z)", "log p(z)", "log q(z|x)")


def check_bernoulli_log_likelihood(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Lesson 4, exercise 1: ``bernoulli_log_likelihood(logits, X)``, log p(x) of each image
    ``[N]`` under independent Bernoulli pixels with these logits, summed over the pixels."""
    g = seeded(7)

    def case(n: int, binary: bool, scale: float) -> Callable[[], str | None]:
        logits = scale * torch.randn(n, 1, 28, 28, generator=g)
        X = torch.rand(n, 1, 28, 28, generator=g)
        X = (X > 0.5).float() if binary else X
        expected = _bernoulli_log_prob(logits, X)
        wrong = {
            "this is the binary cross-entropy, -log p(x): the log-likelihood is its negative":
                -expected,
            "averaged over the pixels: log p(x) of an image is the sum over its 784 pixels":
                expected / 784,
            "the logits went through sigmoid first: pass the logits themselves to "
            "binary_cross_entropy_with_logits": _bernoulli_log_prob(torch.sigmoid(logits), X),
            "computed from sigmoid probabilities: confident pixels round to exactly 0 or 1 and "
            "their log is clipped; use binary_cross_entropy_with_logits on the logits":
                -F.binary_cross_entropy(torch.sigmoid(logits), X, reduction="none")
                .flatten(1).sum(1),
        }

        def test() -> str | None:
            got = fn(logits.clone(), X.clone())
            if isinstance(got, Tensor) and got.dim() == 0:
                return f"return one value per image, shaped [{n}], not a sum or mean over images"
            return compare(got, expected, wrong, atol=1e-3)
        return test

    run_cases("bernoulli_log_likelihood", [
        ("5 grey-level images", case(5, binary=False, scale=2.0)),
        ("one image", case(1, binary=False, scale=2.0)),
        ("4 black-and-white images with confident logits (+-40)", case(4, binary=True,
                                                                       scale=40.0)),
    ], answer=fn)


def check_importance_weighted_nll(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """Lesson 4, exercise 2: ``importance_weighted_nll(log_p_x_given_z, log_p_z, log_q_z)``,
    each ``[k, N]``, returns -L_k of each image, ``[N]``."""
    g = seeded(8)

    def case(k: int, n: int, log_px_z: float) -> Callable[[], str | None]:
        # log p(x|z) around log_px_z, log p(z) around -20, log q(z|x) around +15, +- a few nats
        terms = [3 * torch.randn(k, n, generator=g) + mean for mean in (log_px_z, -20.0, 15.0)]
        expected = importance_weighted_nll(*terms)
        log_w = terms[0] + terms[1] - terms[2]
        wrong = {
            "this is -ELBO, the average of log w: average the weights w themselves, in log "
            "space (torch.logsumexp), then take the log": -log_w.mean(0),
            "the 1/k is missing: subtract log k after the logsumexp": expected - math.log(k),
            "the sign is flipped: return -L_k, a positive number of nats": -expected,
            "log q(z|x) is added where it should be subtracted: w = p(x|z) p(z) / q(z|x)":
                importance_weighted_nll(terms[0], terms[1], -terms[2]),
            "log p(z) is subtracted where it should be added: w = p(x|z) p(z) / q(z|x)":
                importance_weighted_nll(terms[0], -terms[1], terms[2]),
            f"k is the number of samples, log_w.shape[0] = {k}, not the number of images":
                expected + math.log(n) - math.log(k),
        }

        def test() -> str | None:
            got = fn(*(t.clone() for t in terms))
            if isinstance(got, Tensor) and got.shape == (k,) and k != n:
                return ("one value per sample, not per image: take the logsumexp over the "
                        "samples, dimension 0")
            return compare(got, expected, wrong, atol=1e-3)
        return test

    run_cases("importance_weighted_nll", [
        ("k = 5 samples of 3 images", case(5, 3, -100.0)),
        ("k = 1: the bound is the ELBO", case(1, 4, -100.0)),
        ("k = 10 samples of one image", case(10, 1, -90.0)),
        ("k = 1000 weights far below float32's range (log w near -1000)", case(1000, 2, -1000.0)),
    ], answer=fn)


def _small_vae(latent_dim: int, seed: int, logvar_shift: float = -1.5,
               logit_shift: float = 0.0, ignore_z: bool = False) -> VAE:
    """A small VAE with random weights, for the checks. ``logvar_shift`` moves the encoder's
    log-variances away from 0 (where variance and standard deviation agree); ``ignore_z`` makes
    a model whose decoder ignores z and whose q(z|x) is N(0, I), the prior: then q(z|x) is the
    true posterior, every weight is p(x), and -L_k = -log p(x) exactly for any draws."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = VAE(latent_dim=latent_dim, hidden=(32,)).eval()
    with torch.no_grad():
        model.encoder[-1].bias[latent_dim:] += logvar_shift
        model.decoder[-1].bias += logit_shift
        if ignore_z:
            model.encoder[-1].weight.zero_()
            model.encoder[-1].bias.zero_()
            model.decoder[0].weight.zero_()
    return model


def _terms_hint(got: object, expected: tuple[Tensor, ...],
                wrong: list[dict[str, Tensor]]) -> str | None:
    """Compare the three log-density terms; name the term that is wrong."""
    if not isinstance(got, tuple | list) or len(got) != 3:
        return ("return three tensors, (log p(x|z), log p(z), log q(z|x)), got "
                f"{type(got).__name__}")
    k, n = expected[0].shape
    for name, g, e, w in zip(TERMS, got, expected, wrong, strict=True):
        if isinstance(g, Tensor) and g.shape != e.shape:
            if g.shape == (k * n,):
                return f"{name}: reshape the k * N rows into [k, N] = [{k}, {n}]"
            if g.dim() == 3 and g.shape[:2] == (k, n):
                return f"{name} is shaped {list(g.shape)}: sum over the latent dimensions"
        others = {f"{name} holds {other}: return (log p(x|z), log p(z), log q(z|x)) in this "
                  "order": value for other, value in zip(TERMS, expected, strict=True)
                  if other != name}
        hint = compare(g, e, {**w, **others}, atol=1e-3)
        if hint:
            return f"{name}: {hint}"
    return None


def check_log_densities(fn: Callable[[VAE, Tensor, Tensor], tuple[Tensor, Tensor, Tensor]]
                        ) -> None:
    """Lesson 4, exercise 3: ``log_densities(model, X, Z)``, the three log-densities of given
    codes ``Z`` ``[k, N, latent_dim]``, each ``[k, N]``."""
    g = seeded(11)

    def case(latent_dim: int, k: int, n: int, logvar_shift: float) -> Callable[[], str | None]:
        model = _small_vae(latent_dim, seed=12 + latent_dim, logvar_shift=logvar_shift)
        X = torch.rand(n, 1, 28, 28, generator=g)
        Z = 1.5 * torch.randn(k, n, latent_dim, generator=g)
        with torch.no_grad():
            expected = log_densities(model, X, Z)
            mu, logvar = model.encode(X)
            logits = model.decode(Z.reshape(k * n, latent_dim))
        repeated = X.repeat(k, 1, 1, 1)

        def log_q(scale: Tensor) -> Tensor:
            return Normal(mu, scale).log_prob(Z).sum(-1)

        wrong = [
            {"the sign is flipped: log p(x|z) is minus the binary cross-entropy": -expected[0],
             "averaged over the pixels: sum over the 784 pixels of each image":
                 expected[0] / 784,
             "the logits went through sigmoid first: the decoder returns logits":
                 _bernoulli_log_prob(torch.sigmoid(logits), repeated).view(k, n)},
            {"averaged over the latent dimensions: sum the log-density of each coordinate":
                 expected[1] / latent_dim,
             "the sign is flipped: a log-density of a code is log_prob itself": -expected[1]},
            {"the variance exp(logvar) was used as the scale: Normal takes the standard "
             "deviation, sigma = exp(logvar / 2)": log_q(torch.exp(logvar)),
             "the scale is 1 / sigma: sigma = exp(+logvar / 2)": log_q(torch.exp(-0.5 * logvar)),
             "averaged over the latent dimensions: sum the log-density of each coordinate":
                 expected[2] / latent_dim,
             "the sign is flipped: a log-density of a code is log_prob itself": -expected[2]},
        ]

        def test() -> str | None:
            with torch.no_grad():
                got = fn(model, X.clone(), Z.clone())
            return _terms_hint(got, expected, wrong)
        return test

    run_cases("log_densities", [
        ("k = 3 codes of 4 images, a 2-D code", case(2, 3, 4, logvar_shift=-1.5)),
        ("k = 1 code of one image, a 5-D code", case(5, 1, 1, logvar_shift=-3.0)),
        ("k = 6 codes of 2 images, a 20-D code with sigma > 1", case(20, 6, 2, logvar_shift=1.0)),
    ], answer=fn)


def _terms(model: VAE, X: Tensor, k: int, draw: Callable[[Tensor, Tensor, int], Tensor],
           per_pass: int) -> tuple[Tensor, ...]:
    """The three ``[k, N]`` log-density terms of X with the codes drawn by ``draw(mu, logvar,
    k)``, ``per_pass`` images at a time: a typical mistake in the estimator's loop."""
    parts = []
    for start in range(0, X.shape[0], per_pass):
        Xb = X[start:start + per_pass]
        mu, logvar = model.encode(Xb)
        parts.append(log_densities(model, Xb, draw(mu, logvar, k)))
    return tuple(torch.cat(terms, dim=1) for terms in zip(*parts, strict=True))


def _draw(mu: Tensor, logvar: Tensor, k: int) -> Tensor:
    """k codes z = mu + sigma * eps of each image, ``[k, N, latent_dim]``, as the reference
    draws them."""
    return mu + torch.exp(0.5 * logvar) * torch.randn(k, *mu.shape)


# Typical mistakes in drawing k codes per image, and the hints that name them.
_WRONG_DRAWS: dict[str, Callable[[Tensor, Tensor, int], Tensor]] = {
    "the codes were drawn with the variance exp(logvar) as the standard deviation: sigma = "
    "exp(logvar / 2)": lambda mu, lv, k: mu + torch.exp(lv) * torch.randn(k, *mu.shape),
    "every image shares one noise draw: draw eps shaped [k, n, latent_dim], one per code of "
    "each image": lambda mu, lv, k: mu + torch.exp(0.5 * lv) * torch.randn(k, 1, mu.shape[1]),
    "the codes are the means mu: draw z = mu + sigma * eps":
        lambda mu, lv, k: mu.expand(k, *mu.shape),
    "your draws differ from the reference's with the same seed: draw the noise as "
    "torch.randn(k, n, latent_dim), [k, n, ...] in this order":
        lambda mu, lv, k: mu + torch.exp(0.5 * lv) * torch.randn(mu.shape[0], k,
                                                                 mu.shape[1]).transpose(0, 1),
}


def check_log_weight_terms(fn: Callable[..., tuple[Tensor, Tensor, Tensor]]) -> None:
    """Lesson 4, exercise 4: ``log_weight_terms(model, X, k, rows_per_pass)``, the three
    log-density terms of k codes z_i ~ q(z|x) of each image of ``X``, each ``[k, N]``, computed
    ``max(1, rows_per_pass // k)`` images at a time; with the same seed, the codes of
    ``evaluate.log_weight_terms``."""
    g = seeded(13)

    def shape_hint(got: object, k: int, n: int) -> str | None:
        if not isinstance(got, tuple | list) or len(got) != 3:
            return ("return three tensors, (log p(x|z), log p(z), log q(z|x)), got "
                    f"{type(got).__name__}")
        if not all(isinstance(t, Tensor) for t in got):
            return f"expected three tensors, got {[type(t).__name__ for t in got]}"
        if all(t.dim() == 2 and t.shape[0] > k and t.shape[1] < n for t in got):
            return ("the passes are stacked along the samples: concatenate them along the "
                    "images, dim=1")
        if any(t.shape != (k, n) for t in got):
            return f"expected three tensors shaped [k, N] = [{k}, {n}], got " \
                   f"{[list(t.shape) for t in got]}"
        if any(t.requires_grad for t in got):
            return ("the terms carry gradients: compute them under torch.no_grad(), or k = 1000 "
                    "keeps every decode in memory for a backward pass")
        return None

    def exact() -> str | None:
        model = _small_vae(3, seed=14, ignore_z=True)
        X = torch.rand(4, 1, 28, 28, generator=g)
        with torch.no_grad():
            expected = -_bernoulli_log_prob(model.decode(torch.zeros(4, 3)), X)
            got = fn(model, X.clone(), 10, 20)
        return shape_hint(got, 10, 4) or compare(importance_weighted_nll(*got), expected,
                                                 atol=1e-3)

    def case(latent_dim: int, k: int, n: int, rows_per_pass: int,
             logit_shift: float = 0.0, binary: bool = False) -> Callable[[], str | None]:
        model = _small_vae(latent_dim, seed=15 + latent_dim, logit_shift=logit_shift)
        X = torch.rand(n, 1, 28, 28, generator=g)
        X = (X > 0.9).float() if binary else X
        seed = int(torch.randint(0, 2**31, (1,), generator=g))
        per_pass = max(1, rows_per_pass // k)

        def seeded_run(run: Callable[[], tuple[Tensor, ...]]) -> tuple[Tensor, ...]:
            torch.manual_seed(seed)
            with torch.no_grad():
                return run()

        def test() -> str | None:
            with torch.random.fork_rng():
                torch.manual_seed(seed)
                got = fn(model, X.clone(), k, rows_per_pass)
                expected = seeded_run(lambda: log_weight_terms(model, X, k=k,
                                                               rows_per_pass=rows_per_pass))
                wrong = {hint: seeded_run(lambda d=draw: _terms(model, X, k, d, per_pass))
                         for hint, draw in _WRONG_DRAWS.items()}
                wrong[f"all {n} images went through in one pass: process max(1, rows_per_pass "
                      "// k) images at a time"] = seeded_run(lambda: _terms(model, X, k, _draw, n))
            shape = shape_hint(got, k, n)
            if shape:
                return shape
            hint = _terms_hint(got, expected, [{h: w[i] for h, w in wrong.items()}
                                               for i in range(3)])
            if hint and hint.endswith("the values differ from the expected ones"):
                return (f"{hint.split(':')[0]} differs from the reference's with the same seed: "
                        "encode each batch, draw eps = torch.randn(k, n, latent_dim), take "
                        "z = mu + sigma * eps, then call your log_densities (does it pass its "
                        "check?)")
            return hint
        return test

    run_cases("log_weight_terms", [
        ("a model whose q(z|x) is its true posterior: -L_k = -log p(x) exactly", exact),
        ("k = 10 codes of 6 images, 3 images per pass, a 2-D code", case(2, 10, 6, 30)),
        ("k = 1 code of 4 images, a 5-D code", case(5, 1, 4, 50_000)),
        ("k = 1000 codes of 3 images, one image per pass", case(5, 1000, 3, 1000)),
        ("a decoder sure of the wrong pixels (log w near -1000), k = 100, 7 images", case(
            2, 100, 7, 200, logit_shift=1.0, binary=True)),
    ], answer=fn)


def check_active_units(fn: Callable[..., object]) -> None:
    """Lesson 4, exercise 5: ``active_units(mu, threshold=0.01)``, the number of latent
    dimensions whose mean code varies across images with variance above ``threshold``."""
    g = seeded(9)
    spread = torch.tensor([1.0, 0.5, 0.3, 0.05, 0.0, 0.15])  # standard deviations over images
    mu = torch.randn(5000, 6, generator=g) * spread + torch.tensor([0, 3.0, 0, 2.0, -1.0, 0])
    wide = torch.randn(300, 20, generator=g) * torch.linspace(0, 0.6, 20) + 0.5

    def case(mu: Tensor, threshold: float | None = None) -> Callable[[], str | None]:
        t = 0.01 if threshold is None else threshold
        expected = active_units(mu, t)

        def test() -> str | None:
            got = fn(mu.clone()) if threshold is None else fn(mu.clone(), threshold)
            if isinstance(got, Tensor):
                return "return a Python int (int(...) of the count), not a tensor"
            if not isinstance(got, int) or isinstance(got, bool):
                return f"expected a whole number of dimensions (a Python int), got {got!r}"
            if got == expected:
                return None
            var, std = mu.var(dim=0), mu.std(dim=0)
            if got == (std > t).sum().item():
                return f"compare the variance of each dimension's mean with {t}, not its std"
            if t != 0.01 and got == (var > 0.01).sum().item():
                return f"use the threshold argument ({t} here), not a fixed 0.01"
            if got == (mu.mean(dim=0).abs() > t).sum().item():
                return "a dimension is active when mu *varies* across images, not when it is large"
            if got == (mu.var(dim=1) > t).sum().item():
                return "take the variance over the images (dim=0), one value per dimension"
            if got == (var <= t).sum().item():
                return f"you counted the inactive dimensions: count those with variance > {t}"
            return f"expected {expected} active dimensions, got {got}"
        return test

    run_cases("active_units", [
        ("6 dimensions, 4 of them active", case(mu)),
        ("a collapsed code: every image has the same mean", case(mu[:, [3, 4]])),
        ("the same 6 dimensions with threshold = 0.2", case(mu, 0.2)),
        ("20 dimensions of 300 images, threshold = 0.05", case(wide, 0.05)),
    ], answer=fn)


def check_kl_per_dimension(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Lesson 4, exercise 6: ``kl_per_dimension(mu, logvar)``, KL(q(z_j|x) || N(0, 1)) of each
    latent dimension j averaged over the images, ``[d]``, nats."""
    g = seeded(16)

    def case(mu: Tensor, logvar: Tensor) -> Callable[[], str | None]:
        expected = gaussian_kl(mu, logvar).mean(dim=0)
        n, d = mu.shape
        wrong = {
            f"{n} times too large: average over the images, don't sum": expected * n,
            "twice the expected value: check the factor 1/2": 2 * expected,
            "the sign is flipped: a KL divergence is never negative": -expected,
            "logvar was used as the variance: the variance is exp(logvar)":
                (0.5 * (mu ** 2 - 1)).mean(dim=0),
        }

        def test() -> str | None:
            got = fn(mu.clone(), logvar.clone())
            if isinstance(got, Tensor) and got.shape == (n,) and n != d:
                return ("one value per image: average over the images (dim=0), one value per "
                        "latent dimension")
            if isinstance(got, Tensor) and got.dim() == 0:
                return f"return one KL per latent dimension, shaped [{d}], not their total"
            return compare(got, expected, wrong)
        return test

    mu, logvar = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    inactive_mu, inactive_lv = torch.randn(50, 20, generator=g), -torch.rand(50, 20, generator=g)
    inactive_mu[:, 5:], inactive_lv[:, 5:] = 0.0, 0.0
    run_cases("kl_per_dimension", [
        ("q equal to the prior (mu=0, logvar=0)", case(torch.zeros(3, 4), torch.zeros(3, 4))),
        ("6 images, a 4-D code", case(mu, logvar)),
        ("one image, a 3-D code", case(mu[:1, :3], logvar[:1, :3])),
        ("50 images, a 20-D code with 15 inactive dimensions", case(inactive_mu, inactive_lv)),
    ], answer=fn)


def check_label_entropy(fn: Callable[[Tensor], object]) -> None:
    """Lesson 4, exercise 7: ``label_entropy(labels)``, the entropy of the histogram of
    predicted digits, in nats."""
    g = seeded(10)
    skewed = torch.cat([torch.zeros(70), torch.ones(20), torch.full((10,), 7)]).long()

    def case(labels: Tensor) -> Callable[[], str | None]:
        expected = torch.tensor(label_entropy(labels))
        counts = torch.bincount(labels, minlength=10)
        wrong = {"this is in bits (log base 2): use the natural log, for nats":
                 expected / math.log(2),
                 "the sign is flipped: an entropy is never negative": -expected,
                 "the log of the counts: take the log of the shares p_c = count / N":
                 expected - math.log(len(labels)),
                 "averaged over the digits: the entropy is the sum over the digits":
                 expected / (counts > 0).sum()}

        def test() -> str | None:
            got = fn(labels.clone())
            if isinstance(got, Tensor) and got.numel() != 1:
                return f"return one number, the entropy, not a tensor shaped {list(got.shape)}"
            return compare(torch.as_tensor(got, dtype=torch.float32), expected, wrong)
        return test

    run_cases("label_entropy", [
        ("1,000 labels, all ten digits equally often", case(torch.arange(10).repeat(100))),
        ("70 zeros, 20 ones and 10 sevens (digits that never occur count 0 log 0 = 0)",
         case(skewed)),
        ("every label the same digit", case(torch.full((50,), 4))),
        ("300 random labels", case(torch.randint(0, 10, (300,), generator=g))),
    ], answer=fn)
