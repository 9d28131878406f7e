"""Making the documents: each recipient's fax laid out, rendered and written, on every core.

The per-document work of a build, run in worker processes (``--jobs``): lay out and render the
pages, write the recipient's PDF into the staging folder, or, when the previous build made the
same document from the same inputs, hard-link its file and take its pages from the cache. Results
come back in campaign order, so the print volume streams out while the workers run ahead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TypeVar

from faxbatch import __version__
from faxbatch.cache import CachedDocument, PreviousBuild
from faxbatch.document import DoesNotFit, FaxTarget, fax_document
from faxbatch.fonts import EmbeddedFont, Style
from faxbatch.layout import Paragraph
from faxbatch.model import Campaign
from faxbatch.pdf import PageContent, PdfWriter, render_page
from faxbatch.plan import RecipientPlan

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


@dataclass(frozen=True)
class Made:
    """One recipient's document, made or taken from the previous build (none: not ready)."""

    plan: RecipientPlan
    contents: list[PageContent]
    key: str = ""
    sha256: str | None = None
    #: the previous build's record when the document is reused (its pages are read on demand)
    cached: CachedDocument | None = None

    @property
    def ready(self) -> bool:
        """Whether there is a document (made now or kept from before)."""
        return self.sha256 is not None


def fax_file(plan: RecipientPlan) -> str:
    """Where a recipient's fax goes, relative to the batch folder."""
    return f"faxes/{plan.recipient.id}.pdf"


def fax_target(plan: RecipientPlan) -> FaxTarget:
    """The numbers printed on a recipient's fax."""
    assert plan.fax is not None
    return FaxTarget(
        fax=plan.fax.international or plan.fax.e164 or plan.fax.raw,
        phone=(plan.phone.international or "") if plan.phone else "",
    )


def render_fax(
    campaign: Campaign,
    plan: RecipientPlan,
    body: Sequence[Paragraph],
    day: dt.date,
    fonts: dict[Style, EmbeddedFont],
) -> list[PageContent]:
    """Lay out and render one recipient's fax (cover and letter)."""
    pages = fax_document(campaign, plan.recipient, body, day, fax_target(plan))
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


def document_key(shared: Shared, plan: RecipientPlan) -> str:
    """A hash of everything that shapes one recipient's fax.

    Only what is printed counts (not where the recipient stands in the campaign file); the values
    are text and frozen dataclasses of text, so their ``repr`` is a faithful, stable spelling.
    """
    r = plan.recipient
    shown = (r.id, r.name, r.title, r.organization, r.address, r.country)
    text = repr((shared.batch_key, shown, fax_target(plan)))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Maker:
    """Makes documents in one process (the main one, or a worker)."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.previous = PreviousBuild(shared.previous) if shared.previous else None

    def make(self, plan: RecipientPlan) -> Made:
        """The recipient's fax: from the previous build when unchanged, else newly made."""
        if not plan.ready:
            return Made(plan, [])
        shared = self.shared
        key = document_key(shared, plan)
        name = fax_file(plan)
        target = shared.folder / name
        cached = self.previous.reusable(plan.recipient.id, key) if self.previous else None
        if cached is not None and self.previous is not None:
            try:
                os.link(self.previous.folder / cached.file, target)
                return Made(plan, [], key, cached.sha256, cached=cached)
            except OSError:
                pass  # another file system, or the file went away: make it anew
        campaign = shared.campaign
        try:
            contents = render_fax(campaign, plan, shared.body, shared.day, shared.fonts)
        except DoesNotFit as exc:
            plan.problems.append(f"{exc}.")
            return Made(plan, [], key)
        data = pdf_bytes(contents, shared.fonts, f"{campaign.title}: {plan.recipient.display_name}")
        target.write_bytes(data)
        return Made(plan, contents, key, hashlib.sha256(data).hexdigest())

    def close(self) -> None:
        """Release the previous build's cache."""
        if self.previous is not None:
            self.previous.close()


# -- on every core -------------------------------------------------------------------------------
_WORKER: tuple[Callable[..., object], object] | None = None  # set once in each worker process


def _init_worker(setup: Callable[[T], object], argument: T) -> None:
    global _WORKER
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
) -> Iterator[object]:
    """``setup(argument)(item)`` for every item, on ``jobs`` processes, results in input order.

    ``setup`` runs once per process (open files and databases there, not before the fork). At
    most a few chunks per process are in flight, so memory stays flat however many items come.
    A worker that dies (killed, out of memory) stops the build with an error instead of a hang.
    """
    if jobs <= 1:
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
    with ProcessPoolExecutor(jobs, context, _init_worker, (setup, argument)) as pool:
        pending: deque[Future[list[object]]] = deque()
        source = iter(items)
        try:
            while True:
                while len(pending) < 4 * jobs:
                    batch = list(islice(source, chunk))
                    if not batch:
                        break
                    pending.append(pool.submit(_run_chunk, batch))
                if not pending:
                    break
                yield from pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _run_chunk(items: Sequence[object]) -> list[object]:
    return [_run_in_worker(item) for item in items]


class _MakeInWorker:
    """A worker's maker, callable on a plan."""

    def __init__(self, shared: Shared) -> None:
        self.maker = Maker(shared)

    def __call__(self, plan: RecipientPlan) -> Made:
        return self.maker.make(plan)

    def close(self) -> None:
        """Release the maker's files (in the main process; workers end with theirs)."""
        self.maker.close()


def make_all(shared: Shared, plans: Iterable[RecipientPlan], jobs: int) -> Iterator[Made]:
    """Make the documents of ready plans, in order, on ``jobs`` processes."""
    for made in in_order(_MakeInWorker, shared, plans, jobs):
        assert isinstance(made, Made)
        yield made
