"""The job ticket: what a print shop needs to run the print volumes without a phone call.

``print/job.json`` (machine-readable, with ``schema_version``) and ``print/job.txt`` (for
people): per volume its file, documents, pages, sheets, page size, duplex, envelope and how to fold,
bytes and sha256; totals per channel and overall; every document with its volume and page range,
and for a fax the number to dial and its sending window. The print folder stands alone: the job's
contact and what to do with a page that fails are in it, and nothing refers to a file outside it.
Pure functions from the volume records to bytes: the caller writes them.
"""

from __future__ import annotations

import io
import json
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any

from faxbatch.letters.envelopes import envelope_spec
from faxbatch.printshop.volumes import Placement, VolumeRecord

SCHEMA_VERSION = 1
JOB_JSON = "print/job.json"
JOB_TEXT = "print/job.txt"

#: what a fax service does when a page does not go through
ON_FAILED_PAGE = (
    "When a fax fails part-way, send that document again whole (from its first page) to the "
    "same number, inside its sending window. When it fails three times, or the line answers "
    "with a voice, stop and tell the contact; never send it to another number."
)
#: a fax document's dialling fields, as the manifest has them (``fax_e164`` ...)
FAX_FIELDS = (
    "fax_e164",
    "fax_national",
    "window_start_local",
    "window_end_local",
    "window_time_zone",
    "window_start_utc",
    "window_end_utc",
)


def _fold(volume: VolumeRecord) -> str | None:
    if volume.envelope is None:
        return None
    return envelope_spec(volume.page_size, volume.envelope, volume.din5008).fold_instruction


def _envelope_label(volume: VolumeRecord) -> str | None:
    if volume.envelope is None:
        return None
    return envelope_spec(volume.page_size, volume.envelope, volume.din5008).label


def _totals(volumes: Sequence[VolumeRecord]) -> dict[str, int]:
    return {
        "volumes": len(volumes),
        "documents": sum(v.documents for v in volumes),
        "pages": sum(v.pages for v in volumes),
        "pad_pages": sum(v.pad_pages for v in volumes),
        "sheets": sum(v.sheets for v in volumes),
        "bytes": sum(v.bytes for v in volumes),
    }


def _volume_entry(v: VolumeRecord) -> dict[str, Any]:
    return {
        "file": v.file,
        "channel": v.channel,
        "documents": v.documents,
        "pages": v.pages,
        "pad_pages": v.pad_pages,
        "sheets": v.sheets,
        "page_size": v.page_size,
        "duplex": v.duplex,
        "envelope": v.envelope,
        "din5008": v.din5008,
        "fold": _fold(v),
        "bytes": v.bytes,
        "sha256": v.sha256,
    }


#: JSON in one line, by the standard library's C encoder (``indent`` takes its Python one)
_ONE_LINE = json.JSONEncoder(ensure_ascii=False).encode
_TEXT = json.encoder.encode_basestring  # a JSON string, as _ONE_LINE writes it
_WORDS = {None: "null", True: "true", False: "false"}


def pretty_json(value: Any, indent: str = "") -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, each line after the first indented.

    The same text, but about twice as fast (a job ticket has an entry per document), and it
    leaves no reference cycles behind (the standard library's indenting encoder does).
    """
    kind = type(value)
    if kind is str:
        return _TEXT(value)
    if kind is int:
        return int.__repr__(value)
    if value is None or kind is bool:
        return _WORDS[value]
    inner = indent + "  "
    if kind is dict and value and all(type(key) is str for key in value):
        items = [f"{inner}{_TEXT(key)}: {pretty_json(item, inner)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list | tuple) and value:
        items = [inner + pretty_json(item, inner) for item in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    if isinstance(value, dict) and value:  # keys json turns into text its own way
        return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + indent)
    return _ONE_LINE(value)


def _document_entry(p: Placement, faxes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": p.doc_id,
        "title": p.title,
        "channel": p.channel,
        "volume": p.volume,
        "first_page": p.first_page,
        "last_page": p.last_page,
        "pages": p.pages,
    }
    if p.channel == "fax":
        fax = faxes.get(p.doc_id, {})
        entry["dial"] = {"e164": fax.get("fax_e164"), "national": fax.get("fax_national")}
        entry["window"] = {
            "start_local": fax.get("window_start_local"),
            "end_local": fax.get("window_end_local"),
            "time_zone": fax.get("window_time_zone"),
            "start_utc": fax.get("window_start_utc"),
            "end_utc": fax.get("window_end_utc"),
        }
    return entry


def _channels(volumes: Sequence[VolumeRecord]) -> list[str]:
    return list(dict.fromkeys(v.channel for v in volumes))


#: a channel's placements, in order, read anew each time it is called (they may be on disk)
PlacementSource = Callable[[str], Iterable[Placement]]


def write_job_json(
    out: IO[str],
    volumes: Sequence[VolumeRecord],
    placements_of: PlacementSource,
    *,
    title: str = "",
    warnings: Sequence[str] = (),
    contact: Mapping[str, str] | None = None,
    faxes: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """``print/job.json``, written a document at a time (the same text as :func:`job_json`).

    ``contact``: whom to ask (``name``, ``phone``, ``email``); ``faxes``: each fax document's
    :data:`FAX_FIELDS` by its id.
    """
    channels = _channels(volumes)
    head = {
        "schema_version": SCHEMA_VERSION,
        "title": title or None,
        "contact": _contact(contact),
        "on_failed_page": ON_FAILED_PAGE if "fax" in channels else None,
        "volumes": [_volume_entry(v) for v in volumes],
        "totals": {
            **_totals(volumes),
            "by_channel": {c: _totals([v for v in volumes if v.channel == c]) for c in channels},
        },
    }
    text = pretty_json(head)
    out.write(text[:-2] + ',\n  "documents": [')
    count = 0
    for channel in channels:
        for placement in placements_of(channel):
            entry = pretty_json(_document_entry(placement, faxes or {}), "    ")
            out.write(("," if count else "") + "\n    " + entry)
            count += 1
    out.write("\n  ]" if count else "]")
    tail = pretty_json({"warnings": list(warnings)})
    out.write(",\n" + tail[2:] + "\n")


def job_json(
    volumes: Sequence[VolumeRecord],
    placements: Sequence[Placement],
    *,
    title: str = "",
    warnings: Sequence[str] = (),
    contact: Mapping[str, str] | None = None,
    faxes: Mapping[str, Mapping[str, Any]] | None = None,
) -> bytes:
    """``print/job.json``: UTF-8, indented, deterministic."""
    buffer = io.StringIO()
    write_job_json(
        buffer,
        volumes,
        _by_channel(placements),
        title=title,
        warnings=warnings,
        contact=contact,
        faxes=faxes,
    )
    return buffer.getvalue().encode("utf-8")


def _contact(contact: Mapping[str, str] | None) -> dict[str, str | None]:
    given = contact or {}
    return {key: given.get(key) or None for key in ("name", "phone", "email")}


def _by_channel(placements: Sequence[Placement]) -> PlacementSource:
    return lambda channel: [p for p in placements if p.channel == channel]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def write_job_text(
    out: IO[str],
    volumes: Sequence[VolumeRecord],
    placements_of: PlacementSource,
    *,
    title: str = "",
    warnings: Sequence[str] = (),
    contact: Mapping[str, str] | None = None,
    faxes: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """``print/job.txt``, written a document at a time (the same text as :func:`job_text`)."""
    out.write(f"Job ticket: {title}\n\n" if title else "Job ticket\n\n")
    who = [value for value in _contact(contact).values() if value]
    if who:
        out.write(f"Questions: {', '.join(who)}\n\n")
    if not volumes:
        out.write("Nothing to print: no volume was made.\n")
    for channel in _channels(volumes):
        placements = iter(placements_of(channel))
        pending: Placement | None = next(placements, None)
        for v in (v for v in volumes if v.channel == channel):
            out.write("\n".join([f"{v.file}", *_volume_lines(v), ""]) + "\n")
            width = len(str(v.pages))
            while pending is not None and pending.volume == v.file:
                pages = f"{pending.first_page:>{width}}–{pending.last_page:<{width}}"
                out.write(f"    pages {pages}  {pending.title}\n")
                if channel == "fax":
                    out.write(_dial_line(_document_entry(pending, faxes or {}), width))
                pending = next(placements, None)
            out.write("\n")
    lines: list[str] = []
    if volumes:
        lines.append("Totals")
        channels = _channels(volumes)
        for channel in channels:
            t = _totals([v for v in volumes if v.channel == channel])
            lines.append(f"  {channel + ':':6}{_totals_line(t)}")
        if len(channels) > 1:
            lines.append(f"  {'all:':6}{_totals_line(_totals(volumes))}")
        lines.append("")
    if "fax" in _channels(volumes):
        lines += ["If a fax fails", *_wrapped(ON_FAILED_PAGE), ""]
    if warnings:
        lines.append("Warnings")
        lines += [f"  - {warning}" for warning in warnings]
        lines.append("")
    out.write("\n".join(lines))


def job_text(
    volumes: Sequence[VolumeRecord],
    placements: Sequence[Placement],
    *,
    title: str = "",
    warnings: Sequence[str] = (),
    contact: Mapping[str, str] | None = None,
    faxes: Mapping[str, Mapping[str, Any]] | None = None,
) -> bytes:
    """``print/job.txt``: the same ticket, for the people at the print shop."""
    buffer = io.StringIO()
    write_job_text(
        buffer,
        volumes,
        _by_channel(placements),
        title=title,
        warnings=warnings,
        contact=contact,
        faxes=faxes,
    )
    return buffer.getvalue().encode("utf-8")


def _clock(stamp: object) -> str:
    """``09:00`` from ``2012-05-10T09:00:00+06:00`` (what a person dials by)."""
    text = str(stamp or "")
    return text[11:16] if len(text) >= 16 else text


def _dial_line(entry: Mapping[str, Any], width: int) -> str:
    dial, window = entry["dial"], entry["window"]
    indent = " " * (4 + 6 + 2 * width + 1 + 2)
    if not dial["e164"]:
        return f"{indent}no number to dial: do not send\n"
    line = f"{indent}dial {dial['e164']}"
    if dial["national"]:
        line += f" (in the country: {dial['national']})"
    if window["start_local"]:
        line += (
            f"; send {str(window['start_local'])[:10]} {_clock(window['start_local'])}–"
            f"{_clock(window['end_local'])} {window['time_zone'] or ''}".rstrip()
            + f" ({_clock(window['start_utc'])}–{_clock(window['end_utc'])} UTC)"
        )
    return line + "\n"


def _wrapped(text: str, width: int = 96) -> list[str]:
    return textwrap.wrap(text, width, initial_indent="  ", subsequent_indent="  ")


def _volume_lines(v: VolumeRecord) -> list[str]:
    if v.channel == "fax":
        use = "faxes: send each document to its own number (listed under it)"
    else:
        use = "letters: print, fold, put in window envelopes and post"
    sides = (
        "double-sided (duplex, long edge); every document starts on a front side"
        if v.duplex
        else "single-sided"
    )
    rows = [
        ("for", use),
        ("paper", f"{v.page_size}, {sides}"),
    ]
    envelope = _envelope_label(v)
    if envelope:
        rows.append(("envelope", envelope))
        rows.append(("folding", _fold(v) or ""))
    pages = _plural(v.pages, "page")
    if v.pad_pages:
        pages += f" ({_plural(v.pad_pages, 'blank pad page')}, not part of any document)"
    rows += [
        ("documents", str(v.documents)),
        ("pages", pages),
        ("sheets", str(v.sheets)),
        ("bytes", f"{v.bytes:,}"),
        ("sha256", v.sha256),
    ]
    return [f"  {label + ':':11}{value}" for label, value in rows]


def _totals_line(t: dict[str, int]) -> str:
    return (
        f"{_plural(t['volumes'], 'volume')}, {_plural(t['documents'], 'document')}, "
        f"{_plural(t['pages'], 'page')}, {_plural(t['sheets'], 'sheet')}, {t['bytes']:,} bytes"
    )
