"""The batch, end to end: campaign in, faxes, print volumes and manifests out.

:func:`build_batch` is the library's main entry point. It prints nothing and raises
:class:`~faxbatch.errors.FaxbatchError` subclasses; per-recipient problems become manifest rows.

It runs in two streaming passes, so that a campaign of 50,000 recipients needs no more memory than
one of 500: the first reads every recipient's numbers (on every core) and writes the plans to a
spill file, gathering only what the whole batch needs (which recipients share a number, which
characters the font subsets must hold); the second finishes each plan, makes its document (see
:mod:`faxbatch.build.render`) and streams it into the print volumes and the manifests.

What the previous batch left (its cache, its files) is used only where it matches what was
recorded, so a build that reuses it gives the same bytes as one from nothing. Any failure to write
(a full disk included) is an :class:`~faxbatch.errors.OutputNotWritableError`, and SIGTERM ends a
build the way Ctrl-C does: either way the previous batch stays as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import pickle
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from faxbatch import __version__
from faxbatch.build.cache import FOLDER as CACHE_FOLDER
from faxbatch.build.cache import (
    CacheDamaged,
    CacheWriter,
    PreviousBuild,
    cache_folder,
    code_fingerprint,
    input_key,
)
from faxbatch.build.check import current_moment
from faxbatch.build.manifest import ManifestWriter
from faxbatch.build.plan import (
    NumberChecks,
    RecipientPlan,
    campaign_texts,
    campaign_warnings,
    check_campaign_text,
)
from faxbatch.build.render import (
    Made,
    Shared,
    available_cores,
    capped_jobs,
    document_file,
    envelope_of,
    in_order,
    make_all,
)
from faxbatch.build.reuse import (
    Reader,
    ReadPlan,
    ReadSetup,
    Volumes,
    batch_fingerprint,
    batch_record,
    check_sending_records,
    keep_sending_records,
    unchanged_batch,
)
from faxbatch.build.signing import Signing
from faxbatch.build.staging import Staging
from faxbatch.campaign.model import Campaign
from faxbatch.clock import source_date_epoch
from faxbatch.errors import CampaignError, ExitCode, OutputNotWritableError, PreflightError
from faxbatch.files import naming
from faxbatch.letters.enclosures import render_enclosures
from faxbatch.letters.fonts import LAYOUT_CHARACTERS, EmbeddedFont, Style, embed_all
from faxbatch.letters.labels import format_date, label_text
from faxbatch.letters.markdown import parse_body
from faxbatch.letters.pdf import RasterImage
from faxbatch.letters.postal import AddressDoesNotFit, check_return_line
from faxbatch.numbers.reading import NumberOwners
from faxbatch.numbers.sheet import SheetWriter
from faxbatch.numbers.verification import VerificationSheet, load_verification
from faxbatch.numbers.windows import public_holidays
from faxbatch.printshop.ticket import (
    FAX_FIELDS,
    JOB_JSON,
    JOB_TEXT,
    write_job_json,
    write_job_text,
)
from faxbatch.printshop.volumes import (
    VolumeSet,
)
from faxbatch.progress import NullProgress, Progress
from faxbatch.sending.exports import ExportWriter
from faxbatch.sending.journal import sending_summary

#: every label and word the layout itself prints, so the font subsets always hold them
LABELS = (
    "FAX URGENT Date Pages (including this cover sheet) To Organization Fax Phone From Email "
    "Regarding Reference Comments By fax: Page of — · … • 0123456789 January February March "
    "April May June July August September October November December"
)
#: rejected recipients a result keeps for the command line to list (all are in the manifests)
SHOWN_REJECTED = 200
#: campaign fields no document depends on (recipients are keyed one by one)
_NOT_PRINTED = ("recipients", "lines", "source", "recipients_file", "signatories")


@dataclass(frozen=True)
class BuildOptions:
    """How to build: where to, on how many processes, which date when the campaign has none.

    ``jobs`` above the cores available is taken as the number of cores.
    """

    out: Path = Path("out")
    today: dt.date | None = None
    jobs: int = field(default_factory=available_cores)
    #: numbers: the moment sending windows start from (default: see check.current_moment), and
    #: the volunteers' verification sheet (default: verification.csv beside the campaign)
    now: dt.datetime | None = None
    verification: VerificationSheet | None = None


@dataclass
class BuildResult:
    """What a build produced; the documents themselves are in the manifests."""

    out: Path
    ready: int = 0
    rejected: int = 0
    pages: int = 0
    reused: int = 0
    #: documents made, by channel ("fax", "post")
    channels: dict[str, int] = field(default_factory=dict)
    volumes: list[str] = field(default_factory=list)
    #: (recipient id, problems) of the first rejected recipients, for the command line
    rejected_examples: list[tuple[str, list[str]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def documents(self) -> list[dict[str, Any]]:
        """Every manifest entry, read back from ``manifest.json`` (for scripts and tests)."""
        data = json.loads((self.out / "manifest.json").read_text(encoding="utf-8"))
        documents: list[dict[str, Any]] = data["documents"]
        return documents

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
    epoch = source_date_epoch().moment
    if epoch is not None:
        return epoch.date()
    return dt.date.today()


def campaign_summary(campaign: Campaign, day: dt.date, out: Path) -> dict[str, Any]:
    """The ``campaign`` part of the manifest."""
    summary: dict[str, Any] = {
        "title": campaign.title,
        "reference": campaign.reference or None,
        "date": day.isoformat(),
        "source": campaign.source.name,
        "page_size": campaign.page_size,
        "sender": campaign.sender.organization or campaign.sender.name,
        "faxbatch_version": __version__,
        "gateway": campaign.gateway,
        **sending_summary(campaign, out),
    }
    if campaign.enclosures:  # the PDFs after every letter, as built
        summary["enclosures"] = [
            {"file": e.name, "pages": e.pages, "sha256": e.sha256} for e in campaign.enclosures
        ]
    return summary


def build_batch(
    campaign: Campaign, options: BuildOptions, progress: Progress | None = None
) -> BuildResult:
    """Build every fax of the campaign into ``options.out``, atomically.

    SIGTERM (in the main thread) raises :class:`KeyboardInterrupt`, as Ctrl-C does, while the
    build runs: the staging folder goes, the previous batch stays.
    """
    started = time.monotonic()
    check_campaign_text(campaign)
    sheet = options.verification or load_verification(campaign)
    jobs = capped_jobs(options.jobs)
    warnings = [*campaign_warnings(campaign), *sheet.warnings]
    result = BuildResult(out=Path(options.out), warnings=list(warnings))
    with _terminate_as_interrupt(), Staging(Path(options.out)) as staging:
        check_sending_records(staging)
        args = (campaign, options, staging, sheet, progress or NullProgress())
        build = _Build(*args, result, jobs)
        try:
            try:
                build.run()
            except CacheDamaged:
                # the previous batch's cache changed while this build read it: build again
                # without it rather than trust any of it
                staging.reset()
                result = BuildResult(out=Path(options.out), warnings=list(warnings))
                build = _Build(*args, result, jobs, use_cache=False)
                build.run()
            keep_sending_records(staging)
        except OSError as exc:
            raise _not_writable(exc, staging) from None
        staging.commit()
    result.notes.extend(build.notes())
    if jobs < options.jobs:
        result.notes.append(f"{options.jobs} jobs asked for, {jobs} used: the cores available.")
    result.seconds = time.monotonic() - started
    return result


def _not_writable(exc: OSError, staging: Staging) -> OutputNotWritableError:
    """The error for a batch that could not be written (a full disk, most often)."""
    reason = exc.strerror or str(exc)
    name = exc.filename
    if isinstance(name, str) and name:
        with contextlib.suppress(ValueError):
            name = str(Path(name).relative_to(staging.tmp))
        reason = f"{reason}: {name}"
    return OutputNotWritableError(
        f"cannot write the batch beside {staging.out} ({reason}); the previous batch is unchanged",
        hint="check free disk space, quotas and permissions",
    )


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While a build runs, SIGTERM raises KeyboardInterrupt (a clean stop, as Ctrl-C gives)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread: nothing to install
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


class _Build:
    """One build's state, pass by pass (the orchestration; nothing here prints)."""

    def __init__(
        self,
        campaign: Campaign,
        options: BuildOptions,
        staging: Staging,
        sheet: VerificationSheet,
        progress: Progress,
        result: BuildResult,
        jobs: int,
        *,
        use_cache: bool = True,
    ) -> None:
        self.campaign = campaign
        self.options = options
        self.jobs = jobs
        self.staging = staging
        self.sheet = sheet
        self.progress = progress
        self.result = result
        self.now = current_moment(options.now, options.today)
        self.day = letter_date(campaign, options)
        self.folder = staging.tmp
        found = use_cache and cache_folder(staging.out) is not None
        self.previous = staging.out if found else None
        self.remade = 0  # documents whose copy in the previous batch did not match its record
        self.cache_unreadable = False
        self.spill = self.folder / CACHE_FOLDER / "plans.spill"
        self.cache: CacheWriter  # made once the previous batch is known not to stand as it is
        self.owners = NumberOwners()
        self.chars: set[str] = set()
        self.count = 0
        self.posts = False  # whether a recipient asks for a letter by post
        self.window_ends: list[dt.datetime] = []  # when the batch's sending windows close
        self.failures: list[str] = []  # what the print-shop checks found (the first hundred)
        self.failure_count = 0
        #: each ready fax's number and window by its id, for the print folder's job ticket
        self.fax_dialling: dict[str, dict[str, Any]] = {}
        #: the signatories, as pass 1 found them (see build.signing)
        self.signing = Signing(campaign)
        #: (id, organization) of the recipients a letter may name as "also sent to"
        self.others: list[tuple[str, str]] = []

    def run(self) -> None:
        fingerprint = self._fingerprint()
        if self._unchanged(fingerprint):
            return
        self.cache = CacheWriter(self.folder, self.previous)
        try:
            self._read_all()
            self._make_all()
            self.cache.meta("batch", self._batch_record(fingerprint))
        except BaseException:
            self.cache.abort()
            raise
        finally:
            with contextlib.suppress(OSError):
                self.spill.unlink(missing_ok=True)
        self.cache.close()

    def notes(self) -> list[str]:
        """What the command line should say about the previous batch's cache."""
        notes = []
        if self.cache_unreadable:
            notes.append(
                "the previous batch's build cache could not be read (damaged, or from another "
                "version): every document was made anew, and the new batch has a new cache"
            )
        if self.remade:
            notes.append(
                f"{self.remade} document(s) made anew: their copy in the previous batch (or its "
                "cache) no longer matched what the last build recorded"
            )
        return notes

    # -- a batch whose inputs did not change at all --------------------------------------------
    def _fingerprint(self) -> str:
        """A hash of every input of the batch (the campaign as read, its files, the code)."""
        return batch_fingerprint(self.campaign, self.sheet, self.day)

    def _batch_record(self, fingerprint: str) -> dict[str, Any]:
        result = self.result
        done = {
            "ready": result.ready,
            "rejected": result.rejected,
            "pages": result.pages,
            "channels": result.channels,
            "volumes": result.volumes,
            "rejected_examples": result.rejected_examples,
            "notes": result.notes,
        }
        return batch_record(self.folder, fingerprint, self.now, self.window_ends, done)

    def _unchanged(self, fingerprint: str) -> bool:
        """Take the previous batch as it is when nothing it was made from has changed."""
        if self.previous is None:
            return False
        done = unchanged_batch(self.previous, self.folder, fingerprint, self.now)
        if done is None:
            return False
        result = self.result
        result.ready, result.rejected, result.pages = done["ready"], done["rejected"], done["pages"]
        result.volumes = list(done["volumes"])
        result.channels = dict(done["channels"])
        result.rejected_examples = [
            (rid, list(problems)) for rid, problems in done["rejected_examples"]
        ]
        result.notes = list(done["notes"])
        result.reused = result.ready
        return True

    def _read_all(self) -> None:
        """Pass 1: read every recipient, spill the plans, gather what the batch shares."""
        from faxbatch.campaign.loader import iter_recipients

        for _path, text in campaign_texts(self.campaign):
            self.chars.update(text)
        setup = ReadSetup(self.campaign, self.previous)
        recipients = iter_recipients(self.campaign)
        # closed on the way out, so that no worker still writes when the staging folder goes
        warm_up = partial(_warm_up, self.campaign.default_country, self.now.year)
        read = in_order(Reader, setup, recipients, self.jobs, chunk=64, meanwhile=warm_up)
        with naming(self.spill), self.spill.open("wb") as spill, contextlib.closing(read):
            for item in read:
                assert isinstance(item, ReadPlan)
                for key, readings in item.fresh:  # readings known from before are cached already
                    self.cache.readings(key, readings)
                for reading in item.fax_readings:
                    self.owners.add(item.recipient_id, reading)
                self.posts = self.posts or item.posts
                self.chars |= item.characters
                if item.other is not None:
                    self.others.append(item.other)
                spill.write(item.pickled)  # our own file, read back by _spilled
                self.count += 1
        self.signing.read(self.chars)
        self.result.warnings.extend(self.signing.warnings())

    def _spilled(self) -> Iterator[RecipientPlan]:
        with self.spill.open("rb") as spill:
            for _ in range(self.count):
                plan = pickle.load(spill)  # our own file, written moments ago in this build
                assert isinstance(plan, RecipientPlan)
                yield plan

    def _fonts(self, previous: PreviousBuild | None) -> dict[Style, EmbeddedFont]:
        chars = self.chars | LAYOUT_CHARACTERS | set(LABELS)
        for language in self.campaign.languages:  # the labels and the date of every letter
            signing = self.signing.mode is not None or self._prints_copies()
            chars |= set(label_text(language, signing)) | set(format_date(self.day, language))
        chars -= {"\n", "\r", "\t"}
        fonts, subsets = embed_all(dict.fromkeys(Style, chars), previous)
        for key, data in subsets.items():
            self.cache.font(key, data)
        return fonts

    def _prints_copies(self) -> bool:
        """Whether letters print "cc:" or "also sent to" (their labels go into the fonts)."""
        return bool(self.campaign.copies_to) or self.campaign.letter.also_sent_to

    def _make_all(self) -> None:
        """Pass 2: finish each plan, make its documents, stream volumes and manifests."""
        campaign, result = self.campaign, self.result
        if self.posts:
            _check_return_line(campaign)
        previous = PreviousBuild(self.previous) if self.previous else None
        if previous is not None and not previous.usable:
            self.cache_unreadable = True
        volumes: dict[str, Volumes] = {}
        try:
            fonts = self._fonts(previous)
            enclosures = render_enclosures(campaign)
            batch_key = input_key(
                code_fingerprint(),
                [font.base_font for font in fonts.values()],
                # what the letters print: where the campaign's files lie is no part of it
                {k: v for k, v in vars(campaign).items() if k not in _NOT_PRINTED},
                self.day,
                # the enclosures' pages as drawn: their bytes and the PDFium that drew them
                [(page.image.key, page.x, page.y, page.w, page.h) for page in enclosures],
            )
            body = tuple(parse_body(campaign.letter.body))
            bodies = {
                language: tuple(parse_body(translation.letter.body))
                for language, translation in campaign.translations.items()
            }
            shared = Shared(
                campaign,
                body,
                self.day,
                fonts,
                self.folder,
                self.previous,
                batch_key,
                bodies,
                enclosures,
                annex=self.signing.annex,
                annex_key=self.signing.annex_key,
                others=tuple(self.others),
            )
            spill = self.folder / CACHE_FOLDER
            volumes = {
                channel: Volumes(
                    channel, self._volume_set(channel, fonts, shared.images), previous, spill
                )
                for channel in ("fax", "post")
            }
            try:
                self._stream_documents(shared, volumes)
                if self.failures:
                    more = self.failure_count - len(self.failures)
                    raise PreflightError(
                        "the batch fails the print-shop checks; the previous output is unchanged",
                        self.failures + ([f"... and {more} more"] if more else []),
                    )
            except BaseException:
                for volume_set in volumes.values():
                    with contextlib.suppress(OSError):
                        volume_set.abort()
                raise
            records = [r for v in volumes.values() for r in v.close(self.folder)]
        finally:
            if previous is not None:
                previous.close()
        warnings = [w for v in volumes.values() for w in v.warnings]
        if records:
            title = campaign.title
            sender = campaign.sender
            contact = {"name": sender.name, "phone": sender.phone, "email": sender.email}
            for name, write in ((JOB_JSON, write_job_json), (JOB_TEXT, write_job_text)):
                path = self.staging.path(name)
                with naming(path), path.open("w", encoding="utf-8", newline="\n") as out:
                    write(
                        out,
                        records,
                        lambda c: volumes[c].placements(),
                        title=title,
                        warnings=warnings,
                        contact=contact,
                        faxes=self.fax_dialling,
                    )
        for volume_set in volumes.values():
            volume_set.forget()
        self.cache.meta("volumes", [asdict(record) for record in records])
        result.volumes = [record.file for record in records]
        result.warnings.extend(warnings)

    def _volume_set(
        self,
        channel: str,
        fonts: dict[Style, EmbeddedFont],
        images: dict[str, RasterImage] | None = None,
    ) -> Callable[[], VolumeSet]:
        campaign = self.campaign
        printing = campaign.printing
        post = channel == "post"
        envelope = envelope_of(campaign) if post else None

        def make() -> VolumeSet:
            return VolumeSet(
                self.folder,
                "post" if post else "fax",
                fonts,
                campaign.page_size,
                duplex=printing.duplex if post else False,  # a fax machine sends pads as pages
                max_pages=printing.max_pages_per_volume,
                max_bytes=printing.max_bytes_per_volume,
                title=f"{campaign.title}: {'letters by post' if post else 'faxes'}",
                producer=f"faxbatch {__version__}",
                envelope=envelope.envelope if envelope else None,
                din5008=envelope.din5008 if envelope else None,
                keep_placements=False,  # Volumes writes them down
                images=images,
            )

        return make

    def _stream_documents(self, shared: Shared, volumes: dict[str, Volumes]) -> None:
        campaign, result = self.campaign, self.result
        for folder in ("faxes", "post"):
            (self.folder / folder).mkdir(exist_ok=True)
        checks = NumberChecks(campaign, self.owners, self.sheet, self.now)
        finished: Iterator[RecipientPlan] = (checks.finish(plan) for plan in self._spilled())
        if self.signing.per_signer:  # a letter from each signer to each recipient
            finished = self.signing.letters(finished)
        # the volunteers' number sheet, as `check` writes it, a recipient at a time
        numbers = SheetWriter(self.folder, campaign, self.now)
        summary = campaign_summary(campaign, self.day, self.staging.out)
        summary.update(self.signing.summary())
        # what fax gateways take, a sendfax script and a JSON line per fax, written as they come
        exports = ExportWriter(self.folder, summary)
        signers = self.signing.count if self.signing.per_signer else 1
        documents = self.count * max(1, signers)
        made_all = make_all(shared, finished, self.jobs, numbers.reserve_html, documents)
        try:
            with (
                naming(self.folder / "manifest.json"),  # or .csv: the two are written together
                ManifestWriter(self.folder, summary) as manifest,
                contextlib.closing(made_all),
            ):
                self.progress.start(self.count, "documents")
                for made in made_all:
                    self.remade += made.remade
                    entry = self._entry(made, volumes)
                    manifest.add(entry)
                    with naming(self.folder / "gateways"):
                        exports.add(entry)
                    if made.sheet is not None:  # a recipient's first document
                        self._note_windows(made.plan)
                        numbers.add_part(made.sheet)
                        self.progress.advance()
        except BaseException:
            with contextlib.suppress(OSError):
                exports.abort()
            with contextlib.suppress(OSError):
                numbers.abort()
            raise
        self.progress.finish()
        for folder in ("faxes", "post"):
            with contextlib.suppress(OSError):  # no document of that kind: no empty folder
                (self.folder / folder).rmdir()
        with naming(self.folder / "gateways"):
            exports.close()
        with naming(self.folder / "numbers.xlsx"):
            numbers.close()
        if numbers.shown < numbers.rows:
            result.notes.append(
                f"numbers.html holds the first {numbers.shown:,} of {numbers.rows:,} numbers "
                "(numbers.csv and numbers.xlsx hold them all)."
            )

    def _entry(self, made: Made, volumes: dict[str, Volumes]) -> dict[str, Any]:
        """One document's manifest entry; its pages into the volumes, its record into the cache."""
        plan, channel, result = made.plan, made.channel, self.result
        self.failures.extend(made.failures[: max(0, 100 - len(self.failures))])
        self.failure_count += len(made.failures)
        entry = plan.manifest_fields(channel)  # fields not set stay null in the manifests
        if channel is not None and made.sha256 is not None:
            channel_volumes = volumes[channel]
            placed = channel_volumes.add(plan.recipient.id, _bookmark(plan), made)
            name = document_file(plan, channel)
            entry.update(
                file=name,
                pages=placed.pages,
                sha256=made.sha256,
                volume=placed.volume,
                volume_first_page=placed.first_page,
                volume_last_page=placed.last_page,
            )
            where = (channel_volumes.placed - 1, placed.volume, placed.first_page, placed.last_page)
            cache_id = f"{channel}:{plan.recipient.id}"
            self.cache.document(
                cache_id, made.key, name, made.sha256, made.contents, where, made.cached
            )
            if channel == "fax":
                self.fax_dialling[plan.recipient.id] = {key: entry.get(key) for key in FAX_FIELDS}
            result.ready += 1
            result.channels[channel] = result.channels.get(channel, 0) + 1
            result.pages += placed.pages
            result.reused += made.cached is not None
            return entry
        problems = [made.problem] if made.problem else plan.all_problems
        entry.update(status="rejected", problems=problems)
        result.rejected += 1
        if len(result.rejected_examples) < SHOWN_REJECTED:
            result.rejected_examples.append((plan.recipient.id, problems))
        return entry

    def _note_windows(self, plan: RecipientPlan) -> None:
        self.window_ends.extend(
            found.window.end for found in plan.windows.values() if found.window is not None
        )
        if len(self.window_ends) > 64:  # only the earliest matters
            self.window_ends = [min(self.window_ends)]


def _warm_up(country: str | None, year: int) -> None:
    """Import what pass 2 needs in this process while the workers read the recipients.

    Until their first chunk is read, this process would only wait; imported now, what follows
    (the font subsets, the offices' holidays, those of ``country`` in ``year`` first among
    them) does not stop the build to import, and pass 2's workers inherit it.
    """
    import fontTools.subset  # noqa: F401
    import holidays  # noqa: F401

    if country is not None:  # most offices' holidays: their country's module loads slowly
        public_holidays(country, year)


def _bookmark(plan: RecipientPlan) -> str:
    recipient = plan.recipient
    name = recipient.display_name
    if recipient.organization and recipient.organization != name:
        name = f"{name}, {recipient.organization}"
    if plan.signer is not None:
        name = f"{name} ({plan.signer.display_name})"
    return f"{recipient.id}: {name}"


def _check_return_line(campaign: Campaign) -> None:
    """One campaign error, not a rejection per letter, when no return line fits the window."""
    try:
        check_return_line(campaign, envelope_of(campaign))
    except AddressDoesNotFit as exc:
        field = "sender.return_line" if campaign.sender.return_line else "sender"
        raise CampaignError(
            str(exc),
            source=str(campaign.source),
            line=campaign.lines.get(field),
            field="sender.return_line",
        ) from None
