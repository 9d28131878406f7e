"""Stage 1, the campaign: reading the YAML and CSV files a campaign names into a typed model.

Nothing here judges a number or draws a page; every file is read through :mod:`.inputs`.
"""
