"""``python -m framework`` is the ``bucle`` command."""

from framework.cli import main

raise SystemExit(main())
