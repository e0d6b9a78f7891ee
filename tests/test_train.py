import pytest
import torch

from cvae_helpers.models import CVAE, VAE, Autoencoder
from cvae_helpers.train import average_loss, fit


def test_one_epoch_on_2000_images_lowers_the_loss(small_train, small_test):
    X, y = small_train
    torch.manual_seed(0)
    model = VAE(8, hidden=(128,))
    before = average_loss(model, *small_test)["loss"]
    history = fit(model, X, y, *small_test, num_epochs=1, device="cpu", progress=False)
    assert history["test_loss"][0] < before - 50
    assert set(history) == {"train_loss", "train_recon", "train_kl", "test_loss", "test_recon",
                            "test_kl", "seconds"}


def test_the_same_seed_gives_identical_weights(small_train):
    X, y = small_train[0][:600], small_train[1][:600]
    states = []
    for _ in range(2):
        torch.manual_seed(3)
        model = CVAE(4, hidden=(32,))
        fit(model, X, y, num_epochs=1, seed=11, device="cpu", progress=False)
        states.append(model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    torch.manual_seed(3)
    other = CVAE(4, hidden=(32,))
    fit(other, X, y, num_epochs=1, seed=12, device="cpu", progress=False)
    assert not torch.equal(other.state_dict()["decoder.0.weight"], states[0]["decoder.0.weight"])


def test_an_interrupt_mid_epoch_keeps_the_model_and_the_history(small_train, capsys):
    X, y = small_train
    model = Autoencoder(2, hidden=(32,))
    steps_per_epoch = -(-X.shape[0] // 128)
    calls = {"n": 0}
    from cvae_helpers.train import batch_loss

    def interrupt_in_epoch_3(model, Xb, yb, beta):
        calls["n"] += 1
        if calls["n"] == 2 * steps_per_epoch + 5:  # five steps into the third epoch
            raise KeyboardInterrupt
        return batch_loss(model, Xb, yb, beta)

    initial = model.decoder[0].weight.detach().clone()
    history = fit(model, X, y, num_epochs=5, loss_fn=interrupt_in_epoch_3, device="cpu",
                  progress=False)
    assert len(history["train_loss"]) == 2 and len(history["seconds"]) == 2
    assert not torch.equal(model.decoder[0].weight, initial)  # the weights trained so far stay
    assert not model.training
    assert "interrupted" in capsys.readouterr().out


def test_an_unknown_model_needs_a_loss_function(small_train):
    with pytest.raises(TypeError, match="loss_fn"):
        fit(torch.nn.Linear(2, 2), *small_train, num_epochs=1, device="cpu", progress=False)
