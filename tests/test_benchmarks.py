"""The speed benchmark's matmul floor (c) counts the matrix products a training step really runs:
if it missed one, or counted one autograd skips, the ratio a/c would be wrong."""

import importlib.util
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from cvae_helpers.models import VAE

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "train_speed.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("train_speed", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def matmuls_of_one_step(model: VAE, X: torch.Tensor) -> list[tuple[int, int, int]]:
    """(m, k, n) of every ``mm`` and ``addmm`` that one forward and backward pass runs."""
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        model.loss(X, torch.zeros(X.shape[0], dtype=torch.long))["loss"].backward()
    shapes = []
    for event in prof.events():
        if event.name in ("aten::mm", "aten::addmm"):
            A, B = event.input_shapes[-2:] if event.name == "aten::mm" else event.input_shapes[1:3]
            assert A[1] == B[0]
            shapes.append((A[0], A[1], B[1]))
    return shapes


def test_the_matmul_floor_counts_the_products_of_a_training_step():
    bench = load_benchmark()
    for batch in (bench.BATCH, 96):  # a full batch, and a last partial one
        model = VAE(bench.LATENT, (bench.HIDDEN,))
        X = torch.rand(batch, 1, 28, 28)
        assert sorted(matmuls_of_one_step(model, X)) == sorted(bench.matmul_shapes(batch))
