"""Lesson 1's self-checks: each reference answer, and wrong answers with the words their hint
must contain (run by ``test_checks.py``).

The module and the training loop are taken from the lesson's own solution cells, and their wrong
answers are one-line edits of that code (``lesson_answer``), so the tests check the code that
learners are shown, and the slips are the ones a learner makes in it.
"""

import nbformat
import torch
import torch.nn.functional as F
from torch import nn

from cvae_helpers import checks, data, train
from cvae_helpers.evaluate import uniform_in_box
from cvae_helpers.losses import reconstruction_loss
from cvae_instructor import course

LESSON = course.NOTEBOOKS / "01_autoencoder.ipynb"
BCE = F.binary_cross_entropy_with_logits


def solution_source(grade_id: str) -> str:
    """The source of the lesson's answer cell ``grade_id``."""
    for cell in nbformat.read(LESSON, as_version=4).cells:
        if course.nbgrader(cell).get("grade_id") == grade_id:
            return cell.source
    raise KeyError(grade_id)


def lesson_answer(grade_id: str, name: str, edits: tuple[tuple[str, str], ...] = (),
                  **namespace):
    """The function or class ``name`` defined by the answer cell ``grade_id``, after replacing
    each ``old`` by ``new`` in its source (each ``old`` must occur)."""
    source = solution_source(grade_id)
    for old, new in edits:
        assert old in source, f"{old!r} is not in the answer cell {grade_id}"
        source = source.replace(old, new, 1)
    scope = {"torch": torch, "nn": nn, "F": F, "data": data, "train": train,
             "reconstruction_loss": reconstruction_loss,
             "build_autoencoder_layers": reference_layers, **namespace}
    exec(compile(source, f"<{grade_id}>", "exec"), scope)
    return scope[name]


# Exercise 1.2's reference, written as the lesson asks for it.
def reference_layers(latent_dim):
    encoder = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                            nn.Linear(256, latent_dim))
    decoder = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 512),
                            nn.ReLU(), nn.Linear(512, 784))
    return encoder, decoder


def layers(encoder_sizes=(784, 512, 256), decoder_sizes=(256, 512, 784), act=nn.ReLU,
           code_relu=False, last=None, decoder_first=False, fixed_code=None):
    """Exercise 1.2's reference with one thing changed (for the wrong answers)."""
    def build(latent_dim):
        d = fixed_code or latent_dim

        def encoder():
            a, b, c = encoder_sizes
            return nn.Sequential(nn.Linear(a, b), act(), nn.Linear(b, c), act(), nn.Linear(c, d),
                                 *([nn.ReLU()] if code_relu else []))

        def decoder():
            a, b, c = decoder_sizes
            return nn.Sequential(nn.Linear(d, a), act(), nn.Linear(a, b), act(), nn.Linear(b, c),
                                 *([last()] if last else []))

        if decoder_first:
            dec = decoder()
            return encoder(), dec
        return encoder(), decoder()
    return build


def autoencoder(*edits):
    return lesson_answer("l1-autoencoder", "Autoencoder", edits)


def loop(*edits):
    return lesson_answer("l1-train_model", "train_model", edits)


# The usual slips in a training loop, as edits of the lesson's loop: each one's name, its edits
# (old, new), and the words the check's hint must contain. In the loop, a line of the epoch is
# indented by 8 spaces and a line of the step by 12.
E, S = " " * 8, " " * 12
LOOP_SLIPS = {
    "no zero_grad": (((S + "optimizer.zero_grad()\n", ""),), "zero_grad was never called"),
    "no step": (((S + "optimizer.step()\n", ""),), "step() was never called"),
    "no schedule": (((E + "scheduler.step()\n", ""),), "learning rate never changed"),
    "the schedule stepped per batch": (
        ((E + "scheduler.step()\n", ""),
         (S + "optimizer.step()\n", S + "optimizer.step()\n" + S + "scheduler.step()\n")),
        "once per epoch"),
    "a schedule of the wrong length": ((("T_max=num_epochs", "T_max=10"),), "T_max=num_epochs"),
    "a new generator every epoch": (
        (("generator=order", "generator=torch.Generator().manual_seed(seed)"),),
        "same order every epoch"),
    "the batch order from seed 0": (
        (("torch.Generator().manual_seed(seed)", "torch.Generator().manual_seed(0)"),),
        "another seed"),
    "the noise from seed 0": ((("torch.manual_seed(seed)\n", "torch.manual_seed(0)\n"),),
                              "torch.manual_seed(seed)"),
    "beta not passed on": ((("model.loss(Xb, yb, beta)", "model.loss(Xb, yb)"),),
                           "pass beta on"),
    "a fixed learning rate": ((("train.adam(model, lr)", "train.adam(model, 1e-3)"),),
                              "not lr="),
    "batches not weighed by their size": (
        (("total += loss.item() * len(Xb)", "total += loss.item() * batch_size"),),
        "weighted by its size"),
    "no model.train()": (((E + "model.train()\n", ""),), "model.train()"),
    "no model.eval()": ((("    model.eval()\n", ""),), "model.eval()"),
    "the test loss in training mode": (
        (('train.average_loss(model, X_test, y_test, beta)["loss"]',
          'model.loss(X_test, y_test, beta)["loss"].item()'),),
        "training mode"),
    "zero_grad between backward and step": (
        ((S + "optimizer.zero_grad()\n" + S + "loss.backward()\n",
          S + "loss.backward()\n" + S + "optimizer.zero_grad()\n"),),
        "weights never changed"),
    "train.fit inside": (
        (("history = {", "return train.fit(model, X, y, X_test, y_test, num_epochs=num_epochs, "
                         "lr=lr, batch_size=batch_size, beta=beta, seed=seed, progress=False)\n"
                         "    history = {"),),
        "calls train.fit"),
}

# (check, reference answer, [(wrong answer, words its hint must contain), ...])
CASES = [
    (checks.check_reconstruction_loss, reconstruction_loss, [
        (lambda lg, X: BCE(lg, X, reduction="mean") / X.shape[0], "far too small"),
        (lambda lg, X: BCE(lg, X, reduction="sum") / X.shape[1], "times too large"),
        (lambda lg, X: BCE(lg, X, reduction="sum") / X.numel(), "784 times too small"),
        (lambda lg, X: -BCE(lg, X, reduction="sum") / X.shape[0], "sign is flipped"),
        (lambda lg, X: BCE(X, lg, reduction="sum") / X.shape[0], "swapped"),
        (lambda lg, X: BCE(torch.sigmoid(lg), X, reduction="sum") / X.shape[0],
         "sigmoid was applied"),
        (lambda lg, X: F.binary_cross_entropy(lg, X, reduction="sum") / X.shape[0],
         "expects probabilities"),
        (lambda lg, X: BCE(lg, X), "784 times too small"),
        (lambda lg, X: -(X * torch.log(torch.sigmoid(lg)) + (1 - X) * torch.log(
            1 - torch.sigmoid(lg))).sum() / X.shape[0], "numerically stable"),
    ]),
    (checks.check_autoencoder_layers, reference_layers, [
        (layers(fixed_code=2), "latent_dim=5"),
        (layers(last=nn.Sigmoid), "should return logits"),
        (layers(act=nn.Tanh), "use nn.ReLU"),
        (layers(code_relu=True), "encoder ends with ReLU"),
        (layers(encoder_sizes=(784, 256, 256)), "should be Linear(784, 512)"),
        (layers(act=nn.Identity), "no nonlinearity"),
        (layers(decoder_first=True), "start from other weights"),
    ]),
    (checks.check_autoencoder, autoencoder(), [
        (autoencoder(("X.flatten(1)", "X.flatten()")), "X.flatten(1)"),
        (autoencoder(("self.decoder(Z).view(-1, 1, 28, 28)", "self.decoder(Z)")),
         "[N, 1, 28, 28]"),
        (autoencoder(("return self.decoder(Z)", "return torch.sigmoid(self.decoder(Z))")),
         "decode returns probabilities"),
        (autoencoder(('return {"loss": recon,', 'return {"loss": beta * recon,')), "weighted by beta"),
        (autoencoder(("reconstruction_loss(self(X), X)", "reconstruction_loss(X, self(X))")),
         "swapped"),
        (autoencoder(("reconstruction_loss(self(X), X)",
                      "reconstruction_loss(torch.sigmoid(self(X)), X)")), "sigmoid"),
        (autoencoder(("reconstruction_loss(self(X), X)", "reconstruction_loss(self(X), X).item()")),
         "carries no gradient"),
        (autoencoder(("self.encoder, self.decoder = build_autoencoder_layers(latent_dim)",
                      "self.encoder = build_autoencoder_layers(latent_dim)[0]\n"
                      "        self.decoder = build_autoencoder_layers(latent_dim)[1]")),
         "call build_autoencoder_layers once"),
        (autoencoder(("build_autoencoder_layers(latent_dim)", "build_autoencoder_layers(2)")),
         "Autoencoder(7)"),
    ]),
    # Six of the slips here (a grader's check runs a private copy of cvae_helpers, whose
    # train.fit is not the one the loop calls); test_lesson1_loop.py tries every one of LOOP_SLIPS.
    (checks.check_train_model, loop(),
     [(loop(*LOOP_SLIPS[name][0]), LOOP_SLIPS[name][1]) for name in (
         "no zero_grad", "zero_grad between backward and step", "the schedule stepped per batch",
         "a new generator every epoch", "the noise from seed 0", "train.fit inside")]),
    (checks.check_uniform_in_box, uniform_in_box, [
        (lambda Z, n, generator=None: torch.rand(n, Z.shape[1], generator=generator),
         "outside the box"),
        (lambda Z, n, generator=None: Z.min(0).values + (Z.max(0).values - Z.min(0).values)
         * torch.randn(n, Z.shape[1], generator=generator), "outside the box"),
        (lambda Z, n, generator=None: Z.min(0).values + (Z.max(0).values + Z.min(0).values)
         * torch.rand(n, Z.shape[1], generator=generator), "outside the box"),
        (lambda Z, n, generator=None: Z.min(0).values + (Z.max(0).values - Z.min(0).values)
         * torch.rand(n, Z.shape[1]), "generator"),
        (lambda Z, n, generator=None: Z.min(0).values + (Z.max(0).values - Z.min(0).values)
         * torch.rand(n, Z.shape[0], generator=generator), "Z.shape[1]"),
        (lambda Z, n, generator=None: Z.min(0).values + (Z.min(0).values - Z.min(0).values)
         * torch.rand(n, Z.shape[1], generator=generator), "edges"),
        (lambda Z, n, generator=None: (Z.min(0).values + Z.max(0).values) / 2 + 0.4 * (
            Z.max(0).values - Z.min(0).values) * (torch.rand(n, Z.shape[1]) - 0.5), "edges"),
    ]),
]
