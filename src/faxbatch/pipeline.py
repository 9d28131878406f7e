"""The batch, end to end: campaign in, faxes, print volume and manifests out.

:func:`build_batch` is the library's main entry point. It prints nothing and raises
:class:`~faxbatch.errors.FaxbatchError` subclasses; per-recipient problems become manifest rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faxbatch import __version__
from faxbatch.check import current_moment, sheet_files_of
from faxbatch.document import DoesNotFit, FaxTarget, fax_document, format_date
from faxbatch.errors import ExitCode, OutputNotWritableError
from faxbatch.fonts import LAYOUT_CHARACTERS, EmbeddedFont, Style, embed_all
from faxbatch.layout import Paragraph
from faxbatch.manifest import manifest_csv, manifest_json
from faxbatch.markdown import parse_body
from faxbatch.model import Campaign
from faxbatch.outputs import Staging
from faxbatch.pdf import PageContent, PdfWriter, render_page
from faxbatch.plan import RecipientPlan, characters, check_campaign_text, plan_recipients
from faxbatch.progress import NullProgress, Progress
from faxbatch.verification import VerificationSheet, load_verification

VOLUME_NAME = "print/volume-001.pdf"
#: every label and word the layout itself prints, so the font subsets always hold them
LABELS = (
    "FAX URGENT Date Pages (including this cover sheet) To Organization Fax Phone From Email "
    "Regarding Reference Comments By fax: Page of — · … • 0123456789 January February March "
    "April May June July August September October November December"
)


@dataclass(frozen=True)
class BuildOptions:
    """How to build: where to, on how many processes, which date when the campaign has none."""

    out: Path = Path("out")
    today: dt.date | None = None
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    #: numbers: the moment sending windows start from (default: see check.current_moment), and
    #: the volunteers' verification sheet (default: verification.csv beside the campaign)
    now: dt.datetime | None = None
    verification: VerificationSheet | None = None


@dataclass
class BuildResult:
    """What a build produced: one manifest entry per recipient, in campaign order."""

    out: Path
    documents: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ready(self) -> int:
        """Documents built."""
        return sum(1 for doc in self.documents if doc["status"] == "ready")

    @property
    def rejected(self) -> int:
        """Recipients that got no document."""
        return len(self.documents) - self.ready

    @property
    def exit_code(self) -> ExitCode:
        """0 when every recipient is ready, 6 when some were rejected."""
        return ExitCode.REJECTED_RECIPIENTS if self.rejected else ExitCode.OK


def letter_date(campaign: Campaign, options: BuildOptions) -> dt.date:
    """The date printed on the letters: the campaign's, else today (or SOURCE_DATE_EPOCH)."""
    if campaign.date:
        return campaign.date
    if options.today:
        return options.today
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
    return dt.date.today()


def render_fax(
    campaign: Campaign,
    plan: RecipientPlan,
    body: Sequence[Paragraph],
    day: dt.date,
    fonts: dict[Style, EmbeddedFont],
) -> list[PageContent]:
    """Lay out and render one recipient's fax (cover and letter)."""
    assert plan.fax is not None
    target = FaxTarget(
        fax=plan.fax.international or plan.fax.e164 or plan.fax.raw,
        phone=plan.phone.international or "" if plan.phone else "",
    )
    pages = fax_document(campaign, plan.recipient, body, day, target)
    return [render_page(page, fonts) for page in pages]


def pdf_bytes(
    contents: Sequence[PageContent], fonts: dict[Style, EmbeddedFont], title: str
) -> bytes:
    """One self-contained PDF from rendered pages."""
    buffer = io.BytesIO()
    writer = PdfWriter(buffer, fonts, title=title, producer=f"faxbatch {__version__}")
    writer.add_pages(contents)
    writer.close()
    return buffer.getvalue()


def campaign_summary(campaign: Campaign, day: dt.date) -> dict[str, Any]:
    """The ``campaign`` part of the manifest."""
    return {
        "title": campaign.title,
        "reference": campaign.reference or None,
        "date": day.isoformat(),
        "source": campaign.source.name,
        "page_size": campaign.page_size,
        "sender": campaign.sender.organization or campaign.sender.name,
        "faxbatch_version": __version__,
    }


def build_batch(
    campaign: Campaign, options: BuildOptions, progress: Progress | None = None
) -> BuildResult:
    """Build every fax of the campaign into ``options.out``, atomically."""
    started = time.monotonic()
    progress = progress or NullProgress()
    check_campaign_text(campaign)
    now = current_moment(options.now, options.today)
    sheet = options.verification or load_verification(campaign)
    plans = plan_recipients(campaign, sheet=sheet, now=now)
    day = letter_date(campaign, options)
    body = parse_body(campaign.letter.body)
    chars = characters(campaign, plans) | LAYOUT_CHARACTERS | set(LABELS) | set(format_date(day))
    fonts = embed_all(dict.fromkeys(Style, chars))
    result = BuildResult(out=Path(options.out))

    with Staging(Path(options.out)) as staging:
        try:
            shared = _Shared(campaign, tuple(body), day, fonts, staging.tmp)
            _write_documents(shared, plans, options.jobs, staging, result, progress)
            summary = campaign_summary(campaign, day)
            staging.write("manifest.json", manifest_json(summary, result.documents))
            staging.write("manifest.csv", manifest_csv(result.documents))
            for name, data in sheet_files_of(campaign, plans, now).items():
                staging.write(name, data)  # the volunteers' number sheet, as `check` writes it
        except OSError as exc:
            raise OutputNotWritableError(
                f"cannot write the batch beside {staging.out} ({exc.strerror or exc})",
                hint="check free disk space and permissions",
            ) from None
        staging.commit()
    result.seconds = time.monotonic() - started
    return result


@dataclass(frozen=True)
class _Shared:
    """What every document of the batch is made from (sent to worker processes once)."""

    campaign: Campaign
    body: tuple[Paragraph, ...]
    day: dt.date
    fonts: dict[Style, EmbeddedFont]
    folder: Path  # the staging folder


@dataclass(frozen=True)
class _Rendered:
    """One document, rendered and written; its pages go on into the volume."""

    contents: list[PageContent]
    sha256: str | None = None
    problem: str | None = None


_SHARED: _Shared | None = None  # set once in each worker process


def _init_worker(shared: _Shared) -> None:
    global _SHARED
    _SHARED = shared


def _render_in_worker(plan: RecipientPlan) -> _Rendered:
    assert _SHARED is not None
    return _render_and_write(_SHARED, plan)


def _render_and_write(shared: _Shared, plan: RecipientPlan) -> _Rendered:
    """Lay out, render and write one recipient's fax; returns its pages for the volume."""
    campaign = shared.campaign
    try:
        contents = render_fax(campaign, plan, shared.body, shared.day, shared.fonts)
    except DoesNotFit as exc:
        return _Rendered([], problem=f"{exc}.")
    data = pdf_bytes(contents, shared.fonts, f"{campaign.title}: {plan.recipient.display_name}")
    (shared.folder / fax_file(plan)).write_bytes(data)
    return _Rendered(contents, sha256=hashlib.sha256(data).hexdigest())


def fax_file(plan: RecipientPlan) -> str:
    """Where a recipient's fax goes, relative to the batch folder."""
    return f"faxes/{plan.recipient.id}.pdf"


def _rendered_in_order(
    shared: _Shared, plans: list[RecipientPlan], jobs: int
) -> Iterator[_Rendered]:
    """Render the ready plans, on ``jobs`` processes, yielding results in campaign order."""
    ready = [plan for plan in plans if plan.ready]
    if jobs <= 1 or len(ready) < 2 * jobs:
        yield from (_render_and_write(shared, plan) for plan in ready)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    pool = context.Pool(jobs, _init_worker, (shared,))
    try:
        # imap keeps the order, so the volume streams out while workers render ahead
        yield from pool.imap(_render_in_worker, ready, chunksize=8)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _write_documents(
    shared: _Shared,
    plans: list[RecipientPlan],
    jobs: int,
    staging: Staging,
    result: BuildResult,
    progress: Progress,
) -> None:
    campaign = shared.campaign
    (shared.folder / "faxes").mkdir(parents=True, exist_ok=True)
    progress.start(len(plans), "faxes")
    rendered = _rendered_in_order(shared, plans, jobs)
    with staging.path(VOLUME_NAME).open("wb") as volume_file:
        volume = PdfWriter(
            volume_file, fonts=shared.fonts, title=f"{campaign.title}: faxes",
            producer=f"faxbatch {__version__}",
        )  # fmt: skip
        for plan in plans:
            entry = plan.manifest_fields()
            entry.update(file=None, pages=None, sha256=None, volume=None,
                         volume_first_page=None, volume_last_page=None)  # fmt: skip
            done = next(rendered) if plan.ready else None
            if done is not None and done.problem:
                plan.problems.append(done.problem)
                entry.update(status="rejected", problems=list(plan.problems))
            elif done is not None:
                first = volume.add_pages(done.contents)
                volume.bookmark(_bookmark(plan), first)
                entry.update(
                    file=fax_file(plan),
                    pages=len(done.contents),
                    sha256=done.sha256,
                    volume=VOLUME_NAME,
                    volume_first_page=first + 1,
                    volume_last_page=first + len(done.contents),
                )
            result.documents.append(entry)
            progress.advance()
        volume.close()
    if volume.page_count == 0:  # every recipient rejected: no print volume to hand over
        staging.path(VOLUME_NAME).unlink()
    progress.finish()


def _bookmark(plan: RecipientPlan) -> str:
    recipient = plan.recipient
    name = recipient.display_name
    if recipient.organization and recipient.organization != name:
        name = f"{name}, {recipient.organization}"
    return f"{recipient.id}: {name}"
