"""Letters in the recipient's language: translations read, each fax in its language, manifests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.campaign.loader import iter_recipients, load_campaign
from faxbatch.errors import CampaignError
from tests.conftest import BASIC
from tests.pdfcheck import page_texts

TRANSLATED = BASIC.replace(
    "recipients:\n",
    """translations:
  ru:
    subject: Суд над Дмитрием Тихоновым
    greeting: "Уважаемый {name}!"
    body_file: letter.ru.md
    closing: С уважением,
    signature: [Анна Организатор]
    cover: {comments: "Пожалуйста, передайте это письмо судье."}
recipients:
""",
).replace("  - id: court\n", "  - id: court\n    language: ru\n")
RU_BODY = "Мы протестуем против суда.\n"
#: every English label a fax may print (none may appear on a Russian fax)
ENGLISH = ("FAX", "URGENT", "Date", "Pages", "To", "From", "Regarding", "Reference", "By fax",
           "Page 1", "Comments", "Organization", "Phone", "Email", "May")  # fmt: skip


def _build(path: Path, out: Path) -> list[dict[str, object]]:
    result = build_batch(load_campaign(path), BuildOptions(out=out, jobs=1))
    return result.documents


def test_a_russian_recipient_gets_a_russian_fax(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(TRANSLATED, **{"letter.ru.md": RU_BODY})
    documents = {d["recipient_id"]: d for d in _build(path, tmp_path / "out")}
    assert documents["court"]["language"] == "ru"
    assert documents["admin"]["language"] == "en"
    pages = page_texts(tmp_path / "out/faxes/court.pdf")
    text = "\n".join(pages)
    for russian in ("ФАКС", "СРОЧНО", "Дата", "10 мая 2012", "Кому", "От кого", "Тема",
                    "По факсу:", "Уважаемый The Presiding Judge!", "Мы протестуем",
                    "С уважением,", "Пожалуйста, передайте", "Суд над Дмитрием"):  # fmt: skip
        assert russian in text, russian
    for english in ENGLISH:
        assert english not in text, english
    assert [page.count(f"Страница {n} из {len(pages)}") for n, page in enumerate(pages, 1)] == [
        1
    ] * len(pages)
    english = "\n".join(page_texts(tmp_path / "out/faxes/admin.pdf"))
    assert "Date" in english and "10 May 2012" in english and "ФАКС" not in english
    lines = (tmp_path / "out/gateways/jobs.jsonl").read_text("utf-8").splitlines()
    jobs = [json.loads(line) for line in lines]
    assert {job["recipient_id"]: job["language"] for job in jobs} == {"court": "ru", "admin": "en"}
    assert [job["languages"] for job in jobs] == [["ru"], ["en"]]


def test_a_language_without_a_translation_is_an_invalid_campaign(
    write_campaign: Callable[..., Path],
) -> None:
    path = write_campaign(BASIC.replace("  - id: court\n", "  - id: court\n    language: kk\n"))
    with pytest.raises(CampaignError) as info:
        load_campaign(path)
    message = str(info.value)
    assert "recipients[0].language" in message and "'kk'" in message
    assert "written in en" in message


def test_a_translation_missing_a_field_takes_the_first_languages_with_a_warning(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    text = BASIC.replace(
        "recipients:\n", "translations:\n  de:\n    subject: Der Prozess\nrecipients:\n"
    ).replace("  - id: court\n", "  - id: court\n    language: DE\n")
    campaign = load_campaign(write_campaign(text))
    german = campaign.translations["de"].letter
    assert (german.subject, german.body, german.closing) == (
        "Der Prozess",
        campaign.letter.body,
        "Sincerely,",
    )
    assert any("translations.de has no greeting, body, closing, signature, cover.comments" in w
               for w in campaign.warnings)  # fmt: skip
    result = build_batch(campaign, BuildOptions(out=tmp_path / "out", jobs=1))
    assert any("translations.de" in warning for warning in result.warnings)
    text = "\n".join(page_texts(tmp_path / "out/faxes/court.pdf"))
    assert "Datum" in text and "10. Mai 2012" in text and "Seite 1 von" in text


def test_a_language_without_labels_is_printed_with_english_ones_and_a_warning(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    text = BASIC.replace(
        "recipients:\n", "translations:\n  it:\n    subject: Il processo\nrecipients:\n"
    ).replace("  - id: court\n", "  - id: court\n    language: it\n")
    result = build_batch(load_campaign(write_campaign(text)), BuildOptions(out=tmp_path / "o"))
    assert any("no labels in 'it'" in warning for warning in result.warnings)
    assert "Date" in "\n".join(page_texts(tmp_path / "o/faxes/court.pdf"))


def test_recipients_file_rows_take_a_language_column(
    write_campaign: Callable[..., Path],
) -> None:
    head = TRANSLATED.split("recipients:\n")[0] + "recipients_file: offices.csv\n"
    csv = "name,fax,language\nCourt,++7727 2715802,ru\nAdmin,8 7172 745524,\nOther,1,fr\n"
    path = write_campaign(head, **{"letter.ru.md": RU_BODY, "offices.csv": csv})
    rows = list(iter_recipients(load_campaign(path)))
    assert [r.language for r in rows] == ["ru", "en", "en"]
    assert rows[2].problems and "no translation into 'fr'" in rows[2].problems[0]
    assert not rows[0].problems and not rows[1].problems


@pytest.mark.parametrize(
    ("translations", "field"),
    [
        ("translations: [ru]\n", "translations"),
        ("translations:\n  russian: {subject: x}\n", "translations"),
        ("translations:\n  en: {subject: x}\n", "translations.en"),
        (
            "translations:\n  ru: {subject: x, body: a, body_file: b.md}\n",
            "translations.ru.body_file",
        ),
        ("translations:\n  ru: {subject: x, salutation: y}\n", "translations.ru"),
    ],
)
def test_bad_translations_name_the_field(
    write_campaign: Callable[..., Path], translations: str, field: str
) -> None:
    path = write_campaign(BASIC.replace("recipients:\n", translations + "recipients:\n"))
    with pytest.raises(CampaignError) as info:
        load_campaign(path)
    assert field in str(info.value)


def test_a_bilingual_fax_has_both_letters_and_counts_every_page(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    text = TRANSLATED.replace("  - id: court\n    language: ru\n", "  - id: court\n"
                              "    languages: [en, ru]\n")  # fmt: skip
    path = write_campaign(text, **{"letter.ru.md": RU_BODY})
    documents = {d["recipient_id"]: d for d in _build(path, tmp_path / "out")}
    assert documents["court"]["language"] == "en"
    assert documents["court"]["languages"] == ["en", "ru"]
    lines = (tmp_path / "out/gateways/jobs.jsonl").read_text("utf-8").splitlines()
    assert json.loads(lines[0])["languages"] == ["en", "ru"]
    pages = page_texts(tmp_path / "out/faxes/court.pdf")
    total = len(pages)
    assert total == documents["court"]["pages"] == 3  # cover, the English letter, the Russian one
    assert f"{total} (including this cover sheet)" in pages[0]
    assert "Dear The Presiding Judge," in pages[1] and "Уважаемый" not in pages[1]
    assert "Уважаемый The Presiding Judge!" in pages[2] and "Мы протестуем" in pages[2]
    assert "10 мая 2012" in pages[2]  # each letter dated in its language
    # the footers count the whole fax, in the cover's language
    assert [f"Page {n} of {total}" in page for n, page in enumerate(pages, 1)] == [True] * total


def test_a_recipient_may_have_its_own_greeting_and_cover_comments(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    text = BASIC.replace(
        "  - id: court\n",
        "  - id: court\n    greeting: 'Your Honour,'\n    cover_comments: For the judge only.\n",
    )
    _build(write_campaign(text), tmp_path / "out")
    court = page_texts(tmp_path / "out/faxes/court.pdf")
    assert "For the judge only." in court[0] and "Please pass this on." not in court[0]
    assert "Your Honour," in court[1] and "Dear" not in court[1]
    admin = "\n".join(page_texts(tmp_path / "out/faxes/admin.pdf"))
    assert "Please pass this on." in admin and "Dear " in admin


def test_languages_and_language_together_are_refused(write_campaign: Callable[..., Path]) -> None:
    text = TRANSLATED.replace("    language: ru\n", "    language: ru\n    languages: [en, ru]\n")
    with pytest.raises(CampaignError) as info:
        load_campaign(write_campaign(text, **{"letter.ru.md": RU_BODY}))
    assert "recipients[0].languages" in str(info.value)


def test_a_return_line_that_cannot_fit_is_one_campaign_error(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    text = BASIC.replace(
        "  country: US\n", "  country: US\n  return_line: " + "Very long return line " * 8 + "\n"
    ).replace("  - id: court\n", "  - id: court\n    channels: [post]\n")
    text = text.replace("    address: [Almaty]\n", "    address: [Street 1, Almaty]\n", 1)
    with pytest.raises(CampaignError) as info:
        build_batch(load_campaign(write_campaign(text)), BuildOptions(out=tmp_path / "out"))
    assert "sender.return_line" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_english_russian_and_kazakh_recipients_in_one_batch(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    text = TRANSLATED.replace(
        "recipients:\n",
        "  kk:\n    subject: Дмитрий Тихоновтың сот процесі\n    greeting: 'Құрметті {name}!'\n"
        "recipients:\n",
    ).replace("  - id: admin\n", "  - id: admin\n    language: kk\n")
    path = write_campaign(text, **{"letter.ru.md": RU_BODY})
    documents = {d["recipient_id"]: d["language"] for d in _build(path, tmp_path / "out")}
    assert documents == {"court": "ru", "admin": "kk", "ministry": "en"}
    kazakh = page_texts(tmp_path / "out/faxes/admin.pdf")
    assert "Кімге" in kazakh[0] and "2012 ж. 10 мамыр" in kazakh[0].replace("\u202f", " ")
    assert "Құрметті" in kazakh[1] and f"{len(kazakh)} беттің 1-беті" in kazakh[0]
