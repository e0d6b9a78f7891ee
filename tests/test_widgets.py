import torch

from cvae_helpers.models import CVAE, VAE
from cvae_helpers.widgets import decode_image, image_png, latent_explorer


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
