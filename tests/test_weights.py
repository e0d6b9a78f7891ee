"""Published weights (cvae_helpers.weights), fetched from a local HTTP server on 127.0.0.1 that
each test starts and stops: a good file, a wrong hash, a 404, a truncated download, a server that
refuses connections; then lesson 4, run on its own in a fresh cache, loading what it needs."""

import ast
import hashlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient

from cvae_helpers import checkpoints, weights, zoo
from cvae_instructor.release import LESSON_MODELS

ROOT = Path(__file__).resolve().parent.parent
NAME = "classifier"  # the smallest model of the zoo: 0.1 MB


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.files`` ({name: bytes}); the names in ``server.truncated`` stop halfway,
    after announcing their full length."""

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        self.server.requests.append(name)
        body = self.server.files.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if name in self.server.truncated else body)

    def log_message(self, *args):  # keep the test's output for the course's own lines
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.truncated, httpd.requests = {}, set(), []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/weights/"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _publish(server, folder: Path, files: dict[str, bytes], manifest: dict) -> Path:
    """Put ``files`` on ``server`` and write a manifest of them into ``folder``."""
    server.files.update(files)
    path = folder / "weights_manifest.json"
    path.write_text(json.dumps({"version": "test", "models": manifest}))
    return path


@pytest.fixture
def published(server, tmp_path, monkeypatch):
    """The classifier's configuration published on ``server``, with weights no training makes
    (every bias 0.125), and a manifest listing its hash; an empty model cache; training
    replaced by a stub that records its calls."""
    cfg = zoo.config(NAME)
    model = zoo.build(cfg)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1:
                p.fill_(0.125)
    key = weights.entry_key(NAME, zoo.cache_key(cfg))
    file = checkpoints.save(tmp_path / "release" / f"{key}.pt", model, settings=cfg,
                            history={"seconds": [12.0] * cfg["num_epochs"], "test_loss": [0.1] * 3})
    body = file.read_bytes()
    entry = {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body),
             "seconds_per_epoch": 12.0, "measured_on": "a 2-core CPU"}
    monkeypatch.setattr(weights, "MANIFEST", _publish(server, tmp_path, {}, {key: entry}))
    monkeypatch.setattr(weights, "_unreachable", None)
    monkeypatch.setenv("CVAE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CVAE_WEIGHTS_URL", server.url)
    monkeypatch.delenv("CVAE_FETCH", raising=False)
    trainings = []

    def train_config(cfg, device=None, progress=True):  # an unfinished run: never cached
        trainings.append(cfg)
        return zoo.build(cfg).to(device), {"seconds": [], "test_loss": []}

    monkeypatch.setattr(zoo, "train_config", train_config)
    return {"key": f"{key}.pt", "body": body, "cfg": cfg, "trainings": trainings}


def _is_published(model) -> bool:
    return all((p == 0.125).all() for p in model.parameters() if p.dim() == 1)


def _one_line(capsys) -> str:
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got {lines}"
    return lines[0]


def test_a_good_file_is_downloaded_checked_cached_and_loaded_from_the_cache_next_time(
        server, published, capsys):
    server.files[published["key"]] = published["body"]
    model, history = zoo.trained(NAME, device="cpu")
    assert _is_published(model) and not model.training
    assert history["seconds"] == [12.0] * 3
    assert "Downloaded the published classifier" in _one_line(capsys)
    assert published["trainings"] == []
    cached = zoo.cache_path(NAME, published["cfg"], torch.device("cpu"))
    assert cached.read_bytes() == published["body"]
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temporary file left
    model, _ = zoo.trained(NAME, device="cpu")
    assert _is_published(model) and server.requests == [published["key"]]  # the cache, now


@pytest.mark.parametrize("fault, words", [
    ("wrong hash", "SHA-256 differs"),
    ("404", "HTTP 404"),
    ("truncated", "stopped after"),
])
def test_a_bad_download_falls_back_to_training_in_one_line(server, published, capsys, fault,
                                                           words):
    body = bytearray(published["body"])
    if fault == "wrong hash":
        body[len(body) // 2] ^= 1
    if fault != "404":
        server.files[published["key"]] = bytes(body)
    if fault == "truncated":
        server.truncated.add(published["key"])
    model, _ = zoo.trained(NAME, device="cpu")
    line = _one_line(capsys)
    assert words in line, line
    # ... and how long the training it falls back to takes: 3 epochs of 12 s.
    assert "training classifier instead (3 epochs, about 36 s on a 2-core CPU" in line, line
    assert published["trainings"] == [published["cfg"]] and not _is_published(model)
    assert not any(zoo.cache_dir().glob("*")), "a bad download must leave nothing in the cache"


def test_a_server_that_refuses_connections_is_tried_once(published, capsys, monkeypatch):
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("CVAE_WEIGHTS_URL", f"http://127.0.0.1:{port}/weights/")
    start = time.perf_counter()
    zoo.trained(NAME, device="cpu")
    line = _one_line(capsys)
    assert line.startswith("Could not reach") and "training classifier instead" in line, line
    zoo.trained(NAME, device="cpu")
    line = _one_line(capsys)
    assert line.startswith("Published weights unreachable") and "about 36 s" in line, line
    assert len(published["trainings"]) == 2 and time.perf_counter() - start < weights.TIMEOUT


def test_a_learner_can_always_train_instead(server, published, capsys, monkeypatch):
    server.files[published["key"]] = published["body"]
    model, _ = zoo.trained(NAME, device="cpu", fetch=False)
    monkeypatch.setenv("CVAE_FETCH", "0")
    zoo.trained(NAME, device="cpu")
    monkeypatch.setenv("CVAE_FETCH", "1")
    monkeypatch.setenv("CVAE_WEIGHTS_URL", "")  # no weights URL: nothing to fetch from
    zoo.trained(NAME, device="cpu")
    assert server.requests == [] and len(published["trainings"]) == 3
    assert capsys.readouterr().out == ""


def test_only_published_configurations_are_fetched_and_the_cache_comes_first(
        server, published, capsys):
    server.files[published["key"]] = published["body"]
    zoo.trained(NAME, device="cpu", num_epochs=1)  # an exercise's variant: not published
    assert server.requests == [] and len(published["trainings"]) == 1
    # A model in the cache (the learner's own, kept by zoo.keep) is never replaced by a download.
    mine = zoo.build(published["cfg"])
    zoo.keep(NAME, mine, {"test_loss": [1.0] * 3}, checked=True)
    capsys.readouterr()
    model, _ = zoo.trained(NAME, device="cpu")
    assert server.requests == [] and not _is_published(model)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 mine.state_dict().values(), strict=True))


def test_the_default_address_is_the_release_of_the_repository_the_package_names(monkeypatch):
    monkeypatch.delenv("CVAE_WEIGHTS_URL", raising=False)
    monkeypatch.setattr(weights, "repository", lambda: "https://github.com/someone/fork")
    assert weights.base_url() == (f"https://github.com/someone/fork/releases/download/"
                                  f"v{weights.__version__}/")
    monkeypatch.setattr(weights, "repository", lambda: None)  # not installed: nothing to fetch
    assert weights.base_url() is None


def _lesson_calls(path: Path) -> list[tuple[str, dict]]:
    """The zoo.trained calls of a lesson: (name, literal keyword arguments but the device)."""
    calls = []
    for cell in nbformat.read(path, as_version=4).cells:
        try:
            tree = ast.parse(cell.source) if cell.cell_type == "code" else None
        except SyntaxError:  # the setup cell's %pip
            continue
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "zoo.trained":
                kwargs = {k.arg: ast.literal_eval(k.value) if isinstance(k.value, ast.Constant)
                          else ... for k in node.keywords if k.arg != "device"}
                calls.append((node.args[0].value, kwargs))
    return calls


def _matches(name: str, kwargs: dict, published: str, overrides: dict) -> bool:
    """Whether a lesson's call zoo.trained(name, **kwargs) may load the published model
    (``...`` stands for an argument that is not a literal, such as a loop's beta)."""
    return name == published and kwargs.keys() == overrides.keys() and all(
        v is ... or overrides[k] == v for k, v in kwargs.items())


def test_the_release_holds_every_model_the_lessons_load_and_the_manifest_is_current():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for name, kwargs in _lesson_calls(path):
            assert any(_matches(name, kwargs, n, o) for n, o in LESSON_MODELS), (
                f"{path.name} loads zoo.trained({name!r}, {kwargs}), which LESSON_MODELS "
                "(cvae_instructor/release.py) does not publish")
    current = {weights.entry_key(n, zoo.cache_key(zoo.config(n, **o))): zoo.config(n, **o)
               for n, o in LESSON_MODELS}
    listed = weights.manifest()
    stale = sorted(set(listed) - set(current))
    assert not stale, f"the manifest lists models no configuration trains any more: {stale}; " \
                      "run `make weights`"
    for key, entry in listed.items():
        assert entry["settings"] == current[key] and len(entry["sha256"]) == 64, key
    missing = sorted(set(current) - set(listed))
    print(f"{len(listed)} of {len(current)} lesson models in the manifest; missing: {missing}")


# --- Lesson 4 on its own --------------------------------------------------------------------------

LESSON4 = ROOT / "notebooks" / "04_evaluating_generative_models.ipynb"


def _load_cells(path: Path) -> list[str]:
    """The lesson's cells cut down to what loads its models: its imports, its constants, its
    device and every statement that calls zoo.trained."""
    cells = []
    for cell in nbformat.read(path, as_version=4).cells:
        try:
            tree = ast.parse(cell.source) if cell.cell_type == "code" else None
        except SyntaxError:
            continue
        kept = [ast.unparse(s) for s in (tree.body if tree else [])
                if isinstance(s, ast.Import | ast.ImportFrom) or "zoo.trained(" in ast.unparse(s)
                or isinstance(s, ast.Assign) and (ast.unparse(s.targets[0]) == "device"
                                                  or _is_literal(s.value))]
        if kept:
            cells.append("\n".join(kept))
    return cells


def _is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except ValueError:
        return False
    return True


def test_lesson_4_on_its_own_starts_in_seconds_with_published_weights(server, tmp_path,
                                                                      monkeypatch):
    """Lesson 4 in a fresh kernel and an empty model cache, its weights URL pointing at a
    server that holds the models it loads (those the lessons before it left in the cache)."""
    device = zoo.resolve_device(None)
    needed = [(n, o) for n, o in LESSON_MODELS
              if any(_matches(name, kwargs, n, o) for name, kwargs in _lesson_calls(LESSON4))]
    files, manifest = {}, {}
    for name, overrides in needed:
        cfg = zoo.config(name, **overrides)
        cached = zoo.cache_path(name, cfg, device)
        if not cached.is_file():
            pytest.skip(f"{cached.name} is not in the model cache: run lessons 1-4 first "
                        "(make test does)")
        key = weights.entry_key(name, zoo.cache_key(cfg))
        files[f"{key}.pt"] = body = cached.read_bytes()
        manifest[key] = {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body),
                         "seconds_per_epoch": 1.0, "measured_on": "a test"}
    manifest_path = _publish(server, tmp_path, files, manifest)
    cells = [f"from cvae_helpers import weights\nweights.MANIFEST = weights.Path({str(manifest_path)!r})",
             *_load_cells(LESSON4)]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    monkeypatch.setenv("CVAE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CVAE_WEIGHTS_URL", server.url)
    monkeypatch.delenv("CVAE_FETCH", raising=False)
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    seconds = time.perf_counter() - start
    out = "".join(o.get("text", "") for c in nb.cells for o in c.outputs)
    print(f"lesson 4 on its own: kernel start, imports and {len(needed)} models loaded in "
          f"{seconds:.1f} s")
    assert out.count("Downloaded the published") == len(needed) == len(server.requests), out
    assert "instead" not in out and len(list((tmp_path / "cache").glob("*.pt"))) == len(needed)
    assert seconds < 30, f"lesson 4 took {seconds:.0f} s to load its models"
