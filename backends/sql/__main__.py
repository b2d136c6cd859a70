"""``python -m metricscore.backends.sql migrate URL``: upgrade a database's schema."""

import sys

from .migrate import main

sys.exit(main())
