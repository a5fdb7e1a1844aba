"""Benchmark programs for knowrithm-bots and their recorded results (not run as tests)."""
