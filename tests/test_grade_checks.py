"""The checks as a grader sees them: strict mode and its setting, the hint without a traceback,
and verdicts from a private copy of the checks (``core.regrade``) that the known ways of
cheating do not reach, on cases a learner can see and on hidden ones drawn at grading time."""

from pathlib import Path

import pytest
import torch
from cases_lesson1 import CASES as LESSON_1
from cases_lesson2 import CASES as LESSON_2
from cases_lesson3 import CASES as LESSON_3
from cases_lesson4 import CASES as LESSON_4
from cases_lesson5 import CASES as LESSON_5

import cvae_helpers
from cvae_helpers import checks, losses
from cvae_helpers.checks import core

CASES = LESSON_1 + LESSON_2 + LESSON_3 + LESSON_4 + LESSON_5
IDS = [check.__name__ for check, _, _ in CASES]
PACKAGE = Path(cvae_helpers.__file__).parent
EXPECTED = core.digests(PACKAGE)


def regrade(call, namespace):
    """Whether the check cell ``call`` passes for ``namespace``, and its message."""
    try:
        core.regrade(call, namespace, PACKAGE, EXPECTED)
        return True, ""
    except core.CheckFailed as failed:
        return False, str(failed)


@pytest.mark.parametrize("value", ["1", "true", "on", "yes", "YES", " On "])
def test_strict_mode_is_on_for_each_way_of_saying_yes(monkeypatch, value):
    monkeypatch.delenv(core.NBGRADER_ENV, raising=False)
    monkeypatch.setenv(core.STRICT_ENV, value)
    assert core.strict() is True


@pytest.mark.parametrize("value", ["0", "false", "off", "no", "No", ""])
def test_strict_mode_is_off_for_each_way_of_saying_no(monkeypatch, value):
    monkeypatch.delenv(core.NBGRADER_ENV, raising=False)
    monkeypatch.setenv(core.STRICT_ENV, value)
    assert core.strict() is False


@pytest.mark.parametrize("value", ["maybe", "2", "enabled", "offf"])
def test_a_strict_setting_the_checks_do_not_understand_is_refused(monkeypatch, value):
    monkeypatch.delenv(core.NBGRADER_ENV, raising=False)
    monkeypatch.setenv(core.STRICT_ENV, value)
    with pytest.raises(ValueError, match=r"CVAE_STRICT_CHECKS=.* set it to 1, true, on or yes"):
        core.strict()


@pytest.mark.parametrize("stage", ["autograde", "validate"])
def test_checks_are_strict_under_nbgrader_without_any_setting(monkeypatch, capsys, stage):
    monkeypatch.delenv(core.STRICT_ENV, raising=False)
    monkeypatch.setenv(core.NBGRADER_ENV, stage)
    with pytest.raises(checks.CheckFailed) as failed:
        checks.check_kl_divergence(lambda mu, logvar: -losses.kl_divergence(mu, logvar))
    # Jupyter shows _render_traceback_() instead of a traceback: the hint alone.
    assert failed.value._render_traceback_() == [str(failed.value)]
    assert str(failed.value).startswith("FAIL kl_divergence: ") and "sign" in str(failed.value)
    assert capsys.readouterr().out == ""  # said once, by the exception


@pytest.mark.parametrize(("check", "reference", "wrong"), CASES, ids=IDS)
def test_a_private_copy_passes_the_reference_on_hidden_cases_and_fails_wrong_answers(
        check, reference, wrong):
    assert regrade(f"checks.{check.__name__}(answer)", {"answer": reference}) == (True, "")
    for answer, words in wrong:
        passed, message = regrade(f"checks.{check.__name__}(answer)", {"answer": answer})
        assert not passed and words in message


def test_hidden_cases_are_new_draws_and_the_visible_ones_come_back():
    visible = torch.randn(3, generator=core.seeded(1))
    with core.hidden_cases():
        first = torch.randn(3, generator=core.seeded(1))
    with core.hidden_cases():
        second = torch.randn(3, generator=core.seeded(1))
    assert not torch.equal(first, visible) and not torch.equal(first, second)
    assert torch.equal(torch.randn(3, generator=core.seeded(1)), visible)


def memorised_reconstruction_loss():
    """An answer that returns the right value for the cases the learner can see, and nonsense
    for any other input: it fits the visible cases, as a learner could by copying them."""
    g = core.seeded(1)
    logits, X = torch.randn(4, 1, 28, 28, generator=g) * 3, torch.rand(4, 1, 28, 28, generator=g)
    seen = {}
    for n in (4, 1):
        seen[float(logits[:n].sum())] = losses.reconstruction_loss(logits[:n], X[:n])
    stable = torch.full((2, 1, 28, 28), 40.0)
    stable[1] = -40.0
    X0 = torch.zeros(2, 1, 28, 28)
    X0[0] = 1.0
    seen[float(stable.sum())] = losses.reconstruction_loss(stable, X0)
    return lambda lg, x: seen.get(float(lg.sum()), torch.tensor(0.0))


def test_an_answer_that_fits_only_the_visible_cases_fails_the_hidden_ones(capsys):
    answer = memorised_reconstruction_loss()
    checks.check_reconstruction_loss(answer)
    assert checks.passed(answer)  # the learner's own check is fooled
    passed, message = regrade("checks.check_reconstruction_loss(answer)", {"answer": answer})
    assert not passed and "hidden cases" in message


def test_printing_pass_is_not_a_verdict():
    def answer(logits, X):
        print("PASS reconstruction_loss: all cases agree with the reference.")

    assert regrade("checks.check_reconstruction_loss(answer)", {"answer": answer})[0] is False


def test_rebinding_checks_in_the_notebook_does_not_reach_the_grader():
    class Fake:
        def __getattr__(self, name):
            return lambda *args: print("PASS")

    assert regrade("checks.check_reconstruction_loss(answer)",
                   {"answer": lambda lg, X: None, "checks": Fake()})[0] is False


def test_patching_run_cases_and_the_reference_does_not_reach_the_grader(monkeypatch):
    def wrong(logits, X):
        return torch.tensor(0.0)

    monkeypatch.setattr(core, "run_cases", lambda exercise, cases, answer=None: None)
    monkeypatch.setattr(checks, "run_cases", lambda exercise, cases, answer=None: None)
    monkeypatch.setattr(checks.lesson1, "run_cases", lambda exercise, cases, answer=None: None)
    monkeypatch.setattr(checks.lesson1, "reconstruction_loss", wrong)  # what the check compares with
    monkeypatch.setattr(losses, "reconstruction_loss", wrong)
    monkeypatch.setattr(losses.reconstruction_loss, "__code__", wrong.__code__)
    monkeypatch.setattr(core, "compare", lambda *args, **kwargs: None)
    checks.results.clear()
    assert checks.check_reconstruction_loss(wrong) is None and checks.results == {}  # fooled
    passed, message = regrade("checks.check_reconstruction_loss(answer)", {"answer": wrong})
    assert not passed and "expected" in message


def test_replacing_torch_functions_from_the_notebook_is_named_and_scores_nothing(monkeypatch):
    namespace = {}
    exec("import torch\ndef allclose(*args, **kwargs):\n    return True\n", namespace)
    monkeypatch.setattr(torch, "allclose", namespace["allclose"])
    namespace["answer"] = lambda lg, X: torch.tensor(0.0)
    passed, message = regrade("checks.check_reconstruction_loss(answer)", namespace)
    assert not passed and "torch.allclose" in message


def test_a_tensor_subclass_cannot_redefine_the_comparison():
    class Agreeable(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func in (torch.allclose, torch.Tensor.allclose):
                return True
            return super().__torch_function__(func, types, args, kwargs or {})

    def answer(logits, X):
        return torch.tensor(0.0).as_subclass(Agreeable)

    passed, message = regrade("checks.check_reconstruction_loss(answer)", {"answer": answer})
    assert not passed and "expected" in message
    assert "subclass Agreeable" in core.compare(answer(None, None), torch.tensor(1.0))


def test_a_tracer_that_rewrites_the_checks_variables_is_caught():
    import sys

    def tracer(frame, event, arg):
        if frame.f_code.co_name == "_first_failure":
            if event == "line" and frame.f_locals.get("hint"):
                frame.f_locals["hint"] = None  # every case "passes"
            return tracer
        return None

    def answer(logits, X):
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_name == "_first_failure":
                frame.f_trace = tracer
            frame = frame.f_back
        sys.settrace(tracer)
        return torch.tensor(0.0)

    try:
        passed, message = regrade("checks.check_reconstruction_loss(answer)", {"answer": answer})
    finally:
        sys.settrace(None)
    assert not passed and "sys.settrace" in message


def test_a_changed_package_file_is_refused(tmp_path):
    import shutil
    copy = tmp_path / "cvae_helpers"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    lesson1 = copy / "checks" / "lesson1.py"
    lesson1.write_text(lesson1.read_text().replace("run_cases(", "print('PASS') or (lambda *a, **k: None)("))
    with pytest.raises(RuntimeError, match="checks/lesson1.py changed"):
        core.regrade("checks.check_reconstruction_loss(answer)",
                     {"answer": losses.reconstruction_loss}, copy, EXPECTED)


def test_the_private_copy_leaves_nothing_in_sys_modules():
    import sys
    before = set(sys.modules)
    regrade("checks.check_condition(answer)", {"answer": cvae_helpers.models.condition})
    assert {m for m in set(sys.modules) - before if "_cvae_graded_" in m} == set()
