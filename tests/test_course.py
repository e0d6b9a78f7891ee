"""The course's frame: Colab links and the setup cell agree with pyproject.toml, student copies
are current and show no solution (not even computed elsewhere), a blank student copy stops
cleanly, and nbgrader's source folders hold the hidden tests. (Grading: test_grade*.py.)"""

import ast
import shutil
import sys
import types

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import cvae_helpers
from cvae_instructor import course

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
    assert [line for line in solution_lines(path) if line in text] == []
    assert course.leaks(path, committed) == []  # no answer computed outside its answer cell
    assert "raise NotImplementedError()" in text


def test_the_leak_test_finds_an_answer_computed_in_a_later_cell(tmp_path):
    """Exercise 4.1's solution, written again with other names in a figure cell, is a leak; a
    call of a reference function that a lesson makes on purpose is not searched."""
    lesson = course.NOTEBOOKS / "04_evaluating_generative_models.ipynb"
    nb = nbformat.read(course.STUDENT / lesson.name, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "curve = [(-(torch.logsumexp(lw[:k], dim=0) - math.log(k))).mean() for k in KS]\n"
        "plt.plot(KS, curve)"))
    nbformat.write(nb, tmp_path / lesson.name)
    found = course.leaks(lesson, tmp_path / lesson.name)
    assert len(found) == 1 and "logsumexp" in found[0]

    lesson = course.NOTEBOOKS / "02_variational_autoencoder.ipynb"
    nb = nbformat.read(course.STUDENT / lesson.name, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("z = models.reparameterize(kl.sum(dim=1).mean(), lv)"))
    nbformat.write(nb, tmp_path / lesson.name)
    assert course.leaks(lesson, tmp_path / lesson.name) == []
    nb.cells[-1].source = "z = kl.sum(dim=1).mean()"
    nbformat.write(nb, tmp_path / lesson.name)
    assert len(course.leaks(lesson, tmp_path / lesson.name)) == 1


def run_setup_cell(monkeypatch, tag_exists):
    """Run the setup cell as Colab would, with `git ls-remote` answering whether the tag is
    there and `%pip` recording its line instead of installing."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    import subprocess
    monkeypatch.setattr(subprocess, "run", lambda argv, **kwargs: types.SimpleNamespace(
        returncode=0 if tag_exists and "refs/tags/v" + course.VERSION in argv else 2))
    shell = InteractiveShell.instance()
    installed = []
    shell.register_magic_function(installed.append, "line", "pip")
    result = shell.run_cell(course.setup_source())
    assert result.success
    return installed


def test_the_setup_cell_installs_the_release_tag_or_says_it_falls_back_to_main(monkeypatch, capsys):
    assert course.VERSION == cvae_helpers.__version__
    installed = run_setup_cell(monkeypatch, tag_exists=True)
    repository = f"https://github.com/{course.REPOSITORY}"
    assert installed == [f'install --quiet --no-deps "git+{repository}@v{course.VERSION}"']
    assert "not on GitHub" not in capsys.readouterr().out
    installed = run_setup_cell(monkeypatch, tag_exists=False)
    assert installed == [f'install --quiet --no-deps "git+{repository}@main"']
    assert f"v{course.VERSION} is not on GitHub yet: installing the helpers from main" in \
        capsys.readouterr().out


def test_nbgrader_sources_hold_a_hidden_test_per_check_and_open_the_student_copy(tmp_path):
    sources = course.nbgrader_course(tmp_path)
    assert [p.parent.name for p in sources] == [f"lesson{i}" for i in range(1, len(sources) + 1)]
    assert "c.ExecutePreprocessor.timeout" in (tmp_path / "nbgrader_config.py").read_text()
    for source in sources:
        nb = nbformat.read(source, as_version=4)
        assert course.badge(f"student/{source.name}") in nb.cells[0].source
        for cell in nb.cells:
            if course.nbgrader(cell).get("grade") and cell.cell_type == "code":
                code = cell.source.split(course.HIDDEN_BEGIN)[1].split(course.HIDDEN_END)[0]
                ast.parse(code)
                assert "core.regrade(" in code and cell.source.split(course.HIDDEN_BEGIN)[0].strip()


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
