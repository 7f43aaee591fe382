"""The plan room: the tracking plan tree, its problems and what breaks it."""
