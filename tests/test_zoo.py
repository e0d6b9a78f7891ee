import pytest
import torch

from cvae_helpers import checkpoints, zoo
from cvae_helpers.models import Autoencoder, CompletionCVAE, CompletionNet


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
    out = capsys.readouterr().out
    assert "Cannot use the cached autoencoder, so it is trained again" in out
    assert "is not a PyTorch file" in out  # the diagnosis, in the course's words
    assert len(history["test_loss"]) == 1
    checkpoints.load(path, zoo.build(zoo.config("autoencoder", num_epochs=1, hidden=[32])))


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



def test_equal_numbers_name_one_model_and_the_version_is_in_the_key():
    assert zoo.cache_key(zoo.config("vae", beta=1)) == zoo.cache_key(zoo.config("vae", beta=1.0))
    assert zoo.cache_key(zoo.config("vae")) != zoo.cache_key(zoo.config("vae", beta=2.0))
    path = zoo.cache_path("vae", zoo.config("vae"), torch.device("cpu"))
    assert path.name.startswith("vae-") and path.name.endswith("-cpu.pt")


def test_settings_are_the_training_loops_arguments():
    assert zoo.settings("vae") == {"num_epochs": 20, "lr": 1e-3, "batch_size": 64, "beta": 1.0,
                                   "seed": 0}
    assert zoo.settings("vae", num_epochs=3)["num_epochs"] == 3


def trained_by_hand(cfg, X, y):
    """A model of ``cfg`` trained by other code than the zoo's, as a learner's would be."""
    model = zoo.build(cfg)
    zoo.fit(model, X, y, device="cpu", progress=False, num_epochs=1, batch_size=256)
    return model


def test_keep_caches_a_checked_model_for_later_lessons(tiny_mnist, small_train, monkeypatch,
                                                       capsys):
    cfg = zoo.config("autoencoder", num_epochs=1, hidden=[32])
    mine = trained_by_hand(cfg, *small_train)
    kept = zoo.keep("autoencoder", mine, {"test_loss": [150.0]}, checked=True, num_epochs=1,
                    hidden=[32])
    assert "cached" in capsys.readouterr().out
    assert type(kept) is Autoencoder and not kept.training
    assert all(torch.equal(kept.state_dict()[k], mine.state_dict()[k]) for k in mine.state_dict())
    monkeypatch.setattr(zoo, "fit", lambda *a, **k: pytest.fail("should load the kept model"))
    later, history = zoo.trained("autoencoder", device="cpu", num_epochs=1, hidden=[32])
    assert torch.equal(later.decoder[0].weight, mine.decoder[0].weight)
    assert history == {"test_loss": [150.0]}


@pytest.mark.parametrize(("checked", "history", "words"), [
    (False, {"test_loss": [150.0]}, "not passed their self-checks"),
    (True, {"test_loss": []}, "0 of its 1 epochs"),
])
def test_keep_never_caches_unchecked_or_unfinished_work(tiny_mnist, small_train, checked,
                                                        history, words, capsys):
    cfg = zoo.config("autoencoder", num_epochs=1, hidden=[32])
    mine = trained_by_hand(cfg, *small_train)
    kept = zoo.keep("autoencoder", mine, history, checked=checked, num_epochs=1, hidden=[32])
    assert words in capsys.readouterr().out
    assert torch.equal(kept.decoder[0].weight, mine.decoder[0].weight)  # the lesson studies it
    assert list(tiny_mnist.iterdir()) == []


def test_keep_refuses_a_model_whose_layers_differ(tiny_mnist):
    other = Autoencoder(2, hidden=[16])
    with pytest.raises(ValueError, match=r"layers do not match the course's Autoencoder"):
        zoo.keep("autoencoder", other, {"test_loss": [1.0]}, checked=True, hidden=[32])


def test_the_completion_models_train_on_quadrant_counts_drawn_once(tiny_mnist):
    X, y, X_test, y_test = zoo.training_data(zoo.config("completion_net"))
    assert set(y.unique().tolist()) == {1, 2, 3} and len(y) == len(X)
    again = zoo.training_data(zoo.config("completion_net"))
    assert torch.equal(y, again[1]) and torch.equal(y_test, again[3])
    _, labels, _, _ = zoo.training_data(zoo.config("vae"))
    assert labels.max() == 9
