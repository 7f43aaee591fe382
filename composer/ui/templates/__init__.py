"""The templates room: the templates tree and its dialogs."""
