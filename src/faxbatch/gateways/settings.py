"""Where the gateways are and how to use them: the ``gateway:`` section, then command-line options.

The section may sit in the campaign file (``faxbatch send --campaign FILE``) or in the manifest's
``campaign`` part; options given on the command line win. The SMTP password is never read from a
file: only from the environment variable ``FAXBATCH_SMTP_PASSWORD``.

.. code-block:: yaml

    gateway:
      hylafax: {host: localhost, port: 4559, tries: 3, dials: 12, resolution: fine, bulk: true}
      email:
        domain: fax.example.net        # faxes go to <digits>@fax.example.net
        smtp_host: smtp.example.org
        smtp_port: 587
        starttls: true
        user: campaign@example.org     # the password comes from FAXBATCH_SMTP_PASSWORD
        from: campaign@example.org
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from faxbatch.errors import CampaignError, InputUnreadableError, UsageError

PASSWORD_VARIABLE = "FAXBATCH_SMTP_PASSWORD"


@dataclass(frozen=True)
class HylafaxSettings:
    """A HylaFAX server and the sendfax options every job gets."""

    host: str = "localhost"
    port: int = 4559
    tries: int = 3
    dials: int = 12
    resolution: str = "fine"
    bulk: bool = True

    @property
    def server(self) -> str:
        """``host:port`` as sendfax's ``-h`` takes it."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class EmailSettings:
    """An email-to-fax gateway and the SMTP server that reaches it."""

    domain: str = ""
    smtp_host: str = "localhost"
    smtp_port: int | None = None
    starttls: bool = True
    user: str = ""
    sender: str = ""
    timeout: float = 60.0

    @property
    def port(self) -> int:
        """The SMTP port: as set, else 587 with STARTTLS and 25 without."""
        if self.smtp_port:
            return self.smtp_port
        return 587 if self.starttls else 25

    @property
    def server(self) -> str:
        """``host:port`` of the SMTP server."""
        return f"{self.smtp_host}:{self.port}"

    @property
    def from_address(self) -> str:
        """The message's sender."""
        return self.sender or self.user

    def password(self) -> str | None:
        """The SMTP password, from the environment only."""
        return os.environ.get(PASSWORD_VARIABLE) or None


@dataclass(frozen=True)
class GatewaySettings:
    """Both gateways' settings."""

    hylafax: HylafaxSettings = field(default_factory=HylafaxSettings)
    email: EmailSettings = field(default_factory=EmailSettings)


# key in the file -> attribute of the settings class, with the type it takes
_HYLAFAX_KEYS: dict[str, tuple[str, type]] = {
    "host": ("host", str),
    "port": ("port", int),
    "tries": ("tries", int),
    "dials": ("dials", int),
    "resolution": ("resolution", str),
    "bulk": ("bulk", bool),
}
_EMAIL_KEYS: dict[str, tuple[str, type]] = {
    "domain": ("domain", str),
    "smtp_host": ("smtp_host", str),
    "smtp_port": ("smtp_port", int),
    "starttls": ("starttls", bool),
    "user": ("user", str),
    "from": ("sender", str),
    "timeout": ("timeout", float),
}
_RESOLUTIONS = ("fine", "standard")
#: the command-line option of each override, for messages
_OPTION_NAMES = {"domain": "--email-domain", "user": "--smtp-user", "sender": "--from"}


def _error(source: str | None, path: str, message: str, hint: str | None = None) -> CampaignError:
    return CampaignError(message, source=source, field=path, hint=hint)


def _section(
    value: Any, path: str, keys: Mapping[str, tuple[str, type]], source: str | None
) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _error(source, path, f"expected a mapping of keys ({', '.join(keys)})")
    out: dict[str, Any] = {}
    for key, item in value.items():
        child = f"{path}.{key}"
        if key == "password":
            raise _error(
                source,
                child,
                "the SMTP password must not be written in a file",
                f"remove it and set the environment variable {PASSWORD_VARIABLE} instead",
            )
        if key not in keys:
            close = difflib.get_close_matches(str(key), list(keys), n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(keys)}"
            raise _error(source, child, f"unknown key '{key}'", hint)
        name, kind = keys[key]
        out[name] = _typed(item, kind, child, source)
    return out


def _typed(item: Any, kind: type, path: str, source: str | None) -> Any:
    if kind is bool:
        if not isinstance(item, bool):
            raise _error(source, path, f"expected true or false, not {item!r}")
        return item
    if kind is int or kind is float:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or item <= 0:
            raise _error(source, path, f"expected a positive number, not {item!r}")
        if kind is int and not float(item).is_integer():
            raise _error(source, path, f"expected a whole number, not {item!r}")
        return kind(item)
    if not isinstance(item, (str, int)) or isinstance(item, bool):
        raise _error(source, path, f"expected a text, not {item!r}")
    return str(item).strip()


def parse_gateway_section(section: Any, source: str | None = None) -> GatewaySettings:
    """Settings from a ``gateway:`` mapping (as loaded from YAML or JSON)."""
    if section is None:
        return GatewaySettings()
    if not isinstance(section, Mapping):
        raise _error(source, "gateway", "expected a mapping with 'hylafax' and/or 'email'")
    for key in section:
        if key not in ("hylafax", "email"):
            close = difflib.get_close_matches(str(key), ["hylafax", "email"], n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else "known keys: hylafax, email"
            raise _error(source, f"gateway.{key}", f"unknown key '{key}'", hint)
    hylafax = HylafaxSettings(
        **_section(section.get("hylafax"), "gateway.hylafax", _HYLAFAX_KEYS, source)
    )
    if hylafax.resolution not in _RESOLUTIONS:
        raise _error(
            source,
            "gateway.hylafax.resolution",
            f"unknown resolution '{hylafax.resolution}'",
            "use fine (204 x 196 dpi) or standard (204 x 98 dpi)",
        )
    email = EmailSettings(**_section(section.get("email"), "gateway.email", _EMAIL_KEYS, source))
    return GatewaySettings(hylafax=hylafax, email=email)


def load_gateway_file(path: Path) -> GatewaySettings:
    """The ``gateway:`` section of a YAML file (a campaign file or a file of its own)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputUnreadableError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputUnreadableError(f"cannot read {path} ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CampaignError(f"not valid YAML ({exc})", source=str(path)) from None
    if not isinstance(data, Mapping):
        raise CampaignError("expected a mapping at the top of the file", source=str(path))
    return parse_gateway_section(data.get("gateway"), source=str(path))


def with_overrides(settings: GatewaySettings, **options: Any) -> GatewaySettings:
    """Settings with command-line options laid over them (None means "not given").

    ``host``/``port`` go to the gateway named by ``gateway``; the other names are attributes of
    :class:`HylafaxSettings` or :class:`EmailSettings`.
    """
    gateway = options.pop("gateway", None)
    hylafax_names = {f.name for f in fields(HylafaxSettings)}
    email_names = {f.name for f in fields(EmailSettings)}
    hylafax: dict[str, Any] = {}
    email: dict[str, Any] = {}
    for name, value in options.items():
        if value is None:
            continue
        option = _OPTION_NAMES.get(name, f"--{name}")
        if name in ("port", "tries", "dials") and (not isinstance(value, int) or value < 1):
            raise UsageError(f"{option} must be a whole number of at least 1, not {value!r}")
        if isinstance(value, str) and not value.strip():
            raise UsageError(f"{option} must not be empty")
        if name in ("host", "port"):
            if gateway == "email":
                email["smtp_" + name] = value
            else:
                hylafax[name] = value
        elif name in hylafax_names:
            hylafax[name] = value
        elif name in email_names:
            email[name] = value
        else:  # pragma: no cover - a programming error
            raise TypeError(f"unknown gateway option {name}")
    return GatewaySettings(
        hylafax=replace(settings.hylafax, **hylafax), email=replace(settings.email, **email)
    )
