"""``faxbatch status``: what became of each handed-over fax, and the transmission report.

HylaFAX is asked about every open job (and about intents an interrupted ``send`` left, see
:mod:`faxbatch.sending.reconcile`); the journal is updated and ``DIR/report.csv`` written, one row
per manifest document with its latest attempt.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faxbatch.csvcells import csv_bytes
from faxbatch.errors import OutputNotWritableError, sentences
from faxbatch.files import write_atomic
from faxbatch.sending.batch import Batch, load_batch
from faxbatch.sending.journal import FINAL, INTENT, Clock, Journal, Submission, now_utc
from faxbatch.sending.reconcile import apply, reconcile, server_jobs, state_of

REPORT_NAME = "report.csv"


REPORT_FIELDS = (
    "recipient_id",
    "recipient",
    "organization",
    "number",
    "sent_to",
    "gateway",
    "job_id",
    "attempt",
    "submitted",
    "state",
    "pages",
    "pages_sent",
    "tries",
    "dials",
    "last_error",
    "updated",
)


@dataclass
class StatusResult:
    """What ``faxbatch status`` found, and where the report is."""

    batch: Batch
    rows: list[dict[str, Any]]
    report: Path
    warnings: list[str] = field(default_factory=list)


def refresh_status(root: Path, *, clock: Clock = now_utc) -> StatusResult:
    """Ask the gateways what became of each handed-over fax; write ``DIR/report.csv``.

    A ``report.csv`` that is a symbolic link (or not a file) is refused, never written through;
    a report that cannot be written is :class:`OutputNotWritableError`.
    """
    batch = load_batch(root)
    path = batch.root / REPORT_NAME
    _check_report_path(path)
    warnings: list[str] = []
    with Journal(batch.root, create=False) as journal:
        rows = journal.all()
        intents = [row for row in rows if row.state == INTENT]
        open_jobs = [row for row in rows if row.gateway == "hylafax" and row.state not in FINAL]
        servers = [row.server for row in open_jobs]
        asked = server_jobs(servers, warnings)
        apply(journal, reconcile(intents, asked, clock()), clock())
        for row in journal.all():
            if row.gateway != "hylafax" or row.state in FINAL or row.state == INTENT:
                continue
            tagged = asked.get(row.server)
            if tagged is None:
                continue
            job = tagged.get(row.job_tag)
            if job is None:
                gone = f"job {row.job_id} is no longer on {row.server}"
                journal.update(row, "unknown", now=clock(), last_error=gone)
                continue
            journal.update(row, state_of(job), now=clock(), tries=job.tries, dials=job.dials,
                           pages_sent=job.pages_sent, last_error=job.status)  # fmt: skip
        latest = journal.latest_by_recipient()
    report_rows = report(batch, latest)
    _check_report_path(path)
    try:
        write_atomic(path, csv_bytes(report_rows, REPORT_FIELDS))
        path.chmod(0o644)
    except OSError as exc:
        raise OutputNotWritableError(
            f"cannot write the transmission report {path} ({exc.strerror or exc})",
            hint="make the batch folder writable; the journal holds what status found",
        ) from None
    return StatusResult(batch, report_rows, path, warnings)


def _check_report_path(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputNotWritableError(f"cannot write {path} ({exc.strerror or exc})") from None
    if stat.S_ISLNK(mode):
        raise OutputNotWritableError(
            f"{path} is a symbolic link: faxbatch never writes through it",
            hint="remove the link; status writes the report itself",
        )
    if not stat.S_ISREG(mode):
        raise OutputNotWritableError(
            f"{path} is not a regular file, so the report cannot be written there",
            hint="move it away; status writes the report itself",
        )


def report(batch: Batch, latest: Mapping[str, Submission]) -> list[dict[str, Any]]:
    """The transmission report: one row per manifest document, with its latest attempt."""
    sendable = {fax.recipient_id for fax in batch.faxes}
    rows: list[dict[str, Any]] = []
    for doc in batch.documents:
        rid = str(doc.get("recipient_id"))
        sub = latest.get(rid)
        row: dict[str, Any] = {
            "recipient_id": rid,
            "recipient": doc.get("recipient_name"),
            "organization": doc.get("organization"),
            # spaced international form: spreadsheets keep it as text, not 7.72727E+10
            "number": doc.get("fax_international") or doc.get("fax_raw"),
            "pages": doc.get("pages"),
        }
        if sub is not None:
            row.update(
                sent_to=sub.destination,
                gateway=sub.gateway,
                job_id=sub.job_id,
                attempt=sub.attempt,
                submitted=sub.submitted_at,
                state=sub.state,
                pages=sub.pages,
                pages_sent=sub.pages_sent,
                tries=sub.tries,
                dials=sub.dials,
                last_error=sub.last_error,
                updated=sub.updated_at,
            )
        elif rid in sendable:
            row.update(state="not sent")
        else:
            problems = doc.get("problems") or []
            row.update(state="never sent", last_error=sentences([str(p) for p in problems]) or None)
        rows.append(row)
    return rows


def status_lines(result: StatusResult) -> list[str]:
    """What ``faxbatch status`` prints."""
    counts: dict[str, int] = {}
    for row in result.rows:
        counts[str(row.get("state"))] = counts.get(str(row.get("state")), 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    return [f"{len(result.rows)} document(s): {summary}", f"Report: {result.report}"]
