"""Lesson 3: conditioning on the label, sampling a chosen digit, redrawing a digit as another."""

from collections.abc import Callable

import torch
from torch import Tensor

from ..evaluate import redraw_as
from ..models import CVAE, condition
from .core import compare, run_cases, seeded


def check_condition(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Lesson 3, exercise 1: ``condition(h, y)`` appends the one-hot label to each row."""
    g = seeded(5)

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

    run_cases("condition", [("8 rows of 784 features", case(8, 784)),
                                   ("one row of a 2-D code", case(1, 2))], answer=fn)


def _small_cvae() -> CVAE:
    torch.manual_seed(6)
    return CVAE(latent_dim=3, hidden=(32,)).eval()


def check_sample_digits(fn: Callable[[CVAE, int, int, float], Tensor]) -> None:
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

    run_cases("sample_digits", [("6 samples of digit 4", shape),
                                       ("temperature 0, digit 3", at_zero_temperature(3)),
                                       ("temperature 0, digit 7", at_zero_temperature(7))], answer=fn)


def check_redraw_as(fn: Callable[[CVAE, Tensor, Tensor, Tensor], Tensor]) -> None:
    """Lesson 3, exercise 3: ``redraw_as(model, X, y, new_y)`` keeps the style, changes the
    digit."""
    model = _small_cvae()
    g = seeded(7)
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

    run_cases("redraw_as", [
        ("5 images, the same twice", deterministic),
        ("5 images", lambda: compare(fn(model, X, y, new_y), redraw_as(model, X, y, new_y),
                                     wrong, atol=1e-5)),
        ("a batch of one", lambda: compare(fn(model, X[:1], y[:1], new_y[:1]),
                                           redraw_as(model, X[:1], y[:1], new_y[:1]), atol=1e-5)),
    ], answer=fn)

