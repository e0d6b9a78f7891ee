"""``fit``: the one training loop every lesson uses (lesson 1).

The loop is pytorch/examples' ``train()`` with four changes: batches come from in-memory tensors
(``data.batches``), the running sums stay on the device (one ``.item()`` per epoch, not per
step, so a GPU never waits for Python), Adam is fused (``adam``), and Ctrl-C or the notebook's
stop button ends training cleanly, keeping the weights and the history so far.
``benchmarks/train_speed.py`` measures what these changes give.
"""

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from .data import batches, mask_input, random_visible_masks
from .device import pick_device
from .losses import conditional_vae_loss, masked_reconstruction_loss, reconstruction_loss, vae_loss
from .models import CVAE, VAE, Autoencoder, Classifier, CompletionCVAE, CompletionNet

History = dict[str, list[float]]
LossFn = Callable[[nn.Module, Tensor, Tensor, float], dict[str, Tensor]]


def batch_loss(model: nn.Module, X: Tensor, y: Tensor, beta: float = 1.0) -> dict[str, Tensor]:
    """Each lesson model's objective on one batch, as ``{"loss": ..., parts...}`` per image.

    - ``Classifier``: cross-entropy of the true label (nats per image).
    - ``Autoencoder``: the reconstruction loss (lesson 1).
    - ``VAE`` / ``CVAE``: ``recon + beta * kl`` (lessons 2 and 3); a CVAE also sees the label.
    - ``CompletionNet`` / ``CompletionCVAE``: each image shows 1, 2 or 3 random quadrants, and
      the loss scores the hidden pixels (lesson 5); the CVAE adds ``beta * kl``.
    """
    if isinstance(model, Classifier):
        return {"loss": F.cross_entropy(model(X), y)}
    if isinstance(model, CVAE):
        logits, mu, logvar = model(X, y)
        return vae_loss(logits, X, mu, logvar, beta)
    if isinstance(model, VAE):
        logits, mu, logvar = model(X)
        return vae_loss(logits, X, mu, logvar, beta)
    if isinstance(model, CompletionNet | CompletionCVAE):
        visible = random_visible_masks(X.shape[0]).to(X.device)
        X_in = mask_input(X, visible)
        if isinstance(model, CompletionNet):
            recon = masked_reconstruction_loss(model(X_in), X, ~visible)
            return {"loss": recon, "recon": recon}
        logits, q, p = model(X_in, X)
        return conditional_vae_loss(logits, X, ~visible, q, p, beta)
    if isinstance(model, Autoencoder):
        recon = reconstruction_loss(model(X), X)
        return {"loss": recon, "recon": recon}
    raise TypeError(f"no built-in loss for {type(model).__name__}: pass fit(..., loss_fn=...)")


def adam(model: nn.Module, lr: float) -> torch.optim.Adam:
    """Adam, fused where this torch and device have it: one pass over the weights per step
    instead of a dozen, which on a laptop CPU saves about a quarter of each step."""
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):  # fused Adam on the CPU needs torch >= 2.4
        return torch.optim.Adam(model.parameters(), lr=lr)


@torch.no_grad()
def average_loss(model: nn.Module, X: Tensor, y: Tensor, loss_fn: LossFn = batch_loss,
                 beta: float = 1.0, batch_size: int = 1000) -> dict[str, float]:
    """The loss parts averaged over a whole data set, in eval mode (nats per image)."""
    was_training = model.training
    model.eval()
    totals: dict[str, Tensor] = {}
    for Xb, yb in batches(X, y, batch_size, shuffle=False):
        for key, value in loss_fn(model, Xb, yb, beta).items():
            totals[key] = totals.get(key, 0.0) + value * Xb.shape[0]
    model.train(was_training)
    return {key: total.item() / X.shape[0] for key, total in totals.items()}


def fit(model: nn.Module, X: Tensor, y: Tensor, X_test: Tensor | None = None,
        y_test: Tensor | None = None, *, num_epochs: int = 10, lr: float = 1e-3,
        batch_size: int = 128, beta: float = 1.0, seed: int = 0,
        lr_schedule: str = "constant", device: torch.device | str | None = None,
        loss_fn: LossFn = batch_loss, progress: bool = True) -> History:
    """Train ``model`` in place with Adam and return its per-epoch history (lesson 1).

    ``X, y`` are the training images and labels; ``X_test, y_test`` (optional) are scored after
    every epoch. ``seed`` fixes the batch order and the sampling noise, so the same seed and the
    same initial weights give the same trained weights on the same machine. ``lr_schedule`` is
    ``"constant"``, or ``"cosine"`` to lower the learning rate from ``lr`` toward 0 along a half
    cosine over the epochs, which settles the weights in fewer epochs. ``device`` defaults
    to ``pick_device()``; the model and the data move there once.

    The history maps ``"train_<part>"`` and ``"test_<part>"`` (each part of ``loss_fn``'s
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
                parts = loss_fn(model, Xb, yb, beta)
                optimizer.zero_grad(set_to_none=True)
                parts["loss"].backward()
                optimizer.step()
                for key, value in parts.items():
                    sums[key] = sums.get(key, 0.0) + value.detach() * Xb.shape[0]
            if scheduler is not None:
                scheduler.step()
            record = {f"train_{k}": v.item() / X.shape[0] for k, v in sums.items()}
            if X_test is not None and y_test is not None:
                test = average_loss(model, X_test, y_test, loss_fn, beta)
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
