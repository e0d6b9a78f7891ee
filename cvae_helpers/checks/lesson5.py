"""Lesson 5: the masked input, the masks of the quadrant counts, the hidden pixels' loss, the
conditional ELBO, and the completion CVAE module."""

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..data import HIDDEN, mask_input, visible_mask, visible_masks
from ..losses import kl_divergence, masked_reconstruction_loss, reconstruction_loss
from ..models import CompletionCVAE, reparameterize
from .core import compare, run_cases, seeded

# The three masks, and a batch with a different one for each image: 1, 2, 3, 1, ...
MASKS = torch.stack([visible_mask(k) for k in (1, 2, 3)])


def _per_image_masks(n: int) -> Tensor:
    return MASKS[torch.arange(n) % 3]


def check_mask_input(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Lesson 5, exercise 1: ``mask_input(X, visible)`` keeps the visible pixels and sets the
    others to -1, with one mask for all images or one per image."""
    g = seeded(11)
    X = torch.rand(4, 1, 28, 28, generator=g)
    X[:, :, :7] = 0.0  # blank paper in every quadrant's top rows: a 0 there is a real pixel

    def case(X: Tensor, visible: Tensor) -> Callable[[], str | None]:
        expected = mask_input(X, visible)
        wrong = {
            "the hidden pixels are 0, which the network cannot tell from a pixel with no ink: set "
            "them to -1 (data.HIDDEN)": torch.where(visible, X, torch.zeros_like(X)),
            "the hidden pixels are +1, a pixel full of ink: set them to -1 (data.HIDDEN)":
                torch.where(visible, X, torch.ones_like(X)),
            "visible and hidden are swapped: keep the pixels where `visible` is True":
                torch.where(visible, torch.full_like(X, HIDDEN), X),
        }
        return lambda: compare(fn(X.clone(), visible.clone()), expected, wrong)

    def leaves_X_alone() -> str | None:
        X_given = X.clone()
        fn(X_given, visible_mask(2))
        if not torch.equal(X_given, X):
            return ("your function changed the images passed to it: return a new tensor "
                    "(torch.where does) instead of writing -1 into X (an in-place `_` method)")
        return None

    run_cases("mask_input", [
        ("one visible quadrant, one [1, 28, 28] mask for 4 images", case(X, visible_mask(1))),
        ("the input images are left unchanged", leaves_X_alone),
        ("two visible quadrants, a single image", case(X[:1], visible_mask(2))),
        ("three visible quadrants", case(X, visible_mask(3))),
        ("a different mask for each image [4, 1, 28, 28]", case(X, _per_image_masks(4))),
    ], answer=fn)


def check_visible_masks(fn: Callable[[Tensor], Tensor]) -> None:
    """Lesson 5, exercise 2: ``visible_masks(counts)``: the bool masks ``[N, 1, 28, 28]`` of
    ``N`` quadrant counts, image n showing ``visible_mask(counts[n])``."""

    def case(counts: list[int]) -> Callable[[], str | None]:
        c = torch.tensor(counts)
        expected = visible_masks(c)
        wrong = {
            "each image got the mask of one quadrant more than its count: the counts run 1, 2, 3 "
            "and the stacked masks are numbered from 0, so mask k is at index k - 1":
                visible_masks((c % 3) + 1).float(),
            "the masks are in the wrong order: stack visible_mask(1), (2), (3), so that index "
            "k - 1 holds the mask of k quadrants": visible_masks(4 - c).float(),
            "True marks the hidden pixels: the masks should be True where a pixel is visible":
                (~expected).float(),
        }

        def test() -> str | None:
            got = fn(c.clone())
            if isinstance(got, Tensor) and got.dtype != torch.bool:
                return (f"the masks are {got.dtype}: return bool masks (True = visible), so that "
                        "~mask gives the hidden pixels and torch.where accepts them")
            if isinstance(got, Tensor) and got.dim() == 3 and got.shape[0] == len(counts):
                return (f"expected shape {list(expected.shape)}, got {list(got.shape)}: stack "
                        "the [1, 28, 28] masks (torch.stack) so each image keeps its channel "
                        "dimension")
            return compare(got.float() if isinstance(got, Tensor) else got,
                           expected.float(), wrong)
        return test

    g = seeded(14)
    run_cases("visible_masks", [
        ("counts [1, 2, 2, 1]", case([1, 2, 2, 1])),
        ("counts [3, 1, 2]", case([3, 1, 2])),
        ("a single image showing 3 quadrants", case([3])),
        ("50 random counts", case(torch.randint(1, 4, (50,), generator=g).tolist())),
    ], answer=fn)


def _completion_case(g: torch.Generator, n: int,
                     shared_mask: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """Logits, whole digits and the hidden-pixel mask: one mask per image, or one ``[1, 28,
    28]`` mask for all (``shared_mask``), as the lessons pass both."""
    logits = 2 * torch.randn(n, 1, 28, 28, generator=g)
    Y = torch.rand(n, 1, 28, 28, generator=g)
    if shared_mask:
        return logits, Y, ~visible_mask(1)
    return logits, Y, ~_per_image_masks(n)


def check_masked_reconstruction_loss(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """Lesson 5, exercise 3: ``masked_reconstruction_loss(logits, Y, hidden)``: the binary
    cross-entropy of the hidden pixels, summed over them, averaged over the images."""
    g = seeded(12)

    def case(n: int, shared_mask: bool = False) -> Callable[[], str | None]:
        logits, Y, hidden = _completion_case(g, n, shared_mask)
        expected = masked_reconstruction_loss(logits, Y, hidden)
        everything = reconstruction_loss(logits, Y)
        num_hidden = hidden.expand_as(Y).sum()
        wrong = {} if not shared_mask else {
            "divided by the mask's first dimension (1 for a shared [1, 28, 28] mask): divide by "
            "the number of images, Y.shape[0]": expected * n}
        wrong |= {
            "every pixel was scored: sum over the hidden pixels only": everything,
            "only the visible pixels were scored: the hidden ones are those to predict":
                everything - expected,
            f"{n} times too large: average over the images of the batch": expected * n,
            "the loss is averaged over all the pixels of the batch: sum over the hidden pixels, "
            "then divide by the number of images": expected * n / Y.numel(),
            "the loss is divided by the number of hidden pixels: sum over them, then divide by "
            "the number of images": expected * n / num_hidden,
        }

        def test() -> str | None:
            try:
                got = fn(logits, Y, hidden)
            except IndexError as err:
                return (f"your code raised IndexError ({err}): indexing with the mask needs one "
                        "mask per image; multiply by the mask instead, which broadcasts")
            return compare(got, expected, wrong)
        return test

    def confident() -> str | None:
        logits = torch.full((2, 1, 28, 28), 40.0)
        logits[1] = -40.0
        Y = torch.zeros(2, 1, 28, 28)
        Y[0] = 1.0
        Y[0, :, :3] = 0.0  # a few confident mistakes, worth 40 nats each
        got = fn(logits, Y, ~visible_mask(2))
        if isinstance(got, Tensor) and not torch.isfinite(got).all():
            return ("the loss is inf or nan when the network is very sure: work on logits with "
                    "F.binary_cross_entropy_with_logits rather than log(sigmoid(...))")
        return compare(got, masked_reconstruction_loss(logits, Y, ~visible_mask(2)), atol=1e-3)

    run_cases("masked_reconstruction_loss", [
        ("a batch of 6, one mask per image", case(6)),
        ("a batch of one", case(1)),
        ("a batch of 4 sharing one [1, 28, 28] mask", case(4, shared_mask=True)),
        ("confident logits (+-40)", confident),
    ], answer=fn)


def check_conditional_elbo(fn: Callable[..., dict[str, Tensor]]) -> None:
    """Lesson 5, exercise 4: ``conditional_negative_elbo(logits, Y, hidden, q, p, beta=1.0)``:
    ``{"loss": recon + beta * kl, "recon": recon, "kl": kl}`` with recon the hidden pixels'
    reconstruction loss and kl = KL(q(z|x,y) || p(z|x)), nats per image."""
    g = seeded(13)

    def case(n: int, latent_dim: int, beta: float | None,
             shared_mask: bool = False) -> Callable[[], str | None]:
        logits, Y, hidden = _completion_case(g, n, shared_mask)
        q = (torch.randn(n, latent_dim, generator=g), torch.randn(n, latent_dim, generator=g))
        p = (torch.randn(n, latent_dim, generator=g), torch.randn(n, latent_dim, generator=g))
        b = 1.0 if beta is None else beta
        recon = masked_reconstruction_loss(logits, Y, hidden)
        kl = kl_divergence(*q, *p)
        recon_all = reconstruction_loss(logits, Y)
        kl_std, kl_rev = kl_divergence(*q), kl_divergence(*p, *q)
        kl_swapped = kl_divergence(q[1], q[0], p[1], p[0])
        expected = _parts_of(recon + b * kl, recon, kl)
        wrong = {
            "the KL is measured against N(0, I): compare q with the learned prior p(z|x), "
            "kl_divergence(mu_q, logvar_q, mu_p, logvar_p)": _parts_of(recon + b * kl_std,
                                                                      recon, kl_std),
            "the KL is the wrong way round: KL(q || p), with q's (mu, logvar) first":
                _parts_of(recon + b * kl_rev, recon, kl_rev),
            "q and p are (mu, logvar) pairs, in that order: the mean first":
                _parts_of(recon + b * kl_swapped, recon, kl_swapped),
            "every pixel was scored: the reconstruction term counts the hidden pixels only":
                _parts_of(recon_all + b * kl, recon_all, kl),
            "only the reconstruction term: add the KL term": {"loss": recon},
            "recon - KL: the negative ELBO adds the KL": {"loss": recon - b * kl},
            "beta weighs the reconstruction term: it multiplies the KL, recon + beta * kl":
                {"loss": b * recon + kl},
            "beta is ignored: the loss is recon + beta * kl": {"loss": recon + kl},
        }

        def test() -> str | None:
            args = (logits, Y, hidden, q, p) if beta is None else (logits, Y, hidden, q, p, beta)
            got = fn(*args)
            if not isinstance(got, dict) or not {"loss", "recon", "kl"} <= set(got):
                return ('return a dict {"loss": ..., "recon": ..., "kl": ...}, as the course\'s '
                        f"losses do, got {type(got).__name__}")
            return _compare_parts(got, expected, wrong)
        return test

    run_cases("conditional_negative_elbo", [
        ("a batch of 6, 4-D codes, beta left at its default 1", case(6, 4, None)),
        ("a batch of one, 20-D codes, beta = 0.5", case(1, 20, 0.5)),
        ("a batch of 4 sharing one mask, 1-D codes, beta = 4", case(4, 1, 4.0, shared_mask=True)),
    ], answer=fn)


def _parts_of(loss: Tensor, recon: Tensor, kl: Tensor) -> dict[str, Tensor]:
    return {"loss": loss, "recon": recon, "kl": kl}


def _compare_parts(got: dict, expected: dict[str, Tensor],
                   wrong: dict[str, dict[str, Tensor]]) -> str | None:
    """Compare a loss's parts one by one (a small KL can hide in a large total), naming the
    mistake whose parts all match."""
    if all(compare(got[k], v) is None for k, v in expected.items()):
        return None
    for hint, parts in wrong.items():
        if all(compare(got[k], v) is None for k, v in parts.items()):
            return hint
    for key, value in expected.items():
        hint = compare(got[key], value)
        if hint:
            return f'"{key}": {hint}'
    return None


# What the exercise asks of each stack, for the hint when a learner's layers differ.
_STACKS = {
    "recognition": "the recognition network reads the masked input and the whole digit side by "
                   "side, so models.mlp([2 * NUM_PIXELS, *hidden, 2 * latent_dim])",
    "prior": "the prior network reads the masked input alone, so "
             "models.mlp([NUM_PIXELS, *hidden, 2 * latent_dim])",
    "generation": "the generation network reads a code and the masked input, so "
                  "models.mlp([latent_dim + NUM_PIXELS, *hidden, NUM_PIXELS])",
}


def _layer_hint(mine: nn.Module, ref: nn.Module) -> str | None:
    """A hint when the learner's parameters are not named and shaped like the course's."""
    got = {k: tuple(v.shape) for k, v in mine.state_dict().items()}
    expected = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    if got == expected:
        return None
    for stack, wanted in _STACKS.items():
        mine_stack = {k: v for k, v in got.items() if k.split(".")[0] == stack}
        ref_stack = {k: v for k, v in expected.items() if k.split(".")[0] == stack}
        if mine_stack != ref_stack:
            if not mine_stack:
                return f"there is no stack named `{stack}`: {wanted}"
            return f"`{stack}` is not built as the exercise asks: {wanted}"
    extra = sorted(set(got) - set(expected))
    return (f"your module has parameters the course's CompletionCVAE does not: {extra}; keep "
            "exactly the three stacks recognition, prior and generation")


def check_completion_cvae(cls: type) -> None:
    """Lesson 5, exercise 5: the ``CompletionCVAE`` module, its three networks and its
    ``loss(X, counts, beta)``, compared with the course's ``models.CompletionCVAE`` given the
    same weights and the same random draws."""
    g = seeded(15)

    def build(latent_dim: int, hidden: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        torch.manual_seed(0)
        mine = cls(latent_dim, hidden)
        ref = CompletionCVAE(latent_dim=latent_dim, hidden=hidden)
        if not isinstance(mine, nn.Module):
            raise TypeError("your class should derive from nn.Module")
        hint = _layer_hint(mine, ref)
        if hint:
            raise _Hint(hint)
        ref.load_state_dict(mine.state_dict())
        return mine.eval(), ref.eval()

    def case(latent_dim: int, hidden: tuple[int, ...], counts: list[int],
             beta: float | None) -> Callable[[], str | None]:
        c = torch.tensor(counts)
        X = torch.rand(len(counts), 1, 28, 28, generator=g)
        X[:, :, :, :3] = 0.0  # blank margins, as digits have

        def test() -> str | None:
            try:
                mine, ref = build(latent_dim, hidden)
            except _Hint as hint:
                return str(hint)
            visible = visible_masks(c)
            X_in = mask_input(X, visible)
            Z = torch.randn(len(counts), latent_dim, generator=g)
            for name, got, expected, wrong in _parts(mine, ref, X, X_in, visible, Z, latent_dim):
                hint = _compare_all(got(), expected, wrong)
                if hint:
                    return f"{name}: {hint}"
            return _loss_hint(mine, ref, X, c, visible, beta)
        return test

    run_cases("CompletionCVAE", [
        ("latent_dim=3, hidden=(16,), a batch of 4 showing 1, 2, 3, 1 quadrants",
         case(3, (16,), [1, 2, 3, 1], None)),
        ("latent_dim=5, hidden=(32, 24), a batch of one showing 2 quadrants, beta=0.5",
         case(5, (32, 24), [2], 0.5)),
        ("latent_dim=20, hidden=(500, 500), a batch of 6 all showing 1 quadrant, beta=2",
         case(20, (500, 500), [1] * 6, 2.0)),
    ], answer=cls)


class _Hint(Exception):
    """A mistake found while building the learner's module, reported as a hint."""


def _compare_all(got: object, expected: tuple[Tensor, ...] | Tensor,
                 wrong: dict[str, tuple[Tensor, ...] | Tensor]) -> str | None:
    """``compare`` for a tensor or a tuple of tensors, naming the mistake when one matches."""
    if isinstance(expected, Tensor):
        return compare(got, expected, wrong)
    if not isinstance(got, tuple | list) or len(got) != len(expected):
        return f"expected a tuple of {len(expected)} results, got {type(got).__name__}"
    if all(compare(a, b) is None for a, b in zip(got, expected, strict=True)):
        return None
    for hint, values in wrong.items():
        if all(compare(a, b) is None for a, b in zip(got, values, strict=True)):
            return hint
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        hint = compare(a, b)
        if hint:
            return f"result {i}: {hint}"
    return None


def _parts(mine: nn.Module, ref: CompletionCVAE, X: Tensor, X_in: Tensor, visible: Tensor,
           Z: Tensor, latent_dim: int) -> list:
    """(name, learner's call, expected value, {hint: a mistake's value}) for each method."""
    flat_in, flat_Y = X_in.flatten(1), X.flatten(1)
    with torch.no_grad():
        swapped_rec = ref.recognition(torch.cat([flat_Y, flat_in], 1)).chunk(2, 1)
        mu, logvar = ref.recognize(X_in, X)
        recognition = [
            ("recognize(X_in, Y)", lambda: mine.recognize(X_in, X), (mu, logvar), {
                "the recognition network reads [masked input, whole digit], in that order":
                    swapped_rec,
                "the first half of the output is mu, the second logvar": (logvar, mu),
            }),
            ("prior_params(X_in)", lambda: mine.prior_params(X_in), ref.prior_params(X_in), {
                "the first half of the output is mu, the second logvar":
                    ref.prior_params(X_in)[::-1],
            }),
            ("decode(Z, X_in)", lambda: mine.decode(Z, X_in), ref.decode(Z, X_in), {
                "the generation network reads [code, masked input], in that order":
                    ref.generation(torch.cat([flat_in, Z], 1)).view(-1, 1, 28, 28),
                "decode returns probabilities: return the logits, the loss applies the sigmoid":
                    torch.sigmoid(ref.decode(Z, X_in)),
            }),
        ]
        torch.manual_seed(1)
        expected = ref(X_in, X)
        torch.manual_seed(1)
        q = ref.recognize(X_in, X)
        Z_q = reparameterize(*q)
        from_mean = (ref.decode(q[0], X_in), q, ref.prior_params(X_in))
        whole = (ref.decode(Z_q, X_in), q, ref.prior_params(X))

    def forward() -> object:
        torch.manual_seed(1)
        return mine(X_in, X)

    recognition.append(("forward(X_in, Y)", forward, _flat(expected), {
        "the prior network sees only the masked input x: prior_params(X_in), not the whole "
        "digit": _flat(whole),
        "decode a sample z = reparameterize(mu, logvar) of q, not its mean mu": _flat(from_mean),
    }))
    return [(name, (lambda call=call: _flatten_result(call())), exp, wrong)
            for name, call, exp, wrong in recognition]


def _flat(result: tuple) -> tuple[Tensor, ...]:
    """``(logits, (mu_q, logvar_q), (mu_p, logvar_p))`` as five tensors."""
    logits, q, p = result
    return (logits, *q, *p)


def _flatten_result(got: object) -> object:
    """The learner's forward result as five tensors when it has forward's shape."""
    if isinstance(got, tuple) and len(got) == 3 and all(isinstance(t, tuple) for t in got[1:]):
        return _flat(got)
    return got


def _loss_hint(mine: nn.Module, ref: CompletionCVAE, X: Tensor, counts: Tensor, visible: Tensor,
               beta: float | None) -> str | None:
    """Compare ``mine.loss(X, counts, beta)`` with the course's, naming the usual mistakes."""
    b = 1.0 if beta is None else beta
    hidden = ~visible
    X_in = mask_input(X, visible)
    with torch.no_grad():
        torch.manual_seed(2)
        expected = ref.loss(X, counts, b)
        torch.manual_seed(2)
        logits, q, p = ref(X_in, X)
        recon, kl = expected["recon"], expected["kl"]
        p_whole = ref.prior_params(X)
        torch.manual_seed(2)
        logits_unmasked, q_unmasked, p_unmasked = ref(X, X)
    kl_std, kl_rev, kl_whole = kl_divergence(*q), kl_divergence(*p, *q), kl_divergence(*q, *p_whole)
    recon_all = reconstruction_loss(logits, X)
    recon_visible = masked_reconstruction_loss(logits, X, visible)
    recon_unmasked = masked_reconstruction_loss(logits_unmasked, X, hidden)
    kl_unmasked = kl_divergence(*q_unmasked, *p_unmasked)
    wrong = {
        "the KL is measured against N(0, I): compare q with the learned prior p(z|x)":
            _parts_of(recon + b * kl_std, recon, kl_std),
        "the KL is the wrong way round: pass q, then p, to conditional_negative_elbo":
            _parts_of(recon + b * kl_rev, recon, kl_rev),
        "the prior network sees only the masked input x: prior_params(X_in), not the whole "
        "digit": _parts_of(recon + b * kl_whole, recon, kl_whole),
        "every pixel was scored: pass the hidden pixels' mask, ~visible":
            _parts_of(recon_all + b * kl, recon_all, kl),
        "only the visible pixels were scored: the loss counts the hidden pixels, ~visible":
            _parts_of(recon_visible + b * kl, recon_visible, kl),
        "the networks were given the whole digit as x: their input is mask_input(X, visible)":
            _parts_of(recon_unmasked + b * kl_unmasked, recon_unmasked, kl_unmasked),
        "beta is ignored: pass it on to conditional_negative_elbo": {"loss": recon + kl},
    }
    args = (X, counts) if beta is None else (X, counts, beta)
    torch.manual_seed(2)
    with torch.no_grad():
        got = mine.loss(*args)
    if not isinstance(got, dict) or not {"loss", "recon", "kl"} <= set(got):
        return ('loss should return the dict {"loss": ..., "recon": ..., "kl": ...} that your '
                f"conditional_negative_elbo returns, got {type(got).__name__}")
    hint = _compare_parts(got, expected, wrong)
    return f"loss(X, counts{'' if beta is None else ', beta'}): {hint}" if hint else None
