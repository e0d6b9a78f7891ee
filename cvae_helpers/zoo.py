"""The lessons' trained models: one configuration each, trained once and cached (lessons 1-5).

Every model a lesson trains is named here with all its settings, so a lesson run on its own (in
Colab too) trains what it needs, a later lesson reuses it, and ``benchmarks/quality.py``
measures exactly what the lessons show. A cached model is keyed by its whole configuration, the
course's ``MODEL_VERSION`` and the device type, so changing any setting trains a new one.

A lesson's main model is trained by the learner's own code, not here: ``keep`` takes it over,
and caches it for later lessons only when that code passed its self-checks.

Only a model that finished every epoch with finite weights is cached. A cache that cannot be
written (read-only, full, another user's) costs a warning, never the model just trained.
"""

import hashlib
import json
import math
import numbers
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from . import checkpoints, weights
from .data import default_root, load_mnist, random_quadrant_counts
from .inputs import check_count, check_history, check_layer_sizes, check_model, check_settings
from .models import (
    CVAE,
    VAE,
    Autoencoder,
    Classifier,
    CompletionCVAE,
    CompletionNet,
    MLPClassifier,
)
from .train import History, TrainingInterrupted, fit, resolve_device

MODEL_CLASSES = {"Classifier": Classifier, "MLPClassifier": MLPClassifier,
                 "Autoencoder": Autoencoder, "VAE": VAE, "CVAE": CVAE,
                 "CompletionNet": CompletionNet, "CompletionCVAE": CompletionCVAE}
TRAIN_KEYS = ("num_epochs", "lr", "lr_schedule", "batch_size", "beta", "seed")
# What a model trains on as ``y``: the digit labels, or lesson 5's quadrant counts.
DATA_KEYS = ("targets",)

# Raise it whenever the models' code or the training changes what a configuration trains, so
# that models cached by an older version of the course are trained again. The key also holds
# the checkpoints' FORMAT, so that a new file layout never meets an old reader.
MODEL_VERSION = 2

# Adam at 1e-3 with a cosine decay, in batches of 64: on MNIST this reaches in 15 epochs what a
# constant rate in batches of 128 needs about 25 for (measured on the 20-D VAE).
TRAINING = {"lr": 1e-3, "lr_schedule": "cosine", "batch_size": 64, "beta": 1.0, "seed": 0}

CONFIGS: dict[str, dict[str, Any]] = {
    # The judge of generated digits: a small CNN, >= 98% test accuracy (lesson 1).
    "classifier": {"model": "Classifier", "channels": [16, 32], **TRAINING, "batch_size": 128,
                   "num_epochs": 3},
    # A second judge of another architecture, so that a score of samples does not rest on one
    # classifier's quirks (lesson 3, benchmarks/quality.py).
    "classifier_mlp": {"model": "MLPClassifier", "hidden": [256, 256], **TRAINING,
                       "batch_size": 128, "num_epochs": 5},
    # A 2-D code, so the whole code space fits on one plot (lesson 1).
    "autoencoder": {"model": "Autoencoder", "latent_dim": 2, "hidden": [512, 256], **TRAINING,
                    "num_epochs": 10},
    # The same sizes as a VAE, for pictures of its latent space (lesson 2).
    "vae_2d": {"model": "VAE", "latent_dim": 2, "hidden": [512, 256], **TRAINING, "num_epochs": 10},
    # A 20-D VAE for sample quality: <= 100 nats per image on the test set (lesson 2).
    "vae": {"model": "VAE", "latent_dim": 20, "hidden": [512, 512], **TRAINING, "num_epochs": 20},
    # The conditional VAE, trained by your own code in lesson 3; lesson 3 also trains it with
    # latent_dim 8.
    "cvae": {"model": "CVAE", "latent_dim": 20, "hidden": [512, 512], "num_classes": 10,
             **TRAINING, "num_epochs": 10},
    # A 2-D CVAE with the 2-D VAE's layers and training, so that the two compare like for like
    # (lesson 3).
    "cvae_2d": {"model": "CVAE", "latent_dim": 2, "hidden": [512, 256], "num_classes": 10,
                **TRAINING, "num_epochs": 10},
    # Lesson 5: complete a digit from 1, 2 or 3 visible quadrants; one model for all three.
    # Each digit shows 1, 2 or 3 quadrants, drawn once with the data (data.random_quadrant_counts).
    "completion_net": {"model": "CompletionNet", "hidden": [500, 500], "targets": "quadrants",
                       **TRAINING, "num_epochs": 6},
    "completion_cvae": {"model": "CompletionCVAE", "latent_dim": 20, "hidden": [500, 500],
                        "targets": "quadrants", **TRAINING, "num_epochs": 6},
}

# Lesson 3 compares CVAEs of these latent sizes, sampled at these temperatures.
CVAE_LATENT_SIZES = (2, 8, 20)
TEMPERATURES = (0.5, 0.7, 0.8, 1.0)
# The configuration and overrides of lesson 3's CVAE of each latent size: ``trained(name,
# **overrides)``. The 2-D one has the 2-D VAE's narrower second layer (256 units, not 512).
CVAE_BY_LATENT_SIZE = {2: ("cvae_2d", {}), 8: ("cvae", {"latent_dim": 8}), 20: ("cvae", {})}


def config(name: str, **overrides: Any) -> dict[str, Any]:
    """The configuration ``name`` with ``overrides`` applied, e.g. ``config("vae", beta=4.0)``.

    Every setting is checked here, before anything loads or trains."""
    if not isinstance(name, str) or name not in CONFIGS:
        raise KeyError(f"unknown model {name!r}; choose one of {sorted(CONFIGS)}")
    unknown = set(overrides) - set(CONFIGS[name])
    if unknown:
        raise KeyError(f"{name!r} has no setting {sorted(unknown)}; its settings are "
                       f"{sorted(CONFIGS[name])}")
    fixed = sorted(set(overrides) & {"model", "targets"})
    if fixed:
        raise KeyError(f"{fixed} of {name!r} cannot be changed: to train another kind of model, "
                       f"use its own name, one of {sorted(CONFIGS)}")
    cfg = {**CONFIGS[name], **overrides}
    check_settings(**{k: cfg[k] for k in TRAIN_KEYS})
    for key in ("latent_dim", "num_classes"):
        if key in cfg:
            check_count(cfg[key], key, minimum=2 if key == "num_classes" else 1)
    for key in ("hidden", "channels"):
        if key in cfg:
            check_layer_sizes(cfg[key], key)
    return cfg


def build(cfg: dict[str, Any]) -> nn.Module:
    """A freshly initialised model for ``cfg``, its weights drawn from ``cfg["seed"]``."""
    args = {k: v for k, v in cfg.items()
            if k != "model" and k not in TRAIN_KEYS and k not in DATA_KEYS}
    torch.manual_seed(cfg["seed"])
    return MODEL_CLASSES[cfg["model"]](**args)


def settings(name: str, **overrides: Any) -> dict[str, Any]:
    """The training settings of ``name`` as keyword arguments of lesson 1's training loop:
    ``num_epochs``, ``lr``, ``batch_size``, ``beta`` and ``seed`` (lessons 1-5). The loop always
    lowers the learning rate along a cosine, as every configuration here does."""
    cfg = config(name, **overrides)
    return {k: cfg[k] for k in TRAIN_KEYS if k != "lr_schedule"}


def training_data(cfg: dict[str, Any]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``X, y, X_test, y_test`` that the model of ``cfg`` trains and is tested on: MNIST's
    images, and as ``y`` their labels or, for lesson 5's models, the number of quadrants each
    digit shows, drawn once from the seed."""
    X, y = load_mnist("train")
    X_test, y_test = load_mnist("test")
    if cfg.get("targets") == "quadrants":
        y = random_quadrant_counts(len(X), torch.Generator().manual_seed(cfg["seed"]))
        y_test = random_quadrant_counts(len(X_test), torch.Generator().manual_seed(cfg["seed"] + 1))
    return X, y, X_test, y_test


def train_config(cfg: dict[str, Any], device: torch.device | None = None,
                 progress: bool = True) -> tuple[nn.Module, History]:
    """Build and train the model of ``cfg`` on MNIST's training split (no cache)."""
    model = build(cfg)
    history = fit(model, *training_data(cfg), device=device, progress=progress,
                  **{k: cfg[k] for k in TRAIN_KEYS})
    return model, history


def cache_dir() -> Path:
    """Where trained models are kept: ``$CVAE_CACHE_DIR``, else ``models/`` in the course's
    data folder (``data/models`` in a clone, a per-user cache folder elsewhere)."""
    chosen = os.environ.get("CVAE_CACHE_DIR") or default_root() / "models"
    return Path(chosen).expanduser().resolve()  # "~/models" is the home folder's, as in a shell


def _canonical(value: Any) -> Any:
    """``value`` with every number as a float, so that ``beta=1`` and ``beta=1.0`` (or a numpy
    number) name one model."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return value


def cache_key(cfg: dict[str, Any]) -> str:
    """The name of a configuration's trained weights: a hash of its settings, the course's
    ``MODEL_VERSION`` and the checkpoints' ``FORMAT``, the same on every device."""
    text = json.dumps([MODEL_VERSION, checkpoints.FORMAT, _canonical(cfg)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_path(name: str, cfg: dict[str, Any], device: torch.device) -> Path:
    """Where the model of ``cfg`` trained on this kind of device is cached: a GPU trains
    slightly different weights than a CPU, and a lesson's numbers come from one of them."""
    return cache_dir() / f"{name}-{cache_key(cfg)}-{device.type}.pt"


def trained(name: str, device: torch.device | str | None = None, fetch: bool = True,
            **overrides: Any) -> tuple[nn.Module, History]:
    """The model ``name`` (with ``overrides``) trained on MNIST: loaded from the cache when it
    was trained before on this kind of device, else downloaded from the course's published
    weights when they hold it (``weights``; not with ``fetch=False`` or ``CVAE_FETCH=0``), else
    trained now, and cached (lessons 1-5).

    Returns the model, in eval mode on ``device``, and its training history. Ctrl-C stops the
    whole cell (``train.TrainingInterrupted``), so one stops a cell that trains several.
    """
    if not isinstance(fetch, bool):
        raise TypeError(f"fetch must be True or False, got {fetch!r}: fetch=False trains the "
                        "model here instead of downloading the course's weights")
    cfg = config(name, **overrides)
    device = resolve_device(device)
    path = cache_path(name, cfg, device)
    model = history = None
    try:
        if fetch and not path.exists():
            weights.fetch(name, cache_key(cfg), path, cfg["num_epochs"])
        if path.exists():
            cached = _from_cache(name, cfg, path, device)
            if cached is not None:
                return cached
        model, history = train_config(cfg, device)
        if len(history.get("seconds", [])) == cfg["num_epochs"]:  # cache finished training only
            _save(name, path, model, history=history, settings=cfg)
        return model, history
    except KeyboardInterrupt as err:
        if isinstance(err, TrainingInterrupted):
            raise
        kept = ("the trained model is kept, but not cached"
                if history is not None else "no model was lost")
        raise TrainingInterrupted(f"Interrupted while the {name} or its data was being loaded "
                                  "or saved: "
                                  f"{kept}. The cell stopped here; run it again to go on.",
                                  model, history) from None


def _from_cache(name: str, cfg: dict[str, Any], path: Path,
                device: torch.device) -> tuple[nn.Module, History] | None:
    """The cached model of ``cfg`` and its history, or None (and why) when it cannot be used."""
    model = build(cfg).to(device)
    try:
        history = checkpoints.load(path, model).get("history")
        if not isinstance(history, dict) or not _usable(model, history):
            raise checkpoints.CheckpointError(f"{path} holds no finite weights and history")
    except checkpoints.CheckpointError as err:
        print(f"Cannot use the cached {name}, so it is trained again: {err}")
        return None
    return model.eval(), history


def _usable(model: nn.Module, history: History) -> bool:
    """Finite weights and a finite history: a model worth keeping for later lessons."""
    finite = all(bool(p.isfinite().all()) for p in model.parameters())
    return finite and all(isinstance(v, numbers.Real) and math.isfinite(v)
                          for values in history.values() for v in values)


# The cache folders that could not be written in this session: each is reported once.
_unwritable: set[Path] = set()


class CacheWarning(UserWarning):
    """A trained model could not be cached; it is kept in memory for this session."""


def _save(name: str, path: Path, model: nn.Module, **extra: Any) -> bool:
    """Cache ``model``; when the cache cannot be written, warn (once per folder) and go on."""
    try:
        # The cache path is the zoo's own (a name no one else uses): a damaged file there, of any
        # kind, is replaced.
        checkpoints._save(path, model, extra, replace_anything=True)
        return True
    except checkpoints.CheckpointError as err:
        if path.parent not in _unwritable:
            _unwritable.add(path.parent)
            warnings.warn(f"The trained {name} could not be cached ({err}). It is kept in "
                          "memory for this session, but a later lesson will train it again. To "
                          "keep models, set the environment variable CVAE_CACHE_DIR to a folder "
                          "you can write to.", CacheWarning, stacklevel=3)
        return False


def keep(name: str, model: nn.Module, history: History, checked: bool,
         **overrides: Any) -> nn.Module:
    """Take over the model that your own code trained with the settings of ``name`` (lessons
    1-5): its weights, in the course's own class, on the same device, in eval mode, which is what
    the rest of the lesson studies and what the helpers' plots and widgets know.

    It is cached for later lessons only when ``checked`` (your functions passed their
    self-checks: ``checks.passed(...)``) and the history ``{"test_loss": [...], ...}`` has every
    epoch of the configuration. Otherwise later lessons train the course's own model instead,
    so a wrong answer never reaches them.
    """
    cfg = config(name, **overrides)
    check_model(model, f"your trained {name} (a model with weights)", where="keep takes")
    check_history(history, checked)
    device = next(model.parameters()).device
    course_model = build(cfg).to(device)
    problems = checkpoints.mismatch(model.state_dict(), course_model.state_dict())
    if problems:
        raise ValueError(
            f"your {type(model).__name__}'s layers do not match the course's {cfg['model']} "
            f"with {course_model.config}, so the rest of the lesson cannot study it: build the "
            f"layers as the exercise asks (its weights are {problems})")
    course_model.load_state_dict(model.state_dict())
    epochs = len(history.get("test_loss", []))
    if "test_loss" not in history:
        print(f"Not cached: the history has no 'test_loss' (its keys are {sorted(history)}): "
              "record the test loss of every epoch under that name.")
    elif not checked:
        print(f"Not cached: some of the functions that trained your {name} have not passed their "
              "self-checks, so later lessons will train the course's own model. Fix them, run "
              "their checks, and train again to share yours.")
    elif epochs != cfg["num_epochs"]:
        print(f"Not cached: your {name} trained for {epochs} of its {cfg['num_epochs']} epochs.")
    elif not _usable(course_model, history):
        print(f"Not cached: your {name}'s weights or losses hold NaN or infinite values. Train "
              "it again, with a smaller learning rate.")
    elif _save(name, cache_path(name, cfg, device), course_model, history=history,
               settings=cfg, trained_by="lesson"):
        print(f"Your {name} passed its checks and is cached: later lessons use it.")
    return course_model.eval()
