"""``make site``: the course as a static website, built from the lessons as committed.

``python -m website.build build/site`` stages a copy of the course laid out like the repository
(``index.md``, ``notebooks/``, ``docs/``, ``student/``), then runs Sphinx with myst-nb and
sphinx-book-theme over it, warnings as errors. Nothing is executed: the pages show the outputs
saved in the notebooks. Staging changes only the copies, for the reader of a static page:

- the landing page gets the course map, one entry per lesson found in ``notebooks/``, with its
  title, its opening paragraph and its picture from ``docs/images/`` (``make figures``);
- each lesson gets links to its student copy, in Colab and as a download;
- a saved widget cannot run without a kernel: a progress bar becomes its final text, lesson 1's
  and lesson 3's 2-D latent explorers become the in-page explorer (``_static/explorer.js``,
  with the decoders of ``website/export.py``), any other widget a note that says where to run it;
- a link to a repository file that is not a page of the site points to that file on GitHub.
"""

import html
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from cvae_helpers.data import COURSE_ROOT
from cvae_instructor import course

WEBSITE = Path(__file__).resolve().parent
MANIFEST = WEBSITE / "_static" / "decoders" / "manifest.json"
MAP_MARKER = "<!-- course map -->"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_LINK = re.compile(r"(\]\()([^)\s]+)(\))")


def image_outputs(nb: nbformat.NotebookNode) -> int:
    """How many outputs of the notebook are pictures: each is one ``<img>`` on its page."""
    return sum(any(kind in output.get("data", {}) for kind in IMAGE_TYPES)
               for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs)


def lesson_number(path: Path) -> int:
    """``01_autoencoder.ipynb`` -> 1."""
    return int(path.name.split("_", 1)[0])


def title_and_opening(nb: nbformat.NotebookNode) -> tuple[str, str]:
    """The lesson's title (its first ``#`` heading) and the paragraph that follows it."""
    for cell in nb.cells:
        lines = cell.source.splitlines() if cell.cell_type == "markdown" else []
        for i, line in enumerate(lines):
            if line.startswith("# "):
                rest = "\n".join(lines[i + 1:]).strip()
                return line[2:].strip(), rest.split("\n\n", 1)[0].strip()
    raise ValueError("a lesson needs a '# ' title in a Markdown cell")


def github_url(relative: str) -> str:
    """The address of a repository file (or folder) on GitHub."""
    kind = "tree" if (COURSE_ROOT / relative).is_dir() else "blob"
    return f"https://github.com/{course.REPOSITORY}/{kind}/{course.BRANCH}/{relative}"


def rewrite_links(text: str, folder: str, staged: set[str]) -> str:
    """Point each relative link of ``text`` (a file in the repository's ``folder``) that is
    not a staged file of the site to GitHub, where the reader can still open it."""
    def repoint(match: re.Match) -> str:
        target = match.group(2)
        if re.match(r"^([a-z][\w+.-]*:|#|/)", target):
            return match.group(0)
        path = target.split("#", 1)[0]
        resolved = (COURSE_ROOT / folder / path).resolve()
        if not resolved.is_relative_to(COURSE_ROOT) or not resolved.exists():
            return match.group(0)  # left as it is, so Sphinx reports it
        relative = resolved.relative_to(COURSE_ROOT).as_posix()
        if relative in staged:
            return match.group(0)
        return match.group(1) + github_url(relative) + match.group(3)
    return _LINK.sub(repoint, text)


def _widget_tree(state: dict, model_id: str) -> list[dict]:
    """The saved widget ``model_id`` and all the widgets inside it, depth first."""
    model = state.get(model_id)
    if model is None:
        return []
    found = [model]
    for child in model["state"].get("children", []):
        found += _widget_tree(state, child.removeprefix("IPY_MODEL_"))
    return found


def _is_explorer_2d(tree: list[dict]) -> bool:
    """Whether the widget is ``widgets.latent_explorer`` over a 2-D code: sliders z1 and z2."""
    sliders = {m["state"].get("description") for m in tree if m["model_name"] == "FloatSliderModel"}
    return sliders == {"z1", "z2"}


def explorer_html(name: str) -> str:
    """The element that ``explorer.js`` turns into the explorer of the decoder ``name``."""
    return (f'<div class="latent-explorer" data-decoder="{name}"><p class="widget-note">In the '
            "notebook, sliders over the code stand here. On this page, drag the point instead: "
            "your browser decodes it with the lesson's trained decoder (its weights rounded to "
            "float16), and the dots under it are the codes of the test digits.</p></div>")


def static_widget(tree: list[dict], colab: str) -> str:
    """What a saved widget can show without a kernel: a progress bar's final state, or a note."""
    bars = [m["state"] for m in tree if m["model_name"] in ("FloatProgressModel", "IntProgressModel")]
    if bars and len(tree) <= 6:  # tqdm's bar: text, bar, text
        texts = [m["state"].get("value", "") for m in tree if m["model_name"] == "HTMLModel"]
        bar = f'<progress value="{bars[0].get("value", 0)}" max="{bars[0].get("max", 1)}"></progress>'
        return f'<div class="widget-static">{texts[0] if texts else ""} {bar} {" ".join(texts[1:])}</div>'
    controls = sorted({m["state"]["description"] for m in tree if m["state"].get("description")})
    named = f" ({html.escape(', '.join(controls))})" if controls else ""
    return (f'<p class="widget-note">Here the notebook shows interactive controls{named}. They '
            f'need a running Python: <a href="{colab}">open this lesson in Colab</a> to use '
            "them.</p>")


def prepare_lesson(path: Path, decoder: str | None, staged: set[str]) -> nbformat.NotebookNode:
    """The lesson at ``path`` as its page shows it (see the module's docstring)."""
    nb = nbformat.read(path, as_version=4)
    colab = course.colab_url(f"notebooks/{path.name}")
    state = nb.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = rewrite_links(cell.source, "notebooks", staged)
            continue
        for output in cell.get("outputs", []):
            if WIDGET_VIEW not in output.get("data", {}):
                continue
            tree = _widget_tree(state, output["data"][WIDGET_VIEW]["model_id"])
            if decoder and _is_explorer_2d(tree):
                output["data"] = {"text/html": explorer_html(decoder)}
                decoder = None  # one explorer per page
            else:
                output["data"] = {"text/html": static_widget(tree, colab)}
    first = nb.cells[0]
    links = (f"\n\n**Do it yourself:** [the student copy in Colab]"
             f"({course.colab_url(f'student/{path.name}')}), the exercises without their "
             f"solutions, or {{download}}`download it <../student/{path.name}>` for JupyterLab. "
             "Instructors: "
             "[the guide](../docs/instructors.md).")
    first.source = re.sub(r"^(# .*)$", lambda m: m.group(1) + links, first.source, count=1,
                          flags=re.MULTILINE)
    if decoder:  # the lesson has no 2-D explorer widget: show the explorer after its opening
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(explorer_html(decoder)))
    return nb


def course_map(lessons: list[Path]) -> str:
    """The landing page's course map and the site's table of contents, in MyST Markdown."""
    parts = []
    for path in lessons:
        title, opening = title_and_opening(nbformat.read(path, as_version=4))
        page = f"notebooks/{path.name}"
        parts.append(f"### [{title}]({page})\n\n{opening}\n")
        picture = COURSE_ROOT / "docs" / "images" / f"{path.stem}.png"
        if picture.is_file():
            parts.append(f"[![A figure from {title}](docs/images/{picture.name})]({page})\n")
        parts.append(f"[Open it in Colab]({course.colab_url(page)}) · [the student copy in "
                     f"Colab]({course.colab_url(f'student/{path.name}')}) · {{download}}`download the "
                     f"student copy <student/{path.name}>`\n")
    pages = "\n".join(f"notebooks/{path.stem}" for path in lessons)
    parts.append(f"```{{toctree}}\n:hidden:\n:caption: Lessons\n\n{pages}\n```\n")
    parts.append("```{toctree}\n:hidden:\n:caption: For instructors\n\ndocs/instructors\n```\n")
    return "\n".join(parts)


def stage(src: Path) -> None:
    """Lay out the site's sources in ``src`` (see the module's docstring)."""
    if not MANIFEST.is_file():
        raise FileNotFoundError(f"{MANIFEST.relative_to(COURSE_ROOT)} is missing: run "
                                "`make figures` (it exports the explorer's decoders)")
    decoders = {d["lesson"]: name for name, d in json.loads(MANIFEST.read_text())["decoders"].items()}
    lessons = course.lesson_paths()
    students = [course.STUDENT / path.name for path in lessons]
    images = sorted((COURSE_ROOT / "docs" / "images").glob("*.png"))
    staged = {p.relative_to(COURSE_ROOT).as_posix()
              for p in [*lessons, *students, *images, COURSE_ROOT / "docs" / "instructors.md"]}
    for folder in ("notebooks", "student", "docs/images"):
        (src / folder).mkdir(parents=True, exist_ok=True)
    for path in lessons:
        nb = prepare_lesson(path, decoders.get(lesson_number(path)), staged)
        nbformat.write(nb, src / "notebooks" / path.name)
    for path in [*students, *images]:
        shutil.copy(path, src / path.relative_to(COURSE_ROOT))
    guide = (COURSE_ROOT / "docs" / "instructors.md").read_text()
    (src / "docs" / "instructors.md").write_text(rewrite_links(guide, "docs", staged))
    index = (WEBSITE / "index.md").read_text()
    (src / "index.md").write_text(index.replace(MAP_MARKER, course_map(lessons)))


def build(out: Path) -> Path:
    """Build the site into ``out`` (emptied first; it must be a folder of an earlier build or
    new). Returns ``out``; raises ``RuntimeError`` when Sphinx reports a warning or an error."""
    from sphinx.cmd.build import build_main

    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()):
        if not (out / ".buildinfo").is_file():
            raise ValueError(f"{out} is not empty and holds no earlier build of the site: "
                             "choose a new folder, or empty it")
        shutil.rmtree(out)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        stage(src)
        status = build_main(["-b", "html", "-W", "--keep-going", "-q", "-c", str(WEBSITE),
                             "-d", str(Path(tmp) / "doctrees"), str(src), str(out)])
    if status:
        raise RuntimeError("Sphinx reported the problems above, and warnings count as errors")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m website.build OUT_FOLDER   (make site builds build/site)")
    print(f"The site is in {build(Path(sys.argv[1]))}: open index.html, or serve it with "
          f"`python -m http.server -d {sys.argv[1]}` for the explorers")
