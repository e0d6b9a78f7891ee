import pytest
import torch

from cvae_helpers.data import mask_input, visible_mask
from cvae_helpers.models import (
    CVAE,
    VAE,
    Autoencoder,
    Classifier,
    CompletionCVAE,
    CompletionNet,
    MLPClassifier,
    condition,
    reparameterize,
)


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


def test_completion_model_shapes():
    Y = torch.rand(5, 1, 28, 28)
    X_in = mask_input(Y, visible_mask(1))
    assert CompletionNet(hidden=(32,))(X_in).shape == (5, 1, 28, 28)
    model = CompletionCVAE(latent_dim=3, hidden=(32, 16))
    mu_q, logvar_q = model.recognize(X_in, Y)
    mu_p, logvar_p = model.prior_params(X_in)
    assert mu_q.shape == logvar_q.shape == mu_p.shape == logvar_p.shape == (5, 3)
    assert model.decode(torch.zeros(5, 3), X_in).shape == (5, 1, 28, 28)
    logits, q, p = model(X_in, Y)
    assert logits.shape == (5, 1, 28, 28)
    assert torch.equal(q[0], mu_q) and torch.equal(p[1], logvar_p)


def test_the_completion_cvae_recognizes_with_the_whole_digit_and_its_prior_without():
    model = CompletionCVAE(latent_dim=3, hidden=(32,))
    Y, other = torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    X_in = mask_input(Y, visible_mask(2))
    assert not torch.allclose(model.recognize(X_in, Y)[0], model.recognize(X_in, other)[0])
    assert torch.equal(model.prior_params(X_in)[0], model.prior_params(X_in.clone())[0])


def test_completion_cvae_samples_are_n_completions_of_each_input():
    model = CompletionCVAE(latent_dim=3, hidden=(32,))
    X_in = mask_input(torch.rand(4, 1, 28, 28), visible_mask(3))
    samples = model.sample(X_in, n=6)
    assert samples.shape == (6, 4, 1, 28, 28)
    assert 0 <= samples.min() and samples.max() <= 1
    assert not torch.allclose(samples[0], samples[1])  # each draws its own z ~ p(z|x)
    assert model.sample(X_in).shape == (1, 4, 1, 28, 28)


def test_completion_cvae_sample_i_of_image_n_decodes_image_n():
    model = CompletionCVAE(latent_dim=3, hidden=(32,))
    torch.nn.init.constant_(model.prior[-1].bias[3:], -60.0)  # sigma ~ 0: z is the prior's mean
    X_in = mask_input(torch.rand(3, 1, 28, 28), visible_mask(1))
    with torch.no_grad():
        mean_images = torch.sigmoid(model.decode(model.prior_params(X_in)[0], X_in))
    samples = model.sample(X_in, n=2)
    assert torch.allclose(samples[0], mean_images, atol=1e-5)
    assert torch.allclose(samples[1], mean_images, atol=1e-5)


def test_completion_cvae_decode_refuses_codes_of_the_wrong_size():
    model = CompletionCVAE(latent_dim=3, hidden=(16,))
    X_in = torch.rand(4, 1, 28, 28)
    with pytest.raises(ValueError, match=r"expected latent codes shaped \[N, 3\].*got \[4, 5\]"):
        model.decode(torch.zeros(4, 5), X_in)
    with pytest.raises(ValueError, match=r"got \[3\]"):
        model.decode(torch.zeros(3), X_in)


def test_completion_models_refuse_flat_inputs():
    with pytest.raises(ValueError, match=r"expected images shaped \[N, 1, 28, 28\]"):
        CompletionNet(hidden=(16,))(torch.rand(2, 784))
    with pytest.raises(ValueError, match=r"expected images shaped \[N, 1, 28, 28\]"):
        CompletionCVAE(2, hidden=(16,)).prior_params(torch.rand(2, 784))


def test_every_model_owns_its_objective():
    """``model.loss(X, y, beta)`` returns the loss and its parts, nats per image, so that one
    loop trains every model."""
    torch.manual_seed(0)
    X, y = torch.rand(6, 1, 28, 28), torch.tensor([0, 1, 2, 3, 4, 5])
    counts = torch.tensor([1, 2, 3, 1, 2, 3])
    expected_parts = [
        (Autoencoder(2, hidden=(16,)), y, {"loss", "recon"}),
        (VAE(2, hidden=(16,)), y, {"loss", "recon", "kl"}),
        (CVAE(2, hidden=(16,)), y, {"loss", "recon", "kl"}),
        (Classifier(), y, {"loss"}),
        (MLPClassifier(hidden=(16,)), y, {"loss"}),
        (CompletionNet(hidden=(16,)), counts, {"loss", "recon"}),
        (CompletionCVAE(2, hidden=(16,)), counts, {"loss", "recon", "kl"}),
    ]
    for model, targets, parts in expected_parts:
        losses = model.loss(X, targets, 1.0)
        assert set(losses) == parts, type(model).__name__
        assert losses["loss"].dim() == 0 and losses["loss"] > 0
        if "kl" in parts:  # beta weights the KL: the same draw of z, three times its KL
            torch.manual_seed(1)
            a = model.loss(X, targets, 1.0)
            torch.manual_seed(1)
            b = model.loss(X, targets, 3.0)
            assert torch.allclose(b["loss"], a["recon"] + 3 * a["kl"])


def test_the_second_classifier_is_another_architecture():
    mlp_judge = MLPClassifier(hidden=(32, 16))
    assert mlp_judge(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert not any(isinstance(m, torch.nn.Conv2d) for m in mlp_judge.modules())
