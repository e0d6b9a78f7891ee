"""Lesson 3's self-checks: each reference answer, and wrong answers with the words their hint
must contain (run by ``test_checks.py``)."""

import torch
import torch.nn.functional as F

from cvae_helpers import checks
from cvae_helpers.evaluate import redraw_as
from cvae_helpers.models import condition, reparameterize


def reference_sample_digits(model, digit, n, temperature):
    return model.sample(n, labels=digit, temperature=temperature)


# (check, reference answer, [(wrong answer, words its hint must contain), ...])
CASES = [
    (checks.check_condition, condition, [
        (lambda h, y: torch.cat([F.one_hot(y, 10).float(), h], 1), "after the features"),
        (lambda h, y: torch.cat([h, y.float().unsqueeze(1)], 1), "one-hot vector"),
    ]),
    (checks.check_sample_digits, reference_sample_digits, [
        (lambda m, d, n, t: m.decode(t * torch.randn(n, m.latent_dim), torch.full((n,), d)),
         "[0, 1]"),
        (lambda m, d, n, t: m.sample(n, labels=0, temperature=t), "label 3"),
        (lambda m, d, n, t: m.sample(1, labels=d, temperature=t).expand(n, 1, 28, 28),
         "identical"),
        (lambda m, d, n, t: m.sample(n, labels=d, temperature=1.0), "temperature 0"),
    ]),
    (checks.check_redraw_as, redraw_as, [
        (lambda m, X, y, ny: torch.sigmoid(m.decode(m.encode(X, ny)[0], ny)),
         "encode with the image's own label"),
        (lambda m, X, y, ny: torch.sigmoid(m.decode(reparameterize(*m.encode(X, y)), ny)),
         "mean code"),
        (lambda m, X, y, ny: torch.sigmoid(m.decode(m.encode(X, y)[0], y)), "not the original"),
    ]),
]
