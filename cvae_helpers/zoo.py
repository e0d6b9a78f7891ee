"""The lessons' trained models: one configuration each, trained once and cached (lessons 1-5).

Every model a lesson trains is named here with all its settings, so a lesson run on its own (in
Colab too) trains what it needs, a later lesson reuses it, and ``benchmarks/quality.py``
measures exactly what the lessons show. A cached model is keyed by its whole configuration and
the device type, so changing any setting trains a new one.
"""

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import checkpoints
from .data import default_root, load_mnist
from .device import pick_device
from .models import CVAE, VAE, Autoencoder, Classifier, CompletionCVAE, CompletionNet
from .train import History, fit

MODEL_CLASSES = {"Classifier": Classifier, "Autoencoder": Autoencoder, "VAE": VAE, "CVAE": CVAE,
                 "CompletionNet": CompletionNet, "CompletionCVAE": CompletionCVAE}
TRAIN_KEYS = ("num_epochs", "lr", "lr_schedule", "batch_size", "beta", "seed")

# Adam at 1e-3 with a cosine decay, in batches of 64: on MNIST this reaches in 15 epochs what a
# constant rate in batches of 128 needs about 25 for (measured on the 20-D VAE).
TRAINING = {"lr": 1e-3, "lr_schedule": "cosine", "batch_size": 64, "beta": 1.0, "seed": 0}

CONFIGS: dict[str, dict[str, Any]] = {
    # The judge of generated digits: a small CNN, >= 98% test accuracy (lesson 1).
    "classifier": {"model": "Classifier", "channels": [16, 32], **TRAINING, "batch_size": 128,
                   "num_epochs": 3},
    # A 2-D code, so the whole code space fits on one plot (lesson 1).
    "autoencoder": {"model": "Autoencoder", "latent_dim": 2, "hidden": [512, 256], **TRAINING,
                    "num_epochs": 10},
    # The same sizes as a VAE, for pictures of its latent space (lesson 2).
    "vae_2d": {"model": "VAE", "latent_dim": 2, "hidden": [512, 256], **TRAINING, "num_epochs": 10},
    # A 20-D VAE for sample quality: <= 100 nats per image on the test set (lesson 2).
    "vae": {"model": "VAE", "latent_dim": 20, "hidden": [512, 512], **TRAINING, "num_epochs": 20},
    # The conditional VAE; lesson 3 also trains it with latent_dim 2 and 8.
    "cvae": {"model": "CVAE", "latent_dim": 20, "hidden": [512, 512], "num_classes": 10,
             **TRAINING, "num_epochs": 10},
    # Lesson 5: complete a digit from 1, 2 or 3 visible quadrants; one model for all three.
    "completion_net": {"model": "CompletionNet", "hidden": [500, 500], **TRAINING, "num_epochs": 6},
    "completion_cvae": {"model": "CompletionCVAE", "latent_dim": 20, "hidden": [500, 500],
                        **TRAINING, "num_epochs": 6},
}

# Lesson 3 compares CVAEs of these latent sizes, sampled at these temperatures.
CVAE_LATENT_SIZES = (2, 8, 20)
TEMPERATURES = (0.5, 0.8, 1.0)


def config(name: str, **overrides: Any) -> dict[str, Any]:
    """The configuration ``name`` with ``overrides`` applied, e.g. ``config("vae", beta=4.0)``."""
    if name not in CONFIGS:
        raise KeyError(f"unknown model {name!r}; choose one of {sorted(CONFIGS)}")
    unknown = set(overrides) - set(CONFIGS[name])
    if unknown:
        raise KeyError(f"{name!r} has no setting {sorted(unknown)}; its settings are "
                       f"{sorted(CONFIGS[name])}")
    return {**CONFIGS[name], **overrides}


def build(cfg: dict[str, Any]) -> nn.Module:
    """A freshly initialised model for ``cfg``, its weights drawn from ``cfg["seed"]``."""
    args = {k: v for k, v in cfg.items() if k != "model" and k not in TRAIN_KEYS}
    torch.manual_seed(cfg["seed"])
    return MODEL_CLASSES[cfg["model"]](**args)


def train_config(cfg: dict[str, Any], device: torch.device | None = None,
                 progress: bool = True) -> tuple[nn.Module, History]:
    """Build and train the model of ``cfg`` on MNIST's training split (no cache)."""
    X, y = load_mnist("train")
    X_test, y_test = load_mnist("test")
    model = build(cfg)
    history = fit(model, X, y, X_test, y_test, device=device, progress=progress,
                  **{k: cfg[k] for k in TRAIN_KEYS})
    return model, history


def cache_dir() -> Path:
    """Where trained models are kept: ``$CVAE_CACHE_DIR``, else ``models/`` in the course's
    data folder (``data/models`` in a clone, a per-user cache folder elsewhere)."""
    return Path(os.environ.get("CVAE_CACHE_DIR") or default_root() / "models").resolve()


def trained(name: str, device: torch.device | str | None = None,
            **overrides: Any) -> tuple[nn.Module, History]:
    """The model ``name`` (with ``overrides``) trained on MNIST: loaded from the cache when it
    was trained before on this kind of device, else trained now and cached (lessons 1-5).

    Returns the model, in eval mode on ``device``, and its training history.
    """
    device = torch.device(device) if device is not None else pick_device()
    cfg = config(name, **overrides)
    key = hashlib.sha256(json.dumps([cfg, device.type], sort_keys=True).encode()).hexdigest()
    path = cache_dir() / f"{name}-{key[:12]}.pt"
    if path.is_file():
        model = build(cfg).to(device)
        try:
            history = checkpoints.load(path, model)["history"]
            return model.eval(), history
        except checkpoints.CheckpointError as err:
            print(f"Ignoring a damaged cached model, training again: {err}")
    model, history = train_config(cfg, device)
    if len(history.get("seconds", [])) == cfg["num_epochs"]:  # cache finished training only
        checkpoints.save(path, model, history=history, settings=cfg)
    return model, history
