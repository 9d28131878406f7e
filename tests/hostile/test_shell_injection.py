"""Shell injection through ``gateways/hylafax.sh`` and sendfax's command line.

A hostile ``gateway.hylafax.host`` (or ``--host``) is refused; every other value the script holds
(titles, references, names, ids, file names) is quoted, so running the script against a sendfax
that only records its arguments runs nothing else, and ``shellcheck`` finds nothing to say.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from faxbatch.campaign.gateway_settings import parse_gateway_section, with_overrides
from faxbatch.errors import CampaignError, UsageError
from faxbatch.sending.batch import load_batch, regarding
from faxbatch.sending.exports import HYLAFAX_SCRIPT, write_exports
from faxbatch.sending.gateways import hylafax
from tests.conftest import BASIC
from tests.hostile.conftest import Sandbox, snapshot
from tests.sending.conftest import HYLAFAX_SERVER, journal_file, open_windows, unavailable

HOSTILE_HOSTS = [
    'x}}"; touch pwned; : "',
    "$(touch pwned)",
    "`touch pwned`",
    "fax.example.org; touch pwned",
    "fax.example.org\ntouch pwned",
    "fax.example.org:4559 -o x",
    "fax.example.org:0",
    "fax.example.org:65536",
    "-h",
    "[::1]$(touch pwned)",
    "fe80::1%$(touch pwned)",
    "[fe80::1%eth0]",
    "",
]
#: campaign texts full of shell: they pass validation (they are only text) and must stay text
SHELL = """$(touch pwned) `touch pwned` '; touch pwned; ' "; touch pwned; " \\ ${HOME} | & > x"""
HOSTILE_TEXTS = (
    BASIC.replace(
        "campaign: {title: Free the activists, reference: T-1, date: 2012-05-10}",
        f"campaign:\n  title: {json.dumps('Free the activists' + chr(10) + SHELL)}\n"
        f"  reference: {json.dumps('T-1 $(touch pwned)')}\n  date: 2012-05-10",
    )
    .replace("name: The Presiding Judge", f"name: {json.dumps('Judge ' + SHELL)}")
    .replace("organization: Almaty City Court", f"organization: {json.dumps(SHELL)}")
)

FAKE_SENDFAX = """#!{python}
import json, os, sys
with open(os.environ["FAKE_SENDFAX_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
print("request id is 7 (group id 7) for host fake (1 file)")
"""
RECORDING_SENDFAX = """#!{python}
import json, os, sys
with open(os.environ["FAKE_SENDFAX_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
os.execv({real!r}, ["sendfax", *sys.argv[1:]])
"""


def _with_host(host: str) -> str:
    return BASIC + f"gateway:\n  hylafax: {{host: {json.dumps(host)}}}\n"


def _no_pwned(sandbox: Sandbox) -> None:
    assert not [p for p in sandbox.root.rglob("*pwned*") if p.name == "pwned"]


def _shellcheck(script: Path) -> None:
    if shutil.which("shellcheck") is None:
        unavailable("shellcheck is not installed (apt-get install shellcheck)")
    done = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stdout, done.stdout
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0


def _fake(sandbox: Sandbox, text: str) -> tuple[dict[str, str], Path]:
    """A sendfax first on PATH, in the campaign folder; its log of argument lists."""
    folder = sandbox.campaign_dir / "bin"
    folder.mkdir()
    program = folder / "sendfax"
    program.write_text(text, encoding="utf-8")
    program.chmod(0o755)
    log = sandbox.campaign_dir / "sendfax.log"
    env = {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}", "FAKE_SENDFAX_LOG": str(log)}
    return env, log


def _calls(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text("utf-8").splitlines()]


@pytest.mark.parametrize("host", HOSTILE_HOSTS)
def test_every_hostile_host_is_refused(host: str) -> None:
    with pytest.raises(CampaignError, match=r"gateway\.hylafax\.host: expected a host name"):
        parse_gateway_section({"hylafax": {"host": host}}, source="c.yaml")
    with pytest.raises(CampaignError, match=r"gateway\.email\.smtp_host: expected a host name"):
        parse_gateway_section({"email": {"smtp_host": host}}, source="c.yaml")
    for gateway in ("hylafax", "email"):
        with pytest.raises(UsageError, match=r"--host must (be a host name|not be empty)"):
            with_overrides(parse_gateway_section(None), gateway=gateway, host=host or " ")


def test_a_hostile_host_in_the_campaign_stops_the_build(sandbox: Sandbox) -> None:
    before = sandbox.build_good()
    for host in HOSTILE_HOSTS[:3]:
        path = sandbox.campaign(_with_host(host))
        run = sandbox.run("build", path, "--out", sandbox.out)
        assert run.returncode == 3, run.stderr
        assert "gateway.hylafax.host" in run.stderr and "host name" in run.stderr
        # and `send --campaign FILE`, which reads only the gateway section
        run = sandbox.run("send", sandbox.out, "--gateway", "hylafax", "--campaign", path)
        assert run.returncode == 3, run.stderr
    assert snapshot(sandbox.out) == before
    _no_pwned(sandbox)


def test_a_hostile_host_on_the_command_line_is_refused(sandbox: Sandbox) -> None:
    before = sandbox.build_good()
    for host in HOSTILE_HOSTS[:3]:
        for gateway in ("hylafax", "email"):
            run = sandbox.run("send", sandbox.out, "--gateway", gateway, "--host", host, "--yes")
            assert run.returncode == 2, run.stderr
            assert "--host" in run.stderr
    assert snapshot(sandbox.out) == before
    assert not journal_file(sandbox.out).exists()  # nothing was even begun
    _no_pwned(sandbox)


@pytest.mark.parametrize(
    ("host", "server"),
    [
        ("fax.example.org", "fax.example.org:4559"),
        ("fax.example.org:4560", "fax.example.org:4560"),
        ("192.0.2.7", "192.0.2.7:4559"),
        ("[2001:db8::7]:4559", "[2001:db8::7]:4559"),
        ("hylafax_1.internal", "hylafax_1.internal:4559"),
    ],
)
def test_good_hosts_are_taken(host: str, server: str) -> None:
    assert parse_gateway_section({"hylafax": {"host": host}}).hylafax.server == server


def test_the_script_of_a_hostile_campaign_is_clean_and_runs_nothing(sandbox: Sandbox) -> None:
    path = sandbox.campaign(_with_host("fax.example.org:4560").replace(BASIC, HOSTILE_TEXTS))
    run = sandbox.run("build", path, "--out", sandbox.out)
    assert run.returncode in (0, 6), run.stderr
    script = sandbox.out / HYLAFAX_SCRIPT
    _shellcheck(script)
    assert "default_server=fax.example.org:4560" in script.read_text("utf-8")
    env, log = _fake(sandbox, FAKE_SENDFAX.format(python=sys.executable))
    # as built: whichever branch the sending windows take at this moment
    subprocess.run(["sh", str(script), "127.0.0.1:9"], env={**os.environ, **env}, check=False)
    _no_pwned(sandbox)

    # windows open, ids and file names full of shell (a manifest can say anything)
    open_windows(sandbox.out)
    manifest = json.loads((sandbox.out / "manifest.json").read_text("utf-8"))
    names = {"court": "faxes/$(touch pwned) '; touch pwned; '.pdf", "admin": "faxes/-x.pdf"}
    for doc in manifest["documents"]:
        if doc["recipient_id"] in names:
            new = names[doc["recipient_id"]]
            (sandbox.out / doc["file"]).rename(sandbox.out / new)
            doc["file"] = new
            doc["recipient_id"] += "'; touch pwned; '"
    (sandbox.out / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    write_exports(sandbox.out, manifest)
    _shellcheck(script)
    log.unlink(missing_ok=True)
    done = subprocess.run(
        ["sh", str(script), "127.0.0.1:9"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "2 fax(es) queued on 127.0.0.1:9" in done.stdout
    calls = _calls(log)
    faxes = load_batch(sandbox.out).faxes
    assert len(calls) == len(faxes) == 2
    subject = hylafax.sanitize(regarding(manifest["campaign"]))
    assert "$(touch pwned)" in subject and "\n" not in subject
    for argv, fax in zip(calls, faxes, strict=True):
        assert argv[:2] == ["-h", "127.0.0.1:9"]
        assert argv[argv.index("-r") + 1] == subject  # one argument, exactly the text
        assert argv[argv.index("-i") + 1] == fax.key
        file = argv[-1]
        assert file in (fax.file, f"./{fax.file}")
        assert (sandbox.out / file).is_file()  # the script runs in DIR
        assert argv[-3:-1] == ["-d", fax.e164]  # canonical: HylaFAX dials by its own rules
    _no_pwned(sandbox)


def test_send_hands_sendfax_its_arguments_without_a_shell(sandbox: Sandbox) -> None:
    real = shutil.which("sendfax")
    if real is None or shutil.which("faxrm") is None:
        unavailable("HylaFAX's client is not installed (apt-get install hylafax-client)")
    try:
        hylafax.check_scheduler(HYLAFAX_SERVER)
    except hylafax.HylafaxUnreachable as exc:
        unavailable(f"no HylaFAX server on {HYLAFAX_SERVER}: {exc.message}")
    reference = f"SH-{os.getpid()}-{sandbox.canary[-8:]}"
    text = HOSTILE_TEXTS.replace('reference: "T-1 $(touch pwned)"', f'reference: "{reference}"')
    run = sandbox.run("build", sandbox.campaign(text), "--out", sandbox.out)
    assert run.returncode in (0, 6), run.stderr
    open_windows(sandbox.out)
    env, log = _fake(sandbox, RECORDING_SENDFAX.format(python=sys.executable, real=real))
    args = ("send", sandbox.out, "--gateway", "hylafax", "--host", HYLAFAX_SERVER, "--yes")
    try:
        run = sandbox.run(*args, env=env)
        assert run.returncode == 0, run.stderr
    finally:
        db = sqlite3.connect(journal_file(sandbox.out))
        job_ids = [row[0] for row in db.execute("SELECT job_id FROM submissions") if row[0]]
        db.close()
        if job_ids:
            subprocess.run(["faxrm", "-h", HYLAFAX_SERVER, *job_ids], capture_output=True)
    batch = load_batch(sandbox.out)
    subject = hylafax.sanitize(batch.regarding)
    calls = _calls(log)
    assert len(calls) == len(batch.faxes) == len(job_ids) == 2
    for argv, fax in zip(calls, batch.faxes, strict=True):
        assert argv[argv.index("-r") + 1] == subject  # one argument, shell characters and all
        assert argv[-1] == str((sandbox.out / fax.file).resolve())  # absolute: never an option
    _no_pwned(sandbox)
