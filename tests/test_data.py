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


def test_visible_masks_show_1_2_or_3_nested_quadrants():
    masks = {k: data.visible_mask(k) for k in (1, 2, 3)}
    for k, mask in masks.items():
        assert mask.shape == (1, 28, 28) and mask.dtype == torch.bool
        assert int(mask.sum()) == k * 14 * 14
        assert mask[:, 14:, :14].all()  # the bottom-left quadrant is always shown
        assert not mask[:, 14:, 14:].any()  # the bottom-right one never is
    assert not (masks[1] & ~masks[2]).any() and not (masks[2] & ~masks[3]).any()
    assert masks[2][:, :, :14].all() and not masks[2][:, :, 14:].any()  # the left half
    assert masks[3][:, :14, :].all()  # and the top half


@pytest.mark.parametrize("num_visible", [0, 4, -1])
def test_a_bad_number_of_visible_quadrants_is_refused(num_visible):
    with pytest.raises(ValueError, match=rf"1, 2 or 3 quadrants, got {num_visible}"):
        data.visible_mask(num_visible)


def test_mask_input_keeps_the_visible_pixels_and_hides_the_others():
    X = torch.rand(3, 1, 28, 28)
    visible = data.visible_mask(2)
    out = data.mask_input(X, visible)
    assert out.shape == X.shape
    assert torch.equal(out[visible.expand_as(X)], X[visible.expand_as(X)])
    assert (out[~visible.expand_as(X)] == data.HIDDEN).all()
    assert data.HIDDEN == -1.0
    # One mask per image.
    per_image = torch.stack([data.visible_mask(k) for k in (1, 3, 2)])
    out = data.mask_input(X, per_image)
    for i in range(3):
        assert torch.equal(out[i][per_image[i]], X[i][per_image[i]])
        assert (out[i][~per_image[i]] == -1).all()
    assert torch.equal(out[1], data.mask_input(X[1:2], data.visible_mask(3))[0])


def test_mask_input_refuses_flat_images():
    with pytest.raises(ValueError, match=r"\[N, 1, 28, 28\]"):
        data.mask_input(torch.rand(2, 784), data.visible_mask(1))


def test_random_quadrant_counts_mix_the_three_tasks_reproducibly():
    counts = data.random_quadrant_counts(300, torch.Generator().manual_seed(0))
    assert counts.shape == (300,) and counts.dtype == torch.int64
    masks = data.visible_masks(counts)
    assert masks.shape == (300, 1, 28, 28) and masks.dtype == torch.bool
    for k in (1, 2, 3):
        assert 50 < (counts == k).sum() < 150  # each about a third of the time
        assert (masks[counts == k] == data.visible_mask(k)).all()
        assert (masks[counts == k].flatten(1).sum(1) == 196 * k).all()
    again = data.random_quadrant_counts(300, torch.Generator().manual_seed(0))
    other = data.random_quadrant_counts(300, torch.Generator().manual_seed(1))
    assert torch.equal(counts, again) and not torch.equal(counts, other)


def test_quadrant_counts_outside_1_to_3_are_refused():
    with pytest.raises(ValueError, match="1, 2 or 3"):
        data.visible_masks(torch.tensor([1, 4]))
