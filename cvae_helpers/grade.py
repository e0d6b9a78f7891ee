"""Score submitted lessons exercise by exercise and write a CSV (for instructors).

    python -m cvae_helpers.grade SUBMISSIONS [--out grades.csv] [--time-limit 300]
    make grade SUBMISSIONS=folder

Every ``.ipynb`` under ``SUBMISSIONS`` is matched to its lesson by file name (``01_...``). The
grader builds a fresh notebook from the lesson: its setup and import cells, the student's
answer cells (found by their nbgrader ``grade_id``), and the lesson's own check cells, so an
edited check cannot award itself points. It runs that notebook (the answers and their checks,
not the lesson's training, so a submission takes seconds), and an exercise scores its points
when its check prints PASS. A submission that crashes, raises or loops is scored as it stands:
each notebook gets ``--time-limit`` seconds in all, and the others are graded regardless.
"""

import argparse
import csv
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from .course import NOTEBOOKS, lesson_paths, nbgrader


def is_check(cell: nbformat.NotebookNode) -> bool:
    """An auto-graded check cell: nbgrader ``grade`` without ``solution``."""
    meta = nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def exercises(lesson: nbformat.NotebookNode) -> list[tuple[str, int]]:
    """``(grade_id, points)`` of each auto-graded check cell of a lesson, in order."""
    return [(nbgrader(c)["grade_id"], nbgrader(c).get("points", 0))
            for c in lesson.cells if is_check(c)]


def grading_notebook(lesson: nbformat.NotebookNode,
                     submission: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The lesson's first two code cells (setup, imports), each answer cell taken from the
    submission (the lesson's own when the submission lost it), and the lesson's checks."""
    answers = {nbgrader(c)["grade_id"]: c for c in submission.cells
               if c.cell_type == "code" and nbgrader(c).get("solution")}
    code = [c for c in lesson.cells if c.cell_type == "code"]
    cells = code[:2]
    for cell in code[2:]:
        if nbgrader(cell).get("solution"):
            cells.append(answers.get(nbgrader(cell)["grade_id"], cell))
        elif is_check(cell):
            cells.append(cell)
    nb = nbformat.v4.new_notebook(metadata=lesson.metadata)
    nb.cells = [nbformat.v4.new_code_cell(c.source, metadata=c.metadata) for c in cells]
    return nb


def run(nb: nbformat.NotebookNode, time_limit: float, cwd: Path) -> None:
    """Execute ``nb`` in place, cell by cell, within ``time_limit`` seconds in all; a failing
    cell is kept with its error and the next cell runs."""
    client = NotebookClient(nb, timeout=time_limit, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}}, allow_errors=True)
    deadline = time.monotonic() + time_limit
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.timeout = max(1, int(deadline - time.monotonic()))
            try:
                client.execute_cell(cell, index)
            except (CellTimeoutError, DeadKernelError, CellExecutionError):
                return  # scored as it stands


def passed(cell: nbformat.NotebookNode) -> bool:
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")
    return text.startswith("PASS")


def grade(path: Path, lessons: dict[str, nbformat.NotebookNode],
          time_limit: float = 300) -> dict[str, int]:
    """Points per exercise (by check ``grade_id``) of the submission at ``path``."""
    lesson = lessons.get(path.name[:2])
    if lesson is None:
        raise ValueError(f"{path}: no lesson matches its name; name it like {sorted(lessons)[0]}_...")
    nb = grading_notebook(lesson, nbformat.read(path, as_version=4))
    run(nb, time_limit, NOTEBOOKS)
    return {nbgrader(c)["grade_id"]: nbgrader(c).get("points", 0) if passed(c) else 0
            for c in nb.cells if is_check(c)}


def grade_folder(folder: Path, out: Path, time_limit: float = 300) -> list[dict[str, object]]:
    """Grade every notebook under ``folder`` and write one CSV row per submission."""
    lessons = {p.name[:2]: nbformat.read(p, as_version=4) for p in lesson_paths()}
    columns = [gid for nb in lessons.values() for gid, _ in exercises(nb)]
    rows = []
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        points = grade(path, lessons, time_limit)
        row = {"submission": path.relative_to(folder).as_posix(), **points,
               "total": sum(points.values())}
        rows.append(row)
        print(f"{row['submission']}: {row['total']} points")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["submission", *columns, "total"], restval="")
        writer.writeheader()
        writer.writerows(rows)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Score submitted lessons into a CSV.")
    parser.add_argument("submissions", type=Path, help="folder of submitted .ipynb files")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"))
    parser.add_argument("--time-limit", type=float, default=300,
                        help="seconds each notebook may run in all")
    args = parser.parse_args()
    grade_folder(args.submissions, args.out, args.time_limit)
    print(f"wrote {args.out}")
