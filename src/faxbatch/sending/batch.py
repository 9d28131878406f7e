"""A built batch folder as the gateways see it: the manifest read back, and the faxes it may send.

``faxbatch build`` writes ``manifest.json``; everything that hands faxes to a gateway (exports,
``send``, ``status``) starts here. Only documents that are ``ready`` and whose number has a usable
verdict (``ok`` or ``warning``) become a :class:`Fax`: a refused, invalid or volunteer-rejected
number is never sent.

A manifest is read as untrusted: a ``file`` entry must name a file inside the batch folder (no
absolute path, no ``..``, and after symbolic links it must still lie inside the folder), numbers
must be E.164 and dial strings the characters dialers take, so that a tampered manifest cannot make
``send`` mail a file from elsewhere or dial something the build never read.

Each fax carries an *idempotency key*: a hash of the campaign's reference (or title), the recipient
id and the document's SHA-256. It stays the same when the same document is built again, so that a
gateway, the journal and a HylaFAX job tag can all recognise a fax that was handed over before.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import stat
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from faxbatch.errors import InputUnreadableError
from faxbatch.numbers import windows

MANIFEST_NAME = "manifest.json"
#: the number verdicts that may be dialled
SENDABLE_VERDICTS = ("ok", "warning")
#: manifest fields of a number's sending window (ISO 8601, UTC), when the build knows one
WINDOW_FIELDS = ("window_start_utc", "window_end_utc")
_KEY_VERSION = "faxbatch-idempotency-1"
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# what a dial string may hold: digits, the dialler's signs, and spaces and punctuation to read it by
_DIAL_STRING = re.compile(r"[0-9A-Za-z+*#,() ./-]{1,80}")


@dataclass(frozen=True)
class Fax:
    """One document that may be handed to a gateway."""

    recipient_id: str
    recipient_name: str
    organization: str
    e164: str
    international: str
    dial_string: str
    file: str
    pages: int
    sha256: str
    key: str
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    #: the campaign's deadline for this fax (a date alone: the end of that day where it goes)
    deadline: dt.datetime | None = None
    #: what the build found about the number, for the plan
    verdict: str = "ok"
    reasons: tuple[str, ...] = ()
    verification: str | None = None
    verified_on: str | None = None
    number_type: str | None = None
    time_zone: str | None = None
    language: str = ""  # of the letter (empty for a batch built before languages)
    languages: tuple[str, ...] = ()  # every language of a letter sent in several

    @property
    def digits(self) -> str:
        """The E.164 number without its ``+``, as email-to-fax gateways want it."""
        return self.e164.lstrip("+")

    @property
    def label(self) -> str:
        """The recipient as people read it."""
        if self.organization and self.organization != self.recipient_name:
            return f"{self.recipient_name}, {self.organization}"
        return self.recipient_name


@dataclass(frozen=True)
class Batch:
    """A built batch folder: its manifest and the faxes that may be sent."""

    root: Path
    manifest: dict[str, Any]
    faxes: tuple[Fax, ...]

    @property
    def campaign(self) -> dict[str, Any]:
        """The ``campaign`` part of the manifest."""
        campaign = self.manifest.get("campaign")
        return campaign if isinstance(campaign, dict) else {}

    @property
    def documents(self) -> list[dict[str, Any]]:
        """Every document of the manifest, sendable or not, in campaign order."""
        return [doc for doc in self.manifest.get("documents", []) if isinstance(doc, dict)]

    @property
    def regarding(self) -> str:
        """What the faxes are about: reference and title."""
        return regarding(self.campaign)

    @property
    def fax_documents(self) -> list[dict[str, Any]]:
        """The documents for the fax channel (postal letters aside), sendable or not."""
        return [doc for doc in self.documents if doc.get("channel", "fax") == "fax"]

    @property
    def post_documents(self) -> list[dict[str, Any]]:
        """The postal letters: never faxed, counted apart."""
        return [doc for doc in self.documents if doc.get("channel", "fax") == "post"]

    def fax(self, recipient_id: str) -> Fax | None:
        """The sendable fax of one recipient, if there is one."""
        return next((fax for fax in self.faxes if fax.recipient_id == recipient_id), None)

    def path(self, fax: Fax) -> Path:
        """Where a fax's PDF is: a regular file inside the batch folder (after symbolic links).

        :class:`InputUnreadableError` (naming the document and the path) for anything else.
        """
        return inside(self.root, fax.file, f"{MANIFEST_NAME}: document '{fax.recipient_id}'")

    def check_paths(self) -> None:
        """Every fax file there is lies inside the batch folder (:class:`InputUnreadableError`).

        A missing file is left to the check just before sending, which names it.
        """
        for fax in self.faxes:
            if os.path.lexists(self.root / fax.file):
                self.path(fax)


def regarding(campaign: Mapping[str, Any]) -> str:
    """``"KZ-2012-05: Drop the charges ..."``: the campaign's reference and title."""
    title = str(campaign.get("title") or "").strip()
    reference = str(campaign.get("reference") or "").strip()
    return f"{reference}: {title}" if reference and title else reference or title


def idempotency_key(campaign: Mapping[str, Any], document: Mapping[str, Any]) -> str:
    """A key that names one document of one campaign, the same on every re-run (64 hex digits)."""
    name = str(campaign.get("reference") or campaign.get("title") or "")
    parts = [_KEY_VERSION, name, str(document.get("recipient_id")), str(document.get("sha256"))]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


def is_sendable(document: Mapping[str, Any]) -> bool:
    """Whether a manifest document may be sent: ready, with a number that may be dialled."""
    return (
        document.get("status") == "ready"
        and document.get("channel", "fax") == "fax"  # a letter for the post is never faxed
        and document.get("fax_verdict") in SENDABLE_VERDICTS
        and bool(document.get("fax_e164"))
        and bool(document.get("file"))
        and bool(document.get("sha256"))
    )


def parse_utc(value: Any, where: str) -> dt.datetime | None:
    """An ISO 8601 time from the manifest, as an aware UTC datetime (naive means UTC)."""
    if value is None or value == "":
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise InputUnreadableError(
            f"{where}: '{value}' is not an ISO 8601 time",
            hint="write it like 2012-05-14T03:00:00Z, or build the batch again",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def format_utc(moment: dt.datetime | None) -> str | None:
    """``2012-05-14T03:00:00Z``, or None."""
    return None if moment is None else windows.format_utc(moment)


def deadline_of(campaign: Mapping[str, Any], time_zone: Any, where: str) -> dt.datetime | None:
    """The moment after which a fax is not handed over, in UTC; None without a deadline.

    ``campaign.deadline`` is a date-time with its zone, or a date: the end of that day in the
    recipient's time zone (its office hours' zone), else in UTC.
    """
    value = campaign.get("deadline")
    if value is None or value == "":
        return None
    text = str(value)
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            zone: dt.tzinfo = dt.UTC
            if isinstance(time_zone, str) and time_zone:
                with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
                    zone = zoneinfo.ZoneInfo(time_zone)
            moment = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        else:
            moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputUnreadableError(
            f"{where}: the deadline {text[:40]!r} is not a date or date-time", hint=_BUILD_AGAIN
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def faxes_of(manifest: Mapping[str, Any]) -> tuple[Fax, ...]:
    """The sendable faxes of a manifest, in campaign order."""
    campaign = manifest.get("campaign")
    campaign = campaign if isinstance(campaign, Mapping) else {}
    found = (
        fax_of(doc, campaign, f"{MANIFEST_NAME}: documents[{index}]")
        for index, doc in enumerate(manifest.get("documents") or [])
    )
    return tuple(fax for fax in found if fax is not None)


def fax_of(doc: Any, campaign: Mapping[str, Any], where: str) -> Fax | None:
    """One manifest document as a fax to send, or None when it may not be sent."""
    if not isinstance(doc, Mapping) or not is_sendable(doc):
        return None
    start = parse_utc(doc.get(WINDOW_FIELDS[0]), f"{where}.{WINDOW_FIELDS[0]}")
    end = parse_utc(doc.get(WINDOW_FIELDS[1]), f"{where}.{WINDOW_FIELDS[1]}")
    if start and end and end <= start:
        raise InputUnreadableError(f"{where}: the sending window ends before it starts")
    e164 = str(doc["fax_e164"])
    if not _E164.fullmatch(e164):
        raise InputUnreadableError(
            f"{where}.fax_e164: {e164[:40]!r} is not an E.164 number", hint=_BUILD_AGAIN
        )
    dial_string = str(doc.get("dial_string") or e164)
    if not _DIAL_STRING.fullmatch(dial_string):
        raise InputUnreadableError(
            f"{where}.dial_string: {dial_string[:40]!r} is not a dial string", hint=_BUILD_AGAIN
        )
    recipient_id = str(doc.get("recipient_id"))
    if not recipient_id.isprintable() or len(recipient_id) > 200:
        raise InputUnreadableError(
            f"{where}.recipient_id: {recipient_id[:40]!r}", hint=_BUILD_AGAIN
        )
    file = str(doc["file"])
    check_relative(file, f"{where} ('{recipient_id}').file")
    pages = doc.get("pages")
    reasons = doc.get("fax_reasons")
    zone = doc.get("window_time_zone")
    return Fax(
        recipient_id=recipient_id,
        recipient_name=str(doc.get("recipient_name") or doc.get("recipient_id")),
        organization=str(doc.get("organization") or ""),
        e164=e164,
        international=str(doc.get("fax_international") or e164),
        dial_string=dial_string,
        file=file,
        pages=pages if isinstance(pages, int) else 0,
        sha256=str(doc["sha256"]),
        key=idempotency_key(campaign, doc),
        window_start=start,
        window_end=end,
        deadline=deadline_of(campaign, zone, f"{MANIFEST_NAME}: campaign.deadline"),
        verdict=str(doc.get("fax_verdict")),
        reasons=tuple(str(r) for r in reasons) if isinstance(reasons, list) else (),
        verification=_text_or_none(doc.get("fax_verification")),
        verified_on=_text_or_none(doc.get("fax_verified_on")),
        number_type=_text_or_none(doc.get("fax_type")),
        time_zone=_text_or_none(zone),
        language=str(doc.get("language") or ""),
        languages=tuple(str(x) for x in doc.get("languages") or () if isinstance(x, str)),
    )


def _text_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def load_batch(root: Path) -> Batch:
    """Read a built batch folder; a missing or unreadable folder or manifest stops here."""
    root = Path(root)
    if not root.is_dir():
        raise InputUnreadableError(
            f"{root} is not a batch folder (it does not exist or is not a folder)",
            hint="give the folder that 'faxbatch build --out DIR' wrote",
        )
    path = root / MANIFEST_NAME
    if not os.path.lexists(path):
        raise InputUnreadableError(
            f"{path} is missing: {root} is not a built batch",
            hint="build it first with 'faxbatch build CAMPAIGN --out DIR'",
        )
    try:
        manifest = json.loads(read_inside(root, MANIFEST_NAME, MANIFEST_NAME))
    except ValueError as exc:
        raise InputUnreadableError(
            f"{path} is not valid JSON ({exc})", hint="build the batch again"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("documents"), list):
        raise InputUnreadableError(
            f"{path} is not a faxbatch manifest (no 'documents' list)", hint="build the batch again"
        )
    version = manifest.get("schema_version")
    if version != 1:
        raise InputUnreadableError(
            f"{path} has schema_version {version!r}; this faxbatch reads version 1",
            hint="use the faxbatch version that built the batch, or build it again",
        )
    return Batch(root=root, manifest=manifest, faxes=faxes_of(manifest))


_BUILD_AGAIN = "build the batch again; faxbatch sends only what its build wrote"


def check_relative(name: str, where: str) -> PurePosixPath:
    """A path from a manifest: relative, inside its folder (no ``..``), plain text."""
    relative = PurePosixPath(name)
    if (
        not name
        or "\x00" in name
        or "\\" in name
        or relative.is_absolute()
        or ".." in relative.parts
        or not name.isprintable()
    ):
        raise InputUnreadableError(
            f"{where}: {name[:200]!r} is not a path inside the batch folder "
            "(absolute paths and '..' are refused)",
            hint=_BUILD_AGAIN,
        )
    return relative


def inside(root: Path, name: str, what: str) -> Path:
    """The file ``name`` of a batch folder, resolved: it must be a regular file inside ``root``.

    Symbolic links are followed, and the file they lead to must still lie inside the folder: a
    tampered batch cannot make faxbatch read (and send) a file from elsewhere. Returns the resolved
    path, which is the one to open. :class:`InputUnreadableError` naming ``what`` and the path.
    """
    check_relative(name, what)
    try:
        base = Path(root).resolve(strict=True)
        resolved = (Path(root) / name).resolve(strict=True)
    except FileNotFoundError:
        raise InputUnreadableError(
            f"{what}: {root / name} does not exist", hint=_BUILD_AGAIN
        ) from None
    except (OSError, RuntimeError) as exc:  # a symlink loop, a folder we may not enter
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InputUnreadableError(f"{what}: cannot resolve {root / name} ({why})") from None
    if not resolved.is_relative_to(base):
        raise InputUnreadableError(
            f"{what}: '{name}' leads outside the batch folder {root} (to {resolved}); "
            "faxbatch reads only files inside it",
            hint=_BUILD_AGAIN,
        )
    try:
        mode = resolved.stat().st_mode
    except OSError as exc:
        raise InputUnreadableError(f"{what}: cannot read {root / name} ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        raise InputUnreadableError(
            f"{what}: {root / name} is not a regular file", hint=_BUILD_AGAIN
        )
    return resolved


def read_inside(root: Path, name: str, what: str) -> bytes:
    """The bytes of the file ``name`` of a batch folder (see :func:`inside`)."""
    path = inside(root, name, what)
    try:
        # O_NONBLOCK: had the file become a FIFO since it was checked, opening it must not hang
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise InputUnreadableError(f"{what}: {root / name} is not a regular file")
            return handle.read()
    except OSError as exc:
        raise InputUnreadableError(f"cannot read {root / name} ({exc.strerror or exc})") from None


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
