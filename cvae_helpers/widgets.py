"""Interactive controls built from trained models (lessons 1-5).

Only controls that ipywidgets 7.7 (Colab's) and 8 share are used: sliders, ``ToggleButtons``,
``Dropdown``, ``Image``, ``HTML`` and boxes. Each builder returns the box to display; the box
also keeps its controls as attributes (``sliders``, ``digit``, ``image``...) so tests, and
curious learners, can set them from code. Nothing trains: the controls only sample and decode.
"""

import io

import ipywidgets as W
import torch
from PIL import Image as PILImage
from torch import Tensor
from torchvision.utils import make_grid

from .data import mask_input, visible_mask
from .evaluate import confident_fraction, label_entropy, predicted_labels
from .models import CVAE, VAE, CompletionCVAE, CompletionNet


def image_png(image: Tensor, scale: int = 5) -> bytes:
    """One image ``[1, H, W]`` in [0, 1] (a digit, or a grid of them) as PNG bytes, enlarged
    ``scale`` times, ink dark."""
    pixels = ((1 - image.detach().cpu().clamp(0, 1)[0]) * 255).round().to(torch.uint8)
    picture = PILImage.fromarray(pixels.numpy(), mode="L")
    picture = picture.resize((picture.width * scale, picture.height * scale), PILImage.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def grid_png(X: Tensor, nrow: int = 10, scale: int = 2) -> bytes:
    """Images ``[N, 1, 28, 28]`` in [0, 1] as one PNG grid, ``nrow`` per row."""
    return image_png(make_grid(X.detach().cpu().clamp(0, 1), nrow=nrow, padding=2)[:1], scale)


def show_png(image: W.Image, png: bytes) -> None:
    """Put ``png`` in the ``image`` widget at its own size in pixels: without a size, JupyterLab
    stretches a picture to the width of the notebook, blurred and out of proportion."""
    image.width, image.height = PILImage.open(io.BytesIO(png)).size
    image.value = png


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


def sample_browser(models: dict[str, VAE], classifier, shown: int = 40,
                   scored: int = 1000) -> W.VBox:
    """A dropdown over trained VAEs and a seed slider -> their prior samples and scores (lesson 4).

    For the chosen model and seed, draws ``scored`` prior samples, shows the first ``shown``,
    and reports the classifier's scores of all of them: the share recognised confidently and
    the entropy of the predicted digits.
    """
    choice = W.Dropdown(options=list(models), description="model")
    seed = W.IntSlider(value=0, min=0, max=99, description="seed")
    image = W.Image(format="png")
    scores = W.HTML()

    def redraw(_change=None) -> None:
        torch.manual_seed(seed.value)
        X = models[choice.value].sample(scored)
        show_png(image, grid_png(X[:shown]))
        scores.value = (f"<b>{choice.value}</b>, {scored} samples: "
                        f"{confident_fraction(classifier, X):.1%} recognised confidently; "
                        f"label entropy {label_entropy(predicted_labels(classifier, X)):.2f} nats "
                        f"(all ten digits equally often: 2.30)")

    for control in (choice, seed):
        control.observe(redraw, names="value")
    redraw()
    box = W.VBox([W.HBox([choice, seed]), scores, image])
    box.choice, box.seed, box.image, box.scores = choice, seed, image, scores
    return box


@torch.no_grad()
def completion_row(cvae: CompletionCVAE | None, baseline: CompletionNet, X: Tensor,
                   num_visible: int, num_samples: int = 8) -> Tensor:
    """One test digit ``X [1, 1, 28, 28]`` completed (lesson 5): ``[3 + num_samples, 1, 28, 28]``
    images, namely the input (hidden pixels grey), the truth, the baseline's guess, then
    ``num_samples`` completions by the CVAE. Visible pixels are pasted back into each guess."""
    device = next(baseline.parameters()).device
    X = X.to(device)
    visible = visible_mask(num_visible).to(device)
    X_in = mask_input(X, visible)
    guesses = [torch.sigmoid(baseline(X_in))]
    if num_samples:
        guesses.append(cvae.sample(X_in, num_samples)[:, 0])
    shown_input = torch.where(visible, X, torch.full_like(X, 0.25))
    return torch.cat([shown_input, X, torch.where(visible, X, torch.cat(guesses))]).cpu()


def completion_explorer(cvae: CompletionCVAE, baseline: CompletionNet, X: Tensor,
                        num_samples: int = 8) -> W.VBox:
    """Pick a digit of ``X`` and how many quadrants are visible; see the baseline's one guess
    and ``num_samples`` completions by the CVAE (lesson 5). A seed slider draws new ones."""
    index = W.IntSlider(value=0, min=0, max=len(X) - 1, description="test digit")
    quadrants = W.ToggleButtons(options=[1, 2, 3], value=1, description="visible",
                                style={"button_width": "40px"})
    seed = W.IntSlider(value=0, min=0, max=99, description="seed")
    image = W.Image(format="png")
    caption = W.HTML("input (grey: hidden) | truth | baseline | "
                     f"{num_samples} CVAE completions")

    def redraw(_change=None) -> None:
        torch.manual_seed(seed.value)
        row = completion_row(cvae, baseline, X[index.value:index.value + 1], quadrants.value,
                             num_samples)
        show_png(image, grid_png(row, nrow=len(row), scale=3))

    for control in (index, quadrants, seed):
        control.observe(redraw, names="value")
    redraw()
    box = W.VBox([W.HBox([index, seed]), quadrants, caption, image])
    box.index, box.quadrants, box.seed, box.image = index, quadrants, seed, image
    return box
