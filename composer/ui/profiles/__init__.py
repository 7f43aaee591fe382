"""The profiles room: the target switcher, the profile dialog, and keyring calls off the GUI
thread."""
