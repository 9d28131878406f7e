"""Email-to-fax: one message per fax to ``<digits>@<gateway domain>``, the PDF attached.

Sent with :mod:`smtplib` through one SMTP session per run (STARTTLS and login when configured; the
password only from ``FAXBATCH_SMTP_PASSWORD``). Each message's Message-ID holds the fax's job tag,
so that a gateway that removes duplicates by Message-ID can, and a copy can be traced.

The envelope is given explicitly, never read from the headers: the checked sender address, and
exactly one recipient made of the fax's E.164 digits and the checked gateway domain.

What an SMTP error means for "was it sent?" matters here, because an email gateway cannot be asked
afterwards: a refusal the server answered (:class:`smtplib.SMTPResponseException` and friends) means
the message was not taken; a dropped connection before the data was sent means it was not sent
(:class:`EmailNotSent`); one while the data was sent means nobody knows (:class:`EmailUncertain`).
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import re
import smtplib
import ssl
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from types import TracebackType

from faxbatch import __version__
from faxbatch.campaign.gateway_settings import (
    PASSWORD_VARIABLE,
    EmailSettings,
    check_address,
    check_domain,
    shown,
)
from faxbatch.errors import InputUnreadableError, SendError, UsageError
from faxbatch.sending.batch import Fax


class EmailRefused(SendError):
    """The SMTP server answered that it does not take this message: it was not sent.

    ``code`` is its reply code: 4xx means it may take it later (tried again on the next send),
    5xx that it will not.
    """

    def __init__(self, message: str, code: int = 0, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code

    @property
    def transient(self) -> bool:
        """Whether the refusal may pass (a 4xx reply)."""
        return 400 <= self.code < 500


class EmailUncertain(SendError):
    """The session broke while handing over a message: it may or may not have been sent."""


class EmailNotSent(SendError):
    """The session broke before the message's data was sent: it surely was not sent."""


def _said(code: int, reply: bytes) -> str:
    return f"{code} {reply.decode('ascii', 'replace')}"


def _refused(exc: smtplib.SMTPResponseException) -> str:
    reply = exc.smtp_error
    text = reply.decode("ascii", "replace") if isinstance(reply, bytes) else str(reply)
    return f"the SMTP server refused the message: {exc.smtp_code} {' '.join(text.split())}"


#: a header line faxbatch writes is never longer than this (the rest of a long title is cut)
_HEADER_LIMIT = 200
_DIGITS = re.compile(r"[0-9]{1,15}")


def address(fax: Fax, settings: EmailSettings) -> str:
    """``77272715802@fax.example.net``: the E.164 digits at the checked gateway domain, only."""
    if not _DIGITS.fullmatch(fax.digits):
        raise InputUnreadableError(
            f"{fax.recipient_id}: the number {fax.e164!r} is not an E.164 number",
            hint="build the batch again; faxbatch sends only to the numbers it read",
        )
    return f"{fax.digits}@{check_domain(settings.domain)}"


def message_id(tag: str, settings: EmailSettings) -> str:
    """The Message-ID of a fax's message: its job tag, at the gateway's domain."""
    return f"<{tag}.faxbatch@{settings.domain}>"


def header_text(text: str, limit: int = _HEADER_LIMIT) -> str:
    """Text safe for one header line: line breaks and other control characters become spaces.

    A campaign title may hold a newline (valid YAML); in a header it would end the header, or make
    the email library refuse the message after the journal has recorded its intent.
    """
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(cleaned.split())[:limit].rstrip()


def build_message(fax: Fax, pdf: bytes, settings: EmailSettings, regarding: str) -> EmailMessage:
    """The message for one fax, without its Message-ID (see :func:`tag_message`).

    Every header value is made safe here, so that the message is complete before the journal
    records the intent to send it.
    """
    values = placeholder_values(fax, regarding)
    subject = header_text(settings.subject.format_map(values)) if settings.subject else ""
    msg = EmailMessage()
    msg["From"] = check_address(settings.from_address)
    msg["To"] = address(fax, settings)
    msg["Subject"] = subject or header_text(regarding) or header_text(f"Fax for {fax.label}")
    msg["Date"] = formatdate(localtime=False)
    msg["X-Faxbatch-Key"] = header_text(fax.key)
    msg["X-Mailer"] = f"faxbatch {__version__}"
    # no text part unless the campaign asks for one: many gateways fax a text as an extra page
    body = settings.body.format_map(values).strip()
    if body:
        msg.set_content(body + "\n")
    name = header_text(Path(fax.file).name) or "fax.pdf"
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=name)
    return msg


def placeholder_values(fax: Fax, regarding: str) -> dict[str, str]:
    """What ``gateway.email.subject`` and ``.body`` may put in (see ``EMAIL_PLACEHOLDERS``)."""
    values = {
        "id": fax.recipient_id,
        "name": fax.recipient_name,
        "organization": fax.organization,
        "number": fax.e164,
        "pages": str(fax.pages),
        "subject": regarding,
    }
    return values


def tag_message(msg: EmailMessage, tag: str, settings: EmailSettings) -> str:
    """Give the message its Message-ID (the job tag of the attempt); returns it."""
    value = message_id(header_text(tag), settings)
    msg["Message-ID"] = value
    return value


def flatten(msg: EmailMessage) -> bytes:
    """The message as it goes over the wire (CRLF line ends)."""
    buffer = io.BytesIO()
    BytesGenerator(buffer).flatten(msg, linesep="\r\n")
    return buffer.getvalue()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_settings(settings: EmailSettings) -> None:
    """Stop before sending anything when the email settings are incomplete or unsafe."""
    _check_domain(settings)
    check_smtp_settings(settings)


def _check_domain(settings: EmailSettings) -> None:
    if not settings.domain:
        raise UsageError(
            "the email gateway's domain is not set (faxes go to <digits>@DOMAIN)",
            hint="give --email-domain, or gateway.email.domain in the file given with --campaign",
        )
    try:
        check_domain(settings.domain)
    except ValueError as exc:
        raise UsageError(f"the email gateway's domain must be {exc}") from None


def check_smtp_settings(settings: EmailSettings, *, why: str = "") -> None:
    """Stop before sending anything when the SMTP settings are incomplete or unsafe.

    ``why``: what the messages are for, when it is not the email gateway (the copies to the
    organizers), said at the start of each error.
    """
    try:
        _check_smtp(settings)
    except UsageError as exc:
        if not why:
            raise
        raise UsageError(f"{why}: {exc.message}", hint=exc.hint) from None


def _check_smtp(settings: EmailSettings) -> None:
    if not settings.from_address:
        raise UsageError(
            "the sender address of the email messages is not set",
            hint="give --from, or gateway.email.from (or .user) in the file given with --campaign",
        )
    try:
        check_address(settings.from_address)
    except ValueError as exc:
        which = "--from (gateway.email.from)" if settings.sender else "the SMTP user"
        raise UsageError(
            f"the sender address {shown(settings.from_address)} is not usable: "
            f"{which} must be {exc}",
            hint="give the sender's address with --from, or gateway.email.from",
        ) from None
    password = settings.password()
    if settings.user and not password:
        raise UsageError(
            f"SMTP user '{settings.user}' is set but {PASSWORD_VARIABLE} is not",
            hint=f"export {PASSWORD_VARIABLE}=... (never write it in the campaign file)",
        )
    if password is not None and (not password.isascii() or not password.isprintable()):
        raise UsageError(
            f"{PASSWORD_VARIABLE} holds characters SMTP logins cannot carry",
            hint="SMTP AUTH takes printable ASCII passwords only",
        )
    if settings.user and not settings.starttls and not _is_loopback(settings.smtp_host):
        raise UsageError(
            f"refusing to send the SMTP password to {settings.smtp_host} without STARTTLS",
            hint="turn STARTTLS on (gateway.email.starttls: true, or --starttls)",
        )


class SmtpSession:
    """One SMTP connection for a whole run; use as a context manager."""

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSession:
        self._connect()
        return self

    def _connect(self) -> None:
        settings = self.settings
        try:
            smtp = smtplib.SMTP(settings.smtp_host, settings.port, timeout=settings.timeout)
        except OSError as exc:  # smtplib's errors are OSErrors too
            raise SendError(
                f"cannot connect to the SMTP server {settings.server} ({exc})",
                hint="check gateway.email.smtp_host/smtp_port, or --host/--port",
            ) from None
        self._smtp = smtp
        try:
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            password = settings.password()
            if settings.user and password:
                smtp.login(settings.user, password)
        except OSError as exc:
            self.close()
            hint = None
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                hint = f"check the user and {PASSWORD_VARIABLE}"
            elif isinstance(exc, smtplib.SMTPNotSupportedError):
                hint = "the server offers no STARTTLS; set gateway.email.starttls: false "
                hint += "(or --no-starttls) only if it is on this machine"
            elif isinstance(exc, ssl.SSLError):
                hint = "its certificate is not trusted here (SSL_CERT_FILE may name a CA file)"
            raise SendError(
                f"the SMTP server {settings.server} refused the session ({exc})", hint=hint
            ) from None

    def _ready(self) -> smtplib.SMTP:
        """The session, opened again if the server dropped it since the last message."""
        if self._smtp is not None:
            try:
                code, _ = self._smtp.noop()
                if code == 250:
                    return self._smtp
            except OSError:
                pass
            self.close()
        self._connect()
        assert self._smtp is not None
        return self._smtp

    def send(self, data: bytes, sender: str, recipient: str) -> None:
        """Hand one message (as :func:`flatten` gives it) over to exactly ``recipient``.

        The envelope is given here, never taken from the headers. :class:`EmailRefused` when the
        server refused it, :class:`EmailNotSent` when the session broke before the data was
        sent (nothing went out), :class:`EmailUncertain` when it broke while the data was sent.
        """
        smtp = self._ready()  # nothing of this message has gone out yet
        try:
            smtp.ehlo_or_helo_if_needed()
            options = [f"size={len(data)}"] if smtp.has_extn("size") else []
            code, reply = smtp.mail(sender, options)
            if code != 250:
                self._reset(smtp)
                raise EmailRefused(
                    f"the SMTP server refused the sender {sender}: {_said(code, reply)}", code
                )
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                self._reset(smtp)
                raise EmailRefused(
                    f"the SMTP server refused the recipient {recipient}: {_said(code, reply)}",
                    code,
                )
        except smtplib.SMTPResponseException as exc:
            raise EmailRefused(_refused(exc), exc.smtp_code) from None
        except OSError as exc:  # no data was sent: the server cannot deliver anything
            self.close()
            raise EmailNotSent(
                f"the SMTP session broke before the message was sent ({type(exc).__name__}: {exc})"
            ) from None
        try:
            code, reply = smtp.data(data)
        except smtplib.SMTPResponseException as exc:  # an answer: the server did not take it
            raise EmailRefused(_refused(exc), exc.smtp_code) from None
        except OSError as exc:  # a dropped connection or a timeout, mid-transaction
            raise EmailUncertain(
                f"the SMTP session broke while sending ({type(exc).__name__}: {exc})"
            ) from None
        if code != 250:  # smtplib returns the answer to the data itself, without raising
            raise EmailRefused(f"the SMTP server refused the message: {_said(code, reply)}", code)

    @staticmethod
    def _reset(smtp: smtplib.SMTP) -> None:
        with contextlib.suppress(OSError):  # the next message opens the session again
            smtp.rset()

    def close(self) -> None:
        """End the session (politely if it still stands)."""
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except OSError:
            self._smtp.close()
        self._smtp = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
