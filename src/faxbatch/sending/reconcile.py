"""What an interrupted run left undecided: each ``intent`` of the journal matched with the gateway.

A run records its intent before it hands a fax over and the outcome after; a run stopped between
the two leaves an intent. HylaFAX is asked for a job with the intent's tag (see
:func:`faxbatch.sending.journal.job_tag`); an SMTP server cannot be asked, so an email intent is
``uncertain`` and waits for a person to decide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from faxbatch.sending.gateways import hylafax
from faxbatch.sending.gateways.hylafax import HylafaxUnreachable, QueueJob
from faxbatch.sending.journal import NOT_SUBMITTED, SUBMITTED, UNCERTAIN, Journal, Submission

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
