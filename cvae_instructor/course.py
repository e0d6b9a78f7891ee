"""The course's frame: where it lives on GitHub, its Colab badges, its setup cell, the student
copies of its lessons, and nbgrader's source folders.

The repository is named in one place, ``Repository`` under ``[project.urls]`` in pyproject.toml,
and so is the version. ``make colab REPO=owner/name`` (``python -m cvae_instructor.course colab
owner/name``) points pyproject.toml, every lesson's badge and setup cell, the student copies and
README.md at a fork; ``tests/test_course.py`` keeps them in agreement. The setup cell installs
the helpers from the tag ``v{version}``, so that a lesson and its helpers match; until that tag
is pushed, it installs them from main and says so.

``make student`` (``python -m cvae_instructor.course student``) refreshes each lesson's frame and
writes ``student/``: each lesson with the code between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` replaced by ``raise NotImplementedError()``, written answers replaced by a
prompt, outputs cleared, and the badge pointing at the copy, as nbgrader's ClearSolutions and
ClearOutput preprocessors do.

``make nbgrader COURSE=folder`` (``python -m cvae_instructor.course nbgrader folder``) writes an
nbgrader course folder: ``source/lessonN/`` holding each lesson with its badge pointing at the
student copy and, in each check cell, a hidden test that re-runs the check from a private copy
of the checks on cases drawn at grading time; and an ``nbgrader_config.py``.
"""

import ast
import base64
import re
import sys
from pathlib import Path

import nbformat

from cvae_helpers.checks.core import digests

from .lessons import (
    ANSWER_PROMPT,
    BEGIN,
    END,
    LESSON_KEY,
    check_code,
    clear_solution,
    is_answer,
    is_check,
    nbgrader,
    parse,
)
from .lessons import lesson_paths as _lesson_paths

COURSE_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = COURSE_ROOT / "cvae_helpers"
NOTEBOOKS = COURSE_ROOT / "notebooks"
STUDENT = COURSE_ROOT / "student"
BRANCH = "main"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"

__all__ = ["BEGIN", "END", "nbgrader"]  # with lesson_paths, what tests/test_lessons.py reads

_COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w.-]+/")
_REPOSITORY_URL = re.compile(r'^Repository = "https://github\.com/([\w.-]+/[\w.-]+)"$', re.MULTILINE)
_VERSION = re.compile(r'^version = "([^"]+)"$', re.MULTILINE)
_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


def lesson_paths(folder: Path = NOTEBOOKS) -> list[Path]:
    """The lesson notebooks of ``folder`` (the lessons by default), in reading order."""
    return _lesson_paths(folder)


def repository(root: Path = COURSE_ROOT) -> str:
    """The course's GitHub repository, "owner/name", as pyproject.toml names it."""
    return _REPOSITORY_URL.search((root / "pyproject.toml").read_text()).group(1)


def version(root: Path = COURSE_ROOT) -> str:
    """The course's version, as pyproject.toml gives it; its release is the git tag v{version}."""
    return _VERSION.search((root / "pyproject.toml").read_text()).group(1)


REPOSITORY = repository() if (COURSE_ROOT / "pyproject.toml").is_file() else ""
VERSION = version() if (COURSE_ROOT / "pyproject.toml").is_file() else ""


def colab_url(path: str, repository: str = REPOSITORY) -> str:
    """The address that opens ``path`` (relative to the course root) in Colab."""
    return f"https://colab.research.google.com/github/{repository}/blob/{BRANCH}/{path}"


def badge(path: str, repository: str = REPOSITORY) -> str:
    """The "Open in Colab" badge for ``path``, as Markdown."""
    return ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(path, repository)})")


def setup_source(repository: str = REPOSITORY, version: str = VERSION) -> str:
    """The first code cell of every lesson: installs the helpers in Colab, nothing elsewhere.

    The helpers come from the release tag ``v{version}``, so that they match the lesson; while
    that tag is not on GitHub yet, from main, with a note saying so. ``--no-deps`` because Colab
    already has torch, torchvision, matplotlib, ipywidgets and tqdm; reinstalling them would
    take minutes and could break Colab's own builds.
    """
    return (
        "# Setup. In Colab this installs the course's helper package (about 10 s); on your own\n"
        "# machine `make lab` has installed it already, and this cell does nothing.\n"
        "import sys\n"
        "\n"
        f'REPOSITORY, VERSION = "{repository}", "{version}"\n'
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n"
        "\n"
        '    URL, TAG = f"https://github.com/{REPOSITORY}", f"v{VERSION}"\n'
        '    found = subprocess.run(["git", "ls-remote", "--exit-code", URL, f"refs/tags/{TAG}"],\n'
        "                           capture_output=True).returncode == 0\n"
        "    if not found:\n"
        '        print(f"The release {TAG} is not on GitHub yet: installing the helpers from main.")\n'
        '    REF = TAG if found else "main"\n'
        '    %pip install --quiet --no-deps "git+{URL}@{REF}"'
    )


def _relative(path: Path) -> str:
    """``path`` as the course's Colab links name it: ``notebooks/...`` or ``student/...``."""
    return f"{path.resolve().parent.name}/{path.name}"


def frame_problems(path: Path, repository: str = REPOSITORY, version: str = VERSION) -> list[str]:
    """What in a lesson's badge, setup cell or lesson id disagrees with the course (empty when
    fine)."""
    nb = nbformat.read(path, as_version=4)
    relative = _relative(path)
    problems = []
    if badge(relative, repository) not in nb.cells[0].source:
        problems.append(f"{relative}: the first cell lacks the badge {badge(relative, repository)}")
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code or code[0].source != setup_source(repository, version):
        problems.append(f"{relative}: the first code cell is not the setup cell for {repository} "
                        f"v{version}: run `make student`")
    if nb.metadata.get(LESSON_KEY, {}).get("lesson") != path.stem:
        problems.append(f"{relative}: the notebook's metadata lacks its lesson id: run `make student`")
    return problems


def set_frame(path: Path, repository: str = REPOSITORY, version: str = VERSION,
              badge_path: str | None = None) -> None:
    """Write the badge (to ``badge_path``, by default the notebook itself), the setup cell and
    the lesson id into the lesson at ``path``."""
    nb = nbformat.read(path, as_version=4)
    first, link = nb.cells[0], badge(badge_path or _relative(path), repository)
    first.source = (_BADGE.sub(lambda m: link, first.source) if _BADGE.search(first.source)
                    else link + "\n\n" + first.source)
    next(c for c in nb.cells if c.cell_type == "code").source = setup_source(repository, version)
    nb.metadata[LESSON_KEY] = {"lesson": path.stem}
    nbformat.write(nb, path)


def student_copy(path: Path, folder: Path = STUDENT) -> Path:
    """Write the student version of the lesson at ``path`` into ``folder``; return its path."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # run timestamps
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if nbgrader(cell).get("solution"):
            cell.source = (clear_solution(cell.source) if cell.cell_type == "code"
                           else ANSWER_PROMPT)
    nb.metadata.pop("widgets", None)
    target = folder / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    set_frame(target, badge_path=f"student/{path.name}")
    return target


def make_student_copies() -> list[Path]:
    """``make student``: refresh every lesson's frame, then a student copy of each in
    ``student/``."""
    for path in lesson_paths():
        set_frame(path)
    return [student_copy(path) for path in lesson_paths()]


# --- What a student copy must not show ---------------------------------------------------------

# Calls of a helper's reference function that a lesson makes on purpose, after its exercise.
ALLOWED_CALLS = {"02_variational_autoencoder": {"models.reparameterize"},
                 "03_conditional_vae": {"cvae.sample"}}
_KEPT_NAMES = {"torch", "F", "nn", "math", "np", "Normal"}  # modules: compared by name


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _normalised(node: ast.AST) -> str:
    """``node`` as a string in which each piece of data (a variable, ``X.shape[0]``, ``lw[:k]``)
    is renamed by its order of appearance, so that ``torch.exp(0.5 * logvar)`` and
    ``torch.exp(0.5 * lv)`` read the same; modules and the functions called keep their names."""
    data: dict[str, str] = {}

    def walk(n: ast.AST, called: bool = False) -> str:
        if isinstance(n, ast.Name | ast.Subscript | ast.Attribute) and not called and \
                _root(n) not in _KEPT_NAMES and _root(n) is not None:
            return data.setdefault(ast.unparse(n), f"v{len(data)}")
        if isinstance(n, ast.Call):
            args = [walk(a) for a in n.args] + [f"{k.arg}={walk(k.value)}" for k in n.keywords]
            return f"{walk(n.func, called=True)}({', '.join(args)})"
        if isinstance(n, ast.Attribute):
            return f"{walk(n.value)}.{n.attr}"
        if isinstance(n, ast.Name):
            return n.id
        if isinstance(n, ast.Constant):
            return repr(n.value)
        return f"{type(n).__name__}({', '.join(walk(c) for c in ast.iter_child_nodes(n))})"

    return walk(node)


def key_expressions(lesson: nbformat.NotebookNode) -> dict[str, str]:
    """The return expressions of the lesson's solutions that compute with a call (not a bare
    name, a tuple of names or ``mu + sigma * eps``, which the lesson's text shows anyway),
    normalised, mapped to their source."""
    keys = {}
    for cell in lesson.cells:
        if not is_answer(cell) or (tree := parse(cell.source)) is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Return) and node.value is not None and any(
                    isinstance(n, ast.Call) for n in ast.walk(node.value)):
                keys[_normalised(node.value)] = ast.unparse(node.value)
    return keys


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


def leaks(lesson_path: Path, copy_path: Path) -> list[str]:
    """Where the student copy at ``copy_path`` computes an answer of the lesson at
    ``lesson_path`` outside its answer cells: an expression equal to a solution's return
    expression, compared as syntax trees with the variables renamed in order of appearance.
    Calls of the helpers' reference functions that the lesson makes on purpose
    (``ALLOWED_CALLS``) are not searched."""
    keys = key_expressions(nbformat.read(lesson_path, as_version=4))
    allowed = ALLOWED_CALLS.get(lesson_path.stem, set())
    found = []
    for index, cell in enumerate(nbformat.read(copy_path, as_version=4).cells):
        if cell.cell_type != "code" or is_answer(cell) or (tree := parse(cell.source)) is None:
            continue
        skipped = {id(n) for call in ast.walk(tree)
                   if isinstance(call, ast.Call) and _dotted(call.func) in allowed
                   for n in ast.walk(call)}
        for node in ast.walk(tree):
            if id(node) in skipped or not isinstance(node, ast.expr) or isinstance(
                    node, ast.Name | ast.Constant | ast.FormattedValue | ast.JoinedStr):
                continue
            if (key := _normalised(node)) in keys:
                found.append(f"cell {index}: `{ast.unparse(node)}` computes the solution's "
                             f"`return {keys[key]}`")
    return found


# --- nbgrader ----------------------------------------------------------------------------------

NBGRADER_CONFIG = '''\
# nbgrader's configuration for the course (written by `make nbgrader`).
c = get_config()  # noqa: F821 -- nbgrader provides it

# A lesson's training cells take minutes on a CPU when the model cache is empty, and nbgrader's
# default is 30 s per cell: grade with a warm cache (run the lessons once, or set CVAE_CACHE_DIR
# to a folder that holds the trained models) and allow each cell this many seconds.
c.ExecutePreprocessor.timeout = 600

# Set in the environment of `nbgrader autograde`, not here:
#   CVAE_DATA_DIR   a folder holding MNIST/raw/ (the four IDX files), as for the lessons
#   CVAE_CACHE_DIR  the trained models (default: data/models/ in the course folder)
# The checks raise on failure under nbgrader by themselves (it sets NBGRADER_EXECUTION).
'''


def nbgrader_source(path: Path, folder: Path) -> Path:
    """The lesson at ``path`` as an nbgrader source notebook in ``folder``: its badge points at
    the student copy, and each check cell ends with a hidden test that re-runs its check from a
    private copy of the checks, on the visible cases and on cases drawn at grading time."""
    nb = nbformat.read(path, as_version=4)
    expected = digests(PACKAGE)
    for cell in nb.cells:
        if is_check(cell):
            cell.source = (f"{cell.source.rstrip()}\n{HIDDEN_BEGIN}\n"
                           f"{check_code(cell.source, expected)}\n{HIDDEN_END}")
    target = folder / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    set_frame(target, badge_path=f"student/{path.name}")
    return target


def nbgrader_course(root: Path, lessons: list[Path] | None = None) -> list[Path]:
    """An nbgrader course folder at ``root``: ``source/lessonN/<lesson>.ipynb`` for each lesson
    and, unless there is one, ``nbgrader_config.py``."""
    config = root / "nbgrader_config.py"
    root.mkdir(parents=True, exist_ok=True)
    if not config.exists():
        config.write_text(NBGRADER_CONFIG)
    return [nbgrader_source(p, root / "source" / f"lesson{int(p.name[:2])}")
            for p in lessons or lesson_paths()]


def export_readme_figures(folder: Path = COURSE_ROOT / "docs" / "images") -> list[Path]:
    """Save each lesson's figure tagged ``readme-figure`` as ``docs/images/<lesson>.png``, the
    pictures of README's course map (``make figures``, after executing the lessons)."""
    written = []
    for path in lesson_paths():
        for cell in nbformat.read(path, as_version=4).cells:
            if "readme-figure" in cell.get("metadata", {}).get("tags", []):
                png = next(o["data"]["image/png"] for o in cell.outputs
                           if "image/png" in o.get("data", {}))
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / f"{path.stem}.png"
                target.write_bytes(base64.b64decode(png))
                written.append(target)
    return written


def set_repository(repository: str, root: Path = COURSE_ROOT) -> None:
    """Point the course at ``root`` to ``repository`` ("owner/name"): pyproject.toml, every
    lesson and student copy, and README.md's Colab links."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
        raise ValueError(f"expected a GitHub repository as owner/name, got {repository!r}")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(_REPOSITORY_URL.sub(
        f'Repository = "https://github.com/{repository}"', pyproject.read_text()))
    for folder in (root / "notebooks", root / "student"):
        for path in lesson_paths(folder):
            set_frame(path, repository, version(root))
    readme = root / "README.md"
    readme.write_text(_COLAB_LINK.sub(lambda m: colab_url("", repository), readme.read_text()))


USAGE = "usage: python -m cvae_instructor.course colab OWNER/NAME | student | figures | nbgrader FOLDER"

if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "colab":
        set_repository(sys.argv[2])
        print(f"The course now points at https://github.com/{sys.argv[2]}")
    elif sys.argv[1:] == ["student"]:
        for copy in make_student_copies():
            print(f"wrote {copy.relative_to(COURSE_ROOT)}")
    elif sys.argv[1:] == ["figures"]:
        for figure in export_readme_figures():
            print(f"wrote {figure.relative_to(COURSE_ROOT)}")
    elif len(sys.argv) == 3 and sys.argv[1] == "nbgrader":
        for source in nbgrader_course(Path(sys.argv[2])):
            print(f"wrote {source}")
        print("next: cd there, `nbgrader generate_assignment lesson1`, ... (docs/instructors.md)")
    else:
        sys.exit(USAGE)
