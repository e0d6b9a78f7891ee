"""Saving and loading trained models safely (lesson 1).

A checkpoint is a plain dict: the model's class name and ``config`` (its constructor arguments),
its ``state_dict``, and any extras such as the training history. ``save`` writes it atomically,
so an interrupted save never leaves a half-written file behind; ``load`` reads it with
``weights_only=True``, which refuses to run code hidden in a file from elsewhere.
"""

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used: corrupt, or made for another architecture."""


def save(path: str | Path, model: nn.Module, **extra: Any) -> Path:
    """Write ``model`` (and ``extra`` entries) to ``path``: a temporary file, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = {"architecture": type(model).__name__, "config": model.config,
                  "state_dict": model.state_dict(), **extra}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(checkpoint, f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def load(path: str | Path, model: nn.Module) -> dict[str, Any]:
    """Load the weights at ``path`` into ``model`` and return the checkpoint's extras.

    Raises ``FileNotFoundError`` for a missing file and ``CheckpointError`` for a corrupt one or
    one saved from a different architecture (another class, or other sizes).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path.resolve()}: train the model and save "
                                "it first, or check the path")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        architecture, config = checkpoint["architecture"], checkpoint["config"]
    except Exception as err:
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(err).__name__}: "
                              f"{err}). It may be truncated or corrupt: delete it and train "
                              "again.") from err
    expected = (type(model).__name__, model.config)
    if (architecture, config) != expected:
        raise CheckpointError(
            f"{path} holds a {architecture} with {config}, but the model given is a "
            f"{expected[0]} with {expected[1]}. Build the model with the checkpoint's settings, "
            "or load another file."
        )
    device = next(model.parameters()).device
    model.load_state_dict(checkpoint["state_dict"])
    model.to(device)
    return {k: v for k, v in checkpoint.items() if k not in ("architecture", "config",
                                                            "state_dict")}
