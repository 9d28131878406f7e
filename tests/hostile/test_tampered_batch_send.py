"""A tampered batch: ``file`` entries of manifest.json that lead outside the batch folder.

Each points at the canary beside the campaign folder, with its true SHA-256, so that the check of
the file's hash alone would pass. ``send`` (email and HylaFAX) refuses with exit 4 naming the
document and the path, before any server is asked: nothing is mailed, nothing is queued, the
journal records nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator

import pytest

from tests.hostile.conftest import Sandbox
from tests.sending.conftest import (
    HYLAFAX_SERVER,
    SmtpServer,
    journal_file,
    open_windows,
    smtp_on_loopback,
)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_on_loopback() as server:
        yield server


def _absolute(sandbox: Sandbox) -> str:
    return str(sandbox.secret)


def _dotdot(sandbox: Sandbox) -> str:
    return os.path.relpath(sandbox.secret, sandbox.out)  # ../../outside/secret.txt


def _file_link(sandbox: Sandbox) -> str:
    link = sandbox.out / "faxes/court.pdf"
    link.unlink()
    link.symlink_to(sandbox.secret)
    return "faxes/court.pdf"


def _folder_link(sandbox: Sandbox) -> str:
    shutil.rmtree(sandbox.out / "faxes")
    (sandbox.out / "faxes").symlink_to(sandbox.outside, target_is_directory=True)
    return "faxes/secret.txt"


TAMPERINGS: dict[str, Callable[[Sandbox], str]] = {
    "absolute path": _absolute,
    "dot-dot": _dotdot,
    "symlinked file": _file_link,
    "symlinked folder": _folder_link,
}


def _tamper(sandbox: Sandbox, how: Callable[[Sandbox], str]) -> str:
    sandbox.build_good()
    open_windows(sandbox.out)
    path = sandbox.out / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    court = next(doc for doc in manifest["documents"] if doc["recipient_id"] == "court")
    court["file"] = how(sandbox)
    court["sha256"] = hashlib.sha256(sandbox.secret.read_bytes()).hexdigest()  # it matches
    path.write_text(json.dumps(manifest), "utf-8")
    return str(court["file"])


@pytest.mark.parametrize("how", list(TAMPERINGS))
def test_send_refuses_a_file_outside_the_batch(
    sandbox: Sandbox, smtp: SmtpServer, how: str
) -> None:
    file = _tamper(sandbox, TAMPERINGS[how])
    email = (
        "--gateway", "email", "--host", smtp.host, "--port", str(smtp.port), "--no-starttls",
        "--email-domain", "fax.example.net", "--from", "ann@example.org",
    )  # fmt: skip
    hylafax = ("--gateway", "hylafax", "--host", HYLAFAX_SERVER)
    commands = [("send", *email, "--yes"), ("send", *hylafax, "--yes"), ("send", *email)]
    if how in ("absolute path", "dot-dot"):  # status reads no fax, but refuses such a manifest
        commands.append(("status",))
    for command, *args in commands:
        run = sandbox.run(command, sandbox.out, *args)
        assert run.returncode == 4, run.stderr
        assert "court" in run.stderr and file in run.stderr, run.stderr
    assert smtp.messages == []
    assert not journal_file(sandbox.out).exists()  # no intent, nothing handed over
    sandbox.assert_canary_kept()
