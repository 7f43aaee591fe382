"""Template documents (format, migrations, key refusal) and {{variable}} resolution."""
