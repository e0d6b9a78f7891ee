"""The grader's sandbox without a kernel: its copies are verified before each submission, and a
submission's environment holds none of the instructor's. (With kernels: test_grade.py.)"""

import os

import pytest

from cvae_helpers.data import data_root
from cvae_instructor import course
from cvae_instructor.sandbox import MARKER, Limits, Sandbox, Tampered


@pytest.fixture
def sandbox():
    with Sandbox(course.PACKAGE, data_root(), Limits()) as box:
        yield box
    assert not box.root.exists() and not box.submissions.exists()


def test_each_submission_gets_fresh_copies_and_a_changed_master_stops_grading(sandbox):
    first = sandbox.new_folder()
    (sandbox.package_dir(first) / "checks" / "core.py").write_text("PASS = True")  # its own copy
    second = sandbox.new_folder()
    assert (sandbox.package_dir(second) / "checks" / "core.py").read_bytes() == \
        (course.PACKAGE / "checks" / "core.py").read_bytes()
    assert not first.is_relative_to(sandbox.root) and not second.is_relative_to(sandbox.root)
    (sandbox.package / "checks" / "lesson1.py").write_text("PASS = True")  # the grader's copy
    with pytest.raises(Tampered, match="cvae_helpers/checks/lesson1.py"):
        sandbox.new_folder()


def test_the_kernel_environment_is_scrubbed(sandbox, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "instructor's")
    monkeypatch.setenv("JUPYTER_TOKEN", "instructor's")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(course.COURSE_ROOT), "/opt/packages"]))
    folder = sandbox.new_folder()
    env = sandbox.environment(folder, "abc")
    assert set(env) == {"PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "XDG_CACHE_HOME",
                        "XDG_CONFIG_HOME", "MPLCONFIGDIR", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE",
                        "PYTHONNOUSERSITE", "CVAE_DATA_DIR", "CVAE_CACHE_DIR", MARKER}
    assert env["PYTHONPATH"].split(os.pathsep) == [str(folder / "lib"), "/opt/packages"]
    assert all(env[k].startswith(str(folder)) for k in ("HOME", "TMPDIR", "CVAE_DATA_DIR",
                                                         "CVAE_CACHE_DIR"))
