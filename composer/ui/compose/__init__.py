"""The compose room: the form, property editors, timestamp, the body preview and the findings."""
