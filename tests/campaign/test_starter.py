"""`faxbatch init`: a starter campaign that builds as it is, and never replaces a file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from faxbatch.campaign.loader import iter_recipients, load_campaign
from faxbatch.campaign.starter import FILES, write_starter
from faxbatch.errors import ExitCode


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faxbatch", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_init_then_build_in_an_empty_folder(tmp_path: Path) -> None:
    result = _cli("init", "starter", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "starter"
    assert sorted(p.name for p in folder.iterdir()) == sorted(name for name, _ in FILES)
    campaign = load_campaign(folder / "campaign.yaml")
    assert [r.id for r in iter_recipients(campaign)] == ["city-court", "state-attorney"]
    assert (folder / "verification.csv").read_text() == "number,result,date,by,note\n"
    text = (folder / "campaign.yaml").read_text()
    for section in ("page", "cover", "recipients", "numbers", "print", "gateway"):
        assert f"\n# {section}:" in text  # the optional sections, commented out
    built = _cli("build", "campaign.yaml", "--out", "out", cwd=folder)
    assert built.returncode == ExitCode.OK, built.stderr
    assert len(list((folder / "out" / "faxes").glob("*.pdf"))) == 2


def test_init_never_replaces_a_file(tmp_path: Path) -> None:
    (tmp_path / "letter.md").write_text("mine", "utf-8")
    result = _cli("init", cwd=tmp_path)
    assert result.returncode == ExitCode.OUTPUT_NOT_WRITABLE
    assert "error: letter.md exists already" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "letter.md").read_text() == "mine"
    assert not (tmp_path / "campaign.yaml").exists()  # nothing written at all


def test_a_second_init_is_refused(tmp_path: Path) -> None:
    written = write_starter(tmp_path)
    before = [path.read_bytes() for path in written]
    again = _cli("init", tmp_path, cwd=tmp_path)
    assert again.returncode == ExitCode.OUTPUT_NOT_WRITABLE
    assert "campaign.yaml exists already" in again.stderr
    assert [path.read_bytes() for path in written] == before
