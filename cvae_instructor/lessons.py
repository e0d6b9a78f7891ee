"""What a lesson notebook holds for grading, read from its cells' metadata.

- **Answer cells** are nbgrader ``solution`` code cells with a ``grade_id``: the learner writes
  the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``.
- **Check cells** are nbgrader ``grade`` code cells that are not solutions: each calls a
  self-check (``checks.check_...(answer)``) and is worth ``points``.
- **Context cells** are tagged ``grading-context``: the setup, the imports, the data, the cells
  that assemble the learner's module. A grader runs them (from the lesson, never from a
  submission) and nothing else of the lesson.

An exercise is one check cell and the answer cells whose names it uses.
"""

import ast
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CODE_PROMPT = ["# YOUR CODE HERE", "raise NotImplementedError()"]
ANSWER_PROMPT = "YOUR ANSWER HERE"
GRADING_CONTEXT = "grading-context"
LESSON_KEY = "cvae_course"  # notebook metadata: {"lesson": "01_autoencoder"}


def _metadata(cell: nbformat.NotebookNode) -> dict:
    meta = cell.get("metadata", {})
    return meta if isinstance(meta, dict) else {}  # a submission's may be anything


def nbgrader(cell: nbformat.NotebookNode) -> dict:
    """The cell's nbgrader metadata (empty for an ordinary cell)."""
    meta = _metadata(cell).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_answer(cell: nbformat.NotebookNode) -> bool:
    return cell.get("cell_type") == "code" and bool(nbgrader(cell).get("solution"))


def is_check(cell: nbformat.NotebookNode) -> bool:
    """An auto-graded check cell: nbgrader ``grade`` without ``solution``."""
    meta = nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_context(cell: nbformat.NotebookNode) -> bool:
    tags = _metadata(cell).get("tags", [])
    return cell.get("cell_type") == "code" and isinstance(tags, list) and GRADING_CONTEXT in tags


def clear_solution(source: str) -> str:
    """Replace each region between the solution markers (markers included) by the prompt,
    at the markers' indentation, as nbgrader's ClearSolutions does."""
    out, inside = [], False
    for line in source.split("\n"):
        if line.strip() == BEGIN:
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + prompt for prompt in CODE_PROMPT)
        elif line.strip() == END:
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"a {BEGIN} without its {END}")
    return "\n".join(out)


def python_source(source: str) -> str:
    """A cell's source as plain Python: IPython's ``%magic`` and ``!shell`` lines become
    ``pass`` at their indentation, so that ``ast`` can read the rest."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append(line[: len(line) - len(stripped)] + "pass" if stripped.startswith(("%", "!"))
                     else line)
    return "\n".join(lines)


def parse(source: str) -> ast.Module | None:
    """The cell's syntax tree, or None when it is not valid Python."""
    try:
        return ast.parse(python_source(source))
    except (SyntaxError, ValueError):
        return None


def defined_names(source: str) -> set[str]:
    """The names a cell binds at its top level: functions, classes, assignments, imports."""
    tree = parse(source)
    names: set[str] = set()
    for node in tree.body if tree else []:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def used_names(source: str) -> set[str]:
    tree = parse(source)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} if tree else set()


@dataclass
class Answer:
    grade_id: str
    source: str          # the solution, as in the lesson
    names: list[str]     # what it defines that the checks use, e.g. ["reconstruction_loss"]

    @property
    def released(self) -> str:
        """The cell as handed out (solution cleared)."""
        return clear_solution(self.source)


@dataclass
class Exercise:
    grade_id: str        # the check cell's
    points: float
    source: str          # the check cell's code
    answers: list[str]   # the grade ids of the answer cells it needs


@dataclass
class Lesson:
    path: Path
    notebook: nbformat.NotebookNode
    answers: dict[str, Answer] = field(default_factory=dict)
    exercises: list[Exercise] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def points(self) -> float:
        return sum(e.points for e in self.exercises)

    def code_cells(self) -> list[nbformat.NotebookNode]:
        return [c for c in self.notebook.cells if c.cell_type == "code"]

    def context_cells(self) -> list[nbformat.NotebookNode]:
        """The cells tagged ``grading-context``; a lesson without tags gets its first two code
        cells (the setup and the imports)."""
        tagged = [c for c in self.code_cells() if is_context(c)]
        return tagged or self.code_cells()[:2]


def read_lesson(path: Path) -> Lesson:
    nb = nbformat.read(path, as_version=4)
    lesson = Lesson(path, nb)
    checks = [c for c in nb.cells if is_check(c)]
    checked = set().union(*(used_names(c.source) for c in checks)) if checks else set()
    previous = None
    for cell in nb.cells:
        if is_answer(cell):
            grade_id = nbgrader(cell)["grade_id"]
            names = sorted(defined_names(cell.source) & checked)
            lesson.answers[grade_id] = previous = Answer(grade_id, cell.source, names)
        elif is_check(cell):
            uses = used_names(cell.source)
            needed = [a.grade_id for a in lesson.answers.values() if uses & set(a.names)]
            lesson.exercises.append(Exercise(nbgrader(cell)["grade_id"],
                                             nbgrader(cell).get("points", 0), cell.source,
                                             needed or ([previous.grade_id] if previous else [])))
    return lesson


def lesson_paths(folder: Path) -> list[Path]:
    """The lesson notebooks of ``folder``, in reading order."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


# --- The check cell a grader runs ------------------------------------------------------------

_CHECK_CELL = '''\
# A grader's check: the check cell's code, run against a private copy of cvae_helpers.checks
# loaded from files of known SHA-256 (cvae_helpers/checks/core.py, "For graders").
def _cvae_regrade():
    import hashlib
    import importlib.util
    import pathlib
    import types

    expected = {expected!r}
    package = {package}
    path = package / "checks" / "core.py"
    source = path.read_bytes()
    if hashlib.sha256(source).hexdigest() != expected["checks/core.py"]:
        raise RuntimeError(f"{{path}} is not the file this work is graded with: reinstall cvae_helpers")
    core = types.ModuleType("cvae_helpers.checks.core")
    exec(compile(source, str(path), "exec"), core.__dict__)
    core.regrade({source!r}, globals(), package, expected, {nonce!r})


_cvae_regrade()'''


def check_code(source: str, expected: dict[str, str], package_dir: str | None = None,
               nonce: str | None = None) -> str:
    """The code of a grader's check cell for the check cell ``source``.

    ``expected`` are the package's file digests (``checks.core.digests``); ``package_dir`` is
    where the grading kernel finds the package (default: wherever ``cvae_helpers`` imports
    from, for nbgrader). With a ``nonce`` the verdict is published for ``make grade``; without,
    a failure raises, for nbgrader.
    """
    package = (f"pathlib.Path({package_dir!r})" if package_dir else
               'pathlib.Path(importlib.util.find_spec("cvae_helpers").origin).parent')
    return _CHECK_CELL.format(expected=expected, package=package, source=source, nonce=nonce)


def fingerprint(source: str) -> str:
    """A short digest of a cell's text, whitespace ignored (to recognise a lesson's cells)."""
    return hashlib.sha256(re.sub(r"\s+", "", source).encode()).hexdigest()[:16]
