"""The signatories of a build: read once in pass 1, the letters of each signer made in pass 2.

Pass 1 (:meth:`Signing.read`) reads the signers file row by row: it counts the signers, keeps the
rows that cannot be used (with their lines, for the build's warnings and the manifest), gathers
the characters the font subsets must hold and, in ``annex`` mode, the signers of the annex (one
annex is one document's content; the whole batch shares it). In ``per_signer`` mode nothing of
the signers is kept: pass 2 (:meth:`Signing.letters`) reads the file again for each recipient and
makes one plan per (recipient, signer), so that 1,000 signers to 6 offices stream like any batch
of 6,000 letters.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from faxbatch.build.plan import RecipientPlan
from faxbatch.campaign.model import Campaign
from faxbatch.campaign.signers import Signer, iter_signers
from faxbatch.letters.direction import explicit_controls
from faxbatch.letters.fonts import describe_char, typeface
from faxbatch.letters.signatories import country_heading, entry_text, signer_address

__all__ = ["SHOWN_PROBLEMS", "Signing", "may_be_sent"]

#: signer rows with problems the build's warnings list (the manifest lists them all)
SHOWN_PROBLEMS = 100
#: the most signer problems the manifest keeps (a file of garbage should not fill the disk)
KEPT_PROBLEMS = 10_000


def may_be_sent(plan: RecipientPlan) -> bool:
    """Whether a recipient read in pass 1 looks like getting a letter (for "also sent to")."""
    if plan.problems:
        return False
    return any(reading.usable for reading in plan.fax_readings) or bool(plan.recipient.address)


def _texts(signer: Signer) -> list[str]:
    return [
        signer.name,
        signer.organization,
        signer.role,
        signer.city,
        signer.email,
        *signer.address,
    ]


class Signing:
    """The campaign's signatories during one build."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        settings = campaign.signatories
        self.mode = settings.mode if settings is not None else None
        self.count = 0  # signers that sign
        self.by_country: Counter[str | None] = Counter()
        self.problems: list[str] = []
        self.problem_count = 0
        self.bad_lines: set[int] = set()  # rows refused in pass 1 (the font, for one)
        self.annex: tuple[Signer, ...] = ()
        self.annex_key = ""
        self.file_name = settings.file.name if settings is not None else ""

    @property
    def per_signer(self) -> bool:
        """Whether each signer sends a letter of their own."""
        return self.mode == "per_signer"

    def read(self, chars: set[str]) -> None:
        """Pass 1: every row of the signers file, once; ``chars`` gains what they print."""
        if self.mode is None:
            return
        faces = typeface()
        languages = self.campaign.languages
        annex: list[Signer] = []
        countries: set[str | None] = set()
        for signer in iter_signers(self.campaign):
            problems = list(signer.problems)
            where = f"{self.file_name}:{signer.line}"
            missing = [c for text in _texts(signer) for c in faces.missing(text)]
            controls = [c for text in _texts(signer) for c in explicit_controls(text)]
            if missing and not problems:
                chars_named = ", ".join(describe_char(c) for c in dict.fromkeys(missing))
                problems.append(f"{where}: {chars_named} cannot be printed; replace it.")
            elif controls and not problems:
                chars_named = ", ".join(describe_char(c) for c in dict.fromkeys(controls))
                problems.append(
                    f"{where}: {chars_named} is an explicit direction control, which faxbatch "
                    "does not follow; remove it."
                )
            if problems:
                self._refuse(signer.line, problems)
                continue
            self.count += 1
            self.by_country[signer.country] += 1
            for text in _texts(signer):
                chars.update(text)
            for span in entry_text(signer):
                chars.update(span.text)
            if signer.country not in countries:
                countries.add(signer.country)
                for language in languages:
                    chars.update(country_heading(signer.country, language))
            if self.per_signer:
                for language in languages:
                    for line in signer_address(signer, language):
                        chars.update(line)
            else:
                annex.append(signer)
        if not self.per_signer:
            self.annex = tuple(annex)
            digest = hashlib.sha256(repr(self.annex).encode("utf-8", "surrogatepass"))
            self.annex_key = digest.hexdigest()

    def _refuse(self, line: int, problems: list[str]) -> None:
        self.bad_lines.add(line)
        self.problem_count += 1
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append(" ".join(problems))

    def warnings(self) -> list[str]:
        """What the build says about the signers file: rows left out, no signer at all."""
        if self.mode is None:
            return []
        name = self.file_name
        found: list[str] = []
        if self.problem_count:
            found.append(
                f"{self.problem_count} row(s) of the signers file {name} cannot be used and are "
                "left out (listed in the manifest):"
            )
            found.extend(self.problems[:SHOWN_PROBLEMS])
            if self.problem_count > SHOWN_PROBLEMS:
                found.append(f"... and {self.problem_count - SHOWN_PROBLEMS} more")
        if not self.count:
            found.append(f"the signers file {name} has no signer that can be used.")
        return found

    def summary(self) -> dict[str, Any]:
        """The manifest's ``signatories`` and ``copies_to`` (nothing when the campaign has none)."""
        found: dict[str, Any] = {}
        settings = self.campaign.signatories
        if settings is not None:
            found["signatories"] = {
                "mode": settings.mode,
                "file": settings.file.name,
                "signers": self.count,
                "rows_left_out": self.problem_count,
                "problems": self.problems,
            }
        if self.campaign.copies_to:
            found["copies_to"] = [
                {"name": copy.name or None, "email": copy.email} for copy in self.campaign.copies_to
            ]
        return found

    @staticmethod
    def recipient_plan(plan: RecipientPlan) -> RecipientPlan:
        """The recipient's own plan of one of its signers' letters (its own id back)."""
        if plan.signer is None:
            return plan
        recipient = replace(plan.recipient, id=plan.base_id)
        return replace(plan, recipient=recipient, signer=None, recipient_id="")

    def letters(self, plans: Iterator[RecipientPlan]) -> Iterator[RecipientPlan]:
        """Pass 2, per signer: a plan per (recipient, signer), the signers file read again.

        A recipient with ``signers_from`` gets only the letters of signers in those countries;
        one no signer writes to is rejected, saying why.
        """
        for plan in plans:
            if not plan.ready:
                yield plan
                continue
            chosen = set(plan.recipient.signers_from)
            rid = plan.recipient.id
            made = 0
            for signer in iter_signers(self.campaign):
                if signer.problems or signer.line in self.bad_lines:
                    continue
                if chosen and signer.country not in chosen:
                    continue
                made += 1
                yield replace(
                    plan,
                    recipient=replace(plan.recipient, id=f"{rid}--{signer.id}"),
                    signer=signer,
                    recipient_id=rid,
                )
            if not made:
                countries = ", ".join(plan.recipient.signers_from)
                reason = (
                    f"No signer of the signers file is from {countries} (signers_from)."
                    if chosen
                    else "The signers file has no signer that can be used."
                )
                yield replace(plan, problems=[*plan.problems, reason])
