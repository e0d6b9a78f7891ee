"""``make grade`` and nbgrader, tried the way an instructor's term would try them: one folder of
real-looking submissions (LMS and Colab names, a folder per student, blank, empty, corrupt,
cheating, hostile), graded once, and the same three notebooks autograded by nbgrader itself.

The model cache should be warm (``make test`` runs the lessons first): nbgrader runs the whole
lesson. Its three autogrades run beside ``make grade``'s run, each in its own course folder.
"""

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from cvae_helpers.checks.core import digests
from cvae_instructor import course, lessons
from cvae_instructor.grade import grade_folder, match_lesson
from cvae_instructor.sandbox import Limits

LESSON = course.NOTEBOOKS / "01_autoencoder.ipynb"
FULL = 7
CANARY = "CVAE_TEST_INSTRUCTOR_SECRET"


def answers_of(nb):
    return {lessons.nbgrader(c)["grade_id"]: c for c in nb.cells if lessons.is_answer(c)}


def with_answers(path, edits):
    """The notebook at ``path`` with the answer cells named in ``edits`` changed by them."""
    nb = nbformat.read(path, as_version=4)
    cells = answers_of(nb)
    for grade_id, edit in edits.items():
        cells[grade_id].source = edit(cells[grade_id].source)
    return nb


def solution(grade_id):
    return answers_of(nbformat.read(LESSON, as_version=4))[grade_id].source


def unscaled_uniform(source):
    """A plausible wrong answer: uniform numbers, not scaled to the box."""
    return source.replace("low + (high - low) * torch.rand", "torch.rand")


PRINT_PASS = '''\
def {name}(*args, **kwargs):
    print("PASS {exercise}: all cases agree with the reference.")
'''

CHEATS = {
    # A loss that returns the reference's values for the inputs the learner sees, and rebinds
    # `checks` to an object whose every check prints PASS.
    "l1-reconstruction_loss": '''\
import torch
from cvae_helpers import losses
from cvae_helpers.checks import core

_g = core.seeded(1)
_L, _X = torch.randn(4, 1, 28, 28, generator=_g) * 3, torch.rand(4, 1, 28, 28, generator=_g)
_S = torch.full((2, 1, 28, 28), 40.0)
_S[1] = -40.0
_Z = torch.zeros(2, 1, 28, 28)
_Z[0] = 1.0
_SEEN = {float(_L.sum()): losses.reconstruction_loss(_L, _X),
         float(_L[:1].sum()): losses.reconstruction_loss(_L[:1], _X[:1]),
         float(_S.sum()): losses.reconstruction_loss(_S, _Z)}


def reconstruction_loss(logits, X):
    return _SEEN.get(float(logits.sum()), torch.tensor(0.0))


class _Pass:
    def __getattr__(self, name):
        return lambda *args, **kwargs: print("PASS")


checks = _Pass()
''',
    # No nonlinearity; and the checks' machinery patched to pass everything.
    "l1-autoencoder_layers": '''\
import cvae_helpers.checks
import cvae_helpers.checks.core
from torch import nn

cvae_helpers.checks.run_cases = lambda *args, **kwargs: print("PASS")
cvae_helpers.checks.core.run_cases = lambda *args, **kwargs: print("PASS")
cvae_helpers.checks.lesson1.run_cases = lambda *args, **kwargs: print("PASS")
cvae_helpers.checks.core.compare = lambda *args, **kwargs: None


def build_autoencoder_layers(latent_dim):
    return nn.Linear(784, latent_dim), nn.Linear(latent_dim, 784)
''',
    # Wrong, and the reference it is compared with replaced by the wrong answer.
    "l1-uniform_in_box": '''\
import torch
import cvae_helpers.evaluate


def uniform_in_box(Z, n, generator=None):
    return torch.rand(n, Z.shape[1], generator=generator)


cvae_helpers.evaluate.uniform_in_box = uniform_in_box
cvae_helpers.evaluate.uniform_in_box.__code__ = uniform_in_box.__code__
''',
}

HOSTILE = '''\
import json
import mmap
import os
import pathlib
import subprocess

import cvae_helpers

pathlib.Path("../x").write_text("escaped")
pathlib.Path("{victim}").write_text(pathlib.Path("{lesson}").read_text())  # a friend's file
(pathlib.Path.home() / "x").write_text("escaped")
# Processes that would write a file once grading is over (the test then creates {go}).
wait = "while [ ! -e {go} ]; do sleep 0.1; done; touch {escaped}"
subprocess.Popen(["setsid", "sh", "-c", wait + "-1"])
os.system(f"(setsid sh -c '{{wait}}-2' &) &")
os.system(f"env -i setsid sh -c '{{wait}}-3' &")
try:
    mmap.mmap(-1, 12 * 2**30)
    memory = "not capped"
except OSError:
    memory = "capped"
pathlib.Path("{report}").write_text(json.dumps({{
    "x": str(pathlib.Path("../x").resolve()), "home": str(pathlib.Path.home() / "x"),
    "package": cvae_helpers.__file__, "memory": memory, "env": sorted(os.environ)}}))
print("x" * 40_000_000)
'''

# In the last answer cell: the kernel ends at once, so this sleeper would outlive the grading if
# it were not ended.
LAST = '''
(pathlib.Path(cvae_helpers.__file__).parent / "checks" / "lesson1.py").write_text("PASS = 1")
subprocess.Popen(["setsid", "sh", "-c", "sleep 5; touch {escaped}-4"])
os._exit(0)
'''


def stripped(nb):
    """``nb`` as an editor that drops metadata leaves it: no lesson id, no nbgrader, no tags."""
    nb.metadata.pop(lessons.LESSON_KEY, None)
    for cell in nb.cells:
        cell.metadata = {}
    return nb


def nbgrader_env():
    """The environment for nbgrader: it runs the `alembic` command, which lies beside it."""
    try:
        import alembic
        import nbgrader  # noqa: F401
    except ImportError:
        pytest.fail("nbgrader is not installed: `pip install -e .[instructor]` (make test does)")
    bins = [str(Path(sys.executable).parent), str(Path(alembic.__file__).parents[1] / "bin")]
    return {**os.environ, "PATH": os.pathsep.join([*bins, os.environ.get("PATH", "")])}


def nbgrader(*args, cwd, env):
    return subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finished(process, timeout=600):
    out, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, out[-3000:]
    return out


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    """Everything graded once: ``make grade``'s rows, nbgrader's scores, and what the hostile
    submission reported and left."""
    start = time.monotonic()
    root = tmp_path_factory.mktemp("term")
    env = nbgrader_env()

    # nbgrader: the source folder, the release copy, three submissions in three course folders.
    nbg = root / "nbgrader"
    course.nbgrader_course(nbg, [LESSON])
    finished(nbgrader("generate_assignment", "lesson1", "--force", cwd=nbg, env=env))
    source = nbg / "source" / "lesson1" / LESSON.name
    release = nbg / "release" / "lesson1" / LESSON.name
    wrong = with_answers(release, {g: (lambda s, g=g: solution(g)) for g in answers_of(
        nbformat.read(release, as_version=4))})
    answers_of(wrong)["l1-uniform_in_box"].source = unscaled_uniform(solution("l1-uniform_in_box"))
    trio = {"alice": source, "bob": release, "carol": wrong}
    running = {}
    for student, notebook in trio.items():
        folder = root / f"nbgrader-{student}"
        shutil.copytree(nbg, folder)
        target = folder / "submitted" / student / "lesson1" / LESSON.name
        target.parent.mkdir(parents=True)
        nbformat.write(notebook, target) if isinstance(notebook, dict) else shutil.copy(notebook, target)
        running[student] = (folder, nbgrader("autograde", "lesson1", "--create", "--force",
                                             cwd=folder, env=env))
    # nbgrader validate, on the wrong answer alone (its imports, the answer and its check).
    validate_nb = nbformat.v4.new_notebook(metadata=wrong.metadata)
    code = [c for c in wrong.cells if c.cell_type == "code"]
    box = next(i for i, c in enumerate(code) if lessons.nbgrader(c).get("grade_id") == "l1-uniform_in_box")
    validate_nb.cells = [code[1], code[box], code[box + 1]]
    nbformat.write(validate_nb, root / "validate.ipynb")

    # make grade: a folder as an LMS bulk download and Colab leave it.
    subs = root / "submissions"
    escaped, report = root / "escaped", root / "report.json"
    hostile = with_answers(LESSON, {
        "l1-reconstruction_loss": lambda s: HOSTILE.format(
            escaped=escaped, report=report, lesson=LESSON, go=root / "go",
            victim=subs / "print_pass_01_autoencoder.ipynb") + s,
        "l1-uniform_in_box": lambda s: s + LAST.format(escaped=escaped)})
    colab = stripped(nbformat.read(LESSON, as_version=4))
    colab.cells = [c for c in colab.cells if "def uniform_in_box" not in c.source]
    renamed = with_answers(course.STUDENT / LESSON.name, {
        "l1-reconstruction_loss": lambda s: solution("l1-reconstruction_loss").replace(
            "def reconstruction_loss", "def my_reconstruction_loss")})
    print_pass = with_answers(course.STUDENT / LESSON.name, {
        g: lambda s, n=n, e=e: PRINT_PASS.format(name=n, exercise=e) for g, n, e in [
            ("l1-reconstruction_loss", "reconstruction_loss", "reconstruction_loss"),
            ("l1-autoencoder_layers", "build_autoencoder_layers", "autoencoder layers"),
            ("l1-uniform_in_box", "uniform_in_box", "uniform_in_box")]})
    cheater = with_answers(course.STUDENT / LESSON.name, {g: lambda s, g=g: CHEATS[g] for g in CHEATS})
    files = {
        "a_hostile/01_autoencoder.ipynb": hostile,
        "jdoe_12345/jdoe_12345_67890_01_autoencoder.ipynb": source,      # nbgrader's three
        "bob_release/01_autoencoder.ipynb": release,
        "carol_wrong/01_autoencoder.ipynb": wrong,
        "Copy of 01_autoencoder.ipynb": colab,
        "blank/01_autoencoder.ipynb": course.STUDENT / LESSON.name,
        "empty_01_x.ipynb": nbformat.v4.new_notebook(),
        "print_pass_01_autoencoder.ipynb": print_pass,
        "cheater_01_autoencoder.ipynb": cheater,
        "renamed_01_autoencoder.ipynb": renamed,
        '=HYPERLINK("evil")_01_autoencoder.ipynb': nbformat.v4.new_notebook(),
        "corrupt_01_autoencoder.ipynb": b'{"cells": [{"cell_type": "code", "sour',
        "notes.ipynb": nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("hi")]),
        "receipt.txt": b"Blackboard receipt: submitted on time.\n",
    }
    for name, content in files.items():
        path = subs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, Path):
            shutil.copy(content, path)
        else:
            nbformat.write(content, path)

    package_before = digests(course.PACKAGE)
    os.environ[CANARY] = "do not leak"
    try:
        out = root / "out" / "grades.csv"
        grade_folder(subs, out, Limits(time_s=240))
    finally:
        del os.environ[CANARY]
    (root / "go").touch()  # from now on, any process left behind would write its file
    graded_at = time.monotonic()
    rows = list(csv.DictReader(out.open()))
    validate = finished(nbgrader("validate", str(root / "validate.ipynb"), cwd=root, env=env))

    from nbgrader.api import Gradebook
    scores = {}
    for student, (folder, process) in running.items():
        finished(process)
        with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
            submission = gradebook.find_submission("lesson1", student)
            scores[student] = {g.name: g.auto_score for nb in submission.notebooks
                               for g in nb.grades if g.auto_score is not None and g.cell.cell_type == "code"}
    print(f"graded the term in {time.monotonic() - start:.0f} s")
    return {"rows": {r["submission"]: r for r in rows}, "order": [r["submission"] for r in rows],
            "out": out, "scores": scores, "validate": validate, "report": json.loads(report.read_text()),
            "escaped": escaped, "graded_at": graded_at, "root": root,
            "package_before": package_before}


def points(row):
    return {k: v for k, v in row.items() if k.startswith("l1-")}


def test_a_solution_scores_full_points_from_an_lms_folder(term):
    row = term["rows"]["jdoe_12345/jdoe_12345_67890_01_autoencoder.ipynb"]
    assert row["lesson"] == "01_autoencoder" and row["total"] == str(FULL) and row["error"] == ""


def test_blank_and_empty_notebooks_score_nothing(term):
    blank, empty = term["rows"]["blank/01_autoencoder.ipynb"], term["rows"]["empty_01_x.ipynb"]
    assert blank["total"] == "0" and "as handed out" in blank["notes"]
    assert empty["total"] == "0" and empty["notes"].count("answer cell missing") == 3


def test_printing_pass_scores_nothing(term):
    row = term["rows"]["print_pass_01_autoencoder.ipynb"]
    assert row["total"] == "0" and "expected a torch.Tensor" in row["notes"]


def test_rebinding_and_patching_the_checks_scores_nothing(term):
    row = term["rows"]["cheater_01_autoencoder.ipynb"]
    assert row["total"] == "0", row
    assert "hidden cases" in row["notes"]            # fitted to the visible cases
    assert "no nonlinearity" in row["notes"]         # run_cases and compare patched
    assert "outside the box" in row["notes"]         # the reference patched
    assert "l1-reconstruction_loss: calls cvae_helpers' own reconstruction_loss" in row["notes"]


def test_a_colab_copy_without_metadata_is_matched_by_its_answers(term):
    row = term["rows"]["Copy of 01_autoencoder.ipynb"]
    assert row["lesson"] == "01_autoencoder"
    assert row["l1-reconstruction_loss-check"] == "2" and row["l1-autoencoder_layers-check"] == "2"
    assert row["l1-uniform_in_box-check"] == "0"
    assert "l1-uniform_in_box-check: answer cell missing" in row["notes"]
    assert "found by the function it defines" in row["notes"]


def test_a_renamed_answer_scores_nothing_and_says_why(term):
    row = term["rows"]["renamed_01_autoencoder.ipynb"]
    assert row["total"] == "0" and "does not define `reconstruction_loss`" in row["notes"]


def test_bad_files_get_their_own_rows_and_the_rest_are_graded(term):
    rows = term["rows"]
    assert rows["corrupt_01_autoencoder.ipynb"]["error"].startswith("unreadable: not a Jupyter notebook")
    assert rows["corrupt_01_autoencoder.ipynb"]["total"] == ""
    assert rows["receipt.txt"]["error"].startswith("unreadable")
    # A notebook with nothing of any lesson, in a folder of lesson 1's: lesson 1, no answers.
    assert rows["notes.ipynb"]["lesson"] == "01_autoencoder" and rows["notes.ipynb"]["total"] == "0"
    assert "the other submissions in the folder" in rows["notes.ipynb"]["notes"]
    assert len(rows) == 14 and term["order"] == sorted(term["order"])


def test_a_notebook_of_no_lesson_is_an_error_where_the_folder_does_not_tell():
    lessons_ = [lessons.read_lesson(p) for p in course.lesson_paths()]
    notes = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("hi")])
    with pytest.raises(ValueError, match="matches no lesson"):
        match_lesson(notes, "notes.ipynb", lessons_)
    for name, lesson in (("Copy of 02_variational_autoencoder.ipynb", "02"),
                         ("jdoe_123_456_04_evaluating_generative_models (1).ipynb", "04"),
                         ("Lesson 5_jdoe_attempt_2025-03-02_05_cvae_structured_prediction.ipynb", "05"),
                         ("doejane_LATE_123_03 conditional.ipynb", "03")):
        assert match_lesson(notes, name, lessons_)[0].name[:2] == lesson, name


def test_a_formula_like_name_is_neutralised(term):
    text = term["out"].read_text()
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_each_submission_gets_a_feedback_file(term):
    feedback = term["out"].parent / "grades-feedback"
    assert len(list(feedback.iterdir())) == len(term["rows"])
    text = (feedback / "carol_wrong__01_autoencoder.ipynb.txt").read_text()
    assert "4 of 7 points" in text and "0 / 3   l1-uniform_in_box-check" in text
    assert "outside the box" in text and "Graded by hand: l1-explore-1" in text


def test_a_hostile_submission_is_contained(term):
    report, root = term["report"], term["root"]
    row = term["rows"]["a_hostile/01_autoencoder.ipynb"]
    # Its answers count, up to the one that ended its kernel.
    assert row["l1-reconstruction_loss-check"] == "2" and row["l1-autoencoder_layers-check"] == "2"
    assert row["l1-uniform_in_box-check"] == "0" and "the kernel died" in row["notes"]
    assert "output was cut" in row["notes"]
    # ../x, ~/x and the package it saw all lay in its own folder, now gone.
    sandbox = Path(report["package"]).parents[3]
    assert sandbox.name.startswith("cvae-grading-") and not sandbox.exists()
    assert Path(report["x"]).is_relative_to(sandbox) and Path(report["home"]).is_relative_to(sandbox)
    for place in (course.COURSE_ROOT, course.NOTEBOOKS, root, root / "submissions", Path.cwd()):
        assert not (place / "x").exists()
    assert digests(course.PACKAGE) == term["package_before"]
    # Limits and a scrubbed environment.
    assert report["memory"] == "capped"
    assert CANARY not in report["env"] and not any(k.startswith("JUPYTER") for k in report["env"])
    # The next notebooks graded normally (their own fresh copy of the package).
    assert term["rows"]["jdoe_12345/jdoe_12345_67890_01_autoencoder.ipynb"]["total"] == str(FULL)


def test_no_process_of_a_submission_outlives_its_grading(term):
    escaped = term["escaped"]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                assert str(escaped).encode() not in (entry / "cmdline").read_bytes()
            except OSError:
                pass
    time.sleep(max(0.0, term["graded_at"] + 2 - time.monotonic()))
    assert [p.name for p in escaped.parent.glob(escaped.name + "-[123]")] == []
    # `setsid sh -c 'sleep 5; touch f'`: had it outlived the grading of its submission, its
    # file would be newer than that submission's feedback file.
    feedback = term["out"].parent / "grades-feedback" / "a_hostile__01_autoencoder.ipynb.txt"
    time.sleep(max(0.0, feedback.stat().st_mtime + 6 - time.time()))
    late = escaped.parent / (escaped.name + "-4")
    assert not late.exists() or late.stat().st_mtime <= feedback.stat().st_mtime


def test_nbgrader_scores_solution_blank_and_wrong_as_make_grade_does(term):
    scores, rows = term["scores"], term["rows"]
    assert sum(scores["alice"].values()) == FULL
    assert sum(scores["bob"].values()) == 0
    assert scores["carol"] == {"l1-reconstruction_loss-check": 2, "l1-autoencoder_layers-check": 2,
                               "l1-uniform_in_box-check": 0}
    for student, name in (("alice", "jdoe_12345/jdoe_12345_67890_01_autoencoder.ipynb"),
                          ("bob", "bob_release/01_autoencoder.ipynb"),
                          ("carol", "carol_wrong/01_autoencoder.ipynb")):
        assert {k: float(v) for k, v in points(rows[name]).items() if v != ""} == scores[student]


def test_nbgrader_validate_does_not_call_a_wrong_answer_a_success(term):
    assert "Success" not in term["validate"]
    assert "FAIL uniform_in_box" in term["validate"] and "Traceback" not in term["validate"]


def test_the_release_copy_opens_the_student_copy_in_colab(term):
    release = nbformat.read(term["root"] / "nbgrader" / "release" / "lesson1" / LESSON.name, as_version=4)
    assert course.badge(f"student/{LESSON.name}") in release.cells[0].source
    assert course.HIDDEN_BEGIN not in nbformat.writes(release)
    source = (term["root"] / "nbgrader" / "source" / "lesson1" / LESSON.name).read_text()
    assert source.count(course.HIDDEN_BEGIN) == 3


def test_submissions_are_read_before_any_runs(term):
    """The hostile submission, graded first, replaced a later one's file by the solution: that
    one is graded as it was handed in (its sha256 is of the bytes read at the start)."""
    row = term["rows"]["print_pass_01_autoencoder.ipynb"]
    now = term["root"] / "submissions" / "print_pass_01_autoencoder.ipynb"
    assert now.read_text() == LESSON.read_text()  # what the hostile code wrote
    assert row["total"] == "0" and row["sha256"] != hashlib.sha256(now.read_bytes()).hexdigest()
