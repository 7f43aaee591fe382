"""I/O services over the core: the network transport (and later storage and secrets). No Qt."""
