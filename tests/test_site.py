"""The course's website (``make site``, ``website/``), built from the committed lessons into a
temporary folder: every lesson has its page with its pictures, its math and its Colab button, no
internal link is broken, the saved widgets are replaced, and the in-page explorer decodes what
torch decodes with the same weights."""

import json
import math
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import torch

from cvae_helpers import checkpoints, zoo
from cvae_instructor import course
from website import build as website
from website import export

ROOT = Path(__file__).resolve().parent.parent
LESSONS = course.lesson_paths()
IDS = [p.stem for p in LESSONS]
MANIFEST = json.loads(website.MANIFEST.read_text())
STATIC = ("explorer.js", *(f"decoders/{p.name}" for p in export.FOLDER.iterdir()))


class Page(HTMLParser):
    """What the tests read from one HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.output_images = 0  # <img> inside a cell's output
        self.math = 0  # elements that MathJax typesets
        self.scripts: list[str] = []
        self.explorers: list[str] = []
        self._in_output: list[bool] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "div":
            self._in_output.append("cell_output" in classes)
        if tag == "img" and any(self._in_output):
            self.output_images += 1
        if "math" in classes:
            self.math += 1
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        if "latent-explorer" in classes:
            self.explorers.append(a.get("data-decoder"))
        self.links += [a[key] for key in ("href", "src") if a.get(key)]

    def handle_endtag(self, tag):
        if tag == "div" and self._in_output:
            self._in_output.pop()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return website.build(tmp_path_factory.mktemp("website") / "site")


@pytest.fixture(scope="module")
def pages(built) -> dict[str, Page]:
    """Every page of the site (not the theme's templates that Sphinx copies into _static/)."""
    return {p.relative_to(built).as_posix(): Page(p.read_text()) for p in built.rglob("*.html")
            if not p.relative_to(built).parts[0] == "_static"}


def lesson_page(pages, path: Path) -> Page:
    name = f"notebooks/{path.stem}.html"
    assert name in pages, f"no page for {path.name}"
    return pages[name]


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_each_lesson_page_shows_its_pictures_math_and_colab_button(pages, path):
    page = lesson_page(pages, path)
    assert page.output_images == website.image_outputs(nbformat.read(path, as_version=4))
    assert page.math > 0 and any("mathjax" in src for src in page.scripts)
    assert course.colab_url(f"notebooks/{path.name}") in page.links
    assert course.colab_url(f"student/{path.name}") in page.links
    assert any(link.endswith(f"/{path.name}") and "_downloads/" in link for link in page.links)


def test_the_landing_page_maps_the_course_and_the_guide_and_search_are_there(built, pages):
    index = pages["index.html"]
    for path in LESSONS:
        assert f"notebooks/{path.stem}.html" in index.links
        picture = ROOT / "docs" / "images" / f"{path.stem}.png"
        if picture.is_file():
            assert any(link.endswith(picture.name) for link in index.links)
    assert "docs/instructors.html" in pages
    assert "search.html" in pages
    assert "Lesson" in (built / "searchindex.js").read_text()


def test_no_internal_link_is_broken(built, pages):
    broken = []
    for name, page in pages.items():
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc:
                continue
            target = ((built / name).parent / unquote(parts.path)).resolve() if parts.path \
                else built / name
            if target.is_dir():
                target = target / "index.html"
            relative = target.relative_to(built).as_posix() if target.is_relative_to(built) else ""
            if not target.is_file():
                broken.append(f"{name}: {link}")
            elif parts.fragment and relative in pages and parts.fragment not in pages[relative].ids:
                broken.append(f"{name}: {link} (no such anchor)")
    assert broken == []


def test_saved_widgets_are_replaced_and_the_explorers_are_placed(built, pages):
    for name, page in pages.items():
        text = (built / name).read_text()
        assert website.WIDGET_VIEW not in text, f"{name} still holds a widget that needs a kernel"
        assert not any("jupyter-widgets" in src or "require" in src for src in page.scripts)
    assert pages["index.html"].explorers == ["cvae"]
    for name, entry in MANIFEST["decoders"].items():
        lesson = next(p for p in LESSONS if website.lesson_number(p) == entry["lesson"])
        assert lesson_page(pages, lesson).explorers == [name]
    for file in STATIC:  # make site only copies them
        assert (built / "_static" / file).read_bytes() == (website.WEBSITE / "_static" / file).read_bytes()


def test_the_shipped_decoders_fit_the_budget_and_are_the_lessons_models():
    assert sum(p.stat().st_size for p in export.FOLDER.iterdir()) <= export.BUDGET_BYTES
    assert set(MANIFEST["decoders"]) == set(export.DECODERS)
    for name, (lesson, zoo_name, overrides) in export.DECODERS.items():
        entry = MANIFEST["decoders"][name]
        cfg = zoo.config(zoo_name, **overrides)
        assert entry["zoo"]["config"] == cfg and entry["zoo"]["cache_key"] == zoo.cache_key(cfg), \
            f"{name}'s configuration changed: run `make figures` and commit {export.FOLDER.name}/"
        assert entry["lesson"] == lesson in [website.lesson_number(p) for p in LESSONS]


def _array(raw: bytes, spec: dict, dtype: torch.dtype = torch.float16) -> torch.Tensor:
    count = math.prod(spec["shape"])
    return torch.frombuffer(bytearray(raw), dtype=dtype, count=count,
                            offset=spec["offset"]).view(spec["shape"])


def shipped_model(name: str) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """The course's own model class holding the shipped (float16) decoder weights, in float64,
    and the shipped code scatter with its labels."""
    entry = MANIFEST["decoders"][name]
    raw = (export.FOLDER / entry["file"]).read_bytes()
    model = zoo.build(entry["zoo"]["config"]).double().eval()
    with torch.no_grad():
        for layer, arrays in zip(export.linear_layers(model), entry["layers"], strict=True):
            layer.weight.copy_(_array(raw, arrays["weight"]))
            layer.bias.copy_(_array(raw, arrays["bias"]))
    scatter = entry["scatter"]
    return model, _array(raw, scatter["codes"]).double(), _array(raw, scatter["labels"], torch.uint8)


@pytest.mark.parametrize("name", sorted(export.DECODERS))
def test_the_cached_model_rounds_to_the_shipped_weights(name):
    _, zoo_name, overrides = export.DECODERS[name]
    path = zoo.cache_path(zoo_name, zoo.config(zoo_name, **overrides), torch.device("cpu"))
    if not path.is_file():
        pytest.skip(f"no cached {zoo_name} in {path.parent} to compare with (the lessons train it)")
    model, _ = zoo.trained(zoo_name, device="cpu", **overrides)
    if checkpoints.checksum(model.state_dict()) != MANIFEST["decoders"][name]["weights_checksum"]:
        pytest.skip(f"the cached {zoo_name} is another training than the shipped one (another "
                    "machine's floating point); `make figures` on this machine would ship it")
    shipped, _, _ = shipped_model(name)
    for ours, theirs in zip(export.linear_layers(model), export.linear_layers(shipped), strict=True):
        assert torch.equal(ours.weight.half().double(), theirs.weight), \
            f"the shipped {name} is not the cached model: run `make figures`"


def test_the_javascript_decoder_matches_torch(built, tmp_path):
    if shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js is needed on CI for the explorer's check (apt-get install nodejs)")
        pytest.skip("Node.js is not installed, so the explorer's JavaScript cannot be checked")
    generator = torch.Generator().manual_seed(0)
    requests, expected = {}, {}
    for name in sorted(export.DECODERS):
        model, codes, labels = shipped_model(name)
        low, high = torch.tensor(MANIFEST["decoders"][name]["box"]).double().view(2, 2).unbind(1)
        Z, y = [], []
        for digit in range(10):  # 10 codes of real test digits and 10 anywhere on the pad
            own = codes[labels == digit]
            Z += [own[torch.randperm(len(own), generator=generator)[:10]],
                  low + (high - low) * torch.rand(10, 2, generator=generator, dtype=torch.float64)]
            y += [digit] * 20
        Z, y = torch.cat(Z), torch.tensor(y)
        with torch.no_grad():
            logits = model.decode(Z, y) if model.config.get("num_classes") else model.decode(Z)
        expected[name] = torch.sigmoid(logits).flatten(1)
        requests[name] = {"codes": Z.tolist(), "digits": y.tolist()}
    codes_file = tmp_path / "codes.json"
    codes_file.write_text(json.dumps(requests))
    result = subprocess.run(["node", str(ROOT / "tests" / "decode_in_node.js"),
                             str(built / "_static" / "decoders"), str(codes_file)],
                            capture_output=True, text=True, timeout=120, check=True)
    decoded = json.loads(result.stdout)
    for name, probs in expected.items():
        js = torch.tensor(decoded[name], dtype=torch.float64)
        assert js.shape == probs.shape == (200, 784)
        assert (js - probs).abs().max() < 1e-4, name
        assert probs.std(0).max() > 0.2  # the codes decode to different pictures
