"""Making the documents: each recipient's fax laid out, rendered and written, on every core.

The per-document work of a build, run in worker processes (``--jobs``): lay out and render the
pages, write the recipient's PDF into the staging folder, or, when the previous build made the
same document from the same inputs, hard-link its file and take its pages from the cache. Results
come back in campaign order, so the print volume streams out while the workers run ahead.

Workers end with the build that started them, however it ends (``kill -9`` included): on Linux the
kernel kills them when their parent dies (``PR_SET_PDEATHSIG``), elsewhere each watches its parent.
They never hold the build's lock (see :mod:`faxbatch.build.staging`), and at most one runs per core.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as dt
import hashlib
import io
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, fields, replace
from itertools import islice
from pathlib import Path
from typing import TypeVar

from faxbatch import __version__
from faxbatch.build.cache import CachedDocument, PreviousBuild
from faxbatch.build.check import plan_row_count, plan_rows
from faxbatch.build.plan import RecipientPlan
from faxbatch.build.signing import Signing
from faxbatch.campaign.model import Campaign, Recipient
from faxbatch.campaign.signers import Signer
from faxbatch.errors import WorkerDiedError
from faxbatch.files import naming
from faxbatch.letters.document import DoesNotFit, FaxTarget, fax_document
from faxbatch.letters.enclosures import EnclosurePage
from faxbatch.letters.envelopes import EnvelopeSpec, envelope_spec
from faxbatch.letters.fonts import EmbeddedFont, Style
from faxbatch.letters.layout import Page, Paragraph
from faxbatch.letters.pdf import PageContent, PdfWriter, RasterImage, render_page
from faxbatch.letters.postal import postal_document
from faxbatch.letters.signatories import LetterExtras, as_signer
from faxbatch.numbers.caller import Caller
from faxbatch.numbers.sheet import SheetPart, sheet_part
from faxbatch.printshop.rules import PageRules, check_layout

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Shared:
    """What every document of a batch is made from (given to each worker process once)."""

    campaign: Campaign
    body: tuple[Paragraph, ...]
    day: dt.date
    fonts: dict[Style, EmbeddedFont]
    folder: Path  # the staging folder
    previous: Path | None  # the batch folder being replaced, for its cache
    batch_key: str  # what all documents share: code, fonts, campaign texts, date
    #: the body of each translation, by language (``body`` is the first language's)
    bodies: dict[str, tuple[Paragraph, ...]] = field(default_factory=dict)
    #: the pages of the campaign's enclosures, drawn once for the batch
    enclosures: tuple[EnclosurePage, ...] = ()

    @property
    def images(self) -> dict[str, RasterImage]:
        """The images the documents draw, by key (the enclosures' pages)."""
        return {page.image.key: page.image for page in self.enclosures}

    #: the signers of the annex (``signatories`` mode annex), and a hash of them
    annex: tuple[Signer, ...] = ()
    annex_key: str = ""
    #: (recipient id, organization) of the recipients a letter may say it was also sent to
    others: tuple[tuple[str, str], ...] = ()

    def extras_for(self, plan: RecipientPlan) -> LetterExtras | None:
        """The annex and the "also sent to" list of one recipient's letter (None: neither)."""
        if not self.annex and not self.campaign.letter.also_sent_to:
            return None
        own = plan.recipient.organization or plan.recipient.display_name
        others = tuple(
            dict.fromkeys(name for rid, name in self.others if rid != plan.base_id and name != own)
        )
        return LetterExtras(self.annex, others).for_recipient(plan.recipient)

    def for_recipient(self, recipient: Recipient) -> list[tuple[Campaign, tuple[Paragraph, ...]]]:
        """The campaign in each of the recipient's languages, and the letter's body in it."""
        campaign = self.campaign
        found = []
        for language in campaign.languages_of(recipient):
            if language == campaign.letter.language:
                found.append((campaign, self.body))
            else:
                found.append((campaign.in_language(language), self.bodies[language]))
        return found


@dataclass(frozen=True)
class Made:
    """One recipient's document, made or taken from the previous build.

    ``channel`` None: the recipient gets no document at all (its plan says why); ``problem``: the
    document could not be made (an address that does not fit the window).
    """

    plan: RecipientPlan
    channel: str | None
    contents: list[PageContent]
    key: str = ""
    sha256: str | None = None
    problem: str | None = None
    #: what the print-shop checks found wrong on its pages (none: fine)
    failures: tuple[str, ...] = ()
    #: the previous build's record when the document is reused (its pages are read on demand)
    cached: CachedDocument | None = None
    #: made anew although the previous build made it from the same inputs: its file or pages
    #: there no longer matched the record
    remade: bool = False
    #: the recipient's part of the volunteers' number sheet (its first document only)
    sheet: SheetPart | None = None

    @property
    def ready(self) -> bool:
        """Whether there is a document (made now or kept from before)."""
        return self.sha256 is not None


def document_file(plan: RecipientPlan, channel: str) -> str:
    """Where a recipient's document goes, relative to the batch folder."""
    folder = "faxes" if channel == "fax" else "post"
    return f"{folder}/{plan.recipient.id}.pdf"


def fax_target(plan: RecipientPlan) -> FaxTarget:
    """The numbers printed on a recipient's fax."""
    assert plan.fax is not None
    return FaxTarget(
        fax=plan.fax.international or plan.fax.e164 or plan.fax.raw,
        phone=(plan.phone.international or "") if plan.phone else "",
    )


def preflight_pages(
    pages: Sequence[Page], where: str, campaign: Campaign, spec: EnvelopeSpec | None
) -> list[str]:
    """The print-shop checks of a document's laid-out pages (``spec``: a postal letter's)."""
    failures: list[str] = []
    for number, page in enumerate(pages, start=1):
        rules = PageRules(
            campaign.page_size,
            fax=spec is None,
            window=spec.window if spec is not None and number == 1 else None,
        )
        failures.extend(check_layout(page, f"{where}, page {number}", rules))
    return failures


def pdf_bytes(
    contents: Sequence[PageContent],
    fonts: dict[Style, EmbeddedFont],
    title: str,
    images: Mapping[str, RasterImage] | None = None,
) -> bytes:
    """One self-contained PDF from rendered pages (``images``: those they draw, by key)."""
    buffer = io.BytesIO()
    writer = PdfWriter(
        buffer, fonts, title=title, producer=f"faxbatch {__version__}", images=images
    )
    writer.add_pages(contents)
    writer.close()
    return buffer.getvalue()


def layout_document(
    shared: Shared, plan: RecipientPlan, channel: str
) -> tuple[list[Page], EnvelopeSpec | None]:
    """Lay out one of a recipient's documents (a fax, or a letter for a window envelope)."""
    found = shared.for_recipient(plan.recipient)
    if plan.signer is not None:  # a signer's own letter: their letterhead, "From", signature
        signer = plan.signer
        found = [(as_signer(other, signer), other_body) for other, other_body in found]
    (campaign, body), *translations = found
    extras = shared.extras_for(plan)
    if channel == "fax":
        target = fax_target(plan)
        pages = fax_document(
            campaign,
            plan.recipient,
            body,
            shared.day,
            target,
            translations,
            extras,
            enclosures=shared.enclosures,
        )
        return pages, None
    spec = envelope_of(campaign)
    pages = postal_document(
        campaign,
        plan.recipient,
        body,
        shared.day,
        spec,
        fold_marks=campaign.printing.fold_marks,
        translations=translations,
        extras=extras,
        enclosures=shared.enclosures,
    )
    return pages, spec


def document_key(shared: Shared, plan: RecipientPlan, channel: str) -> str:
    """A hash of everything that shapes one of a recipient's documents.

    Only what is printed counts (not where the recipient stands in the campaign file); the values
    are text and frozen dataclasses of text, so their ``repr`` is a faithful, stable spelling.
    """
    r = plan.recipient
    language = shared.campaign.languages_of(r)
    shown = (r.id, r.name, r.title, r.organization, r.address, r.country, language, r.greeting,
             r.cover_comments)  # fmt: skip
    target = fax_target(plan) if channel == "fax" else None
    extras = shared.extras_for(plan)
    others = extras.also_sent_to if extras is not None else ()
    annex = shared.annex_key if extras is not None and extras.signers else ""
    if r.signers_from and annex:  # an annex of some countries only
        annex = repr((annex, r.signers_from))
    signed = (plan.signer, annex, others)
    text = repr((shared.batch_key, channel, shown, target, signed))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def envelope_of(campaign: Campaign) -> EnvelopeSpec:
    """The window envelope of the campaign's postal letters (DL or us10 unless it says)."""
    printing = campaign.printing
    default = "us10" if campaign.page_size == "Letter" else "DL"
    return envelope_spec(campaign.page_size, printing.envelope or default, printing.din5008)


class Maker:
    """Makes documents in one process (the main one, or a worker)."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.previous = PreviousBuild(shared.previous) if shared.previous else None
        self.images = shared.images

    def make(self, item: tuple[RecipientPlan, str | None]) -> Made:
        """One document: from the previous build when unchanged, else newly made."""
        plan, channel = item
        if channel is None:
            return Made(plan, None, [])
        shared = self.shared
        key = document_key(shared, plan, channel)
        name = document_file(plan, channel)
        target = shared.folder / name
        cache_id = f"{channel}:{plan.recipient.id}"
        cached = self.previous.reusable(cache_id, key) if self.previous else None
        # reused only when its file and its pages are exactly what the cache recorded (a file
        # edited by hand, a damaged pages.bin: the document is made anew)
        remade = False
        if cached is not None and self.previous is not None:
            if self.previous.intact(cached):
                try:
                    os.link(self.previous.folder / cached.file, target)
                    return Made(plan, channel, [], key, cached.sha256, cached=cached)
                except OSError:
                    pass  # another file system, or the file went away: make it anew
            else:
                remade = True
        campaign = shared.campaign
        try:
            pages, spec = layout_document(shared, plan, channel)
        except DoesNotFit as exc:
            return Made(plan, channel, [], key, problem=f"{exc}.")
        failures = preflight_pages(pages, name, campaign, spec)
        contents = [render_page(page, shared.fonts) for page in pages]
        title = f"{campaign.title}: {plan.recipient.display_name}"
        data = pdf_bytes(contents, shared.fonts, title, self.images)
        with naming(target):  # a full disk names the file it stopped
            target.write_bytes(data)
        sha256 = hashlib.sha256(data).hexdigest()
        return Made(plan, channel, contents, key, sha256, failures=tuple(failures), remade=remade)

    def close(self) -> None:
        """Release the previous build's cache."""
        if self.previous is not None:
            self.previous.close()


# -- on every core -------------------------------------------------------------------------------
_WORKER: tuple[Callable[..., object], object] | None = None  # set once in each worker process
#: ask the kernel to kill a worker when its parent dies (Linux); False: the watcher thread only
USE_PDEATHSIG = True
#: how often a worker without PR_SET_PDEATHSIG looks whether its parent is still there (seconds)
WATCH_INTERVAL = 0.2


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        with contextlib.suppress(OSError):
            return max(1, len(affinity(0)))
    return os.cpu_count() or 1


def capped_jobs(jobs: int) -> int:
    """``jobs`` within 1 and the cores available: more processes than cores only add memory."""
    return max(1, min(jobs, available_cores()))


def _parent_death_signal() -> bool:
    """Have the kernel send SIGKILL to this process when its parent dies (Linux only)."""
    if not USE_PDEATHSIG or not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        pr_set_pdeathsig = 1
        return int(libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_INTERVAL)
    os._exit(1)  # the build is gone: nothing of ours is worth finishing


def _die_with_parent(parent: int) -> None:
    """Make sure this worker does not outlive the build that forked it."""
    # Ctrl-C reaches the whole process group: the build stops its workers itself, and a
    # KeyboardInterrupt in each of them would only print tracebacks. SIGTERM kills a worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not _parent_death_signal():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the kernel was asked to tell us
        os._exit(1)


def _init_worker(parent: int, setup: Callable[[T], object], argument: T) -> None:
    global _WORKER
    _die_with_parent(parent)
    state = setup(argument)
    _WORKER = (type(state).__call__, state)


def _run_in_worker(item: object) -> object:
    assert _WORKER is not None
    method, state = _WORKER
    return method(state, item)


def in_order(
    setup: Callable[[T], Callable[[R], object]],
    argument: T,
    items: Iterable[R],
    jobs: int,
    chunk: int = 16,
    meanwhile: Callable[[], None] | None = None,
) -> Generator[object, None, None]:
    """``setup(argument)(item)`` for every item, on ``jobs`` processes, results in input order.

    ``setup`` runs once per process (open files and databases there, not before the fork). At
    most a few chunks per process are in flight, so memory stays flat however many items come.
    ``meanwhile`` is called once, as soon as the workers have their first items (work of this
    process that they need not wait for).
    A worker that dies (killed, out of memory) stops the build with an error instead of a hang.
    ``jobs`` is capped at the cores available (:func:`capped_jobs`).
    """
    jobs = capped_jobs(jobs)
    if jobs <= 1:
        if meanwhile is not None:
            meanwhile()
        function = setup(argument)
        try:
            yield from (function(item) for item in items)
        finally:
            close = getattr(function, "close", None)
            if close is not None:
                close()
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    initargs = (os.getpid(), setup, argument)
    with ProcessPoolExecutor(jobs, context, _init_worker, initargs) as pool:
        pending: deque[Future[list[object]]] = deque()
        source = iter(items)
        try:
            while True:
                while len(pending) < 4 * jobs:
                    batch = list(islice(source, chunk))
                    if not batch:
                        break
                    pending.append(pool.submit(_run_chunk, batch))
                if meanwhile is not None:
                    meanwhile()
                    meanwhile = None
                if not pending:
                    break
                yield from pending.popleft().result()
        except BrokenProcessPool:
            # seen by result(), or by submit() when the pool broke while we were yielding
            raise WorkerDiedError(
                "a worker process died before it was done (killed by the system, most "
                "often for lack of memory); nothing was put in place",
                hint="run it again; with --jobs 1 it needs less memory",
            ) from None
        finally:
            for future in pending:
                future.cancel()


def _run_chunk(items: Sequence[object]) -> list[object]:
    return [_run_in_worker(item) for item in items]


class _MakeInWorker:
    """A worker's maker, callable on a plan."""

    def __init__(self, shared: Shared) -> None:
        self.maker = Maker(shared)

    def __call__(self, item: tuple[RecipientPlan, str | None, bool | None]) -> tuple[object, ...]:
        """The document's :class:`Made`, as :func:`_sent` sends it back."""
        plan, channel, html = item
        made = self.maker.make((plan, channel))
        if html is not None:
            # the sheet has a row per recipient, not per signer
            rows = plan_rows(Signing.recipient_plan(plan))
            part = sheet_part(self.maker.shared.campaign, rows, Caller(), html=html)
            made = replace(made, sheet=part)
        return _sent(made)

    def close(self) -> None:
        """Release the maker's files (in the main process; workers end with theirs)."""
        self.maker.close()


#: the most documents a worker makes per round trip (about 70 ms of work)
MAX_CHUNK = 64


def make_all(
    shared: Shared,
    plans: Iterable[RecipientPlan],
    jobs: int,
    page_holds: Callable[[int], bool] | None = None,
    documents: int = 0,
) -> Generator[Made, None, None]:
    """Make every plan's documents, in order, on ``jobs`` processes.

    ``documents``, how many there will be about, sizes the workers' chunks: large ones cost
    fewer round trips, but a batch needs enough of them to keep every worker busy to the end.
    A recipient that gets no document yields one :class:`Made` without a channel. With
    ``page_holds``, the first document of each recipient (letters of its signers included) also
    brings its part of the number sheet; ``page_holds(rows)`` says, in campaign order, whether
    the sheet's page holds its rows (see :meth:`SheetWriter.reserve_html`).
    """
    last: list[str | None] = [None]

    def sheet(plan: RecipientPlan) -> bool | None:
        if page_holds is None or plan.base_id == last[0]:
            return None
        last[0] = plan.base_id
        return page_holds(plan_row_count(Signing.recipient_plan(plan)))

    # the plans given out, in order: each result comes back without its plan (see _sent)
    given: deque[RecipientPlan] = deque()

    def items() -> Iterator[tuple[RecipientPlan, str | None, bool | None]]:
        for plan in plans:
            for channel in plan.documents if plan.ready else (None,):
                given.append(plan)
                yield plan, channel, sheet(plan)

    chunk = min(MAX_CHUNK, max(1, documents // (8 * max(jobs, 1))))
    for sent in in_order(_MakeInWorker, shared, items(), jobs, chunk=chunk):
        assert isinstance(sent, tuple)
        yield Made(given.popleft(), *sent)


def _sent(made: Made) -> tuple[object, ...]:
    """A :class:`Made` but its plan, which the main process holds: what a worker sends back.

    The plan would be pickled there and unpickled here again, a fortieth of a build's time.
    """
    return tuple(getattr(made, name) for name in _SENT_FIELDS)


#: the fields of :class:`Made` after its first, the plan
_SENT_FIELDS = tuple(f.name for f in fields(Made))[1:]
