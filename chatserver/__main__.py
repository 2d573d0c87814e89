"""`python -m chatserver` is the `chatserver` command."""

from chatserver.cli import main

raise SystemExit(main())
