"""The manifests: one entry per document, the same content as JSON and as CSV.

``manifest.json`` is for fax gateways and scripts (``schema_version`` marks its shape);
``manifest.csv`` holds the same values, exactly as in the JSON, for gateways' CSV upload and for
print shops: UTF-8 with a byte-order mark so that Excel reads Cyrillic right. (The volunteers'
number sheet, not this file, is the one made safe for spreadsheets to open and edit.)
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SCHEMA_VERSION = 1

#: the columns of manifest.csv and the keys of each document in manifest.json, in order
FIELDS = (
    "recipient_id",
    "recipient_name",
    "organization",
    "channel",
    "status",
    "problems",
    "fax_raw",
    "fax_e164",
    "fax_international",
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
)


def manifest_json(campaign: Mapping[str, Any], documents: Sequence[Mapping[str, Any]]) -> bytes:
    """``manifest.json``: ``{"schema_version", "campaign", "documents"}``, stable key order."""
    body = {
        "schema_version": SCHEMA_VERSION,
        "campaign": dict(campaign),
        "documents": [{key: doc.get(key) for key in FIELDS} for doc in documents],
    }
    return (json.dumps(body, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def csv_cell(value: Any) -> str:
    """One value as CSV text: lists joined with "; ", booleans as true/false, null as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return str(value)


def csv_bytes(rows: Iterable[Mapping[str, Any]], fields: Sequence[str] = FIELDS) -> bytes:
    """A CSV file with a header row, UTF-8 with BOM, CRLF line ends (what Excel expects)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([csv_cell(row.get(field)) for field in fields])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def manifest_csv(documents: Sequence[Mapping[str, Any]]) -> bytes:
    """``manifest.csv``: the documents of manifest.json as rows."""
    return csv_bytes(documents)
