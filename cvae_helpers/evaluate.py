"""How good is a model? Negative ELBO, importance-weighted log-likelihood, and classifier scores
of generated samples (lessons 1-4), and the conditional log-likelihood of completions (lesson 5).
"""

import math

import torch
from torch import Tensor, nn
from torch.distributions import Normal

from .data import mask_input, visible_mask
from .inputs import (
    check_count,
    check_images,
    check_labels,
    check_model,
    check_number,
    check_temperature,
    check_tensor,
)
from .models import CVAE, VAE, Autoencoder, CompletionCVAE, CompletionNet, reparameterize
from .train import average_loss

# A decode "looks like a digit" when the classifier gives its top class at least this
# probability. Every lesson uses this one threshold (lesson 1).
CONFIDENCE = 0.9


def uniform_in_box(Z: Tensor, n: int, generator: torch.Generator | None = None) -> Tensor:
    """``n`` points drawn uniformly from the smallest axis-aligned box holding the codes ``Z``
    (lesson 1): "random points of the code space", for an autoencoder that has no prior."""
    check_tensor(Z, "the codes Z")
    if Z.dim() != 2 or Z.shape[0] == 0:
        raise ValueError(f"Z must hold codes [N, latent_dim], at least one, got {list(Z.shape)}")
    check_count(n, "n")
    low, high = Z.min(dim=0).values, Z.max(dim=0).values
    return low + (high - low) * torch.rand(n, Z.shape[1], generator=generator).to(Z.device)


@torch.no_grad()
def random_decodes(model: Autoencoder | VAE, n: int, X_train: Tensor | None = None,
                   seed: int = 0) -> Tensor:
    """``n`` decodes of random codes, pixel probabilities ``[n, 1, 28, 28]`` (lessons 1-2).

    An autoencoder has no prior, so its codes are drawn uniformly from the box that holds the
    codes of ``X_train`` (lesson 1); a VAE's come from its prior N(0, I) (lesson 2).
    """
    check_model(model, "an Autoencoder or a VAE (a trained model)", (Autoencoder, VAE))
    if isinstance(model, CVAE):
        raise TypeError("a CVAE decodes a code together with a label: draw its samples with "
                        "model.sample(n, labels=...)")
    check_count(n, "n")
    if not isinstance(model, VAE):
        if X_train is None:
            raise TypeError("an autoencoder has no prior to draw codes from: pass X_train, "
                            "whose codes' box the random codes are drawn from")
        check_images(X_train)
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    if isinstance(model, VAE):
        Z = torch.randn(n, model.latent_dim, generator=generator).to(device)
    else:
        codes = torch.cat([model.encode(X.to(device)) for X in X_train.split(5000)])
        Z = uniform_in_box(codes, n, generator)
    return torch.sigmoid(model.decode(Z))


@torch.no_grad()
def redraw_as(model: CVAE, X: Tensor, y: Tensor, new_y: Tensor) -> Tensor:
    """Redraw real digits as other digits (lesson 3): encode ``X`` with its true labels ``y``,
    keep the mean code (the style), decode it under ``new_y``. Returns pixel probabilities."""
    mu, _ = model.encode(X, y)
    return torch.sigmoid(model.decode(mu, new_y))


def negative_elbo(model: VAE, X: Tensor, y: Tensor, batch_size: int = 1000) -> dict[str, float]:
    """Average ``{"loss": -ELBO, "recon", "kl"}`` over a data set, nats per image (lesson 2).

    One sample of z per image, as in training, with beta = 1. ``y`` is used by a CVAE only.
    """
    if isinstance(model, Autoencoder) or not isinstance(model, VAE | CompletionCVAE):
        raise TypeError(f"the {type(model).__name__} has no ELBO (no prior, no KL term): its "
                        "average loss is train.average_loss(model, X, y)")
    return average_loss(model, X, y, beta=1.0, batch_size=batch_size)


def importance_weighted_nll(log_p_x_given_z: Tensor, log_p_z: Tensor, log_q_z: Tensor) -> Tensor:
    """-L_k, the importance-weighted bound on -log p(x), from k samples per image (lesson 4).

        L_k = log (1/k) sum_{i=1}^k w_i,   w_i = p(x | z_i) p(z_i) / q(z_i | x),   z_i ~ q(z | x)

    Each argument is ``[k, N]``: the log-densities of sample i of image n. The average of the
    w_i is taken in log space (``logsumexp``), because the w_i themselves (around e^-100 for an
    MNIST digit) lie at the bottom of float32's range, where precision is lost, and below
    e^-103 they are exactly 0. Returns ``[N]``, nats per image.
    """
    terms = {"log_p_x_given_z": log_p_x_given_z, "log_p_z": log_p_z, "log_q_z": log_q_z}
    for name, term in terms.items():
        check_tensor(term, name)
    shapes = {name: list(term.shape) for name, term in terms.items()}
    if len({tuple(s) for s in shapes.values()}) != 1 or log_p_x_given_z.dim() != 2 \
            or 0 in log_p_x_given_z.shape:
        raise ValueError(f"the three log-densities must each be shaped [k, N] (k samples of N "
                         f"images), got {shapes}")
    log_w = log_p_x_given_z + log_p_z - log_q_z
    return -(torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0]))


def _bernoulli_log_prob(logits: Tensor, X: Tensor, mask: Tensor | None = None) -> Tensor:
    """log p(x | z) of each image, summed over its pixels (only the ``mask`` ones if given)."""
    per_pixel = -nn.functional.binary_cross_entropy_with_logits(logits, X, reduction="none")
    return (per_pixel if mask is None else per_pixel * mask).flatten(1).sum(1)


def _draw_codes(mu: Tensor, logvar: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """k codes z_i ~ N(mu, diag(exp(logvar))) per row and their log-density under it: rows
    ordered (sample i, image n), shaped ``[k * N, latent_dim]`` and ``[k * N]``."""
    mu_k, logvar_k = mu.repeat(k, 1), logvar.repeat(k, 1)
    Z = reparameterize(mu_k, logvar_k)
    return Z, Normal(mu_k, torch.exp(0.5 * logvar_k)).log_prob(Z).sum(1)


def log_densities(model: VAE, X: Tensor, Z: Tensor,
                  y: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """``(log p(x | z_i), log p(z_i), log q(z_i | x))`` of given codes (lesson 4): ``Z`` is
    ``[k, N, latent_dim]``, code i of image n of ``X``, and each result is ``[k, N]``, nats.

    log p(x | z) is the Bernoulli log-likelihood of the decoded logits, summed over the pixels;
    p(z) is the prior N(0, I) and q(z | x) the encoder's N(mu, diag(sigma^2)), each summed over
    the latent dimensions. A CVAE also takes the labels ``y`` and conditions on them.
    """
    k, n, d = Z.shape
    labels = [y] if isinstance(model, CVAE) else []
    mu, logvar = model.encode(X, *labels)
    logits = model.decode(Z.reshape(k * n, d), *[lb.repeat(k) for lb in labels])
    log_px_z = _bernoulli_log_prob(logits, X.repeat(k, 1, 1, 1)).view(k, n)
    log_pz = Normal(0.0, 1.0).log_prob(Z).sum(-1)
    log_qz = Normal(mu, torch.exp(0.5 * logvar)).log_prob(Z).sum(-1)
    return log_px_z, log_pz, log_qz


@torch.no_grad()
def log_weight_terms(model: VAE, X: Tensor, y: Tensor | None = None, k: int = 100,
                     rows_per_pass: int = 50_000) -> tuple[Tensor, Tensor, Tensor]:
    """``(log p(x | z_i), log p(z_i), log q(z_i | x))`` for k draws z_i ~ q(z | x) of each image
    of ``X`` (lesson 4): three tensors ``[k, N]`` on the CPU, the inputs of
    ``importance_weighted_nll``. A CVAE also takes the labels ``y`` and conditions on them.

    Images are processed a few at a time so that ``images * k <= rows_per_pass``, which keeps
    k = 1000 within memory. The first k' rows are k' draws as well, so one call serves every
    smaller k. The noise of each pass is drawn as one ``[k, images, latent_dim]`` tensor, so
    lesson 4's estimator, drawing the same way, gets the same codes from the same seed.
    """
    check_model(model, "a VAE or a CVAE (a trained model)", (VAE,))
    check_images(X)
    if isinstance(model, CVAE):
        check_labels(y, X.shape[0], model.num_classes)
    check_count(k, "k")
    check_count(rows_per_pass, "rows_per_pass")
    model.eval()
    device = next(model.parameters()).device
    chunk, parts = max(1, rows_per_pass // k), []
    for start in range(0, X.shape[0], chunk):
        Xb = X[start:start + chunk].to(device)
        yb = y[start:start + chunk].to(device) if isinstance(model, CVAE) else None
        mu, logvar = model.encode(Xb, *([] if yb is None else [yb]))
        Z = reparameterize(mu.expand(k, *mu.shape), logvar.expand(k, *logvar.shape))
        parts.append([t.cpu() for t in log_densities(model, Xb, Z, yb)])
    return tuple(torch.cat(terms, dim=1) for terms in zip(*parts, strict=True))


def iwae_nll(model: VAE, X: Tensor, y: Tensor | None = None, k: int = 100,
             rows_per_pass: int = 50_000) -> float:
    """Importance-weighted estimate of -log p(x) (or -log p(x|y) for a CVAE) with k samples,
    averaged over the images of ``X``, nats per image (lesson 4).

    L_1 is the ELBO, and L_k rises toward log p(x) as k grows (Burda et al., 2016), so the
    returned -L_k falls toward -log p(x).
    """
    terms = log_weight_terms(model, X, y, k, rows_per_pass)
    return importance_weighted_nll(*terms).mean().item()


@torch.no_grad()
def completion_nll(model: CompletionNet | CompletionCVAE, X: Tensor, num_visible: int,
                   k: int = 100, rows_per_pass: int = 50_000) -> float:
    """-log p(y | x): how well ``model`` predicts the hidden pixels y of the digits ``X`` from
    their ``num_visible`` visible quadrants x, in nats per image (lesson 5).

    The baseline's prediction is one Bernoulli per pixel, so its value is exact: the binary
    cross-entropy of the hidden pixels. The CVAE's p(y | x) = E_{p(z|x)}[p(y | x, z)] is
    estimated by importance sampling with its recognition network q(z | x, y) as the proposal,
    k samples per image: ``importance_weighted_nll`` with p(z | x) in place of p(z).
    """
    check_model(model, "a CompletionNet or a CompletionCVAE (a trained model)",
                (CompletionNet, CompletionCVAE))
    check_images(X)
    check_count(k, "k")
    check_count(rows_per_pass, "rows_per_pass")
    model.eval()
    device = next(model.parameters()).device
    visible = visible_mask(num_visible).to(device)
    chunk, total = max(1, rows_per_pass // k), 0.0
    for start in range(0, X.shape[0], chunk):
        Y = X[start:start + chunk].to(device)
        X_in = mask_input(Y, visible)
        if isinstance(model, CompletionNet):
            total += _bernoulli_log_prob(model(X_in), Y, ~visible).neg().sum().item()
            continue
        Z, log_qz = _draw_codes(*model.recognize(X_in, Y), k)
        log_py = _bernoulli_log_prob(model.decode(Z, X_in.repeat(k, 1, 1, 1)),
                                     Y.repeat(k, 1, 1, 1), ~visible)
        mu_p, logvar_p = model.prior_params(X_in)
        log_pz = Normal(mu_p.repeat(k, 1), torch.exp(0.5 * logvar_p).repeat(k, 1)).log_prob(Z).sum(1)
        nll = importance_weighted_nll(*(t.view(k, -1) for t in (log_py, log_pz, log_qz)))
        total += nll.sum().item()
    return total / X.shape[0]


def active_units(mu: Tensor, threshold: float = 0.01) -> int:
    """The number of latent dimensions a VAE uses (lesson 4): those whose mean code mu_j
    varies across the images ``[N, d]`` with variance above ``threshold`` (Burda et al.,
    2016). An inactive dimension has q(z_j | x) = N(0, 1) for every x: it has collapsed to the
    prior and tells the decoder nothing."""
    check_tensor(mu, "mu")
    if mu.dim() != 2 or mu.shape[0] < 2:
        raise ValueError(f"mu must hold the mean codes [N, latent_dim] of at least 2 images (a "
                         f"variance across images needs two), got {list(mu.shape)}")
    check_number(threshold, "threshold")
    return int((mu.var(dim=0) > threshold).sum())


@torch.no_grad()
def predict_proba(classifier: nn.Module, X: Tensor, batch_size: int = 2000) -> Tensor:
    """Class probabilities ``[N, 10]`` of the digit classifier, on the classifier's device."""
    check_model(classifier, "a digit classifier (a trained model)")
    check_images(X)
    check_count(batch_size, "batch_size")
    classifier.eval()
    device = next(classifier.parameters()).device
    return torch.cat([_probabilities(classifier, X[i:i + batch_size].to(device))
                      for i in range(0, X.shape[0], batch_size)])


def _probabilities(classifier: nn.Module, X: Tensor) -> Tensor:
    """The softmax of the classifier's scores of ``X``, once they are known to be class scores."""
    scores = classifier(X)
    if not isinstance(scores, Tensor) or scores.dim() != 2:
        got = (f"a tensor shaped {list(scores.shape)}" if isinstance(scores, Tensor)
               else type(scores).__name__)
        raise TypeError(f"the classifier should return class scores [N, 10], but this "
                        f"{type(classifier).__name__} returns {got}: pass a digit classifier, "
                        "such as zoo.trained('classifier')[0]")
    return torch.softmax(scores, dim=1)


def accuracy(classifier: nn.Module, X: Tensor, y: Tensor) -> float:
    """Fraction of images whose most probable class is the true label (lesson 1)."""
    check_images(X)
    check_labels(y, X.shape[0])
    return (predict_proba(classifier, X).argmax(1).cpu() == y.cpu()).float().mean().item()


def confident_fraction(classifier: nn.Module, X: Tensor, threshold: float = CONFIDENCE) -> float:
    """Fraction of images the classifier recognises confidently: top-class probability >=
    ``threshold`` (lesson 1). Used to score random decodes: garbage scores low."""
    check_number(threshold, "threshold", high=1.0)
    return (predict_proba(classifier, X).max(1).values >= threshold).float().mean().item()


def label_fidelity(classifier: nn.Module, X: Tensor, labels: Tensor) -> float:
    """Fraction of generated images the classifier assigns to the requested label (lesson 3)."""
    return accuracy(classifier, X, labels)


def predicted_labels(classifier: nn.Module, X: Tensor) -> Tensor:
    """The digit the classifier reads in each image, ``[N]`` on the CPU (lesson 4)."""
    return predict_proba(classifier, X).argmax(1).cpu()


def label_entropy(labels: Tensor, num_classes: int = 10) -> float:
    """Entropy of the histogram of ``labels`` (e.g. ``predicted_labels``), in nats (lesson 4).

        H = -sum_c p_c log p_c,   p_c = share of the labels equal to c,   0 log 0 = 0

    log 10 = 2.30 nats when the ten digits come out equally often; 0 when all are one digit.
    """
    check_labels(labels, None, num_classes)
    if labels.numel() == 0:
        raise ValueError("there are no labels: the entropy of an empty histogram is 0/0")
    p = torch.bincount(labels.cpu(), minlength=num_classes).float() / labels.numel()
    p = p[p > 0]
    return -(p * p.log()).sum().item()


def linear_probe(Z_fit: Tensor, y_fit: Tensor, Z_eval: Tensor, y_eval: Tensor,
                 num_classes: int = 10, steps: int = 300, lr: float = 0.1) -> float:
    """How much of the class a linear map can read from codes (lesson 3): a logistic regression
    ``softmax(Z W + b)`` fitted to ``(Z_fit, y_fit)`` by full-batch Adam (``steps`` steps at
    ``lr``, from zero weights), scored on the held-out ``(Z_eval, y_eval)``. Returns the share of
    held-out codes whose most probable class is their label: 1 / num_classes when the codes say
    nothing about the class, 1 when a linear map reads it perfectly."""
    for Z, y, which in ((Z_fit, y_fit, "fit"), (Z_eval, y_eval, "eval")):
        check_tensor(Z, f"Z_{which}")
        check_labels(y, Z.shape[0] if Z.dim() else 0, num_classes, f"y_{which}")
    W = torch.zeros(Z_fit.shape[1], num_classes, device=Z_fit.device, requires_grad=True)
    b = torch.zeros(num_classes, device=Z_fit.device, requires_grad=True)
    optimizer = torch.optim.Adam([W, b], lr=lr)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(Z_fit @ W + b, y_fit)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = (Z_eval @ W + b).argmax(dim=1)
    return (predicted == y_eval).float().mean().item()


def mean_pairwise_distance(X: Tensor) -> float:
    """Average Euclidean distance between two different images of a set, in pixel units
    (lesson 3): a diversity score, near 0 when every sample looks the same."""
    check_tensor(X, "X")
    if X.dim() == 0 or X.shape[0] < 2:
        raise ValueError(f"a distance between two images needs at least 2 images, got "
                         f"{X.shape[0] if X.dim() else 0}")
    flat = X.flatten(1).float()
    n = flat.shape[0]
    return (torch.cdist(flat, flat).sum() / (n * (n - 1))).item()


def diversity(images: Tensor, labels: Tensor, per_digit: int = 100) -> float:
    """``mean_pairwise_distance`` among (at most ``per_digit``) images of each digit, averaged
    over the ten digits (lesson 3): how different from each other the drawings of one digit
    are, in pixel units."""
    check_tensor(images, "images")
    check_labels(labels, images.shape[0] if images.dim() else 0)
    check_count(per_digit, "per_digit", minimum=2)
    few = [d for d in range(10) if int((labels == d).sum()) < 2]
    if few:
        raise ValueError(f"diversity compares images of each digit, but the digits {few} have "
                         "fewer than 2 images: draw more, or draw every digit")
    labels = labels.to(images.device)
    return sum(mean_pairwise_distance(images[labels == d][:per_digit]) for d in range(10)) / 10


@torch.no_grad()
def generation_sweep(cvaes: dict[int, CVAE], classifier: nn.Module, X_test: Tensor,
                     y_test: Tensor, temperatures: tuple[float, ...] = (0.5, 0.8, 1.0),
                     seed: int = 0) -> tuple[dict[int, dict], float]:
    """What lesson 3 measures for each CVAE (keyed by its latent size), and the diversity of real
    test digits for reference. For each model, a dict with

    - ``"elbo"``: the test negative ELBO, nats per image;
    - ``t`` for each temperature: ``(label fidelity, diversity)`` of 100 prior samples of each
      digit drawn at temperature t;
    - ``"redraw"``: the share of 2,000 test digits, each redrawn as a random other digit with
      ``redraw_as``, that the classifier reads as the new digit;
    - ``"recon_diversity"``: the diversity of the model's reconstructions of those digits, the
      most its smooth mean images can reach.
    """
    if not isinstance(cvaes, dict) or not cvaes or \
            not all(isinstance(m, CVAE) for m in cvaes.values()):
        raise TypeError("cvaes must be a dict {latent size: trained CVAE}, e.g. {2: cvae2d, "
                        "20: cvae}")
    check_images(X_test)
    check_labels(y_test, X_test.shape[0])
    if X_test.shape[0] < 2000:
        raise ValueError(f"generation_sweep redraws 2,000 test digits, but X_test holds "
                         f"{X_test.shape[0]}: pass the whole test split")
    if not temperatures:
        raise ValueError("temperatures must list at least one temperature, e.g. (0.5, 1.0)")
    for t in temperatures:
        check_temperature(t)
    device = next(classifier.parameters()).device
    g = torch.Generator().manual_seed(seed)
    subset = torch.randperm(len(X_test), generator=g)[:2000]
    X_sub, y_sub = X_test[subset].to(device), y_test[subset].to(device)
    new_y = (y_sub + torch.randint(1, 10, (2000,), generator=g).to(device)) % 10
    labels = torch.arange(10, device=device).repeat_interleave(100)
    results = {}
    for latent_dim, model in cvaes.items():
        torch.manual_seed(seed)
        row: dict = {"elbo": negative_elbo(model, X_test, y_test)["loss"],
                     "recon_diversity": diversity(redraw_as(model, X_sub, y_sub, y_sub), y_sub)}
        for t in temperatures:
            torch.manual_seed(seed)
            images = model.sample(len(labels), labels=labels, temperature=t)
            row[t] = (label_fidelity(classifier, images, labels), diversity(images, labels))
        row["redraw"] = label_fidelity(classifier, redraw_as(model, X_sub, y_sub, new_y), new_y)
        results[latent_dim] = row
    return results, diversity(X_sub, y_sub)


@torch.no_grad()
def sweep_fidelity(cvaes: dict[int, CVAE], classifier: nn.Module,
                   temperatures: tuple[float, ...] = (0.5, 0.7, 0.8, 1.0),
                   seed: int = 0) -> dict[tuple[int, float], float]:
    """The label fidelity, as ``classifier`` reads them, of the very samples that
    ``generation_sweep`` draws with the same ``seed`` (lesson 3): a second judge's score of each
    ``(latent_dim, temperature)``."""
    labels = torch.arange(10, device=next(classifier.parameters()).device).repeat_interleave(100)
    fidelity = {}
    for latent_dim, model in cvaes.items():
        for t in temperatures:
            torch.manual_seed(seed)
            images = model.sample(len(labels), labels=labels, temperature=t)
            fidelity[latent_dim, t] = label_fidelity(classifier, images, labels)
    return fidelity


def recommend_obedient_setting(results: dict[int, dict], fidelity: dict[tuple[int, float], float],
                               fidelity_floor: float = 0.98) -> tuple[int, float]:
    """Lesson 3's rule for a generation setting ``(latent_dim, temperature)``: obedience first.
    Among the settings with temperature >= 0.5 whose ``fidelity`` (the lowest of the judges'
    label fidelities, keyed ``(latent_dim, temperature)``) is at least ``fidelity_floor``, the one
    whose samples are the most diverse in ``results`` (``generation_sweep``)."""
    candidates = [(results[d][t][1], d, t) for (d, t), f in fidelity.items()
                  if t >= 0.5 and f >= fidelity_floor]
    if not candidates:
        raise ValueError(f"no setting reaches a label fidelity of {fidelity_floor:.0%}")
    _, latent_dim, temperature = max(candidates)
    return latent_dim, temperature


def recommend_setting(results: dict[int, dict], real_diversity: float,
                      diversity_floor: float = 0.7) -> tuple[int, float]:
    """A rule for a generation setting ``(latent_dim, temperature)``, diversity first, which
    lesson 3 sets beside its own (``recommend_obedient_setting``): among the settings of
    ``generation_sweep`` with temperature >= 0.5 whose diversity keeps at least
    ``diversity_floor`` of the real digits', the one with the highest label fidelity."""
    check_number(diversity_floor, "diversity_floor", high=1.0)
    candidates = [(row[t][0], d, t) for d, row in results.items() for t in row
                  if isinstance(t, float) and t >= 0.5
                  and row[t][1] >= diversity_floor * real_diversity]
    if not candidates:
        raise ValueError(f"no setting keeps {diversity_floor:.0%} of the real diversity")
    _, latent_dim, temperature = max(candidates)
    return latent_dim, temperature
