"""benchmarks/widgets.py times real redraws: every change it makes moves a control to a new value
and makes the widget send new state, which it counts as the kernel would encode it."""

import importlib.util
import random
from pathlib import Path

import ipywidgets as W
import torch

from cvae_helpers.models import CVAE, VAE, Classifier
from cvae_helpers.widgets import latent_explorer, sample_browser

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "widgets.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("widgets_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_timed_change_redraws_and_sends_its_state(monkeypatch):
    bench = load_benchmark()
    monkeypatch.setattr(W.Widget, "_send", bench.record_sent)
    torch.manual_seed(0)
    explorer = latent_explorer(CVAE(2, hidden=(16,)), classifier=Classifier(),
                               codes=torch.randn(50, 2), labels=torch.randint(0, 10, (50,)))
    browser = sample_browser({"a": VAE(2, hidden=(16,)), "b": VAE(3, hidden=(16,))}, Classifier(),
                             shown=4, scored=8)
    for box, kinds in ((explorer, {W.ToggleButtons, W.FloatSlider}),
                       (browser, {W.Dropdown, W.IntSlider, W.FloatSlider})):
        controls = bench.controls_of(box)
        assert {type(c) for c in controls} == kinds
        before = [c.value for c in controls]
        times, cpu_times, sent = bench.time_redraws(box, 2 * len(controls), random.Random(0))
        assert len(times) == len(cpu_times) == 2 * len(controls)
        assert all(t > 0 for t in times)
        # each change sent the new picture and readout: far more than a control's own value
        assert min(sent) > 1000
        assert [c.value for c in controls] != before
