"""Tracking plans: the model, reading plan files with their lines, checking events, learning
a plan from events."""
