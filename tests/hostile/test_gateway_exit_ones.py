"""Inputs that used to end in exit 1 (an internal error) on the gateway and sheet side.

- ``gateway:`` holding YAML tags, alias bombs ("billion laughs"), ``timeout: .nan`` and friends:
  exit 3, with a short message that never prints an expanded value;
- ``status`` on a batch folder it cannot write (read-only, or ``report.csv`` a folder): exit 5;
- U+FFFE, U+FFFF and C0 controls in a name: the workbook and the page stay readable.
"""

from __future__ import annotations

import html.parser
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest

from faxbatch.campaign.gateway_settings import load_gateway_file
from faxbatch.errors import CampaignError
from tests.conftest import BASIC
from tests.hostile.conftest import DOCUMENTED, ROOT, Sandbox, snapshot
from tests.sending.conftest import SmtpServer, open_windows, smtp_on_loopback

LAUGHS = "\n".join(
    [
        "      - &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
        *(
            f"      - &{letter} [{', '.join([f'*{previous}'] * 9)}]"
            for previous, letter in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)
BAD_GATEWAYS = {
    "nan timeout": "  email: {domain: fax.example.net, timeout: .nan}",
    "inf timeout": "  email: {domain: fax.example.net, timeout: .inf}",
    "negative timeout": "  email: {domain: fax.example.net, timeout: -.inf}",
    "huge timeout": "  email: {domain: fax.example.net, timeout: 1e400}",
    "huge port": "  hylafax: {port: " + "9" * 5000 + "}",
    "python tag": '  hylafax: {host: !!python/object/apply:os.system ["touch pwned"]}',
    "python object": "  hylafax: !!python/object:builtins.dict {host: x}",
    "custom tag": "  email: {domain: !evil fax.example.net}",
    "binary": "  email: {domain: !!binary ZmF4LmV4YW1wbGUubmV0}",
    "tagged section": "  email: !!omap [{domain: fax.example.net}]",
    "laughs in a value": "  email:\n    domain:\n" + LAUGHS,
    "laughs under an unknown key": "  email:\n    lols:\n" + LAUGHS,
    "merge key": "  email: {<<: {domain: fax.example.net}}",
}
# laughs defined outside the gateway section, expanded inside it: what `send --campaign` reads
OUTSIDE_LAUGHS = (
    "x-anchors:\n  lols:\n"
    + LAUGHS.replace("      ", "    ")
    + ("\ngateway:\n  email: {domain: *i}\n")
)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_on_loopback() as server:
        yield server


def _assert_short(stderr: str) -> None:
    assert len(stderr) < 1500, stderr[:300]
    assert stderr.count("lol") <= 2  # an expanded value never reaches the message


@pytest.mark.parametrize("case", list(BAD_GATEWAYS))
def test_a_bad_gateway_section_is_an_invalid_campaign(sandbox: Sandbox, case: str) -> None:
    path = sandbox.campaign(BASIC + "gateway:\n" + BAD_GATEWAYS[case] + "\n")
    run = sandbox.run("build", path, "--out", sandbox.out, timeout=60)
    assert run.returncode == 3, run.stderr
    assert "gateway" in run.stderr
    _assert_short(run.stderr)
    assert not sandbox.out.exists()
    assert not list(sandbox.root.rglob("pwned"))


@pytest.mark.parametrize("case", [*BAD_GATEWAYS, "laughs outside the section"])
def test_a_bad_settings_file_is_an_invalid_campaign(tmp_path: Path, case: str) -> None:
    text = BAD_GATEWAYS.get(case)
    path = tmp_path / "gateway.yaml"
    path.write_text(f"gateway:\n{text}\n" if text else OUTSIDE_LAUGHS, "utf-8")
    with pytest.raises(CampaignError) as info:
        load_gateway_file(path)
    _assert_short(str(info.value))


def test_send_with_a_bad_settings_file_is_an_invalid_campaign(sandbox: Sandbox) -> None:
    before = sandbox.build_good()
    for text in (f"gateway:\n{BAD_GATEWAYS['python tag']}\n", OUTSIDE_LAUGHS):
        path = sandbox.write("gateway.yaml", text)
        run = sandbox.run("send", sandbox.out, "--gateway", "email", "--campaign", path)
        assert run.returncode == 3, (text[:80], run.stderr)
        _assert_short(run.stderr)
    fifo = sandbox.campaign_dir / "fifo.yaml"
    os.mkfifo(fifo)  # not a file: refused without waiting for a writer
    run = sandbox.run("send", sandbox.out, "--gateway", "email", "--campaign", fifo, timeout=30)
    assert run.returncode == 4, run.stderr
    assert snapshot(sandbox.out) == before
    assert not list(sandbox.root.rglob("pwned"))


# -- status on a batch it cannot write -----------------------------------------------------
def test_status_with_a_folder_where_the_report_goes_is_exit_5(sandbox: Sandbox) -> None:
    sandbox.build_good()
    (sandbox.out / "report.csv").mkdir()
    run = sandbox.run("status", sandbox.out)
    assert run.returncode == 5 and "report.csv is not a regular file" in run.stderr, run.stderr


def _read_only_command(folder: Path, *args: str | Path) -> list[str]:
    """The command run with ``folder`` read-only (a read-only bind mount when we are root)."""
    command = [sys.executable, "-m", "faxbatch", *(str(arg) for arg in args)]
    if os.geteuid() != 0:
        return command
    if shutil.which("unshare") is None:
        pytest.skip("as root, a read-only folder needs unshare (util-linux) for a bind mount")
    probe = subprocess.run(
        ["unshare", "-m", "true"], capture_output=True, check=False, stdin=subprocess.DEVNULL
    )
    if probe.returncode != 0:
        pytest.skip(f"as root, a read-only folder needs a mount namespace: {probe.stderr!r}")
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh", str(folder), *command]


def _make_read_only(folder: Path, writable: bool = False) -> None:
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            mode = path.stat().st_mode
            path.chmod(mode | stat.S_IWUSR if writable else mode & ~0o222)


@pytest.mark.parametrize("sent", [False, True], ids=["never sent", "with a journal"])
@pytest.mark.parametrize("where", ["batch", "its parent too"])
def test_status_on_a_read_only_batch_is_exit_5(
    sandbox: Sandbox, smtp: SmtpServer, sent: bool, where: str
) -> None:
    sandbox.build_good()
    if sent:
        open_windows(sandbox.out)
        run = sandbox.run(
            "send", sandbox.out, "--gateway", "email", "--host", smtp.host,
            "--port", str(smtp.port), "--no-starttls", "--email-domain", "fax.example.net",
            "--from", "ann@example.org", "--yes",
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
    folder = sandbox.out if where == "batch" else sandbox.campaign_dir
    before = snapshot(sandbox.out)
    _make_read_only(folder)
    try:
        done = subprocess.run(
            _read_only_command(folder, "status", sandbox.out),
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    finally:
        _make_read_only(folder, writable=True)
    assert done.returncode in DOCUMENTED and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 5, done.stderr
    said = ("cannot write", "cannot open the journal", "cannot create the lock file")
    assert any(words in done.stderr for words in said), done.stderr  # the campaign's journal's lock
    assert snapshot(sandbox.out) == before


# -- characters XML cannot hold -------------------------------------------------------------
ILLEGAL = "\ufffe\uffff\x01\x08\x0b\x1f"
NAMED = BASIC.replace(
    "name: The Presiding Judge", 'name: "The \\uFFFEPresiding\\uFFFF \\x01Judge\\x1f\\x0b"'
).replace("organization: Almaty City Court", 'organization: "Almaty\\x08 City Court\\uFFFF"')


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("command", ["check", "build"])
def test_illegal_characters_leave_the_sheet_readable(sandbox: Sandbox, command: str) -> None:
    run = sandbox.run(command, sandbox.campaign(NAMED), "--out", sandbox.out)
    assert run.returncode == 6, run.stderr  # the name cannot be printed; "ministry" has no fax
    workbook_path = sandbox.out / "numbers.xlsx"
    with zipfile.ZipFile(workbook_path) as archive:
        assert archive.testzip() is None
        for name in archive.namelist():
            if name.endswith((".xml", ".rels")):
                ElementTree.fromstring(archive.read(name))  # well-formed XML, every part
    if shutil.which("unzip"):
        tested = subprocess.run(["unzip", "-tq", str(workbook_path)], capture_output=True)
        assert tested.returncode == 0, tested.stdout
    sheet = openpyxl.load_workbook(workbook_path).active
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "The Presiding Judge" in names
    organizations = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "Almaty City Court" in organizations

    page = _Page()
    page.feed((sandbox.out / "numbers.html").read_text("utf-8"))
    page.close()
    text = "".join(page.text)
    assert "The Presiding Judge" in text and "Almaty City Court" in text
    assert not any(ch in text for ch in ILLEGAL)
