"""``python -m keytui``: the ``keytui-verify`` command."""

import sys

from .cli import main

sys.exit(main())
