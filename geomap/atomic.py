"""Output files written atomically: complete, or not at all.

Every file geomap writes (maps, PNG images, JSON/JSONL/GeoJSON/CSV exports, evaluation output,
Dask partitions) goes through :func:`atomic_write`: the data goes to a temporary file beside the
target, which is renamed over the target only once the block that writes it ends without an
error. An exception — a full disk, a bad input, Ctrl-C — removes the temporary file and leaves
an existing target untouched.

Two kinds of target are not plain files, and are not replaced:

- a symbolic link: its target file is written (atomically), and the link stays;
- a device or a named pipe (``/dev/stdout``, ``/dev/null``, a FIFO): written in place, since
  renaming a file over it would replace the device itself. Such a write cannot be atomic.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_write", "output_target"]


def output_target(path: str | os.PathLike) -> Path:
    """The file that writing ``path`` should change: ``path`` with symbolic links resolved
    (absolute). The path need not exist."""
    return Path(os.path.realpath(os.fspath(path)))


def _mode_for(target: Path) -> int:
    """Permission bits for a new output: those of the file it replaces, else 0o666 less the
    umask (``mkstemp`` creates 0600, which would hide a map from a web server)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", *, encoding: str | None = "utf-8",
                 newline: str | None = None, fsync: bool = False) -> Iterator[IO]:
    """Open ``path`` for writing, atomically (see the module docstring).

    Parameters
    ----------
    path : str or PathLike
        The file to create or replace; its folder must exist.
    mode : {"w", "wb"}
        Text (``encoding``, ``newline`` as for :func:`open`) or bytes.
    fsync : bool
        Flush the data to disk before the rename (for files that must survive a power cut).

    Yields
    ------
    file object
        The stream to write to.

    Raises
    ------
    OSError
        If the folder does not exist or is not writable, the target is a folder, or the disk
        is full; the target is then untouched. Exceptions from the block propagate after the
        temporary file is removed.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write opens files for writing ('w' or 'wb'), not {mode!r}")
    text = {"encoding": encoding, "newline": newline} if mode == "w" else {}
    target = output_target(path)
    if target.exists() and not target.is_file() and not target.is_dir():
        with open(target, mode, **text) as stream:
            yield stream
        return
    if target.is_dir():
        raise IsADirectoryError(21, "Is a directory", os.fspath(path))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **text) as stream:
            yield stream
            if fsync:
                stream.flush()
                os.fsync(stream.fileno())
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
