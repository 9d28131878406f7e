"""What volunteers found since the build: ``verification.csv`` beside the campaign, read again.

A number found wrong (or without a fax tone) after the batch was built must not be dialled: ``send``
reads the sheet again each time (from the campaign's folder only, as every campaign input is
read), refuses such a fax and cancels its queued HylaFAX job.
"""

from __future__ import annotations

from faxbatch.campaign.inputs import VERIFICATION, Origin, allowed_folders, open_input
from faxbatch.errors import InputUnreadableError
from faxbatch.numbers.verification import FILE_NAME, Finding, VerificationSheet, parse_verification
from faxbatch.sending.batch import MANIFEST_NAME, Batch
from faxbatch.sending.journal import campaign_file_of

#: what a volunteer may find that makes a fax number unusable
REFUSING = ("wrong", "no-fax-tone")


def sheet_of(batch: Batch) -> VerificationSheet:
    """The campaign's verification sheet as it is now (empty when there is none).

    :class:`InputUnreadableError` when it exists but cannot be read (better stop than dial a
    number volunteers may have found wrong), or when the campaign file the manifest names is not
    a regular file: the sheet is read only beside a real campaign file.
    """
    where = str(batch.root / MANIFEST_NAME)
    campaign_file = campaign_file_of(batch.campaign, where, batch.root)
    if campaign_file is None:
        return VerificationSheet()
    source = str(campaign_file)
    path = campaign_file.parent / FILE_NAME
    if not path.is_symlink() and not path.exists():
        return VerificationSheet()
    origin = Origin(source, None, f"{FILE_NAME} beside it")
    with open_input(path, VERIFICATION, origin, folders=allowed_folders(campaign_file)) as stream:
        data = stream.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputUnreadableError(
            f"{path}: the verification sheet is not UTF-8 text",
            hint="save it from the spreadsheet as 'CSV UTF-8'",
        ) from None
    regions = [batch.campaign.get("default_country")]
    regions += [doc.get("fax_region") for doc in batch.documents if doc.get("fax_region")]
    sender = batch.campaign.get("sender_country")
    return parse_verification(
        text,
        source=path,
        regions=[str(r) for r in dict.fromkeys(regions) if r],
        sender_region=str(sender) if sender else None,
    )


def refusal(sheet: VerificationSheet, e164: str) -> str | None:
    """Why a number may no longer be dialled, by the sheet; None when it may."""
    finding: Finding | None = sheet.latest(e164)
    if finding is None or finding.result not in REFUSING:
        return None
    note = f" ({finding.note})" if finding.note else ""
    what = "found wrong" if finding.result == "wrong" else "no fax tone when called"
    return f"{what} {finding.who_when()}{note} in {FILE_NAME}"
