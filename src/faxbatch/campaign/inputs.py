"""The files a campaign makes faxbatch read: where they may lie, what they may be, how big.

Campaign files travel between organizers, and one from a stranger must not make faxbatch print a
local file into every fax. So every file a campaign names (``letter.body_file``,
``recipients_file``, the ``verification.csv`` beside it; issue 14's enclosures and signers file
go through here too, each with an :class:`InputKind` of its own) is read through
:func:`open_input`, which

- resolves the name against the campaign file's folder, symlinks included, and refuses a file
  outside the folders the campaign may read from (its own folder, and each ``--allow-path`` of the
  command line; exit 3, with a hint naming ``--allow-path``);
- looks at the file before opening it (``lstat``) and refuses folders, FIFOs, devices and sockets
  without opening them, so that nothing hangs on a pipe nor reads ``/dev/zero`` until memory runs
  out; then opens it without following symlinks (``O_NOFOLLOW`` on every part of the path below
  the allowed folder, ``O_NONBLOCK``) and checks the opened file again (``fstat``), so that a file
  swapped in between the look and the open is caught too;
- reads at most the size limit of its kind, and says so clearly when a file is bigger.

The campaign file itself, named on the command line, may lie anywhere, but it is checked and
limited the same way (``folders=None``).
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from faxbatch.campaign.model import Campaign
from faxbatch.errors import CampaignError, InputUnreadableError

__all__ = [
    "BODY",
    "CAMPAIGN",
    "ENCLOSURE",
    "MB",
    "RECIPIENTS",
    "SIGNERS",
    "VERIFICATION",
    "InputKind",
    "Origin",
    "allowed_folders",
    "folders_of",
    "locate",
    "open_input",
    "read_input",
]

MB = 1_000_000


@dataclass(frozen=True)
class InputKind:
    """A kind of input file: what to call it in messages, and the most bytes faxbatch reads."""

    what: str
    limit: int


#: a campaign of 50,000 recipients belongs in a recipients file: 10 MB of YAML is plenty
CAMPAIGN = InputKind("campaign file", 10 * MB)
#: a letter of a few pages is a few kilobytes
BODY = InputKind("letter body", 1 * MB)
#: a million rows of a few hundred bytes each
RECIPIENTS = InputKind("recipients file", 200 * MB)
VERIFICATION = InputKind("verification sheet", 200 * MB)
#: a PDF appended to every letter (``enclosures:``): a statement of a few pages, not a brochure
ENCLOSURE = InputKind("enclosure", 20 * MB)
#: a signatory per row, as many as recipients can be
SIGNERS = InputKind("signers file", 200 * MB)

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in after the look must not block open
_FILE_FLAGS = (
    os.O_RDONLY
    | _NOFOLLOW
    | _NONBLOCK
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class Origin:
    """Where a file is named: the campaign file, the line and the field (for messages)."""

    source: str
    line: int | None
    field: str

    def __str__(self) -> str:
        line = f":{self.line}" if self.line else ""
        return f"{self.source}{line}" + (f": {self.field}" if self.field else "")


def allowed_folders(campaign_file: Path, allow: Sequence[Path] = ()) -> tuple[Path, ...]:
    """The folders a campaign may read from: its own folder and ``allow``, symlinks resolved."""
    folders = [_real(campaign_file.parent), *(_real(folder) for folder in allow)]
    return tuple(dict.fromkeys(folders))


def folders_of(campaign: Campaign) -> tuple[Path, ...]:
    """The folders ``campaign`` may read from (its own folder when none were set)."""
    return campaign.input_folders or allowed_folders(campaign.source)


def _real(path: Path) -> Path:
    """``path`` made absolute with every symlink resolved (a loop is left for the open to find)."""
    return Path(os.path.realpath(path))


def locate(name: str | Path, *, base: Path, folders: Sequence[Path], origin: Origin) -> Path:
    """The real path of a file named ``name`` (relative to ``base``), inside one of ``folders``.

    Raises :class:`CampaignError` (exit 3) when the file lies outside every allowed folder: the
    message names the field, the path as written and where it leads, and ``--allow-path``.
    """
    written = str(name)
    if "\0" in written:
        raise _campaign_error(origin, "the file name holds a NUL character", None)
    real = _real(base / written)
    if _folder_of(real, folders) is None:
        shown = f"'{written}'" + (f" ({real})" if str(real) != written else "")
        own = folders[0] if folders else base
        raise _campaign_error(
            origin,
            f"{shown} is outside the campaign's folder ({own})",
            "a campaign may make faxbatch read only files in its own folder: move the file "
            "there, or, if you trust the campaign, allow that folder on the command line: "
            f"--allow-path {real.parent}",
        )
    return real


def _folder_of(real: Path, folders: Sequence[Path]) -> Path | None:
    for folder in folders:
        if real.is_relative_to(folder):
            return folder
    return None


def _campaign_error(origin: Origin, message: str, hint: str | None) -> CampaignError:
    return CampaignError(
        message, source=origin.source, line=origin.line, field=origin.field, hint=hint
    )


def _unreadable(origin: Origin, path: Path, kind: InputKind, why: str, hint: str) -> Exception:
    return InputUnreadableError(f"{origin}: cannot read the {kind.what} '{path}': {why}", hint=hint)


def _file_type(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        # a resolved path that still is a link: its links go round in a loop
        return "a symbolic link in a loop"
    return "not a regular file"


def _check_file(info: os.stat_result, path: Path, kind: InputKind, origin: Origin) -> None:
    """Refuse anything but a regular file of at most ``kind.limit`` bytes."""
    if not stat.S_ISREG(info.st_mode):
        raise _unreadable(
            origin,
            path,
            kind,
            f"it is {_file_type(info.st_mode)}, not a regular file",
            "name a regular file; faxbatch does not open anything else",
        )
    if info.st_size > kind.limit:
        raise _too_big(origin, path, kind, f"it has {_size(info.st_size)}")


def _too_big(origin: Origin, path: Path, kind: InputKind, how_big: str) -> Exception:
    return _unreadable(
        origin,
        path,
        kind,
        f"{how_big}, more than the {_size(kind.limit)} faxbatch reads as a {kind.what}",
        "split the file, or check that it is the file you meant",
    )


def _size(count: int) -> str:
    return f"{count / MB:.1f} MB" if count >= MB else f"{count} bytes"


def _os_problem(exc: OSError) -> tuple[str, str]:
    """What went wrong opening a file, and a hint, in words."""
    if exc.errno == errno.ELOOP:
        return (
            "its symbolic links loop (or one appeared while it was being opened)",
            "replace the link by the file itself",
        )
    if exc.errno == errno.ENOENT:
        return "there is no such file", "the path is relative to the campaign file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied", "check that the file is readable"
    return exc.strerror or str(exc), "check the path and that the file is readable"


class _Limited(io.RawIOBase):
    """An opened file, read up to a limit (a file that grows while read is caught too)."""

    def __init__(self, fd: int, limit: int, over: Exception) -> None:
        self._file = io.FileIO(fd, "rb", closefd=True)
        self._left = limit
        self._over = over

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer)
        count = self._file.readinto(view[: min(len(view), self._left + 1)]) or 0
        if count > self._left:
            raise self._over
        self._left -= count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


@contextmanager
def open_input(
    name: str | Path,
    kind: InputKind,
    origin: Origin,
    *,
    base: Path | None = None,
    folders: Sequence[Path] | None = None,
) -> Iterator[io.BufferedIOBase]:
    """Open an input file for reading (binary, buffered), after every check of the module.

    ``name`` is taken relative to ``base`` (default: the current folder). With ``folders``, the
    file must lie inside one of them (see :func:`locate`); ``None`` is for the campaign file the
    user names on the command line. Raises :class:`CampaignError` for a file outside the allowed
    folders and :class:`InputUnreadableError` for one that is missing, not a regular file, bigger
    than ``kind.limit`` or cannot be opened (a symlink loop included).
    """
    base = base if base is not None else Path()
    if folders is not None:
        path = locate(name, base=base, folders=folders, origin=origin)
    elif "\0" in str(name):
        raise _campaign_error(origin, "the file name holds a NUL character", None)
    else:
        path = _real(base / name)
    try:
        # a look first: a FIFO or a device is refused without being opened (opening one may
        # block, or do something: a tape rewinds)
        _check_file(path.lstat(), path, kind, origin)
        fd = _open_beneath(path, folders)
    except OSError as exc:
        why, hint = _os_problem(exc)
        raise _unreadable(origin, path, kind, why, hint) from None
    try:
        _check_file(os.fstat(fd), path, kind, origin)  # the file opened is the file looked at
        over = _too_big(origin, path, kind, "it grew while being read")
        stream = io.BufferedReader(_Limited(fd, kind.limit, over))
    except BaseException:
        os.close(fd)
        raise
    with stream:
        yield stream


def _open_beneath(path: Path, folders: Sequence[Path] | None) -> int:
    """Open ``path`` without following a symlink on any part of it below its allowed folder.

    ``path`` has no symlinks (it is resolved): one found now was planted after the resolution.
    """
    folder = _folder_of(path, folders) if folders else None
    if folder is None or os.open not in os.supports_dir_fd:
        return os.open(path, _FILE_FLAGS)
    parts = path.relative_to(folder).parts
    fd = os.open(folder, _FOLDER_FLAGS)
    try:
        for part in parts[:-1]:
            inner = os.open(part, _FOLDER_FLAGS | _NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
        return os.open(parts[-1], _FILE_FLAGS, dir_fd=fd)
    finally:
        os.close(fd)


def read_input(
    name: str | Path,
    kind: InputKind,
    origin: Origin,
    *,
    base: Path | None = None,
    folders: Sequence[Path] | None = None,
) -> bytes:
    """The bytes of an input file, read through :func:`open_input` (same checks, same errors)."""
    with open_input(name, kind, origin, base=base, folders=folders) as stream:
        try:
            return stream.read()
        except OSError as exc:
            why, hint = _os_problem(exc)
            raise _unreadable(origin, Path(name), kind, why, hint) from None
