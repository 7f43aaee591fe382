"""The sandbox room: the local sandbox the window starts and its inbox."""
