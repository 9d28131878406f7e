"""HylaFAX through its own clients: ``sendfax`` queues, ``faxstat`` reads, ``faxrm`` removes.

The number is given to sendfax in its canonical form, ``-d +<E.164>``: the server turns it into
what its modems dial with its own dial rules (the sender's country is not the server's).

Every job is tagged (``sendfax -i``) with the fax's job tag, which ``faxstat`` reports back (JobFmt
``%J``): that is how a job is found again after a crash. Times given to sendfax (``-a`` time to
send, ``-k`` kill time) are written in UTC, and sendfax runs with ``TZ=UTC`` so that it reads them
so. A time that has passed must never reach sendfax: it would read it as the same day *next year*.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from faxbatch.campaign.gateway_settings import HylafaxSettings
from faxbatch.errors import SendError
from faxbatch.sending.batch import Fax

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: faxstat job symbols (JobFmt %a) and what faxbatch calls them
JOB_STATES = {
    "P": "queued",  # pending: waiting for its time to send
    "S": "queued",  # sleeping: waiting before the next try
    "B": "queued",  # blocked by another job to the same number
    "W": "queued",  # waiting for a modem
    "T": "queued",  # suspended
    "R": "sending",
    "D": "done",
    "F": "failed",
    "?": "unknown",
}
# tab-separated, the free-text status last so that it may hold anything but a newline
_FIELDS = ("%j", "%J", "%a", "%e", "%t", "%u", "%d", "%x", "%p", "%y", "%Z", "%o", "%s")
JOB_FORMAT = "\t".join(_FIELDS)
_REQUEST_ID = re.compile(r"request id is (\d+)")
_SUBPROCESS_TIMEOUT = 120.0
_PAGE_SIZES = {"A4": "A4", "Letter": "NA-LET"}


class HylafaxError(SendError):
    """sendfax or faxstat failed; ``output`` is what the client said."""

    def __init__(self, message: str, output: str = "", *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.output = output


class HylafaxUnreachable(HylafaxError):
    """The HylaFAX server cannot be asked (not running, wrong host or port, not installed)."""


@dataclass(frozen=True)
class QueueJob:
    """One job as ``faxstat`` reports it."""

    job_id: str
    tag: str
    symbol: str
    number: str
    tries: int
    max_tries: int
    dials: int
    max_dials: int
    pages_sent: int
    pages_total: int
    time_to_send: int
    owner: str
    status: str

    @property
    def state(self) -> str:
        """``queued``, ``sending``, ``done``, ``failed`` or ``unknown``."""
        return JOB_STATES.get(self.symbol, "unknown")


def client(name: str) -> str:
    """The path of a HylaFAX client program, or a clear error when it is not installed."""
    found = shutil.which(name)
    if found is None:
        raise HylafaxUnreachable(
            f"the HylaFAX client '{name}' is not installed",
            hint="install it (Debian: apt-get install hylafax-client) or use --gateway email",
        )
    return found


@functools.lru_cache(maxsize=4096)  # the same few windows, thousands of times
def at_time(moment: dt.datetime) -> str:
    """A UTC moment as sendfax's ``-a``/``-k`` read it with TZ=UTC: ``"03:00 May 14"``."""
    utc = moment.astimezone(dt.UTC)
    return f"{utc:%H:%M} {_MONTHS[utc.month - 1]} {utc.day:02d}"


@functools.lru_cache(maxsize=4096)  # the same few windows, thousands of times
def ceil_minute(moment: dt.datetime) -> dt.datetime:
    """The moment rounded up to a whole minute (sendfax takes minutes)."""
    seconds = moment.timestamp()
    return dt.datetime.fromtimestamp(math.ceil(seconds / 60) * 60, tz=dt.UTC)


@functools.lru_cache(maxsize=4096)  # the same few windows, thousands of times
def floor_minute(moment: dt.datetime) -> dt.datetime:
    """The moment rounded down to a whole minute."""
    seconds = moment.timestamp()
    return dt.datetime.fromtimestamp(math.floor(seconds / 60) * 60, tz=dt.UTC)


#: HylaFAX kills a job this long after it was queued unless told otherwise (sendfax -k)
DEFAULT_KILL = dt.timedelta(hours=3)


def last_moment(fax: Fax) -> dt.datetime | None:
    """The moment a fax may no longer be sent: its window's end or the deadline, the earlier."""
    ends = [moment for moment in (fax.window_end, fax.deadline) if moment is not None]
    return floor_minute(min(ends)) if ends else None


def window_options(fax: Fax, now: dt.datetime) -> list[str] | None:
    """``-a``/``-k`` for a fax's sending window and deadline, seen at ``now``; None when over.

    The kill time is the window's end, or the campaign's deadline when that is earlier (without
    a window: when it is earlier than HylaFAX's own three hours). Without either: no options
    (send now, HylaFAX's default kill time).
    """
    options: list[str] = []
    end = last_moment(fax)
    if end is not None and end <= now:
        return None
    start = ceil_minute(fax.window_start) if fax.window_start is not None else None
    if start is not None and end is not None and start >= end:
        return None  # it would open after the deadline
    if fax.window_start is not None and fax.window_start > now and start is not None:
        options += ["-a", at_time(start)]
    if end is not None and (fax.window_end is not None or end < now + DEFAULT_KILL):
        options += ["-k", at_time(end)]
    return options


def sanitize(text: str, limit: int = 120) -> str:
    """Text safe for a sendfax option: hfaxd's protocol breaks on double quotes and newlines."""
    if not text.isprintable() or '"' in text or "\\" in text:
        text = "".join(" " if ch in '"\\' or not ch.isprintable() else ch for ch in text)
    return " ".join(text.split())[:limit]


def job_options(
    fax: Fax, settings: HylafaxSettings, regarding: str, page_size: str | None, tag: str
) -> list[str]:
    """The sendfax options of one job, the window and destination aside."""
    options = ["-n", "-i", tag]
    if regarding:
        options += ["-r", sanitize(regarding)]
    if settings.bulk:
        options += ["-P", "bulk"]
    options += ["-m"] if settings.resolution == "fine" else ["-l"]
    if page_size in _PAGE_SIZES:
        options += ["-s", _PAGE_SIZES[page_size]]
    options += ["-t", str(settings.tries), "-T", str(settings.dials)]
    return options


def sendfax_command(
    fax: Fax,
    pdf: Path,
    settings: HylafaxSettings,
    regarding: str,
    page_size: str | None,
    tag: str,
    now: dt.datetime,
) -> list[str] | None:
    """The whole sendfax command line for one fax, or None when its window is over.

    ``-d`` comes last before the file: sendfax applies the options before it to that destination.
    """
    window = window_options(fax, now)
    if window is None:
        return None
    return [
        client("sendfax"),
        "-h",
        settings.server,
        *job_options(fax, settings, regarding, page_size, tag),
        *window,
        "-d",
        fax.e164,
        str(pdf),
    ]


def _run(command: Sequence[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    try:
        done = subprocess.run(
            list(command),
            capture_output=True,
            text=True,
            errors="replace",
            env=env,
            timeout=_SUBPROCESS_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise HylafaxError(
            f"{Path(command[0]).name} did not answer within {_SUBPROCESS_TIMEOUT:.0f} s"
        ) from exc
    except OSError as exc:
        raise HylafaxUnreachable(f"cannot run {command[0]} ({exc.strerror or exc})") from None
    return done.returncode, done.stdout, done.stderr


def submit(command: Sequence[str]) -> str:
    """Run a sendfax command; the job id the server gave, or :class:`HylafaxError`."""
    env = dict(os.environ, TZ="UTC")
    code, out, err = _run(command, env)
    said = " ".join((err + " " + out).split())
    match = _REQUEST_ID.search(out)
    if code == 0 and match:
        return match.group(1)
    if "Can not reach service" in said or "Connection refused" in said:
        raise HylafaxUnreachable(f"sendfax cannot reach the HylaFAX server: {said}", said)
    raise HylafaxError(f"sendfax failed (exit {code}): {said or 'no message'}", said)


def _int(text: str) -> int:
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else 0


def parse_faxstat(output: str) -> list[QueueJob]:
    """Jobs from faxstat output written with :data:`JOB_FORMAT` (header lines are skipped)."""
    jobs: list[QueueJob] = []
    for line in output.splitlines():
        parts = line.rstrip("\r\n").split("\t", len(_FIELDS) - 1)
        if len(parts) != len(_FIELDS) or not parts[0].strip().isdigit():
            continue  # the scheduler line, blank lines, the column titles
        jid, tag, symbol, number, tries, max_tries, dials, max_dials = parts[:8]
        pages_sent, pages_total, tts, owner, status = parts[8:]
        jobs.append(
            QueueJob(
                job_id=jid.strip(),
                tag=tag.strip(),
                symbol=symbol.strip() or "?",
                number=number.strip(),
                tries=_int(tries),
                max_tries=_int(max_tries),
                dials=_int(dials),
                max_dials=_int(max_dials),
                pages_sent=_int(pages_sent),
                pages_total=_int(pages_total),
                time_to_send=_int(tts),
                owner=owner.strip(),
                status=status.strip(),
            )
        )
    return jobs


def faxstat(server: str, queue: str) -> list[QueueJob]:
    """The jobs of one queue (``-s`` send queue, ``-d`` done queue) of a server."""
    program = client("faxstat")
    with tempfile.TemporaryDirectory(prefix="faxbatch-hylarc-") as home:
        # faxstat has no format option: JobFmt comes from the user's ~/.hylarc
        Path(home, ".hylarc").write_text(f'JobFmt: "{JOB_FORMAT}"\n', encoding="ascii")
        env = dict(os.environ, HOME=home, TZ="UTC")
        code, out, err = _run([program, "-h", server, queue], env)
    said = " ".join(err.split())
    if code != 0 or "HylaFAX scheduler" not in out:
        raise HylafaxUnreachable(
            f"faxstat cannot read the queue of the HylaFAX server {server}: {said or 'no answer'}",
            said,
            hint="check that faxq and hfaxd run there, and --host/--port",
        )
    return parse_faxstat(out)


def check_scheduler(server: str) -> None:
    """Stop unless the server answers and its scheduler (faxq) runs: else no job can be queued."""
    program = client("faxstat")
    code, out, err = _run([program, "-h", server], dict(os.environ, TZ="UTC"))
    said = " ".join((err + " " + out).split())
    if code != 0 or "HylaFAX scheduler" not in out:
        raise HylafaxUnreachable(
            f"cannot reach the HylaFAX server {server}: {said or 'no answer'}",
            said,
            hint="check that hfaxd runs there, and --host/--port",
        )
    if "Not running" in out:
        raise HylafaxUnreachable(
            f"the HylaFAX scheduler (faxq) is not running on {server}: no job can be queued",
            said,
            hint="start faxq on the server",
        )


def remove(server: str, job_id: str) -> tuple[bool, str]:
    """Take one job out of the server's queue with ``faxrm``; whether it went, and what faxrm said.

    faxrm exits 0 even when it could not remove the job, so its words decide ("Job N removed").
    A job already finished is not removed (and not taken from the done queue either): faxrm is
    only run for a job found waiting in the send queue.
    """
    if not job_id.isdigit():
        return False, f"{job_id!r} is not a HylaFAX job id"
    code, out, err = _run([client("faxrm"), "-h", server, job_id], dict(os.environ, TZ="UTC"))
    said = " ".join((out + " " + err).split())
    return code == 0 and f"Job {job_id} removed" in said, said


#: words of a HylaFAX job's status that mean trying again cannot help
_PERMANENT = (
    "invalid dial",
    "unable to convert dial string",
    "voice",
    "answered by a person",
    "data connection established",
    "blacklisted",
    "aborted by request",
    "no fax capability",
    "remote has no t.4 receiver",
)


def failure_of(job: QueueJob) -> str:
    """``permanent`` when a failed job's status says trying again cannot help, else ``transient``.

    Busy, no answer, no carrier, no dial tone, a kill time that expired, too many tries or dials
    and transmission errors can pass; an invalid number, a voice (a person) answering, a job
    someone removed from the queue (faxrm: "Job aborted by request") do not.
    """
    status = job.status.lower()
    return "permanent" if any(words in status for words in _PERMANENT) else "transient"


def jobs(server: str) -> list[QueueJob]:
    """Every job the server knows: the send queue, then the done queue."""
    return faxstat(server, "-s") + faxstat(server, "-d")


def jobs_by_tag(found: Sequence[QueueJob]) -> dict[str, QueueJob]:
    """Jobs by their tag; of several jobs with one tag, the newest (highest id)."""
    tagged: dict[str, QueueJob] = {}
    for job in sorted(found, key=lambda j: _int(j.job_id)):
        if job.tag:
            tagged[job.tag] = job
    return tagged
