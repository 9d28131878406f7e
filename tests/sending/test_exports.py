"""Gateway exports (hylafax.sh, jobs.jsonl), idempotency keys and gateway settings; no servers."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.campaign.gateway_settings import (
    HylafaxSettings,
    load_gateway_file,
    parse_gateway_section,
    with_overrides,
)
from faxbatch.errors import CampaignError, InputUnreadableError, UsageError
from faxbatch.sending.batch import format_utc, idempotency_key, load_batch
from faxbatch.sending.exports import HYLAFAX_SCRIPT, JOBS_JSONL, write_exports
from faxbatch.sending.gateways.hylafax import at_time, parse_faxstat, window_options

from .conftest import unavailable


def _manifest(batch: Path) -> dict[str, object]:
    return dict(json.loads((batch / "manifest.json").read_text("utf-8")))


def _assert_shellcheck_clean(script: Path) -> None:
    if shutil.which("shellcheck") is None:
        unavailable("shellcheck is not installed (apt-get install shellcheck)")
    done = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stdout, done.stdout


def _sendfax_lines(script: str) -> list[list[str]]:
    return [shlex.split(line.strip())[:-2] for line in script.splitlines() if "sendfax -h" in line]


def test_exports_list_only_sendable_faxes(build: Callable[..., Path]) -> None:
    batch = build()
    manifest = _manifest(batch)
    paths = write_exports(batch, manifest)
    assert paths == [batch / HYLAFAX_SCRIPT, batch / JOBS_JSONL]

    jobs = [json.loads(line) for line in (batch / JOBS_JSONL).read_text("utf-8").splitlines()]
    faxes = load_batch(batch).faxes
    assert [job["recipient_id"] for job in jobs] == ["court", "admin"]  # "ministry" is rejected
    for job, fax in zip(jobs, faxes, strict=True):
        assert job["schema_version"] == 1
        assert job["to"] == fax.e164 and job["to"].startswith("+")
        assert job["file"] == fax.file and (batch / job["file"]).is_file()
        assert job["sha256"] == fax.sha256 and job["pages"] == fax.pages
        assert job["idempotency_key"] == fax.key
        assert job["window_start_utc"] == format_utc(fax.window_start)  # when the build knows
        assert job["window_end_utc"] == format_utc(fax.window_end)

    script = (batch / HYLAFAX_SCRIPT).read_text("utf-8")
    assert (batch / HYLAFAX_SCRIPT).stat().st_mode & 0o111
    assert subprocess.run(["sh", "-n", str(batch / HYLAFAX_SCRIPT)]).returncode == 0
    _assert_shellcheck_clean(batch / HYLAFAX_SCRIPT)
    commands = {words[words.index("-i") + 1]: words for words in _sendfax_lines(script)}
    assert set(commands) == {fax.key for fax in faxes}  # one job (tag) per ready fax
    for fax in faxes:
        words = commands[fax.key]
        assert words[:4] == ["sendfax", "-h", "$server", "-n"]
        assert words[-3:] == ["-d", fax.e164, fax.file]  # canonical: the server's rules dial it

    no_windows = build("plain", windows=False)
    write_exports(no_windows, _manifest(no_windows))
    for words in _sendfax_lines((no_windows / HYLAFAX_SCRIPT).read_text("utf-8")):
        assert "-a" not in words and "-k" not in words  # no window: now, default kill time
    _assert_shellcheck_clean(no_windows / HYLAFAX_SCRIPT)


def test_idempotency_key_is_stable_across_builds(build: Callable[..., Path]) -> None:
    first = load_batch(build("one", reference="KEY-1")).faxes
    again = load_batch(build("two", reference="KEY-1")).faxes
    other = load_batch(build("three", reference="KEY-2")).faxes
    assert [f.key for f in first] == [f.key for f in again]
    assert [f.sha256 for f in first] == [f.sha256 for f in again]
    assert not {f.key for f in first} & {f.key for f in other}
    changed = idempotency_key({"reference": "KEY-1"}, {"recipient_id": "court", "sha256": "0" * 64})
    assert changed != first[0].key  # another document for the same recipient: another key


def test_window_becomes_at_and_kill_time(build: Callable[..., Path]) -> None:
    batch = build(windows=False)
    manifest = _manifest(batch)
    documents = manifest["documents"]
    assert isinstance(documents, list)
    documents[0]["window_start_utc"] = "2031-05-14T03:00:20Z"
    documents[0]["window_end_utc"] = "2031-05-14T15:00:00+00:00"
    documents[1]["window_start_utc"] = "2031-05-14T08:00:00+05:00"  # UTC 03:00
    (batch / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    write_exports(batch, manifest)
    jobs = [json.loads(line) for line in (batch / JOBS_JSONL).read_text("utf-8").splitlines()]
    assert jobs[0]["window_start_utc"] == "2031-05-14T03:00:20Z"
    assert jobs[1]["window_start_utc"] == "2031-05-14T03:00:00Z"
    script = (batch / HYLAFAX_SCRIPT).read_text("utf-8")
    assert "-a '03:01 May 14' -k '15:00 May 14'" in script  # start rounded up, in UTC
    assert "-k '15:00 May 14' -d" in script  # the window is open: send now, kill at its end
    assert "its window closed" in script
    assert "export TZ=UTC" in script
    assert subprocess.run(["sh", "-n", str(batch / HYLAFAX_SCRIPT)]).returncode == 0
    _assert_shellcheck_clean(batch / HYLAFAX_SCRIPT)

    fax = load_batch(batch).faxes[0]
    before = dt.datetime(2031, 5, 14, 1, 0, tzinfo=dt.UTC)
    during = dt.datetime(2031, 5, 14, 9, 0, tzinfo=dt.UTC)
    after = dt.datetime(2031, 5, 14, 15, 0, tzinfo=dt.UTC)
    assert window_options(fax, before) == ["-a", "03:01 May 14", "-k", "15:00 May 14"]
    assert window_options(fax, during) == ["-k", "15:00 May 14"]
    assert window_options(fax, after) is None  # a past time would mean next year to sendfax


def test_bad_window_is_unreadable_input(build: Callable[..., Path]) -> None:
    batch = build()
    manifest = _manifest(batch)
    documents = manifest["documents"]
    assert isinstance(documents, list)
    documents[0]["window_start_utc"] = "tomorrow morning"
    (batch / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(InputUnreadableError, match="window_start_utc"):
        load_batch(batch)


def test_at_time_is_english_utc() -> None:
    moment = dt.datetime(2012, 5, 14, 8, 5, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    assert at_time(moment) == "03:05 May 14"


def test_parse_faxstat_reads_tab_separated_jobs() -> None:
    output = (
        "HylaFAX scheduler on vm: Running\r\n\n"
        "JID\tJobTag\tState\tNumber\tTotTries\tMaxTries\tTotDials\tMaxDials\tPages\tTotal\t"
        "TTS\tOwner\tStatus\n"
        "7\tabc\tW\t+77272715802\t0\t3\t1\t12\t0\t3\t1798767000\troot\t\n"
        "8\tabc.2\tF\t+77272715802\t3\t3\t4\t12\t1\t3\t1798767001\troot\tBusy signal\tdetected\n"
    )
    jobs = parse_faxstat(output)
    assert [(j.job_id, j.tag, j.state) for j in jobs] == [
        ("7", "abc", "queued"),
        ("8", "abc.2", "failed"),
    ]
    assert jobs[1].status == "Busy signal\tdetected"
    assert jobs[1].tries == 3 and jobs[1].dials == 4 and jobs[0].time_to_send == 1798767000


def test_gateway_settings_from_file_and_options(tmp_path: Path) -> None:
    path = tmp_path / "campaign.yaml"
    path.write_text(
        "campaign: {title: T}\n"
        "gateway:\n"
        "  hylafax: {host: fax.example.org, tries: 5}\n"
        "  email: {domain: fax.example.net, smtp_port: 2525, starttls: false, from: a@b.org}\n",
        "utf-8",
    )
    settings = load_gateway_file(path)
    assert settings.hylafax == HylafaxSettings(host="fax.example.org", tries=5)
    assert settings.email.port == 2525 and settings.email.from_address == "a@b.org"
    changed = with_overrides(settings, gateway="email", host="127.0.0.1", port=25, tries=None)
    assert changed.email.smtp_host == "127.0.0.1" and changed.email.port == 25
    assert changed.hylafax.host == "fax.example.org"
    with pytest.raises(UsageError):
        with_overrides(settings, gateway="hylafax", port=0)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"email": {"password": "x"}}, "password must not be written"),
        ({"email": {"domian": "x"}}, "did you mean 'domain'"),
        ({"hylafx": {}}, "did you mean 'hylafax'"),
        ({"hylafax": {"port": "many"}}, "positive number"),
        ({"hylafax": {"resolution": "ultra"}}, "unknown resolution"),
    ],
)
def test_bad_gateway_settings_are_campaign_errors(section: object, message: str) -> None:
    with pytest.raises(CampaignError, match=message):
        parse_gateway_section(section, source="c.yaml")
