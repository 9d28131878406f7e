"""Gateway exports of a built batch, under ``DIR/gateways/``.

- ``hylafax.sh``: one ``sendfax`` command per sendable fax, for anyone with a HylaFAX client. It
  keeps no record (run twice, it queues twice); ``faxbatch send`` keeps the journal. Every value
  it holds is quoted as :func:`shlex.quote` does (the default server too), comments are one line
  of printable text, and messages are printed with ``printf '%s'``: no campaign text can become
  shell code, whoever wrote the campaign.
- ``jobs.jsonl``: one JSON object per sendable fax for HTTP fax APIs: E.164 ``to``, file, SHA-256,
  pages, sending window in UTC and the idempotency key, which stays the same when the same document
  is built again.

:func:`write_exports` writes both atomically; the build calls it, and ``send`` when they are
missing.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from faxbatch import __version__
from faxbatch.campaign.gateway_settings import HylafaxSettings, parse_gateway_section
from faxbatch.errors import OutputNotWritableError
from faxbatch.files import write_atomic
from faxbatch.sending.batch import Fax, fax_of, faxes_of, format_utc, regarding
from faxbatch.sending.gateways.hylafax import (
    at_time,
    ceil_minute,
    floor_minute,
    job_options,
    last_moment,
    sanitize,
)
from faxbatch.sending.journal import job_tag

EXPORTS_DIR = "gateways"
HYLAFAX_SCRIPT = f"{EXPORTS_DIR}/hylafax.sh"
JOBS_JSONL = f"{EXPORTS_DIR}/jobs.jsonl"
JOBS_SCHEMA_VERSION = 1


def _settings(manifest: Mapping[str, Any], settings: HylafaxSettings | None) -> HylafaxSettings:
    if settings is not None:
        return settings
    campaign = manifest.get("campaign")
    section = campaign.get("gateway") if isinstance(campaign, Mapping) else None
    return parse_gateway_section(section, source="manifest.json").hylafax


def _page_size(manifest: Mapping[str, Any]) -> str | None:
    campaign = manifest.get("campaign")
    size = campaign.get("page_size") if isinstance(campaign, Mapping) else None
    return str(size) if size else None


def job_record(fax: Fax, subject: str) -> dict[str, Any]:
    """One line of ``jobs.jsonl``."""
    return {
        "schema_version": JOBS_SCHEMA_VERSION,
        "idempotency_key": fax.key,
        "recipient_id": fax.recipient_id,
        "recipient_name": fax.recipient_name,
        "organization": fax.organization or None,
        "to": fax.e164,
        "dial_string": fax.dial_string,
        "file": fax.file,
        "sha256": fax.sha256,
        "pages": fax.pages,
        "language": fax.language or None,
        "languages": list(fax.languages) or None,
        "window_start_utc": format_utc(fax.window_start),
        "window_end_utc": format_utc(fax.window_end),
        "subject": subject,
    }


def jobs_jsonl(manifest: Mapping[str, Any]) -> bytes:
    """``jobs.jsonl``: a JSON object per sendable fax, one per line, in campaign order."""
    campaign = manifest.get("campaign")
    subject = regarding(campaign if isinstance(campaign, Mapping) else {})
    return "".join(_job_line(fax, subject) for fax in faxes_of(manifest)).encode("utf-8")


def _job_line(fax: Fax, subject: str) -> str:
    return json.dumps(job_record(fax, subject), ensure_ascii=False) + "\n"


def _word(value: object) -> str:
    """One shell word holding exactly ``value`` (a NUL byte, which no shell word holds, dropped)."""
    return shlex.quote(str(value).replace("\x00", ""))


def _comment(text: str) -> str:
    """A comment line: printable text only, so that nothing can end it and start a command."""
    return "# " + sanitize(text, 200)


def _failed(fax: Fax) -> str:
    """The command that adds a fax's id to the list of those not queued."""
    return f'failed="$failed"{_word(" " + fax.recipient_id)}'


def _printf(text: str) -> str:
    """A message to standard error (printf, not echo: echo reads backslashes in some shells)."""
    return f"printf '%s\\n' {_word(text)} >&2"


def _sendfax_line(fax: Fax, options: list[str], window: list[str]) -> str:
    # a file name starting with "-" would be read as an option
    file = f"./{fax.file}" if fax.file.startswith("-") else fax.file
    words = ["sendfax", "-h", '"$server"']
    # the canonical number: the server's own dial rules turn it into what its modems dial
    words += [_word(word) for word in [*options, *window, "-d", fax.e164, file]]
    return " ".join(words) + " || " + _failed(fax)


def _fax_block(fax: Fax, options: list[str]) -> list[str]:
    comment = f"{fax.recipient_id}: {fax.label} - {fax.international}"
    window = "any time (HylaFAX kills the job 3 hours after it starts)"
    if fax.window_start or fax.window_end:
        window = f"window {format_utc(fax.window_start) or 'now'} to "
        window += format_utc(fax.window_end) or "(default kill time)"
    if fax.deadline is not None:
        window += f", deadline {format_utc(fax.deadline)}"
    lines = [_comment(f"{comment}, {fax.pages} page(s), {window}")]
    end = last_moment(fax)
    start = ceil_minute(fax.window_start) if fax.window_start else None
    kill = ["-k", at_time(end)] if end else []
    if end is None and start is None:
        return [*lines, _sendfax_line(fax, options, [])]
    indent = "    "
    branches: list[tuple[str, list[str]]] = []
    if end is not None:
        closed_window = fax.window_end is not None and end == floor_minute(fax.window_end)
        what = "its window closed" if closed_window else "the campaign's deadline passed"
        closed = f"{fax.recipient_id}: {what} at {format_utc(end)}; not queued"
        if start is not None and start >= end:
            never = f"{fax.recipient_id}: its window opens after the deadline; not queued"
            return [*lines, _printf(never), _failed(fax)]
        branches.append((f'[ "$now" -ge {int(end.timestamp())} ]', [_printf(closed), _failed(fax)]))
    if start is not None:
        later = _sendfax_line(fax, options, ["-a", at_time(start), *kill])
        branches.append((f'[ "$now" -lt {int(start.timestamp())} ]', [later]))
    lines.append("now=$(date +%s)")  # each time: a long run may see a window open or close
    for number, (condition, commands) in enumerate(branches):
        lines.append(f"{'if' if number == 0 else 'elif'} {condition}; then")
        lines += [indent + command for command in commands]
    lines += ["else", indent + _sendfax_line(fax, options, kill), "fi"]
    return lines


def _script_head(subject: str, hylafax: HylafaxSettings) -> list[str]:
    return [
        "#!/bin/sh",
        "# shellcheck disable=SC2016  # quoted on purpose: a $ or ` in a campaign text is text",
        _comment(f"HylaFAX jobs for {subject}"),
        f"# Written by faxbatch {__version__}; building the batch again writes it again.",
        "#",
        "# Queues one fax per ready recipient with HylaFAX's sendfax. Each job is tagged (-i)",
        "# with the fax's idempotency key, which faxstat shows (JobFmt %J). This script keeps",
        "# no record: run it twice and every fax is queued twice. 'faxbatch send DIR --gateway",
        "# hylafax' keeps a journal and never sends a fax twice.",
        "#",
        "# Usage: sh gateways/hylafax.sh [HOST[:PORT]]   (default: $FAXSERVER, else the",
        "# campaign's gateway.hylafax server below)",
        "set -u",
        'cd "$(dirname "$0")/.." || exit 1',
        "export TZ=UTC  # the -a (time to send) and -k (kill time) values below are in UTC",
        f"default_server={_word(hylafax.server)}",
        'server="${1:-${FAXSERVER:-$default_server}}"',
        'failed=""',
        "",
    ]


def _script_tail(count: int) -> list[str]:
    return [
        'if [ -n "$failed" ]; then',
        "    printf 'not queued:%s\\n' \"$failed\" >&2",
        "    exit 1",
        "fi",
        f"printf '%s fax(es) queued on %s\\n' {count} \"$server\"",
    ]


def hylafax_script(manifest: Mapping[str, Any], settings: HylafaxSettings | None = None) -> bytes:
    """``hylafax.sh``: a POSIX shell script with a ``sendfax`` command per sendable fax."""
    hylafax = _settings(manifest, settings)
    campaign = manifest.get("campaign")
    subject = regarding(campaign if isinstance(campaign, Mapping) else {})
    page_size = _page_size(manifest)
    faxes = faxes_of(manifest)
    body: list[str] = []
    for fax in faxes:
        options = job_options(fax, hylafax, subject, page_size, job_tag(fax.key, 1))
        body += [*_fax_block(fax, options), ""]
    lines = [*_script_head(subject, hylafax), *body, *_script_tail(len(faxes))]
    return ("\n".join(lines) + "\n").encode("utf-8")


class ExportWriter:
    """Writes the exports of a batch a document at a time, as the build makes them.

    The files are byte for byte what :func:`write_exports` gives for the finished manifest.
    """

    def __init__(self, out_dir: Path, campaign: Mapping[str, Any]) -> None:
        manifest = {"campaign": campaign}
        self._campaign = campaign
        self._hylafax = _settings(manifest, None)
        self._subject = regarding(campaign)
        self._page_size = _page_size(manifest)
        self._script_path = Path(out_dir) / HYLAFAX_SCRIPT
        self._jobs_path = Path(out_dir) / JOBS_JSONL
        self._script_path.parent.mkdir(parents=True, exist_ok=True)
        self._script = self._script_path.open("w", encoding="utf-8", newline="\n")
        self._jobs = self._jobs_path.open("w", encoding="utf-8", newline="\n")
        self._script.write("\n".join(_script_head(self._subject, self._hylafax)) + "\n")
        self.count = 0

    def add(self, document: Mapping[str, Any]) -> None:
        """Add one manifest document (those that may not be sent are left out)."""
        fax = fax_of(document, self._campaign, f"document {document.get('recipient_id')}")
        if fax is None:
            return
        options = job_options(
            fax, self._hylafax, self._subject, self._page_size, job_tag(fax.key, 1)
        )
        self._script.write("\n".join([*_fax_block(fax, options), ""]) + "\n")
        self._jobs.write(_job_line(fax, self._subject))
        self.count += 1

    def close(self) -> list[Path]:
        """Finish both files; returns their paths."""
        self._script.write("\n".join(_script_tail(self.count)) + "\n")
        self._script.close()
        self._jobs.close()
        self._script_path.chmod(0o755)
        self._jobs_path.chmod(0o644)
        return [self._script_path, self._jobs_path]

    def abort(self) -> None:
        """Close the files unfinished (the staging folder goes after an error)."""
        self._script.close()
        self._jobs.close()


def write_exports(
    out_dir: Path, manifest: Mapping[str, Any], settings: HylafaxSettings | None = None
) -> list[Path]:
    """Write ``gateways/hylafax.sh`` and ``gateways/jobs.jsonl`` of a batch; returns their paths.

    ``settings`` (tries, dials, resolution, default server) come from the manifest's
    ``campaign.gateway.hylafax`` when not given.
    """
    out_dir = Path(out_dir)
    folder = out_dir / EXPORTS_DIR
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise OutputNotWritableError(
            f"{folder} is a symbolic link or not a folder: faxbatch does not write through it",
            hint="remove it; faxbatch makes the folder itself",
        )
    script = out_dir / HYLAFAX_SCRIPT
    jobs = out_dir / JOBS_JSONL
    write_atomic(script, hylafax_script(manifest, settings))
    script.chmod(0o755)
    write_atomic(jobs, jobs_jsonl(manifest))
    jobs.chmod(0o644)
    return [script, jobs]


def exports_missing(out_dir: Path) -> bool:
    """Whether a batch folder lacks one of its exports."""
    return not all((Path(out_dir) / name).is_file() for name in (HYLAFAX_SCRIPT, JOBS_JSONL))
