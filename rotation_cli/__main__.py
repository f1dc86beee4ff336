"""``python -m rotation_cli`` is ``redis-rotation``."""

import sys

from rotation_cli.main import main

sys.exit(main())
