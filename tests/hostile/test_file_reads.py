"""Files a campaign makes faxbatch read (issue 9, item 3; item 14's symlink loop).

A campaign reads ``body_file``, ``recipients_file`` and ``verification.csv`` only from inside its
own folder (symlinks resolved) unless ``--allow-path`` allows more: anything else is exit 3, and
the canary beside the campaign folder reaches no output, not even a message. Folders, FIFOs,
devices and sockets are refused without being opened (exit 4, nothing hangs), and every input has
a size limit. A previous batch survives every refusal byte for byte. (Symlink loops are in
test_input_exit_ones.py.)
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from tests.conftest import BASIC
from tests.hostile.conftest import Run, Sandbox, snapshot

BODY = "  body: |\n    We protest against the trial.\n\n    - release him\n    - drop the charges\n"
HEAD = BASIC.split("recipients:")[0]
assert BODY in BASIC


def with_body_file(name: str) -> str:
    return BASIC.replace(BODY, f"  body_file: '{name}'\n")


def with_recipients_file(name: str) -> str:
    return HEAD + f"recipients_file: '{name}'\n"


def refused(sandbox: Sandbox, run: Run, code: int, *words: str, canary: bool = True) -> None:
    """The run was refused with ``code``, its message holds ``words``, the canary stayed put."""
    assert run.returncode == code, run.stderr
    for word in words:
        assert word in run.stderr, run.stderr
    assert sandbox.canary not in run.stdout + run.stderr
    if canary:
        sandbox.assert_canary_kept()


@pytest.fixture
def built(sandbox: Sandbox) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    """A sandbox with a good batch in ``out``; at the end, the batch is as it was."""
    before = sandbox.build_good()
    yield sandbox, before
    assert snapshot(sandbox.out) == before


def test_a_body_file_outside_the_folder_is_refused(built: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, _ = built
    (sandbox.campaign_dir / "inside-link.md").symlink_to(sandbox.secret)
    (sandbox.campaign_dir / "letters").symlink_to(sandbox.outside, target_is_directory=True)
    for number, name in enumerate(
        [
            str(sandbox.secret),  # absolute
            "../outside/secret.txt",  # up and out
            "inside-link.md",  # a symlink out
            "letters/secret.txt",  # through a symlinked folder
            "letters/../outside/secret.txt",  # '..' after a link climbs from the link's target
        ]
    ):
        path = sandbox.campaign(with_body_file(name), name=f"bad-{number}.yaml")
        run = sandbox.run("build", path, "--out", sandbox.out)
        refused(
            sandbox, run, 3, f"bad-{number}.yaml:14: letter.body_file", "outside", "--allow-path"
        )
        assert f"'{name}'" in run.stderr  # the name as written, and where it leads
        assert str(sandbox.secret) in run.stderr


def test_a_recipients_file_outside_the_folder_is_refused(
    built: tuple[Sandbox, dict[str, str]],
) -> None:
    sandbox, _ = built
    (sandbox.campaign_dir / "offices.csv").symlink_to(sandbox.secret)
    for number, name in enumerate([str(sandbox.secret), "../outside/secret.txt", "offices.csv"]):
        path = sandbox.campaign(with_recipients_file(name), name=f"bad-{number}.yaml")
        for command in (["build", path, "--out", sandbox.out], ["check", path, "--out", "sheet"]):
            run = sandbox.run(*command)
            refused(sandbox, run, 3, "recipients_file", "outside", "--allow-path")
    assert not (sandbox.campaign_dir / "sheet").exists()


def test_a_verification_sheet_linked_out_is_refused(built: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, _ = built
    (sandbox.campaign_dir / "verification.csv").symlink_to(sandbox.secret)
    path = sandbox.campaign(name="linked.yaml")
    for command in (["build", path, "--out", sandbox.out], ["check", path, "--out", sandbox.out]):
        run = sandbox.run(*command)
        refused(sandbox, run, 3, "verification.csv", "outside", "--allow-path")


def test_allow_path_lets_a_campaign_read_a_trusted_folder(
    sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shared = tmp_path_factory.mktemp("shared")
    (shared / "letter.md").write_text("A letter kept in a shared folder.\n", encoding="utf-8")
    (shared / "offices.csv").write_text("id,name,fax\nhq,Head Office,+7 7172 74 55 24\n")
    body = sandbox.campaign(with_body_file(str(shared / "letter.md")), name="body.yaml")
    rows = sandbox.campaign(with_recipients_file(str(shared / "offices.csv")), name="rows.yaml")
    assert sandbox.run("build", body, "--out", "a").returncode == 3
    run = sandbox.run("build", body, "--out", "a", "--allow-path", shared)
    assert run.returncode == 6, run.stderr
    run = sandbox.run("check", rows, "--out", "b", "--allow-path", shared / "nonexistent")
    assert run.returncode == 2, run.stderr  # a usage error: not a folder
    run = sandbox.run("check", rows, "--out", "b", "--allow-path", sandbox.outside)
    assert run.returncode == 3  # a folder that does not hold the file allows nothing
    run = sandbox.run(
        "check", rows, "--out", "b", "--allow-path", sandbox.outside, "--allow-path", shared
    )
    assert run.returncode == 0, run.stderr
    assert "hq" in run.stdout
    sandbox.assert_canary_kept()


def test_fifos_devices_folders_and_sockets_are_refused_without_opening(
    built: tuple[Sandbox, dict[str, str]],
) -> None:
    sandbox, _ = built
    folder = sandbox.campaign_dir
    os.mkfifo(folder / "fifo.md")
    os.mkfifo(folder / "fifo.csv")
    (folder / "folder.md").mkdir()
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind(str(folder / "sock.md"))
        cases = [
            (with_body_file("fifo.md"), "a FIFO"),
            (with_recipients_file("fifo.csv"), "a FIFO"),
            (with_body_file("folder.md"), "a folder"),
            (with_body_file("sock.md"), "a socket"),
        ]
        for number, (text, what) in enumerate(cases):
            path = sandbox.campaign(text, name=f"bad-{number}.yaml")
            run = sandbox.run("build", path, "--out", sandbox.out, timeout=30)
            refused(sandbox, run, 4, f"bad-{number}.yaml:", what, "not a regular file")
        # a device needs --allow-path /dev; then it is refused as a device, never read
        path = sandbox.campaign(with_body_file("/dev/zero"), name="zero.yaml")
        refused(sandbox, sandbox.run("build", path, "--out", sandbox.out), 3, "outside")
        run = sandbox.run("build", path, "--out", sandbox.out, "--allow-path", "/dev", timeout=30)
        refused(sandbox, run, 4, "a character device")
        # verification.csv as a FIFO: refused, not waited on
        os.mkfifo(folder / "verification.csv")
        run = sandbox.run("check", sandbox.campaign(name="sheet.yaml"), "--out", "s", timeout=30)
        refused(sandbox, run, 4, "verification.csv", "a FIFO")
    finally:
        listener.close()


def test_the_campaign_file_itself_may_not_be_a_fifo_or_a_device(
    built: tuple[Sandbox, dict[str, str]],
) -> None:
    sandbox, _ = built
    os.mkfifo(sandbox.campaign_dir / "campaign.yaml")
    for name in ("campaign.yaml", "/dev/zero", "/dev/null", "."):
        run = sandbox.run("build", name, "--out", sandbox.out, timeout=30)
        refused(sandbox, run, 4, "cannot read the campaign file", "not a regular file")


def test_every_input_has_a_size_limit(built: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, _ = built
    # sparse files: the size is refused before a byte is read
    for name, size in (("big.md", 1_000_001), ("big.csv", 200_000_001), ("big.yaml", 10**7 + 1)):
        with (sandbox.campaign_dir / name).open("wb") as handle:
            handle.truncate(size)
    cases = [
        (sandbox.campaign(with_body_file("big.md"), name="body.yaml"), "1.0 MB"),
        (sandbox.campaign(with_recipients_file("big.csv"), name="rows.yaml"), "200.0 MB"),
        (sandbox.campaign_dir / "big.yaml", "10.0 MB"),
    ]
    for path, limit in cases:
        run = sandbox.run("build", path, "--out", sandbox.out)
        refused(sandbox, run, 4, f"more than the {limit}", canary=False)
    (sandbox.campaign_dir / "verification.csv").symlink_to("big.csv")
    run = sandbox.run("check", sandbox.campaign(name="sheet.yaml"), "--out", "s")
    refused(sandbox, run, 4, "verification.csv", "more than the 200.0 MB", canary=False)
    for name in ("big.md", "big.csv", "big.yaml"):
        (sandbox.campaign_dir / name).unlink()
    sandbox.assert_canary_kept()


def test_missing_files_and_strange_names_are_clear_errors(
    built: tuple[Sandbox, dict[str, str]],
) -> None:
    sandbox, _ = built
    (sandbox.campaign_dir / "dangling.md").symlink_to("nowhere.md")
    for number, (name, code, words) in enumerate(
        [
            ("dangling.md", 4, ("no such file",)),
            ("missing.md", 4, ("no such file",)),
            ("x" * 5000, 4, ("letter.body_file",)),
        ]
    ):
        path = sandbox.campaign(with_body_file(name), name=f"bad-{number}.yaml")
        refused(sandbox, sandbox.run("build", path, "--out", sandbox.out), code, *words)
    text = BASIC.replace(BODY, '  body_file: "letter\\0.md"\n')
    run = sandbox.run("build", sandbox.campaign(text, name="nul.yaml"), "--out", sandbox.out)
    refused(sandbox, run, 3, "NUL")
