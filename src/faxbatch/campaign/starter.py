"""``faxbatch init``: a small, commented starter campaign that builds as it is.

Four files: ``campaign.yaml`` (every section; the optional ones commented out, each key with one
line on what it does), ``letter.md``, ``recipients.csv`` (its header and two example rows, with
fictional numbers) and ``verification.csv`` (its header). An existing file is never replaced: when
any of them is there already, nothing is written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from faxbatch.errors import OutputNotWritableError

CAMPAIGN_YAML = """\
# A faxbatch campaign: one letter, faxed to every recipient with a cover sheet.
#   faxbatch check campaign.yaml --out out    judge the numbers, write the volunteers' sheet
#   faxbatch build campaign.yaml --out out    build the faxes, the print volume, the manifests
# Every key is described in faxbatch's README, "The campaign file". Lines starting with # are
# comments: remove the # (and one space) to use an optional section.

campaign:
  title: Drop the charges             # required: the campaign's name, on every cover sheet
  reference: CAMPAIGN-1               # printed on the cover, the letter and every footer
  # date: 2026-01-31                  # the letter's date (YYYY-MM-DD); default: today
  # deadline: 2026-02-06T18:00+05:00  # no fax is handed over after it (a date, or with its zone)

sender:                               # who sends the letters (on every cover sheet)
  name: Campaign Secretary            # required
  organization: Your Group
  address: [1 Main Street, "Springfield, IL 62701"]
  phone: "+1 217 555 0100"            # where a recipient (or the print shop) can call you
  email: campaign@example.org
  country: US                         # how your own people write numbers (011 ... from the US)

defaults:
  country: US                         # the recipients' country, unless a recipient says otherwise

# page:
#   size: A4                          # A4 or Letter

letter:
  subject: Drop the charges against the activists   # required: the "Regarding" line
  greeting: "Dear {name},"            # placeholders: {name} {title} {organization} {id} {country}
  body_file: letter.md                # the letter's text (Markdown), beside this file
  closing: "Sincerely,"
  signature: [Campaign Secretary, Your Group]   # the lines under the closing
  # language: en                      # the letter's language (labels, dates); default: en

# translations:                       # the letter in the officials' languages
#   ru:                               # what a translation leaves out is taken from the letter
#     subject: Прекратить преследование активистов
#     greeting: "Уважаемый {name}!"
#     body_file: letter.ru.md
#     closing: "С уважением,"

# cover:
#   comments: Please pass this letter to the judge.   # a note on every cover sheet
#   urgent: true                      # mark the cover sheet URGENT

# enclosures: [statement.pdf]         # PDFs after every letter (beside this file)

# signatories:                        # who signs besides the sender (a CSV beside this file)
#   file: signers.csv                 # columns: name, organization, country, role, city, ...
#   mode: annex                       # annex: listed after the letter; per_signer: a letter each

# copies_to:                          # on each cover, in "cc:"; send emails each a copy
#   - {name: Campaign office, email: organizers@example.org}

recipients_file: recipients.csv       # one recipient per row; its header names the columns

# recipients:                         # or (also) list recipients here
#   - id: city-court                  # optional; made from the name when absent
#     name: Presiding Judge           # a name or an organization is required
#     organization: City Court
#     country: US                     # two-letter code; default: defaults.country
#     fax: "+1 217 555 0123"          # written as you found it; faxbatch reads it
#     phone: "+1 217 555 0124"        # the office's voice line, for volunteers who check
#     channels: [fax]                 # fax, post, or both (post needs an address)
#     language: ru                    # the letter in this language (see translations:)
#     signers_from: [US, CA]          # per_signer: only the letters of signers from these
#     office_hours: {days: [sun-thu], start: "09:00", end: "17:00"}   # this office's own

# numbers:
#   verification_max_age_days: 90     # a volunteer's "verified" older than this is stale
#   office_hours:                     # when offices take faxes, in each office's own time
#     days: [mon-fri]                 # day names or ranges
#     start: "09:00"                  # HH:MM, 24-hour clock
#     end: "18:00"                    # or spans: hours: ["09:00-13:00", "14:00-18:00"]
#     holidays: true                  # false: open on the public holidays of the country

# print:                              # the print volumes and postal letters
#   envelope: DL                      # postal letters: DL or C5 (A4) or us10 (Letter)
#   fold_marks: true                  # fold marks in the left margin
#   duplex: true                      # every postal letter starts on a front side
#   max_pages_per_volume: 500         # volumes split at letter boundaries
#   max_bytes_per_volume: 5000000     # (a common upload limit is 5 MB)

# gateway:                            # for faxbatch send; never write a password here
#   hylafax: {host: localhost, port: 4559, tries: 3, dials: 12}
#   email: {domain: fax.example.net, smtp_host: smtp.example.net, from: campaign@example.org}
"""

LETTER_MD = """\
We write on behalf of our members to ask you to drop the charges against the activists who were
arrested at the peaceful demonstration of last week.

Peaceful assembly and free expression are rights your country has undertaken to respect. We
therefore ask you:

1. to drop the charges and release the activists at once;
2. to investigate the conduct of the police.

We will follow this case closely and share your answer with our members.
"""

#: two example rows; 555-01xx numbers are fictional in North America (they reach nobody)
RECIPIENTS_CSV = "".join(
    ",".join(row) + "\n"
    for row in (
        ("id", "name", "title", "organization", "address", "country", "fax", "phone", "channels"),
        (
            "city-court",
            "Presiding Judge",
            "",
            "Springfield City Court",
            "200 Court Square | Springfield IL 62701",
            "US",
            "+1 217 555 0123",
            "+1 217 555 0124",
            "fax",
        ),
        (
            "state-attorney",
            "State's Attorney",
            "",
            "Office of the State's Attorney",
            "",
            "US",
            "+1 217 555 0155",
            "+1 217 555 0156",
            "fax",
        ),
    )
)

VERIFICATION_CSV = "number,result,date,by,note\n"

#: the starter's files, in the order they are written and listed
FILES: tuple[tuple[str, str], ...] = (
    ("campaign.yaml", CAMPAIGN_YAML),
    ("letter.md", LETTER_MD),
    ("recipients.csv", RECIPIENTS_CSV),
    ("verification.csv", VERIFICATION_CSV),
)


def write_starter(folder: Path) -> list[Path]:
    """Write the starter campaign into ``folder`` (made when missing); the files written.

    Raises :class:`OutputNotWritableError` naming the first file that exists already (then
    nothing is written) or that cannot be written.
    """
    targets = [(folder / name, text) for name, text in FILES]
    for path, _text in targets:
        if os.path.lexists(path):
            raise OutputNotWritableError(
                f"{path} exists already; faxbatch init never replaces a file",
                hint="run it in an empty folder: faxbatch init NEW-FOLDER",
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path, text in targets:
            _write_new(path, text.encode("utf-8"))
    except FileExistsError as exc:
        raise OutputNotWritableError(
            f"{exc.filename} exists already; faxbatch init never replaces a file"
        ) from None
    except OSError as exc:
        raise OutputNotWritableError(
            f"cannot write the starter campaign in {folder}: {exc}"
        ) from None
    return [path for path, _text in targets]


def _write_new(path: Path, data: bytes) -> None:
    """Write a file whole under a temporary name, then give it its name only if that is free."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        Path(tmp).chmod(0o644)
        os.link(tmp, path)  # fails when the name was taken meanwhile: never replaces
    finally:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()


__all__ = ["FILES", "write_starter"]
