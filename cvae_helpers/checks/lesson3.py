"""Lesson 3: conditioning on the label, the CVAE module, sampling a chosen digit, redrawing a digit
as another, and a linear probe of the codes."""

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..evaluate import linear_probe
from ..losses import vae_loss
from ..models import CVAE, condition
from .core import compare, run_cases, seeded


def check_condition(fn: Callable[..., Tensor]) -> None:
    """Lesson 3, exercise 1: ``condition(h, y, num_classes)`` appends the one-hot label to each
    row."""
    g = seeded(5)

    def case(n: int, d: int, num_classes: int = 10,
             top: int | None = None) -> Callable[[], str | None]:
        h = torch.randn(n, d, generator=g)
        y = torch.randint(0, top or num_classes, (n,), generator=g)
        expected = condition(h, y, num_classes)
        wrong = {"the one-hot label should come after the features, not before":
                 torch.cat([expected[:, d:], expected[:, :d]], dim=1)}
        args = (h, y) if num_classes == 10 else (h, y, num_classes)

        def test() -> str | None:
            got = fn(*args)
            if isinstance(got, Tensor):
                if got.shape == (2 * n, d):
                    return ("the one-hot rows were stacked below h (dim=0): join them beside "
                            "h's columns, along dimension 1")
                if got.shape == (n, d + 1):
                    return ("the label was appended as one number: append its one-hot vector "
                            f"({num_classes} columns)")
                if got.dim() == 2 and got.shape[0] == n and got.shape[1] == d + int(y.max()) + 1 \
                        and int(y.max()) + 1 != num_classes:
                    return ("the one-hot vectors are only as wide as the largest label in the "
                            "batch + 1: pass num_classes to one_hot, so that every row gets "
                            f"{num_classes} columns")
                if got.dim() == 2 and got.shape[0] == n and got.shape[1] == d + 10 \
                        and num_classes != 10:
                    return (f"with num_classes={num_classes} the one-hot vectors have "
                            f"{num_classes} columns: use the argument num_classes, not 10")
            return compare(got, expected, wrong)
        return test

    run_cases("condition", [
        ("4 rows of 10 features", case(4, 10)),
        ("8 rows of 784 features", case(8, 784)),
        ("one row of a 2-D code", case(1, 2, top=5)),
        ("6 rows with num_classes=3", case(6, 5, num_classes=3)),
    ], answer=fn)


def _layer_hint(got: dict[str, torch.Size], expected: dict[str, torch.Size], latent_dim: int,
                hidden: tuple[int, ...], num_classes: int) -> str | None:
    """A hint naming how the learner's layers differ from ``models.CVAE``'s, or None."""
    if set(got) != set(expected):
        return ("the layers are not the course's: build two stacks named encoder and decoder "
                "with models.mlp (an nn.Sequential of Linear and ReLU layers), so that "
                f"zoo.keep can load them; expected the weights {sorted(expected)}, got "
                f"{sorted(got)}")
    first_encoder, first_decoder = got["encoder.0.weight"], got["decoder.0.weight"]
    last_encoder = got[[k for k in expected if k.startswith("encoder")][-2]]
    if first_encoder[1] == 784 and first_decoder[1] == latent_dim:
        return ("neither network sees the label: the encoder takes 784 + num_classes inputs "
                "and the decoder latent_dim + num_classes")
    if first_encoder[1] == 784:
        return ("the encoder's first layer takes 784 inputs, the pixels alone: give it the label "
                f"too (784 + num_classes = {784 + num_classes} inputs), so that z need not "
                "hold the class")
    if first_decoder[1] == latent_dim:
        return (f"the decoder's first layer takes latent_dim = {latent_dim} inputs, the code "
                "alone: give it the label too (latent_dim + num_classes inputs), or it cannot "
                "draw the digit you ask for")
    if last_encoder[0] == latent_dim:
        return ("the encoder returns latent_dim numbers: it should return 2 * latent_dim, the "
                "mean and the log-variance of each dimension")
    if len(set(hidden)) > 1 and got["decoder.0.weight"][0] == hidden[0]:
        return (f"with hidden={list(hidden)} the decoder's hidden sizes are the encoder's in "
                f"reverse order, {list(reversed(hidden))}")
    for key, shape in expected.items():
        if got[key] != shape:
            return f"the weight {key} is shaped {list(got[key])}, expected {list(shape)}"
    return None


def check_cvae(cls: type) -> None:
    """Lesson 3, exercise 2: the learner's ``CVAE(latent_dim, hidden, num_classes=10)`` module,
    given the weights of the course's ``models.CVAE``, computes what it computes: ``encode``,
    ``decode``, ``forward`` (one random draw, the same seed) and ``loss`` at several beta."""
    g = seeded(8)

    def case(latent_dim: int, hidden: tuple[int, ...], n: int) -> Callable[[], str | None]:
        X = torch.rand(n, 1, 28, 28, generator=g)
        y = torch.randint(0, 10, (n,), generator=g)
        Z = torch.randn(n, latent_dim, generator=g)

        def test() -> str | None:
            torch.manual_seed(0)
            reference = CVAE(latent_dim=latent_dim, hidden=hidden)
            mine = cls(latent_dim, hidden)
            if not isinstance(mine, nn.Module):
                return "CVAE should be a torch.nn.Module: class CVAE(nn.Module), super().__init__()"
            expected_shapes = {k: v.shape for k, v in reference.state_dict().items()}
            hint = _layer_hint({k: v.shape for k, v in mine.state_dict().items()},
                               expected_shapes, latent_dim, hidden, 10)
            if hint:
                return hint
            if getattr(mine, "latent_dim", None) != latent_dim:
                return "keep the latent size as the attribute self.latent_dim (sample_digits uses it)"
            mine.load_state_dict(reference.state_dict())
            return (_encode(mine, reference, X, y) or _decode(mine, reference, Z, y)
                    or _forward(mine, reference, X, y) or _loss(mine, reference, X, y))
        return test

    run_cases("CVAE", [
        ("latent_dim=3, hidden=(48, 24), a batch of 5", case(3, (48, 24), 5)),
        ("latent_dim=2, hidden=(32,), a batch of one", case(2, (32,), 1)),
    ], answer=cls)


def _encode(mine: nn.Module, reference: CVAE, X: Tensor, y: Tensor) -> str | None:
    with torch.no_grad():
        got = mine.encode(X, y)
        mu, logvar = reference.encode(X, y)
        label_first = reference.encoder(torch.cat([F.one_hot(y, 10).float(), X.flatten(1)], 1))
    if not (isinstance(got, tuple | list) and len(got) == 2):
        return "encode(X, y) should return two tensors, (mu, logvar)"
    if compare(got[0], logvar) is None and compare(got[1], mu) is None:
        return ("encode returns (logvar, mu): return (mu, logvar), the first half of the "
                "encoder's output being the mean")
    wrong = {"encode: the encoder's input is the flattened image followed by the one-hot label, "
             "condition(X.flatten(1), y); yours puts the label first": label_first.chunk(2, 1)[0]}
    hint = compare(got[0], mu, wrong) or compare(got[1], logvar)
    return hint and f"encode(X, y), mu and logvar: {hint}"


def _decode(mine: nn.Module, reference: CVAE, Z: Tensor, y: Tensor) -> str | None:
    with torch.no_grad():
        got = mine.decode(Z, y)
        expected = reference.decode(Z, y)
        label_first = reference.decoder(torch.cat([F.one_hot(y, 10).float(), Z], 1))
    if isinstance(got, Tensor) and got.shape == (Z.shape[0], 784):
        return "decode should return logits shaped [N, 1, 28, 28]: .view(-1, 1, 28, 28)"
    wrong = {"decode should return logits, not probabilities: leave out the sigmoid":
             torch.sigmoid(expected),
             "decode: the decoder's input is the code followed by the one-hot label, "
             "condition(Z, y); yours puts the label first": label_first.view(expected.shape)}
    hint = compare(got, expected, wrong)
    return hint and f"decode(Z, y): {hint}"


def _forward(mine: nn.Module, reference: CVAE, X: Tensor, y: Tensor) -> str | None:
    with torch.no_grad():
        torch.manual_seed(1)
        got = mine(X, y)
        torch.manual_seed(1)
        logits, mu, logvar = reference(X, y)
        of_the_mean = reference.decode(mu, y)
        torch.manual_seed(1)
        of_a_variance = reference.decode(mu + logvar.exp() * torch.randn_like(mu), y)
    if not (isinstance(got, tuple | list) and len(got) == 3):
        return "forward(X, y) should return three tensors, (logits, mu, logvar)"
    wrong = {"forward decodes the mean code itself: draw z = mu + sigma * eps first, with "
             "reparameterize(mu, logvar)": of_the_mean,
             "forward's z uses the variance where the standard deviation belongs: "
             "reparameterize(mu, logvar)": of_a_variance}
    hint = compare(got[0], logits, wrong) or compare(got[1], mu) or compare(got[2], logvar)
    return hint and f"forward(X, y) with torch.manual_seed(1): {hint}"


def _loss(mine: nn.Module, reference: CVAE, X: Tensor, y: Tensor) -> str | None:
    for beta in (1.0, 0.5, 3.0):
        torch.manual_seed(2)
        got = mine.loss(X, y, beta=beta)
        torch.manual_seed(2)
        expected = reference.loss(X, y, beta=beta)
        if not isinstance(got, dict) or not {"loss", "recon", "kl"} <= set(got):
            return ("loss(X, y, beta) should return a dict with the keys 'loss', 'recon' and "
                    "'kl', as losses.vae_loss does")
        torch.manual_seed(2)
        logits, mu, logvar = reference(X, y)
        wrong = {"the loss ignores beta: the KL term is weighted by beta, recon + beta * kl":
                 vae_loss(logits, X, mu, logvar)["loss"],
                 "the loss weights the reconstruction by beta: it is recon + beta * kl":
                 beta * expected["recon"] + expected["kl"]}
        for part in ("recon", "kl", "loss"):
            hint = compare(got[part], expected[part].detach(),
                           {k: v.detach() for k, v in wrong.items()} if part == "loss" else None)
            if hint:
                return f"loss(X, y, beta={beta})['{part}']: {hint}"
        got["loss"].backward()
        if any(p.grad is None for p in mine.parameters()):
            return "some weights get no gradient from the loss: compute it from the model's output"
        mine.zero_grad()
    return None


class _RecordingCVAE(CVAE):
    """A small CVAE that keeps every code and label its decoder is given, so that a check can
    test how they were drawn."""

    def __init__(self, latent_dim: int):
        torch.manual_seed(6)
        super().__init__(latent_dim=latent_dim, hidden=(16,))
        self.eval()
        self.calls: list[tuple[Tensor, Tensor]] = []

    def decode(self, Z: Tensor, y: Tensor) -> Tensor:  # type: ignore[override]
        self.calls.append((Z.detach().clone(), torch.as_tensor(y).detach().clone()))
        return super().decode(Z, y)


def check_sample_digits(fn: Callable[[CVAE, int, int, float], Tensor]) -> None:
    """Lesson 3, exercise 3: ``sample_digits(model, digit, n, temperature)`` draws n codes
    z ~ N(0, temperature^2 I), decodes them under ``digit`` and returns probabilities. Tested at
    several temperatures, digits and latent sizes, on the codes the decoder was given."""

    def case(latent_dim: int, digit: int, n: int, temperature: float) -> Callable[[], str | None]:
        def test() -> str | None:
            model = _RecordingCVAE(latent_dim)
            try:
                got, error = fn(model, digit, n, temperature), None
            except NotImplementedError:
                raise
            except Exception as err:  # the codes it drew say more than the error: read them first
                got, error = None, err
            if not model.calls:
                if error is not None:
                    raise error
                return "decode the codes with model.decode(Z, labels)"
            Z = torch.cat([z for z, _ in model.calls])
            labels = torch.cat([lb.reshape(-1) for _, lb in model.calls])
            if Z.shape != (n, latent_dim):
                return (f"draw n={n} codes of model.latent_dim={latent_dim} numbers each, Z "
                        f"shaped [{n}, {latent_dim}]; the decoder got {list(Z.shape)}")
            if labels.shape != (n,) or (labels != digit).any():
                return (f"decode every code with the label digit={digit} (torch.full((n,), "
                        f"digit)); the decoder got the labels {sorted(set(labels.tolist()))}")
            hint = _moments(Z, temperature)
            if hint:
                return hint
            if error is not None:
                raise error
            with torch.no_grad():
                logits = CVAE.decode(model, Z, labels)
            wrong = {"expected pixel probabilities in [0, 1]: the decoder returns logits, apply "
                     "torch.sigmoid": logits}
            return compare(got, torch.sigmoid(logits), wrong, atol=1e-5)
        return test

    run_cases("sample_digits", [
        ("2,000 samples of digit 4, 2-D codes, temperature 1", case(2, 4, 2000, 1.0)),
        ("1,000 samples of digit 7, 8-D codes, temperature 0.5", case(8, 7, 1000, 0.5)),
        ("1,000 samples of digit 0, 3-D codes, temperature 2", case(3, 0, 1000, 2.0)),
        ("1,000 samples of digit 9, 8-D codes, temperature 0.8", case(8, 9, 1000, 0.8)),
        ("2 samples of digit 3, temperature 0", case(2, 3, 2, 0.0)),
    ], answer=fn)


def _moments(Z: Tensor, temperature: float) -> str | None:
    """A hint when the codes ``Z`` are not drawn from N(0, temperature^2 I), or None."""
    Z = Z.double()
    if temperature == 0:
        return None if Z.abs().max() < 1e-6 else (
            "at temperature 0 every code is the prior's mean, z = 0 (z = temperature * eps)")
    if Z.shape[0] > 1 and (Z - Z[0]).abs().max() < 1e-6:
        return "all codes are the same: draw a new z for each image"
    mean, std = Z.mean().item(), Z.std().item()
    say = f"at temperature {temperature} the codes' standard deviation should be {temperature}"
    if abs(mean) > 0.1 * temperature:
        if abs(mean - temperature) < 0.1 * temperature:
            return (f"the codes average {mean:.2f}, the temperature: multiply the noise by the "
                    "temperature, z = temperature * eps, don't add it")
        if abs(mean - 0.5 * temperature) < 0.1 * temperature:
            return (f"the codes average {mean:.2f}, not 0: draw eps from N(0, I) with "
                    "torch.randn, not uniformly with torch.rand")
        return f"the codes should average 0 (the prior's mean), they average {mean:.2f}"
    if abs(std - temperature) > 0.08 * temperature:
        known = {temperature ** 2: "you scaled eps by temperature ** 2: z ~ N(0, temperature^2 I) "
                                   "is temperature * eps",
                 math.sqrt(temperature): "you scaled eps by the square root of the temperature: "
                                         "z = temperature * eps",
                 1.0: "the temperature is not used: z = temperature * eps"}
        for value, hint in known.items():
            if abs(std - value) < 0.05 * value:
                return f"{say}, got {std:.2f}: {hint}"
        return f"{say}, got {std:.2f}"
    if Z.shape[1] > 1 and torch.corrcoef(Z.T[:2])[0, 1].abs() > 0.3:
        return "the dimensions of each code are tied together: draw independent noise for each"
    return None


def check_redraw_as(fn: Callable[[CVAE, Tensor, Tensor, Tensor], Tensor]) -> None:
    """Lesson 3, exercise 4: ``redraw_as(model, X, y, new_y)`` keeps the style, changes the
    digit."""
    g = seeded(7)

    def case(latent_dim: int, n: int) -> Callable[[], str | None]:
        torch.manual_seed(6 + latent_dim)
        model = CVAE(latent_dim=latent_dim, hidden=(32,)).eval()
        X = torch.rand(n, 1, 28, 28, generator=g)
        y = torch.randint(0, 10, (n,), generator=g)
        new_y = (y + torch.randint(1, 10, (n,), generator=g)) % 10
        with torch.no_grad():
            mu, logvar = model.encode(X, y)
            mu_new, _ = model.encode(X, new_y)
            expected = torch.sigmoid(model.decode(mu, new_y))
            wrong = {"encode with the image's own label y; only the decoder gets new_y":
                     torch.sigmoid(model.decode(mu_new, new_y)),
                     "decode under new_y, not the original label": torch.sigmoid(
                         model.decode(mu, y)),
                     "keep the mean code mu, the first of encode's outputs, not the "
                     "log-variance": torch.sigmoid(model.decode(logvar, new_y)),
                     "expected pixel probabilities in [0, 1]: the decoder returns logits, apply "
                     "torch.sigmoid": model.decode(mu, new_y)}

        def test() -> str | None:
            first, second = fn(model, X, y, new_y), fn(model, X, y, new_y)
            if isinstance(first, Tensor) and isinstance(second, Tensor) and \
                    first.shape == second.shape and not torch.allclose(first, second):
                return "two calls gave different images: use the mean code mu, not a random sample"
            return compare(first, expected, wrong, atol=1e-5)
        return test

    run_cases("redraw_as", [("5 images, 3-D codes", case(3, 5)),
                            ("a batch of one, 2-D codes", case(2, 1)),
                            ("8 images, 6-D codes", case(6, 8))], answer=fn)


def check_linear_probe(fn: Callable[..., float]) -> None:
    """Lesson 3, exercise 5: ``linear_probe(Z_fit, y_fit, Z_eval, y_eval, num_classes, steps,
    lr)`` fits a logistic regression by full-batch Adam and scores it on the held-out codes."""
    g = seeded(9)

    def clusters(n: int, centres: Tensor, spread: float) -> tuple[Tensor, Tensor]:
        y = torch.randint(0, len(centres), (n,), generator=g)
        return centres[y] + spread * torch.randn(n, centres.shape[1], generator=g), y

    def variants(Z_fit: Tensor, y_fit: Tensor, Z_eval: Tensor, y_eval: Tensor,
                 num_classes: int, **settings: float) -> dict[str, float]:
        """The scores of typical mistakes, named by their hints."""
        return {"score the probe on the held-out codes Z_eval, y_eval, not on the codes it was "
                "fitted to": linear_probe(Z_fit, y_fit, Z_fit, y_fit, num_classes, **settings),
                "the probe needs a bias b, logits = Z @ W + b: without it every decision "
                "boundary passes through z = 0": _probe(
                    Z_fit, y_fit, Z_eval, y_eval, num_classes, bias=False, **settings),
                "the probe needs a bias b when it predicts too, Z_eval @ W + b: it was fitted "
                "with it": _probe(Z_fit, y_fit, Z_eval, y_eval, num_classes, bias_at_eval=False,
                                  **settings)}

    def case(Z_fit: Tensor, y_fit: Tensor, Z_eval: Tensor, y_eval: Tensor,
             num_classes: int = 10, steps: int = 300, lr: float = 0.1) -> Callable[[], str | None]:
        settings = {"steps": steps, "lr": lr}

        def test() -> str | None:
            expected = linear_probe(Z_fit, y_fit, Z_eval, y_eval, num_classes, **settings)
            got = fn(Z_fit, y_fit, Z_eval, y_eval, num_classes, steps, lr)
            if isinstance(got, Tensor) and got.numel() == 1:
                got = got.item()
            if not isinstance(got, float | int) or not 0 <= got <= 1:
                return f"expected the share of held-out codes read correctly, in [0, 1], got {got}"
            if abs(got - expected) <= 0.01:
                return None
            for hint, value in variants(Z_fit, y_fit, Z_eval, y_eval, num_classes,
                                        **settings).items():
                if abs(got - value) <= 0.01:
                    return f"{hint} (got {got:.3f}, expected {expected:.3f})"
            return (f"expected an accuracy of {expected:.3f}, got {got:.3f}: fit W and b with "
                    "full-batch Adam for `steps` steps at `lr` from zeros, then take the argmax "
                    "over the classes (dim=1) of each held-out code")
        return test

    # 1-D codes whose classes sit at 2, 4 and 6: a probe without bias cannot pick the middle one.
    line = torch.tensor([[2.0], [4.0], [6.0]])
    Z_line, y_line = clusters(600, line, 0.3)
    # 100 codes in 50-D with random labels: a probe can memorise them, and reads nothing new.
    Z_noise, y_noise = torch.randn(300, 50, generator=g), torch.randint(0, 10, (300,), generator=g)
    # Ten overlapping clusters in 5-D, as the codes of a CVAE might be.
    Z_ten, y_ten = clusters(2000, torch.randn(10, 5, generator=g), 0.8)
    run_cases("linear_probe", [
        ("three classes on a line, away from 0, 100 steps", case(Z_line[:300], y_line[:300], Z_line[300:],
                                                      y_line[300:], num_classes=3, steps=100)),
        ("random labels in 50-D, 100 steps", case(Z_noise[:100], y_noise[:100], Z_noise[100:],
                                                  y_noise[100:], steps=100)),
        ("ten clusters in 5-D, 50 steps at lr=0.05", case(Z_ten[:1000], y_ten[:1000],
                                                           Z_ten[1000:], y_ten[1000:],
                                                           steps=50, lr=0.05)),
    ], answer=fn)


def _probe(Z_fit: Tensor, y_fit: Tensor, Z_eval: Tensor, y_eval: Tensor, num_classes: int,
           steps: int = 300, lr: float = 0.1, bias: bool = True,
           bias_at_eval: bool = True) -> float:
    """``evaluate.linear_probe`` with a slip: no bias at all, or none when predicting."""
    W = torch.zeros(Z_fit.shape[1], num_classes, requires_grad=True)
    b = torch.zeros(num_classes, requires_grad=bias)
    optimizer = torch.optim.Adam([W, b] if bias else [W], lr=lr)
    for _ in range(steps):
        loss = F.cross_entropy(Z_fit @ W + b, y_fit)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = (Z_eval @ W + (b if bias_at_eval else 0)).argmax(dim=1)
    return (predicted == y_eval).float().mean().item()
