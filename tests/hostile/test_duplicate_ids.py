"""The same id in ``recipients:`` and in ``recipients_file`` (issue 9, item 8).

Ids name the files (``faxes/<id>.pdf``): two recipients with one id gave two ready documents
writing one file, and ``hylafax.sh`` faxed one letter to the other's number. Ids are unique across
both sources: the campaign file's list keeps its ids, and a row reusing one (or an earlier row's)
is rejected with its line and the reason.
"""

from __future__ import annotations

import json
import shlex
from collections import Counter

from tests.conftest import BASIC
from tests.hostile.conftest import Sandbox, snapshot

HEAD = BASIC.split("recipients:")[0]
CAMPAIGN = (
    HEAD
    + """\
recipients_file: offices.csv
recipients:
  - id: court
    name: The Presiding Judge
    fax: "+7 7172 74 55 20"
  - name: Foreign Ministry
    fax: "+7 7172 74 55 21"
  - id: admin
    name: Presidential Administration
    fax: "+7 7172 74 55 22"
"""
)
OFFICES = """\
id,name,fax
court,Another Court,+7 7172 74 55 23
foreign-ministry,Ministry Row,+7 7172 74 55 24
,Court,+7 7172 74 55 25
,Court,+7 7172 74 55 26
admin,Another Administration,+7 7172 74 55 27
court-2,Second Court,+7 7172 74 55 28
court-2,Second Court Again,+7 7172 74 55 29
"""


def sendfax_pairs(script: str) -> list[tuple[str, str]]:
    """(dial string, file) of each fax block of ``hylafax.sh`` (its branches are alternatives)."""
    pairs: list[tuple[str, str]] = []
    for block in script.split("\n\n"):
        found = set()
        for line in block.splitlines():
            if line.strip().startswith("sendfax "):
                words = shlex.split(line.split(" || ")[0])
                at = words.index("-d")
                found.add((words[at + 1], words[at + 2]))
        assert len(found) <= 1, block
        pairs.extend(found)
    return pairs


def test_ids_are_unique_across_the_list_and_the_file(sandbox: Sandbox) -> None:
    before = sandbox.build_good()
    sandbox.write("offices.csv", OFFICES)
    run = sandbox.run("build", sandbox.campaign(CAMPAIGN), "--out", "dup")
    assert run.returncode == 6, run.stderr  # rows reusing an id are rejected, the others built
    manifest = json.loads((sandbox.campaign_dir / "dup/manifest.json").read_text("utf-8"))
    documents = manifest["documents"]
    ids = [d["recipient_id"] for d in documents]
    assert len(ids) == len(set(ids)) == 10, ids
    files = [d["file"] for d in documents if d["file"]]
    assert len(files) == len(set(files)), Counter(files).most_common(2)
    by_id = {d["recipient_id"]: d for d in documents}
    # the campaign file's list keeps its ids
    assert by_id["court"]["fax_e164"] == "+77172745520"
    assert by_id["admin"]["fax_e164"] == "+77172745522"
    assert by_id["foreign-ministry"]["recipient_name"] == "Ministry Row"  # the file's own id
    rejected = {
        d["fax_raw"]: " ".join(d["problems"]) for d in documents if d["status"] == "rejected"
    }
    assert set(rejected) == {"+7 7172 74 55 23", "+7 7172 74 55 27", "+7 7172 74 55 29"}
    assert (
        "offices.csv:2: id 'court' is already used by recipients[0]" in rejected["+7 7172 74 55 23"]
    )
    assert (
        "offices.csv:6: id 'admin' is already used by recipients[2]" in rejected["+7 7172 74 55 27"]
    )
    assert "offices.csv:8: id 'court-2' is already used on line 7" in rejected["+7 7172 74 55 29"]
    # every ready fax has a file of its own, and the script sends each file to its own number
    ready = {d["file"]: d["fax_e164"] for d in documents if d["status"] == "ready"}  # +E.164
    assert len(ready) == 7
    script = (sandbox.campaign_dir / "dup/gateways/hylafax.sh").read_text("utf-8")
    pairs = sendfax_pairs(script)
    assert len(pairs) == len(set(pairs)) == 7
    assert Counter(file for _dial, file in pairs).most_common(1)[0][1] == 1
    assert dict((file, dial) for dial, file in pairs) == ready
    assert snapshot(sandbox.out) == before
    sandbox.assert_canary_kept()
