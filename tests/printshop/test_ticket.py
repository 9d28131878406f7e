from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pypdf
from hypothesis import given
from hypothesis import strategies as st

from faxbatch.printshop.ticket import SCHEMA_VERSION, job_json, job_text, pretty_json
from tests.builders import build_folder


def test_job_json_matches_the_volume_files(tmp_path: Path) -> None:
    build_folder(tmp_path, body="Short.\n")
    ticket = json.loads((tmp_path / "print/job.json").read_bytes())
    assert ticket["schema_version"] == SCHEMA_VERSION == 1
    assert [v["file"] for v in ticket["volumes"]] == [
        "print/fax-volume-001.pdf",
        "print/post-volume-001.pdf",
    ]
    for volume in ticket["volumes"]:
        data = (tmp_path / volume["file"]).read_bytes()
        assert volume["bytes"] == len(data)
        assert volume["sha256"] == hashlib.sha256(data).hexdigest()
        reader = pypdf.PdfReader(tmp_path / volume["file"])
        assert volume["pages"] == len(reader.pages)
        assert volume["documents"] == len(reader.outline)
        assert volume["page_size"] == "A4"
    fax, post = ticket["volumes"]
    assert (fax["channel"], fax["duplex"], fax["envelope"], fax["fold"]) == (
        "fax",
        False,
        None,
        None,
    )
    assert fax["sheets"] == fax["pages"]
    assert (post["channel"], post["duplex"], post["envelope"], post["din5008"]) == (
        "post",
        True,
        "DL",
        "B",
    )
    assert post["sheets"] == (post["pages"] + 1) // 2
    assert post["pad_pages"] == 2  # three one-page letters: pads after the first two
    assert "105 mm and 210 mm" in post["fold"]
    totals = ticket["totals"]
    for key in ("documents", "pages", "pad_pages", "sheets", "bytes"):
        assert totals[key] == fax[key] + post[key]
        assert totals["by_channel"]["post"][key] == post[key]
    assert totals["volumes"] == 2
    docs = ticket["documents"]
    assert [
        (d["id"], d["channel"], d["volume"].removeprefix("print/"), d["first_page"], d["last_page"])
        for d in docs
    ] == [
        ("court", "fax", "fax-volume-001.pdf", 1, 2),
        ("admin", "fax", "fax-volume-001.pdf", 3, 4),
        ("court", "post", "post-volume-001.pdf", 1, 1),
        ("admin", "post", "post-volume-001.pdf", 3, 3),
        ("ministry", "post", "post-volume-001.pdf", 5, 5),
    ]
    assert ticket["warnings"] == []


def test_ticket_is_deterministic(tmp_path: Path) -> None:
    records, placements = build_folder(tmp_path / "one")
    again, placed_again = build_folder(tmp_path / "two")
    assert job_json(records, placements) == job_json(again, placed_again)
    assert job_text(records, placements) == job_text(again, placed_again)


def test_job_text_tells_the_print_shop_what_to_do(tmp_path: Path) -> None:
    records, _ = build_folder(tmp_path)
    text = (tmp_path / "print/job.txt").read_text(encoding="utf-8")
    post = records[1]
    for expected in (
        "Job ticket: T-1",
        "print/fax-volume-001.pdf",
        "A4, single-sided",
        "print/post-volume-001.pdf",
        "A4, double-sided (duplex, long edge); every document starts on a front side",
        "DL window envelope, DIN 5008 form B",
        "fold twice, at the fold marks (105 mm and 210 mm from the top)",
        "5 pages (2 blank pad pages, not part of any document)",
        f"sha256:    {post.sha256}",
        "pages 3–3  admin: letter",
        "post: 1 volume, 3 documents, 5 pages, 3 sheets",
        "all:  2 volumes, 5 documents",
    ):
        assert expected in text, expected


def test_warnings_and_no_volumes() -> None:
    text = job_text([], [], warnings=["huge (600 pages) is larger than one volume may be"])
    assert b"Nothing to print" in text
    assert b"  - huge (600 pages)" in text
    ticket = json.loads(job_json([], []))
    assert ticket["volumes"] == [] and ticket["totals"]["pages"] == 0


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_JSON, st.sampled_from(["", "  ", "    "]))
def test_pretty_json_is_the_standard_librarys_indented_text(value: object, indent: str) -> None:
    expected = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + indent)
    assert pretty_json(value, indent) == expected


def test_pretty_json_writes_keys_that_are_not_text_as_json_does() -> None:
    value = {1: "a", None: [True, 2.5], "x": {}}
    assert pretty_json(value) == json.dumps(value, indent=2, ensure_ascii=False)
