"""The send room: sending off the GUI thread and the response pane."""
