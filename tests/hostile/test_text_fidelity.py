"""Text printed as it was written: spaces of every kind, soft hyphens, zero-width characters,
Arabic and Hebrew (issue 9, item 10), read back from the built PDFs with poppler and pypdf."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pypdf
import pytest

from tests.hostile.conftest import Sandbox, snapshot
from tests.pdfcheck import require_tool

SIZE = 12.0  # the body's size
#: the advance widths of DejaVu Sans, in em
WIDTHS = {"\u2003": 1.0, "\u00a0": 0.318, "\u2009": 0.2, "\u2007": 0.636, "\u202f": 0.2}
NAMES = {"\u2003": "em", "\u00a0": "nbsp", "\u2009": "thin", "\u2007": "figure", "\u202f": "narrow"}
SHY = "\u00ad"
WORD = SHY.join(["in", "ter", "na", "tion", "al", "iza", "tion"])

CAMPAIGN = """\
campaign: {title: Free the activists, reference: T-1, date: 2012-05-10}
sender:
  name: "Ann\\u00a0Organizer"
  organization: Solidarity Group
  address: ["1\\u00a0Main Street", Springfield]
  email: ann@example.org
  country: US
defaults: {country: KZ}
page: {size: A4}
letter:
  subject: "The trial of Mr\\u00a0Tikhonov"
  greeting: "Dear {name},"
  body_file: letter.md
  closing: "Sincerely,"
  signature: [Ann Organizer]
recipients:
  - id: court
    name: "Mr\\u00a0Smith"
    organization: "\\u05d1\\u05d9\\u05ea \\u05de\\u05e9\\u05e4\\u05d8"
    address: ["Almaty"]
    fax: "++7727 2715802"
  - id: ministry
    name: "Mr\\u2009Zero\\u200bwidth"
    fax: "8 (7172) 74-55-24"
"""


def _body() -> str:
    spaces = " ".join(f"{NAMES[c]} [a{c}b]" for c in WIDTHS)
    return "\n\n".join(
        [
            f"Spaces: {spaces}; joined [c\u2060d] and [e\u200df].",
            "Soft hyphens: " + " ".join([WORD] * 10) + ".",
            "אנו דורשים לשחרר את הפעילים שלום עולם.",
            "نحن نطالب بالإفراج عن الناشطين في 1 مايو 2012.",
            "Mixed: the court (المحكمة العليا) heard 3 cases; שלום means peace.",
            f"*إسقاط التهم* and **{WORD}**.",
        ]
    )


def _build(sandbox: Sandbox, body: str | None = None, campaign: str = CAMPAIGN) -> Path:
    sandbox.write("letter.md", _body() if body is None else body)
    path = sandbox.campaign(campaign)
    run = sandbox.run("build", path, "--out", sandbox.out)
    assert run.returncode == 0, run.stderr
    return sandbox.out


def _words(pdf: Path, page: int) -> list[tuple[float, float, float, str]]:
    """(x min, x max, y min, text) of every word poppler finds on a page (1-based)."""
    tool = require_tool("pdftotext")
    xml = subprocess.run(
        [tool, "-f", str(page), "-l", str(page), "-bbox", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">(.*?)</word>', xml
    )
    return [(float(a), float(c), float(b), text) for a, b, c, text in found]


def _next_word(
    words: list[tuple[float, float, float, str]], word: tuple[float, float, float, str]
) -> tuple[float, float, float, str]:
    """The word right of ``word`` on its line (poppler may read a wide gap as a column break)."""
    right = [w for w in words if abs(w[2] - word[2]) < 0.5 and w[0] >= word[1]]
    return min(right, key=lambda w: w[0])


def _poppler(pdf: Path) -> str:
    tool = require_tool("pdftotext")
    result = subprocess.run([tool, "-layout", str(pdf), "-"], capture_output=True, text=True)
    # pdftotext wraps right-to-left text in embedding marks of its own
    return re.sub("[\u202a-\u202e]", "", result.stdout)


def test_spaces_have_their_widths_and_nothing_invisible_is_drawn(sandbox: Sandbox) -> None:
    out = _build(sandbox)
    letter = out / "faxes" / "court.pdf"
    words = _words(letter, 2)
    texts = [w[3] for w in words]
    for char, em in WIDTHS.items():
        name = words[texts.index(NAMES[char])]
        a_word = _next_word(words, name)
        b_word = _next_word(words, a_word)
        assert a_word[3] == "[a" and b_word[3].startswith("b]"), NAMES[char]
        assert b_word[0] - a_word[1] == pytest.approx(em * SIZE, abs=0.01), NAMES[char]
    # "Mr Smith" with a no-break space is two words a space apart, not "MrSmith"
    mr = texts.index("Mr")
    assert texts[mr + 1] == "Smith"  # the address block, then "Dear Mr Smith,"
    assert words[mr + 1][0] - words[mr][1] == pytest.approx(0.318 * SIZE, abs=0.01)
    text = _poppler(letter)
    assert "MrSmith" not in text and "Mr Smith" in text.replace("\u00a0", " ")
    assert "[cd]" in text and "[ef]" in text  # the joiners draw nothing, and no box
    assert "Mr Zero" not in text
    other = _poppler(out / "faxes" / "ministry.pdf")
    assert "Mr Zerowidth" in other.replace("\u2009", " ")


def test_soft_hyphens_show_only_at_a_line_break(sandbox: Sandbox) -> None:
    out = _build(sandbox)
    lines = [line.strip() for line in _poppler(out / "faxes" / "court.pdf").splitlines()]
    soft = [line for line in lines if "interna" in line or "tion" in line]
    assert any(line.endswith("-") for line in soft)
    for line in soft:
        assert "-" not in line.rstrip("-").replace("T-1", ""), line  # never inside a line
    joined = " ".join(soft).replace("- ", "").replace("-", "")
    assert joined.count("internationalization") == 11
    assert SHY not in "".join(lines)


def test_rtl_paragraphs_read_right_to_left_with_joined_letters(sandbox: Sandbox) -> None:
    out = _build(sandbox)
    letter = out / "faxes" / "court.pdf"
    words = _words(letter, 2)
    # poppler reports each word's glyphs left to right: a Hebrew word drawn right to left comes
    # out reversed, and the first word of the sentence is the rightmost
    first = next(w for w in words if w[3] == "אנו"[::-1])
    line = [w for w in words if abs(w[2] - first[2]) < 1]
    logical = [w[3][::-1] for w in sorted(line, key=lambda w: -w[0])]
    assert logical[:3] == ["אנו", "דורשים", "לשחרר"]
    assert logical[-1].rstrip(".") == "עולם" or logical[-1].lstrip(".") == "עולם"
    right = max(w[1] for w in line)
    assert right == pytest.approx(595.276 - 22 * 72 / 25.4, abs=0.5)  # flush right
    # Arabic is drawn in joined forms (presentation forms), copied out as the letters written
    reader = pypdf.PdfReader(letter)
    text = reader.pages[1].extract_text()
    for word in ("نطالب", "بالإفراج", "الناشطين", "إسقاط", "التهم", "المحكمة"):
        assert word in text, word
    assert "2012" in text and "מ" in text
    # numbers keep their order inside right-to-left text
    arabic_line = next(line for line in _poppler(letter).splitlines() if "مايو" in line)
    assert "2012" in arabic_line and "1" in arabic_line
    # the organization in Hebrew on the cover sheet, right to left in its column
    cover = _words(letter, 1)
    court = [w for w in cover if w[3] in ("תיב", "טפשמ")]
    assert [w[3] for w in sorted(court, key=lambda w: w[0])] == ["טפשמ", "תיב"]


def test_the_same_campaign_gives_the_same_bytes(sandbox: Sandbox) -> None:
    out = _build(sandbox)
    first = snapshot(out)
    path = sandbox.campaign_dir / "campaign.yaml"
    again = sandbox.campaign_dir / "again"
    run = sandbox.run("build", path, "--out", again)
    assert run.returncode == 0, run.stderr
    second = snapshot(again)
    pdfs = [name for name in first if name.endswith(".pdf")]
    assert pdfs and all(first[name] == second[name] for name in pdfs)


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("body", "שלום \u202bעולם\u202c"),  # an explicit embedding
        ("body", "Arabic letter without joined forms: \u0620"),
    ],
)
def test_text_faxbatch_cannot_print_is_refused_by_field(
    sandbox: Sandbox, where: str, text: str
) -> None:
    before = sandbox.build_good()
    sandbox.write("letter.md", text)
    path = sandbox.campaign(CAMPAIGN)
    run = sandbox.run("build", path, "--out", sandbox.out)
    assert run.returncode == 3
    assert "letter.body" in run.stderr and "U+" in run.stderr
    assert snapshot(sandbox.out) == before


def test_a_recipient_with_a_direction_control_is_rejected_not_the_batch(sandbox: Sandbox) -> None:
    campaign = CAMPAIGN.replace('"Mr\\u2009Zero\\u200bwidth"', '"\\u202eevil\\u202c"')
    _build_exit = sandbox.write("letter.md", "A short letter.")
    assert _build_exit.exists()
    path = sandbox.campaign(campaign)
    run = sandbox.run("build", path, "--out", sandbox.out)
    assert run.returncode == 6
    manifest = json.loads((sandbox.out / "manifest.json").read_text(encoding="utf-8"))
    rows = {row["recipient_id"]: row for row in manifest["documents"]}
    assert rows["court"]["status"] == "ready"
    assert rows["ministry"]["status"] == "rejected"
    assert any("U+202E" in problem for problem in rows["ministry"]["problems"])
