"""Self-checks for the lessons' exercises (lessons 1-5), one module per lesson.

Each ``check_<exercise>(your_answer)`` runs your code on cases with known answers and prints one
line: a pass, "not done yet", or a hint naming the case that failed and what was expected
(``core``). The answers are compared with the course's reference implementations in
``cvae_helpers``. ``passed(...)`` tells whether your functions passed, so that a lesson caches
the model they trained only when they did.
"""

from .core import STRICT_ENV, CheckFailed, compare, passed, results, run_cases, strict
from .lesson1 import (
    check_autoencoder,
    check_autoencoder_layers,
    check_reconstruction_loss,
    check_train_model,
    check_uniform_in_box,
)
from .lesson2 import (
    check_kl_divergence,
    check_monte_carlo_kl,
    check_negative_elbo,
    check_reparameterize,
    check_vae,
)
from .lesson3 import (
    check_condition,
    check_cvae,
    check_linear_probe,
    check_redraw_as,
    check_sample_digits,
)
from .lesson4 import (
    check_active_units,
    check_bernoulli_log_likelihood,
    check_importance_weighted_nll,
    check_kl_per_dimension,
    check_label_entropy,
    check_log_densities,
    check_log_weight_terms,
)
from .lesson5 import (
    check_completion_cvae,
    check_conditional_elbo,
    check_mask_input,
    check_masked_reconstruction_loss,
    check_visible_masks,
)

__all__ = [
    "STRICT_ENV", "CheckFailed", "compare", "passed", "results", "run_cases", "strict",
    "check_autoencoder", "check_autoencoder_layers", "check_reconstruction_loss",
    "check_train_model", "check_uniform_in_box",
    "check_kl_divergence", "check_monte_carlo_kl", "check_negative_elbo", "check_reparameterize",
    "check_vae",
    "check_condition", "check_cvae", "check_linear_probe", "check_redraw_as", "check_sample_digits",
    "check_active_units", "check_bernoulli_log_likelihood", "check_importance_weighted_nll",
    "check_kl_per_dimension", "check_label_entropy", "check_log_densities",
    "check_log_weight_terms",
    "check_completion_cvae", "check_conditional_elbo", "check_mask_input",
    "check_masked_reconstruction_loss", "check_visible_masks",
]
