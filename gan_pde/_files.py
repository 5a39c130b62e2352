"""Atomic file writes shared by :mod:`gan_pde.io`, :mod:`gan_pde.checkpoint` and the reports.

A file written through a temporary file (:func:`tempfile.mkstemp` creates it with mode
``0o600``) gets, before it replaces its destination, the mode that a plain ``open(path,
"w")`` would have given it (:func:`new_file_mode`): the mode of the file it replaces, or
``0o666`` less the process umask for a new file.  Results and checkpoints are therefore
as readable as any other file the user writes, and a user who wants them private sets the
umask (``umask 077``), as for every other program.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


def current_umask() -> int:
    """The process umask, read without changing it where the system allows.

    Linux reports it in ``/proc/self/status``; elsewhere it is read by setting it and
    setting it back (:func:`os.umask` has no read-only form).
    """
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def new_file_mode(path: Path) -> int:
    """The permission bits that ``open(path, "w")`` would leave ``path`` with.

    That is the mode of the existing file at ``path`` (opening for writing keeps it), or
    ``0o666 & ~umask`` if there is none.
    """
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_path(path: Path, suffix: str) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    The temporary file is flushed to disk (``fsync``) before :func:`os.replace`, so after a
    crash ``path`` holds either the previous complete file or the new complete file, never
    a partial one.  On an exception the temporary file is removed and ``path`` is untouched.
    The new file gets the permissions of a plain write (:func:`new_file_mode`), not the
    private ``0o600`` of the temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, new_file_mode(path))
        with open(temporary, "rb+") as file:
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
