"""Lesson 3's measurements: the linear probe, the second judge's fidelity of the sweep's samples,
and the obedience-first rule for a generation setting."""

import pytest
import torch

from cvae_helpers.evaluate import (
    generation_sweep,
    linear_probe,
    recommend_obedient_setting,
    sweep_fidelity,
)
from cvae_helpers.models import CVAE, Classifier, MLPClassifier


def test_the_probe_reads_separable_classes_and_not_random_labels():
    g = torch.Generator().manual_seed(0)
    centres = 4 * torch.randn(10, 3, generator=g)
    y = torch.randint(0, 10, (2000,), generator=g)
    Z = centres[y] + 0.2 * torch.randn(2000, 3, generator=g)
    assert linear_probe(Z[:1000], y[:1000], Z[1000:], y[1000:]) > 0.95
    noise = torch.randint(0, 10, (2000,), generator=g)
    assert linear_probe(Z[:1000], noise[:1000], Z[1000:], noise[1000:]) < 0.2


def test_the_probe_needs_its_bias_for_classes_away_from_zero():
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 3, (600,), generator=g)
    Z = (2.0 + 2.0 * y.float()).unsqueeze(1) + 0.3 * torch.randn(600, 1, generator=g)
    assert linear_probe(Z[:300], y[:300], Z[300:], y[300:], num_classes=3) > 0.95


def test_the_second_judge_reads_the_very_samples_of_the_sweep(mnist_test):
    torch.manual_seed(0)
    cvaes = {2: CVAE(2, hidden=(16,)), 3: CVAE(3, hidden=(16,))}
    judge = Classifier()
    results, _ = generation_sweep(cvaes, judge, *mnist_test, temperatures=(0.5, 1.0))
    again = sweep_fidelity(cvaes, judge, temperatures=(0.5, 1.0))
    assert again == {(d, t): results[d][t][0] for d in cvaes for t in (0.5, 1.0)}
    other = sweep_fidelity(cvaes, MLPClassifier(), temperatures=(0.5, 1.0))
    assert set(other) == set(again) and all(0 <= f <= 1 for f in other.values())


def test_obedience_first_takes_the_most_diverse_setting_that_obeys():
    results = {2: {0.5: (1.0, 4.0), 1.0: (0.99, 5.0)},
               8: {0.5: (0.99, 5.5), 1.0: (0.95, 7.0)}}
    fidelity = {(d, t): row[t][0] for d, row in results.items() for t in row}
    assert recommend_obedient_setting(results, fidelity, fidelity_floor=0.98) == (8, 0.5)
    assert recommend_obedient_setting(results, fidelity, fidelity_floor=0.9) == (8, 1.0)
    fidelity[8, 0.5] = 0.97  # a second judge disagrees
    assert recommend_obedient_setting(results, fidelity, fidelity_floor=0.98) == (2, 1.0)
    with pytest.raises(ValueError, match="no setting"):
        recommend_obedient_setting(results, fidelity, fidelity_floor=1.01)
