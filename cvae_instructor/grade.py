"""Score submitted lessons exercise by exercise into a CSV, with a feedback file per submission.

    python -m cvae_instructor.grade SUBMISSIONS [--out grades.csv] [--time-limit 300]
    make grade SUBMISSIONS=folder [OUT=grades.csv]

``SUBMISSIONS`` is a folder (searched through, one subfolder per student is fine) or one file.
Every file in it is read before any is run, and each gets one CSV row:

- **Matched by content.** A notebook's lesson is the one its metadata names, else the one whose
  grade ids or answer functions it holds, else the one its file name names (``Copy of
  01_autoencoder.ipynb`` from Colab and ``jdoe_12345_01_autoencoder.ipynb`` from an LMS both
  work), else the lesson of all the other notebooks in the folder. A file that is no notebook,
  or matches no lesson, gets a row with the error.
- **No free points.** The grader runs the lesson's own ``grading-context`` cells, the student's
  answer cells (found by their nbgrader ``grade_id``, else by the function they define) and, for
  each check, a grader's check cell; never the lesson's solutions. An exercise whose answer cell
  is missing, empty, as handed out, or does not define its function scores 0 without running,
  and the row's ``notes`` say why.
- **Verdicts that printing cannot fake.** A check's verdict comes from a private copy of the
  checks, loaded from files of known SHA-256, run on the visible cases and on hidden ones drawn
  afresh (``cvae_helpers.checks.core.regrade``), and published as display data of its own type
  with a nonce; what a submission prints is never read.
- **Isolated.** Each submission runs in a fresh folder, environment and process tree, with
  limits (``sandbox``).

The CSV is written row by row, so an interrupted run keeps what it graded; text that a
spreadsheet would read as a formula (starting with ``= + - @``) is prefixed with ``'``. The
feedback files go into ``<OUT>-feedback/`` beside it.
"""

import argparse
import ast
import csv
import hashlib
import os
import re
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from cvae_helpers.checks.core import VERDICT_MIME
from cvae_helpers.data import data_root

from .course import NOTEBOOKS, PACKAGE, lesson_paths
from .lessons import (
    LESSON_KEY,
    Exercise,
    Lesson,
    check_code,
    defined_names,
    is_answer,
    is_check,
    nbgrader,
    parse,
    read_lesson,
)
from .sandbox import Limits, Sandbox, Tampered

MAX_BYTES = 50 * 2**20  # a submission larger than this is not read
IGNORED = ("__MACOSX", ".ipynb_checkpoints")


@dataclass
class Result:
    submission: str
    lesson: Lesson | None = None
    points: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)   # exercise -> why it scored 0
    notes: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def total(self) -> float | str:
        return sum(self.points.values()) if self.lesson or not self.error.startswith("unreadable") \
            else ""


def read_notebook(data: bytes) -> nbformat.NotebookNode:
    """The notebook in ``data``; ValueError, in words, when it is none."""
    if len(data) > MAX_BYTES:
        raise ValueError(f"unreadable: larger than {MAX_BYTES // 2**20} MB")
    try:
        nb = nbformat.reads(data.decode("utf-8-sig"), as_version=4)
    except UnicodeDecodeError:
        raise ValueError("unreadable: not a text file (a notebook is JSON); zipped? unzip the "
                         "download first") from None
    except Exception as err:
        raise ValueError(f"unreadable: not a Jupyter notebook ({type(err).__name__}: "
                         f"{str(err).splitlines()[0][:200]})") from None
    if not isinstance(nb.get("cells"), list) or not all(
            isinstance(c, dict) and isinstance(c.get("source", ""), str) for c in nb.cells):
        raise ValueError("unreadable: the notebook's cells are malformed")
    return nb


def match_lesson(nb: nbformat.NotebookNode, name: str, lessons: list[Lesson],
                 folder_lesson: Lesson | None = None) -> tuple[Lesson, str]:
    """The lesson of a submission, and how it was recognised: by its content, else its name,
    else ``folder_lesson``, the one lesson of all the other submissions; ValueError when none
    matches."""
    by_name = {lesson.name: lesson for lesson in lessons}
    meta = nb.get("metadata", {})
    meta = meta.get(LESSON_KEY, {}) if isinstance(meta, dict) else {}
    if isinstance(meta, dict) and meta.get("lesson") in by_name:
        return by_name[meta["lesson"]], "its metadata"
    ids = {str(nbgrader(c).get("grade_id")) for c in nb.cells}
    defined = set().union(*(defined_names(c.get("source", "")) for c in nb.cells
                            if c.get("cell_type") == "code"))
    for how, score in (("its grade ids", lambda lesson: len(ids & {
                            *lesson.answers, *(e.grade_id for e in lesson.exercises)})),
                       ("its answers' functions", lambda lesson: len(defined & {
                            n for a in lesson.answers.values() for n in a.names}))):
        scores = {lesson.name: score(lesson) for lesson in lessons}
        best = max(scores.values(), default=0)
        if best and list(scores.values()).count(best) == 1:
            return by_name[max(scores, key=scores.get)], how
    lowered = name.lower()
    named = [lesson for lesson in lessons if lesson.name in lowered]
    named = named or [lesson for lesson in lessons if re.search(
        rf"(?<![0-9]){lesson.name[:2]}[_ -]", lowered)]
    if len(named) == 1:
        return named[0], "its file name"
    if folder_lesson:
        return folder_lesson, "the lesson of the other submissions in the folder"
    raise ValueError("matches no lesson: it holds no lesson's id, grade ids or answer functions, "
                     "and its file name names none (like 01_autoencoder)")


def find_answers(nb: nbformat.NotebookNode, lesson: Lesson) -> tuple[dict[str, str | None], list[str]]:
    """The student's source of each answer cell of ``lesson`` (None when missing), by grade id,
    else by the function it defines; and notes on how they were found."""
    code = [c for c in nb.cells if c.get("cell_type") == "code"]
    found, notes = {}, []
    for grade_id, answer in lesson.answers.items():
        cells = [c for c in code if nbgrader(c).get("grade_id") == grade_id]
        if not cells and answer.names:
            cells = [c for c in code if not is_check(c)
                     and set(answer.names) <= defined_names(c.get("source", ""))
                     and nbgrader(c).get("grade_id") not in lesson.answers]
            if cells:
                notes.append(f"{grade_id}: found by the function it defines (its nbgrader "
                             "metadata is gone)")
        found[grade_id] = cells[-1].get("source", "") if cells else None
    return found, notes


def answer_problem(source: str | None, answer) -> str | None:
    """Why an answer cell cannot score (None when it can be run)."""
    if source is None:
        return "answer cell missing"
    if not source.strip():
        return "answer cell is empty"
    if source.strip() == answer.released.strip():
        return "not done yet: the answer cell is as handed out"
    if parse(source) is None:
        return "the answer cell is not valid Python"
    missing = [n for n in answer.names if n not in defined_names(source)]
    if missing:
        return (f"the answer cell does not define {', '.join(f'`{n}`' for n in missing)} "
                "(renamed?)")
    return None


def calls_reference(source: str, answer) -> bool:
    """Whether an answer cell calls the course's own function of the same name (the reference
    its check compares with: ``losses.kl_divergence`` inside ``def kl_divergence``)."""
    tree = parse(source)
    for node in ast.walk(tree) if tree else []:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cvae_helpers") \
                and any(a.name in answer.names for a in node.names):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in answer.names:
            return True
    return False


def grading_notebook(lesson: Lesson, answers: dict[str, str | None], runnable: list[Exercise],
                     expected: dict[str, str]) -> tuple[nbformat.NotebookNode, dict[str, str]]:
    """The notebook a submission is graded with, and the nonce of each check in it: the
    lesson's context cells, the student's answer cells, a grader's check cell per runnable
    exercise, in the lesson's order."""
    context = [id(c) for c in lesson.context_cells()]
    by_id = {e.grade_id: e for e in runnable}
    nonces, cells = {}, []
    for cell in lesson.code_cells():
        if id(cell) in context:
            cells.append(nbformat.v4.new_code_cell(cell.source, metadata={"role": "context"}))
        elif is_answer(cell) and answers.get(nbgrader(cell)["grade_id"]):
            cells.append(nbformat.v4.new_code_cell(answers[nbgrader(cell)["grade_id"]],
                                                   metadata={"role": "answer"}))
        elif is_check(cell) and nbgrader(cell)["grade_id"] in by_id:
            exercise = by_id[nbgrader(cell)["grade_id"]]
            nonces[exercise.grade_id] = secrets.token_hex(16)
            cells.append(nbformat.v4.new_code_cell(
                check_code(exercise.source, expected, nonce=nonces[exercise.grade_id]),
                metadata={"role": "check", "grade_id": exercise.grade_id}))
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": lesson.notebook.metadata.get("kernelspec", {})})
    nb.cells = cells
    return nb, nonces


def verdict(cell: nbformat.NotebookNode, nonce: str) -> tuple[bool, str]:
    """What a grader's check cell reported: (passed, why not). A cell that raised scores
    nothing, whatever verdict it also shows: the check found the submission tampering."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        ename, evalue = errors[-1].get("ename"), errors[-1].get("evalue")
        return False, evalue if ename == "CheckFailed" else f"the check could not run: {ename}: {evalue}"
    found = [o["data"][VERDICT_MIME] for o in cell.get("outputs", [])
             if VERDICT_MIME in o.get("data", {})]
    if len(found) > 1 or (found and not isinstance(found[0], dict)):
        return False, "more than one verdict reached the grader: the submission interfered with its check"
    if found:
        if found[0].get("nonce") != nonce:
            return False, "a forged verdict reached the grader"
        return bool(found[0].get("passed") is True), str(found[0].get("message", ""))
    return False, ""


def grade_notebook(nb: nbformat.NotebookNode, result: Result, lessons: list[Lesson],
                   sandbox: Sandbox, folder_lesson: Lesson | None = None) -> None:
    """Fill ``result`` with the points of the submission ``nb``."""
    lesson, how = match_lesson(nb, result.submission, lessons, folder_lesson)
    result.lesson = lesson
    if how != "its metadata":
        result.notes.append(f"lesson recognised by {how}")
    answers, notes = find_answers(nb, lesson)
    result.notes += notes
    result.notes += [f"{grade_id}: calls cvae_helpers' own {', '.join(answer.names)}: read it"
                     for grade_id, answer in lesson.answers.items()
                     if answers[grade_id] and calls_reference(answers[grade_id], answer)]
    runnable = []
    for exercise in lesson.exercises:
        problems = [p for a in exercise.answers
                    if (p := answer_problem(answers[a], lesson.answers[a]))]
        result.points[exercise.grade_id] = 0
        if problems:
            result.reasons[exercise.grade_id] = problems[0]
        else:
            runnable.append(exercise)
    if not runnable:
        return
    grading, nonces = grading_notebook(lesson, answers, runnable, sandbox.expected)
    executed = sandbox.run(grading, keep=VERDICT_MIME)
    stopped = executed.metadata.get("cvae_grading", {}).get("stopped")
    if executed.metadata.get("cvae_grading", {}).get("truncated"):
        result.notes.append("its output was cut at the cap")
    checks = {c.metadata.get("grade_id"): c for c in executed.cells if c.metadata.get("role") == "check"}
    for exercise in runnable:
        passed, why = verdict(checks[exercise.grade_id], nonces[exercise.grade_id])
        if passed:
            result.points[exercise.grade_id] = exercise.points
        else:
            result.reasons[exercise.grade_id] = why or (
                f"the check did not finish: {stopped}" if stopped else "the check reported nothing")


def neutralise(value: object) -> object:
    """A CSV cell a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value


def feedback_text(result: Result) -> str:
    lines = [f"Feedback on {result.submission}"]
    if result.error:
        lines += ["", f"Not graded: {result.error}."]
    if result.lesson:
        lesson = result.lesson
        lines += ["", f"Lesson {lesson.name}: {_number(sum(result.points.values()))} of "
                      f"{_number(lesson.points)} points from the auto-graded checks.", ""]
        for exercise in lesson.exercises:
            got = result.points.get(exercise.grade_id, 0)
            lines.append(f"  {_number(got):>3} / {_number(exercise.points):<3} {exercise.grade_id}")
            if exercise.grade_id in result.reasons:
                lines.append(f"            {result.reasons[exercise.grade_id]}")
        manual = [nbgrader(c) for c in lesson.notebook.cells
                  if nbgrader(c).get("grade") and nbgrader(c).get("solution") and c.cell_type != "code"]
        if manual:
            lines += ["", "Graded by hand: " + ", ".join(
                f"{m['grade_id']} ({_number(m.get('points', 0))} points)" for m in manual) + "."]
    return "\n".join(lines) + "\n"


def _number(x: float) -> str:
    return f"{x:g}"


def _feedback_name(submission: str, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._ -]+", "_", submission.replace("/", "__")).strip(" .") or "submission"
    name, n = f"{stem}.txt", 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}.txt"
    taken.add(name)
    return name


def submission_files(folder: Path) -> list[Path]:
    """Every file under ``folder`` (or ``folder`` itself, a file), but hidden files and the
    folders that Jupyter and macOS add."""
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not any(part.startswith(".") or part in IGNORED
                              for part in p.relative_to(folder).parts))


def grade_folder(folder: Path, out: Path, limits: Limits | None = None,
                 lessons_folder: Path = NOTEBOOKS) -> list[Result]:
    """Grade every submission under ``folder``: one CSV row per file in ``out``, written as it
    goes, and one feedback file per file in ``<out stem>-feedback/``. When all are graded, both
    are written again from the grader's memory, so that nothing a submission wrote into them
    while it ran remains."""
    lessons = [read_lesson(p) for p in lesson_paths(lessons_folder)]
    columns = [e.grade_id for lesson in lessons for e in lesson.exercises]
    header = ["submission", "lesson", *columns, "total", "out_of", "error", "notes", "seconds",
              "sha256"]
    files = submission_files(folder)
    contents = {}
    for path in files:  # all read first: a submission cannot change those graded after it
        try:
            contents[path] = path.read_bytes()
        except OSError as err:
            contents[path] = err
    course_before = _course_digest(lessons_folder)
    matched = set()
    for path, data in contents.items():
        try:
            matched.add(match_lesson(read_notebook(data), path.name, lessons)[0].name)
        except (ValueError, TypeError, AttributeError):
            pass
    folder_lesson = next(lesson for lesson in lessons if lesson.name in matched) \
        if len(matched) == 1 else None
    feedback = out.parent / f"{out.stem}-feedback"
    feedback.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    results, rows, texts = [], [header], {}
    with Sandbox(PACKAGE, data_root(), limits or Limits()) as sandbox:
        if not any(sandbox.mnist.iterdir()):
            print(f"warning: no MNIST files in {data_root() / 'MNIST' / 'raw'}: the lessons' data "
                  "cells will fail while grading; set CVAE_DATA_DIR", file=sys.stderr)
        with out.open("w", newline="") as f:
            csv.writer(f).writerow(header)
        try:
            for path in files:
                name = path.name if folder.is_file() else path.relative_to(folder).as_posix()
                result, start, data = Result(name), time.monotonic(), contents[path]
                try:
                    if isinstance(data, OSError):
                        raise ValueError(f"unreadable: {data.strerror}")
                    grade_notebook(read_notebook(data), result, lessons, sandbox, folder_lesson)
                except Tampered as err:
                    result.error = str(err)
                    raise
                except ValueError as err:
                    result.error = str(err)
                except Exception as err:  # whatever else is wrong with this file, the rest go on
                    result.error = f"could not be graded: {type(err).__name__}: {err}"
                finally:
                    result.seconds = time.monotonic() - start
                    rows.append(_row(result, columns, data))
                    with out.open("a", newline="") as f:
                        csv.writer(f).writerow(rows[-1])
                    text_name = _feedback_name(name, taken)
                    texts[text_name] = feedback_text(result)
                    (feedback / text_name).write_text(texts[text_name])
                results.append(result)
                out_of = f"/{_number(result.lesson.points)}" if result.lesson else ""
                print(f"{name}: {result.total}{out_of}"
                      + (f" ({result.error})" if result.error else "") + f" [{result.seconds:.1f} s]")
        finally:
            _rewrite(out, feedback, rows, texts)
    if _course_digest(lessons_folder) != course_before:
        print(f"warning: cvae_helpers or the lessons in {PACKAGE.parent} changed while grading, "
              "and not by the grader: check `git status` there before grading again",
              file=sys.stderr)
    return results


def _row(result: Result, columns: list[str], data: bytes | OSError) -> list:
    reasons = [f"{k}: {v}" for k, v in result.reasons.items()]
    row = [result.submission, result.lesson.name if result.lesson else "",
           *(result.points.get(c, "") for c in columns), result.total,
           result.lesson.points if result.lesson else "", result.error,
           "; ".join(reasons + result.notes), f"{result.seconds:.1f}",
           hashlib.sha256(data).hexdigest() if isinstance(data, bytes) else ""]
    return [neutralise(v) for v in row]


def _rewrite(out: Path, feedback: Path, rows: list[list], texts: dict[str, str]) -> None:
    """The CSV and the feedback files as the grader made them, whatever happened to them."""
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    os.replace(partial, out)
    for name, text in texts.items():
        (feedback / name).write_text(text)


def _course_digest(lessons_folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted([*PACKAGE.rglob("*.py"), *lesson_paths(lessons_folder)]):
        digest.update(path.as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Score submitted lessons into a CSV.")
    parser.add_argument("submissions", type=Path, help="a folder of submissions, or one file")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"))
    parser.add_argument("--time-limit", type=float, default=300,
                        help="seconds each notebook may run in all (default 300)")
    parser.add_argument("--memory-gb", type=float, default=8,
                        help="address space each notebook's kernel may use (default 8)")
    args = parser.parse_args(argv)
    if not args.submissions.exists():
        sys.exit(f"{args.submissions} does not exist: give the folder of submitted notebooks")
    try:
        grade_folder(args.submissions, args.out, Limits(time_s=args.time_limit,
                                                       memory_gb=args.memory_gb))
    except Tampered as err:
        sys.exit(f"grading stopped: {err}")
    print(f"wrote {args.out} and {args.out.parent / (args.out.stem + '-feedback')}/")


if __name__ == "__main__":
    main()
