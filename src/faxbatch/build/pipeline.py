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
import hashlib
import json
import os
import pickle
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from faxbatch import __version__
from faxbatch.build.cache import (
    DATABASE,
    PAGES,
    CacheDamaged,
    CachedDocument,
    CacheWriter,
    PreviousBuild,
    cache_folder,
    code_fingerprint,
    hash_file,
    input_key,
)
from faxbatch.build.cache import FOLDER as CACHE_FOLDER
from faxbatch.build.check import current_moment, number_rows
from faxbatch.build.manifest import ManifestWriter
from faxbatch.build.plan import (
    NumberChecks,
    RecipientPlan,
    campaign_texts,
    check_campaign_text,
    plan_characters,
    read_recipient,
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
from faxbatch.build.staging import MARKER, Staging
from faxbatch.campaign.model import Campaign, Recipient
from faxbatch.clock import source_date_epoch
from faxbatch.errors import ExitCode, OutputNotWritableError, PreflightError
from faxbatch.files import naming
from faxbatch.letters.document import format_date
from faxbatch.letters.fonts import LAYOUT_CHARACTERS, EmbeddedFont, Style, embed_all
from faxbatch.letters.markdown import parse_body
from faxbatch.numbers.reading import NumberOwners, NumberReading
from faxbatch.numbers.sheet import sheet_files
from faxbatch.numbers.verification import VerificationSheet, load_verification
from faxbatch.printshop.ticket import JOB_JSON, JOB_TEXT, write_job_json, write_job_text
from faxbatch.printshop.volumes import (
    Placement,
    VolumeRecord,
    VolumeSet,
)
from faxbatch.progress import NullProgress, Progress
from faxbatch.sending.exports import ExportWriter

#: every label and word the layout itself prints, so the font subsets always hold them
LABELS = (
    "FAX URGENT Date Pages (including this cover sheet) To Organization Fax Phone From Email "
    "Regarding Reference Comments By fax: Page of — · … • 0123456789 January February March "
    "April May June July August September October November December"
)
#: the volunteers' number sheet is written into batches of up to this many recipients; for bigger
#: ones ``faxbatch check`` writes it (a spreadsheet of 50,000 numbers helps no one on the phone)
SHEET_LIMIT = 2_000
#: rejected recipients a result keeps for the command line to list (all are in the manifests)
SHOWN_REJECTED = 200
#: campaign fields no document depends on (recipients are keyed one by one)
_NOT_PRINTED = ("recipients", "lines", "source", "recipients_file")


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
        "gateway": campaign.gateway,
    }


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
    result = BuildResult(out=Path(options.out), warnings=list(sheet.warnings))
    with _terminate_as_interrupt(), Staging(Path(options.out)) as staging:
        _check_sending_records(staging)
        args = (campaign, options, staging, sheet, progress or NullProgress())
        build = _Build(*args, result, jobs)
        try:
            try:
                build.run()
            except CacheDamaged:
                # the previous batch's cache changed while this build read it: build again
                # without it rather than trust any of it
                staging.reset()
                result = BuildResult(out=Path(options.out), warnings=list(sheet.warnings))
                build = _Build(*args, result, jobs, use_cache=False)
                build.run()
            _keep_sending_records(staging)
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


# -- the first pass: read every recipient ---------------------------------------------------------
@dataclass(frozen=True)
class _ReadSetup:
    campaign: Campaign
    previous: Path | None


class _Reader:
    """Reads recipients in one process, with the previous build's readings at hand."""

    def __init__(self, setup: _ReadSetup) -> None:
        self.campaign = setup.campaign
        self.previous = PreviousBuild(setup.previous) if setup.previous else None
        self.misses = 0

    def close(self) -> None:
        """Release the previous build's cache."""
        if self.previous is not None:
            self.previous.close()

    def _known(self, key: str) -> tuple[NumberReading, ...] | None:
        found = self.previous.readings(key) if self.previous else None
        self.misses += found is None
        return found

    def __call__(self, recipient: Recipient) -> tuple[RecipientPlan, bool]:
        """The recipient's first-pass plan, and whether any number had to be read afresh."""
        misses = self.misses
        plan = read_recipient(self.campaign, recipient, self._known)
        return plan, self.misses > misses


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
        self.window_ends: list[dt.datetime] = []  # when the batch's sending windows close
        self.failures: list[str] = []  # what the print-shop checks found (the first hundred)
        self.failure_count = 0

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
        campaign = self.campaign
        parts: list[object] = [
            code_fingerprint(),
            repr({k: v for k, v in vars(campaign).items() if k != "lines"}),
            repr(self.sheet),
            self.day.isoformat(),
        ]
        if campaign.recipients_file is not None:
            parts.append(_file_hash(campaign.recipients_file))
        return input_key(*parts)

    def _batch_record(self, fingerprint: str) -> dict[str, Any]:
        result = self.result
        midnight = dt.datetime.combine(self.now.astimezone(dt.UTC).date(), dt.time(0), dt.UTC)
        until = min([midnight + dt.timedelta(days=1), *self.window_ends])
        files = self._written_files()
        # the documents' checksums are in the cache's documents table; the rest are hashed here
        hashes = {name: hash_file(self.folder / name) for name in files if not _document(name)}
        return {
            "fingerprint": fingerprint,
            "valid_until": until.isoformat(),
            "files": files,
            "hashes": hashes,
            "result": {
                "ready": result.ready,
                "rejected": result.rejected,
                "pages": result.pages,
                "channels": result.channels,
                "volumes": result.volumes,
                "rejected_examples": result.rejected_examples,
                "notes": result.notes,
            },
        }

    def _written_files(self) -> list[str]:
        """Every file of the new batch but the cache's and the marker (relative paths)."""
        names: list[str] = []
        for folder, _dirs, files in os.walk(self.folder):
            relative = Path(folder).relative_to(self.folder)
            if relative.parts[:1] == (CACHE_FOLDER,):
                continue
            names.extend(str(relative / name) for name in files if name != MARKER)
        return sorted(names)

    def _unchanged(self, fingerprint: str) -> bool:
        """Take the previous batch as it is when nothing it was made from has changed.

        Sending windows and the age of volunteers' checks depend on the time: the previous batch
        stands only until its first window closes or the day ends, whichever comes first. Every
        file is hashed first: one changed by hand since (or damaged) means a build.
        """
        if self.previous is None:
            return False
        previous = PreviousBuild(self.previous)
        try:
            record = previous.meta("batch")
            if not isinstance(record, dict) or record.get("fingerprint") != fingerprint:
                return False
            expected = _expected_files(record, previous)
        except (KeyError, TypeError, ValueError):
            return False
        finally:
            previous.close()
        if expected is None:
            return False
        linked: list[Path] = []
        try:
            if self.now >= dt.datetime.fromisoformat(record["valid_until"]):
                return False
            done = record["result"]
            result_channels = dict(done["channels"])
            for name, sha256 in [*expected.items(), *_cache_files()]:
                source = self.previous / name
                if sha256 is not None and hash_file(source) != sha256:
                    raise ValueError(f"{name} changed since the last build")
                target = self.folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(source, target)
                linked.append(target)
        except (OSError, KeyError, TypeError, ValueError):
            # a file of the previous batch is gone or changed: build afresh. The links must go
            # first: a fresh build writing through one would change the previous batch's file.
            for target in linked:
                target.unlink(missing_ok=True)
            return False
        result = self.result
        result.ready, result.rejected, result.pages = done["ready"], done["rejected"], done["pages"]
        result.volumes = list(done["volumes"])
        result.channels = result_channels
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
        setup = _ReadSetup(self.campaign, self.previous)
        recipients = iter_recipients(self.campaign)
        # closed on the way out, so that no worker still writes when the staging folder goes
        read = in_order(_Reader, setup, recipients, self.jobs, chunk=64)
        with naming(self.spill), self.spill.open("wb") as spill, contextlib.closing(read):
            for item in read:
                assert isinstance(item, tuple)
                plan, fresh = item
                if fresh:  # readings known from before are in the cache already
                    self._remember_readings(plan)
                for reading in plan.fax_readings:
                    self.owners.add(plan.recipient.id, reading)
                self.chars |= plan_characters(plan)
                pickle.dump(plan, spill, protocol=pickle.HIGHEST_PROTOCOL)
                self.count += 1

    def _remember_readings(self, plan: RecipientPlan) -> None:
        from faxbatch.build.plan import readings_key

        recipient = plan.recipient
        for kind, raw, readings in (
            ("fax", recipient.fax, plan.fax_readings),
            ("phone", recipient.phone, plan.phone_readings),
        ):
            self.cache.readings(readings_key(self.campaign, recipient, raw, kind), readings)

    def _spilled(self) -> Iterator[RecipientPlan]:
        with self.spill.open("rb") as spill:
            for _ in range(self.count):
                plan = pickle.load(spill)  # our own file, written moments ago in this build
                assert isinstance(plan, RecipientPlan)
                yield plan

    def _fonts(self, previous: PreviousBuild | None) -> dict[Style, EmbeddedFont]:
        chars = self.chars | LAYOUT_CHARACTERS | set(LABELS) | set(format_date(self.day))
        chars -= {"\n", "\r", "\t"}
        fonts, subsets = embed_all(dict.fromkeys(Style, chars), previous)
        for key, data in subsets.items():
            self.cache.font(key, data)
        return fonts

    def _make_all(self) -> None:
        """Pass 2: finish each plan, make its documents, stream volumes and manifests."""
        campaign, result = self.campaign, self.result
        previous = PreviousBuild(self.previous) if self.previous else None
        if previous is not None and not previous.usable:
            self.cache_unreadable = True
        volumes: dict[str, _Volumes] = {}
        try:
            fonts = self._fonts(previous)
            batch_key = input_key(
                code_fingerprint(),
                [font.base_font for font in fonts.values()],
                # what the letters print: where the campaign's files lie is no part of it
                {k: v for k, v in vars(campaign).items() if k not in _NOT_PRINTED},
                self.day,
            )
            body = tuple(parse_body(campaign.letter.body))
            shared = Shared(campaign, body, self.day, fonts, self.folder, self.previous, batch_key)
            spill = self.folder / CACHE_FOLDER
            volumes = {
                channel: _Volumes(channel, self._volume_set(channel, fonts), previous, spill)
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
            for name, write in ((JOB_JSON, write_job_json), (JOB_TEXT, write_job_text)):
                path = self.staging.path(name)
                with naming(path), path.open("w", encoding="utf-8", newline="\n") as out:
                    write(
                        out,
                        records,
                        lambda c: volumes[c].placements(),
                        title=title,
                        warnings=warnings,
                    )
        for volume_set in volumes.values():
            volume_set.forget()
        self.cache.meta("volumes", [asdict(record) for record in records])
        result.volumes = [record.file for record in records]
        result.warnings.extend(warnings)

    def _volume_set(
        self, channel: str, fonts: dict[Style, EmbeddedFont]
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
                keep_placements=False,  # _Volumes writes them down
            )

        return make

    def _stream_documents(self, shared: Shared, volumes: dict[str, _Volumes]) -> None:
        campaign, result = self.campaign, self.result
        for folder in ("faxes", "post"):
            (self.folder / folder).mkdir(exist_ok=True)
        checks = NumberChecks(campaign, self.owners, self.sheet, self.now)
        finished = (checks.finish(plan) for plan in self._spilled())
        small = self.count <= SHEET_LIMIT
        sheet_plans: list[RecipientPlan] = []  # only while the batch is small enough for a sheet
        summary = campaign_summary(campaign, self.day)
        # what fax gateways take, a sendfax script and a JSON line per fax, written as they come
        exports = ExportWriter(self.folder, summary)
        made_all = make_all(shared, finished, self.jobs)
        try:
            with (
                naming(self.folder / "manifest.json"),  # or .csv: the two are written together
                ManifestWriter(self.folder, summary) as manifest,
                contextlib.closing(made_all),
            ):
                self.progress.start(self.count, "documents")
                last: RecipientPlan | None = None
                for made in made_all:
                    self.remade += made.remade
                    entry = self._entry(made, volumes)
                    manifest.add(entry)
                    with naming(self.folder / "gateways"):
                        exports.add(entry)
                    if made.plan is not last:  # a recipient's first document
                        last = made.plan
                        self._note_windows(made.plan)
                        if small:
                            sheet_plans.append(made.plan)
                        self.progress.advance()
        except BaseException:
            with contextlib.suppress(OSError):
                exports.abort()
            raise
        self.progress.finish()
        for folder in ("faxes", "post"):
            with contextlib.suppress(OSError):  # no document of that kind: no empty folder
                (self.folder / folder).rmdir()
        with naming(self.folder / "gateways"):
            exports.close()
        if small:
            for name, data in sheet_files(campaign, number_rows(sheet_plans), self.now).items():
                self.staging.write(name, data)  # the volunteers' number sheet, as `check` writes it
        else:
            result.notes.append(
                f"{self.count:,} recipients: the volunteers' number sheet is left out of the "
                "batch; 'faxbatch check' writes it."
            )

    def _entry(self, made: Made, volumes: dict[str, _Volumes]) -> dict[str, Any]:
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


class _Volumes:
    """The print volumes, written only when they would differ from the previous build's.

    While every document so far is the previous build's, in the same order, nothing is written:
    their places are known from the cache. At the first document that differs, the volumes are
    written from the start (the earlier documents' pages come from the cache). If none differs,
    the previous volumes are linked into the new batch as they are.
    """

    def __init__(
        self,
        channel: str,
        make: Callable[[], VolumeSet],
        previous: PreviousBuild | None,
        spill: Path,
    ) -> None:
        self._channel = channel
        self._make = make
        self._previous = previous
        self._set: VolumeSet | None = None
        self._deferred: list[tuple[str, str, CachedDocument]] = []
        self.placed = 0
        # every document's placement, for the job ticket: on disk, not in memory
        self._spill_path = spill / f"placements-{channel}.jsonl"
        self._spill = self._spill_path.open("w", encoding="utf-8")

    def placements(self) -> Iterator[Placement]:
        """The placements so far, in order (read back from disk)."""
        self._spill.flush()
        with self._spill_path.open(encoding="utf-8") as lines:
            for line in lines:
                values = json.loads(line)
                yield Placement(*values)

    def forget(self) -> None:
        """Remove the written-down placements (the ticket is written)."""
        self._spill.close()
        self._spill_path.unlink(missing_ok=True)

    @property
    def warnings(self) -> list[str]:
        """What the volume set noted (a document too big for any volume)."""
        return list(self._set.warnings) if self._set is not None else []

    def add(self, doc_id: str, title: str, made: Made) -> Placement:
        """Place one document; returns where it went."""
        self.placed += 1
        cached = made.cached
        if self._set is None and cached is not None and cached.seq == len(self._deferred):
            self._deferred.append((doc_id, title, cached))
            placement = Placement(
                doc_id,
                title,
                "post" if self._channel == "post" else "fax",
                cached.volume,
                cached.first_page,
                cached.last_page,
            )
        else:
            volume_set = self._writing()
            contents = made.contents
            if cached is not None:
                assert self._previous is not None
                contents = self._previous.contents(cached)
            placement = volume_set.add_document(doc_id, title, contents)
        row = [
            placement.doc_id,
            placement.title,
            placement.channel,
            placement.volume,
            placement.first_page,
            placement.last_page,
        ]
        with naming(self._spill_path):
            self._spill.write(json.dumps(row, ensure_ascii=False) + "\n")
        return placement

    def _writing(self) -> VolumeSet:
        if self._set is None:
            self._set = self._make()
            assert self._previous is not None or not self._deferred
            for doc_id, title, cached in self._deferred:
                assert self._previous is not None
                self._set.add_document(doc_id, title, self._previous.contents(cached))
            self._deferred.clear()
        return self._set

    def abort(self) -> None:
        """Close an open volume file unfinished (the staging folder goes after an error)."""
        self._spill.close()
        if self._set is not None:
            self._set.abort()

    def close(self, folder: Path) -> list[VolumeRecord]:
        """Finish the volumes; returns their records."""
        if self._set is None and self._previous is not None and self._deferred:
            records = self._previous_records()
            if records is not None and sum(r.documents for r in records) == len(self._deferred):
                for record in records:
                    target = folder / record.file
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.link(self._previous.folder / record.file, target)
                return records
        if self._set is None and not self._deferred:
            return []  # no document at all: no volume
        return self._writing().close()

    def _previous_records(self) -> list[VolumeRecord] | None:
        assert self._previous is not None
        stored = self._previous.meta("volumes")
        try:
            records = [
                VolumeRecord(**item) for item in stored or [] if item["channel"] == self._channel
            ]
        except TypeError:
            return None
        # linked only when each file is exactly the one the last build wrote (not changed by
        # hand since, not a link)
        for record in records:
            if hash_file(self._previous.folder / record.file, record.bytes) != record.sha256:
                return None
        return records


#: what ``faxbatch send`` and ``status`` wrote into the batch: a rebuild must not lose it, or a
#: fax sent before the rebuild could be sent again
SENDING_RECORDS = ("journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm", "report.csv")


def _check_sending_records(staging: Staging) -> None:
    """Refuse to carry a send journal or report that is not a regular file (a link, a FIFO).

    Dropping it could send a fax twice; keeping a link would have ``send`` write wherever it
    points. The user decides.
    """
    for name in SENDING_RECORDS:
        path = staging.out / name
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
            raise OutputNotWritableError(
                f"{path} is {kind}; faxbatch keeps what 'send' recorded only as a regular file "
                "inside the batch, and will not carry it into a new batch",
                hint=f"put the real {name} in its place (or remove it if nothing of this batch "
                "was sent), then build again",
            )


def _keep_sending_records(staging: Staging) -> None:
    """Carry the send journal and the transmission report over into the new batch."""
    for name in SENDING_RECORDS:
        old = staging.out / name
        try:
            regular = stat.S_ISREG(os.lstat(old).st_mode)
        except FileNotFoundError:
            continue
        if regular:  # anything else was refused before the build began
            os.link(old, staging.tmp / name)


def _document(name: str) -> bool:
    """Whether a batch file is a document (its checksum is in the cache's documents table)."""
    return name.startswith(("faxes/", "post/"))


def _expected_files(record: dict[str, Any], previous: PreviousBuild) -> dict[str, str] | None:
    """Every file of the previous batch with its checksum, as its build recorded them.

    None when the record does not account for every file exactly once (or names one outside).
    """
    hashes = record["hashes"]
    if not isinstance(hashes, dict):
        return None
    expected: dict[str, str] = {}
    for name, sha256 in hashes.items():
        if _document(name) or not isinstance(sha256, str):
            return None
        expected[name] = sha256
    for name, sha256 in previous.document_files():
        if not _document(name) or name in expected:
            return None
        expected[name] = sha256
    names = record["files"]
    if previous.damaged or not isinstance(names, list) or sorted(expected) != sorted(names):
        return None
    for name in names:
        parts = Path(name).parts
        if Path(name).is_absolute() or ".." in parts or not parts:
            return None
    return expected


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cache_files() -> list[tuple[str, None]]:
    return [(f"{CACHE_FOLDER}/{DATABASE}", None), (f"{CACHE_FOLDER}/{PAGES}", None)]


def _bookmark(plan: RecipientPlan) -> str:
    recipient = plan.recipient
    name = recipient.display_name
    if recipient.organization and recipient.organization != name:
        name = f"{name}, {recipient.organization}"
    return f"{recipient.id}: {name}"
