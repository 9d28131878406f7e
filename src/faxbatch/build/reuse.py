"""What a build takes from the previous batch in its folder, and only where it matches.

The cache (:mod:`faxbatch.build.cache`) stores; this module decides. A batch whose inputs did not
change at all is taken as it is (its files linked, each checked against the checksum its build
recorded); the number readings of unchanged recipients are looked up instead of read again; the
print volumes are linked when every document in them is the previous build's, in the same order.
What ``send`` recorded in the batch (its journal, the report) is carried into every new batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pickle
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faxbatch.build.cache import (
    DATABASE,
    PAGES,
    CachedDocument,
    PreviousBuild,
    code_fingerprint,
    hash_file,
    input_key,
)
from faxbatch.build.cache import FOLDER as CACHE_FOLDER
from faxbatch.build.plan import plan_characters, read_recipient, readings_key
from faxbatch.build.render import Made
from faxbatch.build.signing import may_be_sent
from faxbatch.build.staging import MARKER, Staging
from faxbatch.campaign.model import Campaign, Recipient
from faxbatch.errors import OutputNotWritableError
from faxbatch.files import naming
from faxbatch.letters.postal import country_line
from faxbatch.numbers.reading import NumberReading
from faxbatch.numbers.verification import VerificationSheet
from faxbatch.printshop.volumes import Placement, VolumeRecord, VolumeSet


@dataclass(frozen=True)
class ReadSetup:
    campaign: Campaign
    previous: Path | None


@dataclass(frozen=True)
class ReadPlan:
    """A recipient's first-pass plan as a worker sends it back, with what the build keeps of it.

    The plan comes pickled, for the spill file as it is: it is not unpickled and pickled again
    by the main process.
    """

    pickled: bytes
    recipient_id: str
    fax_readings: tuple[NumberReading, ...]
    #: each number field read afresh (not known from the previous build): its key and readings
    fresh: tuple[tuple[str, tuple[NumberReading, ...]], ...]
    posts: bool  # whether it asks for a letter by post
    characters: frozenset[str]  # what its documents may print (the fonts' subsets hold them)
    #: (id, organization) if a letter may name it as "also sent to", else None
    other: tuple[str, str] | None


class Reader:
    """Reads recipients in one process, with the previous build's readings at hand."""

    def __init__(self, setup: ReadSetup) -> None:
        self.campaign = setup.campaign
        self.previous = PreviousBuild(setup.previous) if setup.previous else None
        self.misses = 0

    def close(self) -> None:
        """Release the previous build's cache."""
        if self.previous is not None:
            self.previous.close()

    def _known(self, key: str) -> tuple[NumberReading, ...] | None:
        found = self.previous.readings(key) if self.previous else None
        self.misses += found is None
        return found

    def __call__(self, recipient: Recipient) -> ReadPlan:
        """The recipient's first-pass plan, ready for the spill file, and what the build keeps."""
        campaign = self.campaign
        misses = self.misses
        plan = read_recipient(campaign, recipient, self._known)
        fresh = self.misses > misses  # some number had to be read afresh
        recipient = plan.recipient
        fields = (
            ("fax", recipient.fax, plan.fax_readings),
            ("phone", recipient.phone, plan.phone_readings),
        )
        named = campaign.letter.also_sent_to and may_be_sent(plan)
        return ReadPlan(
            pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL),
            recipient.id,
            plan.fax_readings,
            tuple(
                (readings_key(campaign, recipient, raw, kind), found) for kind, raw, found in fields
            )
            if fresh
            else (),
            "post" in recipient.channels,
            frozenset(
                plan_characters(plan) | set(country_line(recipient, campaign.sender.country))
            ),
            (recipient.id, recipient.organization or recipient.display_name) if named else None,
        )


class Volumes:
    """The print volumes, written only when they would differ from the previous build's.

    While every document so far is the previous build's, in the same order, nothing is written:
    their places are known from the cache. At the first document that differs, the volumes are
    written from the start (the earlier documents' pages come from the cache). If none differs,
    the previous volumes are linked into the new batch as they are.
    """

    def __init__(
        self,
        channel: str,
        make: Callable[[], VolumeSet],
        previous: PreviousBuild | None,
        spill: Path,
    ) -> None:
        self._channel = channel
        self._make = make
        self._previous = previous
        self._set: VolumeSet | None = None
        self._deferred: list[tuple[str, str, CachedDocument]] = []
        self.placed = 0
        # every document's placement, for the job ticket: on disk, not in memory
        self._spill_path = spill / f"placements-{channel}.jsonl"
        self._spill = self._spill_path.open("w", encoding="utf-8")

    def placements(self) -> Iterator[Placement]:
        """The placements so far, in order (read back from disk)."""
        self._spill.flush()
        with self._spill_path.open(encoding="utf-8") as lines:
            for line in lines:
                values = json.loads(line)
                yield Placement(*values)

    def forget(self) -> None:
        """Remove the written-down placements (the ticket is written)."""
        self._spill.close()
        self._spill_path.unlink(missing_ok=True)

    @property
    def warnings(self) -> list[str]:
        """What the volume set noted (a document too big for any volume)."""
        return list(self._set.warnings) if self._set is not None else []

    def add(self, doc_id: str, title: str, made: Made) -> Placement:
        """Place one document; returns where it went."""
        self.placed += 1
        cached = made.cached
        if self._set is None and cached is not None and cached.seq == len(self._deferred):
            self._deferred.append((doc_id, title, cached))
            placement = Placement(
                doc_id,
                title,
                "post" if self._channel == "post" else "fax",
                cached.volume,
                cached.first_page,
                cached.last_page,
            )
        else:
            volume_set = self._writing()
            contents = made.contents
            if cached is not None:
                assert self._previous is not None
                contents = self._previous.contents(cached)
            placement = volume_set.add_document(doc_id, title, contents)
        row = [
            placement.doc_id,
            placement.title,
            placement.channel,
            placement.volume,
            placement.first_page,
            placement.last_page,
        ]
        with naming(self._spill_path):
            self._spill.write(json.dumps(row, ensure_ascii=False) + "\n")
        return placement

    def _writing(self) -> VolumeSet:
        if self._set is None:
            self._set = self._make()
            assert self._previous is not None or not self._deferred
            for doc_id, title, cached in self._deferred:
                assert self._previous is not None
                self._set.add_document(doc_id, title, self._previous.contents(cached))
            self._deferred.clear()
        return self._set

    def abort(self) -> None:
        """Close an open volume file unfinished (the staging folder goes after an error)."""
        self._spill.close()
        if self._set is not None:
            self._set.abort()

    def close(self, folder: Path) -> list[VolumeRecord]:
        """Finish the volumes; returns their records."""
        if self._set is None and self._previous is not None and self._deferred:
            records = self._previous_records()
            if records is not None and sum(r.documents for r in records) == len(self._deferred):
                for record in records:
                    target = folder / record.file
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.link(self._previous.folder / record.file, target)
                return records
        if self._set is None and not self._deferred:
            return []  # no document at all: no volume
        return self._writing().close()

    def _previous_records(self) -> list[VolumeRecord] | None:
        assert self._previous is not None
        stored = self._previous.meta("volumes")
        try:
            records = [
                VolumeRecord(**item) for item in stored or [] if item["channel"] == self._channel
            ]
        except TypeError:
            return None
        # linked only when each file is exactly the one the last build wrote (not changed by
        # hand since, not a link)
        for record in records:
            if hash_file(self._previous.folder / record.file, record.bytes) != record.sha256:
                return None
        return records


#: what ``faxbatch send`` and ``status`` wrote into the batch: a rebuild must not lose it, or a
#: fax sent before the rebuild could be sent again
SENDING_RECORDS = ("journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm", "report.csv")


def check_sending_records(staging: Staging) -> None:
    """Refuse to carry a send journal or report that is not a regular file (a link, a FIFO).

    Dropping it could send a fax twice; keeping a link would have ``send`` write wherever it
    points. The user decides.
    """
    for name in SENDING_RECORDS:
        path = staging.out / name
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
            raise OutputNotWritableError(
                f"{path} is {kind}; faxbatch keeps what 'send' recorded only as a regular file "
                "inside the batch, and will not carry it into a new batch",
                hint=f"put the real {name} in its place (or remove it if nothing of this batch "
                "was sent), then build again",
            )


def keep_sending_records(staging: Staging) -> None:
    """Carry the send journal and the transmission report over into the new batch."""
    for name in SENDING_RECORDS:
        old = staging.out / name
        try:
            regular = stat.S_ISREG(os.lstat(old).st_mode)
        except FileNotFoundError:
            continue
        if regular:  # anything else was refused before the build began
            os.link(old, staging.tmp / name)


def _document(name: str) -> bool:
    """Whether a batch file is a document (its checksum is in the cache's documents table)."""
    return name.startswith(("faxes/", "post/"))


def _expected_files(record: dict[str, Any], previous: PreviousBuild) -> dict[str, str] | None:
    """Every file of the previous batch with its checksum, as its build recorded them.

    None when the record does not account for every file exactly once (or names one outside).
    """
    hashes = record["hashes"]
    if not isinstance(hashes, dict):
        return None
    expected: dict[str, str] = {}
    for name, sha256 in hashes.items():
        if _document(name) or not isinstance(sha256, str):
            return None
        expected[name] = sha256
    for name, sha256 in previous.document_files():
        if not _document(name) or name in expected:
            return None
        expected[name] = sha256
    names = record["files"]
    if previous.damaged or not isinstance(names, list) or sorted(expected) != sorted(names):
        return None
    for name in names:
        parts = Path(name).parts
        if Path(name).is_absolute() or ".." in parts or not parts:
            return None
    return expected


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cache_files() -> list[tuple[str, None]]:
    return [(f"{CACHE_FOLDER}/{DATABASE}", None), (f"{CACHE_FOLDER}/{PAGES}", None)]


def batch_fingerprint(campaign: Campaign, sheet: VerificationSheet, day: dt.date) -> str:
    """A hash of every input of a batch: the campaign as read, its files, the sheet, the code."""
    parts: list[object] = [
        code_fingerprint(),
        repr({k: v for k, v in vars(campaign).items() if k != "lines"}),
        repr(sheet),
        day.isoformat(),
    ]
    if campaign.recipients_file is not None:
        parts.append(_file_hash(campaign.recipients_file))
    if campaign.signatories is not None:
        parts.append(_file_hash(campaign.signatories.file))
    return input_key(*parts)


def batch_record(
    folder: Path,
    fingerprint: str,
    now: dt.datetime,
    window_ends: list[dt.datetime],
    done: dict[str, Any],
) -> dict[str, Any]:
    """What the cache keeps of a finished batch in ``folder``, for :func:`unchanged_batch`.

    ``done`` is the build's result; the batch stands until its first sending window closes or
    the day ends, whichever comes first.
    """
    midnight = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(0), dt.UTC)
    until = min([midnight + dt.timedelta(days=1), *window_ends])
    files = _written_files(folder)
    # the documents' checksums are in the cache's documents table; the rest are hashed here
    hashes = {name: hash_file(folder / name) for name in files if not _document(name)}
    return {
        "fingerprint": fingerprint,
        "valid_until": until.isoformat(),
        "files": files,
        "hashes": hashes,
        "result": done,
    }


def _written_files(folder: Path) -> list[str]:
    """Every file of a new batch but the cache's and the marker (relative paths)."""
    names: list[str] = []
    for parent, _dirs, files in os.walk(folder):
        relative = Path(parent).relative_to(folder)
        if relative.parts[:1] == (CACHE_FOLDER,):
            continue
        names.extend(str(relative / name) for name in files if name != MARKER)
    return sorted(names)


def unchanged_batch(
    previous: Path, folder: Path, fingerprint: str, now: dt.datetime
) -> dict[str, Any] | None:
    """The previous build's result when the batch in ``previous`` stands as it is, else None.

    It stands when nothing it was made from has changed (``fingerprint``) and only until its
    first sending window closes or the day ends (sending windows and the age of volunteers'
    checks depend on the time). Every file is hashed first: one changed by hand since (or
    damaged) means a build. When it stands, its files are linked into ``folder``.
    """
    cache = PreviousBuild(previous)
    try:
        record = cache.meta("batch")
        if not isinstance(record, dict) or record.get("fingerprint") != fingerprint:
            return None
        expected = _expected_files(record, cache)
    except (KeyError, TypeError, ValueError):
        return None
    finally:
        cache.close()
    if expected is None:
        return None
    linked: list[Path] = []
    try:
        if now >= dt.datetime.fromisoformat(record["valid_until"]):
            return None
        done = record["result"]
        if not isinstance(done, dict):
            return None
        dict(done["channels"])  # the record is whole
        for name, sha256 in [*expected.items(), *_cache_files()]:
            source = previous / name
            if sha256 is not None and hash_file(source) != sha256:
                raise ValueError(f"{name} changed since the last build")
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(source, target)
            linked.append(target)
    except (OSError, KeyError, TypeError, ValueError):
        # a file of the previous batch is gone or changed: build afresh. The links must go
        # first: a fresh build writing through one would change the previous batch's file.
        for target in linked:
            target.unlink(missing_ok=True)
        return None
    return done
