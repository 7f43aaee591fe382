"""The `event-composer` command line: the same core as the window, for scripts and CI."""
