"""``faxbatch status``: what became of each handed-over fax, and the transmission report.

HylaFAX is asked about every open job (and about intents an interrupted ``send`` left, see
:mod:`faxbatch.sending.reconcile`): done, failed and why, tries, dials, pages sent of all (a
partial transmission is not done). The campaign's journal is updated and ``DIR/report.csv``
written: one row per fax document of the batch, with its latest attempt and what it comes to
(``outcome``). Postal letters are never in it; they are counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faxbatch.campaign.gateway_settings import parse_gateway_section
from faxbatch.csvcells import csv_bytes
from faxbatch.errors import CampaignError, ExitCode, OutputNotWritableError, sentences
from faxbatch.files import regular_or_absent, write_atomic
from faxbatch.sending.batch import MANIFEST_NAME, Batch, load_batch
from faxbatch.sending.journal import (
    CANCELLED,
    DONE,
    FAILED,
    INTENT,
    NOT_SUBMITTED,
    PERMANENT,
    UNCERTAIN,
    UNKNOWN,
    WAITING,
    Clock,
    Journal,
    Submission,
    locate_journal,
    now_utc,
)
from faxbatch.sending.reconcile import apply, reconcile, refresh, server_jobs

REPORT_NAME = "report.csv"


REPORT_FIELDS = (
    "recipient_id",
    "recipient",
    "organization",
    "channel",
    "number",
    "sent_to",
    "gateway",
    "job_id",
    "attempt",
    "submitted",
    "state",
    "outcome",
    "failure",
    "pages",
    "pages_sent",
    "tries",
    "dials",
    "last_error",
    "updated",
)
#: manifest columns the report carries when the batch has them (letters in several languages,
#: several signers)
OPTIONAL_FIELDS = ("language", "signer")
#: what a fax document's row comes to
OUTCOMES = (
    "done",
    "handed over",
    "waiting",
    "will be tried again",
    "failed for good",
    "cancelled",
    "uncertain",
    "not sent",
    "never sent",
)
GIVEN_UP = "failed for good"


@dataclass
class StatusResult:
    """What ``faxbatch status`` found, and where the report is."""

    batch: Batch
    rows: list[dict[str, Any]]
    report: Path
    warnings: list[str] = field(default_factory=list)
    #: postal letters of the batch, by status (``ready``, ``rejected``): never faxed
    post: dict[str, int] = field(default_factory=dict)
    #: the copies of the batch's faxes emailed to ``copies_to``, by state (``sent``, ``uncertain``)
    copies: dict[str, int] = field(default_factory=dict)

    @property
    def failed_for_good(self) -> list[dict[str, Any]]:
        """The rows of faxes that failed and will not be tried again by themselves."""
        return [row for row in self.rows if row.get("outcome") == GIVEN_UP]

    @property
    def exit_code(self) -> ExitCode:
        """8 when a fax failed for good, else 0."""
        return ExitCode.SEND_FAILED if self.failed_for_good else ExitCode.OK


def max_attempts_of(batch: Batch) -> int:
    """``gateway.max_attempts`` of the batch's campaign (3 when unset or unreadable)."""
    try:
        section = batch.campaign.get("gateway")
        return parse_gateway_section(section, source=MANIFEST_NAME).max_attempts
    except CampaignError:
        return 3


def refresh_status(root: Path, *, clock: Clock = now_utc) -> StatusResult:
    """Ask the gateways what became of each handed-over fax; write ``DIR/report.csv``.

    A ``report.csv`` that is a symbolic link (or not a file) is refused, never written through;
    a report that cannot be written is :class:`OutputNotWritableError`.
    """
    batch = load_batch(root)
    path = batch.root / REPORT_NAME
    _check_report_path(path)
    journal_path = locate_journal(batch.campaign, str(batch.root / MANIFEST_NAME), batch.root)
    warnings: list[str] = []
    with Journal(journal_path, batch=batch.root, create=False) as journal:
        rows = journal.all()
        intents = [row for row in rows if row.state == INTENT]
        open_jobs = [row for row in rows if row.gateway == "hylafax" and row.state in WAITING]
        servers = [row.server for row in [*intents, *open_jobs] if row.gateway == "hylafax"]
        asked = server_jobs(servers, warnings)
        apply(journal, reconcile(intents, asked, clock()), clock())
        refresh(journal, asked, clock())
        history = journal.history()
        by_recipient = journal.latest_by_recipient()
        keys = {fax.key for fax in batch.faxes}
        copies: dict[str, int] = {}
        for copy in journal.copies().values():
            if copy.idempotency_key in keys:
                copies[copy.state] = copies.get(copy.state, 0) + 1
    report_rows = report(batch, history, by_recipient, max_attempts_of(batch))
    fields: tuple[str, ...] = REPORT_FIELDS
    extra = [name for name in OPTIONAL_FIELDS if any(doc.get(name) for doc in batch.documents)]
    if extra:
        at = REPORT_FIELDS.index("channel") + 1
        fields = (*REPORT_FIELDS[:at], *extra, *REPORT_FIELDS[at:])
    _check_report_path(path)
    try:
        write_atomic(path, csv_bytes(report_rows, fields))
        path.chmod(0o644)
    except OSError as exc:
        raise OutputNotWritableError(
            f"cannot write the transmission report {path} ({exc.strerror or exc})",
            hint="make the batch folder writable; the journal holds what status found",
        ) from None
    post: dict[str, int] = {}
    for doc in batch.post_documents:
        post[str(doc.get("status"))] = post.get(str(doc.get("status")), 0) + 1
    return StatusResult(batch, report_rows, path, warnings, post, copies)


def _check_report_path(path: Path) -> None:
    regular_or_absent(
        path,
        OutputNotWritableError,
        link="faxbatch never writes through it",
        link_hint="remove the link; status writes the report itself",
        other=", so the report cannot be written there",
        hint="move it away; status writes the report itself",
    )


def outcome_of(history: list[Submission], max_attempts: int) -> str:
    """What a document's attempts come to (one of :data:`OUTCOMES`)."""
    latest = history[-1]
    state = latest.state
    if state == DONE:
        return "done"
    if state == FAILED:
        counted = sum(1 for row in history if row.counts)
        if latest.failure == PERMANENT or counted >= max_attempts:
            return GIVEN_UP
        return "will be tried again"
    if state in WAITING:
        return "handed over" if latest.gateway == "email" else "waiting"
    if state == UNKNOWN:
        return "handed over"
    if state == NOT_SUBMITTED:
        return "will be tried again"
    if state == CANCELLED:
        return "cancelled"
    return "uncertain"  # uncertain, or an intent whose server could not be asked


def report(
    batch: Batch,
    history: dict[str, list[Submission]],
    by_recipient: dict[str, Submission],
    max_attempts: int,
) -> list[dict[str, Any]]:
    """The transmission report: one row per fax document, with its latest attempt."""
    keys = {fax.recipient_id: fax.key for fax in batch.faxes}
    rows: list[dict[str, Any]] = []
    for doc in batch.fax_documents:
        rid = str(doc.get("recipient_id"))
        attempts = history.get(keys.get(rid, ""), [])
        sub = attempts[-1] if attempts else None
        row: dict[str, Any] = {
            "recipient_id": rid,
            "recipient": doc.get("recipient_name"),
            "organization": doc.get("organization"),
            "channel": doc.get("channel") or "fax",
            "language": doc.get("language"),
            "signer": doc.get("signer"),
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
                outcome=outcome_of(attempts, max_attempts),
                failure=sub.failure,
                pages=sub.pages,
                pages_sent=sub.pages_sent,
                tries=sub.tries,
                dials=sub.dials,
                last_error=sub.last_error,
                updated=sub.updated_at,
            )
        elif rid in keys:
            earlier = by_recipient.get(rid)
            row.update(state="not sent", outcome="not sent")
            if earlier is not None and earlier.handed_over:
                row.update(last_error=f"an earlier version went ({earlier.gateway}, "
                           f"{earlier.state}); --resend {rid} sends this one")  # fmt: skip
        else:
            problems = doc.get("problems") or []
            row.update(
                state="never sent",
                outcome="never sent",
                last_error=sentences([str(p) for p in problems]) or None,
            )
        rows.append(row)
    return rows


def _detail(row: dict[str, Any]) -> str:
    parts = []
    if row.get("tries") not in (None, ""):
        parts.append(f"{row['tries']} tries")
    if row.get("dials") not in (None, ""):
        parts.append(f"{row['dials']} dials")
    if row.get("pages_sent") not in (None, ""):
        parts.append(f"{row['pages_sent']} of {row.get('pages')} page(s) sent")
    return f" ({', '.join(parts)})" if parts else ""


def status_lines(result: StatusResult) -> list[str]:
    """What ``faxbatch status`` prints."""
    counts: dict[str, int] = {}
    for row in result.rows:
        counts[str(row.get("outcome"))] = counts.get(str(row.get("outcome")), 0) + 1
    order = {name: i for i, name in enumerate(OUTCOMES)}
    summary = ", ".join(
        f"{n} {outcome}" for outcome, n in sorted(counts.items(), key=lambda i: order.get(i[0], 99))
    )
    lines = [f"{len(result.rows)} fax(es): {summary}"]
    for row in result.rows:
        if row.get("state") in (FAILED, UNCERTAIN) or row.get("outcome") == "will be tried again":
            why = f": {row['last_error']}" if row.get("last_error") else ""
            lines.append(f"  {row['recipient_id']}: {row['outcome']}{why}{_detail(row)}")
    if result.post:
        post = ", ".join(f"{n} {status}" for status, n in sorted(result.post.items()))
        lines.append(f"Post: {post} postal letter(s), for the print shop (never faxed)")
    if result.copies:
        copies = ", ".join(f"{n} {state}" for state, n in sorted(result.copies.items()))
        lines.append(f"Copies to copies_to: {copies}")
    lines.append(f"Report: {result.report}")
    return lines
