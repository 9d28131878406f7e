"""Stage 2, the numbers: each number read and judged, and what comes of it.

Volunteers' findings (the verification sheet), sending windows, the volunteers' number sheet.
"""
