"""Inputs that ended in an internal error, exit 1 (issue 9, item 14: the part about input files).

A ``body_file`` (or any input) that is a symlink loop, ``SOURCE_DATE_EPOCH`` out of range or
garbage, counts too big for Python to read, YAML nested too deeply: each is a clear error or a
warning now, never a traceback. ``SOURCE_DATE_EPOCH`` that cannot be used is a warning naming the
variable, and the run goes on with the clock's time (the batch just does not repeat byte for byte).
"""

from __future__ import annotations

from tests.conftest import BASIC
from tests.hostile.conftest import Sandbox, snapshot

BODY = "  body: |\n    We protest against the trial.\n\n    - release him\n    - drop the charges\n"
HEAD = BASIC.split("recipients:")[0]
UNDATED = BASIC.replace(", date: 2012-05-10", "")


def test_symlink_loops_are_clear_errors(sandbox: Sandbox) -> None:
    before = sandbox.build_good()
    folder = sandbox.campaign_dir
    (folder / "loop.md").symlink_to("loop.md")
    (folder / "ping.csv").symlink_to("pong.csv")
    (folder / "pong.csv").symlink_to("ping.csv")
    (folder / "round").symlink_to("round", target_is_directory=True)
    (folder / "verification.csv").symlink_to("verification.csv")
    cases = [
        (BASIC.replace(BODY, "  body_file: loop.md\n"), "letter.body_file"),
        (BASIC.replace(BODY, "  body_file: round/letter.md\n"), "letter.body_file"),
        (HEAD + "recipients_file: ping.csv\n", "recipients_file"),
        (BASIC, "verification.csv"),  # the sheet beside the campaign
    ]
    for number, (text, field) in enumerate(cases):
        path = sandbox.campaign(text, name=f"loop-{number}.yaml")
        for command in ("build", "check"):
            run = sandbox.run(command, path, "--out", sandbox.out)
            assert run.returncode == 4, run.stderr
            assert f"loop-{number}.yaml" in run.stderr and field in run.stderr
            assert "loop" in run.stderr.split(field, 1)[1], run.stderr
    assert snapshot(sandbox.out) == before
    sandbox.assert_canary_kept()


UNUSABLE_EPOCHS = [
    ("abc", "is not a whole number of seconds"),
    ("-5", "is not a whole number of seconds"),
    ("1.5", "is not a whole number of seconds"),
    ("١٢٣", "is not a whole number of seconds"),  # digits, but not ASCII ones
    ("99999999999999999", "in the year 9999 or later"),
    ("253402300799", "in the year 9999 or later"),  # 9999-12-31: windows would run past it
    ("0" * 5000 + "9" * 5000, "in the year 9999 or later"),
]


def test_an_unusable_source_date_epoch_is_a_warning(sandbox: Sandbox) -> None:
    path = sandbox.campaign(UNDATED)
    runs = [
        (words, sandbox.run("check", path, "--out", "sheet", env={"SOURCE_DATE_EPOCH": value}))
        for value, words in UNUSABLE_EPOCHS
    ]
    # build also dates its letters by it (the campaign gives no date)
    for value, words in (UNUSABLE_EPOCHS[0], UNUSABLE_EPOCHS[5]):
        env = {"SOURCE_DATE_EPOCH": value}
        runs.append((words, sandbox.run("build", path, "--out", "out", env=env)))
    for words, run in runs:
        assert run.returncode == 6, run.stderr  # the basic campaign has one recipient without fax
        warning = run.stderr.splitlines()[0]
        assert warning.startswith("faxbatch: warning: SOURCE_DATE_EPOCH="), run.stderr
        assert words in warning and "the clock's time instead" in warning
        assert len(warning) < 400  # a huge value is not printed whole
    sandbox.assert_canary_kept()


def test_a_usable_source_date_epoch_gives_the_same_batch(sandbox: Sandbox) -> None:
    path = sandbox.campaign(UNDATED)
    latest = "253370764799"  # 9998-12-31 23:59:59 UTC, the latest taken
    for value in ("1336608000", latest, ""):
        env = {"SOURCE_DATE_EPOCH": value}
        runs = [sandbox.run("build", path, "--out", f"out-{n}", env=env) for n in (1, 2)]
        assert all(run.returncode == 6 for run in runs), runs[0].stderr
        assert all("warning" not in run.stderr for run in runs)
        if value:
            first = snapshot(sandbox.campaign_dir / "out-1")
            assert snapshot(sandbox.campaign_dir / "out-2") == first
    manifest = (sandbox.campaign_dir / "out-1/manifest.json").read_text("utf-8")
    assert '"date": "' in manifest
    sandbox.assert_canary_kept()


INVALID_SECTIONS = [
    "print: {max_pages_per_volume: " + "9" * 5000 + "}",
    "print: {max_bytes_per_volume: " + "0" * 5000 + "1" + "0" * 30 + "}",
    "numbers: {verification_max_age_days: 1" + "0" * 40 + "}",
    "numbers: {verification_max_age_days: ²}",
    "numbers: {office_hours: {days: " + "[" * 5000 + "]" * 5000 + "}}",
    "numbers:\n  office_hours:\n" + "".join("  " * n + "-\n" for n in range(2, 3000)),
]


def test_numbers_too_big_and_nesting_too_deep_are_invalid(sandbox: Sandbox) -> None:
    before = sandbox.build_good()
    for number, section in enumerate(INVALID_SECTIONS):
        text = BASIC.replace(
            "cover: {comments: Please pass this on., urgent: true}\n", section + "\n"
        )
        path = sandbox.campaign(text, name=f"bad-{number}.yaml")
        run = sandbox.run("build", path, "--out", sandbox.out)
        assert run.returncode == 3, run.stderr
        assert f"bad-{number}.yaml:" in run.stderr and len(run.stderr) < 2000
    assert snapshot(sandbox.out) == before
    sandbox.assert_canary_kept()
