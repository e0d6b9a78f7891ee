"""Run one submission's grading notebook apart from everything else (for ``grade``).

What a submission gets (``Sandbox.run``):

- **Its own folder**, made fresh and deleted afterwards: ``work/`` (the kernel's working
  folder), ``home/`` (its HOME, TMPDIR and caches), its own copy of ``cvae_helpers`` (copied
  from the grader's copy, whose SHA-256 is verified before every submission) and of MNIST.
  What it writes (``../x``, ``~/x``, the package's own files) lands there.
- **A scrubbed environment**: PATH, the locale, HOME and the course's variables, nothing of the
  instructor's (no tokens, no ``JUPYTER_*``, no PYTHONPATH entry that holds the course).
- **Limits** set with ``resource`` on the kernel before it starts: address space, CPU seconds,
  size of a written file, no core dumps; a wall-clock limit on the whole notebook; and a cap on
  the output kept from it.
- **No process left behind**: the kernel runs under a supervisor process (``python -m
  cvae_instructor.sandbox``) that is a Linux child subreaper, so every process the submission
  starts, even one that calls ``setsid`` or double-forks, stays its descendant; when the
  notebook ends the supervisor kills them all, and the grader then kills any process still
  carrying the submission's marker in its environment.

What it does not give: the submission runs as the instructor's OS user, with the network, and
can read (and write) whatever that user can, if it goes looking. ``docs/instructors.md`` says
how to grade in a container.
"""

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

KERNEL_NAME = "cvae-grading"
MARKER = "CVAE_GRADING_RUN"  # in the environment of every process of a submission
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

# The kernel's command: set the limits, then become the IPython kernel.
_LIMITS = """\
import os, resource, sys
memory, cpu, file_size = (int(a) for a in sys.argv[1:4])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", sys.argv[4]])
"""


@dataclass
class Limits:
    time_s: float = 300          # the whole notebook, wall clock
    memory_gb: float = 8         # address space of the kernel
    output_mb: float = 2         # outputs kept from the notebook (verdicts always are)
    file_mb: float = 256         # largest file the kernel may write

    def kernel_argv(self) -> list[str]:
        cpu = int(self.time_s * (os.cpu_count() or 1)) + 30  # CPU seconds, over all threads
        return [sys.executable, "-c", _LIMITS, str(int(self.memory_gb * 2**30)), str(cpu),
                str(int(self.file_mb * 2**20)), "{connection_file}"]


class Tampered(RuntimeError):
    """The grader's own copy of the package changed between two submissions."""


def _tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


class Sandbox:
    """The grader's copies of the package and of MNIST, made once, and a fresh folder for
    each submission (in another temporary folder: nothing leads from one to the other); use as
    a context manager."""

    def __init__(self, package: Path, data_dir: Path | None, limits: Limits):
        self.limits = limits
        self.root = Path(tempfile.mkdtemp(prefix="cvae-grader-"))
        self.submissions = Path(tempfile.mkdtemp(prefix="cvae-grading-"))
        self.package = self.root / "grader" / "cvae_helpers"
        shutil.copytree(package, self.package, ignore=shutil.ignore_patterns("__pycache__"))
        self.mnist = self.root / "grader" / "MNIST" / "raw"
        self.mnist.mkdir(parents=True)
        for name in MNIST_FILES:
            if data_dir and (data_dir / "MNIST" / "raw" / name).is_file():
                shutil.copy(data_dir / "MNIST" / "raw" / name, self.mnist / name)
        from cvae_helpers.checks.core import digests  # here: the supervisor needs no torch

        self.expected = digests(self.package)  # what the checks verify, file by file
        self._digest = _tree_digest(self.root / "grader")
        self._count = 0

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.submissions, ignore_errors=True)

    def verify(self) -> None:
        """Raise ``Tampered`` unless the grader's copies are as they were made."""
        now = _tree_digest(self.root / "grader")
        if now != self._digest:
            changed = sorted(k for k in set(now) | set(self._digest) if now.get(k) != self._digest.get(k))
            raise Tampered("the grader's own copy of the course changed during grading "
                           f"({', '.join(changed)}): a process of the last submission outlived it "
                           "or another program wrote there. Stopped; grade again.")

    def package_dir(self, folder: Path) -> Path:
        """Where the package lies inside a submission's folder."""
        return folder / "lib" / "cvae_helpers"

    def new_folder(self) -> Path:
        """A fresh folder for the next submission, with its own copies, after verifying the
        grader's."""
        self.verify()
        self._count += 1
        folder = self.submissions / f"submission-{self._count}"
        for sub in ("work", "home", "tmp", "models", "runtime", "kernels/" + KERNEL_NAME):
            (folder / sub).mkdir(parents=True)
        shutil.copytree(self.package, self.package_dir(folder))
        shutil.copytree(self.mnist, folder / "data" / "MNIST" / "raw")
        spec = {"argv": self.limits.kernel_argv(), "display_name": "grading", "language": "python"}
        (folder / "kernels" / KERNEL_NAME / "kernel.json").write_text(json.dumps(spec))
        return folder

    def environment(self, folder: Path, marker: str) -> dict[str, str]:
        """The kernel's whole environment."""
        home = folder / "home"
        kept = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                if p and not (Path(p) / "cvae_helpers").exists()]  # packages, not the course
        return {
            "PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "HOME": str(home), "TMPDIR": str(folder / "tmp"), "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_CONFIG_HOME": str(home / ".config"), "MPLCONFIGDIR": str(home / ".matplotlib"),
            "PYTHONPATH": os.pathsep.join([str(folder / "lib"), *kept]),
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
            "CVAE_DATA_DIR": str(folder / "data"), "CVAE_CACHE_DIR": str(folder / "models"),
            MARKER: marker,
        }

    def run(self, nb: nbformat.NotebookNode, keep: str) -> nbformat.NotebookNode:
        """Execute ``nb`` in a fresh folder and return it with its outputs, of which it keeps
        every display of type ``keep`` (the verdicts) whatever the cap; its metadata
        ``cvae_grading.stopped`` says why it stopped early, if it did."""
        folder = self.new_folder()
        marker = secrets.token_hex(8)
        request = {"notebook": nbformat.writes(nb), "folder": str(folder),
                   "env": self.environment(folder, marker), "time_s": self.limits.time_s,
                   "output_bytes": int(self.limits.output_mb * 2**20), "keep": keep}
        supervisor_env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8",
                          "HOME": str(folder / "home"),
                          "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
                          "PYTHONPATH": os.pathsep.join(
                              [str(Path(__file__).resolve().parent.parent),
                               *os.environ.get("PYTHONPATH", "").split(os.pathsep)])}
        process = subprocess.Popen([sys.executable, "-m", "cvae_instructor.sandbox"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, cwd=folder, env=supervisor_env,
                                   start_new_session=True)
        try:
            out, err = process.communicate(json.dumps(request).encode(),
                                           timeout=self.limits.time_s + 120)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            out, err = process.communicate()
        finally:
            end_marked(marker)
            shutil.rmtree(folder, ignore_errors=True)
        try:
            return nbformat.reads(out.decode(), as_version=4)
        except Exception:  # the supervisor itself died: the notebook's outputs are lost
            nb.metadata["cvae_grading"] = {"stopped": "the grading process failed: "
                                           + err.decode(errors="replace")[-500:]}
            return nb


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _processes() -> dict[int, int]:
    """Every process's parent, by pid, from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    return parents


def end_descendants() -> None:
    """Kill every descendant of this process and reap them, until none is left."""
    me = os.getpid()
    for _ in range(200):
        parents = _processes()
        family, frontier = set(), {me}
        while frontier:
            frontier = {p for p, parent in parents.items() if parent in frontier} - family
            family |= frontier
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        if not family:
            return
        time.sleep(0.02)


def end_marked(marker: str) -> None:
    """Kill every process whose environment holds this submission's marker."""
    needle = f"{MARKER}={marker}".encode()
    if not Path("/proc").is_dir():
        return
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ValueError):
                pass


def _become_subreaper() -> bool:
    """Make orphaned descendants this process's children (Linux), so none escapes."""
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _supervise() -> None:
    """The supervisor: run the notebook of the request on stdin, print it with its outputs."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    request = json.loads(sys.stdin.read())
    _become_subreaper()
    nb = nbformat.reads(request["notebook"], as_version=4)
    folder = Path(request["folder"])

    class CappedClient(NotebookClient):
        """Keeps at most ``output_bytes`` of outputs, and every verdict."""
        kept = 0

        def output(self, outs, msg, display_id, cell_index):
            size = len(json.dumps(msg.get("content", {})))
            keep = request["keep"]
            verdict = keep in msg.get("content", {}).get("data", {})
            if verdict and sum(keep in o.get("data", {}) for o in outs) < 10:
                return super().output(outs, msg, display_id, cell_index)
            if self.kept + size > request["output_bytes"]:
                if not nb.metadata.get("cvae_grading", {}).get("truncated"):
                    nb.metadata.setdefault("cvae_grading", {})["truncated"] = True
                    outs.append(nbformat.v4.new_output("stream", name="stderr", text=(
                        "[grader: output beyond the cap was dropped]\n")))
                return None
            self.kept += size
            return super().output(outs, msg, display_id, cell_index)

    # Asynchronous: nbclient then notices a dead or silent kernel while it waits for a reply.
    km = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=KernelSpecManager(
        kernel_dirs=[str(folder / "kernels")]))
    client = CappedClient(nb, km=km, timeout=int(request["time_s"]), allow_errors=True,
                          kernel_name=KERNEL_NAME, startup_timeout=120)
    deadline = time.monotonic() + request["time_s"]
    stopped = None
    try:
        with client.setup_kernel(env=request["env"], cwd=str(folder / "work")):
            for index, cell in enumerate(nb.cells):
                client.timeout = max(1, int(deadline - time.monotonic()))
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    stopped = f"the time limit of {request['time_s']:.0f} s was reached"
                    break
                except DeadKernelError:
                    stopped = "the kernel died (out of memory, or the submission ended it)"
                    break
                except CellExecutionError:
                    pass
    except Exception as err:  # the kernel did not start, or died while starting
        stopped = stopped or f"the kernel failed: {type(err).__name__}: {err}"
    finally:
        end_descendants()
    if stopped:
        nb.metadata.setdefault("cvae_grading", {})["stopped"] = stopped
    sys.stdout.write(nbformat.writes(nb))


if __name__ == "__main__":
    _supervise()
