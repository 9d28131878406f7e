"""Load a campaign file (YAML) and validate it into :class:`~faxbatch.campaign.model.Campaign`.

The file is parsed with PyYAML's safe loader into a node tree, so that every message can name the
file, the line and the field path (``recipients[3].fax``). Text fields take the scalar as written:
``name: yes`` is the name "yes", and ``fax: 0077272715802`` keeps its leading zeros.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import functools
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar, cast

import yaml

from faxbatch.campaign.enclosures import (
    MAX_PAGES,
    EnclosureFacts,
    check_enclosure,
    too_many_pages,
)
from faxbatch.campaign.gateway_settings import compose_yaml
from faxbatch.campaign.hints import close_word, key_hint
from faxbatch.campaign.inputs import (
    BODY,
    CAMPAIGN,
    ENCLOSURE,
    Origin,
    allowed_folders,
    folders_of,
    locate,
    read_input,
)
from faxbatch.campaign.model import (
    NUMBER_TYPES,
    PLACEHOLDERS,
    SIGNATORIES_MODES,
    WEEKDAYS,
    Campaign,
    CopyTo,
    Cover,
    Enclosure,
    Letter,
    OfficeHours,
    PageSize,
    PrintSettings,
    Recipient,
    Sender,
    Signatories,
    Translation,
    envelope_problem,
)
from faxbatch.campaign.recipient_file import Header, Row, iter_rows, split_lines, split_list
from faxbatch.errors import CampaignError, FaxbatchError, InputUnreadableError

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
    "translations",
    "enclosures",
    "signatories",
    "copies_to",
)
_CAMPAIGN_KEYS = ("title", "reference", "date", "deadline")
_SENDER_KEYS = (
    "name",
    "organization",
    "address",
    "phone",
    "fax",
    "email",
    "country",
    "return_line",
)
_DEFAULTS_KEYS = ("country",)
_PAGE_KEYS = ("size",)
_LETTER_KEYS = (
    "subject",
    "greeting",
    "body",
    "body_file",
    "closing",
    "signature",
    "language",
    "also_sent_to",
)
_SIGNATORIES_KEYS = ("file", "mode")
_COPY_KEYS = ("name", "email")
#: a translation has the letter's texts and its cover sheet's comments (its language is its key)
_TRANSLATION_KEYS = ("subject", "greeting", "body", "body_file", "closing", "signature", "cover")
_TRANSLATION_COVER_KEYS = ("comments",)
#: a language code: ``ru``, ``kk``, ``pt-BR``
_LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
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
_OFFICE_HOURS_KEYS = ("days", "start", "end", "hours", "holidays")
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
    "language",
    "languages",
    "greeting",
    "cover_comments",
    "signers_from",
)
#: the keys of each section, for the hint of a key written in the wrong one ("" is the top level)
_SECTIONS: dict[str, tuple[str, ...]] = {
    "": _TOP_KEYS,
    "campaign": _CAMPAIGN_KEYS,
    "sender": _SENDER_KEYS,
    "defaults": _DEFAULTS_KEYS,
    "page": _PAGE_KEYS,
    "letter": _LETTER_KEYS,
    "cover": _COVER_KEYS,
    "print": _PRINT_KEYS,
    "numbers": _NUMBERS_KEYS,
    "numbers.office_hours": _OFFICE_HOURS_KEYS,
    "recipient": _RECIPIENT_KEYS,
    "signatories": _SIGNATORIES_KEYS,
}
#: libyaml's safe loader when PyYAML was built with it (ten times faster on big campaigns)

_PAGE_SIZES: dict[str, PageSize] = {"a4": "A4", "letter": "Letter"}
_A4: PageSize = "A4"
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_CLOCK_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})$")
#: counts (pages, bytes, days) have at most this many digits: Python refuses to read huge ones
_MAX_DIGITS = 18


_T = TypeVar("_T")
_Read = TypeVar("_Read", bound=Callable[..., Any])


class _Recorded(Exception):
    """A section or recipient cannot be read further; its problems are recorded already."""


def _collected(empty: Any) -> Callable[[_Read], _Read]:
    """A field reader that records its problem and goes on with the field's default.

    The default is the reader's third argument when given (``text(node, path, default)``),
    otherwise ``empty``; the campaign is not built when any problem was recorded.
    """

    def wrap(read: _Read) -> _Read:
        @functools.wraps(read)
        def reading(self: _Reader, node: Any, path: str, *rest: Any, **options: Any) -> Any:
            try:
                return read(self, node, path, *rest, **options)
            except CampaignError as exc:
                self.record(exc)
                return rest[0] if rest else options.get("default", empty)

        return cast(_Read, reading)

    return wrap


class _Reader:
    """Walks the YAML node tree with the file name at hand, for messages.

    It collects every problem: a field reader records its error and gives the field's default, a
    section or recipient that cannot go on is skipped at :meth:`collect`; :func:`_read_campaign`
    raises them all together.
    """

    def __init__(self, source: Path, folders: tuple[Path, ...]) -> None:
        self.source = source
        self.folders = folders
        self.lines: dict[str, int] = {}
        self.problems: list[CampaignError] = []
        #: files the campaign names that cannot be read (exit 4 when nothing else is wrong)
        self.unreadable: list[InputUnreadableError] = []
        #: the recipients file's own columns, placeholders too; the placeholders the texts use
        self.fields: tuple[str, ...] = ()
        self.used: set[str] = set()
        #: what the campaign's reader noticed without stopping
        self.warnings: list[str] = []

    def record(self, error: CampaignError) -> None:
        """Keep a problem for the report; the first one of each field only."""
        for problem in error.problems:
            if problem.field is None or all(
                (p.field, p.source) != (problem.field, problem.source) for p in self.problems
            ):
                self.problems.append(problem)

    def collect(self, fallback: _T, read: Callable[..., _T], *args: Any) -> _T:
        """``read(*args)``, or ``fallback`` when it raised (its problem recorded)."""
        try:
            return read(*args)
        except _Recorded:
            return fallback
        except CampaignError as exc:
            self.record(exc)
            return fallback
        except InputUnreadableError as exc:
            self.unreadable.append(exc)
            return fallback

    def failure(self) -> FaxbatchError:
        """The error of everything found: exit 3 listing them all, or exit 4 for a file alone."""
        if not self.problems and self.unreadable:
            return self.unreadable[0]
        files = [CampaignError(exc.message, hint=exc.hint) for exc in self.unreadable]
        return CampaignError.several([*self.problems, *files])

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
                self.record(self.error(key_node, path or "(top level)", "keys must be plain words"))
                continue
            if key not in allowed:
                section = "recipient" if path.startswith("recipients[") else path
                elsewhere = {name: keys for name, keys in _SECTIONS.items() if name != section}
                hint = key_hint(key, allowed, elsewhere)
                self.record(self.error(key_node, child, f"unknown key '{key}'", hint))
                continue
            if key in result:
                self.record(
                    self.error(key_node, child, f"'{key}' is given twice", "keep one of them")
                )
                continue
            result[key] = value_node
            self.lines[child] = value_node.start_mark.line + 1
        if not self.require(node, path, result, required):
            raise _Recorded
        return result

    def require(
        self, node: yaml.Node, path: str, found: dict[str, yaml.Node], required: Iterable[str]
    ) -> bool:
        """Whether the ``required`` keys are all given (each missing one recorded)."""
        given = True
        for key in required:
            if key not in found or _is_null(found[key]):
                where = f"{path}.{key}" if path else key
                self.record(self.error(node, where, f"'{key}' is required but missing"))
                given = False
        return given

    @_collected("")
    def text(self, node: yaml.Node | None, path: str, default: str = "") -> str:
        """A text field, taken as written (no YAML typing of ``yes`` or ``007``)."""
        if node is None or _is_null(node):
            return default
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, path, "expected a text value, not a list or mapping")
        return str(node.value).strip()

    @_collected(())
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

    @_collected(False)
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

    @_collected(None)
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

    @_collected(None)
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

    @_collected(())
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

    @_collected(0)
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

    @_collected(None)
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

    @_collected("")
    def template(self, node: yaml.Node | None, path: str, default: str = "") -> str:
        """A text that may use recipient ``{placeholders}``; unknown ones are errors."""
        value = self.text(node, path, default)

        def fail(message: str, hint: str | None) -> Exception:
            return self.error(node, path, message, hint)

        self.used |= check_placeholders(value, fail, self.fields)
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
    text: str,
    fail: Callable[[str, str | None], Exception] | None = None,
    fields: Sequence[str] = (),
) -> set[str]:
    """The placeholders ``text`` uses; raise when one is not a recipient field.

    ``fields`` are the recipients file's own columns, placeholders as well.
    """

    def raise_(message: str, hint: str | None) -> None:
        raise (fail(message, hint) if fail else CampaignError(message, hint=hint))

    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise_(f"braces do not match ({exc})", "write a literal brace as {{ or }}")
        return set()
    known_names = (*PLACEHOLDERS, *(f for f in fields if f not in PLACEHOLDERS))
    used: set[str] = set()
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in known_names or spec or conversion:
            close = close_word(name, known_names)
            hint = f"did you mean '{{{close}}}'?" if close else None
            known = ", ".join("{" + p + "}" for p in known_names)
            raise_(f"unknown placeholder '{{{name}}}' (known: {known})", hint)
        used.add(name)
    return used


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
    reader = _Reader(source, allowed_folders(source, allow))
    try:
        return _read_campaign(reader, root)
    except _Recorded:
        raise reader.failure() from None


def _read_campaign(r: _Reader, root: yaml.Node) -> Campaign:
    """The campaign, or every problem found in it (each section read even after one fails)."""
    top = r.mapping(root, "", _TOP_KEYS)
    r.require(root, "", top, ("campaign", "sender", "letter"))
    if "recipients" not in top and "recipients_file" not in top:
        r.record(
            r.error(
                root,
                "recipients",
                "the campaign has no recipients",
                "list them under 'recipients:', or name a CSV file in 'recipients_file:'",
            )
        )

    def section(key: str, read: Callable[[_Reader, yaml.Node], _T], fallback: _T) -> _T:
        node = top.get(key)
        if node is None or (key in ("campaign", "sender", "letter") and _is_null(node)):
            return fallback
        return r.collect(fallback, read, r, node)

    no_head: tuple[str, str, dt.date | None, dt.date | dt.datetime | None] = ("", "", None, None)
    title, reference, date, deadline = section("campaign", _read_head, no_head)
    sender = section("sender", _read_sender, Sender(name=""))
    no_keys: dict[str, yaml.Node] = {}
    defaults = section("defaults", lambda r, n: r.mapping(n, "defaults", _DEFAULTS_KEYS), no_keys)
    default_country = r.country(defaults.get("country"), "defaults.country")
    page_size = section("page", _read_page, _A4)
    # the recipients file first: its own columns are placeholders of the letter's texts
    no_file: tuple[Path | None, frozenset[str], int] = (None, frozenset(), 0)
    recipients_file, file_ids, file_rows = section(
        "recipients_file", _read_recipients_file, no_file
    )
    letter = section("letter", _read_letter, None)
    cover = section("cover", _read_cover, Cover())
    translations: dict[str, Translation] = {}
    warnings: list[str] = []
    if "translations" in top and letter is not None:
        no_translations: tuple[dict[str, Translation], list[str]] = ({}, [])
        translations, warnings = r.collect(
            no_translations, _read_translations, r, top["translations"], letter, cover
        )
    languages = (letter.language if letter is not None else "en", *translations)
    printing = section("print", lambda r, n: _read_print(r, n, page_size), PrintSettings())
    gateway = section("gateway", _read_gateway, None)
    office_hours, max_age = section("numbers", _read_numbers_section, (OfficeHours(), 90))
    signatories = section("signatories", _read_signatories, None)
    no_copies: tuple[CopyTo, ...] = ()
    copies_to = section("copies_to", _read_copies_to, no_copies)
    no_enclosures: tuple[Enclosure, ...] = ()
    enclosures = section("enclosures", _read_enclosures, no_enclosures)
    no_recipients: tuple[Recipient, ...] = ()
    recipients = r.collect(
        no_recipients,
        _read_recipients,
        r,
        top.get("recipients"),
        file_ids,
        "recipients_file" not in top,
        languages,
        office_hours,
    )
    if r.problems or r.unreadable or letter is None:
        raise r.failure()
    if r.fields:
        # every recipient has every column of the file, those of the campaign file empty
        recipients = tuple(replace(p, fields=tuple((f, "") for f in r.fields)) for p in recipients)
        unused = [f for f in r.fields if f not in r.used]
        if unused:
            names = ", ".join(f"'{f}'" for f in unused)
            r.warnings.append(
                f"{recipients_file.name if recipients_file else 'recipients_file'}: column(s) "
                f"{names} are used in no letter text; they are kept in the manifest under "
                f"'fields' (put {{{unused[0]}}} in the letter to use one)"
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
        title=title,
        reference=reference,
        date=date,
        deadline=deadline,
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
        translations=translations,
        warnings=(*r.warnings, *warnings),
        fields=r.fields,
        enclosures=enclosures,
        signatories=signatories,
        copies_to=copies_to,
    )


def _read_enclosures(r: _Reader, node: yaml.Node) -> tuple[Enclosure, ...]:
    """``enclosures:``: PDFs appended to every letter, each opened and checked now."""
    enclosures: list[Enclosure] = []
    for item, path, name in r.items(node, "enclosures"):
        if not name:
            r.record(r.error(item, path, "the file name is empty"))
            continue
        origin = r.origin(item, path)
        facts: EnclosureFacts | None = r.collect(None, _read_enclosure, r, name, origin)
        if facts is not None:
            enclosures.append(Enclosure(name, facts.sha256, facts.sizes))
    pages = sum(enclosure.pages for enclosure in enclosures)
    if pages > MAX_PAGES:
        raise too_many_pages(r.origin(node, "enclosures"), pages)
    return tuple(enclosures)


def _read_enclosure(r: _Reader, name: str, origin: Origin) -> EnclosureFacts:
    data = read_input(name, ENCLOSURE, origin, base=r.source.parent, folders=r.folders)
    return check_enclosure(data, origin, name)


def _read_head(
    r: _Reader, node: yaml.Node
) -> tuple[str, str, dt.date | None, dt.date | dt.datetime | None]:
    """``campaign:``: the title, the reference, the date and the deadline."""
    head = r.mapping(node, "campaign", _CAMPAIGN_KEYS, required=("title",))
    return (
        r.text(head["title"], "campaign.title"),
        r.text(head.get("reference"), "campaign.reference"),
        r.date(head.get("date"), "campaign.date"),
        r.collect(None, _read_deadline, r, head.get("deadline")),
    )


def _read_page(r: _Reader, node: yaml.Node) -> PageSize:
    page = r.mapping(node, "page", _PAGE_KEYS)
    if "size" not in page:
        return "A4"
    size = r.text(page["size"], "page.size")
    if size.lower() not in _PAGE_SIZES:
        raise r.error(page["size"], "page.size", f"unknown page size '{size}'", "use A4 or Letter")
    return _PAGE_SIZES[size.lower()]


def _read_cover(r: _Reader, node: yaml.Node) -> Cover:
    c = r.mapping(node, "cover", _COVER_KEYS)
    return Cover(
        comments=r.template(c.get("comments"), "cover.comments"),
        urgent=r.boolean(c.get("urgent"), "cover.urgent"),
    )


def _read_numbers_section(r: _Reader, node: yaml.Node) -> tuple[OfficeHours, int]:
    """``numbers:``: how old a volunteer's check may be, and when offices take faxes."""
    m = r.mapping(node, "numbers", _NUMBERS_KEYS)
    max_age = r.count(
        m.get("verification_max_age_days"), "numbers.verification_max_age_days", default=90
    )
    hours = OfficeHours()
    if "office_hours" in m and not _is_null(m["office_hours"]):
        hours = _read_office_hours(r, m["office_hours"], "numbers.office_hours", hours)
    return hours, max_age


def _read_office_hours(r: _Reader, node: yaml.Node, path: str, base: OfficeHours) -> OfficeHours:
    """``office_hours``: days, ``start``/``end`` or several ``hours`` spans, ``holidays``."""
    h = r.mapping(node, path, _OFFICE_HOURS_KEYS)
    days = _read_weekdays(r, h["days"], f"{path}.days") if "days" in h else base.days
    holidays = r.boolean(h.get("holidays"), f"{path}.holidays", default=base.holidays)
    if "hours" in h and not _is_null(h["hours"]):
        spans = _read_spans(r, h["hours"], f"{path}.hours")
        return OfficeHours(days, spans[0][0], spans[-1][1], spans, holidays)
    start = r.clock(h.get("start"), f"{path}.start", base.start)
    end = r.clock(h.get("end"), f"{path}.end", base.end)
    if end <= start:
        raise r.error(
            h.get("end") or h.get("start") or node,
            f"{path}.end",
            f"the office hours end ({end:%H:%M}) before they start ({start:%H:%M})",
            'give start and end of one day\'s hours, e.g. start: "09:00", end: "18:00"',
        )
    return OfficeHours(days=days, start=start, end=end, holidays=holidays)


def _read_spans(r: _Reader, node: yaml.Node, path: str) -> tuple[tuple[dt.time, dt.time], ...]:
    """``["09:00-13:00", "14:00-18:00"]``: a day's spans, in order, not overlapping."""
    spans: list[tuple[dt.time, dt.time]] = []
    hint = 'e.g. hours: ["09:00-13:00", "14:00-18:00"]'
    for item, item_path, word in r.items(node, path):
        first, dash, last = word.replace("–", "-").partition("-")
        if not dash:
            raise r.error(item, item_path, f"'{word}' is not a span of hours", hint)
        start, end = (_clock_word(r, item, item_path, part, hint) for part in (first, last))
        if end <= start or (spans and start < spans[-1][1]):
            raise r.error(
                item,
                item_path,
                f"'{word}' ends before it starts or overlaps the span before",
                "give each day's spans in order, " + hint,
            )
        spans.append((start, end))
    if not spans:
        raise r.error(node, path, "no hours given", hint)
    return tuple(spans)


def _clock_word(r: _Reader, node: yaml.Node, path: str, word: str, hint: str) -> dt.time:
    match = _CLOCK_PATTERN.match(word.strip())
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return dt.time(int(match[1]), int(match[2]))
    raise r.error(node, path, f"'{word.strip()}' is not a time of day", hint)


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
            # a range may run over the weekend: sun-thu is Sunday to Thursday
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(b + 1)])
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
            close = close_word(name, CHANNELS)
            hint = f"did you mean '{close}'?" if close else "use fax and/or post"
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
        return_line=r.text(s.get("return_line"), "sender.return_line"),
    )


def _read_letter(r: _Reader, node: yaml.Node) -> Letter:
    m = r.mapping(node, "letter", _LETTER_KEYS, required=("subject",))
    body = _read_body(r, node, m, "letter")
    language = "en"
    if "language" in m:
        language = _language(r, m["language"], "letter.language")
    return Letter(
        subject=r.template(m["subject"], "letter.subject"),
        body=body,
        greeting=r.template(m.get("greeting"), "letter.greeting", "Dear {name},"),
        closing=r.template(m.get("closing"), "letter.closing", "Sincerely,"),
        signature=r.lines_of(m.get("signature"), "letter.signature"),
        language=language,
        also_sent_to=r.boolean(m.get("also_sent_to"), "letter.also_sent_to"),
    )


def _read_body(r: _Reader, node: yaml.Node, m: dict[str, yaml.Node], path: str) -> str:
    """A letter's body: ``body`` or ``body_file`` of the mapping ``m`` at ``path``."""
    if "body" in m and "body_file" in m:
        raise r.error(
            m["body_file"], f"{path}.body_file", "give either 'body' or 'body_file', not both"
        )
    if "body_file" in m:
        body = _read_body_file(r, m["body_file"], f"{path}.body_file")
    elif "body" in m and not _is_null(m["body"]):
        body = r.text(m["body"], f"{path}.body")
    else:
        raise r.error(
            node,
            f"{path}.body",
            "the letter has no body",
            "add 'body: |' with the text, or 'body_file: letter.md'",
        )
    r.used |= check_placeholders(
        body,
        lambda message, hint: r.error(
            m.get("body") or m.get("body_file"), f"{path}.body", message, hint
        ),
        r.fields,
    )
    return body


def _language(r: _Reader, node: yaml.Node, path: str) -> str:
    """A language code as written (``RU`` reads as ``ru``, ``pt_br`` as ``pt-BR``)."""
    text = r.text(node, path)
    code = _normal_language(text)
    if not _LANGUAGE_PATTERN.match(code):
        raise r.error(
            node, path, f"'{text}' is not a language code", "use a code such as en, ru, kk or de"
        )
    return code


def _normal_language(text: str) -> str:
    parts = text.strip().replace("_", "-").split("-")
    return "-".join([parts[0].lower(), *(part.upper() for part in parts[1:])])


def _read_translations(
    r: _Reader, node: yaml.Node, letter: Letter, cover: Cover
) -> tuple[dict[str, Translation], list[str]]:
    """``translations:``: the letter in other languages, by language code.

    A field a translation leaves out is taken from the first language's letter, and a warning
    says so (a greeting in the wrong language is better than none, but someone should know).
    """
    if not isinstance(node, yaml.MappingNode):
        raise r.error(
            node,
            "translations",
            "expected a mapping of language codes to letters",
            "e.g. translations: {ru: {subject: ..., body_file: letter.ru.md}}",
        )
    translations: dict[str, Translation] = {}
    warnings: list[str] = []
    for key_node, value in node.value:
        language = _language(r, key_node, "translations")
        path = f"translations.{language}"
        if language == letter.language or language in translations:
            raise r.error(key_node, path, f"the letter in '{language}' is given twice",
                          "give each language once (the letter itself is the first)")  # fmt: skip
        m = r.mapping(value, path, _TRANSLATION_KEYS)
        given = "body" in m or "body_file" in m
        body = _read_body(r, value, m, path) if given else letter.body
        missing = [
            name
            for name in ("subject", "greeting", "body", "closing", "signature")
            if name not in m and not (name == "body" and "body_file" in m)
        ]
        comments = cover.comments
        if "cover" in m:
            c = r.mapping(m["cover"], f"{path}.cover", _TRANSLATION_COVER_KEYS)
            comments = r.template(c.get("comments"), f"{path}.cover.comments")
        elif cover.comments:
            missing.append("cover.comments")
        if missing:
            warnings.append(
                f"{r.source}:{value.start_mark.line + 1}: {path} has no "
                f"{', '.join(missing)}; the letter in '{letter.language}' gives "
                + ("it." if len(missing) == 1 else "them.")
            )
        translated = Letter(
            subject=r.template(m.get("subject"), f"{path}.subject", letter.subject),
            body=body,
            greeting=r.template(m.get("greeting"), f"{path}.greeting", letter.greeting),
            closing=r.template(m.get("closing"), f"{path}.closing", letter.closing),
            signature=r.lines_of(m.get("signature"), f"{path}.signature") or letter.signature,
            language=language,
            also_sent_to=letter.also_sent_to,
        )
        translations[language] = Translation(translated, comments)
    return translations, warnings


def _read_body_file(r: _Reader, node: yaml.Node, path: str = "letter.body_file") -> str:
    name = r.text(node, path)
    if not name:
        raise r.error(node, path, "the file name is empty")
    origin = r.origin(node, path)
    data = read_input(name, BODY, origin, base=r.source.parent, folders=r.folders)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise r.error(
            node, path, f"'{name}' is not UTF-8 text", "save the letter as UTF-8"
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
    header: list[Header] = []
    texts: list[str] = []
    for row in iter_rows(path, _RECIPIENT_KEYS, origin=origin, folders=r.folders, header=header):
        count += 1
        if "id" in row.cells:
            ids.add(row.cells["id"])
        texts += [row.cells.get("greeting", ""), row.cells.get("cover_comments", "")]
    if header:
        r.fields = header[0].fields
        r.warnings += header[0].warnings
    for text in texts:  # a row's own greeting may use the columns too (its problems come later)
        with contextlib.suppress(CampaignError):
            r.used |= check_placeholders(text, None, r.fields)
    return path, frozenset(ids), count


def _read_recipients(
    r: _Reader,
    node: yaml.Node | None,
    file_ids: frozenset[str],
    required: bool,
    languages: tuple[str, ...] = ("en",),
    hours: OfficeHours = OfficeHours(),  # noqa: B008 (frozen: one shared default is fine)
) -> tuple[Recipient, ...]:
    if node is None or (not required and _is_null(node)):
        return ()
    if not isinstance(node, yaml.SequenceNode) or (required and not node.value):
        raise r.error(node, "recipients", "expected a list of recipients (at least one)")
    recipients: list[Recipient] = []
    explicit: dict[str, int] = {}
    for index, item in enumerate(node.value):
        # one bad recipient is reported with the others' problems, and the list goes on
        recipient = r.collect(None, _read_recipient, r, item, index, explicit, languages, hours)
        if recipient is not None:
            recipients.append(recipient)
    return tuple(_with_ids(recipients, set(explicit) | file_ids))


def _read_recipient(
    r: _Reader,
    item: yaml.Node,
    index: int,
    explicit: dict[str, int],
    languages: tuple[str, ...] = ("en",),
    hours: OfficeHours = OfficeHours(),  # noqa: B008 (frozen: one shared default is fine)
) -> Recipient:
    """The recipient ``recipients[index]``; ``explicit`` holds the ids given so far."""
    path = f"recipients[{index}]"
    m = r.mapping(item, path, (*_RECIPIENT_KEYS, "office_hours"))
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
    return Recipient(
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
        **_recipient_languages(r, m, path, languages),
        greeting=r.template(m.get("greeting"), f"{path}.greeting"),
        cover_comments=r.template(m.get("cover_comments"), f"{path}.cover_comments"),
        signers_from=_read_signers_from(r, m.get("signers_from"), f"{path}.signers_from"),
        office_hours=(
            _read_office_hours(r, m["office_hours"], f"{path}.office_hours", hours)
            if "office_hours" in m and not _is_null(m["office_hours"])
            else None
        ),
    )


def _read_signers_from(r: _Reader, node: yaml.Node | None, path: str) -> tuple[str, ...]:
    """``signers_from: [US, CA]``: country codes, each once."""
    codes: list[str] = []
    for item, item_path, _word in r.items(node, path):
        code = r.country(item, item_path)
        if code and code not in codes:
            codes.append(code)
    return tuple(codes)


def _read_signatories(r: _Reader, node: yaml.Node) -> Signatories:
    """``signatories: {file: signers.csv, mode: annex}``: the file checked now, read later."""
    from faxbatch.campaign.signers import check_signers_file

    m = r.mapping(node, "signatories", _SIGNATORIES_KEYS, required=("file",))
    mode = r.text(m.get("mode"), "signatories.mode", "annex").lower().replace("-", "_")
    if mode not in SIGNATORIES_MODES:
        close = difflib.get_close_matches(mode, SIGNATORIES_MODES, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else "use annex or per_signer"
        raise r.error(m["mode"], "signatories.mode", f"unknown mode '{mode}'", hint)
    name = r.text(m["file"], "signatories.file")
    if not name:
        raise r.error(m["file"], "signatories.file", "the file name is empty")
    origin = r.origin(m["file"], "signatories.file")
    path = locate(name, base=r.source.parent, folders=r.folders, origin=origin)
    check_signers_file(path, origin, r.folders)
    return Signatories(file=path, mode="per_signer" if mode == "per_signer" else "annex")


def _read_copies_to(r: _Reader, node: yaml.Node) -> tuple[CopyTo, ...]:
    """``copies_to: [{name: Campaign office, email: organizers@example.org}]``."""
    from faxbatch.campaign.gateway_settings import check_address

    if not isinstance(node, yaml.SequenceNode):
        raise r.error(
            node,
            "copies_to",
            "expected a list of names and email addresses",
            "e.g. copies_to: [{name: Campaign office, email: organizers@example.org}]",
        )
    copies: list[CopyTo] = []
    for index, item in enumerate(node.value):
        path = f"copies_to[{index}]"
        m = r.collect(None, r.mapping, item, path, _COPY_KEYS, ("email",))
        if m is None:
            continue
        email = r.text(m["email"], f"{path}.email")
        try:
            check_address(email)
        except ValueError as exc:
            r.record(r.error(m["email"], f"{path}.email", f"'{email}' is not {exc}"))
            continue
        copies.append(CopyTo(name=r.text(m.get("name"), f"{path}.name"), email=email))
    return tuple(copies)


def _recipient_languages(
    r: _Reader, m: dict[str, yaml.Node], path: str, languages: tuple[str, ...]
) -> dict[str, Any]:
    """``language``, or ``languages: [en, ru]`` (the letter in each, in that order)."""
    if "languages" not in m or _is_null(m["languages"]):
        return {"language": _recipient_language(r, m.get("language"), path, languages)}
    if "language" in m:
        raise r.error(m["languages"], f"{path}.languages",
                      "give either 'language' or 'languages', not both")  # fmt: skip
    chosen: list[str] = []
    for item, item_path, _word in r.items(m["languages"], f"{path}.languages"):
        language = _recipient_language(r, item, path, languages, field=item_path)
        if language not in chosen:
            chosen.append(language)
    if not chosen:
        raise r.error(m["languages"], f"{path}.languages", "no language given")
    return {"language": chosen[0], "languages": tuple(chosen) if len(chosen) > 1 else ()}


def _recipient_language(
    r: _Reader,
    node: yaml.Node | None,
    path: str,
    languages: tuple[str, ...],
    *,
    field: str = "",
) -> str:
    """``recipients[N].language``: one of the languages the letter is written in."""
    field = field or f"{path}.language"
    if node is None or _is_null(node):
        return languages[0]
    language = _language(r, node, field)
    if language not in languages:
        raise r.error(
            node,
            field,
            f"the letter has no translation into '{language}'",
            f"the letter is written in {', '.join(languages)}; add '{language}' under "
            "'translations:', or choose one of these",
        )
    return language


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
        index = len(campaign.recipients) + number
        yield _row_recipient(
            path.name, row, index, used, taken, campaign.languages, campaign.fields
        )


def _row_recipient(
    source: str,
    row: Row,
    index: int,
    used: set[str],
    taken: dict[str, str],
    languages: tuple[str, ...] = ("en",),
    fields: tuple[str, ...] = (),
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
    written = cells.get("language", "")
    chosen = [_normal_language(word) for word in split_list(cells.get("languages", ""))]
    if written or not chosen:
        chosen = [_normal_language(written) if written else languages[0], *chosen]
    for word in dict.fromkeys(chosen):
        if word not in languages:
            problems.append(
                f"{where}: the letter has no translation into '{word}'; it is written in "
                f"{', '.join(languages)}."
            )
    chosen = [word for word in dict.fromkeys(chosen) if word in languages] or [languages[0]]
    language = chosen[0]
    signers_from: list[str] = []
    for word in split_list(cells.get("signers_from", "")):
        code = word.upper()
        if code not in _known_regions():
            problems.append(f"{where}: signers_from: '{word}' is not a country code.")
        elif code not in signers_from:
            signers_from.append(code)
    texts = {name: cells.get(name, "") for name in ("greeting", "cover_comments")}
    for column, text in texts.items():
        try:
            check_placeholders(text, None, fields)
        except CampaignError as exc:
            problems.append(f"{where}: {column}: {exc.message}.")
            texts[column] = ""
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
        language=language,
        languages=tuple(chosen) if len(chosen) > 1 else (),
        greeting=texts["greeting"],
        cover_comments=texts["cover_comments"],
        signers_from=tuple(signers_from),
        fields=tuple((name, cells.get(name, "")) for name in fields),
    )


__all__ = [
    "check_placeholders",
    "fill",
    "iter_recipients",
    "load_campaign",
    "number_type",
    "slugify",
]
