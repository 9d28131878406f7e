from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pypdf
import pytest

from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.campaign.loader import load_campaign
from faxbatch.errors import CampaignError, ExitCode
from tests.conftest import BASIC
from tests.pdfcheck import font_report, page_texts, poppler_text, qpdf_check

MM = 72 / 25.4


def build(path: Path, out: Path):  # type: ignore[no-untyped-def]
    return build_batch(load_campaign(path), BuildOptions(out=out))


def test_ready_and_rejected_recipients(basic_campaign: Path, tmp_path: Path) -> None:
    result = build(basic_campaign, tmp_path / "out")
    assert result.exit_code == ExitCode.REJECTED_RECIPIENTS
    by_id = {doc["recipient_id"]: doc for doc in result.documents}
    assert by_id["court"]["status"] == "ready"
    assert by_id["court"]["fax_e164"] == "+77272715802"
    assert by_id["admin"]["fax_e164"] == "+77172745524"
    assert by_id["ministry"]["status"] == "rejected"
    assert "No fax number" in by_id["ministry"]["problems"][0]
    assert (tmp_path / "out/faxes/court.pdf").is_file()
    assert not (tmp_path / "out/faxes/ministry.pdf").exists()


def test_cover_then_letter_with_page_footers(basic_campaign: Path, tmp_path: Path) -> None:
    build(basic_campaign, tmp_path / "out")
    texts = page_texts(tmp_path / "out/faxes/court.pdf")
    total = len(texts)
    assert total >= 2
    cover = texts[0]
    for expected in (
        "FAX",
        "URGENT",
        "The Presiding Judge",
        "Almaty City Court",
        "+7 7272 71 58 02",
        "Ann Organizer",
        "Solidarity Group",
        "ann@example.org",
        "10 May 2012",
        "The trial of Dmitry Tikhonov",
        f"{total} (including this cover sheet)",
        "Please pass this on.",
    ):
        assert expected in cover, expected
    letter = "\n".join(texts[1:])
    for expected in (
        "Dear The Presiding Judge,",
        "We protest against the trial.",
        "release him",
        "Sincerely,",
        "Ann Organizer",
        "1 Main Street",
    ):
        assert expected in letter, expected
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {total}" in text


def test_long_letter_footers_count_every_page(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    body = "\n\n".join(f"Paragraph {n}. " + "Words of protest, " * 40 for n in range(12))
    text = (
        BASIC.split("  body: |")[0]
        + "  body_file: long.md\n"
        + BASIC.split("    - drop the charges\n")[1]
    )
    path = write_campaign(text, long__md=body)
    result = build(path, tmp_path / "out")
    court = next(d for d in result.documents if d["recipient_id"] == "court")
    texts = page_texts(tmp_path / "out/faxes/court.pdf")
    assert court["pages"] == len(texts) >= 4
    assert f"{len(texts)} (including this cover sheet)" in texts[0]
    for number, page in enumerate(texts, start=1):
        assert f"Page {number} of {len(texts)}" in page
    # every paragraph made it, in order
    joined = "\n".join(texts)
    positions = [joined.index(f"Paragraph {n}.") for n in range(12)]
    assert positions == sorted(positions)


def test_cyrillic_renders_in_an_embedded_font(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    text = BASIC.replace("name: The Presiding Judge", "name: Судья Әділет Ғалымұлы")
    text = text.replace(
        "We protest against the trial.", "Біз сотқа наразылық білдіреміз: Ә Ғ Қ Ң Ө Ұ Ү Һ І."
    )
    build(write_campaign(text), tmp_path / "out")
    pdf = tmp_path / "out/faxes/court.pdf"
    texts = page_texts(pdf)
    assert "Судья Әділет Ғалымұлы" in texts[0]
    assert "Біз сотқа наразылық білдіреміз: Ә Ғ Қ Ң Ө Ұ Ү Һ І." in "\n".join(texts)
    assert "Ә Ғ Қ Ң Ө Ұ Ү Һ І" in poppler_text(pdf)
    fonts = font_report(pdf)
    assert fonts and all(embedded for _name, embedded in fonts)
    assert all("DejaVuSans" in name for name, _ in fonts)


def test_markup_in_names_prints_as_written(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    text = BASIC.replace(
        "organization: Almaty City Court", 'organization: "<b>Ministry & Co</b> {not a field}"'
    )
    text = text.replace("We protest against the trial.", "Tom & Jerry <i>say</i> *hi* &amp;")
    result = build(write_campaign(text), tmp_path / "out")
    assert result.documents[0]["status"] == "ready"
    joined = "\n".join(page_texts(tmp_path / "out/faxes/court.pdf"))
    assert "<b>Ministry & Co</b> {not a field}" in joined
    assert "Tom & Jerry <i>say</i> hi &amp;" in joined


def test_same_input_gives_identical_bytes(basic_campaign: Path, tmp_path: Path) -> None:
    build(basic_campaign, tmp_path / "a")
    build(basic_campaign, tmp_path / "b")
    for name in (
        "faxes/court.pdf",
        "faxes/admin.pdf",
        "print/fax-volume-001.pdf",
        "manifest.json",
        "manifest.csv",
    ):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_volume_has_a_bookmark_per_fax_and_right_page_ranges(
    basic_campaign: Path, tmp_path: Path
) -> None:
    result = build(basic_campaign, tmp_path / "out")
    volume = tmp_path / "out/print/fax-volume-001.pdf"
    reader = pypdf.PdfReader(volume)
    ready = [d for d in result.documents if d["status"] == "ready"]
    assert len(reader.pages) == sum(d["pages"] for d in ready)
    outline = reader.outline
    assert [item.title for item in outline] == [
        "court: The Presiding Judge, Almaty City Court",
        "admin: Head of the Presidential Administration",
    ]
    for doc, item in zip(ready, outline, strict=True):
        assert reader.get_destination_page_number(item) + 1 == doc["volume_first_page"]
        single = page_texts(tmp_path / "out" / doc["file"])
        inside = [
            reader.pages[i].extract_text()
            for i in range(doc["volume_first_page"] - 1, doc["volume_last_page"])
        ]
        assert inside == single
    qpdf_check(volume)


def test_manifest_json_and_csv_agree(basic_campaign: Path, tmp_path: Path) -> None:
    build(basic_campaign, tmp_path / "out")
    manifest = json.loads((tmp_path / "out/manifest.json").read_text(encoding="utf-8"))
    assert manifest["schema_version"] == 1
    assert manifest["campaign"]["title"] == "Free the activists"
    docs = manifest["documents"]
    assert [d["recipient_id"] for d in docs] == ["court", "admin", "ministry"]
    court = docs[0]
    for key in (
        "recipient_id",
        "recipient_name",
        "organization",
        "channel",
        "status",
        "problems",
        "fax_raw",
        "fax_e164",
        "fax_valid",
        "fax_type",
        "fax_region",
        "fax_location",
        "fax_time_zones",
        "dial_string",
        "file",
        "pages",
        "sha256",
        "volume",
        "volume_first_page",
        "volume_last_page",
    ):
        assert key in court, key
    assert court["channel"] == "fax"
    assert court["fax_region"] == "KZ"
    assert court["fax_time_zones"] == ["Asia/Almaty"]
    assert court["dial_string"].startswith("011 7")
    data = (tmp_path / "out" / court["file"]).read_bytes()
    assert court["sha256"] == hashlib.sha256(data).hexdigest()
    assert docs[2]["file"] is None and docs[2]["volume"] is None

    import csv

    raw = (tmp_path / "out/manifest.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert [r["recipient_id"] for r in rows] == ["court", "admin", "ministry"]
    assert rows[0]["fax_e164"] == '="+77272715802"'  # a cell starting with + is never a formula
    assert rows[0]["fax_time_zones"] == "Asia/Almaty"
    assert rows[0]["pages"] == str(court["pages"])
    assert rows[2]["problems"] == docs[2]["problems"][0]


def test_top_band_stays_free_for_the_fax_header(basic_campaign: Path, tmp_path: Path) -> None:
    build(basic_campaign, tmp_path / "out")
    reader = pypdf.PdfReader(tmp_path / "out/faxes/court.pdf")
    for page in reader.pages:
        height = float(page.mediabox.height)
        tops: list[float] = []

        def visit(text, cm, tm, font_dict, font_size, tops=tops):  # type: ignore[no-untyped-def]
            if text.strip():
                tops.append(tm[5] * cm[3] + cm[5] + (font_size or 0) * tm[3])

        page.extract_text(visitor_text=visit)
        assert tops
        assert max(tops) < height - 12 * MM


def test_body_text_is_at_least_11pt(basic_campaign: Path, tmp_path: Path) -> None:
    build(basic_campaign, tmp_path / "out")
    reader = pypdf.PdfReader(tmp_path / "out/faxes/court.pdf")
    content = reader.pages[1].get_contents().get_data().decode("latin-1")
    sizes = {float(s) for s in re.findall(r"/F\w+ ([\d.]+) Tf", content)}
    assert min(sizes) >= 10  # footer
    assert sorted(sizes)[1] >= 11  # everything but the footer


def test_untypable_character_in_shared_text_stops_before_writing(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(BASIC.replace("The trial of Dmitry Tikhonov", "The trial 中"))
    with pytest.raises(CampaignError) as info:
        build(path, tmp_path / "out")
    assert "U+4E2D" in str(info.value)
    assert info.value.field == "letter.subject"
    assert (
        info.value.line == BASIC.splitlines().index("  subject: The trial of Dmitry Tikhonov") + 1
    )
    assert not (tmp_path / "out").exists()


def test_untypable_character_in_a_recipient_rejects_only_it(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(
        BASIC.replace("name: Head of the Presidential Administration", "name: 大使館")
    )
    result = build(path, tmp_path / "out")
    admin = result.documents[1]
    assert admin["status"] == "rejected"
    assert "U+5927" in admin["problems"][0] and "recipients[1].name" in admin["problems"][0]
    assert result.documents[0]["status"] == "ready"


def test_letter_page_size(write_campaign: Callable[..., Path], tmp_path: Path) -> None:
    build(write_campaign(BASIC.replace("size: A4", "size: Letter")), tmp_path / "out")
    reader = pypdf.PdfReader(tmp_path / "out/faxes/court.pdf")
    sizes = {(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages}
    assert sizes == {(612.0, 792.0)}


def test_all_rejected_writes_manifests_but_no_volume(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    text = BASIC.split("recipients:")[0] + "recipients:\n  - name: Nobody\n    fax: '123'\n"
    result = build(write_campaign(text), tmp_path / "out")
    assert result.ready == 0 and result.rejected == 1
    assert (tmp_path / "out/manifest.json").exists()
    assert not (tmp_path / "out/print/fax-volume-001.pdf").exists()
    assert "'123'" in result.documents[0]["problems"][0]


def test_pdfs_are_structurally_sound(basic_campaign: Path, tmp_path: Path) -> None:
    build(basic_campaign, tmp_path / "out")
    qpdf_check(tmp_path / "out/faxes/court.pdf")
    text = poppler_text(tmp_path / "out/faxes/court.pdf")
    assert "Page 1 of" in text and "The Presiding Judge" in text


def test_parallel_build_gives_the_same_bytes(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    many = "".join(
        f"  - id: office-{n}\n    name: Office {n}\n    fax: '+7 7172 74 55 {n:02d}'\n"
        for n in range(10)
    )
    path = write_campaign(BASIC + many)
    campaign = load_campaign(path)
    one = build_batch(campaign, BuildOptions(out=tmp_path / "one", jobs=1))
    two = build_batch(campaign, BuildOptions(out=tmp_path / "two", jobs=2))
    assert one.documents == two.documents
    assert one.ready == 12
    for name in [
        "print/fax-volume-001.pdf",
        "manifest.json",
        *(d["file"] for d in one.documents if d["file"]),
    ]:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
