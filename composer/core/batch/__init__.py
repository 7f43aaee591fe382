"""The batch: rows with their checks and chunking, and the JSONL, JSON and CSV formats."""
