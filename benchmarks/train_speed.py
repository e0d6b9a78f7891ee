"""How fast does cvae_helpers train? One run, three measurements, printed side by side.

    python benchmarks/train_speed.py [--device cpu|cuda] [--epochs 3] [--json PATH]

The model is pytorch/examples' VAE shape: 784-400-20, batches of 128, Adam at 1e-3.

(a) ``cvae_helpers.train.fit``: in-memory tensors, one ``.item()`` per epoch, fused Adam.
(b) The same model trained as pytorch/examples' ``vae/main.py`` does: a ``DataLoader`` over
    ``datasets.MNIST(transform=ToTensor())``, shuffled, no workers, a host-to-device copy and a
    ``loss.item()`` per step, sigmoid outputs scored with ``binary_cross_entropy``, plain Adam.
(c) The matmul floor: the FLOPs of one epoch's forward and backward matrix products divided by
    the rate ``torch.matmul`` reaches on this machine at those very shapes (best of several runs).

Seconds per epoch are the median over the epochs after a warm-up epoch. The ratios a/b and a/c
are what to read: targets a/b <= 0.5 and a/c <= 1.5 on a 2-core CPU; a/b <= 0.25 on a GPU.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from cvae_helpers.data import data_root, load_mnist
from cvae_helpers.losses import kl_divergence
from cvae_helpers.models import VAE
from cvae_helpers.train import fit

LATENT, HIDDEN, BATCH, LR = 20, 400, 128, 1e-3


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def seconds_helpers(device: torch.device, epochs: int) -> list[float]:
    """(a) Seconds per epoch of ``fit`` (no test pass, so only training is timed)."""
    X, y = load_mnist("train")
    torch.manual_seed(0)
    model = VAE(LATENT, (HIDDEN,))
    history = fit(model, X, y, num_epochs=epochs, lr=LR, batch_size=BATCH, device=device,
                  progress=False)
    return history["seconds"]


def seconds_dataloader(device: torch.device, epochs: int) -> list[float]:
    """(b) Seconds per epoch of pytorch/examples' training loop."""
    dataset = datasets.MNIST(data_root(), train=True, download=True,
                             transform=transforms.ToTensor())
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True)
    torch.manual_seed(0)
    model = VAE(LATENT, (HIDDEN,)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        train_loss = 0.0
        for data, _ in loader:
            data = data.to(device)
            optimizer.zero_grad()
            logits, mu, logvar = model(data)
            bce = F.binary_cross_entropy(torch.sigmoid(logits).view(-1, 784), data.view(-1, 784),
                                         reduction="sum")
            loss = bce + kl_divergence(mu, logvar) * data.shape[0]
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        synchronize(device)
        seconds.append(time.perf_counter() - start)
    return seconds


def matmul_shapes(batch: int) -> list[tuple[int, int, int]]:
    """(m, k, n) of every matrix product in one training step of a batch of ``batch``."""
    layers = [(784, HIDDEN), (HIDDEN, 2 * LATENT), (LATENT, HIDDEN), (HIDDEN, 784)]
    shapes = []
    for i, (n_in, n_out) in enumerate(layers):
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
    parser.add_argument("--epochs", type=int, default=3, help="epochs per method, first is warm-up")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    device = torch.device(args.device)

    a_all = seconds_helpers(device, args.epochs)
    b_all = seconds_dataloader(device, args.epochs)
    c = seconds_matmul_floor(device)
    a, b = statistics.median(a_all[1:] or a_all), statistics.median(b_all[1:] or b_all)
    result = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "seconds_per_epoch": {"cvae_helpers": a, "dataloader": b, "matmul_floor": c},
        "all_epochs": {"cvae_helpers": a_all, "dataloader": b_all},
        "ratio_vs_dataloader": a / b, "ratio_vs_floor": a / c,
    }
    print(f"device: {result['device']}, torch {result['torch']}, {result['threads']} threads")
    print(f"{'method':<34}{'s/epoch':>10}")
    print(f"{'(a) cvae_helpers.fit':<34}{a:>10.2f}")
    print(f"{'(b) DataLoader, pytorch/examples':<34}{b:>10.2f}")
    print(f"{'(c) matmul floor':<34}{c:>10.2f}")
    print(f"a/b = {a / b:.2f}   (target <= {0.25 if device.type == 'cuda' else 0.5})")
    print(f"a/c = {a / c:.2f}   (target <= 1.5 on a CPU)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
