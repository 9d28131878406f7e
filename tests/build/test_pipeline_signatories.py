"""Built batches with signatories: an annex counted in every fax, a letter per signer, copies."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from faxbatch.build.pipeline import BuildOptions, BuildResult, build_batch
from faxbatch.build.plan import RecipientPlan
from faxbatch.build.signing import Signing
from faxbatch.campaign.loader import iter_recipients, load_campaign
from faxbatch.letters.labels import country_name_in
from tests.conftest import BASIC
from tests.pdfcheck import page_texts, qpdf_check

COUNTRIES = ("US", "CA", "DE", "KZ", "FR")

ANNEX = BASIC.replace(
    "recipients:\n",
    """signatories: {file: signers.csv, mode: annex}
copies_to:
  - {name: Campaign office, email: organizers@example.org}
recipients:
""",
).replace("  signature: [Ann Organizer]\n", "  signature: [Ann Organizer]\n  also_sent_to: true\n")

ADMIN_FAX = '    fax: "8 (7172) 74-55-24"\n'
PER_SIGNER = (
    ANNEX.replace("mode: annex", "mode: per_signer")
    .replace(ADMIN_FAX, ADMIN_FAX + "    signers_from: [CA]\n")
    .replace(
        "  - id: ministry\n    name: Foreign Ministry\n",
        "  - id: us-embassy\n    name: Embassy of Kazakhstan in the United States\n"
        "    fax: \"+1 202 232 5845\"\n    signers_from: [US]\n",
    )
)  # fmt: skip


def _signers_csv(count: int, bad: str = "") -> str:
    rows = ["name,organization,country,role,city,email"]
    for n in range(count):
        country = COUNTRIES[n % len(COUNTRIES)]
        rows.append(f"Signer {n:02d},Union {n % 7},{country},Member,City {n % 3},s{n}@example.org")
    return "\n".join(rows) + "\n" + bad


def _build(path: Path, out: Path) -> tuple[BuildResult, list[dict[str, Any]]]:
    result = build_batch(load_campaign(path), BuildOptions(out=out, jobs=1))
    return result, result.documents


def test_an_annex_of_forty_signers_follows_every_letter_and_is_counted(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(ANNEX, **{"signers.csv": _signers_csv(40)})
    _result, documents = _build(path, tmp_path / "out")
    court = next(d for d in documents if d["recipient_id"] == "court")
    pdf = tmp_path / "out" / str(court["file"])
    qpdf_check(pdf)
    pages = page_texts(pdf)
    total = len(pages)
    assert court["pages"] == total
    assert f"{total} (including this cover sheet)" in pages[0]
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {total}" in text
    assert "Copies to" in pages[0] and "organizers@example.org" in pages[0]
    letter = "\n".join(pages[1:-1])
    assert "and 40 organizations and individuals listed in the annex" in letter
    assert "This letter was also sent to:" in letter and "Head of the Presidential" in letter
    assert "cc: Campaign office" in letter
    annex = pages[-1]
    assert annex.startswith("Signatories")
    # every signer listed once, under the heading of their own country
    headings = {country_name_in(code, "en"): code for code in COUNTRIES}
    current = None
    seen = set()
    for line in annex.splitlines():
        if line in headings:
            current = headings[line]
        elif line.startswith("Signer "):
            number = int(line.split()[1].rstrip(","))
            assert current == COUNTRIES[number % len(COUNTRIES)], line
            seen.add(number)
    assert seen == set(range(40))
    order = [annex.index(name) for name in sorted(headings)]
    assert order == sorted(order)  # countries by name
    data = json.loads((tmp_path / "out/manifest.json").read_text(encoding="utf-8"))
    assert data["campaign"]["signatories"]["signers"] == 40
    assert data["campaign"]["copies_to"] == [
        {"name": "Campaign office", "email": "organizers@example.org"}
    ]


def test_a_changed_signers_file_changes_the_annex(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(ANNEX, **{"signers.csv": _signers_csv(4)})
    _build(path, tmp_path / "out")
    before = (tmp_path / "out/faxes/court.pdf").read_bytes()
    (tmp_path / "signers.csv").write_text(_signers_csv(5), encoding="utf-8")
    _build(path, tmp_path / "out")
    after = "\n".join(page_texts(tmp_path / "out/faxes/court.pdf"))
    assert (tmp_path / "out/faxes/court.pdf").read_bytes() != before
    assert "Signer 04" in after and "and 5 organizations" in after


def test_each_signer_writes_to_each_recipient_of_their_country(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(PER_SIGNER, **{"signers.csv": _signers_csv(10)})
    _result, documents = _build(path, tmp_path / "out")
    by_id = {d["recipient_id"]: d for d in documents}
    us = [d for d in documents if str(d["recipient_id"]).startswith("us-embassy--")]
    assert [d["signer_id"] for d in us] == ["signer-00", "signer-05"]  # the US signers only
    assert all(d["status"] == "ready" for d in us)
    canada = [d["signer_id"] for d in documents if str(d["recipient_id"]).startswith("admin--")]
    assert canada == ["signer-01", "signer-06"]
    court = [d for d in documents if str(d["recipient_id"]).startswith("court--")]
    assert len(court) == 10  # no signers_from: every signer
    doc = by_id["us-embassy--signer-05"]
    assert doc["signer_name"] == "Signer 05"
    assert doc["file"] == "faxes/us-embassy--signer-05.pdf"
    pages = page_texts(tmp_path / "out/faxes/us-embassy--signer-05.pdf")
    assert "Signer 05" in pages[0].split("From", 1)[1]
    assert "Ann Organizer" not in "\n".join(pages)  # the organizers do not sign
    assert pages[1].startswith("Union 5")  # the signer's letterhead
    assert "Signer 05\nMember\nUnion 5" in pages[1]
    assert "us-embassy--signer-05" in pages[-1]  # the footer names the document
    # the manifest's CSV has the signer's columns too
    text = (tmp_path / "out/manifest.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["signer_id"] for r in rows if r["recipient_id"].startswith("us-embassy")} == {
        "signer-00",
        "signer-05",
    }


def test_bad_signer_rows_are_listed_and_the_others_sign(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    bad = ",Union 1,,,,\nNobody Known,,ZZ,,,\nSigner 03,Union 3,KZ,,,\n,,,,,\n"
    path = write_campaign(PER_SIGNER, **{"signers.csv": _signers_csv(5, bad=" , ,US,,,\n" + bad)})
    result, documents = _build(path, tmp_path / "out")
    warnings = "\n".join(result.warnings)
    assert "3 row(s) of the signers file signers.csv cannot be used" in warnings
    assert "signers.csv:7:" in warnings and "neither a name nor an organization" in warnings
    assert "signers.csv:9: 'ZZ' is not a country code" in warnings
    assert "signers.csv:10: the same signer (Signer 03) is on line 5 already" in warnings
    data = json.loads((tmp_path / "out/manifest.json").read_text(encoding="utf-8"))
    assert data["campaign"]["signatories"]["rows_left_out"] == 3
    assert len(data["campaign"]["signatories"]["problems"]) == 3
    signed = {d["signer_id"] for d in documents if str(d["recipient_id"]).startswith("court--")}
    assert signed == {f"signer-0{n}" for n in range(5)} | {"union-1"}


def test_a_recipient_no_signer_writes_to_is_rejected_saying_why(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    text = PER_SIGNER.replace("signers_from: [CA]", "signers_from: [JP]")
    path = write_campaign(text, **{"signers.csv": _signers_csv(3)})
    _result, documents = _build(path, tmp_path / "out")
    admin = next(d for d in documents if d["recipient_id"] == "admin")
    assert admin["status"] == "rejected"
    assert admin["signer_id"] is None
    assert "No signer of the signers file is from JP" in str(admin["problems"])


def test_a_thousand_signers_to_six_offices_stream_in_flat_memory(
    write_campaign: Callable[..., Path],
) -> None:
    offices = "".join(
        f'  - id: office-{n}\n    name: Office {n}\n    fax: "+7 7172 74 55 2{n}"\n'
        for n in range(6)
    )
    text = PER_SIGNER.split("recipients:\n")[0] + "recipients:\n" + offices
    path = write_campaign(text, **{"signers.csv": _signers_csv(1000)})
    campaign = load_campaign(path)
    signing = Signing(campaign)
    signing.read(set())
    assert signing.count == 1000

    def plans() -> Iterator[RecipientPlan]:
        for recipient in iter_recipients(campaign):
            yield RecipientPlan(recipient, documents=("fax",))

    tracemalloc.start()
    try:
        count = 0
        ids = set()
        for plan in signing.letters(plans()):
            count += 1
            if count % 500 == 0:
                ids.add(plan.recipient.id)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 6000
    assert len(ids) == 12
    assert peak < 2_000_000  # a few rows at a time, never the 6,000 letters


def test_a_postal_letter_carries_the_annex_too(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    postal = "    address: [Abay Ave 10, Almaty]\n    channels: [post]\n"
    text = ANNEX.replace("    address: [Almaty]\n", postal)
    path = write_campaign(text, **{"signers.csv": _signers_csv(12)})
    _result, documents = _build(path, tmp_path / "out")
    court = next(d for d in documents if d["recipient_id"] == "court")
    assert court["channel"] == "post" and court["status"] == "ready"
    pages = page_texts(tmp_path / "out" / str(court["file"]))
    assert pages[-1].startswith("Signatories")
    assert "and 12 organizations and individuals listed in the annex" in "\n".join(pages)
    assert all(f"Page {n} of {len(pages)}" in page for n, page in enumerate(pages, start=1))


def test_letters_per_signer_are_reused_by_the_next_build_and_the_sheet_lists_recipients(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    bad = "Signer \u202eX,,US,,,\nSigner \u0d9e,,US,,,\n"
    path = write_campaign(PER_SIGNER, **{"signers.csv": _signers_csv(3, bad=bad)})
    first, _documents = _build(path, tmp_path / "out")
    lines = {line.split(": ", 1)[0]: line for line in first.warnings}
    assert "U+202E" in lines["signers.csv:5"] and "direction control" in lines["signers.csv:5"]
    assert "U+0D9E" in lines["signers.csv:6"] and "cannot be printed" in lines["signers.csv:6"]
    sheet = (tmp_path / "out/numbers.csv").read_text(encoding="utf-8-sig")
    assert "us-embassy" in sheet and "--" not in sheet
    (tmp_path / "signers.csv").write_text(_signers_csv(4, bad=bad), encoding="utf-8")
    second, documents = _build(path, tmp_path / "out")
    made = [d for d in documents if d["status"] == "ready"]
    assert second.ready == len(made) == first.ready + 1  # Signer 03 writes to the court
    assert second.reused == first.ready  # every letter of before, taken as it was
