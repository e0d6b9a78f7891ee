import pytest
import torch

from cvae_helpers.evaluate import (
    confident_fraction,
    iwae_nll,
    label_entropy,
    mean_pairwise_distance,
    negative_elbo,
    uniform_in_box,
)
from cvae_helpers.models import CVAE, VAE, Classifier
from cvae_helpers.train import fit


@pytest.fixture(scope="module")
def small_vae(small_train):
    torch.manual_seed(0)
    model = VAE(5, hidden=(128,))
    fit(model, *small_train, num_epochs=3, device="cpu", progress=False)
    return model


def test_the_importance_weighted_bound_tightens_as_k_grows(small_vae, small_test):
    X, y = small_test[0][:200], small_test[1][:200]
    torch.manual_seed(1)
    elbo = negative_elbo(small_vae, X, y)["loss"]
    k1 = iwae_nll(small_vae, X, k=1)
    k100 = iwae_nll(small_vae, X, k=100)
    assert k1 == pytest.approx(elbo, abs=1.5)  # both are single-sample estimates of -ELBO
    assert k100 <= k1  # a tighter (lower) bound on -log p(x)
    assert k1 - k100 > 0.5


def test_iwae_for_a_cvae_uses_the_labels(small_test):
    X, y = small_test[0][:20], small_test[1][:20]
    model = CVAE(3, hidden=(16,))
    assert iwae_nll(model, X, y, k=10) > 0


def test_iwae_splits_large_k_into_passes(small_vae, small_test):
    X = small_test[0][:30]
    torch.manual_seed(2)
    few_rows = iwae_nll(small_vae, X, k=50, rows_per_pass=200)  # 4 images per pass
    torch.manual_seed(2)
    one_pass = iwae_nll(small_vae, X, k=50, rows_per_pass=10_000)
    assert few_rows == pytest.approx(one_pass, abs=3.0)


def test_uniform_in_box_stays_inside_the_codes_box():
    Z = torch.tensor([[0.0, -5.0], [2.0, 5.0]])
    P = uniform_in_box(Z, 1000, torch.Generator().manual_seed(0))
    assert P.shape == (1000, 2)
    assert (P[:, 0] >= 0).all() and (P[:, 0] <= 2).all() and P[:, 1].min() < -4


def test_sample_scores_on_known_sets():
    clf = Classifier()
    torch.nn.init.zeros_(clf.head.weight)
    torch.nn.init.zeros_(clf.head.bias)
    blank = torch.zeros(10, 1, 28, 28)
    assert confident_fraction(clf, blank) == 0.0  # uniform 0.1 on each class
    assert label_entropy(clf, blank) == pytest.approx(0.0)  # everything is "0"
    assert mean_pairwise_distance(blank) == pytest.approx(0.0)
    two = torch.stack([torch.zeros(1, 28, 28), torch.ones(1, 28, 28)])
    assert mean_pairwise_distance(two) == pytest.approx(28.0)


def test_random_decodes_come_from_the_box_or_the_prior(small_train):
    from cvae_helpers.evaluate import random_decodes
    from cvae_helpers.models import Autoencoder

    ae = Autoencoder(2, hidden=(16,))
    a = random_decodes(ae, 50, small_train[0][:300], seed=3)
    assert a.shape == (50, 1, 28, 28) and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, random_decodes(ae, 50, small_train[0][:300], seed=3))
    vae = VAE(3, hidden=(16,))
    expected = torch.sigmoid(vae.decode(torch.randn(7, 3, generator=torch.Generator().manual_seed(1))))
    assert torch.allclose(random_decodes(vae, 7, seed=1), expected)


def test_the_recommended_setting_is_the_most_faithful_diverse_enough_one():
    from cvae_helpers.evaluate import recommend_setting

    results = {2: {"elbo": 130.0, 0.5: (1.00, 3.0), 1.0: (0.99, 5.0)},
               8: {"elbo": 99.0, 0.5: (0.985, 5.0), 1.0: (0.95, 7.5)},
               20: {"elbo": 97.0, 0.5: (0.98, 5.1), 1.0: (0.90, 7.8)}}
    assert recommend_setting(results, real_diversity=9.0, diversity_floor=0.7) == (8, 1.0)
    assert recommend_setting(results, real_diversity=9.0, diversity_floor=0.5) == (2, 1.0)
    with pytest.raises(ValueError, match="no setting keeps"):
        recommend_setting(results, real_diversity=20.0)


def test_generation_sweep_measures_every_setting(mnist_test):
    from cvae_helpers.evaluate import generation_sweep

    torch.manual_seed(0)
    cvaes = {2: CVAE(2, hidden=(16,)), 3: CVAE(3, hidden=(16,))}
    results, real = generation_sweep(cvaes, Classifier(), *mnist_test, temperatures=(0.5, 1.0))
    assert set(results) == {2, 3} and real > 5  # real digits differ by several pixel units
    for row in results.values():
        assert row["elbo"] > 0 and 0 <= row["redraw"] <= 1
        for t in (0.5, 1.0):
            fidelity, diversity = row[t]
            assert 0 <= fidelity <= 1 and diversity >= 0
        assert row[0.5][1] < row[1.0][1]  # a lower temperature draws more alike samples
