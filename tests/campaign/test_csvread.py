from __future__ import annotations

import io

import pytest

from faxbatch.campaign.csvread import CsvRow, decoded_lines, read_rows
from faxbatch.errors import InputUnreadableError


def rows(text: str, multiline: tuple[int, ...] = ()) -> list[CsvRow]:
    lines = io.StringIO(text, newline="")
    return list(read_rows(lines, source="t.csv", line_breaks=lambda header: multiline))


def test_rows_keep_the_line_they_start_on() -> None:
    found = rows('\n\na;b\r\n1;"x\r\ny"\r\n\r\n;\r\n2;z\r\n', multiline=(1,))
    assert [(row.line, row.cells) for row in found] == [
        (3, ["a", "b"]),
        (4, ["1", "x\r\ny"]),
        (8, ["2", "z"]),
    ]
    assert [row.line for row in rows('a,b\r1,"x\ry"\r2,z\r', multiline=(1,))] == [1, 2, 4]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('a,b\n1,2\n3,"x\n4,5\n', "t.csv:3: the quote opened on line 3 is never closed"),
        ('a,b\n1,"x\n2,"y",3\n', "t.csv:2: the quote opened on line 2 closes on line 3"),
        ('a,b\n1,"x\ny"\n', "t.csv:2: the cell in column 2, opened with a quote on line 2"),
        ('a,b\n"1\n2",x\n', "t.csv:2: the cell in column 1"),
        ('a,b\r\n1,"ok\r\nfine","oops\r\n2,3\r\n', "t.csv:3: the quote opened on line 3"),
        ('a,"b\nc"\n', "t.csv:1: the cell in column 2"),  # the header takes no line breaks
    ],
)
def test_quotes_that_do_not_close_make_the_file_unusable(text: str, message: str) -> None:
    with pytest.raises(InputUnreadableError) as info:
        rows(text, multiline=(1,) if "ok" in text else ())
    assert str(info.value).startswith(message), str(info.value)
    assert "does not guess" in str(info.value)


def test_only_the_named_columns_take_line_breaks_and_not_too_many() -> None:
    assert rows('a,b\n1,"x\ny"\n', multiline=(1,))[1].cells == ["1", "x\ny"]
    with pytest.raises(InputUnreadableError, match="runs over 13 lines"):
        rows('a,b\n1,"' + "x\n" * 12 + 'y"\n', multiline=(1,))


def test_lines_are_decoded_one_by_one() -> None:
    data = b"\xef\xbb\xbfa,b\r\nc\rd\n\xc3\xa9\n"
    assert list(decoded_lines(io.BytesIO(data), source="t", not_text=ValueError)) == [
        "a,b\r\n",
        "c\r",
        "d\n",
        "é\n",
    ]

    def not_text(line: int, reason: str) -> Exception:
        return ValueError(f"line {line}: {reason}")

    with pytest.raises(ValueError, match="line 3"):
        list(decoded_lines(io.BytesIO(b"a\nb\n\xff\n"), source="t", not_text=not_text))
