"""MNIST as in-memory tensors, shuffled mini-batches (lesson 1), and quadrant masks (lesson 5).

MNIST is small (60,000 + 10,000 images of 28 x 28 pixels, 220 MB as float32), so every lesson
keeps a whole split in memory, on the training device, and draws a mini-batch by indexing it
with a shuffled permutation. That skips the per-image PIL decode and collate of a ``DataLoader``,
which on a laptop CPU costs more than the model itself.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor
from torchvision import datasets

IMAGE_SHAPE = (1, 28, 28)
NUM_PIXELS = 784
NUM_CLASSES = 10

# The package sits one level below the course root when it runs from a clone.
COURSE_ROOT = Path(__file__).resolve().parent.parent

# A relative CVAE_DATA_DIR is resolved once, against the folder Python started in, and written
# back: notebooks run in notebooks/ and tests run at the root then read the same files, and so
# do the Jupyter kernels that nbval starts from the test process.
if os.environ.get("CVAE_DATA_DIR"):
    os.environ["CVAE_DATA_DIR"] = str(Path(os.environ["CVAE_DATA_DIR"]).expanduser().resolve())


def running_from_clone() -> bool:
    """True when this package is the ``cvae_helpers/`` folder of a course checkout."""
    return (COURSE_ROOT / "notebooks").is_dir() and (COURSE_ROOT / "pyproject.toml").is_file()


def default_root() -> Path:
    """``data/`` at the course root in a clone, else a per-user cache folder (as in Colab)."""
    if running_from_clone():
        return COURSE_ROOT / "data"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "cvae-course"


def data_root(root: str | Path | None = None) -> Path:
    """The absolute folder MNIST is read from: ``root``, else ``$CVAE_DATA_DIR``, else the default.

    torchvision keeps the files in ``<root>/MNIST/raw/``.
    """
    chosen = root or os.environ.get("CVAE_DATA_DIR") or default_root()
    return Path(chosen).expanduser().resolve()


def load_mnist(split: str = "train", root: str | Path | None = None) -> tuple[Tensor, Tensor]:
    """Load a whole MNIST split into memory (lesson 1).

    Returns ``X``, float32 images ``[N, 1, 28, 28]`` with values in [0, 1], and ``y``, int64
    labels ``[N]`` in 0..9. ``split`` is ``"train"`` (N = 60,000) or ``"test"`` (N = 10,000).
    The files are downloaded on first use when the machine is online.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = data_root(root)
    try:
        dataset = datasets.MNIST(folder, train=split == "train", download=True)
    except (RuntimeError, OSError) as err:
        raise FileNotFoundError(
            f"MNIST is not in {folder / 'MNIST' / 'raw'} and could not be downloaded ({err}). "
            "Connect to the internet, or copy the four MNIST IDX files there, or set the "
            "environment variable CVAE_DATA_DIR to a folder that holds MNIST/raw/."
        ) from err
    X = dataset.data.unsqueeze(1).float().div_(255)
    y = dataset.targets.long()
    return X, y


def check_images(X: Tensor) -> None:
    """Raise a clear error unless ``X`` is a batch of MNIST images ``[N, 1, 28, 28]``."""
    if X.dim() != 4 or tuple(X.shape[1:]) != IMAGE_SHAPE:
        raise ValueError(
            f"expected images shaped [N, 1, 28, 28], got {list(X.shape)}. "
            "A flat batch [N, 784] can be reshaped with X.view(-1, 1, 28, 28); "
            "a single image [28, 28] with X.view(1, 1, 28, 28)."
        )


def check_labels(y: Tensor, n: int | None = None, num_classes: int = NUM_CLASSES) -> None:
    """Raise a clear error unless ``y`` holds ``n`` integer labels in 0..num_classes-1."""
    if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise TypeError(f"labels must be integers (torch.long), got {y.dtype}")
    if y.dim() != 1 or (n is not None and y.shape[0] != n):
        raise ValueError(f"expected {n if n is not None else 'N'} labels in a 1-D tensor, "
                         f"got shape {list(y.shape)}")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(
            f"labels must lie in 0..{num_classes - 1}, got values from {int(y.min())} "
            f"to {int(y.max())}"
        )


def batches(X: Tensor, y: Tensor, batch_size: int, generator: torch.Generator | None = None,
            shuffle: bool = True) -> Iterator[tuple[Tensor, Tensor]]:
    """Yield mini-batches ``(X[idx], y[idx])`` of in-memory tensors (lesson 1).

    The order is a permutation drawn from ``generator``, so one seed gives one order. The last
    batch may be smaller.
    """
    n = X.shape[0]
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    order = order.to(X.device)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


# Lesson 5's task (Sohn et al., 2015): show 1, 2 or 3 quadrants of a digit, predict the rest.
# The visible quadrants grow as in the paper and Pyro's CVAE tutorial: bottom-left, then the
# left half, then everything but the bottom-right.
HIDDEN = -1.0  # the input value of a pixel the model must predict: no real pixel has it


def visible_mask(num_visible: int) -> Tensor:
    """The pixels shown to the model when ``num_visible`` quadrants (1, 2 or 3) are visible:
    a bool tensor ``[1, 28, 28]``, True where the pixel is visible (lesson 5)."""
    if num_visible not in (1, 2, 3):
        raise ValueError(f"num_visible must be 1, 2 or 3 quadrants, got {num_visible!r}")
    visible = torch.zeros(IMAGE_SHAPE, dtype=torch.bool)
    visible[:, 14:, :14] = True  # bottom-left
    if num_visible >= 2:
        visible[:, :, :14] = True  # the left half
    if num_visible == 3:
        visible[:, :14, :] = True  # and the top half
    return visible


def mask_input(X: Tensor, visible: Tensor) -> Tensor:
    """The model's input for a completion task (lesson 5): the visible pixels of ``X`` as they
    are, every other pixel set to ``HIDDEN`` (-1), so the network can tell "hidden" from "no ink".

    ``visible`` is a bool mask broadcastable to ``X`` (``[1, 28, 28]``, or one per image).
    """
    check_images(X)
    return torch.where(visible.to(X.device), X, torch.full_like(X, HIDDEN))


def random_quadrant_counts(n: int, generator: torch.Generator | None = None) -> Tensor:
    """How many quadrants each of ``n`` digits shows, 1, 2 or 3 with equal chance: an int64
    tensor ``[n]`` (lesson 5). Drawn once with the data, it plays the part of the labels ``y``
    for the completion models, so one model learns all three tasks."""
    return torch.randint(1, 4, (n,), generator=generator)


def visible_masks(counts: Tensor) -> Tensor:
    """The masks ``[N, 1, 28, 28]`` of ``N`` quadrant counts (``random_quadrant_counts``): image
    n shows ``visible_mask(counts[n])`` (lesson 5)."""
    if counts.numel() and (int(counts.min()) < 1 or int(counts.max()) > 3):
        raise ValueError(f"quadrant counts must be 1, 2 or 3, got values from {int(counts.min())} "
                         f"to {int(counts.max())}")
    masks = torch.stack([visible_mask(k) for k in (1, 2, 3)]).to(counts.device)
    return masks[counts.long() - 1]
