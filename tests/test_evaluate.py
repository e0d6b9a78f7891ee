import math

import pytest
import torch

from cvae_helpers.data import mask_input, visible_mask
from cvae_helpers.evaluate import (
    active_units,
    completion_nll,
    confident_fraction,
    importance_weighted_nll,
    iwae_nll,
    label_entropy,
    mean_pairwise_distance,
    negative_elbo,
    predicted_labels,
    uniform_in_box,
)
from cvae_helpers.models import CVAE, VAE, Classifier, CompletionCVAE, CompletionNet
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
    assert label_entropy(predicted_labels(clf, blank)) == pytest.approx(0.0)  # all read "0"
    assert label_entropy(torch.arange(10).repeat(3)) == pytest.approx(math.log(10))
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


def test_with_one_sample_the_importance_weighted_bound_is_minus_log_w():
    a, b, c = torch.randn(1, 6) - 90, torch.randn(1, 6) - 10, torch.randn(1, 6) + 5
    log_w = a + b - c
    nll = importance_weighted_nll(a, b, c)
    assert nll.shape == (6,)
    assert torch.allclose(nll, -log_w.mean(0), atol=1e-5)


def test_equal_weights_average_to_themselves():
    log_w = torch.tensor([-120.0, -80.5, 3.0]).expand(7, 3)  # k = 7 equal weights per image
    zeros = torch.zeros(7, 3)
    assert torch.allclose(importance_weighted_nll(log_w, zeros, zeros), -log_w[0], atol=1e-4)
    # Only w = p(x|z) p(z) / q(z|x) matters, not how it is split between the three terms.
    a, b, c = torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 3)
    assert torch.allclose(importance_weighted_nll(a, b, c),
                          importance_weighted_nll(a + b - c, zeros[:4], zeros[:4]), atol=1e-5)


def test_the_bound_is_finite_for_weights_that_underflow_in_float32():
    log_w = -1000.0 + 5 * torch.randn(200, 4)
    assert torch.exp(log_w).max() == 0  # the weights themselves underflow
    zeros = torch.zeros_like(log_w)
    nll = importance_weighted_nll(log_w, zeros, zeros)
    assert nll.dtype == torch.float32 and torch.isfinite(nll).all()
    lw = log_w.double()
    top = lw.max(0).values
    by_hand = -(top + torch.log(torch.exp(lw - top).mean(0)))
    assert torch.allclose(nll.double(), by_hand, rtol=1e-6)


def test_more_samples_give_a_lower_bound_than_their_average_log_weight():
    """Jensen: log of the mean weight >= mean of the log weights, so -L_k <= -ELBO."""
    g = torch.Generator().manual_seed(0)
    log_w = 10 * torch.randn(50, 8, generator=g) - 100
    zeros = torch.zeros_like(log_w)
    nll = importance_weighted_nll(log_w, zeros, zeros)
    one_each = log_w.reshape(1, -1)  # each of the 50 * 8 weights alone: k = 1
    k1 = importance_weighted_nll(one_each, 0 * one_each, 0 * one_each).view(50, 8).mean(0)
    assert torch.allclose(k1, -log_w.mean(0), atol=1e-4)
    assert (nll <= k1).all() and (k1 - nll).min() > 1.0  # the spread of 10 nats makes a gap


def test_active_units_counts_dimensions_whose_mean_varies():
    mu = torch.randn(1000, 4) * torch.tensor([1.0, 0.0, 0.5, 0.01]) + 3.0
    assert active_units(mu) == 2
    assert active_units(mu, threshold=2.0) == 0


@pytest.mark.parametrize("num_visible", [1, 2, 3])
def test_the_completion_nets_nll_is_the_hidden_pixels_cross_entropy(num_visible, small_test):
    Y = small_test[0][:12]
    model = CompletionNet(hidden=(32,))
    hidden = ~visible_mask(num_visible).expand_as(Y)
    with torch.no_grad():
        logits = model(mask_input(Y, ~hidden))
    p = torch.sigmoid(logits.double())
    Yd = Y.double()
    per_pixel = -(Yd * p.log() + (1 - Yd) * (1 - p).log())
    by_hand = (per_pixel[hidden].sum() / Y.shape[0]).item()
    nll = completion_nll(model, Y, num_visible)
    assert nll == pytest.approx(by_hand, rel=1e-4)
    assert completion_nll(model, Y, num_visible, k=1, rows_per_pass=5) == pytest.approx(nll,
                                                                                      rel=1e-5)


def test_fewer_visible_quadrants_leave_more_to_predict(small_test):
    Y = small_test[0][:12]
    model = CompletionNet(hidden=(32,))
    nll = [completion_nll(model, Y, k) for k in (1, 2, 3)]
    assert nll[0] > nll[1] > nll[2] > 0  # an untrained net pays about log 2 per hidden pixel


def test_the_completion_cvaes_bound_tightens_as_k_grows(small_test):
    Y = small_test[0][:20]
    torch.manual_seed(0)
    model = CompletionCVAE(latent_dim=3, hidden=(32,))
    with torch.no_grad():  # make p(y|x,z) depend strongly on z, so that the bounds differ
        model.generation[0].weight[:, :3] *= 30
    torch.manual_seed(1)
    k1 = sum(completion_nll(model, Y, 2, k=1) for _ in range(10)) / 10
    k50 = completion_nll(model, Y, 2, k=50)
    k500 = completion_nll(model, Y, 2, k=500)
    assert math.isfinite(k50) and k50 > 0
    assert k50 < k1 - 2  # -L_50 <= -L_1: a tighter bound, well beyond the sampling noise
    assert k50 == pytest.approx(k500, abs=1.0)  # both near -log p(y|x), which is finite


def test_completion_nll_refuses_four_visible_quadrants(small_test):
    with pytest.raises(ValueError, match="1, 2 or 3"):
        completion_nll(CompletionNet(hidden=(8,)), small_test[0][:2], num_visible=4)
    with pytest.raises(ValueError, match="1, 2 or 3"):
        completion_nll(CompletionCVAE(2, hidden=(8,)), small_test[0][:2], num_visible=4)
