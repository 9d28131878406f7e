"""Load a campaign file (YAML) and validate it into :class:`~faxbatch.campaign.model.Campaign`.

The file is parsed with PyYAML's safe loader into a node tree, so that every message can name the
file, the line and the field path (``recipients[3].fax``). Text fields take the scalar as written:
``name: yes`` is the name "yes", and ``fax: 0077272715802`` keeps its leading zeros.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from faxbatch.campaign.gateway_settings import compose_yaml
from faxbatch.campaign.inputs import (
    BODY,
    CAMPAIGN,
    Origin,
    allowed_folders,
    folders_of,
    locate,
    read_input,
)
from faxbatch.campaign.model import (
    NUMBER_TYPES,
    PLACEHOLDERS,
    WEEKDAYS,
    Campaign,
    Cover,
    Letter,
    OfficeHours,
    PageSize,
    PrintSettings,
    Recipient,
    Sender,
    envelope_problem,
)
from faxbatch.campaign.recipient_file import Row, iter_rows, split_lines, split_list
from faxbatch.errors import CampaignError

_TOP_KEYS = (
    "campaign",
    "sender",
    "defaults",
    "page",
    "letter",
    "cover",
    "numbers",
    "recipients",
    "recipients_file",
    "print",
    "gateway",
)
_CAMPAIGN_KEYS = ("title", "reference", "date", "deadline")
_SENDER_KEYS = ("name", "organization", "address", "phone", "fax", "email", "country")
_DEFAULTS_KEYS = ("country",)
_PAGE_KEYS = ("size",)
_LETTER_KEYS = ("subject", "greeting", "body", "body_file", "closing", "signature")
_COVER_KEYS = ("comments", "urgent")
_PRINT_KEYS = (
    "envelope",
    "din5008",
    "fold_marks",
    "duplex",
    "max_pages_per_volume",
    "max_bytes_per_volume",
)
CHANNELS = ("fax", "post")
_NUMBERS_KEYS = ("verification_max_age_days", "office_hours")
_OFFICE_HOURS_KEYS = ("days", "start", "end")
_RECIPIENT_KEYS = (
    "id",
    "name",
    "title",
    "organization",
    "address",
    "country",
    "fax",
    "phone",
    "allow_number_types",
    "channels",
)
#: libyaml's safe loader when PyYAML was built with it (ten times faster on big campaigns)

_PAGE_SIZES: dict[str, PageSize] = {"a4": "A4", "letter": "Letter"}
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_CLOCK_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})$")
#: counts (pages, bytes, days) have at most this many digits: Python refuses to read huge ones
_MAX_DIGITS = 18


class _Reader:
    """Walks the YAML node tree with the file name at hand, for messages."""

    def __init__(self, source: Path, folders: tuple[Path, ...]) -> None:
        self.source = source
        self.folders = folders
        self.lines: dict[str, int] = {}

    def origin(self, node: yaml.Node, path: str) -> Origin:
        """Where a field naming a file is, for the messages of :mod:`faxbatch.campaign.inputs`."""
        return Origin(str(self.source), node.start_mark.line + 1, path)

    # -- errors -------------------------------------------------------------------------------
    def error(
        self, node: yaml.Node | None, path: str, message: str, hint: str | None = None
    ) -> CampaignError:
        line = node.start_mark.line + 1 if node is not None else None
        return CampaignError(message, source=str(self.source), line=line, field=path, hint=hint)

    # -- shapes -------------------------------------------------------------------------------
    def mapping(
        self,
        node: yaml.Node,
        path: str,
        allowed: Sequence[str],
        required: Iterable[str] = (),
    ) -> dict[str, yaml.Node]:
        """The keys of a mapping node; unknown keys and missing required keys are errors."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, path, f"expected a mapping of keys ({', '.join(allowed)})")
        result: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            child = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str):
                raise self.error(key_node, path or "(top level)", "keys must be plain words")
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
                hint = (
                    f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(allowed)}"
                )
                raise self.error(key_node, child, f"unknown key '{key}'", hint)
            if key in result:
                raise self.error(key_node, child, f"'{key}' is given twice", "keep one of them")
            result[key] = value_node
            self.lines[child] = value_node.start_mark.line + 1
        for key in required:
            if key not in result or _is_null(result[key]):
                where = f"{path}.{key}" if path else key
                raise self.error(node, where, f"'{key}' is required but missing")
        return result

    def text(self, node: yaml.Node | None, path: str, default: str = "") -> str:
        """A text field, taken as written (no YAML typing of ``yes`` or ``007``)."""
        if node is None or _is_null(node):
            return default
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, path, "expected a text value, not a list or mapping")
        return str(node.value).strip()

    def lines_of(self, node: yaml.Node | None, path: str) -> tuple[str, ...]:
        """Address-like fields: a list of lines, or one text whose line breaks separate lines."""
        if node is None or _is_null(node):
            return ()
        if isinstance(node, yaml.ScalarNode):
            return tuple(line.strip() for line in str(node.value).splitlines() if line.strip())
        if isinstance(node, yaml.SequenceNode):
            lines: list[str] = []
            for i, item in enumerate(node.value):
                value = self.text(item, f"{path}[{i}]")
                if value:
                    lines.append(value)
            return tuple(lines)
        raise self.error(node, path, "expected a list of lines")

    def boolean(self, node: yaml.Node | None, path: str, default: bool = False) -> bool:
        if node is None or _is_null(node):
            return default
        if isinstance(node, yaml.ScalarNode):
            word = str(node.value).strip().lower()
            if word in ("true", "yes", "on"):
                return True
            if word in ("false", "no", "off"):
                return False
        raise self.error(node, path, "expected true or false")

    def date(self, node: yaml.Node | None, path: str) -> dt.date | None:
        if node is None or _is_null(node):
            return None
        text = self.text(node, path)
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise self.error(
                node, path, f"'{text}' is not a date", "write it as YYYY-MM-DD, e.g. 2012-05-10"
            ) from None

    def country(self, node: yaml.Node | None, path: str) -> str | None:
        text = self.text(node, path)
        if not text:
            return None
        code = text.upper()
        if code not in _known_regions():
            close = difflib.get_close_matches(code, sorted(_known_regions()), n=1, cutoff=0.5)
            hint = "use the two-letter ISO 3166 code, e.g. KZ, US, DE"
            if close:
                hint = f"did you mean '{close[0]}'? ({hint})"
            raise self.error(node, path, f"'{text}' is not a country code", hint)
        return code

    def items(self, node: yaml.Node | None, path: str) -> list[tuple[yaml.Node, str, str]]:
        """A list of words (or one word): each with its node and field path, for messages."""
        if node is None or _is_null(node):
            return []
        if isinstance(node, yaml.ScalarNode):
            return [(node, path, self.text(node, path))]
        if isinstance(node, yaml.SequenceNode):
            paths = [f"{path}[{i}]" for i in range(len(node.value))]
            return [(n, p, self.text(n, p)) for n, p in zip(node.value, paths, strict=True)]
        raise self.error(node, path, "expected a list")

    def count(self, node: yaml.Node | None, path: str, default: int) -> int:
        """A whole number of at least 1."""
        text = self.text(node, path)
        if not text:
            return default
        digits = text.lstrip("0")
        if len(digits) > _MAX_DIGITS and text.isascii() and text.isdigit():
            raise self.error(node, path, f"'{text[:20]}…' is too big a number")
        if not (text.isascii() and text.isdigit()) or int(digits or "0") < 1:
            raise self.error(node, path, f"'{text}' is not a whole number of at least 1")
        return int(digits)

    def clock(self, node: yaml.Node | None, path: str, default: dt.time) -> dt.time:
        """A time of day written ``HH:MM`` (24-hour clock)."""
        text = self.text(node, path)
        if not text:
            return default
        match = _CLOCK_PATTERN.match(text)
        if match and int(match[1]) < 24 and int(match[2]) < 60:
            return dt.time(int(match[1]), int(match[2]))
        raise self.error(
            node, path, f"'{text}' is not a time of day", 'write it as "HH:MM", e.g. "09:00"'
        )

    def template(self, node: yaml.Node | None, path: str, default: str = "") -> str:
        """A text that may use recipient ``{placeholders}``; unknown ones are errors."""
        value = self.text(node, path, default)
        check_placeholders(value, lambda message, hint: self.error(node, path, message, hint))
        return value


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


_REGIONS: frozenset[str] | None = None


def _known_regions() -> frozenset[str]:
    global _REGIONS
    if _REGIONS is None:
        import phonenumbers

        _REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
    return _REGIONS


def check_placeholders(
    text: str, fail: Callable[[str, str | None], Exception] | None = None
) -> None:
    """Raise when ``text`` uses a placeholder other than the recipient fields."""

    def raise_(message: str, hint: str | None) -> None:
        raise (fail(message, hint) if fail else CampaignError(message, hint=hint))

    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise_(f"braces do not match ({exc})", "write a literal brace as {{ or }}")
        return
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            close = difflib.get_close_matches(name, PLACEHOLDERS, n=1, cutoff=0.5)
            hint = f"did you mean '{{{close[0]}}}'?" if close else None
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise_(f"unknown placeholder '{{{name}}}' (known: {known})", hint)


def fill(template: str, recipient: Recipient) -> str:
    """A letter text with the recipient's fields put in (campaign text stays plain text)."""
    filled = template.format_map(recipient.placeholder_values())
    # an empty field ("Dear {title} {name}") must not leave a double space behind
    return re.sub(r"[ \t]{2,}", " ", filled).strip()


_TRANSLIT = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "е": "e",
        "ё": "e",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "й": "i",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "kh",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "shch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "yu",
        "я": "ya",
        "ә": "a",
        "ғ": "g",
        "қ": "q",
        "ң": "n",
        "ө": "o",
        "ұ": "u",
        "ү": "u",
        "һ": "h",
        "і": "i",
        "є": "ye",
        "ї": "yi",
        "ґ": "g",
    }
)


def slugify(text: str) -> str:
    """A file-name-safe id from a name: lower-case ASCII, words joined by dashes."""
    lowered = text.lower().translate(_TRANSLIT)
    ascii_text = unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return slug[:60].rstrip("-") or "recipient"


def load_campaign(path: str | Path, allow: Sequence[Path] = ()) -> Campaign:
    """Read and validate a campaign file.

    The files the campaign names are read only from the campaign file's folder and the folders
    in ``allow`` (the command line's ``--allow-path``), symlinks resolved (see
    :mod:`faxbatch.campaign.inputs`); the campaign keeps them for the readers after it. Raises
    :class:`InputUnreadableError` when a file cannot be read and :class:`CampaignError` when its
    content is not a valid campaign or names a file outside those folders.
    """
    source = Path(path)
    raw = read_input(source, CAMPAIGN, Origin(str(source), None, ""))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CampaignError(
            "the file is not UTF-8 text",
            source=str(source),
            line=line,
            hint="save the campaign file as UTF-8",
        ) from None
    root = compose_yaml(text, str(source))
    if root is None:
        raise CampaignError("the campaign file is empty", source=str(source))
    return _read_campaign(_Reader(source, allowed_folders(source, allow)), root)


def _read_campaign(r: _Reader, root: yaml.Node) -> Campaign:
    top = r.mapping(root, "", _TOP_KEYS, required=("campaign", "sender", "letter"))
    if "recipients" not in top and "recipients_file" not in top:
        raise r.error(
            root,
            "recipients",
            "the campaign has no recipients",
            "list them under 'recipients:', or name a CSV file in 'recipients_file:'",
        )

    head = r.mapping(top["campaign"], "campaign", _CAMPAIGN_KEYS, required=("title",))
    sender = _read_sender(r, top["sender"])
    defaults = r.mapping(top["defaults"], "defaults", _DEFAULTS_KEYS) if "defaults" in top else {}
    default_country = r.country(defaults.get("country"), "defaults.country")

    page_size: PageSize = "A4"
    if "page" in top:
        page = r.mapping(top["page"], "page", _PAGE_KEYS)
        if "size" in page:
            size = r.text(page["size"], "page.size")
            if size.lower() not in _PAGE_SIZES:
                raise r.error(
                    page["size"], "page.size", f"unknown page size '{size}'", "use A4 or Letter"
                )
            page_size = _PAGE_SIZES[size.lower()]

    letter = _read_letter(r, top["letter"])
    cover = Cover()
    if "cover" in top:
        c = r.mapping(top["cover"], "cover", _COVER_KEYS)
        cover = Cover(
            comments=r.template(c.get("comments"), "cover.comments"),
            urgent=r.boolean(c.get("urgent"), "cover.urgent"),
        )
    printing = _read_print(r, top["print"], page_size) if "print" in top else PrintSettings()
    gateway = _read_gateway(r, top["gateway"]) if "gateway" in top else None
    office_hours, max_age = OfficeHours(), 90
    if "numbers" in top:
        office_hours, max_age = _read_numbers_section(r, top["numbers"])
    recipients_file, file_ids, file_rows = None, frozenset[str](), 0
    if "recipients_file" in top:
        recipients_file, file_ids, file_rows = _read_recipients_file(r, top["recipients_file"])
    recipients = _read_recipients(
        r, top.get("recipients"), file_ids, required=recipients_file is None
    )
    if not recipients and not file_rows:
        raise r.error(
            top["recipients_file"],
            "recipients_file",
            "the campaign has no recipients: the recipients file has no rows"
            + (" and 'recipients:' lists none" if "recipients" in top else ""),
            "add rows under the recipients file's header line (or recipients under "
            "'recipients:'); a campaign without recipients builds nothing",
        )
    return Campaign(
        source=r.source,
        title=r.text(head["title"], "campaign.title"),
        reference=r.text(head.get("reference"), "campaign.reference"),
        date=r.date(head.get("date"), "campaign.date"),
        deadline=_read_deadline(r, head.get("deadline")),
        sender=sender,
        default_country=default_country,
        page_size=page_size,
        letter=letter,
        cover=cover,
        recipients=recipients,
        recipients_file=recipients_file,
        printing=printing,
        gateway=gateway,
        office_hours=office_hours,
        verification_max_age_days=max_age,
        input_folders=r.folders,
        lines=r.lines,
    )


def _read_numbers_section(r: _Reader, node: yaml.Node) -> tuple[OfficeHours, int]:
    """``numbers:``: how old a volunteer's check may be, and when offices take faxes."""
    m = r.mapping(node, "numbers", _NUMBERS_KEYS)
    max_age = r.count(
        m.get("verification_max_age_days"), "numbers.verification_max_age_days", default=90
    )
    hours = OfficeHours()
    if "office_hours" in m and not _is_null(m["office_hours"]):
        path = "numbers.office_hours"
        h = r.mapping(m["office_hours"], path, _OFFICE_HOURS_KEYS)
        days = _read_weekdays(r, h["days"], f"{path}.days") if "days" in h else hours.days
        start = r.clock(h.get("start"), f"{path}.start", hours.start)
        end = r.clock(h.get("end"), f"{path}.end", hours.end)
        if end <= start:
            raise r.error(
                h.get("end") or h.get("start") or m["office_hours"],
                f"{path}.end",
                f"the office hours end ({end:%H:%M}) before they start ({start:%H:%M})",
                'give start and end of one day\'s hours, e.g. start: "09:00", end: "18:00"',
            )
        hours = OfficeHours(days=days, start=start, end=end)
    return hours, max_age


_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday(r: _Reader, node: yaml.Node, path: str, word: str) -> int:
    """A weekday's number (Monday is 0) from ``mon`` or ``Monday``."""
    name = word.strip().lower()
    for index, names in enumerate(zip(WEEKDAYS, _FULL_DAY_NAMES, strict=True)):
        if name in names:
            return index
    close = difflib.get_close_matches(name, WEEKDAYS + _FULL_DAY_NAMES, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'?" if close else f"use {', '.join(WEEKDAYS)}"
    raise r.error(node, path, f"'{word}' is not a day of the week", hint)


def _read_weekdays(r: _Reader, node: yaml.Node, path: str) -> tuple[int, ...]:
    """``[mon, tue, wed]``, ``mon-fri`` or a mix of both; at least one day."""
    days: set[int] = set()
    for item, item_path, word in r.items(node, path):
        first, dash, last = word.partition("-")
        if dash:
            a, b = _weekday(r, item, item_path, first), _weekday(r, item, item_path, last)
            if b < a:
                raise r.error(item, item_path, f"'{word}' runs backwards", "write it Monday first")
            days.update(range(a, b + 1))
        elif word:
            days.add(_weekday(r, item, item_path, word))
    if not days:
        raise r.error(node, path, "no days given", "e.g. days: [mon, tue, wed, thu, fri]")
    return tuple(sorted(days))


def _number_types(r: _Reader, node: yaml.Node | None, path: str) -> tuple[str, ...]:
    """``allow_number_types``: names from ``numbers.NUMBER_TYPES`` (``premium-rate`` also reads)."""
    names: list[str] = []
    for item, item_path, word in r.items(node, path):
        name, hint = number_type(word)
        if name is None:
            raise r.error(item, item_path, f"'{word}' is not a number type", hint)
        if name not in names:
            names.append(name)
    return tuple(names)


def number_type(word: str) -> tuple[str | None, str]:
    """A number type's name as written (``Premium-Rate``) read, or None and a hint."""
    name = re.sub(r"[\s-]+", "_", word.strip().lower())
    if name in NUMBER_TYPES:
        return name, ""
    known = sorted(NUMBER_TYPES)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    return None, f"did you mean '{close[0]}'?" if close else f"known types: {', '.join(known)}"


def _read_print(r: _Reader, node: yaml.Node, page_size: PageSize) -> PrintSettings:
    m = r.mapping(node, "print", _PRINT_KEYS)
    envelope = r.text(m.get("envelope"), "print.envelope") or None
    if envelope is not None:
        envelope = {"dl": "DL", "c5": "C5", "us10": "us10"}.get(envelope.lower(), envelope)
    din5008 = (r.text(m.get("din5008"), "print.din5008") or None) if "din5008" in m else None
    if din5008 is not None:
        din5008 = din5008.upper()
        if envelope is None:
            raise r.error(
                m["din5008"],
                "print.din5008",
                "din5008 needs an envelope",
                "add 'envelope: DL' or 'envelope: C5'",
            )
    if envelope is not None:
        problem = envelope_problem(page_size, envelope, din5008)
        if problem is not None:
            node_at = m.get("din5008") if din5008 and "din5008" in problem else m["envelope"]
            field = "print.din5008" if node_at is m.get("din5008") else "print.envelope"
            raise r.error(node_at, field, problem)
    defaults = PrintSettings()
    return PrintSettings(
        envelope=envelope,
        din5008=din5008,
        fold_marks=r.boolean(m.get("fold_marks"), "print.fold_marks", defaults.fold_marks),
        duplex=r.boolean(m.get("duplex"), "print.duplex", defaults.duplex),
        max_pages_per_volume=r.count(
            m.get("max_pages_per_volume"),
            "print.max_pages_per_volume",
            defaults.max_pages_per_volume,
        ),
        max_bytes_per_volume=r.count(
            m.get("max_bytes_per_volume"),
            "print.max_bytes_per_volume",
            defaults.max_bytes_per_volume,
        ),
    )


def _read_deadline(r: _Reader, node: yaml.Node | None) -> dt.date | dt.datetime | None:
    """``campaign.deadline``: a date, or a date-time with its zone (no fax is sent after it)."""
    text = r.text(node, "campaign.deadline")
    if node is None or not text:
        return None
    hint = "write a date (2012-05-14) or a date-time with its zone (2012-05-14T18:00+06:00)"
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise r.error(
            node, "campaign.deadline", f"'{text}' is not a date or date-time", hint
        ) from None
    if moment.tzinfo is None:
        raise r.error(
            node, "campaign.deadline", f"'{text}' has no time zone", hint + " or Z for UTC"
        )
    return moment


def _read_gateway(r: _Reader, node: yaml.Node) -> dict[str, Any]:
    """The ``gateway:`` section, checked now (a mistake shows before anything is built).

    Read from the nodes, plain values only: a YAML tag or an alias bomb there is an error that
    never constructs or prints what it would expand to.
    """
    from faxbatch.campaign.gateway_settings import gateway_from_node, parse_gateway_section

    value = gateway_from_node(node, str(r.source))
    parse_gateway_section(value, source=f"{r.source}:{node.start_mark.line + 1}")
    if not isinstance(value, dict):
        raise r.error(node, "gateway", "expected a mapping with 'hylafax' and/or 'email'")
    return value


def channels_of(words: Sequence[str]) -> tuple[tuple[str, ...], str]:
    """Channels as written (``[fax, post]``), and a problem sentence ("" when fine)."""
    chosen: list[str] = []
    for word in words:
        name = word.strip().lower()
        if name not in CHANNELS:
            close = difflib.get_close_matches(name, CHANNELS, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else "use fax and/or post"
            return ("fax",), f"'{word}' is not a channel ({hint})"
        if name not in chosen:
            chosen.append(name)
    return (tuple(chosen) or ("fax",)), ""


def _read_channels(r: _Reader, node: yaml.Node | None, path: str) -> tuple[str, ...]:
    words = [word for _item, _path, word in r.items(node, path)]
    channels, problem = channels_of(words)
    if problem:
        raise r.error(node, path, problem)
    return channels


def _read_sender(r: _Reader, node: yaml.Node) -> Sender:
    s = r.mapping(node, "sender", _SENDER_KEYS, required=("name",))
    return Sender(
        name=r.text(s["name"], "sender.name"),
        organization=r.text(s.get("organization"), "sender.organization"),
        address=r.lines_of(s.get("address"), "sender.address"),
        phone=r.text(s.get("phone"), "sender.phone"),
        fax=r.text(s.get("fax"), "sender.fax"),
        email=r.text(s.get("email"), "sender.email"),
        country=r.country(s.get("country"), "sender.country"),
    )


def _read_letter(r: _Reader, node: yaml.Node) -> Letter:
    m = r.mapping(node, "letter", _LETTER_KEYS, required=("subject",))
    if "body" in m and "body_file" in m:
        raise r.error(
            m["body_file"], "letter.body_file", "give either 'body' or 'body_file', not both"
        )
    if "body_file" in m:
        body = _read_body_file(r, m["body_file"])
    elif "body" in m and not _is_null(m["body"]):
        body = r.text(m["body"], "letter.body")
    else:
        raise r.error(
            node,
            "letter.body",
            "the letter has no body",
            "add 'body: |' with the text, or 'body_file: letter.md'",
        )
    check_placeholders(
        body,
        lambda message, hint: r.error(
            m.get("body") or m.get("body_file"), "letter.body", message, hint
        ),
    )
    return Letter(
        subject=r.template(m["subject"], "letter.subject"),
        body=body,
        greeting=r.template(m.get("greeting"), "letter.greeting", "Dear {name},"),
        closing=r.template(m.get("closing"), "letter.closing", "Sincerely,"),
        signature=r.lines_of(m.get("signature"), "letter.signature"),
    )


def _read_body_file(r: _Reader, node: yaml.Node) -> str:
    name = r.text(node, "letter.body_file")
    if not name:
        raise r.error(node, "letter.body_file", "the file name is empty")
    origin = r.origin(node, "letter.body_file")
    data = read_input(name, BODY, origin, base=r.source.parent, folders=r.folders)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise r.error(
            node, "letter.body_file", f"'{name}' is not UTF-8 text", "save the letter as UTF-8"
        ) from None


def _read_recipients_file(r: _Reader, node: yaml.Node) -> tuple[Path, frozenset[str], int]:
    """Check a recipients file: where it is, its columns and rows; the ids it gives, its rows.

    Rows are read again, one at a time, by :func:`iter_recipients`.
    """
    name = r.text(node, "recipients_file")
    if not name:
        raise r.error(node, "recipients_file", "the file name is empty")
    origin = r.origin(node, "recipients_file")
    path = locate(name, base=r.source.parent, folders=r.folders, origin=origin)
    ids: set[str] = set()
    count = 0
    for row in iter_rows(path, _RECIPIENT_KEYS, origin=origin, folders=r.folders):
        count += 1
        if "id" in row.cells:
            ids.add(row.cells["id"])
    return path, frozenset(ids), count


def _read_recipients(
    r: _Reader, node: yaml.Node | None, file_ids: frozenset[str], *, required: bool
) -> tuple[Recipient, ...]:
    if node is None or (not required and _is_null(node)):
        return ()
    if not isinstance(node, yaml.SequenceNode) or (required and not node.value):
        raise r.error(node, "recipients", "expected a list of recipients (at least one)")
    recipients: list[Recipient] = []
    explicit: dict[str, int] = {}
    for index, item in enumerate(node.value):
        path = f"recipients[{index}]"
        m = r.mapping(item, path, _RECIPIENT_KEYS)
        name = r.text(m.get("name"), f"{path}.name")
        organization = r.text(m.get("organization"), f"{path}.organization")
        if not name and not organization:
            raise r.error(item, f"{path}.name", "a recipient needs a name or an organization")
        rid = r.text(m.get("id"), f"{path}.id")
        if rid:
            if not _ID_PATTERN.match(rid):
                raise r.error(
                    m["id"],
                    f"{path}.id",
                    f"'{rid}' cannot be used as an id",
                    f"use lower-case letters, digits and dashes, e.g. '{slugify(rid)}'",
                )
            if rid in explicit:
                raise r.error(
                    m["id"],
                    f"{path}.id",
                    f"id '{rid}' is already used by recipients[{explicit[rid]}]",
                    "every recipient needs its own id",
                )
            explicit[rid] = index
        recipients.append(
            Recipient(
                id=rid,
                name=name,
                title=r.text(m.get("title"), f"{path}.title"),
                organization=organization,
                address=r.lines_of(m.get("address"), f"{path}.address"),
                country=r.country(m.get("country"), f"{path}.country"),
                fax=r.text(m.get("fax"), f"{path}.fax"),
                phone=r.text(m.get("phone"), f"{path}.phone"),
                allow_number_types=_number_types(
                    r, m.get("allow_number_types"), f"{path}.allow_number_types"
                ),
                channels=_read_channels(r, m.get("channels"), f"{path}.channels"),
                index=index,
                line=item.start_mark.line + 1,
            )
        )
    return tuple(_with_ids(recipients, set(explicit) | file_ids))


def _with_ids(recipients: list[Recipient], taken: set[str]) -> Iterable[Recipient]:
    """Give recipients without an id one derived from the name, unique in the campaign."""
    used = set(taken)
    for recipient in recipients:
        if recipient.id:
            yield recipient
            continue
        yield replace(recipient, id=_derive_id(recipient.name or recipient.organization, used))


def _derive_id(name: str, used: set[str]) -> str:
    base = slugify(name)
    rid, n = base, 2
    while rid in used:
        rid, n = f"{base}-{n}", n + 1
    used.add(rid)
    return rid


def iter_recipients(campaign: Campaign) -> Iterator[Recipient]:
    """Every recipient: those of the campaign file, then the rows of its recipients file.

    The file is read row by row (a campaign of 50,000 recipients is never held whole), from
    the folders the campaign may read from. A row that cannot be used becomes a recipient with
    ``problems``: it is rejected with the reason, and the other rows go on. Ids are unique across
    both: a row reusing an id of the campaign file (or of an earlier row) is such a row.
    """
    yield from campaign.recipients
    if campaign.recipients_file is None:
        return
    path = campaign.recipients_file
    origin = Origin(str(campaign.source), campaign.lines.get("recipients_file"), "recipients_file")
    folders = folders_of(campaign)
    used = {r.id for r in campaign.recipients}
    explicit_ids = {
        row.cells["id"]
        for row in iter_rows(path, _RECIPIENT_KEYS, origin=origin, folders=folders)
        if "id" in row.cells
    }
    used |= explicit_ids
    # where each id is taken: the campaign file's list keeps its ids, a row reusing one is rejected
    taken = {r.id: f"by {r.field_path} in {campaign.source.name}" for r in campaign.recipients}
    rows = iter_rows(path, _RECIPIENT_KEYS, origin=origin, folders=folders)
    for number, row in enumerate(rows):
        yield _row_recipient(path.name, row, len(campaign.recipients) + number, used, taken)


def _row_recipient(
    source: str, row: Row, index: int, used: set[str], taken: dict[str, str]
) -> Recipient:
    """A recipient from a row of a recipients file, its problems written down, not raised."""
    cells = row.cells
    problems: list[str] = []
    where = f"{source}:{row.line}"
    name, organization = cells.get("name", ""), cells.get("organization", "")
    if not name and not organization:
        problems.append(f"{where}: the row has neither a name nor an organization.")
    rid = cells.get("id", "")
    if rid and not _ID_PATTERN.match(rid):
        problems.append(
            f"{where}: '{rid}' cannot be used as an id; use lower-case letters, digits and dashes."
        )
        rid = ""
    elif rid in taken:
        problems.append(f"{where}: id '{rid}' is already used {taken[rid]}.")
        rid = ""
    if rid:
        taken[rid] = f"on line {row.line}"
    else:
        rid = _derive_id(name or organization or "recipient", used)
    country = cells.get("country", "").upper() or None
    if country and country not in _known_regions():
        problems.append(
            f"{where}: '{cells['country']}' is not a country code; use the "
            "two-letter ISO 3166 code, e.g. KZ."
        )
        country = None
    types: list[str] = []
    for word in split_list(cells.get("allow_number_types", "")):
        type_name, hint = number_type(word)
        if type_name is None:
            problems.append(f"{where}: '{word}' is not a number type ({hint}).")
        elif type_name not in types:
            types.append(type_name)
    channels, problem = channels_of(split_list(cells.get("channels", "")))
    if problem:
        problems.append(f"{where}: {problem}.")
    if "_extra" in cells:
        problems.append(f"{where}: the row has more cells than the header has columns.")
    return Recipient(
        id=rid,
        name=name,
        title=cells.get("title", ""),
        organization=organization,
        address=split_lines(cells.get("address", "")),
        country=country,
        fax=cells.get("fax", ""),
        phone=cells.get("phone", ""),
        allow_number_types=tuple(types),
        channels=channels,
        index=index,
        line=row.line,
        source=source,
        problems=tuple(problems),
    )


__all__ = [
    "check_placeholders",
    "fill",
    "iter_recipients",
    "load_campaign",
    "number_type",
    "slugify",
]
