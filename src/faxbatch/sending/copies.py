"""Copies to the organizers: each fax ``send`` hands over, emailed to every ``copies_to`` address.

The campaign asks for them (``copies_to:``; the manifest lists them under ``campaign.copies_to``);
they go through the SMTP settings of ``gateway.email`` (the password only from the environment),
whichever gateway the faxes take. The campaign journal keeps one row per document and address
(:meth:`~faxbatch.sending.journal.Journal.record_copy_intent`), written before the message is
handed to the SMTP server and updated after: a copy is emailed once, also after a crash (a copy
whose run stopped while emailing it is ``uncertain`` and never emailed again by itself), and a
copy that could not go (the server was down, a 4xx) goes with the next ``send``.

Which copies are due is worked out from the journal, not from what one run did: every fax of the
batch whose latest attempt the gateway has (queued, sending, done) and whose copy has not gone.
So a run that stopped between handing a fax over and emailing its copy, or ``send --no-copies``,
leaves copies that the next ``send`` emails; and a fax resent on purpose (the same document) gets
no second copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from faxbatch import __version__
from faxbatch.campaign.gateway_settings import EmailSettings, check_address
from faxbatch.errors import CampaignError, InputUnreadableError, SendError
from faxbatch.sending.batch import MANIFEST_NAME, Batch, Fax
from faxbatch.sending.gateways import emailfax
from faxbatch.sending.journal import (
    DONE,
    FAILED,
    INTENT,
    NOT_SUBMITTED,
    PERMANENT,
    QUEUED,
    SENDING,
    SENT,
    SUBMITTED,
    TRANSIENT,
    UNCERTAIN,
    UNKNOWN,
    CopyRecord,
    Journal,
    Submission,
)

#: states of a fax's latest attempt in which the gateway has it: its copies are due
COPIED = frozenset({SUBMITTED, QUEUED, SENDING, DONE, UNKNOWN})
#: what the copies are, for the start of an error about their SMTP settings
WHY = "copies_to needs the SMTP settings of gateway.email"


@dataclass(frozen=True)
class CopyAddress:
    """One ``copies_to`` entry: a checked address and, maybe, a name."""

    email: str
    name: str = ""

    @property
    def label(self) -> str:
        """``Campaign office <organizers@example.org>``, or the address alone."""
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True)
class DueCopy:
    """A copy to email: one fax to one address.

    ``handed`` is the fax's attempt the gateway has (None in a plan, for a fax this run is about
    to hand over).
    """

    fax: Fax
    to: CopyAddress
    handed: Submission | None = None
    previous: CopyRecord | None = None


@dataclass
class CopyResult:
    """What one run did with the copies: emailed, and what stopped or refused one."""

    sent: list[DueCopy] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: a run before this one stopped while emailing these (now ``uncertain``)
    uncertain: list[CopyRecord] = field(default_factory=list)


def copies_of(batch: Batch) -> tuple[CopyAddress, ...]:
    """The ``copies_to`` addresses the manifest lists, each checked (the manifest is untrusted).

    :class:`CampaignError` (exit 3) naming the entry when one is not a plain address.
    """
    found = batch.campaign.get("copies_to")
    if found is None:
        return ()
    source = str(batch.root / MANIFEST_NAME)
    if not isinstance(found, list):
        raise CampaignError("expected a list of {name, email}", source=source, field="copies_to")
    addresses: list[CopyAddress] = []
    for index, entry in enumerate(found):
        where = f"campaign.copies_to[{index}]"
        email = entry.get("email") if isinstance(entry, dict) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        try:
            check_address(email if isinstance(email, str) else "")
        except ValueError as exc:
            raise CampaignError(
                f"the copy address must be {exc}",
                source=source,
                field=f"{where}.email",
                hint="build the batch again from the campaign file",
            ) from None
        assert isinstance(email, str)
        text = emailfax.header_text(name) if isinstance(name, str) else ""
        addresses.append(CopyAddress(email, text))
    return tuple(dict.fromkeys(addresses))


def due_copies(
    faxes: Iterable[tuple[Fax, Submission | None]],
    addresses: Sequence[CopyAddress],
    records: Mapping[tuple[str, str], CopyRecord],
    max_attempts: int,
) -> list[DueCopy]:
    """The copies to email for these faxes: each address that has not had the document's copy.

    A copy that went, may have gone, failed for good or used its ``max_attempts`` is not due.
    """
    due: list[DueCopy] = []
    for fax, handed in faxes:
        for to in addresses:
            record = records.get((fax.key, to.email))
            if record is None or _again(record, max_attempts):
                due.append(DueCopy(fax, to, handed, record))
    return due


def _again(record: CopyRecord, max_attempts: int) -> bool:
    if record.state == NOT_SUBMITTED:
        return True
    return record.state == FAILED and record.failure == TRANSIENT and record.attempts < max_attempts


def held_copies(
    batch: Batch, records: Mapping[tuple[str, str], CopyRecord], max_attempts: int
) -> list[tuple[CopyRecord, str]]:
    """The copies of this batch's faxes that will not go by themselves, and why."""
    keys = {fax.key for fax in batch.faxes}
    held: list[tuple[CopyRecord, str]] = []
    for record in records.values():
        if record.idempotency_key not in keys:
            continue
        if record.state in (UNCERTAIN, INTENT):
            why = f"a run stopped while emailing it ({record.updated_at}): it may have gone"
            held.append((record, why + "; it is not emailed again"))
        elif record.state == FAILED and not _again(record, max_attempts):
            why = record.last_error or "refused"
            held.append((record, f"not emailed: {why} ({record.attempts} attempt(s))"))
    return held


def handed_faxes(
    batch: Batch, history: Mapping[str, Sequence[Submission]]
) -> list[tuple[Fax, Submission | None]]:
    """The batch's faxes whose latest attempt the gateway has, with that attempt."""
    found: list[tuple[Fax, Submission | None]] = []
    for fax in batch.faxes:
        rows = history.get(fax.key)
        if rows and rows[-1].state in COPIED:
            found.append((fax, rows[-1]))
    return found


def copy_message_id(fax: Fax, to: CopyAddress, settings: EmailSettings) -> str:
    """The same Message-ID for the same copy on every attempt: a server may drop a repeat."""
    digest = hashlib.sha256(to.email.encode("utf-8")).hexdigest()[:12]
    domain = settings.from_address.rpartition("@")[2] or "faxbatch.invalid"
    return f"<copy.{fax.key[:40]}.{digest}.faxbatch@{domain}>"


def build_copy(
    copy: DueCopy, pdf: bytes, settings: EmailSettings, regarding: str, message_id: str
) -> EmailMessage:
    """The copy's message: the fax's PDF attached, a subject naming the recipient and reference.

    Every header value is made one line here, before the journal records the intent.
    """
    fax, handed = copy.fax, copy.handed
    subject = f"Copy of the fax to {fax.label}"
    if regarding:
        subject += f" ({regarding})"
    msg = EmailMessage()
    msg["From"] = check_address(settings.from_address)
    user, _, domain = check_address(copy.to.email).rpartition("@")
    msg["To"] = Address(display_name=copy.to.name, username=user, domain=domain)
    msg["Subject"] = emailfax.header_text(subject)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    msg["X-Faxbatch-Key"] = emailfax.header_text(fax.key)
    msg["X-Faxbatch-Copy-Of"] = emailfax.header_text(fax.recipient_id)
    msg["X-Mailer"] = f"faxbatch {__version__}"
    lines = [
        "A copy of a fax of the campaign, for the organizers (copies_to).",
        "",
        f"To:        {emailfax.header_text(fax.label)}",
        f"Number:    {fax.international} ({fax.e164})",
        f"Pages:     {fax.pages}",
    ]
    if regarding:
        lines.append(f"Regarding: {emailfax.header_text(regarding)}")
    if handed is not None:
        job = f", job {handed.job_id}" if handed.job_id else ""
        when = handed.submitted_at or handed.updated_at
        lines.append(f"Handed to: {handed.gateway} ({handed.server}{job}) at {when}")
    lines += ["", f"faxbatch {__version__}"]
    msg.set_content("\n".join(lines) + "\n")
    name = emailfax.header_text(Path(fax.file).name) or "fax.pdf"
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=name)
    return msg


def mark_uncertain(journal: Journal, now: dt.datetime) -> list[CopyRecord]:
    """Record as ``uncertain`` the copies an earlier run left as ``intent``.

    That run stopped while emailing them, so they may have gone: never emailed again by
    themselves.
    """
    found: list[CopyRecord] = []
    for record in journal.copies().values():
        if record.state == INTENT:
            why = "the run stopped while emailing it: it may or may not have gone"
            found.append(journal.update_copy(record, UNCERTAIN, now=now, last_error=why))
    return found


def send_copies(
    batch: Batch,
    journal: Journal,
    addresses: Sequence[CopyAddress],
    settings: EmailSettings,
    *,
    max_attempts: int,
    clock: Callable[[], dt.datetime],
) -> CopyResult:
    """Email every copy due for this batch (see :func:`due_copies`), each recorded in the journal.

    The SMTP session opens only when a copy is due. A server that cannot be reached, or that
    drops the session, stops the copies (the next ``send`` emails the rest); a refusal is
    recorded (a 4xx is tried again next time, at most ``max_attempts`` times) and the others go.
    """
    result = CopyResult()
    if not addresses:
        return result
    result.uncertain = mark_uncertain(journal, clock())
    handed = handed_faxes(batch, journal.history())
    due = due_copies(handed, addresses, journal.copies(), max_attempts)
    if not due:
        return result
    try:
        with emailfax.SmtpSession(settings) as session:
            for copy in due:
                problem, stop = _send_one(batch, journal, copy, settings, session, clock)
                if problem:
                    result.problems.append(problem)
                else:
                    result.sent.append(copy)
                if stop:
                    left = len(due) - len(result.sent) - len(result.problems)
                    if left:
                        result.problems.append(f"{left} more copy(ies) not emailed this time")
                    break
    except SendError as exc:  # the session could not be opened: nothing was recorded
        result.problems.append(f"no copy emailed: {exc.message}")
    return result


def _send_one(
    batch: Batch,
    journal: Journal,
    copy: DueCopy,
    settings: EmailSettings,
    session: emailfax.SmtpSession,
    clock: Callable[[], dt.datetime],
) -> tuple[str, bool]:
    """Email one copy; returns what went wrong ("" when it went) and whether to stop."""
    fax = copy.fax
    what = f"copy of {fax.recipient_id} to {copy.to.email}"
    try:
        path = batch.path(fax)
        pdf = path.read_bytes()
    except InputUnreadableError as exc:
        return f"{what}: {exc.message}", False
    except OSError as exc:
        return f"{what}: cannot read {fax.file} ({exc.strerror or exc})", False
    if hashlib.sha256(pdf).hexdigest() != fax.sha256:
        return f"{what}: {fax.file} changed since the build (SHA-256 differs)", False
    message_id = copy_message_id(fax, copy.to, settings)
    data = emailfax.flatten(build_copy(copy, pdf, settings, batch.regarding, message_id))
    record = journal.record_copy_intent(
        key=fax.key,
        recipient_id=fax.recipient_id,
        address=copy.to.email,
        message_id=message_id,
        server=settings.server,
        file=fax.file,
        sha256=fax.sha256,
        now=clock(),
        batch=batch.root,
    )
    if record is None:  # recorded meanwhile: never twice
        return "", False
    try:
        session.send(data, settings.from_address, copy.to.email)
    except emailfax.EmailRefused as exc:
        failure = TRANSIENT if exc.transient else PERMANENT
        journal.update_copy(record, FAILED, now=clock(), last_error=exc.message, failure=failure)
        return f"{what}: {exc.message} ({failure})", False
    except emailfax.EmailUncertain as exc:
        journal.update_copy(record, UNCERTAIN, now=clock(), last_error=exc.message)
        return f"{what}: {exc.message}; it may have gone, and is not emailed again", True
    except SendError as exc:  # EmailNotSent, or the session could not be opened again
        journal.update_copy(record, NOT_SUBMITTED, now=clock(), last_error=exc.message)
        return f"{what}: {exc.message}; the next send emails it", True
    journal.update_copy(record, SENT, now=clock())
    return "", False


def planned_copies(
    batch: Batch,
    history: Mapping[str, Sequence[Submission]],
    records: Mapping[tuple[str, str], CopyRecord],
    addresses: Sequence[CopyAddress],
    to_send: Iterable[Fax],
    max_attempts: int,
) -> list[DueCopy]:
    """The copies a confirmed run would email: for the faxes handed over before and this run's."""
    faxes: dict[str, tuple[Fax, Submission | None]] = {}
    for fax, handed in handed_faxes(batch, history):
        faxes[fax.key] = (fax, handed)
    for fax in to_send:
        faxes.setdefault(fax.key, (fax, None))
    return due_copies(faxes.values(), addresses, records, max_attempts)
