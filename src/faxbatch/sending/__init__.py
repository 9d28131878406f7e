"""Stage 5, sending: each fax handed over, and what became of it.

A built batch read back, the journal of hand-overs, the gateways' exports, the gateways themselves
(HylaFAX, email), ``send`` and ``status``.
"""
