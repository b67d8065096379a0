"""``python -m layerwise``: the same command as the ``layerwise`` console script."""

from layerwise.cli import main

raise SystemExit(main())
