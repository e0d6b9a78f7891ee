"""Lesson 5's checks agree with the course's own code: the helpers that the lesson's later
sections, the zoo and the benchmarks use pass the very checks the learner's answers must pass,
so a learner who matches the checks has written what the course trains and measures."""

import importlib.util
from pathlib import Path

import torch

from cvae_helpers import checks, data, losses, models, train

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "completion_epochs.py"


def test_the_course_helpers_pass_lesson_5s_checks(capsys):
    for check, answer in [(checks.check_mask_input, data.mask_input),
                          (checks.check_visible_masks, data.visible_masks),
                          (checks.check_masked_reconstruction_loss, losses.masked_reconstruction_loss),
                          (checks.check_conditional_elbo, losses.conditional_vae_loss),
                          (checks.check_completion_cvae, models.CompletionCVAE)]:
        check(answer)
        assert checks.passed(answer), capsys.readouterr().out


def test_the_benchmark_scores_each_quadrant_count_with_the_models_own_loss():
    spec = importlib.util.spec_from_file_location("completion_epochs", BENCHMARK)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    torch.manual_seed(0)
    model = models.CompletionCVAE(latent_dim=3, hidden=(16,))
    X = torch.rand(30, 1, 28, 28)
    figures = bench.negative_elbo_per_count(model, X, seed=1)
    torch.manual_seed(1)  # the first count is drawn right after the seed, as here
    assert abs(figures[1] - train.average_loss(model, X, torch.ones(30, dtype=torch.long))["loss"]) < 1e-4
    assert figures[1] > figures[2] > figures[3] > 0  # fewer hidden pixels, less to predict
