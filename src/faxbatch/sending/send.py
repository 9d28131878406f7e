"""Handing a built batch to a gateway, over days if need be.

:func:`send_batch` is ``faxbatch send``: one round. It reconciles what an earlier, interrupted run
left undecided, reads what became of each HylaFAX job, lists the queued jobs that became wrong
(the number refused now or found wrong in ``verification.csv``, the document changed) and, when
confirmed, removes them; then it plans (what goes out, what was handed over before, what waits
for its window, what is tried again, what failed for good) and hands each fax over with the
campaign's journal written before and after (:mod:`faxbatch.sending.journal`).
:func:`watch_batch` is ``send --watch``: rounds until nothing is left to do.

Nothing here prints; the command line turns results into text with :func:`plan_lines` and friends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from faxbatch.campaign.gateway_settings import (
    GatewaySettings,
    load_gateway_file,
    parse_gateway_section,
    with_overrides,
)
from faxbatch.errors import (
    ExitCode,
    InputUnreadableError,
    OutputNotWritableError,
    SendError,
    UsageError,
)
from faxbatch.numbers.verification import VerificationSheet
from faxbatch.sending.batch import MANIFEST_NAME, Batch, Fax, file_sha256, format_utc, load_batch
from faxbatch.sending.copies import (
    WHY,
    CopyAddress,
    CopyResult,
    DueCopy,
    copies_of,
    held_copies,
    planned_copies,
    send_copies,
)
from faxbatch.sending.exports import exports_missing, write_exports
from faxbatch.sending.gateways import GATEWAYS, emailfax, hylafax
from faxbatch.sending.gateways.hylafax import HylafaxError, HylafaxUnreachable, QueueJob
from faxbatch.sending.journal import (
    CANCELLED,
    FAILED,
    INTENT,
    NOT_SUBMITTED,
    PERMANENT,
    SUBMITTED,
    TRANSIENT,
    UNCERTAIN,
    WAITING,
    Clock,
    CopyRecord,
    Journal,
    Submission,
    job_tag,
    locate_journal,
    now_utc,
)
from faxbatch.sending.recheck import refusal, sheet_of
from faxbatch.sending.reconcile import (
    Cancel,
    Reconciled,
    apply,
    cancel,
    reconcile,
    refresh,
    server_jobs,
    state_of,
    to_cancel,
)

# what the plan does with a fax
SEND = "send"
RESEND = "resend"
RETRY = "retry"  # a failure that can pass: handed over again
ADOPT = "adopt"  # the gateway already has it (found by its tag): record it, send nothing
SKIP = "skip"
WAIT = "wait"  # its window has not opened (email cannot schedule)
EXPIRED = "expired"  # its window has closed, or the deadline has passed
REFUSED = "refused"  # its number was found wrong since the build
GIVEN_UP = "failed for good"  # a failure that will not pass, or no attempts left
#: the actions that hand a fax over
HANDING_OVER = (SEND, RESEND, RETRY)
#: ``--resend all-failed``: every fax whose latest attempt failed
ALL_FAILED = "all-failed"


@dataclass(frozen=True)
class SendRequest:
    """What ``faxbatch send`` was asked to do.

    Settings: ``settings`` when given; else the ``gateway:`` section of ``settings_file``, else
    that of the manifest's ``campaign``, else defaults; then ``overrides`` (command-line options,
    see :func:`~faxbatch.campaign.gateway_settings.with_overrides`) on top. ``resend``: recipient
    ids to send again on purpose, or ``all-failed``. ``copies``: email the campaign's
    ``copies_to`` a copy of each fax handed over (``--no-copies`` turns it off).
    """

    gateway: str
    settings: GatewaySettings | None = None
    confirm: bool = False
    resend: tuple[str, ...] = ()
    settings_file: Path | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    copies: bool = True

    @property
    def resolved(self) -> GatewaySettings:
        """The settings, once :func:`resolve_settings` has filled them in."""
        if self.settings is None:  # pragma: no cover - send_batch resolves first
            raise RuntimeError("gateway settings not resolved")
        return self.settings


def resolve_settings(batch: Batch, request: SendRequest) -> SendRequest:
    """The request with its settings read and the command-line options laid over them."""
    settings = request.settings
    if settings is None:
        if request.settings_file is not None:
            settings = load_gateway_file(request.settings_file)
        else:
            section = batch.campaign.get("gateway")
            settings = parse_gateway_section(section, source=str(batch.root / "manifest.json"))
    settings = with_overrides(settings, gateway=request.gateway, **request.overrides)
    return replace(request, settings=settings)


@dataclass(frozen=True)
class PlannedFax:
    """One fax and what this run does with it; ``attempts``: handed over so far."""

    fax: Fax
    action: str
    reason: str = ""
    previous: Submission | None = None
    server_job: QueueJob | None = None
    attempts: int = 0


@dataclass
class Outcome:
    """What happened to one fax in this run; ``stop`` ends the run after it."""

    fax: Fax
    action: str
    state: str
    job_id: str | None = None
    message: str = ""
    stop: bool = False
    failure: str | None = None


@dataclass
class SendResult:
    """The plan of a ``send`` run and, when confirmed, what it did."""

    batch: Batch
    request: SendRequest
    server: str
    items: list[PlannedFax]
    reconciled: list[Reconciled] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    confirmed: bool = False
    stopped: str | None = None
    exports_written: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: queued HylaFAX jobs that became wrong (removed when confirmed), and emails that would be
    #: but cannot be taken back
    cancels: list[Cancel] = field(default_factory=list)
    emails_out: list[Cancel] = field(default_factory=list)
    cancel_problems: list[str] = field(default_factory=list)
    journal: Path | None = None
    #: rows taken in from the batch folder's old journal
    merged: int = 0
    #: the campaign's ``copies_to``; the copies a confirmed run would email (the plan), those
    #: that will not go by themselves (and why), and what this run emailed
    copies_to: tuple[CopyAddress, ...] = ()
    copies_planned: list[DueCopy] = field(default_factory=list)
    copies_held: list[tuple[CopyRecord, str]] = field(default_factory=list)
    copies: CopyResult | None = None

    @property
    def copy_problems(self) -> list[str]:
        """What kept a copy from going in this run."""
        return self.copies.problems if self.copies is not None else []

    @property
    def gateway(self) -> str:
        """``hylafax`` or ``email``."""
        return self.request.gateway

    @property
    def to_send(self) -> list[PlannedFax]:
        """The faxes this run hands over."""
        return [item for item in self.items if item.action in HANDING_OVER]

    @property
    def pages(self) -> int:
        """Pages of the faxes this run hands over."""
        return sum(item.fax.pages for item in self.to_send)

    @property
    def not_sendable(self) -> list[dict[str, Any]]:
        """Fax documents that are never sent (rejected, or the number may not be dialled)."""
        ids = {fax.recipient_id for fax in self.batch.faxes}
        return [doc for doc in self.batch.fax_documents if doc.get("recipient_id") not in ids]

    @property
    def exit_code(self) -> ExitCode:
        """0 when every fax that was to go was handed over; 8 when one was not, or may not be."""
        bad = (NOT_SUBMITTED, UNCERTAIN, INTENT, FAILED)
        if self.stopped or self.cancel_problems or self.copy_problems:
            return ExitCode.SEND_FAILED
        if any(o.state in bad for o in self.outcomes):
            return ExitCode.SEND_FAILED
        return ExitCode.OK


# -- helpers ----------------------------------------------------------------------------------
def destination(fax: Fax, gateway: str, settings: GatewaySettings) -> str:
    """Where a fax goes: HylaFAX's canonical number (+E.164), or the email gateway's address."""
    if gateway == "email":
        return emailfax.address(fax, settings.email)
    return fax.e164


def server_of(gateway: str, settings: GatewaySettings) -> str:
    """The server a gateway is reached at, as the journal records it."""
    return settings.email.server if gateway == "email" else settings.hylafax.server


def _describe(sub: Submission) -> str:
    job = f" job {sub.job_id}" if sub.job_id else ""
    when = f" at {sub.submitted_at}" if sub.submitted_at else ""
    return f"{sub.gateway}{job}{when}, {sub.state}"


def journal_of(batch: Batch) -> Path:
    """The campaign journal of a batch, as its manifest names it (checked)."""
    return locate_journal(batch.campaign, f"{batch.root / MANIFEST_NAME}", batch.root)


# -- planning ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Seen:
    """What the journal and the servers say, as a round plans with it."""

    history: Mapping[str, Sequence[Submission]]
    by_recipient: Mapping[str, Submission]
    tagged: Mapping[str, QueueJob] | None
    sheet: VerificationSheet
    now: dt.datetime
    max_attempts: int


def _attempts(rows: Sequence[Submission]) -> int:
    return sum(1 for row in rows if row.counts)


def plan_faxes(batch: Batch, request: SendRequest, seen: _Seen) -> list[PlannedFax]:
    """What to do with each sendable fax (or, with ``--resend``, with those named)."""
    if request.resend:
        return _plan_resends(batch, request, seen)
    return [_plan_one(fax, request, seen) for fax in batch.faxes]


def _plan_one(fax: Fax, request: SendRequest, seen: _Seen) -> PlannedFax:
    history = seen.history.get(fax.key, ())
    previous = history[-1] if history else None
    attempts = _attempts(history)

    def item(action: str, reason: str = "", job: QueueJob | None = None) -> PlannedFax:
        return PlannedFax(fax, action, reason, previous, job, attempts)

    refused = refusal(seen.sheet, fax.e164)
    if refused:
        return item(REFUSED, f"not sent: its number was {refused}; build the batch again")
    if previous is None:
        earlier = seen.by_recipient.get(fax.recipient_id)
        if earlier is not None and earlier.handed_over:
            how = "emailed (an email cannot be taken back)" if earlier.gateway == "email" else ""
            reason = (
                f"an earlier version of this document was handed over ({_describe(earlier)})"
                f"{'; ' + how if how else ''}; use --resend {fax.recipient_id} to send this version"
            )
            return PlannedFax(fax, SKIP, reason, earlier)
        job = seen.tagged.get(job_tag(fax.key, 1)) if seen.tagged is not None else None
        if job is not None:
            return item(ADOPT, f"already on the server as job {job.job_id} (found by its tag)", job)
        note = ""
        if earlier is not None and earlier.state == CANCELLED:
            note = f"instead of the cancelled job {earlier.job_id}"
        return _windowed(item(SEND, note), request.gateway, seen.now)
    state = previous.state
    if state == INTENT:
        reason = "an earlier run stopped while handing it over and its server cannot be asked"
        return item(SKIP, reason)
    if state == NOT_SUBMITTED:
        reason = f"try again: {previous.last_error or 'not taken last time'}"
        return _windowed(item(SEND, reason), request.gateway, seen.now)
    if state == UNCERTAIN:
        return item(SKIP, f"uncertain ({_describe(previous)}); use --resend {fax.recipient_id}")
    if state == CANCELLED:
        reason = f"queued anew ({previous.last_error or 'cancelled'})"
        return _windowed(item(SEND, reason), request.gateway, seen.now)
    if state == FAILED:
        why = previous.last_error or "failed"
        if previous.failure == PERMANENT:
            reason = f"{why}; this will not pass: use --resend {fax.recipient_id} to try anyway"
            return item(GIVEN_UP, reason)
        if attempts >= seen.max_attempts:
            reason = (
                f"{why}; {attempts} attempt(s) made, gateway.max_attempts is "
                f"{seen.max_attempts}: use --resend {fax.recipient_id} to try again"
            )
            return item(GIVEN_UP, reason)
        reason = f"attempt {attempts + 1} of {seen.max_attempts}; last time: {why}"
        return _windowed(item(RETRY, reason), request.gateway, seen.now)
    return item(SKIP, f"already handed over: {_describe(previous)}")


def _windowed(planned: PlannedFax, gateway: str, now: dt.datetime) -> PlannedFax:
    """The planned fax, held back when its window or the deadline says so."""
    fax, reason = planned.fax, planned.reason
    if fax.deadline is not None and hylafax.floor_minute(fax.deadline) <= now:
        why = f"the campaign's deadline ({format_utc(fax.deadline)}) has passed"
        return replace(planned, action=EXPIRED, reason=why)
    if fax.window_end is not None and hylafax.floor_minute(fax.window_end) <= now:
        why = f"its sending window closed at {format_utc(fax.window_end)}; build the batch again"
        return replace(planned, action=EXPIRED, reason=why)
    if hylafax.window_options(fax, now) is None:
        why = f"its window opens after the campaign's deadline ({format_utc(fax.deadline)})"
        return replace(planned, action=EXPIRED, reason=why)
    if fax.window_start is not None and fax.window_start > now:
        if gateway == "email":
            why = f"its sending window opens at {format_utc(fax.window_start)}"
            return replace(planned, action=WAIT, reason=why)
        scheduled = f"scheduled for {format_utc(fax.window_start)}"
        return replace(planned, reason=scheduled + (f"; {reason}" if reason else ""))
    return planned


def _plan_resends(batch: Batch, request: SendRequest, seen: _Seen) -> list[PlannedFax]:
    wanted: list[str] = []
    for name in request.resend:
        if name == ALL_FAILED:
            for fax in batch.faxes:
                rows = seen.history.get(fax.key, ())
                if rows and rows[-1].state == FAILED:
                    wanted.append(fax.recipient_id)
        else:
            wanted.append(name)
    return [_plan_resend(batch, request, seen, name) for name in dict.fromkeys(wanted)]


def _plan_resend(batch: Batch, request: SendRequest, seen: _Seen, wanted: str) -> PlannedFax:
    fax = batch.fax(wanted)
    if fax is None:
        known = [doc.get("recipient_id") for doc in batch.documents]
        if wanted in known:
            raise UsageError(
                f"'{wanted}' is never sent: it was rejected, its number may not be dialled or it "
                "goes by post",
                hint="see its problems in manifest.csv; fix the campaign and build again",
            )
        close = difflib.get_close_matches(wanted, [str(k) for k in known], n=1)
        hint = f"did you mean '{close[0]}'?" if close else "the ids are in manifest.csv"
        raise UsageError(f"no recipient '{wanted}' in this batch", hint=hint)
    history = seen.history.get(fax.key, ())
    previous = history[-1] if history else None
    if previous is not None and previous.state == INTENT:
        raise SendError(
            f"an earlier run stopped while handing '{wanted}' over, and its server cannot be "
            "asked now",
            hint="run 'faxbatch send' or 'faxbatch status' once the server answers",
        )
    if previous is not None and previous.gateway == "hylafax" and previous.state in WAITING:
        raise UsageError(
            f"'{wanted}' is still in the HylaFAX queue as job {previous.job_id} ({previous.state})",
            hint=f"remove it first (faxrm -h {previous.server} {previous.job_id}) or let it finish",
        )
    refused = refusal(seen.sheet, fax.e164)
    if refused:
        raise UsageError(f"'{wanted}' is not sent: its number was {refused}")
    reason = f"on purpose; before: {_describe(previous)}" if previous else "on purpose"
    planned = PlannedFax(fax, RESEND, reason, previous, None, _attempts(history))
    return _windowed(planned, request.gateway, seen.now)


def _check_files(batch: Batch, items: Sequence[PlannedFax]) -> None:
    """Every fax about to go is a file inside the batch folder, and the document it should be.

    A tampered manifest must not make faxbatch send a file from elsewhere.
    """
    problems: list[str] = []
    for item in items:
        try:
            path = batch.path(item.fax)
        except InputUnreadableError as exc:
            problems.append(exc.message)
            continue
        try:
            digest = file_sha256(path)
        except OSError as exc:
            problems.append(f"{item.fax.file}: cannot be read ({exc.strerror or exc})")
            continue
        if digest != item.fax.sha256:
            problems.append(f"{item.fax.file}: changed since the build (SHA-256 differs)")
    if problems:
        raise InputUnreadableError(
            "the batch's faxes are not as built (nothing was sent):\n  - "
            + "\n  - ".join(problems),
            hint="build the batch again; faxbatch sends only what the manifest describes",
        )


# -- one round --------------------------------------------------------------------------------
def _prepare(root: Path, request: SendRequest) -> tuple[Batch, SendRequest, Path]:
    if request.gateway not in GATEWAYS:
        raise UsageError(f"unknown gateway '{request.gateway}' (use {' or '.join(GATEWAYS)})")
    batch = load_batch(root)
    batch.check_paths()  # a tampered manifest stops here, before any server is asked
    journal = journal_of(batch)
    request = resolve_settings(batch, request)
    if request.gateway == "email":
        emailfax.check_settings(request.resolved.email)
    if request.confirm and request.copies and copies_of(batch):
        _check_copy_settings(request)
    return batch, request, journal


def _check_copy_settings(request: SendRequest) -> None:
    """The SMTP settings the copies need, checked before anything is sent."""
    try:
        emailfax.check_smtp_settings(request.resolved.email, why=WHY)
    except UsageError as exc:
        hint = exc.hint or "set gateway.email.from (and smtp_host, smtp_port) in the campaign"
        raise UsageError(exc.message, hint=f"{hint}; or send with --no-copies") from None


def send_batch(
    root: Path,
    request: SendRequest,
    *,
    clock: Clock = now_utc,
    on_plan: Callable[[SendResult], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> SendResult:
    """Plan, and when ``request.confirm``, cancel what became wrong and hand the faxes over.

    ``on_plan`` sees the plan before anything is sent, ``on_outcome`` each fax as it is handed
    over (the command line prints them as they come).
    """
    batch, request, path = _prepare(root, request)
    with Journal(path, batch=batch.root, create=request.confirm) as journal:
        return _round(batch, request, journal, clock, on_plan, on_outcome)


def _round(
    batch: Batch,
    request: SendRequest,
    journal: Journal,
    clock: Clock,
    on_plan: Callable[[SendResult], None] | None,
    on_outcome: Callable[[Outcome], None] | None,
) -> SendResult:
    settings = request.resolved
    server = server_of(request.gateway, settings)
    written: list[Path] = []
    warnings: list[str] = []
    if exports_missing(batch.root):
        try:
            written = write_exports(batch.root, batch.manifest, settings.hylafax)
        except OSError as exc:
            warnings.append(f"cannot write the gateway exports ({exc.strerror or exc})")
        except OutputNotWritableError as exc:
            warnings.append(exc.message)
    sheet = sheet_of(batch)
    rows = journal.all()
    # the servers to ask: this run's, and those of every HylaFAX job that is not finished
    servers = [r.server for r in rows if r.gateway == "hylafax" and r.state in (INTENT, *WAITING)]
    if request.gateway == "hylafax":
        servers.append(server)
    asked = server_jobs(servers, warnings)
    tagged = asked.get(server) if request.gateway == "hylafax" else None
    if request.gateway == "hylafax" and request.confirm:
        hylafax.client("sendfax")
        hylafax.check_scheduler(server)
        if tagged is None:  # never send to a server whose queue cannot be read
            hylafax.jobs(server)  # raises the server's own error, with its hint
    now = clock()
    decided = reconcile([r for r in rows if r.state == INTENT], asked, now)
    if request.confirm:
        apply(journal, decided, now)
        refresh(journal, asked, now)
        rows = journal.all()
    else:  # the plan only: the same decisions, in memory
        changed = {
            item.submission.id: replace(item.submission, state=item.state) for item in decided
        }
        rows = [changed.get(row.id, row) for row in rows]
        rows = refresh(journal, asked, now, rows=rows, write=False)
    cancels, emails_out = to_cancel(batch, rows, sheet, asked)
    problems: list[str] = []
    if request.confirm and cancels:
        problems = cancel(journal, cancels, now)
        rows = journal.all()
    elif cancels:
        gone = {item.submission.id for item in cancels}
        rows = [replace(r, state=CANCELLED) if r.id in gone else r for r in rows]
    history: dict[str, list[Submission]] = {}
    for row in rows:
        history.setdefault(row.idempotency_key, []).append(row)
    seen = _Seen(
        history,
        {row.recipient_id: row for row in rows},
        tagged,
        sheet,
        now,
        settings.max_attempts,
    )
    items = plan_faxes(batch, request, seen)
    result = SendResult(batch, request, server, items, decided, exports_written=written)
    result.warnings = warnings
    result.cancels, result.emails_out, result.cancel_problems = cancels, emails_out, problems
    result.journal, result.merged = journal.path, journal.merged
    _check_files(batch, result.to_send)
    _plan_copies(batch, request, journal, result, history)
    if not request.confirm:
        return result
    result.confirmed = True
    if on_plan is not None:
        on_plan(result)
    _hand_over(batch, request, journal, result, clock, on_outcome)
    if request.copies and result.copies_to:  # of what went, also when the faxes stopped
        result.copies = send_copies(
            batch,
            journal,
            result.copies_to,
            settings.email,
            max_attempts=settings.max_attempts,
            clock=clock,
        )
    return result


def _plan_copies(
    batch: Batch,
    request: SendRequest,
    journal: Journal,
    result: SendResult,
    history: Mapping[str, Sequence[Submission]],
) -> None:
    """What the plan says of the copies: how many would go, which will not."""
    result.copies_to = copies_of(batch)
    if not result.copies_to:
        return
    records = journal.copies()
    settings = request.resolved
    result.copies_held = held_copies(batch, records, settings.max_attempts)
    to_send = [item.fax for item in result.to_send]
    result.copies_planned = planned_copies(
        batch, history, records, result.copies_to, to_send, settings.max_attempts
    )
    if request.copies and not request.confirm:
        try:
            emailfax.check_smtp_settings(settings.email, why=WHY)
        except UsageError as exc:
            result.warnings.append(f"{exc.message} (give --no-copies to send without them)")


def _hand_over(
    batch: Batch,
    request: SendRequest,
    journal: Journal,
    result: SendResult,
    clock: Clock,
    on_outcome: Callable[[Outcome], None] | None,
) -> None:
    def report(outcome: Outcome) -> None:
        result.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    for item in result.items:
        if item.action == ADOPT and item.server_job is not None:
            job = item.server_job
            sub = _intent(journal, batch, item.fax, request, clock())
            journal.update(sub, state_of(job), now=clock(), job_id=job.job_id, submitted=True,
                           tries=job.tries, dials=job.dials, pages_sent=job.pages_sent)  # fmt: skip
            report(Outcome(item.fax, ADOPT, state_of(job), job.job_id, item.reason))
    if not result.to_send:
        return
    if request.gateway == "email":
        with emailfax.SmtpSession(request.resolved.email) as session:
            for item in result.to_send:
                outcome = _send_email(batch, request, journal, item, session, clock)
                report(outcome)
                if outcome.stop:
                    result.stopped = outcome.message
                    return
    else:
        for item in result.to_send:
            outcome = _send_hylafax(batch, request, journal, item, clock)
            report(outcome)
            if outcome.stop:
                result.stopped = outcome.message
                return


def _intent(
    journal: Journal, batch: Batch, fax: Fax, request: SendRequest, now: dt.datetime
) -> Submission:
    return journal.record_intent(
        recipient_id=fax.recipient_id,
        key=fax.key,
        gateway=request.gateway,
        server=server_of(request.gateway, request.resolved),
        destination=destination(fax, request.gateway, request.resolved),
        number=fax.e164,
        file=fax.file,
        sha256=fax.sha256,
        pages=fax.pages,
        now=now,
        batch=batch.root,
    )


@contextmanager
def _before_hand_over(journal: Journal, sub: Submission, clock: Clock) -> Iterator[None]:
    """The steps between recording an intent and handing the fax over.

    When one of them fails, nothing reached the gateway: the intent becomes ``not_submitted``
    (the next send tries again) instead of staying to be judged ``uncertain`` and skipped.
    """
    try:
        yield
    except BaseException as exc:
        why = f"stopped before it was handed over ({type(exc).__name__}: {exc})"
        with contextlib.suppress(Exception):  # the journal itself may be what failed
            journal.update(sub, NOT_SUBMITTED, now=clock(), last_error=why[:500])
        raise


def _send_hylafax(
    batch: Batch, request: SendRequest, journal: Journal, item: PlannedFax, clock: Clock
) -> Outcome:
    fax = item.fax
    settings = request.resolved.hylafax
    now = clock()
    page_size = batch.campaign.get("page_size")
    if hylafax.window_options(fax, now) is None:  # the window closed during this run
        why = f"its sending window closed (or the deadline passed) at {format_utc(fax.window_end)}"
        return Outcome(fax, EXPIRED, "not sent", None, why)
    pdf = batch.path(fax)  # resolved inside the batch folder, before any intent
    sub = _intent(journal, batch, fax, request, now)
    with _before_hand_over(journal, sub, clock):
        command = hylafax.sendfax_command(
            fax, pdf, settings, batch.regarding, page_size, sub.job_tag, now
        )
        if command is None:  # pragma: no cover - the window was checked at the same moment
            raise SendError(f"{fax.recipient_id}: its sending window closed")
    try:
        job_id = hylafax.submit(command)
    except HylafaxError as exc:
        return _after_failed_submit(journal, sub, fax, item, exc, clock)
    journal.update(sub, SUBMITTED, now=clock(), job_id=job_id, submitted=True)
    return Outcome(fax, item.action, SUBMITTED, job_id, item.reason)


def _after_failed_submit(
    journal: Journal,
    sub: Submission,
    fax: Fax,
    item: PlannedFax,
    error: HylafaxError,
    clock: Clock,
) -> Outcome:
    """After sendfax failed: the job may still have been queued, so ask the server by its tag."""
    try:
        job = hylafax.jobs_by_tag(hylafax.jobs(sub.server)).get(sub.job_tag)
    except HylafaxUnreachable as exc:
        if isinstance(error, HylafaxUnreachable):  # sendfax never reached it: nothing queued
            journal.update(sub, NOT_SUBMITTED, now=clock(), last_error=error.message)
            return Outcome(fax, item.action, NOT_SUBMITTED, None, error.message, stop=True)
        # undecided: the intent stays for the next run to reconcile
        why = f"{error.message}; {exc.message}"
        return Outcome(fax, item.action, INTENT, None, why, stop=True)
    if job is not None:
        state = state_of(job)
        journal.update(sub, state, now=clock(), job_id=job.job_id, submitted=True)
        why = f"queued although sendfax said: {error.message}"
        return Outcome(fax, item.action, state, job.job_id, why)
    journal.update(sub, NOT_SUBMITTED, now=clock(), last_error=error.message)
    stop = isinstance(error, HylafaxUnreachable)
    return Outcome(fax, item.action, NOT_SUBMITTED, None, error.message, stop=stop)


def _send_email(
    batch: Batch,
    request: SendRequest,
    journal: Journal,
    item: PlannedFax,
    session: emailfax.SmtpSession,
    clock: Clock,
) -> Outcome:
    fax = item.fax
    settings = request.resolved.email
    now = clock()
    end = hylafax.last_moment(fax)
    if end is not None and end <= now:
        why = f"its sending window closed (or the deadline passed) at {format_utc(end)}"
        return Outcome(fax, EXPIRED, "not sent", None, why)
    try:
        pdf = batch.path(fax).read_bytes()
    except OSError as exc:
        return Outcome(fax, item.action, NOT_SUBMITTED, None, f"cannot read {fax.file}: {exc}")
    # the whole message, every header checked, before the journal records the intent
    msg = emailfax.build_message(fax, pdf, settings, batch.regarding)
    sender, recipient = settings.from_address, emailfax.address(fax, settings)
    sub = _intent(journal, batch, fax, request, now)
    with _before_hand_over(journal, sub, clock):
        message_id = emailfax.tag_message(msg, sub.job_tag, settings)
        data = emailfax.flatten(msg)
    try:
        session.send(data, sender, recipient)
    except emailfax.EmailRefused as exc:  # an answer: 4xx may pass, 5xx will not
        failure = TRANSIENT if exc.transient else PERMANENT
        journal.update(sub, FAILED, now=clock(), last_error=exc.message, failure=failure)
        return Outcome(fax, item.action, FAILED, None, exc.message, failure=failure)
    except emailfax.EmailNotSent as exc:  # the session broke before the data: nothing went
        journal.update(sub, NOT_SUBMITTED, now=clock(), last_error=exc.message)
        return Outcome(fax, item.action, NOT_SUBMITTED, None, exc.message, stop=True)
    except emailfax.EmailUncertain as exc:
        journal.update(sub, UNCERTAIN, now=clock(), last_error=exc.message)
        return Outcome(fax, item.action, UNCERTAIN, None, exc.message, stop=True)
    except SendError as exc:  # the session could not be opened again: nothing went out
        journal.update(sub, NOT_SUBMITTED, now=clock(), last_error=exc.message)
        return Outcome(fax, item.action, NOT_SUBMITTED, None, exc.message, stop=True)
    journal.update(sub, SUBMITTED, now=clock(), job_id=message_id, submitted=True)
    return Outcome(fax, item.action, SUBMITTED, message_id, item.reason)


# -- watching ---------------------------------------------------------------------------------
#: how often ``--watch`` looks again when no window opens sooner (seconds)
WATCH_POLL_SECONDS = 60.0


@dataclass
class WatchEvent:
    """Something ``--watch`` saw or did, for the log (or the progress line)."""

    moment: dt.datetime
    text: str


@dataclass
class Progress:
    """Where a watched batch stands after a round."""

    done: int = 0  # handed over and, for HylaFAX, sent
    waiting: int = 0  # waiting for its window, its turn in the queue or a retry
    given_up: int = 0  # failed for good, past the deadline, refused, or waiting for a person
    next_wake: dt.datetime | None = None

    @property
    def finished(self) -> bool:
        """Nothing is left that time alone could change."""
        return self.waiting == 0

    def line(self, now: dt.datetime) -> str:
        """One line for a terminal."""
        wake = f"; next look {format_utc(self.next_wake)}" if self.next_wake else ""
        return (
            f"{format_utc(now)}  {self.done} done, {self.waiting} waiting, "
            f"{self.given_up} not going (failed for good, past the deadline or refused){wake}"
        )


@dataclass
class WatchResult:
    """What ``send --watch`` did over all its rounds; ``last`` is its last round."""

    rounds: int
    last: SendResult
    progress: Progress
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        """0 when every fax and copy went; 8 when a fax failed or a copy was not emailed.

        8 also when a fax could not be handed over, or could not be cancelled.
        """
        last = self.last
        if self.progress.given_up or last.cancel_problems or last.stopped or last.copy_problems:
            return ExitCode.SEND_FAILED
        return ExitCode.OK


def progress_of(result: SendResult, journal: Journal) -> Progress:
    """Count a round's faxes as done, waiting (for time to pass) or not going."""
    history = journal.history()
    progress = Progress()
    wakes: list[dt.datetime] = []
    for item in result.items:
        rows = history.get(item.fax.key, [])
        row = rows[-1] if rows else None
        if item.action == WAIT and item.fax.window_start is not None:
            progress.waiting += 1
            wakes.append(item.fax.window_start)
        elif item.action in (EXPIRED, REFUSED, GIVEN_UP) or row is None:
            progress.given_up += 1  # row None: an earlier version went, a person decides
        elif row.gateway == "email" and row.state == SUBMITTED:
            progress.done += 1  # the gateway took it: there is nothing more to follow
        elif row.state in WAITING or row.state == NOT_SUBMITTED:
            progress.waiting += 1
        elif row.state == FAILED:
            retry = row.failure != PERMANENT
            if retry and _attempts(rows) < result.request.resolved.max_attempts:
                progress.waiting += 1
            else:
                progress.given_up += 1
        elif row.state in (UNCERTAIN, INTENT, CANCELLED):
            progress.given_up += 1
        else:  # done; an email handed over; a job cleaned from the done queue
            progress.done += 1
    progress.next_wake = min(wakes) if wakes else None
    return progress


def watch_batch(
    root: Path,
    request: SendRequest,
    *,
    clock: Clock = now_utc,
    sleep: Callable[[float], None] = time.sleep,
    poll: float = WATCH_POLL_SECONDS,
    on_event: Callable[[WatchEvent], None] | None = None,
    on_progress: Callable[[Progress, dt.datetime], None] | None = None,
    max_rounds: int | None = None,
) -> WatchResult:
    """``send --watch``: hand each fax over as its window opens, follow it, retry, until done.

    Each round is one :func:`send_batch` (confirmed), on one journal held for the whole watch:
    a second ``send`` on the campaign is refused meanwhile. Between rounds it sleeps until the
    next window opens, ``poll`` seconds at most. It ends when every fax is done, failed for good,
    past the deadline or refused; Ctrl-C (KeyboardInterrupt) ends it between two steps, each of
    which the journal has recorded. ``clock`` and ``sleep`` may be given (tests, simulations).
    """
    request = replace(request, confirm=True)
    batch, request, path = _prepare(root, request)
    outcomes: list[Outcome] = []

    def event(text: str) -> None:
        if on_event is not None:
            on_event(WatchEvent(clock(), text))

    def outcome(found: Outcome) -> None:
        outcomes.append(found)
        event(outcome_line(found).strip())

    rounds = 0
    with Journal(path, batch=batch.root) as journal:
        while True:
            rounds += 1
            result = _round(batch, request, journal, clock, None, outcome)
            for rec in result.reconciled:
                event(f"reconciled {rec.submission.recipient_id}: {rec.state} ({rec.note})")
            for item in result.cancels:
                event(f"cancelled {item.submission.recipient_id}: {item.reason}")
            for warning in [*result.warnings, *result.cancel_problems]:
                event(f"warning: {warning}")
            if result.copies is not None:
                for copy in result.copies.sent:
                    event(f"copy of {copy.fax.recipient_id} emailed to {copy.to.email}")
                for problem in result.copies.problems:
                    event(f"warning: copies: {problem}")
            progress = progress_of(result, journal)
            now = clock()
            if on_progress is not None:
                on_progress(progress, now)
            if progress.finished or (max_rounds is not None and rounds >= max_rounds):
                return WatchResult(rounds, result, progress, outcomes)
            wake = now + dt.timedelta(seconds=poll)
            if progress.next_wake is not None and progress.next_wake < wake:
                wake = max(progress.next_wake, now + dt.timedelta(seconds=1))
            progress.next_wake = wake
            if on_progress is not None:
                on_progress(progress, now)
            sleep(max(1.0, (wake - now).total_seconds()))


# -- words for the command line ---------------------------------------------------------------
def _window_text(fax: Fax) -> str:
    if fax.window_start is None and fax.window_end is None:
        return "any time"
    start = format_utc(fax.window_start) or "now"
    end = format_utc(fax.window_end) or "open end"
    zone = f" ({fax.time_zone} office hours)" if fax.time_zone else ""
    return f"{start} to {end}{zone}"


def fax_warnings(fax: Fax) -> list[str]:
    """What volunteers would want to see before saying yes: the number's warnings."""
    found = list(fax.reasons)
    if fax.number_type == "mobile" and not any("mobile" in r for r in found):
        found.append("a mobile number")
    if fax.verification is None:
        found.append("not verified by a volunteer")
    elif fax.verification == "stale" and not any("days ago" in r for r in found):
        found.append(
            f"verified {fax.verified_on or ''}, long ago: check it again".replace("  ", " ")
        )
    return found


def plan_lines(result: SendResult) -> list[str]:
    """The plan, as the command line shows it before anything is sent."""
    count = len(result.to_send)
    head = f"{count} fax(es), {result.pages} page(s), to send" if count else "Nothing to send"
    lines = [f"{head} via {result.gateway} ({result.server}) from {result.batch.root}:"]
    max_attempts = result.request.resolved.max_attempts
    for item in result.to_send:
        lines += _fax_lines(item, result, max_attempts)
    lines += _other_lines(result)
    lines += copy_plan_lines(result)
    lines += _totals(result)
    return lines


def copy_plan_lines(result: SendResult) -> list[str]:
    """What the plan says of the copies to the organizers (``copies_to``)."""
    if not result.copies_to:
        return []
    count = len(result.copies_planned)
    to = ", ".join(address.label for address in result.copies_to)
    if not result.request.copies:
        lines = [f"  copies: none emailed (--no-copies); {count} due to {to}"]
    elif count:
        server = result.request.resolved.email.server
        lines = [f"  copies: {count} copy(ies) to email to {to} via SMTP {server}"]
    else:
        lines = [f"  copies: none due (each fax handed over has had its copy: {to})"]
    for record, why in result.copies_held:
        lines.append(f"    copy of {record.recipient_id} to {record.address}: {why}")
    return lines


def _fax_lines(item: PlannedFax, result: SendResult, max_attempts: int) -> list[str]:
    fax = item.fax
    where = destination_text(fax, result)
    extra = f"  [{item.reason}]" if item.reason else ""
    lines = [f"  {fax.recipient_id}: {fax.international} ({where}), {fax.pages} page(s){extra}"]
    details = f"verdict {fax.verdict}; window {_window_text(fax)}"
    details += f"; attempts so far {item.attempts} of {max_attempts}"
    lines.append(f"      {details}")
    lines += [f"      warning: {warning}" for warning in fax_warnings(fax)]
    return lines


def destination_text(fax: Fax, result: SendResult) -> str:
    """How the plan shows where a fax goes."""
    where = destination(fax, result.gateway, result.request.resolved)
    return f"to {where}" if result.gateway == "email" else f"dial {where}"


def _other_lines(result: SendResult) -> list[str]:
    lines: list[str] = []
    for rec in result.reconciled:
        lines.append(f"  reconciled {rec.submission.recipient_id}: {rec.state} ({rec.note})")
    if result.cancels:
        done = "cancelled" if result.confirmed else "to cancel (removed from the queue with --yes)"
        lines.append(f"  {done}:")
        for item in result.cancels:
            sub, job = item.submission, item.job
            again = "; the current version is queued anew" if item.replaced else ""
            job_id = job.job_id if job else sub.job_id
            lines.append(f"    {sub.recipient_id}: HylaFAX job {job_id}: {item.reason}{again}")
    if result.emails_out:
        lines.append("  emailed already, and an email cannot be taken back:")
        for item in result.emails_out:
            sub = item.submission
            lines.append(f"    {sub.recipient_id}: {_describe(sub)}: {item.reason}")
    held = [planned for planned in result.items if planned.action not in HANDING_OVER]
    for planned in held:
        lines.append(f"  {planned.action} {planned.fax.recipient_id}: {planned.reason}")
    if result.not_sendable:
        ids = ", ".join(str(doc.get("recipient_id")) for doc in result.not_sendable)
        lines.append(f"  never sent (rejected or number not usable): {ids}")
    return lines


def _totals(result: SendResult) -> list[str]:
    counts: dict[str, int] = {}
    for item in result.items:
        counts[item.action] = counts.get(item.action, 0) + 1
    parts = [f"{n} {action}" for action, n in sorted(counts.items())]
    if result.cancels:
        parts.append(f"{len(result.cancels)} to cancel")
    post = len(result.batch.post_documents)
    if post:
        parts.append(f"{post} postal letter(s) not faxed")
    return [f"Totals: {', '.join(parts) or 'nothing'}."] if parts else []


def outcome_line(outcome: Outcome) -> str:
    """One line per fax as it is handed over."""
    job = f" job {outcome.job_id}" if outcome.job_id else ""
    kind = f", {outcome.failure}" if outcome.failure else ""
    note = f" ({outcome.message}{kind})" if outcome.message else ""
    return f"  {outcome.fax.recipient_id}: {outcome.state}{job}{note}"


def summary_lines(result: SendResult) -> list[str]:
    """The end of a confirmed run."""
    bad = (NOT_SUBMITTED, UNCERTAIN, INTENT, FAILED)
    handed = [o for o in result.outcomes if o.state not in bad]
    lines = [f"{len(handed)} of {len(result.outcomes)} fax(es) handed to {result.gateway}."]
    if result.cancels:
        lines.append(f"{len(result.cancels)} queued job(s) cancelled.")
    lines += [f"Not cancelled: {problem}" for problem in result.cancel_problems]
    if result.stopped:
        lines.append(f"Stopped: {result.stopped}")
        lines.append("Run 'faxbatch send' again to continue where it stopped.")
    lines += copy_summary_lines(result)
    if result.merged:
        lines.append(f"{result.merged} record(s) of the batch folder's old journal merged in.")
    lines.append(f"Journal: {result.journal}")
    return lines


def copy_summary_lines(result: SendResult) -> list[str]:
    """What a confirmed run did with the copies."""
    if not result.copies_to:
        return []
    if result.copies is None:
        planned = len(result.copies_planned)
        return [f"Copies not emailed (--no-copies); {planned} due, for a later send."]
    copies = result.copies
    lines = [f"{len(copies.sent)} copy(ies) emailed to copies_to."]
    for record in copies.uncertain:
        lines.append(
            f"Copy of {record.recipient_id} to {record.address}: an earlier run stopped while "
            "emailing it; it may have gone and is not emailed again."
        )
    lines += [f"Copies: {problem}" for problem in copies.problems]
    return lines
