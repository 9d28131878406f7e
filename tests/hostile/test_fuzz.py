"""Generated campaigns (issue 9, the hypothesis test): faxbatch answers every one with a
documented exit code, never 1, never a traceback, and never shows a file from outside the
campaign's folder.

The campaign YAML is written by hand here, not dumped, so that it can hold what a stranger's file
holds: tags (``!!binary``, ``!!python/object``, ``!custom``), anchors and aliases, huge numbers,
nulls, ``.nan``, lists and mappings where text belongs, any Unicode (control characters, U+FFFE,
right-to-left text), and names of files inside and outside the folder. The recipients file and
``verification.csv`` come with random separators, quoting (closed or not), line endings,
byte-order marks, NULs and broken UTF-8. Most examples run in this process (``faxbatch.cli.main``
with its output captured), a few as a subprocess.

The run is deterministic (``derandomize``) and bounded (``max_examples``) for CI; set
``FAXBATCH_FUZZ_EXAMPLES=2000`` to try more by hand.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import shutil
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faxbatch.cli import main
from tests.hostile.conftest import DOCUMENTED, ROOT, assert_nowhere

EXAMPLES = int(os.environ.get("FAXBATCH_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=EXAMPLES or 250,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CANARY = "CANARY-fuzz-7f3e"

# -- YAML, written as text -------------------------------------------------------------------

PLAIN = [
    "yes", "no", "on", "~", "null", "", ".nan", ".inf", "-.inf", "0x1F", "0o17", "007", "1e400",
    "9" * 400, "-1", "0", "1", "3", "2012-05-10", "2012-13-45", "12:30", "25:99", "true",
    "A4", "Letter", "a4", "KZ", "US", "XX", "kz", "fax", "post", "mon-fri", "sun-mon", "mon",
    "09:00", "18:00", "DL", "C5", "us10", "A", "B", "premium_rate", "=cmd()", "x y",
]  # fmt: skip
#: plain scalars that break a flow collection (the file is then not valid YAML)
BREAKING = ["{name}", "@x", "<<", "- a", "a: b", "{", "[", "'", "%", "!", "&", "*", "#c", "|"]
TEXTS = [
    "+7 7172 74 55 24", "++7727 2715802", "8 (727) 271-58-02", "2715807/08",
    "+1 900 555 0100", "fax 2715802; tel 2715807", "+7 727 271 58 02 ext. 5",
    "Dear {name},", "Dear {nme},", "{{literal}}", "{", "}", "{name!r}", "{0}",
    "Almaty\nҚазақстан", "<b>Ministry & Co</b>", "Mr\u00a0Smith", "soft\u00adhyphen",
    "مرحبا بالعالم", "שלום", "\u202eevil", "a\u0000b", "\ufeff", "\ufffe\uffff", "\x1b[31m",
    "😀" * 3, "x" * 300, "ﬁ", "İ", "ß", "Ǆ",
]  # fmt: skip
#: text of the kind a letter holds, with what is hard to lay out: control characters, spaces and
#: line breaks of every kind, invisible and combining characters, right-to-left letters
TAME_TEXT = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),  # Latin,
    st.characters(min_codepoint=0xA0, max_codepoint=0x52F),  # Greek, Cyrillic
    st.characters(min_codepoint=0x590, max_codepoint=0x6FF),  # Hebrew, Arabic
    st.characters(min_codepoint=0x2000, max_codepoint=0x206F),  # spaces, dashes, bidi controls
    st.sampled_from(
        "\r\t\v\f\x1c\x1d\x1e\x1f\x85\x00\x1b\u2028\u2029\u00ad\u00a0\ufeff\u200d\u0301 \n"
    ),
)
TAGS = ["!!str", "!!binary", "!!int", "!!python/object:os.system", "!custom", "!!set", "!!map"]

TOP = {
    "campaign": ["title", "reference", "date"],
    "sender": ["name", "organization", "address", "phone", "fax", "email", "country"],
    "defaults": ["country"],
    "page": ["size"],
    "letter": ["subject", "greeting", "body", "body_file", "closing", "signature"],
    "cover": ["comments", "urgent"],
    "numbers": ["verification_max_age_days", "office_hours"],
    "print": [
        "envelope", "din5008", "fold_marks", "duplex", "max_pages_per_volume",
        "max_bytes_per_volume",
    ],
    "gateway": ["hylafax", "email"],
}  # fmt: skip
RECIPIENT = [
    "id", "name", "title", "organization", "address", "country", "fax", "phone",
    "allow_number_types", "channels",
]  # fmt: skip
FILE_NAMES = [
    "letter.md", "offices.csv", "verification.csv", "missing.md", "../outside/secret.txt",
    "missing.csv",
    "/dev/zero", "/dev/null", ".", "..", "out", "link.md", "loop.md", "fifo.md", "",
]  # fmt: skip


#: values of the kind each field takes (written as YAML), so that examples get past the first check
GOOD = {
    "title": ['"Free the activists"', "Drop the charges"],
    "reference": ["KZ-2012-05", '"T-1"'],
    "date": ["2012-05-10", '"2012-05-10"'],
    "name": ["Ann Organizer", '"The Presiding Judge"', "Қазақстан сотының төрағасы"],
    "organization": ["Almaty City Court", '"Solidarity & Co"'],
    "country": ["KZ", "US", "DE", "kz"],
    "fax": ['"++7727 2715802"', '"8 (7172) 74-55-24"', '"+7 7172 74 55 24"', '"+1 212 555 0100"'],
    "phone": ['"++7727 2715807/"', '"+7 727 271 58 02"'],
    "email": ["ann@example.org"],
    "size": ["A4", "Letter"],
    "subject": ["The trial of Dmitry Tikhonov", '"About {name}"'],
    "greeting": ['"Dear {name},"', '"Hello {title} {name}"'],
    "body": ['"We protest.\\n\\n- release him\\n- *drop* the charges\\n"', '"Text for {id}."'],
    "closing": ['"Sincerely,"'],
    "comments": ['"Please pass this on."'],
    "urgent": ["true", "false"],
    "fold_marks": ["true", "no"],
    "duplex": ["false", "yes"],
    "envelope": ["DL", "C5", "us10"],
    "din5008": ["A", "B"],
    "verification_max_age_days": ["90", "1"],
    "max_pages_per_volume": ["500", "1", "2"],
    "max_bytes_per_volume": ["5000000", "1"],
    "start": ['"09:00"'],
    "end": ['"18:00"'],
    "id": ["court", "admin", "a-1"],
    "title_": ["Judge"],
    "host": ["localhost", '"x}}\\"; touch pwned; : \\""'],
    "dials": ["12"],
    "smtp_host": ["smtp.example.net"],
    "user": ["ann"],
    "starttls": ["true"],
    "port": ["4559"],
    "tries": ["3"],
    "domain": ["fax.example.net"],
    "from": ["ann@example.org"],
}
#: fields that take any text
FREE_TEXT = {
    "title", "reference", "name", "organization", "subject", "greeting", "body", "closing",
    "comments",
}  # fmt: skip
LISTS = {
    "address": ["Almaty", '"Алматы, Қазақстан"', '"1 Main Street"'],
    "signature": ["Ann Organizer"],
    "days": ["mon", "tue", "fri", "mon-fri", "sun"],
    "channels": ["fax", "post"],
    "allow_number_types": ["premium_rate", "mobile"],
}


@dataclass
class Yaml:
    """A YAML document being written: its anchors so far, and how wild it may get."""

    anchors: list[str]
    wild: bool  # raw control characters, plain scalars that break flow style, odd keys
    noise: int  # in how many of 100 fields the value is of any kind, not of the field's
    #: the shape of a valid campaign: its own files, no aliases, braces only in placeholders
    tame: bool = False
    ids: int = 0  # ids given so far (each one new)
    size: str = "A4"  # the page size given (the envelope of a tame one suits it)


#: keys a mapping gets unless the document is wild (without them it stops at the first check)
REQUIRED = {"title", "name", "subject"}


def _quoted(text: str, *, raw: bool = False) -> str:
    """A double-quoted scalar; characters YAML does not allow raw escaped (unless ``raw``)."""
    out = []
    for char in text:
        if char in '\\"':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif not raw and (not char.isprintable() or char in "\ufeff\ufffe\uffff"):
            out.append(f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _no_braces(text: str) -> str:
    """``text`` with no braces but those of ``{name}`` (a tame campaign's placeholders)."""
    return "{name}".join(part.replace("{", "(").replace("}", ")") for part in text.split("{name}"))


def _scalar(draw: st.DrawFn, doc: Yaml) -> str:
    kind = draw(st.integers(0, 19))
    if kind < 7:
        return draw(st.sampled_from(PLAIN))
    if kind == 7 and doc.wild:
        return draw(st.sampled_from(BREAKING))
    text = draw(st.sampled_from(TEXTS) | st.text(max_size=12))
    if kind == 8 and text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return _quoted(text, raw=kind == 9 and doc.wild)


@st.composite
def yaml_value(draw: st.DrawFn, doc: Yaml, depth: int = 0) -> str:
    """Any value in flow style: a scalar, a list, a mapping, tagged, anchored, an alias."""
    choice = draw(st.integers(0, 9))
    if choice == 0 and doc.anchors:
        return "*" + draw(st.sampled_from(doc.anchors))
    if choice in (1, 2) and depth < 3:
        inner = draw(yaml_value(doc, depth + 1))
        if inner.startswith(("*", "!", "&")):  # one tag, one anchor, none on an alias
            return inner
        return f"{draw(st.sampled_from(TAGS))} {inner}" if choice == 1 else _anchored(doc, inner)
    if choice in (3, 4) and depth < 3:
        return "[" + ", ".join(draw(st.lists(yaml_value(doc, depth + 1), max_size=3))) + "]"
    if choice == 5 and depth < 3:
        return draw(yaml_mapping(doc, depth + 1, ["x", "name", "1"]))
    return _scalar(draw, doc)


def _anchored(doc: Yaml, value: str) -> str:
    name = f"a{len(doc.anchors)}"
    doc.anchors.append(name)
    return f"&{name} {value}"


@st.composite
def yaml_mapping(draw: st.DrawFn, doc: Yaml, depth: int, keys: list[str], section: str = "") -> str:
    """A flow mapping of some of ``keys`` (each with a value of its kind, mostly)."""
    names = [
        key for key in keys if (key in REQUIRED and not doc.wild) or draw(st.integers(0, 9)) < 6
    ]
    if doc.tame and "din5008" in names and doc.size != "A4":  # DIN 5008 is for A4
        names.remove("din5008")
    if "din5008" in names and "envelope" not in names and not doc.wild:
        names.append("envelope")
    if "body" in keys and not doc.wild:  # the letter: a body or a body file, not both
        names = [name for name in names if name not in ("body", "body_file")]
        names.append(draw(st.sampled_from(["body", "body_file"])))
    names = draw(st.permutations(names)) if draw(st.integers(0, 4)) == 4 else names
    if doc.wild and draw(st.integers(0, 4)) == 4:  # a key it does not know, or one given twice
        names.append(draw(st.sampled_from(["x", "tite", "Name", "<<", "1", "~", *keys[:1]])))
    pairs = [f"{name}: {_field(draw, doc, depth, name, section)}" for name in names]
    mapping = "{" + ", ".join(pairs) + "}"
    return _anchored(doc, mapping) if draw(st.integers(0, 9)) == 9 and not doc.tame else mapping


def _field(draw: st.DrawFn, doc: Yaml, depth: int, name: str, section: str = "") -> str:
    """A value for a known key: mostly of the kind it takes, sometimes anything."""
    roll = draw(st.integers(0, 99))
    if name in ("body_file", "recipients_file") and (roll < 90 or doc.tame):
        meant = "letter.md" if name == "body_file" else "offices.csv"
        return _quoted(meant if roll < 60 or doc.tame else draw(st.sampled_from(FILE_NAMES)))
    if name == "id" and roll > 30:
        doc.ids += 1
        return f"r{doc.ids}"
    if roll < doc.noise:
        return draw(yaml_value(doc, depth))
    if roll < 2 * doc.noise:
        return _scalar(draw, doc)
    if name in LISTS:
        items = draw(st.lists(st.sampled_from(LISTS[name]), min_size=roll < 95, max_size=3))
        return "[" + ", ".join(items) + "]" if roll < 80 else "".join(items[:1]) or "~"
    if name == "office_hours":
        return draw(yaml_mapping(doc, depth + 1, ["days", "start", "end"]))
    if name == "hylafax" and section == "gateway":
        return draw(yaml_mapping(doc, depth + 1, ["host", "port", "tries", "dials"]))
    if name == "email" and section == "gateway":
        keys = ["domain", "smtp_host", "from", "user", "starttls"]
        return draw(yaml_mapping(doc, depth + 1, keys))
    if name in FREE_TEXT and roll > 70:  # any text is valid here: the layout must cope
        alphabet = TAME_TEXT if doc.tame else st.characters()
        text = draw(st.sampled_from(TEXTS) | st.text(alphabet, max_size=30))
        return _quoted(_no_braces(text) if doc.tame else text)
    if name == "size" and doc.tame:
        doc.size = draw(st.sampled_from(["A4", "Letter"]))
        return doc.size
    if name == "envelope" and doc.tame:
        return draw(st.sampled_from(["DL", "C5"] if doc.size == "A4" else ["us10"]))
    if name == "host" and doc.tame:
        return "localhost"
    if name in GOOD:
        return draw(st.sampled_from(GOOD[name]))
    return _scalar(draw, doc)


@st.composite
def campaign_yaml(draw: st.DrawFn, *, tame: bool = False) -> str:
    """A campaign file: top-level sections (mostly the known ones), recipients, maybe a file.

    A ``tame`` one has the shape of a valid campaign (its text may be any text): it gets as far
    as the layout.
    """
    wild = not tame and draw(st.integers(0, 4)) == 4  # hypothesis favours small draws: 0 usual
    noise = 0 if tame else draw(st.sampled_from([0, 1, 3, 10, 30]))
    doc = Yaml(anchors=[], wild=wild, noise=noise, tame=tame)
    lines = []
    for section in sorted(TOP):
        needed = section in ("campaign", "sender", "letter")
        if (needed and tame) or draw(st.integers(0, 39)) < (39 if needed else 16):
            lines.append(f"{section}: {draw(yaml_mapping(doc, 1, TOP[section], section))}")
    if draw(st.booleans()):
        lines.append(f"recipients_file: {_field(draw, doc, 1, 'recipients_file')}")
    if draw(st.integers(0, 9)) < 9:
        people = draw(st.lists(yaml_mapping(doc, 1, RECIPIENT), min_size=1, max_size=4))
        if doc.anchors and not tame and draw(st.integers(0, 4)) == 0:
            people.append("*" + draw(st.sampled_from(doc.anchors)))
        lines.append("recipients: [" + ", ".join(people) + "]")
    if doc.wild and draw(st.integers(0, 3)) == 0:
        lines.append(draw(st.sampled_from(["%YAML 1.1", "---", "...", "? x", "\t- y", "&a"])))
    if doc.wild and draw(st.integers(0, 2)) == 0:
        lines = draw(st.permutations(lines))
    return "\n".join(lines) + "\n"


# -- CSV, written as bytes ---------------------------------------------------------------------

RECIPIENT_COLUMNS = [*RECIPIENT, "name", "fax", "facs", ""]
VERIFICATION_COLUMNS = ["number", "result", "date", "result", "date", "by", "note", "Number", "x"]
CELLS = [
    "+7 7172 74 55 24", "++7727 2715802", "7.72727E+10", '="+77272715802"', "verified", "wrong",
    "no-fax-tone", "no-answer", "verifed", "2012-05-08", "08.05.2012", "5/8/2012", "KZ", "KAZ",
    "court", "Court", "a", "fax; post", "premium", "#remark", "Almaty | KZ", "Ann", "",
]  # fmt: skip


def _cell(draw: st.DrawFn, separator: str, damaged: bool, tame: bool = False) -> str:
    odd = st.text(alphabet=TAME_TEXT if tame else string.printable + "ё\u00a0\0", max_size=8)
    text = draw(st.sampled_from(CELLS) | odd)
    how = draw(st.integers(0, 19))
    if tame:  # a cell as a spreadsheet writes it, on one line
        text = text.replace("\r", " ").replace("\n", " ").replace("\x85", " ")
        quoted = how <= 3 or separator in text or '"' in text or text.strip() != text
        return '"' + text.replace('"', '""') + '"' if quoted else text
    if how <= 3:  # quoted, as a spreadsheet writes it (line breaks possible)
        extra = draw(st.sampled_from(["", "", "\n", "\r\n", separator]))
        return '"' + (text + extra).replace('"', '""') + '"'
    if how == 4 and damaged:  # a quote that opens and never closes
        return '"' + text
    if how == 5 and damaged:  # a quote that closes with text after it
        return '"' + text + '"x'
    return text.replace('"', "") if not damaged else text


@st.composite
def csv_bytes(
    draw: st.DrawFn,
    columns: list[str],
    key: str,
    *,
    tame: tuple[str, ...] = (),
    known: tuple[str, ...] = (),
) -> bytes:
    """A CSV file: a header (mostly known columns), rows, random habits and, often, damage.

    With ``known`` columns, a usable file: no damage, its header ``key``, the columns ``tame``
    names and some ``known`` ones, in any order.
    """
    usable = bool(known)
    damaged = not usable and draw(st.booleans())
    separator = draw(st.sampled_from([",", ";", "\t"] if usable else [",", ";", "\t", "|"]))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if usable:
        extra = draw(st.lists(st.sampled_from(known), max_size=4, unique=True))
        header = draw(st.permutations(list(dict.fromkeys([key, *tame, *extra]))))
    else:
        header = draw(st.lists(st.sampled_from(columns), max_size=6, unique=not damaged))
        if key not in header and draw(st.integers(0, 4)) < 4:
            header.insert(draw(st.integers(0, len(header))), key)
    rows = [separator.join(header)]
    for _ in range(draw(st.integers(0, 6))):
        short = not usable and draw(st.integers(0, 3)) == 3  # rows too short or too long
        width = draw(st.integers(0, 7)) if short else len(header)
        cells = (_cell(draw, separator, damaged, usable) for _ in range(width))
        rows.append(separator.join(cells))
    data = ending.join(rows).encode("utf-8")
    if draw(st.booleans()):
        data += ending.encode()
    if draw(st.integers(0, 3)) == 0:
        data = b"\xef\xbb\xbf" + data
    for _ in range(draw(st.integers(0, 2)) if damaged else 0):  # broken UTF-8, NULs, surrogates
        junk = draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80", b"\xef\xbb\xbf"]))
        at = draw(st.integers(0, len(data)))
        data = data[:at] + junk + data[at:]
    return data


# -- running it ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One generated campaign folder's content and the command run on it."""

    campaign: str
    offices: bytes
    verification: bytes | None
    letter: str
    command: str
    epoch: str | None


EPOCHS = st.none() | st.sampled_from(["1336608000", "abc", "-5", "1.5", "99999999999999999"])
#: anything a stranger may write
wild_examples = st.builds(
    Example,
    campaign=campaign_yaml(),
    offices=csv_bytes(RECIPIENT_COLUMNS, "name"),
    verification=st.none() | csv_bytes(VERIFICATION_COLUMNS, "number"),
    letter=st.sampled_from(TEXTS) | st.text(max_size=40),
    command=st.sampled_from(["check", "check", "build"]),
    epoch=EPOCHS,
)
#: campaigns and files of a valid shape, with any text: most get built, through the layout
tame_examples = st.builds(
    Example,
    campaign=campaign_yaml(tame=True),
    offices=csv_bytes(RECIPIENT_COLUMNS, "name", tame=("fax",), known=tuple(RECIPIENT)),
    verification=st.none()
    | csv_bytes(
        VERIFICATION_COLUMNS,
        "number",
        tame=("result", "date"),
        known=("result", "date", "by", "note"),
    ),
    letter=st.builds(_no_braces, st.sampled_from(TEXTS) | st.text(TAME_TEXT, max_size=80)),
    command=st.sampled_from(["check", "build", "build"]),
    epoch=EPOCHS,
)
examples = tame_examples | wild_examples


def _lay_out(root: Path, example: Example) -> Path:
    """The example's folder: the campaign and its files, odd files beside, a canary outside."""
    folder = root / "campaign"
    (root / "outside").mkdir(parents=True)
    (root / "outside/secret.txt").write_text(f"{CANARY}\n", encoding="utf-8")
    folder.mkdir()
    (folder / "campaign.yaml").write_text(example.campaign, encoding="utf-8", errors="replace")
    (folder / "offices.csv").write_bytes(example.offices)
    if example.verification is not None:
        (folder / "verification.csv").write_bytes(example.verification)
    (folder / "letter.md").write_text(example.letter, encoding="utf-8", errors="replace")
    (folder / "link.md").symlink_to(root / "outside/secret.txt")
    (folder / "loop.md").symlink_to("loop.md")
    os.mkfifo(folder / "fifo.md")
    return folder


@contextlib.contextmanager
def _environment(epoch: str | None) -> Iterator[None]:
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        os.environ.pop("SOURCE_DATE_EPOCH", None)
    else:
        os.environ["SOURCE_DATE_EPOCH"] = epoch
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


def run_in_process(args: list[str], epoch: str | None) -> tuple[int, str]:
    """``faxbatch ARGS`` in this process: the exit code and everything it printed."""
    out, err = io.StringIO(), io.StringIO()
    threshold = gc.get_threshold()
    try:
        with _environment(epoch), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
    finally:
        gc.unfreeze()  # main() tunes the collector for a one-shot process; this one goes on
        gc.set_threshold(*threshold)
    return code, out.getvalue() + err.getvalue()


def run_subprocess(args: list[str], epoch: str | None, cwd: Path) -> tuple[int, str]:
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("SOURCE_DATE_EPOCH", None)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = epoch
    result = subprocess.run(
        [sys.executable, "-m", "faxbatch", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return result.returncode, result.stdout + result.stderr


def _check(root: Path, example: Example, *, in_process: bool) -> None:
    folder = _lay_out(root, example)
    try:
        args = [example.command, str(folder / "campaign.yaml"), "--out", str(folder / "out")]
        if example.command == "build":
            args += ["--jobs", "1"]
        if in_process:
            code, printed = run_in_process(args, example.epoch)
        else:
            code, printed = run_subprocess(args, example.epoch, folder)
        assert code in DOCUMENTED and code != 1, f"exit {code}:\n{printed}\n{example.campaign}"
        assert "Traceback" not in printed, printed
        assert CANARY not in printed, printed
        (folder / "fifo.md").unlink()
        assert_nowhere(folder, CANARY)
    finally:
        shutil.rmtree(root)


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


_count = iter(range(10**9))


@FUZZ
@given(example=examples)
def test_generated_campaigns_get_documented_answers(fuzz_root: Path, example: Example) -> None:
    _check(fuzz_root / f"ex-{next(_count)}", example, in_process=True)


@settings(FUZZ, max_examples=max(EXAMPLES // 40, 6))
@given(example=examples)
def test_generated_campaigns_as_a_subprocess(fuzz_root: Path, example: Example) -> None:
    _check(fuzz_root / f"sub-{next(_count)}", example, in_process=False)
