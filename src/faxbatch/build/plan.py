"""Deciding, before anything is drawn, what each recipient gets and why.

For every recipient: its numbers read and judged (against the volunteers' verification sheet too),
each usable number's next sending window, its text checked against the font, and a verdict:
``ready`` (a fax will be built) or ``rejected`` (with the reasons in words). Text shared by every
letter that the font cannot draw stops the whole campaign instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from faxbatch.campaign.loader import iter_recipients
from faxbatch.campaign.model import Campaign, Recipient
from faxbatch.campaign.signers import Signer
from faxbatch.errors import CampaignError, sentences
from faxbatch.letters.direction import explicit_controls
from faxbatch.letters.fonts import describe_char, typeface
from faxbatch.letters.labels import CATALOG_LANGUAGES, has_catalog
from faxbatch.letters.shaping import is_arabic_letter
from faxbatch.numbers import verification
from faxbatch.numbers.reading import (
    Kind,
    NumberOwners,
    NumberReading,
    Verdict,
    area_code_from,
    best,
    read_numbers,
)
from faxbatch.numbers.verification import Verification, VerificationSheet
from faxbatch.numbers.windows import WindowFinder, WindowResult, format_utc


@dataclass
class RecipientPlan:
    """What faxbatch will do for one recipient."""

    recipient: Recipient
    fax_readings: tuple[NumberReading, ...] = ()
    phone_readings: tuple[NumberReading, ...] = ()
    fax: NumberReading | None = None
    phone: NumberReading | None = None
    #: what keeps every document of the recipient from being made
    problems: list[str] = field(default_factory=list)
    #: the documents to make, by channel ("fax", "post"), and why one asked for is not made
    documents: tuple[str, ...] = ()
    fax_problem: str = ""
    post_problem: str = ""
    #: what the verification sheet says, and the next sending window, by E.164 number
    verifications: dict[str, Verification] = field(default_factory=dict)
    windows: dict[str, WindowResult] = field(default_factory=dict)
    #: with ``signatories`` per signer: whose letter this is; ``recipient.id`` is then the
    #: document's id, ``<recipient id>--<signer id>``, and ``recipient_id`` the recipient's own
    signer: Signer | None = None
    recipient_id: str = ""

    @property
    def base_id(self) -> str:
        """The recipient's own id (the document's id without its signer)."""
        return self.recipient_id or self.recipient.id

    def verification_of(self, reading: NumberReading | None) -> Verification | None:
        """What volunteers found for one of the recipient's numbers."""
        return self.verifications.get(reading.e164) if reading and reading.e164 else None

    def window_of(self, reading: NumberReading | None) -> WindowResult | None:
        """The next sending window of one of the recipient's usable numbers."""
        return self.windows.get(reading.e164) if reading and reading.e164 else None

    @property
    def ready(self) -> bool:
        """Whether any document is made for this recipient."""
        return bool(self.documents) and not self.problems

    @property
    def all_problems(self) -> list[str]:
        """Every reason a document the recipient asked for is not made."""
        return [*self.problems, *(p for p in (self.fax_problem, self.post_problem) if p)]

    def manifest_fields(self, channel: str | None = None) -> dict[str, object]:
        """The manifest columns of one of the recipient's documents (or of its rejection)."""
        r = self.recipient
        shown = self.fax or (self.fax_readings[0] if self.fax_readings else None)
        made = channel is not None and self.ready
        if made:  # a postal letter in place of a fax says why
            problems = [self.fax_problem] if channel == "post" and self.fax_problem else []
        else:
            problems = self.all_problems
        fields: dict[str, object] = {
            "recipient_id": r.id,
            "recipient_name": r.display_name,
            "organization": r.organization or None,
            "signer_id": self.signer.id if self.signer else None,
            "signer_name": self.signer.display_name if self.signer else None,
            "channel": channel or r.channels[0],
            "language": r.language or None,
            "languages": list(r.languages) or ([r.language] if r.language else None),
            "status": "ready" if made else "rejected",
            "problems": problems,
            "fax_raw": r.fax or None,
            "fax_e164": None,
            "fax_international": None,
            "fax_national": None,
            "fax_valid": None,
            "fax_type": None,
            "fax_region": None,
            "fax_location": None,
            "fax_time_zones": None,
            "fax_verdict": None,
            "fax_reasons": None,
            "dial_string": None,
            "phone_raw": r.phone or None,
            "phone_e164": self.phone.e164 if self.phone else None,
            # the recipients file's own columns (case_number, email): this recipient's cells
            "fields": dict(r.fields) or None,
        }
        fields.update(_verification_fields(self.verification_of(shown)))
        fields.update(_window_fields(self.window_of(self.fax)))
        if shown is not None:
            fields.update(
                fax_e164=shown.e164,
                fax_international=shown.international,
                fax_national=shown.national,
                fax_valid=shown.valid,
                fax_type=shown.number_type,
                fax_region=shown.region,
                fax_location=shown.location,
                fax_time_zones=list(shown.time_zones),
                fax_verdict=shown.verdict,
                fax_reasons=list(shown.reasons),
                dial_string=shown.dial_string if self.fax is not None else None,
            )
        return fields


def _verification_fields(found: Verification | None) -> dict[str, object]:
    if found is None:
        return {"fax_verification": None, "fax_verified_on": None, "fax_verified_by": None}
    return {
        "fax_verification": found.status,
        "fax_verified_on": found.finding.date.isoformat(),
        "fax_verified_by": found.finding.by or None,
    }


def _window_fields(found: WindowResult | None) -> dict[str, object]:
    window = found.window if found else None
    if window is None:
        return dict.fromkeys(WINDOW_FIELDS)
    return {
        "window_start_local": window.start_local.isoformat(timespec="seconds"),
        "window_end_local": window.end_local.isoformat(timespec="seconds"),
        "window_start_utc": format_utc(window.start),
        "window_end_utc": format_utc(window.end),
        "window_time_zone": window.time_zone,
    }


#: the manifest fields of the sending window of the number a fax goes to
WINDOW_FIELDS = (
    "window_start_local",
    "window_end_local",
    "window_start_utc",
    "window_end_utc",
    "window_time_zone",
)


def campaign_texts(campaign: Campaign) -> Iterator[tuple[str, str]]:
    """(field path, text) of everything every letter prints."""
    sender = campaign.sender
    yield "campaign.title", campaign.title
    yield "campaign.reference", campaign.reference
    for name in ("name", "organization", "phone", "fax", "email"):
        yield f"sender.{name}", getattr(sender, name)
    for i, line in enumerate(sender.address):
        yield f"sender.address[{i}]", line
    letter = campaign.letter
    for name in ("subject", "greeting", "body", "closing"):
        yield f"letter.{name}", getattr(letter, name)
    for i, line in enumerate(letter.signature):
        yield f"letter.signature[{i}]", line
    yield "cover.comments", campaign.cover.comments
    for language, translation in campaign.translations.items():
        path = f"translations.{language}"
        for name in ("subject", "greeting", "body", "closing"):
            yield f"{path}.{name}", getattr(translation.letter, name)
        for i, line in enumerate(translation.letter.signature):
            yield f"{path}.signature[{i}]", line
        yield f"{path}.cover.comments", translation.cover_comments


def campaign_warnings(campaign: Campaign) -> list[str]:
    """What the campaign's reading noticed, and languages printed with English labels."""
    found = list(campaign.warnings)
    for language in campaign.languages:
        if not has_catalog(language):
            found.append(
                f"faxbatch has no labels in '{language}': the cover sheets and page footers of "
                f"letters in '{language}' are labelled in English (labels exist for "
                f"{', '.join(CATALOG_LANGUAGES)})."
            )
    return found


def recipient_texts(recipient: Recipient) -> Iterator[tuple[str, str]]:
    """(field path, text) of what one recipient adds to its letter."""
    for name in ("id", "name", "title", "organization", "fax", "phone", "greeting",
                 "cover_comments"):  # fmt: skip
        yield recipient.field(name), getattr(recipient, name)
    for i, line in enumerate(recipient.address):
        yield recipient.field(f"address[{i}]"), line


#: what to do about an explicit direction control (faxbatch finds each paragraph's direction)
_CONTROL_HINT = (
    "remove it: faxbatch lays out Arabic and Hebrew by itself, each paragraph in the direction "
    "of its first letter (a U+200F RIGHT-TO-LEFT MARK at the start makes a paragraph right to "
    "left)"
)


def check_campaign_text(campaign: Campaign) -> None:
    """Stop with a clear error when shared text holds a character the font cannot draw.

    Explicit direction controls (embeddings, overrides, isolates) are refused too: layout finds
    the direction of right-to-left text by itself, and does not follow them.
    """
    faces = typeface()
    for path, text in campaign_texts(campaign):
        line = campaign.lines.get(path) or campaign.lines.get(path.split("[")[0])
        missing = faces.missing(text)
        if missing:
            raise CampaignError(
                f"{describe_char(missing[0])} cannot be printed: the font has no such letter"
                + (" (or not every form it joins with)" if is_arabic_letter(missing[0]) else ""),
                source=str(campaign.source),
                line=line,
                field=path,
                hint="replace it, or write the word in Latin or Cyrillic letters",
            )
        controls = explicit_controls(text)
        if controls:
            raise CampaignError(
                f"{describe_char(controls[0])} is an explicit direction control, which faxbatch "
                "does not follow",
                source=str(campaign.source),
                line=line,
                field=path,
                hint=_CONTROL_HINT,
            )


def _text_problems(recipient: Recipient) -> list[str]:
    faces = typeface()
    problems = []
    for path, text in recipient_texts(recipient):
        missing = faces.missing(text)
        if missing:
            chars = ", ".join(describe_char(c) for c in missing)
            problems.append(f"{path} has {chars}, which the font cannot print; replace it.")
        controls = explicit_controls(text)
        if controls:
            chars = ", ".join(describe_char(c) for c in controls)
            problems.append(
                f"{path} has {chars}, an explicit direction control faxbatch does not follow; "
                f"{_CONTROL_HINT}."
            )
    return problems


#: the readings of a number field made before, by :func:`readings_key` (None: not known)
KnownReadings = Callable[[str], tuple[NumberReading, ...] | None]


def readings_key(campaign: Campaign, recipient: Recipient, raw: str, kind: str) -> str:
    """The cache key of one number field's readings (what the readings depend on)."""
    region = campaign.recipient_country(recipient)
    allowed = ",".join(sorted(recipient.allow_number_types))
    return "\x1f".join([raw, kind, region or "", campaign.sender.country or "", allowed])


def _read(
    campaign: Campaign, recipient: Recipient, raw: str, kind: Kind, known: KnownReadings | None
) -> tuple[NumberReading, ...]:
    found = known(readings_key(campaign, recipient, raw, kind)) if known else None
    if found is not None:
        return found
    return read_numbers(
        raw,
        kind=kind,
        recipient_region=campaign.recipient_country(recipient),
        sender_region=campaign.sender.country,
        allow_types=frozenset(recipient.allow_number_types),
    )


def read_recipient(
    campaign: Campaign, recipient: Recipient, known: KnownReadings | None = None
) -> RecipientPlan:
    """First step for one recipient: its numbers read, its text checked (nothing compared yet).

    ``known`` gives readings made before (by a previous build), so they are not made again.
    """
    plan = RecipientPlan(recipient)
    plan.problems.extend(recipient.problems)
    plan.problems.extend(_text_problems(recipient))
    fax = _read(campaign, recipient, recipient.fax, "fax", known)
    phone = _read(campaign, recipient, recipient.phone, "phone", known)
    every = (*fax, *phone)
    plan.fax_readings = tuple(_with_area_hint(reading, every) for reading in fax)
    plan.phone_readings = tuple(_with_area_hint(reading, every) for reading in phone)
    return plan


def _with_area_hint(reading: NumberReading, every: tuple[NumberReading, ...]) -> NumberReading:
    """A number without its area code, with the code of the recipient's other number if any."""
    hint = area_code_from(reading, [other for other in every if other is not reading])
    return replace(reading, reasons=(*reading.reasons, hint)) if hint else reading


class NumberChecks:
    """Second step, once every recipient was read: duplicates, volunteers' findings, windows."""

    def __init__(
        self,
        campaign: Campaign,
        owners: NumberOwners,
        sheet: VerificationSheet | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        self.campaign = campaign
        self.owners = owners
        self.sheet = sheet or VerificationSheet()
        self.now = now or dt.datetime.now(dt.UTC)
        self.finder = WindowFinder(campaign.office_hours, self.now)

    def finish(self, plan: RecipientPlan) -> RecipientPlan:
        """Judge the plan's numbers against the rest of the campaign; pick the fax number."""
        rid = plan.recipient.id
        plan.fax_readings = tuple(self.owners.flag(rid, r) for r in plan.fax_readings)
        _check_numbers(self.campaign, plan, self.sheet, self.finder, self.now)
        plan.fax = best(plan.fax_readings)
        plan.phone = best(plan.phone_readings)
        _choose_documents(plan)
        return plan


def plan_recipients(
    campaign: Campaign,
    *,
    sheet: VerificationSheet | None = None,
    now: dt.datetime | None = None,
) -> list[RecipientPlan]:
    """Read and judge every recipient's numbers and text; pick the number each fax goes to.

    ``sheet`` is the volunteers' verification sheet (none: nothing verified); ``now`` the moment
    sending windows start from and verifications age to (default: the clock's). This holds every
    plan at once; ``pipeline.build_batch`` does the same in two streaming passes.
    """
    plans = [read_recipient(campaign, recipient) for recipient in iter_recipients(campaign)]
    owners = NumberOwners()
    for plan in plans:
        for reading in plan.fax_readings:
            owners.add(plan.recipient.id, reading)
    checks = NumberChecks(campaign, owners, sheet, now)
    return [checks.finish(plan) for plan in plans]


def _check_numbers(
    campaign: Campaign,
    plan: RecipientPlan,
    sheet: VerificationSheet,
    finder: WindowFinder,
    now: dt.datetime,
) -> None:
    """Add the volunteers' findings and the sending windows to the plan's readings."""
    today = now.astimezone(dt.UTC).date()

    def checked(plan: RecipientPlan, reading: NumberReading, kind: Kind) -> NumberReading:
        reading, found = verification.judge(
            reading,
            kind=kind,
            sheet=sheet,
            today=today,
            max_age_days=campaign.verification_max_age_days,
        )
        if found is not None and reading.e164:
            plan.verifications[reading.e164] = found
        if not reading.usable or not reading.e164:
            return reading
        window = finder.find(reading.time_zones, reading.region, plan.recipient.office_hours)
        plan.windows[reading.e164] = window
        if not window.notes:
            return reading
        # a number with no office hours to send in can be dialled, but not left to a scheduler
        verdict = Verdict.WARNING if window.window is None else reading.verdict
        return replace(reading, verdict=verdict, reasons=(*reading.reasons, *window.notes))

    plan.fax_readings = tuple(checked(plan, r, "fax") for r in plan.fax_readings)
    plan.phone_readings = tuple(checked(plan, r, "phone") for r in plan.phone_readings)


def _choose_documents(plan: RecipientPlan) -> None:
    """Decide the recipient's documents.

    A fax when asked for and a number is usable; a postal letter when asked for, or when no fax
    can go and there is an address to post to.
    """
    recipient = plan.recipient
    documents: list[str] = []
    if "fax" in recipient.channels:
        if plan.fax is not None:
            documents.append("fax")
        else:
            plan.fax_problem = _no_fax_reason(plan)
    if "post" in recipient.channels or not documents:
        if recipient.address:
            documents.append("post")
        elif "post" in recipient.channels:
            plan.post_problem = (
                "No postal address is given; add 'address' lines to send this letter by post."
            )
        elif plan.fax_problem:
            plan.fax_problem = sentences(
                [plan.fax_problem, "There is no postal address to send it by post instead"]
            )
    plan.documents = tuple(documents)


def _no_fax_reason(plan: RecipientPlan) -> str:
    if not plan.recipient.fax.strip():
        return "No fax number is given; add one under 'fax' to send this letter."
    reasons: list[str] = []
    for reading in plan.fax_readings:
        why = sentences(reading.reasons) or f"It is {reading.verdict}."
        quoted = f"'{reading.written or reading.raw}'"
        # a reason that names the number already ("'7.71727E+10' is a number a spreadsheet ...")
        reasons.append(why if why.startswith(quoted) else f"{quoted}: {why}")
    listed = " ".join(reasons) or f"'{plan.recipient.fax}' holds no number."
    return f"No usable fax number: {listed}"


def characters(campaign: Campaign, plans: Iterable[RecipientPlan]) -> set[str]:
    """Every character a document of this batch may print (for the font subsets)."""
    chars: set[str] = set()
    for _path, text in campaign_texts(campaign):
        chars.update(text)
    for plan in plans:
        chars.update(plan_characters(plan))
    return chars - {"\n", "\r", "\t"}


def plan_characters(plan: RecipientPlan) -> set[str]:
    """The characters one recipient adds to its documents."""
    chars: set[str] = set()
    for _path, text in recipient_texts(plan.recipient):
        chars.update(text)
    for reading in (*plan.fax_readings, *plan.phone_readings):
        chars.update(reading.international or "")
    return chars
