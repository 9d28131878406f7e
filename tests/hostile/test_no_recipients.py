"""A campaign that ends up with no recipients at all (issue 9, item 13).

A header-only recipients file "built nothing" with exit 0 and replaced the previous batch: a
campaign without recipients is now an invalid campaign (exit 3), and the previous batch stays.
"""

from __future__ import annotations

import pytest

from tests.conftest import BASIC
from tests.hostile.conftest import Sandbox, snapshot

HEAD = BASIC.split("recipients:")[0]


@pytest.mark.parametrize(
    ("campaign", "rows"),
    [
        (HEAD + "recipients_file: offices.csv\n", "id,name,fax\n"),
        (HEAD + "recipients_file: offices.csv\n", "\ufeffid;name;fax\r\n;;\r\n ; ;\r\n\r\n"),
        (HEAD + "recipients_file: offices.csv\nrecipients: []\n", "name\n"),
        (HEAD + "recipients_file: offices.csv\nrecipients:\n", "name,fax\n,\n"),
        (HEAD + "recipients: []\n", None),
        (HEAD, None),
    ],
)
def test_no_recipients_is_an_invalid_campaign(
    sandbox: Sandbox, campaign: str, rows: str | None
) -> None:
    before = sandbox.build_good()
    if rows is not None:
        sandbox.write("offices.csv", rows)
    path = sandbox.campaign(campaign)
    for command in ("build", "check"):
        run = sandbox.run(command, path, "--out", sandbox.out)
        assert run.returncode == 3, run.stderr
        assert "no recipients" in run.stderr or "at least one" in run.stderr, run.stderr
        assert "campaign.yaml:" in run.stderr
    assert snapshot(sandbox.out) == before
    sandbox.assert_canary_kept()
