"""``faxbatch preflight`` on a batch someone changed after the build.

Two kinds of tampering: a manifest or job ticket (or a link) that points preflight at a file outside
the batch folder, which it must refuse to read (exit 7, naming the entry and the path); and pages
that are blank, damaged or swapped where the ticket and the document's own PDF say there is text,
with checksums recomputed so that only the pages themselves give it away. Nothing here hangs: a
FIFO is refused without being opened for reading.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.campaign.loader import load_campaign
from tests.hostile.conftest import Sandbox

VOLUME = "print/fax-volume-001.pdf"
JOB = "print/job.json"


def build(sandbox: Sandbox) -> Path:
    """The good campaign's batch: court (volume pages 1–2) and admin (pages 3–4)."""
    build_batch(load_campaign(sandbox.campaign()), BuildOptions(out=sandbox.out, jobs=1))
    return sandbox.out


def preflight(sandbox: Sandbox) -> str:
    run = sandbox.run("preflight", sandbox.out, timeout=60)
    assert run.returncode == 7, run.stdout + run.stderr
    return run.stderr


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def edit_json(path: Path, change: Callable[[dict[str, object]], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def manifest_entry(out: Path, recipient: str, **values: object) -> None:
    def change(data: dict[str, object]) -> None:
        documents = data["documents"]
        assert isinstance(documents, list)
        entry = next(d for d in documents if d["recipient_id"] == recipient)
        entry.update(values)

    edit_json(out / "manifest.json", change)


def restamp(out: Path) -> None:
    """Checksums that match the tampered files again (a careful tamperer's last step)."""

    def ticket(data: dict[str, object]) -> None:
        volumes = data["volumes"]
        assert isinstance(volumes, list)
        for volume in volumes:
            volume["sha256"] = sha256(out / volume["file"])
            volume["bytes"] = (out / volume["file"]).stat().st_size

    edit_json(out / "print/job.json", ticket)
    for recipient in ("court", "admin"):
        manifest_entry(out, recipient, sha256=sha256(out / f"faxes/{recipient}.pdf"))


def _stream(data: bytes, number: int) -> tuple[int, int]:
    """Where object ``number``'s stream data lie in a PDF: (start, length)."""
    found = re.search(rb"(?m)^%d 0 obj\s*<<(.*?)>>\s*stream\r?\n" % number, data, re.S)
    assert found is not None, f"object {number} is not a stream here"
    length = re.search(rb"/Length (\d+)", found.group(1))
    assert length is not None
    return found.end(), int(length.group(1))


def page_streams(path: Path, page: int) -> list[int]:
    """The object numbers of a page's content streams."""
    data = path.read_bytes()
    pages = re.findall(rb"/Type /Page /Parent.*?/Contents \[([\d R]+)\]", data)
    return [int(n) for n in re.findall(rb"(\d+) 0 R", pages[page - 1])]


def replace_stream(path: Path, number: int, new: bytes) -> None:
    """Put ``new`` (padded, never longer) in place of a stream: every offset stays valid."""
    data = bytearray(path.read_bytes())
    start, length = _stream(bytes(data), number)
    assert len(new) <= length
    data[start : start + length] = new + bytes(length - len(new))
    path.write_bytes(bytes(data))


def flate(text: bytes) -> bytes:
    return zlib.compress(text, 9)


# -- files outside the batch ---------------------------------------------------------------------
@pytest.fixture
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("elsewhere")


def test_a_manifest_entry_with_an_absolute_path_is_not_read(sandbox: Sandbox) -> None:
    out = build(sandbox)
    manifest_entry(out, "court", file=str(sandbox.secret), sha256=sha256(sandbox.secret))
    stderr = preflight(sandbox)
    assert f"{sandbox.secret} (listed in manifest.json for court) is an absolute path" in stderr
    assert sandbox.canary not in stderr


def test_a_manifest_entry_climbing_out_is_not_read(sandbox: Sandbox) -> None:
    out = build(sandbox)
    climbing = os.path.relpath(sandbox.secret, out)
    manifest_entry(out, "court", file=climbing, sha256=sha256(sandbox.secret))
    stderr = preflight(sandbox)
    assert f"{climbing} (listed in manifest.json for court) resolves to {sandbox.secret}" in stderr
    assert "outside the batch folder" in stderr
    assert "it was not read" in stderr


def test_a_ticket_volume_outside_the_batch_is_not_read(sandbox: Sandbox, elsewhere: Path) -> None:
    out = build(sandbox)
    shutil.copy(out / VOLUME, elsewhere / "volume.pdf")

    def point_outside(data: dict[str, object]) -> None:
        volumes = data["volumes"]
        assert isinstance(volumes, list)
        volumes[0]["file"] = str(elsewhere / "volume.pdf")

    edit_json(out / "print/job.json", point_outside)
    assert "is an absolute path" in preflight(sandbox)


@pytest.mark.parametrize("what", ["a fax", "the faxes folder", "the job ticket"])
def test_a_link_out_of_the_batch_is_not_followed(
    sandbox: Sandbox, elsewhere: Path, what: str
) -> None:
    out = build(sandbox)
    name = {"a fax": "faxes/court.pdf", "the faxes folder": "faxes", "the job ticket": JOB}[what]
    # the same bytes, moved out and linked back in: only where they lie is wrong
    shutil.move(out / name, elsewhere / "moved")
    (out / name).symlink_to(elsewhere / "moved", target_is_directory=(elsewhere / "moved").is_dir())
    stderr = preflight(sandbox)
    assert f"outside the batch folder {out}; it was not read" in stderr
    assert str(elsewhere / "moved") in stderr
    assert stderr.count(f"{name} (") <= 1  # each file reported once


def test_a_fifo_in_place_of_a_fax_does_not_hang_preflight(sandbox: Sandbox) -> None:
    out = build(sandbox)
    (out / "faxes/court.pdf").unlink()
    os.mkfifo(out / "faxes/court.pdf")
    stderr = preflight(sandbox)
    assert "faxes/court.pdf (listed in manifest.json for court) is not a regular file" in stderr


# -- pages that do not say what the documents say ------------------------------------------------
def test_a_blanked_volume_page_is_caught(sandbox: Sandbox) -> None:
    out = build(sandbox)
    volume = out / VOLUME
    for number in page_streams(volume, 3):
        replace_stream(volume, number, flate(b""))  # draws nothing at all
    restamp(out)
    stderr = preflight(sandbox)
    assert f"{VOLUME}, page 3: the page draws no text, but {JOB} places page 1 of admin" in stderr
    assert f"{VOLUME}, page 3: does not draw what page 1 of faxes/admin.pdf (admin) draws" in stderr
    assert f"{VOLUME}, page 4" not in stderr  # the untouched pages pass


def test_a_volume_page_swapped_for_another_is_caught(sandbox: Sandbox) -> None:
    out = build(sandbox)
    volume = out / VOLUME
    data = volume.read_bytes()

    def contents(page: int) -> bytes:
        return b" ".join(b"%d 0 R" % n for n in page_streams(volume, page))

    old = contents(3)
    # another page's streams, in a list written no longer (padded: every offset stays valid)
    pages = len(re.findall(rb"/Type /Page /Parent", data))
    new = next(contents(n) for n in range(1, pages + 1) if n != 3 and len(contents(n)) <= len(old))
    old, new = b"/Contents [%s]" % old, b"/Contents [%s]" % new.ljust(len(old))
    assert data.count(old) == 1
    volume.write_bytes(data.replace(old, new))
    restamp(out)
    stderr = preflight(sandbox)
    assert f"{VOLUME}, page 3: does not draw what page 1 of faxes/admin.pdf (admin) draws" in stderr


def test_a_stream_that_does_not_decompress_is_caught(sandbox: Sandbox) -> None:
    out = build(sandbox)
    volume = out / VOLUME
    number = page_streams(volume, 2)[0]
    data = bytearray(volume.read_bytes())
    start, length = _stream(bytes(data), number)
    data[start + length // 3 : start + length] = bytes(length - length // 3)  # zeros
    volume.write_bytes(bytes(data))
    restamp(out)
    assert f"{VOLUME}, page 2: a content stream" in preflight(sandbox)


def _first_page_drawing(sandbox: Sandbox, content: bytes) -> str:
    """preflight's words on a batch whose volume's first page ends by drawing ``content``."""
    out = build(sandbox)
    volume = out / VOLUME
    replace_stream(volume, page_streams(volume, 1)[-1], flate(content))
    restamp(out)
    return preflight(sandbox)


def test_a_stream_holding_no_pdf_operators_is_caught(sandbox: Sandbox) -> None:
    stderr = _first_page_drawing(sandbox, b"BT /FR 10 Tf (Page 1) Tj ET\n%%garbage\nzzyzx 12")
    assert "'zzyzx', which is no PDF operator" in stderr


def test_an_operator_given_a_name_for_a_number_is_a_failure_not_a_crash(sandbox: Sandbox) -> None:
    stderr = _first_page_drawing(sandbox, b"BT /FR /FR Tf (Page 1) Tj ET")
    assert f"{VOLUME}, page 1: a content stream's Tf operator has operands of the wrong kind" in (
        stderr
    )
    assert "internal error" not in stderr and "Traceback" not in stderr


def test_a_type0_font_without_its_descendant_is_not_embedded(sandbox: Sandbox) -> None:
    out = build(sandbox)
    fax = out / "faxes/admin.pdf"
    data = fax.read_bytes()
    found = re.search(rb"/DescendantFonts \[\d+ 0 R\]", data)
    assert found is not None
    fax.write_bytes(data.replace(found.group(), b" " * len(found.group()), 1))
    restamp(out)
    stderr = preflight(sandbox)
    assert "faxes/admin.pdf, page 1: font" in stderr and "is not embedded" in stderr
    assert "internal error" not in stderr and "Traceback" not in stderr


def test_a_blanked_page_of_a_fax_is_caught(sandbox: Sandbox) -> None:
    out = build(sandbox)
    fax = out / "faxes/admin.pdf"
    for number in page_streams(fax, 2):
        replace_stream(fax, number, flate(b""))
    restamp(out)
    stderr = preflight(sandbox)
    assert "faxes/admin.pdf, page 2: the page draws no text" in stderr
    assert f"{VOLUME}, page 4: does not draw what page 2 of faxes/admin.pdf" in stderr


def test_the_untouched_batch_passes(sandbox: Sandbox) -> None:
    build(sandbox)
    restamp(sandbox.out)  # recomputing checksums of untouched files changes nothing
    run = sandbox.run("preflight", sandbox.out)
    assert run.returncode == 0, run.stderr
