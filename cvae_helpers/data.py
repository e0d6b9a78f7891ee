"""MNIST as in-memory tensors, shuffled mini-batches (lesson 1), and quadrant masks (lesson 5).

MNIST is small (60,000 + 10,000 images of 28 x 28 pixels, 220 MB as float32), so every lesson
keeps a whole split in memory, on the training device, and draws a mini-batch by indexing it
with a shuffled permutation. That skips the per-image PIL decode and collate of a ``DataLoader``,
which on a laptop CPU costs more than the model itself.

The ``check_*`` functions at the end turn a careless input (a flat image, pixels in 0..255, a
label 10) into an error that says what to do, before it becomes a wrong number.
"""

import contextlib
import gzip
import math
import numbers
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

import torch
from torch import Tensor
from torchvision import datasets
from torchvision.datasets.mnist import read_image_file, read_label_file

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


def load_mnist(split: str = "train", root: str | Path | None = None) -> tuple[Tensor, Tensor]:
    """Load a whole MNIST split into memory (lesson 1).

    Returns ``X``, float32 images ``[N, 1, 28, 28]`` with values in [0, 1], and ``y``, int64
    labels ``[N]`` in 0..9. ``split`` is ``"train"`` (N = 60,000) or ``"test"`` (N = 10,000).
    The files are downloaded on first use when the machine is online. A damaged file is named,
    with what is wrong with it; a failed load creates nothing in the data folder.
    """
    if split not in MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = data_root(root)
    raw = folder / "MNIST" / "raw"
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file, but MNIST's folder was expected there: "
                                 f"{_where_the_folder_comes_from(root)}")
    missing = [name for name, _, _ in MNIST_FILES[split] if not (raw / name).is_file()]
    if missing:
        _fetch(folder, raw, missing)
    images, labels = (_checked_file(raw / name, magic, shape)
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


def _where_the_folder_comes_from(root: str | Path | None) -> str:
    if root is not None:
        return "pass as root the folder that holds MNIST/raw/."
    if os.environ.get("CVAE_DATA_DIR"):
        return "set the environment variable CVAE_DATA_DIR to the folder that holds MNIST/raw/."
    return "the course's default data folder is taken by a file; move that file away."


def _fetch(folder: Path, raw: Path, missing: list[str]) -> None:
    """Put the ``missing`` MNIST files into ``raw``: from their ``.gz`` copies there, else
    downloaded with the rest of MNIST.

    A download goes to a temporary folder first, so a failed one leaves nothing behind in
    ``folder`` (torchvision would leave empty ``MNIST/raw`` folders)."""
    if all((raw / f"{name}.gz").is_file() for name in missing):
        for name in missing:
            _gunzip(raw / f"{name}.gz", raw / name)
        return
    with tempfile.TemporaryDirectory(prefix="cvae-mnist-") as tmp:
        try:
            datasets.MNIST(tmp, download=True)
        except Exception as err:
            raise FileNotFoundError(
                f"MNIST is not in {raw} (missing: {', '.join(missing)}) and could not be "
                f"downloaded ({_first_line(err)}). Connect to the internet, or copy the four "
                "MNIST files there, or set the environment variable CVAE_DATA_DIR to a folder "
                "that holds MNIST/raw/." + _looks_misplaced(folder)) from None
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


def _looks_misplaced(folder: Path) -> str:
    """A hint when the files lie in ``folder`` itself or in ``folder/raw``: a root set one or two
    levels too deep."""
    if not folder.exists():
        return f" The folder {folder} does not exist: check its name."
    names = [name for split in MNIST_FILES.values() for name, _, _ in split]
    for place, parent in ((folder, folder.parent.parent), (folder / "raw", folder.parent)):
        if any((place / name).is_file() or (place / f"{name}.gz").is_file() for name in names):
            return (f" The files are in {place}: the data folder is the one that holds "
                    f"MNIST/raw/, here {parent}.")
    return ""


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


def _checked_file(path: Path, magic: int, shape: tuple[int, ...]) -> Path:
    """``path`` when it is a whole IDX file of ``shape``; else an error naming what is wrong."""
    kind = "images" if magic == 2051 else "labels"
    header_size = 4 * (1 + len(shape))
    expected_size = header_size + math.prod(shape)
    size = path.stat().st_size
    with open(path, "rb") as f:
        header = f.read(header_size)
    delete = "Delete it and load again to get a fresh copy."
    if header[:2] == b"\x1f\x8b":
        raise ValueError(f"{path} is still gzip-compressed: unpack it (gunzip) or delete it and "
                         "load again.")
    found = int.from_bytes(header[:4], "big") if len(header) >= 4 else None
    if found in (2049, 2051) and found != magic:
        other = "labels" if found == 2049 else "images"
        raise ValueError(f"{path} is an MNIST {other} file where the {kind} were expected: two "
                         "files were renamed or swapped. Give each file its own name, or delete "
                         "both and load again.")
    if found != magic:
        raise ValueError(f"{path} is not an MNIST {kind} file: it should start with the number "
                         f"{magic} (its IDX magic number), but starts with the bytes "
                         f"{header[:4].hex(' ') or 'nothing (it is empty)'}. {delete}")
    dims = tuple(int.from_bytes(header[4 * i:4 * i + 4], "big") for i in range(1, 1 + len(shape)))
    if dims != shape:
        raise ValueError(f"{path} holds {kind} of shape {list(dims)}, where MNIST's file of "
                         f"that name holds {list(shape)}: is it the other split's file, or "
                         f"another data set? {delete}")
    if size != expected_size:
        what = "is truncated" if size < expected_size else "is longer than it should be"
        raise ValueError(f"{path} {what}: {size:,} bytes where {expected_size:,} were expected "
                         f"(an interrupted download or copy). {delete}")
    return path


def batches(X: Tensor, y: Tensor | None, batch_size: int, generator: torch.Generator | None = None,
            shuffle: bool = True) -> Iterator[tuple[Tensor, Tensor | None]]:
    """Yield mini-batches ``(X[idx], y[idx])`` of in-memory tensors (lesson 1).

    The order is a permutation drawn from ``generator``, so one seed gives one order. The last
    batch may be smaller. ``y`` may be ``None`` for a model that needs no labels.
    """
    _check_tensor(X, "X")
    n = X.shape[0] if X.dim() else 0
    if n == 0:
        raise ValueError(f"X holds no images (shape {list(X.shape)}): there is nothing to "
                         "batch. Check how X was sliced or filtered.")
    if y is not None:
        _check_tensor(y, "y")
        if y.dim() == 0 or y.shape[0] != n:
            raise ValueError(f"X holds {n} images but y holds {y.shape[0] if y.dim() else 0} "
                             "labels: give one label per image (X and y from the same split).")
        if y.device != X.device:
            raise ValueError(f"X is on {X.device} but y on {y.device}: move them to one device, "
                             "y = y.to(X.device).")
    check_count(batch_size, "batch_size")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    order = order.to(X.device)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], None if y is None else y[idx]


# Lesson 5's task (Sohn et al., 2015): show 1, 2 or 3 quadrants of a digit, predict the rest.
# The visible quadrants grow as in the paper and Pyro's CVAE tutorial: bottom-left, then the
# left half, then everything but the bottom-right.
HIDDEN = -1.0  # the input value of a pixel the model must predict: no real pixel has it


def visible_mask(num_visible: int) -> Tensor:
    """The pixels shown to the model when ``num_visible`` quadrants (1, 2 or 3) are visible:
    a bool tensor ``[1, 28, 28]``, True where the pixel is visible (lesson 5)."""
    if isinstance(num_visible, bool) or num_visible not in (1, 2, 3):
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
    if not isinstance(visible, Tensor):
        raise TypeError(f"visible must be a bool mask, got {type(visible).__name__}: build it "
                        "with data.visible_mask(num_visible), e.g. visible_mask(2)")
    if visible.dtype != torch.bool:
        raise TypeError(f"visible must be a bool mask (True where a pixel is shown), got "
                        f"{visible.dtype}: convert a 0/1 mask with visible.bool()")
    if not _broadcasts(visible.shape, X.shape):
        raise ValueError(f"the mask {list(visible.shape)} does not fit the images "
                         f"{list(X.shape)}: use one mask [1, 28, 28] for all, or one per image "
                         "[N, 1, 28, 28]")
    return torch.where(visible.to(X.device), X, torch.full_like(X, HIDDEN))


def _broadcasts(small: torch.Size, big: torch.Size) -> bool:
    """True when a tensor shaped ``small`` broadcasts to ``big`` without growing it."""
    return len(small) <= len(big) and all(
        s in (1, b) for s, b in zip(reversed(small), reversed(big), strict=False))


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


def check_quadrant_counts(counts: Tensor, n: int | None = None, name: str = "y") -> None:
    """Raise a clear error unless ``counts`` holds (``n``) whole numbers 1, 2 or 3: lesson 5's
    ``y``, the number of visible quadrants of each image."""
    if counts is None:
        raise TypeError(f"a completion model needs as {name} the number of visible quadrants of "
                        f"each image: {name} = data.random_quadrant_counts(len(X))")
    _check_tensor(counts, "the quadrant counts y")
    if counts.dtype.is_floating_point or counts.dtype == torch.bool or counts.dim() != 1:
        raise TypeError(f"the quadrant counts must be whole numbers 1, 2 or 3 in a 1-D tensor "
                        f"(dtype torch.long), got {counts.dtype} of shape {list(counts.shape)}: "
                        "draw them with data.random_quadrant_counts(len(X))")
    if n is not None and counts.shape[0] != n:
        raise ValueError(f"{n} images but {counts.shape[0]} quadrant counts y: give one count "
                         "per image, data.random_quadrant_counts(len(X))")
    if counts.numel() and not _values_checked.get():
        low, high = (int(v) for v in torch.aminmax(counts))
        if low < 1 or high > 3:
            hint = (": these look like digit labels, but a completion model takes as y the "
                    "number of visible quadrants of each image, data.random_quadrant_counts(len(X))"
                    if high <= 9 and low >= 0 else "")
            raise ValueError(f"quadrant counts must be 1, 2 or 3, got values from {low} to "
                             f"{high}{hint}")


# Checking the values of a batch (its range, NaN) reads every pixel and, on a GPU, makes Python
# wait for the device. ``fit`` checks its whole data set once instead, then trains inside
# ``values_checked()``, where the checks of each batch look at shapes and types only.
_values_checked: ContextVar[bool] = ContextVar("cvae_values_checked", default=False)


@contextlib.contextmanager
def values_checked() -> Iterator[None]:
    """Within this block, skip the checks of pixel and label values (not of shapes): for code
    that has checked its whole data set once, as ``train.fit`` does (lesson 1)."""
    token = _values_checked.set(True)
    try:
        yield
    finally:
        _values_checked.reset(token)


def _check_tensor(value: object, name: str) -> None:
    if not isinstance(value, Tensor):
        fix = ("torch.from_numpy(...)" if type(value).__module__ == "numpy"
               else "torch.tensor(...)")
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}: convert "
                        f"it with {fix}")


def check_count(value: object, name: str, minimum: int = 1) -> int:
    """Raise a clear error unless ``value`` is a whole number >= ``minimum`` (a batch size, a
    number of epochs or samples); return it as an int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {value!r}"
                        + (f": use {name}={int(value)}" if isinstance(value, float)
                           and value.is_integer() else ""))
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_images(X: Tensor, like: "torch.nn.Module | Tensor | None" = None, masked: bool = False,
                 name: str = "the images") -> None:
    """Raise a clear error unless ``X`` is a batch of MNIST images ``[N, 1, 28, 28]``, N >= 1,
    with pixel values in [0, 1] (and ``HIDDEN`` = -1 where ``masked``).

    ``like`` is the model (or one of its weights): the images must have its dtype and device.
    ``name`` says which images, in the error. Inside ``values_checked()`` only the shape is
    checked: the caller has checked the rest once for the whole data set."""
    _check_tensor(X, f"{name} X" if name == "the images" else name)
    if X.dim() != 4 or tuple(X.shape[1:]) != IMAGE_SHAPE:
        raise ValueError(
            f"expected images shaped [N, 1, 28, 28], got {list(X.shape)}. "
            "A flat batch [N, 784] can be reshaped with X.view(-1, 1, 28, 28); "
            "a single image [28, 28] with X.view(1, 1, 28, 28)."
        )
    if not X.dtype.is_floating_point:
        raise TypeError(f"{name} are {X.dtype}, but the models take float pixels in [0, 1]: "
                        "convert them with X = X.float() / 255")
    if X.shape[0] == 0:
        raise ValueError(f"{name} are an empty batch (shape [0, 1, 28, 28]): there is nothing "
                         "to compute on, and a loss over 0 images is 0/0. Check how they were "
                         "sliced or filtered.")
    if _values_checked.get():
        return
    if like is not None:
        check_like(X, like, name)
    check_pixel_values(X, masked, name)


def check_like(T: Tensor, like: "torch.nn.Module | Tensor", name: str, var: str = "X") -> None:
    """Raise a clear error unless ``T`` (called ``var`` in the advice) has the dtype and device
    of ``like``: a model's weights, or a tensor."""
    weight = like if isinstance(like, Tensor) else next(like.parameters())
    if T.dtype != weight.dtype:
        raise TypeError(f"{name} are {T.dtype} but the model's weights {weight.dtype}: "
                        f"convert them with {var}.to({weight.dtype})")
    if T.device != weight.device:
        raise ValueError(f"{name} are on {T.device} but the model on {weight.device}: move "
                         f"them with {var}.to({str(weight.device)!r})")


def check_pixel_values(X: Tensor, masked: bool = False, name: str = "the images") -> None:
    """Raise a clear error unless every value of ``X`` is a pixel intensity in [0, 1] (or
    ``HIDDEN``, where ``masked``): not NaN, not infinite, not 0..255."""
    low, high = (float(v) for v in torch.aminmax(X.detach()))
    if 0 <= low and high <= 1:
        return
    bad = ~torch.isfinite(X)
    if bad.any():
        first = int(bad.flatten(1).any(1).nonzero()[0]) if X.dim() > 1 else 0
        raise ValueError(f"{name} hold {int(bad.sum())} NaN or infinite value(s) (the first in "
                         f"image {first}): the models take pixel intensities in [0, 1]. Find "
                         "where they came from (a division by zero?) or reload the data.")
    if masked and low == HIDDEN:  # judge the pixels that are shown
        shown = X[X != HIDDEN]
        low, high = (float(v) for v in torch.aminmax(shown)) if shown.numel() else (0.0, 0.0)
        if 0 <= low and high <= 1:
            return
    if 0 <= low and 1 < high <= 255:
        raise ValueError(f"{name} have pixel values up to {high:g}, but the course's images are "
                         "in [0, 1]: divide by 255 (X = X / 255), or use data.load_mnist(), "
                         "which does.")
    hidden = " (and -1, data.HIDDEN, where a pixel is hidden)" if masked else ""
    raise ValueError(f"{name} have values from {low:g} to {high:g}, but the models take pixel "
                     f"intensities in [0, 1]{hidden}. If they were normalised "
                     "(transforms.Normalize), undo it; data.load_mnist() gives the images as "
                     "the models expect them.")


def check_labels(y: Tensor, n: int | None = None, num_classes: int = NUM_CLASSES,
                 name: str = "y") -> None:
    """Raise a clear error unless ``y`` holds ``n`` integer labels in 0..num_classes-1."""
    if y is None:
        raise TypeError(f"this model needs the digit labels {name} (a tensor of N digits 0..9), "
                        "got None: pass the labels of the images, e.g. model(X, y)")
    _check_tensor(y, "the labels y")
    if y.dim() == 2 and y.shape[1] == num_classes and (n is None or y.shape[0] == n):
        raise ValueError(f"the labels are shaped {list(y.shape)}, one-hot rows: pass the digits "
                         "themselves, y.argmax(dim=1); the model makes the one-hot rows")
    if y.dim() == 2 and y.shape[1] == 1:
        raise ValueError(f"the labels are shaped {list(y.shape)}: flatten them to one label per "
                         "image, y.view(-1)")
    if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"labels must be integers (torch.long), got {y.dtype}: convert whole-"
                        "number labels with y.long()")
    if y.dim() != 1 or (n is not None and y.shape[0] != n):
        raise ValueError(f"expected {n if n is not None else 'N'} labels in a 1-D tensor, "
                         f"one per image, got shape {list(y.shape)}")
    if y.numel() and not _values_checked.get():
        low, high = (int(v) for v in torch.aminmax(y))
        if low < 0 or high >= num_classes:
            raise ValueError(f"labels must lie in 0..{num_classes - 1}, got values from {low} to "
                             f"{high}: pass the digits' labels (as load_mnist gives them)")
