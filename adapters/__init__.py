"""Built-in platform adapters, each registered in the `knowrithm_bots.adapters` entry points."""
