"""``python -m faxbatch``: the same as the ``faxbatch`` command."""

import sys

from faxbatch.cli import main

sys.exit(main())
