"""Platform-neutral core of knowrithm-bots: events, adapters, bridge, sessions, streaming, store."""
