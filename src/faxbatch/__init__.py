"""faxbatch: campaign files in, checked numbers, fax-ready PDFs, print volumes and manifests out.

The library's public face, for scripts::

    import faxbatch

    campaign = faxbatch.load_campaign("campaign.yaml")
    result = faxbatch.build_batch(campaign, faxbatch.BuildOptions(out=Path("out")))

Each name is imported from its stage when first used, so ``import faxbatch`` (and
``faxbatch --help``) loads no PDF, font or phone-number library. Every error is a
:class:`FaxbatchError` carrying its exit code.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from faxbatch.errors import (
    CampaignError,
    ExitCode,
    FaxbatchError,
    InputUnreadableError,
    OutputNotWritableError,
    PreflightError,
    SendError,
    UsageError,
)

#: the one place the version is written (pyproject.toml reads it from here): no package
#: metadata to look up at every start
__version__ = "0.1.0"

#: each public name and the module it lives in
_PUBLIC = {
    "load_campaign": "faxbatch.campaign.loader",
    "Campaign": "faxbatch.campaign.model",
    "load_verification": "faxbatch.numbers.verification",
    "check_campaign": "faxbatch.build.check",
    "CheckResult": "faxbatch.build.check",
    "build_batch": "faxbatch.build.pipeline",
    "BuildOptions": "faxbatch.build.pipeline",
    "BuildResult": "faxbatch.build.pipeline",
    "run_preflight": "faxbatch.printshop.preflight",
    "send_batch": "faxbatch.sending.send",
    "SendRequest": "faxbatch.sending.send",
    "SendResult": "faxbatch.sending.send",
    "refresh_status": "faxbatch.sending.status",
    "StatusResult": "faxbatch.sending.status",
}

__all__ = [
    "BuildOptions",
    "BuildResult",
    "Campaign",
    "CampaignError",
    "CheckResult",
    "ExitCode",
    "FaxbatchError",
    "InputUnreadableError",
    "OutputNotWritableError",
    "PreflightError",
    "SendError",
    "SendRequest",
    "SendResult",
    "StatusResult",
    "UsageError",
    "__version__",
    "build_batch",
    "check_campaign",
    "load_campaign",
    "load_verification",
    "refresh_status",
    "run_preflight",
    "send_batch",
]

if TYPE_CHECKING:
    from faxbatch.build.check import CheckResult, check_campaign
    from faxbatch.build.pipeline import BuildOptions, BuildResult, build_batch
    from faxbatch.campaign.loader import load_campaign
    from faxbatch.campaign.model import Campaign
    from faxbatch.numbers.verification import load_verification
    from faxbatch.printshop.preflight import run_preflight
    from faxbatch.sending.send import SendRequest, SendResult, send_batch
    from faxbatch.sending.status import StatusResult, refresh_status


def __getattr__(name: str) -> object:
    """A public name, imported from its stage on first use."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'faxbatch' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
