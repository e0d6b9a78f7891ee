"""How lesson 5's completion CVAE improves with longer training: its negative ELBO for 1, 2 and 3
visible quadrants after training budgets of several epochs (lesson 5 quotes these figures).

    python benchmarks/completion_epochs.py [--epochs 2 4 6 12 24] [--device cpu|cuda]

Each budget is the configuration ``completion_cvae`` with its ``num_epochs`` changed (the
learning rate follows the cosine over the whole budget, as in every lesson), trained by
``zoo.trained`` and so cached. The negative ELBO is the model's own loss with one code per test
digit, averaged over MNIST's 10,000 test digits with the given number of visible quadrants, the
figure Pyro's CVAE tutorial reports (as an average over 10 codes). Prints one JSON object per
budget: the three figures and the training seconds.
"""

import argparse
import json

import torch

from cvae_helpers import train, zoo
from cvae_helpers.data import load_mnist
from cvae_helpers.device import pick_device


def negative_elbo_per_count(model: torch.nn.Module, X_test: torch.Tensor,
                            seed: int = 0) -> dict[int, float]:
    """The test set's negative ELBO (nats per image) when every digit shows k quadrants."""
    torch.manual_seed(seed)
    counts = torch.ones(len(X_test), dtype=torch.long)
    return {k: train.average_loss(model, X_test, k * counts)["loss"] for k in (1, 2, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, nargs="+", default=[2, 4, 6, 12, 24])
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: the best)")
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else pick_device()
    X_test, _ = load_mnist("test")
    for num_epochs in args.epochs:
        model, history = zoo.trained("completion_cvae", device=device, num_epochs=num_epochs)
        figures = negative_elbo_per_count(model, X_test.to(device))
        print(json.dumps({"num_epochs": num_epochs, "device": device.type,
                          "train_seconds": round(sum(history["seconds"]), 1),
                          "negative_elbo": {k: round(v, 2) for k, v in figures.items()}}),
              flush=True)


if __name__ == "__main__":
    main()
