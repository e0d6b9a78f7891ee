"""Lesson 1's training loop, as the lesson's solution cell writes it, trains what ``train.fit``
trains, and its self-check names the usual slips."""

import pytest
import torch
from cases_lesson1 import LOOP_SLIPS, loop

from cvae_helpers import checks, train
from cvae_helpers.models import Autoencoder


def start_weights(seed=0):
    """The course's autoencoder of lesson 1 before training, as zoo.build seeds it."""
    torch.manual_seed(seed)
    return Autoencoder(latent_dim=2, hidden=(512, 256))


def train_both(train_model, X, y, X_test, y_test, **settings):
    ours, theirs = start_weights(), start_weights()
    history = train_model(ours, X, y, X_test, y_test, **settings)
    expected = train.fit(theirs, X, y, X_test, y_test, device="cpu", progress=False, **settings)
    diff = max((a - b).abs().max().item()
               for a, b in zip(ours.parameters(), theirs.parameters(), strict=True))
    return diff, history, expected


def test_the_lessons_loop_trains_the_weights_fit_trains(small_train, small_test):
    """One epoch on 2,000 MNIST images, from the same initial weights."""
    X, y = small_train
    X_test, y_test = small_test
    diff, history, expected = train_both(loop(), X, y, X_test, y_test, num_epochs=1, lr=1e-3,
                                         batch_size=64, beta=1.0, seed=0)
    assert diff <= 1e-5
    assert history["train_loss"] == pytest.approx(expected["train_loss"], rel=1e-5)
    assert history["test_loss"] == pytest.approx(expected["test_loss"], rel=1e-5)


@pytest.mark.parametrize("slip", ["no zero_grad", "the schedule stepped per batch"])
def test_a_usual_slip_trains_other_weights(slip, small_train, small_test):
    """The slips the check names matter: on real digits, one epoch of 2,000 images with the
    slip ends far from fit's weights (the tolerance is 1e-5)."""
    X, y = small_train
    X_test, y_test = small_test
    edits, _ = LOOP_SLIPS[slip]
    diff, _, _ = train_both(loop(*edits), X, y, X_test[:100], y_test[:100], num_epochs=1,
                            lr=1e-3, batch_size=64, beta=1.0, seed=0)
    assert diff > 1e-3


@pytest.mark.parametrize("slip", list(LOOP_SLIPS))
def test_the_check_names_each_usual_slip(slip, capsys):
    edits, words = LOOP_SLIPS[slip]
    answer = loop(*edits)
    checks.check_train_model(answer)
    out = capsys.readouterr().out
    assert not checks.passed(answer)
    assert out.startswith("FAIL train_model") and words in out, out


def test_the_check_passes_the_lessons_loop_and_leaves_no_trace(capsys):
    """The check prints one line (not the loop's own epoch lines), puts ``train.adam`` back,
    and leaves the caller's random numbers as they were."""
    answer, adam = loop(), train.adam
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    checks.check_train_model(answer)
    assert torch.equal(torch.rand(3), before)
    assert train.adam is adam
    assert checks.passed(answer)
    assert capsys.readouterr().out.splitlines() == [
        "PASS train_model: all cases agree with the reference."]
