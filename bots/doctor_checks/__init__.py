"""The doctor's online checks, one module per thing checked (Knowrithm and each platform)."""
