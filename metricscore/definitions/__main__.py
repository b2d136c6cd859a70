"""``python -m metricscore.definitions validate|plan|apply|export|import|schema ...``."""

import sys

from .cli import main

sys.exit(main())
