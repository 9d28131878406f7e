"""What a batch remembers between builds, so that a re-run only redoes what changed.

Kept inside the batch folder, under ``.faxbatch-cache/``, and replaced with it atomically:

- ``cache.sqlite``: per document its input key (a hash of everything that shapes it), its file,
  checksum and, per page, where its compressed content streams lie in ``pages.bin``; the number
  readings by field text and countries (phonenumbers is the slowest step of planning); the font
  subsets; what the build recorded about itself;
- ``pages.bin``: the content streams themselves, each distinct stream once.

A document whose key is unchanged is not laid out or rendered again: its PDF is hard-linked from the
previous batch and its pages go into the new volume straight from ``pages.bin``, so the outputs are
byte-identical to a full build. Lookups go to SQLite one at a time, so a batch of 50,000 documents
is never held in memory.

The cache can only make a build faster, never different. Every row carries a digest of its
values, and every document a digest of its page streams (their lengths and bytes): a piece that
does not match, a file that is a link, a database that cannot be read or has another schema is
not used, and what it would have given is made anew.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import mmap
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import IO, Any

from faxbatch.letters.fonts import Style
from faxbatch.letters.pdf import PageContent
from faxbatch.numbers.reading import NumberReading, Verdict

FOLDER = ".faxbatch-cache"
DATABASE = "cache.sqlite"
PAGES = "pages.bin"
FORMAT = 3  # 3: readings keep the number as written
_SCHEMA = f"""
CREATE TABLE documents (
    id TEXT PRIMARY KEY, key TEXT, file TEXT, sha256 TEXT, pages TEXT,
    seq INTEGER, volume TEXT, first_page INTEGER, last_page INTEGER, streams TEXT, digest TEXT
);
CREATE TABLE readings (key TEXT PRIMARY KEY, readings TEXT, digest TEXT);
CREATE TABLE fonts (key TEXT PRIMARY KEY, data BLOB, digest TEXT);
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT, digest TEXT);
PRAGMA user_version = {FORMAT};
"""
_DOCUMENT_COLUMNS = "id, key, file, sha256, pages, seq, volume, first_page, last_page, streams"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class CacheDamaged(Exception):
    """A cached piece no longer matches its digest (the cache changed while a build read it)."""


class CacheWriteError(OSError):
    """The build cache cannot be written (a full disk, most often)."""


def input_key(*parts: Any) -> str:
    """A stable hash of JSON-serialisable parts (dataclasses included)."""

    def default(value: Any) -> Any:
        if hasattr(value, "__dataclass_fields__"):
            return asdict(value)
        if isinstance(value, (set, frozenset)):
            return sorted(value)
        return str(value)

    text = json.dumps(parts, sort_keys=True, default=default, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _digest(*parts: str | bytes | int | None) -> str:
    """A digest of a row's values, each length-prefixed (no two rows spell the same bytes)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:32]


@cache
def code_fingerprint() -> str:
    """A hash of faxbatch's own modules: new code never reuses documents made by old code."""
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    for name, data in sorted(_modules(resources.files("faxbatch"), "")):
        digest.update(name.encode() + b"\0" + data)
    return digest.hexdigest()[:20]


def _modules(folder: Traversable, prefix: str) -> Iterator[tuple[str, bytes]]:
    """Every module below ``folder``, subpackages included: (path, source)."""
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name != "__pycache__":
            yield from _modules(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".py"):
            yield prefix + entry.name, entry.read_bytes()


def database_uri(path: Path, mode: str) -> str:
    """An SQLite URI for ``path`` (any character of the path quoted), opened in ``mode``."""
    return f"{path.absolute().as_uri()}?mode={mode}"


def regular_file(path: Path) -> bool:
    """Whether ``path`` is a regular file itself (not a link to one)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def cache_folder(batch: Path) -> Path | None:
    """The cache folder of a batch folder, when it is a real folder with both files."""
    folder = batch / FOLDER
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return None
    except OSError:
        return None
    if not (regular_file(folder / DATABASE) and regular_file(folder / PAGES)):
        return None
    return folder


def hash_file(path: Path, size: int | None = None) -> str | None:
    """The sha256 of a regular file (not followed if a link); None when it cannot be read.

    With ``size``, a file of another size is not read at all.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (size is not None and info.st_size != size):
            return None
        digest = hashlib.sha256()
        while block := os.read(fd, 1 << 20):
            digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None
    finally:
        os.close(fd)


@dataclass(frozen=True)
class CachedDocument:
    """A document of the previous build, as the cache recorded it.

    ``seq`` is its place among the documents of the previous build's volumes, and ``volume``,
    ``first_page``, ``last_page`` where it went there; ``streams`` the digest of its pages.
    """

    id: str
    key: str
    file: str
    sha256: str
    pages_json: str
    seq: int
    volume: str
    first_page: int
    last_page: int
    streams: str

    @property
    def pages(self) -> list[dict[str, Any]]:
        """Per page: width, height, fonts used and the places of its streams in pages.bin."""
        pages: list[dict[str, Any]] = json.loads(self.pages_json)
        return pages


def _row_digest(cached: CachedDocument) -> str:
    return _digest(
        cached.id,
        cached.key,
        cached.file,
        cached.sha256,
        cached.pages_json,
        cached.seq,
        cached.volume,
        cached.first_page,
        cached.last_page,
        cached.streams,
    )


class PreviousBuild:
    """The cache of the batch folder being replaced (empty when there is none or it is unusable).

    Opened once per process: worker processes open their own (SQLite connections and memory maps
    do not survive ``fork``). ``damaged`` tells whether anything found there did not match.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.damaged = False
        self._db: sqlite3.Connection | None = None
        self._pages: mmap.mmap | None = None
        self._handle: IO[bytes] | None = None
        try:
            self._open()
        except (OSError, sqlite3.Error, ValueError):
            self.damaged = True
            self.close()

    def _open(self) -> None:
        folder = cache_folder(self.folder)
        if folder is None:
            return
        self._db = open_database(folder / DATABASE)
        if self._db is None:
            self.damaged = True
            return
        fd = os.open(folder / PAGES, os.O_RDONLY | _NOFOLLOW)
        self._handle = os.fdopen(fd, "rb")
        if os.fstat(fd).st_size:
            self._pages = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)

    @property
    def usable(self) -> bool:
        """Whether there is a cache to read at all."""
        return self._db is not None

    def readings(self, key: str) -> tuple[NumberReading, ...] | None:
        """The readings of a number field, as the previous build made them."""
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT readings, digest FROM readings WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            if row[1] != _digest(key, row[0]):
                self.damaged = True
                return None
            return tuple(_reading(value) for value in json.loads(row[0]))
        except (sqlite3.Error, ValueError, KeyError, TypeError):
            self.damaged = True
            return None

    def reusable(self, recipient_id: str, key: str) -> CachedDocument | None:
        """The previous build's record of a document when its inputs are the same.

        The record itself is checked against its digest; its file and pages are checked by
        :meth:`intact` and :meth:`contents`.
        """
        if self._db is None or self._pages is None:
            return None
        try:
            row = self._db.execute(
                f"SELECT {_DOCUMENT_COLUMNS}, digest FROM documents WHERE id = ?", (recipient_id,)
            ).fetchone()
            if row is None or row[1] != key:
                return None
            cached = CachedDocument(*row[:-1])
        except (sqlite3.Error, ValueError, TypeError):
            self.damaged = True
            return None
        if row[-1] != _row_digest(cached):
            self.damaged = True
            return None
        return cached

    def intact(self, cached: CachedDocument) -> bool:
        """Whether a cached document's file and page streams are exactly what was recorded."""
        if hash_file(self.folder / cached.file) != cached.sha256:
            self.damaged = True
            return False
        try:
            self._streams(cached)
        except CacheDamaged:
            self.damaged = True
            return False
        return True

    def _streams(self, cached: CachedDocument) -> list[tuple[dict[str, Any], list[bytes]]]:
        """Each page's record and its streams, checked against the document's digest."""
        pages = self._pages
        if pages is None:
            raise CacheDamaged(cached.id)
        digest = hashlib.sha256()
        digest.update(cached.pages_json.encode("utf-8"))
        size = len(pages)
        found: list[tuple[dict[str, Any], list[bytes]]] = []
        try:
            for page in cached.pages:
                streams = []
                for start, length in page["s"]:
                    if not (start >= 0 and length >= 0 and start + length <= size):
                        raise CacheDamaged(cached.id)
                    data = pages[start : start + length]
                    digest.update(length.to_bytes(8, "little"))
                    digest.update(data)
                    streams.append(data)
                found.append((page, streams))
        except (ValueError, KeyError, TypeError) as exc:
            raise CacheDamaged(cached.id) from exc
        if digest.hexdigest()[:32] != cached.streams:
            raise CacheDamaged(cached.id)
        return found

    def meta(self, name: str) -> Any:
        """A value the previous build recorded about itself (JSON), or None."""
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT value, digest FROM meta WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                return None
            if row[1] != _digest(name, row[0]):
                self.damaged = True
                return None
            return json.loads(row[0])
        except (sqlite3.Error, ValueError):
            self.damaged = True
            return None

    def document_files(self) -> Iterator[tuple[str, str]]:
        """Every document's (file, sha256), as recorded; stops early if the table is damaged."""
        if self._db is None:
            return
        try:
            for file, sha256 in self._db.execute("SELECT file, sha256 FROM documents"):
                yield str(file), str(sha256)
        except sqlite3.Error:
            self.damaged = True

    def font(self, key: str) -> bytes | None:
        """A font subset the previous build made."""
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT data, digest FROM fonts WHERE key = ?", (key,)
            ).fetchone()
        except sqlite3.Error:
            self.damaged = True
            return None
        if row is None:
            return None
        data = bytes(row[0]) if isinstance(row[0], bytes) else None
        if data is None or row[1] != _digest(key, data):
            self.damaged = True
            return None
        return data

    def contents(self, cached: CachedDocument) -> list[PageContent]:
        """The rendered pages of a cached document (raises :class:`CacheDamaged`)."""
        try:
            return [
                PageContent(
                    page["w"],
                    page["h"],
                    tuple(streams),
                    frozenset(Style(style) for style in page["f"]),
                    frozenset(str(key) for key in page.get("i", ())),
                )
                for page, streams in self._streams(cached)
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise CacheDamaged(cached.id) from exc

    def close(self) -> None:
        """Release the database and the mapped file (before the folder is replaced)."""
        if self._db is not None:
            self._db.close()
        if self._pages is not None:
            self._pages.close()
        if self._handle is not None:
            self._handle.close()
        self._db = self._pages = self._handle = None


def open_database(path: Path) -> sqlite3.Connection | None:
    """A previous cache database, read-only, when it is one of this format (else None)."""
    db = sqlite3.connect(database_uri(path, "ro"), uri=True, check_same_thread=False)
    try:
        version = db.execute("PRAGMA user_version").fetchone()
        if version is None or version[0] != FORMAT:
            raise sqlite3.DatabaseError("another format")
        for table, columns in (
            ("documents", f"{_DOCUMENT_COLUMNS}, digest"),
            ("readings", "key, readings, digest"),
            ("fonts", "key, data, digest"),
            ("meta", "name, value, digest"),
        ):
            db.execute(f"SELECT {columns} FROM {table} LIMIT 1").fetchall()
    except sqlite3.Error:
        db.close()
        return None
    return db


class CacheWriter:
    """Writes the cache of the batch being built (in its staging folder).

    Any failure to write raises :class:`CacheWriteError` (an ``OSError``: the output cannot be
    written), whatever SQLite called it.
    """

    def __init__(self, folder: Path, previous: Path | None = None) -> None:
        cache_folder = folder / FOLDER
        self._path = cache_folder / DATABASE
        self._pages_path = cache_folder / PAGES
        self._offset = 0
        self._seen: dict[bytes, tuple[int, int]] = {}
        self._rows: list[tuple[Any, ...]] = []
        cache_folder.mkdir(parents=True, exist_ok=True)
        with self._writing(self._path):
            self._db = sqlite3.connect(database_uri(self._path, "rwc"), uri=True)
            # no flush per transaction: the staging folder is flushed whole before it is
            # published (see faxbatch.build.staging), and a build that fails throws it away
            self._db.execute("PRAGMA synchronous = OFF")
            self._db.executescript(_SCHEMA)
        self._pages = self._pages_path.open("wb")
        if previous is not None:
            self._carry_over(previous)

    @contextlib.contextmanager
    def _writing(self, path: Path) -> Iterator[None]:
        """SQLite's and the file system's errors as one :class:`CacheWriteError`."""
        try:
            yield
        except sqlite3.Error as exc:
            full = "full" in str(exc)
            code = errno.ENOSPC if full else errno.EIO
            raise CacheWriteError(code, f"{os.strerror(code)} ({exc})", str(path)) from None
        except OSError as exc:
            if exc.filename:
                raise
            raise CacheWriteError(exc.errno or errno.EIO, exc.strerror, str(path)) from None

    def _carry_over(self, previous: Path) -> None:
        """Start from the previous cache, when it is sound.

        Its page streams stay where they were (so reused documents' records are copied as they
        are), and its number readings and font subsets stay known (each still checked when used).
        """
        old = cache_folder(previous)
        if old is None:
            return
        db = open_database(old / DATABASE)
        if db is None:
            return
        db.close()
        try:
            fd = os.open(old / PAGES, os.O_RDONLY | _NOFOLLOW)
        except OSError:
            return
        with os.fdopen(fd, "rb") as source, self._writing(self._pages_path):
            shutil.copyfileobj(source, self._pages, 1 << 20)
            self._offset = self._pages.tell()
        try:
            self._db.execute("ATTACH DATABASE ? AS old", (database_uri(old / DATABASE, "ro"),))
            self._db.execute("INSERT OR IGNORE INTO readings SELECT * FROM old.readings")
            self._db.execute("INSERT OR IGNORE INTO fonts SELECT * FROM old.fonts")
            self._db.commit()
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._db.rollback()
            if "full" in str(exc):
                raise CacheWriteError(errno.ENOSPC, str(exc), str(self._path)) from None
            # unreadable after all: start empty (a cache that does not match is never used)
        finally:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("DETACH DATABASE old")

    def _stream(self, data: bytes) -> tuple[int, int]:
        key = hashlib.sha1(data, usedforsecurity=False).digest()
        place = self._seen.get(key)
        if place is None:
            try:
                self._pages.write(data)
            except OSError as exc:
                raise CacheWriteError(exc.errno, exc.strerror, str(self._pages_path)) from None
            place = (self._offset, len(data))
            self._offset += len(data)
            if len(data) > 256 and len(self._seen) < 10_000:  # pages shared by many letters
                self._seen[key] = place
        return place

    def document(
        self,
        recipient_id: str,
        key: str,
        file: str,
        sha256: str,
        contents: list[PageContent] | None,
        placement: tuple[int, str, int, int],
        cached: CachedDocument | None = None,
    ) -> None:
        """Remember one document of this build (a reused one by its previous record)."""
        if cached is not None:
            pages_json, streams = cached.pages_json, cached.streams  # streams carried unmoved
        else:
            assert contents is not None
            pages = []
            for content in contents:
                places = [list(self._stream(data)) for data in content.streams]
                pages.append(
                    {
                        "w": content.width,
                        "h": content.height,
                        "f": sorted(style.value for style in content.styles),
                        "s": places,
                    }
                )
                if content.images:  # an enclosure's page: the images it draws, by key
                    pages[-1]["i"] = sorted(content.images)
            pages_json = json.dumps(pages, separators=(",", ":"))
            # the digest covers the page records first, then the streams (as _streams reads them)
            check = hashlib.sha256(pages_json.encode("utf-8"))
            for content in contents:
                for data in content.streams:
                    check.update(len(data).to_bytes(8, "little"))
                    check.update(data)
            streams = check.hexdigest()[:32]
        record = CachedDocument(recipient_id, key, file, sha256, pages_json, *placement, streams)
        self._rows.append((*(getattr(record, f.name) for f in fields(record)), _row_digest(record)))
        if len(self._rows) >= 1000:
            self._flush()

    def _flush(self) -> None:
        with self._writing(self._path):
            self._db.executemany(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self._rows,
            )
        self._rows.clear()

    def readings(self, key: str, readings: tuple[NumberReading, ...]) -> None:
        """Remember the readings of one number field."""
        value = json.dumps([_plain(r) for r in readings], separators=(",", ":"))
        with self._writing(self._path):
            self._db.execute(
                "INSERT OR REPLACE INTO readings VALUES (?, ?, ?)",
                (key, value, _digest(key, value)),
            )

    def font(self, key: str, data: bytes) -> None:
        """Remember a font subset."""
        with self._writing(self._path):
            self._db.execute(
                "INSERT OR REPLACE INTO fonts VALUES (?, ?, ?)", (key, data, _digest(key, data))
            )

    def meta(self, name: str, value: Any) -> None:
        """Remember a value about this build (JSON)."""
        text = json.dumps(value)
        with self._writing(self._path):
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?, ?)", (name, text, _digest(name, text))
            )

    def close(self) -> None:
        """Finish the cache files."""
        self._flush()
        with self._writing(self._path):
            self._db.commit()
            self._db.close()
        with self._writing(self._pages_path):
            self._pages.close()

    def abort(self) -> None:
        """Close the cache files unfinished (after an error; the staging folder goes)."""
        with contextlib.suppress(sqlite3.Error, OSError):
            self._db.close()
        with contextlib.suppress(OSError):
            self._pages.close()


def _plain(reading: NumberReading) -> dict[str, Any]:
    """A reading as JSON-ready values (its fields are text, numbers and tuples of text)."""
    return {name: getattr(reading, name) for name in _READING_FIELDS}


_READING_FIELDS = tuple(field.name for field in fields(NumberReading))


def _reading(value: dict[str, Any]) -> NumberReading:
    fields = dict(value)
    fields["verdict"] = Verdict(fields["verdict"])
    for name in ("reasons", "time_zones", "alternatives"):
        fields[name] = tuple(fields[name])
    return NumberReading(**fields)
