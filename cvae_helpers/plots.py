"""The course's figures (lessons 1-5). Each function draws on ``ax`` when given (else a new
figure) and returns the axes, so a lesson can place figures side by side.
"""

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from torch import Tensor
from torchvision.utils import make_grid

from .train import History

# Paul Tol's "muted" scheme: ten colours that stay distinct under the common colour-vision
# deficiencies, one per digit.
DIGIT_COLORS = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933",
                "#DDCC77", "#CC6677", "#882255", "#AA4499", "#777777"]


def _axes(ax: Axes | None, size: tuple[float, float] = (6, 6)) -> Axes:
    return ax if ax is not None else plt.subplots(figsize=size)[1]


def show_images(X: Tensor, nrow: int = 10, title: str = "", ax: Axes | None = None) -> Axes:
    """Images ``[N, 1, 28, 28]`` in [0, 1] as one grid, ``nrow`` per row (torchvision's
    ``make_grid``)."""
    grid = make_grid(X.detach().cpu().clamp(0, 1), nrow=nrow, padding=2, pad_value=1.0)
    ax = _axes(ax, (nrow * 0.6, (X.shape[0] + nrow - 1) // nrow * 0.6 + 0.4))
    ax.imshow(grid[0], cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(title)
    ax.axis("off")
    return ax


def show_reconstructions(X: Tensor, X_hat: Tensor, title: str = "Originals (top) and "
                         "reconstructions (bottom)", ax: Axes | None = None) -> Axes:
    """Originals in the top row, their reconstructions (pixel probabilities) below."""
    return show_images(torch.cat([X.cpu(), X_hat.cpu()]), nrow=X.shape[0], title=title, ax=ax)


def plot_latent_scatter(Z: Tensor, y: Tensor, title: str = "Codes of test images, coloured by "
                        "digit", ax: Axes | None = None) -> Axes:
    """A 2-D code per image as a dot, coloured by its digit (lesson 1)."""
    ax = _axes(ax)
    Z, y = Z.detach().cpu(), y.cpu()
    for digit, color in enumerate(DIGIT_COLORS):
        pts = Z[y == digit]
        ax.scatter(pts[:, 0], pts[:, 1], s=2, color=color, label=str(digit), rasterized=True)
    ax.legend(title="digit", markerscale=5, loc="upper right", fontsize=8)
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_title(title)
    return ax


def plot_manifold(decode, grid_1: Tensor, grid_2: Tensor, title: str = "Decoded grid over the "
                  "2-D code space", ax: Axes | None = None) -> Axes:
    """Decode every point of the grid ``grid_1 x grid_2`` and tile the images (lessons 1-2).

    ``decode`` maps codes ``[M, 2]`` to images ``[M, 1, 28, 28]`` in [0, 1]. Rows run from the
    largest ``z_2`` at the top to the smallest, as on a plot's y axis.
    """
    z2, z1 = torch.meshgrid(grid_2.flip(0), grid_1, indexing="ij")
    images = decode(torch.stack([z1.flatten(), z2.flatten()], dim=1))
    ax = _axes(ax, (7, 7))
    grid = make_grid(images.detach().cpu(), nrow=len(grid_1), padding=0)
    ax.imshow(grid[0], cmap="gray_r", vmin=0, vmax=1,
              extent=(0, len(grid_1), 0, len(grid_2)))
    ticks = torch.arange(len(grid_1)) + 0.5
    ax.set_xticks(ticks[::2], [f"{v:.1f}" for v in grid_1[::2]])
    ax.set_yticks(ticks[::2], [f"{v:.1f}" for v in grid_2[::2]])
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_title(title)
    return ax


def plot_interpolation(decode, z_start: Tensor, z_end: Tensor, steps: int = 10,
                       title: str = "Interpolation between two codes",
                       ax: Axes | None = None) -> Axes:
    """Decode ``steps`` evenly spaced points on the line from ``z_start`` to ``z_end``."""
    t = torch.linspace(0, 1, steps, device=z_start.device).unsqueeze(1)
    images = decode((1 - t) * z_start + t * z_end)
    return show_images(images, nrow=steps, title=title, ax=_axes(ax, (steps * 0.8, 1.2)))


def plot_history(history: History, parts: tuple[str, ...] = ("loss",),
                 title: str = "Loss per epoch", ax: Axes | None = None) -> Axes:
    """Training and test curves of the loss ``parts`` recorded by ``fit``, in nats per image."""
    ax = _axes(ax, (6, 4))
    for part, color in zip(parts, DIGIT_COLORS[::3], strict=False):
        for split, style in (("train", "-"), ("test", "--")):
            values = history.get(f"{split}_{part}")
            if values:
                epochs = range(1, len(values) + 1)
                ax.plot(epochs, values, style, color=color, marker="o", ms=3,
                        label=f"{split} {part}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per image")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax
