"""What the helpers take, and the error a careless input gets instead (lessons 1-5).

Every public function of ``cvae_helpers`` starts by calling one or two of these checks, so a
flat image, pixels in 0..255, a label 10 or a NaN becomes an error that says what was wrong,
what was expected and how to fix it, before it becomes a wrong number or a traceback from deep
inside torch. One function per kind of input:

- tensors and numbers: ``check_tensor``, ``check_count``, ``check_number``, ``check_beta``,
  ``check_temperature``, ``check_seed``;
- images and what goes with them: ``check_images`` (shape, dtype, pixel values),
  ``check_like`` (the model's dtype and device), ``check_pictures``, ``check_mask``,
  ``check_rows`` and ``check_same_count`` (one label per image);
- labels: ``check_labels`` and ``check_digit`` (digits), ``check_quadrant_counts`` (lesson 5),
  ``check_targets`` (what a model's ``loss`` takes as ``y``);
- models and what they compute: ``check_model``, ``check_trainable``, ``check_layer_sizes``,
  ``check_codes``, ``check_order``, ``check_gaussian``, ``check_logits``,
  ``check_loss_output``;
- settings and results: ``check_settings`` (``train.fit``'s), ``check_data``,
  ``check_history``;
- files: ``check_mnist_file``.

Checking values (the range of the pixels, NaN) reads every pixel and, on a GPU, makes Python
wait for the device. ``train.fit`` checks its whole data set once, then trains inside
``values_checked()``, where the checks of each batch look at shapes only.
"""

import contextlib
import inspect
import math
import numbers
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path

import torch
from torch import Tensor, nn

# What the course's images and labels are: data.load_mnist gives them so.
IMAGE_SHAPE = (1, 28, 28)
NUM_PIXELS = 784
NUM_CLASSES = 10
# Lesson 5: the input value of a pixel the model must predict. No real pixel has it.
HIDDEN = -1.0

LR_SCHEDULES = ("constant", "cosine")


# --- Values checked once ---------------------------------------------------------------------

_values_checked: ContextVar[bool] = ContextVar("cvae_values_checked", default=False)


@contextlib.contextmanager
def values_checked() -> Iterator[None]:
    """Within this block, skip the checks of pixel and label values and of dtypes and devices
    (not of shapes): for code that has checked its whole data set once, as ``train.fit`` does
    (lesson 1)."""
    token = _values_checked.set(True)
    try:
        yield
    finally:
        _values_checked.reset(token)


# --- Tensors and numbers ---------------------------------------------------------------------

def check_tensor(value: object, name: str) -> None:
    """Raise a clear error unless ``value`` is a torch tensor (a numpy array or a list is not)."""
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


def check_number(value: object, name: str, *, low: float = 0.0, high: float = math.inf,
                 above: bool = False, means: str = "", advice: str = "") -> float:
    """Raise a clear error unless ``value`` is a plain finite number in [low, high] (> low when
    ``above``); return it. ``means`` says what the number does, ``advice`` what to use."""
    what = f"{name} {means} and" if means else name
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a plain number, got {value!r}"
                        + (": use .item()" if isinstance(value, Tensor) else "") + advice)
    if above:
        interval = f"a finite number > {low:g}"
    else:
        interval = f"a number >= {low:g}" if high == math.inf else f"a number in [{low:g}, {high:g}]"
    if not math.isfinite(value) or not (value > low if above else value >= low) or value > high:
        raise ValueError(f"{what} must be {interval}, got {value!r}{advice}")
    return value


def check_beta(beta: float, tensor: bool = False) -> None:
    """The weight of the KL term: a number >= 0 (or, where ``tensor``, a 0-d tensor)."""
    if not (tensor and isinstance(beta, Tensor) and beta.dim() == 0):
        check_number(beta, "beta", means="weights the KL term",
                     advice=" (beta=1 is the ELBO)")


def check_temperature(temperature: float) -> None:
    """A sampling temperature: codes z ~ N(0, temperature^2 I), so a number >= 0."""
    check_number(temperature, "temperature", means="scales the prior's spread",
                 advice=" (1 samples the prior itself)")


def check_seed(seed: object) -> None:
    """A seed is a whole number that ``torch.manual_seed`` takes."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be a whole number, got {seed!r}")
    if not -2 ** 63 <= seed < 2 ** 64:
        raise ValueError(f"seed must be a whole number of at most 64 bits, got {seed}")


# --- Images ----------------------------------------------------------------------------------

def check_images(X: Tensor, like: nn.Module | Tensor | None = None, masked: bool = False,
                 name: str = "the images") -> None:
    """Raise a clear error unless ``X`` is a batch of MNIST images ``[N, 1, 28, 28]``, N >= 1,
    with pixel values in [0, 1] (and ``HIDDEN`` = -1 where ``masked``).

    ``like`` is the model (or one of its weights): the images must have its dtype and device.
    ``name`` says which images, in the error. Inside ``values_checked()`` only the shape is
    checked: the caller has checked the rest once for the whole data set."""
    check_tensor(X, f"{name} X" if name == "the images" else name)
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


def check_like(T: Tensor, like: nn.Module | Tensor, name: str, var: str = "X") -> None:
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


def check_pictures(X: Tensor, name: str, single: bool) -> None:
    """Something to draw: one grey picture ``[1, H, W]`` (``single``), else a stack of them
    ``[N, 1, H, W]``, N >= 1, with finite values."""
    check_tensor(X, name)
    if single and (X.dim() != 3 or X.shape[0] != 1 or 0 in X.shape):
        raise ValueError(f"{name} must be one grey image [1, H, W], got {list(X.shape)}"
                         + (": a single [H, W] image is image[None]" if X.dim() == 2 else ""))
    if not single and (X.dim() != 4 or X.shape[0] == 0 or X.shape[1] != 1):
        raise ValueError(f"expected at least one image, shaped [N, 1, 28, 28], got "
                         f"{list(X.shape)}")
    if not torch.isfinite(X).all():
        raise ValueError(f"{name} holds NaN or infinite values: the model that drew it has "
                         "NaN weights, so train it again")
    if 0 <= X.min() and 1.001 < X.max() <= 255:
        raise ValueError(f"{name} has values up to {float(X.max()):g}, but a picture's pixels are "
                         "intensities in [0, 1]: divide them by 255")


def _broadcasts(small: torch.Size, big: torch.Size) -> bool:
    """True when a tensor shaped ``small`` broadcasts to ``big`` without growing it."""
    return len(small) <= len(big) and all(
        s in (1, b) for s, b in zip(reversed(small), reversed(big), strict=False))


def check_mask(mask: object, X: Tensor, name: str, build: str) -> None:
    """A bool mask ``name`` that fits the images ``X``: one ``[1, 28, 28]`` for all, or one per
    image. ``build`` says how to make the right one."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a bool mask, got {type(mask).__name__}: {build}")
    if mask.dtype != torch.bool:
        raise TypeError(f"{name} must be a bool mask (True where a pixel is meant), got "
                        f"{mask.dtype}: convert a 0/1 mask with {name}.bool()")
    if not _broadcasts(mask.shape, X.shape):
        raise ValueError(f"the mask {name} {list(mask.shape)} does not fit the images "
                         f"{list(X.shape)}: use one mask [1, 28, 28] for all, or one per image "
                         f"[N, 1, 28, 28]; {build}")


def check_rows(X: Tensor, y: Tensor | None) -> int:
    """Images ``X`` to batch, at least one, and their labels ``y`` (or None), one per image and
    on the images' device; returns the number of images."""
    check_tensor(X, "X")
    n = X.shape[0] if X.dim() else 0
    if n == 0:
        raise ValueError(f"X holds no images (shape {list(X.shape)}): there is nothing to "
                         "batch. Check how X was sliced or filtered.")
    if y is not None:
        check_tensor(y, "y")
        check_same_count(n, "images X", y.shape[0] if y.dim() else 0, "labels y",
                         "give one label per image (X and y from the same split)")
        if y.device != X.device:
            raise ValueError(f"X is on {X.device} but y on {y.device}: move them to one device, "
                             "y = y.to(X.device).")
    return n


def check_same_count(n: int, what: str, m: int, other: str, fix: str) -> None:
    """``n`` of ``what`` and ``m`` of ``other`` must be as many: one of each per image."""
    if n != m:
        raise ValueError(f"{n} {what} but {m} {other}: {fix}")


# --- Labels ----------------------------------------------------------------------------------

def check_labels(y: Tensor, n: int | None = None, num_classes: int = NUM_CLASSES,
                 name: str = "y") -> None:
    """Raise a clear error unless ``y`` holds ``n`` integer labels in 0..num_classes-1."""
    if y is None:
        raise TypeError(f"this model needs the digit labels {name} (a tensor of N digits 0..9), "
                        "got None: pass the labels of the images, e.g. model(X, y)")
    check_tensor(y, "the labels y")
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


def check_digit(digit: object, num_classes: int = NUM_CLASSES) -> None:
    """One digit for a CVAE to draw: a whole number 0..num_classes-1."""
    if isinstance(digit, bool) or not isinstance(digit, numbers.Integral) \
            or not 0 <= digit < num_classes:
        raise ValueError(f"a CVAE draws the digit it is given: digit must be 0..{num_classes - 1}, "
                         f"got {digit!r}")


def check_quadrant_counts(counts: Tensor, n: int | None = None, name: str = "y") -> None:
    """Raise a clear error unless ``counts`` holds (``n``) whole numbers 1, 2 or 3: lesson 5's
    ``y``, the number of visible quadrants of each image."""
    if counts is None:
        raise TypeError(f"a completion model needs as {name} the number of visible quadrants of "
                        f"each image: {name} = data.random_quadrant_counts(len(X))")
    check_tensor(counts, "the quadrant counts y")
    if counts.dtype.is_floating_point or counts.dtype == torch.bool or counts.dim() != 1:
        raise TypeError(f"the quadrant counts must be whole numbers 1, 2 or 3 in a 1-D tensor "
                        f"(dtype torch.long), got {counts.dtype} of shape {list(counts.shape)}: "
                        "draw them with data.random_quadrant_counts(len(X))")
    if n is not None:
        check_same_count(n, "images", counts.shape[0], f"quadrant counts {name}",
                         "give one count per image, data.random_quadrant_counts(len(X))")
    if counts.numel() and not _values_checked.get():
        low, high = (int(v) for v in torch.aminmax(counts))
        if low < 1 or high > 3:
            hint = (": these look like digit labels, but a completion model takes as y the "
                    "number of visible quadrants of each image, data.random_quadrant_counts(len(X))"
                    if high <= 9 and low >= 0 else "")
            raise ValueError(f"quadrant counts must be 1, 2 or 3, got values from {low} to "
                             f"{high}{hint}")


def check_targets(model: nn.Module, y: Tensor | None, n: int, name: str = "y") -> None:
    """Raise a clear error unless ``y`` is what ``model.loss`` takes for ``n`` images, as the
    model's ``y_kind`` says: digit labels 0..9 (a CVAE, a classifier), quadrant counts 1, 2 or
    3 (lesson 5's models), or anything, even ``None`` (the autoencoder and the VAE ignore it;
    so does a model of your own, which checks its own ``y``)."""
    kind = getattr(model, "y_kind", None)
    if kind == "labels":
        check_labels(y, n, getattr(model, "num_classes", NUM_CLASSES), name)
    elif kind == "quadrants":
        check_quadrant_counts(y, n, name)


# --- Models and what they compute ------------------------------------------------------------

def check_model(model: object, what: str = "a model (a torch.nn.Module)",
                kinds: tuple[type, ...] = (nn.Module,), where: str = "expected",
                hint: str = "") -> Tensor:
    """Raise a clear error unless ``model`` is a built model of one of ``kinds``, with weights;
    return its first weight. The error reads "``where`` ``what``, got ...", then ``hint``."""
    name = getattr(model, "__name__", type(model).__name__)
    if isinstance(model, type):
        raise TypeError(f"{where} {what}, but got the class {name} itself, not a model: build "
                        f"one first, e.g. model = {name}(...)")
    if not isinstance(model, kinds):
        raise TypeError(f"{where} {what}, got {name}{hint}")
    weight = next(model.parameters(), None)
    if weight is None:
        raise ValueError(f"{name} has no weights to train or use: build its layers in "
                         "__init__ (as attributes, self.encoder = ...) before using it")
    return weight


def check_trainable(model: object) -> None:
    """A model ``train.fit`` can train: built, with weights and a ``loss(X, y, beta)`` method."""
    check_model(model)
    if not callable(getattr(model, "loss", None)):
        raise TypeError(f"{type(model).__name__} has no loss method: give the model a method "
                        "loss(X, y, beta) that returns {'loss': a scalar tensor, ...}, as the "
                        "course's models have")
    try:
        inspect.signature(model.loss).bind(None, None, 1.0)
    except TypeError:
        raise TypeError(f"{type(model).__name__}.loss{inspect.signature(model.loss)} cannot be "
                        "called as loss(X, y, beta), which is how the training loop calls it: "
                        "define it as def loss(self, X, y=None, beta=1.0)") from None
    except ValueError:  # no signature to read (a builtin): let the call itself tell
        pass


def check_layer_sizes(sizes: Sequence[int], name: str = "hidden") -> list[int]:
    """``sizes`` as a list of positive whole numbers, or a clear error."""
    if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
        raise TypeError(f"{name} is a list of layer sizes, got the single number {sizes}: "
                        f"write {name}=[{sizes}]")
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence):
        raise TypeError(f"{name} must be a list of layer sizes such as [512, 256], got "
                        f"{sizes!r}")
    return [check_count(size, f"each size in {name}") for size in sizes]


def check_codes(Z: Tensor, model: nn.Module, same_device: bool = True) -> None:
    """Latent codes ``[N, latent_dim]`` for ``model``'s decoder, of its dtype and device (unless
    not ``same_device``: codes to plot or compare, which may lie anywhere)."""
    d = model.latent_dim
    if not isinstance(Z, Tensor):
        raise TypeError(f"the latent codes must be a torch.Tensor [N, {d}], got "
                        f"{type(Z).__name__}: convert them with torch.tensor(...)")
    if Z.dim() != 2 or Z.shape[1] != d:
        raise ValueError(f"expected latent codes shaped [N, {d}] (this model's latent_dim), got "
                         f"{list(Z.shape)}"
                         + (f": one code is Z.view(1, {d})" if Z.dim() == 1 and Z.numel() == d
                            else ""))
    if same_device and not _values_checked.get():  # fit checked its data's device once
        check_like(Z, model, "the latent codes", "Z")


def check_order(order: object, latent_dim: int) -> None:
    """An order of the latent dimensions 0..latent_dim-1, each at most once."""
    dims = order.tolist() if isinstance(order, Tensor) else order
    if isinstance(dims, str | bytes) or not isinstance(dims, Sequence) or not dims \
            or not all(isinstance(j, numbers.Integral) and 0 <= j < latent_dim for j in dims) \
            or len(set(dims)) != len(dims):
        raise ValueError(f"order lists latent dimensions 0..{latent_dim - 1}, each at most once, "
                         "e.g. widgets.dimensions_by_kl(model, X, y); got "
                         f"{order if not isinstance(order, Tensor) else dims!r}")


def check_gaussian(mu: Tensor, logvar: Tensor, mu_p: Tensor | float = 0.0,
                   logvar_p: Tensor | float = 0.0) -> None:
    """The mean and log-variance of diagonal Gaussians, one shape, at least one; and a prior
    ``(mu_p, logvar_p)`` that fits them (numbers, or tensors that broadcast)."""
    for name, value in (("mu", mu), ("logvar", logvar)):
        check_tensor(value, name)
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {list(mu.shape)} and logvar {list(logvar.shape)} must have one "
                         "shape, [N, latent_dim]: the encoder's output split in two halves, "
                         ".chunk(2, dim=1)")
    if mu.numel() == 0:
        raise ValueError(f"mu and logvar are empty (shape {list(mu.shape)}): a KL averaged over "
                         "0 images is 0/0")
    if not _values_checked.get() and not (mu.isfinite().all() and logvar.isfinite().all()):
        raise ValueError("mu or logvar holds NaN or inf: the encoder's weights have diverged "
                         "(train again with a smaller lr) or its input holds NaN")
    for name, value in (("mu_p", mu_p), ("logvar_p", logvar_p)):
        if isinstance(value, Tensor) and not _broadcasts(value.shape, mu.shape):
            raise ValueError(f"the prior's {name} {list(value.shape)} does not fit mu "
                             f"{list(mu.shape)}: give one per image, or a number")


def check_logits(logits: Tensor, X: Tensor) -> None:
    """Logits and target images of one shape, at least one image, targets in [0, 1], and
    logits that are not probabilities (nor the images, passed first)."""
    for name, value in (("logits", logits), ("the targets X", X)):
        check_tensor(value, name)
    if logits.shape != X.shape:
        raise ValueError(f"the logits {list(logits.shape)} and the images {list(X.shape)} must "
                         "have one shape, one logit per pixel: reshape the decoder's output "
                         "with logits.view_as(X)")
    if X.dim() == 0 or X.shape[0] == 0:
        raise ValueError(f"the batch holds no images (shape {list(X.shape)}): a loss averaged "
                         "over 0 images is 0/0")
    if _values_checked.get():
        return
    low, high = torch.aminmax(logits.detach())
    if not (torch.isfinite(low) and torch.isfinite(high)):
        raise ValueError("the logits hold NaN or inf: the model's weights have diverged (train "
                         "again with a smaller lr) or its input holds NaN")
    if 0 <= low <= high <= 1 and X.detach().min() < 0:
        raise ValueError("the arguments look swapped: the targets hold negative values while "
                         "the logits all lie in [0, 1]. The loss takes the decoder's logits "
                         "first, then the images: reconstruction_loss(logits, X)")
    check_pixel_values(X, name="the target images")
    if 0 <= low < high <= 1:
        raise ValueError("every logit lies in [0, 1]: these look like probabilities (a "
                         "decoder that ends with a sigmoid). The loss takes logits, the "
                         "decoder's output before any sigmoid, and applies it itself.")


def check_loss_output(parts: object, model: nn.Module) -> None:
    """What a model's ``loss`` returns: ``{"loss": a scalar tensor that can be trained, ...}``."""
    if isinstance(parts, dict) and isinstance(parts.get("loss"), Tensor) \
            and parts["loss"].dim() != 0:
        raise ValueError(f"{type(model).__name__}.loss returned a 'loss' shaped "
                         f"{list(parts['loss'].shape)}, but training needs one number: sum it "
                         "over each image's pixels and average over the batch, as "
                         "losses.reconstruction_loss does")
    if not isinstance(parts, dict) or not isinstance(parts.get("loss"), Tensor):
        raise TypeError(f"{type(model).__name__}.loss returned {type(parts).__name__}, but the "
                        "training loop needs a dict {'loss': a scalar tensor, ...}: return "
                        "{'loss': loss} (and any parts to record, such as 'recon')")
    if model.training and not parts["loss"].requires_grad:
        raise RuntimeError(
            "fit was called inside torch.no_grad(), where nothing can learn: call it outside "
            "that block" if not torch.is_grad_enabled() else
            f"the loss of the {type(model).__name__} does not depend on any weight that can be "
            "trained: were its weights frozen (requires_grad=False), or the loss detached?")


# --- Training settings and results -----------------------------------------------------------

def check_settings(num_epochs: int = 1, lr: float = 1e-3, batch_size: int = 64,
                   beta: float = 1.0, seed: int = 0, lr_schedule: str = "cosine") -> None:
    """Raise a clear error unless these are settings ``train.fit`` can train with (lesson 1)."""
    check_count(num_epochs, "num_epochs")
    check_count(batch_size, "batch_size")
    check_number(lr, "lr", above=True, advice=" (the course trains with lr=1e-3)")
    check_beta(beta)
    check_seed(seed)
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")


def check_data(model: nn.Module, X: Tensor | None, y: Tensor | None, names: tuple[str, str],
               optional: bool = False) -> None:
    """A whole data set for ``model``, once: images of the model's dtype, their values, one
    ``y`` per image, and what ``model.loss`` takes as ``y`` (``check_targets``). An
    ``optional`` data set (the test set) may be left out, images and labels both."""
    if optional and X is None:
        if y is not None:
            raise ValueError(f"{names[1]} was given without {names[0]}: pass both, or neither")
        return
    check_images(X, name=f"the images {names[0]}")
    if y is not None and not isinstance(y, Tensor):
        raise TypeError(f"the labels {names[1]} must be a torch.Tensor, got {type(y).__name__}: "
                        "convert them with torch.tensor(...)")
    weight = next(model.parameters())
    if X.dtype != weight.dtype:
        raise TypeError(f"the images {names[0]} are {X.dtype} but the model's weights "
                        f"{weight.dtype}: convert them with {names[0]}.to({weight.dtype})")
    if y is not None:
        check_same_count(len(X), f"images {names[0]}", len(y) if y.dim() else 0,
                         f"labels {names[1]}",
                         "give one label per image, the images and labels of one split")
    check_targets(model, y, len(X), names[1])


def check_history(history: object, checked: object = False) -> None:
    """A training history as a training loop returns it, ``{"test_loss": [numbers], ...}``,
    and the verdict of the checks of the code that trained it, ``checked``: True or False."""
    if not isinstance(history, dict) or not all(isinstance(v, list | tuple)
                                                for v in history.values()):
        raise TypeError("history must be a dict of per-epoch lists, {'test_loss': [...], ...}, "
                        f"as your training loop returns it; got {type(history).__name__}")
    if not all(isinstance(v, numbers.Real) for values in history.values() for v in values):
        raise TypeError("history must hold plain numbers, one per epoch: record loss.item(), "
                        "not the loss tensor itself")
    if not isinstance(checked, bool):
        got = (f"the function {getattr(checked, '__name__', '')} itself" if callable(checked)
               else repr(checked))
        raise TypeError(f"checked must be True or False, but got {got}: call the check, "
                        "checked=checks.passed(...)")


# --- Files -----------------------------------------------------------------------------------

def check_mnist_file(path: Path, magic: int, shape: tuple[int, ...]) -> Path:
    """``path`` when it is a whole IDX file of ``shape`` whose magic number is ``magic`` (2051
    for images, 2049 for labels); else an error naming what is wrong and to delete it."""
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
