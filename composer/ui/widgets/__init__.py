"""Widgets more than one room uses: the JSON view, the typed properties editor, tool buttons."""
