"""environment.yml (conda) and pyproject.toml (pip) must describe the same environment."""

import re
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name, where they differ


def _split(requirement: str) -> tuple[str, str]:
    name, _, bound = re.match(r"([A-Za-z0-9_.\-]+)\s*(>=\s*([\w.]+))?", requirement).groups()
    return name.lower().replace("_", "-"), bound or ""


def test_conda_and_pip_list_the_same_packages_with_the_same_lower_bounds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    conda = {}
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
        elif in_deps and re.match(r"^  - [A-Za-z]", line):
            name, bound = _split(line[4:])
            if name not in ("python", "pip"):
                conda[CONDA_NAMES.get(name, name)] = bound
    assert conda == pip
    assert "-e .[dev]" in (ROOT / "environment.yml").read_text()
    python = re.search(r"python>=([\d.]+)", (ROOT / "environment.yml").read_text()).group(1)
    assert project["requires-python"] == f">={python}"
