"""The lessons' quality figures (lessons 1-5), measured on their own models, in one JSON file.

    python benchmarks/quality.py [--device cpu|cuda] [--fresh] [--out build/quality]

Each model is the lesson's own configuration (``cvae_helpers.zoo.CONFIGS``), taken from the
cache when the lessons trained it on this kind of device (a lesson's main model is the one the
learner's own code trained, kept by ``zoo.keep``), else trained now (``--fresh`` always retrains,
into a temporary cache). ``train_seconds`` is the time its training took, as recorded per epoch by
``fit`` (absent for a model that another loop trained). Writes ``metrics.json`` and
``cvae_samples.pt`` (1,000 samples of the recommended generation setting with their requested
labels) into ``--out``, then checks the course's quality bars (``BARS``) and exits with status 1
if one is missed.

Label fidelity is scored by two judges of different architectures, trained separately (the CNN
``classifier`` and the MLP ``classifier_mlp``): fidelity is a property of the samples, so both
must read the requested digit.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

from cvae_helpers import evaluate, zoo
from cvae_helpers.data import load_mnist
from cvae_helpers.device import pick_device

BETAS = (0.5, 1.0, 2.0, 4.0, 8.0)  # lesson 4's sweep
JUDGES = ("classifier", "classifier_mlp")  # the two classifiers that score generated digits
# The course's quality bars, in the units of metrics.json.
BARS = {"vae_test_neg_elbo": ("<=", 100.0), "cvae_test_neg_elbo": ("<=", 97.0),
        **{f"cvae_label_fidelity_{judge}": (">=", 0.97) for judge in JUDGES}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: the best)")
    parser.add_argument("--fresh", action="store_true", help="retrain every model")
    parser.add_argument("--out", type=Path, default=Path("build/quality"))
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else pick_device()
    if args.fresh:
        os.environ["CVAE_CACHE_DIR"] = tempfile.mkdtemp(prefix="cvae-quality-")

    X_train, _ = load_mnist("train")
    X_test, y_test = load_mnist("test")
    seconds: dict[str, float] = {}

    def trained(name: str, **overrides):
        model, history = zoo.trained(name, device=device, **overrides)
        key = name + "".join(f"_{k}{v}" for k, v in overrides.items())
        seconds[key] = round(sum(history.get("seconds", [])), 1)
        return model

    judges = {name: trained(name) for name in JUDGES}
    clf = judges["classifier"]
    metrics: dict[str, object] = {"device": str(device)}
    for name, judge in judges.items():
        metrics[f"{name}_test_accuracy"] = evaluate.accuracy(judge, X_test, y_test)

    ae = trained("autoencoder")
    vae_2d, vae = trained("vae_2d"), trained("vae")
    score = evaluate.confident_fraction
    metrics["ae_random_decode_score"] = score(clf, evaluate.random_decodes(ae, 1000, X_train))
    metrics["vae_random_decode_score"] = score(clf, evaluate.random_decodes(vae_2d, 1000))
    metrics["vae20_random_decode_score"] = score(clf, evaluate.random_decodes(vae, 1000))
    metrics["vae_test_neg_elbo"] = evaluate.negative_elbo(vae, X_test, y_test)["loss"]

    cvaes = {d: trained(name, **overrides) for d, (name, overrides)
             in zoo.CVAE_BY_LATENT_SIZE.items()}
    cvae_metrics, fresh, labels = lesson3_metrics(cvaes, vae_2d, judges, X_test, y_test)
    metrics.update(cvae_metrics)

    # Lesson 4, on the full test set: importance-weighted bounds, the beta sweep, sample scores.
    torch.manual_seed(0)
    terms = evaluate.log_weight_terms(vae, X_test, k=1000)
    metrics["iwae_nll_by_k"] = {
        str(k): evaluate.importance_weighted_nll(*(t[:k] for t in terms)).mean().item()
        for k in (1, 10, 100, 1000)}
    metrics["iwae_nll_k1000"] = metrics["iwae_nll_by_k"]["1000"]
    sweep_4 = {}
    for beta in BETAS:
        model = trained("vae", beta=beta, num_epochs=2)
        torch.manual_seed(0)
        parts = evaluate.negative_elbo(model, X_test, y_test)
        with torch.no_grad():
            mu = torch.cat([model.encode(X.to(device))[0].cpu() for X in X_test.split(2000)])
        samples = model.sample(1000)
        sweep_4[str(beta)] = {"rate": parts["kl"], "distortion": parts["recon"],
                              "active_units": evaluate.active_units(mu),
                              "confidence": score(clf, samples),
                              "label_entropy": evaluate.label_entropy(
                                  evaluate.predicted_labels(clf, samples))}
    metrics["beta_sweep_2_epochs"] = sweep_4
    torch.manual_seed(0)
    for name, images in [("ae_uniform_in_box", evaluate.random_decodes(ae, 1000, X_train)),
                         ("vae20_prior", vae.sample(1000)),
                         ("cvae8_prior", cvaes[8].sample(1000, labels=labels))]:
        metrics[f"label_entropy_{name}"] = evaluate.label_entropy(
            evaluate.predicted_labels(clf, images))

    # Lesson 5: negative conditional log-likelihood of the hidden quadrants, full test set.
    baseline, completion_cvae = trained("completion_net"), trained("completion_cvae")
    torch.manual_seed(0)
    metrics["cll_by_quadrants"] = {
        str(k): {"baseline": evaluate.completion_nll(baseline, X_test, k),
                 "cvae": evaluate.completion_nll(completion_cvae, X_test, k, k=100)}
        for k in (1, 2, 3)}
    metrics["train_seconds"] = seconds

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    torch.save({"images": fresh, "labels": labels}, args.out / "cvae_samples.pt")
    print(json.dumps(metrics, indent=2))
    print(f"wrote {args.out / 'metrics.json'} and {args.out / 'cvae_samples.pt'}")
    missed = missed_bars(metrics)
    print("Quality bars: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
    if missed:
        sys.exit(1)


def lesson3_metrics(cvaes: dict[int, torch.nn.Module], vae_2d: torch.nn.Module,
                    judges: dict[str, torch.nn.Module], X_test: torch.Tensor,
                    y_test: torch.Tensor) -> tuple[dict[str, object], torch.Tensor, torch.Tensor]:
    """Lesson 3's figures for its CVAEs (keyed by latent size): the generation sweep with both
    judges, the recommended setting and its label fidelity on fresh samples, and the linear
    probe of the codes. Returns the metrics, and those fresh samples with their labels."""
    clf = judges["classifier"]
    device = next(clf.parameters()).device
    metrics: dict[str, object] = {}
    sweep, real_diversity = evaluate.generation_sweep(cvaes, clf, X_test, y_test, zoo.TEMPERATURES)
    metrics["cvae_test_neg_elbo"] = min(row["elbo"] for row in sweep.values())
    metrics["cvae_neg_elbo_by_latent"] = {str(d): sweep[d]["elbo"] for d in cvaes}
    metrics["cvae_fidelity_by_latent"] = {
        str(d): {str(t): sweep[d][t][0] for t in zoo.TEMPERATURES} for d in cvaes}
    mlp_fidelity = evaluate.sweep_fidelity(cvaes, judges["classifier_mlp"], zoo.TEMPERATURES)
    metrics["cvae_fidelity_mlp_by_latent"] = {
        str(d): {str(t): mlp_fidelity[d, t] for t in zoo.TEMPERATURES} for d in cvaes}
    metrics["cvae_diversity_by_latent"] = {
        str(d): {str(t): sweep[d][t][1] for t in zoo.TEMPERATURES} for d in cvaes}
    metrics["real_digit_diversity"] = real_diversity
    metrics["cvae_redraw_fidelity_by_latent"] = {str(d): sweep[d]["redraw"] for d in cvaes}
    lowest = {(d, t): min(sweep[d][t][0], mlp_fidelity[d, t]) for d in cvaes
              for t in zoo.TEMPERATURES}
    latent_dim, temperature = evaluate.recommend_obedient_setting(sweep, lowest)
    metrics["cvae_recommended_setting"] = {"latent_dim": latent_dim, "temperature": temperature}
    labels = torch.arange(10).repeat_interleave(100)
    torch.manual_seed(1)  # fresh samples, not the ones the setting was chosen on
    fresh = cvaes[latent_dim].sample(1000, labels=labels, temperature=temperature).cpu()
    for name, judge in judges.items():
        metrics[f"cvae_label_fidelity_{name}"] = evaluate.label_fidelity(judge, fresh, labels)
    # Lesson 3's linear probe: how often a logistic regression reads the digit from the mean
    # codes (fitted on the first half of the test set, scored on the second).
    half = len(X_test) // 2
    with torch.no_grad():
        codes = {f"cvae_{d}d": model.encode(X_test.to(device), y_test.to(device))[0].cpu()
                 for d, model in cvaes.items()}
        codes["vae_2d"] = vae_2d.encode(X_test.to(device))[0].cpu()
    metrics["probe_accuracy"] = {
        name: evaluate.linear_probe(Z[:half], y_test[:half], Z[half:], y_test[half:])
        for name, Z in codes.items()}
    return metrics, fresh, labels


def missed_bars(metrics: dict[str, object]) -> list[str]:
    """The quality bars that ``metrics`` misses, each said in words."""
    missed = []
    for key, (sense, bar) in BARS.items():
        value = metrics[key]
        if not (value <= bar if sense == "<=" else value >= bar):
            missed.append(f"{key} = {value:.4g}, the bar is {sense} {bar}")
    for k, row in metrics["cll_by_quadrants"].items():
        if not row["cvae"] < row["baseline"]:
            missed.append(f"with {k} visible quadrant(s) the completion CVAE ({row['cvae']:.2f}) "
                          f"does not beat the baseline ({row['baseline']:.2f})")
    return missed


if __name__ == "__main__":
    main()
