import pytest
import torch

from cvae_helpers import checkpoints
from cvae_helpers.models import CVAE, VAE


def test_a_checkpoint_survives_a_round_trip(tmp_path):
    model = CVAE(4, hidden=(32,))
    path = checkpoints.save(tmp_path / "sub" / "cvae.pt", model, history={"train_loss": [1.5]})
    assert [p.name for p in path.parent.iterdir()] == ["cvae.pt"]  # no temporary file left
    other = CVAE(4, hidden=(32,))
    extra = checkpoints.load(path, other)
    assert extra == {"history": {"train_loss": [1.5]}}
    assert all(torch.equal(model.state_dict()[k], other.state_dict()[k])
               for k in model.state_dict())


def test_a_missing_checkpoint_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at .*nothing\.pt"):
        checkpoints.load(tmp_path / "nothing.pt", VAE(2, hidden=(8,)))


def test_a_corrupt_checkpoint_gets_a_clear_error(tmp_path):
    path = checkpoints.save(tmp_path / "vae.pt", VAE(2, hidden=(8,)))
    path.write_bytes(path.read_bytes()[:100])  # truncated, as by a crash mid-copy
    with pytest.raises(checkpoints.CheckpointError, match=r"is truncated \(100 bytes\).*Delete it"):
        checkpoints.load(path, VAE(2, hidden=(8,)))


def test_a_checkpoint_of_another_architecture_gets_a_clear_error(tmp_path):
    path = checkpoints.save(tmp_path / "vae.pt", VAE(2, hidden=(8,)))
    with pytest.raises(checkpoints.CheckpointError, match=r"holds a VAE with .*'latent_dim': 2.*"
                       r"but the model given is a VAE with .*'latent_dim': 20"):
        checkpoints.load(path, VAE(20, hidden=(8,)))
    with pytest.raises(checkpoints.CheckpointError, match="given is a CVAE"):
        checkpoints.load(path, CVAE(2, hidden=(8,)))


def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    model = VAE(2, hidden=(8,))
    path = checkpoints.save(tmp_path / "vae.pt", model)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        checkpoints.save(path, VAE(2, hidden=(8,)))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["vae.pt"]


def test_a_checkpoint_of_the_first_helpers_without_a_checksum_still_loads(tmp_path):
    model = VAE(2, hidden=(8,))
    torch.save({"architecture": "VAE", "config": model.config, "state_dict": model.state_dict(),
                "history": {"train_loss": [2.0]}}, tmp_path / "old.pt")
    other = VAE(2, hidden=(8,))
    assert checkpoints.load(tmp_path / "old.pt", other) == {"history": {"train_loss": [2.0]}}
    assert torch.equal(other.decoder[0].weight, model.decoder[0].weight)


def test_a_checkpoint_records_a_checksum_of_its_weights(tmp_path):
    model = VAE(2, hidden=(8,))
    path = checkpoints.save(tmp_path / "vae.pt", model)
    stored = torch.load(path, weights_only=True)
    assert stored["format"] == checkpoints.FORMAT
    assert stored["checksum"] == checkpoints.checksum(model.state_dict())
    with torch.no_grad():
        model.decoder[0].weight[0, 0] += 1e-6  # one weight, barely changed
    assert checkpoints.checksum(model.state_dict()) != stored["checksum"]
