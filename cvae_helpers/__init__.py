"""Shared code for the course "From autoencoders to conditional VAEs".

Each lesson in ``notebooks/`` imports what it needs from the modules below; each function's
docstring names the lesson that introduces it.

- ``data``: MNIST as in-memory tensors, and shuffled mini-batches.
- ``models``: the MLP autoencoder, VAE, CVAE and the digit classifier.
- ``losses``: reconstruction, KL divergence and the ELBO, in nats per image.
- ``train``: ``fit``, the one training loop every lesson uses.
- ``evaluate``: negative ELBO, importance-weighted log-likelihood, classifier scores.
- ``zoo``: the lessons' model configurations, trained once and cached.
- ``weights``: the course's published trained weights, downloaded instead of trained.
- ``plots`` and ``widgets``: figures and interactive controls.
- ``checkpoints``: atomic save, safe load.
- ``checks``: the self-checks that follow each exercise.
- ``inputs``: what the helpers take, and the clear error a careless input gets instead.
"""

__version__ = "0.1.0"
