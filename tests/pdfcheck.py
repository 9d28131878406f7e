"""Helpers that read built PDFs the way users' tools do (pypdf, poppler, qpdf)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest


def require_tool(name: str) -> str:
    """The path of a command-line tool; skip (or fail under CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian: poppler-utils / qpdf)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def page_texts(path: Path) -> list[str]:
    """Text of every page, extracted by pypdf."""
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def poppler_text(path: Path) -> str:
    """Text extracted by poppler's pdftotext (a real PDF reader)."""
    tool = require_tool("pdftotext")
    return subprocess.run(
        [tool, "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def qpdf_check(path: Path) -> None:
    """qpdf finds no structural error."""
    tool = require_tool("qpdf")
    result = subprocess.run([tool, "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def font_report(path: Path) -> list[tuple[str, bool]]:
    """(base font, embedded?) of every font in the file, read with pypdf."""
    reader = pypdf.PdfReader(path)
    fonts: dict[str, bool] = {}
    for page in reader.pages:
        resources = page.get("/Resources", {})
        for ref in resources.get("/Font", {}).values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target.get("/FontDescriptor")
            embedded = bool(
                descriptor
                and any(
                    k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")
                )
            )
            fonts[str(font["/BaseFont"])] = embedded
    return sorted(fonts.items())
