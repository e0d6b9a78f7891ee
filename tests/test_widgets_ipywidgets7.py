"""The widgets under ipywidgets 7.7.1, the version Colab ships (installing 8 there breaks its
widgets): tests/test_widgets.py runs again in a fresh Python that imports ipywidgets 7.7.1.

The first run installs it into build/ipywidgets7 (pip reaches PyPI, here and in CI); later runs
reuse that folder. Only ipywidgets and the one package of its own that 8 dropped
(ipython_genutils) go there, so the rest of the environment (ipykernel, traitlets, torch) is
the one the other tests use.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "build" / "ipywidgets7"
VERSION = "7.7.1"
PACKAGES = [f"ipywidgets=={VERSION}", "ipython_genutils==0.2.0"]


def install_ipywidgets7() -> Path:
    """build/ipywidgets7, installed first if missing. pip writes into a temporary folder that
    is renamed when complete, so an interrupted install is never mistaken for a finished one."""
    if not TARGET.is_dir():
        partial = TARGET.with_name(f"ipywidgets7.partial-{os.getpid()}")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--disable-pip-version-check", "--target", str(partial), *PACKAGES],
                       check=True)
        partial.rename(TARGET)
    return TARGET


def test_the_widget_tests_pass_under_ipywidgets_7():
    target = install_ipywidgets7()
    env = {**os.environ, "CVAE_EXPECT_IPYWIDGETS": VERSION,
           "PYTHONPATH": os.pathsep.join([str(target), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "tests" / "test_widgets.py"),
                          "-p", "no:cacheprovider", "-q", "-rA"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    # every test ran and passed: none skipped, none expected to fail
    summary = report.strip().splitlines()[-1]
    assert " passed" in summary and not any(word in summary for word in
                                            ("skipped", "xfail", "xpassed", "deselected")), summary
    assert ("PASSED tests/test_widgets.py::"
            "test_the_widgets_import_the_ipywidgets_they_were_asked_to_run_under") in report
