"""``python -m autopeft.cli ...`` is ``autopeft ...``."""

from autopeft.cli.main import main

raise SystemExit(main())
