import os
import subprocess
import sys

import pytest
import torch
from torchvision import datasets

from cvae_helpers import data


def test_load_mnist_returns_whole_splits_as_tensors(mnist_train, mnist_test):
    for (X, y), n in ((mnist_train, 60_000), (mnist_test, 10_000)):
        assert X.shape == (n, 1, 28, 28) and X.dtype == torch.float32
        assert y.shape == (n,) and y.dtype == torch.int64
        assert X.min() == 0.0 and X.max() == 1.0
        assert set(y.unique().tolist()) == set(range(10))


def test_missing_data_offline_names_the_folder_and_the_variable(tmp_path, monkeypatch):
    def no_network(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: no network")

    monkeypatch.setattr(datasets.MNIST, "download", no_network)
    with pytest.raises(FileNotFoundError) as err:
        data.load_mnist("train", root=tmp_path / "empty")
    message = str(err.value)
    assert str((tmp_path / "empty" / "MNIST" / "raw").resolve()) in message
    assert "CVAE_DATA_DIR" in message


def test_a_bad_split_name_is_refused():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.load_mnist("validation")


def test_the_root_is_the_argument_then_the_variable_then_the_default(monkeypatch, tmp_path):
    monkeypatch.setenv("CVAE_DATA_DIR", str(tmp_path))
    assert data.data_root("elsewhere") == (os.getcwd() / data.Path("elsewhere")).resolve()
    assert data.data_root() == tmp_path.resolve()
    monkeypatch.delenv("CVAE_DATA_DIR")
    assert data.data_root() == data.COURSE_ROOT / "data"  # tests run from a clone
    assert data.data_root().is_absolute()


def test_a_relative_variable_is_resolved_once_for_every_folder(tmp_path):
    """A kernel started in notebooks/ inherits the absolute path its parent resolved."""
    code = ("import os, cvae_helpers.data as d; os.chdir('/'); "
            "print(os.environ['CVAE_DATA_DIR']); print(d.data_root())")
    env = {**os.environ, "CVAE_DATA_DIR": "relative/mnist"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == [str(tmp_path.resolve() / "relative" / "mnist")] * 2


def test_batches_cover_every_image_once_in_a_seeded_order():
    X, y = torch.arange(10.0).view(10, 1), torch.arange(10)
    first = [yb for _, yb in data.batches(X, y, 4, torch.Generator().manual_seed(0))]
    again = [yb for _, yb in data.batches(X, y, 4, torch.Generator().manual_seed(0))]
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(torch.cat(first).tolist()) == list(range(10))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
