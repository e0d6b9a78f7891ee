"""The GitHub workflows parse, and call the make targets that the course's own CI and README
use: ``make test`` (test.yml) and ``make site`` (site.yml, published with GitHub Pages)."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
TARGETS = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def workflow(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def steps(flow: dict) -> list[dict]:
    return [step for job in flow["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize(("name", "command"), [("test.yml", "make test"), ("site.yml", "make site")])
def test_a_workflow_runs_its_make_target(name, command):
    flow = workflow(name)
    assert flow.get("on", flow.get(True))  # PyYAML reads the key `on:` as True
    runs = [step["run"] for step in steps(flow) if "run" in step]
    assert runs == [command]
    assert command.split()[1] in TARGETS


def test_the_test_workflow_is_the_course_ci_and_caches_pip_and_mnist():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    flow = steps(workflow("test.yml"))
    python = next(s for s in flow if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["cache"] == "pip"
    cache = next(s for s in flow if s.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == "data/MNIST"


def test_the_site_workflow_publishes_what_make_site_builds():
    flow = workflow("site.yml")
    upload = next(s for s in steps(flow) if s.get("uses", "").startswith("actions/upload-pages"))
    assert upload["with"]["path"] == "build/site"
    assert "build/site" in (ROOT / "Makefile").read_text()
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in steps(flow))
    assert flow["permissions"]["pages"] == "write"
