"""The course's frame: Colab links agree with pyproject.toml, student copies are current and
hold no solutions, a blank student copy stops cleanly, and the grader scores submissions."""

import csv
import shutil

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from cvae_helpers import course
from cvae_helpers.grade import grade_folder

LESSONS = course.lesson_paths()
IDS = [p.stem for p in LESSONS]


def solution_lines(path):
    """The non-trivial lines inside a lesson's solution regions and written answers."""
    lines = []
    for cell in nbformat.read(path, as_version=4).cells:
        if not course.nbgrader(cell).get("solution"):
            continue
        if cell.cell_type == "markdown":
            lines += [line for line in cell.source.splitlines() if len(line.strip()) > 20]
            continue
        inside = False
        for line in cell.source.splitlines():
            if line.strip() in (course.BEGIN, course.END):
                inside = line.strip() == course.BEGIN
            elif inside and len(line.strip()) > 12 and not line.strip().startswith("#"):
                lines.append(line.strip())
    return lines


def test_there_are_lessons_with_graded_exercises():
    assert len(LESSONS) >= 3
    assert sum(len(solution_lines(p)) > 0 for p in LESSONS) == len(LESSONS)


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_badges_and_setup_cells_point_at_the_repository(path):
    assert course.frame_problems(path) == []
    assert course.frame_problems(course.STUDENT / path.name) == []


def test_the_readme_links_point_at_the_repository():
    readme = (course.COURSE_ROOT / "README.md").read_text()
    links = course._COLAB_LINK.findall(readme)
    assert links and all(course.colab_url("") == link for link in links)


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_student_copies_are_up_to_date_and_hold_no_solution(path, tmp_path):
    fresh = course.student_copy(path, tmp_path / "student")
    committed = course.STUDENT / path.name
    assert fresh.read_text() == committed.read_text(), "run `make student` and commit student/"
    text = committed.read_text()
    leaks = [line for line in solution_lines(path) if line in text]
    assert leaks == []
    assert "raise NotImplementedError()" in text


def test_make_colab_points_everything_at_a_fork(tmp_path):
    for name in ("pyproject.toml", "README.md", "notebooks", "student"):
        source = course.COURSE_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    course.set_repository("someone/fork", root=tmp_path)
    assert course.repository(tmp_path) == "someone/fork"
    for folder in ("notebooks", "student"):
        for path in course.lesson_paths(tmp_path / folder):
            assert course.frame_problems(path, "someone/fork") == []
    assert "github/someone/fork/blob/main/notebooks/" in (tmp_path / "README.md").read_text()
    with pytest.raises(ValueError, match="owner/name"):
        course.set_repository("not a repository", root=tmp_path)


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_a_blank_student_copy_stops_at_the_first_unfinished_exercise(lesson):
    path = course.STUDENT / lesson.name
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(course.NOTEBOOKS)}})
    with pytest.raises(CellExecutionError) as stopped:
        client.execute()
    assert "NotImplementedError" in str(stopped.value)
    checks = [c for c in nb.cells if c.cell_type == "code" and c.outputs
              and course.nbgrader(c).get("grade") and not course.nbgrader(c).get("solution")]
    assert checks, "a self-check should have run before the first unfinished exercise was used"
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "not done yet" in text and "Traceback" not in text


def test_grading_gives_full_zero_and_partial_points(tmp_path):
    lesson = LESSONS[0]
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    shutil.copy(lesson, submissions / f"alice_{lesson.name}")
    shutil.copy(course.STUDENT / lesson.name, submissions / f"bob_{lesson.name}")
    # Carol finished every exercise but got the first one wrong.
    nb = nbformat.read(lesson, as_version=4)
    answer = next(c for c in nb.cells if course.nbgrader(c).get("solution")
                  and c.cell_type == "code")
    lines = answer.source.splitlines()
    start = lines.index(next(line for line in lines if line.strip() == course.BEGIN))
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    lines.insert(start + 1, indent + "return None  # a wrong answer")
    answer.source = "\n".join(lines)
    nbformat.write(nb, submissions / f"carol_{lesson.name}")
    # Names start with the lesson number for matching: 01_alice..., as students keep the name.
    for path in submissions.iterdir():
        path.rename(submissions / (lesson.name[:3] + path.name))
    out = tmp_path / "grades.csv"
    grade_folder(submissions, out, time_limit=300)
    rows = {r["submission"].split("_")[1]: r for r in csv.DictReader(out.open())}
    full = sum(int(v) for k, v in rows["alice"].items() if k.endswith("-check") and v)
    assert full > 0 and int(rows["alice"]["total"]) == full
    assert int(rows["bob"]["total"]) == 0
    assert 0 < int(rows["carol"]["total"]) < full
