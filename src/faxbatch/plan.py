"""Deciding, before anything is drawn, what each recipient gets and why.

For every recipient: its numbers read and judged, its text checked against the font, and a verdict:
``ready`` (a fax will be built) or ``rejected`` (with the reasons in words). Text shared by every
letter that the font cannot draw stops the whole campaign instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from faxbatch import numbers
from faxbatch.errors import CampaignError
from faxbatch.fonts import describe_char, typeface
from faxbatch.model import Campaign, Recipient
from faxbatch.numbers import NumberReading


@dataclass
class RecipientPlan:
    """What faxbatch will do for one recipient."""

    recipient: Recipient
    fax_readings: tuple[NumberReading, ...] = ()
    phone_readings: tuple[NumberReading, ...] = ()
    fax: NumberReading | None = None
    phone: NumberReading | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """Whether a fax is built for this recipient."""
        return self.fax is not None and not self.problems

    def manifest_fields(self) -> dict[str, object]:
        """The recipient's and its numbers' columns of the manifest."""
        r = self.recipient
        shown = self.fax or (self.fax_readings[0] if self.fax_readings else None)
        fields: dict[str, object] = {
            "recipient_id": r.id,
            "recipient_name": r.display_name,
            "organization": r.organization or None,
            "channel": "fax",
            "status": "ready" if self.ready else "rejected",
            "problems": list(self.problems),
            "fax_raw": r.fax or None,
            "fax_e164": None,
            "fax_international": None,
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
        }
        if shown is not None:
            fields.update(
                fax_e164=shown.e164,
                fax_international=shown.international,
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


def recipient_texts(recipient: Recipient) -> Iterator[tuple[str, str]]:
    """(field path, text) of what one recipient adds to its letter."""
    path = recipient.field_path
    for name in ("id", "name", "title", "organization", "fax", "phone"):
        yield f"{path}.{name}", getattr(recipient, name)
    for i, line in enumerate(recipient.address):
        yield f"{path}.address[{i}]", line


def check_campaign_text(campaign: Campaign) -> None:
    """Stop with a clear error when shared text holds a character the font cannot draw."""
    faces = typeface()
    for path, text in campaign_texts(campaign):
        missing = faces.missing(text)
        if missing:
            line = campaign.lines.get(path) or campaign.lines.get(path.split("[")[0])
            raise CampaignError(
                f"{describe_char(missing[0])} cannot be printed: the font has no such letter",
                source=str(campaign.source),
                line=line,
                field=path,
                hint="replace it, or write the word in Latin or Cyrillic letters",
            )


def _text_problems(recipient: Recipient) -> list[str]:
    faces = typeface()
    problems = []
    for path, text in recipient_texts(recipient):
        missing = faces.missing(text)
        if missing:
            chars = ", ".join(describe_char(c) for c in missing)
            problems.append(f"{path} has {chars}, which the font cannot print; replace it.")
    return problems


def plan_recipients(campaign: Campaign) -> list[RecipientPlan]:
    """Read and judge every recipient's numbers and text; pick the number each fax goes to."""
    sender_region = campaign.sender.country
    plans: list[RecipientPlan] = []
    for recipient in campaign.recipients:
        region = campaign.recipient_country(recipient)
        plan = RecipientPlan(recipient)
        plan.problems.extend(_text_problems(recipient))
        plan.fax_readings = numbers.read_numbers(
            recipient.fax, kind="fax", recipient_region=region, sender_region=sender_region
        )
        plan.phone_readings = numbers.read_numbers(
            recipient.phone, kind="phone", recipient_region=region, sender_region=sender_region
        )
        plans.append(plan)
    _judge_duplicates(plans)
    for plan in plans:
        plan.fax = numbers.best(plan.fax_readings)
        plan.phone = numbers.best(plan.phone_readings)
        if plan.fax is None:
            plan.problems.append(_no_fax_reason(plan))
    return plans


def _judge_duplicates(plans: list[RecipientPlan]) -> None:
    pairs = [(p.recipient.id, reading) for p in plans for reading in p.fax_readings]
    flagged = iter(numbers.flag_duplicates(pairs))
    for plan in plans:
        plan.fax_readings = tuple(next(flagged) for _ in plan.fax_readings)


def _no_fax_reason(plan: RecipientPlan) -> str:
    if not plan.recipient.fax.strip():
        return "No fax number is given; add one under 'fax' to send this letter."
    reasons: list[str] = []
    for reading in plan.fax_readings:
        why = " ".join(reading.reasons) or f"it is {reading.verdict}"
        reasons.append(f"'{reading.raw}': {why}")
    listed = "; ".join(reasons) or f"'{plan.recipient.fax}' holds no number"
    return f"No usable fax number: {listed}"


def characters(campaign: Campaign, plans: Iterable[RecipientPlan]) -> set[str]:
    """Every character a document of this batch may print (for the font subsets)."""
    chars: set[str] = set()
    for _path, text in campaign_texts(campaign):
        chars.update(text)
    for plan in plans:
        for _path, text in recipient_texts(plan.recipient):
            chars.update(text)
        for reading in (plan.fax, plan.phone):
            if reading is not None:
                chars.update(reading.international or "")
    chars.discard("\n")
    chars.discard("\r")
    chars.discard("\t")
    return chars
