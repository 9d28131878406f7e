"""Shared fixtures: small campaigns written to a temporary folder."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

BASIC = """\
campaign: {title: Free the activists, reference: T-1, date: 2012-05-10}
sender:
  name: Ann Organizer
  organization: Solidarity Group
  address: [1 Main Street, Springfield]
  phone: "+1 212 555 0100"
  email: ann@example.org
  country: US
defaults: {country: KZ}
page: {size: A4}
letter:
  subject: The trial of Dmitry Tikhonov
  greeting: "Dear {name},"
  body: |
    We protest against the trial.

    - release him
    - drop the charges
  closing: "Sincerely,"
  signature: [Ann Organizer]
cover: {comments: Please pass this on., urgent: true}
recipients:
  - id: court
    name: The Presiding Judge
    organization: Almaty City Court
    address: [Almaty]
    fax: "++7727 2715802"
    phone: "++7727 2715807/"
  - id: admin
    name: Head of the Presidential Administration
    fax: "8 (7172) 74-55-24"
  - id: ministry
    name: Foreign Ministry
"""


@pytest.fixture
def write_campaign(tmp_path: Path) -> Callable[..., Path]:
    """Write a campaign file (and optional extra files) and return its path."""

    def write(text: str = BASIC, name: str = "campaign.yaml", **files: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        for file_name, content in files.items():
            (tmp_path / file_name.replace("__", ".")).write_text(content, encoding="utf-8")
        return path

    return write


@pytest.fixture
def basic_campaign(write_campaign: Callable[..., Path]) -> Path:
    return write_campaign()
