"""Which accelerator to use (lesson 1)."""

import torch


def pick_device() -> torch.device:
    """Return CUDA if present, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
