"""Writing files and taking locks, for every stage: nothing half-written, no link followed.

:func:`write_atomic` writes a file that readers see whole or not at all; :func:`take_lock` takes
the one lock of an output folder (``build``, ``check``, ``send`` and ``status`` all take it), opened
without following a link and closed in forked children. How a whole batch folder is replaced is
:mod:`faxbatch.build.staging`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from faxbatch.errors import FaxbatchError, InputUnreadableError, OutputNotWritableError

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


NONBLOCK = getattr(os, "O_NONBLOCK", 0)


#: lock descriptors this process holds. A forked child (a render worker) closes its copies at
#: once: a flock belongs to the open file, so a worker that outlived a killed build would
#: otherwise keep every later build out of the folder
_HELD_LOCKS: set[int] = set()


def _close_inherited_locks() -> None:
    for fd in _HELD_LOCKS:
        with contextlib.suppress(OSError):
            os.close(fd)  # only this child's copy: the parent's lock stays held
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited_locks)


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write a file so that readers see the old or the new content, never a part.

    ``mode``: the new file's permission bits (default: mkstemp's, 0600).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)  # replaces a symbolic link by the name itself, never its target
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


@contextlib.contextmanager
def naming(path: Path | str) -> Iterator[None]:
    """Give ``path`` to an OSError raised without a file name (a write to an open file).

    So that a full disk names the file it stopped: the error message shows it.
    """
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None


def lstat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def regular_or_absent(
    path: Path,
    error: type[FaxbatchError],
    *,
    link: str,
    other: str,
    hint: str,
    link_hint: str | None = None,
) -> bool:
    """Whether ``path`` is a regular file (False when nothing is there), never following a link.

    Anything else there stops the run with ``error``: a symbolic link ("PATH is a symbolic link:
    ``link``", with ``link_hint``), anything but a file ("PATH is not a regular file``other``"),
    or a path that cannot be looked at.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise error(f"cannot use {path} ({exc.strerror or exc})") from None
    if stat.S_ISLNK(info.st_mode):
        raise error(f"{path} is a symbolic link: {link}", hint=link_hint or hint)
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path} is not a regular file{other}", hint=hint)
    return True


def kind_of(info: os.stat_result) -> str:
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link"
    if stat.S_ISDIR(info.st_mode):
        return "a folder faxbatch did not make"
    if stat.S_ISFIFO(info.st_mode):
        return "a FIFO"
    if stat.S_ISREG(info.st_mode):
        return "a file"
    return "a device or socket"


def open_lock_file(path: Path, fallback: Path | None = None) -> int:
    """Open (creating it) the lock file ``path`` without following a link; returns the descriptor.

    Raises :class:`OutputNotWritableError` when ``path`` is a symbolic link, a FIFO, a device or a
    folder. When it cannot be created (a parent that may not be written), ``fallback`` (a file of
    the batch, opened read-only and never through a link) is opened to be locked instead; without
    one, or when that fails too, the run stops. The file is only locked, never written.
    """
    try:
        info = lstat_or_none(path)
    except OSError:  # a name too long, a parent that may not be searched: the open says so
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise OutputNotWritableError(
            f"{path} is {kind_of(info)}, not a lock file; faxbatch will not follow or use it",
            hint=f"delete {path.name} (faxbatch makes its lock file itself), or use another --out",
        )
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | NOFOLLOW | NONBLOCK, 0o644)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK, errno.EISDIR, errno.ENXIO):
            raise OutputNotWritableError(
                f"{path} is not a regular file; faxbatch will not follow or use it",
                hint=f"delete {path.name} (faxbatch makes its lock file itself)",
            ) from None
        if fallback is None:
            raise OutputNotWritableError(
                f"cannot create the lock file {path} ({exc.strerror or exc})",
                hint=f"faxbatch must be able to write in {path.parent}: fix its permissions "
                "(a build may also be given another folder with --out)",
            ) from None
        try:
            fd = os.open(fallback, os.O_RDONLY | NOFOLLOW | NONBLOCK)
        except OSError as exc:
            raise InputUnreadableError(f"cannot open {fallback} ({exc.strerror or exc})") from None
        path = fallback
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped in since the lstat
        os.close(fd)
        raise OutputNotWritableError(f"{path} is not a regular file; faxbatch will not use it")
    return fd


def take_lock(path: Path, busy: FaxbatchError, fallback: Path | None = None) -> int:
    """Take the exclusive lock ``path`` beside an output folder, without waiting.

    The one lock of a batch folder: ``build``, ``check``, ``send`` and ``status`` all take it this
    way (see :func:`open_lock_file` for ``fallback``). Raises ``busy`` when another run holds it.
    Returns the descriptor, to give back with :func:`release_lock`; a forked child (a render
    worker) closes its copy at once, so it never keeps the lock after the run that took it.
    """
    fd = open_lock_file(path, fallback)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise busy from None
    _HELD_LOCKS.add(fd)
    return fd


def release_lock(fd: int) -> None:
    """Release a lock taken with :func:`take_lock`."""
    _HELD_LOCKS.discard(fd)
    os.close(fd)


def lock_path(out: Path) -> Path:
    """The lock file of the output folder ``out``: beside it, named after it."""
    out = Path(out).absolute()
    return out.parent / f".{out.name}.lock"
