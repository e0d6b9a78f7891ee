"""How fast the course's seven widgets redraw (lessons 1-5): the median and the worst of 50
changes of their controls, in ms, with the lessons' own models and data.

    python benchmarks/widgets.py [--changes 50] [--device cpu] [--seed 0]

A redraw is timed from setting a control's value until the new state is set: the widget has
decoded, classified and drawn its pictures, and ipywidgets has composed the state messages and
encoded them as a kernel does (``jupyter_client``'s JSON packer, the frontend's side left
out). The changes cycle through each widget's controls, each to a new random value. Also
printed: the CPU time the process spent on each redraw (on a machine shared with other work,
close to what the redraw takes with a core to itself), the bytes sent per redraw (median), and
the load average, since the wall-clock figures are only as quiet as the machine.

Models come from the cache when the lessons trained them on this kind of device, else they are
trained now (minutes). Lesson 4's browser holds five 20-D VAEs of one architecture trained
for 2 epochs; here it holds lesson 2's VAE, of that architecture, and lesson 3's 20-D and 8-D
CVAEs, so that it also samples conditionally; a redraw costs the same for any of them.
"""

import argparse
import os
import random
import statistics
import time

import ipywidgets as W
import torch
from jupyter_client.session import json_packer

from cvae_helpers import widgets, zoo
from cvae_helpers.data import load_mnist

BUDGET_MS = 100.0
SENT: list[int] = []


def record_sent(self: W.Widget, msg: dict, buffers=None) -> None:
    """Stands in for ``Widget._send``: encode the message as the kernel would, and count it."""
    SENT.append(len(json_packer(msg)) + sum(len(b) for b in buffers or []))


def controls_of(box: W.Widget) -> list[W.ValueWidget]:
    """The sliders, toggle buttons and dropdowns of a builder's box."""
    found, stack = [], [box]
    while stack:
        widget = stack.pop()
        if isinstance(widget, W.Box):
            stack.extend(reversed(widget.children))
        elif isinstance(widget, W.FloatSlider | W.IntSlider | W.ToggleButtons | W.Dropdown):
            found.append(widget)
    return found


def new_value(control: W.ValueWidget, rng: random.Random):
    """A random value of ``control`` other than its current one."""
    while True:
        if isinstance(control, W.FloatSlider):
            steps = round((control.max - control.min) / control.step)
            value = round(control.min + rng.randint(0, steps) * control.step, 10)
        elif isinstance(control, W.IntSlider):
            value = rng.randint(control.min, control.max)
        else:
            value = rng.choice(list(control.options))
        if value != control.value:
            return value


def time_redraws(box: W.Widget, changes: int,
                 rng: random.Random) -> tuple[list[float], list[float], list[int]]:
    """Of each of ``changes`` changes, cycling through the controls: the milliseconds it took,
    the milliseconds of CPU this process spent on it, and the bytes it sent."""
    controls, times, cpu_times, sent = controls_of(box), [], [], []
    for i in range(changes):
        control = controls[i % len(controls)]
        value = new_value(control, rng)
        SENT.clear()
        start, cpu_start = time.perf_counter(), time.process_time()
        control.value = value
        times.append(1000 * (time.perf_counter() - start))
        cpu_times.append(1000 * (time.process_time() - cpu_start))
        sent.append(sum(SENT))
    return times, cpu_times, sent


def build_widgets(device: torch.device) -> dict[str, tuple[str, W.Widget]]:
    """The course's seven widgets, built as the lessons build them: name -> (call, box)."""
    X_train, _ = load_mnist("train")
    X_test, y_test = load_mnist("test")

    def trained(name: str, **overrides):
        return zoo.trained(name, device=device, **overrides)[0]

    clf = trained("classifier")
    ae, vae2, vae = trained("autoencoder"), trained("vae_2d"), trained("vae")
    cvae2, cvae8, cvae = (trained("cvae", latent_dim=d) for d in (2, 8, 20))
    with torch.no_grad():
        Z_train = torch.cat([ae.encode(X.to(device)) for X in X_train.split(10_000)]).cpu()
        Z_test = ae.encode(X_test.to(device)).cpu()
        mu_vae2 = vae2.encode(X_test.to(device))[0].cpu()
        mu_cvae2 = cvae2.encode(X_test.to(device), y_test.to(device))[0].cpu()
    limit = float(Z_train.abs().max().ceil())
    built = {}

    def build(name: str, call: str, make) -> None:
        start = time.perf_counter()
        built[name] = (call, make(), time.perf_counter() - start)

    build("lesson 1: autoencoder explorer",
          "latent_explorer(ae, limit=limit, classifier=clf, codes=Z_test, labels=y_test)",
          lambda: widgets.latent_explorer(ae, limit=limit, classifier=clf, codes=Z_test,
                                          labels=y_test))
    build("lesson 2: 2-D VAE explorer",
          "latent_explorer(vae2, limit=5.0, classifier=clf, codes=mu_vae, labels=y_test)",
          lambda: widgets.latent_explorer(vae2, limit=5.0, classifier=clf, codes=mu_vae2,
                                          labels=y_test))
    build("lesson 2: 20-D VAE explorer",
          "latent_explorer(vae, classifier=clf, order=dimensions_by_kl(vae, X_test))",
          lambda: widgets.latent_explorer(vae, classifier=clf,
                                          order=widgets.dimensions_by_kl(vae, X_test)))
    build("lesson 3: 2-D CVAE explorer",
          "latent_explorer(cvae2d, digit=7, classifier=clf, codes=Z_cvae, labels=y_test)",
          lambda: widgets.latent_explorer(cvae2, digit=7, classifier=clf, codes=mu_cvae2,
                                          labels=y_test))
    build("lesson 3: 20-D CVAE explorer",
          "latent_explorer(cvae, digit=9, classifier=clf, order=dimensions_by_kl(cvae, X, y))",
          lambda: widgets.latent_explorer(cvae, digit=9, classifier=clf,
                                          order=widgets.dimensions_by_kl(cvae, X_test, y_test)))
    browsed = {"20-D VAE": vae, "20-D CVAE": cvae, "8-D CVAE": cvae8}
    build("lesson 4: sample browser",
          "sample_browser(models, clf)  # scores 100 samples",
          lambda: widgets.sample_browser(browsed, clf))
    build("  for comparison, scoring 1,000",
          "sample_browser(models, clf, scored=1000)",
          lambda: widgets.sample_browser(browsed, clf, scored=1000))
    completion_cvae, completion_net = trained("completion_cvae"), trained("completion_net")
    build("lesson 5: completion explorer",
          "completion_explorer(cvae, baseline, X_test, classifier=clf, y=y_test)",
          lambda: widgets.completion_explorer(completion_cvae, completion_net, X_test,
                                              classifier=clf, y=y_test))
    return built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50, help="changes timed per widget")
    parser.add_argument("--device", default="cpu", help="cpu (a learner's laptop), cuda or mps")
    parser.add_argument("--seed", type=int, default=0, help="of the random control values")
    args = parser.parse_args()
    device = torch.device(args.device)
    W.Widget._send = record_sent

    load_before = os.getloadavg()
    built = build_widgets(device)
    rng = random.Random(args.seed)
    print(f"{args.changes} changes per widget on {device}, {torch.get_num_threads()} torch "
          f"thread(s), {os.cpu_count()} CPUs; ipywidgets {W.__version__}")
    print(f"{'':<34}{'wall clock':^20}{'CPU of this process':^20}")
    print(f"{'widget':<34}{'median ms':>10}{'worst ms':>10}{'median ms':>10}{'worst ms':>10}"
          f"{'bytes sent':>12}{'build s':>9}")
    over, cpu_over = [], []
    for name, (call, box, build_seconds) in built.items():
        times, cpu_times, sent = time_redraws(box, args.changes, rng)
        median, worst = statistics.median(times), max(times)
        flag = "" if name.startswith(" ") or worst < BUDGET_MS else "  over 100 ms"
        if flag:
            over.append(name)
            if max(cpu_times) >= BUDGET_MS:
                cpu_over.append(name)
        print(f"{name:<34}{median:>10.1f}{worst:>10.1f}{statistics.median(cpu_times):>10.1f}"
              f"{max(cpu_times):>10.1f}{statistics.median(sent):>12,.0f}{build_seconds:>9.1f}{flag}")
        print(f"    {call}")
    load_after = os.getloadavg()
    print("load average (1, 5, 15 min): before " + ", ".join(f"{v:.2f}" for v in load_before)
          + "; after " + ", ".join(f"{v:.2f}" for v in load_after))
    if not over:
        print("every widget redraws in under 100 ms")
    else:
        print(f"{len(over)} widget(s) took 100 ms or more at worst: {', '.join(over)}; of "
              f"these, {len(cpu_over)} also used 100 ms of CPU or more"
              + (f": {', '.join(cpu_over)}" if cpu_over else
                 " (the others waited for a CPU: compare the load average with the CPU count)"))


if __name__ == "__main__":
    main()
