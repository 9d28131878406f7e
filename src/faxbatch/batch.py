"""A built batch folder as the gateways see it: the manifest read back, and the faxes it may send.

``faxbatch build`` writes ``manifest.json``; everything that hands faxes to a gateway (exports,
``send``, ``status``) starts here. Only documents that are ``ready`` and whose number has a usable
verdict (``ok`` or ``warning``) become a :class:`Fax`: a refused, invalid or volunteer-rejected
number is never sent.

Each fax carries an *idempotency key*: a hash of the campaign's reference (or title), the recipient
id and the document's SHA-256. It stays the same when the same document is built again, so that a
gateway, the journal and a HylaFAX job tag can all recognise a fax that was handed over before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faxbatch.errors import InputUnreadableError

MANIFEST_NAME = "manifest.json"
#: the number verdicts that may be dialled
SENDABLE_VERDICTS = ("ok", "warning")
#: manifest fields of a number's sending window (ISO 8601, UTC), when the build knows one
WINDOW_FIELDS = ("window_start_utc", "window_end_utc")
_KEY_VERSION = "faxbatch-idempotency-1"


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

    def fax(self, recipient_id: str) -> Fax | None:
        """The sendable fax of one recipient, if there is one."""
        return next((fax for fax in self.faxes if fax.recipient_id == recipient_id), None)

    def path(self, fax: Fax) -> Path:
        """Where a fax's PDF is."""
        return self.root / fax.file


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
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    pages = doc.get("pages")
    return Fax(
        recipient_id=str(doc.get("recipient_id")),
        recipient_name=str(doc.get("recipient_name") or doc.get("recipient_id")),
        organization=str(doc.get("organization") or ""),
        e164=e164,
        international=str(doc.get("fax_international") or e164),
        dial_string=str(doc.get("dial_string") or e164),
        file=str(doc["file"]),
        pages=pages if isinstance(pages, int) else 0,
        sha256=str(doc["sha256"]),
        key=idempotency_key(campaign, doc),
        window_start=start,
        window_end=end,
    )


def load_batch(root: Path) -> Batch:
    """Read a built batch folder; a missing or unreadable folder or manifest stops here."""
    root = Path(root)
    if not root.is_dir():
        raise InputUnreadableError(
            f"{root} is not a batch folder (it does not exist or is not a folder)",
            hint="give the folder that 'faxbatch build --out DIR' wrote",
        )
    path = root / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise InputUnreadableError(
            f"{path} is missing: {root} is not a built batch",
            hint="build it first with 'faxbatch build CAMPAIGN --out DIR'",
        ) from None
    except OSError as exc:
        raise InputUnreadableError(f"cannot read {path} ({exc.strerror or exc})") from None
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


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
