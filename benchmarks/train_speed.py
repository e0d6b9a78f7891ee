"""How fast does cvae_helpers train? One run, three measurements, printed side by side.

    python benchmarks/train_speed.py [--device cpu|cuda] [--epochs 5] [--json PATH]

The model is pytorch/examples' VAE shape: 784-400-20, batches of 128, Adam at 1e-3.

(a) ``cvae_helpers.train.fit``: in-memory tensors, one ``.item()`` per epoch, fused Adam.
(b) The same model trained as pytorch/examples' ``vae/main.py`` does: a ``DataLoader`` over
    ``datasets.MNIST(transform=ToTensor())``, shuffled, no workers, a host-to-device copy and a
    ``loss.item()`` per step, sigmoid outputs scored with ``binary_cross_entropy``, plain Adam.
(c) The matmul floor: the FLOPs of one epoch's forward and backward matrix products divided by
    the rate ``torch.matmul`` reaches on this machine at those very shapes (best of several runs).

(a) and (b) take turns, one epoch each, so a machine that speeds up or slows down during the
run (a shared laptop, a cloud VM) weighs on both alike. Seconds per epoch are the medians over
the epochs after a warm-up epoch. The ratios a/b and a/c are what to read: targets a/b <= 0.5
and a/c <= 1.5 on a 2-core CPU; a/b <= 0.25 on a GPU.

Then it splits one epoch of (a) into its phases (forward and loss, backward, Adam step) beside
the step's matmul floor, and times the same forward, loss and backward written by hand on raw
tensors with no optimizer step: what eager PyTorch costs before any helper code. Together they
show where the time above the floor goes.
"""

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from cvae_helpers.data import batches, data_root, load_mnist
from cvae_helpers.losses import kl_divergence
from cvae_helpers.models import VAE
from cvae_helpers.train import adam, fit

LATENT, HIDDEN, BATCH, LR = 20, 400, 128, 1e-3
LAYERS = [(784, HIDDEN), (HIDDEN, 2 * LATENT), (LATENT, HIDDEN), (HIDDEN, 784)]  # (in, out)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def clock(device: torch.device) -> float:
    """``time.perf_counter()`` once the device has finished the work queued so far."""
    synchronize(device)
    return time.perf_counter()


def helpers_epoch(device: torch.device) -> Callable[[], float]:
    """(a) A function that trains one more epoch with ``fit`` and returns its seconds (no test
    pass, so only training is timed). Each call starts a fresh Adam; creating its state takes
    one step's worth of allocation, nothing measurable in an epoch."""
    X, y = load_mnist("train")
    torch.manual_seed(0)
    model = VAE(LATENT, (HIDDEN,))

    def epoch() -> float:
        history = fit(model, X, y, num_epochs=1, lr=LR, batch_size=BATCH, device=device,
                      progress=False)
        return history["seconds"][0]
    return epoch


def dataloader_epoch(device: torch.device) -> Callable[[], float]:
    """(b) A function that trains one more epoch as pytorch/examples does, returning its seconds."""
    dataset = datasets.MNIST(data_root(), train=True, download=True,
                             transform=transforms.ToTensor())
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True)
    torch.manual_seed(0)
    model = VAE(LATENT, (HIDDEN,)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)

    def epoch() -> float:
        start = time.perf_counter()
        model.train()
        train_loss = 0.0
        for data, _ in loader:
            data = data.to(device)
            optimizer.zero_grad()
            logits, mu, logvar = model(data)
            bce = F.binary_cross_entropy(torch.sigmoid(logits).view(-1, 784),
                                         data.view(-1, 784), reduction="sum")
            loss = bce + kl_divergence(mu, logvar) * data.shape[0]
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        return clock(device) - start
    return epoch


def step_phases(device: torch.device) -> dict[str, float]:
    """Milliseconds per step of (a)'s loop, by phase, over one epoch after a warm-up epoch.

    The device is synchronised between phases, which on a GPU costs a little time of its own.
    """
    X, y = load_mnist("train")
    X, y = X.to(device), y.to(device)
    torch.manual_seed(0)
    model = VAE(LATENT, (HIDDEN,)).to(device).train()
    optimizer = adam(model, LR)
    for _ in range(2):  # the first pass warms up; the second is kept
        ms = {"forward and loss": 0.0, "backward": 0.0, "Adam step": 0.0}
        steps = 0
        for Xb, yb in batches(X, y, BATCH):
            t0 = clock(device)
            loss = model.loss(Xb, yb)["loss"]
            t1 = clock(device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            t2 = clock(device)
            optimizer.step()
            t3 = clock(device)
            for phase, seconds in zip(ms, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                ms[phase] += 1e3 * seconds
            steps += 1
    return {phase: total / steps for phase, total in ms.items()}


def bare_step_ms(device: torch.device, num_steps: int = 200) -> float:
    """Milliseconds per step of the same forward, loss and backward written by hand on raw
    tensors (``F.linear``, no ``nn.Module``, no dicts, no optimizer step): what eager PyTorch
    itself costs per step, before any of cvae_helpers' code. Best of two passes."""
    torch.manual_seed(0)
    params = [(torch.randn(n_out, n_in, device=device).mul_(n_in ** -0.5).requires_grad_(),
               torch.zeros(n_out, device=device, requires_grad=True)) for n_in, n_out in LAYERS]
    (W1, b1), (W2, b2), (W3, b3), (W4, b4) = params
    X = load_mnist("train")[0][:num_steps * BATCH].flatten(1).to(device)
    best = float("inf")
    for _ in range(2):
        start = clock(device)
        for Xb in X.split(BATCH):
            mu, logvar = F.linear(F.relu(F.linear(Xb, W1, b1)), W2, b2).chunk(2, dim=1)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            logits = F.linear(F.relu(F.linear(z, W3, b3)), W4, b4)
            loss = (F.binary_cross_entropy_with_logits(logits, Xb, reduction="sum")
                    + 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum()) / Xb.shape[0]
            for W, b in params:
                W.grad = b.grad = None
            loss.backward()
        best = min(best, 1e3 * (clock(device) - start) / num_steps)
    return best


def matmul_shapes(batch: int) -> list[tuple[int, int, int]]:
    """(m, k, n) of every matrix product in one training step of a batch of ``batch``."""
    shapes = []
    for i, (n_in, n_out) in enumerate(LAYERS):
        shapes.append((batch, n_in, n_out))  # forward: X W^T
        shapes.append((n_out, batch, n_in))  # backward, weight gradient: dY^T X
        if i > 0:  # the images need no gradient
            shapes.append((batch, n_out, n_in))  # backward, input gradient: dY W
    return shapes


def seconds_matmul_floor(device: torch.device, n_images: int = 60_000,
                         repeats: int = 7) -> float:
    """(c) The time one epoch's matrix products take at the best rate seen for each shape."""
    total = 0.0
    full, rest = divmod(n_images, BATCH)
    for batch, count in ((BATCH, full), (rest, 1 if rest else 0)):
        for m, k, n in matmul_shapes(batch):
            A, B = torch.randn(m, k, device=device), torch.randn(k, n, device=device)
            best = float("inf")
            for _ in range(repeats):
                synchronize(device)
                start = time.perf_counter()
                for _ in range(50):
                    torch.matmul(A, B)
                synchronize(device)
                best = min(best, (time.perf_counter() - start) / 50)
            total += best * count
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--epochs", type=int, default=5,
                        help="epochs per method, the first a warm-up")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    device = torch.device(args.device)

    run_a, run_b = helpers_epoch(device), dataloader_epoch(device)
    a_all, b_all = [], []
    for _ in range(args.epochs):
        a_all.append(run_a())
        b_all.append(run_b())
    c = seconds_matmul_floor(device)
    phases = step_phases(device)
    bare = bare_step_ms(device)
    steps = math.ceil(60_000 / BATCH)
    a, b = statistics.median(a_all[1:] or a_all), statistics.median(b_all[1:] or b_all)
    result = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "seconds_per_epoch": {"cvae_helpers": a, "dataloader": b, "matmul_floor": c},
        "all_epochs": {"cvae_helpers": a_all, "dataloader": b_all},
        "ratio_vs_dataloader": a / b, "ratio_vs_floor": a / c,
        "step_ms": {**phases, "matmul floor": 1e3 * c / steps,
                    "by hand, no optimizer step": bare},
    }
    print(f"device: {result['device']}, torch {result['torch']}, {result['threads']} threads")
    print(f"{'method':<34}{'s/epoch':>10}")
    print(f"{'(a) cvae_helpers.fit':<34}{a:>10.2f}")
    print(f"{'(b) DataLoader, pytorch/examples':<34}{b:>10.2f}")
    print(f"{'(c) matmul floor':<34}{c:>10.2f}")
    print(f"a/b = {a / b:.2f}   (target <= {0.25 if device.type == 'cuda' else 0.5})")
    print(f"a/c = {a / c:.2f}   (target <= 1.5 on a CPU)")
    print(f"\nwhere a step of (a) goes, ms per step ({steps} steps, one epoch, device synchronised "
          "between phases):")
    for phase, value in result["step_ms"].items():
        print(f"  {phase:<32}{value:>8.2f}")
    floor = result["step_ms"]["matmul floor"]
    no_adam = phases["forward and loss"] + phases["backward"]
    print(f"forward, loss and backward alone: {no_adam / floor:.2f} x the matmul floor; "
          f"written by hand on raw tensors: {bare / floor:.2f} x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
