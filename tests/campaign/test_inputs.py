from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from faxbatch.campaign import inputs
from faxbatch.campaign.inputs import (
    InputKind,
    Origin,
    allowed_folders,
    locate,
    open_input,
    read_input,
)
from faxbatch.errors import CampaignError, InputUnreadableError

ORIGIN = Origin("campaign.yaml", 7, "letter.body_file")
SMALL = InputKind("test file", 10)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    inside = tmp_path / "campaign"
    inside.mkdir()
    (inside / "letter.md").write_text("hello\n")
    (tmp_path / "secret.txt").write_text("secret\n")
    return inside


def test_names_are_resolved_inside_the_allowed_folders(folder: Path) -> None:
    folders = allowed_folders(folder / "campaign.yaml")
    assert folders == (folder.resolve(),)
    assert locate("letter.md", base=folder, folders=folders, origin=ORIGIN) == (
        folder.resolve() / "letter.md"
    )
    (folder / "link.md").symlink_to(folder.parent / "secret.txt")
    for name in ("../secret.txt", str(folder.parent / "secret.txt"), "link.md"):
        with pytest.raises(CampaignError) as info:
            locate(name, base=folder, folders=folders, origin=ORIGIN)
        message = str(info.value)
        assert message.startswith("campaign.yaml:7: letter.body_file: ")
        assert "outside the campaign's folder" in message and "--allow-path" in message
    more = allowed_folders(folder / "campaign.yaml", [folder.parent])
    assert locate("../secret.txt", base=folder, folders=more, origin=ORIGIN).name == "secret.txt"


def test_only_regular_files_are_opened(folder: Path) -> None:
    folders = allowed_folders(folder / "campaign.yaml")
    os.mkfifo(folder / "pipe")
    started = time.monotonic()
    with pytest.raises(InputUnreadableError, match="a FIFO"):
        read_input("pipe", SMALL, ORIGIN, base=folder, folders=folders)
    assert time.monotonic() - started < 5  # refused, not waited on
    with pytest.raises(InputUnreadableError, match="a folder"):
        read_input(".", SMALL, ORIGIN, base=folder, folders=folders)
    with pytest.raises(InputUnreadableError, match="a character device"):
        read_input("/dev/null", SMALL, ORIGIN, folders=None)
    (folder / "loop").symlink_to("loop")
    with pytest.raises(InputUnreadableError, match="loop"):
        read_input("loop", SMALL, ORIGIN, base=folder, folders=folders)
    with pytest.raises(InputUnreadableError, match="no such file"):
        read_input("nothing.md", SMALL, ORIGIN, base=folder, folders=folders)
    assert read_input("letter.md", SMALL, ORIGIN, base=folder, folders=folders) == b"hello\n"


def test_sizes_are_limited_also_while_reading(folder: Path) -> None:
    folders = allowed_folders(folder / "campaign.yaml")
    (folder / "big.md").write_bytes(b"x" * 11)
    with pytest.raises(InputUnreadableError, match=r"11 bytes, more than the 10 bytes"):
        read_input("big.md", SMALL, ORIGIN, base=folder, folders=folders)
    with (
        open_input("letter.md", SMALL, ORIGIN, base=folder, folders=folders) as stream,
        (folder / "letter.md").open("ab") as grow,
    ):
        grow.write(b"more than ten bytes\n")
        grow.flush()
        with pytest.raises(InputUnreadableError, match="grew while being read"):
            stream.read()


def test_a_symlink_planted_after_the_look_is_not_followed(folder: Path) -> None:
    folders = allowed_folders(folder / "campaign.yaml")
    (folder / "sub").mkdir()
    (folder / "sub/letter.md").write_text("mine\n")
    real = locate("sub/letter.md", base=folder, folders=folders, origin=ORIGIN)
    # between the look and the open, the folder becomes a link to somewhere else
    (folder / "sub/letter.md").unlink()
    (folder / "sub").rmdir()
    (folder.parent / "elsewhere").mkdir()
    (folder.parent / "elsewhere/letter.md").write_text("secret\n")
    (folder / "sub").symlink_to(folder.parent / "elsewhere", target_is_directory=True)
    with pytest.raises(OSError):
        inputs._open_beneath(real, folders)
    # and so is a file that became a link
    (folder / "sub").unlink()
    (folder / "sub").mkdir()
    (folder / "sub/letter.md").symlink_to(folder.parent / "secret.txt")
    with pytest.raises(OSError):
        inputs._open_beneath(real, folders)


def test_a_nul_in_a_name_is_an_invalid_campaign(folder: Path) -> None:
    folders = allowed_folders(folder / "campaign.yaml")
    with pytest.raises(CampaignError, match="NUL"):
        read_input("a\0b", SMALL, ORIGIN, base=folder, folders=folders)
