"""The course's frame: where it lives on GitHub, its Colab badges, its setup cell, and the
student copies of its lessons.

This module is for maintainers and instructors, not for the lessons. The repository is named in
one place, ``Repository`` under ``[project.urls]`` in pyproject.toml; ``make colab
REPO=owner/name`` (``python -m cvae_helpers.course colab owner/name``) points it, every lesson's
badge and setup cell, the student copies and README.md at a fork, and ``tests/test_course.py``
keeps them in agreement.

``make student`` (``python -m cvae_helpers.course student``) writes ``student/``: each lesson
with the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` replaced by
``raise NotImplementedError()``, written answers replaced by a prompt, outputs cleared, and the
badge pointing at the copy, as nbgrader's ClearSolutions and ClearOutput preprocessors do.
"""

import base64
import re
import sys
from pathlib import Path

import nbformat

from .data import COURSE_ROOT

BRANCH = "main"
NOTEBOOKS = COURSE_ROOT / "notebooks"
STUDENT = COURSE_ROOT / "student"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CODE_PROMPT = ["# YOUR CODE HERE", "raise NotImplementedError()"]
ANSWER_PROMPT = "YOUR ANSWER HERE"

_COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w.-]+/")
_REPOSITORY_URL = re.compile(r'^Repository = "https://github\.com/([\w.-]+/[\w.-]+)"$', re.MULTILINE)


def repository(root: Path = COURSE_ROOT) -> str:
    """The course's GitHub repository, "owner/name", as pyproject.toml names it."""
    return _REPOSITORY_URL.search((root / "pyproject.toml").read_text()).group(1)


REPOSITORY = repository() if (COURSE_ROOT / "pyproject.toml").is_file() else ""


def colab_url(path: str, repository: str = REPOSITORY) -> str:
    """The address that opens ``path`` (relative to the course root) in Colab."""
    return f"https://colab.research.google.com/github/{repository}/blob/{BRANCH}/{path}"


def badge(path: str, repository: str = REPOSITORY) -> str:
    """The "Open in Colab" badge for ``path``, as Markdown."""
    return ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(path, repository)})")


def setup_source(repository: str = REPOSITORY) -> str:
    """The first code cell of every lesson: installs the helpers in Colab, nothing elsewhere.

    ``--no-deps`` because Colab already has torch, torchvision, matplotlib, ipywidgets and tqdm;
    reinstalling them would take minutes and could break Colab's own builds.
    """
    return (
        "# Setup. In Colab this installs the course's helper package (about 10 s); on your own\n"
        "# machine `make lab` has installed it already, and this cell does nothing.\n"
        "import sys\n"
        "\n"
        f'REPOSITORY = "{repository}"\n'
        'if "google.colab" in sys.modules:\n'
        '    %pip install --quiet --no-deps "git+https://github.com/{REPOSITORY}"'
    )


def lesson_paths(folder: Path = NOTEBOOKS) -> list[Path]:
    """The lesson notebooks of ``folder``, in reading order."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def _relative(path: Path) -> str:
    """``path`` as the course's Colab links name it: ``notebooks/...`` or ``student/...``."""
    return f"{path.resolve().parent.name}/{path.name}"


def frame_problems(path: Path, repository: str = REPOSITORY) -> list[str]:
    """What in a lesson's badge or setup cell disagrees with ``repository`` (empty when fine)."""
    nb = nbformat.read(path, as_version=4)
    relative = _relative(path)
    problems = []
    if badge(relative, repository) not in nb.cells[0].source:
        problems.append(f"{relative}: the first cell lacks the badge {badge(relative, repository)}")
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code or code[0].source != setup_source(repository):
        problems.append(f"{relative}: the first code cell is not the setup cell for {repository}")
    return problems


def set_frame(path: Path, repository: str = REPOSITORY) -> None:
    """Write the badge and the setup cell for ``repository`` into the lesson at ``path``."""
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    pattern = r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)"
    if re.search(pattern, first.source):
        first.source = re.sub(pattern, badge(_relative(path), repository), first.source)
    else:
        first.source = badge(_relative(path), repository) + "\n\n" + first.source
    setup = next(c for c in nb.cells if c.cell_type == "code")
    setup.source = setup_source(repository)
    nbformat.write(nb, path)


def nbgrader(cell: nbformat.NotebookNode) -> dict:
    """The cell's nbgrader metadata (empty for an ordinary cell)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def clear_solution(source: str) -> str:
    """Replace each region between the solution markers (markers included) by the prompt,
    at the markers' indentation."""
    lines, out, inside = source.split("\n"), [], False
    for line in lines:
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
    set_frame(target)
    return target


def make_student_copies() -> list[Path]:
    """``make student``: a student copy of every lesson, in ``student/``."""
    return [student_copy(path) for path in lesson_paths()]


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
            set_frame(path, repository)
    readme = root / "README.md"
    readme.write_text(_COLAB_LINK.sub(lambda m: colab_url("", repository), readme.read_text()))


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
    else:
        sys.exit("usage: python -m cvae_helpers.course colab OWNER/NAME | student | figures")
