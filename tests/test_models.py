import pytest
import torch

from cvae_helpers.models import CVAE, VAE, Autoencoder, Classifier, condition, reparameterize


def test_reparameterize_passes_gradients_to_mu_and_logvar():
    mu = torch.zeros(8, 3, requires_grad=True)
    logvar = torch.zeros(8, 3, requires_grad=True)
    (reparameterize(mu, logvar) ** 2).sum().backward()
    assert mu.grad is not None and mu.grad.abs().sum() > 0
    assert logvar.grad is not None and logvar.grad.abs().sum() > 0


def test_reparameterize_has_the_right_mean_and_variance():
    mu = torch.tensor([1.0, -2.0]).expand(200_000, 2)
    logvar = torch.tensor([0.0, 2.0]).expand(200_000, 2)  # variances 1 and e^2
    z = reparameterize(mu, logvar)
    assert torch.allclose(z.mean(0), torch.tensor([1.0, -2.0]), atol=0.03)
    assert torch.allclose(z.var(0), torch.tensor([1.0, torch.e ** 2]), rtol=0.02)


@pytest.mark.parametrize("latent_dim", [2, 20])
def test_model_shapes(latent_dim):
    X, y = torch.rand(5, 1, 28, 28), torch.tensor([0, 3, 9, 1, 1])
    ae = Autoencoder(latent_dim, hidden=(64, 32))
    assert ae.encode(X).shape == (5, latent_dim)
    assert ae(X).shape == (5, 1, 28, 28)
    vae = VAE(latent_dim, hidden=(64,))
    logits, mu, logvar = vae(X)
    assert logits.shape == X.shape and mu.shape == logvar.shape == (5, latent_dim)
    assert vae.sample(7).shape == (7, 1, 28, 28)
    cvae = CVAE(latent_dim, hidden=(64,))
    logits, mu, logvar = cvae(X, y)
    assert logits.shape == X.shape and mu.shape == (5, latent_dim)
    samples = cvae.sample(4, labels=3, temperature=0.5)
    assert samples.shape == (4, 1, 28, 28) and 0 <= samples.min() and samples.max() <= 1
    assert Classifier()(X).shape == (5, 10)


def test_cvae_decodes_one_code_to_different_images_by_label():
    cvae = CVAE(2, hidden=(32,))
    z = torch.zeros(2, 2)
    a, b = cvae.decode(z, torch.tensor([1, 7]))
    assert not torch.allclose(a, b)


def test_temperature_zero_gives_the_decoding_of_the_prior_mean():
    cvae = CVAE(3, hidden=(32,))
    samples = cvae.sample(3, labels=5, temperature=0.0)
    expected = torch.sigmoid(cvae.decode(torch.zeros(3, 3), torch.full((3,), 5)))
    assert torch.allclose(samples, expected)


def test_condition_appends_a_one_hot_label():
    h = torch.randn(2, 4)
    out = condition(h, torch.tensor([0, 9]))
    assert out.shape == (2, 14)
    assert torch.equal(out[:, :4], h)
    assert out[0, 4] == 1 and out[1, 13] == 1 and out[:, 4:].sum() == 2


def test_labels_outside_0_to_9_get_a_clear_error():
    cvae = CVAE(2, hidden=(16,))
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9, got values from 0 to 10"):
        cvae(torch.rand(2, 1, 28, 28), torch.tensor([0, 10]))
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9"):
        cvae.sample(2, labels=-1)
    with pytest.raises(TypeError, match="labels must be integers"):
        cvae(torch.rand(2, 1, 28, 28), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="expected 2 labels"):
        cvae(torch.rand(2, 1, 28, 28), torch.tensor([0, 1, 2]))


def test_an_image_of_the_wrong_shape_gets_a_clear_error():
    vae = VAE(2, hidden=(16,))
    with pytest.raises(ValueError, match=r"expected images shaped \[N, 1, 28, 28\], got \[3, 784\]"
                       r".*X\.view\(-1, 1, 28, 28\)"):
        vae(torch.rand(3, 784))
    with pytest.raises(ValueError, match=r"got \[28, 28\]"):
        Classifier()(torch.rand(28, 28))


def test_a_latent_size_that_does_not_match_gets_a_clear_error():
    vae = VAE(2, hidden=(16,))
    with pytest.raises(ValueError, match=r"expected latent codes shaped \[N, 2\] \(this model's "
                       r"latent_dim\), got \[4, 20\]"):
        vae.decode(torch.zeros(4, 20))
    with pytest.raises(ValueError, match=r"\[N, 5\]"):
        Autoencoder(5, hidden=(16,)).decode(torch.zeros(1, 2))


def test_a_vae_refuses_labels():
    with pytest.raises(ValueError, match="use a CVAE"):
        VAE(2, hidden=(16,)).sample(2, labels=torch.tensor([1, 2]))
