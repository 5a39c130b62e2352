"""Checkpoints of long runs: atomic, checksummed ``.npz`` files that never unpickle.

A long computation (a JSD flow with many steps, a sweep) saves its state every so often
with :func:`save_checkpoint`; after an interruption, :func:`load_checkpoint` gives the
state back and the run continues from it to the same result as an uninterrupted run.

Three guarantees:

* **atomic**: the file is written next to its destination, flushed to disk and renamed
  over it, so a kill at any instant leaves either the previous or the new checkpoint;
* **verified**: the arrays carry a SHA-256 digest, and a file whose digest, format or
  kind does not match is refused (:class:`~gan_pde.errors.IncompatibleCheckpointError`)
  rather than read as valid;
* **bound to its run**: the writer stores a *fingerprint* (the parameters that determine
  the result: mesh, scheme, step, …); resuming with different parameters is refused with
  the first differing key named.

Files are read with ``allow_pickle=False``: loading a checkpoint never executes code.
They get the permissions of any file the user writes (``0o666`` less the umask, or those
of the checkpoint they replace): a checkpoint holds nothing that the run's results do not,
so it is as readable as they are; ``umask 077`` makes both private.

Examples
--------
>>> import tempfile, pathlib, numpy as np
>>> path = pathlib.Path(tempfile.mkdtemp()) / "run.ckpt.npz"
>>> _ = save_checkpoint(path, kind="demo", fingerprint={"dt": 0.1},
...                     state={"step": 3, "v": np.arange(4.0)})
>>> state = load_checkpoint(path, kind="demo", fingerprint={"dt": 0.1})
>>> int(state["step"]), state["v"].tolist()
(3, [0.0, 1.0, 2.0, 3.0])
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gan_pde._files import atomic_path
from gan_pde.errors import IncompatibleCheckpointError, InvalidInputError

__all__ = ["array_digest", "load_checkpoint", "save_checkpoint"]

#: Format tag and version stored in every checkpoint.
FORMAT = "gan_pde-checkpoint"
VERSION = 1
_META = "__checkpoint__"


def array_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of ``arrays`` (order-independent)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(name.encode())
        digest.update(str(array.dtype.str).encode())
        digest.update(repr(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """JSON-comparable form of a fingerprint value (tuples → lists, numpy → Python)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return array_digest({"array": value})
    if isinstance(value, np.generic):
        return value.item()
    return value


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    kind: str,
    fingerprint: Mapping[str, Any],
    state: Mapping[str, Any],
) -> Path:
    """Write ``state`` (arrays and numbers) to ``path`` atomically, with its digest.

    Parameters
    ----------
    path
        Destination file (``.npz`` content whatever the suffix).
    kind
        What wrote it, e.g. ``"jsd_flow"``; :func:`load_checkpoint` checks it.
    fingerprint
        JSON-serialisable parameters that determine the run (arrays are stored by digest).
    state
        Name → array or number; object arrays are refused.

    Returns
    -------
    Path
        ``path``.
    """
    arrays = {name: np.asarray(value) for name, value in state.items()}
    for name, array in arrays.items():
        if array.dtype.hasobject or name == _META:
            msg = f"checkpoint state {name!r} must be a numeric or string array; got {array.dtype}"
            raise InvalidInputError(msg)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "fingerprint": _plain(fingerprint),
        "sha256": array_digest(arrays),
    }
    path = Path(path)
    with atomic_path(path, ".npz") as temporary, open(temporary, "wb") as file:
        np.savez(file, **arrays, **{_META: np.array(json.dumps(meta))})
    return path


def load_checkpoint(
    path: str | os.PathLike[str], *, kind: str, fingerprint: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """Read a checkpoint written by :func:`save_checkpoint` for the same run.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    IncompatibleCheckpointError
        If the file is not a readable checkpoint, its digest does not match its arrays
        (a damaged file), or its kind or fingerprint differ from the ones given (the
        message names the first differing key and both values).
    """
    path = Path(path)
    if not path.exists():
        msg = f"no checkpoint at {path}"
        raise FileNotFoundError(msg)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        meta = json.loads(str(arrays.pop(_META)))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        msg = f"{path} is not a readable gan_pde checkpoint: {err}"
        raise IncompatibleCheckpointError(msg) from err
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        msg = (
            f"{path} has format {meta.get('format')!r} version {meta.get('version')!r}; "
            f"expected {FORMAT!r} version {VERSION}"
        )
        raise IncompatibleCheckpointError(msg)
    if array_digest(arrays) != meta.get("sha256"):
        msg = f"{path} is damaged: its arrays do not match the stored SHA-256 digest"
        raise IncompatibleCheckpointError(msg)
    if meta.get("kind") != kind:
        msg = f"{path} is a {meta.get('kind')!r} checkpoint; expected a {kind!r} checkpoint"
        raise IncompatibleCheckpointError(msg)
    expected = _plain(fingerprint)
    stored = meta.get("fingerprint", {})
    differing = [k for k in sorted(set(expected) | set(stored)) if expected.get(k) != stored.get(k)]
    # name a parameter the user set (a number, a name) before an array known by its digest
    differing.sort(key=lambda k: _is_digest(expected.get(k)) or _is_digest(stored.get(k)))
    if differing:
        key = differing[0]
        if _is_digest(expected.get(key)) or _is_digest(stored.get(key)):
            what = (
                f"the array {key!r} (compared by its SHA-256 digest) differs between the "
                "checkpoint and this run"
            )
        else:
            what = f"{key!r} is {stored.get(key)!r} in the checkpoint and {expected.get(key)!r} now"
        others = f" (also: {', '.join(map(repr, differing[1:]))})" if len(differing) > 1 else ""
        msg = (
            f"{path} was written by a different run: {what}{others}; remove the checkpoint "
            "or run with the original parameters"
        )
        raise IncompatibleCheckpointError(msg)
    return arrays


def _is_digest(value: Any) -> bool:
    """Whether a fingerprint value is an array's digest (64 hexadecimal characters)."""
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )
