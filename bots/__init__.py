"""Runnable bots: the `knowrithm-bots` command, wiring, and the local Knowrithm server."""
