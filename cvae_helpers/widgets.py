"""Interactive controls built from trained models (lessons 1-5), with the numbers that say what
each picture is: which digit the classifier reads in it and how sure it is, how likely the code
is under the prior, and whether a conditional model drew the digit it was asked for.

They work alike in ipywidgets 7.7 (Colab's) and 8, because they use only what both share:
sliders, ``ToggleButtons``, ``Dropdown``, ``HTML`` and boxes. Every picture travels as text, a PNG
in a data URI inside an ``HTML`` widget, never as the binary buffers of ``ipywidgets.Image``,
which some frontends (Colab's among them) have handled badly.

Each builder returns the box to display; the box also keeps its controls as attributes
(``sliders``, ``digit``, ``image``, ``readout``...) so tests, and curious learners, can set them
from code. Nothing trains: the controls only sample, decode and classify.
"""

import base64
import io
import math
from collections.abc import Callable, Sequence

import ipywidgets as W
import torch
from matplotlib.figure import Figure
from PIL import Image as PILImage
from torch import Tensor, nn
from torchvision.utils import make_grid

from .data import mask_input, visible_mask
from .evaluate import CONFIDENCE, label_entropy, predict_proba
from .inputs import (
    check_codes,
    check_count,
    check_digit,
    check_images,
    check_labels,
    check_model,
    check_number,
    check_order,
    check_pictures,
    check_temperature,
    check_tensor,
)
from .losses import gaussian_kl
from .models import CVAE, VAE, Autoencoder, CompletionCVAE, CompletionNet
from .plots import DIGIT_COLORS, plot_latent_scatter

# Frames and words of the readouts: recognised (top class >= CONFIDENCE) or not, as in lesson 1.
SURE, UNSURE = DIGIT_COLORS[3], DIGIT_COLORS[6]
NO_CLASSIFIER = ("<i>No classifier given, so no reading of the picture: pass "
                 "<code>classifier=clf</code>, lesson 1's judge "
                 "(<code>clf, _ = zoo.trained(\"classifier\")</code>).</i>")


# --- Pictures as text ------------------------------------------------------------------------

def image_png(image: Tensor, scale: int = 5) -> bytes:
    """One image ``[1, H, W]`` in [0, 1] (a digit, or a grid of them) as PNG bytes, enlarged
    ``scale`` times, ink dark."""
    check_pictures(image, "image", single=True)
    check_count(scale, "scale")
    pixels = ((1 - image.detach().cpu().clamp(0, 1)[0]) * 255).round().to(torch.uint8)
    picture = PILImage.fromarray(pixels.numpy(), mode="L")
    picture = picture.resize((picture.width * scale, picture.height * scale), PILImage.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def grid_png(X: Tensor, nrow: int = 10, scale: int = 2) -> bytes:
    """Images ``[N, 1, 28, 28]`` in [0, 1] as one PNG grid, ``nrow`` per row."""
    check_pictures(X, "X", single=False)
    check_count(nrow, "nrow")
    return image_png(make_grid(X.detach().cpu().clamp(0, 1), nrow=nrow, padding=2)[:1], scale)


def png_html(png: bytes, style: str = "") -> str:
    """An ``<img>`` element that carries ``png`` in its text (a base64 data URI), shown at its
    own size in pixels: without a size a frontend may stretch it to the notebook's width,
    blurred and out of proportion."""
    width, height = PILImage.open(io.BytesIO(png)).size
    data = base64.b64encode(png).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" width="{width}" height="{height}" '
            f'style="display: block; image-rendering: pixelated; {style}">')


def _html_block(lines: Sequence[str]) -> str:
    """Readout lines as one block of text (an HTML widget's line height is a control's, 28 px,
    too tall for prose)."""
    return ('<div style="line-height: 1.45; font-size: 13px">'
            + "<br>".join(lines) + "</div>")


# --- What the models and the classifier say ---------------------------------------------------

@torch.no_grad()
def decode_images(model, Z: Tensor, labels: Tensor | None = None) -> Tensor:
    """Pixel probabilities ``[N, 1, 28, 28]``, on the CPU, that ``model`` decodes the codes
    ``Z [N, latent_dim]`` to (under the digits ``labels [N]``, for a CVAE)."""
    device = next(model.parameters()).device
    if isinstance(model, CVAE):
        logits = model.decode(Z.to(device), labels.to(device))
    else:
        logits = model.decode(Z.to(device))
    return torch.sigmoid(logits).cpu()


def decode_image(model, z: Tensor, digit: int | None = None) -> Tensor:
    """The decoded pixel probabilities ``[1, 28, 28]`` of one code ``z`` (and label)."""
    _check_latent_model(model)
    check_tensor(z, "z")
    if z.numel() != model.latent_dim:
        raise ValueError(f"z must be one code of {model.latent_dim} numbers (the model's "
                         f"latent_dim), got shape {list(z.shape)}")
    if isinstance(model, CVAE):
        check_digit(digit, model.num_classes)
    labels = torch.tensor([digit]) if isinstance(model, CVAE) else None
    return decode_images(model, z.view(1, -1), labels)[0]


def readings(classifier: nn.Module, X: Tensor) -> tuple[Tensor, Tensor]:
    """The digit the classifier reads in each image ``X [N, 1, 28, 28]`` and the probability
    it gives that digit, two tensors ``[N]`` on the CPU."""
    confidence, digit = predict_proba(classifier, X).cpu().max(dim=1)
    return digit, confidence


def prior_log_density(z: Tensor) -> float:
    """log N(z; 0, I) of one code ``z [d]``, in nats: -1/2 (d log 2 pi + |z|^2)."""
    return -0.5 * (z.numel() * math.log(2 * math.pi) + z.pow(2).sum().item())


def prior_share_farther(z: Tensor) -> float:
    """The share of draws from N(0, I) in ``d = z.numel()`` dimensions that lie farther from
    the origin than ``z``: P(|Z|^2 > |z|^2), |Z|^2 being chi-squared with d degrees of freedom,
    = Q(d/2, |z|^2/2) (the regularised upper incomplete gamma function); e^(-|z|^2/2) in 2-D."""
    half_sq = torch.tensor(z.pow(2).sum().item() / 2, dtype=torch.float64)
    return torch.special.gammaincc(torch.tensor(z.numel() / 2, dtype=torch.float64),
                                   half_sq).item()


@torch.no_grad()
def dimensions_by_kl(model: VAE, X: Tensor, y: Tensor | None = None,
                     batch_size: int = 1000) -> Tensor:
    """The latent dimensions of ``model``, from the largest average KL(q(z_j | x) || N(0, 1))
    over the images ``X`` to the smallest (lessons 2-3); a CVAE also needs their labels ``y``.

    A dimension's KL is what the encoder spends on it: the ones it uses come first, and an
    inactive one (KL near 0) comes last, since moving it changes nothing in the picture. Pass
    the result as ``latent_explorer(model, order=...)``.
    """
    check_model(model, "a trained VAE or CVAE", (VAE,), hint=": only a model with an encoder "
                "of Gaussians (mu, logvar) has a KL per dimension")
    check_images(X)  # on any device: the batches are moved to the model's below
    if isinstance(model, CVAE) and y is None:
        raise ValueError("a CVAE encodes an image with its label: pass the labels y of X too")
    model.eval()
    device = next(model.parameters()).device
    total = torch.zeros(model.latent_dim, dtype=torch.float64)
    for start in range(0, len(X), batch_size):
        labels = [y[start:start + batch_size].to(device)] if isinstance(model, CVAE) else []
        mu, logvar = model.encode(X[start:start + batch_size].to(device), *labels)
        total += gaussian_kl(mu, logvar).sum(dim=0).double().cpu()
    return (total / len(X)).argsort(descending=True)


def _reading_line(classifier: nn.Module | None, image: Tensor, asked: int | None) -> str:
    """What the classifier reads in one decoded ``image`` and, for a CVAE asked to draw
    ``asked``, whether that is the digit asked for."""
    if classifier is None:
        return NO_CLASSIFIER
    digit, confidence = (t.item() for t in readings(classifier, image[None]))
    sure = confidence >= CONFIDENCE
    verdict = (f'<span style="color: {SURE}">recognised</span>' if sure else
               f'<span style="color: {UNSURE}">not recognised</span>')
    line = (f"<b>Classifier</b> reads a <b>{digit}</b>, probability {confidence:.2f}: "
            f"{verdict} (threshold {CONFIDENCE})")
    if asked is not None:
        line += ("<br>&#10003; the digit asked for" if digit == asked else
                 f'<br><span style="color: {UNSURE}">&#10007; asked for a {asked}, '
                 f"the classifier reads a {digit}</span>")
    return line


def _share(p: float) -> str:
    """A share as a percentage that stays readable when small: 12.3%, 0.05%, < 0.01%."""
    if p < 1e-4:
        return "less than 0.01%"
    return f"{p:.1%}" if p >= 0.01 else f"{p:.2%}"


def _prior_line(z: Tensor) -> str:
    """Where the code ``z`` lies under the prior N(0, I)."""
    d = z.numel()
    line = (f"<b>Prior</b> N(0, I): log p(z) = {prior_log_density(z):.2f} nats "
            f"(at its mean z = 0: {prior_log_density(torch.zeros(d)):.2f}); |z| = "
            f"{z.norm().item():.2f}, and {_share(prior_share_farther(z))} of prior draws lie "
            "farther from the origin")
    if d > 2:  # the densest point is not where the draws are
        line += f" (in {d} dimensions a typical draw has |z| near &radic;{d} = {math.sqrt(d):.2f})"
    return line


NO_PRIOR = ("<b>No prior</b>: an autoencoder defines no distribution over its codes, so no "
            "code is more likely than another, and nothing says which codes to sample")


# --- The code scatter and its marker ----------------------------------------------------------

def code_scatter(codes: Tensor, labels: Tensor, limit: float,
                 size: tuple[float, float] = (3.9, 3.0),
                 dpi: int = 80) -> tuple[bytes, Callable[[float, float], tuple[float, float]]]:
    """The lesson's scatter of 2-D ``codes`` coloured by their digit ``labels``, over the
    sliders' square [-limit, limit]^2, drawn once as PNG bytes; and the map from a code
    (z1, z2) to its pixel (x, y) in that picture, for the marker that follows the sliders."""
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    ax = plot_latent_scatter(codes, labels, title="", ax=fig.add_subplot())
    ax.legend(title="digit", markerscale=4, fontsize=7, title_fontsize=7, loc="center left",
              bbox_to_anchor=(1.0, 0.5), frameon=False, handletextpad=0.1)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal")
    ax.tick_params(labelsize=7)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    height = fig.bbox.height  # display coordinates start at the bottom, PNG rows at the top
    transform = ax.transData

    def to_pixel(z1: float, z2: float) -> tuple[float, float]:
        x, y = transform.transform((z1, z2))
        return float(x), float(height - y)

    return buffer.getvalue(), to_pixel


def marker_svg(x: float, y: float, width: int, height: int) -> str:
    """A ring with a cross hair at pixel (x, y), on a transparent layer of the scatter's size
    (white under black, so it shows on any colour)."""
    shapes = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="none" stroke="{c}" stroke-width="{w}"/>'
        f'<path d="M{x - 12:.1f} {y:.1f}H{x - 4:.1f}M{x + 4:.1f} {y:.1f}H{x + 12:.1f}'
        f'M{x:.1f} {y - 12:.1f}V{y - 4:.1f}M{x:.1f} {y + 4:.1f}V{y + 12:.1f}" '
        f'stroke="{c}" stroke-width="{w}"/>'
        for c, w in (("white", 4), ("black", 2)))
    return (f'<svg width="{width}" height="{height}" style="display: block" '
            f'xmlns="http://www.w3.org/2000/svg">{shapes}</svg>')


# --- Lessons 1-3: the latent explorer ---------------------------------------------------------

def latent_explorer(model, limit: float = 3.0, max_sliders: int = 6, digit: int | None = 0, *,
                    classifier: nn.Module | None = None, codes: Tensor | None = None,
                    labels: Tensor | None = None,
                    order: Sequence[int] | Tensor | None = None) -> W.VBox:
    """Sliders over the code z, the image they decode to, and what that image is, redrawn as a
    slider moves (lessons 1-3).

    - ``limit`` bounds each slider to [-limit, limit].
    - A model with more than ``max_sliders`` latent dimensions gets sliders for the first ones,
      or for the first ones of ``order`` (e.g. ``dimensions_by_kl(model, X, y)``: the
      dimensions the encoder uses most); the others are held at 0, the prior's mean.
    - A CVAE also gets a digit selector starting at ``digit`` (lesson 3).
    - ``classifier`` (lesson 1's judge) reads the decoded image: which digit, how sure, and for
      a CVAE whether it is the digit asked for.
    - ``codes`` ``[N, latent_dim]`` (the lesson's codes of test images) and their digit
      ``labels`` ``[N]``: the readout names the nearest of them, and a 2-D model's explorer
      draws their scatter with a marker where the sliders' code lies.

    A VAE's or CVAE's readout gives the code's log-density under the prior N(0, I); an
    autoencoder has no prior, and its readout says so.
    """
    _check_latent_model(model)
    check_number(limit, "limit", above=True, means="bounds the sliders to [-limit, limit]",
                 advice=" (such as 3.0)")
    check_count(max_sliders, "max_sliders")
    if isinstance(model, CVAE):
        digit = 0 if digit is None else digit
        check_digit(digit, model.num_classes)
    _check_readers(model, classifier, codes, labels, order)
    model.eval()
    order = list(range(model.latent_dim)) if order is None else [int(j) for j in order]
    shown = order[:min(model.latent_dim, max_sliders)]
    sliders = [W.FloatSlider(value=0.0, min=-limit, max=limit, step=0.05,
                             description=f"z{j + 1}", continuous_update=True) for j in shown]
    digit_picker = None
    if isinstance(model, CVAE):
        digit_picker = W.ToggleButtons(options=list(range(model.num_classes)), value=digit,
                                       description="digit", style={"button_width": "30px"})
    image = W.HTML()
    readout = W.HTML(layout=W.Layout(width="330px"))
    has_prior = isinstance(model, VAE)

    nearest = None
    if codes is not None:
        codes = codes.detach().float().cpu()
        labels = labels.cpu() if labels is not None else None
        # the typical spacing of the codes, for scale: each of (at most) 1,000 of them to its
        # nearest other code
        probe = codes[torch.randperm(len(codes), generator=torch.Generator().manual_seed(0))[:1000]]
        spacing = torch.cdist(probe, codes).kthvalue(2, dim=1).values.median().item()

        def nearest(z: Tensor) -> str:
            distances = torch.cdist(z[None], codes)[0]
            i = distances.argmin().item()
            which = f"a {labels[i].item()}" if labels is not None else f"code {i}"
            return (f"<b>Nearest of the {len(codes):,} codes given</b>: {which}, "
                    f"{distances[i].item():.2f} away (a code's median distance to its nearest "
                    f"neighbour: {spacing:.2f})")

    scatter = marker = None
    if codes is not None and labels is not None and model.latent_dim == 2:
        scatter_png, to_pixel = code_scatter(codes, labels, limit)
        scatter = W.HTML(png_html(scatter_png), layout=W.Layout(grid_area="plot"))
        marker = W.HTML(layout=W.Layout(grid_area="plot"))
        scatter_size = PILImage.open(io.BytesIO(scatter_png)).size

    def redraw(_change=None) -> None:
        z = torch.zeros(model.latent_dim)
        z[shown] = torch.tensor([s.value for s in sliders])
        asked = digit_picker.value if digit_picker is not None else None
        decoded = decode_image(model, z, asked)
        lines = [_reading_line(classifier, decoded, asked), _prior_line(z) if has_prior else NO_PRIOR]
        if nearest is not None:
            lines.append(nearest(z))
        if len(shown) < model.latent_dim:
            lines.append(f"The other {model.latent_dim - len(shown)} dimensions are held at 0.")
        image.value = png_html(image_png(decoded))
        readout.value = _html_block(lines)
        if marker is not None:
            marker.value = marker_svg(*to_pixel(z[0].item(), z[1].item()), *scatter_size)

    controls = [*sliders] if digit_picker is None else [digit_picker, *sliders]
    for control in controls:
        control.observe(redraw, names="value")
    redraw()
    row = [W.VBox([*sliders, readout]), image]
    if scatter is not None:
        # the marker is a transparent layer over the scatter, in the same cell of a grid: a
        # redraw sends the marker's few bytes, and the scatter's picture only once
        row.append(W.GridBox([scatter, marker], layout=W.Layout(grid_template_areas='"plot"')))
    # the digits go above the row: ipywidgets 7 draws its buttons wider, and wraps them
    box = W.VBox([W.HBox(row)] if digit_picker is None else [digit_picker, W.HBox(row)])
    box.sliders, box.digit, box.image, box.readout = sliders, digit_picker, image, readout
    box.scatter, box.marker, box.order = scatter, marker, shown
    return box


# --- Lessons 3-4: the sample browser ----------------------------------------------------------

def judged_grid_html(X: Tensor, read: tuple[Tensor, Tensor] | None = None, nrow: int = 10,
                     scale: int = 2, asked: Tensor | None = None,
                     titles: Sequence[str] | None = None) -> str:
    """Images ``[N, 1, 28, 28]`` in a grid, ``nrow`` per row, each captioned with what the
    classifier reads in it, ``read = readings(classifier, X)``: the digit and its probability,
    framed as in lesson 1, solid when recognised and dashed when not. With ``asked`` (a CVAE's
    requested digits) a wrong digit is marked &#10007;. ``titles`` go above the images."""
    digits, confidence = read if read is not None else (None, None)
    cells = []
    for i, image in enumerate(X.cpu()):
        frame, caption = "2px solid transparent", ""
        if digits is not None:
            sure = confidence[i].item() >= CONFIDENCE
            frame = f"2px {'solid' if sure else 'dashed'} {SURE if sure else UNSURE}"
            wrong = asked is not None and digits[i].item() != asked[i].item()
            caption = (f"{digits[i].item()} ({confidence[i].item():.2f})"
                       + (f' <span style="color: {UNSURE}">&#10007;</span>' if wrong else ""))
        title = f"<div>{titles[i]}</div>" if titles is not None else ""
        cells.append(f'<div style="text-align: center">{title}'
                     f'{png_html(image_png(image, scale), f"border: {frame}; margin: auto")}'
                     f"<div>{caption}</div></div>")
    return ('<div style="display: grid; grid-template-columns: repeat('
            f'{nrow}, max-content); gap: 2px 4px; font-size: 11px; line-height: 1.3">'
            + "".join(cells) + "</div>")


def sample_browser(models: dict[str, VAE], classifier: nn.Module | None = None, shown: int = 40,
                   scored: int = 100, *, temperature: float = 1.0) -> W.VBox:
    """A dropdown over trained VAEs or CVAEs, a seed and a temperature -> their prior samples,
    each with the classifier's reading, and the scores of ``scored`` of them (lessons 3-4).

    For the chosen model and seed, draws ``eps ~ N(0, I)`` for ``scored`` codes and decodes
    ``z = temperature * eps``, so z ~ N(0, temperature^2 I): moving the temperature rescales the
    same codes, and the same digits sharpen or blur. The first ``shown`` are drawn; all are
    scored: the share recognised confidently, the entropy of the digits read, and for a CVAE
    (asked for 0, 1, ..., 9, 0, ... in turn) the share read as the digit asked for.

    Scoring is the slow part (the classifier reads every sample): to redraw in well under
    0.1 s on 2 cores it scores 100 samples by default, not lesson 4's 1,000, and says how
    precise that makes each share (within 5 points, one standard error).
    """
    if not isinstance(models, dict) or not models:
        raise TypeError("models must be a dict {name: trained VAE}, e.g. {'beta=1': vae}, got "
                        f"{type(models).__name__ if models else 'nothing'}")
    for name, model in models.items():
        if not isinstance(model, VAE):
            raise TypeError(f"models[{name!r}] is a {type(model).__name__}, but the browser "
                            "draws samples from VAEs (or CVAEs)")
    if classifier is not None and not isinstance(classifier, nn.Module):
        raise TypeError(f"classifier must be the digit classifier (zoo.trained('classifier')), "
                        f"got {type(classifier).__name__}")
    check_count(scored, "scored")
    check_count(shown, "shown")
    check_temperature(temperature)
    if shown > scored:
        raise ValueError(f"shown ({shown}) must be at most scored ({scored}): the images shown "
                         "are the first of those scored")
    choice = W.Dropdown(options=list(models), description="model")
    seed = W.IntSlider(value=0, min=0, max=99, description="seed")
    tau = W.FloatSlider(value=temperature, min=0.0, max=2.0, step=0.05, description="temperature",
                        style={"description_width": "initial"})
    image, scores = W.HTML(), W.HTML()

    def redraw(_change=None) -> None:
        model = models[choice.value]
        eps = torch.randn(scored, model.latent_dim, generator=torch.Generator().manual_seed(seed.value))
        asked = torch.arange(scored) % model.num_classes if isinstance(model, CVAE) else None
        X = decode_images(model, tau.value * eps, asked)
        lines = [f"<b>{choice.value}</b> at temperature {tau.value:.2f}: "
                 f"z ~ N(0, {tau.value:.2f}&sup2; I)"]
        read = readings(classifier, X) if classifier is not None else None
        if read is None:
            lines.append(NO_CLASSIFIER)
        else:
            digits, confidence = read
            sure = (confidence >= CONFIDENCE).float().mean().item()
            lines.append(f"{scored} samples: <b>{sure:.0%}</b> recognised confidently "
                         f"(probability &ge; {CONFIDENCE}); label entropy "
                         f"<b>{label_entropy(digits):.2f}</b> nats (all ten digits equally "
                         f"often: {math.log(10):.2f})")
            if asked is not None:
                fidelity = (digits == asked).float().mean().item()
                lines.append(f"label fidelity <b>{fidelity:.0%}</b>: read as the digit asked "
                             f"for (asked 0, 1, ..., 9 in turn: each column one digit)")
            # a share p of n samples has the standard error sqrt(p (1 - p) / n) <= 0.5 / sqrt(n)
            lines.append(f"Each share from {scored} samples is uncertain by up to "
                         f"&plusmn;{0.5 / math.sqrt(scored):.1%} (one standard error). Below: the "
                         f"first {min(shown, scored)}, each with the digit read and its "
                         "probability (dashed frame: not recognised).")
        scores.value = _html_block(lines)
        if read is not None:
            read = (read[0][:shown], read[1][:shown])
        image.value = judged_grid_html(X[:shown], read,
                                       asked=asked[:shown] if asked is not None else None)

    for control in (choice, seed, tau):
        control.observe(redraw, names="value")
    redraw()
    box = W.VBox([W.HBox([choice, seed, tau]), scores, image])
    box.choice, box.seed, box.temperature, box.image, box.scores = choice, seed, tau, image, scores
    return box


# --- Lesson 5: completing a digit ------------------------------------------------------------

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
                        num_samples: int = 8, *, classifier: nn.Module | None = None,
                        y: Tensor | None = None) -> W.VBox:
    """Pick a digit of ``X`` and how many quadrants are visible; see the baseline's one guess
    and ``num_samples`` completions by the CVAE (lesson 5). A seed slider draws new ones.

    With lesson 1's ``classifier``, each picture says which digit it reads, and the readout
    counts the different digits among the CVAE's completions and whether the true digit (its
    label in ``y``, else what the classifier reads in the whole digit) is one of them.
    """
    _check_completion_models(cvae, baseline, num_samples)
    check_images(X)
    index = W.IntSlider(value=0, min=0, max=len(X) - 1, description="test digit")
    quadrants = W.ToggleButtons(options=[1, 2, 3], value=1, description="visible",
                                style={"button_width": "40px"})
    seed = W.IntSlider(value=0, min=0, max=99, description="seed")
    image, readout = W.HTML(), W.HTML()
    titles = ["input", "truth", "baseline", *(f"CVAE {i + 1}" for i in range(num_samples))]

    def redraw(_change=None) -> None:
        torch.manual_seed(seed.value)
        row = completion_row(cvae, baseline, X[index.value:index.value + 1], quadrants.value,
                             num_samples)
        # the input, its hidden pixels grey, is no digit to read: only the others are judged
        read = readings(classifier, row[1:]) if classifier is not None else None
        image.value = ('<div style="display: flex; gap: 4px">'
                       + judged_grid_html(row[:1], None, nrow=1, titles=titles[:1])
                       + judged_grid_html(row[1:], read, nrow=len(row) - 1,
                                          titles=titles[1:]) + "</div>")
        if read is None:
            readout.value = _html_block([NO_CLASSIFIER])
            return
        digits = read[0]
        truth = y[index.value].item() if y is not None else digits[0].item()
        guess, samples = digits[1].item(), digits[2:].tolist()
        counts = ", ".join(f"{d} &times;{samples.count(d)}" for d in sorted(set(samples)))
        kinds = len(set(samples))
        source = "its label" if y is not None else "as the classifier reads it"
        readout.value = _html_block([
            f"The truth is a <b>{truth}</b> ({source}); the baseline's guess reads as a "
            f"<b>{guess}</b> {'&#10003;' if guess == truth else '&#10007;'}",
            f"The CVAE's {num_samples} completions read as {counts}: <b>{kinds}</b> different "
            f"digit{'s' * (kinds > 1)}, "
            + ("the truth among them" if truth in samples else
               f'<span style="color: {UNSURE}">the truth not among them</span>')])

    for control in (index, quadrants, seed):
        control.observe(redraw, names="value")
    redraw()
    box = W.VBox([W.HBox([index, seed]), quadrants, readout, image])
    box.index, box.quadrants, box.seed, box.image, box.readout = index, quadrants, seed, image, readout
    return box


# --- What the builders take (the checks themselves are in inputs) ----------------------------

def _check_latent_model(model: nn.Module) -> None:
    check_model(model, "a trained Autoencoder, VAE or CVAE", (Autoencoder, VAE),
                hint=": for lesson 5's models, use completion_explorer"
                if isinstance(model, CompletionCVAE | CompletionNet) else "")


def _check_completion_models(cvae: CompletionCVAE | None, baseline: CompletionNet,
                             num_samples: int) -> None:
    check_model(baseline, "lesson 5's CompletionNet", (CompletionNet,), where="baseline must be")
    check_count(num_samples, "num_samples", minimum=0)
    if num_samples:
        check_model(cvae, f"lesson 5's CompletionCVAE to draw {num_samples} completions",
                    (CompletionCVAE,), where="cvae must be",
                    hint=" (pass num_samples=0 to show the baseline alone)")


def _check_readers(model: VAE | Autoencoder, classifier: nn.Module | None,
                   codes: Tensor | None, labels: Tensor | None,
                   order: Sequence[int] | Tensor | None) -> None:
    """What a latent explorer reads its pictures with: the classifier, the lesson's codes and
    their labels, and the order of the sliders."""
    if classifier is not None:
        check_model(classifier, "the digit classifier (clf, _ = zoo.trained(\"classifier\"))",
                    where="classifier must be")
    if codes is not None:
        check_codes(codes, model, same_device=False)
        if labels is not None:
            check_labels(labels, len(codes), name="labels")
    if order is not None:
        check_order(order, model.latent_dim)
