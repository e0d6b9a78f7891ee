"""Every bad input gets a clear error, and nothing is ever lost (issue 13).

The table: each row is one careless input, as learners and instructors produce them, the
exception it must raise, and a fragment of the message that names the fix. The error must come
from the course's own code (the frame that raises lies in ``cvae_helpers``), and no fragment may
match more than three rows' messages, so that each fragment says something specific.

Below the table, the losses the issue lists: what must survive a NaN, a failed save, a failed
load, Ctrl-C in a sweep, a failed download, and a cache shared by two users.
"""

import gzip
import io
import os
import pickle
import warnings
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torchvision import datasets

import cvae_helpers
from cvae_helpers import checkpoints, data, evaluate, inputs, losses, train, widgets, zoo
from cvae_helpers.checkpoints import CheckpointError, MissingCheckpoint
from cvae_helpers.models import (
    CVAE,
    VAE,
    Autoencoder,
    Classifier,
    CompletionCVAE,
    CompletionNet,
    MLPClassifier,
)
from cvae_helpers.train import TrainingDiverged, TrainingInterrupted, fit

PACKAGE = Path(cvae_helpers.__file__).resolve().parent
RAW = Path(os.environ.get("CVAE_DATA_DIR") or data.default_root()) / "MNIST" / "raw"


# --- What the rows need: small models, small data, and damaged files ------------------------

def _images(n=8, seed=0):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def _digits(n=8):
    return torch.arange(n) % 10


def _with(X, index, value):
    X = X.clone()
    X.view(-1)[index] = value
    return X


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo this file ran code",))


class _NaNAfter3Steps(Autoencoder):
    """A learner's model whose own loss turns NaN (say, a log of 0) after three steps."""

    def loss(self, X, y=None, beta=1.0):
        self.steps = getattr(self, "steps", 0) + 1
        parts = super().loss(X, y, beta)
        return {"loss": parts["loss"] * float("nan")} if self.steps > 3 else parts


class _Interrupted(Autoencoder):
    """Ctrl-C arrives in the middle of the second step."""

    def loss(self, X, y=None, beta=1.0):
        self.steps = getattr(self, "steps", 0) + 1
        if self.steps == 2:
            raise KeyboardInterrupt
        return super().loss(X, y, beta)


class _FloatLoss(Autoencoder):
    def loss(self, X, y=None, beta=1.0):
        return super().loss(X, y, beta)["loss"].item()


class _NoBeta(Autoencoder):
    def loss(self, X):  # noqa: D102 - a learner's loss that forgot y and beta
        return super().loss(X)


class _PerPixel(Autoencoder):
    def loss(self, X, y=None, beta=1.0):  # the pixel losses, not yet summed
        return {"loss": torch.nn.functional.binary_cross_entropy_with_logits(
            self(X), X, reduction="none")}


class _NoLayers(torch.nn.Module):
    def loss(self, X, y=None, beta=1.0):
        return {"loss": X.sum()}


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """Files the rows read: a good checkpoint and its damaged variants, and copies of MNIST's
    test split with one file damaged each. MNIST is offline: a download fails at once."""
    tmp = tmp_path_factory.mktemp("bad_input")
    vae = VAE(2, hidden=(8,))
    good = checkpoints.save(tmp / "vae.pt", vae, history={"train_loss": [1.0]})
    blob = good.read_bytes()

    def file(name, content):
        (tmp / name).write_bytes(content)
        return tmp / name

    def saved(name, obj, **kwargs):
        torch.save(obj, tmp / name, **kwargs)
        return tmp / name

    flipped = bytearray(blob)
    flipped[blob.index(b"data/0") + 200] ^= 0xFF  # inside the first tensor's bytes
    future = torch.load(good, weights_only=True) | {"format": checkpoints.FORMAT + 1}
    fewer = torch.load(good, weights_only=True)
    fewer["state_dict"] = {k: v for k, v in fewer["state_dict"].items() if "decoder.2" not in k}
    fewer["checksum"] = checkpoints.checksum(fewer["state_dict"])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("figures/loss.csv", "epoch,loss\n1,150.0\n")
    files = {
        "truncated": file("truncated.pt", blob[:len(blob) // 2]),
        "random": file("random.pt", os.urandom(2000)),
        "empty": file("empty.pt", b""),
        "flipped": file("flipped.pt", bytes(flipped)),
        "state_dict": saved("state_dict.pt", vae.state_dict()),
        "code": saved("code.pt", {"state_dict": vae.state_dict(), "x": _Evil()}),
        "code_pickle": file("code.pkl", pickle.dumps({"x": _Evil()})),
        "numpy": saved("numpy.pt", {"state_dict": vae.state_dict(), "lr": np.float64(1e-3)}),
        "tensor": saved("tensor.pt", torch.zeros(3)),
        "other_dict": saved("other.pt", {"model": vae.state_dict(), "optimizer": {}}),
        "future": saved("future.pt", future),
        "fewer": saved("fewer.pt", fewer),
        "a_file": file("a_file", b"x"),
        "notebook": file("lesson.ipynb", b'{\n "cells": [],\n "metadata": {},\n "nbformat": 4\n}\n'),
        "notes": file("notes.txt", b"beta=4 gave blurrier digits\n"),
        "zip": file("figures.zip", archive.getvalue()),
        "gzipped": file("vae.pt.gz", gzip.compress(blob)),
    }

    def mnist(name, images=None, labels=None):
        """A data root whose test split has its images or labels file replaced by bytes."""
        raw = tmp / f"mnist_{name}" / "MNIST" / "raw"
        raw.mkdir(parents=True)
        for kind, content in (("images", images), ("labels", labels)):
            target = raw / f"t10k-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
            if content is None:
                target.symlink_to(RAW / target.name)
            elif content != "missing":
                target.write_bytes(content)
        return tmp / f"mnist_{name}"

    images = (RAW / "t10k-images-idx3-ubyte").read_bytes()
    labels = (RAW / "t10k-labels-idx1-ubyte").read_bytes()
    short_labels = (9_999).to_bytes(4, "big").join([labels[:4], labels[8:-1]])
    bad_label = bytearray(labels)
    bad_label[100] = 200
    roots = {
        "truncated": mnist("truncated", images=images[:3_000_000]),
        "magic": mnist("magic", images=b"\x00\x00\x08\x04" + images[4:]),
        "random": mnist("random", labels=os.urandom(10_008)),
        "short_labels": mnist("short_labels", labels=short_labels),
        "cut_labels": mnist("cut_labels", labels=labels[:5000]),
        "swapped": mnist("swapped", images=labels, labels=images),
        "gzipped": mnist("gzipped", labels=gzip.compress(labels)),
        "bad_label": mnist("bad_label", labels=bytes(bad_label)),
        "missing": mnist("missing", labels="missing"),
        "too_deep": mnist("too_deep"),
        "bad_gz": mnist("bad_gz", labels="missing"),
    }
    (roots["bad_gz"] / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(labels)[:500])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(datasets.MNIST, "download", _offline)
        yield SimpleNamespace(tmp=tmp, good=good, files=files, roots=roots)


def _offline(self):
    raise RuntimeError("Error downloading t10k-images-idx3-ubyte.gz: no network")


def _fit(model, X, y=None, **settings):
    return fit(model, X, y, **{"num_epochs": 1, "device": "cpu", "progress": False, **settings})


def _load(ctx, name, model=None):
    return checkpoints.load(ctx.files[name], model or VAE(2, hidden=(8,)))


def _mnist(ctx, name, split="test"):
    return data.load_mnist(split, root=ctx.roots[name])


def _env(name, value, call):
    """``call()`` with the environment variable ``name`` set to ``value``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(name, value)
        return call()


def _keep(**changes):
    settings = {"name": "autoencoder", "model": Autoencoder(2, hidden=[32]),
                "history": {"test_loss": [150.0]}, "checked": True, "hidden": [32],
                "num_epochs": 1} | changes
    return zoo.keep(**settings)


# --- The table: (kind, bad input, the call, the exception, a fragment naming the fix) --------

ROWS = [
    # Values: pixels
    ("values", "fit on pixels in 0..255",
     lambda c: _fit(VAE(2, hidden=(8,)), _images() * 255), ValueError, "divide by 255"),
    ("values", "the reconstruction loss of pixels in 0..255",
     lambda c: losses.reconstruction_loss(torch.zeros(8, 1, 28, 28), _images() * 255),
     ValueError, "X = X / 255"),
    ("values", "a VAE's forward pass on pixels in 0..255",
     lambda c: VAE(2, hidden=(8,))(_images().mul(255).round()), ValueError,
     "or use data.load_mnist(), which does"),
    ("values", "raw uint8 pixels from torchvision's dataset.data",
     lambda c: Autoencoder(2, hidden=(8,)).encode(torch.zeros(4, 1, 28, 28, dtype=torch.uint8)),
     TypeError, "X = X.float() / 255"),
    ("values", "a NaN pixel in fit's training images",
     lambda c: _fit(VAE(2, hidden=(8,)), _with(_images(), 100, float("nan"))), ValueError,
     "NaN or infinite value(s) (the first in image 0)"),
    ("values", "an infinite pixel in the test images of average_loss",
     lambda c: train.average_loss(VAE(2, hidden=(8,)), _with(_images(), 6000, float("inf")),
                                  None), ValueError, "(the first in image 7)"),
    ("values", "images normalised with transforms.Normalize",
     lambda c: Classifier()((_images() - 0.1307) / 0.3081), ValueError,
     "undo it; data.load_mnist() gives"),
    ("values", "an empty batch into a model's loss",
     lambda c: VAE(2, hidden=(8,)).loss(_images()[:0]), ValueError,
     "shape [0, 1, 28, 28]"),
    ("values", "an empty batch into the reconstruction loss",
     lambda c: losses.reconstruction_loss(torch.zeros(0, 784), torch.zeros(0, 784)),
     ValueError, "(shape [0, 784])"),
    ("values", "an empty code batch into the KL divergence",
     lambda c: losses.kl_divergence(torch.zeros(0, 2), torch.zeros(0, 2)), ValueError,
     "a KL averaged over 0 images"),
    ("values", "a flat batch [N, 784] into a VAE",
     lambda c: VAE(2, hidden=(8,))(torch.rand(3, 784)), ValueError, "X.view(-1, 1, 28, 28)"),
    ("values", "float64 images (torch.tensor of a numpy array) into a model",
     lambda c: VAE(2, hidden=(8,))(_images().double()), TypeError,
     "convert them with X.to(torch.float32)"),
    ("values", "a numpy array of images into fit",
     lambda c: _fit(VAE(2, hidden=(8,)), _images().numpy()), TypeError, "torch.from_numpy"),
    ("values", "fit with fewer labels than images",
     lambda c: _fit(CVAE(2, hidden=(8,)), _images(8), _digits(7)), ValueError,
     "8 images X but 7 labels y"),
    ("values", "batches of images and labels of different lengths",
     lambda c: next(data.batches(_images(8), _digits(9), 4)), ValueError,
     "8 images X but 9 labels y"),
    ("values", "a label 10 into a CVAE",
     lambda c: CVAE(2, hidden=(8,))(_images(2), torch.tensor([3, 10])), ValueError,
     "labels must lie in 0..9, got values from 3 to 10"),
    ("values", "sampling the digit -1 from a CVAE",
     lambda c: CVAE(2, hidden=(8,)).sample(2, labels=-1), ValueError, "from -1 to -1"),
    ("values", "fit a CVAE on labels 1..10",
     lambda c: _fit(CVAE(2, hidden=(8,)), _images(11), _digits(11) + 1), ValueError,
     "pass the digits' labels (as load_mnist gives them)"),
    ("values", "float labels into a CVAE",
     lambda c: CVAE(2, hidden=(8,))(_images(2), torch.tensor([1.0, 2.0])), TypeError,
     "convert whole-number labels with y.long()"),
    ("values", "one-hot labels into a CVAE",
     lambda c: CVAE(2, hidden=(8,))(_images(2), torch.eye(10)[:2].long()), ValueError,
     "y.argmax(dim=1)"),
    ("values", "labels shaped [N, 1] into the classifier's loss",
     lambda c: Classifier().loss(_images(4), _digits(4).view(-1, 1)), ValueError, "y.view(-1)"),
    ("values", "float labels into the MLP classifier's loss",
     lambda c: MLPClassifier(hidden=(8,)).loss(_images(4), _digits(4).float()), TypeError,
     "labels must be integers (torch.long), got torch.float32"),
    ("values", "fit a classifier without labels",
     lambda c: _fit(Classifier(), _images(), None), TypeError, "this model needs the digit labels"),
    ("values", "accuracy with labels of another split",
     lambda c: evaluate.accuracy(Classifier(), _images(10), _digits(20)), ValueError,
     "expected 10 labels in a 1-D tensor"),
    ("values", "a completion model trained on digit labels",
     lambda c: _fit(CompletionNet(hidden=(8,)), _images(), _digits()), ValueError,
     "these look like digit labels"),
    ("values", "quadrant counts 0 and 4",
     lambda c: data.visible_masks(torch.tensor([0, 4])), ValueError,
     "quadrant counts must be 1, 2 or 3, got values from 0 to 4"),
    ("values", "float quadrant counts",
     lambda c: CompletionCVAE(2, hidden=(8,)).loss(_images(2), torch.tensor([1.5, 2.0])),
     TypeError, "draw them with data.random_quadrant_counts(len(X))"),
    ("values", "fewer quadrant counts than images",
     lambda c: CompletionNet(hidden=(8,)).loss(_images(4), torch.tensor([1, 2, 3])), ValueError,
     "4 images but 3 quadrant counts y"),
    ("values", "four visible quadrants",
     lambda c: data.visible_mask(4), ValueError, "num_visible must be 1, 2 or 3 quadrants"),
    ("values", "a float 0/1 mask into mask_input",
     lambda c: data.mask_input(_images(2), data.visible_mask(1).float()), TypeError,
     "visible.bool()"),
    ("values", "a quadrant count where mask_input wants a mask",
     lambda c: data.mask_input(_images(2), 2), TypeError, "e.g. visible_mask(2)"),
    ("values", "codes of the wrong size into a decoder",
     lambda c: VAE(2, hidden=(8,)).decode(torch.zeros(4, 20)), ValueError,
     "(this model's latent_dim)"),
    ("values", "mu and logvar of different shapes",
     lambda c: losses.kl_divergence(torch.zeros(4, 2), torch.zeros(4, 3)), ValueError,
     ".chunk(2, dim=1)"),
    ("values", "one image's mu as a 1-D tensor",
     lambda c: losses.kl_divergence(torch.zeros(2), torch.zeros(2)), ValueError,
     "one image's is mu.view(1, -1)"),
    ("values", "a negative beta into the VAE loss",
     lambda c: losses.vae_loss(torch.zeros(2, 1, 28, 28), _images(2), torch.zeros(2, 2),
                               torch.zeros(2, 2), beta=-1.0), ValueError,
     "beta weights the KL term"),
    ("values", "flat logits against images [N, 1, 28, 28]",
     lambda c: losses.reconstruction_loss(torch.zeros(2, 784), _images(2)), ValueError,
     "logits.view_as(X)"),
    ("values", "a hidden mask of another shape",
     lambda c: losses.masked_reconstruction_loss(torch.zeros(2, 1, 28, 28), _images(2),
                                                 torch.ones(14, 14, dtype=torch.bool)),
     ValueError, "hidden = ~data.visible_mask(num_visible)"),
    ("values", "hidden=512 (a number, not a list)",
     lambda c: VAE(2, hidden=512), TypeError, "write hidden=[512]"),
    ("values", "a 2.5-dimensional code",
     lambda c: Autoencoder(2.5), TypeError, "latent_dim must be a whole number"),
    ("values", "a negative sampling temperature",
     lambda c: VAE(2, hidden=(8,)).sample(4, temperature=-1.0), ValueError,
     "temperature scales the prior's spread"),
    ("values", "labels for a VAE's samples",
     lambda c: VAE(2, hidden=(8,)).sample(2, labels=torch.tensor([1, 2])), ValueError,
     "use a CVAE to choose the digit"),
    ("values", "a list of labels for a CVAE's samples",
     lambda c: CVAE(2, hidden=(8,)).sample(2, labels=[1, 2]), TypeError,
     "torch.tensor([...]) makes one"),
    ("values", "the entropy of no labels",
     lambda c: evaluate.label_entropy(torch.zeros(0, dtype=torch.long)), ValueError,
     "entropy of an empty histogram"),
    ("values", "the pairwise distance of one image",
     lambda c: evaluate.mean_pairwise_distance(_images(1)), ValueError,
     "needs at least 2 images, got 1"),
    ("values", "active units of a single code",
     lambda c: evaluate.active_units(torch.zeros(1, 4)), ValueError,
     "a variance across images needs two"),
    ("values", "importance weights of different shapes",
     lambda c: evaluate.importance_weighted_nll(torch.zeros(5, 3), torch.zeros(5, 3),
                                                torch.zeros(3)), ValueError,
     "(k samples of N images)"),
    ("values", "random decodes of an autoencoder without X_train",
     lambda c: evaluate.random_decodes(Autoencoder(2, hidden=(8,)), 4), TypeError,
     "pass X_train, whose codes' box"),
    ("values", "random decodes of a CVAE",
     lambda c: evaluate.random_decodes(CVAE(2, hidden=(8,)), 4), TypeError,
     "model.sample(n, labels=...)"),
    ("values", "the completion likelihood of a VAE",
     lambda c: evaluate.completion_nll(VAE(2, hidden=(8,)), _images(2), 1), TypeError,
     "expected a CompletionNet or a CompletionCVAE"),
    ("values", "importance weights of a CVAE without labels",
     lambda c: evaluate.iwae_nll(CVAE(2, hidden=(8,)), _images(2), k=2), TypeError,
     "pass the labels of the images, e.g. model(X, y)"),
    ("values", "a confidence threshold of 90 (percent)",
     lambda c: evaluate.confident_fraction(Classifier(), _images(2), threshold=90),
     ValueError, "threshold must be a number in [0, 1]"),
    ("values", "a latent explorer of the classifier",
     lambda c: widgets.latent_explorer(Classifier()), TypeError,
     "expected a trained Autoencoder, VAE or CVAE, got Classifier"),
    ("values", "a latent explorer of a CVAE at digit 10",
     lambda c: widgets.latent_explorer(CVAE(2, hidden=(8,)), digit=10), ValueError,
     "digit must be 0..9, got 10"),
    ("values", "a latent explorer of lesson 5's CVAE",
     lambda c: widgets.latent_explorer(CompletionCVAE(2, hidden=(8,))), TypeError,
     "use completion_explorer"),
    ("values", "a sample browser over a list of models",
     lambda c: widgets.sample_browser([VAE(2, hidden=(8,))], Classifier()), TypeError,
     "a dict {name: trained VAE}"),
    ("values", "a completion row of two digits",
     lambda c: widgets.completion_row(CompletionCVAE(2, hidden=(8,)), CompletionNet(hidden=(8,)),
                                      _images(2), 1), ValueError, "completes one digit, X[i:i+1]"),
    ("values", "a PNG of a [28, 28] image",
     lambda c: widgets.image_png(torch.rand(28, 28)), ValueError,
     "a single [H, W] image is image[None]"),

    # Training that goes wrong
    ("training", "lr=0", lambda c: _fit(VAE(2, hidden=(8,)), _images(), lr=0), ValueError,
     "lr must be a finite number > 0, got 0 (the course"),
    ("training", "lr=nan", lambda c: _fit(VAE(2, hidden=(8,)), _images(), lr=float("nan")),
     ValueError, "got nan (the course trains with lr=1e-3)"),
    ("training", "num_epochs=2.0", lambda c: _fit(VAE(2, hidden=(8,)), _images(), num_epochs=2.0),
     TypeError, "use num_epochs=2"),
    ("training", "batch_size=0", lambda c: _fit(VAE(2, hidden=(8,)), _images(), batch_size=0),
     ValueError, "batch_size must be at least 1"),
    ("training", "a seed of 1.5", lambda c: _fit(VAE(2, hidden=(8,)), _images(), seed=1.5),
     TypeError, "seed must be a whole number"),
    ("training", "beta=-1 in fit", lambda c: _fit(VAE(2, hidden=(8,)), _images(), beta=-1),
     ValueError, "(beta=1 is the ELBO)"),
    ("training", "an unknown schedule",
     lambda c: _fit(VAE(2, hidden=(8,)), _images(), lr_schedule="linear"), ValueError,
     "lr_schedule must be 'constant' or 'cosine'"),
    ("training", "device='gpu'", lambda c: _fit(VAE(2, hidden=(8,)), _images(), device="gpu"),
     ValueError, "a GPU is called 'cuda'"),
    ("training", "a GPU this machine does not have",
     lambda c: _fit(VAE(2, hidden=(8,)), _images(),
                    device="cuda:99" if torch.cuda.is_available() else "cuda"),
     ValueError, "numbered from 0" if torch.cuda.is_available() else "Change runtime type"),
    ("training", "the class VAE instead of a model",
     lambda c: _fit(VAE, _images()), TypeError, "build one first, e.g. model = VAE(...)"),
    ("training", "a model without a loss method",
     lambda c: _fit(torch.nn.Linear(784, 2), _images()), TypeError, "has no loss method"),
    ("training", "a loss method that returns a float",
     lambda c: _fit(_FloatLoss(2, hidden=(8,)), _images()), TypeError,
     "return {'loss': loss}"),
    ("training", "y_test without X_test",
     lambda c: fit(VAE(2, hidden=(8,)), _images(), None, y_test=_digits(), device="cpu",
                   progress=False), ValueError, "pass both, or neither"),
    ("training", "a loss that turns NaN during training",
     lambda c: _fit(_NaNAfter3Steps(2, hidden=(8,)), _images(64), batch_size=8), TrainingDiverged,
     "look for log(0) or exp of a large number"),
    ("training", "a learning rate far too large",
     lambda c: _fit(VAE(2, hidden=(8,)), _images(64), lr=1e6, batch_size=8), TrainingDiverged,
     "Try a smaller learning rate than lr=1e+06"),
    ("training", "Ctrl-C during training",
     lambda c: _fit(_Interrupted(2, hidden=(8,)), _images(64), batch_size=8), TrainingInterrupted,
     "`model, history = train.last_stopped()` gives back"),

    # The cache: the zoo's settings and the models it takes over
    ("cache", "a 0-dimensional code", lambda c: zoo.config("vae", latent_dim=0), ValueError,
     "latent_dim must be at least 1, got 0"),
    ("cache", "beta as a tensor", lambda c: zoo.config("vae", beta=torch.tensor(1.0)), TypeError,
     "use .item()"),
    ("cache", "another model under a configuration's name",
     lambda c: zoo.config("vae", model="CVAE"), KeyError, "use its own name"),
    ("cache", "an unknown model", lambda c: zoo.trained("gan"), KeyError, "choose one of"),
    ("cache", "a misspelt setting", lambda c: zoo.config("vae", latent=3), KeyError,
     "has no setting ['latent']"),
    ("cache", "hidden=512 for the zoo", lambda c: zoo.config("cvae", hidden=512), TypeError,
     "hidden is a list of layer sizes"),
    ("cache", "zero epochs", lambda c: zoo.config("vae", num_epochs=0), ValueError,
     "num_epochs must be at least 1"),
    ("cache", "device='tpu' for the zoo", lambda c: zoo.trained("vae", device="tpu"), ValueError,
     "or None, for the best one here"),
    ("cache", "keep with the check itself, not its verdict",
     lambda c: _keep(checked=lambda *answers: True), TypeError, "checked=checks.passed(...)"),
    ("cache", "keep with loss tensors in the history",
     lambda c: _keep(history={"test_loss": [torch.tensor(150.0)]}), TypeError,
     "record loss.item()"),
    ("cache", "keep with a model of other layers",
     lambda c: _keep(model=Autoencoder(2, hidden=[16])), ValueError,
     "layers do not match the course's Autoencoder"),
    ("cache", "keep with the class instead of the model",
     lambda c: _keep(model=Autoencoder), TypeError, "keep takes your trained autoencoder"),
    ("cache", "fetch='no' (a string, which is true)",
     lambda c: zoo.trained("vae", fetch="no"), TypeError, "fetch must be True or False, got 'no'"),

    # Checkpoints
    ("checkpoints", "a truncated checkpoint", lambda c: _load(c, "truncated"), CheckpointError,
     "interrupted before the end"),
    ("checkpoints", "random bytes", lambda c: _load(c, "random"), CheckpointError,
     "is not a PyTorch file"),
    ("checkpoints", "an empty file", lambda c: _load(c, "empty"), CheckpointError,
     "is empty: a save or a copy was interrupted"),
    ("checkpoints", "a checkpoint of other sizes",
     lambda c: checkpoints.load(c.good, VAE(3, hidden=(8,))), CheckpointError,
     "but the model given is a VAE with {'latent_dim': 3"),
    ("checkpoints", "a checkpoint of another class",
     lambda c: checkpoints.load(c.good, CVAE(2, hidden=(8,))), CheckpointError,
     "Build the model with the checkpoint's settings"),
    ("checkpoints", "a plain torch.save(state_dict) from elsewhere",
     lambda c: _load(c, "state_dict"), CheckpointError, "holds only weights"),
    ("checkpoints", "a torch file holding code", lambda c: _load(c, "code"), CheckpointError,
     "holds code (posix.system" if os.name == "posix" else "holds code"),
    ("checkpoints", "a plain pickle holding code", lambda c: _load(c, "code_pickle"),
     CheckpointError, "it was refused unread"),
    ("checkpoints", "a file with numpy numbers from elsewhere", lambda c: _load(c, "numpy"),
     CheckpointError, "that a safe load does not read"),
    ("checkpoints", "a flipped byte inside the weights", lambda c: _load(c, "flipped"),
     CheckpointError, "do not match their checksum"),
    ("checkpoints", "a file holding one tensor", lambda c: _load(c, "tensor"), CheckpointError,
     "holds a Tensor, not a course checkpoint"),
    ("checkpoints", "another program's checkpoint dict", lambda c: _load(c, "other_dict"),
     CheckpointError, "it holds the entries ['model', 'optimizer']"),
    ("checkpoints", "a checkpoint from a newer course", lambda c: _load(c, "future"),
     CheckpointError, "update cvae_helpers"),
    ("checkpoints", "a checkpoint missing some weights", lambda c: _load(c, "fewer"),
     CheckpointError, "Was the model's code changed since it was saved?"),
    ("checkpoints", "a missing file",
     lambda c: checkpoints.load(c.tmp / "nothing.pt", VAE(2, hidden=(8,))), MissingCheckpoint,
     "train the model and save it first"),
    ("checkpoints", "a folder where a file was expected",
     lambda c: checkpoints.load(c.tmp, VAE(2, hidden=(8,))), CheckpointError,
     "is a folder, not a checkpoint file"),
    ("checkpoints", "saving a function in the extras",
     lambda c: checkpoints.save(c.tmp / "f.pt", VAE(2, hidden=(8,)), score=len), TypeError,
     "holds a builtin_function_or_method"),
    ("checkpoints", "saving to a folder's name",
     lambda c: checkpoints.save(c.tmp, VAE(2, hidden=(8,))), CheckpointError,
     "give a file name, such as"),
    ("checkpoints", "an extra named like a checkpoint's own entry",
     lambda c: checkpoints.save(c.tmp / "x.pt", VAE(2, hidden=(8,)), config={}), ValueError,
     "names a checkpoint keeps for itself"),
    ("checkpoints", "saving below a file",
     lambda c: checkpoints.save(c.files["a_file"] / "x.pt", VAE(2, hidden=(8,))),
     CheckpointError, "a_file is a file, not a folder"),
    ("checkpoints", "loading into the class instead of a model",
     lambda c: checkpoints.load(c.good, VAE), TypeError, "load puts weights into a model"),
    ("checkpoints", "saving over a notebook",
     lambda c: checkpoints.save(c.files["notebook"], VAE(2, hidden=(8,))), CheckpointError,
     "(a Jupyter notebook): choose another name"),
    ("checkpoints", "saving over a text file",
     lambda c: checkpoints.save(c.files["notes"], VAE(2, hidden=(8,))), CheckpointError,
     "(a text file): choose another name"),
    ("checkpoints", "saving over a plain torch.save(state_dict)",
     lambda c: checkpoints.save(c.files["state_dict"], VAE(2, hidden=(8,))), CheckpointError,
     "which is not a course checkpoint (a PyTorch file holding the entries"),
    ("checkpoints", "loading a notebook", lambda c: _load(c, "notebook"), CheckpointError,
     "is a Jupyter notebook, not a checkpoint: check the path"),
    ("checkpoints", "loading a text file", lambda c: _load(c, "notes"), CheckpointError,
     "is not a PyTorch file but text"),
    ("checkpoints", "loading a zip archive torch did not write", lambda c: _load(c, "zip"),
     CheckpointError, "but not one written by torch.save"),
    ("checkpoints", "loading a gzip-compressed checkpoint", lambda c: _load(c, "gzipped"),
     CheckpointError, "is gzip-compressed (it starts with the bytes 1f 8b)"),
    ("checkpoints", "loading into a model on the meta device",
     lambda c: checkpoints.load(c.good, VAE(2, hidden=(8,)).to("meta")), ValueError,
     "weights are on the meta device"),
    ("checkpoints", "a path starting with ~",
     lambda c: checkpoints.load("~/no-such-cvae-checkpoint.pt", VAE(2, hidden=(8,))),
     MissingCheckpoint, f"no checkpoint at {Path.home().resolve() / 'no-such-cvae-checkpoint'}"),

    # Data
    ("data", "a truncated images file", lambda c: _mnist(c, "truncated"), ValueError,
     "3,000,000 bytes where 7,840,016 were expected"),
    ("data", "a wrong magic number", lambda c: _mnist(c, "magic"), ValueError,
     "starts with the bytes 00 00 08 04"),
    ("data", "random bytes for labels", lambda c: _mnist(c, "random"), ValueError,
     "(its IDX magic number)"),
    ("data", "a labels file of the wrong length", lambda c: _mnist(c, "short_labels"),
     ValueError, "is it the other split's file"),
    ("data", "a labels file cut short", lambda c: _mnist(c, "cut_labels"), ValueError,
     "5,000 bytes where 10,008 were expected"),
    ("data", "the images and labels files swapped", lambda c: _mnist(c, "swapped"), ValueError,
     "two files were renamed or swapped"),
    ("data", "a gzip file under the unpacked name", lambda c: _mnist(c, "gzipped"), ValueError,
     "is still gzip-compressed"),
    ("data", "a damaged label", lambda c: _mnist(c, "bad_label"), ValueError,
     "holds the label 200"),
    ("data", "a missing labels file, offline", lambda c: _mnist(c, "missing"),
     FileNotFoundError, "missing: t10k-labels-idx1-ubyte"),
    ("data", "CVAE_DATA_DIR set to the raw folder itself",
     lambda c: data.load_mnist("test", root=c.roots["too_deep"] / "MNIST" / "raw"),
     FileNotFoundError, "the data folder is the one that holds MNIST/raw/"),
    ("data", "a root that is a file",
     lambda c: data.load_mnist("test", root=c.files["a_file"]), NotADirectoryError,
     "but MNIST's folder was expected there"),
    ("data", "a root that does not exist, offline",
     lambda c: data.load_mnist("test", root=c.tmp / "no such folder"), FileNotFoundError,
     "does not exist: check its name"),
    ("data", "a damaged .gz copy", lambda c: _mnist(c, "bad_gz"), OSError,
     "is damaged and cannot be unpacked"),
    ("data", "split='validation'", lambda c: data.load_mnist("validation"), ValueError,
     "split must be 'train' or 'test'"),
    ("data", "root=5", lambda c: data.load_mnist("test", root=5), TypeError,
     "root must be a folder name (a str or a Path)"),
    ("data", "both splits in a list", lambda c: data.load_mnist(["train", "test"]), TypeError,
     "load each with a call of its own"),
    ("data", "torchvision's train=True", lambda c: data.load_mnist(train=True), TypeError,
     "use load_mnist('train') for the training images"),
    ("data", "CVAE_DATA_DIR set to the MNIST folder, which holds raw/",
     lambda c: _env("CVAE_DATA_DIR", str(c.roots["too_deep"] / "MNIST"),
                    lambda: data.load_mnist("test")), FileNotFoundError,
     "So set the environment variable CVAE_DATA_DIR to"),
    ("data", "a visible_mask of 1.0 quadrants", lambda c: data.visible_mask(1.0), TypeError,
     "use num_visible=1"),
    # Values and models met later, by a second tester
    ("values", "NaN logits into the reconstruction loss",
     lambda c: losses.reconstruction_loss(torch.full((2, 1, 28, 28), float("nan")), _images(2)),
     ValueError, "the logits hold NaN or inf"),
    ("values", "a NaN log-variance into the KL divergence",
     lambda c: losses.kl_divergence(torch.zeros(2, 3), torch.full((2, 3), float("nan"))),
     ValueError, "mu or logvar holds NaN or inf"),
    ("values", "the codes of other images into the VAE loss",
     lambda c: losses.vae_loss(torch.zeros(2, 1, 28, 28), _images(2), torch.zeros(5, 3),
                               torch.zeros(5, 3)), ValueError, "2 images X but 5 codes mu"),
    ("values", "a linear probe given fewer labels than codes",
     lambda c: evaluate.linear_probe(torch.zeros(10, 2), _digits(9), torch.zeros(4, 2),
                                     _digits(4)), ValueError, "expected 10 labels"),
    ("values", "a VAE passed as the classifier",
     lambda c: evaluate.accuracy(VAE(2, hidden=(8,)), _images(4), _digits(4)), TypeError,
     "should return class scores [N, 10]"),
    ("values", "a picture of pixels in 0..255",
     lambda c: widgets.image_png(_images(1)[0] * 255), ValueError,
     "a picture's pixels are intensities in [0, 1]"),
    ("values", "the KL order of an autoencoder",
     lambda c: widgets.dimensions_by_kl(Autoencoder(2, hidden=(8,)), _images(5)), TypeError,
     "only a model with an encoder of Gaussians"),
    ("training", "a learner's loss without the labels and beta arguments",
     lambda c: _fit(_NoBeta(2, hidden=(8,)), _images()), TypeError,
     "define it as def loss(self, X, y=None, beta=1.0)"),
    ("training", "a learner's loss that is not summed to one number",
     lambda c: _fit(_PerPixel(2, hidden=(8,)), _images()), ValueError,
     "training needs one number"),
    ("training", "a learner's module with no layers",
     lambda c: _fit(_NoLayers(), _images()), ValueError, "build its layers in __init__"),
]
KINDS = {"values", "training", "cache", "checkpoints", "data"}


@pytest.fixture(scope="module")
def outcomes(ctx):
    """Each row's exception, message and raising file, once per test session."""
    results = {}
    for _, what, call, _, _ in ROWS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                call(ctx)
            except BaseException as err:  # noqa: B036 -- Ctrl-C is one of the rows
                tb = err.__traceback__
                while tb.tb_next is not None:
                    tb = tb.tb_next
                results[what] = (err, str(err), Path(tb.tb_frame.f_code.co_filename).resolve())
            else:
                results[what] = (None, "", None)
    return results


@pytest.mark.parametrize(("kind", "what", "call", "error", "fragment"), ROWS,
                         ids=[row[1] for row in ROWS])
def test_a_bad_input_gets_a_clear_error(outcomes, kind, what, call, error, fragment):
    err, message, where = outcomes[what]
    assert err is not None, f"{what}: accepted without an error"
    assert isinstance(err, error), f"{what}: {type(err).__name__}: {message}"
    assert fragment in message, message
    assert PACKAGE in where.parents, f"raised in {where}, not by the course's code"
    assert "weights_only=False" not in message


def test_the_table_covers_every_kind_and_each_fragment_is_specific(outcomes):
    assert len(ROWS) >= 60 and len({row[1] for row in ROWS}) == len(ROWS)
    assert {row[0] for row in ROWS} == KINDS
    assert all(sum(row[0] == kind for row in ROWS) >= 5 for kind in KINDS)
    messages = [message for _, message, _ in outcomes.values()]
    shared = {row[4]: n for row in ROWS if (n := sum(row[4] in m for m in messages)) > 3}
    assert not shared, f"fragments found in more than 3 rows' messages: {shared}"


# --- Nothing is lost -------------------------------------------------------------------------

@pytest.fixture
def tiny_zoo(monkeypatch, tmp_path, small_train, small_test):
    """The zoo on 512 training and 200 test images, caching into a fresh folder."""
    X, y = small_train[0][:512], small_train[1][:512]
    monkeypatch.setattr(zoo, "load_mnist", lambda split: (X, y) if split == "train"
                        else (small_test[0][:200], small_test[1][:200]))
    monkeypatch.setattr(zoo, "_unwritable", set())
    cache = tmp_path / "cache"
    monkeypatch.setenv("CVAE_CACHE_DIR", str(cache))
    return cache


def test_a_nan_in_training_leaves_the_last_finite_weights_and_nothing_cached(tiny_zoo):
    with pytest.raises(TrainingDiverged, match="epoch 1 of 2") as stopped:
        zoo.trained("vae_2d", device="cpu", num_epochs=2, hidden=[16], lr=1e6)
    model = stopped.value.model
    fresh = zoo.build(zoo.config("vae_2d", num_epochs=2, hidden=[16], lr=1e6))
    assert all(torch.equal(model.state_dict()[k], v) for k, v in fresh.state_dict().items())
    assert not tiny_zoo.exists() or list(tiny_zoo.iterdir()) == []

    # NaN in the second epoch: the weights go back to those after the first one.
    X = _images(64)
    torch.manual_seed(0)
    once = Autoencoder(2, hidden=(8,))
    fit(once, X, None, num_epochs=1, batch_size=16, lr_schedule="constant", device="cpu",
        progress=False)
    torch.manual_seed(0)
    twice = _NaNAfter3Steps(2, hidden=(8,))
    twice.steps = -3  # a check of the first batch, 4 steps per epoch: NaN at epoch 2's second
    with pytest.raises(TrainingDiverged, match="epoch 2 of 3") as stopped:
        fit(twice, X, None, num_epochs=3, batch_size=16, lr_schedule="constant", device="cpu",
            progress=False)
    assert len(stopped.value.history["train_loss"]) == 1
    assert all(torch.equal(twice.state_dict()[k], v) for k, v in once.state_dict().items())


@pytest.mark.parametrize("blocker", ["a file where the folder should be",
                                     "a folder at the checkpoint's path"])
def test_a_failed_save_keeps_the_trained_model_and_warns_once(tiny_zoo, blocker, monkeypatch):
    if blocker.startswith("a file"):
        tiny_zoo.write_text("not a folder")
    else:
        path = zoo.cache_path("autoencoder", zoo.config("autoencoder", num_epochs=1,
                                                        hidden=[16]), torch.device("cpu"))
        path.mkdir(parents=True)
    with pytest.warns(zoo.CacheWarning, match="kept in memory for this session"):
        model, history = zoo.trained("autoencoder", device="cpu", num_epochs=1, hidden=[16])
    assert len(history["train_loss"]) == 1 and not model.training
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning for the same folder
        kept = zoo.keep("autoencoder", model, history, checked=True, num_epochs=1,
                        hidden=[16])
    assert torch.equal(kept.decoder[0].weight, model.decoder[0].weight)


def test_a_failed_load_leaves_the_model_unchanged(tmp_path, monkeypatch):
    source, target = VAE(2, hidden=(8,)), VAE(2, hidden=(8,))
    path = checkpoints.save(tmp_path / "vae.pt", source)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    checkpoint = torch.load(path, weights_only=True)  # the last tensor of another shape
    last = list(checkpoint["state_dict"])[-1]
    checkpoint["state_dict"][last] = torch.zeros(3)
    checkpoint["checksum"] = checkpoints.checksum(checkpoint["state_dict"])
    torch.save(checkpoint, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=rf"other shapes: {last} \[3\]"):
        checkpoints.load(tmp_path / "bad.pt", target)
    assert all(torch.equal(target.state_dict()[k], v) for k, v in before.items())

    copies = []

    def copy_fails_halfway(self, state_dict, *args, **kwargs):  # Ctrl-C during the first copy
        copies.append(state_dict)
        if len(copies) == 1:
            with torch.no_grad():
                next(self.parameters()).add_(1.0)
            raise KeyboardInterrupt
        return torch.nn.Module.load_state_dict(self, state_dict, *args, **kwargs)

    monkeypatch.setattr(VAE, "load_state_dict", copy_fails_halfway)
    with pytest.raises(KeyboardInterrupt):
        checkpoints.load(path, target)
    assert len(copies) == 2  # the weights from before were copied back
    assert all(torch.equal(target.state_dict()[k], v) for k, v in before.items())


def test_what_save_accepts_load_accepts(tmp_path):
    model = VAE(2, hidden=(8,))
    path = checkpoints.save(str(tmp_path / "vae.pt"), model, lr=np.float32(0.5),
                            history={"loss": [np.float64(1.5)], "epochs": np.arange(3)},
                            folder=tmp_path)
    extra = checkpoints.load(Path(path), VAE(2, hidden=(8,)))
    assert extra["lr"] == 0.5 and extra["history"]["loss"] == [1.5]
    assert torch.equal(extra["history"]["epochs"], torch.arange(3)) and extra["folder"] == str(tmp_path)


def test_one_ctrl_c_stops_a_whole_sweep_cell_with_one_message(tiny_zoo, monkeypatch, capsys):
    """A cell training a model per beta, as lessons 2 and 4 do, gets Ctrl-C (the
    KeyboardInterrupt that Python raises for a SIGINT) during the second model: the first is
    cached, the second keeps its weights, the third never starts. The interrupt is raised where
    the signal would land, inside the second model's training step, so that the test does not
    depend on when a loaded machine delivers a signal."""
    from IPython.core.interactiveshell import InteractiveShell

    real_losses = train._losses
    calls = []

    def losses_of(model, *args):
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_losses(model, *args)

    real_fit = zoo.fit
    monkeypatch.setattr(train, "_losses", losses_of)
    monkeypatch.setattr(zoo, "fit", lambda model, *a, **k: calls.append(model) or real_fit(
        model, *a, **{**k, "progress": False}))

    shell = InteractiveShell.instance()
    shell.user_ns.update(zoo=zoo)
    shell.run_cell('vaes = {b: zoo.trained("vae_2d", beta=b, num_epochs=2, hidden=[16], '
                   'device="cpu") for b in (0.5, 1.0, 2.0)}')
    out = capsys.readouterr()
    assert out.out.count("Training interrupted in epoch 1 of 2") == 1, out
    assert "Traceback" not in out.out + out.err and "vaes" not in shell.user_ns
    assert len(calls) == 2  # the third model never started
    assert len(list(tiny_zoo.glob("vae_2d-*.pt"))) == 1  # the first, which finished
    model, history = train.last_stopped()
    assert model is calls[1] and torch.isfinite(model.decoder[0].weight).all()
    assert history == {}


def test_save_never_replaces_a_file_that_is_not_a_checkpoint(tmp_path):
    notebook = tmp_path / "lesson.ipynb"
    notebook.write_text('{"cells": [], "nbformat": 4}')
    with pytest.raises(CheckpointError, match="choose another name, such as lesson.pt"):
        checkpoints.save(notebook, VAE(2, hidden=(8,)))
    assert notebook.read_text() == '{"cells": [], "nbformat": 4}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lesson.ipynb"]

    # A course checkpoint, and one too damaged to hold anything, are replaced as before.
    path = checkpoints.save(tmp_path / "vae.pt", VAE(2, hidden=(8,)))
    checkpoints.save(path, VAE(2, hidden=(8,)), note="again")
    path.write_bytes(path.read_bytes()[:300])
    checkpoints.save(path, VAE(2, hidden=(8,)), note="after a crash")
    assert checkpoints.load(path, VAE(2, hidden=(8,))) == {"note": "after a crash"}


def test_a_tilde_means_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CVAE_CACHE_DIR", "~/cache")
    assert zoo.cache_dir() == tmp_path.resolve() / "cache"
    saved = checkpoints.save("~/vae.pt", VAE(2, hidden=(8,)))
    assert saved == tmp_path / "vae.pt" and saved.is_file()
    checkpoints.load("~/vae.pt", VAE(2, hidden=(8,)))
    assert not (Path.cwd() / "~").exists()


def test_a_failed_download_creates_nothing_in_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.MNIST, "download", _offline)
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(FileNotFoundError, match="could not be downloaded"):
        data.load_mnist("train", root=root)
    assert list(root.iterdir()) == []
    with pytest.raises(FileNotFoundError):
        data.load_mnist("test", root=tmp_path / "not yet")
    assert not (tmp_path / "not yet").exists()


def test_checkpoints_are_readable_by_all_fsynced_before_the_rename_and_strays_go(tmp_path,
                                                                                 monkeypatch):
    stray = tmp_path / ".vae.pt.0123abcd.tmp"  # a save killed an hour ago
    stray.write_bytes(b"half a checkpoint")
    os.utime(stray, (0, 0))
    fresh_stray = tmp_path / ".vae.pt.89abcdef.tmp"  # another save, writing right now
    fresh_stray.write_bytes(b"")
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append("replace") or real_replace(a, b))
    for umask, mode in ((0o022, 0o644), (0o002, 0o664)):
        old = os.umask(umask)
        try:
            path = checkpoints.save(tmp_path / "vae.pt", VAE(2, hidden=(8,)))
        finally:
            os.umask(old)
        assert path.stat().st_mode & 0o777 == mode
    assert events[:2] == ["fsync", "replace"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh_stray.name, "vae.pt"]


def _as_another_user(work) -> int:
    """Run ``work()`` in a child process whose user and group are 'nobody': 0 when it returns,
    1 when it raises (the error goes to stderr)."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            torch.set_num_threads(1)  # OpenMP's threads do not survive a fork
            work()
            code = 0
        except BaseException:  # noqa: B036 -- report anything, then leave
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.skipif(not hasattr(os, "fork") or os.geteuid() != 0,
                    reason="a second OS user needs root, to switch to the user 'nobody'")
def test_a_shared_cache_works_for_a_second_user(monkeypatch, small_train, small_test):
    import tempfile

    X, y = small_train[0][:256], small_train[1][:256]
    monkeypatch.setattr(zoo, "load_mnist", lambda split: (X, y) if split == "train"
                        else (small_test[0][:100], small_test[1][:100]))
    monkeypatch.setattr(zoo, "_unwritable", set())
    old = os.umask(0o022)
    try:
        shared = Path(tempfile.mkdtemp(prefix="cvae-shared-cache-"))
        shared.chmod(0o755)  # the instructor's folder: others may read, not write
        monkeypatch.setenv("CVAE_CACHE_DIR", str(shared))
        mine, history = zoo.trained("autoencoder", device="cpu", num_epochs=1, hidden=[16])
    finally:
        os.umask(old)

    def second_user():
        assert os.geteuid() == 65534 and not os.access(shared, os.W_OK)
        model, again = zoo.trained("autoencoder", device="cpu", num_epochs=1, hidden=[16])
        assert again == history  # read from the cache, not trained again
        assert torch.equal(model.decoder[0].weight, mine.decoder[0].weight)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            other, _ = zoo.trained("autoencoder", device="cpu", num_epochs=1, hidden=[8])
        assert [w.category for w in caught] == [zoo.CacheWarning]  # not saved, but kept
        assert other.decoder[0].weight.shape == (8, 2)

    try:
        assert _as_another_user(second_user) == 0
        assert [p.name for p in shared.iterdir()] == [
            zoo.cache_path("autoencoder", zoo.config("autoencoder", num_epochs=1, hidden=[16]),
                           torch.device("cpu")).name]
    finally:
        for p in shared.iterdir():
            p.unlink()
        shared.rmdir()


def test_an_interrupt_outside_training_still_stops_the_cell_with_one_message(tiny_zoo,
                                                                             monkeypatch):
    def interrupted_load(split):
        raise KeyboardInterrupt

    monkeypatch.setattr(zoo, "load_mnist", interrupted_load)
    with pytest.raises(TrainingInterrupted, match="no model was lost") as stopped:
        zoo.trained("autoencoder", device="cpu", num_epochs=1, hidden=[16])
    assert stopped.value._render_traceback_() == [str(stopped.value)]


def test_the_checks_of_a_batch_are_skipped_only_inside_fit():
    X = _images(4) * 255
    with inputs.values_checked():
        VAE(2, hidden=(8,))(X)  # fit has checked its data once, so its batches are not
    with pytest.raises(ValueError, match="divide by 255"):
        VAE(2, hidden=(8,))(X)
