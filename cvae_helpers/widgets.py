"""Interactive controls built from trained models (lessons 1-5).

Only controls that ipywidgets 7.7 (Colab's) and 8 share are used: sliders, ``ToggleButtons``,
``Dropdown``, ``Image``, ``HTML`` and boxes. Each builder returns the box to display; the box
also keeps its controls as attributes (``sliders``, ``digit``, ``image``...) so tests, and
curious learners, can set them from code. Nothing trains: the controls only sample and decode.
"""

import io
import math
import numbers

import ipywidgets as W
import torch
from PIL import Image as PILImage
from torch import Tensor, nn
from torchvision.utils import make_grid

from .data import _check_tensor, check_count, check_images, mask_input, visible_mask
from .evaluate import confident_fraction, label_entropy, predicted_labels
from .models import CVAE, VAE, Autoencoder, CompletionCVAE, CompletionNet


def image_png(image: Tensor, scale: int = 5) -> bytes:
    """One image ``[1, H, W]`` in [0, 1] (a digit, or a grid of them) as PNG bytes, enlarged
    ``scale`` times, ink dark."""
    _check_tensor(image, "image")
    if image.dim() != 3 or image.shape[0] != 1 or 0 in image.shape:
        raise ValueError(f"image must be one grey image [1, H, W], got {list(image.shape)}"
                         + (": a single [H, W] image is image[None]" if image.dim() == 2 else ""))
    if not torch.isfinite(image).all():
        raise ValueError("the image holds NaN or infinite values: the model that drew it has "
                         "NaN weights, so train it again")
    check_count(scale, "scale")
    pixels = ((1 - image.detach().cpu().clamp(0, 1)[0]) * 255).round().to(torch.uint8)
    picture = PILImage.fromarray(pixels.numpy(), mode="L")
    picture = picture.resize((picture.width * scale, picture.height * scale), PILImage.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def grid_png(X: Tensor, nrow: int = 10, scale: int = 2) -> bytes:
    """Images ``[N, 1, 28, 28]`` in [0, 1] as one PNG grid, ``nrow`` per row."""
    _check_tensor(X, "X")
    if X.dim() != 4 or X.shape[0] == 0 or X.shape[1] != 1:
        raise ValueError(f"expected at least one image, shaped [N, 1, 28, 28], got "
                         f"{list(X.shape)}")
    check_count(nrow, "nrow")
    return image_png(make_grid(X.detach().cpu().clamp(0, 1), nrow=nrow, padding=2)[:1], scale)


def show_png(image: W.Image, png: bytes) -> None:
    """Put ``png`` in the ``image`` widget at its own size in pixels: without a size, JupyterLab
    stretches a picture to the width of the notebook, blurred and out of proportion."""
    image.width, image.height = PILImage.open(io.BytesIO(png)).size
    image.value = png


@torch.no_grad()
def decode_image(model, z: Tensor, digit: int | None = None) -> Tensor:
    """The decoded pixel probabilities ``[1, 28, 28]`` of one code ``z`` (and label)."""
    _check_latent_model(model)
    _check_tensor(z, "z")
    if z.numel() != model.latent_dim:
        raise ValueError(f"z must be one code of {model.latent_dim} numbers (the model's "
                         f"latent_dim), got shape {list(z.shape)}")
    if isinstance(model, CVAE):
        _check_digit(digit, model.num_classes)
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
    _check_latent_model(model)
    if isinstance(limit, bool) or not isinstance(limit, numbers.Real) or \
            not (0 < limit < math.inf):
        raise ValueError(f"limit bounds the sliders to [-limit, limit]: a number > 0, such as "
                         f"3.0, got {limit!r}")
    check_count(max_sliders, "max_sliders")
    if isinstance(model, CVAE):
        digit = 0 if digit is None else digit
        _check_digit(digit, model.num_classes)
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
    if not isinstance(models, dict) or not models:
        raise TypeError("models must be a dict {name: trained VAE}, e.g. {'beta=1': vae}, got "
                        f"{type(models).__name__ if models else 'nothing'}")
    for name, model in models.items():
        if not isinstance(model, VAE):
            raise TypeError(f"models[{name!r}] is a {type(model).__name__}, but the browser "
                            "draws samples from VAEs (or CVAEs)")
    if not isinstance(classifier, nn.Module):
        raise TypeError(f"classifier must be the digit classifier (zoo.trained('classifier')), "
                        f"got {type(classifier).__name__}")
    check_count(scored, "scored")
    check_count(shown, "shown")
    if shown > scored:
        raise ValueError(f"shown ({shown}) must be at most scored ({scored}): the images shown "
                         "are the first of those scored")
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
    _check_completion_models(cvae, baseline, num_samples)
    check_images(X)
    if X.shape[0] != 1:
        raise ValueError(f"completion_row completes one digit, X[i:i+1] ([1, 1, 28, 28]), got "
                         f"{X.shape[0]}")
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
    _check_completion_models(cvae, baseline, num_samples)
    check_images(X)
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


def _check_latent_model(model: nn.Module) -> None:
    if isinstance(model, type) or not isinstance(model, Autoencoder | VAE):
        name = getattr(model, "__name__", type(model).__name__)
        raise TypeError(f"expected a trained Autoencoder, VAE or CVAE, got {name}"
                        + (": for lesson 5's models, use completion_explorer"
                           if isinstance(model, CompletionCVAE | CompletionNet) else ""))


def _check_digit(digit: int, num_classes: int) -> None:
    if isinstance(digit, bool) or not isinstance(digit, numbers.Integral) \
            or not 0 <= digit < num_classes:
        raise ValueError(f"a CVAE draws the digit it is given: digit must be 0..{num_classes - 1}, "
                         f"got {digit!r}")


def _check_completion_models(cvae: CompletionCVAE | None, baseline: CompletionNet,
                             num_samples: int) -> None:
    if not isinstance(baseline, CompletionNet):
        raise TypeError(f"baseline must be lesson 5's CompletionNet, got "
                        f"{type(baseline).__name__}")
    check_count(num_samples, "num_samples", minimum=0)
    if num_samples and not isinstance(cvae, CompletionCVAE):
        raise TypeError(f"cvae must be lesson 5's CompletionCVAE to draw {num_samples} "
                        f"completions, got {type(cvae).__name__} (pass num_samples=0 to show the "
                        "baseline alone)")
