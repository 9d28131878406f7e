"""Real gateways on loopback for the gateway tests: a HylaFAX server and an SMTP server (aiosmtpd).

HylaFAX: the running server on 127.0.0.1:4559 is used; when HylaFAX is installed but not running
(and we are root) the fixture starts ``faxq`` and ``hfaxd`` itself and stops them afterwards (under
pytest-xdist, one worker starts them, under a file lock, and leaves them running: another worker
may still be using them when the first one ends). When
HylaFAX is not installed the tests skip, except under ``CI=true``, where a missing server fails.
Jobs a test queued are removed (``faxrm``) when it ends.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from faxbatch.cli import main
from faxbatch.sending.batch import WINDOW_FIELDS
from faxbatch.sending.gateways import hylafax

HYLAFAX_SERVER = "127.0.0.1:4559"
FAXQ = Path("/usr/sbin/faxq")
HFAXD = Path("/usr/sbin/hfaxd")
SPOOL = Path("/var/spool/hylafax")
IN_CI = os.environ.get("CI") == "true"

CAMPAIGN = """\
campaign: {{title: Free the activists, reference: {reference}, date: 2012-05-10}}
sender:
  name: Ann Organizer
  organization: Solidarity Group
  address: [1 Main Street, Springfield]
  email: ann@example.org
  country: US
defaults: {{country: KZ}}
page: {{size: A4}}
letter:
  subject: The trial of Dmitry Tikhonov
  greeting: "Dear {{name}},"
  body: |
    We protest against the trial.
  closing: "Sincerely,"
  signature: [Ann Organizer]
recipients:
  - id: court
    name: The Presiding Judge
    organization: Almaty City Court
    address: [Almaty]
    fax: "++7727 2715802"
  - id: admin
    name: Head of the Presidential Administration
    fax: "8 (7172) 74-55-24"
  - id: ministry
    name: Foreign Ministry
"""


def unavailable(reason: str) -> None:
    """Skip the test, or fail it under CI=true, where every server must be there."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the gateway servers must be installed and running)")
    pytest.skip(reason)


def journal_file(batch: Path) -> Path:
    """The campaign journal a batch's manifest names (beside the campaign file)."""
    manifest = json.loads((batch / "manifest.json").read_text("utf-8"))
    return (batch / manifest["campaign"]["journal"]).resolve()  # relative to the batch folder


def journal_rows(batch: Path) -> list[sqlite3.Row]:
    """Every row of the campaign journal's submissions, oldest first."""
    db = sqlite3.connect(journal_file(batch))
    db.row_factory = sqlite3.Row
    try:
        return list(db.execute("SELECT * FROM submissions ORDER BY id"))
    finally:
        db.close()


def run_cli(*args: str | Path) -> int:
    """``faxbatch ARGS`` in this process; the exit code."""
    return main([str(arg) for arg in args])


def faxbatch_process(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``faxbatch ARGS`` as a process of its own (for tests that kill it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "faxbatch", *(str(arg) for arg in args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- batches ----------------------------------------------------------------------------------
@pytest.fixture
def build(tmp_path: Path) -> Callable[..., Path]:
    """Build a small campaign (two ready faxes, one rejected) with a reference of its own.

    Each build gets a new reference, so its faxes' idempotency keys (and HylaFAX job tags) are
    new: jobs of other tests or earlier runs on the same server are never taken for its own.
    """

    def make(
        name: str = "batch", reference: str | None = None, windows: bool = True, extra: str = ""
    ) -> Path:
        """``extra``: more of the campaign file (top-level keys), e.g. ``copies_to``."""
        reference = reference or f"GW-{uuid.uuid4().hex[:12]}"
        campaign = tmp_path / f"{name}.yaml"
        text = textwrap.dedent(CAMPAIGN.format(reference=reference)) + textwrap.dedent(extra)
        campaign.write_text(text, "utf-8")
        out = tmp_path / name
        assert run_cli("build", campaign, "--out", out) == 6  # "ministry" has no fax number
        if not windows:
            open_windows(out)
        return out

    return make


def open_windows(out: Path) -> None:
    """Send at any time of day: the office-hours window may not be open when the test runs."""
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    for doc in manifest["documents"]:
        doc.update(dict.fromkeys(WINDOW_FIELDS))
    (out / "manifest.json").write_text(json.dumps(manifest), "utf-8")


# -- HylaFAX ----------------------------------------------------------------------------------
def _scheduler_line(server: str) -> str:
    try:
        done = subprocess.run(
            ["faxstat", "-h", server], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""


def _wait_for(server: str, seconds: float = 15.0) -> bool:
    """Whether the server answers with its scheduler running, within ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        line = _scheduler_line(server)
        if "HylaFAX scheduler" in line and "Not running" not in line:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def _prepare_spool() -> None:
    """The server reads its configuration from the spool's etc/, which the package leaves empty."""
    etc = SPOOL / "etc"
    for item in Path("/etc/hylafax").iterdir():
        target = etc / item.name
        if target.exists():
            continue
        if item.is_dir():
            shutil.copytree(item, target, symlinks=True)
        else:
            shutil.copy2(item, target)


def _faxq_running() -> bool:
    """Whether a scheduler reads the FIFO (opening it to write fails with ENXIO if none does)."""
    try:
        fd = os.open(SPOOL / "FIFO", os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return False
    os.close(fd)
    return True


@pytest.fixture(scope="session")
def hylafax_server() -> Iterator[str]:
    """``host:port`` of a HylaFAX server on loopback whose queue the tests may use."""
    missing = [name for name in ("sendfax", "faxstat", "faxrm") if shutil.which(name) is None]
    missing += [str(path) for path in (FAXQ, HFAXD) if not path.exists()]
    if missing:
        unavailable(
            f"HylaFAX is not installed ({', '.join(missing)} missing; "
            "apt-get install hylafax-server hylafax-client)"
        )
    started: list[subprocess.Popen[bytes]] = []
    shared = "PYTEST_XDIST_WORKER" in os.environ  # other test processes may use the server too
    lock_path = Path(os.environ.get("TMPDIR", "/tmp")) / "faxbatch-tests-hylafax.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process checks and starts at a time
        if not _wait_for(HYLAFAX_SERVER, seconds=0):
            if os.geteuid() != 0:
                unavailable(
                    f"HylaFAX is installed but not running on {HYLAFAX_SERVER}; start it as root"
                )
            _prepare_spool()
            host, port = HYLAFAX_SERVER.split(":")
            # -D and -d keep them in the foreground: we know their ids and stop them at the end;
            # shared, they go to the background like a server started by hand
            commands = []
            if not _faxq_running():
                commands.append([str(FAXQ)] if shared else [str(FAXQ), "-D"])
            if "HylaFAX scheduler" not in _scheduler_line(HYLAFAX_SERVER):
                commands.append([str(HFAXD), "-l", host, "-i", port, *([] if shared else ["-d"])])
            for command in commands:
                started.append(
                    subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                )
            if not _wait_for(HYLAFAX_SERVER):
                for proc in started:
                    proc.terminate()
                unavailable(f"HylaFAX did not start on {HYLAFAX_SERVER}")
            if shared:
                started.clear()  # daemons now: left running for the other workers
    yield HYLAFAX_SERVER
    for proc in started:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class Queue:
    """The HylaFAX queue as the tests see it; removes the jobs of its batches at the end."""

    server: str
    tags: set[str] = field(default_factory=set)

    def watch(self, batch: Path) -> None:
        """Remove this batch's jobs at the end of the test."""
        from faxbatch.sending.batch import load_batch

        for fax in load_batch(batch).faxes:
            self.tags.update({fax.key, *(f"{fax.key}.{n}" for n in range(2, 6))})

    def jobs(self, batch: Path | None = None) -> list[hylafax.QueueJob]:
        """Jobs on the server (send and done queues), of one batch if given."""
        found = hylafax.jobs(self.server)
        if batch is None:
            return found
        from faxbatch.sending.batch import load_batch

        keys = {fax.key for fax in load_batch(batch).faxes}
        return [job for job in found if job.tag.split(".")[0] in keys]

    def remove(self, job_ids: list[str]) -> None:
        """faxrm these jobs (they go to the done queue, as aborted)."""
        if job_ids:
            subprocess.run(
                ["faxrm", "-h", self.server, *job_ids], capture_output=True, timeout=30, check=False
            )

    def cleanup(self) -> None:
        """Remove every job of the watched batches that is still waiting."""
        waiting = [
            job.job_id
            for job in hylafax.faxstat(self.server, "-s")
            if job.tag in self.tags and job.state in ("queued", "sending")
        ]
        self.remove(waiting)


@pytest.fixture
def queue(hylafax_server: str) -> Iterator[Queue]:
    """The HylaFAX queue; jobs of watched batches are removed after the test."""
    q = Queue(hylafax_server)
    yield q
    q.cleanup()


# -- SMTP -------------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    """One message the SMTP server took."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None = None

    @property
    def message(self) -> Message:
        """The message, parsed."""
        return message_from_bytes(self.data)


class Collector:
    """An aiosmtpd handler that keeps every message; ``on_data`` runs before it answers."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.on_data: Callable[[Received], None] | None = None
        self.drop_at_rcpt = 0  # drop the connection at the next N recipients, before any data

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.drop_at_rcpt > 0:
            self.drop_at_rcpt -= 1
            server.transport.close()
            return "421 closing the connection"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        auth = getattr(session, "auth_data", None)
        login = auth.login.decode() if isinstance(getattr(auth, "login", None), bytes) else None
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login)
        self.messages.append(received)
        if self.on_data is not None:
            self.on_data(received)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """A running SMTP server on loopback."""

    host: str
    port: int
    handler: Collector

    @property
    def messages(self) -> list[Received]:
        """The messages it took, in order."""
        return self.handler.messages


@contextmanager
def smtp_on_loopback(handler: Collector | None = None) -> Iterator[SmtpServer]:
    """A plain SMTP server (aiosmtpd; no TLS, no login) on a free loopback port, while it lasts.

    ``handler`` may answer as a real server would in a given case (a 451, a 550).
    """
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        unavailable("aiosmtpd is not installed (pip install -e '.[test]')")
    handler = handler or Collector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server (no TLS, no login) on a free loopback port."""
    with smtp_on_loopback() as server:
        yield server
