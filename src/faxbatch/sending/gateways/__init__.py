"""Fax gateways: HylaFAX (its ``sendfax``/``faxstat`` clients) and email-to-fax (SMTP).

One module per gateway, each a thin, typed wrapper around the real thing;
:mod:`faxbatch.sending.send` decides what to send and keeps the journal.
:mod:`faxbatch.campaign.gateway_settings` reads where the gateways are.
"""

from __future__ import annotations

GATEWAYS = ("hylafax", "email")
