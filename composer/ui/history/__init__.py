"""The history room: every send, kept across restarts."""
