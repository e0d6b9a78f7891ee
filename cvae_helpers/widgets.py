"""Interactive controls built from a trained model (lessons 1-3).

Only controls that ipywidgets 7.7 (Colab's) and 8 share are used: ``FloatSlider``,
``ToggleButtons``, ``Image`` and boxes. Each builder returns the box to display; the box also
keeps its controls as attributes (``sliders``, ``digit``, ``image``) so tests, and curious
learners, can set them from code.
"""

import io

import ipywidgets as W
import torch
from PIL import Image as PILImage
from torch import Tensor

from .models import CVAE


def image_png(image: Tensor, scale: int = 5) -> bytes:
    """One image ``[1, 28, 28]`` in [0, 1] as PNG bytes, enlarged ``scale`` times, ink dark."""
    pixels = ((1 - image.detach().cpu().clamp(0, 1)[0]) * 255).round().to(torch.uint8)
    picture = PILImage.fromarray(pixels.numpy(), mode="L")
    picture = picture.resize((28 * scale, 28 * scale), PILImage.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


@torch.no_grad()
def decode_image(model, z: Tensor, digit: int | None = None) -> Tensor:
    """The decoded pixel probabilities ``[1, 28, 28]`` of one code ``z`` (and label)."""
    device = next(model.parameters()).device
    Z = z.view(1, -1).to(device)
    if isinstance(model, CVAE):
        logits = model.decode(Z, torch.tensor([digit], device=device))
    else:
        logits = model.decode(Z)
    return torch.sigmoid(logits)[0].cpu()


def latent_explorer(model, limit: float = 3.0, max_sliders: int = 6,
                    digit: int | None = 0) -> W.VBox:
    """Sliders over the code z and the image they decode to, redrawn as a slider moves.

    A model with more than ``max_sliders`` latent dimensions gets sliders for the first ones,
    the others held at 0 (the prior's mean). A CVAE also gets a digit selector starting at
    ``digit`` (lesson 3). ``limit`` bounds each slider to [-limit, limit].
    """
    model.eval()
    shown = min(model.latent_dim, max_sliders)
    sliders = [W.FloatSlider(value=0.0, min=-limit, max=limit, step=0.05,
                             description=f"z{i + 1}", continuous_update=True)
               for i in range(shown)]
    digit_picker = None
    if isinstance(model, CVAE):
        digit_picker = W.ToggleButtons(options=list(range(model.num_classes)), value=digit,
                                       description="digit",
                                       style={"button_width": "32px"})
    image = W.Image(format="png", width=168, height=168)

    def redraw(_change=None) -> None:
        z = torch.zeros(model.latent_dim)
        z[:shown] = torch.tensor([s.value for s in sliders])
        label = digit_picker.value if digit_picker is not None else None
        image.value = image_png(decode_image(model, z, label))

    controls = [*sliders] if digit_picker is None else [digit_picker, *sliders]
    for control in controls:
        control.observe(redraw, names="value")
    redraw()
    box = W.VBox([W.HBox([W.VBox(controls), image])])
    box.sliders, box.digit, box.image = sliders, digit_picker, image
    return box
