"""Writing a batch without ever leaving it half-written.

A batch is built in a staging folder beside the output folder and takes its place only when
complete: on Linux the two folders are exchanged in one atomic ``renameat2`` call, elsewhere by two
renames that the next run repairs if it was killed between them (Ctrl-C and SIGTERM wait until
the swap is done). A lock beside the output folder keeps two runs from building into the same
folder at once.

Nothing beside or in place of the output folder is followed, replaced or deleted unless faxbatch
made it: the folders it makes carry a ``.faxbatch`` marker (read without following symbolic links),
the lock is opened with ``O_NOFOLLOW`` and must be a regular file, and a symbolic link, a FIFO or a
folder of someone else's by one of those names stops the run with a message saying what to do.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType

from faxbatch.errors import OutputNotWritableError
from faxbatch.files import (
    NOFOLLOW,
    NONBLOCK,
    kind_of,
    lock_path,
    lstat_or_none,
    naming,
    release_lock,
    take_lock,
    write_atomic,
)

MARKER = ".faxbatch"
_MARKER_BODY = b'{"schema_version": 1, "tool": "faxbatch"}\n'


def _has_marker(folder: Path) -> bool:
    """Whether ``folder`` holds faxbatch's marker: a regular file (not a link) saying so."""
    try:
        fd = os.open(folder / MARKER, os.O_RDONLY | NOFOLLOW | NONBLOCK)
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > 4096:
            return False
        data = os.read(fd, 4096)
    except OSError:
        return False
    finally:
        os.close(fd)
    try:
        return bool(json.loads(data).get("tool") == "faxbatch")
    except (ValueError, AttributeError):
        return False


def is_batch_folder(path: Path) -> bool:
    """Whether ``path`` is a folder faxbatch wrote (so it may be replaced).

    Neither the folder nor its marker may be a symbolic link.
    """
    info = lstat_or_none(Path(path))
    return info is not None and stat.S_ISDIR(info.st_mode) and _has_marker(Path(path))


def _ours(path: Path) -> bool:
    """Whether ``path`` is a real folder faxbatch made: marked, or empty but for a marker.

    An interrupted run may leave its folder without a marker only while the folder is empty (the
    marker is written first and removed last), so an empty folder is taken as one it made.
    """
    if is_batch_folder(path):
        return True
    info = lstat_or_none(path)
    if info is None or not stat.S_ISDIR(info.st_mode):
        return False
    try:
        names = [entry.name for entry in path.iterdir()]
    except OSError:
        return False
    if not names:
        return True
    marker = lstat_or_none(path / MARKER) if names == [MARKER] else None
    return marker is not None and stat.S_ISREG(marker.st_mode)


def _in_the_way(path: Path, info: os.stat_result, role: str) -> OutputNotWritableError:
    """The error for something beside the output folder that faxbatch may not touch."""
    return OutputNotWritableError(
        f"{path} is {kind_of(info)}; faxbatch uses that name for its {role} and never follows, "
        "replaces or deletes what it did not make",
        hint=f"move {path.name} away or delete it yourself, or choose another folder with --out",
    )


def remove_folder(path: Path) -> None:
    """Delete a folder faxbatch made, its marker last (an interrupted removal stays recognisable).

    Symbolic links inside are removed as links, never followed.
    """
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.name == MARKER:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                Path(entry.path).unlink()
    (path / MARKER).unlink(missing_ok=True)
    path.rmdir()


def _check_out(out: Path, verb: str) -> bool:
    """Refuse an output folder faxbatch may not write; returns whether it exists."""
    info = lstat_or_none(out)
    if info is None:
        return False
    if stat.S_ISLNK(info.st_mode):
        raise OutputNotWritableError(
            f"{out} is a symbolic link; faxbatch does not {verb} through a link",
            hint="give the folder itself with --out",
        )
    if not stat.S_ISDIR(info.st_mode):
        raise OutputNotWritableError(f"{out} exists and is not a folder",
                                     hint="choose another folder with --out")  # fmt: skip
    if any(out.iterdir()) and not is_batch_folder(out):
        raise OutputNotWritableError(
            f"{out} holds files faxbatch did not write; it will not {verb} them",
            hint="choose an empty or new folder with --out",
        )
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    libc = ctypes.CDLL(name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EPERM):
        return False  # the file system cannot exchange: fall back to two renames
    raise OSError(err, os.strerror(err), str(a))


class Staging:
    """A staging folder for one output folder; use as a context manager, then :meth:`commit`."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out).absolute()
        self.parent = self.out.parent
        self.tmp = self.parent / f".{self.out.name}.staging"
        self.old = self.parent / f".{self.out.name}.old"
        self._lock: int | None = None
        self._committed = False

    def __enter__(self) -> Staging:
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputNotWritableError(
                f"cannot create the output folder {self.out} ({exc.strerror or exc})",
                hint="choose another folder with --out, or fix its permissions",
            ) from None
        self._lock = take_lock(
            lock_path(self.out),
            OutputNotWritableError(
                f"another faxbatch run is writing {self.out}",
                hint="wait for it to finish, or build into another folder",
            ),
        )
        try:
            self._prepare()
        except BaseException:
            release_lock(self._lock)
            self._lock = None
            raise
        return self

    def _prepare(self) -> None:
        try:
            self._recover()
            _check_out(self.out, "replace")
            info = lstat_or_none(self.tmp)
            if info is not None:
                if not _ours(self.tmp):
                    raise _in_the_way(self.tmp, info, "staging folder")
                remove_folder(self.tmp)  # left by an interrupted run: we hold the lock
            self.tmp.mkdir()
            fd = os.open(self.tmp / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o644)
            try:
                os.write(fd, _MARKER_BODY)  # one small write: a kill leaves it whole or absent
            finally:
                os.close(fd)
        except OSError as exc:
            raise OutputNotWritableError(
                f"cannot write beside {self.out} ({exc.strerror or exc})",
                hint="faxbatch builds next to the output folder: its parent must be writable",
            ) from None

    def _recover(self) -> None:
        """Finish a swap that an earlier run started but did not complete."""
        info = lstat_or_none(self.old)
        if info is None:
            return
        if not _ours(self.old):
            raise _in_the_way(self.old, info, "previous batch while it swaps batches")
        if lstat_or_none(self.out) is None:
            self.old.rename(self.out)
        else:
            remove_folder(self.old)

    def path(self, relative: str) -> Path:
        """Where a file of the batch is written while staging."""
        target = self.tmp / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write(self, relative: str, data: bytes) -> Path:
        """Write one file of the batch."""
        target = self.path(relative)
        with naming(target):
            target.write_bytes(data)
        return target

    def reset(self) -> None:
        """Empty the staging folder (but its marker), to build it again from nothing."""
        for entry in os.scandir(self.tmp):
            if entry.name != MARKER:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    Path(entry.path).unlink()

    def commit(self) -> None:
        """Put the complete batch in place of the output folder.

        Ctrl-C or SIGTERM during the swap is handled once the swap is done: the new batch is then
        in place, and the previous one (beside it, marked) is removed by the next run.
        """
        try:
            os.sync()  # one flush for the whole batch: cheaper than an fsync per file
            with _signals_held():
                leftover = self._swap()
        except OSError as exc:
            raise OutputNotWritableError(
                f"cannot put the new batch in place of {self.out} ({exc.strerror or exc})",
                hint="check the permissions of the output folder and its parent",
            ) from None
        if leftover is None:
            return
        # the new batch is in place: a previous batch that cannot be removed now is removed by
        # the next run (it is marked as faxbatch's)
        with contextlib.suppress(OSError):
            remove_folder(leftover)

    def _swap(self) -> Path | None:
        """Put the staging folder in place; returns where the previous batch went (if any)."""
        if lstat_or_none(self.out) is None:
            self.tmp.rename(self.out)
            self._committed = True
            return None
        if _exchange(self.tmp, self.out):
            self._committed = True
            return self.tmp  # now the previous batch
        self.out.rename(self.old)
        self.tmp.rename(self.out)
        self._committed = True
        return self.old

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed and lstat_or_none(self.tmp) is not None:
            with contextlib.suppress(OSError):
                remove_folder(self.tmp)
        if self._lock is not None:
            release_lock(self._lock)
            self._lock = None


#: the signals that stop a run cleanly: Ctrl-C, and SIGTERM (a build turns it into Ctrl-C)
_STOPPING = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back until the block ends, then handle them as they would have been.

    A Python handler runs between any two steps of the main thread: arriving between the two
    renames of the fallback swap, an interrupt would leave no output folder at all (and remove
    the new batch with the staging folder). Masking the signals does not suffice: with another
    thread alive the kernel hands the signal to that thread and Python still runs the handler in
    the main thread. So the handlers themselves wait: each signal is noted, and raised again once
    the previous handlers are back.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # Python runs handlers in the main thread only: none can stop this one midway
        return
    caught: list[int] = []

    def note(signum: int, frame: object) -> None:
        caught.append(signum)

    before = {signum: signal.signal(signum, note) for signum in _STOPPING}
    try:
        yield
    finally:
        for signum, handler in before.items():
            # None: a handler set outside Python; the default is the closest we can restore
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        for number in dict.fromkeys(caught):
            signal.raise_signal(number)


def write_beside_batch(out: Path, files: Mapping[str, bytes | Path]) -> list[Path]:
    """Write a few files into an output folder without replacing the folder.

    Each file is given as its bytes, or as a finished file elsewhere to copy (a big sheet).

    For what is made without a build (``faxbatch check``'s volunteer sheet): each file is written
    atomically into ``out``, which is created (and marked as faxbatch's, so that a later build may
    replace it) when missing. The same rules as a build hold: a folder holding files faxbatch did
    not write is left alone, a link is not followed, and a folder a build is writing right now is
    not touched.
    """
    out = Path(out).absolute()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputNotWritableError(
            f"cannot create the output folder {out} ({exc.strerror or exc})",
            hint="choose another folder with --out, or fix its permissions",
        ) from None
    lock = take_lock(
        lock_path(out),
        OutputNotWritableError(
            f"another faxbatch run is writing {out}",
            hint="wait for it to finish, or write into another folder",
        ),
    )
    try:
        try:
            exists = _check_out(out, "write into")
        except OSError as exc:
            raise OutputNotWritableError(f"cannot read {out} ({exc.strerror or exc})") from None
        written = []
        try:
            if not exists:
                out.mkdir()
            if not is_batch_folder(out):
                write_atomic(out / MARKER, _MARKER_BODY, mode=0o644)
            for name, data in files.items():
                # a sheet to share, not a secret (mkstemp alone would give 0600)
                if isinstance(data, Path):
                    _copy_atomic(data, out / name, mode=0o644)
                else:
                    write_atomic(out / name, data, mode=0o644)
                written.append(out / name)
        except OSError as exc:
            raise OutputNotWritableError(
                f"cannot write into {out} ({exc.strerror or exc})",
                hint="check free disk space and permissions",
            ) from None
        return written
    finally:
        release_lock(lock)


def _copy_atomic(source: Path, target: Path, mode: int) -> None:
    """Copy a file in, a block at a time, so that readers see the old or the new file only."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle, source.open("rb") as data:
            os.fchmod(handle.fileno(), mode)
            shutil.copyfileobj(data, handle, 1 << 20)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(target)  # replaces a symbolic link by the name itself, never its target
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise
