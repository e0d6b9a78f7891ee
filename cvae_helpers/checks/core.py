"""What every self-check shares: running its cases, comparing tensors, and the verdict.

A check runs a learner's answer on cases with known answers and prints one line: a pass, "not
done yet", or a hint naming the case that failed and what was expected. It never shows a
traceback, and the hints say what is wrong without writing the code for you. The verdict is
also recorded: ``passed(answer)`` says whether that very function or class passed its check,
which is how a lesson decides whether a model trained by the learner's code may be cached for
later lessons (``zoo.keep``).

For autograding, set the environment variable ``CVAE_STRICT_CHECKS=1``: a check that does not
pass then raises ``CheckFailed`` (an ``AssertionError``) after printing its line.
"""

import os
import weakref
from collections.abc import Callable, Iterable

import torch
from torch import Tensor

STRICT_ENV = "CVAE_STRICT_CHECKS"

# A case is a description and a test that returns None when the answer is right, else a hint.
Case = tuple[str, Callable[[], str | None]]

# The answers (functions or classes) that passed their check in this session, and the verdict of
# each exercise's latest check. Weak references: a redefined function is a new object, which has
# to pass again.
_passed: "weakref.WeakSet[object]" = weakref.WeakSet()
results: dict[str, bool] = {}


class CheckFailed(AssertionError):
    """Raised by a check that did not pass, when ``CVAE_STRICT_CHECKS`` is set."""


def strict() -> bool:
    return os.environ.get(STRICT_ENV, "").lower() not in ("", "0", "false", "no")


def passed(*answers: object) -> bool:
    """True when every one of ``answers`` (the functions and classes a lesson trains with)
    passed its self-check, as it is now defined (lessons 1-5)."""
    return all(answer in _passed for answer in answers)


def run_cases(exercise: str, cases: Iterable[Case], answer: object = None) -> None:
    """Run the cases in order, stop at the first that fails, print the verdict, and record it
    for ``exercise`` and for ``answer`` (the learner's function or class)."""
    if answer is not None:
        _passed.discard(answer)
    failure = _first_failure(cases)
    results[exercise] = failure is None
    if failure is None:
        print(f"PASS {exercise}: all cases agree with the reference.")
        if answer is not None:
            _passed.add(answer)
        return
    print(f"FAIL {exercise}: {failure}")
    if strict():
        raise CheckFailed(f"{exercise}: {failure}")


def _first_failure(cases: Iterable[Case]) -> str | None:
    for description, test in cases:
        try:
            hint = test()
        except NotImplementedError:
            return ("not done yet: replace `raise NotImplementedError()` with your code, run that "
                    "cell, then run this check again.")
        except Exception as err:  # a learner's bug: report it as a hint, not a traceback
            hint = f"your code raised {type(err).__name__}: {err}"
        if hint:
            return f"{description}: {hint}"
    return None


def compare(got: object, expected: Tensor, wrong_answers: dict[str, Tensor] | None = None,
            atol: float = 1e-4, rtol: float = 1e-4) -> str | None:
    """None when ``got`` matches ``expected``; else a hint. ``wrong_answers`` maps a hint to
    the value a typical mistake produces, so the hint can name the mistake."""
    if not isinstance(got, Tensor):
        return f"expected a torch.Tensor, got {type(got).__name__}"
    if got.shape != expected.shape:
        return (f"expected shape {list(expected.shape)}, got {list(got.shape)}"
                + (" (a single number: sum over pixels or dimensions, then average over the "
                   "batch)" if expected.dim() == 0 else ""))
    got = got.detach().float()
    if not torch.isfinite(got).all():
        return "the result holds inf or nan: look for log(0) or exp of a large number"
    if torch.allclose(got, expected, atol=atol, rtol=rtol):
        return None
    for hint, wrong in (wrong_answers or {}).items():
        if torch.allclose(got, wrong, atol=atol, rtol=rtol):
            return hint
    if expected.dim() == 0:
        return f"expected {expected.item():.4f}, got {got.item():.4f}"
    return "the values differ from the expected ones"


def seeded(seed: int) -> torch.Generator:
    """A generator seeded with ``seed``: a check draws the same cases every time it runs."""
    return torch.Generator().manual_seed(seed)

