"""Stage 3, the letters: every page drawn.

Markdown, line breaking and pagination, fonts, the PDF writer, fax covers and letters, postal
letters and their envelopes.
"""
