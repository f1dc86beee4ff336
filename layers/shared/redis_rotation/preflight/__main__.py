"""``python -m redis_rotation.preflight``."""

import sys

from redis_rotation.preflight.cli import main

sys.exit(main())
