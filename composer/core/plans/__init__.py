"""Tracking plans: the plan model, reading plan files with their lines, checking events, learning a plan."""
