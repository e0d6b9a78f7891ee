"""Every self-check passes the reference answer and catches typical wrong answers."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cvae_helpers import checks
from cvae_helpers.data import mask_input, visible_mask
from cvae_helpers.evaluate import (
    importance_weighted_nll,
    label_entropy,
    redraw_as,
    uniform_in_box,
)
from cvae_helpers.losses import (
    conditional_vae_loss,
    kl_divergence,
    masked_reconstruction_loss,
    reconstruction_loss,
    vae_loss,
)
from cvae_helpers.models import condition, mlp, reparameterize


def reference_layers(latent_dim):
    return mlp([784, 64, latent_dim]), mlp([latent_dim, 64, 784])


def reference_sample_digits(model, digit, n, temperature):
    return model.sample(n, labels=digit, temperature=temperature)


def reference_negative_elbo(logits, X, mu, logvar):
    return vae_loss(logits, X, mu, logvar)["loss"]


def reference_active_units(mu):
    return int((mu.var(dim=0) > 0.01).sum())


def reference_conditional_elbo(logits, Y, hidden, q, p):
    return conditional_vae_loss(logits, Y, hidden, q, p)["loss"]


def histogram(labels):
    return torch.bincount(labels, minlength=10).float() / labels.numel()


def entropy_of_nonzero(labels, log=torch.log):
    p = histogram(labels)
    p = p[p > 0]
    return -(p * log(p)).sum().item()


def per_pixel_bce(logits, Y):
    return F.binary_cross_entropy_with_logits(logits, Y, reduction="none")


def not_done(*args):
    raise NotImplementedError()


# (check, reference answer, [(wrong answer, words its hint must contain), ...])
CASES = [
    (checks.check_reconstruction_loss, reconstruction_loss, [
        (lambda lg, X: F.binary_cross_entropy_with_logits(lg, X), "784 times too small"),
        (lambda lg, X: F.binary_cross_entropy_with_logits(lg, X, reduction="sum"),
         "times too large"),
        (lambda lg, X: -(X * torch.log(torch.sigmoid(lg)) + (1 - X) * torch.log(
            1 - torch.sigmoid(lg))).sum() / X.shape[0], "numerically stable"),
    ]),
    (checks.check_autoencoder_layers, reference_layers, [
        (lambda d: (nn.Linear(784, d), nn.Linear(d, 784)), "no nonlinearity"),
        (lambda d: (mlp([784, 64, d]), nn.Sequential(mlp([d, 64, 784]), nn.Sigmoid())),
         "should return logits"),
        (lambda d: (mlp([784, 64, 2]), mlp([2, 64, 784])), "latent_dim=5"),
    ]),
    (checks.check_uniform_in_box, uniform_in_box, [
        (lambda Z, n: torch.rand(n, Z.shape[1]), "outside the box"),
        (lambda Z, n: Z.mean(0) + Z.std(0) * torch.randn(n, Z.shape[1]), "outside the box"),
        (lambda Z, n: (Z.min(0).values + Z.max(0).values) / 2 + 0.4 * (
            Z.max(0).values - Z.min(0).values) * (torch.rand(n, 2) - 0.5), "edges"),
    ]),
    (checks.check_reparameterize, reparameterize, [
        (lambda mu, lv: mu + lv * torch.randn_like(mu), "logvar itself as the standard"),
        (lambda mu, lv: mu + lv.exp() * torch.randn_like(mu), "variance where the standard"),
        (lambda mu, lv: torch.normal(mu, torch.exp(0.5 * lv)).detach(), "cut off"),
    ]),
    (checks.check_kl_divergence, kl_divergence, [
        (lambda mu, lv: -kl_divergence(mu, lv), "sign is flipped"),
        (lambda mu, lv: 0.5 * (mu**2 + lv**2 - torch.log(lv**2) - 1).sum(1).mean(),
         "mu=0, logvar=0"),
        (lambda mu, lv: 0.5 * (mu**2 + lv.exp() - lv - 1).mean(), "times too small"),
        (lambda mu, lv: (mu**2 + lv.exp() - lv - 1).sum(1).mean(), "factor 1/2"),
    ]),
    (checks.check_negative_elbo, reference_negative_elbo, [
        (lambda lg, X, mu, lv: -reference_negative_elbo(lg, X, mu, lv), "the ELBO itself"),
        (lambda lg, X, mu, lv: reconstruction_loss(lg, X) - kl_divergence(mu, lv), "recon - KL"),
        (lambda lg, X, mu, lv: reconstruction_loss(lg, X), "add the KL term"),
    ]),
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
    (checks.check_importance_weighted_nll, importance_weighted_nll, [
        (lambda a, b, c: -(a + b - c).mean(0), "average of log w"),
        (lambda a, b, c: -torch.log(torch.exp(a + b - c).mean(0)), "inf or nan"),
        (lambda a, b, c: -(torch.logsumexp(a + b + c, dim=0) - math.log(a.shape[0])),
         "added where it should be subtracted"),
    ]),
    (checks.check_active_units, reference_active_units, [
        (lambda mu: int((mu.std(dim=0) > 0.01).sum()), "not its std"),
        (lambda mu: int((mu.var(dim=0) <= 0.01).sum()), "counted the inactive"),
        (lambda mu: int((mu.mean(dim=0).abs() > 0.01).sum()), "*varies*"),
        (lambda mu: int((mu.var(dim=1) > 0.01).sum()), "dim=0"),
        (lambda mu: (mu.var(dim=0) > 0.01).float(), "whole number"),
    ]),
    (checks.check_label_entropy, label_entropy, [
        (lambda labels: entropy_of_nonzero(labels, torch.log2), "in bits"),
        (lambda labels: -entropy_of_nonzero(labels), "sign is flipped"),
        (lambda labels: -(histogram(labels) * histogram(labels).log()).sum().item(),
         "inf or nan"),
    ]),
    (checks.check_mask_input, mask_input, [
        (lambda X, v: X * v, "set them to -1"),
        (lambda X, v: torch.where(v, torch.full_like(X, -1.0), X), "swapped"),
        (lambda X, v: mask_input(X, visible_mask(1)), "three visible quadrants"),
        (lambda X, v: mask_input(X, v[:1]), "a different mask for each image"),
        (lambda X, v: X.masked_fill_(~v, -1.0), "changed the images passed to it"),
    ]),
    (checks.check_masked_reconstruction_loss, masked_reconstruction_loss, [
        (lambda lg, Y, h: reconstruction_loss(lg, Y), "every pixel was scored"),
        (lambda lg, Y, h: (per_pixel_bce(lg, Y) * ~h).sum() / Y.shape[0],
         "only the visible pixels"),
        (lambda lg, Y, h: (per_pixel_bce(lg, Y) * h).sum(), "times too large"),
        (lambda lg, Y, h: per_pixel_bce(lg, Y)[h].sum() / Y.shape[0], "sharing one [1, 28, 28]"),
    ]),
    (checks.check_conditional_elbo, reference_conditional_elbo, [
        (lambda lg, Y, h, q, p: masked_reconstruction_loss(lg, Y, h) + kl_divergence(*q),
         "N(0, I)"),
        (lambda lg, Y, h, q, p: masked_reconstruction_loss(lg, Y, h) + kl_divergence(*p, *q),
         "wrong way round"),
        (lambda lg, Y, h, q, p: reconstruction_loss(lg, Y) + kl_divergence(*q, *p),
         "every pixel was scored"),
        (lambda lg, Y, h, q, p: masked_reconstruction_loss(lg, Y, h), "add the KL term"),
    ]),
]
IDS = [check.__name__ for check, _, _ in CASES]


def verdict(check, answer):
    """Run ``check`` on ``answer``: whether it passed, as ``checks.passed`` records it. A check
    returns nothing, so that a graded cell shows no value."""
    assert check(answer) is None
    return checks.passed(answer)


@pytest.mark.parametrize(("check", "reference", "wrong"), CASES, ids=IDS)
def test_the_reference_answer_passes(check, reference, wrong, capsys):
    assert verdict(check, reference) is True
    assert capsys.readouterr().out.startswith("PASS")


@pytest.mark.parametrize(("check", "reference", "wrong"), CASES, ids=IDS)
def test_wrong_answers_fail_with_a_hint_that_names_the_mistake(check, reference, wrong, capsys):
    assert len(wrong) >= 2
    for answer, words in wrong:
        assert verdict(check, answer) is False
        out = capsys.readouterr().out
        assert out.startswith("FAIL") and words in out, out
        assert "Traceback" not in out


@pytest.mark.parametrize(("check", "reference", "wrong"), CASES, ids=IDS)
def test_an_unfinished_exercise_is_not_done_yet(check, reference, wrong, capsys):
    assert verdict(check, not_done) is False
    assert "not done yet" in capsys.readouterr().out


def test_strict_mode_raises_for_autograding(monkeypatch, capsys):
    monkeypatch.setenv(checks.STRICT_ENV, "1")
    with pytest.raises(checks.CheckFailed, match="not done yet"):
        checks.check_kl_divergence(not_done)
    assert verdict(checks.check_kl_divergence, kl_divergence) is True


def test_a_crash_in_the_answer_is_reported_without_a_traceback(capsys):
    assert verdict(checks.check_reparameterize, lambda mu, lv: mu + math.sqrt(lv)) is False
    out = capsys.readouterr().out
    assert "your code raised ValueError" in out and "Traceback" not in out


def test_a_missing_one_over_k_is_named(capsys):
    assert verdict(checks.check_importance_weighted_nll,
                   lambda a, b, c: -torch.logsumexp(a + b - c, dim=0)) is False
    assert "1/k is missing" in capsys.readouterr().out


def test_an_answer_passes_only_as_it_was_checked():
    """``passed`` names the very function that passed: a function redefined after its check (a
    new object) has to pass again, and a later failure withdraws the pass."""
    def answer(mu, lv):
        return kl_divergence(mu, lv)

    checks.check_kl_divergence(answer)
    assert checks.passed(answer) and checks.results["kl_divergence"]

    def answer(mu, lv):  # noqa: F811 -- redefined, as a learner re-running an edited cell does
        return -kl_divergence(mu, lv)

    assert not checks.passed(answer)
    checks.check_kl_divergence(answer)
    assert not checks.passed(answer) and not checks.results["kl_divergence"]
    assert not checks.passed(reconstruction_loss, answer)
