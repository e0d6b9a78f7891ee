"""The widgets show exactly what their controls say, with true numbers beside each picture, and
send no binary buffers. tests/test_widgets_ipywidgets7.py runs this file again under
ipywidgets 7.7.1, Colab's version; it sets CVAE_EXPECT_IPYWIDGETS to the version it installed."""

import base64
import copy
import io
import math
import os
import re
from html import unescape

import ipywidgets
import pytest
import torch
from ipywidgets.widgets.widget import _remove_buffers
from PIL import Image as PILImage

from cvae_helpers.data import visible_mask
from cvae_helpers.evaluate import label_entropy, predict_proba
from cvae_helpers.models import CVAE, VAE, Autoencoder, Classifier, CompletionCVAE, CompletionNet
from cvae_helpers.plots import DIGIT_COLORS
from cvae_helpers.widgets import (
    NO_CLASSIFIER,
    NO_PRIOR,
    completion_explorer,
    completion_row,
    decode_image,
    decode_images,
    dimensions_by_kl,
    grid_png,
    image_png,
    judged_grid_html,
    latent_explorer,
    png_html,
    prior_share_farther,
    readings,
    sample_browser,
)


def pngs_in(html: str) -> list[bytes]:
    """The PNG pictures an HTML widget's text carries, in order."""
    return [base64.b64decode(data) for data in re.findall(r"data:image/png;base64,([^\"]+)", html)]


def text_of(html: str) -> str:
    """What a reader sees of ``html``: the text without its tags, entities decoded."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def reads(digit: int, confidence_logit: float = 10.0) -> Classifier:
    """A classifier that reads ``digit`` in every image, with probability
    e^l / (e^l + 9) for l = ``confidence_logit``."""
    classifier = Classifier()
    with torch.no_grad():
        classifier.head.weight.zero_()
        classifier.head.bias.zero_()
        classifier.head.bias[digit] = confidence_logit
    return classifier


def test_the_widgets_import_the_ipywidgets_they_were_asked_to_run_under():
    expected = os.environ.get("CVAE_EXPECT_IPYWIDGETS")
    if expected:  # the ipywidgets 7 run sets it; the plain run imports whatever is installed
        assert ipywidgets.__version__ == expected
    assert int(ipywidgets.__version__.split(".")[0]) in (7, 8)


def test_sliders_show_the_decoding_of_exactly_their_values():
    torch.manual_seed(0)
    model = VAE(2, hidden=(16,))
    box = latent_explorer(model)
    box.sliders[0].value, box.sliders[1].value = 1.25, -0.5
    expected = torch.sigmoid(model.decode(torch.tensor([[1.25, -0.5]])))[0]
    assert box.image.value == png_html(image_png(expected))
    assert pngs_in(box.image.value) == [image_png(expected)]
    assert box.image.value != png_html(image_png(decode_image(model, torch.zeros(2))))


def test_a_picture_is_shown_at_its_own_size():
    png = grid_png(torch.rand(8, 1, 28, 28))
    # 8 images in one row of a grid with 2-pixel borders, enlarged twice
    assert PILImage.open(io.BytesIO(png)).size == (2 * 242, 2 * 32)
    assert 'width="484" height="64"' in png_html(png)


def test_changing_the_digit_with_z_held_changes_the_image():
    torch.manual_seed(0)
    model = CVAE(3, hidden=(16,))
    box = latent_explorer(model, digit=2)
    box.sliders[2].value = 0.7
    shown_2 = box.image.value
    z = torch.tensor([[0.0, 0.0, 0.7]])
    assert shown_2 == png_html(image_png(torch.sigmoid(model.decode(z, torch.tensor([2])))[0]))
    box.digit.value = 8
    assert box.image.value != shown_2
    assert box.image.value == png_html(image_png(torch.sigmoid(model.decode(z, torch.tensor([8])))[0]))


def test_a_large_latent_gets_a_few_sliders_with_the_rest_at_zero():
    model = VAE(20, hidden=(16,))
    box = latent_explorer(model, max_sliders=4)
    assert len(box.sliders) == 4
    box.sliders[3].value = 2.0
    z = torch.zeros(1, 20)
    z[0, 3] = 2.0
    assert box.image.value == png_html(image_png(torch.sigmoid(model.decode(z))[0]))
    text = text_of(box.readout.value)
    assert "The other 16 dimensions are held at 0" in text
    assert "in 20 dimensions a typical draw has |z| near √20 = 4.47" in text


def sorted_copy(model: VAE, order: torch.Tensor) -> VAE:
    """Lesson 2's ``sorted_by_use``: the same model with its latent dimension i being the
    original dimension order[i]."""
    model = copy.deepcopy(model)
    head, tail = model.encoder[-1], model.decoder[0]
    rows = torch.cat([order, order + model.latent_dim])
    head.weight.data, head.bias.data = head.weight.data[rows], head.bias.data[rows]
    tail.weight.data = tail.weight.data[:, order]
    return model


def test_ordered_sliders_move_the_dimensions_they_name():
    torch.manual_seed(0)
    model = VAE(8, hidden=(16,))
    order = torch.tensor([5, 2, 7, 0, 1, 3, 4, 6])
    box = latent_explorer(model, max_sliders=3, order=order)
    assert [s.description for s in box.sliders] == ["z6", "z3", "z8"]
    values = (1.5, -2.0, 0.75)
    for slider, value in zip(box.sliders, values, strict=True):
        slider.value = value
    z = torch.zeros(8)
    z[[5, 2, 7]] = torch.tensor(values)
    assert box.image.value == png_html(image_png(decode_image(model, z)))
    # lesson 2's sorted copy, explored in its own order, decodes the same picture
    copy_model = sorted_copy(model, order)
    copy_box = latent_explorer(copy_model, max_sliders=3)
    for slider, value in zip(copy_box.sliders, values, strict=True):
        slider.value = value
    z_copy = torch.tensor([*values, 0, 0, 0, 0, 0])
    assert copy_box.image.value == png_html(image_png(decode_image(copy_model, z_copy)))
    assert torch.allclose(decode_image(copy_model, z_copy), decode_image(model, z), atol=1e-5)


def test_dimensions_by_kl_puts_the_dimension_the_encoder_uses_most_first():
    torch.manual_seed(0)
    X = torch.rand(64, 1, 28, 28)
    for model, y in ((VAE(6, hidden=(16,)), None),
                     (CVAE(6, hidden=(16,)), torch.randint(0, 10, (64,)))):
        with torch.no_grad():  # the mean of z4 follows the image strongly, z2 a little less
            model.encoder[-1].weight[3] *= 50
            model.encoder[-1].weight[1] *= 20
        order = dimensions_by_kl(model, X, y, batch_size=16)
        assert sorted(order.tolist()) == list(range(6))
        assert order[:2].tolist() == [3, 1]
    with pytest.raises(ValueError, match="labels"):
        dimensions_by_kl(model, X)


def test_the_readout_gives_the_classifiers_reading_and_the_codes_prior_density():
    torch.manual_seed(0)
    model, classifier = VAE(2, hidden=(16,)), Classifier()
    box = latent_explorer(model, classifier=classifier)
    box.sliders[0].value, box.sliders[1].value = 1.25, -0.5
    probs = predict_proba(classifier, decode_image(model, torch.tensor([1.25, -0.5]))[None])[0]
    text = text_of(box.readout.value)
    assert f"reads a {probs.argmax().item()} , probability {probs.max().item():.2f}" in text
    log_p = -0.5 * (2 * math.log(2 * math.pi) + 1.25 ** 2 + 0.5 ** 2)
    assert f"log p(z) = {log_p:.2f} nats" in text
    # in 2-D, P(|Z| > r) = e^(-r^2/2) (lesson 2)
    assert f"{math.exp(-(1.25 ** 2 + 0.5 ** 2) / 2):.1%} of prior draws lie farther" in text


def test_small_shares_stay_readable():
    box = latent_explorer(VAE(2, hidden=(16,)), limit=5.0)
    box.sliders[0].value = 3.5  # e^(-3.5^2 / 2) = 0.22%
    assert "0.22% of prior draws lie farther" in text_of(box.readout.value)
    box.sliders[1].value = 3.5  # e^(-3.5^2) = 0.0005%
    assert "less than 0.01% of prior draws lie farther" in text_of(box.readout.value)


def test_the_prior_share_farther_out_is_the_chi_squared_tail():
    assert prior_share_farther(torch.tensor([3.0, 0.0])) == pytest.approx(math.exp(-4.5))
    draws = torch.randn(200_000, 20, generator=torch.Generator().manual_seed(0))
    z = torch.full((20,), 1.1)  # |z| = 4.9, a little beyond the typical draw's 4.5
    empirical = (draws.norm(dim=1) > z.norm()).float().mean().item()
    assert prior_share_farther(z) == pytest.approx(empirical, abs=0.005)


def test_a_cvae_explorer_says_whether_the_digit_read_is_the_digit_asked_for():
    torch.manual_seed(0)
    box = latent_explorer(CVAE(2, hidden=(16,)), digit=4, classifier=reads(4))
    assert "the digit asked for" in text_of(box.readout.value)
    assert "asked for a" not in text_of(box.readout.value)
    box.digit.value = 7
    assert "asked for a 7, the classifier reads a 4" in text_of(box.readout.value)


def test_without_a_classifier_the_readout_says_what_is_missing():
    box = latent_explorer(VAE(2, hidden=(16,)))
    assert NO_CLASSIFIER in box.readout.value
    assert "zoo.trained" in text_of(box.readout.value)


def test_an_autoencoder_has_no_prior_and_the_readout_names_the_nearest_code():
    torch.manual_seed(0)
    codes = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, -10.0]])
    box = latent_explorer(Autoencoder(2, hidden=(16,)), limit=20.0, classifier=reads(3, 1.0),
                          codes=codes, labels=torch.tensor([1, 7, 3]))
    assert NO_PRIOR in box.readout.value and "log p(z)" not in box.readout.value
    box.sliders[0].value, box.sliders[1].value = 7.0, 4.0
    text = text_of(box.readout.value)
    assert "Nearest of the 3 codes given : a 7, 5.00 away" in text
    assert f"reads a 3 , probability {math.e / (math.e + 9):.2f}: not recognised" in text


def test_the_marker_on_the_scatter_lies_on_the_codes_own_dots():
    # every code of digit 3 at one spot, of digit 8 at another: the marker's pixel in the
    # scatter's picture has the colour of the digit whose codes the sliders point at
    codes = torch.cat([torch.tensor([[1.5, -2.0]]).expand(500, 2),
                       torch.tensor([[-2.5, 1.0]]).expand(500, 2)])
    labels = torch.tensor([3] * 500 + [8] * 500)
    box = latent_explorer(VAE(2, hidden=(16,)), limit=3.0, codes=codes, labels=labels)
    scatter = PILImage.open(io.BytesIO(pngs_in(box.scatter.value)[0])).convert("RGB")
    for (z1, z2), digit in (((1.5, -2.0), 3), ((-2.5, 1.0), 8)):
        box.sliders[0].value, box.sliders[1].value = z1, z2
        cx, cy = (float(v) for v in re.search(r'cx="([\d.]+)" cy="([\d.]+)"', box.marker.value).groups())
        colour = "#" + "".join(f"{c:02X}" for c in scatter.getpixel((round(cx), round(cy))))
        assert colour == DIGIT_COLORS[digit].upper()
    # the marker is a layer over the scatter, in the same cell of the grid
    assert box.scatter.layout.grid_area == box.marker.layout.grid_area == "plot"


def test_the_sample_browser_decodes_temperature_times_the_seeds_codes():
    torch.manual_seed(0)
    models = {"a": VAE(2, hidden=(16,)), "b": VAE(2, hidden=(16,))}
    box = sample_browser(models, Classifier(), shown=8, scored=20)
    box.choice.value, box.seed.value, box.temperature.value = "b", 3, 0.5
    eps = torch.randn(20, 2, generator=torch.Generator().manual_seed(3))
    X = torch.sigmoid(models["b"].decode(0.5 * eps)).detach()
    assert pngs_in(box.image.value) == [image_png(x, 2) for x in X[:8]]
    assert "<b>b</b> at temperature 0.50" in box.scores.value
    box.temperature.value = 0.0  # every code is the prior's mean: one picture, repeated
    assert len(set(pngs_in(box.image.value))) == 1
    box.temperature.value, box.seed.value = 0.5, 4
    assert pngs_in(box.image.value) != [image_png(x, 2) for x in X[:8]]


def test_the_sample_browser_scores_what_it_draws():
    torch.manual_seed(0)
    model, classifier = VAE(2, hidden=(16,)), Classifier()
    box = sample_browser({"vae": model}, classifier, shown=4, scored=30, temperature=1.5)
    eps = torch.randn(30, 2, generator=torch.Generator().manual_seed(0))
    probs = predict_proba(classifier, decode_images(model, 1.5 * eps))
    sure = (probs.max(1).values >= 0.9).float().mean().item()
    text = text_of(box.scores.value)
    assert f"30 samples: {sure:.0%} recognised confidently" in text
    assert f"label entropy {label_entropy(probs.argmax(1)):.2f} nats" in text
    assert "uncertain by up to ±9.1% (one standard error)" in text and "the first 4" in text
    assert text_of(box.image.value).split()[:2] == [f"{probs[0].argmax().item()}",
                                                    f"({probs[0].max().item():.2f})"]


def test_a_cvae_in_the_sample_browser_is_asked_for_each_digit_in_turn():
    model = CVAE(2, hidden=(16,))
    box = sample_browser({"cvae": model}, reads(4), shown=10, scored=20)
    assert "label fidelity 10%" in text_of(box.scores.value)  # only the 4s are read right
    assert box.image.value.count("&#10007;") == 9
    eps = torch.randn(20, 2, generator=torch.Generator().manual_seed(0))
    assert pngs_in(box.image.value)[:10] == [
        image_png(x, 2) for x in decode_images(model, eps, torch.arange(20) % 10)[:10]]


def test_without_a_classifier_the_browser_still_shows_its_samples():
    box = sample_browser({"vae": VAE(2, hidden=(16,))}, shown=6, scored=6)
    assert len(pngs_in(box.image.value)) == 6
    assert NO_CLASSIFIER in box.scores.value


def test_the_completion_explorer_keeps_the_visible_pixels_and_draws_the_rest():
    torch.manual_seed(0)
    cvae, baseline = CompletionCVAE(3, hidden=(16,)), CompletionNet(hidden=(16,))
    X = torch.rand(5, 1, 28, 28)
    row = completion_row(cvae, baseline, X[2:3], 1, num_samples=4)
    assert row.shape == (7, 1, 28, 28)
    visible = visible_mask(1)
    assert torch.equal(row[1], X[2])  # the truth
    for guess in row[2:]:  # the baseline's guess and the samples keep the visible pixels
        assert torch.equal(guess[visible], X[2][visible])
    assert not torch.equal(row[3], row[4])  # two samples, two completions
    box = completion_explorer(cvae, baseline, X, num_samples=4)
    box.index.value, box.quadrants.value, box.seed.value = 2, 3, 7
    torch.manual_seed(7)
    expected = completion_row(cvae, baseline, X[2:3], 3, 4)
    assert pngs_in(box.image.value) == [image_png(x, 2) for x in expected]
    assert NO_CLASSIFIER in box.readout.value


def test_the_completion_explorer_reads_each_completion():
    torch.manual_seed(0)
    cvae, baseline = CompletionCVAE(3, hidden=(16,)), CompletionNet(hidden=(16,))
    X = torch.rand(3, 1, 28, 28)
    box = completion_explorer(cvae, baseline, X, num_samples=5, classifier=reads(6),
                              y=torch.tensor([6, 6, 2]))
    text = text_of(box.readout.value)
    assert "The truth is a 6 (its label); the baseline's guess reads as a 6 \u2713" in text
    assert "read as 6 ×5: 1 different digit, the truth among them" in text
    box.index.value = 2
    assert "the truth not among them" in text_of(box.readout.value)
    assert text_of(box.image.value).count("6 (") == 7  # every picture but the input is read


# --- No binary buffers, in any widget a builder makes --------------------------------------

def all_widgets(widget: ipywidgets.Widget) -> list[ipywidgets.Widget]:
    """``widget`` and every widget it refers to (children, layouts, styles...), recursively:
    whatever a frontend would be sent."""
    seen: dict[int, ipywidgets.Widget] = {}

    def visit(value) -> None:
        if isinstance(value, ipywidgets.Widget) and id(value) not in seen:
            seen[id(value)] = value
            for key in value.keys:
                visit(getattr(value, key))
        elif isinstance(value, list | tuple):
            for item in value:
                visit(item)

    visit(widget)
    return list(seen.values())


def widgets_with_buffers(widget: ipywidgets.Widget) -> list[str]:
    """The widgets, among ``all_widgets``, whose state ipywidgets would send with binary
    buffers, with the paths of those buffers."""
    found = []
    for w in all_widgets(widget):
        _, buffer_paths, buffers = _remove_buffers(w.get_state())
        if buffers:
            found.append(f"{type(w).__name__} {buffer_paths}")
    return found


def test_the_buffer_check_finds_a_picture_sent_as_bytes():
    hidden = ipywidgets.VBox([ipywidgets.HBox([ipywidgets.Image(value=image_png(torch.rand(1, 28, 28)))])])
    assert widgets_with_buffers(hidden) == ["Image [['value']]"]


def every_builder():
    torch.manual_seed(0)
    X, y = torch.rand(30, 1, 28, 28), torch.randint(0, 10, (30,))
    clf = Classifier()
    codes = torch.randn(30, 2)
    yield "autoencoder explorer", latent_explorer(Autoencoder(2, hidden=(16,)), 10.0, classifier=clf,
                                                  codes=codes, labels=y)
    yield "2-D VAE explorer", latent_explorer(VAE(2, hidden=(16,)), classifier=clf, codes=codes, labels=y)
    vae = VAE(20, hidden=(16,))
    yield "20-D VAE explorer", latent_explorer(vae, classifier=clf, order=dimensions_by_kl(vae, X))
    yield "2-D CVAE explorer", latent_explorer(CVAE(2, hidden=(16,)), digit=7, classifier=clf,
                                               codes=codes, labels=y)
    yield "20-D CVAE explorer", latent_explorer(CVAE(20, hidden=(16,)), classifier=clf)
    yield "sample browser", sample_browser({"vae": vae, "cvae": CVAE(2, hidden=(16,))}, clf,
                                           shown=10, scored=20)
    yield "completion explorer", completion_explorer(CompletionCVAE(3, hidden=(16,)),
                                                     CompletionNet(hidden=(16,)), X, 3,
                                                     classifier=clf, y=y)


def test_no_widget_of_any_builder_sends_a_binary_buffer():
    for name, box in every_builder():
        parts = all_widgets(box)
        assert len(parts) > 10, name  # boxes, controls, pictures, their layouts and styles
        assert not any(isinstance(w, ipywidgets.Image) for w in parts), name
        assert widgets_with_buffers(box) == [], name
        assert any(pngs_in(w.value) for w in parts if isinstance(w, ipywidgets.HTML)), name


def test_every_control_redraws_without_a_buffer():
    for name, box in every_builder():
        controls = [w for w in all_widgets(box) if isinstance(w, ipywidgets.ValueWidget)
                    and not isinstance(w, ipywidgets.HTML)]
        for control in controls:
            before = [w.value for w in all_widgets(box) if isinstance(w, ipywidgets.HTML)]
            if isinstance(control, ipywidgets.FloatSlider | ipywidgets.IntSlider):
                control.value = control.max
            else:
                control.value = control.options[-1]
            after = [w.value for w in all_widgets(box) if isinstance(w, ipywidgets.HTML)]
            assert after != before, f"{name}: {control.description}"
        assert widgets_with_buffers(box) == [], name


def test_judged_grids_frame_what_is_recognised():
    X = torch.rand(3, 1, 28, 28)
    html = judged_grid_html(X, readings(reads(2), X), nrow=3)
    assert html.count("solid") == 3 and "dashed" not in html
    html = judged_grid_html(X, readings(reads(2, 1.0), X), nrow=3, asked=torch.tensor([2, 5, 2]))
    assert html.count("dashed") == 3 and html.count("&#10007;") == 1
