"""The frozen bundle's entry point: the installed `event-composer` command, nothing more.

A file of its own (not composer/__main__.py) so PyInstaller analyses the installed package
from site-packages rather than the source tree it happens to be run from."""

import sys

from composer.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
