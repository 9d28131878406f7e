"""``enclosures:`` as the loader reads it: each PDF opened and checked, every problem at once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4, LETTER

from faxbatch.campaign.loader import load_campaign
from faxbatch.errors import CampaignError, ExitCode, InputUnreadableError
from tests.build.test_pipeline_enclosures import statement_pdf
from tests.conftest import BASIC


def with_enclosures(value: str) -> str:
    return BASIC.replace("cover: {", f"enclosures: {value}\ncover: {{")


def test_enclosures_are_read_with_their_digest_and_page_sizes(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "a.pdf").write_bytes(statement_pdf(pages=2, size=LETTER))
    (tmp_path / "b.pdf").write_bytes(statement_pdf(size=A4))
    campaign = load_campaign(write_campaign(with_enclosures("[a.pdf, b.pdf]")))
    first, second = campaign.enclosures
    assert first.name == "a.pdf" and first.pages == 2 and first.sizes == ((612.0, 792.0),) * 2
    assert first.sha256 == hashlib.sha256((tmp_path / "a.pdf").read_bytes()).hexdigest()
    assert second.sizes == ((595.28, 841.89),)
    assert load_campaign(write_campaign()).enclosures == ()


def test_an_enclosure_problem_is_listed_with_the_others(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<<")
    text = with_enclosures("[broken.pdf, '']").replace("country: US", "country: USA")
    with pytest.raises(CampaignError) as info:
        load_campaign(write_campaign(text))
    message = str(info.value)
    assert info.value.exit_code == ExitCode.INVALID_CAMPAIGN
    assert "'broken.pdf': it is not a PDF, or it is damaged" in message
    assert "enclosures[1]: the file name is empty" in message
    assert "sender.country" in message


def test_alone_an_unreadable_enclosure_exits_4(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"not a pdf")
    with pytest.raises(InputUnreadableError) as info:
        load_campaign(write_campaign(with_enclosures("broken.pdf")))  # one name, not a list
    assert info.value.exit_code == ExitCode.INPUT_UNREADABLE
    assert "campaign.yaml:" in str(info.value) and "enclosures: cannot use" in str(info.value)


def test_too_many_enclosure_pages(write_campaign: Callable[..., Path], tmp_path: Path) -> None:
    (tmp_path / "long.pdf").write_bytes(statement_pdf(pages=41))
    with pytest.raises(CampaignError) as info:
        load_campaign(write_campaign(with_enclosures("[long.pdf]")))
    assert "the enclosures have 41 pages" in str(info.value)
    assert "at most 40" in str(info.value)
    (tmp_path / "half.pdf").write_bytes(statement_pdf(pages=21))
    with pytest.raises(CampaignError) as info:  # together
        load_campaign(write_campaign(with_enclosures("[half.pdf, half.pdf]")))
    assert "campaign.yaml:" in str(info.value) and "the enclosures have 42 pages" in str(info.value)


def test_the_reasons_follow_pdfiums_error_codes() -> None:
    """campaign.enclosures spells PDFium's codes as numbers (PDFium is loaded only when needed)."""
    import pypdfium2.raw as pdfium_c

    from faxbatch.campaign import enclosures

    assert enclosures._WHY[pdfium_c.FPDF_ERR_FORMAT] == "it is not a PDF, or it is damaged"
    assert enclosures._WHY[pdfium_c.FPDF_ERR_PASSWORD] == "it is encrypted with a password"
    assert enclosures._WHY[pdfium_c.FPDF_ERR_FILE] == "the file cannot be read"
    assert enclosures._WHY[pdfium_c.FPDF_ERR_PAGE] == "a page cannot be read"
    assert set(enclosures._PASSWORD_ERRORS) == {
        pdfium_c.FPDF_ERR_PASSWORD,
        pdfium_c.FPDF_ERR_SECURITY,
    }
