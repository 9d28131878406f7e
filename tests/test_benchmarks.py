"""The benchmarks' baselines make the letters faxbatch makes (checked small; never timed here)."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pypdf
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench() -> Iterator[tuple[ModuleType, ModuleType]]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import baselines
        import bench_build
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    yield bench_build, baselines


def _pages(volume: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(volume)).pages]


def test_the_platypus_baseline_makes_a_cover_and_a_numbered_letter(
    bench: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    bench_build, baselines = bench
    campaign = bench_build.make_campaign(tmp_path, 3)
    measured = baselines.platypus_letters(campaign, 3)
    pages = _pages(measured.volume)
    assert measured.letters == 3 and measured.pages == len(pages)
    per_letter = measured.pages // 3
    assert per_letter >= 3  # a cover sheet and a letter of two pages or more
    for n in range(3):
        cover = pages[n * per_letter]
        assert "FAX" in cover and f"Office {n}" in cover and "+7 7172" in cover
        for k in range(per_letter):
            assert f"Page {k + 1} of {per_letter}" in pages[n * per_letter + k]
        assert "Sincerely," in pages[n * per_letter + per_letter - 1]


def test_the_typst_baseline_makes_the_same_letters(
    bench: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    bench_build, baselines = bench
    pytest.importorskip("typst", reason="the typst package is optional for the benchmark")
    campaign = bench_build.make_campaign(tmp_path, 2)
    measured = baselines.typst_letters(campaign, 2)
    assert measured is not None and measured.letters == 2 and measured.pages >= 6
    campaign_data, rows = baselines._campaign(campaign, 1)
    source = baselines._typst_source(campaign_data, rows[0], "+7 7172 70 00 00")
    import typst

    pages = _pages(typst.compile(source.encode("utf-8"), font_paths=[str(baselines.FONTS)]))
    assert "Office 0" in pages[0] and "+7 7172 70 00 00" in pages[0]
    assert pages[-1].rstrip().endswith(f"Page {len(pages)} of {len(pages)}")


def test_the_builds_are_timed_from_compiled_bytecode(
    bench: tuple[ModuleType, ModuleType], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench_build, _baselines = bench
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # as on machines that set it
    environment = bench_build.child_environment(tmp_path / "pycache")
    assert "PYTHONDONTWRITEBYTECODE" not in environment
    bench_build.warm_up(tmp_path / "warm", 2, environment)
    compiled = {path.name.split(".")[0] for path in (tmp_path / "pycache").rglob("*.pyc")}
    # the modules of both passes, of signatories and of preflight, compiled before any timing
    assert {"pipeline", "render", "signing", "preflight", "geocoder"} <= compiled
