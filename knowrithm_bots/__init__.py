"""knowrithm-bots: Knowrithm AI agents in Slack, Discord and Telegram threads."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("knowrithm-bots")
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
