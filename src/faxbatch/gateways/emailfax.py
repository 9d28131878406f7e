"""Email-to-fax: one message per fax to ``<digits>@<gateway domain>``, the PDF attached.

Sent with :mod:`smtplib` through one SMTP session per run (STARTTLS and login when configured; the
password only from ``FAXBATCH_SMTP_PASSWORD``). Each message's Message-ID holds the fax's job tag,
so that a gateway that removes duplicates by Message-ID can, and a copy can be traced.

What an SMTP error means for "was it sent?" matters here, because an email gateway cannot be asked
afterwards: a refusal the server answered (:class:`smtplib.SMTPResponseException` and friends) means
the message was not taken; a dropped connection or a timeout during the transaction means nobody
knows (:class:`EmailUncertain`).
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from types import TracebackType

from faxbatch import __version__
from faxbatch.batch import Fax
from faxbatch.errors import SendError, UsageError
from faxbatch.gateways.settings import PASSWORD_VARIABLE, EmailSettings


class EmailRefused(SendError):
    """The SMTP server answered that it does not take this message: it was not sent."""


class EmailUncertain(SendError):
    """The session broke while handing over a message: it may or may not have been sent."""


def address(fax: Fax, settings: EmailSettings) -> str:
    """``77272715802@fax.example.net``."""
    return f"{fax.digits}@{settings.domain}"


def message_id(tag: str, settings: EmailSettings) -> str:
    """The Message-ID of a fax's message: its job tag, at the gateway's domain."""
    return f"<{tag}.faxbatch@{settings.domain}>"


def build_message(
    fax: Fax, pdf: bytes, settings: EmailSettings, regarding: str, tag: str
) -> EmailMessage:
    """The message for one fax."""
    msg = EmailMessage()
    msg["From"] = settings.from_address
    msg["To"] = address(fax, settings)
    msg["Subject"] = regarding or f"Fax for {fax.label}"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id(tag, settings)
    msg["X-Faxbatch-Key"] = fax.key
    msg["X-Mailer"] = f"faxbatch {__version__}"
    msg.set_content(
        f"Fax for {fax.label}, {fax.international}: {fax.pages} page(s), attached as PDF.\n"
    )
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=Path(fax.file).name)
    return msg


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_settings(settings: EmailSettings) -> None:
    """Stop before sending anything when the email settings are incomplete or unsafe."""
    if not settings.domain:
        raise UsageError(
            "the email gateway's domain is not set (faxes go to <digits>@DOMAIN)",
            hint="give --email-domain, or gateway.email.domain in the file given with --campaign",
        )
    if not settings.from_address:
        raise UsageError(
            "the sender address of the email messages is not set",
            hint="give --from, or gateway.email.from (or .user) in the file given with --campaign",
        )
    if settings.user and not settings.password():
        raise UsageError(
            f"SMTP user '{settings.user}' is set but {PASSWORD_VARIABLE} is not",
            hint=f"export {PASSWORD_VARIABLE}=... (never write it in the campaign file)",
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

    def send(self, msg: EmailMessage) -> None:
        """Hand one message over; :class:`EmailRefused` or :class:`EmailUncertain` if not."""
        smtp = self._ready()  # nothing of this message has gone out yet
        try:
            refused = smtp.send_message(msg)
        except (
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPSenderRefused,
            smtplib.SMTPDataError,
        ) as exc:
            raise EmailRefused(f"the SMTP server refused the message: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            # an answer other than to DATA's end (e.g. to RSET); it came before the data was taken
            raise EmailRefused(f"the SMTP server refused the message: {exc}") from None
        except OSError as exc:  # a dropped connection or a timeout, mid-transaction
            raise EmailUncertain(
                f"the SMTP session broke while sending ({type(exc).__name__}: {exc})"
            ) from None
        if refused:
            raise EmailRefused(f"the SMTP server refused the recipient: {refused}")

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
