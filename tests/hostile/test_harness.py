"""The harness itself: a good build passes every check it makes, and a leak is caught."""

from __future__ import annotations

import pytest

from tests.hostile.conftest import Sandbox, assert_nowhere, snapshot


def test_good_build_passes_the_harness(sandbox: Sandbox) -> None:
    before = sandbox.build_good()
    assert "manifest.json" in before
    assert snapshot(sandbox.out) == before
    sandbox.assert_canary_kept()


def test_a_leak_is_caught(sandbox: Sandbox) -> None:
    sandbox.write("copy.txt", sandbox.secret.read_text(encoding="utf-8"))
    with pytest.raises(AssertionError, match="leaked"):
        assert_nowhere(sandbox.campaign_dir, sandbox.canary)
