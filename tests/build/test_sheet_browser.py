"""numbers.html in a real headless Chromium (Debian's, through Playwright): phone and wide screen,
result buttons and the downloaded verification.csv, the window in the browser's zone, escaped text.

One browser for the module. Without Chromium or Playwright the tests skip, except under CI=true,
where they fail (.ci/run installs chromium).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from faxbatch.build.check import check_campaign
from faxbatch.campaign.loader import load_campaign
from faxbatch.numbers.verification import load_verification
from tests.build.test_check import MESSY, NOW, VERIFICATION

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI") == "true"
SHOTS = os.environ.get("FAXBATCH_SCREENSHOTS")  # a folder: the tests leave screenshots there

XSS = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'


def unavailable(reason: str) -> None:
    """Skip the test, or fail it under CI=true, where Chromium must be installed."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: .ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed")
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        unavailable("chromium is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.fixture
def sheet(write_campaign: Callable[..., Path], tmp_path: Path) -> tuple[Path, Path]:
    """The messy campaign (and an XSS attempt as a name), checked: (campaign, numbers.html)."""
    text = MESSY.replace("    name: Embassy\n", f"    name: {json.dumps(XSS)}\n")
    assert text != MESSY
    campaign = write_campaign(text, verification__csv=VERIFICATION)
    check_campaign(load_campaign(campaign), out=tmp_path / "out", now=NOW)
    return campaign, tmp_path / "out/numbers.html"


def open_page(browser: Any, page_path: Path, width: int, **context: Any) -> Any:
    context.setdefault("timezone_id", "America/New_York")
    page = browser.new_context(
        viewport={"width": width, "height": 800}, accept_downloads=True, **context
    ).new_page()
    page.goto(page_path.as_uri())
    return page


def shoot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def test_a_phone_gets_cards_and_no_sideways_scrolling(browser: Any, sheet: tuple[Path, Path]):
    page = open_page(browser, sheet[1], 390, is_mobile=True, has_touch=True)
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
    )
    assert widths[0] <= 390 and widths[1] <= 390, widths
    assert page.evaluate("getComputedStyle(document.querySelector('thead')).display") == "none"
    assert page.evaluate("getComputedStyle(document.querySelector('td')).display") == "block"
    shoot(page, "numbers-390.png")
    page.context.close()
    wide = open_page(browser, sheet[1], 1280)
    assert wide.evaluate("getComputedStyle(document.querySelector('td')).display") == "table-cell"
    assert wide.evaluate("document.documentElement.scrollWidth") <= 1280
    shoot(wide, "numbers-1280.png")
    wide.context.close()


def test_an_xss_attempt_in_a_name_is_text(browser: Any, sheet: tuple[Path, Path]) -> None:
    page = open_page(browser, sheet[1], 1280)
    assert page.title().startswith("Numbers to check")
    assert page.locator("#embassy tr.recipient th").inner_text().startswith("<img src=x")
    assert page.locator("#embassy img, #embassy script").count() == 0
    page.context.close()


def test_the_window_in_the_browsers_zone(browser: Any, sheet: tuple[Path, Path]) -> None:
    # the court's next window: Mon 14 May 2012 09:00-18:00 in Almaty (UTC+6), 03:00-12:00 UTC
    page = open_page(browser, sheet[1], 1280, timezone_id="America/New_York")
    yours = page.locator("#court .yours").first.inner_text()
    assert yours == "Sun 13 May 2012 23:00–Mon 14 May 2012 08:00 your time (America/New_York)"
    page.context.close()
    tokyo = open_page(browser, sheet[1], 1280, timezone_id="Asia/Tokyo")
    assert tokyo.locator("#court .yours").first.inner_text() == (
        "Mon 14 May 2012 12:00–21:00 your time (Asia/Tokyo)"
    )
    tokyo.context.close()


def test_results_recorded_in_the_page_download_as_verification_csv(
    browser: Any, sheet: tuple[Path, Path]
) -> None:
    campaign, page_path = sheet
    page = open_page(browser, page_path, 390, is_mobile=True, has_touch=True)
    page.fill("#caller-name", "Ann, NY")
    court = page.locator('#court td.record[data-number="+77272715802"]').first
    court.locator('button[data-result="wrong"]').click()
    court.locator("input.note").fill('now a flat, said "no fax"')
    embassy = page.locator("#embassy td.record").first
    embassy.locator('button[data-result="no-answer"]').click()
    embassy.locator('button[data-result="verified"]').click()  # changed her mind
    assert embassy.locator('button[aria-pressed="true"]').inner_text() == "verified"
    # kept in the browser: a reload shows the same
    page.reload()
    court = page.locator('#court td.record[data-number="+77272715802"]').first
    assert court.locator('button[aria-pressed="true"]').inner_text() == "wrong"
    assert court.locator("input.note").input_value() == 'now a flat, said "no fax"'
    assert page.locator("#caller-name").input_value() == "Ann, NY"
    shoot(page, "numbers-390-recorded.png")
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename == "verification.csv"
    saved = campaign.parent / "verification.csv"
    download.save_as(str(saved))
    page.context.close()
    data = saved.read_bytes()
    assert data.startswith(b"number,result,date,by,note\r\n")  # no BOM, CRLF
    found = load_verification(load_campaign(campaign))
    assert found.warnings == ()
    court_finding = found.latest("+77272715802")
    assert court_finding is not None and court_finding.result == "wrong"
    assert court_finding.by == "Ann, NY" and court_finding.note == 'now a flat, said "no fax"'
    embassy_finding = found.latest("+18005550199")
    assert embassy_finding is not None and embassy_finding.result == "verified"
    earlier = found.latest("+77172745524")  # the finding the page was made with is kept
    assert earlier is not None and (earlier.result, earlier.by) == ("verified", "Борис")
    # and check reads it back into the sheet
    result = check_campaign(load_campaign(campaign), out=None, now=NOW)
    statuses = {(r.recipient_id, r.e164): r.verification for r in result.rows}
    court_row = statuses[("court", "+77272715802")]
    assert court_row is not None and court_row.status == "wrong"


def test_call_scripts_show_on_a_card_and_a_formula_in_a_note_reads_back(
    browser: Any, write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    from tests.build.test_check import SCRIPTED

    campaign = write_campaign(SCRIPTED)
    check_campaign(load_campaign(campaign), out=tmp_path / "out", now=NOW)
    page = open_page(browser, tmp_path / "out/numbers.html", 390, is_mobile=True, has_touch=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    say = page.locator("#court tr.script")
    assert (
        say.locator('p[lang="ru"]')
        .first.inner_text()
        .startswith("Здравствуйте! Подскажите, пожалуйста: это номер факса организации")
    )
    assert "Zdravstvuyte!" in say.locator(".latin").first.inner_text()
    assert page.locator("#admin tr.script p").first.inner_text().startswith("Hello, is this")
    shoot(page, "numbers-390-scripts.png")
    note = '=HYPERLINK("http://evil.example","x")'
    court = page.locator("#court td.record").first
    court.locator('button[data-result="no-fax-tone"]').click()
    court.locator("input.note").fill(note)
    with page.expect_download() as info:
        page.click("#download")
    saved = campaign.parent / "verification.csv"
    info.value.save_as(str(saved))
    page.context.close()
    line = saved.read_text("utf-8").splitlines()[1]
    assert line.startswith('"=""+77272715802""",no-fax-tone,"=""20')  # never a bare formula
    assert ',"=""=HYPERLINK(""""http://evil.example"""",""""x"""")"""' in line
    finding = load_verification(load_campaign(campaign)).latest("+77272715802")
    assert finding is not None and finding.note == note and finding.result == "no-fax-tone"
