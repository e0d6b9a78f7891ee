"""MNIST as in-memory tensors, shuffled mini-batches (lesson 1), and quadrant masks (lesson 5).

MNIST is small (60,000 + 10,000 images of 28 x 28 pixels, 220 MB as float32), so every lesson
keeps a whole split in memory, on the training device, and draws a mini-batch by indexing it
with a shuffled permutation. That skips the per-image PIL decode and collate of a ``DataLoader``,
which on a laptop CPU costs more than the model itself.

What the functions here take is checked by ``inputs``: a careless input (a flat image, pixels
in 0..255, a label 10, a damaged file) gets an error that says what to do.
"""

import gzip
import numbers
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor
from torchvision import datasets
from torchvision.datasets.mnist import read_image_file, read_label_file

# What an image is: [1, 28, 28], pixel intensities in [0, 1]; a label is a digit 0..9.
from .inputs import (  # noqa: F401 (IMAGE_SHAPE and NUM_PIXELS are part of data's vocabulary)
    HIDDEN,
    IMAGE_SHAPE,
    NUM_CLASSES,
    NUM_PIXELS,
    check_count,
    check_images,
    check_mask,
    check_mnist_file,
    check_quadrant_counts,
    check_rows,
)

# The package sits one level below the course root when it runs from a clone.
COURSE_ROOT = Path(__file__).resolve().parent.parent

# A relative CVAE_DATA_DIR is resolved once, against the folder Python started in, and written
# back: notebooks run in notebooks/ and tests run at the root then read the same files, and so
# do the Jupyter kernels that nbval starts from the test process.
if os.environ.get("CVAE_DATA_DIR"):
    os.environ["CVAE_DATA_DIR"] = str(Path(os.environ["CVAE_DATA_DIR"]).expanduser().resolve())

# The four files torchvision keeps in <root>/MNIST/raw/, and what each must hold: the IDX
# "magic number" of its kind (2051 images, 2049 labels) and its shape.
MNIST_FILES = {
    "train": (("train-images-idx3-ubyte", 2051, (60_000, 28, 28)),
              ("train-labels-idx1-ubyte", 2049, (60_000,))),
    "test": (("t10k-images-idx3-ubyte", 2051, (10_000, 28, 28)),
             ("t10k-labels-idx1-ubyte", 2049, (10_000,))),
}


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
    if root is not None and not isinstance(root, str | os.PathLike):
        raise TypeError(f"root must be a folder name (a str or a Path), got {type(root).__name__}")
    chosen = root or os.environ.get("CVAE_DATA_DIR") or default_root()
    return Path(chosen).expanduser().resolve()


def load_mnist(split: str = "train", root: str | Path | None = None,
               **unexpected: object) -> tuple[Tensor, Tensor]:
    """Load a whole MNIST split into memory (lesson 1).

    Returns ``X``, float32 images ``[N, 1, 28, 28]`` with values in [0, 1], and ``y``, int64
    labels ``[N]`` in 0..9. ``split`` is ``"train"`` (N = 60,000) or ``"test"`` (N = 10,000).
    The files are downloaded on first use when the machine is online. A damaged file is named,
    with what is wrong with it; a failed load creates nothing in the data folder.
    """
    if "train" in unexpected:  # torchvision's datasets.MNIST(root, train=True)
        raise TypeError(f"load_mnist names the split rather than taking torchvision's train="
                        f"{unexpected['train']!r}: use load_mnist('train') for the training "
                        "images, load_mnist('test') for the test ones")
    if unexpected:
        raise TypeError(f"load_mnist takes a split and a root folder, not {sorted(unexpected)}: "
                        "e.g. X, y = load_mnist('train')")
    if not isinstance(split, str):
        several = isinstance(split, list | tuple | set)
        raise TypeError(f"split must be the name of one split, 'train' or 'test', got {split!r}"
                        + (": load each with a call of its own, X, y = load_mnist('train') and "
                           "X_test, y_test = load_mnist('test')" if several else ""))
    if split not in MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = data_root(root)
    raw = folder / "MNIST" / "raw"
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file, but MNIST's folder was expected there: "
                                 f"{_where_the_folder_comes_from(root)}")
    missing = [name for name, _, _ in MNIST_FILES[split] if not (raw / name).is_file()]
    if missing:
        _fetch(folder, raw, missing, root)
    images, labels = (check_mnist_file(raw / name, magic, shape)
                      for name, magic, shape in MNIST_FILES[split])
    try:
        X, y = read_image_file(str(images)), read_label_file(str(labels))
    except Exception as err:  # the checks above make this unlikely; still name the file
        raise OSError(f"could not read MNIST from {raw} ({type(err).__name__}: {err}). Delete "
                      "the four files there and load again to get fresh copies.") from None
    if int(y.max()) >= NUM_CLASSES:
        raise ValueError(f"{labels} holds the label {int(y.max())}, but MNIST's labels are 0..9: "
                         "the file is damaged. Delete it and load again to get a fresh copy.")
    return X.unsqueeze(1).float().div_(255), y.long()


def _where_the_folder_comes_from(root: str | Path | None, parent: Path | None = None) -> str:
    """How to name the right data folder, ``parent`` where it is known."""
    right = str(parent) if parent else "the folder that holds MNIST/raw/"
    if root is not None:
        return f"pass root={str(parent)!r}." if parent else f"pass as root {right}."
    if os.environ.get("CVAE_DATA_DIR"):
        return f"set the environment variable CVAE_DATA_DIR to {right}."
    if parent:
        return f"move the files into {data_root() / 'MNIST' / 'raw'}, where the course looks."
    return "the course's default data folder is taken by a file; move that file away."


def _fetch(folder: Path, raw: Path, missing: list[str], root: str | Path | None) -> None:
    """Put the ``missing`` MNIST files into ``raw``: from their ``.gz`` copies there, else
    downloaded with the rest of MNIST.

    A download goes to a temporary folder first, so a failed one leaves nothing behind in
    ``folder`` (torchvision would leave empty ``MNIST/raw`` folders)."""
    if all((raw / f"{name}.gz").is_file() for name in missing):
        for name in missing:
            _gunzip(raw / f"{name}.gz", raw / name)
        return
    misplaced = _misplaced(folder)
    if misplaced:  # a root one or two levels too deep: a download would only copy MNIST again
        place, parent = misplaced
        raise FileNotFoundError(
            f"MNIST is not in {raw} (missing: {', '.join(missing)}), but its files are in "
            f"{place}: the data folder is the one that holds MNIST/raw/, here {parent}. So "
            + _where_the_folder_comes_from(root, parent))
    with tempfile.TemporaryDirectory(prefix="cvae-mnist-") as tmp:
        try:
            datasets.MNIST(tmp, download=True)
        except Exception as err:
            raise FileNotFoundError(
                f"MNIST is not in {raw} (missing: {', '.join(missing)}) and could not be "
                f"downloaded ({_first_line(err)}). Connect to the internet, or copy the four "
                "MNIST files there, or set the environment variable CVAE_DATA_DIR to a folder "
                "that holds MNIST/raw/." + _missing_folder(folder)) from None
        raw.mkdir(parents=True, exist_ok=True)
        for split in MNIST_FILES.values():
            for name, _, _ in split:
                if not (raw / name).is_file():  # a copy under another name, then a rename
                    partial = raw / f".{name}.partial"
                    shutil.move(str(Path(tmp) / "MNIST" / "raw" / name), partial)
                    os.replace(partial, raw / name)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0]}" if text else type(err).__name__


def _missing_folder(folder: Path) -> str:
    """A hint when the data folder itself does not exist: a misspelt name, most likely."""
    return f" The folder {folder} does not exist: check its name." if not folder.exists() else ""


def _misplaced(folder: Path) -> tuple[Path, Path] | None:
    """Where MNIST's files lie when ``folder`` was set one or two levels too deep (to the MNIST
    folder, or to its raw folder), and the folder that should have been named instead."""
    if not folder.is_dir():
        return None
    names = [name for split in MNIST_FILES.values() for name, _, _ in split]
    for place, parent in ((folder, folder.parent.parent), (folder / "raw", folder.parent)):
        if any((place / name).is_file() or (place / f"{name}.gz").is_file() for name in names):
            return place, parent
    return None


def _gunzip(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.partial")
    try:
        with gzip.open(source, "rb") as f, open(tmp, "wb") as out:
            shutil.copyfileobj(f, out)
        if not tmp.stat().st_size:
            raise EOFError("it is empty")
        os.replace(tmp, target)
    except (OSError, EOFError) as err:
        tmp.unlink(missing_ok=True)
        raise OSError(f"{source} is damaged and cannot be unpacked ({err}). Delete it and load "
                      "again to download a fresh copy.") from None


def batches(X: Tensor, y: Tensor | None, batch_size: int, generator: torch.Generator | None = None,
            shuffle: bool = True) -> Iterator[tuple[Tensor, Tensor | None]]:
    """Yield mini-batches ``(X[idx], y[idx])`` of in-memory tensors (lesson 1).

    The order is a permutation drawn from ``generator``, so one seed gives one order. The last
    batch may be smaller. ``y`` may be ``None`` for a model that needs no labels.
    """
    n = check_rows(X, y)
    check_count(batch_size, "batch_size")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    order = order.to(X.device)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], None if y is None else y[idx]


# Lesson 5's task (Sohn et al., 2015): show 1, 2 or 3 quadrants of a digit, predict the rest.
# The visible quadrants grow as in the paper and Pyro's CVAE tutorial: bottom-left, then the
# left half, then everything but the bottom-right. A hidden pixel's input is HIDDEN (-1): no
# real pixel has it.


def visible_mask(num_visible: int) -> Tensor:
    """The pixels shown to the model when ``num_visible`` quadrants (1, 2 or 3) are visible:
    a bool tensor ``[1, 28, 28]``, True where the pixel is visible (lesson 5)."""
    if isinstance(num_visible, bool) or not isinstance(num_visible, numbers.Integral):
        check_count(num_visible, "num_visible")  # a whole number, as random_quadrant_counts'
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
    check_mask(visible, X, "visible", "build it with data.visible_mask(num_visible), e.g. "
               "visible_mask(2)")
    return torch.where(visible.to(X.device), X, torch.full_like(X, HIDDEN))


def random_quadrant_counts(n: int, generator: torch.Generator | None = None) -> Tensor:
    """How many quadrants each of ``n`` digits shows, 1, 2 or 3 with equal chance: an int64
    tensor ``[n]`` (lesson 5). Drawn once with the data, it plays the part of the labels ``y``
    for the completion models, so one model learns all three tasks."""
    if isinstance(n, Tensor):
        raise TypeError("n is the number of digits, e.g. random_quadrant_counts(len(X)), not "
                        "the images themselves")
    check_count(n, "n", minimum=0)
    return torch.randint(1, 4, (n,), generator=generator)


def visible_masks(counts: Tensor) -> Tensor:
    """The masks ``[N, 1, 28, 28]`` of ``N`` quadrant counts (``random_quadrant_counts``): image
    n shows ``visible_mask(counts[n])`` (lesson 5)."""
    check_quadrant_counts(counts)
    masks = torch.stack([visible_mask(k) for k in (1, 2, 3)]).to(counts.device)
    return masks[counts.long() - 1]
