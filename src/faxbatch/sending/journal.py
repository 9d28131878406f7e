"""The journal of a campaign: what was handed to which gateway, from which batch folder, and when.

One journal per campaign, beside the campaign file (``<campaign>.journal.sqlite``, or the path
``gateway.journal`` names inside the campaign's folder). Every batch folder built from the campaign
and every gateway share it: a document (its idempotency key) handed over once is not handed over
again, from any folder, by any gateway, unless it is resent on purpose or its failure can pass
(busy, no answer: tried again, at most ``gateway.max_attempts`` times). The manifest records where
the journal is (``campaign.journal``); a journal an older faxbatch kept in a batch folder
(``DIR/journal.sqlite``) is merged into it on first use and left as ``DIR/journal.merged.sqlite``.

One row per attempt to hand over a document (``submissions``): the first send is attempt 1, each
retry or ``--resend`` one more. The row is written *before* the gateway is asked (state
``intent``) and updated after, each step in its own committed transaction (SQLite in WAL mode,
synchronous FULL). So a crash between the gateway taking a fax and the journal saying so leaves an
``intent`` row that the next run reconciles instead of sending the fax again.

States: ``intent`` (about to be handed over), ``not_submitted`` (the gateway was not reached or
did not take it; the next ``send`` tries again), ``submitted`` (taken; for HylaFAX then
``queued``, ``sending``, ``done``, ``failed`` or ``unknown`` as ``status`` finds it), ``failed``
(with ``failure`` ``transient``, tried again, or ``permanent``, not), ``cancelled`` (removed from
the HylaFAX queue by ``send``, with the reason), ``uncertain`` (may have been taken; only
``--resend`` sends it again).

The journal and its companions (``-wal``, ``-shm``, ``-journal``) and the lock beside it are never
followed when they are symbolic links (nor used when they are not regular files): a planted link
would make ``send`` write its record of what was sent somewhere else.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from faxbatch.campaign.gateway_settings import parse_gateway_section
from faxbatch.campaign.model import Campaign
from faxbatch.errors import InputUnreadableError, OutputNotWritableError, SendError
from faxbatch.files import lock_path, regular_or_absent, release_lock, take_lock

#: the journal an older faxbatch kept in each batch folder (merged into the campaign's)
JOURNAL_NAME = "journal.sqlite"
#: what that journal is renamed to once merged
MERGED_NAME = "journal.merged.sqlite"
#: the campaign journal's name beside the campaign file: ``<stem>.journal.sqlite``
JOURNAL_SUFFIX = ".journal.sqlite"
SCHEMA_VERSION = 3
#: the files SQLite keeps beside the journal
COMPANIONS = ("-wal", "-shm", "-journal")

INTENT = "intent"
NOT_SUBMITTED = "not_submitted"
SUBMITTED = "submitted"
UNCERTAIN = "uncertain"
QUEUED = "queued"
SENDING = "sending"
DONE = "done"
FAILED = "failed"
UNKNOWN = "unknown"
CANCELLED = "cancelled"
#: what a failure is: it may pass (busy, no answer, SMTP 4xx) or it will not
TRANSIENT = "transient"
PERMANENT = "permanent"
#: states of a job the gateway has (or may have): never hand the document over again by itself
HANDED_OVER = frozenset({SUBMITTED, QUEUED, SENDING, DONE, UNKNOWN, UNCERTAIN})
#: states in which a HylaFAX job may still be in the queue (and can be cancelled)
WAITING = frozenset({SUBMITTED, QUEUED, SENDING})
#: states that no later look at the gateway changes
FINAL = frozenset({DONE, FAILED, NOT_SUBMITTED, UNCERTAIN, CANCELLED})

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS submissions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient_id    TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    gateway         TEXT NOT NULL,
    server          TEXT NOT NULL,
    job_tag         TEXT NOT NULL UNIQUE,
    destination     TEXT NOT NULL,
    number          TEXT NOT NULL,
    file            TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    pages           INTEGER NOT NULL,
    state           TEXT NOT NULL,
    job_id          TEXT,
    intent_at       TEXT NOT NULL,
    submitted_at    TEXT,
    updated_at      TEXT NOT NULL,
    tries           INTEGER,
    dials           INTEGER,
    pages_sent      INTEGER,
    last_error      TEXT,
    UNIQUE (idempotency_key, attempt)
)""",
    "CREATE INDEX IF NOT EXISTS submissions_by_recipient ON submissions (recipient_id)",
)
#: version 1 (a batch folder's journal) to 2 (the campaign's): the batch folder of each attempt,
#: what kind of failure it met, and which folder journals were merged in
_SCHEMA_2 = (
    "ALTER TABLE submissions ADD COLUMN batch TEXT",
    "ALTER TABLE submissions ADD COLUMN failure TEXT",
    """
CREATE TABLE IF NOT EXISTS merged (
    path      TEXT NOT NULL,
    merged_at TEXT NOT NULL,
    rows      INTEGER NOT NULL
)""",
)
#: version 2 to 3: the copies emailed to the organizers (``copies_to``), one row per document
#: and address, so that a copy is never sent twice
_SCHEMA_3 = (
    """
CREATE TABLE IF NOT EXISTS copies (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL,
    recipient_id    TEXT NOT NULL,
    address         TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    state           TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    server          TEXT NOT NULL,
    file            TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    batch           TEXT,
    intent_at       TEXT NOT NULL,
    sent_at         TEXT,
    updated_at      TEXT NOT NULL,
    last_error      TEXT,
    failure         TEXT,
    UNIQUE (idempotency_key, address)
)""",
)
_COLUMNS = (
    "recipient_id", "idempotency_key", "attempt", "gateway", "server", "job_tag", "destination",
    "number", "file", "sha256", "pages", "state", "job_id", "intent_at", "submitted_at",
    "updated_at", "tries", "dials", "pages_sent", "last_error",
)  # fmt: skip


#: where the time comes from (tests pass a fixed clock)
Clock = Callable[[], dt.datetime]


def now_utc() -> dt.datetime:
    """The current time, aware, in UTC, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Submission:
    """One attempt to hand a document to a gateway."""

    id: int
    recipient_id: str
    idempotency_key: str
    attempt: int
    gateway: str
    server: str
    job_tag: str
    destination: str
    number: str
    file: str
    sha256: str
    pages: int
    state: str
    job_id: str | None
    intent_at: str
    submitted_at: str | None
    updated_at: str
    tries: int | None
    dials: int | None
    pages_sent: int | None
    last_error: str | None
    batch: str | None = None
    failure: str | None = None

    @property
    def handed_over(self) -> bool:
        """Whether the gateway has, or may have, this fax."""
        return self.state in HANDED_OVER

    @property
    def counts(self) -> bool:
        """Whether this attempt counts against ``max_attempts`` (the gateway saw it)."""
        return self.state not in (NOT_SUBMITTED, CANCELLED, INTENT)


#: what became of a copy to the organizers: ``intent`` (about to be emailed), ``sent`` (the SMTP
#: server took it), ``failed`` (refused: ``transient``, tried again, or ``permanent``),
#: ``not_submitted`` (the server was not reached; tried again), ``uncertain`` (a run stopped
#: while emailing it: it may have gone, and is never emailed again by itself)
SENT = "sent"
#: states of a copy that is never emailed again
COPY_DONE = frozenset({INTENT, SENT, UNCERTAIN})


@dataclass(frozen=True)
class CopyRecord:
    """The copy of one document (its idempotency key) emailed to one ``copies_to`` address."""

    id: int
    idempotency_key: str
    recipient_id: str
    address: str
    attempts: int
    state: str
    message_id: str
    server: str
    file: str
    sha256: str
    batch: str | None
    intent_at: str
    sent_at: str | None
    updated_at: str
    last_error: str | None
    failure: str | None


def journal_path(campaign_file: Path, setting: str = "") -> Path:
    """Where a campaign's journal is: ``gateway.journal`` inside its folder, else beside it."""
    source = Path(campaign_file).absolute()
    if setting:
        return source.parent / setting
    return source.parent / (source.stem + JOURNAL_SUFFIX)


def sending_summary(campaign: Campaign, root: Path) -> dict[str, Any]:
    """What ``send`` needs of the campaign, for the manifest's ``campaign`` part.

    The campaign file and its journal, relative to the batch folder ``root`` (so that the same
    campaign built into two folders side by side gives the same manifest), the deadline, and the
    countries that read the numbers of ``verification.csv`` when ``send`` reads it again.
    """
    settings = parse_gateway_section(campaign.gateway, source=str(campaign.source))
    deadline = campaign.deadline.isoformat() if campaign.deadline is not None else None
    base = Path(root).absolute()
    journal = journal_path(campaign.source, settings.journal)
    return {
        "campaign_file": os.path.relpath(Path(campaign.source).absolute(), base),
        "journal": os.path.relpath(journal, base),
        "deadline": deadline,
        "default_country": campaign.default_country,
        "sender_country": campaign.sender.country or None,
        "verification_max_age_days": campaign.verification_max_age_days,
    }


def campaign_file_of(campaign: Mapping[str, Any], where: str, root: Path) -> Path | None:
    """The campaign file a manifest names (relative to the batch folder ``root``), checked.

    None when the manifest names none (built by an older faxbatch). The manifest is untrusted:
    what it names must be a regular file (after symbolic links), or
    :class:`InputUnreadableError` says so, since what ``send`` reads and writes beside the
    campaign (its journal, ``verification.csv``) is found through it.
    """
    source = campaign.get("campaign_file")
    if not isinstance(source, str) or not source:
        return None
    if "\x00" in source:
        raise InputUnreadableError(f"{where}: campaign.campaign_file is not a path")
    campaign_file = Path(root).absolute() / source  # an absolute one stays as it is
    try:
        is_file = stat.S_ISREG(campaign_file.stat().st_mode)
    except OSError:
        is_file = False
    if not is_file:
        raise InputUnreadableError(
            f"{where}: the campaign file {source} is not there, and its journal is kept beside it",
            hint="put the campaign (and its journal) back where the batch was built from, or "
            "build the batch again from where the campaign is now",
        )
    return campaign_file


def locate_journal(campaign: Mapping[str, Any], where: str, root: Path) -> Path:
    """The campaign journal a manifest names, checked: a ``.sqlite`` file in the campaign's folder.

    The manifest is untrusted: the campaign file it names must be a regular file
    (:func:`campaign_file_of`), and the journal must lie in that file's folder or below it (after
    symbolic links), so a tampered manifest cannot make ``send`` write its journal elsewhere.
    """
    name = campaign.get("journal")
    campaign_file = None
    if isinstance(name, str) and name:
        campaign_file = campaign_file_of(campaign, where, root)
    if not isinstance(name, str) or campaign_file is None:
        raise InputUnreadableError(
            f"{where} does not say where its campaign's journal is (built by an older faxbatch)",
            hint="build the batch again: the journal it kept in the folder is merged into the "
            "campaign's on the next send",
        )
    if "\x00" in name:
        raise InputUnreadableError(f"{where}: campaign.journal and campaign_file are not paths")
    journal = Path(root).absolute() / name  # an absolute one stays as it is
    if not journal.name.endswith(".sqlite"):
        raise InputUnreadableError(
            f"{where}: the journal {name!r} is not a .sqlite file", hint="build the batch again"
        )
    folder = campaign_file.parent.resolve()
    try:
        journal.parent.resolve().relative_to(folder)
    except ValueError:
        raise InputUnreadableError(
            f"{where}: the journal {name} is outside the campaign's folder {folder}; "
            "faxbatch keeps it there only",
            hint="set gateway.journal to a path inside the campaign's folder and build again",
        ) from None
    return journal


def job_tag(key: str, attempt: int) -> str:
    """The tag a gateway job carries: the idempotency key, plus ``.N`` for the N-th resend."""
    return key if attempt == 1 else f"{key}.{attempt}"


class Journal:
    """The journal of one campaign; use as a context manager.

    ``path`` is the campaign's journal (see :func:`locate_journal`). Opening it takes its lock (a
    second ``send`` or ``status`` on the same campaign, from any batch folder, is refused while
    one runs, a ``send --watch`` included) and, with ``batch``, the exclusive lock that
    ``faxbatch build`` takes beside that folder, so that no build replaces the folder while its
    faxes are handed over. A journal an older faxbatch left in ``batch`` is merged in.
    """

    def __init__(self, path: Path, *, batch: Path | None = None, create: bool = True) -> None:
        self.path = Path(path)
        self.batch = Path(batch) if batch is not None else None
        self.create = create
        self._db: sqlite3.Connection | None = None
        self._locks: list[int] = []
        #: rows merged from the batch folder's old journal when it was opened
        self.merged = 0

    @property
    def legacy(self) -> Path | None:
        """The journal an older faxbatch kept in the batch folder."""
        return self.batch / JOURNAL_NAME if self.batch is not None else None

    # -- opening ------------------------------------------------------------------------------
    def __enter__(self) -> Journal:
        try:
            self._take_locks()
            exists = _check_files(self.path)
            legacy = self.legacy is not None and _check_files(self.legacy)
            if not self.create and not exists and not legacy:
                return self  # nothing was ever sent; read as empty, write nothing
            self._db = self._connect()
            if legacy and self.legacy is not None:
                self._merge(self.legacy)
        except BaseException:
            self.close()
            raise
        return self

    def _take_locks(self) -> None:
        fallback = None
        if self.create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif self.batch is not None and not os.path.lexists(self.path):
            # nothing was ever sent and this run writes no journal (``status`` of a batch never
            # sent, a plan): in a campaign folder it may not write, a file of the batch is locked
            # instead (manifest.csv: the batch's own lock may fall back to manifest.json)
            fallback = self.batch / "manifest.csv"
        self._locks.append(
            take_lock(
                lock_path(self.path),
                SendError(
                    f"another faxbatch send or status is working on this campaign's journal "
                    f"{self.path} (a 'send --watch' may be running)",
                    hint="wait for it to finish (or stop the watch with Ctrl-C), then run this "
                    "again",
                ),
                fallback=fallback,
            )
        )
        if self.batch is None:
            return
        # the lock ``faxbatch build`` takes beside the folder (outputs.Staging), taken the same
        # way: no build may replace the folder while its faxes are handed over. A parent we may
        # not write: the manifest itself is locked instead
        self._locks.append(
            take_lock(
                lock_path(self.batch),
                SendError(
                    f"another faxbatch run (build, send or status) is working on {self.batch}",
                    hint="wait for it to finish, then run this again",
                ),
                fallback=self.batch / "manifest.json",
            )
        )

    def _connect(self) -> sqlite3.Connection:
        return _connect(self.path)

    def _merge(self, legacy: Path) -> None:
        """Take the rows of a batch folder's old journal in (each attempt once, by its job tag)."""
        old = _connect(legacy, upgrade=False)
        try:
            rows = [dict(row) for row in old.execute("SELECT * FROM submissions ORDER BY id")]
        except sqlite3.Error as exc:
            raise InputUnreadableError(f"cannot read the old journal {legacy} ({exc})") from None
        finally:
            old.close()
        db = self._writable()
        added = 0
        with self._transaction(db):
            for row in rows:
                values = [row.get(name) for name in _COLUMNS]
                cursor = db.execute(
                    f"INSERT OR IGNORE INTO submissions ({', '.join(_COLUMNS)}, batch)"
                    f" VALUES ({', '.join('?' * len(_COLUMNS))}, ?)",
                    (*values, str(legacy.parent.absolute())),
                )
                added += cursor.rowcount
            stamp = _stamp(now_utc())
            db.execute(
                "INSERT INTO merged (path, merged_at, rows) VALUES (?, ?, ?)",
                (str(legacy.absolute()), stamp, added),
            )
        # merged and committed: the old journal is kept for people, under a name no run reads
        for end in COMPANIONS:
            with contextlib.suppress(FileNotFoundError):
                legacy.with_name(JOURNAL_NAME + end).unlink()
        legacy.replace(legacy.with_name(MERGED_NAME))
        self.merged = added

    @contextmanager
    def _transaction(self, db: sqlite3.Connection) -> Iterator[None]:
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._not_written(exc) from None
        try:
            yield
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._not_written(exc) from None
            raise
        try:
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise self._not_written(exc) from None

    def _not_written(self, exc: sqlite3.Error) -> OutputNotWritableError:
        return OutputNotWritableError(
            f"cannot write the journal {self.path} ({exc})",
            hint="make the campaign's folder writable (and give the disk room), then run this "
            "again",
        )

    def close(self) -> None:
        """Close the database and release the locks."""
        if self._db is not None:
            self._db.close()
            self._db = None
        while self._locks:
            release_lock(self._locks.pop())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------------
    def _rows(self, where: str = "", params: tuple[Any, ...] = ()) -> list[Submission]:
        if self._db is None:
            return []
        query = f"SELECT * FROM submissions {where} ORDER BY id"
        try:
            return [Submission(**dict(row)) for row in self._db.execute(query, params)]
        except sqlite3.Error as exc:
            raise InputUnreadableError(f"cannot read the journal {self.path} ({exc})") from None

    def all(self) -> list[Submission]:
        """Every attempt, oldest first."""
        return self._rows()

    def latest(self) -> dict[str, Submission]:
        """The latest attempt of each document, by idempotency key."""
        return {row.idempotency_key: row for row in self._rows()}

    def latest_by_recipient(self) -> dict[str, Submission]:
        """The latest attempt for each recipient (whatever the document's version)."""
        return {row.recipient_id: row for row in self._rows()}

    def history(self) -> dict[str, list[Submission]]:
        """Every attempt of each document, oldest first, by idempotency key."""
        found: dict[str, list[Submission]] = {}
        for row in self._rows():
            found.setdefault(row.idempotency_key, []).append(row)
        return found

    def in_state(self, state: str) -> list[Submission]:
        """The attempts in one state."""
        return self._rows("WHERE state = ?", (state,))

    def get(self, submission_id: int) -> Submission:
        """One attempt by its row id."""
        rows = self._rows("WHERE id = ?", (submission_id,))
        if not rows:  # pragma: no cover - ids come from this journal
            raise KeyError(submission_id)
        return rows[0]

    # -- writing ------------------------------------------------------------------------------
    def _writable(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._connect()
        return self._db

    def record_intent(
        self,
        *,
        recipient_id: str,
        key: str,
        gateway: str,
        server: str,
        destination: str,
        number: str,
        file: str,
        sha256: str,
        pages: int,
        now: dt.datetime,
        batch: Path | None = None,
    ) -> Submission:
        """Record, durably, that a document is about to be handed over; returns the attempt."""
        db = self._writable()
        folder = str(Path(batch).absolute()) if batch is not None else None
        with self._transaction(db):
            row = db.execute(
                "SELECT COALESCE(MAX(attempt), 0) FROM submissions WHERE idempotency_key = ?",
                (key,),
            ).fetchone()
            attempt = int(row[0]) + 1
            stamp = _stamp(now)
            cursor = db.execute(
                "INSERT INTO submissions (recipient_id, idempotency_key, attempt, gateway, server,"
                " job_tag, destination, number, file, sha256, pages, state, intent_at, updated_at,"
                " batch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (recipient_id, key, attempt, gateway, server, job_tag(key, attempt), destination,
                 number, file, sha256, pages, INTENT, stamp, stamp, folder),
            )  # fmt: skip
            submission_id = cursor.lastrowid
        assert submission_id is not None
        return self.get(submission_id)

    def update(
        self,
        submission: Submission,
        state: str,
        *,
        now: dt.datetime,
        job_id: str | None = None,
        submitted: bool = False,
        tries: int | None = None,
        dials: int | None = None,
        pages_sent: int | None = None,
        last_error: str | None = None,
        failure: str | None = None,
    ) -> Submission:
        """Record a new state of an attempt (None keeps a value as it is)."""
        db = self._writable()
        stamp = _stamp(now)
        with self._transaction(db):
            db.execute(
                "UPDATE submissions SET state = ?, updated_at = ?,"
                " job_id = COALESCE(?, job_id),"
                " submitted_at = CASE WHEN ? THEN COALESCE(submitted_at, ?) ELSE submitted_at END,"
                " tries = COALESCE(?, tries), dials = COALESCE(?, dials),"
                " pages_sent = COALESCE(?, pages_sent), last_error = COALESCE(?, last_error),"
                " failure = COALESCE(?, failure)"
                " WHERE id = ?",
                (state, stamp, job_id, submitted, stamp, tries, dials, pages_sent, last_error,
                 failure, submission.id),
            )  # fmt: skip
        return self.get(submission.id)

    # -- copies to the organizers -------------------------------------------------------------
    def copies(self) -> dict[tuple[str, str], CopyRecord]:
        """Every copy recorded, by (idempotency key, address)."""
        if self._db is None:
            return {}
        try:
            rows = self._db.execute("SELECT * FROM copies ORDER BY id").fetchall()
        except sqlite3.Error as exc:
            raise InputUnreadableError(f"cannot read the journal {self.path} ({exc})") from None
        found = (CopyRecord(**dict(row)) for row in rows)
        return {(copy.idempotency_key, copy.address): copy for copy in found}

    def record_copy_intent(
        self,
        *,
        key: str,
        recipient_id: str,
        address: str,
        message_id: str,
        server: str,
        file: str,
        sha256: str,
        now: dt.datetime,
        batch: Path | None = None,
    ) -> CopyRecord | None:
        """Record, durably, that a copy is about to be emailed; None when it must not be.

        A copy that went, may have gone or is being emailed is never taken again (None); one
        that was not taken is taken again, one attempt more.
        """
        db = self._writable()
        folder = str(Path(batch).absolute()) if batch is not None else None
        stamp = _stamp(now)
        with self._transaction(db):
            row = db.execute(
                "SELECT id, state FROM copies WHERE idempotency_key = ? AND address = ?",
                (key, address),
            ).fetchone()
            if row is None:
                cursor = db.execute(
                    "INSERT INTO copies (idempotency_key, recipient_id, address, attempts, state,"
                    " message_id, server, file, sha256, batch, intent_at, updated_at)"
                    " VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, recipient_id, address, INTENT, message_id, server, file, sha256,
                     folder, stamp, stamp),
                )  # fmt: skip
                copy_id = cursor.lastrowid
            elif row["state"] in COPY_DONE:
                return None
            else:
                copy_id = row["id"]
                db.execute(
                    "UPDATE copies SET state = ?, attempts = attempts + 1, server = ?, file = ?,"
                    " batch = ?, updated_at = ? WHERE id = ?",
                    (INTENT, server, file, folder, stamp, copy_id),
                )
        assert copy_id is not None
        return self._copy(int(copy_id))

    def update_copy(
        self,
        copy: CopyRecord,
        state: str,
        *,
        now: dt.datetime,
        last_error: str | None = None,
        failure: str | None = None,
    ) -> CopyRecord:
        """Record what became of a copy."""
        db = self._writable()
        stamp = _stamp(now)
        with self._transaction(db):
            db.execute(
                "UPDATE copies SET state = ?, updated_at = ?,"
                " sent_at = CASE WHEN ? THEN ? ELSE sent_at END,"
                " last_error = COALESCE(?, last_error), failure = ? WHERE id = ?",
                (state, stamp, state == SENT, stamp, last_error, failure, copy.id),
            )
        return self._copy(copy.id)

    def _copy(self, copy_id: int) -> CopyRecord:
        db = self._writable()
        row = db.execute("SELECT * FROM copies WHERE id = ?", (copy_id,)).fetchone()
        return CopyRecord(**dict(row))


def _check_files(path: Path) -> bool:
    """Refuse a journal (or companion) that is a link or not a file; True if the journal is."""
    exists = False
    for one in (path, *(path.with_name(path.name + end) for end in COMPANIONS)):
        found = regular_or_absent(
            one,
            InputUnreadableError,
            link="faxbatch never follows it (the journal would be read and written elsewhere)",
            link_hint="remove the link; if it leads to the real journal, move that file here "
            "in its place",
            other="",
            hint="move it away; faxbatch writes it itself",
        )
        exists = exists or (found and one == path)
    return exists


def _connect(path: Path, *, upgrade: bool = True) -> sqlite3.Connection:
    """The journal at ``path``, opened (and made or brought to the current version)."""
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
    except sqlite3.Error as exc:
        raise OutputNotWritableError(f"cannot open the journal {path} ({exc})") from None
    try:
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise InputUnreadableError(
                f"{path} was written by a newer faxbatch (journal version {version})",
                hint="use that faxbatch version for this campaign",
            )
        if version < SCHEMA_VERSION and (upgrade or version == 0):
            db.execute("BEGIN IMMEDIATE")
            try:
                if version < 1:
                    for statement in _SCHEMA:
                        db.execute(statement)
                if version < 2:
                    for statement in _SCHEMA_2:
                        db.execute(statement)
                for statement in _SCHEMA_3:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
    except sqlite3.OperationalError as exc:  # a read-only folder or file, a full disk
        db.close()
        raise OutputNotWritableError(
            f"cannot open the journal {path} for writing ({exc})",
            hint="faxbatch send and status record what they find there: make its folder writable",
        ) from None
    except sqlite3.DatabaseError as exc:
        db.close()
        raise InputUnreadableError(
            f"{path} is not a readable journal ({exc})",
            hint="do not delete it: it is the record of what was sent; "
            "restore it from a backup if you have one",
        ) from None
    except BaseException:
        db.close()
        raise
    return db
