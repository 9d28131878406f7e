from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.cli import main
from tests.conftest import BASIC

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "faxbatch", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=120,
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], code: int) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("faxbatch")


def test_help_and_version() -> None:
    result = run_cli("--help")
    assert result.returncode == 0 and "build" in result.stdout and "Exit codes" in result.stdout
    assert run_cli("build", "--help").returncode == 0
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("faxbatch ")


def test_example_campaign_builds(tmp_path: Path) -> None:
    result = run_cli(
        "build", str(ROOT / "config/kazakhstan-2012.yaml"), "--out", str(tmp_path / "out")
    )
    # the example lists offices without numbers: built, with rejected recipients
    assert result.returncode == 6, result.stderr
    assert (tmp_path / "out/faxes/almaty-court.pdf").is_file()
    assert (tmp_path / "out/faxes/presidential-administration.pdf").is_file()
    assert (tmp_path / "out/print/fax-volume-001.pdf").is_file()
    assert "foreign-ministry" in result.stderr
    assert "Traceback" not in result.stderr


def test_all_ready_exits_zero(write_campaign: Callable[..., Path], tmp_path: Path) -> None:
    text = BASIC.replace(
        "    name: Foreign Ministry\n", "    name: Foreign Ministry\n    fax: '+7 7172 72 05 16'\n"
    )
    assert main(["build", str(write_campaign(text)), "--out", str(tmp_path / "out")]) == 0


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        (("page: {size: A4}", "page: {size: A4"), 3, "not valid YAML"),
        (("  subject: The trial of Dmitry Tikhonov\n", ""), 3, "letter.subject"),
        (("urgent: true", "urgent: sometimes"), 3, "cover.urgent"),
        (('    fax: "++7727', '    faks: "++7727'), 3, "did you mean 'fax'"),
        (("  body: |", "  body_file: nowhere.md\n  signature: [x]\n  x: |"), 3, "unknown key"),
    ],
)
def test_bad_campaigns_exit_with_their_code(
    write_campaign: Callable[..., Path],
    tmp_path: Path,
    change: tuple[str, str],
    code: int,
    words: str,
) -> None:
    path = write_campaign(BASIC.replace(*change))
    result = run_cli("build", str(path), "--out", str(tmp_path / "out"))
    assert_clean_error(result, code)
    assert words in result.stderr
    assert str(path) in result.stderr
    assert not (tmp_path / "out").exists()


def test_unreadable_body_file_exits_4(write_campaign: Callable[..., Path], tmp_path: Path) -> None:
    text = (
        BASIC.split("  body: |")[0]
        + "  body_file: nowhere.md\n"
        + BASIC.split("    - drop the charges\n")[1]
    )
    result = run_cli("build", str(write_campaign(text)), "--out", str(tmp_path / "out"))
    assert_clean_error(result, 4)
    assert "letter.body_file" in result.stderr and "nowhere.md" in result.stderr


def test_allow_path_lets_build_and_check_read_another_folder(
    write_campaign: Callable[..., Path], tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shared = tmp_path_factory.mktemp("shared")
    (shared / "letter.md").write_text("From the shared folder.\n", encoding="utf-8")
    text = BASIC.split("  body: |")[0] + f"  body_file: {shared / 'letter.md'}\n"
    path = write_campaign(text + BASIC.split("    - drop the charges\n")[1])
    for command in ("build", "check"):
        result = run_cli(command, str(path), "--out", str(tmp_path / command))
        assert_clean_error(result, 3)
        assert "--allow-path" in result.stderr
        allowed = ["--allow-path", str(tmp_path), "--allow-path", str(shared)]
        assert (
            run_cli(command, str(path), "--out", str(tmp_path / command), *allowed).returncode == 6
        )
    assert_clean_error(run_cli("check", str(path), "--allow-path", str(path)), 2)  # not a folder
    assert "--allow-path DIR" in run_cli("build", "--help").stdout


def test_missing_campaign_exits_4(tmp_path: Path) -> None:
    assert_clean_error(run_cli("build", str(tmp_path / "none.yaml")), 4)


def test_usage_errors_exit_2() -> None:
    assert_clean_error(run_cli("build"), 2)
    assert_clean_error(run_cli("frobnicate"), 2)
    assert_clean_error(run_cli("build", "x.yaml", "--bogus"), 2)


def test_unwritable_out_exits_5(basic_campaign: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run_cli("build", str(basic_campaign), "--out", str(blocker / "out"))
    assert_clean_error(result, 5)
    assert "output folder" in result.stderr


def test_foreign_folder_is_never_replaced(basic_campaign: Path, tmp_path: Path) -> None:
    precious = tmp_path / "docs"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    result = run_cli("build", str(basic_campaign), "--out", str(precious))
    assert_clean_error(result, 5)
    assert (precious / "thesis.txt").read_text() == "years of work"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_parent_exits_5(basic_campaign: Path, tmp_path: Path) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        assert_clean_error(run_cli("build", str(basic_campaign), "--out", str(parent / "o")), 5)
    finally:
        parent.chmod(0o700)


def test_rejected_recipients_exit_6_and_are_reported(basic_campaign: Path, tmp_path: Path) -> None:
    result = run_cli("build", str(basic_campaign), "--out", str(tmp_path / "out"))
    assert result.returncode == 6
    assert "ministry" in result.stderr and "No fax number" in result.stderr
    assert "Built 2 fax(es)" in result.stdout


def test_out_under_proc_exits_5(basic_campaign: Path) -> None:
    # even root cannot make folders in /proc: an unwritable place on every Linux machine
    assert_clean_error(run_cli("build", str(basic_campaign), "--out", "/proc/faxbatch/out"), 5)


def test_progress_bar_only_on_a_terminal(basic_campaign: Path, tmp_path: Path) -> None:
    import pty

    piped = run_cli("build", str(basic_campaign), "--out", str(tmp_path / "a"))
    assert "\r" not in piped.stderr and "documents [" not in piped.stderr
    # on a terminal (a pseudo-terminal here) the bar is drawn on standard error
    output = bytearray()

    def read(fd: int) -> bytes:
        data = os.read(fd, 1024)
        output.extend(data)
        return data

    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = str(ROOT / "src")
    try:
        status = pty.spawn(
            [
                sys.executable,
                "-m",
                "faxbatch",
                "build",
                str(basic_campaign),
                "--out",
                str(tmp_path / "b"),
            ],
            read,
        )
    finally:
        os.environ["PYTHONPATH"] = env_path
    assert os.waitstatus_to_exitcode(status) == 6
    assert b"documents [" in output and b"3/3" in output


def test_reasons_read_as_sentences() -> None:
    from faxbatch.errors import sentences

    assert sentences(["voice line", "no fax tone"]) == "Voice line. No fax tone."
    assert sentences(["No fax number for Almaty", "There is no postal address."]) == (
        "No fax number for Almaty. There is no postal address."
    )
    assert sentences(["", "  is  empty  "]) == "Is empty."
    # a file name, an id or a number stays as written
    assert sentences(["recipients.csv:2: id 'a' is already used"]) == (
        "recipients.csv:2: id 'a' is already used."
    )
    assert sentences(["almaty-court has no fax"]) == "almaty-court has no fax."


def test_a_builds_warnings_are_listed_after_its_summary(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    sheet = "number,result,date,by,note\nnot a number,verified,2012-05-08,Ann,\n"
    path = write_campaign(BASIC, verification__csv=sheet)
    result = run_cli("build", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 6, result.stderr
    assert "1 warning(s):\n  - " in result.stderr
    assert "not a number" in result.stderr.split("warning(s):")[1]
