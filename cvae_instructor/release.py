"""``make weights``: the release files of the lessons' trained models, and their manifest.

``python -m cvae_instructor.release OUT`` trains every model that the lessons load with
``zoo.trained`` from scratch, in a fresh temporary model cache, on the CPU (so that a learner
who downloads them gets the very models a CPU run of the lesson trains, and the lessons'
committed numbers), then writes:

- ``OUT/{name}-{cache key}.pt``, one file per model: upload them all to the GitHub release
  ``v{version}`` of the course's repository (docs/instructors.md, "Publishing trained weights");
- ``cvae_helpers/weights_manifest.json``: each file's SHA-256, size, settings and seconds per
  epoch, keyed as the files are named. Commit it with the release: the package checks every
  download against it.

``--cache DIR`` uses the models that ``zoo.trained`` has already trained into ``DIR`` and trains
only the missing ones there (models your own code trained, ``zoo.keep``, are refused);
``--device cuda`` trains on a GPU (its weights differ slightly from a CPU's).
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

import torch

from cvae_helpers import __version__, weights, zoo

# Every model a lesson loads with zoo.trained (a lesson's own model, trained by the learner's
# code and kept by zoo.keep, is loaded by the later lessons through zoo.trained too).
LESSON_MODELS: list[tuple[str, dict[str, Any]]] = [
    ("classifier", {}), ("classifier_mlp", {}), ("autoencoder", {}), ("vae_2d", {}),
    ("vae", {}), ("cvae", {}), ("cvae_2d", {}), ("cvae", {"latent_dim": 8}),
    ("completion_net", {}), ("completion_cvae", {}),
    *(("vae_2d", {"beta": b, "num_epochs": 1}) for b in (0.25, 1.0, 4.0)),  # lesson 2
    *(("vae", {"beta": b, "num_epochs": 2}) for b in (0.5, 1.0, 2.0, 4.0, 8.0)),  # lesson 4
]


def hardware(device: torch.device) -> str:
    """What the seconds per epoch were measured on, as a learner's message says it."""
    if device.type == "cuda":
        return f"an {torch.cuda.get_device_name(device)} GPU"
    threads = torch.get_num_threads()
    return "one CPU core" if threads == 1 else f"{threads} CPU cores"


def entry(path: Path, checkpoint: dict[str, Any], measured_on: str) -> dict[str, Any]:
    """The manifest's entry for the release file ``path`` holding ``checkpoint``."""
    seconds = checkpoint["history"]["seconds"]
    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "bytes": path.stat().st_size,
            "settings": checkpoint["settings"], "epochs": len(seconds),
            "seconds_per_epoch": round(statistics.median(seconds), 1), "measured_on": measured_on}


def build_release(out: Path, cache: Path, device: torch.device,
                  models: list[tuple[str, dict[str, Any]]] = LESSON_MODELS,
                  manifest: Path = weights.MANIFEST) -> dict[str, dict[str, Any]]:
    """Train (into ``cache``, unless there already) and copy every model of ``models`` into
    ``out``; write and return the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name, overrides in models:
        cfg = zoo.config(name, **overrides)
        start = time.perf_counter()
        with mock.patch.dict(os.environ, {"CVAE_CACHE_DIR": str(cache)}):
            zoo.trained(name, device=device, fetch=False, **overrides)
            cached = zoo.cache_path(name, cfg, device)
        checkpoint = torch.load(cached, map_location="cpu", weights_only=True)
        if checkpoint.get("trained_by") == "lesson" or checkpoint.get("settings") != cfg:
            sys.exit(f"{cached} was kept from a lesson's own code (or has other settings), not "
                     "trained by zoo.trained: use an empty --cache")
        if len(checkpoint["history"].get("seconds", [])) != cfg["num_epochs"]:
            sys.exit(f"{cached} did not finish training: delete it and run again")
        key = weights.entry_key(name, zoo.cache_key(cfg))
        shutil.copyfile(cached, out / f"{key}.pt")
        entries[key] = entry(out / f"{key}.pt", checkpoint, hardware(device))
        print(f"{key}: {entries[key]['epochs']} epochs, {entries[key]['bytes'] / 1e6:.1f} MB "
              f"({time.perf_counter() - start:.0f} s here)", flush=True)
    text = json.dumps({"version": __version__, "models": entries}, indent=1, sort_keys=True)
    manifest.write_text(text + "\n")
    return entries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the release files")
    parser.add_argument("--cache", type=Path, help="reuse (and fill) this model cache instead "
                        "of a fresh one")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as fresh:
        build_release(args.out, args.cache or Path(fresh), device)
    print(f"Wrote {weights.MANIFEST}. Commit it, and upload {args.out}/*.pt to the release "
          f"v{__version__} of {weights.repository() or 'the course repository'} "
          f"(gh release upload v{__version__} {args.out}/*.pt).")


if __name__ == "__main__":
    main()
