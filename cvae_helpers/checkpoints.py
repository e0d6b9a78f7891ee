"""Saving and loading trained models safely (lesson 1).

A checkpoint is a plain dict: the model's class name and ``config`` (its constructor arguments),
its ``state_dict``, a checksum of its tensors, and any extras such as the training history.

- ``save`` writes it to a temporary file, flushes it to the disk, checks that it reads back,
  and only then renames it over ``path``: an interrupted save never leaves a half-written file
  behind. The file is readable by everyone the folder lets in (0644 under the usual umask), so
  a cache can be shared.
- ``load`` reads it with ``weights_only=True``, which refuses to run code hidden in a file from
  elsewhere, checks the checksum and that the weights fit the model, and only then copies them
  in: a load that fails leaves the model as it was. Every way a file can be unusable is a
  ``CheckpointError`` that says which one.
"""

import hashlib
import io
import os
import pickletools
import re
import secrets
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

# Raise it when the layout of a checkpoint changes. Files without a version come from the
# course's first helpers, which stored no checksum.
FORMAT = 2
RESERVED = ("format", "architecture", "config", "state_dict", "checksum")
STALE_SECONDS = 600  # a temporary file older than this belongs to a save that was killed


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used, and why: missing, truncated, corrupt, not a course
    checkpoint, holding code, or made for another architecture."""


class MissingCheckpoint(CheckpointError, FileNotFoundError):
    """No file at the path given."""


def checksum(state_dict: dict[str, Tensor]) -> str:
    """SHA-256 of every tensor's name, dtype, shape and bytes: a flipped bit changes it."""
    digest = hashlib.sha256()
    for key in sorted(state_dict):
        tensor = state_dict[key].detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{list(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def save(path: str | Path, model: nn.Module, **extra: Any) -> Path:
    """Write ``model`` (and ``extra`` entries) to ``path``: a temporary file, then a rename.

    ``extra`` holds numbers, strings, lists, tuples, dicts and tensors (numpy numbers and
    arrays, and ``Path``s, are stored as Python numbers, tensors and strings), so that ``load``
    can read it back safely. It replaces a course checkpoint at ``path`` (or a damaged one), but
    never another file, such as a notebook saved under that name. A ``~`` in ``path`` is the
    home folder.
    """
    return _save(path, model, extra)


def _save(path: str | Path, model: nn.Module, extra: dict[str, Any],
          replace_anything: bool = False) -> Path:
    """``save``; with ``replace_anything``, a file at ``path`` is replaced whatever it holds (the
    zoo's own cache files, whose names no one else uses)."""
    path = _as_path(path)
    if not isinstance(model, nn.Module):
        raise TypeError(f"save takes a model (a torch.nn.Module), got {type(model).__name__}")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder: give a file name, such as {path / 'model.pt'}")
    other = None if replace_anything else _not_a_checkpoint(path)
    if other:
        other_name = path.with_suffix(".pt")
        if other_name.exists():
            other_name = path.with_name(f"{path.stem}_model.pt")
        raise CheckpointError(f"would overwrite {path}, which is not a course checkpoint "
                              f"({other}): choose another name, such as {other_name.name}")
    taken = sorted(set(extra) & set(RESERVED))
    if taken:
        raise ValueError(f"{taken} are names a checkpoint keeps for itself: give those extras "
                         "other names")
    extra = {key: _plain(value, key) for key, value in extra.items()}
    state_dict = model.state_dict()
    checkpoint = {"format": FORMAT, "architecture": type(model).__name__,
                  "config": _plain(getattr(model, "config", None), "config"),
                  "state_dict": state_dict, "checksum": checksum(state_dict), **extra}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(path.parent)
        _write_atomically(path, checkpoint)
    except OSError as err:
        blocker = next((p for p in path.parents if p.exists()), None)
        reason = (f"{blocker} is a file, not a folder" if blocker and not blocker.is_dir()
                  else err.strerror or str(err))
        raise CheckpointError(f"could not write {path}: {reason}. Choose a folder you can "
                              "write to.") from None
    return path


def _as_path(path: str | Path) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"the checkpoint's path must be a file name (a str or a Path), got "
                        f"{type(path).__name__}")
    return Path(path).expanduser()  # "~/models/vae.pt" means the home folder's, as in a shell


def _not_a_checkpoint(path: Path) -> str | None:
    """What the file at ``path`` is when ``save`` must not replace it (a notebook, notes, another
    program's weights), in a few words; None when there is no file, or a course checkpoint, or
    one too damaged to hold anything (empty, truncated, unreadable): replacing those loses
    nothing."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if not head or not _torch_format(head):
                return _kind(path, head + f.read(4096)) if head else None
            data = head + f.read()
    except OSError:  # no file (or none that can be read): the write says what is wrong
        return None
    if head[:4] == b"PK\x03\x04" and _zip_names(data) == []:
        return "a zip archive not written by torch.save"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            saved = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:
        refused = _refused(data, err)
        return f"a PyTorch file holding {', '.join(refused[:3])}" if refused else None
    if isinstance(saved, dict) and "state_dict" in saved and "architecture" in saved:
        return None
    if isinstance(saved, dict):
        return f"a PyTorch file holding the entries {sorted(map(str, saved))[:8]}"
    return f"a PyTorch file holding a {type(saved).__name__}"


def _torch_format(head: bytes) -> bool:
    """Whether a file starting with ``head`` is in one of torch.save's formats: a zip (today's)
    or a pickle (before torch 1.6)."""
    return head[:4] == b"PK\x03\x04" or head[:1] == b"\x80"


def _kind(path: Path, head: bytes) -> str:
    """What a file that is not in torch.save's formats is, from its name and first bytes."""
    if head[:2] == b"\x1f\x8b":
        return "a gzip-compressed file"
    text = head[:4096].decode("utf-8", errors="replace")
    if path.suffix == ".ipynb" or (text.lstrip().startswith("{") and '"cells"' in text):
        return "a Jupyter notebook"
    if "\x00" not in text and sum(c.isprintable() or c in "\t\n\r" for c in text) \
            >= 0.95 * len(text):
        return "a text file"
    return f"a file of another kind, starting with the bytes {head[:8].hex(' ')}"


def _zip_names(data: bytes) -> list[str] | None:
    """The entries of torch.save's zip format in ``data`` (its data.pkl), [] for a zip archive
    without them, None when ``data`` cannot be read as a zip (a truncated file)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    return [name for name in names if name == "data.pkl" or name.endswith("/data.pkl")]


def _plain(value: Any, key: str) -> Any:
    """``value`` in the types a safe load reads back, or a clear error naming ``key``."""
    if value is None or type(value) in (bool, int, float, complex, str, bytes) \
            or isinstance(value, Tensor) or type(value).__module__ == "torch":  # dtype, Size
        return value
    if type(value).__module__ == "numpy":  # a numpy number or array
        return value.item() if getattr(value, "ndim", 1) == 0 else torch.from_numpy(value.copy())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    for plain in (bool, int, float, str):  # a subclass, such as an IntEnum
        if isinstance(value, plain):
            return plain(value)
    if isinstance(value, dict):
        return {k: _plain(v, key) for k, v in value.items()}
    if type(value) in (list, tuple, set, frozenset):
        return type(value)(_plain(v, key) for v in value)
    if isinstance(value, list | tuple):  # a named tuple, say
        return [_plain(v, key) for v in value]
    raise TypeError(f"the checkpoint's {key!r} holds a {type(value).__name__}, which a safe load "
                    "would refuse: store numbers, strings, lists, dicts or tensors instead")


def _write_atomically(path: Path, checkpoint: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    data = buffer.getvalue()
    _read_back(data, checkpoint["checksum"])
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # os.open with mode 0o666 lets the umask decide, as for any new file (0644 under the usual
    # 022); tempfile.mkstemp would make it 0600, unreadable for the other users of a cache.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())  # on the disk before the name points at it
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _read_back(data: bytes, expected: str) -> None:
    """What ``save`` writes, ``load`` must read: check it before it replaces anything."""
    try:
        back = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception:
        raise TypeError("this checkpoint holds something a safe load would refuse: store "
                        "numbers, strings, lists, dicts or tensors in its extras") from None
    if checksum(back["state_dict"]) != expected:
        raise CheckpointError("the checkpoint did not read back as written; nothing was saved")


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable, where the system allows it (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$|^.+\.pt[a-z0-9_]{8}\.tmp$")


def _remove_stale_temporaries(folder: Path) -> None:
    """Delete the temporary files of saves that were killed (today's and the first helpers'
    names), once they are old enough that no save can still be writing them."""
    now = time.time()
    for entry in folder.iterdir():
        try:
            if _TEMPORARY.match(entry.name) and entry.is_file() \
                    and now - entry.stat().st_mtime > STALE_SECONDS:
                entry.unlink()
        except OSError:  # another user's file, or gone already: not ours to clean
            continue


def load(path: str | Path, model: nn.Module) -> dict[str, Any]:
    """Load the weights at ``path`` into ``model`` and return the checkpoint's extras.

    Raises ``MissingCheckpoint`` (a ``FileNotFoundError``) for a missing file and a
    ``CheckpointError`` saying what is wrong for any file that cannot be used; then the model
    is left unchanged.
    """
    path = _as_path(path)
    if isinstance(model, type) or not isinstance(model, nn.Module):
        raise TypeError(f"load puts weights into a model: pass one built with the checkpoint's "
                        f"settings, e.g. VAE(**config), got {getattr(model, '__name__', model)!r}")
    if any(tensor.is_meta for tensor in model.state_dict().values()):
        raise ValueError(f"the {type(model).__name__}'s weights are on the meta device, which "
                         "keeps their shapes but no values, so there is nothing to load them "
                         "into: build the model as usual, e.g. VAE(**config), load the weights, "
                         "then move it with model.to(device)")
    checkpoint = _read(path)
    state_dict = _fitting_state(path, checkpoint, model)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    try:
        model.load_state_dict(state_dict)
    except BaseException:
        model.load_state_dict(before)  # all or nothing
        raise
    return {k: v for k, v in checkpoint.items() if k not in RESERVED}


def _read(path: Path) -> dict[str, Any]:
    """The checkpoint dict at ``path``, read safely, or the diagnosis of why it cannot be."""
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")
    if not path.exists():
        raise MissingCheckpoint(f"no checkpoint at {path.resolve()}: train the model and save "
                                "it first, or check the path")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise CheckpointError(f"{path} cannot be read ({err.strerror or err}): ask its owner to "
                              "make it readable, or use a copy of your own") from None
    delete = "Delete it and train (or copy) it again."
    if not data:
        raise CheckpointError(f"{path} is empty: a save or a copy was interrupted. {delete}")
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols: the error says more
            warnings.simplefilter("ignore", UserWarning)
            checkpoint = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(_why_unreadable(path, data, err, delete)) from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path} holds a {type(checkpoint).__name__}, not a course "
                              "checkpoint (a dict saved by checkpoints.save)")
    if "state_dict" not in checkpoint or "architecture" not in checkpoint:
        if checkpoint and all(isinstance(v, Tensor) for v in checkpoint.values()):
            raise CheckpointError(
                f"{path} holds only weights (a plain torch.save(model.state_dict())), without "
                "the architecture, settings and checksum a course checkpoint has, so it cannot "
                "be checked against the model. If you trust it, load it yourself with "
                "model.load_state_dict(torch.load(path, weights_only=True)); save course "
                "models with checkpoints.save.")
        raise CheckpointError(f"{path} is not a course checkpoint: it holds the entries "
                              f"{sorted(map(str, checkpoint))[:8]}, not a model saved by "
                              "checkpoints.save")
    version = checkpoint.get("format", 1)
    if not isinstance(version, int) or version > FORMAT:
        raise CheckpointError(f"{path} was written by a newer version of the course (format "
                              f"{version}; this one reads up to {FORMAT}): update cvae_helpers")
    return checkpoint


def _why_unreadable(path: Path, data: bytes, err: Exception, delete: str) -> str:
    """A diagnosis of a file that ``torch.load(weights_only=True)`` refused."""
    if data[:4] == b"PK\x03\x04":  # torch.save's zip format
        if b"PK\x05\x06" not in data[-65_557:]:  # the zip's directory sits at its very end
            return (f"{path} is truncated ({len(data):,} bytes): a save or a copy was "
                    f"interrupted before the end. {delete}")
        if _zip_names(data) == []:
            return (f"{path} is a zip archive, but not one written by torch.save (it has no "
                    "data.pkl inside), so it is not a checkpoint: check the path, and load the "
                    "file that checkpoints.save wrote.")
    elif data[:1] != b"\x80":  # not a pickle either, the format of older torch.save
        return _not_torch(path, data)
    # torch names what it refused; only the name is kept, not its advice to load unsafely
    refused = _refused(data, err)
    code = [name for name in refused if not name.startswith(("numpy", "pathlib"))]
    objects = [name for name in code if name.startswith(("cvae_helpers.", "__main__.",
                                                         "torch.nn.modules."))]
    if objects and len(objects) == len(code):
        top = sorted(objects, key=lambda name: name.startswith("torch."))[0]
        return (f"{path} holds a whole pickled model object ({top}), as torch.save(model) "
                "writes it, rather than its weights: a safe load does not rebuild objects. If "
                "it is yours, save the model again, while you have it, with "
                "checkpoints.save(path, model).")
    if code:
        return (f"{path} holds code ({', '.join(code[:3])}), not just tensors and numbers: "
                "loading it would run that code, so it was refused unread. Do not use a file "
                "like this unless you wrote it yourself; delete it.")
    if refused:
        return (f"{path} holds Python objects ({', '.join(refused[:3])}) that a safe load does "
                "not read: it reads tensors, numbers, strings, lists and dicts. If you wrote it, "
                "save it again with checkpoints.save, which stores numpy numbers and paths as "
                "plain ones.")
    if data[:1] == b"\x80":
        return (f"{path} cannot be read by torch.load: it is damaged, or a plain pickle rather "
                "than a file written by torch.save. Check the path; if it is a checkpoint you "
                f"saved, {delete[0].lower()}{delete[1:]}")
    return f"{path} is corrupt and cannot be read ({type(err).__name__}). {delete}"


def _not_torch(path: Path, data: bytes) -> str:
    """Why a file in none of torch.save's formats is no checkpoint: never "delete it", since it
    may well be a learner's notebook or notes, opened by mistake."""
    kind = _kind(path, data)
    load_what = "load the file that checkpoints.save wrote (such as model.pt)"
    if kind == "a gzip-compressed file":
        return (f"{path} is gzip-compressed (it starts with the bytes 1f 8b), so it is not a "
                "checkpoint as checkpoints.save writes it: if it holds one, unpack it first "
                f"(gunzip {path.name}); otherwise check the path.")
    if kind == "a Jupyter notebook":
        return f"{path} is a Jupyter notebook, not a checkpoint: check the path, and {load_what}."
    if kind == "a text file":
        start = data[:24].decode("utf-8", errors="replace").split("\n")[0]
        return (f"{path} is not a PyTorch file but text (it starts with {start!r}), so it is not "
                f"a checkpoint: check the path, and {load_what}.")
    return (f"{path} is not a PyTorch file (it starts with the bytes {data[:8].hex(' ')}): it "
            "was not written by torch.save. Check the path; if it is a checkpoint you saved, it "
            "is damaged: delete it and train (or copy) it again.")


def _refused(data: bytes, err: Exception) -> list[str]:
    """The classes and functions in a torch file, or named in torch's error, that a safe load
    refuses to rebuild or call."""
    refused = _code_in_zip(data) if data[:4] == b"PK\x03\x04" else _code_in_pickle(data)
    return refused + [name for name in re.findall(r"GLOBAL ([\w.]+)", str(err))
                      if name not in refused]


# What torch itself pickles for tensors and dicts: these are not code a file can run.
_SAFE_MODULES = ("torch", "collections", "builtins.set", "builtins.frozenset", "_codecs")


def _code_in_zip(data: bytes) -> list[str]:
    get = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)  # torch >= 2.5
    if get is not None:
        try:
            return list(get(io.BytesIO(data)))
        except Exception:
            return []
    return []


def _code_in_pickle(data: bytes) -> list[str]:
    """The functions and classes a pickle would call, read from its opcodes without running it."""
    found, strings = [], []
    try:
        for opcode, arg, _ in pickletools.genops(data):
            if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
                strings.append(arg)
            elif opcode.name == "GLOBAL":
                found.append(arg.replace(" ", "."))
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{strings[-2]}.{strings[-1]}")
    except Exception:  # the rest is not a pickle (a torch file's raw tensor bytes follow it)
        pass
    return [name for name in found if not name.startswith(_SAFE_MODULES)]


def _fitting_state(path: Path, checkpoint: dict[str, Any], model: nn.Module) -> dict[str, Tensor]:
    """The checkpoint's state_dict, once it is known to be intact and to fit ``model``."""
    architecture, config = checkpoint["architecture"], checkpoint.get("config")
    expected = (type(model).__name__, getattr(model, "config", None))
    if (architecture, config) != expected:
        raise CheckpointError(
            f"{path} holds a {architecture} with {config}, but the model given is a "
            f"{expected[0]} with {expected[1]}. Build the model with the checkpoint's settings, "
            "or load another file."
        )
    state = checkpoint["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError(f"{path} is damaged: its state_dict is not a dict of tensors. "
                              "Delete it and train again.")
    if "checksum" in checkpoint and checksum(state) != checkpoint["checksum"]:
        raise CheckpointError(f"{path} is damaged: its weights do not match their checksum (a "
                              "changed byte, from a bad disk or copy). Delete it and train again.")
    problems = mismatch(state, model.state_dict())
    if problems:
        raise CheckpointError(f"{path} does not fit this {expected[0]}: its weights are "
                              f"{problems}. Was the model's code changed since it was saved? "
                              "Build it as it was then, or train it again.")
    return state


def mismatch(state: dict[str, Tensor], own: dict[str, Tensor]) -> str:
    """How the weights ``state`` differ from a model's ``own`` (names and shapes), in a few
    words; empty when they fit."""
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    wrong = [f"{k} {list(state[k].shape)} (the model's: {list(own[k].shape)})"
             for k in own if k in state and state[k].shape != own[k].shape]
    return "; ".join(([f"missing {missing[:3]}"] if missing else [])
                     + ([f"unexpected {unexpected[:3]}"] if unexpected else [])
                     + ([f"other shapes: {', '.join(wrong[:3])}"] if wrong else []))
