"""Export the two 2-D decoders that the website decodes in the reader's browser (``make figures``).

Lesson 1's autoencoder and lesson 3's 2-D CVAE are taken from the model cache (trained there
by the lessons) and written to ``website/_static/decoders/``:

- ``<name>.bin``: the decoder's weights and biases as little-endian float16, layer after layer,
  each weight row-major ``[out, in]`` as ``nn.Linear`` keeps it; then the lesson's code scatter,
  the mean codes of MNIST's 10,000 test digits as float16 ``[N, 2]``, and their labels as uint8;
- ``manifest.json``: where each array starts, its shape, and what the page needs to draw.

float16 halves float32's size, so both decoders fit the site's 3 MB budget. The page decodes
with exactly these rounded weights, and ``tests/test_site.py`` compares it with torch's decode
of the same rounded weights; ``rounding`` in the manifest says how far float16 moves the pixel
probabilities from the model's own float32 weights.

The files are committed, so ``make site`` needs no trained model: run ``make figures`` after the
lessons change what they train, and commit ``website/_static/decoders/``.
"""

import json
import sys
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from cvae_helpers import checkpoints, zoo
from cvae_helpers.data import COURSE_ROOT, load_mnist
from cvae_helpers.models import CVAE
from cvae_helpers.plots import DIGIT_COLORS

FOLDER = Path(__file__).resolve().parent / "_static" / "decoders"
BUDGET_BYTES = 3_000_000

# name -> (the lesson that trains and shows it, its zoo name, its zoo overrides)
DECODERS: dict[str, tuple[int, str, dict[str, Any]]] = {
    "autoencoder": (1, "autoencoder", {}),
    "cvae": (3, "cvae_2d", {}),
}


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The decoder's ``nn.Linear`` layers in order; between them the course's MLPs put a ReLU."""
    return [m for m in model.decoder if isinstance(m, nn.Linear)]


@torch.no_grad()
def test_codes(model: nn.Module, X: Tensor, y: Tensor) -> Tensor:
    """The codes the lesson's scatter shows: the autoencoder's codes, a VAE's mean codes."""
    if isinstance(model, CVAE):
        return model.encode(X, y)[0]
    return model.encode(X)


def square_box(Z: Tensor, share: float = 0.99, margin: float = 0.1) -> list[float]:
    """``[z1_low, z1_high, z2_low, z2_high]``: the square that the pad spans. It holds the
    central ``share`` of the codes along each axis, ``margin`` wider on each side, so a few
    far-flung codes do not shrink the clusters to a corner, and the scatter keeps its shape."""
    tail = (1 - share) / 2
    low, high = Z.quantile(tail, dim=0), Z.quantile(1 - tail, dim=0)
    centre, half = (low + high) / 2, float((high - low).max()) * (0.5 + margin)
    return [float(centre[0]) - half, float(centre[0]) + half,
            float(centre[1]) - half, float(centre[1]) + half]


class _Blob:
    """A growing byte string that records where each array was put."""

    def __init__(self) -> None:
        self.data = bytearray()

    def add(self, array: Tensor, dtype: torch.dtype) -> dict[str, Any]:
        entry = {"offset": len(self.data), "shape": list(array.shape)}
        self.data += array.detach().cpu().to(dtype).contiguous().numpy().tobytes()
        while len(self.data) % 4:  # keep every array 4-byte aligned
            self.data.append(0)
        return entry


@torch.no_grad()
def rounding_error(model: nn.Module, Z: Tensor, y: Tensor) -> float:
    """The largest change of a pixel probability at the codes ``Z`` when the decoder's weights
    are rounded to float16."""
    rounded = type(model)(**model.config)
    rounded.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    args = (y,) if isinstance(model, CVAE) else ()
    exact = torch.sigmoid(model.decode(Z, *args))
    return float((torch.sigmoid(rounded.eval().decode(Z, *args)) - exact).abs().max())


def export_decoder(name: str, X: Tensor, y: Tensor) -> tuple[dict[str, Any], bytes]:
    """The manifest entry and the bytes of ``<name>.bin``."""
    lesson, zoo_name, overrides = DECODERS[name]
    model, _ = zoo.trained(zoo_name, device="cpu", **overrides)
    cfg = zoo.config(zoo_name, **overrides)
    blob = _Blob()
    layers = [{"weight": blob.add(layer.weight, torch.float16),
               "bias": blob.add(layer.bias, torch.float16)} for layer in linear_layers(model)]
    Z = test_codes(model, X, y)
    scatter = {"codes": blob.add(Z, torch.float16), "labels": blob.add(y, torch.uint8)}
    return {
        "file": f"{name}.bin",
        "lesson": lesson,
        "zoo": {"name": zoo_name, "overrides": overrides, "config": cfg,
                "cache_key": zoo.cache_key(cfg)},
        # Which weights these are (the checksum of the tensors, not of the file, whose history
        # holds timings): the test compares the cache with the shipped weights only when the
        # cache holds these very weights (another machine's floating point trains other bits).
        "weights_checksum": checkpoints.checksum(model.state_dict()),
        "latent_dim": model.latent_dim,
        "num_classes": getattr(model, "num_classes", 0),
        "layers": layers,
        "scatter": scatter,
        "box": square_box(Z),
        "rounding": rounding_error(model, Z[:1000], y[:1000]),
    }, bytes(blob.data)


def export(folder: Path = FOLDER) -> list[Path]:
    """Export every decoder of ``DECODERS`` and the manifest into ``folder``."""
    X, y = load_mnist("test")
    exported = {name: export_decoder(name, X, y) for name in DECODERS}
    manifest = {
        "dtype": "float16",
        "activation": "relu between layers; sigmoid of the last layer's logits",
        "condition": "a CVAE's decoder input is the code followed by the one-hot label",
        "digit_colors": DIGIT_COLORS,
        "decoders": {name: entry for name, (entry, _) in exported.items()},
    }
    files = {"manifest.json": (json.dumps(manifest, indent=1) + "\n").encode()}
    files |= {entry["file"]: data for entry, data in exported.values()}
    size = sum(len(data) for data in files.values())
    if size > BUDGET_BYTES:  # checked before anything is written, so the old files stay
        raise ValueError(f"the exported decoders would take {size:,} bytes, more than the "
                         f"website's budget of {BUDGET_BYTES:,}: keep the 2-D models small")
    folder.mkdir(parents=True, exist_ok=True)
    for file, data in files.items():
        (folder / file).write_bytes(data)
    return [folder / file for file in files]


if __name__ == "__main__":
    if sys.argv[1:]:
        sys.exit("usage: python -m website.export")
    for path in export():
        print(f"wrote {path.relative_to(COURSE_ROOT)} ({path.stat().st_size:,} bytes)")
