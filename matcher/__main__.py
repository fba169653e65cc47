"""``python -m matcher``: the ``matcher`` command."""

from __future__ import annotations

import sys

from matcher.cli import main

sys.exit(main())
