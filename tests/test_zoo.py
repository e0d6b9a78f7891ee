import pytest
import torch

from cvae_helpers import zoo
from cvae_helpers.models import CompletionCVAE, CompletionNet


@pytest.fixture
def tiny_mnist(monkeypatch, small_train, small_test, tmp_path):
    """Train on 2,000 images and cache into a temporary folder."""
    monkeypatch.setattr(zoo, "load_mnist",
                        lambda split: small_train if split == "train" else small_test)
    monkeypatch.setenv("CVAE_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_a_model_is_trained_once_then_loaded_from_the_cache(tiny_mnist, monkeypatch):
    model, history = zoo.trained("autoencoder", device="cpu", num_epochs=1, hidden=[32])
    assert len(history["test_loss"]) == 1
    assert len(list(tiny_mnist.glob("autoencoder-*.pt"))) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("the cached model should have been loaded")

    monkeypatch.setattr(zoo, "fit", no_training)
    again, history_again = zoo.trained("autoencoder", device="cpu", num_epochs=1, hidden=[32])
    assert history_again == history
    assert all(torch.equal(model.state_dict()[k], again.state_dict()[k])
               for k in model.state_dict())


def test_another_setting_trains_another_model(tiny_mnist):
    zoo.trained("autoencoder", device="cpu", num_epochs=1, hidden=[32])
    zoo.trained("autoencoder", device="cpu", num_epochs=1, hidden=[32], seed=1)
    assert len(list(tiny_mnist.glob("autoencoder-*.pt"))) == 2


def test_a_damaged_cache_file_is_retrained(tiny_mnist, capsys):
    zoo.trained("autoencoder", device="cpu", num_epochs=1, hidden=[32])
    (path,) = tiny_mnist.glob("autoencoder-*.pt")
    path.write_bytes(b"not a checkpoint")
    model, history = zoo.trained("autoencoder", device="cpu", num_epochs=1, hidden=[32])
    assert "Ignoring a damaged cached model" in capsys.readouterr().out
    assert len(history["test_loss"]) == 1


def test_unknown_names_and_settings_are_refused():
    with pytest.raises(KeyError, match="choose one of"):
        zoo.config("gan")
    with pytest.raises(KeyError, match="has no setting"):
        zoo.config("vae", latent=3)


@pytest.mark.parametrize(("name", "cls"), [("completion_net", CompletionNet),
                                           ("completion_cvae", CompletionCVAE)])
def test_the_completion_configs_build_their_models(name, cls):
    cfg = zoo.config(name, hidden=[16])
    model = zoo.build(cfg)
    assert type(model) is cls
    assert model.config["hidden"] == [16]
    X_in = torch.rand(2, 1, 28, 28)
    out = model(X_in) if cls is CompletionNet else model(X_in, X_in)[0]
    assert out.shape == (2, 1, 28, 28)
    assert torch.equal(next(zoo.build(cfg).parameters()), next(model.parameters()))  # seeded
    if cls is CompletionCVAE:
        assert model.latent_dim == zoo.CONFIGS[name]["latent_dim"]

