"""What every self-check shares: running its cases, comparing tensors, and the verdict.

A check runs a learner's answer on cases with known answers and prints one line: a pass, "not
done yet", or a hint naming the case that failed and what was expected. It never shows a
traceback, and the hints say what is wrong without writing the code for you. The verdict is
also recorded: ``passed(answer)`` says whether that very function or class passed its check,
which is how a lesson decides whether a model trained by the learner's code may be cached for
later lessons (``zoo.keep``).

**Strict mode**, for autograding: a check that does not pass raises ``CheckFailed`` (an
``AssertionError``), which Jupyter shows as the check's one line, without a traceback. It is on
while nbgrader grades or validates a notebook (nbgrader sets ``NBGRADER_EXECUTION``), and
wherever ``CVAE_STRICT_CHECKS`` is 1, true, on or yes.

**For graders** (the end of this file): printing "PASS" proves nothing, so a grader learns a
verdict from ``log``, and it reads that log from a private copy of the checks, loaded from
files whose hashes it knows (``load_package``, ``regrade``): an answer cell that rebinds
``checks``, patches ``checks.run_cases`` or patches a reference function in ``cvae_helpers``
changes the learner's copy, not the grader's. ``hidden_cases()`` draws every seeded case afresh,
so an answer written to fit the cases a learner can see fails.
"""

import importlib.abc
import importlib.util
import os
import secrets
import sys
import types
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from hashlib import sha256
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor

STRICT_ENV = "CVAE_STRICT_CHECKS"
NBGRADER_ENV = "NBGRADER_EXECUTION"  # set by nbgrader while it autogrades or validates
_ON, _OFF = ("1", "true", "on", "yes"), ("0", "false", "off", "no", "")

# A case is a description and a test that returns None when the answer is right, else a hint.
Case = tuple[str, Callable[[], str | None]]


class Verdict(NamedTuple):
    exercise: str
    passed: bool
    message: str  # the line the check printed


# The answers (functions or classes) that passed their check in this session, and the verdict of
# each exercise's latest check. Weak references: a redefined function is a new object, which has
# to pass again. ``log`` keeps every verdict in order, for graders.
_passed: "weakref.WeakSet[object]" = weakref.WeakSet()
results: dict[str, bool] = {}
log: list[Verdict] = []

# None while checks draw the cases a learner sees; a number drawn at grading time inside
# ``hidden_cases()``.
_draw: int | None = None


class CheckFailed(AssertionError):
    """Raised by a check that did not pass, in strict mode. Jupyter shows only its message."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook: these lines replace the traceback
        return [str(self)]


def strict() -> bool:
    """Whether a failed check raises: under nbgrader always, elsewhere as ``CVAE_STRICT_CHECKS``
    says (1/0, true/false, on/off, yes/no; unset is off)."""
    if os.environ.get(NBGRADER_ENV):
        return True
    value = os.environ.get(STRICT_ENV, "")
    if value.strip().lower() in _ON:
        return True
    if value.strip().lower() in _OFF:
        return False
    raise ValueError(f"{STRICT_ENV}={value!r} is not a setting the checks understand: set it to "
                     "1, true, on or yes to make failed checks raise, or to 0, false, off or no "
                     "(or unset it) to have them only print.")


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
    hidden = " (hidden cases, drawn afresh for grading)" if _draw is not None else ""
    results[exercise] = failure is None
    if failure is None:
        message = f"PASS {exercise}{hidden}: all cases agree with the reference."
        log.append(Verdict(exercise, True, message))
        print(message)
        if answer is not None:
            _passed.add(answer)
        return
    message = f"FAIL {exercise}{hidden}: {failure}"
    log.append(Verdict(exercise, False, message))
    if strict():
        raise CheckFailed(message)
    print(message)


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
    if type(got.detach()) is not Tensor:  # a subclass can redefine what comparing it means
        return f"expected a plain torch.Tensor, got the subclass {type(got).__name__}"
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
    """A generator seeded with ``seed``: a check draws the same cases every time it runs, except
    inside ``hidden_cases()``, where each seed gives cases drawn afresh."""
    if _draw is not None:
        seed = (seed * 1_000_003 + _draw) % 2**63
    return torch.Generator().manual_seed(seed)


@contextmanager
def hidden_cases() -> Iterator[None]:
    """Within this block every check draws new cases, from seeds picked at random now (and
    reseeds torch's global generator, which some cases use): an answer that only fits the cases
    a learner can see fails. Graders use it; torch's global generator is restored afterwards."""
    global _draw
    state = torch.random.get_rng_state()
    _draw = secrets.randbits(62)
    torch.manual_seed(secrets.randbits(62))
    try:
        yield
    finally:
        _draw = None
        torch.random.set_rng_state(state)


# --- For graders ------------------------------------------------------------------------------

VERDICT_MIME = "application/vnd.cvae-course.verdict+json"


def digests(package_dir: str | Path) -> dict[str, str]:
    """The SHA-256 of every ``.py`` file of the package at ``package_dir``, by relative path."""
    root = Path(package_dir)
    return {p.relative_to(root).as_posix(): sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts}


class _Sources(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the modules of one private copy of the package from source already verified."""

    def __init__(self, name: str, root: Path, sources: dict[str, bytes]):
        self.modules = {}
        for relative, source in sources.items():
            parts = relative[:-3].split("/")
            package = parts[-1] == "__init__"
            module = ".".join([name, *parts[:-1]] if package else [name, *parts])
            self.modules[module] = (root / relative, source, package)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.modules:
            return None
        file, _, package = self.modules[fullname]
        return importlib.util.spec_from_loader(fullname, self, origin=str(file),
                                               is_package=package)

    def create_module(self, spec):
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        file, source, _ = self.modules[module.__name__]
        module.__file__ = str(file)
        exec(compile(source, str(file), "exec"), module.__dict__)


@contextmanager
def load_package(package_dir: str | Path, expected: dict[str, str]) -> Iterator[types.ModuleType]:
    """A private copy of the package at ``package_dir``, for the length of the block: new module
    objects under a random name, outside ``sys.modules`` once the block ends, from files whose
    SHA-256 must equal ``expected`` (what ``digests`` gave when the work was handed out).

    Raises RuntimeError, naming the file, when a file was changed, added or removed."""
    root = Path(package_dir)
    found = digests(root)
    changed = sorted(set(found) ^ set(expected) | {f for f in found if found[f] != expected.get(f)})
    if changed:
        raise RuntimeError(f"the course package in {root} is not the one this work was graded "
                           f"against: {', '.join(changed)} changed. Reinstall cvae_helpers.")
    sources = {relative: (root / relative).read_bytes() for relative in found}
    if {r: sha256(s).hexdigest() for r, s in sources.items()} != expected:
        raise RuntimeError(f"the course package in {root} changed while it was being read")
    name = f"_cvae_graded_{secrets.token_hex(8)}"
    finder = _Sources(name, root, sources)
    sys.meta_path.insert(0, finder)
    try:
        yield importlib.import_module(name)
    finally:
        sys.meta_path.remove(finder)
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]


def _replaced_by_learner(namespace: dict) -> list[str]:
    """What code in ``namespace`` (a notebook's) put in place of the functions of torch, math,
    the builtins, or the path by which a verdict is published, as "torch.allclose"; and a
    tracer it left."""
    import builtins
    import math

    import torch.nn.functional as F

    owners = [("torch", torch), ("torch.nn.functional", F), ("math", math), ("builtins", builtins),
              ("torch.Tensor", torch.Tensor), ("torch.nn.Module", torch.nn.Module)]
    if "IPython" in sys.modules:
        from IPython import get_ipython
        from IPython.core import display_functions

        owners += [("IPython.display", sys.modules["IPython"].display),
                   ("IPython.core.display_functions", display_functions)]
        shell = get_ipython()
        if shell is not None:
            owners += [("get_ipython()", shell), ("get_ipython().display_pub", shell.display_pub),
                       ("DisplayPublisher", type(shell.display_pub))]
    found = []
    for label, owner in owners:
        for key, value in list(vars(owner).items()):
            if isinstance(value, staticmethod | classmethod | types.MethodType):
                value = value.__func__
            if isinstance(value, types.FunctionType) and value.__globals__ is namespace:
                found.append(f"{label}.{key}")
    if sys.gettrace() is not None or sys.getprofile() is not None:
        found.append("sys.settrace")
    return found


def regrade(source: str, namespace: dict, package_dir: str | Path, expected: dict[str, str],
            nonce: str | None = None) -> None:
    """Run a check cell's ``source`` against a private copy of the checks: on the cases a
    learner sees, then on hidden ones drawn now.

    ``namespace`` holds the learner's answers (a notebook's globals); ``source`` runs in a copy
    of it whose ``checks`` is the private one. With a ``nonce`` (``make grade``), the verdict is
    published as display data of type ``VERDICT_MIME``, for the grader to read from the cell's
    outputs; without (nbgrader's hidden tests), a failure raises ``CheckFailed``. Either way,
    finding that the learner's code replaced what the checks or the verdict rely on raises
    ``CheckFailed``, before or after the learner's code ran.
    """
    def untouched() -> None:
        replaced = _replaced_by_learner(namespace)
        if replaced:
            raise CheckFailed(f"the submission replaced {', '.join(replaced)}: its checks cannot "
                              "be trusted, and score nothing")

    untouched()
    passed_all, message = False, ""
    with load_package(package_dir, expected) as package:
        private = importlib.import_module(package.__name__ + ".checks")
        scope = {**namespace, "checks": private}
        for hidden in (False, True):
            private.core.log.clear()
            try:  # tensor subclasses cannot redefine the checks' comparisons meanwhile
                with private.core.hidden_cases() if hidden else _nothing(), \
                        torch._C.DisableTorchFunctionSubclass():
                    exec(compile(source, "<check>", "exec"), scope)
            except Exception as err:  # the check's own hint is in the log when it got that far
                if not private.core.log:
                    message = f"the check could not run: {type(err).__name__}: {err}"
            verdicts = list(private.core.log)
            if not verdicts or not all(v.passed for v in verdicts):
                message = next((v.message for v in verdicts if not v.passed), message or
                               "the check did not record a verdict")
                break
        else:
            passed_all = True
    untouched()
    if nonce is None:
        if not passed_all:
            raise CheckFailed(message)
        return
    import IPython
    from IPython.display import publish_display_data

    home = Path(IPython.__file__).parent
    if not isinstance(publish_display_data, types.FunctionType) or \
            not Path(publish_display_data.__code__.co_filename).is_relative_to(home):
        raise CheckFailed("the submission replaced IPython's publish_display_data: its checks "
                          "cannot be trusted, and score nothing")
    publish_display_data({VERDICT_MIME: {"nonce": nonce, "passed": passed_all,
                                         "message": "" if passed_all else message}})


@contextmanager
def _nothing() -> Iterator[None]:
    yield
