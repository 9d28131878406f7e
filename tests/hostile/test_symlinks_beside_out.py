"""Links, FIFOs and other people's folders planted beside (or in place of) the output folder.

faxbatch uses three names beside ``DIR``: ``.DIR.lock``, ``.DIR.staging`` and ``.DIR.old``. None of
them may be followed, and a folder faxbatch did not make (no ``.faxbatch`` marker) is never
deleted or renamed: the run stops with exit 5, naming what is in the way. The links here point
outside the test's folder, into ``elsewhere``, whose tree must come out of every run unchanged
(the harness checks the test's own folder).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.conftest import Sandbox, snapshot, tree


class Elsewhere:
    """A folder outside the test's folder, for links to point into; checked at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.before: dict[str, tuple[int, int]] | None = None

    def freeze(self) -> Path:
        """Take the folder's tree as it must stay; returns the folder."""
        self.before = tree(self.root)
        return self.root


@pytest.fixture
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Elsewhere]:
    found = Elsewhere(tmp_path_factory.mktemp("elsewhere"))
    yield found
    if found.before is not None:
        assert tree(found.root) == found.before, "a link beside the output folder was followed"


def _beside(sandbox: Sandbox, suffix: str) -> Path:
    return sandbox.campaign_dir / f".out.{suffix}"


def _assert_refused(sandbox: Sandbox, *args: str, name: str) -> str:
    run = sandbox.run(*args, timeout=60)
    assert run.returncode == 5, run.stderr
    assert name in run.stderr, run.stderr
    return run.stderr


def _user_folder(path: Path) -> dict[str, tuple[int, int]]:
    """A folder of the user's own, with a file and a subfolder; returns its tree."""
    (path / "notes").mkdir(parents=True)
    (path / "letter-draft.txt").write_text("my own draft\n", encoding="utf-8")
    (path / "notes" / "todo.txt").write_text("call the court\n", encoding="utf-8")
    return tree(path)


@pytest.mark.parametrize("existing_target", [False, True])
def test_a_lock_that_is_a_link_is_not_followed(
    sandbox: Sandbox, elsewhere: Elsewhere, existing_target: bool
) -> None:
    before = sandbox.build_good()
    target = elsewhere.root / "planted.lock"
    if existing_target:
        target.write_text("not a lock\n", encoding="utf-8")
    elsewhere.freeze()
    lock = _beside(sandbox, "lock")
    lock.unlink()
    lock.symlink_to(target)
    stderr = _assert_refused(sandbox, "build", "good.yaml", "--out", "out", name=".out.lock")
    assert "symbolic link" in stderr
    assert os.path.lexists(target) == existing_target  # nothing created through the link
    assert snapshot(sandbox.out) == before
    assert lock.is_symlink()


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_lock_that_is_not_a_regular_file_is_refused(sandbox: Sandbox, kind: str) -> None:
    sandbox.campaign()
    lock = _beside(sandbox, "lock")
    if kind == "fifo":
        os.mkfifo(lock)
    else:
        lock.mkdir()
    stderr = _assert_refused(sandbox, "build", "campaign.yaml", "--out", "out", name=".out.lock")
    assert "not a lock file" in stderr
    assert not sandbox.out.exists()


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_status_takes_the_lock_the_way_build_does(sandbox: Sandbox, kind: str) -> None:
    # send and status lock the batch folder with the build's own lock, opened the same way: a
    # FIFO there neither hangs them nor is locked in its place
    before = sandbox.build_good()
    lock = _beside(sandbox, "lock")
    lock.unlink()
    if kind == "fifo":
        os.mkfifo(lock)
    else:
        lock.mkdir()
    stderr = _assert_refused(sandbox, "status", "out", name=".out.lock")
    assert "not a lock file" in stderr
    assert snapshot(sandbox.out) == before


def test_a_staging_link_to_a_folder_outside_is_left_alone(
    sandbox: Sandbox, elsewhere: Elsewhere
) -> None:
    before = sandbox.build_good()
    _user_folder(elsewhere.root / "important")
    staging = _beside(sandbox, "staging")
    staging.symlink_to(elsewhere.freeze() / "important", target_is_directory=True)
    _assert_refused(sandbox, "build", "good.yaml", "--out", "out", name=".out.staging")
    assert staging.is_symlink()
    assert snapshot(sandbox.out) == before


def test_a_dangling_staging_link_creates_nothing(sandbox: Sandbox, elsewhere: Elsewhere) -> None:
    sandbox.campaign()
    staging = _beside(sandbox, "staging")
    staging.symlink_to(elsewhere.freeze() / "would-be-created", target_is_directory=True)
    _assert_refused(sandbox, "build", "campaign.yaml", "--out", "out", name=".out.staging")
    assert not (elsewhere.root / "would-be-created").exists()


def test_a_users_staging_folder_is_not_deleted(sandbox: Sandbox) -> None:
    before = sandbox.build_good()
    staging = _beside(sandbox, "staging")
    mine = _user_folder(staging)
    stderr = _assert_refused(sandbox, "build", "good.yaml", "--out", "out", name=".out.staging")
    assert "did not make" in stderr
    assert tree(staging) == mine
    assert snapshot(sandbox.out) == before


@pytest.mark.parametrize("with_batch", [False, True])
def test_a_users_old_folder_is_neither_deleted_nor_renamed(
    sandbox: Sandbox, with_batch: bool
) -> None:
    sandbox.campaign()
    before = sandbox.build_good() if with_batch else {}
    old = _beside(sandbox, "old")
    mine = _user_folder(old)
    _assert_refused(sandbox, "build", "campaign.yaml", "--out", "out", name=".out.old")
    assert tree(old) == mine
    assert snapshot(sandbox.out) == before  # not created from the user's folder either
    assert sandbox.out.exists() == with_batch


def test_an_old_link_to_a_folder_outside_is_not_taken_as_the_batch(
    sandbox: Sandbox, elsewhere: Elsewhere
) -> None:
    sandbox.campaign()
    theirs = elsewhere.root / "someone-elses"
    _user_folder(theirs)
    (theirs / ".faxbatch").write_text('{"tool": "faxbatch"}\n', encoding="utf-8")
    elsewhere.freeze()
    old = _beside(sandbox, "old")
    old.symlink_to(theirs, target_is_directory=True)
    _assert_refused(sandbox, "build", "campaign.yaml", "--out", "out", name=".out.old")
    assert old.is_symlink()
    assert not sandbox.out.exists()


def test_a_marker_that_is_a_link_does_not_make_a_folder_faxbatchs(
    sandbox: Sandbox, elsewhere: Elsewhere
) -> None:
    sandbox.campaign()
    real_marker = elsewhere.root / "marker"
    real_marker.write_text('{"schema_version": 1, "tool": "faxbatch"}\n', encoding="utf-8")
    elsewhere.freeze()
    old = _beside(sandbox, "old")
    _user_folder(old)
    (old / ".faxbatch").symlink_to(real_marker)
    mine = tree(old)
    _assert_refused(sandbox, "build", "campaign.yaml", "--out", "out", name=".out.old")
    assert tree(old) == mine


def test_faxbatchs_own_leftovers_are_still_cleaned_up(sandbox: Sandbox) -> None:
    """What an interrupted run leaves (marked folders, an empty one) does not block the next."""
    before = sandbox.build_good()
    staging = _beside(sandbox, "staging")
    (staging / "faxes").mkdir(parents=True)
    (staging / "faxes" / "half.pdf").write_bytes(b"%PDF-1.7 half")
    (staging / ".faxbatch").write_text('{"schema_version": 1, "tool": "faxbatch"}\n', "utf-8")
    _beside(sandbox, "old").mkdir()  # emptied, its marker removed last: then killed
    run = sandbox.run("build", sandbox.campaign_dir / "good.yaml", "--out", sandbox.out)
    assert run.returncode == 6, run.stderr  # the good campaign has one recipient without a fax
    assert snapshot(sandbox.out) == before
    assert not staging.exists() and not _beside(sandbox, "old").exists()


def test_an_output_folder_that_is_a_link_is_refused(sandbox: Sandbox, elsewhere: Elsewhere) -> None:
    sandbox.campaign()
    sandbox.out.symlink_to(elsewhere.freeze(), target_is_directory=True)
    for command in ("build", "check"):
        stderr = _assert_refused(sandbox, command, "campaign.yaml", "--out", "out", name="out")
        assert "symbolic link" in stderr
    assert sandbox.out.is_symlink()
    assert list(elsewhere.root.iterdir()) == []


def test_check_does_not_follow_a_planted_lock(sandbox: Sandbox, elsewhere: Elsewhere) -> None:
    sandbox.campaign()
    target = elsewhere.freeze() / "check.lock"
    _beside(sandbox, "lock").symlink_to(target)
    _assert_refused(sandbox, "check", "campaign.yaml", "--out", "out", name=".out.lock")
    assert not os.path.lexists(target)
    assert not sandbox.out.exists()


@pytest.mark.parametrize("name", ["journal.sqlite", "report.csv"])
def test_a_send_record_that_is_a_link_is_not_carried_into_a_new_batch(
    sandbox: Sandbox, elsewhere: Elsewhere, name: str
) -> None:
    before = sandbox.build_good()
    target = elsewhere.root / name
    target.write_bytes(b"someone else's file")
    elsewhere.freeze()
    (sandbox.out / name).symlink_to(target)
    stderr = _assert_refused(sandbox, "build", "good.yaml", "--out", "out", name=name)
    assert "symbolic link" in stderr
    assert snapshot(sandbox.out) == before
    assert (sandbox.out / name).is_symlink()
