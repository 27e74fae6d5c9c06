"""``python -m advisor`` behaves exactly like the ``advisor`` console script."""

import sys

from advisor.cli import main

sys.exit(main())
