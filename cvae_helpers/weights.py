"""Published trained weights: downloaded instead of trained, when the course has them (lessons 1-5).

``zoo.trained`` looks for a model in three places: the model cache, then the course's published
weights, then it trains the model. The published weights are files of the course repository's
release ``v{version}`` (the ``Repository`` of this package's metadata, which ``make colab
REPO=owner/name`` re-points), or of the folder ``$CVAE_WEIGHTS_URL`` names instead. Each file
is named by the zoo's cache key, which holds the model's whole configuration and the course's
``MODEL_VERSION``, and is used only when its SHA-256 is the one listed in
``weights_manifest.json``, shipped inside this package: a file from elsewhere, or a half-finished
download, is never loaded. A fetched file is saved into the model cache, so later runs load it
from there.

Anything that goes wrong (no file yet, a wrong hash, a truncated download, no network) falls
back to training, with one line that says what happened and about how long training takes.

To always train instead: ``zoo.trained(name, fetch=False)``, or set the environment variable
``CVAE_FETCH=0`` before starting Jupyter (or ``os.environ["CVAE_FETCH"] = "0"`` in the lesson).
The models that your own code trains (``zoo.keep``) are never downloaded.
"""

import hashlib
import http.client
import json
import os
import tempfile
import time
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__

MANIFEST = Path(__file__).with_name("weights_manifest.json")
# Seconds without an answer before a download gives up: a blocked network should cost a lesson
# seconds, not minutes.
TIMEOUT = 10
CHUNK = 1 << 20
# The first address that could not be reached at all (no network, refused, timed out): later
# models train at once instead of waiting for it again.
_unreachable: str | None = None


def entry_key(name: str, cache_key: str) -> str:
    """A published model's name in the manifest and in the release: ``vae-6d2689408bcb1c64``."""
    return f"{name}-{cache_key}"


def manifest(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The published models: ``{entry_key: {"sha256", "bytes", "seconds_per_epoch",
    "measured_on", ...}}`` (empty when the package ships no manifest)."""
    path = path or MANIFEST
    return json.loads(path.read_text())["models"] if path.is_file() else {}


def release_url(repository: str, version: str = __version__) -> str:
    """Where a GitHub repository's release ``v{version}`` keeps its files."""
    return f"{repository.rstrip('/')}/releases/download/v{version}/"


def repository() -> str | None:
    """The course repository's address, as the installed package's metadata names it (None
    when the package is not installed, as in a bare copy of its folder)."""
    try:
        urls = metadata.metadata("cvae-helpers").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    return dict(u.split(", ", 1) for u in urls if ", " in u).get("Repository")


def base_url() -> str | None:
    """The folder the published weights come from: ``$CVAE_WEIGHTS_URL`` when set (empty:
    none), else the release ``v{version}`` of the course's repository."""
    if "CVAE_WEIGHTS_URL" in os.environ:
        return os.environ["CVAE_WEIGHTS_URL"] or None
    return release_url(repository()) if repository() else None


def enabled() -> bool:
    """False when ``$CVAE_FETCH`` is 0 (or "no", "false"): train every model instead."""
    return os.environ.get("CVAE_FETCH", "1").strip().lower() not in ("0", "no", "false", "off")


def training_time(entry: dict[str, Any] | None, num_epochs: int) -> str:
    """About how long training ``num_epochs`` takes, from the seconds per epoch measured when
    the published weights were trained: "about 3 min on a 2-core CPU"."""
    if not entry or "seconds_per_epoch" not in entry:
        return "its time is unknown"
    seconds = entry["seconds_per_epoch"] * num_epochs
    amount = f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
    return f"about {amount} on {entry['measured_on']}"


def _download(url: str, target: Path, expected_bytes: int, sha256: str) -> str | None:
    """Download ``url`` into ``target`` (through a temporary file beside it, renamed when
    complete and right). Returns None when it worked, else what went wrong, in words."""
    global _unreachable
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".download")
    digest, received = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            # One byte more than expected is enough to tell a wrong file from the right one.
            while received <= expected_bytes and (chunk := response.read(CHUNK)):
                f.write(chunk)
                digest.update(chunk)
                received += len(chunk)
        if received < expected_bytes:
            return f"the download of {url} stopped after {received:,} of {expected_bytes:,} bytes"
        if received > expected_bytes or digest.hexdigest() != sha256:
            return (f"{url} is not the file the course published (its SHA-256 differs from "
                    "the manifest's), so it was not used")
        os.replace(tmp, target)
        return None
    except urllib.error.HTTPError as err:
        hint = ": not uploaded yet?" if err.code == 404 else ""
        return f"no published weights at {url} (HTTP {err.code} {err.reason}{hint})"
    except http.client.HTTPException as err:  # the server broke the transfer off
        return f"the download of {url} broke off ({type(err).__name__}: {err})"
    except (urllib.error.URLError, OSError) as err:  # refused, no network, timed out
        _unreachable = url
        reason = getattr(err, "reason", None) or err
        return f"could not reach {url} ({reason})"
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def fetch(name: str, cache_key: str, path: Path, num_epochs: int) -> bool:
    """Download the published weights of the model ``name`` whose zoo cache key is
    ``cache_key`` into the cache file ``path``; True when it is there (lessons 1-5).

    Only the models in the manifest are published; for those, one line says what happened:
    where the weights came from, or why they could not be used and how long training takes.
    """
    entry = manifest().get(entry_key(name, cache_key))
    url = base_url()
    if entry is None or url is None or not enabled():
        return False
    instead = (f"training {name} instead ({num_epochs} epochs, "
               f"{training_time(entry, num_epochs)}; CVAE_FETCH=0 skips the download)")
    if _unreachable is not None:
        print(f"Published weights unreachable (at {_unreachable}): {instead}.")
        return False
    file_url = url.rstrip("/") + "/" + entry_key(name, cache_key) + ".pt"
    start = time.perf_counter()
    problem = _download(file_url, path, entry["bytes"], entry["sha256"])
    if problem:
        print(f"{problem[0].upper()}{problem[1:]}: {instead}.")
        return False
    print(f"Downloaded the published {name} ({entry['bytes'] / 1e6:.1f} MB in "
          f"{time.perf_counter() - start:.1f} s, SHA-256 checked) into the model cache.")
    return True

