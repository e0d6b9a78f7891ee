"""Lesson 2: the reparameterization trick, the KL divergence (closed form and Monte Carlo), the
negative ELBO, and the VAE module built from them."""

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..losses import kl_divergence, vae_loss
from ..models import VAE
from .core import compare, run_cases, seeded


def _close(got: Tensor, target: Tensor, rel: float = 0.03, abs_: float = 0.01) -> bool:
    return bool(((got - target).abs() <= rel * target.abs() + abs_).all())


def check_reparameterize(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Lesson 2, exercise 1: ``reparameterize(mu, logvar)`` draws z = mu + sigma * eps, with
    sigma = exp(logvar / 2) and fresh noise eps ~ N(0, I) for every entry."""

    def fresh_noise() -> str | None:
        torch.manual_seed(1)
        z = fn(torch.ones(500, 3), torch.ones(500, 3))
        if not isinstance(z, Tensor) or z.shape != (500, 3):
            return f"expected a tensor shaped like mu [500, 3], got {getattr(z, 'shape', z)}"
        if z.std(dim=0).max() < 1e-6:
            return ("every image got the same noise: draw eps shaped like mu "
                    "(torch.randn_like), one number per image and dimension")
        if (z[:, 0] - z[:, 1]).abs().max() < 1e-6:
            return "every dimension got the same noise: draw one number per image and dimension"
        return None

    # Four dimensions with four variances, so that no slip can agree with sigma by chance (as
    # 0.5 * variance does at variance 4, or anything does at variance 1).
    means = torch.tensor([3.0, -1.0, 0.0, 2.0])
    variances = torch.tensor([4.0, 0.25, 9.0, 1.0])
    sds, logvars = variances.sqrt(), variances.log()

    def moments() -> str | None:
        torch.manual_seed(0)
        n = 100_000
        z = fn(means.expand(n, 4).clone(), logvars.expand(n, 4).clone())
        if not isinstance(z, Tensor) or z.shape != (n, 4):
            return f"expected a tensor shaped like mu [{n}, 4], got {getattr(z, 'shape', z)}"
        z = z.detach()
        if not torch.isfinite(z).all():
            return ("z holds nan or inf: sigma = exp(logvar / 2) is defined for every logvar "
                    "(a square root or a log of logvar is not)")
        mean, std = z.mean(dim=0), z.std(dim=0)
        within = 5 * std / math.sqrt(n) + 0.01  # 5 standard errors of each mean
        if ((mean - means).abs() > within).any():
            if ((mean - means - 0.5 * sds).abs() <= within).all():
                return ("the noise is uniform (torch.rand_like): draw eps from a standard "
                        "normal, torch.randn_like")
            return (f"with mu = {means.tolist()} the samples should average mu, got "
                    f"{[round(m, 2) for m in mean.tolist()]}: z = mu + sigma * eps")
        if _close(std, sds):
            return None
        known = {
            "you used logvar itself as the standard deviation": logvars.abs(),
            "you used the variance where the standard deviation belongs": variances,
            "0.5 * exp(logvar) is half the variance, not the standard deviation: "
            "sigma = exp(0.5 * logvar)": 0.5 * variances,
            "that is 1 / sigma: sigma = exp(+logvar / 2)": 1 / sds,
            "the noise is uniform (torch.rand_like): draw eps from a standard normal":
                sds / math.sqrt(12),
        }
        for hint, wrong in known.items():
            if _close(std, wrong):
                return (f"with variances {variances.tolist()} the standard deviations should be "
                        f"{sds.tolist()}, got {[round(s, 2) for s in std.tolist()]}: {hint}")
        return (f"with variances {variances.tolist()} the samples' standard deviations should be "
                f"{sds.tolist()}, got {[round(s, 2) for s in std.tolist()]}")

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
        mu = torch.randn(1, 4, generator=seeded(2))
        z = fn(mu, torch.full((1, 4), -60.0))
        return compare(z, mu, atol=1e-6) and ("with a variance of almost zero (logvar=-60), z "
                                             "should equal mu")

    run_cases("reparameterize", [
        ("fresh noise for each of 500 images and 3 dimensions", fresh_noise),
        ("100,000 draws in 4 dimensions with variances 4, 0.25, 9 and 1", moments),
        ("gradients", gradients),
        ("a batch of one with zero variance", zero_variance),
    ], answer=fn)


def check_kl_divergence(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Lesson 2, exercise 2: ``kl_divergence(mu, logvar)`` = KL(q || N(0, I)), nats per image."""
    g = seeded(3)

    def case(mu: Tensor, logvar: Tensor) -> Callable[[], str | None]:
        expected = kl_divergence(mu, logvar)
        n, d = mu.shape

        def formula(per_dim: Tensor) -> Tensor:
            return 0.5 * per_dim.sum(1).mean()

        sigma = logvar  # what a learner gets by reading logvar as the standard deviation
        wrong = {
            "the sign is flipped: a KL divergence is never negative": -expected,
            "twice the expected value: check the factor 1/2": 2 * expected,
            f"{d} times too small: sum over the latent dimensions, don't average": expected / d,
            f"{n} times too large: average over the images of the batch": expected * n,
            "the log-variance term has the wrong sign: KL = 1/2 sum (mu^2 + sigma^2 - log "
            "sigma^2 - 1)": formula(mu ** 2 + logvar.exp() + logvar - 1),
            "logvar stands where the variance belongs: sigma^2 = exp(logvar)":
                formula(mu ** 2 + logvar - logvar - 1),
            "the mean enters squared: mu^2, not mu": formula(mu + logvar.exp() - logvar - 1),
            "the constant is -1, so that q = p costs 0 nats": formula(mu ** 2 + logvar.exp()
                                                                      - logvar + 1),
            "it looks like logvar was used as the standard deviation":
                formula(mu ** 2 + sigma ** 2 - torch.log(sigma ** 2) - 1),
        }
        return lambda: compare(fn(mu.clone(), logvar.clone()), expected, wrong)

    mu, logvar = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    run_cases("kl_divergence", [
        ("q equal to the prior (mu=0, logvar=0)", case(torch.zeros(3, 4), torch.zeros(3, 4))),
        ("a batch of 6 random Gaussians in 4-D", case(mu, logvar)),
        ("a batch of one", case(mu[:1], logvar[:1])),
        ("a nearly zero variance (logvar=-20)", case(mu[:2], torch.full((2, 4), -20.0))),
    ], answer=fn)


def _kl_prior_to_q(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(0, I) || q) in nats per image: what E_{z ~ p}[log p(z) - log q(z)] estimates."""
    return 0.5 * (logvar + (1 + mu ** 2) / logvar.exp() - 1).sum(1).mean()


def _kl_with_scale(mu: Tensor, logvar: Tensor, scale: Tensor) -> float:
    """What E_q[log N(z; mu, scale) - log p(z)] comes to, nats per image, when the codes come
    from q but its log-density is taken with the wrong ``scale``."""
    var = logvar.exp()
    return (-0.5 * var / scale ** 2 - scale.log() + 0.5 * (mu ** 2 + var)).sum(1).mean().item()


def check_monte_carlo_kl(fn: Callable[[Tensor, Tensor, int], tuple[Tensor, Tensor]]) -> None:
    """Lesson 2, exercise 3: ``monte_carlo_kl(mu, logvar, num_draws)`` estimates
    KL(q || N(0, I)) in nats per image from its definition, E_q[log q(z) - log p(z)], and returns
    ``(estimate, standard_error)``."""
    g = seeded(14)

    def as_number(value: object) -> float:
        value = torch.as_tensor(value, dtype=torch.float32)
        if value.numel() != 1:
            raise ValueError(f"expected one number, got a tensor shaped {list(value.shape)}: "
                             "average over the draws and over the images")
        return value.item()

    def case(mu: Tensor, logvar: Tensor, num_draws: int) -> Callable[[], str | None]:
        exact = kl_divergence(mu, logvar).item()
        d = mu.shape[1]
        # The spread of the estimator, computed here from the exact log-density ratio.
        with torch.no_grad():
            sigma = torch.exp(0.5 * logvar)
            z = mu + sigma * torch.randn(num_draws, *mu.shape, generator=seeded(15))
            ratio = (-0.5 * ((z - mu) / sigma) ** 2 - 0.5 * logvar + 0.5 * z ** 2).sum(2)
            spread = ratio.mean(dim=1).std().item()
        std_error = spread / math.sqrt(num_draws)
        tol = 5 * std_error + 1e-3

        def test() -> str | None:
            torch.manual_seed(16)
            result = fn(mu.clone(), logvar.clone(), num_draws)
            if not isinstance(result, tuple | list) or len(result) != 2:
                return "return two numbers: (estimate, standard_error)"
            estimate, error = as_number(result[0]), as_number(result[1])
            if not math.isfinite(estimate) or not math.isfinite(error):
                return "the result holds inf or nan: look for log(0) or exp of a large number"
            if abs(estimate - exact) > tol:
                known = {
                    "the sign is flipped: average log q(z|x) - log p(z)": -exact,
                    f"{d} times too small: sum the log-density ratio over the latent "
                    "dimensions, don't average": exact / d,
                    "the codes were drawn from the prior: draw them from q(z|x), with your "
                    "reparameterize": -_kl_prior_to_q(mu, logvar).item(),
                    "log q(z|x) was computed with the variance as Normal's scale: Normal takes the "
                    "standard deviation, torch.exp(0.5 * logvar)": _kl_with_scale(mu, logvar,
                                                                                  logvar.exp()),
                }
                for hint, value in known.items():  # these estimators spread more: 5% slack
                    if abs(estimate - value) <= tol + 0.05 * abs(value):
                        return hint
                return (f"the estimate {estimate:.3f} is more than 5 standard errors from the "
                        f"exact KL {exact:.3f}")
            if std_error == 0:
                return None if error < 1e-4 else (f"the standard error should be 0 here (every "
                                                  f"draw gives the same ratio), got {error:.4f}")
            if abs(error - std_error * math.sqrt(num_draws)) < 0.25 * spread:
                return ("the standard error is the spread of one draw: divide the standard "
                        "deviation by sqrt(num_draws)")
            if not 0.75 * std_error <= error <= 1.33 * std_error:
                return (f"the standard error should be about {std_error:.4f} (the standard "
                        f"deviation of the per-draw estimates / sqrt(num_draws)), got {error:.4f}")
            return None
        return test

    mu, logvar = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g) - 1
    run_cases("monte_carlo_kl", [
        ("q equal to the prior (mu=0, logvar=0): every draw gives exactly 0",
         case(torch.zeros(4, 3), torch.zeros(4, 3), 100)),
        ("5 Gaussians in 3-D, 20,000 draws", case(mu, logvar, 20_000)),
        ("one Gaussian in 2-D, 5,000 draws", case(mu[:1, :2], logvar[:1, :2], 5_000)),
    ], answer=fn)


def check_negative_elbo(fn: Callable[..., dict[str, Tensor]]) -> None:
    """Lesson 2, exercise 4: ``negative_elbo(logits, X, mu, logvar, beta=1.0)`` returns
    ``{"loss": recon + beta * kl, "recon": recon, "kl": kl}``, nats per image."""
    g = seeded(4)

    def case(n: int, beta: float | None) -> Callable[[], str | None]:
        logits = torch.randn(n, 1, 28, 28, generator=g)
        X = torch.rand(n, 1, 28, 28, generator=g)
        mu, logvar = torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g)
        parts = vae_loss(logits, X, mu, logvar, 1.0 if beta is None else beta)
        recon, kl, b = parts["recon"], parts["kl"], 1.0 if beta is None else beta

        def test() -> str | None:
            got = fn(logits, X, mu, logvar) if beta is None else fn(logits, X, mu, logvar, beta)
            if isinstance(got, Tensor):
                return ("return the parts too, as a dict: {'loss': recon + beta * kl, "
                        "'recon': recon, 'kl': kl}")
            if not isinstance(got, dict) or not {"loss", "recon", "kl"} <= set(got):
                return "return a dict with the keys 'loss', 'recon' and 'kl'"
            wrong_loss = {
                "this is the ELBO itself; return the loss to minimise, -ELBO": -parts["loss"],
                "this is recon - KL: the KL term is added to the reconstruction loss":
                    recon - b * kl,
                "only the reconstruction term: add the KL term": recon,
                "only the KL term: add the reconstruction term": b * kl,
                "beta weighs the reconstruction: it belongs on the KL term": b * recon + kl,
            }
            if b != 1.0:
                wrong_loss["beta was not applied: loss = recon + beta * kl"] = recon + kl
            return (compare(got["loss"], parts["loss"], wrong_loss)
                    or compare(got["recon"], recon, {"'recon' should be the reconstruction "
                                                     "loss alone": parts["loss"]})
                    or compare(got["kl"], kl, {"'kl' should be the KL itself, not beta * KL":
                                               b * kl}))
        return test

    run_cases("negative_elbo", [
        ("a batch of 5, beta left at its default (1)", case(5, None)),
        ("a batch of 4, beta = 4", case(4, 4.0)),
        ("a batch of one, beta = 0.5", case(1, 0.5)),
    ], answer=fn)


def _layer_shapes(stack: object) -> list[tuple[int, int]] | None:
    if not isinstance(stack, nn.Module):
        return None
    return [(m.in_features, m.out_features) for m in stack.modules() if isinstance(m, nn.Linear)]


def check_vae(cls: type) -> None:
    """Lesson 2, exercise 5: ``VAE(latent_dim, hidden)``, an ``nn.Module`` with ``encoder`` and
    ``decoder`` stacks built like ``models.VAE``'s, and ``encode``, ``decode``, ``forward``,
    ``loss`` and ``sample`` that agree with the course's VAE given the same weights and the same
    random seed."""
    built: dict[tuple[int, tuple[int, ...]], tuple[nn.Module, VAE]] = {}

    def pair(latent_dim: int, hidden: tuple[int, ...]) -> tuple[nn.Module, VAE]:
        """Your VAE and the course's with your weights, both in eval mode."""
        key = (latent_dim, hidden)
        if key not in built:
            torch.manual_seed(17)
            mine = cls(latent_dim, hidden)
            ref = VAE(latent_dim=latent_dim, hidden=hidden)
            ref.load_state_dict(mine.state_dict())
            built[key] = mine.eval(), ref.eval()
        return built[key]

    def layers(latent_dim: int, hidden: tuple[int, ...]) -> Callable[[], str | None]:
        def test() -> str | None:
            torch.manual_seed(17)
            mine = cls(latent_dim, hidden)
            if not isinstance(mine, nn.Module):
                return "VAE should be a subclass of torch.nn.Module: class VAE(nn.Module)"
            ref = VAE(latent_dim=latent_dim, hidden=hidden)
            sizes = f"VAE(latent_dim={latent_dim}, hidden={hidden})"
            for part in ("encoder", "decoder"):
                want, got = _layer_shapes(getattr(ref, part)), _layer_shapes(getattr(mine, part, None))
                if got is None:
                    return f"{sizes} has no {part}: store it as self.{part}, an nn.Sequential"
                if got == want:
                    continue
                chain = " -> ".join(str(n) for n in [want[0][0], *(o for _, o in want)])
                if part == "encoder" and got and got[-1][1] == latent_dim:
                    return (f"the encoder ends in {latent_dim} outputs: it returns mu and logvar, "
                            f"2 * latent_dim = {2 * latent_dim} numbers")
                return f"{sizes}'s {part} should map {chain}, got the Linear layers {got}"
            try:
                ref.load_state_dict(mine.state_dict())
            except RuntimeError as err:
                return (f"your layers are not named like models.VAE's, so zoo.keep cannot load "
                        f"them: build each stack with models.mlp ({str(err).splitlines()[0]})")
            torch.manual_seed(17)
            fresh = VAE(latent_dim=latent_dim, hidden=hidden)
            theirs = mine.state_dict()
            if any(not torch.equal(value, theirs[key])
                   for key, value in fresh.state_dict().items()):
                return ("after the same torch.manual_seed your weights differ from models.VAE's: "
                        "build the encoder first, then the decoder, each with models.mlp, so that "
                        "your VAE starts from the course's weights")
            return None
        return test

    X = torch.rand(5, 1, 28, 28, generator=seeded(18))

    def encode(latent_dim: int, hidden: tuple[int, ...]) -> Callable[[], str | None]:
        def test() -> str | None:
            mine, ref = pair(latent_dim, hidden)
            with torch.no_grad():
                got, (mu, logvar) = mine.encode(X), ref.encode(X)
            if not isinstance(got, tuple | list) or len(got) != 2:
                return "encode should return two tensors: mu, logvar"
            if isinstance(got[0], Tensor) and got[0].shape == logvar.shape and \
                    torch.allclose(got[0], logvar, atol=1e-5):
                return ("mu and logvar are swapped: the first latent_dim outputs of the encoder "
                        "are mu, the others logvar (chunk(2, dim=1))")
            return (compare(got[0], mu, atol=1e-5)
                    or compare(got[1], logvar, {"return the log-variance, not sigma":
                                                torch.exp(0.5 * logvar)}, atol=1e-5))
        return test

    def decode(latent_dim: int, hidden: tuple[int, ...]) -> Callable[[], str | None]:
        def test() -> str | None:
            mine, ref = pair(latent_dim, hidden)
            Z = torch.randn(5, latent_dim, generator=seeded(19))
            with torch.no_grad():
                got, logits = mine.decode(Z), ref.decode(Z)
            if isinstance(got, Tensor) and got.shape == (5, 784):
                return "reshape the decoder's output to images [N, 1, 28, 28] (.view(-1, 1, 28, 28))"
            return compare(got, logits, {
                "these are probabilities: return the decoder's logits, the loss applies the "
                "sigmoid itself": torch.sigmoid(logits)}, atol=1e-5)
        return test

    def forward() -> str | None:
        mine, ref = pair(3, (32, 16))
        with torch.no_grad():
            torch.manual_seed(20)
            got = mine(X)
            torch.manual_seed(20)
            logits, mu, logvar = ref(X)
            torch.manual_seed(20)
            eps = torch.randn_like(mu)  # the noise that forward drew
            wrong = {
                "z = mu: the code was not sampled; draw it with your reparameterize(mu, logvar)":
                    ref.decode(mu),
                "reparameterize takes (mu, logvar), in that order":
                    ref.decode(logvar + torch.exp(0.5 * mu) * eps),
                "these are probabilities: forward returns the decoder's logits":
                    torch.sigmoid(logits),
            }
        if not isinstance(got, tuple | list) or len(got) != 3:
            return "forward should return three tensors: logits, mu, logvar"
        hint = (compare(got[0], logits, wrong, atol=1e-5)
                or compare(got[1], mu, {"return logits, mu, logvar in this order": logvar},
                           atol=1e-5)
                or compare(got[2], logvar, atol=1e-5))
        if hint == "the values differ from the expected ones":
            return ("the logits differ from models.VAE's with the same weights and seed: encode, "
                    "draw z with your reparameterize (does it pass its check?), decode")
        return hint

    def loss(beta: float | None) -> Callable[[], str | None]:
        def test() -> str | None:
            mine, ref = pair(3, (32, 16))
            y = torch.arange(5)
            b = 1.0 if beta is None else beta
            with torch.no_grad():
                torch.manual_seed(21)
                # as train.fit calls it: loss(X, y, beta), positionally
                got = mine.loss(X) if beta is None else mine.loss(X, y, beta)
                torch.manual_seed(21)
                expected = ref.loss(X, y, b)
            if not isinstance(got, dict) or not {"loss", "recon", "kl"} <= set(got):
                return "loss should return a dict with the keys 'loss', 'recon' and 'kl'"
            recon, kl = expected["recon"], expected["kl"]
            wrong = {"the KL is left out of the loss: loss = recon + beta * kl": recon,
                     "the KL is subtracted: loss = recon + beta * kl": recon - b * kl}
            if b != 1.0:
                wrong["beta is not applied: loss = recon + beta * kl"] = recon + kl
            return (compare(got["loss"], expected["loss"], wrong, atol=1e-4)
                    or compare(got["recon"], recon, atol=1e-4)
                    or compare(got["kl"], kl, {"'kl' should be the KL itself, not beta * KL":
                                               b * kl}, atol=1e-4))
        return test

    def sample() -> str | None:
        mine, ref = pair(3, (32, 16))
        with torch.no_grad():
            torch.manual_seed(22)
            got = mine.sample(6)
            torch.manual_seed(22)
            expected = ref.sample(6)
        if not isinstance(got, Tensor) or tuple(got.shape) != (6, 1, 28, 28):
            return f"sample(6) should return images [6, 1, 28, 28], got {getattr(got, 'shape', got)}"
        if got.min() < 0 or got.max() > 1:
            return "return pixel probabilities in [0, 1]: torch.sigmoid of the decoder's logits"
        if (got[0] - got[1]).abs().max() < 1e-6:
            return "every sample is the same image: draw a new z for each sample"
        return compare(got, expected, atol=1e-5) and (
            "the samples differ from models.VAE.sample's with the same seed: draw "
            "z = torch.randn(n, self.latent_dim) from the prior N(0, I) and decode it")

    run_cases("VAE", [
        ("the layers of VAE(latent_dim=3, hidden=(32, 16))", layers(3, (32, 16))),
        ("the layers of VAE(latent_dim=2, hidden=(24,))", layers(2, (24,))),
        ("encode, 5 images", encode(3, (32, 16))),
        ("encode with latent_dim=2", encode(2, (24,))),
        ("decode, 5 codes", decode(3, (32, 16))),
        ("decode with latent_dim=2", decode(2, (24,))),
        ("forward, with the same seed as models.VAE", forward),
        ("loss(X), beta left at its default", loss(None)),
        ("loss(X, y, beta=4), as train.fit calls it", loss(4.0)),
        ("sample(6), with the same seed as models.VAE", sample),
    ], answer=cls)
