"""Profiles: named targets (ingestion host and project key) with the secrets in the OS keyring."""
