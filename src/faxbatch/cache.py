"""What a batch remembers between builds, so that a re-run only redoes what changed.

Kept inside the batch folder, under ``.faxbatch-cache/``, and replaced with it atomically:

- ``documents.jsonl``: per document its input key (a hash of everything that shapes it), its file,
  checksum and, per page, where its compressed content streams lie in ``pages.bin``;
- ``pages.bin``: the content streams themselves, each distinct stream once;
- ``numbers.json``: number readings by field text and countries (phonenumbers is the slowest step
  of planning a big campaign).

A document whose key is unchanged is not laid out or rendered again: its PDF is hard-linked from the
previous batch and its pages go into the new volumes straight from ``pages.bin``, so the outputs are
byte-identical to a full build. Anything unreadable here is ignored: the cache can only make a build
faster, never different.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from faxbatch.fonts import Style
from faxbatch.numbers import NumberReading, Verdict
from faxbatch.pdf import PageContent

FOLDER = ".faxbatch-cache"
FORMAT = 1


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


@dataclass(frozen=True)
class CachedDocument:
    """A document of the previous build, as the cache recorded it."""

    key: str
    file: str
    sha256: str
    pages: list[dict[str, Any]]


class PreviousBuild:
    """The cache of the batch folder being replaced (empty when there is none)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.documents: dict[str, CachedDocument] = {}
        self.numbers: dict[str, tuple[NumberReading, ...]] = {}
        self._pages: mmap.mmap | None = None
        self._handle: IO[bytes] | None = None
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            self._load()

    def _load(self) -> None:
        cache = self.folder / FOLDER
        with (cache / "documents.jsonl").open(encoding="utf-8") as lines:
            head = json.loads(next(lines))
            if head.get("format") != FORMAT:
                return
            for line in lines:
                record = json.loads(line)
                self.documents[record["id"]] = CachedDocument(
                    record["key"], record["file"], record["sha256"], record["pages"]
                )
        handle = (cache / "pages.bin").open("rb")
        if os.fstat(handle.fileno()).st_size:
            self._pages = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        self._handle = handle
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            raw = json.loads((cache / "numbers.json").read_text(encoding="utf-8"))
            self.numbers = {key: tuple(_reading(v) for v in value) for key, value in raw.items()}

    def reusable(self, recipient_id: str, key: str) -> CachedDocument | None:
        """The previous build's document when its inputs are the same and its file is there."""
        cached = self.documents.get(recipient_id)
        if cached is None or cached.key != key or self._pages is None:
            return None
        if not (self.folder / cached.file).is_file():
            return None
        return cached

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
        """Release the mapped file."""
        if self._pages is not None:
            self._pages.close()
        if self._handle is not None:
            self._handle.close()


class CacheWriter:
    """Writes the cache of the batch being built."""

    def __init__(self, folder: Path) -> None:
        cache = folder / FOLDER
        cache.mkdir(parents=True, exist_ok=True)
        self._documents = (cache / "documents.jsonl").open("w", encoding="utf-8")
        self._documents.write(json.dumps({"format": FORMAT}) + "\n")
        self._pages = (cache / "pages.bin").open("wb")
        self._numbers_path = cache / "numbers.json"
        self._offset = 0
        self._seen: dict[bytes, tuple[int, int]] = {}

    def _stream(self, data: bytes) -> tuple[int, int]:
        digest = hashlib.sha1(data, usedforsecurity=False).digest()
        place = self._seen.get(digest)
        if place is None:
            self._pages.write(data)
            place = (self._offset, len(data))
            self._offset += len(data)
            if len(self._seen) < 100_000:
                self._seen[digest] = place
        return place

    def document(
        self, recipient_id: str, key: str, file: str, sha256: str, contents: list[PageContent]
    ) -> None:
        """Remember one document of this build."""
        pages = [
            {
                "w": content.width,
                "h": content.height,
                "f": sorted(style.value for style in content.styles),
                "s": [list(self._stream(data)) for data in content.streams],
            }
            for content in contents
        ]
        record = {"id": recipient_id, "key": key, "file": file, "sha256": sha256, "pages": pages}
        self._documents.write(json.dumps(record, separators=(",", ":")) + "\n")

    def numbers(self, readings: Mapping[str, tuple[NumberReading, ...]]) -> None:
        """Remember the number readings of this build."""
        raw = {key: [asdict(r) for r in field] for key, field in readings.items()}
        self._numbers_path.write_text(json.dumps(raw, separators=(",", ":")), encoding="utf-8")

    def close(self) -> None:
        """Finish the cache files."""
        self._documents.close()
        self._pages.close()


def _reading(value: dict[str, Any]) -> NumberReading:
    fields = dict(value)
    fields["verdict"] = Verdict(fields["verdict"])
    for name in ("reasons", "time_zones", "alternatives"):
        fields[name] = tuple(fields[name])
    return NumberReading(**fields)


def number_key(raw: str, kind: str, recipient: str | None, sender: str | None,
               allow: frozenset[str]) -> str:  # fmt: skip
    """The cache key of one number field's reading."""
    return "\x1f".join([raw, kind, recipient or "", sender or "", ",".join(sorted(allow))])
