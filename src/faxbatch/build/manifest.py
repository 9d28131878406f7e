"""The manifests: one entry per document, the same content as JSON and as CSV.

``manifest.json`` is for fax gateways and scripts (``schema_version`` marks its shape);
``manifest.csv`` holds the same values for print shops and gateways' CSV upload: UTF-8 with a
byte-order mark so that Excel reads Cyrillic right, and every cell that starts like a formula
(``=``, ``+``, ``-``, ``@``, tab, CR) written as ``="..."`` so that no spreadsheet runs it
(:mod:`faxbatch.csvcells`; ``+77272715802`` is ``="+77272715802"``). Scripts read the JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from faxbatch.csvcells import csv_bytes, csv_cell, csv_row

__all__ = ["FIELDS", "SCHEMA_VERSION", "ManifestWriter", "csv_bytes", "csv_cell", "manifest_csv"]

SCHEMA_VERSION = 1

#: the columns of manifest.csv and the keys of each document in manifest.json, in order
FIELDS = (
    "recipient_id",
    "recipient_name",
    "organization",
    "signer_id",
    "signer_name",
    "channel",
    "language",
    "languages",
    "status",
    "problems",
    "fax_raw",
    "fax_e164",
    "fax_international",
    "fax_national",
    "fax_valid",
    "fax_type",
    "fax_region",
    "fax_location",
    "fax_time_zones",
    "fax_verdict",
    "fax_reasons",
    "fax_verification",
    "fax_verified_on",
    "fax_verified_by",
    "window_start_local",
    "window_end_local",
    "window_start_utc",
    "window_end_utc",
    "window_time_zone",
    "dial_string",
    "phone_raw",
    "phone_e164",
    "file",
    "pages",
    "sha256",
    "volume",
    "volume_first_page",
    "volume_last_page",
    "fields",
)


def manifest_json(campaign: Mapping[str, Any], documents: Sequence[Mapping[str, Any]]) -> bytes:
    """``manifest.json``: ``{"schema_version", "campaign", "documents"}``, stable key order.

    One document per line: readable, easy to grep, and quick to write for 50,000 documents.
    """
    buffer = io.StringIO()
    writer = _JsonManifest(buffer, campaign)
    for document in documents:
        writer.add(document)
    writer.close()
    return buffer.getvalue().encode("utf-8")


class _JsonManifest:
    def __init__(self, out: IO[str], campaign: Mapping[str, Any]) -> None:
        self._out = out
        head = {"schema_version": SCHEMA_VERSION, "campaign": dict(campaign)}
        out.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "documents": [')
        self.count = 0

    def add(self, document: Mapping[str, Any]) -> None:
        entry = {key: document.get(key) for key in FIELDS}
        self._out.write(("," if self.count else "") + "\n" + json.dumps(entry, ensure_ascii=False))
        self.count += 1

    def close(self) -> None:
        self._out.write("\n]}\n")


def manifest_csv(documents: Sequence[Mapping[str, Any]]) -> bytes:
    """``manifest.csv``: the documents of manifest.json as rows (cells made formula-safe)."""
    return csv_bytes(documents, FIELDS)


class ManifestWriter:
    """Writes ``manifest.json`` and ``manifest.csv`` a document at a time (flat memory).

    The files are byte for byte what :func:`manifest_json` and :func:`manifest_csv` give for the
    same documents.
    """

    def __init__(self, folder: Path, campaign: Mapping[str, Any]) -> None:
        self._json_file = (folder / "manifest.json").open("w", encoding="utf-8", newline="\n")
        self._json = _JsonManifest(self._json_file, campaign)
        self._csv_file = (folder / "manifest.csv").open("w", encoding="utf-8", newline="")
        self._csv_file.write("\ufeff")
        self._csv = csv.writer(self._csv_file, lineterminator="\r\n")
        self._csv.writerow(FIELDS)

    def add(self, document: Mapping[str, Any]) -> None:
        """Append one document."""
        self._json.add(document)
        self._csv.writerow(csv_row(document, FIELDS))

    def close(self) -> None:
        """Finish both files."""
        self._json.close()
        self._json_file.close()
        self._csv_file.close()

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.close()
        else:  # unfinished: the files go with the staging folder
            self._json_file.close()
            self._csv_file.close()
