"""`python -m composer` runs the same entry point as the `event-composer` command."""

import sys

from composer.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
