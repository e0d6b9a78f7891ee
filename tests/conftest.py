"""Shared fixtures: small slices of MNIST, read once per test session."""

import pytest
import torch

from cvae_helpers.data import load_mnist


@pytest.fixture(scope="session")
def mnist_train():
    return load_mnist("train")


@pytest.fixture(scope="session")
def mnist_test():
    return load_mnist("test")


@pytest.fixture(scope="session")
def small_train(mnist_train):
    """The first 2,000 training images and labels."""
    X, y = mnist_train
    return X[:2000].clone(), y[:2000].clone()


@pytest.fixture(scope="session")
def small_test(mnist_test):
    X, y = mnist_test
    return X[:500].clone(), y[:500].clone()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _no_published_weights(monkeypatch):
    """Unit tests train (or stub) their models and never reach for the network: no weights URL.
    tests/test_weights.py points it at a server of its own on 127.0.0.1."""
    monkeypatch.setenv("CVAE_WEIGHTS_URL", "")
