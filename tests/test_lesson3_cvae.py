"""Lesson 3's CVAE, as the learner writes it (the lesson's solution, ``cases_lesson3``): seeded as
``zoo.build`` seeds, it starts from the very weights of the course's ``models.CVAE``, trains to
the same weights with ``train.fit``, and ``zoo.keep`` takes it over; the lesson's mistake (the
label in the encoder only) cannot be taken over."""

import pytest
import torch
from cases_lesson3 import LabelInEncoderOnly, ReferenceCVAE

from cvae_helpers import zoo
from cvae_helpers.models import CVAE
from cvae_helpers.train import fit


def test_the_learners_cvae_starts_and_trains_as_the_courses(monkeypatch, tmp_path):
    monkeypatch.setenv("CVAE_CACHE_DIR", str(tmp_path))
    cfg = zoo.config("cvae", latent_dim=3, hidden=[32, 16], num_epochs=1)
    torch.manual_seed(cfg["seed"])
    mine = ReferenceCVAE(cfg["latent_dim"], cfg["hidden"])
    course = zoo.build(cfg)
    for (name, a), (_, b) in zip(mine.state_dict().items(), course.state_dict().items(),
                                 strict=True):
        assert torch.equal(a, b), name

    g = torch.Generator().manual_seed(0)
    X, y = torch.rand(200, 1, 28, 28, generator=g), torch.randint(0, 10, (200,), generator=g)
    settings = {k: cfg[k] for k in ("num_epochs", "lr", "batch_size", "beta", "seed")}
    history = fit(mine, X, y, X[:50], y[:50], progress=False, device="cpu", **settings)
    fit(course, X, y, progress=False, device="cpu", **settings)
    for (name, a), (_, b) in zip(mine.state_dict().items(), course.state_dict().items(),
                                 strict=True):
        assert torch.allclose(a, b, atol=1e-6), name

    kept = zoo.keep("cvae", mine, history, checked=True, latent_dim=3, hidden=[32, 16],
                    num_epochs=1)
    assert isinstance(kept, CVAE) and not kept.training
    assert zoo.cache_path("cvae", cfg, torch.device("cpu")).is_file()


def test_the_encoder_only_mistake_cannot_be_taken_over(monkeypatch, tmp_path):
    monkeypatch.setenv("CVAE_CACHE_DIR", str(tmp_path))
    torch.manual_seed(0)
    mistake = LabelInEncoderOnly(3, [32, 16])
    with pytest.raises(ValueError, match="layers do not match"):
        zoo.keep("cvae", mistake, {}, checked=False, latent_dim=3, hidden=[32, 16])
