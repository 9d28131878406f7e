"""What a batch remembers between builds, so that a re-run only redoes what changed.

Kept inside the batch folder, under ``.faxbatch-cache/``, and replaced with it atomically:

- ``cache.sqlite``: per document its input key (a hash of everything that shapes it), its file,
  checksum and, per page, where its compressed content streams lie in ``pages.bin``; and the number
  readings by field text and countries (phonenumbers is the slowest step of planning);
- ``pages.bin``: the content streams themselves, each distinct stream once.

A document whose key is unchanged is not laid out or rendered again: its PDF is hard-linked from the
previous batch and its pages go into the new volume straight from ``pages.bin``, so the outputs are
byte-identical to a full build. Lookups go to SQLite one at a time, so a batch of 50,000 documents
is never held in memory. Anything unreadable here is ignored: the cache can only make a build
faster, never different.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import shutil
import sqlite3
from dataclasses import asdict, dataclass, fields
from functools import cache
from importlib import resources
from pathlib import Path
from typing import IO, Any

from faxbatch.fonts import Style
from faxbatch.numbers import NumberReading, Verdict
from faxbatch.pdf import PageContent

FOLDER = ".faxbatch-cache"
FORMAT = 1
_SCHEMA = """
CREATE TABLE documents (
    id TEXT PRIMARY KEY, key TEXT, file TEXT, sha256 TEXT, pages TEXT,
    seq INTEGER, volume TEXT, first_page INTEGER, last_page INTEGER
);
CREATE TABLE readings (key TEXT PRIMARY KEY, readings TEXT);
CREATE TABLE fonts (key TEXT PRIMARY KEY, data BLOB);
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT);
"""


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


@cache
def code_fingerprint() -> str:
    """A hash of faxbatch's own modules: new code never reuses documents made by old code."""
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    package = resources.files("faxbatch")
    for entry in sorted(package.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return digest.hexdigest()[:20]


@dataclass(frozen=True)
class CachedDocument:
    """A document of the previous build, as the cache recorded it.

    ``seq`` is its place among the documents of the previous build's volumes, and ``volume``,
    ``first_page``, ``last_page`` where it went there.
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

    @property
    def pages(self) -> list[dict[str, Any]]:
        """Per page: width, height, fonts used and the places of its streams in pages.bin."""
        pages: list[dict[str, Any]] = json.loads(self.pages_json)
        return pages


class PreviousBuild:
    """The cache of the batch folder being replaced (empty when there is none).

    Opened once per process: worker processes open their own (SQLite connections and memory maps
    do not survive ``fork``).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._db: sqlite3.Connection | None = None
        self._pages: mmap.mmap | None = None
        self._handle: IO[bytes] | None = None
        with contextlib.suppress(OSError, sqlite3.Error, ValueError):
            self._open()

    def _open(self) -> None:
        path = self.folder / FOLDER / "cache.sqlite"
        if not path.is_file():
            return
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._db.execute("SELECT count(*) FROM documents").fetchone()
        handle = (self.folder / FOLDER / "pages.bin").open("rb")
        self._handle = handle
        if Path(handle.name).stat().st_size:
            self._pages = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)

    def readings(self, key: str) -> tuple[NumberReading, ...] | None:
        """The readings of a number field, as the previous build made them."""
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT readings FROM readings WHERE key = ?", (key,)).fetchone()
            return tuple(_reading(value) for value in json.loads(row[0])) if row else None
        except (sqlite3.Error, ValueError, KeyError, TypeError):
            return None

    def reusable(self, recipient_id: str, key: str) -> CachedDocument | None:
        """The previous build's document when its inputs are the same and its file is there."""
        if self._db is None or self._pages is None:
            return None
        try:
            row = self._db.execute(
                "SELECT id, key, file, sha256, pages, seq, volume, first_page, last_page "
                "FROM documents WHERE id = ?",
                (recipient_id,),
            ).fetchone()
            if row is None or row[1] != key or not (self.folder / row[2]).is_file():
                return None
            return CachedDocument(*row)
        except (sqlite3.Error, ValueError, TypeError):
            return None

    def meta(self, name: str) -> Any:
        """A value the previous build recorded about itself (JSON), or None."""
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
            return json.loads(row[0]) if row else None
        except (sqlite3.Error, ValueError):
            return None

    def font(self, key: str) -> bytes | None:
        """A font subset the previous build made."""
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT data FROM fonts WHERE key = ?", (key,)).fetchone()
            return bytes(row[0]) if row else None
        except sqlite3.Error:
            return None

    def contents(self, cached: CachedDocument) -> list[PageContent]:
        """The rendered pages of a cached document."""
        assert self._pages is not None
        pages = self._pages
        return [
            PageContent(
                page["w"],
                page["h"],
                tuple(bytes(pages[start : start + length]) for start, length in page["s"]),
                frozenset(Style(style) for style in page["f"]),
            )
            for page in cached.pages
        ]

    def close(self) -> None:
        """Release the database and the mapped file (before the folder is replaced)."""
        if self._db is not None:
            self._db.close()
        if self._pages is not None:
            self._pages.close()
        if self._handle is not None:
            self._handle.close()
        self._db = self._pages = self._handle = None


class CacheWriter:
    """Writes the cache of the batch being built (in its staging folder)."""

    def __init__(self, folder: Path, previous: Path | None = None) -> None:
        cache_folder = folder / FOLDER
        cache_folder.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(cache_folder / "cache.sqlite")
        self._db.executescript(_SCHEMA)
        self._pages = (cache_folder / "pages.bin").open("wb")
        self._offset = 0
        self._seen: dict[bytes, tuple[int, int]] = {}
        self._rows: list[tuple[Any, ...]] = []
        if previous is not None:
            with contextlib.suppress(OSError, sqlite3.Error):
                self._carry_over(previous / FOLDER)

    def _carry_over(self, old: Path) -> None:
        """Start from the previous cache.

        Its page streams stay where they were (so reused documents' records are copied as they
        are), and its number readings and font subsets stay known.
        """
        if not (old / "cache.sqlite").is_file() or not (old / "pages.bin").is_file():
            return
        with (old / "pages.bin").open("rb") as source:
            shutil.copyfileobj(source, self._pages, 1 << 20)
        self._offset = self._pages.tell()
        self._db.execute("ATTACH DATABASE ? AS old", (f"file:{old / 'cache.sqlite'}?mode=ro",))
        self._db.execute("INSERT OR IGNORE INTO readings SELECT * FROM old.readings")
        self._db.execute("INSERT OR IGNORE INTO fonts SELECT * FROM old.fonts")
        self._db.commit()
        self._db.execute("DETACH DATABASE old")

    def _stream(self, data: bytes) -> tuple[int, int]:
        digest = hashlib.sha1(data, usedforsecurity=False).digest()
        place = self._seen.get(digest)
        if place is None:
            self._pages.write(data)
            place = (self._offset, len(data))
            self._offset += len(data)
            if len(data) > 256 and len(self._seen) < 10_000:  # pages shared by many letters
                self._seen[digest] = place
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
            pages_json = cached.pages_json  # its streams were carried over unmoved
        else:
            assert contents is not None
            pages = [
                {
                    "w": content.width,
                    "h": content.height,
                    "f": sorted(style.value for style in content.styles),
                    "s": [list(self._stream(data)) for data in content.streams],
                }
                for content in contents
            ]
            pages_json = json.dumps(pages, separators=(",", ":"))
        self._rows.append((recipient_id, key, file, sha256, pages_json, *placement))
        if len(self._rows) >= 1000:
            self._flush()

    def _flush(self) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self._rows
        )
        self._rows.clear()

    def readings(self, key: str, readings: tuple[NumberReading, ...]) -> None:
        """Remember the readings of one number field."""
        value = json.dumps([_plain(r) for r in readings], separators=(",", ":"))
        self._db.execute("INSERT OR REPLACE INTO readings VALUES (?, ?)", (key, value))

    def font(self, key: str, data: bytes) -> None:
        """Remember a font subset."""
        self._db.execute("INSERT OR REPLACE INTO fonts VALUES (?, ?)", (key, data))

    def meta(self, name: str, value: Any) -> None:
        """Remember a value about this build (JSON)."""
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, json.dumps(value)))

    def close(self) -> None:
        """Finish the cache files."""
        self._flush()
        self._db.commit()
        self._db.close()
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
