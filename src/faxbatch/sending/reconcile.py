"""The journal matched with the gateways and with the current batch.

- :func:`reconcile`: what an interrupted run left undecided (an ``intent``), found on the server.
- :func:`refresh`: what became of each HylaFAX job (done, failed and why, tries, dials, pages).
- :func:`to_cancel`: queued HylaFAX jobs that became wrong (the number is refused now, found wrong
  in ``verification.csv``, or changed; the document changed), and emails that would be but
  cannot be taken back; :func:`cancel` removes the jobs with ``faxrm``.

A run records its intent before it hands a fax over and the outcome after; a run stopped between
the two leaves an intent. HylaFAX is asked for a job with the intent's tag (see
:func:`faxbatch.sending.journal.job_tag`); an SMTP server cannot be asked, so an email intent is
``uncertain`` and waits for a person to decide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from faxbatch.numbers.verification import VerificationSheet
from faxbatch.sending.batch import Batch
from faxbatch.sending.gateways import hylafax
from faxbatch.sending.gateways.hylafax import HylafaxError, HylafaxUnreachable, QueueJob
from faxbatch.sending.journal import (
    CANCELLED,
    DONE,
    FAILED,
    FINAL,
    INTENT,
    NOT_SUBMITTED,
    SUBMITTED,
    TRANSIENT,
    UNCERTAIN,
    UNKNOWN,
    WAITING,
    Journal,
    Submission,
)
from faxbatch.sending.recheck import refusal

#: how long a HylaFAX server surely keeps a finished job in its done queue (faxqclean's default)
HYLAFAX_DONE_KEPT_SECONDS = 15 * 60


@dataclass(frozen=True)
class Reconciled:
    """An ``intent`` an earlier run left, and what it turned out to be."""

    submission: Submission
    state: str
    job: QueueJob | None
    note: str


def state_of(job: QueueJob) -> str:
    return job.state if job.state != "unknown" else SUBMITTED


def judge_job(job: QueueJob) -> tuple[str, str | None, str | None]:
    """A job's state for the journal, what kind of failure it met, and what the server said.

    A job HylaFAX calls done that sent fewer pages than it has is not done: it failed, and the
    whole fax is tried again.
    """
    state = state_of(job)
    status = job.status or None
    if state == DONE and job.pages_total > 0 and job.pages_sent < job.pages_total:
        why = f"only {job.pages_sent} of {job.pages_total} page(s) sent"
        return FAILED, TRANSIENT, f"{why} ({status})" if status else why
    if state == FAILED:
        return FAILED, hylafax.failure_of(job), status or "failed (no reason given)"
    return state, None, status


def refresh(
    journal: Journal,
    asked: Mapping[str, dict[str, QueueJob] | None],
    now: dt.datetime,
    *,
    rows: Sequence[Submission] | None = None,
    write: bool = True,
) -> list[Submission]:
    """What each open HylaFAX job of the journal is now, on the servers that were asked.

    Recorded in the journal (``write``), or only returned: every row, the open ones as found.
    """
    found: list[Submission] = []
    for row in journal.all() if rows is None else rows:
        new = _refreshed(row, asked)
        if new is not None and new != row:
            if write:
                new = journal.update(row, new.state, now=now, tries=new.tries, dials=new.dials,
                                     pages_sent=new.pages_sent, last_error=new.last_error,
                                     failure=new.failure)  # fmt: skip
            else:
                new = replace(new, updated_at=row.updated_at)
            found.append(new)
        else:
            found.append(row)
    return found


def _refreshed(
    row: Submission, asked: Mapping[str, dict[str, QueueJob] | None]
) -> Submission | None:
    if row.gateway != "hylafax" or row.state in FINAL or row.state == INTENT:
        return None
    tagged = asked.get(row.server)
    if tagged is None:
        return None
    job = tagged.get(row.job_tag)
    if job is None:
        if row.state == UNKNOWN:
            return None
        return replace(
            row, state=UNKNOWN, last_error=f"job {row.job_id} is no longer on {row.server}"
        )
    state, failure, said = judge_job(job)
    return replace(
        row,
        state=state,
        tries=job.tries,
        dials=job.dials,
        pages_sent=job.pages_sent,
        last_error=said or row.last_error,
        failure=failure or row.failure,
    )


@dataclass(frozen=True)
class Cancel:
    """A handed-over fax that became wrong.

    A HylaFAX job to take out of the queue, or an email that cannot be taken back.
    ``replaced``: the current version of the document goes instead.
    """

    submission: Submission
    reason: str
    job: QueueJob | None = None
    replaced: bool = False


def _why_wrong(batch: Batch, sub: Submission, sheet: VerificationSheet) -> tuple[str, bool] | None:
    doc = next((d for d in batch.fax_documents if d.get("recipient_id") == sub.recipient_id), None)
    if doc is None:
        return None  # not in this batch: another batch's business
    fax = batch.fax(sub.recipient_id)
    refused = refusal(sheet, sub.number)
    if refused:
        return f"its number {sub.number} was {refused}", False
    if fax is None:
        verdict = doc.get("fax_verdict")
        why = "; ".join(str(r) for r in doc.get("fax_reasons") or doc.get("problems") or [])
        what = f"its number is now {verdict}" if verdict not in ("ok", "warning") else "not ready"
        return (f"{what}: {why}" if why else what), False
    if sub.number != fax.e164:
        return f"its number changed to {fax.e164}", True
    if sub.sha256 != fax.sha256:
        return "its document changed since it was handed over", True
    return None


def to_cancel(
    batch: Batch,
    rows: Sequence[Submission],
    sheet: VerificationSheet,
    asked: Mapping[str, dict[str, QueueJob] | None],
) -> tuple[list[Cancel], list[Cancel]]:
    """What became wrong: (HylaFAX jobs waiting in a queue, emails already given to the gateway).

    Only the latest attempt of each document is looked at, and only for recipients of this
    batch; a job is listed when the server, asked now, still has it waiting or sending.
    """
    latest = {row.idempotency_key: row for row in rows}
    jobs: list[Cancel] = []
    emails: list[Cancel] = []
    for sub in latest.values():
        if sub.gateway == "hylafax" and sub.state not in WAITING:
            continue
        if sub.gateway == "email" and sub.state not in (SUBMITTED, UNCERTAIN):
            continue
        wrong = _why_wrong(batch, sub, sheet)
        if wrong is None:
            continue
        reason, replaced = wrong
        if sub.gateway == "email":
            emails.append(Cancel(sub, reason, None, replaced))
            continue
        tagged = asked.get(sub.server)
        job = tagged.get(sub.job_tag) if tagged else None
        if job is not None and job.state in ("queued", "sending"):
            jobs.append(Cancel(sub, reason, job, replaced))
    return jobs, emails


def cancel(journal: Journal, cancels: Sequence[Cancel], now: dt.datetime) -> list[str]:
    """Take each job out of its queue (``faxrm``) and record it cancelled with its reason.

    Returns a warning for each job that could not be removed (it may have just been sent).
    """
    problems: list[str] = []
    for item in cancels:
        sub, job = item.submission, item.job
        if job is None:
            continue
        try:
            removed, said = hylafax.remove(sub.server, job.job_id)
        except HylafaxError as exc:
            removed, said = False, exc.message
        if removed:
            journal.update(sub, CANCELLED, now=now, last_error=f"cancelled: {item.reason}")
        else:
            problems.append(
                f"{sub.recipient_id}: job {job.job_id} could not be removed from {sub.server} "
                f"({said or 'no answer'}); it may be sending now"
            )
    return problems


def server_jobs(
    servers: Sequence[str], warnings: list[str] | None = None
) -> dict[str, dict[str, QueueJob] | None]:
    """Jobs by tag on each HylaFAX server; None for a server that cannot be asked."""
    found: dict[str, dict[str, QueueJob] | None] = {}
    for server in dict.fromkeys(servers):
        try:
            found[server] = hylafax.jobs_by_tag(hylafax.jobs(server))
        except HylafaxUnreachable as exc:
            found[server] = None
            if warnings is not None:
                warnings.append(exc.message)
    return found


def reconcile(
    intents: Sequence[Submission],
    server_jobs: Mapping[str, dict[str, QueueJob] | None],
    now: dt.datetime,
) -> list[Reconciled]:
    """Decide what each left-over ``intent`` was; an intent that cannot be decided stays.

    HylaFAX: a job with the intent's tag means it was queued. No such job means it never was,
    but only while the intent is young: the server deletes finished jobs from its done queue
    (``faxqclean``, by default those finished more than 15 minutes ago), so an older intent
    without a job is ``uncertain``. Email: always ``uncertain``.
    """
    decided: list[Reconciled] = []
    for sub in intents:
        if sub.gateway == "hylafax":
            tagged = server_jobs.get(sub.server)
            if tagged is None:
                continue  # the server cannot be asked now: decide on a later run
            job = tagged.get(sub.job_tag)
            age = (now - parse_stamp(sub.intent_at)).total_seconds()
            if job is not None:
                note = f"found on {sub.server} as job {job.job_id} by its tag"
                decided.append(Reconciled(sub, state_of(job), job, note))
            elif age <= HYLAFAX_DONE_KEPT_SECONDS:
                note = f"no job with its tag on {sub.server}: it was never queued"
                decided.append(Reconciled(sub, NOT_SUBMITTED, None, note))
            else:
                note = (
                    f"no job with its tag on {sub.server}, but the run stopped {age / 60:.0f} "
                    "minutes ago: a finished job may have been cleaned from the done queue; "
                    "check the server's transfer log (xferfaxlog), then use --resend if it did "
                    "not go out"
                )
                decided.append(Reconciled(sub, UNCERTAIN, None, note))
        else:
            note = (
                "the run stopped while handing it to the SMTP server, which cannot be asked "
                "whether it took it; check the gateway's records, then use --resend if it "
                "did not go out"
            )
            decided.append(Reconciled(sub, UNCERTAIN, None, note))
    return decided


def parse_stamp(stamp: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def apply(journal: Journal, decided: Sequence[Reconciled], now: dt.datetime) -> None:
    for item in decided:
        job = item.job
        journal.update(
            item.submission,
            item.state,
            now=now,
            job_id=job.job_id if job else None,
            submitted=job is not None,
            tries=job.tries if job else None,
            dials=job.dials if job else None,
            pages_sent=job.pages_sent if job else None,
            last_error=item.note if item.state in (NOT_SUBMITTED, UNCERTAIN) else None,
        )
