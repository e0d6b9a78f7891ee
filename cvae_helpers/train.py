"""``fit``: the course's training loop (lesson 1).

Lesson 1 has you write the plain loop: shuffled mini-batches from ``data.batches``, the model's
own ``loss``, ``zero_grad``, ``backward``, ``step``, a cosine learning-rate schedule, and the test
loss after every epoch. ``fit`` is that loop, with the same seeds, so from the same start it
trains the same weights; what it adds is for comfort and speed:

- the running sums of the loss stay on the device (one ``.item()`` per epoch, not per step, so a
  GPU never waits for Python);
- the model and the data move to the device once, and the schedule can be constant or cosine;
- the data are checked once, before the first step, rather than batch by batch;
- a progress bar, and Ctrl-C or the notebook's stop button stops the whole cell, even a cell
  that trains several models in turn, while the model keeps its weights and the history so far;
- a loss that turns NaN or infinite stops training, with the weights of the start of that
  epoch given back.

Both use ``adam``, PyTorch's Adam fused into one pass over the weights where it can be.
``benchmarks/train_speed.py`` measures what these choices give.
"""

import contextlib
import math
import time

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .data import batches
from .device import pick_device
from .inputs import (
    check_data,
    check_loss_output,
    check_settings,
    check_trainable,
    values_checked,
)
from .models import COURSE_CLASSES, COURSE_MODELS

History = dict[str, list[float]]


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C, or the notebook's stop button, while a model trains.

    It stops the whole cell, so one Ctrl-C ends a cell that trains several models in turn. The
    model keeps its latest weights; ``.model`` and ``.history`` (the finished epochs) are also
    given back by ``last_stopped()``. A notebook shows its message alone, without a traceback.
    """

    def __init__(self, message: str, model: nn.Module | None = None,
                 history: History | None = None):
        super().__init__(message)
        self.model, self.history = model, history

    def _render_traceback_(self) -> list[str]:  # what IPython shows instead of a traceback
        return [str(self)]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite: training stopped, and the model went back to the weights
    of the start of that epoch. ``.model`` and ``.history`` hold them, as ``last_stopped()``
    does."""

    def __init__(self, message: str, model: nn.Module, history: History):
        super().__init__(message)
        self.model, self.history = model, history


_last_stopped: TrainingInterrupted | TrainingDiverged | None = None


def last_stopped() -> tuple[nn.Module, History]:
    """The model and the history of the latest training that was interrupted or stopped by a
    NaN loss (lesson 1): ``model, history = train.last_stopped()``."""
    if _last_stopped is None or _last_stopped.model is None:
        raise LookupError("no training has been stopped in this session")
    return _last_stopped.model, _last_stopped.history


def _stopped(error: TrainingInterrupted | TrainingDiverged):
    global _last_stopped
    _last_stopped = error
    return error


def _losses(model: nn.Module, X: Tensor, y: Tensor | None, beta: float) -> dict[str, Tensor]:
    """``model.loss(X, y, beta)``: every lesson model owns its objective (``models``)."""
    parts = model.loss(X, y, beta)
    check_loss_output(parts, model)
    return parts


def adam(model: nn.Module, lr: float) -> torch.optim.Adam:
    """``torch.optim.Adam(model.parameters(), lr=lr)``, fused where this torch and device have it
    (lesson 1): one pass over all the weights per step instead of a dozen small operations per
    weight tensor, the same update a little faster."""
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):  # fused Adam on the CPU needs torch >= 2.4
        return torch.optim.Adam(model.parameters(), lr=lr)


def resolve_device(device: torch.device | str | None) -> torch.device:
    """``device`` as a ``torch.device`` that this machine has; ``None`` picks the best one."""
    if device is None:
        return pick_device()
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):
        hint = ": a GPU is called 'cuda'" if str(device).lower().startswith("gpu") else ""
        raise ValueError(f"device must be 'cpu', 'cuda' or 'mps' (or None, for the best one "
                         f"here), got {device!r}{hint}") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but this machine has no CUDA GPU: leave "
                         "device out (it picks the best one here), or, in Colab, choose Runtime "
                         "> Change runtime type > GPU")
    if chosen.type == "cuda" and (chosen.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device {str(chosen)!r} was asked for, but this machine has "
                         f"{torch.cuda.device_count()} GPU(s), numbered from 0")
    if chosen.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' (Apple's GPU) was asked for, but it is not available "
                         "here: leave device out, and the best device here is picked")
    return chosen


def _checked(model: nn.Module) -> contextlib.AbstractContextManager:
    """Where the data set has been checked once: a course model's batches need no value checks
    (the checks of another model's inputs are its own, so they stay)."""
    return values_checked() if isinstance(model, COURSE_MODELS) else contextlib.nullcontext()


def _finite(model: nn.Module, *totals: Tensor) -> Tensor:
    """On the device: True when every weight and the ``totals`` (an epoch's summed loss) are
    finite. A NaN or inf in any step's loss makes the sum non-finite, so the running sum serves
    as the flag, checked once per epoch."""
    checks = [p.isfinite().all() for p in model.parameters()]
    return torch.stack(checks + [torch.isfinite(t) for t in totals]).all()


@torch.no_grad()
def average_loss(model: nn.Module, X: Tensor, y: Tensor | None, beta: float = 1.0,
                 batch_size: int = 1000) -> dict[str, float]:
    """The parts of ``model.loss`` averaged over a whole data set, in eval mode, nats per image
    (lesson 1)."""
    check_trainable(model)
    check_settings(beta=beta, batch_size=batch_size)
    check_data(model, X, y, ("X", "y"))
    device = next(model.parameters()).device
    X, y = X.to(device), None if y is None else y.to(device)
    with _checked(model):
        return _average(model, X, y, beta, batch_size)


def _average(model: nn.Module, X: Tensor, y: Tensor | None, beta: float,
             batch_size: int = 1000) -> dict[str, float]:
    was_training = model.training
    model.eval()
    totals: dict[str, Tensor] = {}
    for Xb, yb in batches(X, y, batch_size, shuffle=False):
        for key, value in _losses(model, Xb, yb, beta).items():
            totals[key] = totals.get(key, 0.0) + value * Xb.shape[0]
    model.train(was_training)
    return {key: total.item() / X.shape[0] for key, total in totals.items()}


def fit(model: nn.Module, X: Tensor, y: Tensor | None, X_test: Tensor | None = None,
        y_test: Tensor | None = None, *, num_epochs: int = 10, lr: float = 1e-3,
        batch_size: int = 64, beta: float = 1.0, seed: int = 0,
        lr_schedule: str = "cosine", device: torch.device | str | None = None,
        progress: bool = True) -> History:
    """Train ``model`` in place with Adam and return its per-epoch history (lesson 1).

    ``X, y`` are the training images and labels (``y`` may be ``None`` for a model that needs
    none); ``X_test, y_test`` (optional) are scored after every epoch. ``seed`` fixes the batch
    order and the sampling noise, so the same seed and the same initial weights give the same
    trained weights on the same machine. ``lr_schedule`` is ``"cosine"`` (the course's, as in
    lesson 1's loop) to lower the learning rate from ``lr`` toward 0 along a half cosine over
    the epochs, which settles the weights in fewer epochs, or ``"constant"``. ``device`` defaults
    to ``pick_device()``; the model and the data move there once. The defaults are the course's
    settings (``zoo.TRAINING``).

    The history maps ``"train_<part>"`` and ``"test_<part>"`` (each part of ``model.loss``'s
    output, in nats per image) and ``"seconds"`` to one value per finished epoch.

    Interrupting (Ctrl-C, or the stop button) raises ``TrainingInterrupted``, which stops the
    cell; the model keeps its latest weights, and ``last_stopped()`` gives back the model and
    the finished epochs' history. A loss that becomes NaN or infinite raises
    ``TrainingDiverged`` at the end of that epoch, with the model back at the weights of the
    epoch's start.
    """
    check_settings(num_epochs, lr, batch_size, beta, seed, lr_schedule)
    check_trainable(model)
    device = resolve_device(device)
    check_data(model, X, y, ("X", "y"))
    check_data(model, X_test, y_test, ("X_test", "y_test"), optional=True)
    model.to(device)
    X, y = X.to(device), None if y is None else y.to(device)
    if X_test is not None:
        X_test, y_test = X_test.to(device), None if y_test is None else y_test.to(device)
    torch.manual_seed(seed)
    order = torch.Generator().manual_seed(seed)
    optimizer = adam(model, lr)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs)
                 if lr_schedule == "cosine" else None)
    history: History = {}
    name = type(model).__name__
    epoch, epoch_start = 0, None
    bar = tqdm(range(num_epochs), desc=name, unit="epoch", disable=not progress)
    try:
        if type(model) not in COURSE_CLASSES:  # a model of your own, or a subclass of one
            _first_batch_fully_checked(model, X, y, batch_size, beta, device)
        with _checked(model):
            for epoch in bar:
                start = time.perf_counter()
                epoch_start = {k: v.detach().clone() for k, v in model.state_dict().items()}
                model.train()
                sums: dict[str, Tensor] = {}
                for Xb, yb in batches(X, y, batch_size, generator=order):
                    parts = _losses(model, Xb, yb, beta)
                    optimizer.zero_grad(set_to_none=True)
                    parts["loss"].backward()
                    optimizer.step()
                    for key, value in parts.items():
                        sums[key] = sums.get(key, 0.0) + value.detach() * Xb.shape[0]
                if scheduler is not None:
                    scheduler.step()
                finite = _finite(model, sums["loss"]).item()
                record = {f"train_{k}": v.item() / X.shape[0] for k, v in sums.items()}
                if finite and X_test is not None:
                    test = _average(model, X_test, y_test, beta)
                    record.update({f"test_{k}": v for k, v in test.items()})
                if not (finite and all(math.isfinite(v) for v in record.values())):
                    model.load_state_dict(epoch_start)
                    raise _stopped(TrainingDiverged(_diverged(name, epoch, num_epochs, lr,
                                                              history), model, history))
                record["seconds"] = time.perf_counter() - start
                for key, value in record.items():
                    history.setdefault(key, []).append(value)
                bar.set_postfix({k: f"{v:.2f}" for k, v in record.items() if k.endswith("_loss")})
    except KeyboardInterrupt:
        if epoch_start is not None and not _finite(model).item():
            model.load_state_dict(epoch_start)  # keep weights that can still be used
        done = len(history.get("seconds", []))
        raise _stopped(TrainingInterrupted(
            f"Training interrupted in epoch {epoch + 1} of {num_epochs}: the {name} keeps its "
            f"latest weights and the history of its {done} finished epoch(s), which "
            "`model, history = train.last_stopped()` gives back. The cell stopped here: fit "
            "trains the model further, and running the cell again starts over.",
            model, history)) from None
    finally:
        bar.close()
        model.eval()
    return history


def _first_batch_fully_checked(model: nn.Module, X: Tensor, y: Tensor | None, batch_size: int,
                               beta: float, device: torch.device) -> None:
    """One batch through ``model.loss`` with every check on, before training: the checks of the
    model's own outputs (logits that are really probabilities, say) then run once, while the
    steps skip them. The random numbers it draws are given back, so training is unchanged. (The
    course's own classes return logits by construction, so they need no such batch.)"""
    devices = [device] if device.type == "cuda" else []
    was_training = model.training
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        model.eval()
        _losses(model, X[:batch_size], None if y is None else y[:batch_size], beta)
    model.train(was_training)


def _diverged(name: str, epoch: int, num_epochs: int, lr: float, history: History) -> str:
    return (f"The loss of the {name} became NaN or infinite in epoch {epoch + 1} of "
            f"{num_epochs}, so training stopped. The model is back at the weights it had at the "
            f"start of that epoch, and its history keeps the {len(history.get('seconds', []))} "
            f"finished epoch(s) (train.last_stopped() gives both back); nothing was cached. "
            f"Try a smaller learning rate than lr={lr:g} (the course uses 1e-3). If your own "
            "model or loss computes a log or an exp, look for log(0) or exp of a large number.")
