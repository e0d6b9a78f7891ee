import math

import pytest
import torch

from cvae_helpers.data import random_quadrant_counts
from cvae_helpers.models import CVAE, VAE, Autoencoder, CompletionCVAE, CompletionNet
from cvae_helpers.train import (
    TrainingDiverged,
    TrainingInterrupted,
    average_loss,
    fit,
    last_stopped,
)


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


def test_an_interrupt_mid_epoch_keeps_the_model_and_the_history(small_train):
    X, y = small_train
    steps_per_epoch = -(-X.shape[0] // 64)
    calls = {"n": 0}

    class InterruptedInEpoch3(Autoencoder):
        def loss(self, X, y, beta=1.0):
            calls["n"] += 1
            if calls["n"] == 2 * steps_per_epoch + 5:  # five steps into the third epoch
                raise KeyboardInterrupt
            return super().loss(X, y, beta)

    model = InterruptedInEpoch3(2, hidden=(32,))
    initial = model.decoder[0].weight.detach().clone()
    with pytest.raises(TrainingInterrupted, match="interrupted in epoch 3 of 5") as stopped:
        fit(model, X, y, num_epochs=5, device="cpu", progress=False)
    history = stopped.value.history
    assert len(history["train_loss"]) == 2 and len(history["seconds"]) == 2
    assert last_stopped() == (model, history)
    assert not torch.equal(model.decoder[0].weight, initial)  # the weights trained so far stay
    assert not model.training
    assert stopped.value._render_traceback_() == [str(stopped.value)]  # no traceback in Jupyter


def test_a_model_without_a_loss_method_gets_a_clear_error(small_train):
    with pytest.raises(TypeError, match=r"no loss method.*loss\(X, y, beta\)"):
        fit(torch.nn.Linear(2, 2), *small_train, num_epochs=1, device="cpu", progress=False)


@pytest.mark.parametrize(("make", "parts"), [
    (lambda: CompletionNet(hidden=(64,)), {"loss", "recon"}),
    (lambda: CompletionCVAE(latent_dim=4, hidden=(64,)), {"loss", "recon", "kl"}),
], ids=["CompletionNet", "CompletionCVAE"])
def test_one_epoch_lowers_the_completion_loss(make, parts, small_train, small_test):
    X, X_test = small_train[0], small_test[0][:200]
    y = random_quadrant_counts(len(X), torch.Generator().manual_seed(0))
    y_test = random_quadrant_counts(len(X_test), torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    model = make()
    torch.manual_seed(1)
    before = average_loss(model, X_test, y_test)["loss"]
    history = fit(model, X, y, X_test, y_test, num_epochs=1, device="cpu", progress=False)
    assert set(history) == {f"{split}_{p}" for split in ("train", "test") for p in parts} | {
        "seconds"}
    assert history["test_loss"][0] < before - 50


def test_the_completion_loss_scores_only_the_hidden_pixels():
    """A net that copies the visible pixels and is unsure of the rest pays log 2 per hidden
    pixel: 196 pixels for each hidden quadrant."""

    class CopyVisible(CompletionNet):
        def forward(self, X_in):
            return torch.where(X_in == -1, torch.zeros_like(X_in), 50 * (2 * X_in - 1))

    X = (torch.rand(3, 1, 28, 28) > 0.5).float()
    loss = CopyVisible(hidden=(4,)).loss(X, torch.tensor([1, 2, 3]))["loss"]
    per_image = loss.item() / math.log(2)
    assert per_image == pytest.approx(196 * (3 + 2 + 1) / 3)  # 3, 2 and 1 quadrants hidden


@pytest.mark.parametrize("make", [lambda: VAE(2, hidden=(16,)), lambda: CVAE(2, hidden=(16,)),
                                  lambda: CompletionNet(hidden=(16,))],
                         ids=["VAE", "CVAE", "CompletionNet"])
def test_fit_waits_for_the_device_once_per_epoch_not_once_per_step(make, monkeypatch):
    """The checks of the data and the NaN flag cost no host sync per step: the number of reads
    of a tensor's value does not grow with the number of steps."""
    reads = {"n": 0}
    for name in ("item", "__bool__", "__int__", "__float__", "tolist"):
        real = getattr(torch.Tensor, name)

        def counted(self, *args, _real=real):
            reads["n"] += 1
            return _real(self, *args)
        monkeypatch.setattr(torch.Tensor, name, counted)
    counts = []
    for n in (64, 512):  # 2 and 16 steps
        X = torch.rand(n, 1, 28, 28)
        y = random_quadrant_counts(n) if isinstance(make(), CompletionNet) else torch.arange(n) % 10
        reads["n"] = 0
        fit(make(), X, y, num_epochs=2, batch_size=32, device="cpu", progress=False)
        counts.append(reads["n"])
    assert counts[0] == counts[1]


def test_the_weights_of_a_model_that_diverges_are_those_of_the_epochs_start():
    X = torch.rand(128, 1, 28, 28)
    torch.manual_seed(0)
    model = VAE(2, hidden=(16,))
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged, match=r"epoch 1 of 3.*lr=1e\+06") as stopped:
        fit(model, X, None, num_epochs=3, lr=1e6, batch_size=16, device="cpu", progress=False)
    assert stopped.value.model is model and stopped.value.history == {}
    assert all(torch.equal(model.state_dict()[k], v) for k, v in start.items())
    assert last_stopped() == (model, {})
