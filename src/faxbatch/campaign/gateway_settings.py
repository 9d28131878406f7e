"""Where the gateways are and how to use them: the ``gateway:`` section, then command-line options.

The section may sit in the campaign file (``faxbatch send --campaign FILE``) or in the manifest's
``campaign`` part; options given on the command line win. The SMTP password is never read from a
file: only from the environment variable ``FAXBATCH_SMTP_PASSWORD``.

Every value is checked before it is used, because a campaign file may come from a stranger: hosts
end up in a shell script (``gateways/hylafax.sh``) and domains and addresses in an SMTP envelope, so
a host is a host name or an address (optionally ``:port``), a domain a DNS name and an address one
plain ``local@domain``, nothing else. YAML tags and aliases that do not stand for a plain value are
refused without ever being expanded.

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

import ipaddress
import math
import os
import re
import stat
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from faxbatch.campaign.hints import close_word
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
        """``host:port`` as sendfax's ``-h`` takes it (an IPv6 address in brackets)."""
        return f"{_bracketed(self.host)}:{self.port}"


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
    #: the message's subject ("" for the campaign's) and text ("" for none: the PDF is the fax);
    #: both may use the placeholders of :data:`EMAIL_PLACEHOLDERS`
    subject: str = ""
    body: str = ""

    @property
    def port(self) -> int:
        """The SMTP port: as set, else 587 with STARTTLS and 25 without."""
        if self.smtp_port:
            return self.smtp_port
        return 587 if self.starttls else 25

    @property
    def server(self) -> str:
        """``host:port`` of the SMTP server (an IPv6 address in brackets)."""
        return f"{_bracketed(self.smtp_host)}:{self.port}"

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
    #: ``gateway.journal``: the campaign's journal, a path inside the campaign's folder ("" for
    #: ``<campaign>.journal.sqlite`` beside the campaign file)
    journal: str = ""
    #: ``gateway.max_attempts``: how often a fax whose failure can pass is handed over in all
    max_attempts: int = 3


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
    "subject": ("subject", str),
    "body": ("body", str),
}
#: what ``gateway.email.subject`` and ``.body`` may put in: the fax's recipient, its number
#: (E.164), its pages and the campaign's subject line
EMAIL_PLACEHOLDERS = ("id", "name", "organization", "number", "pages", "subject")
_SECTIONS = {"hylafax": _HYLAFAX_KEYS, "email": _EMAIL_KEYS}
#: the keys of the ``gateway:`` section that are values, not sections
_TOP_VALUES: dict[str, tuple[str, type]] = {
    "journal": ("journal", str),
    "max_attempts": ("max_attempts", int),
}
_KNOWN_TOP = (*_SECTIONS, *_TOP_VALUES)
_RESOLUTIONS = ("fine", "standard")
#: the command-line option of each override, for messages
_OPTION_NAMES = {"domain": "--email-domain", "user": "--smtp-user", "sender": "--from"}
#: the largest value each number may take (a larger one is a typo, or meant to break a client)
_LIMITS: dict[str, float] = {
    "port": 65535,
    "smtp_port": 65535,
    "tries": 999,
    "dials": 999,
    "timeout": 3600.0,
    "max_attempts": 99,
}
#: a settings file bigger than this is not a campaign file
MAX_SETTINGS_FILE_BYTES = 64 << 20

# -- what a host, a domain and an address may be -------------------------------------------------
# Hosts land in a shell script and on sendfax's command line, domains and addresses in an SMTP
# envelope: only the characters those names are made of get through.
_HOST_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")
_DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"(?:{_DNS_LABEL}\.)+{_DNS_LABEL}")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDRESS = re.compile(rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>.+)", re.DOTALL)
# a login: printable ASCII without spaces or the characters that delimit addresses in headers
_LOGIN = re.compile(r"[!#-'*-+\--:=?-Z^-~]{1,256}")
_IPV6_IN_BRACKETS = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::(.*))?", re.DOTALL)
_IPV6_TEXT = re.compile(r"[0-9A-Fa-f:.]+")

HOST_EXPECTED = (
    "a host name (fax.example.org), an IPv4 address (192.0.2.7) or an IPv6 address in "
    "brackets ([2001:db8::7]), optionally followed by :port (1 to 65535)"
)
DOMAIN_EXPECTED = (
    "a DNS name such as fax.example.net (letters, digits and hyphens, in labels joined by dots)"
)
ADDRESS_EXPECTED = (
    "one plain email address such as ann@example.org (no display name, no <>, no comments, "
    "no commas)"
)
LOGIN_EXPECTED = (
    "an SMTP login: printable ASCII without spaces, double quotes, commas, semicolons, "
    "backslashes, <>, () or []"
)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 5 or not 1 <= int(text) <= 65535:
        raise ValueError(HOST_EXPECTED)
    return int(text)


def _numeric_end(name: str) -> bool:
    return name.rsplit(".", 1)[-1].isdigit()


def check_host_name(host: str) -> str:
    """A host name or an IPv4 or IPv6 address (no port); ValueError when it is not one."""
    if not host or len(host) > 253 or not host.isascii():
        raise ValueError(HOST_EXPECTED)
    if ":" in host:
        # hex digits, colons and dots only: ipaddress would also take a "%zone" of any text
        if not _IPV6_TEXT.fullmatch(host):
            raise ValueError(HOST_EXPECTED)
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            raise ValueError(HOST_EXPECTED) from None
    if _numeric_end(host):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise ValueError(HOST_EXPECTED) from None
    if not _HOST_NAME.fullmatch(host):
        raise ValueError(HOST_EXPECTED)
    return host


def split_server(text: str) -> tuple[str, int | None]:
    """``host[:port]`` as written (``[v6]:port`` for IPv6): the host and the port, if given.

    ValueError (saying what was expected) for anything that is not a host name or an address.
    """
    if not text or len(text) > 270 or not text.isascii():
        raise ValueError(HOST_EXPECTED)
    bracketed = _IPV6_IN_BRACKETS.fullmatch(text)
    if bracketed:
        host = check_host_name(bracketed.group(1))
        if ":" not in host:
            raise ValueError(HOST_EXPECTED)
        port = bracketed.group(2)
        return host, None if port is None else _port(port)
    if text.count(":") > 1:  # a bare IPv6 address: no port can follow it
        return check_host_name(text), None
    host, colon, port = text.partition(":")
    return check_host_name(host), _port(port) if colon else None


def check_domain(text: str) -> str:
    """A DNS name with at least one dot (``fax.example.net``); ValueError otherwise."""
    if len(text) > 253 or not text.isascii() or not _DNS_NAME.fullmatch(text):
        raise ValueError(DOMAIN_EXPECTED)
    if _numeric_end(text):
        raise ValueError(DOMAIN_EXPECTED)
    return text


def check_address(text: str) -> str:
    """One plain addr-spec, ``local@domain.example``; ValueError for anything else.

    No display name, no angle brackets, no comments, no quoted local part, no list: nothing that
    could add a recipient or a header.
    """
    found = _ADDRESS.fullmatch(text) if len(text) <= 254 and text.isascii() else None
    if found is None or len(found.group("local")) > 64:
        raise ValueError(ADDRESS_EXPECTED)
    try:
        check_domain(found.group("domain"))
    except ValueError:
        raise ValueError(ADDRESS_EXPECTED) from None
    return text


def check_login(text: str) -> str:
    """An SMTP login (often an address, sometimes a plain name such as ``apikey``)."""
    if not _LOGIN.fullmatch(text):
        raise ValueError(LOGIN_EXPECTED)
    return text


def shown(value: Any) -> str:
    """A value for a message: short, control characters escaped, never a whole structure."""
    if isinstance(value, (bool, int, float)) or value is None:
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    if isinstance(value, str):
        text = repr(value if len(value) <= 80 else value[:77] + "...")
        return text
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"


# -- reading the section ---------------------------------------------------------------------
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
    problems: list[CampaignError] = []  # every key's problem at once
    for key, item in value.items():
        child = f"{path}.{key}"
        if key == "password":
            problems.append(
                _error(
                    source,
                    child,
                    "the SMTP password must not be written in a file",
                    f"remove it and set the environment variable {PASSWORD_VARIABLE} instead",
                )
            )
            continue
        if key not in keys:
            close = close_word(str(key), keys)
            hint = f"did you mean '{close}'?" if close else f"known keys: {', '.join(keys)}"
            problems.append(_error(source, child, f"unknown key {shown(str(key))}", hint))
            continue
        name, kind = keys[key]
        try:
            out[name] = _typed(item, kind, name, child, source)
        except CampaignError as exc:
            problems.append(exc)
    if problems:
        raise CampaignError.several(problems)
    return out


def _typed(item: Any, kind: type, name: str, path: str, source: str | None) -> Any:
    if kind is bool:
        if not isinstance(item, bool):
            raise _error(source, path, f"expected true or false, not {shown(item)}")
        return item
    if kind is int or kind is float:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise _error(source, path, f"expected a positive number, not {shown(item)}")
        if isinstance(item, float) and not math.isfinite(item):
            raise _error(source, path, f"expected a positive number, not {shown(item)}")
        if item <= 0:
            raise _error(source, path, f"expected a positive number, not {shown(item)}")
        if kind is int and isinstance(item, float) and not item.is_integer():
            raise _error(source, path, f"expected a whole number, not {shown(item)}")
        limit = _LIMITS.get(name)
        if limit is not None and item > limit:
            raise _error(source, path, f"expected at most {limit:g}, not {shown(item)}")
        return kind(item)
    if not isinstance(item, (str, int)) or isinstance(item, bool):
        raise _error(source, path, f"expected a text, not {shown(item)}")
    return str(item).strip()


def _checked_text(name: str, value: str) -> str:
    """A text setting checked for what it is (ValueError saying what was expected)."""
    if name == "domain":
        return check_domain(value)
    if name == "sender":
        return check_address(value)
    if name == "user":
        return check_login(value)
    if name == "smtp_host":
        host, _port = split_server(value)
        return host
    return value


def _check_email(values: dict[str, Any], source: str | None) -> dict[str, Any]:
    keys = {name: key for key, (name, _kind) in _EMAIL_KEYS.items()}
    for name in ("domain", "sender", "user"):
        if values.get(name):
            try:
                values[name] = _checked_text(name, values[name])
            except ValueError as exc:
                raise _error(
                    source,
                    f"gateway.email.{keys[name]}",
                    f"expected {exc}, not {shown(values[name])}",
                ) from None
    for name in ("subject", "body"):
        problem = _placeholder_problem(values.get(name, ""))
        if problem:
            known = ", ".join("{" + p + "}" for p in EMAIL_PLACEHOLDERS)
            hint = f"known placeholders: {known}; write a literal brace as {{{{ or }}}}"
            raise _error(source, f"gateway.email.{name}", problem, hint)
    if "smtp_host" in values:
        values["smtp_host"], values["smtp_port"] = _server_value(
            values["smtp_host"], values.get("smtp_port"), "gateway.email.smtp_host", source
        )
        if values["smtp_port"] is None:
            del values["smtp_port"]
    return values


def _server_value(
    text: str, port: int | None, path: str, source: str | None
) -> tuple[str, int | None]:
    try:
        host, given = split_server(text)
    except ValueError as exc:
        raise _error(source, path, f"expected {exc}, not {shown(text)}") from None
    if given is not None and port is not None and given != port:
        raise _error(
            source,
            path,
            f"the port in {shown(text)} is not the port given beside it ({port})",
            "give the port once",
        )
    return host, given if given is not None else port


def _placeholder_problem(text: str) -> str:
    """What is wrong with the ``{placeholders}`` of an email subject or body ("" when fine)."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        return f"braces do not match ({exc})"
    for _literal, name, spec, conversion in parsed:
        if name is not None and (name not in EMAIL_PLACEHOLDERS or spec or conversion):
            return f"unknown placeholder '{{{name}}}'"
    return ""


def parse_gateway_section(section: Any, source: str | None = None) -> GatewaySettings:
    """Settings from a ``gateway:`` mapping (as loaded from YAML or JSON), every value checked."""
    if section is None:
        return GatewaySettings()
    if not isinstance(section, Mapping):
        raise _error(source, "gateway", "expected a mapping with 'hylafax' and/or 'email'")
    for key in section:
        if key not in _KNOWN_TOP:
            close = close_word(str(key), _KNOWN_TOP)
            hint = f"did you mean '{close}'?" if close else f"known keys: {', '.join(_KNOWN_TOP)}"
            raise _error(source, f"gateway.{key}", f"unknown key {shown(str(key))}", hint)
    top: dict[str, Any] = {}
    for key, (name, kind) in _TOP_VALUES.items():
        if section.get(key) is not None:
            top[name] = _typed(section[key], kind, name, f"gateway.{key}", source)
    if top.get("journal"):
        top["journal"] = _journal_setting(top["journal"], source)
    hylafax_values = _section(section.get("hylafax"), "gateway.hylafax", _HYLAFAX_KEYS, source)
    if "host" in hylafax_values:
        host, port = _server_value(
            hylafax_values["host"], hylafax_values.get("port"), "gateway.hylafax.host", source
        )
        hylafax_values["host"] = host
        if port is not None:
            hylafax_values["port"] = port
    hylafax = HylafaxSettings(**hylafax_values)
    if hylafax.resolution not in _RESOLUTIONS:
        raise _error(
            source,
            "gateway.hylafax.resolution",
            f"unknown resolution {shown(hylafax.resolution)}",
            "use fine (204 x 196 dpi) or standard (204 x 98 dpi)",
        )
    email_values = _section(section.get("email"), "gateway.email", _EMAIL_KEYS, source)
    email = EmailSettings(**_check_email(email_values, source))
    return GatewaySettings(hylafax=hylafax, email=email, **top)


JOURNAL_EXPECTED = (
    "a file name or a relative path inside the campaign's folder, ending in .sqlite "
    "(no absolute path, no '..'), such as records/kz.journal.sqlite"
)


def _journal_setting(text: str, source: str | None) -> str:
    """``gateway.journal``: a relative path inside the campaign's folder, ending in ``.sqlite``."""
    parts = text.replace("\\", "/").split("/")
    if (
        text.startswith(("/", "~"))
        or "\\" in text
        or ".." in parts
        or not text.endswith(".sqlite")
        or not text.isprintable()
        or len(text) > 255
    ):
        raise _error(source, "gateway.journal", f"expected {JOURNAL_EXPECTED}, not {shown(text)}")
    return text


# -- from YAML nodes: plain values only ------------------------------------------------------
_YAML_TAG = "tag:yaml.org,2002:"
# the tags a plain YAML value resolves to (written without a tag)
_PLAIN_SCALARS = frozenset(
    _YAML_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp")
)
_NULL = _YAML_TAG + "null"
_STR = _YAML_TAG + "str"


def _node_error(node: yaml.Node, source: str, path: str, message: str) -> CampaignError:
    return CampaignError(
        message,
        source=source,
        line=node.start_mark.line + 1,
        field=path,
        hint="write plain values: no YAML tags (!!python/..., !name), no lists or mappings here",
    )


def _check_tag(node: yaml.Node, source: str, path: str) -> None:
    if isinstance(node, yaml.MappingNode):
        allowed = node.tag == _YAML_TAG + "map"
    elif isinstance(node, yaml.SequenceNode):
        allowed = node.tag == _YAML_TAG + "seq"
    else:
        allowed = node.tag in _PLAIN_SCALARS
    if allowed:
        return
    tag = node.tag.replace(_YAML_TAG, "!!")
    raise _node_error(node, source, path, f"the YAML tag {shown(tag)} is not allowed here")


def _plain_key(node: yaml.Node, source: str, path: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.tag != _STR:
        raise _node_error(node, source, path, "keys must be plain words")
    return str(node.value)


def _scalar(node: yaml.ScalarNode, kind: type | None, source: str, path: str) -> Any:
    if node.tag == _NULL:
        return None
    if kind is str or kind is None:
        return node.value  # as written: "0077..." keeps its zeros, "yes" stays "yes"
    try:
        return yaml.SafeLoader("").construct_object(node)
    except (ValueError, OverflowError, yaml.YAMLError):
        raise _node_error(node, source, path, "not a value faxbatch can read") from None


def gateway_from_node(node: yaml.Node, source: str) -> dict[str, Any] | None:
    """The ``gateway:`` section from its YAML node, ready for :func:`parse_gateway_section`.

    Only plain values are taken: a YAML tag (``!!python/object``, ``!custom``) is refused, and so
    is a list or mapping where one value belongs, without it being constructed or printed, so an
    alias bomb ("billion laughs") is never expanded. Text settings are taken as written.
    """
    _check_tag(node, source, "gateway")
    if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
        return None
    if not isinstance(node, yaml.MappingNode):
        raise _node_error(
            node, source, "gateway", "expected a mapping with 'hylafax' and/or 'email'"
        )
    section: dict[str, Any] = {}
    for key_node, value_node in node.value:
        name = _plain_key(key_node, source, "gateway")
        path = f"gateway.{name}"
        if name in section:
            raise _node_error(key_node, source, path, f"{shown(name)} is given twice")
        _check_tag(value_node, source, path)
        keys = _SECTIONS.get(name)
        if isinstance(value_node, yaml.ScalarNode):
            kind = _TOP_VALUES[name][1] if name in _TOP_VALUES else None
            section[name] = _scalar(value_node, kind, source, path)
        elif isinstance(value_node, yaml.MappingNode) and keys is not None:
            section[name] = _settings_from_node(value_node, keys, source, path)
        elif keys is None:
            section[name] = None  # an unknown key: parse_gateway_section names it
        else:
            raise _node_error(value_node, source, path, "expected a mapping of keys")
    return section


def _settings_from_node(
    node: yaml.MappingNode, keys: Mapping[str, tuple[str, type]], source: str, path: str
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = _plain_key(key_node, source, path)
        child = f"{path}.{key}"
        if key in values:
            raise _node_error(key_node, source, child, f"{shown(key)} is given twice")
        _check_tag(value_node, source, child)
        known = keys.get(key)
        if isinstance(value_node, yaml.ScalarNode):
            values[key] = _scalar(value_node, known[1] if known else None, source, child)
        elif known is None:
            values[key] = None  # an unknown key (or a password): parse_gateway_section says so
        else:
            raise _node_error(
                value_node, source, child, "expected a single value, not a list or mapping"
            )
    return values


#: libyaml's safe loader when PyYAML was built with it
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_settings_file(path: Path) -> str:
    try:
        # O_NONBLOCK: a FIFO given as the file must not hang the command
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputUnreadableError(f"{path} does not exist") from None
    except OSError as exc:
        raise InputUnreadableError(f"cannot read {path} ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InputUnreadableError(f"{path} is not a regular file")
        if info.st_size > MAX_SETTINGS_FILE_BYTES:
            raise InputUnreadableError(
                f"{path} is larger than {MAX_SETTINGS_FILE_BYTES >> 20} MB: not a settings file"
            )
        try:
            data = handle.read(MAX_SETTINGS_FILE_BYTES + 1)
        except OSError as exc:
            raise InputUnreadableError(f"cannot read {path} ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputUnreadableError(f"{path} is not UTF-8 text") from None


def compose_yaml(text: str, source: str) -> yaml.Node | None:
    """The node tree of a YAML text, never constructed (no tags run, no aliases expanded).

    Raises :class:`CampaignError` naming ``source`` and the line for text that is not YAML.
    """
    try:
        root: yaml.Node | None = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "malformed YAML"
        raise CampaignError(
            f"not valid YAML: {problem}",
            source=source,
            line=mark.line + 1 if mark else None,
            hint="check the indentation and quoting around this line",
        ) from None
    except yaml.YAMLError as exc:
        raise CampaignError(f"not valid YAML: {exc}", source=source) from None
    except RecursionError:
        raise CampaignError(
            "not valid YAML: lists or mappings nested too deeply", source=source
        ) from None
    return root


def load_gateway_file(path: Path) -> GatewaySettings:
    """The ``gateway:`` section of a YAML file (a campaign file or a file of its own).

    The file is composed, never constructed: only the ``gateway:`` section is read, plain values
    only (see :func:`gateway_from_node`).
    """
    text = _read_settings_file(Path(path))
    root = compose_yaml(text, str(path))
    if not isinstance(root, yaml.MappingNode):
        raise CampaignError("expected a mapping at the top of the file", source=str(path))
    found = [
        value
        for key, value in root.value
        if isinstance(key, yaml.ScalarNode) and key.tag == _STR and key.value == "gateway"
    ]
    if len(found) > 1:
        raise CampaignError("'gateway' is given twice", source=str(path), field="gateway")
    if not found:
        return GatewaySettings()
    node = found[0]
    section = gateway_from_node(node, str(path))
    return parse_gateway_section(section, source=f"{path}:{node.start_mark.line + 1}")


def with_overrides(settings: GatewaySettings, **options: Any) -> GatewaySettings:
    """Settings with command-line options laid over them (None means "not given").

    ``host``/``port`` go to the gateway named by ``gateway``; the other names are attributes of
    :class:`HylafaxSettings` or :class:`EmailSettings`. Every value is checked as the file's
    are, a bad one is a :class:`UsageError` naming the option.
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
            raise UsageError(f"{option} must be a whole number of at least 1, not {shown(value)}")
        if name in _LIMITS and isinstance(value, int) and value > _LIMITS[name]:
            raise UsageError(f"{option} must be at most {_LIMITS[name]:g}, not {shown(value)}")
        if isinstance(value, str):
            if not value.strip():
                raise UsageError(f"{option} must not be empty")
            value = _override_text(name, option, value)
        if name == "host":
            host, port = value
            target = email if gateway == "email" else hylafax
            target["smtp_host" if gateway == "email" else "host"] = host
            port_name = "smtp_port" if gateway == "email" else "port"
            given = options.get("port")
            if port is not None and given is not None and port != given:
                raise UsageError(
                    f"--host {shown(options['host'])} names port {port}, --port {given}"
                )
            if port is not None and given is None:
                target[port_name] = port
        elif name == "port":
            if gateway == "email":
                email["smtp_port"] = value
            else:
                hylafax["port"] = value
        elif name in hylafax_names:
            hylafax[name] = value
        elif name in email_names:
            email[name] = value
        else:  # pragma: no cover - a programming error
            raise TypeError(f"unknown gateway option {name}")
    return replace(
        settings,
        hylafax=replace(settings.hylafax, **hylafax),
        email=replace(settings.email, **email),
    )


def _override_text(name: str, option: str, value: str) -> Any:
    """A command-line text checked as the file's value is (UsageError naming the option)."""
    try:
        if name == "host":
            return split_server(value)
        return _checked_text(name, value)
    except ValueError as exc:
        raise UsageError(
            f"{option} must be {exc}, not {shown(value)}", hint="see 'faxbatch send --help'"
        ) from None
