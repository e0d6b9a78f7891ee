"""``fit``: the course's training loop (lesson 1).

Lesson 1 has you write the plain loop: shuffled mini-batches from ``data.batches``, the model's
own ``loss``, ``zero_grad``, ``backward``, ``step``, a cosine learning-rate schedule, and the test
loss after every epoch. ``fit`` is that loop, with the same seeds, so from the same start it
trains the same weights; what it adds is for comfort and speed:

- the running sums of the loss stay on the device (one ``.item()`` per epoch, not per step, so a
  GPU never waits for Python);
- the model and the data move to the device once, and the schedule can be constant or cosine;
- a progress bar, and Ctrl-C or the notebook's stop button ends training cleanly, keeping the
  weights and the history so far.

Both use ``adam``, PyTorch's Adam fused into one pass over the weights where it can be.
``benchmarks/train_speed.py`` measures what these choices give.
"""

import time

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .data import batches
from .device import pick_device

History = dict[str, list[float]]


def _losses(model: nn.Module, X: Tensor, y: Tensor, beta: float) -> dict[str, Tensor]:
    """``model.loss(X, y, beta)``: every lesson model owns its objective (``models``)."""
    if not callable(getattr(model, "loss", None)):
        raise TypeError(f"{type(model).__name__} has no loss method: give the model a method "
                        "loss(X, y, beta) that returns {'loss': a scalar tensor, ...}, as the "
                        "course's models have")
    return model.loss(X, y, beta)


def adam(model: nn.Module, lr: float) -> torch.optim.Adam:
    """``torch.optim.Adam(model.parameters(), lr=lr)``, fused where this torch and device have it
    (lesson 1): one pass over all the weights per step instead of a dozen small operations per
    weight tensor, the same update a little faster."""
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):  # fused Adam on the CPU needs torch >= 2.4
        return torch.optim.Adam(model.parameters(), lr=lr)


@torch.no_grad()
def average_loss(model: nn.Module, X: Tensor, y: Tensor, beta: float = 1.0,
                 batch_size: int = 1000) -> dict[str, float]:
    """The parts of ``model.loss`` averaged over a whole data set, in eval mode, nats per image
    (lesson 1)."""
    was_training = model.training
    model.eval()
    totals: dict[str, Tensor] = {}
    for Xb, yb in batches(X, y, batch_size, shuffle=False):
        for key, value in _losses(model, Xb, yb, beta).items():
            totals[key] = totals.get(key, 0.0) + value * Xb.shape[0]
    model.train(was_training)
    return {key: total.item() / X.shape[0] for key, total in totals.items()}


def fit(model: nn.Module, X: Tensor, y: Tensor, X_test: Tensor | None = None,
        y_test: Tensor | None = None, *, num_epochs: int = 10, lr: float = 1e-3,
        batch_size: int = 64, beta: float = 1.0, seed: int = 0,
        lr_schedule: str = "cosine", device: torch.device | str | None = None,
        progress: bool = True) -> History:
    """Train ``model`` in place with Adam and return its per-epoch history (lesson 1).

    ``X, y`` are the training images and labels; ``X_test, y_test`` (optional) are scored after
    every epoch. ``seed`` fixes the batch order and the sampling noise, so the same seed and the
    same initial weights give the same trained weights on the same machine. ``lr_schedule`` is
    ``"cosine"`` (the course's, as in lesson 1's loop) to lower the learning rate from ``lr``
    toward 0 along a half cosine over the epochs, which settles the weights in fewer epochs, or
    ``"constant"``. ``device`` defaults to ``pick_device()``; the model and the data move there
    once. The defaults are the course's settings (``zoo.TRAINING``).

    The history maps ``"train_<part>"`` and ``"test_<part>"`` (each part of ``model.loss``'s
    output, in nats per image) and ``"seconds"`` to one value per finished epoch. Interrupting
    (Ctrl-C, or the stop button) ends training at once and returns the epochs finished so far;
    the model keeps its latest weights.
    """
    device = torch.device(device) if device is not None else pick_device()
    model.to(device)
    X, y = X.to(device), y.to(device)
    if X_test is not None and y_test is not None:
        X_test, y_test = X_test.to(device), y_test.to(device)
    torch.manual_seed(seed)
    order = torch.Generator().manual_seed(seed)
    optimizer = adam(model, lr)
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs)
                 if lr_schedule == "cosine" else None)
    history: History = {}
    bar = tqdm(range(num_epochs), desc=type(model).__name__, unit="epoch", disable=not progress)
    try:
        for _ in bar:
            start = time.perf_counter()
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
            record = {f"train_{k}": v.item() / X.shape[0] for k, v in sums.items()}
            if X_test is not None and y_test is not None:
                test = average_loss(model, X_test, y_test, beta)
                record.update({f"test_{k}": v for k, v in test.items()})
            record["seconds"] = time.perf_counter() - start
            for key, value in record.items():
                history.setdefault(key, []).append(value)
            bar.set_postfix({k: f"{v:.2f}" for k, v in record.items() if k.endswith("_loss")})
    except KeyboardInterrupt:
        done = len(history.get("seconds", []))
        print(f"Training interrupted: kept the weights and the {done} finished epoch(s) "
              "of history. Call fit again to train further.")
    finally:
        bar.close()
        model.eval()
    return history
