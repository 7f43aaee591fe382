"""The batch room: the table model, the panel, CSV mapping and batch sending."""
