"""A quote that is not closed in a CSV file (issue 9, item 9).

Python's csv module reads the rest of the file after an unclosed quote as one cell: a hundred
recipients vanished, or a volunteer's "wrong" was dropped and the fax went to that number. The
file is now unusable (exit 4) with the line where the quote opened; a cell over the csv module's
size limit is a clear error too, never exit 1. The previous batch stays.
"""

from __future__ import annotations

import pytest

from tests.conftest import BASIC
from tests.hostile.conftest import Sandbox, snapshot

ROWS = BASIC.split("recipients:")[0] + "recipients_file: offices.csv\n"
GOOD_ROW = "a{n},Office {n},+7 7172 74 55 {n:02d},Astana\n"


def offices(*middle: str, after: int = 30) -> str:
    """A header, two good rows, ``middle``, then ``after`` good rows (that must not vanish)."""
    rows = [GOOD_ROW.format(n=n) for n in (1, 2)]
    rows += [GOOD_ROW.format(n=n) for n in range(10, 10 + after)]
    return "id,name,fax,address\n" + "".join(rows[:2]) + "".join(middle) + "".join(rows[2:])


@pytest.mark.parametrize(
    ("rows", "line", "words"),
    [
        # an address quote never closed: the rest of the file would be one address
        (offices('b,Office B,+7 7172 74 55 03,"Astana\n'), 4, ("never closed",)),
        # a name quote that a later cell's quote "closes": text follows the closing quote
        (offices('b,"Office B,+7 7172 74 55 03,Astana\n', 'c,Office C,+7 7172,"x"y\n'), 4, ()),
        # a quoted line break in a column that takes none (only the address does)
        (offices('b,"Office\nB",+7 7172 74 55 03,Astana\n'), 4, ("column 2", "runs over 2")),
        # an address over more lines than any address has
        (offices('b,B,+7 7172 74 55 03,"' + "line\n" * 14 + 'end"\n'), 4, ("runs over 15",)),
        # the quote opens at the start of the fourth row, after a good multi-line address
        (
            offices('b,B,+7 7172 74 55 03,"Astana\nKZ"\n', 'c,"C,+7 7172 74 55 04,Astana\n'),
            6,
            ("never closed",),
        ),
    ],
)
def test_an_unclosed_quote_in_the_recipients_file_makes_it_unusable(
    sandbox: Sandbox, rows: str, line: int, words: tuple[str, ...]
) -> None:
    before = sandbox.build_good()
    sandbox.write("offices.csv", rows)
    campaign = sandbox.campaign(ROWS)
    for command in ("build", "check"):
        run = sandbox.run(command, campaign, "--out", sandbox.out)
        assert run.returncode == 4, run.stderr
        assert f"offices.csv:{line}:" in run.stderr, run.stderr
        assert f"opened with a quote on line {line}" in run.stderr or (
            f"quote opened on line {line}" in run.stderr
        )
        for word in words:
            assert word in run.stderr
        assert "faxbatch does not guess" in run.stderr
    assert snapshot(sandbox.out) == before
    sandbox.assert_canary_kept()


def test_a_closed_multi_line_address_still_reads(sandbox: Sandbox) -> None:
    sandbox.write("offices.csv", offices('b,B,+7 7172 74 55 03,"Astana\nKazakhstan"\n'))
    run = sandbox.run("check", sandbox.campaign(ROWS), "--out", "sheet")
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("+7717274") == 33  # every row read: 2 + 1 + 30


def test_an_unclosed_quote_in_the_verification_sheet_makes_it_unusable(sandbox: Sandbox) -> None:
    before = sandbox.build_good()
    # the note on line 3 opens a quote: read as one cell, line 4's "wrong" would be dropped and
    # the court faxed on a number a volunteer found wrong
    sandbox.write(
        "verification.csv",
        "number,result,date,by,note\n"
        "+7 7172 74 55 24,verified,2012-05-08,Ann,fine\n"
        '+7 727 271 58 07,no-answer,2012-05-08,Ann,"rang out\n'
        "+7 727 271 58 02,wrong,2012-05-09,Boris,a private flat now\n",
    )
    campaign = sandbox.campaign()
    for command in ("build", "check"):
        run = sandbox.run(command, campaign, "--out", sandbox.out)
        assert run.returncode == 4, run.stderr
        assert "verification.csv:3: the quote opened on line 3 is never closed" in run.stderr
    # a quoted line break is refused too: no column of the sheet takes one
    sandbox.write(
        "verification.csv",
        'number,result,date,by,note\n+7 727 271 58 02,wrong,2012-05-09,Boris,"two\nlines"\n',
    )
    run = sandbox.run("check", campaign, "--out", sandbox.out)
    assert run.returncode == 4 and "verification.csv:2: the cell in column 5" in run.stderr
    assert snapshot(sandbox.out) == before
    sandbox.assert_canary_kept()


@pytest.mark.parametrize("name", ["offices.csv", "verification.csv"])
def test_a_cell_or_a_line_too_long_is_a_clear_error(sandbox: Sandbox, name: str) -> None:
    before = sandbox.build_good()
    header = "id,name,fax,address\n" if name == "offices.csv" else "number,result,date,note\n"
    campaign = sandbox.campaign(ROWS if name == "offices.csv" else BASIC)
    for body, words in (
        ('x,"' + "y" * 200_000 + '",1,2\n', "runs past 131072 characters"),  # a quoted cell
        ("x," + "y" * 200_000 + ",1,2\n", "runs past 131072 characters"),  # an unquoted one
        ("x," + "y," * 600_000 + "\n", "longer than 1048576 bytes"),  # a line
    ):
        sandbox.write(name, header + body)
        run = sandbox.run("check", campaign, "--out", sandbox.out)
        assert run.returncode == 4, run.stderr
        assert f"{name}:2: " in run.stderr and words in run.stderr, run.stderr
    assert snapshot(sandbox.out) == before
    sandbox.assert_canary_kept()
