"""Lesson 1: the reconstruction loss, the autoencoder's layers, its module, the training loop,
and random codes in a box."""

import contextlib
import copy
import io
import math
import sys
import types
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

from .. import train
from ..losses import reconstruction_loss
from ..models import VAE, Autoencoder, mlp
from .core import compare, run_cases, seeded

HIDDEN = (512, 256)  # the widths exercise 1.2 asks for, as in the course's models.Autoencoder


# --- Exercise 1.1 -------------------------------------------------------------------------------

def check_reconstruction_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Lesson 1, exercise 1.1: ``reconstruction_loss(logits, X)`` in nats per image."""
    g = seeded(1)
    grey = torch.rand(4, 1, 28, 28, generator=g)
    ink = (torch.rand(3, 1, 28, 28, generator=g) < 0.2).float()

    def case(scale: float, X: Tensor) -> Callable[[], str | None]:
        logits = torch.randn(X.shape, generator=g) * scale
        expected = reconstruction_loss(logits, X)
        n = X.shape[0]
        wrong = {
            "the value is 784 times too small: sum over the pixels of an image, don't average "
            "them": expected / 784,
            "the value is far too small: sum over the pixels, then average over the images "
            "(divide by the batch size only)": expected / (784 * n),
            "the sign is flipped: a loss is the negative log-likelihood, >= 0": -expected,
            "the arguments are swapped: binary_cross_entropy_with_logits takes the logits "
            "first, then the target images X": _slip(X, logits),
            "a sigmoid was applied to the logits first: binary_cross_entropy_with_logits "
            "applies it itself": _slip(torch.sigmoid(logits), X),
        }
        if n > 1:
            wrong[f"the value is {n} times too large: average over the images of the batch, "
                  "don't sum them"] = expected * n
        return lambda: _probabilities_hint(lambda: compare(fn(logits.clone(), X.clone()),
                                                           expected, wrong))

    run_cases("reconstruction_loss", [
        ("a batch of 4 grey images, logits of scale 3", case(3.0, grey)),
        ("a batch of 3 black-and-white images, logits of scale 1", case(1.0, ink)),
        ("confident logits (+-40), right and wrong", lambda: _stable_hint(fn)),
        ("a batch of one image, logits of scale 5", case(5.0, grey[:1])),
    ], answer=fn)


def _slip(logits: Tensor, X: Tensor) -> Tensor:
    """The value of ``reconstruction_loss(logits, X)`` for arguments the course's function
    refuses (targets outside [0, 1], probabilities as logits): what a slip computes."""
    return F.binary_cross_entropy_with_logits(logits, X, reduction="sum") / X.shape[0]


def _probabilities_hint(test: Callable[[], str | None]) -> str | None:
    try:
        return test()
    except (RuntimeError, ValueError) as err:
        if "between 0 and 1" in str(err):
            return ("binary_cross_entropy expects probabilities, but the decoder gives logits "
                    "(any real number): use binary_cross_entropy_with_logits")
        raise


def _stable_hint(fn: Callable[[Tensor, Tensor], Tensor]) -> str | None:
    logits = torch.full((3, 1, 28, 28), 40.0)
    logits[1] = -40.0
    X = torch.zeros(3, 1, 28, 28)
    X[0] = 1.0  # image 0: sure of ink, and right; image 1: sure of paper, and right
    # image 2: sure of ink, but the image is paper: 40 nats per pixel
    got = _probabilities_hint(lambda: fn(logits, X))
    if isinstance(got, str):
        return got
    if isinstance(got, Tensor) and not torch.isfinite(got).all():
        return ("the loss is inf or nan when the decoder is very sure: work on logits with a "
                "numerically stable function rather than log(sigmoid(...))")
    return compare(got, reconstruction_loss(logits, X), atol=1e-3)


# --- Exercise 1.2 -------------------------------------------------------------------------------

def _describe(stack: nn.Module) -> list[str]:
    return [f"Linear({m.in_features}, {m.out_features})" if isinstance(m, nn.Linear)
            else type(m).__name__ for m in stack.children()]


def _reference_layers(latent_dim: int) -> tuple[nn.Sequential, nn.Sequential]:
    return mlp([784, *HIDDEN, latent_dim]), mlp([latent_dim, *reversed(HIDDEN), 784])


def _layers_hint(name: str, got: nn.Module, expected: nn.Sequential, latent_dim: int) -> str | None:
    if not isinstance(got, nn.Sequential):
        return (f"the {name} is a {type(got).__name__}: return two nn.Sequential stacks, so that "
                "their weights are named as the course's models.Autoencoder names them")
    have, want = _describe(got), _describe(expected)
    if have == want:
        return None
    if not any(k not in ("Linear", "Identity") and not k.startswith("Linear(") for k in have):
        return ("there is no nonlinearity between the layers: a stack of Linear layers is one "
                "linear map, which can only learn what PCA learns")
    if have and have[-1] in ("Sigmoid", "Tanh", "Softmax") and name == "decoder":
        return (f"the decoder ends with {have[-1]}: it should return logits (any real number); "
                "the loss applies the sigmoid itself")
    if have and have[-1] == "ReLU":
        return (f"the {name} ends with ReLU: nothing comes after its last Linear layer "
                + ("(a ReLU there makes every code >= 0)" if name == "encoder" else
                   "(logits may be negative)"))
    other = sorted({k for k in have if not k.startswith("Linear(") and k != "ReLU"})
    if other:
        return f"the {name} uses {', '.join(other)}: use nn.ReLU after each hidden layer"
    linears = [k for k in have if k.startswith("Linear(")]
    if linears == [k for k in want if k.startswith("Linear(")]:
        return (f"the {name} has its ReLUs in the wrong places: it should be "
                f"{', '.join(want)} (got {', '.join(have)})")
    hint = f"the {name} for latent_dim={latent_dim} should be {', '.join(want)}; got {', '.join(have)}"
    if name == "encoder" and linears and linears[-1] != want[-1]:
        hint += " (its last layer should output latent_dim numbers)"
    if name == "decoder" and linears and linears[0] != want[0]:
        hint += " (its first layer should take latent_dim numbers)"
    return hint


def check_autoencoder_layers(fn: Callable[[int], tuple[nn.Module, nn.Module]]) -> None:
    """Lesson 1, exercise 1.2: ``build_autoencoder_layers(latent_dim) -> (encoder, decoder)``:
    784 -> 512 -> 256 -> latent_dim and back to 784 logits, ReLU after each hidden layer."""

    def layers(latent_dim: int) -> str | None:
        built = fn(latent_dim)
        if not isinstance(built, tuple | list) or len(built) != 2:
            return "return a pair (encoder, decoder)"
        for name, got, want in zip(("encoder", "decoder"), built, _reference_layers(latent_dim),
                                   strict=True):
            hint = _layers_hint(name, got, want, latent_dim)
            if hint:
                return hint
        return None

    def outputs(latent_dim: int, n: int) -> str | None:
        encoder, decoder = fn(latent_dim)
        ref_encoder, ref_decoder = _reference_layers(latent_dim)
        encoder.load_state_dict(ref_encoder.state_dict())
        decoder.load_state_dict(ref_decoder.state_dict())
        X = torch.rand(n, 784, generator=seeded(n))
        with torch.no_grad():
            Z, ref_Z = encoder(X), ref_encoder(X)
            hint = compare(Z, ref_Z)
            if hint:
                return f"the encoder's codes [{n}, {latent_dim}]: {hint}"
            hint = compare(decoder(ref_Z * 3), ref_decoder(ref_Z * 3))
        return f"the decoder's logits [{n}, 784]: {hint}" if hint else None

    def same_start() -> str | None:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            encoder, decoder = fn(2)
            torch.manual_seed(0)
            ref_encoder, ref_decoder = _reference_layers(2)
        for got, want in ((encoder, ref_encoder), (decoder, ref_decoder)):
            for a, b in zip(got.parameters(), want.parameters(), strict=True):
                if not torch.equal(a, b):
                    return ("with the same seed your layers start from other weights than the "
                            "course's: build the encoder first, then the decoder, each layer "
                            "in order from its input, and draw nothing else at random")
        return None

    run_cases("autoencoder layers", [
        ("latent_dim=2", lambda: layers(2)),
        ("latent_dim=5", lambda: layers(5)),
        ("latent_dim=2, a batch of 8, the course's weights loaded", lambda: outputs(2, 8)),
        ("latent_dim=3, a batch of one, the course's weights loaded", lambda: outputs(3, 1)),
        ("the initial weights, seed 0", same_start),
    ], answer=fn)


# --- Exercise 1.3 -------------------------------------------------------------------------------

def check_autoencoder(cls: type) -> None:
    """Lesson 1, exercise 1.3: the ``Autoencoder`` module built with the learner's layers, whose
    weights are named like the course's ``models.Autoencoder(latent_dim, hidden=(512, 256))``."""

    def build(latent_dim: int) -> tuple[nn.Module, Autoencoder]:
        model = cls(latent_dim)
        reference = Autoencoder(latent_dim, hidden=HIDDEN)
        return model, reference

    def names(latent_dim: int) -> str | None:
        model, reference = build(latent_dim)
        if not isinstance(model, nn.Module):
            return "Autoencoder should be an nn.Module (class Autoencoder(nn.Module))"
        have = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        want = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
        if have == want:
            return None
        if not any(k.startswith(("encoder.", "decoder.")) for k in have):
            return ("no weights named encoder.* or decoder.*: keep the two stacks from "
                    "build_autoencoder_layers as self.encoder and self.decoder")
        missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
        if missing or extra:
            return (f"the weights are not named as in the course's Autoencoder (missing "
                    f"{missing[:3]}, unexpected {extra[:3]}): store only self.encoder and "
                    "self.decoder, as build_autoencoder_layers returns them")
        wrong = [k for k in want if have[k] != want[k]]
        return (f"weight {wrong[0]} is shaped {list(have[wrong[0]])}, expected "
                f"{list(want[wrong[0]])}: pass latent_dim on to build_autoencoder_layers")

    def same_start() -> str | None:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = cls(2)
            torch.manual_seed(0)
            reference = Autoencoder(2, hidden=HIDDEN)
        for (key, a), b in zip(model.state_dict().items(), reference.state_dict().values(),
                               strict=True):
            if not torch.equal(a, b):
                return (f"with the same seed your model starts from other weights ({key}) than "
                        "the course's: call build_autoencoder_layers once, in __init__, and "
                        "keep both stacks it returns")
        return None

    def loaded(latent_dim: int) -> tuple[nn.Module, Autoencoder]:
        model, reference = build(latent_dim)
        model.load_state_dict(reference.state_dict())
        return model, reference

    def encode(latent_dim: int, n: int) -> str | None:
        model, reference = loaded(latent_dim)
        X = torch.rand(n, 1, 28, 28, generator=seeded(n))
        flatten = ("encode takes images [N, 1, 28, 28], flattens each one to 784 numbers "
                   "(X.flatten(1), not X.flatten()) and returns codes [N, latent_dim]")
        with torch.no_grad():
            try:
                hint = compare(model.encode(X.clone()), reference.encode(X))
            except RuntimeError as err:
                return f"encode raised RuntimeError ({err}): {flatten}"
        if hint and "shape" in hint:
            hint += f": {flatten}"
        return f"encode: {hint}" if hint else None

    def decode(latent_dim: int, n: int) -> str | None:
        model, reference = loaded(latent_dim)
        Z = torch.randn(n, latent_dim, generator=seeded(n)) * 3
        with torch.no_grad():
            got, expected = model.decode(Z.clone()), reference.decode(Z)
        wrong = {"decode returns probabilities: return the decoder's logits, without a "
                 "sigmoid": torch.sigmoid(expected)}
        if isinstance(got, Tensor) and got.shape != expected.shape:
            return (f"decode returned shape {list(got.shape)}: reshape the decoder's output to "
                    f"images, [N, 1, 28, 28] (here {list(expected.shape)})")
        hint = compare(got, expected, wrong)
        return f"decode: {hint}" if hint else None

    def forward() -> str | None:
        model, reference = loaded(2)
        X = torch.rand(5, 1, 28, 28, generator=seeded(5))
        with torch.no_grad():
            hint = compare(model(X.clone()), reference(X))
        return f"forward: {hint} (forward(X) is decode(encode(X)): logits of images)" if hint else None

    def loss(beta: float, labels: bool) -> str | None:
        model, reference = loaded(2)
        X = torch.rand(6, 1, 28, 28, generator=seeded(6))
        y = torch.arange(6) if labels else None
        parts = model.loss(X.clone(), y, beta)
        expected = reference.loss(X, y)["recon"].detach()
        if not isinstance(parts, dict) or set(parts) != {"loss", "recon"}:
            got = sorted(parts) if isinstance(parts, dict) else type(parts).__name__
            return f"return a dict {{'loss': recon, 'recon': recon}}, got {got}"
        for key in ("loss", "recon"):
            value = parts[key]
            if not isinstance(value, Tensor) or not value.requires_grad:
                return (f"loss()[{key!r}] carries no gradient: return the tensor itself (no "
                        ".item(), no .detach(), no torch.no_grad()), the loop calls backward on it")
            wrong = {
                "the loss is weighted by beta: an autoencoder has no KL term for beta to weigh, "
                "its loss is the reconstruction alone": beta * expected,
                "the arguments of reconstruction_loss are swapped: logits first, then the "
                "images": _slip(X, reference(X)).detach(),
                "the reconstructions went through a sigmoid first: pass the logits, "
                "reconstruction_loss(self(X), X); the loss applies the sigmoid itself":
                    _slip(torch.sigmoid(reference(X)), X).detach(),
            }
            hint = compare(value, expected, wrong)
            if hint:
                return f"loss()[{key!r}]: {hint}"
        return None

    run_cases("Autoencoder", [
        ("Autoencoder(2): its weights' names and shapes", lambda: names(2)),
        ("Autoencoder(7): its weights' names and shapes", lambda: names(7)),
        ("Autoencoder(2) seeded like the course's", same_start),
        ("encode, latent_dim=2, a batch of 4", lambda: encode(2, 4)),
        ("encode, latent_dim=7, a batch of one", lambda: encode(7, 1)),
        ("decode, latent_dim=2, a batch of 3", lambda: decode(2, 3)),
        ("decode, latent_dim=7, a batch of one", lambda: decode(7, 1)),
        ("forward, a batch of 5", forward),
        ("loss(X), beta=1, no labels", lambda: loss(1.0, False)),
        ("loss(X, y, beta=0.5)", lambda: loss(0.5, True)),
    ], answer=cls)


# --- Exercise 1.4 -------------------------------------------------------------------------------

class _Spy:
    """What a training loop did, recorded without changing it: every call of the model's
    ``loss`` (which images, in which mode, with which beta, whether from inside ``train.fit``),
    and every optimizer step: its learning rate, and whether the gradients it used still held
    the previous step's (``zero_grad`` forgotten). Both are seen from torch's own hooks, so they
    hold whichever copy of ``cvae_helpers`` the loop calls (a grader's check runs a private one).
    """

    def __init__(self, model: nn.Module, n_train: int):
        self.n_train = n_train
        self.calls: list[dict] = []
        self.lrs: list[float] = []
        self.accumulated = 0  # steps whose gradients were the previous step's plus the new ones
        self.optimized: set[int] = set()
        params = list(model.parameters())
        fresh: list[Tensor | None] = [None] * len(params)  # what backward brought since the step
        previous: list[Tensor | None] = [None] * len(params)  # .grad at the last step
        loss = model.loss

        def spy_loss(X, y=None, beta=1.0, *args, **kwargs):
            frame, inside_fit = sys._getframe(1), False
            while frame is not None and not inside_fit:
                inside_fit = _is_fit(frame.f_code)
                frame = frame.f_back
            # Which images: pixel (0, 0) numbers the training images, pixel (0, 1) marks the
            # test images (_loop_data).
            ids = X.detach()[:, 0, 0, 0].mul(self.n_train).round().long().tolist()
            self.calls.append({"ids": ids, "test": bool((X.detach()[:, 0, 0, 1] == 1).all()),
                               "training": model.training, "grad": torch.is_grad_enabled(),
                               "beta": beta, "fit": inside_fit})
            return loss(X, y, beta, *args, **kwargs)

        def arrived(i: int) -> Callable[[Tensor], None]:
            def hook(grad: Tensor) -> None:  # the gradient of one backward, before accumulation
                fresh[i] = grad.detach().clone() if fresh[i] is None else fresh[i] + grad.detach()
            return hook

        def on_step(optimizer, args, kwargs):
            self.lrs.append(optimizer.param_groups[0]["lr"])
            self.optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
            stale = False
            for i, p in enumerate(params):
                if p.grad is not None and fresh[i] is not None and previous[i] is not None \
                        and previous[i].abs().max() > 0 \
                        and torch.allclose(p.grad, previous[i] + fresh[i], rtol=1e-5, atol=1e-8):
                    stale = True
                previous[i] = None if p.grad is None else p.grad.detach().clone()
                fresh[i] = None
            self.accumulated += stale

        model.loss = spy_loss
        self._params, self._arrived, self._on_step = params, arrived, on_step

    def __enter__(self) -> "_Spy":
        self._hooks = [p.register_hook(self._arrived(i)) for i, p in enumerate(self._params)]
        self._hooks.append(register_optimizer_step_pre_hook(self._on_step))
        return self

    def __exit__(self, *exc) -> None:
        for hook in self._hooks:
            hook.remove()


def _is_fit(code: types.CodeType) -> bool:
    """Whether ``code`` is ``train.fit``'s, from this copy of the package or any other (a
    grader's private copy compiles the same file again)."""
    fit = train.fit.__code__
    return code is fit or (code.co_name == fit.co_name and code.co_code == fit.co_code
                           and code.co_consts == fit.co_consts)


def _loop_data(n: int, n_test: int, seed: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Small random images; pixel (0, 0) of each names it (i / n), pixel (0, 1) is 1 in the
    test images only, so the spy can tell which images a loss was computed on."""
    g = seeded(seed)
    X = (torch.rand(n, 1, 28, 28, generator=g) < 0.25).float()
    X_test = (torch.rand(n_test, 1, 28, 28, generator=g) < 0.25).float()
    X[:, 0, 0, 0] = torch.arange(n) / n
    X[:, 0, 0, 1] = 0.0
    X_test[:, 0, 0, 0] = 0.0
    X_test[:, 0, 0, 1] = 1.0
    return X, torch.zeros(n, dtype=torch.long), X_test, torch.zeros(n_test, dtype=torch.long)


def _cosine(lr: float, num_epochs: int, shift: int = 0) -> list[float]:
    """The learning rate of each epoch under CosineAnnealingLR(T_max=num_epochs), stepped once
    per epoch (``shift=1``: stepped once too early)."""
    return [lr * (1 + math.cos(math.pi * (e + shift) / num_epochs)) / 2
            for e in range(num_epochs)]


def _orders(n: int, num_epochs: int, seed: int | None) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    orders = []
    for _ in range(num_epochs):
        order = torch.randperm(n, generator=g) if g is not None else torch.arange(n)
        orders.append(order.tolist())
    return orders


def _close(a: list, b: list, rtol: float = 1e-4) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= rtol * max(1.0, abs(y)) for x, y in zip(a, b, strict=True))


def check_train_model(fn: Callable[..., dict[str, list[float]]]) -> None:
    """Lesson 1, exercise 1.4: ``train_model(model, X, y, X_test, y_test, num_epochs, lr,
    batch_size, beta, seed)``, the plain training loop: from the same start it must train the
    same weights as ``train.fit`` and return the same per-epoch losses."""

    def case(make: Callable[[], nn.Module], n: int, num_epochs: int, lr: float,
             batch_size: int, beta: float, seed: int) -> Callable[[], str | None]:
        def test() -> str | None:
            X, y, X_test, y_test = _loop_data(n, 40, seed)
            with torch.random.fork_rng():
                torch.manual_seed(seed)
                start = make()
                model, reference = copy.deepcopy(start), copy.deepcopy(start)
                expected = train.fit(reference, X, y, X_test, y_test, num_epochs=num_epochs,
                                     lr=lr, batch_size=batch_size, beta=beta, seed=seed,
                                     device="cpu", progress=False)
                model.eval()  # as a model comes out of an earlier run: the loop must switch
                torch.manual_seed(seed + 1000)  # the loop has to seed the noise itself
                with _Spy(model, n) as spy, contextlib.redirect_stdout(io.StringIO()):
                    history = fn(model, X, y, X_test, y_test, num_epochs, lr, batch_size,
                                 beta, seed)
            return _loop_hint(spy, model, start, reference, history, expected, n, num_epochs,
                              lr, batch_size, beta, seed)
        return test

    run_cases("train_model", [
        ("a small autoencoder, 2 epochs of 200 images in batches of 32, lr 3e-3, seed 3",
         case(lambda: Autoencoder(2, hidden=(32,)), 200, 2, 3e-3, 32, 1.0, 3)),
        ("a small VAE (its loss draws noise), 3 epochs of 150 images in batches of 64, lr 2e-3, "
         "beta 0.5, seed 5",
         case(lambda: VAE(2, hidden=(32,)), 150, 3, 2e-3, 64, 0.5, 5)),
    ], answer=fn)


def _loop_hint(spy: _Spy, model: nn.Module, start: nn.Module, reference: nn.Module,
               history: object, expected: dict, n: int, num_epochs: int, lr: float,
               batch_size: int, beta: float, seed: int) -> str | None:
    """Name the first way in which the learner's loop did not do what ``fit`` does."""
    train_calls = [c for c in spy.calls if not c["test"]]
    test_calls = [c for c in spy.calls if c["test"]]
    steps_per_epoch = math.ceil(n / batch_size)
    if any(c["fit"] for c in spy.calls):
        return "your loop calls train.fit: write the loop itself (fit is what it is compared with)"
    if not train_calls:
        return "model.loss was never called on a training batch: call model.loss(Xb, yb, beta)"
    if any(not c["grad"] for c in train_calls):
        return "the training loss was computed without gradients: no torch.no_grad() around it"
    if any(not c["training"] for c in train_calls):
        return ("the model trained in eval mode: call model.train() at the start of each epoch "
                "(the model may come in eval mode, and is left in eval mode at the end)")
    if any(c["beta"] != beta for c in spy.calls):
        return f"model.loss got beta={spy.calls[0]['beta']}, not {beta}: pass beta on to it"
    sizes = [len(c["ids"]) for c in train_calls]
    if max(sizes) != min(batch_size, n):
        return f"the batches hold {max(sizes)} images, not batch_size={batch_size}"
    if not spy.lrs:
        return "optimizer.step() was never called: the weights never changed"
    if spy.optimized != {id(p) for p in model.parameters()}:
        return "the optimizer does not hold the model's weights: train.adam(model, lr)"
    if len(spy.lrs) != len(train_calls):
        return (f"{len(spy.lrs)} optimizer steps for {len(train_calls)} training batches: call "
                "optimizer.step() once per batch")
    if len(train_calls) != num_epochs * steps_per_epoch:
        return (f"{len(train_calls)} training batches, expected {num_epochs} epochs x "
                f"{steps_per_epoch} = {num_epochs * steps_per_epoch}: one pass over the data "
                "per epoch, num_epochs times")
    if spy.accumulated and spy.accumulated == len(spy.lrs) - 1:
        return ("zero_grad was never called: backward adds the new gradients to the old ones, "
                "so each step used the sum of all the gradients so far. Call "
                "optimizer.zero_grad() before loss.backward()")
    if spy.accumulated:
        return (f"{spy.accumulated} of {len(spy.lrs)} steps used gradients that still held "
                "earlier batches' (backward adds to .grad): call optimizer.zero_grad() before "
                "each loss.backward()")
    lrs = [spy.lrs[e * steps_per_epoch:(e + 1) * steps_per_epoch] for e in range(num_epochs)]
    firsts = [epoch[0] for epoch in lrs]
    want = _cosine(lr, num_epochs)
    if any(len(set(epoch)) > 1 for epoch in lrs):
        return ("the learning rate changed within an epoch: step the scheduler once per epoch, "
                "after the epoch's batches, not once per batch")
    if len(set(spy.lrs)) == 1:
        return ("the learning rate never changed: create torch.optim.lr_scheduler."
                "CosineAnnealingLR(optimizer, T_max=num_epochs) and call its step() after "
                "each epoch" + ("" if spy.lrs[0] == lr else f" (and start from lr={lr:g})"))
    if not _close(firsts, want, 1e-6):
        if _close(firsts, _cosine(lr, num_epochs, shift=1), 1e-6):
            return ("the scheduler stepped before the epoch's batches: step it after them, so "
                    "that the first epoch trains at lr")
        if abs(firsts[0] - lr) > 1e-12:
            return (f"the first epoch used learning rate {firsts[0]:g}, not lr={lr:g}: "
                    "train.adam(model, lr)")
        return (f"the learning rates per epoch were {[f'{f:.2g}' for f in firsts]}, expected "
                f"{[f'{w:.2g}' for w in want]}: CosineAnnealingLR with T_max=num_epochs")
    order = [c["ids"] for c in train_calls]
    epochs = [sum(order[e * steps_per_epoch:(e + 1) * steps_per_epoch], [])
              for e in range(num_epochs)]
    if epochs != _orders(n, num_epochs, seed):
        if epochs == _orders(n, num_epochs, None):
            return ("the batches were not shuffled: data.batches(X, y, batch_size, "
                    "generator=...) draws a new order each epoch")
        if all(e == epochs[0] for e in epochs):
            return ("the batches came in the same order every epoch: create the generator once, "
                    "before the loop over epochs, so that each epoch draws a new order from it")
        if any(epochs == _orders(n, num_epochs, s) for s in (0, 1, 42)):
            return ("the batch order comes from another seed: seed the generator with the seed "
                    "argument, torch.Generator().manual_seed(seed)")
        return ("the batches did not come in the order torch.Generator().manual_seed(seed) "
                "gives: pass that generator to data.batches(X, y, batch_size, generator=...)")
    diff = max((a - b).abs().max().item() for a, b in
               zip(model.parameters(), reference.parameters(), strict=True))
    if diff > 1e-5:
        unchanged = all(torch.equal(a, b) for a, b in
                        zip(model.parameters(), start.parameters(), strict=True))
        if unchanged:
            return ("the weights never changed: call loss.backward() then optimizer.step(), "
                    "with zero_grad before backward (zero_grad between backward and step wipes "
                    "the gradients)")
        if isinstance(model, VAE):
            return (f"the weights differ from fit's by up to {diff:.2g}: this model's loss "
                    "draws random noise, so start with torch.manual_seed(seed)")
        return (f"the weights differ from fit's by up to {diff:.2g}: in each step call "
                "zero_grad, then loss.backward(), then optimizer.step()")
    if not isinstance(history, dict) or not {"train_loss", "test_loss"} <= set(history):
        return "return a dict {'train_loss': [...], 'test_loss': [...]}"
    for key in ("train_loss", "test_loss"):
        values = history[key]
        if not isinstance(values, list) or len(values) != num_epochs:
            return f"history[{key!r}] should be a list of {num_epochs} numbers, one per epoch"
        if not all(isinstance(v, float) for v in values):
            return (f"history[{key!r}] should hold Python floats (loss.item()), got "
                    f"{type(values[0]).__name__}")
    if not _close(history["train_loss"], expected["train_loss"]):
        return (f"train_loss is {[round(v, 2) for v in history['train_loss']]}, expected "
                f"{[round(v, 2) for v in expected['train_loss']]}: the mean loss per image over "
                "the epoch, each batch's loss weighted by its size (the last batch is smaller)")
    if any(c["training"] or c["grad"] for c in test_calls):
        return ("the test loss was computed in training mode: use train.average_loss(model, "
                "X_test, y_test, beta), which switches to eval mode and turns gradients off")
    if not _close(history["test_loss"], expected["test_loss"]):
        return (f"test_loss is {[round(v, 2) for v in history['test_loss']]}, expected "
                f"{[round(v, 2) for v in expected['test_loss']]}: after each epoch (and its "
                "schedule step), train.average_loss(model, X_test, y_test, beta)['loss']")
    if model.training:
        return "the model is left in training mode: call model.eval() at the end"
    return None


# --- Exercise 1.5 -------------------------------------------------------------------------------

def check_uniform_in_box(fn: Callable[..., Tensor]) -> None:
    """Lesson 1, exercise 1.5: ``uniform_in_box(Z, n, generator)``: n points uniform in the
    smallest axis-aligned box holding the codes Z."""
    Z2 = torch.tensor([[-1.0, 2.0], [3.0, 5.0], [0.0, 4.0]])
    Z3 = torch.tensor([[10.0, -4.0, 0.5], [12.0, -1.0, 0.5], [11.0, -3.0, 0.7],
                       [10.5, -2.0, 0.6], [11.5, -3.5, 0.55]])

    def spread(Z: Tensor, box: str) -> str | None:
        n = 20_000
        d = Z.shape[1]
        try:
            P = fn(Z.clone(), n)
        except RuntimeError as err:
            if "must match the size" not in str(err):
                raise
            return (f"the shapes do not fit together ({err}): draw n rows of D numbers, "
                    f"D = Z.shape[1] = {d}, the number of coordinates of a code")
        if not isinstance(P, Tensor) or tuple(P.shape) != (n, d):
            hint = f"expected a tensor of shape [{n}, {d}], got {list(getattr(P, 'shape', []))}"
            if isinstance(P, Tensor) and tuple(P.shape) == (n, Z.shape[0]):
                hint += ": one column per coordinate of the codes, Z.shape[1]"
            return hint
        low, high = Z.min(0).values, Z.max(0).values
        width = high - low
        if (P < low).any() or (P > high).any():
            return (f"some points fall outside the box {box} that holds the codes: scale and "
                    "shift uniform numbers from [0, 1) by the box's width and its low corner")
        if ((P.min(0).values - low) > 0.02 * width).any() or \
                ((high - P.max(0).values) > 0.02 * width).any():
            return (f"the points do not reach the edges of the box {box}: each coordinate runs "
                    "from the smallest to the largest value of that coordinate over the codes")
        if ((P.std(0) - width / math.sqrt(12)).abs() > 0.05 * width).any():
            return ("the points are not spread evenly over the box: draw them from a uniform "
                    "distribution, not a normal one")
        return None

    def seeded_alike() -> str | None:
        a = fn(Z2.clone(), 50, generator=seeded(7))
        b = fn(Z2.clone(), 50, generator=seeded(7))
        c = fn(Z2.clone(), 50, generator=seeded(8))
        if not torch.equal(a, b):
            return ("two generators seeded alike gave different points: pass generator on to "
                    "torch.rand(..., generator=generator)")
        if torch.equal(a, c):
            return "generators with different seeds gave the same points"
        return None

    def one() -> str | None:
        P = fn(Z3.clone(), 1)
        return None if tuple(P.shape) == (1, 3) else f"n=1 should give shape [1, 3], got {list(P.shape)}"

    run_cases("uniform_in_box", [
        ("20,000 points in [-1, 3] x [2, 5]", lambda: spread(Z2, "[-1, 3] x [2, 5]")),
        ("20,000 points in a 3-D box [10, 12] x [-4, -1] x [0.5, 0.7]",
         lambda: spread(Z3, "[10, 12] x [-4, -1] x [0.5, 0.7]")),
        ("a seeded generator", seeded_alike),
        ("a single point in 3-D", one),
    ], answer=fn)
