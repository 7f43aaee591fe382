"""What the form composes: payload kinds and how they become events, and typed property values."""
