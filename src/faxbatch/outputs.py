"""Writing a batch without ever leaving it half-written.

A batch is built in a staging folder beside the output folder and takes its place only when
complete: on Linux the two folders are exchanged in one atomic ``renameat2`` call, elsewhere by two
renames that the next run repairs if it was interrupted between them. A lock beside the output
folder keeps two runs from building into the same folder at once. A folder that faxbatch did not
make is never replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import json
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from faxbatch.errors import OutputNotWritableError

MARKER = ".faxbatch"
_MARKER_BODY = b'{"schema_version": 1, "tool": "faxbatch"}\n'


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


def is_batch_folder(path: Path) -> bool:
    """Whether ``path`` is a folder faxbatch wrote (so it may be replaced)."""
    marker = path / MARKER
    try:
        return bool(json.loads(marker.read_bytes()).get("tool") == "faxbatch")
    except (OSError, ValueError, AttributeError):
        return False


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
        self._lock: int | None = None
        self._committed = False

    def __enter__(self) -> Staging:
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
            self._lock = os.open(self.parent / f".{self.out.name}.lock", os.O_RDWR | os.O_CREAT)
        except OSError as exc:
            raise OutputNotWritableError(
                f"cannot create the output folder {self.out} ({exc.strerror or exc})",
                hint="choose another folder with --out, or fix its permissions",
            ) from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputNotWritableError(
                f"another faxbatch run is writing {self.out}",
                hint="wait for it to finish, or build into another folder",
            ) from None
        self._recover()
        if self.out.exists():
            if not self.out.is_dir():
                raise OutputNotWritableError(f"{self.out} exists and is not a folder",
                                             hint="choose another folder with --out")  # fmt: skip
            if any(self.out.iterdir()) and not is_batch_folder(self.out):
                raise OutputNotWritableError(
                    f"{self.out} holds files faxbatch did not write; it will not replace them",
                    hint="choose an empty or new folder with --out",
                )
        try:
            if self.tmp.exists():
                shutil.rmtree(self.tmp)  # left by an interrupted run: we hold the lock
            self.tmp.mkdir()
            (self.tmp / MARKER).write_bytes(_MARKER_BODY)
        except OSError as exc:
            raise OutputNotWritableError(
                f"cannot write beside {self.out} ({exc.strerror or exc})",
                hint="faxbatch builds next to the output folder: its parent must be writable",
            ) from None
        return self

    def _recover(self) -> None:
        """Finish a swap that an earlier run started but did not complete."""
        old = self.parent / f".{self.out.name}.old"
        if old.exists():
            if not self.out.exists():
                old.rename(self.out)
            else:
                shutil.rmtree(old, ignore_errors=True)

    def path(self, relative: str) -> Path:
        """Where a file of the batch is written while staging."""
        target = self.tmp / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write(self, relative: str, data: bytes) -> Path:
        """Write one file of the batch."""
        target = self.path(relative)
        target.write_bytes(data)
        return target

    def commit(self) -> None:
        """Put the complete batch in place of the output folder."""
        try:
            os.sync()  # one flush for the whole batch: cheaper than an fsync per file
            if not self.out.exists():
                self.tmp.rename(self.out)
            elif _exchange(self.tmp, self.out):
                shutil.rmtree(self.tmp)
            else:
                old = self.parent / f".{self.out.name}.old"
                self.out.rename(old)
                self.tmp.rename(self.out)
                shutil.rmtree(old)
        except OSError as exc:
            raise OutputNotWritableError(
                f"cannot put the new batch in place of {self.out} ({exc.strerror or exc})",
                hint="check the permissions of the output folder and its parent",
            ) from None
        self._committed = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self._lock is not None:
            os.close(self._lock)


def write_beside_batch(out: Path, files: dict[str, bytes]) -> list[Path]:
    """Write a few files into an output folder without replacing the folder.

    For what is made without a build (``faxbatch check``'s volunteer sheet): each file is written
    atomically into ``out``, which is created (and marked as faxbatch's, so that a later build may
    replace it) when missing. The same rules as a build hold: a folder holding files faxbatch did
    not write is left alone, and a folder a build is writing right now is not touched.
    """
    out = Path(out).absolute()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(out.parent / f".{out.name}.lock", os.O_RDWR | os.O_CREAT)
    except OSError as exc:
        raise OutputNotWritableError(
            f"cannot create the output folder {out} ({exc.strerror or exc})",
            hint="choose another folder with --out, or fix its permissions",
        ) from None
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputNotWritableError(
                f"another faxbatch run is writing {out}",
                hint="wait for it to finish, or write into another folder",
            ) from None
        if out.exists() and not out.is_dir():
            raise OutputNotWritableError(f"{out} exists and is not a folder",
                                         hint="choose another folder with --out")  # fmt: skip
        if out.exists() and any(out.iterdir()) and not is_batch_folder(out):
            raise OutputNotWritableError(
                f"{out} holds files faxbatch did not write; it will not write into it",
                hint="choose an empty or new folder with --out",
            )
        written = []
        try:
            out.mkdir(exist_ok=True)
            if not is_batch_folder(out):
                write_atomic(out / MARKER, _MARKER_BODY)
            for name, data in files.items():
                write_atomic(out / name, data)
                (out / name).chmod(0o644)  # a sheet to share, not a secret (mkstemp gives 0600)
                written.append(out / name)
        except OSError as exc:
            raise OutputNotWritableError(
                f"cannot write into {out} ({exc.strerror or exc})",
                hint="check free disk space and permissions",
            ) from None
        return written
    finally:
        os.close(lock)
