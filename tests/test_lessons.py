"""The learner builds it, and it runs: what each lesson asks the learner to write, and that the
lessons then use it.

- The solution regions hold at least 150 statements of the learner's own code across the course
  (modules, losses, the training loop, the estimators; imports, prints and plotting do not
  count).
- Each graded function or class is used again later in its lesson, by a cell that is not its
  check: to train, to evaluate or to draw.
- Lessons 1, 2, 3 and 5 train their main model with the learner's code and show its training
  (``zoo.keep`` takes the model over), and the cells a grader needs are tagged.
"""

import ast
import textwrap

import nbformat
import pytest

from cvae_instructor import course

LESSONS = course.lesson_paths()
IDS = [p.stem for p in LESSONS]
PLOTTING = {"plt", "ax", "axes", "fig", "plots"}
GRADING_CONTEXT = "grading-context"


def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def is_answer(cell):
    return bool(course.nbgrader(cell).get("solution"))


def is_check(cell):
    meta = course.nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def solution_regions(source):
    """The code between the solution markers of a cell, dedented, one string per region."""
    regions, inside = [], None
    for line in source.splitlines():
        if line.strip() == course.BEGIN:
            inside = []
        elif line.strip() == course.END:
            regions.append(textwrap.dedent("\n".join(inside)))
            inside = None
        elif inside is not None:
            inside.append(line)
    return regions


def _root_name(node):
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


def counts_as_learner_code(node):
    """A statement the learner wrote that is not an import, a print, a plot or a docstring."""
    if not isinstance(node, ast.stmt) or isinstance(node, ast.Import | ast.ImportFrom | ast.Pass):
        return False
    if isinstance(node, ast.Expr):
        if isinstance(node.value, ast.Constant):
            return False
        if isinstance(node.value, ast.Call) and _root_name(node.value.func) in {"print", *PLOTTING}:
            return False
    return True


def learner_statements(path):
    total = 0
    for cell in code_cells(path):
        if is_answer(cell):
            for region in solution_regions(cell.source):
                total += sum(counts_as_learner_code(n) for n in ast.walk(ast.parse(region)))
    return total


def test_learner_statements_count_statements_not_lines():
    region = textwrap.dedent("""
        import math
        total = 0
        for x in range(3):
            total += x  # a comment
        print(total)
        plt.show()
        return total
    """)
    assert sum(counts_as_learner_code(n) for n in ast.walk(ast.parse(region))) == 4


def test_the_learner_writes_at_least_150_statements():
    per_lesson = {p.stem: learner_statements(p) for p in LESSONS}
    assert sum(per_lesson.values()) >= 150, per_lesson
    assert all(n >= 15 for n in per_lesson.values()), per_lesson


def python_of(cell):
    """A code cell's source as Python: IPython's %magics and !commands are left out."""
    lines = [line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(lines))


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_every_graded_answer_is_used_again_later_in_its_lesson(path):
    cells = code_cells(path)
    unused = []
    for i, cell in enumerate(cells):
        if not is_answer(cell):
            continue
        defined = [n.name for n in python_of(cell).body
                   if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        later = {n.id for c in cells[i + 1:] if not is_check(c)
                 for n in ast.walk(python_of(c)) if isinstance(n, ast.Name)}
        unused += [name for name in defined if name not in later]
    assert unused == [], f"{path.name}: graded answers never used after their check: {unused}"


@pytest.mark.parametrize("path", [p for p in LESSONS if not p.name.startswith("04")],
                         ids=[i for i in IDS if not i.startswith("04")])
def test_the_lesson_trains_its_main_model_with_the_learners_code_in_view(path):
    cells = code_cells(path)
    keeps = [i for i, c in enumerate(cells) if "zoo.keep(" in c.source]
    assert keeps, f"{path.name}: no cell hands the learner-trained model to zoo.keep"
    for i in keeps:
        shown = [o for c in cells[i:i + 2] for o in c.outputs if "image/png" in o.get("data", {})]
        assert shown, f"{path.name}: the training run's learning curve is not shown beside it"


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_the_cells_a_grader_needs_are_tagged(path):
    cells = code_cells(path)
    tagged = [c for c in cells if GRADING_CONTEXT in c.metadata.get("tags", [])]
    assert cells[0] in tagged and cells[1] in tagged, "the setup and import cells"
    assert not any(is_answer(c) or is_check(c) for c in tagged)
    assert not any("zoo.trained(" in c.source or "zoo.keep(" in c.source or "fit(" in c.source
                   for c in tagged), "a grading-context cell trains a model: grading would be slow"
