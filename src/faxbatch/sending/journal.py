"""The journal of a batch, ``DIR/journal.sqlite``: what was handed to which gateway, and when.

One row per attempt to hand over a document (``submissions``): the first send is attempt 1, each
``--resend`` one more. The row is written *before* the gateway is asked (state ``intent``) and
updated after, each step in its own committed transaction (SQLite in WAL mode, synchronous FULL).
So a crash between the gateway taking a fax and the journal saying so leaves an ``intent`` row that
the next run reconciles instead of sending the fax again.

States: ``intent`` (about to be handed over), ``not_submitted`` (the gateway did not take it; the
next ``send`` tries again), ``submitted`` (taken; for HylaFAX then ``queued``, ``sending``,
``done``, ``failed`` or ``unknown`` as ``status`` finds it), ``uncertain`` (may have been taken;
only ``--resend`` sends it again).

The journal and its companions (``-wal``, ``-shm``, ``-journal``) and the lock beside the folder are
never followed when they are symbolic links (nor used when they are not regular files): a planted
link would make ``send`` write its record of what was sent somewhere else.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from faxbatch.errors import InputUnreadableError, OutputNotWritableError, SendError
from faxbatch.files import lock_path, release_lock, take_lock

JOURNAL_NAME = "journal.sqlite"
SCHEMA_VERSION = 1
#: the files SQLite keeps beside the journal
COMPANIONS = ("-wal", "-shm", "-journal")

INTENT = "intent"
NOT_SUBMITTED = "not_submitted"
SUBMITTED = "submitted"
UNCERTAIN = "uncertain"
#: states of a job the gateway has (or may have): never hand the document over again by itself
HANDED_OVER = frozenset({SUBMITTED, "queued", "sending", "done", "failed", "unknown", UNCERTAIN})
#: states that no later look at the gateway changes
FINAL = frozenset({"done", "failed", NOT_SUBMITTED, UNCERTAIN})

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

    @property
    def handed_over(self) -> bool:
        """Whether the gateway has, or may have, this fax."""
        return self.state in HANDED_OVER


def job_tag(key: str, attempt: int) -> str:
    """The tag a gateway job carries: the idempotency key, plus ``.N`` for the N-th resend."""
    return key if attempt == 1 else f"{key}.{attempt}"


class Journal:
    """The journal of one batch folder; use as a context manager.

    Opening it also takes the exclusive lock that ``faxbatch build`` takes beside the folder, so
    that two ``send`` or ``status`` runs never interleave and no build replaces the folder (and
    its journal) while faxes are handed over.
    """

    def __init__(self, root: Path, *, create: bool = True) -> None:
        self.root = Path(root)
        self.path = self.root / JOURNAL_NAME
        self.create = create
        self._db: sqlite3.Connection | None = None
        self._lock: int | None = None

    # -- opening ------------------------------------------------------------------------------
    def __enter__(self) -> Journal:
        self._take_lock()
        try:
            exists = self._check_files()
            if not self.create and not exists:
                return self  # nothing was ever sent; read as empty, write nothing
            self._db = self._connect()
        except BaseException:
            self.close()
            raise
        return self

    def _take_lock(self) -> None:
        # the lock ``faxbatch build`` takes beside the folder (outputs.Staging), taken the same
        # way: no build may replace the folder, journal and all, while faxes are handed over. A
        # parent we may not write: the manifest itself is locked instead
        self._lock = take_lock(
            lock_path(self.root),
            SendError(
                f"another faxbatch run (build, send or status) is working on {self.root}",
                hint="wait for it to finish, then run this again",
            ),
            fallback=self.root / "manifest.json",
        )

    def _check_files(self) -> bool:
        """Refuse a journal (or companion) that is a link or not a file; True if the journal is."""
        exists = False
        for path in (self.path, *(self.path.with_name(JOURNAL_NAME + end) for end in COMPANIONS)):
            try:
                mode = path.lstat().st_mode
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise InputUnreadableError(f"cannot read {path} ({exc.strerror or exc})") from None
            if stat.S_ISLNK(mode):
                raise InputUnreadableError(
                    f"{path} is a symbolic link: faxbatch never follows it (the journal would be "
                    "read and written elsewhere)",
                    hint="remove the link; if it leads to this batch's real journal, move that "
                    "file here in its place",
                )
            if not stat.S_ISREG(mode):
                raise InputUnreadableError(
                    f"{path} is not a regular file", hint="move it away; faxbatch writes it itself"
                )
            exists = exists or path == self.path
        return exists

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        except sqlite3.Error as exc:
            raise OutputNotWritableError(f"cannot open the journal {self.path} ({exc})") from None
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise InputUnreadableError(
                    f"{self.path} was written by a newer faxbatch (journal version {version})",
                    hint="use that faxbatch version for this batch",
                )
            if version < SCHEMA_VERSION:
                with self._transaction(db):
                    for statement in _SCHEMA:
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.OperationalError as exc:  # a read-only folder or file, a full disk
            db.close()
            raise OutputNotWritableError(
                f"cannot open the journal {self.path} for writing ({exc})",
                hint="faxbatch send and status record what they find there: make the batch "
                "folder writable",
            ) from None
        except sqlite3.DatabaseError as exc:
            db.close()
            raise InputUnreadableError(
                f"{self.path} is not a readable journal ({exc})",
                hint="do not delete it: it is the record of what was sent; "
                "restore it from a backup if you have one",
            ) from None
        except BaseException:
            db.close()
            raise
        return db

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
            hint="make the batch folder writable (and give the disk room), then run this again",
        )

    def close(self) -> None:
        """Close the database and release the lock."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock is not None:
            release_lock(self._lock)
            self._lock = None

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
    ) -> Submission:
        """Record, durably, that a document is about to be handed over; returns the attempt."""
        db = self._writable()
        with self._transaction(db):
            row = db.execute(
                "SELECT COALESCE(MAX(attempt), 0) FROM submissions WHERE idempotency_key = ?",
                (key,),
            ).fetchone()
            attempt = int(row[0]) + 1
            stamp = _stamp(now)
            cursor = db.execute(
                "INSERT INTO submissions (recipient_id, idempotency_key, attempt, gateway, server,"
                " job_tag, destination, number, file, sha256, pages, state, intent_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (recipient_id, key, attempt, gateway, server, job_tag(key, attempt), destination,
                 number, file, sha256, pages, INTENT, stamp, stamp),
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
                " pages_sent = COALESCE(?, pages_sent), last_error = COALESCE(?, last_error)"
                " WHERE id = ?",
                (state, stamp, job_id, submitted, stamp, tries, dials, pages_sent, last_error,
                 submission.id),
            )  # fmt: skip
        return self.get(submission.id)
