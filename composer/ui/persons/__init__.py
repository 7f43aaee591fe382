"""The persons room: the sandbox's persons, their properties and merges, and its groups."""
