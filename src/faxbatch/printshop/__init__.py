"""Stage 4, the print shop: what a print shop receives and checks.

Merged volumes, the job ticket, and preflight (the print shop's check of a built batch).
"""
