"""Lesson 4's self-checks: each reference answer, and wrong answers with the words their hint
must contain (run by ``test_checks.py``)."""

import math

import torch

from cvae_helpers import checks
from cvae_helpers.evaluate import importance_weighted_nll, label_entropy


def reference_active_units(mu):
    return int((mu.var(dim=0) > 0.01).sum())


def histogram(labels):
    return torch.bincount(labels, minlength=10).float() / labels.numel()


def entropy_of_nonzero(labels, log=torch.log):
    p = histogram(labels)
    p = p[p > 0]
    return -(p * log(p)).sum().item()


# (check, reference answer, [(wrong answer, words its hint must contain), ...])
CASES = [
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
]
