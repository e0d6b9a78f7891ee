"""Every self-check passes the reference answer and catches typical wrong answers, with a hint
that names the mistake."""

import math

import pytest
import torch
from cases_lesson1 import CASES as LESSON_1
from cases_lesson2 import CASES as LESSON_2
from cases_lesson3 import CASES as LESSON_3
from cases_lesson4 import CASES as LESSON_4
from cases_lesson5 import CASES as LESSON_5

from cvae_helpers import checks
from cvae_helpers.losses import kl_divergence, reconstruction_loss


def not_done(*args):
    raise NotImplementedError()


# Each lesson's module ``cases_lessonN.py`` lists its checks, their reference answers, and wrong
# answers with the words their hints must contain.
CASES = LESSON_1 + LESSON_2 + LESSON_3 + LESSON_4 + LESSON_5
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
