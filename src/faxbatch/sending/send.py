"""Handing a built batch to a gateway, and finding out what became of it.

:func:`send_batch` is ``faxbatch send``: it reconciles what an earlier, interrupted run left
undecided, plans (what goes out, what was handed over before, what waits for its window), and, when
confirmed, hands each fax over with the journal written before and after
(:mod:`faxbatch.sending.journal`). :func:`refresh_status` is ``faxbatch status``: it asks HylaFAX
about each job and writes the transmission report, ``DIR/report.csv``.

Nothing here prints; the command line turns results into text with :func:`plan_lines` and friends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
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
from faxbatch.sending.batch import Batch, Fax, file_sha256, format_utc, load_batch
from faxbatch.sending.exports import exports_missing, write_exports
from faxbatch.sending.gateways import GATEWAYS, emailfax, hylafax
from faxbatch.sending.gateways.hylafax import HylafaxError, HylafaxUnreachable, QueueJob
from faxbatch.sending.journal import (
    INTENT,
    NOT_SUBMITTED,
    SUBMITTED,
    UNCERTAIN,
    Clock,
    Journal,
    Submission,
    job_tag,
    now_utc,
)
from faxbatch.sending.reconcile import Reconciled, apply, reconcile, server_jobs, state_of

# what the plan does with a fax
SEND = "send"
RESEND = "resend"
ADOPT = "adopt"  # the gateway already has it (found by its tag): record it, send nothing
SKIP = "skip"
WAIT = "wait"  # its window has not opened (email cannot schedule)
EXPIRED = "expired"  # its window has closed


@dataclass(frozen=True)
class SendRequest:
    """What ``faxbatch send`` was asked to do.

    Settings: ``settings`` when given; else the ``gateway:`` section of ``settings_file``, else
    that of the manifest's ``campaign``, else defaults; then ``overrides`` (command-line options,
    see :func:`~faxbatch.campaign.gateway_settings.with_overrides`) on top.
    """

    gateway: str
    settings: GatewaySettings | None = None
    confirm: bool = False
    resend: str | None = None
    settings_file: Path | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)

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
    """One fax and what this run does with it."""

    fax: Fax
    action: str
    reason: str = ""
    previous: Submission | None = None
    server_job: QueueJob | None = None


@dataclass
class Outcome:
    """What happened to one fax in this run; ``stop`` ends the run after it."""

    fax: Fax
    action: str
    state: str
    job_id: str | None = None
    message: str = ""
    stop: bool = False


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

    @property
    def gateway(self) -> str:
        """``hylafax`` or ``email``."""
        return self.request.gateway

    @property
    def to_send(self) -> list[PlannedFax]:
        """The faxes this run hands over."""
        return [item for item in self.items if item.action in (SEND, RESEND)]

    @property
    def pages(self) -> int:
        """Pages of the faxes this run hands over."""
        return sum(item.fax.pages for item in self.to_send)

    @property
    def not_sendable(self) -> list[dict[str, Any]]:
        """Manifest documents that are never sent (rejected, or the number may not be dialled)."""
        ids = {fax.recipient_id for fax in self.batch.faxes}
        return [doc for doc in self.batch.documents if doc.get("recipient_id") not in ids]

    @property
    def exit_code(self) -> ExitCode:
        """0 when every fax that was to go was handed over; 8 when one was not, or may not be."""
        bad = (NOT_SUBMITTED, UNCERTAIN, INTENT)
        if self.stopped or any(o.state in bad for o in self.outcomes):
            return ExitCode.SEND_FAILED
        return ExitCode.OK


# -- helpers ----------------------------------------------------------------------------------
def destination(fax: Fax, gateway: str, settings: GatewaySettings) -> str:
    """Where a fax goes: HylaFAX's dial string, or the email gateway's address."""
    if gateway == "email":
        return emailfax.address(fax, settings.email)
    return fax.dial_string


def server_of(gateway: str, settings: GatewaySettings) -> str:
    """The server a gateway is reached at, as the journal records it."""
    return settings.email.server if gateway == "email" else settings.hylafax.server


def _describe(sub: Submission) -> str:
    job = f" job {sub.job_id}" if sub.job_id else ""
    when = f" at {sub.submitted_at}" if sub.submitted_at else ""
    return f"{sub.gateway}{job}{when}, {sub.state}"


# -- planning ---------------------------------------------------------------------------------
def plan_faxes(
    batch: Batch,
    request: SendRequest,
    latest: Mapping[str, Submission],
    latest_by_recipient: Mapping[str, Submission],
    tagged: Mapping[str, QueueJob] | None,
    now: dt.datetime,
) -> list[PlannedFax]:
    """What to do with each sendable fax (or, with ``--resend``, with the one named)."""
    if request.resend is not None:
        return [_plan_resend(batch, request, latest, tagged, now)]
    items: list[PlannedFax] = []
    for fax in batch.faxes:
        previous = latest.get(fax.key)
        if previous is None:
            earlier = latest_by_recipient.get(fax.recipient_id)
            if earlier is not None and earlier.handed_over:
                reason = (
                    f"an earlier version of this document was handed over ({_describe(earlier)});"
                    f" use --resend {fax.recipient_id} to send this version"
                )
                items.append(PlannedFax(fax, SKIP, reason, earlier))
                continue
            job = tagged.get(job_tag(fax.key, 1)) if tagged is not None else None
            if job is not None:
                reason = f"already on the server as job {job.job_id} (found by its tag)"
                items.append(PlannedFax(fax, ADOPT, reason, None, job))
                continue
            items.append(_windowed(fax, SEND, "", None, request.gateway, now))
        elif previous.state == INTENT:
            reason = "an earlier run stopped while handing it over and its server cannot be asked"
            items.append(PlannedFax(fax, SKIP, reason, previous))
        elif previous.state == NOT_SUBMITTED:
            reason = f"try again: {previous.last_error or 'not taken last time'}"
            items.append(_windowed(fax, SEND, reason, previous, request.gateway, now))
        elif previous.state == UNCERTAIN:
            reason = f"uncertain ({_describe(previous)}); use --resend {fax.recipient_id}"
            items.append(PlannedFax(fax, SKIP, reason, previous))
        else:
            items.append(PlannedFax(fax, SKIP, f"already handed over: {_describe(previous)}"))
    return items


def _windowed(
    fax: Fax, action: str, reason: str, previous: Submission | None, gateway: str, now: dt.datetime
) -> PlannedFax:
    if fax.window_end is not None and hylafax.floor_minute(fax.window_end) <= now:
        why = f"its sending window closed at {format_utc(fax.window_end)}; build the batch again"
        return PlannedFax(fax, EXPIRED, why, previous)
    if fax.window_start is not None and fax.window_start > now:
        if gateway == "email":
            why = f"its sending window opens at {format_utc(fax.window_start)}; send again then"
            return PlannedFax(fax, WAIT, why, previous)
        reason = f"scheduled for {format_utc(fax.window_start)}" + (f"; {reason}" if reason else "")
    return PlannedFax(fax, action, reason, previous)


def _plan_resend(
    batch: Batch,
    request: SendRequest,
    latest: Mapping[str, Submission],
    tagged: Mapping[str, QueueJob] | None,
    now: dt.datetime,
) -> PlannedFax:
    wanted = request.resend or ""
    fax = batch.fax(wanted)
    if fax is None:
        known = [doc.get("recipient_id") for doc in batch.documents]
        if wanted in known:
            raise UsageError(
                f"'{wanted}' is never sent: it was rejected or its number may not be dialled",
                hint="see its problems in manifest.csv; fix the campaign and build again",
            )
        close = difflib.get_close_matches(wanted, [str(k) for k in known], n=1)
        hint = f"did you mean '{close[0]}'?" if close else "the ids are in manifest.csv"
        raise UsageError(f"no recipient '{wanted}' in this batch", hint=hint)
    previous = latest.get(fax.key)
    if previous is not None and previous.state == INTENT:
        raise SendError(
            f"an earlier run stopped while handing '{wanted}' over, and its server cannot be "
            "asked now",
            hint="run 'faxbatch send' or 'faxbatch status' once the server answers",
        )
    if previous is not None and previous.gateway == "hylafax" and tagged is not None:
        job = tagged.get(previous.job_tag)
        if job is not None and job.state in ("queued", "sending"):
            raise UsageError(
                f"'{wanted}' is still in the HylaFAX queue as job {job.job_id} ({job.state})",
                hint=f"remove it first (faxrm -h {previous.server} {job.job_id}) or let it finish",
            )
    reason = f"on purpose; before: {_describe(previous)}" if previous else "on purpose"
    return _windowed(fax, RESEND, reason, previous, request.gateway, now)


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


# -- sending ----------------------------------------------------------------------------------
def send_batch(
    root: Path,
    request: SendRequest,
    *,
    clock: Clock = now_utc,
    on_plan: Callable[[SendResult], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> SendResult:
    """Plan, and when ``request.confirm``, hand the batch's faxes to the gateway.

    ``on_plan`` sees the plan before anything is sent, ``on_outcome`` each fax as it is handed
    over (the command line prints them as they come).
    """
    if request.gateway not in GATEWAYS:
        raise UsageError(f"unknown gateway '{request.gateway}' (use {' or '.join(GATEWAYS)})")
    batch = load_batch(root)
    batch.check_paths()  # a tampered manifest stops here, before any server is asked
    request = resolve_settings(batch, request)
    settings = request.resolved
    if request.gateway == "email":
        emailfax.check_settings(settings.email)
    server = server_of(request.gateway, settings)
    written: list[Path] = []
    warnings: list[str] = []
    with Journal(batch.root, create=request.confirm) as journal:
        if exports_missing(batch.root):
            try:
                written = write_exports(batch.root, batch.manifest, settings.hylafax)
            except OSError as exc:
                warnings.append(f"cannot write the gateway exports ({exc.strerror or exc})")
            except OutputNotWritableError as exc:
                warnings.append(exc.message)
        intents = journal.in_state(INTENT)
        servers = [s.server for s in intents if s.gateway == "hylafax"]
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
        decided = reconcile(intents, asked, now)
        if request.confirm:
            apply(journal, decided, now)
            latest = journal.latest()
            by_recipient = journal.latest_by_recipient()
        else:
            latest = journal.latest()
            by_recipient = journal.latest_by_recipient()
            for item in decided:
                changed = replace(item.submission, state=item.state)
                latest[changed.idempotency_key] = changed
                by_recipient[changed.recipient_id] = changed
        items = plan_faxes(batch, request, latest, by_recipient, tagged, now)
        result = SendResult(batch, request, server, items, decided, exports_written=written)
        result.warnings = warnings
        _check_files(batch, result.to_send)
        if not request.confirm:
            return result
        result.confirmed = True
        if on_plan is not None:
            on_plan(result)
        _hand_over(batch, request, journal, result, clock, on_outcome)
    return result


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
        why = f"its sending window closed at {format_utc(fax.window_end)}"
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
    if fax.window_end is not None and hylafax.floor_minute(fax.window_end) <= now:
        why = f"its sending window closed at {format_utc(fax.window_end)}"
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
    except emailfax.EmailRefused as exc:
        journal.update(sub, NOT_SUBMITTED, now=clock(), last_error=exc.message)
        return Outcome(fax, item.action, NOT_SUBMITTED, None, exc.message)
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


# -- status and report ------------------------------------------------------------------------
# -- words for the command line ---------------------------------------------------------------
def plan_lines(result: SendResult) -> list[str]:
    """The plan, as the command line shows it before anything is sent."""
    count = len(result.to_send)
    head = f"{count} fax(es), {result.pages} page(s), to send" if count else "Nothing to send"
    lines = [f"{head} via {result.gateway} ({result.server}) from {result.batch.root}:"]
    for item in result.to_send:
        fax = item.fax
        where = destination_text(fax, result)
        extra = f"  [{item.reason}]" if item.reason else ""
        lines.append(f"  {fax.recipient_id}: {fax.e164} ({where}), {fax.pages} page(s){extra}")
    lines += _other_lines(result)
    return lines


def destination_text(fax: Fax, result: SendResult) -> str:
    """How the plan shows where a fax goes."""
    where = destination(fax, result.gateway, result.request.resolved)
    return f"to {where}" if result.gateway == "email" else f"dial {where}"


def _other_lines(result: SendResult) -> list[str]:
    lines: list[str] = []
    for rec in result.reconciled:
        lines.append(f"  reconciled {rec.submission.recipient_id}: {rec.state} ({rec.note})")
    held = [item for item in result.items if item.action not in (SEND, RESEND)]
    for item in held:
        lines.append(f"  {item.action} {item.fax.recipient_id}: {item.reason}")
    if result.not_sendable:
        ids = ", ".join(str(doc.get("recipient_id")) for doc in result.not_sendable)
        lines.append(f"  never sent (rejected or number not usable): {ids}")
    return lines


def outcome_line(outcome: Outcome) -> str:
    """One line per fax as it is handed over."""
    job = f" job {outcome.job_id}" if outcome.job_id else ""
    note = f" ({outcome.message})" if outcome.message else ""
    return f"  {outcome.fax.recipient_id}: {outcome.state}{job}{note}"


def summary_lines(result: SendResult) -> list[str]:
    """The end of a confirmed run."""
    handed = [o for o in result.outcomes if o.state not in (NOT_SUBMITTED, UNCERTAIN, INTENT)]
    lines = [f"{len(handed)} of {len(result.outcomes)} fax(es) handed to {result.gateway}."]
    if result.stopped:
        lines.append(f"Stopped: {result.stopped}")
        lines.append("Run 'faxbatch send' again to continue where it stopped.")
    lines.append(f"Journal: {result.batch.root / 'journal.sqlite'}")
    return lines
