import io

import torch
from PIL import Image as PILImage

from cvae_helpers.data import visible_mask
from cvae_helpers.models import CVAE, VAE, Classifier, CompletionCVAE, CompletionNet
from cvae_helpers.widgets import (
    completion_explorer,
    completion_row,
    decode_image,
    grid_png,
    image_png,
    latent_explorer,
    sample_browser,
)


def test_sliders_show_the_decoding_of_exactly_their_values():
    torch.manual_seed(0)
    model = VAE(2, hidden=(16,))
    box = latent_explorer(model)
    box.sliders[0].value, box.sliders[1].value = 1.25, -0.5
    expected = torch.sigmoid(model.decode(torch.tensor([[1.25, -0.5]])))[0]
    assert box.image.value == image_png(expected)
    assert box.image.value != image_png(decode_image(model, torch.zeros(2)))


def test_changing_the_digit_with_z_held_changes_the_image():
    torch.manual_seed(0)
    model = CVAE(3, hidden=(16,))
    box = latent_explorer(model, digit=2)
    box.sliders[2].value = 0.7
    shown_2 = box.image.value
    z = torch.tensor([[0.0, 0.0, 0.7]])
    assert shown_2 == image_png(torch.sigmoid(model.decode(z, torch.tensor([2])))[0])
    box.digit.value = 8
    assert box.image.value != shown_2
    assert box.image.value == image_png(torch.sigmoid(model.decode(z, torch.tensor([8])))[0])


def test_a_large_latent_gets_a_few_sliders_with_the_rest_at_zero():
    model = VAE(20, hidden=(16,))
    box = latent_explorer(model, max_sliders=4)
    assert len(box.sliders) == 4
    box.sliders[3].value = 2.0
    z = torch.zeros(1, 20)
    z[0, 3] = 2.0
    assert box.image.value == image_png(torch.sigmoid(model.decode(z))[0])


def test_the_sample_browser_shows_the_chosen_model_and_seed():
    torch.manual_seed(0)
    models = {"a": VAE(2, hidden=(16,)), "b": VAE(2, hidden=(16,))}
    box = sample_browser(models, Classifier(), shown=8, scored=20)
    box.choice.value, box.seed.value = "b", 3
    torch.manual_seed(3)
    assert box.image.value == grid_png(models["b"].sample(20)[:8])
    assert "<b>b</b>, 20 samples" in box.scores.value
    # 8 images in one row of a grid with 2-pixel borders, enlarged twice, shown at that size
    shown_size = (int(box.image.width), int(box.image.height))
    assert shown_size == PILImage.open(io.BytesIO(box.image.value)).size == (2 * 242, 2 * 32)
    box.seed.value = 4
    torch.manual_seed(3)
    assert box.image.value != grid_png(models["b"].sample(20)[:8])


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
    assert box.image.value == grid_png(completion_row(cvae, baseline, X[2:3], 3, 4), nrow=7, scale=3)
